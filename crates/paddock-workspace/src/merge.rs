//! Merge-back: `finish` turns a session's work into a reviewed artifact (patch + provenance),
//! `merge` brings it onto the target with a three-way merge computed without touching any
//! worktree and a compare-and-swap on the target. A conflict changes nothing and blocks the
//! session with a report; nothing ever resolves a conflict silently.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use gix::ObjectId;
use serde::Serialize;

use crate::Workspace;
use crate::git::{self, Git};
use crate::guard::Violation;
use crate::record::Event;
use crate::registry::RegistryLock;
use crate::session::{self, MergeProgress, Mode, Session, State};

/// How many times `merge` recomputes when the target moves underneath it.
const CAS_ATTEMPTS: usize = 3;

/// Errors of finish and merge.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The session is not in a state that allows this.
    #[error("session {id:?} is {state}: {what}")]
    State {
        /// The session.
        id: String,
        /// Its state.
        state: &'static str,
        /// What to do.
        what: String,
    },
    /// Uncommitted changes in the worktree.
    #[error(
        "session {id:?} has uncommitted changes ({files}); commit them in its worktree, or pass \
         --commit-all to commit everything"
    )]
    Uncommitted {
        /// The session.
        id: String,
        /// The first few paths.
        files: String,
    },
    /// The work breaks the scope or protected paths (hooks may have been off).
    #[error("session {id:?} changed paths it may not: {}", describe(.violations))]
    OutOfScope {
        /// The session.
        id: String,
        /// What is wrong.
        violations: Vec<Violation>,
    },
    /// The branch moved since `finish`.
    #[error(
        "session {id:?}'s branch moved since it finished ({finished} -> {now}); run \
         `paddock session finish {id}` again so the artifact matches what is merged"
    )]
    Stale {
        /// The session.
        id: String,
        /// Head at finish.
        finished: String,
        /// Head now.
        now: String,
    },
    /// The session's branch moved without git: its reflog does not lead to its head.
    #[error(transparent)]
    MovedOutsideGit(Box<crate::reflog::Broken>),
    /// The merge conflicts: nothing changed, the session is BLOCKED.
    #[error("{}", .0.summary())]
    Conflict(Box<ConflictReport>),
    /// The target kept moving.
    #[error(
        "the target branch {target} kept moving during the merge ({CAS_ATTEMPTS} attempts); nothing was overwritten, retry"
    )]
    TargetMoving {
        /// The target.
        target: String,
    },
    /// The main worktree has local changes the merge would overwrite.
    #[error(
        "{target} is checked out in {worktree} with local changes to paths the merge brings in \
         ({files}); commit or stash them first, nothing was merged"
    )]
    CheckoutDirty {
        /// The target.
        target: String,
        /// Where it is checked out.
        worktree: PathBuf,
        /// The paths.
        files: String,
    },
    /// The target moved, but the checkout of it could not be brought along: the merge is
    /// done, and the session stays `merging` until the checkout is.
    #[error(transparent)]
    CheckoutNotUpdated(Box<CheckoutNotUpdated>),
    /// Writing the artifact failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// git failed.
    #[error(transparent)]
    Git(#[from] git::Error),
    /// Objects could not be read.
    #[error(transparent)]
    Changes(#[from] crate::changes::Error),
    /// Hook-side checks failed.
    #[error(transparent)]
    Guard(#[from] crate::guard::Error),
    /// Cleanup after the merge failed.
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::Error),
    /// The registry could not be read or written.
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    /// The ledger refused a record: nothing was changed (fail closed).
    #[error("cannot record it in the ledger, so nothing was changed: {0}")]
    Record(#[from] crate::record::Error),
}

/// See [`Error::CheckoutNotUpdated`].
#[derive(Debug, thiserror::Error)]
#[error(
    "session {id:?} is merged: {target} now points at {new}, but its checkout in {} was not \
     updated ({reason}); nothing is lost, and the session stays `merging` until it is: {next}",
    worktree.display()
)]
pub struct CheckoutNotUpdated {
    /// The session.
    pub id: String,
    /// The target.
    pub target: String,
    /// Its new tip.
    pub new: String,
    /// Where it is checked out.
    pub worktree: PathBuf,
    /// What went wrong.
    pub reason: String,
    /// What to do.
    pub next: String,
}

fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} [{}]", v.subject, v.rule))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One file of the artifact.
#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    /// Repo-relative path.
    pub path: String,
    /// A, M, D, T (type change).
    pub status: String,
    /// Mode before (octal), if it existed.
    pub old_mode: Option<String>,
    /// Mode after, if it exists.
    pub new_mode: Option<String>,
    /// Blob before.
    pub old_blob: Option<String>,
    /// Blob after.
    pub new_blob: Option<String>,
}

/// `provenance.yaml`.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// Session id.
    pub session: String,
    /// Its role.
    pub role: String,
    /// The commit the work is diffed against (merge base with the target).
    pub base: String,
    /// The session head.
    pub head: String,
    /// The target branch.
    pub target: String,
    /// Every changed file.
    pub files: Vec<FileChange>,
    /// blake3 of `change.patch`.
    pub patch_blake3: String,
    /// `git patch-id --stable` of the patch.
    pub patch_id: String,
    /// `passed` (the scope check result).
    pub scope_check: String,
    /// The declared scope.
    pub scope: Vec<String>,
    /// When the session started.
    pub started: String,
    /// When it finished.
    pub finished: String,
    /// Isolation: worktree or lock.
    pub mode: String,
}

/// One conflicting path.
#[derive(Debug, Clone, Serialize)]
pub struct ConflictPath {
    /// Repo-relative path.
    pub path: String,
    /// content, add/add, modify/delete, rename, mode, binary, file/directory.
    pub kind: String,
    /// Blob in the merge base.
    pub base: Option<String>,
    /// Blob on the target ("ours").
    pub ours: Option<String>,
    /// Blob on the session ("theirs").
    pub theirs: Option<String>,
    /// Who last changed it on the target: `session <id>` or `commit <id> <subject>`.
    pub ours_changed_by: Option<String>,
    /// Who last changed it on the session branch.
    pub theirs_changed_by: Option<String>,
    /// git's own message.
    pub message: String,
}

/// `conflicts.yaml`, also printed by `paddock merge`.
#[derive(Debug, Clone, Serialize)]
pub struct ConflictReport {
    /// The session.
    pub session: String,
    /// The target branch.
    pub target: String,
    /// Target tip when the merge was tried.
    pub target_head: String,
    /// The session head.
    pub session_head: String,
    /// Every conflicting path.
    pub conflicts: Vec<ConflictPath>,
    /// What to do next.
    pub next_steps: Vec<String>,
}

impl ConflictReport {
    fn summary(&self) -> String {
        let paths: Vec<String> = self
            .conflicts
            .iter()
            .map(|c| format!("{} ({})", c.path, c.kind))
            .collect();
        format!(
            "merging session {:?} into {} conflicts on {}; nothing was changed and the session is BLOCKED",
            self.session,
            self.target,
            paths.join(", ")
        )
    }
}

/// What `merge` did.
#[derive(Debug, Clone, Serialize)]
pub struct Merged {
    /// The target branch.
    pub target: String,
    /// Its tip before.
    pub old: String,
    /// Its tip after.
    pub new: String,
    /// `merge-commit`, or `already-merged` when the target had the work already.
    pub how: &'static str,
    /// Where the session branch is kept.
    pub archive_ref: String,
    /// Whether this finished a merge an earlier, interrupted run had begun.
    pub resumed: bool,
}

