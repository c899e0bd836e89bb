//! `paddock session start`: declare a scope, get isolation, or get nothing at all.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use paddock_policy::glob::PatternSet;

use crate::Workspace;
use crate::approvals::Grant;
use crate::git::{self, Git};
use crate::record::Event;
use crate::session::{self, Mode, Session, State};

/// What the caller asks for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Declared scope (required: INV-WS-001).
    pub scope: Vec<String>,
    /// Session id; generated when absent.
    pub id: Option<String>,
    /// Agent role; `agent` when absent.
    pub role: Option<String>,
    /// Worktree or lock; the policy's default when absent.
    pub mode: Option<Mode>,
    /// Lifetime; the policy's TTL when absent.
    pub ttl: Option<Duration>,
    /// Start a worktree session even though the main worktree has uncommitted changes (they
    /// are not part of the session's base).
    pub allow_dirty: bool,
}

/// Why a session was not started. Nothing is left behind in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// INV-WS-001.
    #[error(
        "a session must declare its scope before it writes: pass --scope GLOB (e.g. --scope 'src/**')"
    )]
    NoScope,
    /// A glob is invalid or escapes the repository.
    #[error("invalid scope: {0}")]
    Scope(#[from] paddock_policy::glob::Error),
    /// Bad id or role.
    #[error("{0}")]
    Name(String),
    /// The id is taken (by a session in any state, or an existing branch).
    #[error("session id {id:?} is already used ({what}); pick another --id")]
    DuplicateId {
        /// The id.
        id: String,
        /// Where it is used.
        what: String,
    },
    /// The repository has no commit to start from.
    #[error("the repository has no commits yet; commit something first, then start a session")]
    NoCommits,
    /// The main worktree is on a detached HEAD.
    #[error(
        "the main worktree is on a detached HEAD: a session needs a branch to merge back into; \
         check out a branch (e.g. `git switch main`) first"
    )]
    Detached,
    /// The main worktree has uncommitted changes.
    #[error(
        "the main worktree has uncommitted changes ({files}); a session starts from HEAD and \
         would not see them: commit or stash them, or pass --allow-dirty"
    )]
    Dirty {
        /// The first few changed paths.
        files: String,
    },
    /// The worktree path is taken.
    #[error("the worktree path {path} already exists; remove it, or pick another --id")]
    WorktreePathExists {
        /// The path.
        path: PathBuf,
    },
    /// The scope overlaps a live session's scope.
    #[error(
        "scope overlaps live session {other:?}: its {theirs:?} and your {ours:?} both match \
         {witness:?}; narrow the scope, wait for {other:?} to finish, or have an operator run `paddock approve overlap --session ID --with {other}` and start with that --id"
    )]
    Overlap {
        /// The other session.
        other: String,
        /// Our glob.
        ours: String,
        /// Its glob.
        theirs: String,
        /// A path both match.
        witness: String,
    },
    /// INV-WS-002: no worktree, and the policy forbids falling back to a lock.
    #[error(
        "no isolation could be established (INV-WS-002): the worktree could not be created \
         ({reason}) and the policy does not allow falling back to lock mode \
         (isolation.lock_fallback: false); nothing was started"
    )]
    NoIsolation {
        /// Why the worktree failed.
        reason: String,
    },
    /// The registry could not be read or written.
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    /// Approvals could not be read.
    #[error(transparent)]
    Approvals(#[from] crate::approvals::Error),
    /// A git command failed.
    #[error(transparent)]
    Git(#[from] git::Error),
    /// The ledger refused the record: the session is not started (fail closed).
    #[error("cannot record the session start, so it was not started: {0}")]
    Record(#[from] crate::record::Error),
}

impl Workspace {
    /// Starts a session: validates everything, takes the registry lock, checks the scope
    /// against live sessions, creates the worktree (or takes the lock), records it, and saves
    /// it. On any failure nothing is left behind.
    pub fn start(&self, options: Options) -> Result<Session, Error> {
        if options.scope.is_empty() {
            return Err(Error::NoScope);
        }
        let scope = PatternSet::new(&options.scope)?;
        let role = options.role.clone().unwrap_or_else(|| "agent".to_owned());
        session::validate_name("role", &role).map_err(Error::Name)?;
        let id = match &options.id {
            Some(id) => {
                session::validate_name("session id", id).map_err(Error::Name)?;
                id.clone()
            }
            None => generate_id(&role),
        };
        let policy = self.policy();
        let mode = options
            .mode
            .unwrap_or_else(|| policy.isolation().mode.into());
        let ttl = options.ttl.unwrap_or(policy.isolation().ttl);

        let git = self.repo().git();
        let base = git
            .run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
            .map_err(|_| Error::NoCommits)?;
        let target = git
            .run(["symbolic-ref", "--quiet", "--short", "HEAD"])
            .map_err(|_| Error::Detached)?;
        if mode == Mode::Worktree && !options.allow_dirty {
            // A `status` that refreshes the index takes `index.lock`, which would make a merge
            // updating this checkout at the same moment fail: look without git's optional locks.
            let args = ["status", "--porcelain", "--untracked-files=no"];
            let output = git
                .command(args)
                .env("GIT_OPTIONAL_LOCKS", "0")
                .output()
                .map_err(git::Error::Spawn)?;
            if !output.status.success() {
                return Err(Error::Git(git::Error::Failed {
                    args: args.join(" "),
                    dir: git.dir().to_owned(),
                    stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                    code: output.status.code(),
                }));
            }
            let status = String::from_utf8_lossy(&output.stdout);
            if !status.is_empty() {
                let files: Vec<_> = status
                    .lines()
                    .take(5)
                    .map(|l| l.get(3..).unwrap_or(l))
                    .collect();
                return Err(Error::Dirty {
                    files: files.join(", "),
                });
            }
        }

        let lock = self.registry().lock()?;
        let now = SystemTime::now();
        if self.registry().contains(&id) {
            return Err(Error::DuplicateId {
                id,
                what: "a session in the registry".to_owned(),
            });
        }
        let branch = format!("paddock/{id}");
        if git.test([
            "show-ref",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ])? {
            return Err(Error::DuplicateId {
                id,
                what: format!("branch {branch} exists"),
            });
        }
        let approvals = self.approvals_for(&id)?;
        for other in self.registry().load_all()? {
            if !other.holds_scope(now) {
                continue;
            }
            let approved = approvals.iter().any(|a| {
                a.grant
                    == Grant::Overlap {
                        other: other.id.clone(),
                    }
            });
            let theirs = PatternSet::new(&other.scope)?;
            if !approved && let Some(hit) = paddock_policy::glob::overlap(&scope, &theirs) {
                return Err(Error::Overlap {
                    other: other.id,
                    ours: hit.left,
                    theirs: hit.right,
                    witness: hit.witness,
                });
            }
        }

        let (mode, worktree, branch) = match mode {
            Mode::Lock => (Mode::Lock, self.repo().main_worktree().to_owned(), None),
            Mode::Worktree => {
                let path = self.repo().worktree_root(policy).join(&id);
                if path.exists() || path.symlink_metadata().is_ok() {
                    return Err(Error::WorktreePathExists { path });
                }
                match add_worktree(&git, &path, &branch, &base) {
                    Ok(()) => (Mode::Worktree, crate::repo::canonical(&path), Some(branch)),
                    Err(reason) if policy.isolation().lock_fallback => {
                        eprintln!(
                            "paddock: worktree failed ({reason}); falling back to lock mode as the policy allows"
                        );
                        (Mode::Lock, self.repo().main_worktree().to_owned(), None)
                    }
                    Err(reason) => return Err(Error::NoIsolation { reason }),
                }
            }
        };

        let session = Session {
            id,
            role,
            scope: options.scope,
            mode,
            worktree,
            branch,
            base,
            target,
            created: session::timestamp(now),
            expires: session::timestamp(now + ttl),
            state: State::Active,
            blocked_reason: None,
            archive_ref: None,
            merging: None,
            updated: session::timestamp(now),
        };
        let undo = |session: &Session| {
            if session.mode == Mode::Worktree {
                remove_new_worktree(&git, &session.worktree, session.branch.as_deref());
            }
        };
        let mut events = vec![Event::session(
            "session.started",
            &session,
            session_data(&session),
        )];
        if session.mode == Mode::Lock {
            events.push(Event::session(
                "lock.acquired",
                &session,
                scope_data(&session),
            ));
        }
        for event in events {
            if let Err(err) = self.record(event) {
                undo(&session);
                return Err(err.into());
            }
        }
        if let Err(err) = self.registry().save(&lock, &session) {
            undo(&session);
            return Err(err.into());
        }
        Ok(session)
    }
}

/// The data a `session.*` record carries about a session.
pub(crate) fn session_data(session: &Session) -> serde_json::Value {
    serde_json::json!({
        "role": session.role,
        "scope": session.scope,
        "mode": session.mode.as_str(),
        "worktree": session.worktree.to_string_lossy(),
        "branch": session.branch,
        "base": session.base,
        "target": session.target,
        "expires": session.expires,
    })
}

fn scope_data(session: &Session) -> serde_json::Value {
    serde_json::json!({ "scope": session.scope })
}

fn add_worktree(git: &Git, path: &std::path::Path, branch: &str, base: &str) -> Result<(), String> {
    if let Some(parent) = path.parent()
        && let Err(err) = std::fs::create_dir_all(parent)
    {
        return Err(format!("cannot create {}: {err}", parent.display()));
    }
    let path_arg = path.as_os_str();
    let result = git.output([
        "worktree".as_ref(),
        "add".as_ref(),
        "--no-track".as_ref(),
        "--quiet".as_ref(),
        "-b".as_ref(),
        branch.as_ref(),
        path_arg,
        base.as_ref(),
    ]);
    match result {
        Ok(_) => Ok(()),
        Err(err) => {
            remove_new_worktree(git, path, Some(branch));
            Err(match err {
                git::Error::Failed { stderr, .. } => stderr,
                other => other.to_string(),
            })
        }
    }
}

/// Undoes a worktree this very command created (nothing in it can be anyone's work yet).
fn remove_new_worktree(git: &Git, path: &std::path::Path, branch: Option<&str>) {
    let _ = git.output([
        "worktree".as_ref(),
        "remove".as_ref(),
        "--force".as_ref(),
        path.as_os_str(),
    ]);
    if path.exists() {
        let _ = std::fs::remove_dir_all(path);
    }
    if let Some(branch) = branch {
        let _ = git.output(["branch", "-D", "--quiet", branch]);
    }
}

/// `<role>-<6 hex>`: short, readable, unique enough (and checked for collisions under the lock).
fn generate_id(role: &str) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let mut hasher = blake3::Hasher::new();
    hasher.update(&now.as_nanos().to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    let hex = hasher.finalize().to_hex();
    let mut prefix: String = role.chars().take(40).collect();
    if prefix.is_empty() {
        prefix.push('s');
    }
    format!("{prefix}-{}", &hex[..6])
}
