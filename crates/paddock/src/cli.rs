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
    #[command(after_help = "Examples:\n  paddock init --repo ~/src/project\n  paddock init --check\n  paddock init --uninstall")]
    Init(InitArgs),
    /// Report the hooks, core.hooksPath and the policy: what works and what to fix.
    Doctor,
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
    #[command(after_help = "Examples:\n  paddock merge claim-1\n  paddock merge claim-1 --into release --json")]
    Merge {
        /// Session id.
        id: String,
        /// The branch to merge into (default: the branch the session started from).
        #[arg(long, value_name = "BRANCH")]
        into: Option<String>,
    },
    /// One screen: sessions, scopes, states, ahead/behind, what blocks each, live approvals.
    Status,
    /// Operator overrides, recorded in the ledger; refused inside a session.
    #[command(subcommand)]
    Approve(ApproveCommand),
    /// Watch session worktrees and report out-of-scope and cross-session changes to the ledger.
    #[command(after_help = "Examples:\n  paddock watch\n  paddock watch --session claim-1 --json\n  paddock watch --daemon")]
    Watch {
        /// Only this session's worktree.
        #[arg(long)]
        session: Option<String>,
        /// Detach and keep watching in the background.
        #[arg(long)]
        daemon: bool,
    },
    /// Run the end-to-end demo on a throw-away repository.
    Demo(DemoArgs),
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
    #[command(after_help = "Example:\n  paddock approve overlap --session fix-2 --with fix-1 --reason 'same module, coordinated'")]
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
    #[command(after_help = "Examples:\n  paddock policy check\n  paddock policy check .paddock/policy.yaml --json")]
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
        let cli = Cli::try_parse_from(["paddock", "session", "start", "--scope", "a/**", "b/", "--scope", "c", "--json"])
            .expect("parses");
        let Command::Session(SessionCommand::Start(args)) = cli.command else { panic!("start") };
        assert_eq!(args.scope, vec!["a/**", "b/", "c"]);
        assert!(cli.json);
    }
}
