//! Ending sessions without losing work: archive what is unmerged under
//! `refs/paddock/archive/<id>`, then remove the worktree and branch; `cancel`, expiry and `gc`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use crate::Workspace;
use crate::git::{self, Git};
use crate::record::Event;
use crate::registry::RegistryLock;
use crate::session::{self, Mode, Session, State};

/// Where archived work goes.
pub const ARCHIVE_PREFIX: &str = "refs/paddock/archive/";

/// Errors of cleanup operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The session already ended.
    #[error("session {id:?} is {state} and holds nothing to {action}")]
    NotLive {
        /// The session.
        id: String,
        /// Its state.
        state: &'static str,
        /// What was asked.
        action: &'static str,
    },
    /// Archiving failed, so nothing was removed.
    #[error("could not archive the work of session {id:?}, so nothing was removed: {source}")]
    Archive {
        /// The session.
        id: String,
        /// The git failure.
        #[source]
        source: git::Error,
    },
    /// The registry could not be read or written.
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    /// A git command failed.
    #[error(transparent)]
    Git(#[from] git::Error),
    /// The session's objects could not be moved into the shared store.
    #[error(transparent)]
    Objects(#[from] crate::confine::Error),
    /// The ledger refused the record: the operation was not done (fail closed).
    #[error("cannot record it in the ledger, so nothing was changed: {0}")]
    Record(#[from] crate::record::Error),
}

/// What happened to a session's work when it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Archived {
    /// The archive ref, when there was unmerged work.
    pub archive_ref: Option<String>,
    /// The archived commit.
    pub commit: Option<String>,
    /// Whether uncommitted changes were part of it.
    pub uncommitted: bool,
    /// Whether the worktree was removed.
    pub worktree_removed: bool,
    /// Whether the branch was deleted.
    pub branch_deleted: bool,
}

/// One thing `gc` found and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GcItem {
    /// `expired-session`, `vanished-worktree`, `orphan-worktree`, `orphan-branch`, `orphan-dir`.
    pub kind: &'static str,
    /// The session, path or branch concerned.
    pub subject: String,
    /// What gc did about it.
    pub action: String,
}

/// How far [`Workspace::gc_with_progress`] has got: it is about to look at `subject`, the
/// `done + 1`-th of `total` things in its current `phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcProgress<'a> {
    /// `sessions`, `directories` or `branches`, in that order.
    pub phase: &'static str,
    /// Things of this phase already looked at.
    pub done: usize,
    /// Things of this phase in all.
    pub total: usize,
    /// The session id, directory or branch about to be looked at.
    pub subject: &'a str,
}

impl Workspace {
    /// Cancels a live session: archives unmerged work, removes its worktree and branch (or
    /// releases its lock), records it.
    pub fn cancel(&self, id: &str, reason: Option<&str>) -> Result<(Session, Archived), Error> {
        let lock = self.registry().lock()?;
        let session = self.registry().load(id)?;
        if !session.state.is_live() {
            return Err(Error::NotLive {
                id: id.to_owned(),
                state: session.state.as_str(),
                action: "cancel",
            });
        }
        self.end(
            &lock,
            session,
            State::Cancelled,
            "session.cancelled",
            reason,
        )
    }

    /// Archives, removes, records and saves a session in its final `state`.
    fn end(
        &self,
        lock: &RegistryLock,
        mut session: Session,
        state: State,
        kind: &str,
        reason: Option<&str>,
    ) -> Result<(Session, Archived), Error> {
        let archived = self.archive_and_remove(&session)?;
        session.state = state;
        session.archive_ref = archived.archive_ref.clone();
        session.updated = session::timestamp(SystemTime::now());
        let data = serde_json::json!({
            "reason": reason,
            "archive_ref": archived.archive_ref,
            "archived_commit": archived.commit,
            "uncommitted": archived.uncommitted,
            "worktree_removed": archived.worktree_removed,
        });
        self.record(Event::session(kind, &session, data))?;
        if session.mode == Mode::Lock {
            self.record(Event::session(
                "lock.released",
                &session,
                serde_json::json!({ "scope": session.scope }),
            ))?;
        }
        self.registry().save(lock, &session)?;
        self.checkpoint_at_session_end();
        Ok((session, archived))
    }

