//! What the gate needs to know about the session a command runs for.
//!
//! The caller (`paddock check`, `paddock-sh`, an agent-tool adapter) builds a [`Context`] once
//! per session with a [`ContextBuilder`] and then asks [`decide`](crate::decide) about each
//! command. Building resolves every directory (symlinks included) so that deciding only compares
//! resolved paths.

use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use paddock_policy::glob::PatternSet;
use paddock_policy::{Action, CustomRule, Policy};

use crate::paths::resolve_abs;

/// Why a [`Context`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A directory the gate must reason about was given as a relative path.
    #[error("{what} must be an absolute path, got {path:?}")]
    NotAbsolute {
        /// Which input (`cwd`, `session worktree`, ...).
        what: &'static str,
        /// The path as given.
        path: PathBuf,
    },
    /// A directory that must exist could not be resolved.
    #[error("cannot resolve {what} {path:?}")]
    Resolve {
        /// Which input.
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The session a command runs for.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session id (used in messages).
    pub id: String,
    /// The session's worktree root (absolute). In lock mode, the main worktree.
    pub worktree: PathBuf,
    /// Repo-relative globs the session may write.
    pub scope: PatternSet,
    /// The session's branch (`paddock/<id>`), when known: force-moving it is allowed.
    pub branch: Option<String>,
}

/// An operator approval that lets findings of one rule through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The rule id it covers.
    pub rule: String,
    /// When set, only findings whose offending word or resolved target matches this wildcard
    /// pattern (`*` any run of characters, `/` included; `?` one character) pass, e.g.
    /// `/work/repo.paddock/s2/src/*` for a cross-access approval.
    pub pattern: Option<String>,
}

/// Another live session: its worktree is off limits.
#[derive(Debug, Clone)]
pub(crate) struct OtherSession {
    pub(crate) id: String,
    pub(crate) worktree: PathBuf,
}

#[derive(Debug, Clone)]
pub(crate) struct ResolvedSession {
    pub(crate) id: String,
    pub(crate) worktree: PathBuf,
    pub(crate) scope: PatternSet,
    pub(crate) branch: Option<String>,
}

/// A policy's `commands.custom` rule, ready to match.
#[derive(Debug, Clone)]
pub(crate) struct CustomMatcher {
    pub(crate) id: &'static str,
    /// `argv[0]`: a program name.
    pub(crate) program: String,
    /// The words after it; `*` matches any one word.
    pub(crate) args: Vec<String>,
    pub(crate) action: Action,
    pub(crate) reason: String,
}

impl CustomMatcher {
    fn new(rule: &CustomRule) -> CustomMatcher {
        let (program, args) = match rule.argv.split_first() {
            Some((program, args)) => (program.clone(), args.to_vec()),
            None => (String::new(), Vec::new()),
        };
        CustomMatcher {
            id: intern(&rule.id),
            program,
            args,
            action: rule.action,
            reason: rule.reason.clone(),
        }
    }

