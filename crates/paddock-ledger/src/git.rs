//! Running git: the checkpoint refs live in an ordinary repository and travel through ordinary
//! remotes. We use the `git` CLI (plumbing only) so that hooks, locking and ref transactions
//! are git's own.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::hash::RecordHash;
use crate::time::Timestamp;

/// A git repository (its git dir) that holds checkpoint refs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRepo {
    git_dir: PathBuf,
    user_config: bool,
}

/// Environment variables that would point git somewhere else than `--git-dir` says.
const SCRUBBED_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
];

impl GitRepo {
    /// The repository whose git dir (`.git`, or the common dir of a worktree) is `git_dir`.
    ///
    /// Git runs hermetically: system and global configuration are ignored (the repository's
    /// own is read), so a user's settings (signing, hooks path, aliases) cannot change or break
    /// a checkpoint. See [`GitRepo::user_config`].
    pub fn new(git_dir: impl Into<PathBuf>) -> GitRepo {
        GitRepo {
            git_dir: git_dir.into(),
            user_config: false,
        }
    }

    /// Also read the user's and the system's git configuration. Use it for [`push`] and
    /// [`pull`] when the remote needs credentials or URL rewrites configured there.
    ///
    /// [`push`]: crate::push
    /// [`pull`]: crate::pull
    pub fn user_config(mut self, yes: bool) -> GitRepo {
        self.user_config = yes;
        self
    }

    /// The git dir.
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    pub(crate) fn command(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(&self.git_dir);
        for var in SCRUBBED_ENV {
            cmd.env_remove(var);
        }
        cmd.env("LC_ALL", "C").env("GIT_TERMINAL_PROMPT", "0");
        if !self.user_config {
            cmd.env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null");
        }
        cmd
    }

    /// Runs git with `args`, feeding `stdin`; returns the output whatever the exit status.
    pub(crate) fn output<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        stdin: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Result<Output, GitError> {
        let mut cmd = self.command();
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let describe = || describe(args);
        let mut child = cmd.spawn().map_err(|source| GitError::Spawn {
            git_dir: self.git_dir.clone(),
            args: describe(),
            source,
        })?;
        // Write stdin on a thread so a large input cannot deadlock against a large output.
        let writer = match (stdin, child.stdin.take()) {
            (Some(input), Some(mut pipe)) => {
                let input = input.to_vec();
                Some(std::thread::spawn(move || pipe.write_all(&input)))
            }
            _ => None,
        };
        let output = child.wait_with_output().map_err(|source| GitError::Spawn {
            git_dir: self.git_dir.clone(),
            args: describe(),
            source,
        })?;
        if let Some(writer) = writer {
            match writer.join() {
                Ok(Ok(())) => {}
                // git may exit before reading everything (it failed): its stderr says why.
                Ok(Err(_)) | Err(_) if !output.status.success() => {}
                Ok(Err(source)) => {
                    return Err(GitError::Spawn {
                        git_dir: self.git_dir.clone(),
                        args: describe(),
                        source,
                    });
                }
                Err(_) => {
                    return Err(GitError::Spawn {
                        git_dir: self.git_dir.clone(),
                        args: describe(),
                        source: std::io::Error::other("the thread feeding git's stdin panicked"),
                    });
                }
            }
        }
        Ok(output)
    }

