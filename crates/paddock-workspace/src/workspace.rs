//! [`Workspace`]: a repository, its policy, its registry and its ledger, opened once per command.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use paddock_policy::Policy;

use crate::registry::{self, Registry};
use crate::repo::{self, Repo};
use crate::session::Session;

/// Errors of [`Workspace::open`].
pub mod open {
    /// Why paddock cannot act on this repository.
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        /// No usable repository.
        #[error(transparent)]
        Discover(#[from] crate::repo::discover::Error),
        /// The policy is unreadable or invalid.
        #[error(transparent)]
        Policy(#[from] crate::repo::load_policy::Error),
        /// The directory's `.git` does not lead to the repository it sits in (a broken or
        /// re-aimed `.git` file, a submodule or a clone nested in a guarded worktree): it is
        /// refused rather than taken for "no repository" or "no session".
        #[error("{reason}")]
        GitLink {
            /// What is wrong, and what to do.
            reason: String,
        },
    }
}

/// Everything a paddock command needs to act on one repository.
pub struct Workspace {
    repo: Repo,
    policy: Policy,
    registry: Registry,
    /// Opened on the first record.
    pub(crate) ledger: std::cell::RefCell<Option<paddock_ledger::Ledger>>,
    /// Set inside a confined session: records and blocks go to the supervisor.
    pub(crate) forward: Option<crate::record::Forward>,
    /// How much of the ledger its first append verifies.
    pub(crate) ledger_check: std::cell::Cell<paddock_ledger::OpenCheck>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("repo", &self.repo)
            .field("policy", &self.policy.source())
            .finish()
    }
}

impl Workspace {
    /// Opens the repository containing `dir` and loads its policy (an invalid policy is an
    /// error, never the default).
    pub fn open(dir: &Path) -> Result<Workspace, open::Error> {
        repo::check_git_link(dir).map_err(|reason| open::Error::GitLink { reason })?;
        let repo = Repo::discover(dir)?;
        let policy = repo.load_policy()?;
        Ok(Workspace::with_policy(repo, policy))
    }

    /// A workspace with an explicit policy.
    pub fn with_policy(repo: Repo, policy: Policy) -> Workspace {
        let registry = Registry::new(repo.state_dir());
        Workspace {
            repo,
            policy,
            registry,
            ledger: std::cell::RefCell::new(None),
            forward: None,
            ledger_check: std::cell::Cell::new(paddock_ledger::OpenCheck::Full),
        }
    }

    /// Verifies only the ledger's last record before appending (for hot paths: hooks, the
    /// shell); by default the whole chain is verified, so damage anywhere refuses the append.
    pub fn quick_ledger_check(&self) {
        self.ledger_check.set(paddock_ledger::OpenCheck::Tail);
    }

    /// Sends records and blocks to a supervisor instead of writing them (inside a confined
    /// session, where paddock's state is read-only).
    pub fn forward_to(&mut self, forward: crate::record::Forward) {
        self.forward = Some(forward);
    }

    /// The repository.
    pub fn repo(&self) -> &Repo {
        &self.repo
    }
    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
    /// The session registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Makes the repository ready: state directories and a valid policy. Idempotent.
    pub fn init(&self) -> Result<(), registry::Error> {
        self.registry.ensure()
    }

    /// Every session, oldest first.
    pub fn sessions(&self) -> Result<Vec<Session>, registry::Error> {
        self.registry.load_all()
    }

    /// One session by id.
    pub fn session(&self, id: &str) -> Result<Session, registry::Error> {
        self.registry.load(id)
    }

    /// The live session whose worktree contains `dir`, if any. Lock-mode sessions share a
    /// worktree and are never found this way: they are named with `--session`.
    pub fn session_for_dir(&self, dir: &Path) -> Result<Option<Session>, registry::Error> {
        let dir = repo::canonical(dir);
        let now = SystemTime::now();
        let live: Vec<Session> = self
            .registry
            .load_all()?
            .into_iter()
            .filter(|s| s.mode == crate::Mode::Worktree && s.holds_scope(now))
            .collect();
        if let Some(session) = live.iter().find(|s| dir.starts_with(&s.worktree)) {
            return Ok(Some(session.clone()));
        }
        // A worktree moved by hand (`mv`) is no longer where the registry says, but git's admin
        // dir for it still names the original place: it is still that session's worktree, and
        // must not pass for "no session" (which would run commands unconfined).
        let Some(original) = self.original_worktree(&dir) else {
            return Ok(None);
        };
        Ok(live.into_iter().find(|s| s.worktree == original))
    }

    /// Where the linked worktree containing `dir` was created, as its git admin dir
    /// (`$GIT_COMMON_DIR/worktrees/<name>/gitdir`) remembers it.
    fn original_worktree(&self, dir: &Path) -> Option<PathBuf> {
        let root = dir
            .ancestors()
            .find(|a| a.join(".git").symlink_metadata().is_ok())?;
        let text = std::fs::read_to_string(root.join(".git")).ok()?;
        let admin = repo::canonical(&root.join(text.strip_prefix("gitdir:")?.trim()));
        if !admin.starts_with(self.repo.common_dir().join("worktrees")) {
            return None;
        }
        let pointer = std::fs::read_to_string(admin.join("gitdir")).ok()?;
        let original = Path::new(pointer.trim()).parent()?;
        // The registry holds canonical paths; the place is gone, its parent usually is not.
        let original = match (original.parent(), original.file_name()) {
            (Some(parent), Some(name)) => repo::canonical(parent).join(name),
            _ => original.to_owned(),
        };
        (original != root).then_some(original)
    }

    /// The worktrees of live sessions other than `except`.
    pub fn other_worktrees(&self, except: Option<&str>) -> Result<Vec<PathBuf>, registry::Error> {
        let now = SystemTime::now();
        Ok(self
            .registry
            .load_all()?
            .into_iter()
            .filter(|s| s.mode == crate::Mode::Worktree && s.holds_scope(now))
            .filter(|s| Some(s.id.as_str()) != except)
            .map(|s| s.worktree)
            .collect())
    }
}
