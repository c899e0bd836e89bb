//! [`checkpoint()`]: anchor a ledger's head on a git ref.
//!
//! Each checkpoint is a commit on `<prefix>/<writer>` whose tree holds `checkpoint.yaml` (the
//! head: seq, hash, time, byte range) and `records.yaml` (the exact bytes of the records since
//! the previous checkpoint). The commits chain, so the ref's history carries the whole ledger up
//! to its last checkpoint, and git remotes replicate it. The ref moves only by compare-and-swap
//! (`git update-ref REF NEW OLD`) and is pushed without force, so a rewritten history is
//! refused and a rewritten or truncated file no longer matches.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::errors::append;
use crate::git::{AnchorError, CheckpointHead, GitError, GitRepo, read_head, read_head_at};
use crate::options::valid_writer;
use crate::verify::{Outcome, Tamper, verify_refined};

/// A checkpoint made (or found up to date) by [`checkpoint()`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Checkpoint {
    /// The ref.
    pub ref_name: String,
    /// What the ref's newest commit anchors.
    pub head: CheckpointHead,
    /// The commit before it (`None` for the first).
    pub parent: Option<String>,
    /// Records this call anchored (0: the ref was already up to date).
    pub new_records: u64,
}

/// A checkpoint was not made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The writer id cannot name a ref.
    #[error("writer id {0:?} cannot name a git ref")]
    InvalidWriter(String),
    /// The ledger cannot be verified.
    #[error(transparent)]
    Verify(#[from] crate::verify::Error),
    /// The ledger is damaged: it is never anchored.
    #[error(
        "ledger {} is damaged at record {seq} (byte {offset}): {reason}; it was not \
         checkpointed: run `paddock ledger verify`",
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
    /// The ref cannot be read.
    #[error(transparent)]
    Anchor(#[from] AnchorError),
    /// git failed writing the checkpoint.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The ledger cannot be read.
    #[error("cannot read ledger {}", path.display())]
    Io {
        /// The ledger.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Other checkpointers kept moving the ref.
    #[error(
        "{ref_name} kept changing while checkpointing (compare-and-swap lost {attempts} times); try again"
    )]
    Contended {
        /// The ref.
        ref_name: String,
        /// How many times.
        attempts: u32,
    },
    /// The checkpoint was made but the `checkpoint` record could not be appended.
    #[error("the checkpoint was committed but could not be recorded in the ledger")]
    Record(#[source] Box<append::Error>),
}

const ATTEMPTS: u32 = 5;

/// Commits the head of the ledger at `path` (and the records since the last checkpoint) on
/// `ref_name` in `repo`, by compare-and-swap. Refuses a damaged ledger, including one that no
/// longer matches the ref. Returns `None` for an empty ledger.
///
/// Author and committer are `paddock-ledger <WRITER@paddock.invalid>` at the head's time, so
/// the same ledger always gives the same commits.
pub fn checkpoint(
    path: &Path,
    repo: &GitRepo,
    ref_name: &str,
    writer: &str,
) -> Result<Option<Checkpoint>, Error> {
    if !valid_writer(writer) {
        return Err(Error::InvalidWriter(writer.to_owned()));
    }
    for _ in 0..ATTEMPTS {
        let tip = read_head(repo, ref_name)?;
        let report = verify_refined(path, Some((repo, ref_name)), tip.as_ref())?;
        if let Outcome::Tampered {
            first_bad_seq,
            byte_offset,
            reason,
        } = report.outcome
        {
            return Err(Error::Tampered {
                path: path.to_path_buf(),
                seq: first_bad_seq,
                offset: byte_offset,
                reason,
            });
        }
        let Some(head) = report.head else {
            return Ok(None);
        };
        if let Some(tip) = &tip
            && tip.seq >= head.seq
        {
            // verify_against checked the record at tip.seq; nothing new to anchor.
            return Ok(Some(Checkpoint {
                ref_name: ref_name.to_owned(),
                head: tip.clone(),
                parent: None,
                new_records: 0,
            }));
        }
        let (first_seq, offset) = tip.as_ref().map_or((1, 0), |t| (t.seq + 1, t.end));
        let mut records =
            vec![0u8; usize::try_from(head.end.saturating_sub(offset)).unwrap_or(usize::MAX)];
        File::open(path)
            .and_then(|f| f.read_exact_at(&mut records, offset))
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let new_head = CheckpointHead {
            commit: String::new(),
            writer: writer.to_owned(),
            first_seq,
            seq: head.seq,
            hash: head.hash,
            ts: head.ts,
            offset,
            end: head.end,
        };
        let parent = tip.as_ref().map(|t| t.commit.clone());
        let commit = write_commit(repo, &new_head, &records, parent.as_deref())?;
        let old = parent.clone().unwrap_or_default();
        let args = [
            "update-ref",
            "-m",
            "paddock ledger checkpoint",
            ref_name,
            commit.as_str(),
            old.as_str(),
        ];
        let output = repo.output(&args, None, &[])?;
        if output.status.success() {
            let head = read_head_at(repo, ref_name, &commit)?;
            return Ok(Some(Checkpoint {
                ref_name: ref_name.to_owned(),
                head,
                parent,
                new_records: head_seq_delta(first_seq, new_head.seq),
            }));
        }
        // Lost the compare-and-swap? Then go again from the new tip; otherwise it is an error.
        if repo.resolve(ref_name)? == parent {
            return Err(Error::Git(repo.failed(&args, &output)));
        }
    }
    Err(Error::Contended {
        ref_name: ref_name.to_owned(),
        attempts: ATTEMPTS,
    })
}

fn head_seq_delta(first_seq: u64, seq: u64) -> u64 {
    seq + 1 - first_seq
}

fn write_commit(
    repo: &GitRepo,
    head: &CheckpointHead,
    records: &[u8],
    parent: Option<&str>,
) -> Result<String, GitError> {
    let trim = |out: Vec<u8>| String::from_utf8_lossy(&out).trim().to_owned();
    let records_blob = trim(repo.run(&["hash-object", "-w", "--stdin"], Some(records))?);
    let head_blob = trim(repo.run(
        &["hash-object", "-w", "--stdin"],
        Some(head.to_yaml().as_bytes()),
    )?);
    let tree_input = format!(
        "100644 blob {head_blob}\tcheckpoint.yaml\n100644 blob {records_blob}\trecords.yaml\n"
    );
    let tree = trim(repo.run(&["mktree"], Some(tree_input.as_bytes()))?);
    let message = format!(
        "paddock ledger: {} records {}..={}\n\nhead: {}\nts: {}\n",
        head.writer, head.first_seq, head.seq, head.hash, head.ts
    );
    let date = head
        .ts
        .to_system_time()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let date = format!("@{date} +0000");
    let email = format!("{}@paddock.invalid", head.writer);
    let env = [
        ("GIT_AUTHOR_NAME", "paddock-ledger"),
        ("GIT_AUTHOR_EMAIL", email.as_str()),
        ("GIT_AUTHOR_DATE", date.as_str()),
        ("GIT_COMMITTER_NAME", "paddock-ledger"),
        ("GIT_COMMITTER_EMAIL", email.as_str()),
        ("GIT_COMMITTER_DATE", date.as_str()),
    ];
    let mut args = vec!["commit-tree", "--no-gpg-sign", "-m", message.as_str()];
    if let Some(parent) = parent {
        args.extend(["-p", parent]);
    }
    args.push(tree.as_str());
    Ok(trim(repo.run_env(&args, None, &env)?))
}
