//! Exit codes, decided here and nowhere else. The README's "Exit codes" table, `paddock --help`
//! (`cli::TOP_HELP`) and each command's "Exit status:" section list them; keep them in step.

use paddock_workspace::{approvals, cleanup, merge, registry, start};

/// Success; for `check`, allowed.
pub const OK: u8 = 0;
/// paddock's rules said no.
pub const REFUSED: u8 = 1;
/// Bad input or a runtime failure.
pub const ERROR: u8 = 2;
/// A merge conflict blocked the session.
pub const BLOCKED: u8 = 3;
/// `ledger verify`: the ledger ends in a torn record (recoverable: the next append, or
/// `ledger recover`, cuts it off).
pub const TORN_TAIL: u8 = 4;
/// `ledger verify`: the ledger was edited, reordered, truncated or rewritten.
pub const TAMPERED: u8 = 5;
/// `turn run`: paddock refused to run the command, so nothing ran (paddock-sh's
/// `sh::REFUSED`; POSIX shells use 126 for "found but cannot execute").
pub const NOT_RUN: u8 = 126;
/// `turn run`: paddock itself failed around the command (paddock-sh's `sh::FAILED`; env(1),
/// nice(1) and timeout(1) use 125 for their own failures too).
pub const WRAPPER_FAILED: u8 = 125;

/// Whose exit status a command passes on, and so which codes paddock's own failures take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// paddock's own: 0, and 1, 2, 3 ... for what went wrong.
    Own,
    /// The status of a command paddock runs (`turn run`), passed through unchanged. paddock's
    /// own failures take codes apart from the usual 1 and 2, which the command may well use:
    /// [`NOT_RUN`] when paddock refused (nothing ran), [`WRAPPER_FAILED`] for anything else
    /// (bad arguments included). Under `--json` the output says which it was: the turn's pin
    /// (whose `exit` is the command's status) or an `{"error": ...}` object.
    Wrapped,
}

impl Status {
    /// The status a parsed command line passes on.
    pub fn of(command: &crate::cli::Command) -> Status {
        use crate::cli::Command;
        use crate::commands::turn::TurnCommand;
        match command {
            Command::Turn(TurnCommand::Run(_)) => Status::Wrapped,
            _ => Status::Own,
        }
    }

    /// The same for a command line clap rejected, from the command it names.
    pub fn of_words(path: &[String]) -> Status {
        match path {
            [turn, run, ..] if turn == "turn" && run == "run" => Status::Wrapped,
            _ => Status::Own,
        }
    }

    /// The code for an error (see [`code_for`]).
    pub fn code_for(self, err: &anyhow::Error) -> u8 {
        let code = code_for(err);
        match self {
            Status::Own => code,
            Status::Wrapped if code == REFUSED => NOT_RUN,
            Status::Wrapped => WRAPPER_FAILED,
        }
    }

    /// The code for an error that is paddock's failure whatever it is: a usage error, a stdout
    /// that cannot be written.
    pub fn error(self) -> u8 {
        match self {
            Status::Own => ERROR,
            Status::Wrapped => WRAPPER_FAILED,
        }
    }
}

/// A refusal decided in the binary itself (exit 1).
#[derive(Debug)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// A command line clap accepts but the command cannot do, such as `--json` on a command that
/// has no JSON form (exit 2, `--json` kind `usage`, as for clap's own usage errors).
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Refuses `--json` for a command whose output is not data (a script, a page, a walkthrough).
pub fn no_json(json: bool, why: &str) -> anyhow::Result<()> {
    if json {
        return Err(Usage(format!("--json: {why}")).into());
    }
    Ok(())
}

/// The exit status once a command is done, from its result and what became of its stdout.
///
/// A reader of stdout that went away (`| head`, a pager that quit) is no error: the reader has
/// what it wanted (the Unix convention for a closed pipe). A command whose only trouble that
/// was exits as it would have, quietly; a stream it cut short exits [`OK`], as when the stream
/// ends. Any other failure to write stdout (a full disk) is an error: a sentence on stderr,
/// [`ERROR`] (or [`WRAPPER_FAILED`], see [`Status`]).
pub fn settle(
    result: anyhow::Result<u8>,
    stdout: Option<crate::output::Failure>,
    status: Status,
    json: bool,
) -> u8 {
    match result {
        Err(err) if crate::output::is_closed_stdout(&err) => OK,
        Err(err) => {
            let code = status.code_for(&err);
            crate::output::error(&err, code, json);
            code
        }
        Ok(code) => match stdout {
            Some(failure) if !failure.is_closed() => {
                let code = status.error();
                // No JSON: stdout is where it would have gone.
                crate::output::error(&anyhow::Error::new(failure.to_error()), code, false);
                code
            }
            _ => code,
        },
    }
}

