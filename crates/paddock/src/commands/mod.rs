//! One module per command group; each returns the exit code or an error for `main` to render.

mod approve;
mod check;
mod demo;
mod docs;
mod hook;
mod init;
mod ledger;
mod merge;
mod policy;
mod session;
pub mod turn;
mod watch;

use std::path::PathBuf;

use anyhow::Context;
use paddock_workspace::Workspace;

use crate::cli::{Cli, Command};
use crate::output::Style;

/// What every command gets: the global flags, resolved.
pub struct Globals {
    pub repo: Option<PathBuf>,
    pub json: bool,
    /// `--quiet`: no progress on stderr.
    pub quiet: bool,
    pub style: Style,
}

impl Globals {
    /// The directory to discover the repository from.
    pub fn dir(&self) -> anyhow::Result<PathBuf> {
        match &self.repo {
            Some(dir) => Ok(dir.clone()),
            None => std::env::current_dir().context("cannot read the current directory"),
        }
    }

    /// Opens the workspace (repository + policy + registry). Inside a confined session,
    /// where paddock's own state is read-only, records go through the supervising paddock-sh.
    pub fn workspace(&self) -> anyhow::Result<Workspace> {
        let mut workspace = Workspace::open(&self.dir()?)?;
        if let Some(forward) = crate::supervisor::client_from_env() {
            workspace.forward_to(forward);
        }
        Ok(workspace)
    }
}

pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let globals = Globals {
        repo: cli.repo,
        json: cli.json,
        quiet: cli.quiet,
        style: Style::new(cli.color),
    };
    match cli.command {
        Command::Init(args) => init::run(&globals, args),
        Command::Doctor => init::doctor(&globals),
        Command::Hook { name, args } => hook::run(&globals, &name, &args),
        Command::Sh { args } => Ok(crate::sh::run_code(args)),
        Command::Session(cmd) => session::run(&globals, cmd),
        Command::Policy(cmd) => policy::run(&globals, cmd),
        Command::Merge { id, into } => merge::merge(&globals, &id, into.as_deref()),
        Command::Status => merge::status(&globals),
        Command::Check(args) => check::run(&globals, args),
        Command::Approve(cmd) => approve::run(&globals, cmd),
        Command::Watch { session, daemon } => watch::run(&globals, session, daemon),
        Command::Ledger(cmd) => ledger::run(&globals, cmd),
        Command::Demo(args) => demo::run(&globals, args),
        Command::Turn(cmd) => turn::run(&globals, cmd),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { out } => docs::man(&globals, out.as_deref()),
    }
}