    /// The rule's words as the policy wrote them, for messages.
    pub(crate) fn argv_text(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A custom rule id with the lifetime of the process.
///
/// Findings name their rule as `&'static str` (built-in ids are constants, and callers keep
/// findings beyond the context). A custom id is leaked once per distinct id: the set a
/// process ever sees is bounded by the policies it loads, and repeated contexts reuse it.
fn intern(id: &str) -> &'static str {
    if let Some(rule) = paddock_policy::rules::find(id) {
        return rule.id;
    }
    static IDS: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    // The set only ever grows by whole entries: a panic elsewhere cannot leave it half-done.
    let mut ids = IDS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = ids.get(id) {
        return known;
    }
    let leaked: &'static str = Box::leak(id.to_owned().into_boxed_str());
    ids.insert(leaked);
    leaked
}

type ActionFn = dyn Fn(&str) -> Action + Send + Sync;

/// Everything [`decide`](crate::decide) needs besides the command text. Cheap to share: build
/// it once per session and reuse it for every command.
#[derive(Clone)]
pub struct Context {
    pub(crate) cwd: PathBuf,
    pub(crate) session: Option<ResolvedSession>,
    pub(crate) main_worktree: PathBuf,
    pub(crate) other_sessions: Vec<OtherSession>,
    pub(crate) scratch: PatternSet,
    pub(crate) scratch_dirs: Vec<PathBuf>,
    pub(crate) protected: PatternSet,
    /// Literal directory prefix of each protected glob, with the glob as written.
    pub(crate) protected_bases: Vec<(String, String)>,
    pub(crate) protected_dirs: Vec<PathBuf>,
    pub(crate) hooks_dirs: Vec<PathBuf>,
    pub(crate) git_config: Option<PathBuf>,
    pub(crate) target_branch: String,
    pub(crate) home: Option<PathBuf>,
    pub(crate) actions: Arc<ActionFn>,
    /// The policy's `commands.custom` rules, in file order.
    pub(crate) custom: Arc<[CustomMatcher]>,
    pub(crate) approvals: Vec<Approval>,
    pub(crate) git_aliases: BTreeMap<String, String>,
    /// `(set, dir) -> every path below dir matches` (0: scope, 1: scratch).
    pub(crate) under_cache: Arc<Mutex<HashMap<(u8, String), bool>>>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("cwd", &self.cwd)
            .field("session", &self.session)
            .field("main_worktree", &self.main_worktree)
            .field("other_sessions", &self.other_sessions)
            .field("scratch", &self.scratch)
            .field("scratch_dirs", &self.scratch_dirs)
            .field("protected", &self.protected)
            .field("protected_dirs", &self.protected_dirs)
            .field("hooks_dirs", &self.hooks_dirs)
            .field("target_branch", &self.target_branch)
            .field("home", &self.home)
            .field("custom", &self.custom)
            .field("approvals", &self.approvals)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// The root the session writes in: its worktree, or the main worktree without a session.
    pub(crate) fn own_root(&self) -> &Path {
        match &self.session {
            Some(session) => &session.worktree,
            None => &self.main_worktree,
        }
    }

    /// The directory the command starts in.
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// The effective action for a rule: the policy's, never `allow` for a fail-closed rule,
    /// always `deny` for `gate.parse-error`.
    pub fn action(&self, rule: &str) -> Action {
        if rule == "gate.parse-error" {
            return Action::Deny;
        }
        let action = (self.actions)(rule);
        let fail_closed = paddock_policy::rules::find(rule).is_none_or(|r| r.fail_closed);
        if fail_closed && matches!(action, Action::Allow | Action::Record) {
            Action::Approval
        } else {
            action
        }
    }
}

/// Builds a [`Context`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use paddock_gate::{ContextBuilder, Session};
/// use paddock_policy::{glob::PatternSet, Policy};
///
/// let repo = tempfile::tempdir()?;
/// let ctx = ContextBuilder::new(repo.path(), repo.path())
///     .policy(&Policy::builtin())
///     .session(Session {
///         id: "s1".into(),
///         worktree: repo.path().into(),
///         scope: PatternSet::new(["src/**"])?,
///         branch: Some("paddock/s1".into()),
///     })
///     .build()?;
/// assert_eq!(ctx.cwd(), repo.path().canonicalize()?);
/// # Ok(()) }
/// ```
pub struct ContextBuilder {
    cwd: PathBuf,
    main_worktree: PathBuf,
    session: Option<Session>,
    other_sessions: Vec<(String, PathBuf)>,
    scratch: PatternSet,
    scratch_dirs: Vec<PathBuf>,
    protected: PatternSet,
    protected_dirs: Vec<PathBuf>,
    hooks_dirs: Vec<PathBuf>,
    git_common_dir: Option<PathBuf>,
    target_branch: String,
    home: Option<PathBuf>,
    actions: Arc<ActionFn>,
    custom: Vec<CustomMatcher>,
    approvals: Vec<Approval>,
    git_aliases: BTreeMap<String, String>,
}

impl ContextBuilder {
    /// Starts a context for a command run in `cwd` of the repository whose main worktree is
    /// `main_worktree`. Without a [`session`](Self::session) only the protected-path and
    /// destructive-command rules apply. Every rule denies until [`actions`](Self::actions) or
    /// [`policy`](Self::policy) says otherwise.
    pub fn new(cwd: impl Into<PathBuf>, main_worktree: impl Into<PathBuf>) -> ContextBuilder {
        ContextBuilder {
            cwd: cwd.into(),
            main_worktree: main_worktree.into(),
            session: None,
            other_sessions: Vec::new(),
            scratch: PatternSet::empty(),
            scratch_dirs: Vec::new(),
            protected: PatternSet::empty(),
            protected_dirs: Vec::new(),
            hooks_dirs: Vec::new(),
            git_common_dir: None,
            target_branch: "main".to_owned(),
            home: None,
            actions: Arc::new(|_: &str| Action::Deny),
            custom: Vec::new(),
            approvals: Vec::new(),
            git_aliases: BTreeMap::new(),
        }
    }