/// The exit code for an error: refusals are 1, everything else 2.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<Refusal>().is_some() {
            return REFUSED;
        }
        if let Some(err) = cause.downcast_ref::<start::Error>() {
            return match err {
                start::Error::Overlap { .. }
                | start::Error::NoIsolation { .. }
                | start::Error::Dirty { .. }
                | start::Error::Detached
                | start::Error::NoCommits
                | start::Error::Record(_) => REFUSED,
                _ => ERROR,
            };
        }
        if let Some(err) = cause.downcast_ref::<cleanup::Error>() {
            return match err {
                cleanup::Error::NotLive { .. }
                | cleanup::Error::Merging { .. }
                | cleanup::Error::Record(_) => REFUSED,
                _ => ERROR,
            };
        }
        if let Some(err) = cause.downcast_ref::<approvals::Error>() {
            return match err {
                approvals::Error::InsideSession { .. } | approvals::Error::Record(_) => REFUSED,
                _ => ERROR,
            };
        }
        if let Some(err) = cause.downcast_ref::<merge::Error>() {
            return match err {
                merge::Error::Conflict(_) => BLOCKED,
                merge::Error::State { .. }
                | merge::Error::Uncommitted { .. }
                | merge::Error::OutOfScope { .. }
                | merge::Error::Stale { .. }
                | merge::Error::TargetMoving { .. }
                | merge::Error::CheckoutDirty { .. }
                | merge::Error::MovedOutsideGit(_)
                | merge::Error::Record(_) => REFUSED,
                merge::Error::Registry(registry::Error::UnknownSession { .. }) => ERROR,
                _ => ERROR,
            };
        }
        if cause.downcast_ref::<registry::Error>().is_some() {
            return ERROR;
        }
    }
    ERROR
}

/// A short machine name for the error, for `--json`.
pub fn kind_for(err: &anyhow::Error) -> &'static str {
    for cause in err.chain() {
        if cause.downcast_ref::<Refusal>().is_some() {
            return "refused";
        }
        if cause.downcast_ref::<Usage>().is_some() {
            return "usage";
        }
        if let Some(err) = cause.downcast_ref::<start::Error>() {
            return match err {
                start::Error::NoScope => "no-scope",
                start::Error::Scope(_) => "invalid-scope",
                start::Error::Name(_) => "invalid-name",
                start::Error::DuplicateId { .. } => "duplicate-id",
                start::Error::NoCommits => "no-commits",
                start::Error::Detached => "detached-head",
                start::Error::Dirty { .. } => "dirty-worktree",
                start::Error::WorktreePathExists { .. } => "worktree-path-exists",
                start::Error::Overlap { .. } => "scope-overlap",
                start::Error::NoIsolation { .. } => "no-isolation",
                start::Error::Registry(err) => registry_kind(err),
                start::Error::Git(_) => "git",
                start::Error::Record(_) => "ledger",
                start::Error::Approvals(_) => "approval",
            };
        }
        if let Some(err) = cause.downcast_ref::<registry::Error>() {
            return registry_kind(err);
        }
        if let Some(err) = cause.downcast_ref::<paddock_workspace::open::Error>() {
            return match err {
                paddock_workspace::open::Error::Discover(_) => "not-a-repository",
                paddock_workspace::open::Error::Policy(_) => "invalid-policy",
                paddock_workspace::open::Error::GitLink { .. } => "git-link",
            };
        }
        if cause.downcast_ref::<paddock_policy::Error>().is_some() {
            return "invalid-policy";
        }
        if cause
            .downcast_ref::<paddock_workspace::repo::discover::Error>()
            .is_some()
        {
            return "not-a-repository";
        }
        if let Some(err) = cause.downcast_ref::<approvals::Error>() {
            return match err {
                approvals::Error::InsideSession { .. } => "inside-session",
                approvals::Error::Invalid(_) => "invalid",
                approvals::Error::Unknown { .. } => "unknown-approval",
                approvals::Error::Registry(err) => registry_kind(err),
                _ => "approval",
            };
        }
        if let Some(err) = cause.downcast_ref::<merge::Error>() {
            return match err {
                merge::Error::Conflict(_) => "merge-conflict",
                merge::Error::State { .. } => "wrong-state",
                merge::Error::Uncommitted { .. } => "uncommitted",
                merge::Error::OutOfScope { .. } => "out-of-scope",
                merge::Error::Stale { .. } => "stale-artifact",
                merge::Error::TargetMoving { .. } => "target-moving",
                merge::Error::CheckoutDirty { .. } => "checkout-dirty",
                merge::Error::CheckoutNotUpdated(_) => "checkout-not-updated",
                merge::Error::MovedOutsideGit(_) => "moved-outside-git",
                merge::Error::Registry(err) => registry_kind(err),
                _ => "merge",
            };
        }
        if let Some(err) = cause.downcast_ref::<cleanup::Error>() {
            return match err {
                cleanup::Error::NotLive { .. } => "not-live",
                cleanup::Error::Merging { .. } => "merging",
                cleanup::Error::Archive { .. } => "archive",
                cleanup::Error::Registry(err) => registry_kind(err),
                _ => "cleanup",
            };
        }
    }
    "error"
}

