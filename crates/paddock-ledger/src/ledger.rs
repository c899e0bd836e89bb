//! [`Ledger`]: appending under an exclusive `flock`, with tail checks and torn-tail recovery.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::entry::Entry;
use crate::errors::{append, open};
use crate::events;
use crate::format::{HASH_LINE_LEN, HASH_LINE_NEEDLE, encode_record};
use crate::git::GitRepo;
use crate::hash::RecordHash;
use crate::options::{Durability, OpenCheck, Options};
use crate::scan::{Chain, Step, Walker, finder, scan_alone};
use crate::time::Timestamp;
use crate::verify::Tamper;

/// The name of the directory, next to the ledger, that keeps cut-off torn tails.
pub const QUARANTINE_DIR: &str = "quarantine";

/// The actor of records the ledger writes about itself (`recovered`, `checkpoint`).
pub const LEDGER_ACTOR: &str = "paddock-ledger";

/// The last record of a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Head {
    /// Its seq (= the number of records).
    pub seq: u64,
    /// Its hash.
    pub hash: RecordHash,
    /// Its time.
    pub ts: Timestamp,
    /// Its byte offset.
    pub offset: u64,
    /// Byte offset just past it (the length of the verified file).
    pub end: u64,
}

/// A record that was appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Appended {
    /// Its seq.
    pub seq: u64,
    /// Its hash.
    pub hash: RecordHash,
    /// Its time.
    pub ts: Timestamp,
    /// Its byte offset.
    pub offset: u64,
}

/// A torn tail that was cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Where the torn bytes began (the file was cut back to it).
    pub offset: u64,
    /// How many bytes were cut.
    pub bytes: u64,
    /// The file that keeps them.
    pub quarantine: PathBuf,
    /// The `recovered` record that says so.
    pub record: Appended,
}

/// Where this writer has verified the file up to.
#[derive(Debug, Clone, Copy)]
struct Frontier {
    chain: Chain,
    /// Offset of the last verified record (equal to `end` when there is none).
    last_start: u64,
    /// Offset just past it.
    end: u64,
}

impl Frontier {
    const START: Frontier = Frontier {
        chain: Chain::START,
        last_start: 0,
        end: 0,
    };
}

/// An append-only, hash-chained ledger file, open for appending.
///
/// Every append takes an exclusive `flock` on the file, checks that the tail is what this
/// handle last verified (and verifies whatever other processes appended since), cuts off a torn
/// tail if a writer crashed mid-write, writes the records with one `write`, syncs per
/// [`Durability`], and unlocks. Many processes may append to one file at once.
///
/// Damage (a bad hash, a broken link, a missing record, a file that shrank) is never repaired:
/// every append then fails with [`append::Error::Tampered`] until an operator acts.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    options: Options,
    frontier: Frontier,
    /// Whether `quarantine/` may hold tails no `recovered` record mentions yet.
    check_pending: bool,
    /// The last checkpoint this handle made (seq, when), for [`Ledger::checkpoint_due`].
    checkpointed: Option<(u64, Instant)>,
    opened_at: Instant,
}

fn is_read_only(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    ) || e.raw_os_error() == Some(Errno::EPERM as i32)
}

/// Takes a `flock`, retrying on EINTR.
pub(crate) fn lock(mut file: File, arg: FlockArg) -> io::Result<Flock<File>> {
    loop {
        match Flock::lock(file, arg) {
            Ok(locked) => return Ok(locked),
            Err((f, Errno::EINTR)) => file = f,
            Err((_, errno)) => return Err(io::Error::from(errno)),
        }
    }
}

