//! [`verify()`]: check a whole ledger, on raw bytes, and against its checkpoint ref.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::git::{AnchorError, CheckpointHead, GitRepo, checkpointed_bytes, read_head};
use crate::hash::RecordHash;
use crate::ledger::{Head, stable_len};
use crate::scan::{Chain, Step, Walker};
use crate::time::Timestamp;

/// What is wrong with a damaged ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Tamper {
    /// The bytes do not have the record layout.
    Malformed {
        /// What is wrong with them.
        what: &'static str,
    },
    /// The hash line does not match the record's bytes.
    HashMismatch {
        /// The hash line's value.
        recorded: RecordHash,
        /// The hash of the bytes.
        computed: RecordHash,
    },
    /// `prev` is not the previous record's hash.
    BrokenLink {
        /// The previous record's hash.
        expected: RecordHash,
        /// `prev`.
        found: RecordHash,
    },
    /// `seq` does not follow the previous record's: a record was deleted, duplicated or moved.
    SeqMismatch {
        /// The seq the record should carry.
        expected: u64,
        /// The seq it carries.
        found: u64,
    },
    /// The record is older than the one before it.
    TimeOrder {
        /// The previous record's time.
        previous: Timestamp,
        /// This record's time.
        found: Timestamp,
    },
    /// The file differs from what a checkpoint committed (rewritten after the checkpoint).
    CheckpointMismatch {
        /// The checkpointed head's seq.
        checkpoint_seq: u64,
        /// The checkpoint commit.
        commit: String,
    },
    /// The file ends before the checkpointed head (truncated after the checkpoint).
    ShorterThanCheckpoint {
        /// The checkpointed head's seq.
        checkpoint_seq: u64,
        /// The checkpoint commit.
        commit: String,
        /// How many records the file has.
        records: u64,
    },
    /// The file is shorter than this writer had verified it to be.
    Truncated {
        /// The length verified before.
        expected: u64,
        /// The length now.
        found: u64,
    },
    /// The last record this writer verified has changed.
    Changed,
}

impl std::fmt::Display for Tamper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tamper::Malformed { what } => write!(f, "malformed: {what}"),
            Tamper::HashMismatch { recorded, computed } => {
                write!(
                    f,
                    "the record's bytes hash to {computed}, its hash line says {recorded} (edited)"
                )
            }
            Tamper::BrokenLink { expected, found } => {
                write!(
                    f,
                    "prev is {found}, the previous record's hash is {expected} (chain broken)"
                )
            }
            Tamper::SeqMismatch { expected, found } => write!(
                f,
                "seq is {found} where {expected} should follow (a record was deleted, duplicated or reordered)"
            ),
            Tamper::TimeOrder { previous, found } => {
                write!(
                    f,
                    "ts {found} is earlier than the previous record's {previous}"
                )
            }
            Tamper::CheckpointMismatch {
                checkpoint_seq,
                commit,
            } => write!(
                f,
                "differs from checkpoint {commit} (which anchors records up to {checkpoint_seq}): \
                 the file was rewritten after it was checkpointed"
            ),
            Tamper::ShorterThanCheckpoint {
                checkpoint_seq,
                commit,
                records,
            } => write!(
                f,
                "the file has {records} records but checkpoint {commit} anchors {checkpoint_seq}: \
                 it was truncated after it was checkpointed"
            ),
            Tamper::Truncated { expected, found } => {
                write!(
                    f,
                    "the file is {found} bytes, shorter than the {expected} already verified"
                )
            }
            Tamper::Changed => write!(f, "the last record verified by this writer has changed"),
        }
    }
}

/// The verdict of [`verify()`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every record verifies (and matches the checkpoint, if one was checked).
    Ok,
    /// Every complete record verifies; the file ends in an incomplete record (a crash
    /// mid-write). The next append, or [`Ledger::recover`](crate::Ledger::recover), cuts it off.
    TornTail {
        /// Where the torn bytes begin.
        offset: u64,
        /// How many there are.
        bytes: u64,
    },
    /// The ledger was damaged or edited. Appends refuse until an operator acts.
    Tampered {
        /// The first record that does not verify (the seq it should carry).
        first_bad_seq: u64,
        /// Its byte offset.
        byte_offset: u64,
        /// What is wrong.
        reason: Tamper,
    },
}

