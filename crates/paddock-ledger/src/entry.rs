//! [`Entry`]: a record to append, before the ledger gives it a `seq`, `prev` and hash.

use serde::Serialize;
use serde_json::Value;

use crate::events::Event;
use crate::format::{MAX_DATA_BYTES, encode_data, encode_headers};
use crate::kind::Kind;
use crate::time::Timestamp;

/// Data that cannot go into a record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `data` did not serialize to a mapping.
    #[error("the data of a `{kind}` record must be a mapping (a struct or map), not {found}")]
    NotAMapping {
        /// The record kind.
        kind: Kind,
        /// What it was instead (`a string`, `an array`, ...).
        found: &'static str,
    },
    /// `data` could not be serialized.
    #[error("cannot serialize the data of a `{kind}` record")]
    Serialize {
        /// The record kind.
        kind: Kind,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// `data` is larger than [`MAX_DATA_BYTES`].
    #[error(
        "the data of a `{kind}` record is {bytes} bytes, more than the {MAX_DATA_BYTES} a record \
         may carry: store the content elsewhere (such as a blob) and record its hash"
    )]
    TooLarge {
        /// The record kind.
        kind: Kind,
        /// Its encoded size.
        bytes: usize,
    },
}

/// A record to append: kind, optional session, optional actor and data.
///
/// ```
/// use paddock_ledger::{Entry, Kind, events};
///
/// let typed = Entry::event(&events::SessionBlocked {
///     reason: "ran `git reset --hard`".into(),
///     rule: Some("git-reset-hard".into()),
///     ..Default::default()
/// })?
/// .session("claim-3f9a1c");
/// assert_eq!(typed.kind(), &Kind::SessionBlocked);
///
/// let free = Entry::new(Kind::parse("sandbox.degraded")?, &serde_json::json!({"to": "landlock"}))?;
/// assert_eq!(free.kind().as_str(), "sandbox.degraded");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    kind: Kind,
    session: Option<String>,
    actor: Option<String>,
    time: Option<Timestamp>,
    /// The encoded `data:` block.
    data: Vec<u8>,
}

fn what(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a mapping",
    }
}

impl Entry {
    /// A record of `kind` with `data`, which must serialize to a mapping (`()` and `None` give
    /// an empty one).
    pub fn new<T: Serialize + ?Sized>(kind: Kind, data: &T) -> Result<Entry, Error> {
        let value = serde_json::to_value(data).map_err(|source| Error::Serialize {
            kind: kind.clone(),
            source,
        })?;
        let map = match value {
            Value::Object(map) => map,
            Value::Null => serde_json::Map::new(),
            other => {
                return Err(Error::NotAMapping {
                    kind,
                    found: what(&other),
                });
            }
        };
        let data = encode_data(&map).map_err(|source| Error::Serialize {
            kind: kind.clone(),
            source,
        })?;
        if data.len() > MAX_DATA_BYTES {
            return Err(Error::TooLarge {
                kind,
                bytes: data.len(),
            });
        }
        Ok(Entry {
            kind,
            session: None,
            actor: None,
            time: None,
            data,
        })
    }

    /// A record of a known kind from its typed data.
    pub fn event<E: Event>(event: &E) -> Result<Entry, Error> {
        Entry::new(E::KIND, event)
    }

    /// The session the record concerns.
    pub fn session(mut self, session_id: impl Into<String>) -> Entry {
        self.session = Some(session_id.into());
        self
    }

    /// Who caused it (default: [`Options::actor`](crate::Options::actor)).
    pub fn actor(mut self, actor: impl Into<String>) -> Entry {
        self.actor = Some(actor.into());
        self
    }

    /// When it happened (default: when it is appended). The ledger never lets time run
    /// backwards: a record gets `max(time, previous record's ts)`.
    pub fn time(mut self, time: Timestamp) -> Entry {
        self.time = Some(time);
        self
    }

    /// The record kind.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The session, if any.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }

    pub(crate) fn requested_time(&self) -> Option<Timestamp> {
        self.time
    }

    /// Headers and data block: everything of the record after `ts:`.
    pub(crate) fn body(&self, default_actor: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 96);
        encode_headers(
            &mut out,
            &self.kind,
            self.session.as_deref(),
            self.actor.as_deref().unwrap_or(default_actor),
        );
        out.extend_from_slice(&self.data);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_must_be_a_mapping() {
        assert!(matches!(
            Entry::new(Kind::Approval, &"x"),
            Err(Error::NotAMapping {
                found: "a string",
                ..
            })
        ));
        assert!(matches!(
            Entry::new(Kind::Approval, &[1, 2]),
            Err(Error::NotAMapping { .. })
        ));
        assert!(Entry::new(Kind::Approval, &()).is_ok());
    }

    #[test]
    fn too_large_is_refused() {
        let big = serde_json::json!({"x": "a".repeat(MAX_DATA_BYTES)});
        assert!(matches!(
            Entry::new(Kind::Approval, &big),
            Err(Error::TooLarge { .. })
        ));
    }
}
