//! [`Batch`]: group commit for [`Durability::Batch`](crate::Durability::Batch).

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::entry::Entry;
use crate::errors::append;
use crate::ledger::{Head, Ledger};
use crate::time::Timestamp;

/// A batch flush failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// This flush failed; its records were not written.
    #[error("{lost} buffered ledger records were not written")]
    Append {
        /// How many records were lost.
        lost: usize,
        /// Why.
        #[source]
        source: append::Error,
    },
    /// An earlier (background) flush failed: the batch refuses everything since, so that no
    /// caller goes on as if its records were kept.
    #[error(
        "an earlier flush to ledger {} failed ({message}); {lost} records were lost and the \
         batch accepts no more: fix the cause and reopen the ledger",
        path.display()
    )]
    Failed {
        /// The ledger.
        path: PathBuf,
        /// The first failure.
        message: String,
        /// Records lost by it.
        lost: usize,
    },
}

impl Error {
    pub(crate) fn sticky(&self, path: &std::path::Path) -> Error {
        match self {
            Error::Append { lost, source } => Error::Failed {
                path: path.to_path_buf(),
                message: sentence(source),
                lost: *lost,
            },
            Error::Failed {
                path,
                message,
                lost,
            } => Error::Failed {
                path: path.clone(),
                message: message.clone(),
                lost: *lost,
            },
        }
    }
}

/// An error and its causes as one line (`what: why: why`): the sticky error keeps no source,
/// so it carries the whole chain as text (each error's message leaves its cause to the chain).
fn sentence(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        text.push_str(": ");
        text.push_str(&err.to_string());
        cause = err.source();
    }
    text
}

struct State {
    pending: Vec<Entry>,
    first_at: Option<Instant>,
    failed: Option<Error>,
    stop: bool,
}

struct Shared {
    path: PathBuf,
    max_records: usize,
    max_delay: Duration,
    state: Mutex<State>,
    wake: Condvar,
    /// Locked after `state` (never the other way round) so batches are written in order.
    ledger: Mutex<Option<Ledger>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data here (a Vec and flags).
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Writes `batch` (taken from `state` while it was held) and records a failure.
    fn write(
        &self,
        mut ledger: MutexGuard<'_, Option<Ledger>>,
        batch: Vec<Entry>,
    ) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let lost = batch.len();
        let result = match ledger.as_mut() {
            Some(l) => l
                .append_all(&batch)
                .map(drop)
                .map_err(|source| Error::Append { lost, source }),
            None => Err(Error::Failed {
                path: self.path.clone(),
                message: "the batch was finished".into(),
                lost,
            }),
        };
        drop(ledger);
        if let Err(e) = &result {
            let mut state = lock(&self.state);
            if state.failed.is_none() {
                state.failed = Some(e.sticky(&self.path));
            }
        }
        result
    }

    /// Takes what is pending and writes it (in order with every other flush).
    fn flush(&self) -> Result<(), Error> {
        let mut state = lock(&self.state);
        if let Some(e) = &state.failed {
            return Err(e.sticky(&self.path));
        }
        let batch = std::mem::take(&mut state.pending);
        state.first_at = None;
        let ledger = lock(&self.ledger);
        drop(state);
        self.write(ledger, batch)
    }

    fn run_flusher(&self) {
        loop {
            let mut state = lock(&self.state);
            loop {
                if state.stop {
                    break;
                }
                match state.first_at {
                    None => {
                        state = self
                            .wake
                            .wait(state)
                            .unwrap_or_else(PoisonError::into_inner)
                    }
                    Some(first) => {
                        let due = first + self.max_delay;
                        let now = Instant::now();
                        if now >= due {
                            break;
                        }
                        state = self
                            .wake
                            .wait_timeout(state, due - now)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0;
                    }
                }
            }
            let stop = state.stop;
            let batch = std::mem::take(&mut state.pending);
            state.first_at = None;
            let ledger = lock(&self.ledger);
            drop(state);
            // A failure is kept in `state.failed` and reported to the next caller.
            let _ = self.write(ledger, batch);
            if stop {
                return;
            }
        }
    }
}

