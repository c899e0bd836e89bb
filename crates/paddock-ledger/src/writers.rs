//! [`read_writers`]: several machines' ledgers, read together from their checkpoint refs
//! (for `paddock ledger show --all-writers`).

use std::path::{Path, PathBuf};

use crate::git::{AnchorError, GitError, GitRepo, checkpointed_bytes, read_head_at};
use crate::options::valid_ref_prefix;
use crate::read::{self, Filter, Record, records, records_in};

/// A record and the writer whose ledger holds it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WriterRecord {
    /// The writer id (the last component of its ref).
    pub writer: String,
    /// The record.
    pub record: Record,
}

/// This machine's ledger file, read instead of its ref (it also has what is not checkpointed
/// yet).
#[derive(Debug, Clone, Copy)]
pub struct LocalLedger<'a> {
    /// The ledger file.
    pub path: &'a Path,
    /// Its writer id.
    pub writer: &'a str,
}

/// Reading the writers' ledgers failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The prefix is not a ref prefix.
    #[error("{0:?} is not a ref prefix under refs/")]
    InvalidPrefix(String),
    /// git failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// A ref is not a ledger checkpoint.
    #[error(transparent)]
    Anchor(#[from] AnchorError),
    /// A writer's ledger does not verify.
    #[error("cannot read the ledger of writer {writer}")]
    Read {
        /// The writer.
        writer: String,
        /// What is wrong.
        #[source]
        source: Box<read::Error>,
    },
    /// A writer's newest checkpoint does not name the last record its commits carry.
    #[error(
        "{ref_name}: its newest checkpoint anchors record {expected_seq} but its commits carry \
         {found_seq} records: the ref was not written by paddock"
    )]
    Inconsistent {
        /// The ref.
        ref_name: String,
        /// The checkpointed seq.
        expected_seq: u64,
        /// The last record carried.
        found_seq: u64,
    },
}

/// Every record under `prefix/*` (one ref per writer), each writer's chain verified, merged
/// in order of time, then writer, then seq. With `local`, that writer's ledger file is read
/// instead of its ref.
pub fn read_writers(
    repo: &GitRepo,
    prefix: &str,
    local: Option<LocalLedger<'_>>,
    filter: &Filter,
) -> Result<Vec<WriterRecord>, Error> {
    if !valid_ref_prefix(prefix) {
        return Err(Error::InvalidPrefix(prefix.to_owned()));
    }
    let mut all = Vec::new();
    for (ref_name, commit) in repo.refs_under(prefix)? {
        let Some(writer) = ref_name
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('/'))
        else {
            continue;
        };
        if writer.contains('/') {
            continue;
        }
        let writer = writer.to_owned();
        if local.is_some_and(|l| l.writer == writer) {
            continue;
        }
        let head = read_head_at(repo, &ref_name, &commit)?;
        let bytes = checkpointed_bytes(repo, &ref_name, &commit)?;
        // Verify the whole chain, not only what passes the filter.
        let mut last_seq = 0;
        let label = PathBuf::from(&ref_name);
        for record in records_in(&label, bytes, Filter::new()) {
            let record = record.map_err(|source| Error::Read {
                writer: writer.clone(),
                source: Box::new(source),
            })?;
            last_seq = record.seq;
            if filter.matches(&record) {
                all.push(WriterRecord {
                    writer: writer.clone(),
                    record,
                });
            }
        }
        if last_seq != head.seq {
            return Err(Error::Inconsistent {
                ref_name,
                expected_seq: head.seq,
                found_seq: last_seq,
            });
        }
    }
    if let Some(local) = local {
        let iter = records(local.path, filter.clone()).map_err(|source| Error::Read {
            writer: local.writer.to_owned(),
            source: Box::new(source),
        })?;
        for record in iter {
            let record = record.map_err(|source| Error::Read {
                writer: local.writer.to_owned(),
                source: Box::new(source),
            })?;
            all.push(WriterRecord {
                writer: local.writer.to_owned(),
                record,
            });
        }
    }
    all.sort_by(|a, b| {
        (a.record.ts, &a.writer, a.record.seq).cmp(&(b.record.ts, &b.writer, b.record.seq))
    });
    Ok(all)
}
