//! paddock's ledger: an append-only, hash-chained record of every decision, session event,
//! agent turn and merge, that nobody can quietly edit.
//!
//! The ledger is one file, a stream of YAML documents, one per record, each closed by a hash
//! line over its exact bytes (keyed BLAKE3) and linked to the one before by `prev`. See
//! [`format`](crate#format) below. Appends are safe from many processes at once (exclusive
//! `flock`, one `write`, `fdatasync`), a write torn by a crash is cut off and quarantined, and
//! any other damage stops all appends. [`verify()`] checks everything on raw bytes, without a
//! YAML parser. Because a local chain cannot catch someone who rewrites the whole file, each
//! writer anchors its head as commits on a git ref ([`checkpoint()`]), which [`push`] and
//! [`pull`] carry through ordinary git remotes without force.
//!
//! ```
//! use paddock_ledger::{Entry, Filter, Kind, Ledger, Options, VerifyOptions, events};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("ledger.yaml");
//!
//! let mut ledger = Ledger::open(&path, Options::default())?;
//! let started = events::SessionStarted {
//!     scope: vec!["src/**".into()],
//!     mode: "worktree".into(),
//!     ..Default::default()
//! };
//! ledger.append(&Entry::event(&started)?.session("claim-3f9a1c"))?;
//! ledger.append(&Entry::new(Kind::parse("note.custom")?, &serde_json::json!({"text": "hi"}))?)?;
//!
//! let report = paddock_ledger::verify(&path, &VerifyOptions::default())?;
//! assert!(report.outcome.is_ok());
//! assert_eq!(report.records, 2);
//!
//! for record in paddock_ledger::records(&path, Filter::new().kind("session"))? {
//!     let record = record?;
//!     let data: events::SessionStarted = record.decode()?;
//!     assert_eq!(data.scope, ["src/**"]);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Format
//!
//! ```text
//! ---
//! seq: 2
//! prev: b3:5f0c…(64 hex: hash of record 1; all zeros for record 1)
//! ts: 2025-11-22T03:25:00.123456789Z
//! kind: session.started
//! session: "claim-3f9a1c"
//! actor: "paddock"
//! data:
//!   mode: "worktree"
//!   scope: ["src/**"]
//! # b3:9a7e…(64 hex)
//! ```
//!
//! `seq`, `prev` and `ts` come first, always in that order and form, so verification reads them
//! by line prefix. `ts` is RFC 3339 UTC with nine fractional digits (fixed width, so byte order
//! is time order), and never goes backwards. `session` is present only for records about a
//! session. Strings are JSON-encoded on one line with line breaks and look-alikes escaped (see
//! the `format` module source), so no content can forge a `---` boundary or a hash line. The
//! hash is `BLAKE3-keyed(derive_key("paddock ledger v1 record"), bytes from "---" through the
//! line before the hash line)`.
//!
//! # Failure
//!
//! Nothing here panics on input, and every failure is a typed error saying what failed on which
//! path: a read-only or full disk refuses the append and leaves no partial record behind, so
//! the operation that needed the record can be refused in turn (fail closed).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod batch;
pub mod checkpoint;
pub mod entry;
mod errors;
pub mod events;
mod format;
mod git;
mod hash;
mod kind;
mod ledger;
mod options;
pub mod read;
pub mod remote;
mod scan;
mod time;
pub mod verify;
pub mod writers;

pub use batch::Batch;
pub use checkpoint::{Checkpoint, checkpoint};
pub use entry::Entry;
pub use errors::{append, open};
pub use format::MAX_DATA_BYTES;
pub use git::{AnchorError, CheckpointHead, GitError, GitRepo};
pub use hash::{HASH_CONTEXT, InvalidHash, RecordHash};
pub use kind::{InvalidKind, Kind};
pub use ledger::{Appended, Head, LEDGER_ACTOR, Ledger, QUARANTINE_DIR, Recovery};
pub use options::{
    BatchOptions, CheckpointOptions, DEFAULT_REF_PREFIX, Durability, InvalidOptions, OpenCheck,
    Options, default_path, default_writer, valid_writer,
};
pub use read::{Filter, FollowFrom, Follower, Record, Records, records, tail};
pub use remote::{pull, push};
pub use time::{InvalidTimestamp, Timestamp};
pub use verify::{
    Anchor, Outcome, Progress, Report, Tamper, VerifyOptions, verify, verify_with_progress,
};
pub use writers::{LocalLedger, WriterRecord, read_writers};
