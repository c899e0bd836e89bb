//! The policy file: its YAML schema, loading with file:line:col diagnostics, and validation.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::glob::PatternSet;
use crate::rules;

/// The built-in policy, used when a repository has no `.paddock/policy.yaml`.
pub const BUILTIN_POLICY: &str = include_str!("../../../policies/default.yaml");

/// Where the built-in policy claims to come from in diagnostics.
pub const BUILTIN_POLICY_NAME: &str = "<built-in policies/default.yaml>";

/// What happens when a command breaks a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Let it run.
    Allow,
    /// Let it run, but record it in the ledger.
    Record,
    /// Refuse unless an operator approval covers it.
    Approval,
    /// Refuse.
    Deny,
}

impl Action {
    /// The lowercase name used in YAML and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Record => "record",
            Action::Approval => "approval",
            Action::Deny => "deny",
        }
    }
}

/// How a session is isolated from the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IsolationMode {
    /// Its own git worktree on its own branch.
    Worktree,
    /// An advisory lock on its scope, in a shared worktree.
    Lock,
}

impl IsolationMode {
    /// The lowercase name used in YAML, JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            IsolationMode::Worktree => "worktree",
            IsolationMode::Lock => "lock",
        }
    }
}

/// How strongly the kernel confines a session's processes, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxLevel {
    /// No kernel confinement: only the gate, the hooks and the watcher.
    None,
    /// Landlock without namespaces (no read-only binds inside writable trees).
    Landlock,
    /// Landlock ABI ≥ 3, user + mount namespaces and seccomp.
    Full,
}

impl SandboxLevel {
    /// The lowercase name used in YAML and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxLevel::None => "none",
            SandboxLevel::Landlock => "landlock",
            SandboxLevel::Full => "full",
        }
    }
}

/// Ledger durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// `fdatasync` after every record.
    Always,
    /// `fdatasync` once per batch (bounded by [`LedgerPolicy::batch_max_records`] and
    /// [`LedgerPolicy::batch_max_delay`]).
    Batch,
    /// Leave flushing to the kernel.
    Never,
}

/// A user-defined command rule, matched on the resolved argv (after wrappers are unwrapped),
/// never on the command text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRule {
    /// Rule id, as it appears in refusals and the ledger.
    pub id: String,
    /// Leading argv words; `*` matches any one word.
    pub argv: Vec<String>,
    /// What happens when it matches.
    pub action: Action,
    /// Why, for people reading the refusal.
    pub reason: String,
}

/// The `commands:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandRules {
    actions: BTreeMap<&'static str, Action>,
    custom: Vec<CustomRule>,
}

impl CommandRules {
    /// The action for a built-in rule id: the policy's override, else `deny`.
    pub fn action(&self, rule_id: &str) -> Action {
        self.actions.get(rule_id).copied().unwrap_or(Action::Deny)
    }

    /// User-defined rules, in file order.
    pub fn custom(&self) -> &[CustomRule] {
        &self.custom
    }
}

/// Paths every session may write besides its scope.
#[derive(Debug, Clone)]
pub struct ScratchPolicy {
    /// Repo-relative globs inside the session's worktree (build output).
    pub worktree: PatternSet,
    /// Absolute directories outside the repository (temp dirs).
    pub system: Vec<String>,
}

/// The `isolation:` section.
#[derive(Debug, Clone)]
pub struct IsolationPolicy {
    /// Where session worktrees go; `None` means `<parent>/<repo>.paddock`.
    pub worktree_root: Option<String>,
    /// The mode a session gets when it does not ask for one.
    pub mode: IsolationMode,
    /// Whether a session that cannot get a worktree may fall back to lock mode.
    pub lock_fallback: bool,
    /// How long a session lives before it expires.
    pub ttl: Duration,
    /// The weakest kernel confinement a session may run with.
    pub sandbox_require: SandboxLevel,
    /// The confinement a session asks for.
    pub sandbox_prefer: SandboxLevel,
}

/// When the ledger checkpoints its head to git.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// After this many records (0: never by count).
    pub every_records: u64,
    /// After this long (zero: never by time).
    pub every: Duration,
    /// When a session finishes, is cancelled or expires.
    pub at_session_end: bool,
}

