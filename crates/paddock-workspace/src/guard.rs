//! What the git hooks enforce: staged paths, ref updates and pushes, for the session that acts
//! (or for a person outside any session), and blocking a session when it breaks a rule.

use std::path::Path;
use std::time::SystemTime;

use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};
use paddock_policy::glob::PatternSet;
use serde::Serialize;

use crate::Workspace;
use crate::changes;
use crate::record::Event;
use crate::session::{self, Session, State};

/// The environment variable naming the acting session (set by `paddock-sh` and the turn
/// runner; required in lock mode).
pub const SESSION_ENV: &str = "PADDOCK_SESSION";

const ZERO: &str = "0000000000000000000000000000000000000000";

/// Errors evaluating a hook.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `PADDOCK_SESSION` names no live session.
    #[error("{SESSION_ENV}={id:?} names no live session; unset it or start the session")]
    UnknownSession {
        /// The id.
        id: String,
    },
    /// The registry could not be read or written.
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    /// Objects or the index could not be read.
    #[error(transparent)]
    Changes(#[from] changes::Error),
    /// git failed.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
    /// A ref line from git did not parse.
    #[error("cannot parse the ref update {line:?} git passed to the hook")]
    BadInput {
        /// The line.
        line: String,
    },
    /// The ledger refused a record.
    #[error(transparent)]
    Record(#[from] crate::record::Error),
    /// A scope in the registry is invalid.
    #[error("session scope is invalid: {0}")]
    Scope(#[from] paddock_policy::glob::Error),
    /// Approvals could not be read.
    #[error(transparent)]
    Approvals(#[from] crate::approvals::Error),
}

/// One thing a hook refuses, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// A rule id from the catalogue.
    pub rule: &'static str,
    /// The path or ref concerned.
    pub subject: String,
    /// Why, and what to do.
    pub detail: String,
}

/// One line of `reference-transaction` or `pre-push` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The ref (for pushes: the remote ref).
    pub name: String,
    /// Its value before (`None`: it is created).
    pub old: Option<ObjectId>,
    /// Its value after (`None`: it is deleted).
    pub new: Option<ObjectId>,
}

fn parse_id(text: &str, line: &str) -> Result<Option<ObjectId>, Error> {
    if text == ZERO || text.bytes().all(|b| b == b'0') {
        return Ok(None);
    }
    ObjectId::from_hex(text.as_bytes())
        .map(Some)
        .map_err(|_| Error::BadInput {
            line: line.to_owned(),
        })
}

/// Parses `reference-transaction` input: `<old> <new> <ref>` per line.
pub fn parse_ref_updates(input: &str) -> Result<Vec<RefUpdate>, Error> {
    let mut updates = Vec::new();
    for line in input.lines().filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(3, ' ');
        let (Some(old), Some(new), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::BadInput {
                line: line.to_owned(),
            });
        };
        // Symbolic updates (`ref:refs/heads/x`) move HEAD-like refs, which hooks never refuse.
        if old.starts_with("ref:") || new.starts_with("ref:") {
            if name.starts_with("refs/heads/") {
                return Err(Error::BadInput {
                    line: line.to_owned(),
                });
            }
            continue;
        }
        updates.push(RefUpdate {
            name: name.to_owned(),
            old: parse_id(old, line)?,
            new: parse_id(new, line)?,
        });
    }
    Ok(updates)
}

/// Parses `pre-push` input: `<local ref> <local id> <remote ref> <remote id>` per line.
pub fn parse_push_updates(input: &str) -> Result<Vec<RefUpdate>, Error> {
    let mut updates = Vec::new();
    for line in input.lines().filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split(' ').collect();
        let [_, local, remote_ref, remote] = parts[..] else {
            return Err(Error::BadInput {
                line: line.to_owned(),
            });
        };
        updates.push(RefUpdate {
            name: remote_ref.to_owned(),
            old: parse_id(remote, line)?,
            new: parse_id(local, line)?,
        });
    }
    Ok(updates)
}