impl Workspace {
    /// The directory of a session's artifacts.
    pub fn artifact_dir(&self, id: &str) -> PathBuf {
        self.repo().state_dir().join("artifacts").join(id)
    }

    /// Finishes a session: refuses uncommitted work (unless `commit_all`), re-checks the scope on
    /// the whole branch, writes `change.patch` and `provenance.yaml`, records `merge.artifact`.
    pub fn finish(&self, id: &str, commit_all: bool) -> Result<(Session, Provenance), Error> {
        let session = self.registry().load(id)?;
        if let Some(merging) = &session.merging {
            return Err(merging_state(&session, merging));
        }
        match session.state {
            State::Active | State::Finished => {}
            State::Blocked => {
                return Err(Error::State {
                    id: id.to_owned(),
                    state: "blocked",
                    what: format!(
                        "{}; an operator must clear it first (`paddock session unblock {id} --reason ...`)",
                        session
                            .blocked_reason
                            .as_deref()
                            .unwrap_or("no reason recorded")
                    ),
                });
            }
            other => {
                return Err(Error::State {
                    id: id.to_owned(),
                    state: other.as_str(),
                    what: "it already ended".to_owned(),
                });
            }
        }
        if session.mode == Mode::Lock {
            return Err(Error::State {
                id: id.to_owned(),
                state: session.state.as_str(),
                what: "lock-mode sessions work in the shared worktree and have no branch to hand back; \
                       commit there, then `paddock session cancel` releases the lock"
                    .to_owned(),
            });
        }
        let worktree = Git::new(&session.worktree);
        // Scratch (build output) is not work to hand back: leave it out of both the check and
        // --commit-all.
        let mut pathspec = vec!["--".to_owned(), ".".to_owned()];
        for pattern in self.policy().scratch().worktree.patterns() {
            pathspec.push(format!(":(exclude,glob){}", pattern.as_str()));
        }
        let mut status_args = vec![
            "status".to_owned(),
            "--porcelain".to_owned(),
            "--untracked-files=all".to_owned(),
        ];
        status_args.extend(pathspec.iter().cloned());
        let status = worktree.run(&status_args)?;
        if !status.is_empty() {
            if !commit_all {
                let files: Vec<_> = status
                    .lines()
                    .take(8)
                    .map(|l| l.get(3..).unwrap_or(l))
                    .collect();
                return Err(Error::Uncommitted {
                    id: id.to_owned(),
                    files: files.join(", "),
                });
            }
            let mut add_args = vec!["add".to_owned(), "-A".to_owned()];
            add_args.extend(pathspec);
            worktree.run(&add_args)?;
            // The hooks check this commit like any other.
            let message = format!("paddock: finish session {id}");
            worktree.output(["commit", "-q", "-m", &message])?;
        }
        let head = worktree.run(["rev-parse", "HEAD"])?;
        let branch_tip = git::existing_ref(
            self.repo().gix(),
            &format!("refs/heads/{}", session.branch.as_deref().unwrap_or("")),
        )?;
        if head != branch_tip {
            return Err(Error::State {
                id: id.to_owned(),
                state: session.state.as_str(),
                what: format!(
                    "its worktree is not on its branch {}; `git switch` back first",
                    session.branch.as_deref().unwrap_or("-")
                ),
            });
        }
        // A branch moved without git (a confined process writing its file directly) does not
        // hold only the session's work: refuse it, recorded, BLOCKED.
        if let Some(branch) = session.branch.as_deref()
            && let Err(broken) = crate::reflog::check(self.repo().common_dir(), branch, &head)
        {
            self.record(Event::session(
                "deny.commit",
                &session,
                serde_json::json!({ "hook": "finish", "reflog": broken.to_string() }),
            ))?;
            self.block(
                id,
                &format!("finish refused: branch {branch} moved outside git"),
            )?;
            return Err(Error::MovedOutsideGit(Box::new(broken)));
        }
        let git = self.repo().git();
        let base = git.run([
            "merge-base",
            &head,
            &format!("refs/heads/{}", session.target),
        ])?;

        // Hooks can be off (`-c core.hooksPath=`): check the whole branch again.
        let repo = self.repo().gix();
        let paths = crate::changes::tree_changes(
            repo,
            Some(tree_of(repo, &base)?),
            Some(tree_of(repo, &head)?),
        )?;
        let violations = self.check_paths(Some(&session), &paths)?;
        if !violations.is_empty() {
            self.record(Event::session(
                "deny.commit",
                &session,
                serde_json::json!({ "hook": "finish", "violations": violations }),
            ))?;
            let reason = format!(
                "finish refused: {} ({})",
                violations[0].rule, violations[0].subject
            );
            self.block(id, &reason)?;
            return Err(Error::OutOfScope {
                id: id.to_owned(),
                violations,
            });
        }

        let dir = self.artifact_dir(id);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        let patch = git
            .output([
                "format-patch",
                "--binary",
                "--full-index",
                "--stdout",
                &format!("{base}..{head}"),
            ])?
            .stdout;
        let patch_path = dir.join("change.patch");
        write_atomic(&patch_path, &patch)?;
        let patch_id = patch_id(&git, &patch)?;
        let provenance = Provenance {
            session: session.id.clone(),
            role: session.role.clone(),
            base: base.clone(),
            head: head.clone(),
            target: session.target.clone(),
            files: file_changes(&git, &base, &head)?,
            patch_blake3: blake3::hash(&patch).to_hex().to_string(),
            patch_id,
            scope_check: "passed".to_owned(),
            scope: session.scope.clone(),
            started: session.created.clone(),
            finished: session::timestamp(SystemTime::now()),
            mode: session.mode.as_str().to_owned(),
        };
        let yaml = serde_saphyr::to_string(&provenance).map_err(|e| Error::Io {
            path: dir.join("provenance.yaml"),
            source: std::io::Error::other(e.to_string()),
        })?;
        write_atomic(&dir.join("provenance.yaml"), yaml.as_bytes())?;

        let lock = self.registry().lock()?;
        let mut session = self.registry().load(id)?;
        if let Some(merging) = &session.merging {
            // A merge began meanwhile.
            return Err(merging_state(&session, merging));
        }
        if !matches!(session.state, State::Active | State::Finished) {
            return Err(Error::State {
                id: id.to_owned(),
                state: session.state.as_str(),
                what: "it changed while it was being finished; look at it again (`paddock session show`)"
                    .to_owned(),
            });
        }
        self.record(Event::session(
            "merge.artifact",
            &session,
            serde_json::json!({
                "base": provenance.base, "head": provenance.head, "target": provenance.target,
                "files": provenance.files.len(), "patch_blake3": provenance.patch_blake3,
                "patch_id": provenance.patch_id, "artifact": dir.to_string_lossy(),
            }),
        ))?;
        session.state = State::Finished;
        session.updated = session::timestamp(SystemTime::now());
        self.registry().save(&lock, &session)?;
        Ok((session, provenance))
    }

