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
        #[error("cannot {op} ledger {}", path.display())]
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
        #[error("cannot {op} ledger {} (the record was not written)", path.display())]
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
            "cannot write to ledger {} ({})",
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
            "cannot sync ledger {} to disk ({})",
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
            "cannot save the torn tail of the ledger to {} (the file was not changed)",
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

/// Each error leaves its cause to [`source()`](std::error::Error::source), so a chain printed
/// cause by cause (`{:#}` in anyhow, the binaries' renderer) says each thing once.
#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::path::PathBuf;

    use crate::Kind;

    fn io() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "the cause itself")
    }

    /// Every link of the chain: has a source, and its message does not repeat it.
    fn says_each_cause_once(err: &dyn std::error::Error) {
        let mut link = err;
        let mut sources = 0;
        while let Some(source) = link.source() {
            let (text, cause) = (link.to_string(), source.to_string());
            assert!(
                !text.contains(&cause),
                "{text:?} repeats its source {cause:?}"
            );
            sources += 1;
            link = source;
        }
        assert!(sources > 0, "{err} has no source");
        assert_eq!(link.to_string(), "the cause itself");
    }

    #[test]
    fn no_error_repeats_its_source() {
        let path = PathBuf::from("/x/ledger.yaml");
        let append = || super::append::Error::Io {
            path: path.clone(),
            op: "lock",
            source: io(),
        };
        let read = || crate::read::Error::Io {
            path: path.clone(),
            op: "open",
            source: io(),
        };
        let git = || crate::GitError::Spawn {
            git_dir: path.clone(),
            args: "rev-parse".into(),
            source: io(),
        };
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(super::open::Error::Io {
                path: path.clone(),
                op: "open",
                source: io(),
            }),
            Box::new(append()),
            Box::new(super::append::Error::Write {
                path: path.clone(),
                rolled_back: true,
                source: io(),
            }),
            Box::new(super::append::Error::Sync {
                path: path.clone(),
                rolled_back: false,
                source: io(),
            }),
            Box::new(super::append::Error::Quarantine {
                path: path.clone(),
                source: io(),
            }),
            Box::new(crate::batch::Error::Append {
                lost: 3,
                source: append(),
            }),
            Box::new(crate::checkpoint::Error::Io {
                path: path.clone(),
                source: io(),
            }),
            Box::new(crate::checkpoint::Error::Record(Box::new(append()))),
            Box::new(git()),
            Box::new(crate::checkpoint::Error::Git(git())),
            Box::new(read()),
            Box::new(crate::writers::Error::Read {
                writer: "w1".into(),
                source: Box::new(read()),
            }),
            Box::new(crate::verify::Error::Io {
                path: path.clone(),
                op: "open",
                source: io(),
            }),
            Box::new(crate::verify::Error::Anchor {
                path: path.clone(),
                ref_name: "refs/paddock/ledger/w1".into(),
                source: Box::new(crate::AnchorError::Git(git())),
            }),
        ];
        for err in &errors {
            says_each_cause_once(err.as_ref());
        }
        // serde's errors are the one cause that is not an io::Error.
        let data = crate::read::DecodeError::Data {
            seq: 1,
            kind: Kind::parse("note.x").expect("a valid kind"),
            source: serde_json::from_str::<u8>("x").expect_err("not a number"),
        };
        let cause = data.source().map(ToString::to_string).unwrap_or_default();
        assert!(!cause.is_empty() && !data.to_string().contains(&cause));
    }

    /// The batch's sticky error keeps no source, so its text carries the whole chain.
    #[test]
    fn a_sticky_batch_failure_keeps_the_cause_in_its_text() {
        let err = crate::batch::Error::Append {
            lost: 2,
            source: super::append::Error::Io {
                path: PathBuf::from("/x/ledger.yaml"),
                op: "lock",
                source: io(),
            },
        };
        let text = err
            .sticky(std::path::Path::new("/x/ledger.yaml"))
            .to_string();
        assert!(
            text.contains("(the record was not written): the cause itself"),
            "{text}"
        );
    }
}
