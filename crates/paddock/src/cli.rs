//! The command line: one `Cli` with the global flags and one `Command` enum.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// paddock keeps parallel AI coding sessions on one git repository from hurting each other.
#[derive(Debug, Parser)]
#[command(name = "paddock", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    /// Act on the repository containing DIR (default: the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,

    /// Print machine-readable JSON on stdout (errors too).
    #[arg(long, global = true)]
    pub json: bool,

    /// Colour: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    #[command(subcommand)]
    pub command: Command,
}

/// When to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when stderr is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The exit codes, shown under `--help`.
pub const EXIT_CODES: &str = "\
Exit status:
  0  success (for `check`: allowed)
  1  refused: paddock's rules said no (a denied command, an overlapping scope, no isolation)
  2  error: bad input, not a repository, an invalid policy, a corrupt registry, an I/O failure
  3  blocked: a merge conflict; the session is BLOCKED and nothing was changed";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a repository ready: state directory, policy check, git hook shims (idempotent).
    #[command(
        after_help = "Examples:\n  paddock init --repo ~/src/project\n  paddock init --check\n  paddock init --uninstall"
    )]
    Init(InitArgs),
    /// Report the hooks, core.hooksPath and the policy: what works and what to fix.
    Doctor,
    /// The same as `paddock-sh` (for where only the paddock binary is at hand).
    #[command(hide = true)]
    Sh {
        /// paddock-sh's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// What the installed git hook shims call (not for people).
    #[command(hide = true)]
    Hook {
        /// The hook: pre-commit, reference-transaction, pre-push, post-commit, post-merge, post-rewrite.
        name: String,
        /// The hook's arguments, as git passes them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Start, inspect and end sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Validate a policy file, or list the built-in command rules.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Merge a finished session into its target (exit 3 and a conflict report when blocked).
    #[command(
        after_help = "Examples:\n  paddock merge claim-1\n  paddock merge claim-1 --into release --json"
    )]
    Merge {
        /// Session id.
        id: String,
        /// The branch to merge into (default: the branch the session started from).
        #[arg(long, value_name = "BRANCH")]
        into: Option<String>,
    },
    /// Decide whether a command may run, without running it: exit 0 allow, 1 deny, 2 error.
    #[command(
        after_help = "Examples:\n  paddock check -c 'git reset --hard'\n  paddock check --session claim-1 --json -c 'rm -rf docs'\n  paddock check --format claude-code < payload.json   # a PreToolUse hook"
    )]
    Check(CheckArgs),
    /// One screen: sessions, scopes, states, ahead/behind, what blocks each, live approvals.
    Status,
    /// Operator overrides, recorded in the ledger; refused inside a session.
    #[command(subcommand)]
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
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Run the end-to-end demo on a throw-away repository.
    Demo(DemoArgs),
    /// Run an agent role as an isolated, pinned turn; replay it.
    #[command(subcommand)]
    Turn(crate::commands::turn::TurnCommand),
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Start a session with a declared scope, in its own worktree (or under a scope lock).
    #[command(after_help = "Examples:\n  \
        paddock session start --scope 'src/**' --scope 'tests/**' --role claim\n  \
        paddock session start --scope docs/ --mode lock --ttl 30m --json")]
    Start(StartArgs),
    /// List sessions.
    List,
    /// Show one session.
    Show {
        /// Session id.
        id: String,
    },
    /// Cancel a session: archive unmerged work under refs/paddock/archive/ID, remove its worktree.
    Cancel {
        /// Session id.
        id: String,
        /// Why, for the ledger.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Hand the work in: re-check the scope on the whole branch, write change.patch and
    /// provenance.yaml under the common dir's paddock/artifacts/ID/.
    Finish {
        /// Session id.
        id: String,
        /// Commit every uncommitted change in the worktree first (the hooks check it).
        #[arg(long)]
        commit_all: bool,
    },
    /// Expire sessions past their TTL and clean up orphaned worktrees, branches and locks.
    Gc,
    /// Clear BLOCKED (an operator's decision, recorded as an approval; refused inside a session).
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
    #[command(
        after_help = "Example:\n  paddock approve overlap --session fix-2 --with fix-1 --reason 'same module, coordinated'"
    )]
    Overlap {
        #[command(flatten)]
        common: ApproveCommon,
        /// The session whose scope it overlaps.
        #[arg(long = "with", value_name = "OTHER")]
        other: String,
    },
    /// Let SESSION read and write OTHER's worktree (INV-WS-003), optionally only some paths.
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
    Rule {
        #[command(flatten)]
        common: ApproveCommon,
        /// The rule id.
        #[arg(long)]
        rule: String,
    },
    /// Let SESSION run with weaker kernel confinement than the policy requires.
    Degraded {
        #[command(flatten)]
        common: ApproveCommon,
        /// The weakest level allowed: landlock or none.
        #[arg(long)]
        level: String,
    },
    /// List approvals (live and past).
    List,
    /// Revoke an approval before it expires.
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
    Export {
        #[command(flatten)]
        filter: LedgerFilter,
    },
    /// Commit the head (and records since the last checkpoint) on this writer's ref.
    Checkpoint,
    /// Push the checkpoint refs to a remote, never forced.
    Push {
        /// The remote.
        #[arg(default_value = "origin")]
        remote: String,
    },
    /// Fetch other writers' checkpoint refs from a remote, never forced.
    Pull {
        /// The remote.
        #[arg(default_value = "origin")]
        remote: String,
    },
    /// Cut off a torn last record (kept in quarantine/) and record that it happened.
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
    #[command(
        after_help = "Examples:\n  paddock policy check\n  paddock policy check .paddock/policy.yaml --json"
    )]
    Check {
        /// The policy file.
        file: Option<PathBuf>,
    },
    /// List the built-in command rules and the action the policy gives each.
    Rules,
    /// Print the built-in default policy (a starting point for .paddock/policy.yaml).
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
}