    /// Merges a finished session into `into` (default: its target).
    ///
    /// Everything from reading the target to saving the session as merged happens under the
    /// registry lock, so merges run one at a time: the compare-and-swap on the target and the
    /// update of its checkout are never interleaved with another merge's. The merge is saved
    /// in the registry (state `merging`) before the target moves; a merge that is interrupted
    /// after that is finished by running `paddock merge` again, or by `paddock session gc`.
    pub fn merge(&self, id: &str, into: Option<&str>) -> Result<(Session, Merged), Error> {
        let lock = self.registry().lock()?;
        match self.merge_locked(&lock, id, into)? {
            Attempt::Done(session, merged) => Ok((session, *merged)),
            Attempt::Conflict(session, report) => {
                // Blocking the session takes the registry lock itself.
                drop(lock);
                Err(self.block_on_conflict(&session, *report)?)
            }
        }
    }

    fn merge_locked(
        &self,
        lock: &RegistryLock,
        id: &str,
        into: Option<&str>,
    ) -> Result<Attempt, Error> {
        let mut session = self.registry().load(id)?;
        if session.merging.is_some() && session.state.is_live() {
            match self.settle_merge(lock, session)? {
                Settled::Merged(session, merged) => return Ok(Attempt::Done(session, merged)),
                Settled::Reverted(reverted) => session = reverted,
            }
        }
        if session.state == State::Merging {
            // `merging` without the merge it stands for (a hand-edited file): the target was
            // never moved for it, so it is a finished session.
            session.state = State::Finished;
        }
        if session.state != State::Finished {
            let what = match session.state {
                State::Active => format!("finish it first: `paddock session finish {id}`"),
                State::Blocked => format!(
                    "{}; resolve it (rebase the session on the target in its worktree, finish again) and have an operator unblock it",
                    session.blocked_reason.as_deref().unwrap_or("blocked")
                ),
                _ => "it already ended".to_owned(),
            };
            return Err(Error::State {
                id: id.to_owned(),
                state: session.state.as_str(),
                what,
            });
        }
        let target = into.unwrap_or(&session.target).to_owned();
        // Another merge into the same target that was interrupted: finish it first, so that
        // this one starts from a checkout that matches the target.
        for other in self.registry().load_all()? {
            if other.id != session.id
                && other.state.is_live()
                && other.merging.as_ref().is_some_and(|m| m.target == target)
            {
                self.settle_merge(lock, other)?;
            }
        }
        let git = self.repo().git();
        let provenance: Provenance = self.read_provenance(id)?;
        let branch = session.branch.clone().unwrap_or_default();
        let repo = self.repo().gix();
        let head = git::existing_ref(repo, &format!("refs/heads/{branch}"))?;
        if head != provenance.head {
            return Err(Error::Stale {
                id: id.to_owned(),
                finished: provenance.head,
                now: head,
            });
        }
        let target_ref = format!("refs/heads/{target}");
        for _ in 0..CAS_ATTEMPTS {
            let old = git::existing_ref(repo, &target_ref)?;
            let progress = if git.test(["merge-base", "--is-ancestor", &head, &old])? {
                // Nothing to merge. When the tip is paddock's own merge of this session, its
                // checkout may still show the commit before it (a merge interrupted by an
                // older paddock): `old` is that commit, so the checkout is brought along.
                let before = merged_by(&git, id, &old, &head).unwrap_or_else(|| old.clone());
                MergeProgress {
                    target: target.clone(),
                    old: before,
                    new: old.clone(),
                    head: head.clone(),
                    how: "already-merged".to_owned(),
                }
            } else {
                let output = git
                    .command(["merge-tree", "--write-tree", "-z", &old, &head])
                    .output()
                    .map_err(git::Error::Spawn)?;
                match output.status.code() {
                    Some(0) => {
                        let tree = String::from_utf8_lossy(&output.stdout)
                            .trim_end_matches('\0')
                            .to_owned();
                        let tree = tree.split('\0').next().unwrap_or_default().to_owned();
                        let message = format!(
                            "paddock: merge session {id} ({role})\n\nSession: {id}\nRole: {role}\nPatch-blake3: {}\nPatch-id: {}\n",
                            provenance.patch_blake3,
                            provenance.patch_id,
                            role = session.role
                        );
                        let commit = self.paddock_git().run([
                            "commit-tree",
                            &tree,
                            "-p",
                            &old,
                            "-p",
                            &head,
                            "-m",
                            &message,
                        ])?;
                        MergeProgress {
                            target: target.clone(),
                            old: old.clone(),
                            new: commit,
                            head: head.clone(),
                            how: "merge-commit".to_owned(),
                        }
                    }
                    Some(1) => {
                        let report =
                            self.conflict_report(&session, &target, &old, &head, &output.stdout)?;
                        return Ok(Attempt::Conflict(session, Box::new(report)));
                    }
                    _ => {
                        return Err(git::Error::Failed {
                            args: "merge-tree --write-tree".to_owned(),
                            dir: git.dir().to_owned(),
                            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                            code: output.status.code(),
                        }
                        .into());
                    }
                }
            };
            let moves = progress.how == "merge-commit";
            let mut checked = None;
            if moves {
                let checkout = self.checkout_of(&target)?;
                if let Some(worktree) = &checkout {
                    self.check_checkout(worktree, &target, &old, &progress.new)?;
                }
                checked = Some(checkout);
            }
            // Saved before the target moves: from here on, whoever finds the session can tell
            // whether it moved, and finish the job.
            session.state = State::Merging;
            session.merging = Some(progress.clone());
            session.updated = session::timestamp(SystemTime::now());
            self.registry().save(lock, &session)?;
            if moves {
                // Compare-and-swap: refused if the target moved since `old` was read.
                let message = format!("paddock: merge session {id}");
                let swapped = self.paddock_git().run([
                    "update-ref",
                    "-m",
                    &message,
                    &target_ref,
                    &progress.new,
                    &old,
                ]);
                if let Err(err) = swapped {
                    session.state = State::Finished;
                    session.merging = None;
                    session.updated = session::timestamp(SystemTime::now());
                    self.registry().save(lock, &session)?;
                    let now = git::existing_ref(repo, &target_ref)?;
                    if now == old {
                        // It did not move, so that is not the reason (a ref lock, say).
                        return Err(err.into());
                    }
                    continue;
                }
            }
            let (session, merged) = self.finish_merge(lock, session, progress, checked)?;
            return Ok(Attempt::Done(session, Box::new(merged)));
        }
        Err(Error::TargetMoving { target })
    }

    /// Finds out how far a merge saved in the registry got, and completes it: when the target
    /// has the session's work, the checkout, the archive ref, the worktree and the state are
    /// done as `merge` would have; otherwise the target never moved and the session goes back
    /// to finished.
    pub(crate) fn settle_merge(
        &self,
        lock: &RegistryLock,
        mut session: Session,
    ) -> Result<Settled, Error> {
        let Some(progress) = session.merging.clone() else {
            return Ok(Settled::Reverted(session));
        };
        let git = self.repo().git();
        let landed = git.test([
            "merge-base",
            "--is-ancestor",
            &progress.head,
            &format!("refs/heads/{}", progress.target),
        ])?;
        if landed {
            let (session, mut merged) = self.finish_merge(lock, session, progress, None)?;
            merged.resumed = true;
            return Ok(Settled::Merged(session, Box::new(merged)));
        }
        session.merging = None;
        if session.state == State::Merging {
            session.state = State::Finished;
        }
        session.updated = session::timestamp(SystemTime::now());
        self.registry().save(lock, &session)?;
        Ok(Settled::Reverted(session))
    }