    /// Takes the protected globs, scratch paths, target branch, rule actions and custom rules
    /// from a policy.
    pub fn policy(mut self, policy: &Policy) -> ContextBuilder {
        self.protected = policy.protected().clone();
        self.scratch = policy.scratch().worktree.clone();
        self.scratch_dirs = policy.scratch().system.iter().map(PathBuf::from).collect();
        self.target_branch = policy.target_branch().to_owned();
        let rules = policy.commands().clone();
        self.custom = rules.custom().iter().map(CustomMatcher::new).collect();
        self.actions = Arc::new(move |id: &str| rules.action(id));
        self
    }

    /// User-defined command rules (a policy's `commands.custom`), replacing any set before.
    ///
    /// Each is judged against every command the gate resolves (after wrappers, in nested
    /// shells, functions, pipelines ...): its words must be the command's leading words,
    /// `*` matching any one. When several match, the one with the most words decides (a tie
    /// goes to the stricter action), so an `allow` rule can carve an exception out of a
    /// broader custom rule; no custom rule ever loosens a built-in one. A word the gate cannot
    /// know where a refusing rule would look is `shell.dynamic`.
    pub fn custom_rules<'r>(
        mut self,
        rules: impl IntoIterator<Item = &'r CustomRule>,
    ) -> ContextBuilder {
        self.custom = rules.into_iter().map(CustomMatcher::new).collect();
        self
    }

    /// The session the command runs for.
    pub fn session(mut self, session: Session) -> ContextBuilder {
        self.session = Some(session);
        self
    }

    /// Another live session's worktree: any read or write there is `session.cross-access`.
    pub fn other_session(
        mut self,
        id: impl Into<String>,
        worktree: impl Into<PathBuf>,
    ) -> ContextBuilder {
        self.other_sessions.push((id.into(), worktree.into()));
        self
    }

    /// Scratch paths every session may write: repo-relative globs inside the worktree (build
    /// output) and absolute directories outside it (temp dirs).
    pub fn scratch(
        mut self,
        worktree: PatternSet,
        system_dirs: impl IntoIterator<Item = impl Into<PathBuf>>,
    ) -> ContextBuilder {
        self.scratch = worktree;
        self.scratch_dirs = system_dirs.into_iter().map(Into::into).collect();
        self
    }

    /// Repo-relative globs no session may write (in any worktree).
    pub fn protected(mut self, globs: PatternSet) -> ContextBuilder {
        self.protected = globs;
        self
    }

    /// An absolute file or directory no session may write.
    pub fn protected_dir(mut self, path: impl Into<PathBuf>) -> ContextBuilder {
        self.protected_dirs.push(path.into());
        self
    }

    /// The git common dir: protects its `hooks/` (writes there are `git.hooks.repoint`), its
    /// `config` and paddock's state under `paddock/`.
    pub fn git_common_dir(mut self, path: impl Into<PathBuf>) -> ContextBuilder {
        self.git_common_dir = Some(path.into());
        self
    }

    /// An extra hooks directory (a repo-scoped `core.hooksPath`).
    pub fn hooks_dir(mut self, path: impl Into<PathBuf>) -> ContextBuilder {
        self.hooks_dirs.push(path.into());
        self
    }

    /// The branch only merge-back may move (default `main`).
    pub fn target_branch(mut self, branch: impl Into<String>) -> ContextBuilder {
        self.target_branch = branch.into();
        self
    }

