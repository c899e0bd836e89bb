//! Ending sessions without losing work: archive what is unmerged under
//! `refs/paddock/archive/<id>`, then remove the worktree and branch; `cancel`, expiry and `gc`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::Workspace;
use crate::git::{self, Git};
use crate::merge::Settled;
use crate::record::Event;
use crate::registry::RegistryLock;
use crate::session::{self, Mode, Session, State};

/// Where archived work goes.
pub const ARCHIVE_PREFIX: &str = "refs/paddock/archive/";

/// How old a git `*.lock` file must be before `gc` removes it (when no process has it open).
/// git holds its locks for moments, except while an editor is open on a commit message, and
/// then the lock is open: older than this and open nowhere, it was left by a git that died.
const STALE_LOCK_AGE: Duration = Duration::from_secs(30 * 60);

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
    /// The session's merge already moved its target: it is finished, not cancelled.
    #[error(
        "session {id:?} is being merged: {target} already has its work, so it cannot be \
         cancelled; `paddock merge {id}` finishes the merge"
    )]
    Merging {
        /// The session.
        id: String,
        /// The branch its merge moved.
        target: String,
    },
    /// A file or directory could not be removed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
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
    /// `interrupted-merge`, `expired-session`, `vanished-worktree`, `orphan-worktree`,
    /// `orphan-dir`, `orphan-admin-entry`, `orphan-branch`, `stale-git-lock`, `private-tmp`.
    pub kind: &'static str,
    /// The session, path or branch concerned.
    pub subject: String,
    /// What gc did about it, or why it could not (then `failed` is set).
    pub action: String,
    /// gc could not handle it: it is left as it was, `action` says why and what to do.
    pub failed: bool,
}

impl GcItem {
    fn new(kind: &'static str, subject: impl Into<String>, action: impl Into<String>) -> GcItem {
        GcItem {
            kind,
            subject: subject.into(),
            action: action.into(),
            failed: false,
        }
    }

    fn failed(kind: &'static str, subject: impl Into<String>, why: impl Into<String>) -> GcItem {
        GcItem {
            failed: true,
            ..GcItem::new(kind, subject, why)
        }
    }
}

