//! The command line: one `Cli` with the global flags and one `Command` enum.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// paddock keeps parallel AI coding sessions on one git repository from hurting each other.
#[derive(Debug, Parser)]
#[command(name = "paddock", version, about, long_about = None, after_help = TOP_HELP)]
pub struct Cli {
    /// Act on the repository containing DIR (default: the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,

    /// Print machine-readable JSON on stdout (errors too).
    #[arg(long, global = true)]
    pub json: bool,

    /// Show no progress on stderr for long operations (results and errors still print).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Colour: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// `paddock hook NAME ARGS...` exactly as the shims run it, without clap. git runs the
    /// hooks on every commit, and clap builds paddock's whole command tree (some 0.1 ms) to
    /// read those words; anything else (a flag, `--help`, a missing name) goes through clap.
    pub fn hook_invocation(args: &[std::ffi::OsString]) -> Option<Cli> {
        let [hook, name, rest @ ..] = args else {
            return None;
        };
        let name = name.to_str()?;
        if hook != "hook" || name.starts_with('-') {
            return None;
        }
        let args = rest
            .iter()
            .map(|a| a.to_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?;
        Some(Cli {
            repo: None,
            json: false,
            quiet: false,
            color: Color::Auto,
            command: Command::Hook {
                name: name.to_owned(),
                args,
            },
        })
    }
}

/// When to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `paddock --help`'s epilogue: a first session, and the exit codes (see `exit.rs`; the
/// subcommands with codes of their own list them in their `--help`).
pub(crate) const TOP_HELP: &str = "\
Examples:
  paddock init
  paddock session start --scope 'src/**' --role claim
  paddock status --json

Exit status:
  0  success (for `check`: allowed)
  1  refused: paddock's rules said no (a denied command, an overlapping scope, no isolation)
  2  error: bad input, not a repository, an invalid policy, a corrupt registry, an I/O failure
  3  blocked: a merge conflict; the session is BLOCKED and nothing was changed
  4  `ledger verify`: a torn tail (recoverable with `ledger recover`)
  5  `ledger verify`: a tampered ledger
  A reader that closes stdout early (`| head`) changes nothing: paddock exits as it would have.";

/// The command a command line names (`["turn", "run"]`), read without parsing it, for when
/// clap rejects it: the words that are neither options nor the values of the options that take
/// one (`--repo DIR`).
pub fn command_path(args: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<String> {
    use clap::CommandFactory as _;
    let cli = Cli::command();
    let takes_value: Vec<String> = cli
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
        .filter_map(|a| a.get_long())
        .map(|long| format!("--{long}"))
        .collect();
    let mut path = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if takes_value.iter().any(|option| *option == arg) {
            args.next();
        } else if !arg.starts_with('-') {
            path.push(arg.into_owned());
        }
    }
    path
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a repository ready: state directory, policy check, git hook shims (idempotent).
    #[command(after_help = "Examples:\n  \
        paddock init --repo ~/src/project\n  \
        paddock init --check --json\n  \
        paddock init --uninstall\n\n\
        Exit status:\n  \
        0  done (with --check: every hook is installed and current)\n  \
        1  --check: a hook is missing or stale\n  \
        2  error: not a repository, an invalid policy, a foreign core.hooksPath")]
    Init(InitArgs),
    /// Report the kernel's confinement, what the policy makes of it, and the hooks.
    #[command(after_help = "Examples:\n  \
        paddock doctor\n  \
        paddock doctor --json\n\n\
        Exit status:\n  \
        0  sessions can run confined as the policy requires, and the hooks are installed\n  \
        1  the kernel offers less than the policy requires, or a hook is missing or stale\n  \
        2  error: not a repository, an invalid policy")]
    Doctor,
    /// The same as `paddock-sh` (for where only the paddock binary is at hand).
    #[command(
        hide = true,
        after_help = "Examples:\n  paddock sh -c 'cargo test'\n\n\
        Exit status: the command's own; 126 refused, 125 paddock-sh could not run it."
    )]
    Sh {
        /// paddock-sh's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// What the installed git hook shims call (not for people).
    #[command(
        hide = true,
        after_help = "Examples:\n  paddock hook pre-commit\n  paddock hook reference-transaction prepared"
    )]
    Hook {
        /// The hook: pre-commit, reference-transaction, pre-push, post-commit, post-merge, post-rewrite.
        name: String,
        /// The hook's arguments, as git passes them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Start, inspect and end sessions.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        paddock session start --scope 'src/**' --role claim\n  \
        paddock session list --json\n  \
        paddock session finish claim-1"
    )]
    Session(SessionCommand),
    /// Validate a policy, list its command rules, or print the built-in policy.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        paddock policy check\n  \
        paddock policy rules --json\n  \
        paddock policy default > .paddock/policy.yaml"
    )]
    Policy(PolicyCommand),
    /// Merge a finished session into its target (exit 3 and a conflict report when blocked).
    #[command(after_help = "Examples:\n  \
        paddock merge claim-1\n  \
        paddock merge claim-1 --into release --json\n\n\
        Exit status:\n  \
        0  merged\n  \
        1  refused: the session is not finished, has uncommitted or out-of-scope work, its\n     \
           artifact is stale, the target is moving, or the target's checkout is dirty\n  \
        2  error: an unknown session, a git failure\n  \
        3  blocked: a conflict; the session is BLOCKED, the report is in its artifact dir, and\n     \
           nothing was changed")]
    Merge {
        /// Session id.
        id: String,
        /// The branch to merge into (default: the branch the session started from).
        #[arg(long, value_name = "BRANCH")]
        into: Option<String>,
    },
    /// Decide whether a command may run, without running it: exit 0 allow, 1 deny, 2 error.
    #[command(after_help = "Examples:\n  \
        paddock check -c 'git reset --hard'\n  \
        paddock check --session claim-1 --json -c 'rm -rf docs'\n  \
        paddock check --format claude-code < payload.json   # a PreToolUse hook\n\n\
        Exit status:\n  \
        0  allowed\n  \
        1  denied (or it needs an operator's approval)\n  \
        2  error: not a repository, an invalid policy, an unknown session")]
    Check(CheckArgs),
    /// One screen: live sessions, scopes, states, ahead/behind, what blocks each, what next.
    #[command(after_help = "Examples:\n  paddock status\n  paddock status --json")]
    Status,
    /// Operator overrides, recorded in the ledger; refused inside a session.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        paddock approve overlap --session fix-2 --with fix-1 --reason 'same module, coordinated'\n  \
        paddock approve list --json\n  \
        paddock approve revoke ap-1a2b3c4d --reason 'done'\n\n\
        Exit status:\n  \
        0  approved (or listed, revoked)\n  \
        1  refused: asked from inside a session\n  \
        2  error: bad input (an unknown approval, a bad --until), not a repository"
    )]
    Approve(ApproveCommand),
    /// Watch session worktrees and report out-of-scope and cross-session changes to the ledger.
    #[command(
        after_help = "Examples:\n  paddock watch\n  paddock watch --session claim-1 --json\n  paddock watch --daemon"
    )]
    Watch {
        /// Only this session's worktree.
        #[arg(long)]
        session: Option<String>,
        /// Detach and keep watching in the background.
        #[arg(long)]
        daemon: bool,
    },
    /// The tamper-evident ledger: verify, read, checkpoint to git, carry through remotes.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        paddock ledger verify\n  \
        paddock ledger tail -n 50 --kind deny\n  \
        paddock ledger export --json > ledger.jsonl"
    )]
    Ledger(LedgerCommand),
    /// Run the end-to-end demo on a throw-away repository.
    #[command(after_help = "Examples:\n  paddock demo\n  paddock demo --keep")]
    Demo(DemoArgs),
    /// Run an agent role as an isolated, pinned turn; replay it.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        paddock turn run --session s1 --role claim --input docs/q.md -- python3 roles/claim.py\n  \
        paddock turn list --session s1\n  \
        paddock turn replay t-3f9a1c0d2b4e --compare"
    )]
    Turn(crate::commands::turn::TurnCommand),
    /// Print a shell completion script on stdout.
    #[command(after_help = "Examples:\n  \
        paddock completions bash > ~/.local/share/bash-completion/completions/paddock\n  \
        paddock completions zsh > ~/.zfunc/_paddock     # a directory on $fpath\n  \
        paddock completions fish > ~/.config/fish/completions/paddock.fish")]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the paddock(1) man page, or write every page (one per subcommand, paddock-rec's
    /// and paddock-sh's) into a directory.
    #[command(after_help = "Examples:\n  \
        paddock man | man -l -\n  \
        paddock man --out ~/.local/share/man/man1\n  \
        man paddock-session-start")]
    Man {
        /// Write paddock.1, a page per subcommand (paddock-session-start.1, ...), paddock-rec.1
        /// and paddock-sh.1 into DIR, creating it if needed, instead of printing paddock.1 on
        /// stdout (--json needs --out: it lists the pages written).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Start a session with a declared scope, in its own worktree (or under a scope lock).
    #[command(after_help = "Examples:\n  \
        paddock session start --scope 'src/**' --scope 'tests/**' --role claim\n  \
        paddock session start --scope docs/ --mode lock --ttl 30m --json")]
    Start(StartArgs),
    /// List sessions.
    #[command(after_help = "Examples:\n  paddock session list\n  paddock session list --json")]
    List,
    /// Show one session.
    #[command(
        after_help = "Examples:\n  paddock session show claim-1\n  paddock session show claim-1 --json"
    )]
    Show {
        /// Session id.
        id: String,
    },
    /// Cancel a session: archive unmerged work under refs/paddock/archive/ID, remove its worktree.
    #[command(after_help = "Examples:\n  \
        paddock session cancel claim-1\n  \
        paddock session cancel claim-1 --reason 'superseded by claim-2' --json\n\n\
        Exit status:\n  \
        0  cancelled\n  \
        1  refused: the session already ended\n  \
        2  error: an unknown session, archiving failed (nothing was removed)")]
    Cancel {
        /// Session id.
        id: String,
        /// Why, for the ledger.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Hand the work in: re-check the scope on the whole branch, write change.patch and
    /// provenance.yaml under the common dir's paddock/artifacts/ID/.
    #[command(after_help = "Examples:\n  \
        paddock session finish claim-1\n  \
        paddock session finish claim-1 --commit-all --json\n\n\
        Exit status:\n  \
        0  finished: the artifact is written; `paddock merge ID` is next\n  \
        1  refused: out-of-scope work, uncommitted changes, a BLOCKED or ended session\n  \
        2  error: an unknown session, a git failure")]
    Finish {
        /// Session id.
        id: String,
        /// Commit every uncommitted change in the worktree first (the hooks check it).
        #[arg(long)]
        commit_all: bool,
    },
    /// Expire sessions past their TTL and clean up orphaned worktrees, branches and locks.
    #[command(after_help = "Examples:\n  paddock session gc\n  paddock session gc --json")]
    Gc,
    /// Clear BLOCKED (an operator's decision, recorded as an approval; refused inside a session).
    #[command(after_help = "Examples:\n  \
        paddock session unblock claim-1 --reason 'conflict resolved by rebasing onto main'\n\n\
        Exit status:\n  \
        0  unblocked (or it was not blocked)\n  \
        1  refused: asked from inside a session\n  \
        2  error: an unknown session")]
    Unblock {
        /// Session id.
        id: String,
        /// Why it is safe to continue.
        #[arg(long, required = true)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApproveCommand {
    /// Let SESSION hold a scope overlapping OTHER's (start it with --id SESSION).
    #[command(after_help = "Examples:\n  \
        paddock approve overlap --session fix-2 --with fix-1 --reason 'same module, coordinated'\n  \
        paddock approve overlap --session fix-2 --with fix-1 --reason 'pairing' --until 30m --json")]
    Overlap {
        #[command(flatten)]
        common: ApproveCommon,
        /// The session whose scope it overlaps.
        #[arg(long = "with", value_name = "OTHER")]
        other: String,
    },
    /// Let SESSION read and write OTHER's worktree (INV-WS-003), optionally only some paths.
    #[command(after_help = "Examples:\n  \
        paddock approve cross-access --session glance-1 --on claim-1 --reason 'review its draft'\n  \
        paddock approve cross-access --session glance-1 --on claim-1 --path 'docs/**' --reason 'shared notes' --until 1h")]
    CrossAccess {
        #[command(flatten)]
        common: ApproveCommon,
        /// The session whose worktree it may access.
        #[arg(long = "on", value_name = "OTHER")]
        other: String,
        /// Only these globs in OTHER's worktree (default: all of it).
        #[arg(long = "path", value_name = "GLOB")]
        paths: Vec<String>,
    },
    /// Let SESSION do what RULE refuses (see `paddock policy rules`).
    #[command(after_help = "Examples:\n  \
        paddock approve rule --session claim-1 --rule git.branch.force-delete --reason 'stale experiment branch'\n  \
        paddock approve rule --session claim-1 --rule shell.dynamic --reason 'generated build script' --until 30m")]
    Rule {
        #[command(flatten)]
        common: ApproveCommon,
        /// The rule id.
        #[arg(long)]
        rule: String,
    },
    /// Let SESSION run with weaker kernel confinement than the policy requires.
    #[command(after_help = "Examples:\n  \
        paddock approve degraded --session claim-1 --level landlock --reason 'no user namespaces in this container'")]
    Degraded {
        #[command(flatten)]
        common: ApproveCommon,
        /// The weakest level allowed: landlock or none.
        #[arg(long)]
        level: String,
    },
    /// List approvals (live and past).
    #[command(after_help = "Examples:\n  paddock approve list\n  paddock approve list --json")]
    List,
    /// Revoke an approval before it expires.
    #[command(
        after_help = "Examples:\n  paddock approve revoke ap-1a2b3c4d --reason 'the overlap is over'"
    )]
    Revoke {
        /// Approval id (ap-xxxxxxxx).
        id: String,
        /// Why.
        #[arg(long, required = true)]
        reason: String,
    },
}

