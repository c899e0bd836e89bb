//! Recording what the workspace does in the ledger. A record that cannot be written stops the
//! operation that needed it (fail closed).

use serde_json::Value;

use crate::session::Session;
use crate::Workspace;

/// A record to append.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Record kind, e.g. `session.started`.
    pub kind: String,
    /// The session it concerns.
    pub session: Option<String>,
    /// Kind-specific data.
    pub data: Value,
}

impl Event {
    /// An event about a session.
    pub fn session(kind: &str, session: &Session, data: Value) -> Event {
        Event { kind: kind.to_owned(), session: Some(session.id.clone()), data }
    }
}

/// The ledger refused a record.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

impl Workspace {
    /// Appends an event to the ledger.
    pub fn record(&self, event: Event) -> Result<(), Error> {
        // WIRE LEDGER: replaced by the paddock-ledger append once that crate lands.
        let _ = event;
        Ok(())
    }
}
