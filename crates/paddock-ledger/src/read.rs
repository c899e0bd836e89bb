//! Reading: [`records()`], [`tail()`] and [`Follower`] (for `tail -f`). Every record is
//! verified (hash, link, seq, time) before it is handed out.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::events::Event;
use crate::format::parse_record;
use crate::hash::RecordHash;
use crate::kind::Kind;
use crate::ledger::stable_len;
use crate::scan::{Chain, Step, Walker};
use crate::time::Timestamp;
use crate::verify::{PROGRESS_EVERY, Progress, Tamper};

/// A verified record.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Record {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// The previous record's hash.
    pub prev: RecordHash,
    /// This record's hash.
    pub hash: RecordHash,
    /// When it was appended.
    pub ts: Timestamp,
    /// What it is about.
    pub kind: Kind,
    /// The session it concerns.
    pub session: Option<String>,
    /// Who caused it.
    pub actor: String,
    /// Its data.
    pub data: Map<String, Value>,
    /// Byte offset in the file.
    pub offset: u64,
    /// Length in bytes, hash line included.
    pub len: u64,
}

/// A record's data is not the typed event asked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The record has another kind.
    #[error("record {seq} is a `{found}` record, not `{expected}`")]
    WrongKind {
        /// Its seq.
        seq: u64,
        /// The kind asked for.
        expected: Kind,
        /// Its kind.
        found: Kind,
    },
    /// The data does not fit the type.
    #[error("the data of record {seq} (`{kind}`) does not fit")]
    Data {
        /// Its seq.
        seq: u64,
        /// Its kind.
        kind: Kind,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

impl Record {
    /// The data as the typed event of its kind.
    pub fn decode<E: Event>(&self) -> Result<E, DecodeError> {
        if self.kind != E::KIND {
            return Err(DecodeError::WrongKind {
                seq: self.seq,
                expected: E::KIND,
                found: self.kind.clone(),
            });
        }
        self.data_as()
    }

    /// The data as any deserializable type.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        serde_json::from_value(Value::Object(self.data.clone())).map_err(|source| {
            DecodeError::Data {
                seq: self.seq,
                kind: self.kind.clone(),
                source,
            }
        })
    }
}

/// Which records to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    kind: Option<String>,
    session: Option<String>,
    since: Option<Timestamp>,
}

impl Filter {
    /// Every record.
    pub fn new() -> Filter {
        Filter::default()
    }

    /// Only this kind, or kinds under this dotted prefix (`session` matches `session.started`;
    /// see [`Kind::matches`]).
    pub fn kind(mut self, kind: impl Into<String>) -> Filter {
        self.kind = Some(kind.into());
        self
    }

    /// Only records of this session.
    pub fn session(mut self, session_id: impl Into<String>) -> Filter {
        self.session = Some(session_id.into());
        self
    }

    /// Only records at or after this time.
    pub fn since(mut self, since: Timestamp) -> Filter {
        self.since = Some(since);
        self
    }

    /// Whether `record` passes.
    pub fn matches(&self, record: &Record) -> bool {
        self.kind.as_deref().is_none_or(|k| record.kind.matches(k))
            && self
                .session
                .as_deref()
                .is_none_or(|s| record.session.as_deref() == Some(s))
            && self.since.is_none_or(|t| record.ts >= t)
    }
}

/// Reading failed, or found damage.
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
    /// A record does not verify: nothing from it on is shown.
    #[error(
        "ledger {} is damaged at record {seq} (byte {offset}): {reason}; run `paddock ledger verify`",
        path.display()
    )]
    Tampered {
        /// The ledger.
        path: PathBuf,
        /// The first bad record.
        seq: u64,
        /// Its byte offset.
        offset: u64,
        /// What is wrong.
        reason: Tamper,
    },
    /// A record verifies but its fields cannot be read (written by an incompatible version).
    #[error("record {seq} of ledger {} (byte {offset}) verifies but cannot be read: {what}", path.display())]
    Unreadable {
        /// The ledger.
        path: PathBuf,
        /// Its seq.
        seq: u64,
        /// Its byte offset.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
}

