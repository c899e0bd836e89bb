//! Record kinds.

use std::fmt;
use std::str::FromStr;

/// Longest kind name accepted.
pub const MAX_KIND_LEN: usize = 64;

macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// What a record is about. Unknown kinds (from a newer paddock) are kept as
        /// [`Kind::Other`]: they are verified and shown like any other record, never dropped.
        ///
        /// Equality, ordering and hashing go by the name, so `Kind::Other("approval".into())`
        /// equals [`Kind::Approval`]; [`Kind::parse`] always gives the named variant.
        #[derive(Clone)]
        #[non_exhaustive]
        pub enum Kind {
            $($(#[$doc])* $variant,)*
            /// A kind this version does not know (its name is valid, see [`Kind::parse`]).
            Other(String),
        }

        impl Kind {
            /// Every kind this version knows.
            pub const KNOWN: &'static [Kind] = &[$(Kind::$variant,)*];

            /// The kind's name, as written in the ledger.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Kind::$variant => $name,)*
                    Kind::Other(name) => name,
                }
            }

            fn known(name: &str) -> Option<Kind> {
                match name {
                    $($name => Some(Kind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

kinds! {
    /// `session.started`: a session was created with its scope and isolation.
    SessionStarted => "session.started",
    /// `session.blocked`: a violation or conflict put a session in BLOCKED.
    SessionBlocked => "session.blocked",
    /// `session.unblocked`: an operator cleared BLOCKED.
    SessionUnblocked => "session.unblocked",
    /// `session.finished`: the session finished its work.
    SessionFinished => "session.finished",
    /// `session.cancelled`: the session was cancelled.
    SessionCancelled => "session.cancelled",
    /// `session.expired`: the session outlived its TTL.
    SessionExpired => "session.expired",
    /// `session.merged`: the session's work was merged back.
    SessionMerged => "session.merged",
    /// `lock.acquired`: a scope lock was taken.
    LockAcquired => "lock.acquired",
    /// `lock.released`: a scope lock was released.
    LockReleased => "lock.released",
    /// `lock.refused`: a scope lock was refused (overlap).
    LockRefused => "lock.refused",
    /// `deny.command`: the gate refused a command.
    DenyCommand => "deny.command",
    /// `deny.write`: a write outside the scope was refused or detected.
    DenyWrite => "deny.write",
    /// `deny.commit`: a commit or ref update was refused.
    DenyCommit => "deny.commit",
    /// `approval`: an operator override.
    Approval => "approval",
    /// `turn.pin`: the pins of one agent turn.
    TurnPin => "turn.pin",
    /// `merge.artifact`: a merge-ready artifact was produced.
    MergeArtifact => "merge.artifact",
    /// `merge.done`: a merge-back completed.
    MergeDone => "merge.done",
    /// `merge.blocked`: a merge-back hit a conflict.
    MergeBlocked => "merge.blocked",
    /// `recovered`: a torn last record was cut off and quarantined.
    Recovered => "recovered",
    /// `checkpoint`: the head was anchored on a git ref.
    Checkpoint => "checkpoint",
}

/// A kind name is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a valid record kind: use 1 to 64 characters, dot-separated lowercase words \
     of a-z, 0-9, `_` and `-`, each starting with a letter (such as `session.started`)"
)]
pub struct InvalidKind(pub String);

impl Kind {
    /// Parses a kind name: a known kind, or [`Kind::Other`] for a valid unknown name.
    pub fn parse(name: &str) -> Result<Kind, InvalidKind> {
        if let Some(kind) = Kind::known(name) {
            return Ok(kind);
        }
        if is_valid_name(name.as_bytes()) {
            Ok(Kind::Other(name.to_owned()))
        } else {
            Err(InvalidKind(name.to_owned()))
        }
    }

    /// Whether this kind is one this version knows.
    pub fn is_known(&self) -> bool {
        Kind::known(self.as_str()).is_some()
    }

    /// Whether the kind matches a filter: the exact name, or a dotted prefix (`session` and
    /// `session.*` match `session.started`).
    pub fn matches(&self, filter: &str) -> bool {
        let name = self.as_str();
        let filter = filter
            .strip_suffix(".*")
            .or_else(|| filter.strip_suffix('*'))
            .unwrap_or(filter);
        let filter = filter.strip_suffix('.').unwrap_or(filter);
        name == filter
            || (name.len() > filter.len()
                && name.starts_with(filter)
                && name.as_bytes().get(filter.len()) == Some(&b'.'))
            || filter.is_empty()
    }
}

/// Whether `b` is a valid kind name (see [`InvalidKind`]).
pub(crate) fn is_valid_name(b: &[u8]) -> bool {
    if b.is_empty() || b.len() > MAX_KIND_LEN {
        return false;
    }
    b.split(|&c| c == b'.').all(|word| {
        word.first().is_some_and(u8::is_ascii_lowercase)
            && word
                .iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
    })
}

impl PartialEq for Kind {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Kind {}

impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Kind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kind({})", self.as_str())
    }
}

impl FromStr for Kind {
    type Err = InvalidKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::parse(s)
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Kind::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn known_names_round_trip() {
        for kind in Kind::KNOWN {
            assert_eq!(Kind::parse(kind.as_str()).as_ref(), Ok(kind));
            assert!(kind.is_known());
        }
        assert_eq!(Kind::KNOWN.len(), 20);
    }

    #[test]
    fn unknown_kinds_are_kept() {
        let kind = Kind::parse("sandbox.degraded").expect("valid name");
        assert_eq!(kind, Kind::Other("sandbox.degraded".into()));
        assert!(!kind.is_known());
        assert_eq!(Kind::Other("approval".into()), Kind::Approval);
    }

    #[test]
    fn invalid_names() {
        for bad in [
            "",
            "Session.started",
            "a..b",
            ".a",
            "a.",
            "1a",
            "a b",
            "a\nb",
            "a:b",
            "#",
        ] {
            assert!(Kind::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Kind::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn filter_matching() {
        assert!(Kind::SessionStarted.matches("session"));
        assert!(Kind::SessionStarted.matches("session.*"));
        assert!(Kind::SessionStarted.matches("session."));
        assert!(Kind::SessionStarted.matches("session.started"));
        assert!(!Kind::SessionStarted.matches("sess"));
        assert!(!Kind::SessionStarted.matches("session.start"));
        assert!(Kind::Approval.matches("approval"));
        assert!(Kind::Approval.matches(""));
    }
}