    /// Archives what is not merged, then removes the worktree and the branch. Removal happens
    /// only after the archive ref is written.
    pub(crate) fn archive_and_remove(&self, session: &Session) -> Result<Archived, Error> {
        let mut archived = Archived::default();
        if session.mode == Mode::Lock {
            return Ok(archived);
        }
        // Objects first, so every archive and branch below resolves from the shared store.
        self.absorb_session_objects(&session.id)?;
        let git = self.repo().git();
        let worktree_git = Git::new(&session.worktree);
        let has_worktree = session.worktree.join(".git").exists();
        let branch_ref = session.branch.as_ref().map(|b| format!("refs/heads/{b}"));

        let head = if has_worktree {
            worktree_git
                .run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
                .ok()
        } else {
            None
        };
        let head = match (head, &branch_ref) {
            (Some(head), _) => Some(head),
            (None, Some(r)) => git
                .run([
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{r}^{{commit}}"),
                ])
                .ok(),
            (None, None) => None,
        };
        let snapshot = if has_worktree {
            snapshot_uncommitted(&worktree_git, head.as_deref(), &session.id).map_err(|source| {
                Error::Archive {
                    id: session.id.clone(),
                    source,
                }
            })?
        } else {
            None
        };
        archived.uncommitted = snapshot.is_some();
        let tip = snapshot.or(head);
        if let Some(tip) = tip {
            let merged = tip == session.base
                || git
                    .test([
                        "merge-base",
                        "--is-ancestor",
                        &tip,
                        &format!("refs/heads/{}", session.target),
                    ])
                    .unwrap_or(false);
            if !merged {
                let name = self.free_archive_ref(&git, &session.id)?;
                git.run([
                    "update-ref",
                    "-m",
                    "paddock: archive unmerged work",
                    &name,
                    &tip,
                    "",
                ])
                .map_err(|source| Error::Archive {
                    id: session.id.clone(),
                    source,
                })?;
                archived.archive_ref = Some(name);
                archived.commit = Some(tip);
            }
        }
        if has_worktree {
            self.remove_worktree(&git, &session.worktree)?;
            archived.worktree_removed = true;
        } else {
            forget_worktree(self.repo().common_dir(), &session.worktree);
        }
        if let Some(branch) = &session.branch
            && git.test([
                "show-ref",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ])?
        {
            git.run(["branch", "-D", "--quiet", branch])?;
            archived.branch_deleted = true;
        }
        Ok(archived)
    }

    /// Removes a worktree whose work is archived: it leaves its place at once (renamed into the
    /// worktree root's `.trash/`, git's admin entry dropped, as `git worktree remove` would) and
    /// its files are deleted by a background process, so a big tree does not hold up the
    /// command. `gc` deletes whatever a crash left in `.trash/`.
    fn remove_worktree(&self, git: &Git, worktree: &Path) -> Result<(), Error> {
        let trash = self.repo().worktree_root(self.policy()).join(".trash");
        let name = worktree
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let target = trash.join(format!("{name}-{stamp}"));
        let moved =
            std::fs::create_dir_all(&trash).is_ok() && std::fs::rename(worktree, &target).is_ok();
        if !moved {
            // Another filesystem, say: let git remove it in place.
            git.output([
                "worktree".as_ref(),
                "remove".as_ref(),
                "--force".as_ref(),
                worktree.as_os_str(),
            ])?;
            return Ok(());
        }
        forget_worktree(self.repo().common_dir(), worktree);
        empty_trash(&trash);
        Ok(())
    }

    fn free_archive_ref(&self, git: &Git, id: &str) -> Result<String, Error> {
        let mut name = format!("{ARCHIVE_PREFIX}{id}");
        let mut n = 1;
        while git.test(["show-ref", "--verify", "--quiet", &name])? {
            n += 1;
            name = format!("{ARCHIVE_PREFIX}{id}-{n}");
        }
        Ok(name)
    }

    /// Expires sessions past their TTL, and finds and handles orphans: worktrees, branches and
    /// directories without a live session, and sessions whose worktree vanished.
    pub fn gc(&self) -> Result<Vec<GcItem>, Error> {
        self.gc_with_progress(&mut |_| {})
    }

