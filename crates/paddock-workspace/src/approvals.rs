//! Operator approvals: the single way to override a refusal. Each names who, what, why and until
//! when; each is an `approval` ledger record and a file under `$GIT_COMMON_DIR/paddock/approvals/`
//! that the locks, the hooks, the gate and the sandbox consult.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::Workspace;
use crate::record::Event;
use crate::registry::RegistryLock;
use crate::session;

/// What an approval lets through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Grant {
    /// `session` may start (or run) with a scope overlapping `other`'s.
    Overlap {
        /// The other session.
        other: String,
    },
    /// `session` may read and write `paths` (globs; empty = all) in `other`'s worktree.
    CrossAccess {
        /// The other session.
        other: String,
        /// Repo-relative globs; empty means the whole worktree.
        #[serde(default)]
        paths: Vec<String>,
    },
    /// `session` may run what `rule` refuses (a rule set to `approval`, or any rule).
    Rule {
        /// The rule id.
        rule: String,
    },
    /// `session` may run with weaker kernel confinement than the policy requires.
    Degraded {
        /// The weakest level allowed: `landlock` or `none`.
        level: String,
    },
}

impl Grant {
    /// A short description for listings and messages.
    pub fn describe(&self) -> String {
        match self {
            Grant::Overlap { other } => format!("overlapping scope with session {other}"),
            Grant::CrossAccess { other, paths } if paths.is_empty() => {
                format!("access to session {other}'s worktree")
            }
            Grant::CrossAccess { other, paths } => format!(
                "access to {} in session {other}'s worktree",
                paths.join(" ")
            ),
            Grant::Rule { rule } => format!("commands refused by rule {rule}"),
            Grant::Degraded { level } => format!("running with kernel confinement `{level}`"),
        }
    }
}

/// One approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Its id (`ap-xxxxxxxx`).
    pub id: String,
    /// The session it is for.
    pub session: String,
    /// What it lets through.
    pub grant: Grant,
    /// Who approved (the operator's user name).
    pub by: String,
    /// Why.
    pub why: String,
    /// When (RFC 3339 UTC).
    pub created: String,
    /// Until when (RFC 3339 UTC).
    pub until: String,
    /// Set when revoked early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
}

impl Approval {
    /// In force at `now`: not revoked, not past `until`.
    pub fn is_live(&self, now: SystemTime) -> bool {
        self.revoked.is_none()
            && humantime::parse_rfc3339(&self.until).is_ok_and(|until| now < until)
    }
}

/// Approval errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Asked from inside a session: an agent cannot approve itself.
    #[error(
        "approvals cannot be given from inside a session ({why}); an operator runs `paddock approve` \
         from the main worktree, outside any agent shell"
    )]
    InsideSession {
        /// How it was detected.
        why: String,
    },
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// No such approval.
    #[error("no approval {id:?}; `paddock approve list` shows them")]
    Unknown {
        /// The id.
        id: String,
    },
    /// Reading or writing an approval file failed.
    #[error("{action} {path}: {message}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The registry could not be read or written.
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    /// The ledger refused the record: the approval was not given (fail closed).
    #[error("cannot record the approval, so it was not given: {0}")]
    Record(#[from] crate::record::Error),
}

/// Whether this process runs inside a session: `PADDOCK_SESSION` set, a session's worktree, or
/// a confined process (the sandbox marks its children; its kernel rules also make paddock's
/// state read-only to them, so a forged environment still cannot write an approval).
pub fn inside_session(workspace: &Workspace, cwd: &Path) -> Result<Option<String>, Error> {
    if let Ok(id) = std::env::var(crate::guard::SESSION_ENV)
        && !id.is_empty()
    {
        return Ok(Some(format!("{}={id}", crate::guard::SESSION_ENV)));
    }
    if std::env::var_os("PADDOCK_CONFINED").is_some() {
        return Ok(Some("this process is confined by paddock".to_owned()));
    }
    if let Some(session) = workspace.session_for_dir(cwd)? {
        return Ok(Some(format!(
            "{} is session {}'s worktree",
            cwd.display(),
            session.id
        )));
    }
    Ok(None)
}

impl Workspace {
    fn approvals_dir(&self) -> PathBuf {
        self.repo().state_dir().join("approvals")
    }