impl Outcome {
    /// Whether it is [`Outcome::Ok`].
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

/// The result of [`verify()`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The ledger.
    pub path: PathBuf,
    /// The verdict.
    pub outcome: Outcome,
    /// Records that verify (before any damage).
    pub records: u64,
    /// The file's length.
    pub bytes: u64,
    /// The last record that verifies.
    pub head: Option<Head>,
    /// The newest checkpoint on the ref, when one was checked.
    pub checkpoint: Option<CheckpointHead>,
    /// Verified records after the checkpointed head (all of them when there is no checkpoint
    /// yet); `None` when no ref was checked.
    pub not_checkpointed: Option<u64>,
}

/// Where to find the checkpoints to verify against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The repository holding the ref.
    pub repo: GitRepo,
    /// The writer's checkpoint ref ([`Options::checkpoint_ref`](crate::Options::checkpoint_ref)).
    pub ref_name: String,
}

/// What [`verify()`] checks besides the file itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Check the file against this writer's checkpoint ref.
    pub anchor: Option<Anchor>,
}

impl VerifyOptions {
    /// Verify against `ref_name` in `repo` too.
    pub fn anchor(repo: GitRepo, ref_name: impl Into<String>) -> VerifyOptions {
        VerifyOptions {
            anchor: Some(Anchor {
                repo,
                ref_name: ref_name.into(),
            }),
        }
    }
}

/// Verification could not run (as opposed to finding damage, which is an [`Outcome`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file cannot be read.
    #[error("cannot {op} ledger {}", path.display())]
    Io {
        /// The ledger.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The checkpoint ref cannot be read.
    #[error("cannot read the checkpoint ref {ref_name} to verify {} against", path.display())]
    Anchor {
        /// The ledger.
        path: PathBuf,
        /// The ref.
        ref_name: String,
        /// Why.
        #[source]
        source: Box<AnchorError>,
    },
}

/// How far a walk over the ledger has got: [`verify_with_progress()`], or reading with
/// [`Records::with_progress`](crate::Records::with_progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes verified so far.
    pub bytes: u64,
    /// The snapshot's length: the bytes there are to verify.
    pub total_bytes: u64,
    /// Records verified so far.
    pub records: u64,
}

/// Records between two progress reports: often enough for a display that redraws every
/// 100 ms (a record takes ~0.6 µs), rare enough to cost nothing next to the hashing.
pub(crate) const PROGRESS_EVERY: u64 = 4096;

/// Verifies the ledger at `path`: every hash, every `prev` link, `seq` continuity, time order,
/// and (with an [`Anchor`]) that the file still holds, byte for byte, what was checkpointed.
///
/// Works on raw bytes (no YAML parse). Reads a snapshot: the length is taken under a shared
/// lock, so a concurrent append is never mistaken for a torn tail.
pub fn verify(path: &Path, options: &VerifyOptions) -> Result<Report, Error> {
    verify_with_progress(path, options, &mut |_| {})
}

