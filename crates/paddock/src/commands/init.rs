//! `paddock init` and `paddock doctor`.

use anyhow::Context;
use paddock_workspace::hooks::{self, HookReport, HookState};
use serde::Serialize;

use super::Globals;
use crate::cli::InitArgs;
use crate::exit;

#[derive(Serialize)]
struct InitJson {
    repository: String,
    state_dir: String,
    policy: String,
    hooks_dir: String,
    core_hooks_path: Option<String>,
    hooks: Vec<HookReport>,
}

pub fn run(globals: &Globals, args: InitArgs) -> anyhow::Result<u8> {
    let workspace = globals.workspace()?;
    let dir = hooks::hooks_dir(workspace.repo(), args.accept_hooks_path)?;
    let reports = if args.check {
        hooks::check(&dir)?
    } else if args.uninstall {
        hooks::uninstall(&dir)?
    } else {
        workspace.init()?;
        let binary = std::env::current_exe().context("cannot find the paddock binary to point the hooks at")?;
        hooks::install(&dir, &binary)?
    };
    let repo = workspace.repo();
    let report = InitJson {
        repository: repo.main_worktree().display().to_string(),
        state_dir: repo.state_dir().display().to_string(),
        policy: workspace.policy().source().to_owned(),
        hooks_dir: dir.path.display().to_string(),
        core_hooks_path: dir.hooks_path.as_ref().map(|(p, scope)| format!("{p} ({scope})")),
        hooks: reports,
    };
    let healthy = report.hooks.iter().all(|h| h.state == HookState::Installed);
    if globals.json {
        crate::output::json(&report)?;
    } else {
        if args.uninstall {
            println!("paddock's hooks removed from {}", report.hooks_dir);
        } else if !args.check {
            println!("paddock is ready in {}", report.repository);
            println!("  state:  {}", report.state_dir);
            println!("  policy: {} (valid)", report.policy);
        }
        print_hooks(&report.hooks, &report.hooks_dir);
    }
    Ok(if args.check && !healthy { exit::REFUSED } else { exit::OK })
}

fn print_hooks(hooks: &[HookReport], dir: &str) {
    println!("  hooks in {dir}:");
    for h in hooks {
        let legacy = if h.legacy { " (chains the previous hook, kept as .legacy)" } else { "" };
        println!("    {:<22} {}{legacy}", h.event, h.detail);
    }
}

pub fn doctor(globals: &Globals) -> anyhow::Result<u8> {
    let args = InitArgs { check: true, uninstall: false, accept_hooks_path: true };
    run(globals, args)
}