#[derive(Debug, Args)]
pub struct ApproveCommon {
    /// The session the approval is for.
    #[arg(long)]
    pub session: String,
    /// Why it is safe (recorded).
    #[arg(long, required = true)]
    pub reason: String,
    /// How long it holds, e.g. 30m, 8h.
    #[arg(long, value_name = "DUR", default_value = "8h")]
    pub until: String,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check every hash, link, seq and time, and the checkpoint ref. Exit 0 ok, 4 torn tail
    /// (recoverable), 5 tampered.
    #[command(after_help = "Examples:\n  \
        paddock ledger verify\n  \
        paddock ledger verify --json\n\n\
        Exit status:\n  \
        0  every record verifies\n  \
        2  error: the ledger or the checkpoint ref cannot be read\n  \
        4  torn tail: the last record is incomplete (a crash mid-write); `paddock ledger recover`\n  \
        5  tampered: edited, reordered, truncated or rewritten; the first bad seq is reported")]
    Verify,
    /// Print records.
    #[command(
        after_help = "Examples:\n  paddock ledger show --session claim-1\n  paddock ledger show --kind deny --since 2026-11-22T00:00:00Z --json\n  paddock ledger show --all-writers"
    )]
    Show {
        #[command(flatten)]
        filter: LedgerFilter,
        /// Every writer's checkpointed records (pulled from remotes) with this one's, by time.
        #[arg(long)]
        all_writers: bool,
    },
    /// Print the last records; -f keeps following.
    #[command(after_help = "Examples:\n  \
        paddock ledger tail\n  \
        paddock ledger tail -n 50 --kind deny\n  \
        paddock ledger tail -f --session claim-1 --json   # one JSON object per line")]
    Tail {
        #[command(flatten)]
        filter: LedgerFilter,
        /// How many.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Keep printing records as they are appended.
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// Print records as the YAML stream they are stored as (or JSON lines with --json).
    #[command(after_help = "Examples:\n  \
        paddock ledger export > ledger-copy.yaml\n  \
        paddock ledger export --session claim-1 --json > claim-1.jsonl")]
    Export {
        #[command(flatten)]
        filter: LedgerFilter,
    },
    /// Commit the head (and records since the last checkpoint) on this writer's ref.
    #[command(
        after_help = "Examples:\n  paddock ledger checkpoint\n  paddock ledger checkpoint --json"
    )]
    Checkpoint,
    /// Push the checkpoint refs to a remote, never forced.
    #[command(after_help = "Examples:\n  paddock ledger push\n  paddock ledger push backup --json")]
    Push {
        /// The remote.
        #[arg(default_value = "origin")]
        remote: String,
    },
    /// Fetch other writers' checkpoint refs from a remote, never forced.
    #[command(after_help = "Examples:\n  \
        paddock ledger pull\n  \
        paddock ledger pull upstream && paddock ledger show --all-writers")]
    Pull {
        /// The remote.
        #[arg(default_value = "origin")]
        remote: String,
    },
    /// Cut off a torn last record (kept in quarantine/) and record that it happened.
    #[command(after_help = "Examples:\n  \
        paddock ledger verify || paddock ledger recover\n  \
        paddock ledger recover --json")]
    Recover,
}