    /// Runs git and requires success; returns stdout.
    pub(crate) fn run<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        stdin: Option<&[u8]>,
    ) -> Result<Vec<u8>, GitError> {
        self.run_env(args, stdin, &[])
    }

    pub(crate) fn run_env<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        stdin: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Result<Vec<u8>, GitError> {
        let output = self.output(args, stdin, env)?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(self.failed(args, &output))
        }
    }

    pub(crate) fn failed<S: AsRef<OsStr>>(&self, args: &[S], output: &Output) -> GitError {
        GitError::Failed {
            git_dir: self.git_dir.clone(),
            args: describe(args),
            status: output.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        }
    }

    /// The commit a ref points at, if it exists.
    pub(crate) fn resolve(&self, ref_name: &str) -> Result<Option<String>, GitError> {
        let spec = format!("{ref_name}^{{commit}}");
        let args = ["rev-parse", "--verify", "--quiet", spec.as_str()];
        let output = self.output(&args, None, &[])?;
        if output.status.success() {
            Ok(Some(
                String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            ))
        } else if output.status.code() == Some(1) {
            Ok(None)
        } else {
            Err(self.failed(&args, &output))
        }
    }

    /// Refs under `prefix/` with their commits.
    pub(crate) fn refs_under(&self, prefix: &str) -> Result<Vec<(String, String)>, GitError> {
        let pattern = format!("{prefix}/");
        let out = self.run(
            &[
                "for-each-ref",
                "--format=%(refname) %(objectname)",
                pattern.as_str(),
            ],
            None,
        )?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(r, o)| (r.to_owned(), o.to_owned())))
            .collect())
    }

    /// Reads objects by name (`<rev>:<path>`) with one `git cat-file --batch`; `None` for a
    /// missing one.
    pub(crate) fn cat_files(&self, names: &[String]) -> Result<Vec<Option<Vec<u8>>>, GitError> {
        let mut input = Vec::new();
        for name in names {
            input.extend_from_slice(name.as_bytes());
            input.push(b'\n');
        }
        let out = self.run(&["cat-file", "--batch"], Some(&input))?;
        let mut results = Vec::with_capacity(names.len());
        let mut rest = &out[..];
        for name in names {
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                return Err(self.malformed_batch(name));
            };
            let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
            rest = &rest[nl + 1..];
            if header.ends_with(" missing") || header.ends_with(" ambiguous") {
                results.push(None);
                continue;
            }
            let size: usize = header
                .rsplit(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| self.malformed_batch(name))?;
            if rest.len() < size + 1 {
                return Err(self.malformed_batch(name));
            }
            results.push(Some(rest[..size].to_vec()));
            rest = &rest[size + 1..];
        }
        Ok(results)
    }

    fn malformed_batch(&self, name: &str) -> GitError {
        GitError::Failed {
            git_dir: self.git_dir.clone(),
            args: "cat-file --batch".to_owned(),
            status: 0,
            stderr: format!("unexpected output while reading {name}"),
        }
    }

    /// Commits of a ref, oldest first.
    pub(crate) fn history(&self, commit: &str) -> Result<Vec<String>, GitError> {
        let out = self.run(&["rev-list", "--reverse", "--first-parent", commit], None)?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .map(str::to_owned)
            .collect())
    }
}

fn describe<S: AsRef<OsStr>>(args: &[S]) -> String {
    args.iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Running git failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// git could not be started (is it installed and on PATH?).
    #[error("cannot run `git {args}` for {} (is git installed and on PATH?)", git_dir.display())]
    Spawn {
        /// The git dir.
        git_dir: PathBuf,
        /// The arguments.
        args: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// git exited with an error.
    #[error("`git {args}` failed for {} (exit {status}): {stderr}", git_dir.display())]
    Failed {
        /// The git dir.
        git_dir: PathBuf,
        /// The arguments.
        args: String,
        /// Exit status.
        status: i32,
        /// What git said.
        stderr: String,
    },
}

/// What a checkpoint commit records about the head it anchors (its `checkpoint.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckpointHead {
    /// The checkpoint commit.
    pub commit: String,
    /// The writer whose ledger it anchors.
    pub writer: String,
    /// First record in this checkpoint's `records.yaml`.
    pub first_seq: u64,
    /// The anchored head's seq.
    pub seq: u64,
    /// The anchored head's hash.
    pub hash: RecordHash,
    /// The anchored head's time.
    pub ts: Timestamp,
    /// Byte offset of record `first_seq` in the ledger file.
    pub offset: u64,
    /// Byte offset just past record `seq`: the anchored file length.
    pub end: u64,
}