fn registry_kind(err: &registry::Error) -> &'static str {
    match err {
        registry::Error::UnknownSession { .. } => "unknown-session",
        registry::Error::Corrupt { .. } => "corrupt-registry",
        registry::Error::LockTimeout { .. } | registry::Error::Lock { .. } => "lock",
        registry::Error::Io { .. } => "io",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use pretty_assertions::assert_eq;

    use super::*;

    /// The README's "Exit codes" table lists exactly the codes defined here and paddock-sh's,
    /// and `paddock --help` lists paddock's own.
    #[test]
    fn the_readme_and_the_help_list_every_code() {
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("\n## Exit codes\n")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("the README has an Exit codes section");
        let table: BTreeSet<u8> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| "))
            .filter_map(|line| line.split(" |").next()?.parse().ok())
            .collect();
        let ours = [OK, REFUSED, ERROR, BLOCKED, TORN_TAIL, TAMPERED];
        let wrapped = [WRAPPER_FAILED, NOT_RUN];
        assert_eq!(table, ours.iter().chain(&wrapped).copied().collect());
        // paddock-sh keeps its own constants; they mean the same.
        assert_eq!(
            (crate::sh::FAILED, crate::sh::REFUSED),
            (WRAPPER_FAILED, NOT_RUN)
        );
        for code in ours {
            assert!(
                crate::cli::TOP_HELP.contains(&format!("\n  {code}  ")),
                "paddock --help does not list {code}"
            );
        }
    }

    #[test]
    fn turn_run_keeps_its_failures_apart_from_its_commands_status() {
        let words = |line: &str| -> Vec<String> {
            crate::cli::command_path(line.split(' ').map(std::ffi::OsString::from))
        };
        for line in [
            "turn run --session s --role r -- true",
            "--repo /x --color never turn --json run --bogus",
            "--repo=/x turn run",
        ] {
            assert_eq!(Status::of_words(&words(line)), Status::Wrapped, "{line}");
        }
        for line in [
            "turn replay t-1",
            "--repo turn run",
            "run turn",
            "session start",
        ] {
            assert_eq!(Status::of_words(&words(line)), Status::Own, "{line}");
        }
        let refused = anyhow::Error::new(Refusal("no isolation".into()));
        let failed = anyhow::anyhow!("no such session");
        assert_eq!(Status::Wrapped.code_for(&refused), NOT_RUN);
        assert_eq!(Status::Wrapped.code_for(&failed), WRAPPER_FAILED);
        assert_eq!(Status::Wrapped.error(), WRAPPER_FAILED);
        assert_eq!(Status::Own.code_for(&refused), REFUSED);
        assert_eq!(Status::Own.code_for(&failed), ERROR);
    }
}