    /// Records and stores an approval. `cwd` is checked: approvals never come from a session.
    pub fn approve(
        &self,
        cwd: &Path,
        session_id: &str,
        grant: Grant,
        why: &str,
        valid_for: Duration,
        by: &str,
    ) -> Result<Approval, Error> {
        if let Some(why) = inside_session(self, cwd)? {
            return Err(Error::InsideSession { why });
        }
        session::validate_name("session id", session_id).map_err(Error::Invalid)?;
        if why.trim().is_empty() {
            return Err(Error::Invalid(
                "an approval needs a reason: --reason TEXT".to_owned(),
            ));
        }
        match &grant {
            Grant::Overlap { other } | Grant::CrossAccess { other, .. } => {
                self.registry().load(other)?;
                if other == session_id {
                    return Err(Error::Invalid(
                        "a session cannot be approved against itself".to_owned(),
                    ));
                }
            }
            Grant::Rule { rule } => {
                if paddock_policy::rules::find(rule).is_none()
                    && !self
                        .policy()
                        .commands()
                        .custom()
                        .iter()
                        .any(|c| &c.id == rule)
                {
                    return Err(Error::Invalid(format!(
                        "unknown rule {rule:?}; `paddock policy rules` lists them"
                    )));
                }
            }
            Grant::Degraded { level } => {
                if level != "landlock" && level != "none" {
                    return Err(Error::Invalid(format!(
                        "degraded level must be `landlock` or `none`, not {level:?}"
                    )));
                }
            }
        }
        if let Grant::CrossAccess { paths, .. } = &grant {
            paddock_policy::glob::PatternSet::new(paths)
                .map_err(|e| Error::Invalid(e.to_string()))?;
        }
        let now = SystemTime::now();
        let mut hasher = blake3::Hasher::new();
        hasher.update(session_id.as_bytes());
        hasher.update(why.as_bytes());
        hasher.update(
            &now.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
                .to_le_bytes(),
        );
        let approval = Approval {
            id: format!("ap-{}", &hasher.finalize().to_hex()[..8]),
            session: session_id.to_owned(),
            grant,
            by: by.to_owned(),
            why: why.to_owned(),
            created: session::timestamp(now),
            until: session::timestamp(now + valid_for),
            revoked: None,
        };
        let lock = self.registry().lock()?;
        self.record(Event {
            kind: "approval".to_owned(),
            session: Some(approval.session.clone()),
            data: serde_json::to_value(&approval).unwrap_or_default(),
        })?;
        self.save_approval(&lock, &approval)?;
        Ok(approval)
    }

    /// Revokes an approval early.
    pub fn revoke(&self, cwd: &Path, id: &str, why: &str, by: &str) -> Result<Approval, Error> {
        if let Some(why) = inside_session(self, cwd)? {
            return Err(Error::InsideSession { why });
        }
        let lock = self.registry().lock()?;
        let mut approval = self
            .approvals()?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| Error::Unknown { id: id.to_owned() })?;
        approval.revoked = Some(format!(
            "{} by {by}: {why}",
            session::timestamp(SystemTime::now())
        ));
        self.record(Event {
            kind: "approval.revoked".to_owned(),
            session: Some(approval.session.clone()),
            data: serde_json::json!({ "approval": id, "by": by, "why": why }),
        })?;
        self.save_approval(&lock, &approval)?;
        Ok(approval)
    }

    fn save_approval(&self, _lock: &RegistryLock, approval: &Approval) -> Result<(), Error> {
        let dir = self.approvals_dir();
        let path = dir.join(format!("{}.yaml", approval.id));
        let io = |action, message: String| Error::Io {
            action,
            path: path.clone(),
            message,
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| io("cannot create the directory of", e.to_string()))?;
        let text =
            serde_saphyr::to_string(approval).map_err(|e| io("cannot serialize", e.to_string()))?;
        let mut temp =
            tempfile::NamedTempFile::new_in(&dir).map_err(|e| io("cannot write", e.to_string()))?;
        std::io::Write::write_all(&mut temp, text.as_bytes())
            .map_err(|e| io("cannot write", e.to_string()))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| io("cannot sync", e.to_string()))?;
        temp.persist(&path)
            .map_err(|e| io("cannot replace", e.error.to_string()))?;
        Ok(())
    }

    /// Every approval, live or not, oldest first. A corrupt file is an error (fail closed).
    pub fn approvals(&self) -> Result<Vec<Approval>, Error> {
        let dir = self.approvals_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::Io {
                    action: "cannot list",
                    path: dir,
                    message: e.to_string(),
                });
            }
        };
        let mut approvals = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| Error::Io {
                action: "cannot read",
                path: path.clone(),
                message: e.to_string(),
            })?;
            let approval: Approval = serde_saphyr::from_str(&text).map_err(|e| Error::Io {
                action: "corrupt approval",
                path: path.clone(),
                message: e.to_string(),
            })?;
            approvals.push(approval);
        }
        approvals.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        Ok(approvals)
    }

    /// The live approvals for one session.
    pub fn approvals_for(&self, session_id: &str) -> Result<Vec<Approval>, Error> {
        let now = SystemTime::now();
        Ok(self
            .approvals()?
            .into_iter()
            .filter(|a| a.session == session_id && a.is_live(now))
            .collect())
    }
}