impl CheckpointHead {
    pub(crate) fn to_yaml(&self) -> String {
        let writer = serde_json::to_string(&self.writer).unwrap_or_else(|_| "\"\"".to_owned());
        format!(
            "version: 1\nwriter: {writer}\nfirst_seq: {}\nseq: {}\nhash: {}\nts: {}\noffset: {}\nend: {}\n",
            self.first_seq, self.seq, self.hash, self.ts, self.offset, self.end
        )
    }

    /// Parses `checkpoint.yaml` (fixed `key: value` lines, as written by `to_yaml`).
    pub(crate) fn from_yaml(commit: &str, text: &[u8]) -> Option<CheckpointHead> {
        let text = std::str::from_utf8(text).ok()?;
        let get = |key: &str| {
            text.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|r| r.strip_prefix(": "))
                    .map(str::trim)
            })
        };
        if get("version")? != "1" {
            return None;
        }
        Some(CheckpointHead {
            commit: commit.to_owned(),
            writer: serde_json::from_str(get("writer")?).ok()?,
            first_seq: get("first_seq")?.parse().ok()?,
            seq: get("seq")?.parse().ok()?,
            hash: get("hash")?.parse().ok()?,
            ts: Timestamp::from_bytes(get("ts")?.as_bytes())?,
            offset: get("offset")?.parse().ok()?,
            end: get("end")?.parse().ok()?,
        })
    }
}

/// Reading a checkpoint ref failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorError {
    /// git failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The ref's commit is not a ledger checkpoint.
    #[error(
        "{ref_name} ({commit}) is not a paddock ledger checkpoint (no valid checkpoint.yaml): \
         something else wrote to the ref; inspect it with `git log {ref_name}`"
    )]
    NotACheckpoint {
        /// The ref.
        ref_name: String,
        /// Its commit.
        commit: String,
    },
}

/// The newest checkpoint on `ref_name`, if the ref exists.
pub(crate) fn read_head(
    repo: &GitRepo,
    ref_name: &str,
) -> Result<Option<CheckpointHead>, AnchorError> {
    let Some(commit) = repo.resolve(ref_name)? else {
        return Ok(None);
    };
    read_head_at(repo, ref_name, &commit).map(Some)
}

pub(crate) fn read_head_at(
    repo: &GitRepo,
    ref_name: &str,
    commit: &str,
) -> Result<CheckpointHead, AnchorError> {
    let not = || AnchorError::NotACheckpoint {
        ref_name: ref_name.to_owned(),
        commit: commit.to_owned(),
    };
    let blob = repo
        .cat_files(&[format!("{commit}:checkpoint.yaml")])?
        .pop()
        .flatten()
        .ok_or_else(not)?;
    CheckpointHead::from_yaml(commit, &blob).ok_or_else(not)
}

/// Every record a ref's checkpoints carry, concatenated: the writer's ledger up to its last
/// checkpoint, byte for byte.
pub(crate) fn checkpointed_bytes(
    repo: &GitRepo,
    ref_name: &str,
    commit: &str,
) -> Result<Vec<u8>, AnchorError> {
    let commits = repo.history(commit)?;
    let names: Vec<String> = commits
        .iter()
        .map(|c| format!("{c}:records.yaml"))
        .collect();
    let blobs = repo.cat_files(&names)?;
    let mut out = Vec::new();
    for (blob, commit) in blobs.into_iter().zip(&commits) {
        let blob = blob.ok_or_else(|| AnchorError::NotACheckpoint {
            ref_name: ref_name.to_owned(),
            commit: commit.clone(),
        })?;
        out.extend_from_slice(&blob);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn checkpoint_yaml_round_trips() {
        let head = CheckpointHead {
            commit: "abc".into(),
            writer: "host-1".into(),
            first_seq: 3,
            seq: 9,
            hash: RecordHash::of_record(b"x"),
            ts: "2025-01-02T03:04:05Z".parse().expect("time"),
            offset: 100,
            end: 900,
        };
        assert_eq!(
            CheckpointHead::from_yaml("abc", head.to_yaml().as_bytes()),
            Some(head)
        );
        assert_eq!(CheckpointHead::from_yaml("abc", b"version: 2\n"), None);
    }
}
