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
        let binary = std::env::current_exe()
            .context("cannot find the paddock binary to point the hooks at")?;
        hooks::install(&dir, &binary)?
    };
    let repo = workspace.repo();
    let report = InitJson {
        repository: repo.main_worktree().display().to_string(),
        state_dir: repo.state_dir().display().to_string(),
        policy: workspace.policy().source().to_owned(),
        hooks_dir: dir.path.display().to_string(),
        core_hooks_path: dir
            .hooks_path
            .as_ref()
            .map(|(p, scope)| format!("{p} ({scope})")),
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
    Ok(if args.check && !healthy {
        exit::REFUSED
    } else {
        exit::OK
    })
}

fn print_hooks(hooks: &[HookReport], dir: &str) {
    println!("hooks in {dir}:");
    for h in hooks {
        let legacy = if h.legacy {
            " (chains the previous hook, kept as .legacy)"
        } else {
            ""
        };
        println!("    {:<22} {}{legacy}", h.event, h.detail);
    }
}

#[derive(Serialize)]
struct DoctorJson {
    landlock_abi: Option<u32>,
    user_namespaces: bool,
    mount_namespaces: bool,
    seccomp: bool,
    best_mode: &'static str,
    policy_prefers: &'static str,
    policy_requires: &'static str,
    effective_mode: Option<&'static str>,
    notes: Vec<String>,
    /// The hooks folder and each hook's state, as `init --check --json` reports them.
    hooks_dir: String,
    hooks: Vec<HookReport>,
}

/// `paddock doctor`: the kernel's capabilities and what the policy makes of them, then the hooks.
pub fn doctor(globals: &Globals) -> anyhow::Result<u8> {
    let workspace = globals.workspace()?;
    let caps = paddock_sandbox::probe();
    let isolation = workspace.policy().isolation();
    let best = caps.best_mode();
    let prefer = paddock_sandbox::Mode::from_name(isolation.sandbox_prefer.as_str())
        .unwrap_or(paddock_sandbox::Mode::Full);
    let require = paddock_sandbox::Mode::from_name(isolation.sandbox_require.as_str())
        .unwrap_or(paddock_sandbox::Mode::Full);
    let effective = best.min(prefer);
    let dir = hooks::hooks_dir(workspace.repo(), true)?;
    let hook_reports = hooks::check(&dir)?;
    let report = DoctorJson {
        landlock_abi: caps.landlock_abi,
        user_namespaces: caps.user_namespaces,
        mount_namespaces: caps.mount_namespaces,
        seccomp: caps.seccomp,
        best_mode: best.as_str(),
        policy_prefers: prefer.as_str(),
        policy_requires: require.as_str(),
        effective_mode: (effective >= require).then(|| effective.as_str()),
        notes: caps.notes.clone(),
        hooks_dir: dir.path.display().to_string(),
        hooks: hook_reports,
    };
    let hooks_ok = {
        let reports = &report.hooks;
        if !globals.json {
            println!("kernel:\n{caps}");
            match report.effective_mode {
                Some(mode) => println!(
                    "sessions run confined as `{mode}` (policy prefers `{}`, requires `{}`)",
                    report.policy_prefers, report.policy_requires
                ),
                None => println!(
                    "sessions are REFUSED: the kernel offers `{}`, the policy requires `{}` (an operator may approve a degraded mode per session)",
                    report.best_mode, report.policy_requires
                ),
            }
            print_hooks(reports, &report.hooks_dir);
        }
        reports.iter().all(|h| h.state == HookState::Installed)
    };
    if globals.json {
        crate::output::json(&report)?;
    }
    Ok(if hooks_ok && report.effective_mode.is_some() {
        exit::OK
    } else {
        exit::REFUSED
    })
}