/// [`verify()`], reporting how far it has got to `progress` every few thousand records and
/// once at the end of the walk (for a progress display on a large ledger). The verdict is the
/// same as [`verify()`]'s.
pub fn verify_with_progress(
    path: &Path,
    options: &VerifyOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, Error> {
    let checkpoint = match &options.anchor {
        Some(anchor) => {
            read_head(&anchor.repo, &anchor.ref_name).map_err(|source| Error::Anchor {
                path: path.to_path_buf(),
                ref_name: anchor.ref_name.clone(),
                source: Box::new(source),
            })?
        }
        None => None,
    };
    let mut report = verify_refined_with(
        path,
        options
            .anchor
            .as_ref()
            .map(|a| (&a.repo, a.ref_name.as_str())),
        checkpoint.as_ref(),
        progress,
    )?;
    report.not_checkpointed = options.anchor.as_ref().map(|_| {
        report
            .records
            .saturating_sub(checkpoint.as_ref().map_or(0, |c| c.seq))
    });
    report.checkpoint = checkpoint;
    Ok(report)
}

/// [`verify_against`], then, if the file differs from the checkpoint, the first record that
/// differs from what the checkpoints carry.
pub(crate) fn verify_refined(
    path: &Path,
    anchor: Option<(&GitRepo, &str)>,
    checkpoint: Option<&CheckpointHead>,
) -> Result<Report, Error> {
    verify_refined_with(path, anchor, checkpoint, &mut |_| {})
}

/// [`verify_refined`] with a progress callback (see [`verify_with_progress()`]).
fn verify_refined_with(
    path: &Path,
    anchor: Option<(&GitRepo, &str)>,
    checkpoint: Option<&CheckpointHead>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, Error> {
    let mut report = verify_against(path, checkpoint, progress)?;
    if let (Some((repo, ref_name)), Some(cp)) = (anchor, checkpoint)
        && let Outcome::Tampered {
            reason: Tamper::CheckpointMismatch { .. },
            ..
        } = report.outcome
        && let Ok(anchored) = checkpointed_bytes(repo, ref_name, &cp.commit)
        && let Ok(Some((seq, offset, before))) = first_difference(path, &anchored)
    {
        report.outcome = Outcome::Tampered {
            first_bad_seq: seq,
            byte_offset: offset,
            reason: Tamper::CheckpointMismatch {
                checkpoint_seq: cp.seq,
                commit: cp.commit.clone(),
            },
        };
        report.records = seq.saturating_sub(1);
        report.head = before;
    }
    Ok(report)
}

/// The walk of [`verify()`], with the checkpointed head to compare against.
pub(crate) fn verify_against(
    path: &Path,
    checkpoint: Option<&CheckpointHead>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, Error> {
    let io_err = |op| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, op, source }
    };
    let file = match File::open(path) {
        Ok(file) => file,
        // No ledger yet is an empty one (nothing was recorded since `paddock init`), unless a
        // checkpoint says records existed: then the file was deleted.
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let outcome = match checkpoint {
                Some(cp) => Outcome::Tampered {
                    first_bad_seq: 1,
                    byte_offset: 0,
                    reason: Tamper::ShorterThanCheckpoint {
                        checkpoint_seq: cp.seq,
                        commit: cp.commit.clone(),
                        records: 0,
                    },
                },
                None => Outcome::Ok,
            };
            return Ok(Report {
                path: path.to_path_buf(),
                outcome,
                records: 0,
                bytes: 0,
                head: None,
                checkpoint: None,
                not_checkpointed: None,
            });
        }
        Err(err) => return Err(io_err("open")(err)),
    };
    let len = stable_len(&file).map_err(io_err("lock"))?;
    let mut walker = Walker::new(file, 0, len, Chain::START);
    let mut head = None;
    let outcome = loop {
        match walker.next_step().map_err(io_err("read"))? {
            Step::Record {
                offset, scanned, ..
            } => {
                let end = offset + scanned.len as u64;
                if scanned.seq.is_multiple_of(PROGRESS_EVERY) {
                    progress(Progress {
                        bytes: end,
                        total_bytes: len,
                        records: scanned.seq,
                    });
                }
                head = Some(Head {
                    seq: scanned.seq,
                    hash: scanned.hash,
                    ts: scanned.ts,
                    offset,
                    end,
                });
                if let Some(cp) = checkpoint
                    && scanned.seq == cp.seq
                    && (scanned.hash != cp.hash || end != cp.end)
                {
                    break Outcome::Tampered {
                        first_bad_seq: cp.seq,
                        byte_offset: offset,
                        reason: Tamper::CheckpointMismatch {
                            checkpoint_seq: cp.seq,
                            commit: cp.commit.clone(),
                        },
                    };
                }
            }
            Step::End => break Outcome::Ok,
            Step::Torn { offset } => {
                break Outcome::TornTail {
                    offset,
                    bytes: len.saturating_sub(offset),
                };
            }
            Step::Bad {
                offset,
                seq,
                reason,
            } => {
                break Outcome::Tampered {
                    first_bad_seq: seq,
                    byte_offset: offset,
                    reason,
                };
            }
        }
    };
    let records = head.map_or(0, |h| h.seq);
    progress(Progress {
        bytes: head.map_or(0, |h| h.end),
        total_bytes: len,
        records,
    });
    let outcome = match (checkpoint, &outcome) {
        (Some(cp), Outcome::Ok | Outcome::TornTail { .. }) if records < cp.seq => {
            Outcome::Tampered {
                first_bad_seq: records + 1,
                byte_offset: head.map_or(0, |h| h.end),
                reason: Tamper::ShorterThanCheckpoint {
                    checkpoint_seq: cp.seq,
                    commit: cp.commit.clone(),
                    records,
                },
            }
        }
        _ => outcome,
    };
    let records = match &outcome {
        Outcome::Tampered { first_bad_seq, .. } => records.min(first_bad_seq.saturating_sub(1)),
        _ => records,
    };
    if let Some(h) = head
        && h.seq > records
    {
        head = None;
    }
    Ok(Report {
        path: path.to_path_buf(),
        outcome,
        records,
        bytes: len,
        head,
        checkpoint: None,
        not_checkpointed: None,
    })
}