fn to_record(path: &Path, offset: u64, bytes: &[u8]) -> Result<Record, Error> {
    let p = parse_record(bytes).map_err(|what| Error::Unreadable {
        path: path.to_path_buf(),
        seq: crate::format::seq_line(bytes.get(4..).unwrap_or_default()).map_or(0, |(s, _)| s),
        offset,
        what,
    })?;
    Ok(Record {
        seq: p.seq,
        prev: p.prev,
        hash: p.hash,
        ts: p.ts,
        kind: p.kind,
        session: p.session,
        actor: p.actor,
        data: p.data,
        offset,
        len: bytes.len() as u64,
    })
}

/// What one walker step gave a reader.
enum Next {
    Record(Box<Record>),
    End,
    Torn(u64),
}

fn next_record(walker: &mut Walker, path: &Path) -> Result<Next, Error> {
    let step = walker.next_step().map_err(|source| Error::Io {
        path: path.to_path_buf(),
        op: "read",
        source,
    })?;
    match step {
        Step::Record { offset, bytes, .. } => {
            Ok(Next::Record(Box::new(to_record(path, offset, bytes)?)))
        }
        Step::End => Ok(Next::End),
        Step::Torn { offset } => Ok(Next::Torn(offset)),
        Step::Bad {
            offset,
            seq,
            reason,
        } => Err(Error::Tampered {
            path: path.to_path_buf(),
            seq,
            offset,
            reason,
        }),
    }
}

fn open_snapshot(path: &Path) -> Result<(File, u64), Error> {
    let io_err = |op| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, op, source }
    };
    let file = File::open(path).map_err(io_err("open"))?;
    let len = stable_len(&file).map_err(io_err("lock"))?;
    Ok((file, len))
}

/// The records of the ledger at `path` that pass `filter`, oldest first, each verified.
///
/// Reads a snapshot (the length under a shared lock). Damage ends the iteration with an
/// [`Error::Tampered`]; a torn tail just ends it (see [`Records::torn_tail`]).
pub fn records(path: &Path, filter: Filter) -> Result<Records, Error> {
    // Nothing recorded yet (the file is made by the first append): no records.
    if let Err(err) = std::fs::symlink_metadata(path)
        && err.kind() == std::io::ErrorKind::NotFound
    {
        return Ok(records_in(path, Vec::new(), filter));
    }
    let (file, len) = open_snapshot(path)?;
    Ok(Records {
        path: path.to_path_buf(),
        walker: Walker::new(file, 0, len, Chain::START),
        filter,
        done: false,
        torn: None,
        len,
        scanned: 0,
        progress: None,
    })
}

/// Verified records carried in memory (a writer's replicated ledger), oldest first.
pub(crate) fn records_in(label: &Path, bytes: Vec<u8>, filter: Filter) -> Records {
    let len = bytes.len() as u64;
    Records {
        path: label.to_path_buf(),
        walker: Walker::over_bytes(bytes),
        filter,
        done: false,
        torn: None,
        len,
        scanned: 0,
        progress: None,
    }
}

/// Iterator returned by [`records()`].
pub struct Records {
    path: PathBuf,
    walker: Walker,
    filter: Filter,
    done: bool,
    torn: Option<u64>,
    /// The snapshot's length, and the records walked so far (matching or not), for progress.
    len: u64,
    scanned: u64,
    progress: Option<Box<dyn FnMut(Progress) + Send>>,
}

impl Records {
    /// After the iteration: the offset of a torn last record, if the file ends in one.
    pub fn torn_tail(&self) -> Option<u64> {
        self.torn
    }

    /// Reports how far the walk has got to `progress` every few thousand records, whether
    /// they pass the filter or not (a filter that skips most of a large ledger would
    /// otherwise look like a hang). The records handed out are the same.
    pub fn with_progress(mut self, progress: impl FnMut(Progress) + Send + 'static) -> Records {
        self.progress = Some(Box::new(progress));
        self
    }
}