impl Workspace {
    /// The session a hook or command acts for: `PADDOCK_SESSION` if set (it must name a live
    /// session), else the live session owning the worktree `dir` is in, else none (a person).
    pub fn acting_session(
        &self,
        dir: &Path,
        env_session: Option<&str>,
    ) -> Result<Option<Session>, Error> {
        if let Some(id) = env_session.filter(|id| !id.is_empty()) {
            let session = match self.registry().load(id) {
                Ok(s) => s,
                Err(crate::registry::Error::UnknownSession { .. }) => {
                    return Err(Error::UnknownSession { id: id.to_owned() });
                }
                Err(err) => return Err(err.into()),
            };
            if !session.holds_scope(SystemTime::now()) {
                return Err(Error::UnknownSession { id: id.to_owned() });
            }
            return Ok(Some(session));
        }
        Ok(self.session_for_dir(dir)?)
    }

    /// Drops the violations an operator approved for this session (`paddock approve rule`).
    pub fn waive_approved(
        &self,
        session: Option<&Session>,
        violations: Vec<Violation>,
    ) -> Result<Vec<Violation>, Error> {
        let Some(session) = session else {
            return Ok(violations);
        };
        if violations.is_empty() {
            return Ok(violations);
        }
        let approvals = self.approvals_for(&session.id)?;
        Ok(violations
            .into_iter()
            .filter(|v| {
                !approvals.iter().any(|a| matches!(&a.grant, crate::approvals::Grant::Rule { rule } if rule == v.rule))
            })
            .collect())
    }

    /// Checks paths a commit or update would change: protected paths for everybody, the scope
    /// for a session.
    pub fn check_paths(
        &self,
        session: Option<&Session>,
        paths: &[BString],
    ) -> Result<Vec<Violation>, Error> {
        let protected = self.policy().protected();
        let scope = match session {
            Some(s) => Some(PatternSet::new(&s.scope)?),
            None => None,
        };
        let mut violations = Vec::new();
        for path in paths {
            let shown = path.to_str_lossy().into_owned();
            if let Some(glob) = protected.first_match(path.as_slice()) {
                violations.push(Violation {
                    rule: "fs.write.protected",
                    subject: shown,
                    detail: format!(
                        "protected by the policy (`{}`); take the change out (`git restore --staged -- PATH`), \
                         protected paths change only through an operator",
                        glob.original()
                    ),
                });
            } else if let (Some(scope), Some(s)) = (&scope, session)
                && !scope.is_match(path.as_slice())
            {
                violations.push(Violation {
                    rule: "fs.write.outside-scope",
                    subject: shown,
                    detail: format!(
                        "outside session {}'s scope ({}); unstage it (`git restore --staged -- PATH`) or \
                         start a session whose scope covers it",
                        s.id,
                        s.scope.join(" ")
                    ),
                });
            }
        }
        self.waive_approved(session, violations)
    }

    /// pre-commit: the staged paths (from the index git hands the hook) and the branch.
    pub fn check_commit(
        &self,
        session: Option<&Session>,
        index_path: &Path,
    ) -> Result<Vec<Violation>, Error> {
        let repo = self.repo().gix();
        let head_tree = repo.head_tree_id().ok().map(|id| id.detach());
        let staged = changes::staged_changes(repo, index_path, head_tree)?;
        let mut violations = self.check_paths(session, &staged)?;
        if let Some(session) = session {
            violations.extend(self.check_session_can_write(session)?);
        }
        self.waive_approved(session, violations)
    }

    /// The session's state and place: BLOCKED sessions cannot commit; worktree sessions commit
    /// only on their own branch in their own worktree.
    fn check_session_can_write(&self, session: &Session) -> Result<Vec<Violation>, Error> {
        let mut violations = Vec::new();
        if session.state == State::Blocked {
            violations.push(Violation {
                rule: "session.blocked",
                subject: session.id.clone(),
                detail: format!(
                    "session {} is BLOCKED ({}); an operator must clear it with `paddock session unblock {} --reason ...`",
                    session.id,
                    session.blocked_reason.as_deref().unwrap_or("no reason recorded"),
                    session.id
                ),
            });
        }
        if let Some(branch) = &session.branch {
            let here = self.repo().worktree();
            if here != session.worktree {
                violations.push(Violation {
                    rule: "session.cross-access",
                    subject: here.display().to_string(),
                    detail: format!(
                        "session {} may commit only in its own worktree {}",
                        session.id,
                        session.worktree.display()
                    ),
                });
            }
            let current = self
                .repo()
                .gix()
                .head_name()
                .ok()
                .flatten()
                .map(|n| n.shorten().to_string());
            if current.as_deref() != Some(branch.as_str()) {
                violations.push(Violation {
                    rule: "session.wrong-branch",
                    subject: current.unwrap_or_else(|| "a detached HEAD".to_owned()),
                    detail: format!(
                        "session {} commits only on its branch {branch}; `git switch {branch}`",
                        session.id
                    ),
                });
            }
        }
        Ok(violations)
    }