/// The first record of the file whose bytes differ from `anchored` (seq, offset), and the
/// record before it.
fn first_difference(path: &Path, anchored: &[u8]) -> io::Result<Option<(u64, u64, Option<Head>)>> {
    let file = File::open(path)?;
    let len = stable_len(&file)?;
    let mut walker = Walker::new(file, 0, len, Chain::START);
    let mut at = 0usize;
    let mut before = None;
    loop {
        match walker.next_step()? {
            Step::Record {
                offset,
                bytes,
                scanned,
            } => {
                let theirs = anchored.get(at..at + bytes.len());
                if theirs != Some(bytes) {
                    return Ok(Some((scanned.seq, offset, before)));
                }
                at += bytes.len();
                let end = offset + scanned.len as u64;
                before = Some(Head {
                    seq: scanned.seq,
                    hash: scanned.hash,
                    ts: scanned.ts,
                    offset,
                    end,
                });
            }
            Step::Bad { offset, seq, .. } => return Ok(Some((seq, offset, before))),
            Step::End | Step::Torn { .. } => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn reports_serialize_to_json() {
        let hash = RecordHash::GENESIS;
        let outcomes = [
            Outcome::Ok,
            Outcome::TornTail {
                offset: 10,
                bytes: 3,
            },
            Outcome::Tampered {
                first_bad_seq: 2,
                byte_offset: 9,
                reason: Tamper::Malformed { what: "x" },
            },
            Outcome::Tampered {
                first_bad_seq: 2,
                byte_offset: 9,
                reason: Tamper::HashMismatch {
                    recorded: hash,
                    computed: hash,
                },
            },
            Outcome::Tampered {
                first_bad_seq: 2,
                byte_offset: 9,
                reason: Tamper::Changed,
            },
        ];
        for outcome in outcomes {
            let report = Report {
                path: "l.yaml".into(),
                outcome,
                records: 1,
                bytes: 2,
                head: None,
                checkpoint: None,
                not_checkpointed: None,
            };
            let json = serde_json::to_value(&report).expect("serializes");
            assert!(json["outcome"]["outcome"].is_string(), "{json}");
        }
        let json = serde_json::to_value(Tamper::SeqMismatch {
            expected: 3,
            found: 2,
        })
        .expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"kind": "seq_mismatch", "expected": 3, "found": 2})
        );
    }

    #[test]
    fn progress_is_reported_along_the_walk_and_at_its_end() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger.yaml");
        let options = crate::Options {
            durability: crate::Durability::Never,
            ..crate::Options::default()
        };
        let mut ledger = crate::Ledger::open(&path, options).expect("open");
        let n = PROGRESS_EVERY + 3;
        for i in 0..n {
            let entry = crate::Entry::new(
                crate::Kind::parse("note.test").expect("kind"),
                &serde_json::json!({ "n": i }),
            )
            .expect("entry");
            ledger.append(&entry).expect("append");
        }
        let mut seen = Vec::new();
        let report = verify_with_progress(&path, &VerifyOptions::default(), &mut |p| seen.push(p))
            .expect("verifies");
        assert_eq!(report, verify(&path, &VerifyOptions::default()).expect("v"));
        let total = std::fs::metadata(&path).expect("len").len();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].records, PROGRESS_EVERY);
        assert!(seen[0].bytes < total && seen[0].total_bytes == total);
        assert_eq!(
            seen[1],
            Progress {
                bytes: total,
                total_bytes: total,
                records: n,
            }
        );

        // Reading reports progress through the records a filter skips too.
        let (tx, rx) = std::sync::mpsc::channel();
        let matched = crate::records(&path, crate::Filter::new().session("nobody"))
            .expect("readable")
            .with_progress(move |p| {
                let _ = tx.send(p);
            })
            .count();
        assert_eq!(matched, 0);
        let seen: Vec<Progress> = rx.try_iter().collect();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].records, PROGRESS_EVERY);
        assert!(seen[0].bytes < total && seen[0].total_bytes == total);
    }
}
