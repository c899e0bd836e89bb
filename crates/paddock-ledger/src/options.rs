//! [`Options`]: how a ledger is written and checkpointed (the policy's `ledger:` section maps
//! onto it).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// When appends reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `fdatasync` after every append (the default).
    #[default]
    Always,
    /// Records pushed through a [`Batch`](crate::Batch) are written and synced together, at
    /// most [`BatchOptions::max_records`] at a time and at most [`BatchOptions::max_delay`]
    /// after the first. A plain [`Ledger::append`](crate::Ledger::append) still syncs.
    Batch,
    /// Leave flushing to the kernel (tests, throw-away runs).
    Never,
}

/// Bounds of [`Durability::Batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Flush when this many records are waiting (at least 1; default 256).
    pub max_records: usize,
    /// Flush this long after the first waiting record (default 20 ms).
    pub max_delay: Duration,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            max_records: 256,
            max_delay: Duration::from_millis(20),
        }
    }
}

/// Where and when the head is anchored in git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointOptions {
    /// Ref prefix; each writer checkpoints to `<ref_prefix>/<writer>` (default
    /// `refs/paddock/ledger`).
    pub ref_prefix: String,
    /// Checkpoint after this many records (0: never by count; default 1000).
    pub every_records: u64,
    /// Checkpoint after this long (zero: never by time; default 5 minutes).
    pub every: Duration,
    /// Checkpoint when a session ends (default true). The caller acts on it.
    pub at_session_end: bool,
}

impl Default for CheckpointOptions {
    fn default() -> Self {
        CheckpointOptions {
            ref_prefix: DEFAULT_REF_PREFIX.to_owned(),
            every_records: 1000,
            every: Duration::from_secs(300),
            at_session_end: true,
        }
    }
}

/// The default checkpoint ref prefix.
pub const DEFAULT_REF_PREFIX: &str = "refs/paddock/ledger";

/// How much of an existing ledger [`Ledger::open`](crate::Ledger::open) checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenCheck {
    /// Verify the whole chain (about 1 µs per record): damage anywhere refuses the open.
    #[default]
    Full,
    /// Verify the last record only (constant time), for short-lived processes on big ledgers.
    /// Damage further back is then found by `verify`, not by appends.
    Tail,
}

/// Settings of a ledger. `Options::default()` is what a policy without a `ledger:` section
/// means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// When appends reach the disk.
    pub durability: Durability,
    /// Bounds of batch mode.
    pub batch: BatchOptions,
    /// Checkpoints.
    pub checkpoint: CheckpointOptions,
    /// This machine's writer id: names its checkpoint ref (default: the host name, made
    /// ref-safe; see [`valid_writer`]).
    pub writer: String,
    /// The actor of entries that name none (default `paddock`).
    pub actor: String,
    /// What opening checks.
    pub open_check: OpenCheck,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::default(),
            batch: BatchOptions::default(),
            checkpoint: CheckpointOptions::default(),
            writer: default_writer(),
            actor: "paddock".to_owned(),
            open_check: OpenCheck::default(),
        }
    }
}

impl Options {
    /// This writer's checkpoint ref: `<ref_prefix>/<writer>`.
    pub fn checkpoint_ref(&self) -> String {
        format!("{}/{}", self.checkpoint.ref_prefix, self.writer)
    }

    /// Checks the writer id and ref prefix.
    pub fn validate(&self) -> Result<(), InvalidOptions> {
        if !valid_writer(&self.writer) {
            return Err(InvalidOptions::Writer(self.writer.clone()));
        }
        if !valid_ref_prefix(&self.checkpoint.ref_prefix) {
            return Err(InvalidOptions::RefPrefix(
                self.checkpoint.ref_prefix.clone(),
            ));
        }
        if self.batch.max_records == 0 {
            return Err(InvalidOptions::BatchSize);
        }
        Ok(())
    }
}

/// Options that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidOptions {
    /// The writer id cannot name a ref.
    #[error(
        "writer id {0:?} cannot name a git ref: use 1 to 64 characters of A-Z, a-z, 0-9, `.`, \
         `_` and `-`, not starting with `.` or `-`, without `..`, not ending in `.lock`"
    )]
    Writer(String),
    /// The ref prefix is not under `refs/`.
    #[error(
        "checkpoint ref prefix {0:?} is not a ref prefix: use one under refs/, such as refs/paddock/ledger"
    )]
    RefPrefix(String),
    /// `batch.max_records` is zero.
    #[error("batch.max_records is 0: use at least 1")]
    BatchSize,
}

/// Whether `writer` is a valid writer id (one safe ref component).
pub fn valid_writer(writer: &str) -> bool {
    let b = writer.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        && !matches!(b[0], b'.' | b'-')
        && !writer.contains("..")
        && !writer.ends_with(".lock")
        && !writer.ends_with('.')
}

pub(crate) fn valid_ref_prefix(prefix: &str) -> bool {
    prefix.starts_with("refs/")
        && !prefix.ends_with('/')
        && !prefix.contains("//")
        && prefix
            .split('/')
            .all(|part| part == "refs" || valid_writer(part))
}

/// The host name, made a valid writer id (`localhost` if there is none).
pub fn default_writer() -> String {
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut id: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    while id.starts_with(['.', '-']) {
        id.remove(0);
    }
    while id.ends_with('.') || id.ends_with(".lock") {
        id.pop();
    }
    while id.contains("..") {
        id = id.replace("..", ".");
    }
    if valid_writer(&id) {
        id
    } else {
        "localhost".to_owned()
    }
}

/// The default ledger path: `<git common dir>/paddock/ledger.yaml`.
pub fn default_path(git_common_dir: &Path) -> PathBuf {
    git_common_dir.join("paddock").join("ledger.yaml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_ids() {
        for ok in ["host", "build-01.example.com", "A_b"] {
            assert!(valid_writer(ok), "{ok}");
        }
        for bad in [
            "",
            ".x",
            "-x",
            "a..b",
            "a.lock",
            "a/b",
            "a b",
            "x.",
            &"a".repeat(65),
        ] {
            assert!(!valid_writer(bad), "{bad}");
        }
        assert!(valid_writer(&default_writer()));
    }

    #[test]
    fn ref_prefixes() {
        assert!(valid_ref_prefix("refs/paddock/ledger"));
        assert!(!valid_ref_prefix("refs/paddock/ledger/"));
        assert!(!valid_ref_prefix("heads/x"));
        assert!(!valid_ref_prefix("refs/a..b"));
    }

    #[test]
    fn defaults_validate() {
        assert_eq!(Options::default().validate(), Ok(()));
        assert!(
            Options::default()
                .checkpoint_ref()
                .starts_with("refs/paddock/ledger/")
        );
    }
}