/// A ledger writer that buffers records and writes them in groups: one `write` and one
/// `fdatasync` per group of at most [`BatchOptions::max_records`], at most
/// [`BatchOptions::max_delay`] after the first record of the group (a background thread sees to
/// that), on [`Batch::flush`], [`Batch::finish`] and on drop.
///
/// `push` returns before the record is on disk: a crash may lose what is buffered (that is the
/// trade [`Durability::Batch`] makes). A failed flush poisons the batch: every later call
/// returns [`Error::Failed`], so callers fail closed. Errors on drop cannot be reported; call
/// [`Batch::finish`] to see them.
///
/// `Batch` is `Send + Sync`: share it between threads with an `Arc` or by reference.
///
/// [`BatchOptions::max_records`]: crate::BatchOptions::max_records
/// [`BatchOptions::max_delay`]: crate::BatchOptions::max_delay
/// [`Durability::Batch`]: crate::Durability::Batch
pub struct Batch {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

impl Batch {
    pub(crate) fn new(ledger: Ledger) -> Batch {
        let opts = ledger.options().batch;
        let shared = Arc::new(Shared {
            path: ledger.path().to_path_buf(),
            max_records: opts.max_records.max(1),
            max_delay: opts.max_delay,
            state: Mutex::new(State {
                pending: Vec::new(),
                first_at: None,
                failed: None,
                stop: false,
            }),
            wake: Condvar::new(),
            ledger: Mutex::new(Some(ledger)),
        });
        let for_thread = Arc::clone(&shared);
        let flusher = std::thread::Builder::new()
            .name("paddock-ledger-batch".into())
            .spawn(move || for_thread.run_flusher())
            .ok();
        Batch { shared, flusher }
    }

    /// Buffers a record (its time is taken now unless it has one). Writes the group when it
    /// is full.
    pub fn push(&self, entry: Entry) -> Result<(), Error> {
        let entry = if entry.requested_time().is_some() {
            entry
        } else {
            entry.time(Timestamp::now())
        };
        let mut state = lock(&self.shared.state);
        if let Some(e) = &state.failed {
            return Err(e.sticky(&self.shared.path));
        }
        state.pending.push(entry);
        if state.first_at.is_none() {
            state.first_at = Some(Instant::now());
            self.shared.wake.notify_one();
        }
        // Without a flusher thread (it could not be spawned) every push writes.
        if state.pending.len() >= self.shared.max_records || self.flusher.is_none() {
            let batch = std::mem::take(&mut state.pending);
            state.first_at = None;
            let ledger = lock(&self.shared.ledger);
            drop(state);
            return self.shared.write(ledger, batch);
        }
        Ok(())
    }

    /// Writes whatever is buffered now.
    pub fn flush(&self) -> Result<(), Error> {
        self.shared.flush()
    }

    /// The last record written (as of the last flush).
    pub fn head(&self) -> Option<Head> {
        lock(&self.shared.ledger).as_ref().and_then(Ledger::head)
    }

    /// Records buffered, not yet written.
    pub fn pending(&self) -> usize {
        lock(&self.shared.state).pending.len()
    }

    fn stop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.wake.notify_all();
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
    }

    /// Flushes, stops the background thread and gives the ledger back.
    pub fn finish(mut self) -> Result<Ledger, Error> {
        self.stop();
        self.shared.flush()?;
        lock(&self.shared.ledger)
            .take()
            .ok_or_else(|| Error::Failed {
                path: self.shared.path.clone(),
                message: "the batch was already finished".into(),
                lost: 0,
            })
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.stop();
        let _ = self.shared.flush();
    }
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("path", &self.shared.path)
            .field("pending", &self.pending())
            .finish()
    }
}