    /// Everything after the target moved: the archive ref, the checkout, the record, the
    /// worktree, the state. Each step can be done again, so an interrupted run is finished by
    /// the next one. `checked`: where this run found the target checked out (`None` inside:
    /// nowhere) when [`Workspace::check_checkout`] passed, just before the target moved.
    fn finish_merge(
        &self,
        lock: &RegistryLock,
        mut session: Session,
        progress: MergeProgress,
        checked: Option<Option<PathBuf>>,
    ) -> Result<(Session, Merged), Error> {
        let id = session.id.clone();
        let git = self.repo().git();
        let archive_ref = format!("{}{id}", crate::cleanup::ARCHIVE_PREFIX);
        git.run([
            "update-ref",
            "-m",
            "paddock: merged session",
            &archive_ref,
            &progress.head,
        ])?;
        self.bring_checkout(&id, &progress, checked)?;
        let merged = Merged {
            target: progress.target.clone(),
            old: progress.old.clone(),
            new: progress.new.clone(),
            how: if progress.how == "merge-commit" {
                "merge-commit"
            } else {
                "already-merged"
            },
            archive_ref,
            resumed: false,
        };
        self.record(Event::session(
            "merge.done",
            &session,
            serde_json::to_value(&merged).unwrap_or_default(),
        ))?;
        self.archive_and_remove(&session, Some(&progress.head))?;
        session.state = State::Merged;
        session.merging = None;
        session.archive_ref = Some(merged.archive_ref.clone());
        session.updated = session::timestamp(SystemTime::now());
        self.registry().save(lock, &session)?;
        self.remove_private_tmp(&session.id);
        self.checkpoint_at_session_end();
        Ok((session, merged))
    }