impl Iterator for Records {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let next = next_record(&mut self.walker, &self.path);
            if let (Ok(Next::Record(r)), Some(progress)) = (&next, &mut self.progress) {
                self.scanned += 1;
                if self.scanned.is_multiple_of(PROGRESS_EVERY) {
                    progress(Progress {
                        bytes: r.offset + r.len,
                        total_bytes: self.len,
                        records: self.scanned,
                    });
                }
            }
            match next {
                Ok(Next::Record(r)) if self.filter.matches(&r) => return Some(Ok(*r)),
                Ok(Next::Record(_)) => {}
                Ok(Next::End) => self.done = true,
                Ok(Next::Torn(offset)) => {
                    self.torn = Some(offset);
                    self.done = true;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// The last `n` records that pass `filter` (the whole file is verified to get there).
pub fn tail(path: &Path, n: usize, filter: Filter) -> Result<Vec<Record>, Error> {
    let mut last = VecDeque::with_capacity(n.min(4096));
    for record in records(path, filter)? {
        if last.len() == n {
            last.pop_front();
        }
        if n > 0 {
            last.push_back(record?);
        }
    }
    Ok(last.into())
}

/// Where a [`Follower`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowFrom {
    /// With the first record.
    Start,
    /// With the records appended after it was created.
    End,
    /// With the last `n` (matching) records.
    Last(usize),
}

/// Follows a ledger as it grows (`tail -f`), by polling its length. Iterating blocks until
/// the next record; [`Follower::poll`] does not.
pub struct Follower {
    path: PathBuf,
    walker: Walker,
    filter: Filter,
    queue: VecDeque<Record>,
    interval: Duration,
    failed: bool,
}

impl Follower {
    /// Starts following the ledger at `path` (verifying what is already there).
    pub fn new(path: &Path, filter: Filter, from: FollowFrom) -> Result<Follower, Error> {
        let (file, len) = open_snapshot(path)?;
        let mut follower = Follower {
            path: path.to_path_buf(),
            walker: Walker::new(file, 0, len, Chain::START),
            filter,
            queue: VecDeque::new(),
            interval: Duration::from_millis(200),
            failed: false,
        };
        let keep = match from {
            FollowFrom::Start => usize::MAX,
            FollowFrom::End => 0,
            FollowFrom::Last(n) => n,
        };
        follower.drain(keep)?;
        Ok(follower)
    }

    /// How often to look for new records while blocking (default 200 ms).
    pub fn interval(mut self, interval: Duration) -> Follower {
        self.interval = interval;
        self
    }

    /// Reads up to the current end, keeping at most `keep` new matching records queued.
    fn drain(&mut self, keep: usize) -> Result<(), Error> {
        loop {
            match next_record(&mut self.walker, &self.path)? {
                Next::Record(r) => {
                    if self.filter.matches(&r) && keep > 0 {
                        if self.queue.len() >= keep {
                            self.queue.pop_front();
                        }
                        self.queue.push_back(*r);
                    }
                }
                Next::End => return Ok(()),
                Next::Torn(_) => {
                    // Possibly an append in progress elsewhere, or a crash: wait for the next
                    // append to complete or cut it.
                    self.walker.rewind_to_position();
                    return Ok(());
                }
            }
        }
    }

    /// The records appended since the last call (without blocking).
    pub fn poll(&mut self) -> Result<Vec<Record>, Error> {
        let (_, len) = open_snapshot(&self.path)?;
        let at = self.walker.position();
        if len < at {
            return Err(Error::Tampered {
                path: self.path.clone(),
                seq: self.walker.chain.next_seq.saturating_sub(1),
                offset: len,
                reason: Tamper::Truncated {
                    expected: at,
                    found: len,
                },
            });
        }
        self.walker.extend_to(len);
        self.drain(usize::MAX)?;
        Ok(self.queue.drain(..).collect())
    }
}

impl Iterator for Follower {
    type Item = Result<Record, Error>;

    /// Blocks until the next record (or an error, after which it ends).
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(r) = self.queue.pop_front() {
                return Some(Ok(r));
            }
            match self.poll() {
                Ok(records) if records.is_empty() => std::thread::sleep(self.interval),
                Ok(records) => self.queue.extend(records),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