/// The length of the file as seen under a shared lock: never in the middle of an append.
pub(crate) fn stable_len(file: &File) -> io::Result<u64> {
    let locked = lock(file.try_clone()?, FlockArg::LockShared)?;
    let len = locked.metadata()?.len();
    drop(locked);
    Ok(len)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

impl Ledger {
    /// Opens (creating if needed, with its directory) the ledger at `path` for appending, and
    /// verifies it as [`Options::open_check`] says.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Ledger, open::Error> {
        options.validate()?;
        let path = path.as_ref().to_path_buf();
        let io_err = |op: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source: io::Error| {
                if is_read_only(&source) {
                    open::Error::ReadOnly { path }
                } else {
                    open::Error::Io { path, op, source }
                }
            }
        };
        let dir = parent_dir(&path);
        std::fs::create_dir_all(dir).map_err(io_err("create the directory of", &path))?;
        let file = match OpenOptions::new().read(true).append(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match OpenOptions::new()
                    .read(true)
                    .append(true)
                    .create_new(true)
                    .mode(0o644)
                    .open(&path)
                {
                    Ok(f) => {
                        // Make the new directory entry durable with the file.
                        sync_dir(dir).map_err(io_err("sync the directory of", &path))?;
                        f
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => OpenOptions::new()
                        .read(true)
                        .append(true)
                        .open(&path)
                        .map_err(io_err("open", &path))?,
                    Err(e) => return Err(io_err("create", &path)(e)),
                }
            }
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        let meta = file.metadata().map_err(io_err("stat", &path))?;
        // Root may write to a file without write permission; a ledger made read-only by an
        // operator is frozen for everyone.
        if meta.permissions().readonly() {
            return Err(open::Error::ReadOnly { path });
        }
        if !meta.is_file() {
            return Err(open::Error::Io {
                path,
                op: "open",
                source: io::Error::other("not a regular file"),
            });
        }
        let len = stable_len(&file).map_err(io_err("lock", &path))?;
        let frontier = match options.open_check {
            OpenCheck::Full => {
                let walker = Walker::new(file, 0, len, Chain::START);
                match walk_frontier(walker, Frontier::START) {
                    Ok((frontier, _torn)) => frontier,
                    Err(Walk::Io(source)) => {
                        return Err(open::Error::Io {
                            path,
                            op: "read",
                            source,
                        });
                    }
                    Err(Walk::Bad {
                        seq,
                        offset,
                        reason,
                    }) => {
                        return Err(open::Error::Tampered {
                            path,
                            seq,
                            offset,
                            reason,
                        });
                    }
                }
            }
            OpenCheck::Tail => match tail_frontier(&file, len) {
                Ok(Some(frontier)) => frontier,
                Ok(None) => Frontier::START,
                Err(Walk::Io(source)) => {
                    return Err(open::Error::Io {
                        path,
                        op: "read",
                        source,
                    });
                }
                Err(Walk::Bad {
                    seq,
                    offset,
                    reason,
                }) => {
                    return Err(open::Error::Tampered {
                        path,
                        seq,
                        offset,
                        reason,
                    });
                }
            },
        };
        let mut ledger = Ledger {
            path,
            options,
            frontier,
            check_pending: false,
            checkpointed: None,
            opened_at: Instant::now(),
        };
        ledger.check_pending = ledger
            .pending_quarantines()
            .map(|p| !p.is_empty())
            .unwrap_or(true);
        Ok(ledger)
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options it was opened with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The last record, as of this handle's last open or append (other processes may have
    /// appended since).
    pub fn head(&self) -> Option<Head> {
        let f = &self.frontier;
        Some(Head {
            seq: f.chain.next_seq.checked_sub(1).filter(|&s| s > 0)?,
            hash: f.chain.prev,
            ts: f.chain.last_ts?,
            offset: f.last_start,
            end: f.end,
        })
    }

    /// The directory that keeps cut-off torn tails: `quarantine/` next to the ledger.
    pub fn quarantine_dir(&self) -> PathBuf {
        parent_dir(&self.path).join(QUARANTINE_DIR)
    }

    /// Appends one record: lock, check the tail, one `write`, `fdatasync` (unless
    /// [`Durability::Never`]), unlock.
    pub fn append(&mut self, entry: &Entry) -> Result<Appended, append::Error> {
        let (mut appended, _) = self.commit(std::slice::from_ref(entry))?;
        appended.pop().ok_or_else(|| append::Error::Io {
            path: self.path.clone(),
            op: "append to",
            source: io::Error::other("no record was produced"),
        })
    }

    /// Appends several records with one `write` and one `fdatasync` (unless
    /// [`Durability::Never`]): all or none of them.
    pub fn append_all(&mut self, entries: &[Entry]) -> Result<Vec<Appended>, append::Error> {
        self.commit(entries).map(|(appended, _)| appended)
    }

    /// Cuts off a torn last record now (instead of at the next append): its bytes go to
    /// `quarantine/` and a `recovered` record says how many at what offset. Returns what was
    /// recovered (nothing for a clean file).
    pub fn recover(&mut self) -> Result<Vec<Recovery>, append::Error> {
        self.commit(&[]).map(|(_, recovered)| recovered)
    }

    fn io(&self, op: &'static str) -> impl FnOnce(io::Error) -> append::Error + use<> {
        let path = self.path.clone();
        move |source| {
            if is_read_only(&source) {
                append::Error::ReadOnly { path }
            } else if source.kind() == io::ErrorKind::NotFound {
                append::Error::Missing { path }
            } else {
                append::Error::Io { path, op, source }
            }
        }
    }

    fn tampered(&self, seq: u64, offset: u64, reason: Tamper) -> append::Error {
        append::Error::Tampered {
            path: self.path.clone(),
            seq,
            offset,
            reason,
        }
    }

    /// The locked part of every append.
    fn commit(
        &mut self,
        entries: &[Entry],
    ) -> Result<(Vec<Appended>, Vec<Recovery>), append::Error> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(self.io("open"))?;
        let file = lock(file, FlockArg::LockExclusive).map_err(self.io("lock"))?;
        let meta = file.metadata().map_err(self.io("stat"))?;
        if meta.permissions().readonly() {
            return Err(append::Error::ReadOnly {
                path: self.path.clone(),
            });
        }
        let mut len = meta.len();
        if let Some(torn) = self.catch_up(&file, len)? {
            self.quarantine(&file, torn, len)?;
            file.set_len(torn)
                .map_err(self.io("cut the torn tail of"))?;
            file.sync_data().map_err(self.io("sync"))?;
            len = torn;
            self.check_pending = true;
        }
        let pending = if self.check_pending {
            self.pending_quarantines()
                .map_err(self.io("list quarantine of"))?
        } else {
            Vec::new()
        };
        if entries.is_empty() && pending.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }

        let now = Timestamp::now();
        let mut chain = self.frontier.chain;
        let mut buf = Vec::with_capacity(entries.len() * 320 + pending.len() * 400);
        let mut appended = Vec::with_capacity(entries.len() + pending.len());
        let mut push = |buf: &mut Vec<u8>, body: &[u8], ts: Timestamp| {
            let ts = chain.last_ts.map_or(ts, |last| ts.max(last));
            let offset = len + buf.len() as u64;
            let hash = encode_record(buf, chain.next_seq, &chain.prev, &ts, body);
            let record = Appended {
                seq: chain.next_seq,
                hash,
                ts,
                offset,
            };
            chain = Chain {
                next_seq: chain.next_seq + 1,
                prev: hash,
                last_ts: Some(ts),
            };
            record
        };
        for p in &pending {
            let data = events::Recovered {
                offset: p.offset,
                bytes: p.bytes,
                quarantine: format!("{QUARANTINE_DIR}/{}", p.final_name),
                blake3: p.blake3.clone(),
                ..Default::default()
            };
            let entry = Entry::event(&data)
                .map_err(|e| append::Error::Io {
                    path: self.path.clone(),
                    op: "record recovery in",
                    source: io::Error::other(e),
                })?
                .actor(LEDGER_ACTOR);
            appended.push(push(&mut buf, &entry.body(LEDGER_ACTOR), now));
        }
        for entry in entries {
            let body = entry.body(&self.options.actor);
            appended.push(push(&mut buf, &body, entry.requested_time().unwrap_or(now)));
        }

        // One write. A short write (disk full, file size limit) is cut back off under the
        // lock, so no reader ever sees half a record that nobody will complete.
        if let Err(source) = (&*file).write_all(&buf) {
            let rolled_back = file.set_len(len).and_then(|()| file.sync_data()).is_ok();
            return Err(append::Error::Write {
                path: self.path.clone(),
                rolled_back,
                source,
            });
        }
        if (self.options.durability != Durability::Never || !pending.is_empty())
            && let Err(source) = file.sync_data()
        {
            let rolled_back = file.set_len(len).and_then(|()| file.sync_data()).is_ok();
            return Err(append::Error::Sync {
                path: self.path.clone(),
                rolled_back,
                source,
            });
        }
        if let Some(last) = appended.last() {
            self.frontier = Frontier {
                chain,
                last_start: last.offset,
                end: len + buf.len() as u64,
            };
        }
        let mut recovered = Vec::with_capacity(pending.len());
        for (p, record) in pending.into_iter().zip(appended.iter()) {
            let final_path = self.quarantine_dir().join(&p.final_name);
            // The record is durable; a failed rename only means another handle may record the
            // same quarantined tail once more.
            let _ = std::fs::rename(&p.path, &final_path);
            recovered.push(Recovery {
                offset: p.offset,
                bytes: p.bytes,
                quarantine: final_path,
                record: *record,
            });
        }
        if !recovered.is_empty() {
            let _ = sync_dir(&self.quarantine_dir());
        }
        self.check_pending = false;
        let appended = appended.split_off(recovered.len());
        drop(file);
        Ok((appended, recovered))
    }

    /// Under the lock: checks that the file still ends with what this handle verified, and
    /// verifies what others appended since. Returns the offset of a torn tail, if any.
    fn catch_up(&mut self, file: &File, len: u64) -> Result<Option<u64>, append::Error> {
        let f = self.frontier;
        let last_seq = f.chain.next_seq.saturating_sub(1);
        if len < f.end {
            return Err(self.tampered(
                last_seq,
                len,
                Tamper::Truncated {
                    expected: f.end,
                    found: len,
                },
            ));
        }
        if f.end > f.last_start {
            let size = usize::try_from(f.end - f.last_start).unwrap_or(usize::MAX);
            let mut bytes = vec![0u8; size];
            file.read_exact_at(&mut bytes, f.last_start)
                .map_err(self.io("read"))?;
            if scan_alone(&bytes, &finder()).map(|s| s.hash) != Some(f.chain.prev) {
                return Err(self.tampered(last_seq, f.last_start, Tamper::Changed));
            }
        }
        if len == f.end {
            return Ok(None);
        }
        let walker = Walker::new(
            file.try_clone().map_err(self.io("read"))?,
            f.end,
            len,
            f.chain,
        );
        match walk_frontier(walker, f) {
            Ok((frontier, torn)) => {
                self.frontier = frontier;
                Ok(torn)
            }
            Err(Walk::Io(e)) => Err(self.io("read")(e)),
            Err(Walk::Bad {
                seq,
                offset,
                reason,
            }) => Err(self.tampered(seq, offset, reason)),
        }
    }

    /// Saves the torn bytes `[offset, len)` as a `.pending` file in `quarantine/`.
    fn quarantine(&self, file: &File, offset: u64, len: u64) -> Result<(), append::Error> {
        let dir = self.quarantine_dir();
        let q = |path: &Path| {
            let path = path.to_path_buf();
            move |source| append::Error::Quarantine { path, source }
        };
        let mut bytes =
            vec![0u8; usize::try_from(len.saturating_sub(offset)).unwrap_or(usize::MAX)];
        file.read_exact_at(&mut bytes, offset)
            .map_err(self.io("read"))?;
        std::fs::create_dir_all(&dir).map_err(q(&dir))?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = dir.join(format!("{}.{offset}.{nanos}.pending", self.file_name()));
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
            .map_err(q(&path))?;
        out.write_all(&bytes)
            .and_then(|()| out.sync_all())
            .map_err(q(&path))?;
        sync_dir(&dir).map_err(q(&dir))?;
        let _ = sync_dir(parent_dir(&self.path));
        Ok(())
    }

    fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "ledger".to_owned())
    }

    /// Quarantined tails whose `recovered` record is not written yet.
    fn pending_quarantines(&self) -> io::Result<Vec<Pending>> {
        let dir = self.quarantine_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let prefix = format!("{}.", self.file_name());
        let mut pending = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(".pending"))
            else {
                continue;
            };
            let Some((offset, nanos)) = stem.split_once('.') else {
                continue;
            };
            let (Ok(offset), Ok(_)) = (offset.parse::<u64>(), nanos.parse::<u128>()) else {
                continue;
            };
            let bytes = std::fs::read(entry.path())?;
            pending.push(Pending {
                path: entry.path(),
                final_name: format!("{prefix}{stem}.torn"),
                offset,
                bytes: bytes.len() as u64,
                blake3: blake3::hash(&bytes).to_hex().to_string(),
            });
        }
        pending.sort_by(|a, b| a.final_name.cmp(&b.final_name));
        Ok(pending)
    }

    /// Turns this handle into a [`Batch`](crate::Batch) writer (see [`Durability::Batch`]).
    pub fn batch(self) -> crate::Batch {
        crate::Batch::new(self)
    }

    /// Whether a checkpoint is due per [`CheckpointOptions`](crate::CheckpointOptions): enough
    /// records or enough time since this handle's last checkpoint (or since it was opened).
    pub fn checkpoint_due(&self) -> bool {
        let opts = &self.options.checkpoint;
        let (base_seq, since) = self.checkpointed.unwrap_or((0, self.opened_at));
        let head = self.frontier.chain.next_seq.saturating_sub(1);
        let new = head.saturating_sub(base_seq);
        (opts.every_records > 0 && new >= opts.every_records)
            || (!opts.every.is_zero() && new > 0 && since.elapsed() >= opts.every)
    }

    /// Checkpoints the head on this writer's ref ([`Options::checkpoint_ref`]) in `repo` and,
    /// when a new checkpoint commit was made, appends a `checkpoint` record saying so.
    pub fn checkpoint(
        &mut self,
        repo: &GitRepo,
    ) -> Result<Option<crate::Checkpoint>, crate::checkpoint::Error> {
        let ref_name = self.options.checkpoint_ref();
        let made =
            crate::checkpoint::checkpoint(&self.path, repo, &ref_name, &self.options.writer)?;
        if let Some(cp) = &made {
            if cp.new_records > 0 {
                let data = events::Checkpoint {
                    reference: ref_name.clone(),
                    commit: cp.head.commit.clone(),
                    seq: cp.head.seq,
                    hash: cp.head.hash.to_string(),
                    ..Default::default()
                };
                let entry = Entry::event(&data)
                    .map_err(|e| {
                        crate::checkpoint::Error::Record(Box::new(append::Error::Io {
                            path: self.path.clone(),
                            op: "record a checkpoint in",
                            source: io::Error::other(e),
                        }))
                    })?
                    .actor(LEDGER_ACTOR);
                let record = self
                    .append(&entry)
                    .map_err(|e| crate::checkpoint::Error::Record(Box::new(e)))?;
                // The `checkpoint` record itself does not make the next checkpoint due.
                self.checkpointed = Some((record.seq, Instant::now()));
            } else {
                self.checkpointed = Some((cp.head.seq, Instant::now()));
            }
        }
        Ok(made)
    }
}