    /// For a finished session whose work is on its target already (merged by hand, or by an
    /// older paddock whose run was cut short before it saved the session): the merge to
    /// record for it. `None` otherwise.
    pub(crate) fn found_merged(&self, session: &Session) -> Result<Option<MergeProgress>, Error> {
        if session.state != State::Finished || session.mode != Mode::Worktree {
            return Ok(None);
        }
        let Ok(provenance) = self.read_provenance(&session.id) else {
            return Ok(None);
        };
        let git = self.repo().git();
        if let Some(branch) = &session.branch
            && let Ok(tip) = git.run([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}^{{commit}}"),
            ])
            && tip != provenance.head
        {
            // It moved since it finished: what is on the target is not all of it.
            return Ok(None);
        }
        let Ok(tip) = git.run([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{}^{{commit}}", session.target),
        ]) else {
            return Ok(None);
        };
        if !git.test(["merge-base", "--is-ancestor", &provenance.head, &tip])? {
            return Ok(None);
        }
        let old =
            merged_by(&git, &session.id, &tip, &provenance.head).unwrap_or_else(|| tip.clone());
        Ok(Some(MergeProgress {
            target: session.target.clone(),
            old,
            new: tip,
            head: provenance.head,
            how: "already-merged".to_owned(),
        }))
    }

    /// Reads a session's `provenance.yaml`.
    pub fn read_provenance(&self, id: &str) -> Result<Provenance, Error> {
        let path = self.artifact_dir(id).join("provenance.yaml");
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let raw: RawProvenance = serde_saphyr::from_str(&text).map_err(|e| Error::Io {
            path,
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(Provenance {
            session: raw.session,
            role: raw.role,
            base: raw.base,
            head: raw.head,
            target: raw.target,
            files: Vec::new(),
            patch_blake3: raw.patch_blake3,
            patch_id: raw.patch_id,
            scope_check: raw.scope_check,
            scope: raw.scope,
            started: raw.started,
            finished: raw.finished,
            mode: raw.mode,
        })
    }

    /// git for paddock's own ref moves: the hooks see no session (these are operator actions).
    fn paddock_git(&self) -> Git {
        self.repo().git()
    }

    /// Refuses early when the target is checked out in `worktree` with local changes the merge
    /// would have to overwrite: on the paths it changes, anything staged, any file not as the
    /// index has it, anything untracked.
    ///
    /// Only those paths can clash, and most of them are shown unchanged without git (which
    /// would stat the whole checkout, or match each of its entries against every path): what
    /// is left is what `git status` is asked about.
    fn check_checkout(
        &self,
        worktree: &Path,
        target: &str,
        old: &str,
        new: &str,
    ) -> Result<(), Error> {
        let wt = Git::new(worktree);
        let changes = changes_between(&wt, old, new)?;
        let index = CheckoutIndex::open(worktree, self.repo().gix().object_hash());
        let unsure: Vec<&OsString> = changes
            .iter()
            .filter(|change| {
                !index
                    .as_ref()
                    .is_some_and(|i| i.unchanged(worktree, change))
            })
            .map(|change| &change.path)
            .collect();
        let mut clash = BTreeSet::new();
        for chunk in unsure.chunks(PATHS_PER_CALL) {
            let mut args: Vec<OsString> = [
                "status",
                "--porcelain",
                "-z",
                "--untracked-files=all",
                "--no-renames",
                "--",
            ]
            .iter()
            .map(OsString::from)
            .collect();
            args.extend(chunk.iter().map(|p| (*p).clone()));
            // "XY <path>" entries, NUL-terminated.
            for entry in z_paths(&wt, looking(&wt, &args))? {
                let bytes = entry.as_bytes();
                clash.insert(OsString::from_vec(bytes.get(3..).unwrap_or(bytes).to_vec()));
            }
        }
        if clash.is_empty() {
            Ok(())
        } else {
            Err(Error::CheckoutDirty {
                target: target.to_owned(),
                worktree: worktree.to_owned(),
                files: list_paths(&clash),
            })
        }
    }

    /// Brings the worktree that has the target checked out from `old` to `new` on the paths
    /// the merge changed, as `git merge --ff-only` would (local changes to other paths are
    /// kept), or finds it there already. It also completes an update that was interrupted
    /// half-way (some files new, the index still old). Local changes to the merged paths are
    /// never overwritten: for a merge paddock made that is an error that says what to do; for
    /// one it found (`already-merged`) the checkout is left as it is.
    ///
    /// `checked`: see [`Workspace::finish_merge`]. When this run found every changed path of
    /// this same checkout as at `old` just before the target moved, git is left to update it
    /// without the full look a resumed merge needs: `read-tree -m -u` checks each path again
    /// under the index lock and refuses to overwrite anything that changed since (the session
    /// then stays `merging`, and the next run looks in full).
    fn bring_checkout(
        &self,
        id: &str,
        progress: &MergeProgress,
        checked: Option<Option<PathBuf>>,
    ) -> Result<(), Error> {
        let Some(worktree) = self.checkout_of(&progress.target)? else {
            return Ok(());
        };
        if progress.old == progress.new {
            return Ok(());
        }
        let ours = progress.how == "merge-commit";
        let not_updated = |reason: String, next: String| {
            Error::CheckoutNotUpdated(Box::new(CheckoutNotUpdated {
                id: id.to_owned(),
                target: progress.target.clone(),
                new: progress.new.clone(),
                worktree: worktree.clone(),
                reason,
                next,
            }))
        };
        let state = if checked
            .as_ref()
            .is_some_and(|c| c.as_ref() == Some(&worktree))
        {
            CheckoutState::Behind {
                partial: false,
                write: Vec::new(),
                remove: Vec::new(),
            }
        } else {
            checkout_state(&worktree, &progress.old, &progress.new)
                .map_err(|err| not_updated(err.to_string(), rerun_hint(id, &worktree, &err)))?
        };
        let (partial, write, remove) = match state {
            CheckoutState::Current => return Ok(()),
            CheckoutState::Changed(files) if ours => {
                return Err(not_updated(
                    format!(
                        "it has local changes to paths the merge changed ({})",
                        list_paths(&files)
                    ),
                    format!(
                        "paddock does not overwrite them: save them elsewhere and put those \
                         files back as they are at {old} (`git -C {wt} checkout {old} -- FILE...`), \
                         then run `paddock merge {id}` again to finish",
                        old = short(&progress.old),
                        wt = worktree.display(),
                    ),
                ));
            }
            CheckoutState::Changed(_) => return Ok(()),
            CheckoutState::Behind {
                partial,
                write,
                remove,
            } => (partial, write, remove),
        };
        let wt = Git::new(&worktree);
        let result = if !partial {
            // Every file the merge changed is still as it was at `old`: git does the rest.
            with_index_retry(
                &wt,
                &["read-tree", "-m", "-u", &progress.old, &progress.new],
            )
        } else {
            // Some files are new already (an update was cut short): write the rest from `new`,
            // then move the index. The files come first, as with git, so a cut here too leaves
            // a state this picks up again.
            finish_partial_update(&worktree, &progress.old, &progress.new, &write, &remove)
        };
        result.map_err(|err| not_updated(err.to_string(), rerun_hint(id, &worktree, &err)))
    }

    fn checkout_of(&self, branch: &str) -> Result<Option<PathBuf>, Error> {
        let list = self.repo().git().run(["worktree", "list", "--porcelain"])?;
        let mut current: Option<PathBuf> = None;
        for line in list.lines() {
            if let Some(path) = line.strip_prefix("worktree ") {
                current = Some(PathBuf::from(path));
            } else if line.strip_prefix("branch ") == Some(&format!("refs/heads/{branch}")) {
                return Ok(current);
            }
        }
        Ok(None)
    }

    fn conflict_report(
        &self,
        session: &Session,
        target: &str,
        old: &str,
        head: &str,
        output: &[u8],
    ) -> Result<ConflictReport, Error> {
        let git = self.repo().git();
        let text = String::from_utf8_lossy(output);
        let mut fields = text.split('\0');
        let _tree = fields.next();
        let mut stages: BTreeMap<String, [Option<(String, String)>; 3]> = BTreeMap::new();
        for field in fields.by_ref() {
            if field.is_empty() {
                break;
            }
            // "<mode> <object> <stage>\t<path>"
            let Some((meta, path)) = field.split_once('\t') else {
                continue;
            };
            let parts: Vec<&str> = meta.split(' ').collect();
            if let [mode, object, stage] = parts[..]
                && let Ok(stage) = stage.parse::<usize>()
                && (1..=3).contains(&stage)
            {
                stages.entry(path.to_owned()).or_default()[stage - 1] =
                    Some((mode.to_owned(), object.to_owned()));
            }
        }
        // Informational messages: "<count>\0<path>...\0<type>\0<message>\0".
        let mut messages: BTreeMap<String, (String, String)> = BTreeMap::new();
        let rest: Vec<&str> = fields.collect();
        let mut i = 0;
        while i < rest.len() {
            let Ok(count) = rest[i].trim().parse::<usize>() else {
                i += 1;
                continue;
            };
            let paths = &rest[i + 1..(i + 1 + count).min(rest.len())];
            let kind = rest.get(i + 1 + count).copied().unwrap_or_default();
            let message = rest.get(i + 2 + count).copied().unwrap_or_default();
            if kind.starts_with("CONFLICT") {
                for path in paths {
                    let entry = messages.entry((*path).to_owned()).or_default();
                    if entry.0.is_empty() || kind.contains("binary") {
                        *entry = (kind.to_owned(), message.trim().to_owned());
                    }
                }
            }
            i += 3 + count;
        }
        let mut conflicts = Vec::new();
        for (path, [base, ours, theirs]) in &stages {
            let (kind_text, message) = messages.get(path).cloned().unwrap_or_default();
            let kind = conflict_kind(&kind_text, &message, base, ours, theirs);
            conflicts.push(ConflictPath {
                path: path.clone(),
                kind,
                base: base.as_ref().map(|s| s.1.clone()),
                ours: ours.as_ref().map(|s| s.1.clone()),
                theirs: theirs.as_ref().map(|s| s.1.clone()),
                ours_changed_by: last_change(&git, old, path),
                theirs_changed_by: last_change(&git, head, path),
                message,
            });
        }
        Ok(ConflictReport {
            session: session.id.clone(),
            target: target.to_owned(),
            target_head: old.to_owned(),
            session_head: head.to_owned(),
            conflicts,
            next_steps: vec![
                format!(
                    "rebase the session on the new target inside its worktree: cd {} && git rebase {target}; resolve; then `paddock session finish {}` after an operator ran `paddock session unblock {} --reason ...`",
                    session.worktree.display(),
                    session.id,
                    session.id
                ),
                format!(
                    "or give the work up: `paddock session cancel {}` (it is archived, not lost)",
                    session.id
                ),
            ],
        })
    }

    fn block_on_conflict(&self, session: &Session, report: ConflictReport) -> Result<Error, Error> {
        let dir = self.artifact_dir(&session.id);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        let yaml = serde_saphyr::to_string(&report).map_err(|e| Error::Io {
            path: dir.join("conflicts.yaml"),
            source: std::io::Error::other(e.to_string()),
        })?;
        write_atomic(&dir.join("conflicts.yaml"), yaml.as_bytes())?;
        self.record(Event::session(
            "merge.blocked",
            session,
            serde_json::to_value(&report).unwrap_or_default(),
        ))?;
        let paths: Vec<&str> = report.conflicts.iter().map(|c| c.path.as_str()).collect();
        self.block(
            &session.id,
            &format!(
                "merge conflict into {} on {}",
                report.target,
                paths.join(", ")
            ),
        )?;
        Ok(Error::Conflict(Box::new(report)))
    }
}

/// The refusal for a session whose merge is under way or was interrupted.
fn merging_state(session: &Session, merging: &MergeProgress) -> Error {
    Error::State {
        id: session.id.clone(),
        state: State::Merging.as_str(),
        what: format!(
            "its merge into {} is under way or was interrupted; `paddock merge {}` finishes it",
            merging.target, session.id
        ),
    }
}

/// How many paths one git command is given at most (argument lists have a limit).
const PATHS_PER_CALL: usize = 512;

/// How long a checkout update waits for another git command's `index.lock` to go.
const INDEX_LOCK_WAIT: Duration = Duration::from_secs(3);

/// What one run of `merge` came to.
enum Attempt {
    /// Merged (now, or by finishing an interrupted merge).
    Done(Session, Box<Merged>),
    /// It conflicts: the session is to be blocked, nothing changed.
    Conflict(Session, Box<ConflictReport>),
}

/// What [`Workspace::settle_merge`] found.
pub(crate) enum Settled {
    /// The target never moved: the session is as before the merge (finished).
    Reverted(Session),
    /// The target had the work: the merge is complete now.
    Merged(Session, Box<Merged>),
}

/// Where the checkout of a merge's target is, on the paths the merge changed.
enum CheckoutState {
    /// Index and files as at the new tip (or changed by someone since, which is theirs).
    Current,
    /// The index as at the old tip, each file as at the old tip or as at the new one.
    Behind {
        /// Whether some files are new already (an update that was cut short).
        partial: bool,
        /// Files still as at the old tip that the new one has.
        write: Vec<OsString>,
        /// Files still as at the old tip that the new one deletes.
        remove: Vec<OsString>,
    },
    /// Changes that are neither: someone's work, never overwritten.
    Changed(BTreeSet<OsString>),
}

/// Why a checkout could not be looked at or updated.
#[derive(Debug, thiserror::Error)]
enum CheckoutFailure {
    #[error(transparent)]
    Git(#[from] git::Error),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// git for reading a checkout: it takes none of git's optional locks (a `status` or `diff`
/// refreshing the index takes `index.lock`, which makes a concurrent `read-tree` fail), and
/// paths are literal.
fn looking<I, S>(git: &Git, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = git.command(args);
    cmd.env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_LITERAL_PATHSPECS", "1");
    cmd
}

/// Runs a git command that prints NUL-terminated paths, and returns them (as bytes: a path
/// need not be UTF-8).
fn z_paths(git: &Git, mut cmd: Command) -> Result<Vec<OsString>, git::Error> {
    let output = cmd.output().map_err(git::Error::Spawn)?;
    if !output.status.success() {
        return Err(failed(git, &cmd, &output));
    }
    Ok(output
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| OsString::from_vec(p.to_vec()))
        .collect())
}

fn failed(git: &Git, cmd: &Command, output: &std::process::Output) -> git::Error {
    let args: Vec<String> = cmd
        .get_args()
        .skip(2) // -C <dir>
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    git::Error::Failed {
        args: args.join(" "),
        dir: git.dir().to_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        code: output.status.code(),
    }
}

/// Runs git on the checkout's index, waiting a little while another git command holds
/// `index.lock` (a person's `git status`, an editor's).
fn with_index_retry(git: &Git, args: &[&str]) -> Result<(), CheckoutFailure> {
    let deadline = Instant::now() + INDEX_LOCK_WAIT;
    loop {
        match git.output(args) {
            Ok(_) => return Ok(()),
            Err(git::Error::Failed { stderr, .. })
                if stderr.contains("index.lock") && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// Where the checkout in `worktree` is between `old` and `new` on the paths they differ in.
fn checkout_state(worktree: &Path, old: &str, new: &str) -> Result<CheckoutState, CheckoutFailure> {
    let wt = Git::new(worktree);
    let tree_diff = |filter: Option<&str>| -> Result<BTreeSet<OsString>, git::Error> {
        let mut args = vec!["diff", "--name-only", "-z", "--no-renames"];
        args.extend(filter);
        args.extend([old, new]);
        Ok(z_paths(&wt, looking(&wt, &args))?.into_iter().collect())
    };
    let changed = tree_diff(None)?;
    if changed.is_empty() {
        return Ok(CheckoutState::Current);
    }
    let index_differs = |tree: &str| -> Result<BTreeSet<OsString>, git::Error> {
        let args = [
            "diff-index",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            tree,
        ];
        Ok(z_paths(&wt, looking(&wt, args))?
            .into_iter()
            .filter(|p| changed.contains(p))
            .collect())
    };
    let index_not_new = index_differs(new)?;
    if index_not_new.is_empty() {
        return Ok(CheckoutState::Current);
    }
    let index_not_old = index_differs(old)?;
    if !index_not_old.is_empty() {
        let neither: BTreeSet<OsString> = index_not_old
            .intersection(&index_not_new)
            .cloned()
            .collect();
        return Ok(CheckoutState::Changed(if neither.is_empty() {
            index_not_old
        } else {
            neither
        }));
    }
    // The index is as at `old` on every changed path. Which files are not? git compares the
    // tracked ones with the index; those `new` adds are not in it, so any file there counts.
    let added = tree_diff(Some("--diff-filter=A"))?;
    let deleted = tree_diff(Some("--diff-filter=D"))?;
    let mut not_old: BTreeSet<OsString> = z_paths(
        &wt,
        looking(&wt, ["diff", "--name-only", "-z", "--no-renames"]),
    )?
    .into_iter()
    .filter(|p| changed.contains(p))
    .collect();
    not_old.extend(added.iter().filter(|p| exists(worktree, p)).cloned());
    if not_old.is_empty() {
        return Ok(CheckoutState::Behind {
            partial: false,
            write: Vec::new(),
            remove: Vec::new(),
        });
    }
    // Those must be as at `new` (an update cut short), or on their way there: git removes a
    // file and writes the new one in its place, so a cut can leave it missing or holding the
    // start of the new content, and writing it whole loses nothing. Anything else is someone's
    // change.
    let mut not_new = differs_from_tree(worktree, new, &not_old, &deleted)?;
    let mut cut = BTreeSet::new();
    for rel in &not_new {
        if !deleted.contains(rel) && on_its_way(worktree, new, rel)? {
            cut.insert(rel.clone());
        }
    }
    not_new.retain(|p| !cut.contains(p));
    if !not_new.is_empty() {
        return Ok(CheckoutState::Changed(not_new));
    }
    let (remove, write) = changed
        .into_iter()
        .filter(|p| !not_old.contains(p) || cut.contains(p))
        .partition(|p| deleted.contains(p));
    Ok(CheckoutState::Behind {
        partial: true,
        write,
        remove,
    })
}

/// Whether the file at `rel` is missing, or a regular file holding the start of what `tree`
/// has there (as git would write it, filters applied): what writing that file, cut short,
/// leaves.
fn on_its_way(worktree: &Path, tree: &str, rel: &OsStr) -> Result<bool, CheckoutFailure> {
    let path = worktree.join(rel);
    let meta = match path.symlink_metadata() {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(source) => {
            return Err(CheckoutFailure::Io {
                action: "look at",
                path,
                source,
            });
        }
    };
    if !meta.is_file() {
        return Ok(false);
    }
    let wt = Git::new(worktree);
    let mut spec = OsString::from(format!("{tree}:"));
    spec.push(rel);
    let mut cmd = wt.command([OsStr::new("cat-file"), OsStr::new("--filters"), &spec]);
    let output = cmd.output().map_err(git::Error::Spawn)?;
    if !output.status.success() {
        return Err(failed(&wt, &cmd, &output).into());
    }
    let have = std::fs::read(&path).map_err(|source| CheckoutFailure::Io {
        action: "read",
        path: path.clone(),
        source,
    })?;
    Ok(output.stdout.starts_with(&have))
}

fn exists(worktree: &Path, path: &OsStr) -> bool {
    worktree.join(path).symlink_metadata().is_ok()
}

/// The paths among `paths` whose file in `worktree` is not as in `tree` (`absent`: the paths
/// `tree` does not have, which must not exist).
fn differs_from_tree(
    worktree: &Path,
    tree: &str,
    paths: &BTreeSet<OsString>,
    absent: &BTreeSet<OsString>,
) -> Result<BTreeSet<OsString>, CheckoutFailure> {
    let mut differs: BTreeSet<OsString> = paths
        .iter()
        .filter(|p| absent.contains(*p) && exists(worktree, p))
        .cloned()
        .collect();
    let present: Vec<&OsString> = paths.iter().filter(|p| !absent.contains(*p)).collect();
    if present.is_empty() {
        return Ok(differs);
    }
    // A throw-away index holding `tree`, for git to compare the files with.
    let (_temp, index) = temp_index()?;
    let wt = Git::new(worktree);
    let mut read = wt.command(["read-tree", tree]);
    read.env("GIT_INDEX_FILE", &index);
    run_checked(&wt, read)?;
    for chunk in present.chunks(PATHS_PER_CALL) {
        let mut args: Vec<OsString> = ["diff", "--name-only", "-z", "--no-renames", "--"]
            .iter()
            .map(OsString::from)
            .collect();
        args.extend(chunk.iter().map(|p| (*p).clone()));
        let mut cmd = looking(&wt, &args);
        cmd.env("GIT_INDEX_FILE", &index);
        differs.extend(z_paths(&wt, cmd)?);
    }
    Ok(differs)
}

fn temp_index() -> Result<(tempfile::TempDir, PathBuf), CheckoutFailure> {
    let temp = tempfile::Builder::new()
        .prefix("paddock-index-")
        .tempdir()
        .map_err(|source| CheckoutFailure::Io {
            action: "create a temporary directory in",
            path: std::env::temp_dir(),
            source,
        })?;
    let index = temp.path().join("index");
    Ok((temp, index))
}

fn run_checked(git: &Git, mut cmd: Command) -> Result<(), git::Error> {
    let output = cmd.output().map_err(git::Error::Spawn)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(failed(git, &cmd, &output))
    }
}

/// Completes a checkout update that was cut short: the files still as at `old` are removed or
/// written from `new`, then the index moves from `old` to `new` in one step.
fn finish_partial_update(
    worktree: &Path,
    old: &str,
    new: &str,
    write: &[OsString],
    remove: &[OsString],
) -> Result<(), CheckoutFailure> {
    for rel in remove {
        let path = worktree.join(rel);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(CheckoutFailure::Io {
                    action: "remove",
                    path,
                    source,
                });
            }
        }
        // Directories the merge emptied go too, as with git.
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == worktree || !d.starts_with(worktree) || std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
    let wt = Git::new(worktree);
    if !write.is_empty() {
        let (_temp, index) = temp_index()?;
        let mut read = wt.command(["read-tree", new]);
        read.env("GIT_INDEX_FILE", &index);
        run_checked(&wt, read)?;
        let mut checkout = wt.command(["checkout-index", "-f", "-q", "-z", "--stdin"]);
        checkout
            .env("GIT_INDEX_FILE", &index)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = checkout.spawn().map_err(git::Error::Spawn)?;
        if let Some(mut stdin) = child.stdin.take() {
            let mut list = Vec::new();
            for rel in write {
                list.extend_from_slice(rel.as_bytes());
                list.push(0);
            }
            std::io::Write::write_all(&mut stdin, &list).map_err(git::Error::Spawn)?;
        }
        let output = child.wait_with_output().map_err(git::Error::Spawn)?;
        if !output.status.success() {
            return Err(failed(&wt, &checkout, &output).into());
        }
    }
    // `-i`: the index alone (the files are as at `new` now, which git would take for local
    // changes).
    with_index_retry(&wt, &["read-tree", "-m", "-i", old, new])
}

/// A blob as a tree holds it: mode bits and object id.
type TreeBlob = (u32, ObjectId);

/// One path that differs between two commits.
struct Change {
    /// Repo-relative.
    path: OsString,
    /// Both sides (`None` inside: the commit has nothing there), or `None` when git's line
    /// for the path could not be read.
    sides: Option<(Option<TreeBlob>, Option<TreeBlob>)>,
}

/// The paths that differ between commits `old` and `new`, with both sides: one git process,
/// whatever the number of paths.
fn changes_between(git: &Git, old: &str, new: &str) -> Result<Vec<Change>, git::Error> {
    let out = git
        .output([
            "diff-tree",
            "-r",
            "-z",
            "--raw",
            "--no-renames",
            "--no-abbrev",
            old,
            new,
        ])?
        .stdout;
    let mut fields = out.split(|b| *b == 0);
    let mut changes = Vec::new();
    while let Some(meta) = fields.next() {
        if meta.is_empty() {
            continue;
        }
        let Some(path) = fields.next() else { break };
        // ":<old mode> <new mode> <old id> <new id> <status>"
        let meta = String::from_utf8_lossy(meta);
        let side = |mode: &str, id: &str| -> Option<Option<TreeBlob>> {
            let mode = u32::from_str_radix(mode, 8).ok()?;
            let id = ObjectId::from_hex(id.as_bytes()).ok()?;
            Some((mode != 0).then_some((mode, id)))
        };
        let parts: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
        let sides = match parts[..] {
            [old_mode, new_mode, old_id, new_id, _] => {
                side(old_mode, old_id).zip(side(new_mode, new_id))
            }
            _ => None,
        };
        changes.push(Change {
            path: OsString::from_vec(path.to_vec()),
            sides,
        });
    }
    Ok(changes)
}

/// The index of a checkout, read in-process to show paths unchanged without git.
struct CheckoutIndex {
    file: gix::index::File,
}

impl CheckoutIndex {
    /// `None` when it cannot be read, or in a form this does not cover (a sparse index): git
    /// looks at every path then.
    fn open(worktree: &Path, hash: gix::hash::Kind) -> Option<CheckoutIndex> {
        // Where git keeps it: `.git/index`, or in the git dir a linked worktree's `.git` file
        // names (our git calls run without `GIT_INDEX_FILE`).
        let dot_git = worktree.join(".git");
        let path = if dot_git.is_dir() {
            dot_git.join("index")
        } else {
            let text = std::fs::read_to_string(&dot_git).ok()?;
            worktree
                .join(text.strip_prefix("gitdir:")?.trim())
                .join("index")
        };
        // The checksum is verified, as git does.
        let file = gix::index::File::at(&path, hash, false, Default::default()).ok()?;
        (!file.is_sparse()).then_some(CheckoutIndex { file })
    }

    /// Whether the checkout certainly has `change.path` as the change's old side, as
    /// `git status` would find it: nothing staged there, the file unchanged since git last
    /// looked at it (its stat data exactly as the index recorded them, and not racily so), and
    /// nothing at all where the old side has nothing. `false` means that git must look, not
    /// that it changed: anything unusual (a conflict, a submodule, a skip-worktree or
    /// assume-unchanged entry, a stat field that differs) is left to git.
    fn unchanged(&self, worktree: &Path, change: &Change) -> bool {
        use gix::index::entry::{Flags, Stat, stat};
        let Some((old, _)) = change.sides else {
            return false;
        };
        let range = self
            .file
            .entry_range(gix::bstr::BStr::new(change.path.as_bytes()));
        let full = worktree.join(&change.path);
        let Some((mode, id)) = old else {
            // Nothing staged, nothing on disk (not even a directory of untracked files).
            return range.is_none() && absent(&full);
        };
        let Some(range) = range else {
            return false;
        };
        if range.len() != 1 {
            return false;
        }
        let entry = &self.file.entries()[range.start];
        let special = Flags::ASSUME_VALID | Flags::INTENT_TO_ADD | Flags::SKIP_WORKTREE;
        if entry.stage_raw() != 0
            || entry.id != id
            || entry.mode.bits() != mode
            || entry.flags.intersects(special)
        {
            return false;
        }
        let Ok(meta) = gix::index::fs::Metadata::from_path_no_follow(&full) else {
            return false;
        };
        let kind = match mode {
            0o100644 => meta.is_file() && !meta.is_executable(),
            0o100755 => meta.is_file() && meta.is_executable(),
            0o120000 => meta.is_symlink(),
            _ => false,
        };
        // Every field, whatever git's `core.checkStat` and `core.trustCtime` say: stricter
        // than git can only send a path to git.
        let strict = stat::Options {
            trust_ctime: true,
            check_stat: true,
            use_nsec: true,
            use_stdev: true,
        };
        kind && Stat::from_fs(&meta).is_ok_and(|now| now == entry.stat)
            && !entry.stat.is_racy(self.file.timestamp(), strict)
    }
}

/// Whether nothing is at `path` (a missing parent, or a file where a parent directory would
/// be, counts as nothing).
fn absent(path: &Path) -> bool {
    matches!(
        path.symlink_metadata(),
        Err(err) if matches!(
            err.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
        )
    )
}

/// What to do once a failed checkout update's cause is fixed.
fn rerun_hint(id: &str, worktree: &Path, err: &CheckoutFailure) -> String {
    if err.to_string().contains("index.lock") {
        format!(
            "another git command holds {}'s index.lock; once it has ended (or, if no git command \
             is running there, once you removed the stale lock it names: `paddock session gc` \
             lists stale git locks), run `paddock merge {id}` again to finish",
            worktree.display()
        )
    } else {
        format!("fix that, then run `paddock merge {id}` again to finish")
    }
}

/// A few of `paths`, for a message.
fn list_paths(paths: &BTreeSet<OsString>) -> String {
    let mut shown: Vec<String> = paths
        .iter()
        .take(8)
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if paths.len() > shown.len() {
        shown.push(format!("and {} more", paths.len() - shown.len()));
    }
    shown.join(", ")
}

fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

/// The commit before `tip` when `tip` is paddock's merge of session `id` at `head`.
fn merged_by(git: &Git, id: &str, tip: &str, head: &str) -> Option<String> {
    let parents = git.run(["rev-list", "--parents", "-n", "1", tip]).ok()?;
    let mut parents = parents.split_whitespace().skip(1);
    let (first, second) = (parents.next()?, parents.next()?);
    if second != head || parents.next().is_some() {
        return None;
    }
    let message = git.run(["log", "-1", "--format=%B", tip]).ok()?;
    let trailer = format!("Session: {id}");
    message
        .lines()
        .any(|l| l.trim() == trailer)
        .then(|| first.to_owned())
}

#[derive(serde::Deserialize)]
struct RawProvenance {
    session: String,
    role: String,
    base: String,
    head: String,
    target: String,
    patch_blake3: String,
    patch_id: String,
    scope_check: String,
    scope: Vec<String>,
    started: String,
    finished: String,
    mode: String,
}

fn conflict_kind(
    kind: &str,
    message: &str,
    base: &Option<(String, String)>,
    ours: &Option<(String, String)>,
    theirs: &Option<(String, String)>,
) -> String {
    let lower = format!("{kind} {message}").to_lowercase();
    let kind = if lower.contains("binary") {
        "binary"
    } else if lower.contains("rename") {
        "rename"
    } else if lower.contains("file/directory") || lower.contains("directory/file") {
        "file/directory"
    } else if lower.contains("modify/delete")
        || (base.is_some() && (ours.is_none() || theirs.is_none()))
    {
        "modify/delete"
    } else if lower.contains("add/add") || (base.is_none() && ours.is_some() && theirs.is_some()) {
        "add/add"
    } else if let (Some(o), Some(t)) = (ours, theirs)
        && o.1 == t.1
        && o.0 != t.0
    {
        "mode"
    } else {
        "content"
    };
    kind.to_owned()
}

/// "session <id>" when the last commit touching `path` from `tip` names a paddock session,
/// else "commit <short id> <subject>".
fn last_change(git: &Git, tip: &str, path: &str) -> Option<String> {
    let out = git
        .run(["log", "-1", "--format=%H%x00%s%x00%b", tip, "--", path])
        .ok()?;
    let mut parts = out.splitn(3, '\0');
    let (commit, subject, body) = (
        parts.next()?,
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if commit.is_empty() {
        return None;
    }
    let short = &commit[..commit.len().min(10)];
    if let Some(id) = body.lines().find_map(|l| l.strip_prefix("Session: ")) {
        return Some(format!("session {} (commit {short})", id.trim()));
    }
    // A commit made in a session reaches the target through paddock's merge commit, whose
    // message names the session: the oldest merge on the way from the commit to the tip.
    let merges = git
        .run([
            "log",
            "--merges",
            "--ancestry-path",
            "--reverse",
            "--format=%b",
            &format!("{commit}..{tip}"),
        ])
        .unwrap_or_default();
    if let Some(id) = merges.lines().find_map(|l| l.strip_prefix("Session: ")) {
        return Some(format!("session {} (commit {short} {subject})", id.trim()));
    }
    Some(format!("commit {short} {subject}"))
}

fn tree_of(repo: &gix::Repository, commit: &str) -> Result<ObjectId, Error> {
    let id = ObjectId::from_hex(commit.as_bytes()).map_err(|_| crate::guard::Error::BadInput {
        line: commit.to_owned(),
    })?;
    let err = |message: String| crate::changes::Error::Object { id, message };
    let commit = repo.find_commit(id).map_err(|e| err(e.to_string()))?;
    Ok(commit.tree_id().map_err(|e| err(e.to_string()))?.detach())
}

fn file_changes(git: &Git, base: &str, head: &str) -> Result<Vec<FileChange>, Error> {
    let raw = git
        .output([
            "diff",
            "--raw",
            "-z",
            "--no-renames",
            "--full-index",
            base,
            head,
        ])?
        .stdout;
    let text = String::from_utf8_lossy(&raw);
    let mut fields = text.split('\0');
    let mut files = Vec::new();
    let zero = |s: &str| (!s.bytes().all(|b| b == b'0')).then(|| s.to_owned());
    while let Some(meta) = fields.next() {
        if meta.is_empty() {
            continue;
        }
        let Some(path) = fields.next() else { break };
        // ":<old mode> <new mode> <old blob> <new blob> <status>"
        let parts: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
        if let [old_mode, new_mode, old_blob, new_blob, status] = parts[..] {
            files.push(FileChange {
                path: path.to_owned(),
                status: status.to_owned(),
                old_mode: zero(old_mode),
                new_mode: zero(new_mode),
                old_blob: zero(old_blob),
                new_blob: zero(new_blob),
            });
        }
    }
    Ok(files)
}

fn patch_id(git: &Git, patch: &[u8]) -> Result<String, Error> {
    use std::io::Write;
    let mut child = git
        .command(["patch-id", "--stable"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(git::Error::Spawn)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(patch).map_err(git::Error::Spawn)?;
    }
    let out = child.wait_with_output().map_err(git::Error::Spawn)?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned())
}

fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::io::Write::write_all(&mut temp, bytes).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    temp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