/// How far [`Workspace::gc_with_progress`] has got: it is about to look at `subject`, the
/// `done + 1`-th of `total` things in its current `phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcProgress<'a> {
    /// `sessions`, `directories`, `worktree entries`, `branches`, `locks` or `temp dirs`, in
    /// that order.
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
        let mut session = self.registry().load(id)?;
        if !session.state.is_live() {
            return Err(Error::NotLive {
                id: id.to_owned(),
                state: session.state.as_str(),
                action: "cancel",
            });
        }
        if let Some(merging) = session.merging.take() {
            let landed = self.repo().git().test([
                "merge-base",
                "--is-ancestor",
                &merging.head,
                &format!("refs/heads/{}", merging.target),
            ])?;
            if landed {
                return Err(Error::Merging {
                    id: id.to_owned(),
                    target: merging.target,
                });
            }
            // Its merge never moved the target: it is a finished session, and can be cancelled.
            if session.state == State::Merging {
                session.state = State::Finished;
            }
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
        let archived = self.archive_and_remove(&session, None)?;
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
        self.remove_private_tmp(&session.id);
        self.checkpoint_at_session_end();
        Ok((session, archived))
    }

    /// Archives what is not merged, then removes the worktree and the branch. Removal happens
    /// only after the archive ref is written. `landed`: a commit known to be on the session's
    /// target (the merge that is ending the session put it there), so that work at that commit
    /// needs no look at the target's history.
    pub(crate) fn archive_and_remove(
        &self,
        session: &Session,
        landed: Option<&str>,
    ) -> Result<Archived, Error> {
        let mut archived = Archived::default();
        if session.mode == Mode::Lock {
            return Ok(archived);
        }
        // Objects first, so every archive and branch below resolves from the shared store.
        self.absorb_session_objects(&session.id)?;
        let git = self.repo().git();
        let common = self.repo().common_dir();
        let worktree_git = Git::new(&session.worktree);
        let has_dir = session
            .worktree
            .symlink_metadata()
            .is_ok_and(|m| m.is_dir());
        // A directory git cannot open as this worktree (its creation was cut short, its `.git`
        // is gone): its files are looked at through the shared git dir instead.
        let worktree_head = if has_dir {
            worktree_head(&worktree_git, &session.worktree)
        } else {
            None
        };
        let mut usable = worktree_head.is_some();
        let branch_ref = session.branch.as_ref().map(|b| format!("refs/heads/{b}"));
        let head = match (worktree_head, &branch_ref) {
            (Some(head), _) => Some(head),
            (None, Some(r)) => commit_at(self.repo().gix(), r),
            (None, None) => None,
        };
        let snapshot = if usable {
            snapshot_uncommitted(&worktree_git, head.as_deref(), &session.id).or_else(|_| {
                // It opened, and still failed: look at its files the other way (a complete
                // checkout, so a missing file is a deletion someone made).
                usable = false;
                let head = head.as_deref();
                snapshot_files(common, &session.worktree, head, &session.id, true)
            })
        } else if has_dir {
            let head = head.as_deref();
            snapshot_files(common, &session.worktree, head, &session.id, false)
        } else {
            Ok(None)
        }
        .map_err(|source| Error::Archive {
            id: session.id.clone(),
            source,
        })?;
        archived.uncommitted = snapshot.is_some();
        let tip = snapshot.or(head.clone());
        if let Some(tip) = tip {
            self.archive_unmerged(&git, session, &tip, landed, &mut archived)?;
        }
        if has_dir {
            self.remove_worktree(&git, &session.worktree, usable)?;
            archived.worktree_removed = true;
        } else {
            forget_worktree(common, &session.worktree)?;
        }
        if let (Some(branch), Some(branch_ref)) = (&session.branch, &branch_ref) {
            let repo = self.repo().gix();
            if let Some(now) = git::ref_target(repo, branch_ref)? {
                // Moved since its tip was looked at (a commit made meanwhile): that work is
                // kept too before the branch goes.
                if head.as_deref() != Some(now.as_str()) {
                    self.archive_unmerged(&git, session, &now, landed, &mut archived)?;
                }
                if checked_out_anywhere(common, branch_ref) {
                    // git refuses, and says where.
                    git.run(["branch", "-D", "--quiet", branch])?;
                } else {
                    // Deleted only if it is still at the tip archived above (`git branch -D`
                    // would also rewrite the config for a section session branches never have).
                    git.run(["update-ref", "-d", branch_ref, &now])?;
                }
                archived.branch_deleted = true;
            }
        }
        Ok(archived)
    }

    /// Writes `tip` under a free `refs/paddock/archive/<id>...` ref unless it is on the
    /// session's target already (or is its base).
    fn archive_unmerged(
        &self,
        git: &Git,
        session: &Session,
        tip: &str,
        landed: Option<&str>,
        archived: &mut Archived,
    ) -> Result<(), Error> {
        let merged = tip == session.base
            || landed == Some(tip)
            || git
                .test([
                    "merge-base",
                    "--is-ancestor",
                    tip,
                    &format!("refs/heads/{}", session.target),
                ])
                .unwrap_or(false);
        if merged {
            return Ok(());
        }
        let name = self.free_archive_ref(git, &session.id)?;
        git.run([
            "update-ref",
            "-m",
            "paddock: archive unmerged work",
            &name,
            tip,
            "",
        ])
        .map_err(|source| Error::Archive {
            id: session.id.clone(),
            source,
        })?;
        archived.archive_ref = Some(name);
        archived.commit = Some(tip.to_owned());
        Ok(())
    }

    /// Removes a worktree whose work is archived: it leaves its place at once (renamed into the
    /// worktree root's `.trash/`, git's admin entry moved there too, as `git worktree remove`
    /// would drop it) and its files are deleted by a background process, so a big tree does
    /// not hold up the command. `gc` deletes whatever a crash left in `.trash/`.
    fn remove_worktree(&self, git: &Git, worktree: &Path, usable: bool) -> Result<(), Error> {
        let common = self.repo().common_dir();
        // Found before the move: the worktree's `.git` file names it.
        let admin = admin_dir_of(common, worktree);
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
            if usable {
                // Another filesystem, say: let git remove it in place.
                git.output([
                    "worktree".as_ref(),
                    "remove".as_ref(),
                    "--force".as_ref(),
                    worktree.as_os_str(),
                ])?;
            } else {
                // git cannot remove what it cannot open; its files are archived.
                std::fs::remove_dir_all(worktree).map_err(|source| Error::Io {
                    action: "remove",
                    path: worktree.to_owned(),
                    source,
                })?;
            }
        }
        let mut deleting = Vec::new();
        if moved {
            deleting.push(target.clone());
        }
        if let Some(admin) = admin {
            // Its index alone is as big as the checkout's: deleting it can take a while too.
            let admin_target = trash.join(format!("{name}-{stamp}.git"));
            if moved && std::fs::rename(&admin, &admin_target).is_ok() {
                deleting.push(admin_target);
            } else {
                remove_admin_dir(&admin)?;
            }
        }
        delete_in_background(&deleting);
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

    /// Expires sessions past their TTL, finishes merges that were interrupted, and finds and
    /// handles orphans: worktrees, git's entries for them, branches and directories without a
    /// live session, sessions whose worktree vanished, stale git lock files and the temp
    /// directories of ended sessions.
    pub fn gc(&self) -> Result<Vec<GcItem>, Error> {
        self.gc_with_progress(&mut |_| {})
    }

    /// [`Workspace::gc`], telling `progress` what it is about to look at (archiving a big
    /// worktree can take a while, and a repository can hold many orphans).
    ///
    /// One thing gc cannot handle does not stop it: that item is reported with `failed` set
    /// (and left as it was), and gc goes on with the others.
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
            if session.state.is_live() {
                items.extend(self.gc_session(&lock, session, now));
            }
        }
        let live: Vec<Session> = self
            .registry()
            .load_all()?
            .into_iter()
            .filter(|s| s.state.is_live())
            .collect();
        let git = self.repo().git();
        let common = self.repo().common_dir();

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
                let subject = path.display().to_string();
                let ours = (path.join(".git").is_file() && is_our_worktree(&git, &path))
                    || admin_dir_of(common, &path).is_some();
                if !ours {
                    items.push(GcItem::new(
                        "orphan-dir",
                        subject,
                        "left alone: not a worktree of this repository; remove it by hand if it is yours",
                    ));
                    continue;
                }
                let broken = !opens_as_worktree(&Git::new(&path), &path);
                let orphan = orphan_session(&name, &path, &git);
                items.push(match self.archive_and_remove(&orphan, None) {
                    Ok(archived) => {
                        let mut action = describe(&archived, "removed");
                        if broken {
                            action.push_str(
                                " (git could not open it: its creation was cut short; git's \
                                 entry for it is dropped)",
                            );
                        }
                        GcItem::new("orphan-worktree", subject, action)
                    }
                    Err(err) => {
                        GcItem::failed("orphan-worktree", subject, format!("left alone: {err}"))
                    }
                });
            }
        }

        // git's entries for worktrees that are gone (a `git worktree add` cut short keeps its
        // own entry locked, so `git worktree prune` never drops it).
        let admins: Vec<PathBuf> = std::fs::read_dir(common.join("worktrees"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        for (done, admin) in admins.iter().enumerate() {
            progress(GcProgress {
                phase: "worktree entries",
                done,
                total: admins.len(),
                subject: &admin.to_string_lossy(),
            });
            items.extend(gc_admin_entry(admin, &root, &live, &git));
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
            let mut orphan = orphan_session(id, Path::new("/nonexistent"), &git);
            orphan.branch = Some(branch.to_owned());
            items.push(match self.archive_and_remove(&orphan, None) {
                Ok(archived) => {
                    GcItem::new("orphan-branch", branch, describe(&archived, "deleted"))
                }
                Err(err) => GcItem::failed("orphan-branch", branch, format!("left alone: {err}")),
            });
        }

        // git's lock files that a killed git left behind: every later git command that needs
        // one of them fails until it is gone.
        let locks = git_lock_files(common, &self.repo().state_dir());
        for (done, path) in locks.iter().enumerate() {
            progress(GcProgress {
                phase: "locks",
                done,
                total: locks.len(),
                subject: &path.to_string_lossy(),
            });
            items.push(gc_git_lock(path, now));
        }

        // The private temp directories of sessions that ended (a crash can leave them).
        let ended: Vec<(String, SystemTime)> = self
            .registry()
            .load_all()?
            .into_iter()
            .filter(|s| !s.state.is_live())
            .map(|s| {
                let at = humantime::parse_rfc3339(&s.updated).unwrap_or(now);
                (s.id, at)
            })
            .collect();
        let parents = self.private_tmp_parents();
        for (done, parent) in parents.iter().enumerate() {
            progress(GcProgress {
                phase: "temp dirs",
                done,
                total: parents.len(),
                subject: &parent.to_string_lossy(),
            });
            for (id, ended_at) in &ended {
                let private = parent.join(format!("paddock-{id}"));
                let Ok(meta) = private.symlink_metadata() else {
                    continue;
                };
                let subject = private.display().to_string();
                // The name is not this repository's alone: a session of another repository under
                // the same temp dir can have the same id. One that changed after this session
                // ended is someone's.
                let changed_since = meta
                    .modified()
                    .is_ok_and(|m| m > *ended_at + Duration::from_secs(2));
                if changed_since {
                    items.push(GcItem::new(
                        "private-tmp",
                        subject,
                        format!(
                            "left alone: session {id} ended, but the directory changed since \
                             (another repository's session {id}?); remove it by hand if it is \
                             no one's"
                        ),
                    ));
                    continue;
                }
                items.push(match remove_private_dir(&private, id) {
                    Ok(true) => GcItem::new(
                        "private-tmp",
                        subject,
                        format!("removed: the temp directory of ended session {id}"),
                    ),
                    Ok(false) => GcItem::new(
                        "private-tmp",
                        subject,
                        format!(
                            "left alone: session {id} ended, but a process may be using it (a \
                             session with the same id at work, in this repository or another; or \
                             it is not this user's); a later gc removes it once it is free"
                        ),
                    ),
                    Err(err) => GcItem::failed(
                        "private-tmp",
                        subject,
                        format!("could not remove it: {err}"),
                    ),
                });
            }
        }
        Ok(items)
    }

    /// gc's look at one live session: a merge to finish, a TTL that ran out, a worktree that
    /// vanished.
    fn gc_session(
        &self,
        lock: &RegistryLock,
        session: &Session,
        now: SystemTime,
    ) -> Option<GcItem> {
        let id = session.id.clone();
        if let Some(merging) = &session.merging {
            let target = merging.target.clone();
            return Some(match self.settle_merge(lock, session.clone()) {
                Ok(Settled::Merged(_, merged)) => GcItem::new(
                    "interrupted-merge",
                    id,
                    format!(
                        "finished: {target} is at {}, its checkout is up to date, the worktree \
                         is removed and the session is merged (kept as {})",
                        short(&merged.new),
                        merged.archive_ref
                    ),
                ),
                Ok(Settled::Reverted(now)) => GcItem::new(
                    "interrupted-merge",
                    id.clone(),
                    format!(
                        "the merge never moved {target}: the session is {} again; \
                         `paddock merge {id}` merges it",
                        now.state.as_str()
                    ),
                ),
                Err(err) => GcItem::failed(
                    "interrupted-merge",
                    id,
                    format!("left {}: {err}", session.state.as_str()),
                ),
            });
        }
        let vanished = session.mode == Mode::Worktree && !session.worktree.exists();
        let expired = session.is_expired(now);
        let (kind, subject) = if expired {
            ("expired-session", id.clone())
        } else if vanished {
            (
                "vanished-worktree",
                format!("{id} ({})", session.worktree.display()),
            )
        } else {
            return None;
        };
        // A finished session whose work is on its target already (an older paddock's merge
        // that was cut short, a person's `git merge`) ends merged, not cancelled.
        match self.found_merged(session) {
            Ok(Some(progress)) => {
                let target = progress.target.clone();
                let mut found = session.clone();
                found.merging = Some(progress);
                return Some(match self.settle_merge(lock, found) {
                    Ok(_) => GcItem::new(
                        kind,
                        subject,
                        format!(
                            "merged: its work is on {target} already; worktree and branch removed"
                        ),
                    ),
                    Err(err) => GcItem::failed(kind, subject, format!("left as it is: {err}")),
                });
            }
            Ok(None) => {}
            Err(err) => {
                return Some(GcItem::failed(
                    kind,
                    subject,
                    format!("left as it is: {err}"),
                ));
            }
        }
        let ended = if expired {
            self.end(
                lock,
                session.clone(),
                State::Expired,
                "session.expired",
                Some("TTL ran out"),
            )
            .map(|(_, archived)| describe(&archived, "expired"))
        } else {
            self.end(
                lock,
                session.clone(),
                State::Cancelled,
                "session.cancelled",
                Some("its worktree vanished"),
            )
            .map(|(_, archived)| describe(&archived, "cancelled"))
        };
        Some(match ended {
            Ok(action) => GcItem::new(kind, subject, action),
            Err(err) => GcItem::failed(kind, subject, format!("left as it is: {err}")),
        })
    }

    /// Where a session's private temp directory (`<temp dir>/paddock-<id>`, see
    /// [`Workspace::sandbox_spec`]) can be: the policy's temp dirs that hold the repository or
    /// its worktrees, the only ones it is made in.
    fn private_tmp_parents(&self) -> Vec<PathBuf> {
        let repo = self.repo();
        let root = crate::repo::canonical(&repo.worktree_root(self.policy()));
        let guarded = [repo.main_worktree(), repo.common_dir(), root.as_path()];
        let mut parents: Vec<PathBuf> = Vec::new();
        for dir in &self.policy().scratch().system {
            let dir = crate::repo::canonical(Path::new(dir));
            if dir.is_dir()
                && guarded.iter().any(|p| p.starts_with(&dir))
                && !parents.contains(&dir)
            {
                parents.push(dir);
            }
        }
        parents
    }

    /// Removes an ended session's private temp directories (best effort: `gc` tries again).
    pub(crate) fn remove_private_tmp(&self, id: &str) {
        for parent in self.private_tmp_parents() {
            let _ = remove_private_dir(&parent.join(format!("paddock-{id}")), id);
        }
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
fn orphan_session(id: &str, path: &Path, git: &Git) -> Session {
    let target = git
        .run(["symbolic-ref", "--quiet", "--short", "HEAD"])
        .unwrap_or_else(|_| "main".to_owned());
    let now = session::timestamp(SystemTime::now());
    let branch = format!("paddock/{id}");
    Session {
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
        merging: None,
        updated: now,
    }
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
    // Without git's optional locks: a refreshed index is not written back for a worktree
    // that is about to go.
    let args = ["status", "--porcelain", "--untracked-files=all"];
    let output = git
        .command(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
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
    if output.stdout.iter().all(u8::is_ascii_whitespace) {
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

/// Deletes everything waiting in `trash` (worktrees whose work is archived already, and git's
/// entries for them) in the background. Best effort: `gc` tries again.
fn empty_trash(trash: &Path) {
    let entries: Vec<PathBuf> = std::fs::read_dir(trash)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    delete_in_background(&entries);
}

/// Deletes `paths` in a process that is not waited for and outlives this one: deleting a big
/// tree takes seconds, and nothing needs it gone (it left its place already). Best effort: what
/// is left, `gc` deletes.
fn delete_in_background(paths: &[PathBuf]) {
    if paths.is_empty() {
        return;
    }
    let _ = std::process::Command::new("rm")
        .arg("-rf")
        .arg("--")
        .args(paths)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Drops git's administrative entry for one worktree whose directory is gone (what
/// `git worktree prune` does, but for this worktree only, and also when git's own lock on an
/// entry it never finished would make prune skip it).
fn forget_worktree(common_dir: &Path, worktree: &Path) -> Result<(), Error> {
    match admin_dir_of(common_dir, worktree) {
        Some(admin) => remove_admin_dir(&admin),
        None => Ok(()),
    }
}

fn remove_admin_dir(admin: &Path) -> Result<(), Error> {
    match std::fs::remove_dir_all(admin) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Io {
            action: "remove git's worktree entry",
            path: admin.to_owned(),
            source,
        }),
    }
}

/// git's administrative directory (`$GIT_COMMON_DIR/worktrees/<name>`) for the worktree at
/// `worktree`: the one its `.git` file names, else the one whose `gitdir` names it, else one
/// git began for it and never finished (named after it, with no `gitdir` yet). `None` when
/// it is no worktree of this repository.
fn admin_dir_of(common_dir: &Path, worktree: &Path) -> Option<PathBuf> {
    let admin_root = crate::repo::canonical(&common_dir.join("worktrees"));
    if let Ok(text) = std::fs::read_to_string(worktree.join(".git"))
        && let Some(pointer) = text.strip_prefix("gitdir:")
    {
        let pointer = worktree.join(pointer.trim());
        let pointer = match (pointer.parent(), pointer.file_name()) {
            (Some(parent), Some(name)) => crate::repo::canonical(parent).join(name),
            _ => pointer,
        };
        // It may be gone already; pointing into this repository's entries is what counts.
        if pointer.parent() == Some(admin_root.as_path()) {
            return Some(pointer);
        }
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(&admin_root)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    let pointer = worktree.join(".git");
    for admin in &entries {
        let Ok(gitdir) = std::fs::read_to_string(admin.join("gitdir")) else {
            continue;
        };
        let gitdir = gitdir.trim();
        if gitdir.is_empty() {
            continue;
        }
        // git writes it absolute, or relative to the entry (`worktree.useRelativePaths`).
        let named = admin.join(gitdir);
        if named == pointer || crate::repo::canonical(&named) == pointer {
            return Some(admin.clone());
        }
    }
    let admin = admin_root.join(worktree.file_name()?);
    let unfinished = std::fs::read_to_string(admin.join("gitdir"))
        .map_or(true, |gitdir| gitdir.trim().is_empty());
    (admin.is_dir() && unfinished).then_some(admin)
}

/// Whether git opens `worktree` as a worktree of its own, on a commit (not a broken one, not
/// the repository around it).
fn opens_as_worktree(git: &Git, worktree: &Path) -> bool {
    let own = git.run(["rev-parse", "--show-toplevel"]).is_ok_and(|top| {
        crate::repo::canonical(Path::new(&top)) == crate::repo::canonical(worktree)
    });
    own && git
        .run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
        .is_ok()
}

/// The commit checked out in `worktree` when git opens it as a worktree of its own (not a
/// broken one, not the repository around it): [`opens_as_worktree`] and its HEAD in one git
/// process.
fn worktree_head(git: &Git, worktree: &Path) -> Option<String> {
    let out = git
        .run([
            "rev-parse",
            "--show-toplevel",
            "--verify",
            "--quiet",
            "HEAD^{commit}",
        ])
        .ok()?;
    let mut lines = out.lines();
    let top = lines.next()?;
    let head = lines.next()?;
    let own = crate::repo::canonical(Path::new(top)) == crate::repo::canonical(worktree);
    (own && lines.next().is_none() && !head.is_empty()).then(|| head.to_owned())
}

/// The commit `name` leads to (`git rev-parse --verify --quiet NAME^{commit}`), read
/// in-process.
fn commit_at(repo: &gix::Repository, name: &str) -> Option<String> {
    let mut reference = repo.try_find_reference(name).ok()??;
    Some(reference.peel_to_commit().ok()?.id.to_string())
}

/// Whether some worktree of the repository (the main one or a linked one) has `branch_ref`
/// checked out.
fn checked_out_anywhere(common_dir: &Path, branch_ref: &str) -> bool {
    let on = |head: &Path| {
        std::fs::read_to_string(head)
            .is_ok_and(|text| text.trim().strip_prefix("ref:").map(str::trim) == Some(branch_ref))
    };
    on(&common_dir.join("HEAD"))
        || std::fs::read_dir(common_dir.join("worktrees"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| on(&entry.path().join("HEAD")))
}

/// What gc does about one of git's worktree entries: drops it when its worktree is gone from
/// the worktree root, or when it is a session's that was never finished.
fn gc_admin_entry(admin: &Path, root: &Path, live: &[Session], git: &Git) -> Option<GcItem> {
    let subject = admin.display().to_string();
    let gitdir = std::fs::read_to_string(admin.join("gitdir")).unwrap_or_default();
    let gitdir = gitdir.trim();
    let action = if gitdir.is_empty() {
        // `git worktree add` cut short before it wrote where the worktree is.
        let name = admin.file_name()?;
        if root.join(name).symlink_metadata().is_ok() {
            // The directory phase looked at that one.
            return None;
        }
        // `paddock session start` has `git worktree add` make the session's branch first: with
        // it there the entry is paddock's, and no start is still at it (gc holds the registry
        // lock). Without it, it may be someone's `git worktree add` at work.
        let branch = format!("refs/heads/paddock/{}", name.to_string_lossy());
        if !git
            .test(["show-ref", "--verify", "--quiet", &branch])
            .unwrap_or(false)
        {
            return Some(GcItem::new(
                "orphan-admin-entry",
                subject.clone(),
                format!(
                    "left alone: git's entry for a worktree whose creation was cut short (it has \
                     no gitdir), not known to be paddock's; if no `git worktree add` is running, \
                     remove it: rm -r '{subject}'"
                ),
            ));
        }
        "dropped: git's entry for a session worktree whose creation was cut short"
    } else {
        let named = admin.join(gitdir);
        let worktree = named.parent()?;
        let canonical = crate::repo::canonical(worktree);
        if worktree.symlink_metadata().is_ok()
            || !canonical.starts_with(crate::repo::canonical(root))
            || live.iter().any(|s| s.worktree == canonical)
        {
            // There, or not paddock's: `git worktree prune` decides about those.
            return None;
        }
        "dropped: git's entry for a paddock worktree that is gone"
    };
    Some(match remove_admin_dir(admin) {
        Ok(()) => GcItem::new("orphan-admin-entry", subject, action),
        Err(err) => GcItem::failed("orphan-admin-entry", subject, format!("left alone: {err}")),
    })
}

/// Commits the files of a worktree git cannot open (its creation was cut short) onto `head`,
/// through the shared git dir and a temporary index, when any of them is not as in `head`:
/// nothing in it is removed unarchived. `None` when every file there is one of `head`'s.
/// `deletions`: whether a file of `head`'s that is missing counts as a change (not in a
/// checkout that was cut short).
fn snapshot_files(
    common_dir: &Path,
    worktree: &Path,
    head: Option<&str>,
    id: &str,
    deletions: bool,
) -> Result<Option<String>, git::Error> {
    let temp = tempfile::tempdir().map_err(git::Error::Spawn)?;
    let index = temp.path().join("index");
    let git = Git::new(worktree);
    let run = |args: &[&str]| -> Result<String, git::Error> {
        let mut full: Vec<std::ffi::OsString> = vec![
            "--git-dir".into(),
            common_dir.as_os_str().to_owned(),
            "--work-tree".into(),
            worktree.as_os_str().to_owned(),
        ];
        full.extend(args.iter().map(std::ffi::OsString::from));
        let output = git
            .command(&full)
            .env("GIT_INDEX_FILE", &index)
            .env("GIT_AUTHOR_NAME", "paddock")
            .env("GIT_AUTHOR_EMAIL", "paddock@localhost")
            .env("GIT_COMMITTER_NAME", "paddock")
            .env("GIT_COMMITTER_EMAIL", "paddock@localhost")
            .output()
            .map_err(git::Error::Spawn)?;
        if !output.status.success() {
            return Err(git::Error::Failed {
                args: args.join(" "),
                dir: worktree.to_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                code: output.status.code(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    match head {
        Some(head) => run(&["read-tree", head])?,
        None => run(&["read-tree", "--empty"])?,
    };
    run(&["add", "-A", "--", "."])?;
    let tree = run(&["write-tree"])?;
    // A checkout cut short lacks files, which is no one's work: only files that are not
    // `head`'s (new or changed) are.
    let filter = if deletions {
        "--diff-filter=AMTD"
    } else {
        "--diff-filter=AMT"
    };
    let own = match head {
        Some(head) => run(&["diff-tree", "-r", "--name-only", filter, head, &tree])?,
        None => run(&["ls-tree", "--name-only", &tree])?,
    };
    if own.is_empty() {
        return Ok(None);
    }
    let message = format!("paddock: files left in the half-made worktree of {id}");
    let commit = match head {
        Some(head) => run(&["commit-tree", &tree, "-p", head, "-m", &message])?,
        None => run(&["commit-tree", &tree, "-m", &message])?,
    };
    Ok(Some(commit))
}

/// git's `*.lock` files in the common git dir (its own, the refs', the worktrees' entries),
/// not paddock's state (whose lock files stay by design) nor the object store.
fn git_lock_files(common_dir: &Path, state_dir: &Path) -> Vec<PathBuf> {
    let skip = [
        state_dir.to_owned(),
        common_dir.join("objects"),
        common_dir.join("paddock-objects"),
        common_dir.join("modules"),
        common_dir.join("lfs"),
    ];
    let mut found = Vec::new();
    let mut stack = vec![common_dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !skip.contains(&path) {
                    stack.push(path);
                }
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "lock") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// What gc does about one git lock file: removes it when it is old and no process has it
/// open (what git's own message tells a person to do), else says where it is and what to do.
fn gc_git_lock(path: &Path, now: SystemTime) -> GcItem {
    let subject = path.display().to_string();
    let age = std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| now.duration_since(t).ok())
        .unwrap_or_default();
    let held = open_anywhere(path);
    if age >= STALE_LOCK_AGE && held == Some(false) {
        return match std::fs::remove_file(path) {
            Ok(()) => GcItem::new(
                "stale-git-lock",
                subject,
                format!(
                    "removed: left by a git command that died ({} minutes old, open in no process)",
                    age.as_secs() / 60
                ),
            ),
            Err(err) => GcItem::failed(
                "stale-git-lock",
                subject.clone(),
                format!("could not remove it ({err}); remove it by hand: rm '{subject}'"),
            ),
        };
    }
    let why = match held {
        Some(true) => "a running process has it open: a git command is at work".to_owned(),
        _ => format!(
            "it is {}s old, and a git command may still be at work",
            age.as_secs()
        ),
    };
    GcItem::new(
        "stale-git-lock",
        subject.clone(),
        format!(
            "left alone: {why}; git commands that need it fail until it is gone. If no git \
             command is running in this repository, remove it: rm '{subject}'"
        ),
    )
}

/// Whether any process has `path` open (`None`: /proc cannot tell).
fn open_anywhere(path: &Path) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .as_encoded_bytes()
            .iter()
            .all(u8::is_ascii_digit)
        {
            continue;
        }
        let fds = std::fs::read_dir(entry.path().join("fd"))
            .into_iter()
            .flatten()
            .flatten();
        if fds
            .into_iter()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == path))
        {
            return Some(true);
        }
    }
    Some(false)
}

/// Removes session `id`'s private temp directory `dir` when it is this user's, a real
/// directory (not a link) and no process may be using it. `Ok(false)`: left alone.
///
/// The name (`<temp dir>/paddock-<id>`) is not this repository's alone: a session of another
/// repository under the same temp dir can have the same id, and its `paddock-sh` makes the
/// directory again before each command it confines. So any sign of such a session at work
/// leaves it alone (`gc` tries again later).
fn remove_private_dir(dir: &Path, id: &str) -> Result<bool, std::io::Error> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    if !meta.is_dir() || meta.uid() != nix::unistd::geteuid().as_raw() || in_use(dir, id) {
        return Ok(false);
    }
    std::fs::remove_dir_all(dir)?;
    Ok(true)
}

/// Whether a process this user can see may be using session `id`'s private temp directory
/// `dir`: it has something under `dir` open or as its working directory, its `TMPDIR` is in
/// `dir`, it names session `id` (`PADDOCK_SESSION`), or it works in a directory named `id`
/// (the worktree of a session with that id, in this repository or another; `paddock-sh` runs
/// there). When /proc cannot tell, it counts as in use.
fn in_use(dir: &Path, id: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    let me = std::process::id().to_string();
    let with_prefix = |prefix: &[u8], value: &[u8]| {
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(value);
        bytes
    };
    let tmpdir = with_prefix(b"TMPDIR=", dir.as_os_str().as_encoded_bytes());
    let named = with_prefix(
        format!("{}=", crate::guard::SESSION_ENV).as_bytes(),
        id.as_bytes(),
    );
    let under = |path: &Path| path.starts_with(dir);
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        if !name.as_encoded_bytes().iter().all(u8::is_ascii_digit) || name == me.as_str() {
            return false;
        }
        let proc_dir = entry.path();
        if let Ok(cwd) = std::fs::read_link(proc_dir.join("cwd"))
            && (under(&cwd) || cwd.components().any(|c| c.as_os_str() == id))
        {
            return true;
        }
        let env_names_it = std::fs::read(proc_dir.join("environ")).is_ok_and(|env| {
            env.split(|b| *b == 0).any(|var| {
                var == named.as_slice()
                    || var
                        .strip_prefix(tmpdir.as_slice())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
            })
        });
        env_names_it
            || std::fs::read_dir(proc_dir.join("fd"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| under(&t)))
    })
}

fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}