    /// [`Workspace::gc`], telling `progress` what it is about to look at (archiving a big
    /// worktree can take a while, and a repository can hold many orphans).
    pub fn gc_with_progress(
        &self,
        progress: &mut dyn FnMut(GcProgress<'_>),
    ) -> Result<Vec<GcItem>, Error> {
        let lock = self.registry().lock()?;
        let now = SystemTime::now();
        let mut items = Vec::new();
        let sessions = self.registry().load_all()?;
        for (done, session) in sessions.iter().enumerate() {
            progress(GcProgress {
                phase: "sessions",
                done,
                total: sessions.len(),
                subject: &session.id,
            });
            if !session.state.is_live() {
                continue;
            }
            let vanished = session.mode == Mode::Worktree && !session.worktree.exists();
            if session.is_expired(now) {
                let (_, archived) = self.end(
                    &lock,
                    session.clone(),
                    State::Expired,
                    "session.expired",
                    Some("TTL ran out"),
                )?;
                items.push(GcItem {
                    kind: "expired-session",
                    subject: session.id.clone(),
                    action: describe(&archived, "expired"),
                });
            } else if vanished {
                let (_, archived) = self.end(
                    &lock,
                    session.clone(),
                    State::Cancelled,
                    "session.cancelled",
                    Some("its worktree vanished"),
                )?;
                items.push(GcItem {
                    kind: "vanished-worktree",
                    subject: format!("{} ({})", session.id, session.worktree.display()),
                    action: describe(&archived, "cancelled"),
                });
            }
        }
        let live: Vec<Session> = self
            .registry()
            .load_all()?
            .into_iter()
            .filter(|s| s.state.is_live())
            .collect();
        let git = self.repo().git();

        // Directories under the worktree root that no live session owns.
        let root = self.repo().worktree_root(self.policy());
        let trash = root.join(".trash");
        if trash.is_dir() {
            empty_trash(&trash);
        }
        if let Ok(entries) = std::fs::read_dir(&root) {
            let entries: Vec<_> = entries.flatten().collect();
            for (done, entry) in entries.iter().enumerate() {
                if entry.file_name() == ".trash" {
                    continue;
                }
                progress(GcProgress {
                    phase: "directories",
                    done,
                    total: entries.len(),
                    subject: &entry.file_name().to_string_lossy(),
                });
                let path = crate::repo::canonical(&entry.path());
                if live.iter().any(|s| s.worktree == path) {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                if path.join(".git").is_file() && is_our_worktree(&git, &path) {
                    let orphan = orphan_session(&name, &path, &git)?;
                    let archived = self.archive_and_remove(&orphan)?;
                    items.push(GcItem {
                        kind: "orphan-worktree",
                        subject: path.display().to_string(),
                        action: describe(&archived, "removed"),
                    });
                } else {
                    items.push(GcItem {
                        kind: "orphan-dir",
                        subject: path.display().to_string(),
                        action: "left alone: not a worktree of this repository; remove it by hand if it is yours".to_owned(),
                    });
                }
            }
        }

        // Session branches without a live session.
        let branches = git.run([
            "for-each-ref",
            "--format=%(refname:short)",
            "refs/heads/paddock/",
        ])?;
        let branches: Vec<&str> = branches.lines().filter(|b| !b.is_empty()).collect();
        for (done, branch) in branches.iter().copied().enumerate() {
            progress(GcProgress {
                phase: "branches",
                done,
                total: branches.len(),
                subject: branch,
            });
            if live.iter().any(|s| s.branch.as_deref() == Some(branch)) {
                continue;
            }
            let id = branch.trim_start_matches("paddock/");
            let mut orphan = orphan_session(id, Path::new("/nonexistent"), &git)?;
            orphan.branch = Some(branch.to_owned());
            let archived = self.archive_and_remove(&orphan)?;
            items.push(GcItem {
                kind: "orphan-branch",
                subject: branch.to_owned(),
                action: describe(&archived, "deleted"),
            });
        }
        Ok(items)
    }
}

fn describe(archived: &Archived, verb: &str) -> String {
    let mut parts = vec![verb.to_owned()];
    match &archived.archive_ref {
        Some(r) if archived.uncommitted => {
            parts.push(format!("unmerged and uncommitted work archived under {r}"))
        }
        Some(r) => parts.push(format!("unmerged work archived under {r}")),
        None => parts.push("nothing unmerged to archive".to_owned()),
    }
    if archived.worktree_removed {
        parts.push("worktree removed".to_owned());
    }
    if archived.branch_deleted {
        parts.push("branch deleted".to_owned());
    }
    parts.join("; ")
}

/// A stand-in session record for an orphan, so it goes through the same archive path.
fn orphan_session(id: &str, path: &Path, git: &Git) -> Result<Session, Error> {
    let target = git
        .run(["symbolic-ref", "--quiet", "--short", "HEAD"])
        .unwrap_or_else(|_| "main".to_owned());
    let now = session::timestamp(SystemTime::now());
    let branch = format!("paddock/{id}");
    Ok(Session {
        id: format!("orphan-{id}"),
        role: "orphan".to_owned(),
        scope: Vec::new(),
        mode: Mode::Worktree,
        worktree: path.to_owned(),
        branch: Some(branch),
        // Unknown: whether its work is merged is decided against the target alone.
        base: String::new(),
        target,
        created: now.clone(),
        expires: now.clone(),
        state: State::Active,
        blocked_reason: None,
        archive_ref: None,
        updated: now,
    })
}

/// Whether `path` is a linked worktree of the repository `git` runs in.
fn is_our_worktree(git: &Git, path: &Path) -> bool {
    let Ok(list) = git.run(["worktree", "list", "--porcelain"]) else {
        return false;
    };
    list.lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .any(|w| crate::repo::canonical(Path::new(w)) == path)
}

/// Commits uncommitted changes (tracked and untracked, not ignored) of a worktree onto its HEAD
/// without touching its index or files, using a temporary index.
fn snapshot_uncommitted(
    git: &Git,
    head: Option<&str>,
    id: &str,
) -> Result<Option<String>, git::Error> {
    let status = git.run(["status", "--porcelain", "--untracked-files=all"])?;
    if status.is_empty() {
        return Ok(None);
    }
    let index = tempfile::NamedTempFile::new().map_err(git::Error::Spawn)?;
    let index_path: PathBuf = index.path().to_owned();
    let run = |args: &[&str]| -> Result<String, git::Error> {
        let output = git
            .command(args)
            .env("GIT_INDEX_FILE", &index_path)
            .env("GIT_AUTHOR_NAME", "paddock")
            .env("GIT_AUTHOR_EMAIL", "paddock@localhost")
            .env("GIT_COMMITTER_NAME", "paddock")
            .env("GIT_COMMITTER_EMAIL", "paddock@localhost")
            .output()
            .map_err(git::Error::Spawn)?;
        if !output.status.success() {
            return Err(git::Error::Failed {
                args: args.join(" "),
                dir: git.dir().to_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                code: output.status.code(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    // An empty temp file is not a valid index; start from HEAD's tree (or nothing).
    std::fs::remove_file(&index_path).map_err(git::Error::Spawn)?;
    match head {
        Some(head) => run(&["read-tree", head])?,
        None => run(&["read-tree", "--empty"])?,
    };
    run(&["add", "-A", "--", "."])?;
    let tree = run(&["write-tree"])?;
    let message = format!("paddock: uncommitted work of session {id}");
    let commit = match head {
        Some(head) => run(&["commit-tree", &tree, "-p", head, "-m", &message])?,
        None => run(&["commit-tree", &tree, "-m", &message])?,
    };
    Ok(Some(commit))
}

/// Deletes the worktrees waiting in `trash` in a background process that outlives this one
/// (their work is archived already). Best effort: `gc` tries again.
fn empty_trash(trash: &Path) {
    let _ = std::process::Command::new("rm")
        .arg("-rf")
        .arg("--")
        .args(
            std::fs::read_dir(trash)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path()),
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Drops git's administrative entry for one worktree whose directory is gone (what
/// `git worktree prune` does, but for this worktree only).
fn forget_worktree(common_dir: &Path, worktree: &Path) {
    let Ok(entries) = std::fs::read_dir(common_dir.join("worktrees")) else {
        return;
    };
    let pointer = worktree.join(".git");
    for entry in entries.flatten() {
        let Ok(gitdir) = std::fs::read_to_string(entry.path().join("gitdir")) else {
            continue;
        };
        if Path::new(gitdir.trim()) == pointer {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