#[derive(Debug, Args)]
pub struct LedgerFilter {
    /// Only this kind or kinds under it (`deny` matches deny.command).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only this session's records.
    #[arg(long)]
    pub session: Option<String>,
    /// Only records at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The session to decide for (default: PADDOCK_SESSION, or the worktree --cwd is in).
    #[arg(long)]
    pub session: Option<String>,
    /// Decide as if the command ran in DIR.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// The command line.
    #[arg(short = 'c', value_name = "CMD", required_unless_present = "format")]
    pub command: Option<String>,
    /// Read an agent tool's pre-tool hook payload on stdin and answer in its format.
    #[arg(long, value_enum, conflicts_with = "command")]
    pub format: Option<CheckFormat>,
}

/// Agent tools whose hook payloads `paddock check --format` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Claude Code PreToolUse (Bash, Write, Edit, MultiEdit, NotebookEdit, Read, Grep, Glob).
    ClaudeCode,
    /// Gemini CLI BeforeTool (run_shell_command, write_file, replace, read_file, ...).
    Gemini,
    /// Codex PreToolUse (shell, apply_patch, ...).
    Codex,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Only report the state of the hooks; change nothing (exit 1 if any is missing or stale).
    #[arg(long, conflicts_with = "uninstall")]
    pub check: bool,
    /// Remove paddock's hooks and restore the ones that were there before.
    #[arg(long)]
    pub uninstall: bool,
    /// Install into a repository-scoped, absolute core.hooksPath.
    #[arg(long)]
    pub accept_hooks_path: bool,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Globs (git pathspec :(glob) semantics) the session may write; at least one.
    #[arg(long, value_name = "GLOB", num_args = 1.., action = clap::ArgAction::Append)]
    pub scope: Vec<String>,
    /// Session id (default: ROLE-xxxxxx).
    #[arg(long)]
    pub id: Option<String>,
    /// Agent role (claim, glance, extract, ...).
    #[arg(long)]
    pub role: Option<String>,
    /// Isolation mode (default: the policy's).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Lifetime, e.g. 30m, 8h (default: the policy's).
    #[arg(long, value_name = "DUR")]
    pub ttl: Option<String>,
    /// Start even though the main worktree has uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Its own worktree on branch paddock/ID.
    Worktree,
    /// A scope lock in the shared worktree.
    Lock,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy (default: the repository's, or the built-in one).
    #[command(after_help = "Examples:\n  \
        paddock policy check\n  \
        paddock policy check .paddock/policy.yaml --json\n\n\
        Exit status:\n  \
        0  valid\n  \
        2  invalid (every problem as file:line:col), or the file cannot be read")]
    Check {
        /// The policy file.
        file: Option<PathBuf>,
    },
    /// List the command rules, built-in then the policy's custom ones, with each one's action.
    ///
    /// The built-in rules come in catalogue order with the action the policy gives each; the
    /// policy's `commands.custom` rules follow in file order, marked `[custom]` with the words
    /// they match (`--json`: `custom: true` and their `argv`).
    #[command(after_help = "Examples:\n  paddock policy rules\n  paddock policy rules --json")]
    Rules,
    /// Print the built-in default policy (a starting point for .paddock/policy.yaml).
    #[command(after_help = "Examples:\n  \
        paddock policy default\n  \
        mkdir -p .paddock && paddock policy default > .paddock/policy.yaml")]
    Default,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the throw-away repository and print where it is.
    #[arg(long)]
    pub keep: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_hook_shortcut_reads_what_clap_reads() {
        let os =
            |words: &[&str]| -> Vec<std::ffi::OsString> { words.iter().map(Into::into).collect() };
        for words in [
            &["hook", "pre-commit"][..],
            &["hook", "reference-transaction", "prepared"],
            &["hook", "pre-push", "origin", "https://example.com/r.git"],
            &["hook", "post-rewrite", "rebase"],
        ] {
            let fast = Cli::hook_invocation(&os(words)).expect("shortcut taken");
            let clap = Cli::try_parse_from(std::iter::once("paddock").chain(words.iter().copied()))
                .expect("clap parses");
            assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{words:?}");
        }
        for words in [
            &["hook"][..],
            &["hook", "--help"],
            &["--json", "hook", "pre-commit"],
            &["status"],
        ] {
            assert!(Cli::hook_invocation(&os(words)).is_none(), "{words:?}");
        }
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn scope_takes_many_values_and_repeats() {
        let cli = Cli::try_parse_from([
            "paddock", "session", "start", "--scope", "a/**", "b/", "--scope", "c", "--json",
        ])
        .expect("parses");
        let Command::Session(SessionCommand::Start(args)) = cli.command else {
            panic!("start")
        };
        assert_eq!(args.scope, vec!["a/**", "b/", "c"]);
        assert!(cli.json);
    }

    /// Every command's `--help` ends in examples (and the man pages carry them too).
    #[test]
    fn every_command_has_examples() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let help = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            if !help.contains("Examples:\n  ") {
                missing.push(path.to_owned());
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        // clap's own `help` subcommand is not ours to document.
        walk(
            &Cli::command().disable_help_subcommand(true),
            "paddock",
            &mut missing,
        );
        assert!(missing.is_empty(), "no examples in --help: {missing:?}");
    }

    /// Every `paddock ...` line in an "Examples:" block parses with the real definitions, so
    /// an example cannot name a flag that does not exist (or drop a required one).
    #[test]
    fn every_example_parses() {
        fn words(line: &str) -> Vec<String> {
            // Enough of sh for the examples: single quotes, and words split on spaces.
            let mut words = Vec::new();
            let mut word = String::new();
            let (mut quoted, mut in_word) = (false, false);
            for c in line.chars() {
                match c {
                    '\'' => {
                        quoted = !quoted;
                        in_word = true;
                    }
                    ' ' if !quoted => {
                        if in_word {
                            words.push(std::mem::take(&mut word));
                        }
                        in_word = false;
                    }
                    c => {
                        word.push(c);
                        in_word = true;
                    }
                }
            }
            if in_word {
                words.push(word);
            }
            words
        }
        fn examples(cmd: &clap::Command, out: &mut Vec<String>) {
            let help = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            let mut in_examples = false;
            for line in help.lines() {
                if !line.starts_with(' ') {
                    in_examples = line == "Examples:";
                    continue;
                }
                if in_examples {
                    out.push(line.trim().to_owned());
                }
            }
            for sub in cmd.get_subcommands() {
                examples(sub, out);
            }
        }
        let mut lines = Vec::new();
        examples(&Cli::command(), &mut lines);
        let mut checked = 0;
        for line in &lines {
            let line = line.split(" #").next().unwrap_or_default();
            // Each command of a list or pipeline, without its redirections.
            let all = words(line);
            for command in all.split(|w| ["&&", "||", "|"].contains(&w.as_str())) {
                if command.first().map(String::as_str) != Some("paddock") {
                    continue;
                }
                let mut argv = Vec::new();
                let mut it = command.iter();
                while let Some(word) = it.next() {
                    if word == ">" || word == "<" {
                        it.next();
                    } else {
                        argv.push(word.clone());
                    }
                }
                if let Err(err) = Cli::try_parse_from(&argv) {
                    panic!("example {line:?} does not parse: {err}");
                }
                checked += 1;
            }
        }
        assert!(checked > 60, "only {checked} examples found");
    }

    #[test]
    fn quiet_is_global_and_short() {
        let cli = Cli::try_parse_from(["paddock", "ledger", "verify", "-q"]).expect("parses");
        assert!(cli.quiet && !cli.json);
        let cli = Cli::try_parse_from(["paddock", "--quiet", "session", "gc"]).expect("parses");
        assert!(cli.quiet);
    }

    #[test]
    fn completions_take_a_known_shell() {
        let cli = Cli::try_parse_from(["paddock", "completions", "zsh"]).expect("parses");
        let Command::Completions { shell } = cli.command else {
            panic!("completions")
        };
        assert_eq!(shell, clap_complete::Shell::Zsh);
        assert!(Cli::try_parse_from(["paddock", "completions", "tcsh"]).is_err());
        assert!(Cli::try_parse_from(["paddock", "completions"]).is_err());
    }

    #[test]
    fn man_writes_to_stdout_or_a_directory() {
        let cli = Cli::try_parse_from(["paddock", "man"]).expect("parses");
        let Command::Man { out } = cli.command else {
            panic!("man")
        };
        assert_eq!(out, None);
        let cli = Cli::try_parse_from(["paddock", "man", "--out", "share/man/man1"]).expect("p");
        let Command::Man { out } = cli.command else {
            panic!("man")
        };
        assert_eq!(out, Some(PathBuf::from("share/man/man1")));
    }
}