    /// reference-transaction (`prepared`): branch updates only.
    pub fn check_ref_updates(
        &self,
        session: Option<&Session>,
        updates: &[RefUpdate],
    ) -> Result<Vec<Violation>, Error> {
        let mut violations = Vec::new();
        let target = self.policy().target_branch().to_owned();
        // A no-op update (an abort restoring HEAD, say) changes nothing.
        for update in updates
            .iter()
            .filter(|u| u.name.starts_with("refs/heads/") && u.old != u.new)
        {
            let branch = &update.name["refs/heads/".len()..];
            let is_target = branch == target || session.is_some_and(|s| s.target == branch);
            match session {
                Some(s) => {
                    if is_target {
                        violations.push(Violation {
                            rule: "git.target-branch",
                            subject: update.name.clone(),
                            detail: format!(
                                "a session never moves the target branch {branch}; hand the work back with \
                                 `paddock session finish {}` and `paddock merge {}`",
                                s.id, s.id
                            ),
                        });
                    } else if let Some(other) = branch.strip_prefix("paddock/")
                        && Some(branch) != s.branch.as_deref()
                    {
                        violations.push(Violation {
                            rule: "session.cross-access",
                            subject: update.name.clone(),
                            detail: format!("branch {branch} belongs to session {other}; session {} may not move it", s.id),
                        });
                    } else if Some(branch) == s.branch.as_deref() {
                        match update.new {
                            None => violations.push(Violation {
                                rule: "git.branch.force-delete",
                                subject: update.name.clone(),
                                detail: format!("the session's own branch is deleted only by `paddock session cancel {}`", s.id),
                            }),
                            Some(new) => {
                                let paths = self.branch_changes(s, update.old, new)?;
                                violations.extend(self.check_paths(Some(s), &paths)?);
                                violations.extend(self.check_session_can_write(s)?.into_iter().filter(|v| v.rule == "session.blocked"));
                            }
                        }
                    }
                }
                None if is_target => match (update.old, update.new) {
                    (Some(_), None) => violations.push(Violation {
                        rule: "git.target-branch",
                        subject: update.name.clone(),
                        detail: format!("the target branch {branch} is never deleted"),
                    }),
                    (Some(old), Some(new)) if !self.is_fast_forward(old, new)? => violations.push(Violation {
                        rule: "git.target-branch",
                        subject: update.name.clone(),
                        detail: format!(
                            "this rewrites the history of the target branch {branch} ({} -> {}); only fast-forwards \
                             and new commits are allowed on it",
                            short(old),
                            short(new)
                        ),
                    }),
                    _ => {}
                },
                None => {}
            }
        }
        self.waive_approved(session, violations)
    }

    /// pre-push: no force-updates or deletions anywhere; sessions never push the target.
    pub fn check_push(
        &self,
        session: Option<&Session>,
        updates: &[RefUpdate],
    ) -> Result<Vec<Violation>, Error> {
        let mut violations = Vec::new();
        let target = format!("refs/heads/{}", self.policy().target_branch());
        for update in updates {
            match (update.old, update.new) {
                (Some(_), None) => violations.push(Violation {
                    rule: "git.push.delete",
                    subject: update.name.clone(),
                    detail: "pushes never delete remote branches through paddock".to_owned(),
                }),
                (Some(old), Some(new)) if !self.is_fast_forward(old, new)? => violations.push(Violation {
                    rule: "git.push.force",
                    subject: update.name.clone(),
                    detail: format!(
                        "this would force-update {} ({} is not an ancestor of {}, or is unknown here: fetch first)",
                        update.name,
                        short(old),
                        short(new)
                    ),
                }),
                _ => {}
            }
            if let Some(s) = session
                && (update.name == target || update.name == format!("refs/heads/{}", s.target))
            {
                violations.push(Violation {
                    rule: "git.push.protected",
                    subject: update.name.clone(),
                    detail: format!("session {} may not push the target branch; it goes back through `paddock merge`", s.id),
                });
            }
        }
        self.waive_approved(session, violations)
    }