    /// The user's home directory: what `~` and `$HOME` expand to. Without it they are unknown.
    pub fn home(mut self, home: impl Into<PathBuf>) -> ContextBuilder {
        self.home = Some(home.into());
        self
    }

    /// What happens when a rule is broken. Fail-closed rules never become `allow` (they are
    /// raised to `approval`) and `gate.parse-error` is always `deny`.
    pub fn actions(
        mut self,
        actions: impl Fn(&str) -> Action + Send + Sync + 'static,
    ) -> ContextBuilder {
        self.actions = Arc::new(actions);
        self
    }

    /// Approvals already granted by an operator.
    pub fn approvals(mut self, approvals: impl IntoIterator<Item = Approval>) -> ContextBuilder {
        self.approvals.extend(approvals);
        self
    }

    /// git aliases configured for the repository (`alias.NAME` → value), so that `git NAME`
    /// is judged as what it expands to.
    pub fn git_aliases(
        mut self,
        aliases: impl IntoIterator<Item = (String, String)>,
    ) -> ContextBuilder {
        self.git_aliases.extend(aliases);
        self
    }

    /// Resolves every path and builds the context.
    pub fn build(self) -> Result<Context, Error> {
        let cwd = existing("cwd", &self.cwd)?;
        let main_worktree = existing("main worktree", &self.main_worktree)?;
        let session = match self.session {
            Some(s) => Some(ResolvedSession {
                worktree: existing("session worktree", &s.worktree)?,
                id: s.id,
                scope: s.scope,
                branch: s.branch,
            }),
            None => None,
        };
        let mut other_sessions = Vec::new();
        for (id, worktree) in self.other_sessions {
            other_sessions.push(OtherSession {
                id,
                worktree: absolute("other worktree", &worktree)?,
            });
        }
        let mut scratch_dirs = Vec::new();
        for dir in self.scratch_dirs {
            scratch_dirs.push(absolute("scratch directory", &dir)?);
        }
        let mut protected_dirs = Vec::new();
        for dir in self.protected_dirs {
            protected_dirs.push(absolute("protected path", &dir)?);
        }
        let mut hooks_dirs = Vec::new();
        for dir in self.hooks_dirs {
            hooks_dirs.push(absolute("hooks directory", &dir)?);
        }
        let mut git_config = None;
        if let Some(common) = self.git_common_dir {
            let common = absolute("git common dir", &common)?;
            hooks_dirs.push(common.join("hooks"));
            protected_dirs.push(common.join("config"));
            protected_dirs.push(common.join("paddock"));
            git_config = Some(common.join("config"));
        }
        let home = match self.home {
            Some(home) => Some(absolute("home", &home)?),
            None => None,
        };
        let protected_bases = self
            .protected
            .patterns()
            .iter()
            .map(|p| {
                let normalized = p.as_str();
                let base = if normalized.contains(['*', '?', '[', '\\']) {
                    p.literal_prefix_dir().to_owned()
                } else {
                    normalized.trim_end_matches('/').to_owned()
                };
                (base, p.original().to_owned())
            })
            .collect();
        Ok(Context {
            cwd,
            session,
            main_worktree,
            other_sessions,
            scratch: self.scratch,
            scratch_dirs,
            protected: self.protected,
            protected_bases,
            protected_dirs,
            hooks_dirs,
            git_config,
            target_branch: self.target_branch,
            home,
            actions: self.actions,
            custom: self.custom.into(),
            approvals: self.approvals,
            git_aliases: self.git_aliases,
            under_cache: Arc::new(Mutex::new(HashMap::new())),
        })
    }
}

fn absolute(what: &'static str, path: &Path) -> Result<PathBuf, Error> {
    if !path.is_absolute() {
        return Err(Error::NotAbsolute {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(resolve_abs(path))
}

fn existing(what: &'static str, path: &Path) -> Result<PathBuf, Error> {
    if !path.is_absolute() {
        return Err(Error::NotAbsolute {
            what,
            path: path.to_path_buf(),
        });
    }
    path.canonicalize().map_err(|source| Error::Resolve {
        what,
        path: path.to_path_buf(),
        source,
    })
}
