//! Error types of opening and appending (kept together: an append can fail every way an open
//! can, and more).

/// Errors of [`Ledger::open`](crate::Ledger::open).
pub mod open {
    use std::path::PathBuf;

    use crate::options::InvalidOptions;
    use crate::verify::Tamper;

    /// The ledger cannot be opened for appending.
    #[derive(Debug, thiserror::Error)]
    #[non_exhaustive]
    pub enum Error {
        /// The options are invalid.
        #[error(transparent)]
        Options(#[from] InvalidOptions),
        /// The file (or its directory) is read-only or not writable by this user.
        #[error(
            "ledger {} is read-only (mode or filesystem): nothing can be recorded, so the \
             operation that needs a record is refused; make it writable for paddock's supervisor",
            path.display()
        )]
        ReadOnly {
            /// The ledger.
            path: PathBuf,
        },
        /// A system call failed.
        #[error("cannot {op} ledger {}: {source}", path.display())]
        Io {
            /// The ledger (or its directory).
            path: PathBuf,
            /// What was being done.
            op: &'static str,
            /// Why.
            #[source]
            source: std::io::Error,
        },
        /// The existing file is damaged: appends are refused until an operator acts.
        #[error(
            "ledger {} is damaged at record {seq} (byte {offset}): {reason}; nothing will be \
             appended to it: run `paddock ledger verify`, then move the file aside and restore \
             it from its checkpoint ref",
            path.display()
        )]
        Tampered {
            /// The ledger.
            path: PathBuf,
            /// The first bad record (the seq it should carry).
            seq: u64,
            /// Its byte offset.
            offset: u64,
            /// What is wrong.
            reason: Tamper,
        },
    }
}

/// Errors of [`Ledger::append`](crate::Ledger::append) and [`Ledger::recover`](crate::Ledger::recover).
pub mod append {
    use std::path::PathBuf;

    use crate::verify::Tamper;

    /// A record was not appended. In every case the file holds no part of it.
    #[derive(Debug, thiserror::Error)]
    #[non_exhaustive]
    pub enum Error {
        /// The file is read-only or not writable by this user.
        #[error(
            "ledger {} is read-only (mode or filesystem): the record was not written, so the \
             operation that needs it is refused; make it writable for paddock's supervisor",
            path.display()
        )]
        ReadOnly {
            /// The ledger.
            path: PathBuf,
        },
        /// The file disappeared since it was opened.
        #[error(
            "ledger {} no longer exists (moved or deleted since it was opened): the record was \
             not written; reopen the ledger",
            path.display()
        )]
        Missing {
            /// The ledger.
            path: PathBuf,
        },
        /// A system call failed before anything was written.
        #[error("cannot {op} ledger {}: {source}; the record was not written", path.display())]
        Io {
            /// The ledger.
            path: PathBuf,
            /// What was being done.
            op: &'static str,
            /// Why.
            #[source]
            source: std::io::Error,
        },
        /// The file is damaged (or was changed behind this writer): appends are refused until an
        /// operator acts.
        #[error(
            "ledger {} is damaged at record {seq} (byte {offset}): {reason}; the record was not \
             written and nothing will be: run `paddock ledger verify`, then move the file aside \
             and restore it from its checkpoint ref",
            path.display()
        )]
        Tampered {
            /// The ledger.
            path: PathBuf,
            /// The first bad record (the seq it should carry).
            seq: u64,
            /// Its byte offset.
            offset: u64,
            /// What is wrong.
            reason: Tamper,
        },
        /// Writing failed (disk full, file too large, I/O error).
        #[error(
            "cannot write to ledger {}: {source}; {}",
            path.display(),
            if *rolled_back { "the partial write was removed, the file is as it was" }
            else { "the partial write could not be removed: it is a torn tail that the next append or `paddock ledger recover` cuts off" }
        )]
        Write {
            /// The ledger.
            path: PathBuf,
            /// Whether the file was cut back to its length before the write.
            rolled_back: bool,
            /// Why.
            #[source]
            source: std::io::Error,
        },
        /// `fdatasync` failed: the record may not be on disk, so it was removed again.
        #[error(
            "cannot sync ledger {} to disk: {source}; {}",
            path.display(),
            if *rolled_back { "the record was removed again, the file is as it was" }
            else { "the record could not be removed again: verify the ledger" }
        )]
        Sync {
            /// The ledger.
            path: PathBuf,
            /// Whether the file was cut back to its length before the write.
            rolled_back: bool,
            /// Why.
            #[source]
            source: std::io::Error,
        },
        /// A torn tail could not be saved to `quarantine/`, so it was left in place.
        #[error(
            "cannot save the torn tail of the ledger to {}: {source}; the file was not changed",
            path.display()
        )]
        Quarantine {
            /// The quarantine file or directory.
            path: PathBuf,
            /// Why.
            #[source]
            source: std::io::Error,
        },
    }
}