    /// Paths a session branch update changes relative to where the session's work starts: the
    /// parent for an ordinary commit, the merge base with the target otherwise (rebases,
    /// merges of the target into the branch).
    fn branch_changes(
        &self,
        session: &Session,
        old: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<Vec<BString>, Error> {
        let repo = self.repo().gix();
        let commit = repo.find_commit(new).map_err(|e| changes::Error::Object {
            id: new,
            message: e.to_string(),
        })?;
        let parents: Vec<ObjectId> = commit.parent_ids().map(|id| id.detach()).collect();
        let tree_of = |id: ObjectId| -> Result<ObjectId, Error> {
            let c = repo.find_commit(id).map_err(|e| changes::Error::Object {
                id,
                message: e.to_string(),
            })?;
            Ok(c.tree_id()
                .map_err(|e| changes::Error::Object {
                    id,
                    message: e.to_string(),
                })?
                .detach())
        };
        let new_tree = tree_of(new)?;
        let from = if parents.len() == 1 && old == Some(parents[0]) {
            parents[0]
        } else {
            let git = self.repo().git();
            let target = format!("refs/heads/{}", session.target);
            match git.run(["merge-base", &new.to_string(), &target]) {
                Ok(base) if !base.is_empty() => ObjectId::from_hex(base.as_bytes())
                    .map_err(|_| Error::BadInput { line: base.clone() })?,
                _ => ObjectId::from_hex(session.base.as_bytes()).map_err(|_| Error::BadInput {
                    line: session.base.clone(),
                })?,
            }
        };
        Ok(changes::tree_changes(
            repo,
            Some(tree_of(from)?),
            Some(new_tree),
        )?)
    }

    fn is_fast_forward(&self, old: ObjectId, new: ObjectId) -> Result<bool, Error> {
        if let Ok(commit) = self.repo().gix().find_commit(new)
            && commit.parent_ids().any(|p| p == old)
        {
            return Ok(true);
        }
        let git = self.repo().git();
        // An unknown old id (not fetched) cannot be shown to be an ancestor: refuse.
        Ok(git
            .test([
                "merge-base",
                "--is-ancestor",
                &old.to_string(),
                &new.to_string(),
            ])
            .unwrap_or(false))
    }

    /// Puts a live session in BLOCKED with the reason, and records it.
    pub fn block(&self, id: &str, reason: &str) -> Result<Session, Error> {
        if let Some(forward) = &self.forward {
            // The supervisor blocks the session it supervises, whatever id a child names.
            forward(&crate::record::Request::Block {
                reason: reason.to_owned(),
            })
            .map_err(crate::record::Error::Supervisor)?;
            return Ok(self.registry().load(id)?);
        }
        let lock = self.registry().lock()?;
        let mut session = self.registry().load(id)?;
        if !session.state.is_live() {
            return Ok(session);
        }
        session.state = State::Blocked;
        session.blocked_reason = Some(reason.to_owned());
        session.updated = session::timestamp(SystemTime::now());
        self.record(Event::session(
            "session.blocked",
            &session,
            serde_json::json!({ "reason": reason }),
        ))?;
        self.registry().save(&lock, &session)?;
        Ok(session)
    }

    /// Clears BLOCKED (an operator's decision, recorded as an approval).
    pub fn unblock(&self, id: &str, reason: &str, operator: &str) -> Result<Session, Error> {
        let lock = self.registry().lock()?;
        let mut session = self.registry().load(id)?;
        if session.state != State::Blocked {
            return Ok(session);
        }
        let was = session.blocked_reason.take();
        session.state = State::Active;
        session.updated = session::timestamp(SystemTime::now());
        self.record(Event::session(
            "approval",
            &session,
            serde_json::json!({ "what": "unblock", "by": operator, "why": reason, "was_blocked_for": was }),
        ))?;
        self.record(Event::session(
            "session.unblocked",
            &session,
            serde_json::json!({ "reason": reason, "by": operator }),
        ))?;
        self.registry().save(&lock, &session)?;
        Ok(session)
    }
}

fn short(id: ObjectId) -> String {
    id.to_hex_with_len(10).to_string()
}