struct Pending {
    path: PathBuf,
    final_name: String,
    offset: u64,
    bytes: u64,
    blake3: String,
}

pub(crate) enum Walk {
    Io(io::Error),
    Bad {
        seq: u64,
        offset: u64,
        reason: Tamper,
    },
}

/// Walks to the end, returning the new frontier and the offset of a torn tail.
fn walk_frontier(
    mut walker: Walker,
    mut frontier: Frontier,
) -> Result<(Frontier, Option<u64>), Walk> {
    loop {
        match walker.next_step().map_err(Walk::Io)? {
            Step::Record {
                offset, scanned, ..
            } => {
                frontier = Frontier {
                    chain: walker.chain,
                    last_start: offset,
                    end: offset + scanned.len as u64,
                };
            }
            Step::End => return Ok((frontier, None)),
            Step::Torn { offset } => return Ok((frontier, Some(offset))),
            Step::Bad {
                offset,
                seq,
                reason,
            } => {
                return Err(Walk::Bad {
                    seq,
                    offset,
                    reason,
                });
            }
        }
    }
}

/// Finds and verifies the last complete record without reading the whole file.
fn tail_frontier(file: &File, len: u64) -> Result<Option<Frontier>, Walk> {
    let finder = memchr::memmem::FinderRev::new(HASH_LINE_NEEDLE);
    let start_finder = memchr::memmem::FinderRev::new(b"\n---\n");
    let mut window: u64 = 64 << 10;
    loop {
        let lo = len.saturating_sub(window);
        let mut buf = vec![0u8; usize::try_from(len - lo).unwrap_or(usize::MAX)];
        file.read_exact_at(&mut buf, lo).map_err(Walk::Io)?;
        // The last complete hash line.
        let mut search_end = buf.len();
        let mut hash_end = None;
        while let Some(nl) = finder.rfind(&buf[..search_end]) {
            let end = nl + 1 + HASH_LINE_LEN;
            if end <= buf.len() && buf[end - 1] == b'\n' {
                hash_end = Some((nl, end));
                break;
            }
            search_end = nl;
        }
        if let Some((nl, end)) = hash_end {
            let start = match start_finder.rfind(&buf[..=nl]) {
                Some(i) => Some(i + 1),
                None if lo == 0 && buf.starts_with(b"---\n") => Some(0),
                None => None,
            };
            if let Some(start) = start {
                let offset = lo + start as u64;
                return match scan_alone(&buf[start..end], &finder_fwd()) {
                    Some(s) => Ok(Some(Frontier {
                        chain: Chain {
                            next_seq: s.seq + 1,
                            prev: s.hash,
                            last_ts: Some(s.ts),
                        },
                        last_start: offset,
                        end: offset + s.len as u64,
                    })),
                    None => Err(Walk::Bad {
                        seq: 0,
                        offset,
                        reason: Tamper::Malformed {
                            what: "the last complete record does not verify",
                        },
                    }),
                };
            }
        } else if lo == 0 {
            return Ok(None);
        }
        if lo == 0 {
            return Err(Walk::Bad {
                seq: 1,
                offset: 0,
                reason: Tamper::Malformed {
                    what: "the file does not start with a record",
                },
            });
        }
        window = window.saturating_mul(4);
    }
}

fn finder_fwd() -> memchr::memmem::Finder<'static> {
    finder()
}
