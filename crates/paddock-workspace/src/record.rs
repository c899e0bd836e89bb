//! Recording what the workspace does in the ledger. A record that cannot be written stops the
//! operation that needed it (fail closed).
//!
//! Inside a confined session paddock's state is read-only, so hooks and tools there cannot
//! append themselves: they hand their records to the supervising `paddock-sh` through a
//! [`Forward`]er, and the supervisor validates and appends them. A confined process can
//! therefore never forge, rewrite or drop a record.

use std::path::PathBuf;

use paddock_ledger::{Entry, Kind, Ledger};
use serde_json::Value;

use crate::Workspace;
use crate::session::Session;

/// A record to append.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
        Event {
            kind: kind.to_owned(),
            session: Some(session.id.clone()),
            data,
        }
    }
}

/// The ledger refused a record.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kind is not a valid record kind.
    #[error("invalid record kind {kind:?}")]
    Kind {
        /// The kind.
        kind: String,
        /// Why.
        #[source]
        source: paddock_ledger::InvalidKind,
    },
    /// The record's data cannot be made into a record.
    #[error("cannot make a {kind} record")]
    Entry {
        /// The kind.
        kind: String,
        /// Why.
        #[source]
        source: Box<paddock_ledger::entry::Error>,
    },
    /// Opening the ledger failed (the ledger's error names the file).
    #[error(transparent)]
    Open(Box<paddock_ledger::open::Error>),
    /// Appending failed (the ledger's error names the file).
    #[error(transparent)]
    Append(Box<paddock_ledger::append::Error>),
    /// The supervisor did not take the record.
    #[error("the supervising paddock-sh did not take the record: {0}")]
    Supervisor(String),
}

/// What a confined process asks its supervisor to do.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    /// Append a record.
    Record(Event),
    /// Put the session in BLOCKED.
    Block {
        /// Why.
        reason: String,
    },
}

/// Carries requests to the supervisor; returns its answer.
pub type Forward = Box<dyn Fn(&Request) -> Result<(), String>>;

/// Maps the policy's `ledger:` section onto the ledger's options.
pub fn ledger_options(policy: &paddock_policy::Policy) -> paddock_ledger::Options {
    let l = policy.ledger();
    let defaults = paddock_ledger::Options::default();
    paddock_ledger::Options {
        durability: match l.fsync {
            paddock_policy::Durability::Always => paddock_ledger::Durability::Always,
            paddock_policy::Durability::Batch => paddock_ledger::Durability::Batch,
            paddock_policy::Durability::Never => paddock_ledger::Durability::Never,
        },
        batch: paddock_ledger::BatchOptions {
            max_records: l.batch_max_records as usize,
            max_delay: l.batch_max_delay,
        },
        checkpoint: paddock_ledger::CheckpointOptions {
            ref_prefix: l.checkpoint_ref.clone(),
            every_records: l.checkpoint.every_records,
            every: l.checkpoint.every,
            at_session_end: l.checkpoint.at_session_end,
        },
        ..defaults
    }
}

impl Workspace {
    /// The ledger file.
    pub fn ledger_path(&self) -> PathBuf {
        let common = self.repo().common_dir();
        match &self.policy().ledger().path {
            Some(path) if std::path::Path::new(path).is_absolute() => PathBuf::from(path),
            Some(path) => common.join(path),
            None => paddock_ledger::default_path(common),
        }
    }

    /// Appends an event to the ledger (through the supervisor when confined).
    pub fn record(&self, event: Event) -> Result<(), Error> {
        if let Some(forward) = &self.forward {
            return forward(&Request::Record(event)).map_err(Error::Supervisor);
        }
        self.append(&event)
    }

    /// Appends directly (the supervisor's side of [`Workspace::record`]).
    pub fn append(&self, event: &Event) -> Result<(), Error> {
        let kind = Kind::parse(&event.kind).map_err(|source| Error::Kind {
            kind: event.kind.clone(),
            source,
        })?;
        let path = self.ledger_path();
        let mut entry = Entry::new(kind, &event.data).map_err(|source| Error::Entry {
            kind: event.kind.clone(),
            source: Box::new(source),
        })?;
        if let Some(session) = &event.session {
            entry = entry.session(session.clone());
        }
        let mut slot = self.ledger.borrow_mut();
        if slot.is_none() {
            let mut options = ledger_options(self.policy());
            options.open_check = self.ledger_check.get();
            let ledger = Ledger::open(&path, options).map_err(|e| Error::Open(Box::new(e)))?;
            *slot = Some(ledger);
        }
        let ledger = slot.as_mut().expect("opened just above");
        ledger
            .append(&entry)
            .map_err(|e| Error::Append(Box::new(e)))?;
        if ledger.checkpoint_due() {
            checkpoint(ledger, self.repo().common_dir());
        }
        Ok(())
    }

    /// Checkpoints the ledger's head on this writer's git ref now (at the end of a session, as
    /// the policy's `ledger.checkpoint.at_session_end` asks). A failure is reported, not fatal:
    /// the records are written; the next checkpoint covers them.
    pub fn checkpoint_at_session_end(&self) {
        if !self.policy().ledger().checkpoint.at_session_end || self.forward.is_some() {
            return;
        }
        let mut slot = self.ledger.borrow_mut();
        if let Some(ledger) = slot.as_mut() {
            checkpoint(ledger, self.repo().common_dir());
        }
    }
}

fn checkpoint(ledger: &mut Ledger, common_dir: &std::path::Path) {
    if let Err(err) = ledger.checkpoint(&paddock_ledger::GitRepo::new(common_dir)) {
        eprintln!(
            "paddock: warning: the ledger checkpoint failed ({err}); `paddock ledger verify` tells more"
        );
    }
}