/// The `ledger:` section.
#[derive(Debug, Clone)]
pub struct LedgerPolicy {
    /// Ledger file; `None` means `$GIT_COMMON_DIR/paddock/ledger.yaml`. Relative paths are
    /// relative to the git common dir.
    pub path: Option<String>,
    /// Durability of appends.
    pub fsync: Durability,
    /// Batch mode: flush after this many records.
    pub batch_max_records: u32,
    /// Batch mode: flush after this long.
    pub batch_max_delay: Duration,
    /// Prefix of the per-writer checkpoint refs.
    pub checkpoint_ref: String,
    /// When to checkpoint.
    pub checkpoint: CheckpointPolicy,
}

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    source: String,
    protected: PatternSet,
    target_branch: String,
    scratch: ScratchPolicy,
    isolation: IsolationPolicy,
    ledger: LedgerPolicy,
    commands: CommandRules,
    turn_env: Vec<String>,
}

impl Policy {
    /// The built-in default policy.
    pub fn builtin() -> Policy {
        load(BUILTIN_POLICY, BUILTIN_POLICY_NAME)
            .expect("the built-in policy is validated by this crate's tests")
    }

    /// Where this policy was loaded from (a path or the built-in marker).
    pub fn source(&self) -> &str {
        &self.source
    }
    /// Repo-relative globs no session may write and no commit may touch.
    pub fn protected(&self) -> &PatternSet {
        &self.protected
    }
    /// The branch only merge-back may move.
    pub fn target_branch(&self) -> &str {
        &self.target_branch
    }
    /// Paths every session may write besides its scope.
    pub fn scratch(&self) -> &ScratchPolicy {
        &self.scratch
    }
    /// Isolation settings.
    pub fn isolation(&self) -> &IsolationPolicy {
        &self.isolation
    }
    /// Ledger settings.
    pub fn ledger(&self) -> &LedgerPolicy {
        &self.ledger
    }
    /// Command rules.
    pub fn commands(&self) -> &CommandRules {
        &self.commands
    }
    /// Environment variables a turn inherits from its caller.
    pub fn turn_env(&self) -> &[String] {
        &self.turn_env
    }
}

/// A problem in a policy file, with its place and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (or the built-in marker).
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )?;
        } else {
            write!(f, "{}: {}", self.file, self.message)?;
        }
        if !self.help.is_empty() {
            write!(f, "\n  help: {}", self.help)?;
        }
        Ok(())
    }
}

/// A policy that cannot be used; it is never treated as "allow".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.diagnostics.len();
        write!(
            f,
            "invalid policy ({count} problem{}):",
            if count == 1 { "" } else { "s" }
        )?;
        for diagnostic in &self.diagnostics {
            write!(f, "\n{diagnostic}")?;
        }
        Ok(())
    }
}

/// Parses and validates a policy. `file` names it in diagnostics.
pub fn load(text: &str, file: &str) -> Result<Policy, Error> {
    let raw: RawPolicy = serde_saphyr::from_str(text).map_err(|err| Error {
        diagnostics: vec![syntax_diagnostic(&err, file)],
    })?;
    let mut v = Validator {
        file,
        diagnostics: Vec::new(),
    };
    let policy = v.policy(raw);
    match policy {
        Some(policy) if v.diagnostics.is_empty() => Ok(policy),
        _ => Err(Error {
            diagnostics: v.diagnostics,
        }),
    }
}

fn syntax_diagnostic(err: &serde_saphyr::Error, file: &str) -> Diagnostic {
    let plain = err.without_snippet().to_string();
    let (line, column) = err
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    // The crate appends " at line L column C"; we print the place as file:line:col instead.
    let message = match plain.rfind(" at line ") {
        Some(i) if line > 0 => plain[..i].to_owned(),
        _ => plain,
    };
    let help = if message.contains("unknown field") {
        "remove the key or fix its spelling; `paddock policy check` lists the schema in policies/default.yaml".to_owned()
    } else if message.contains("invalid type") || message.contains("expected") {
        "give the value the type the schema expects (see the comments in policies/default.yaml)"
            .to_owned()
    } else {
        "fix the YAML at this place".to_owned()
    };
    Diagnostic {
        file: file.to_owned(),
        line,
        column,
        message,
        help,
    }
}

// ---- the raw, as-written shape -------------------------------------------------------------

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: S<u32>,
    #[serde(default)]
    protected: Vec<S<String>>,
    #[serde(default)]
    target_branch: Option<S<String>>,
    #[serde(default)]
    scratch: RawScratch,
    #[serde(default)]
    isolation: RawIsolation,
    #[serde(default)]
    ledger: RawLedger,
    #[serde(default)]
    commands: RawCommands,
    #[serde(default)]
    turns: RawTurns,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScratch {
    #[serde(default)]
    worktree: Vec<S<String>>,
    #[serde(default)]
    system: Vec<S<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIsolation {
    worktree_root: Option<S<String>>,
    mode: Option<IsolationMode>,
    lock_fallback: Option<bool>,
    ttl: Option<S<String>>,
    #[serde(default)]
    sandbox: RawSandbox,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSandbox {
    require: Option<S<SandboxLevel>>,
    prefer: Option<S<SandboxLevel>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLedger {
    path: Option<S<String>>,
    fsync: Option<Durability>,
    #[serde(default)]
    batch: RawBatch,
    #[serde(rename = "ref")]
    checkpoint_ref: Option<S<String>>,
    #[serde(default)]
    checkpoint: RawCheckpoint,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBatch {
    max_records: Option<S<u32>>,
    max_delay: Option<S<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCheckpoint {
    every_records: Option<u64>,
    every: Option<S<String>>,
    at_session_end: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCommands {
    #[serde(default)]
    rules: BTreeMap<String, S<Action>>,
    #[serde(default)]
    custom: Vec<S<RawCustomRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustomRule {
    id: S<String>,
    argv: Vec<String>,
    action: Action,
    reason: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTurns {
    #[serde(default)]
    env: Vec<String>,
}

// ---- validation ----------------------------------------------------------------------------

struct Validator<'a> {
    file: &'a str,
    diagnostics: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn report<T>(&mut self, at: &S<T>, message: impl Into<String>, help: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            file: self.file.to_owned(),
            line: at.referenced.line(),
            column: at.referenced.column(),
            message: message.into(),
            help: help.into(),
        });
    }

    fn globs(&mut self, key: &str, globs: &[S<String>]) -> PatternSet {
        let mut valid = Vec::new();
        for glob in globs {
            match crate::glob::Pattern::new(&glob.value) {
                Ok(_) => valid.push(glob.value.as_str()),
                Err(err) => self.report(
                    glob,
                    format!("`{key}`: {err}"),
                    "write a glob relative to the repository root, e.g. `docs/**` or `src/*.rs`",
                ),
            }
        }
        PatternSet::new(valid).expect("each glob was validated on its own")
    }

    fn duration(&mut self, key: &str, value: &Option<S<String>>, default: Duration) -> Duration {
        let Some(text) = value else { return default };
        match humantime::parse_duration(&text.value) {
            Ok(duration) => duration,
            Err(err) => {
                self.report(
                    text,
                    format!("`{key}`: {:?} is not a duration: {err}", text.value),
                    "write a duration such as `90s`, `15m` or `8h`",
                );
                default
            }
        }
    }

    fn policy(&mut self, raw: RawPolicy) -> Option<Policy> {
        if raw.version.value != 1 {
            self.report(
                &raw.version,
                format!("unsupported policy version {}", raw.version.value),
                "this paddock understands `version: 1`; upgrade paddock or rewrite the policy",
            );
            return None;
        }
        let protected = self.globs("protected", &raw.protected);
        let target_branch = match &raw.target_branch {
            Some(branch) if !valid_branch_name(&branch.value) => {
                self.report(
                    branch,
                    format!(
                        "`target_branch`: {:?} is not a valid branch name",
                        branch.value
                    ),
                    "name a branch such as `main`, without `refs/heads/`",
                );
                String::new()
            }
            Some(branch) => branch.value.clone(),
            None => "main".to_owned(),
        };
        let scratch = self.scratch(&raw.scratch, &raw.protected, &protected);
        let isolation = self.isolation(&raw.isolation);
        let ledger = self.ledger(&raw.ledger);
        let commands = self.commands(&raw.commands);
        Some(Policy {
            source: self.file.to_owned(),
            protected,
            target_branch,
            scratch,
            isolation,
            ledger,
            commands,
            turn_env: raw.turns.env,
        })
    }

    fn scratch(
        &mut self,
        raw: &RawScratch,
        raw_protected: &[S<String>],
        protected: &PatternSet,
    ) -> ScratchPolicy {
        let worktree = self.globs("scratch.worktree", &raw.worktree);
        // Protected paths win over scratch; a scratch glob that lies wholly inside protected
        // paths would grant nothing and says the author meant something else.
        for glob in &raw.worktree {
            let Ok(pattern) = crate::glob::Pattern::new(&glob.value) else {
                continue;
            };
            let prefix = pattern.literal_prefix_dir();
            if prefix.is_empty() || !protected.matches_everything_under(prefix.as_bytes()) {
                continue;
            }
            let hit = protected
                .first_match(format!("{prefix}/x").as_bytes())
                .map(|p| p.original().to_owned());
            let at = raw_protected
                .iter()
                .find(|p| Some(&p.value) == hit.as_ref());
            let place = at
                .map(|p| format!(" (line {})", p.referenced.line()))
                .unwrap_or_default();
            self.report(
                glob,
                format!(
                    "`scratch.worktree` glob {:?} lies inside protected {:?}{place}: protected paths win, so it grants nothing",
                    glob.value,
                    hit.unwrap_or_default()
                ),
                "remove the scratch glob, or narrow the protected one",
            );
        }
        let mut system = Vec::new();
        for dir in &raw.system {
            let path = dir.value.trim_end_matches('/');
            if !dir.value.starts_with('/') || path.split('/').any(|c| c == "..") {
                self.report(
                    dir,
                    format!("`scratch.system`: {:?} is not an absolute directory", dir.value),
                    "write an absolute path such as `/tmp`; in-repo scratch goes under `scratch.worktree`",
                );
            } else if path.is_empty() {
                self.report(
                    dir,
                    "`scratch.system`: `/` would make the whole machine writable",
                    "name the temp directories sessions may use, such as `/tmp`",
                );
            } else {
                system.push(path.to_owned());
            }
        }
        ScratchPolicy { worktree, system }
    }

    fn isolation(&mut self, raw: &RawIsolation) -> IsolationPolicy {
        let ttl = self.duration("isolation.ttl", &raw.ttl, Duration::from_secs(8 * 3600));
        if let Some(at) = &raw.ttl
            && ttl.is_zero()
        {
            self.report(
                at,
                "`isolation.ttl` is zero",
                "give sessions a lifetime such as `8h`",
            );
        }
        if let Some(root) = &raw.worktree_root
            && root.value.trim().is_empty()
        {
            self.report(
                root,
                "`isolation.worktree_root` is empty",
                "remove the key or name a directory",
            );
        }
        let require = raw
            .sandbox
            .require
            .as_ref()
            .map_or(SandboxLevel::Landlock, |s| s.value);
        let prefer = raw
            .sandbox
            .prefer
            .as_ref()
            .map_or(SandboxLevel::Full, |s| s.value);
        if prefer < require {
            let at = raw.sandbox.prefer.as_ref().or(raw.sandbox.require.as_ref());
            if let Some(at) = at {
                self.report(
                    at,
                    format!(
                        "`isolation.sandbox.prefer: {}` is weaker than `require: {}`",
                        prefer.as_str(),
                        require.as_str()
                    ),
                    "prefer a level at least as strong as the one you require",
                );
            }
        }
        IsolationPolicy {
            worktree_root: raw.worktree_root.as_ref().map(|r| r.value.clone()),
            mode: raw.mode.unwrap_or(IsolationMode::Worktree),
            lock_fallback: raw.lock_fallback.unwrap_or(false),
            ttl,
            sandbox_require: require,
            sandbox_prefer: prefer,
        }
    }

    fn ledger(&mut self, raw: &RawLedger) -> LedgerPolicy {
        let batch_max_records = match &raw.batch.max_records {
            Some(n) if n.value == 0 => {
                self.report(n, "`ledger.batch.max_records` is zero", "use at least 1");
                1
            }
            Some(n) => n.value,
            None => 256,
        };
        let batch_max_delay = self.duration(
            "ledger.batch.max_delay",
            &raw.batch.max_delay,
            Duration::from_millis(20),
        );
        let checkpoint_ref = match &raw.checkpoint_ref {
            Some(r)
                if !r.value.starts_with("refs/")
                    || r.value.ends_with('/')
                    || r.value.contains("..") =>
            {
                self.report(
                    r,
                    format!("`ledger.ref`: {:?} is not a ref prefix", r.value),
                    "use a prefix under refs/, such as `refs/paddock/ledger`",
                );
                String::new()
            }
            Some(r) => r.value.clone(),
            None => "refs/paddock/ledger".to_owned(),
        };
        if let Some(path) = &raw.path
            && path.value.trim().is_empty()
        {
            self.report(
                path,
                "`ledger.path` is empty",
                "remove the key or name a file",
            );
        }
        let every = self.duration(
            "ledger.checkpoint.every",
            &raw.checkpoint.every,
            Duration::from_secs(300),
        );
        LedgerPolicy {
            path: raw.path.as_ref().map(|p| p.value.clone()),
            fsync: raw.fsync.unwrap_or(Durability::Always),
            batch_max_records,
            batch_max_delay,
            checkpoint_ref,
            checkpoint: CheckpointPolicy {
                every_records: raw.checkpoint.every_records.unwrap_or(1000),
                every,
                at_session_end: raw.checkpoint.at_session_end.unwrap_or(true),
            },
        }
    }

    fn commands(&mut self, raw: &RawCommands) -> CommandRules {
        let mut actions = BTreeMap::new();
        for (id, action) in &raw.rules {
            match rules::find(id) {
                None => self.report(
                    action,
                    format!("`commands.rules`: unknown rule {id:?}"),
                    "use a built-in rule id (`paddock policy rules` lists them) or add a `commands.custom` rule",
                ),
                Some(rule) if rule.fail_closed && action.value == Action::Allow => self.report(
                    action,
                    format!("`commands.rules.{}` cannot be `allow`: the rule fails closed", rule.id),
                    "use `approval` to let an operator decide case by case",
                ),
                Some(rule) => {
                    actions.insert(rule.id, action.value);
                }
            }
        }
        let mut custom = Vec::new();
        for rule in &raw.custom {
            let r = &rule.value;
            if rules::find(&r.id.value).is_some()
                || custom.iter().any(|c: &CustomRule| c.id == r.id.value)
            {
                self.report(
                    &r.id,
                    format!(
                        "`commands.custom`: rule id {:?} is already taken",
                        r.id.value
                    ),
                    "give the rule a unique id",
                );
                continue;
            }
            if r.argv.is_empty() || r.argv[0] == "*" {
                self.report(
                    rule,
                    "`commands.custom`: `argv` must start with a program name",
                    "e.g. `argv: [terraform, destroy]`",
                );
                continue;
            }
            // The gate compares the program word with the name of the program a command runs
            // (`/usr/bin/terraform` runs `terraform`): a path or several words there would
            // never match, and a rule that silently never applies is worse than an error.
            let program = &r.argv[0];
            if program.is_empty() || program.contains('/') || program.contains(char::is_whitespace)
            {
                self.report(
                    rule,
                    format!(
                        "`commands.custom`: the program word {program:?} is not a program name"
                    ),
                    "write the name alone and one word per item, e.g. `argv: [terraform, destroy]`;                      it matches /usr/bin/terraform too",
                );
                continue;
            }
            custom.push(CustomRule {
                id: r.id.value.clone(),
                argv: r.argv.clone(),
                action: r.action,
                reason: r.reason.clone(),
            });
        }
        CommandRules { actions, custom }
    }
}

/// git's `check-ref-format --branch` rules, enough to refuse what would break refs.
fn valid_branch_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.starts_with("refs/")
        && !name.ends_with('/')
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("@{")
        && !name.contains("//")
        && !name
            .bytes()
            .any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<Diagnostic> {
        match load(text, "p.yaml") {
            Ok(_) => panic!("policy should be refused:\n{text}"),
            Err(err) => err.diagnostics,
        }
    }

    #[test]
    fn builtin_policy_is_valid() {
        let policy = Policy::builtin();
        assert!(policy.protected().is_match(b".handshake/gov/rules.md"));
        assert!(policy.protected().is_match(b".paddock/policy.yaml"));
        assert_eq!(policy.target_branch(), "main");
        assert_eq!(policy.commands().action("git.discard"), Action::Deny);
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let d = errors("version: 1\nisolation:\n  ttl: 1h\n  colour: red\n");
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].line, d[0].column), (4, 3), "{}", d[0]);
        assert!(d[0].message.contains("colour"), "{}", d[0]);
        assert!(d[0].to_string().starts_with("p.yaml:4:3: "), "{}", d[0]);
    }

    #[test]
    fn wrong_type_is_an_error() {
        let d = errors("version: 1\nisolation:\n  lock_fallback: sometimes\n");
        assert_eq!(d[0].line, 3, "{}", d[0]);
    }

    #[test]
    fn bad_globs_are_errors_with_places() {
        let d = errors("version: 1\nprotected:\n  - ok/**\n  - ../outside\n  - /abs\n");
        assert_eq!(d.iter().map(|d| d.line).collect::<Vec<_>>(), vec![4, 5]);
    }

    #[test]
    fn contradictions_are_errors() {
        let d = errors(
            "version: 1\nprotected: [.paddock/]\nscratch:\n  worktree: ['.paddock/cache/']\n",
        );
        assert!(d[0].message.contains("inside protected"), "{}", d[0]);
        let d = errors("version: 1\nisolation:\n  sandbox: {require: full, prefer: landlock}\n");
        assert!(d[0].message.contains("weaker"), "{}", d[0]);
        let d = errors("version: 1\ncommands:\n  rules:\n    session.cross-access: allow\n");
        assert!(d[0].message.contains("fails closed"), "{}", d[0]);
        assert_eq!(d[0].line, 4);
    }

    #[test]
    fn unknown_rule_and_bad_values() {
        let d = errors("version: 1\ncommands:\n  rules:\n    git.nope: deny\n");
        assert!(d[0].message.contains("unknown rule"));
        let d = errors("version: 1\nisolation: {ttl: forever}\n");
        assert!(d[0].message.contains("not a duration"));
        let d = errors("version: 2\n");
        assert!(d[0].message.contains("version 2"));
        let d = errors("version: 1\nscratch: {system: [tmp]}\n");
        assert!(d[0].message.contains("absolute"));
        let d = errors("version: 1\ntarget_branch: 'a b'\n");
        assert!(d[0].message.contains("branch"));
    }

    #[test]
    fn missing_version_and_syntax_errors() {
        let d = errors("protected: []\n");
        assert!(d[0].message.contains("version"), "{}", d[0]);
        let d = errors("version: 1\nprotected: [a\n");
        assert!(d[0].line > 0, "{}", d[0]);
    }

    #[test]
    fn custom_rules_name_a_program() {
        for argv in [
            "['/usr/bin/terraform', destroy]",
            "['terraform destroy']",
            "['']",
        ] {
            let d = errors(&format!(
                "version: 1\ncommands:\n  custom:\n    - {{id: x, argv: {argv}, action: deny, reason: r}}\n"
            ));
            assert!(
                d[0].message.contains("not a program name"),
                "{argv}: {}",
                d[0]
            );
            assert_eq!(d[0].line, 4, "{argv}");
        }
        let d = errors(
            "version: 1\ncommands:\n  custom:\n    - {id: git.clean, argv: [x], action: deny, reason: r}\n",
        );
        assert!(d[0].message.contains("already taken"), "{}", d[0]);
    }

    #[test]
    fn overrides_apply() {
        let policy = load(
            "version: 1\ncommands:\n  rules:\n    git.history.rewrite: approval\n  custom:\n    - {id: no-tf, argv: [terraform, destroy], action: deny, reason: infra}\n",
            "p.yaml",
        )
        .expect("valid");
        assert_eq!(
            policy.commands().action("git.history.rewrite"),
            Action::Approval
        );
        assert_eq!(
            policy.commands().custom()[0].argv,
            vec!["terraform", "destroy"]
        );
    }
}
