//! `paddock hook NAME [ARGS]`: what the installed git hook shims call. A hook that cannot decide
//! refuses (fail closed) and says why.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use paddock_workspace::guard::{self, SESSION_ENV, Violation};
use paddock_workspace::record::Event;
use paddock_workspace::{Session, Workspace};

use super::Globals;
use crate::exit;
use crate::timings::Timings;

pub fn run(globals: &Globals, name: &str, args: &[String]) -> anyhow::Result<u8> {
    if name == "reference-transaction" && args.first().map(String::as_str) != Some("prepared") {
        return Ok(exit::OK);
    }
    let mut timings = Timings::new("paddock hook");
    let cwd = globals.dir()?;
    let workspace = globals
        .workspace()
        .context("the paddock hook cannot load the repository, so it refuses")?;
    // Hooks run on every commit: check the ledger's tail; `paddock ledger verify` checks it all.
    workspace.quick_ledger_check();
    let env_session = std::env::var(SESSION_ENV).ok();
    let session = workspace.acting_session(&cwd, env_session.as_deref())?;
    timings.mark("open");
    let violations = match name {
        "pre-commit" => {
            let index = match std::env::var_os("GIT_INDEX_FILE") {
                Some(path) => cwd.join(PathBuf::from(path)),
                None => workspace.repo().git_dir().join("index"),
            };
            workspace.check_commit(session.as_ref(), &index)?
        }
        "reference-transaction" => {
            let updates = guard::parse_ref_updates(&stdin()?)?;
            workspace.check_ref_updates(session.as_ref(), &updates)?
        }
        "pre-push" => {
            let updates = guard::parse_push_updates(&stdin()?)?;
            workspace.check_push(session.as_ref(), &updates)?
        }
        "post-commit" | "post-merge" | "post-rewrite" => {
            record_event(&workspace, session.as_ref(), name, args)?;
            timings.mark("record");
            return Ok(exit::OK);
        }
        other => anyhow::bail!(
            "unknown hook {other:?}; paddock installs {}",
            paddock_workspace::hooks::EVENTS.join(", ")
        ),
    };
    timings.mark("check");
    if violations.is_empty() {
        return Ok(exit::OK);
    }
    refuse(&workspace, session.as_ref(), name, &violations)
}

fn stdin() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the hook's input from git")?;
    Ok(input)
}

fn refuse(
    workspace: &Workspace,
    session: Option<&Session>,
    hook: &str,
    violations: &[Violation],
) -> anyhow::Result<u8> {
    let who = session
        .map(|s| format!("session {}", s.id))
        .unwrap_or_else(|| "this repository".to_owned());
    eprintln!("paddock: {hook} refused for {who}:");
    for v in violations {
        eprintln!("  {}  [{}]\n      {}", v.subject, v.rule, v.detail);
    }
    let kind = if hook == "pre-push" {
        "deny.push"
    } else {
        "deny.commit"
    };
    workspace.record(Event {
        kind: kind.to_owned(),
        session: session.map(|s| s.id.clone()),
        data: serde_json::json!({ "hook": hook, "violations": violations }),
    })?;
    if let Some(s) = session
        && violations.iter().any(|v| v.rule != "session.blocked")
    {
        let reason = format!(
            "{hook} refused: {} ({})",
            violations[0].rule, violations[0].subject
        );
        workspace.block(&s.id, &reason)?;
        eprintln!(
            "  session {} is now BLOCKED; an operator clears it with `paddock session unblock {} --reason ...`",
            s.id, s.id
        );
    }
    Ok(exit::REFUSED)
}

fn record_event(
    workspace: &Workspace,
    session: Option<&Session>,
    hook: &str,
    args: &[String],
) -> anyhow::Result<()> {
    let Some(session) = session else {
        return Ok(());
    };
    let repo = workspace.repo().gix();
    let head = repo
        .head_commit()
        .context("cannot read HEAD after the commit")?;
    let parent = head.parent_ids().next().map(|p| p.detach());
    let new_tree = head.tree_id().context("cannot read HEAD's tree")?.detach();
    let old_tree = match parent {
        Some(p) => Some(
            repo.find_commit(p)
                .context("cannot read the parent commit")?
                .tree_id()?
                .detach(),
        ),
        None => None,
    };
    let paths = paddock_workspace::changes::tree_changes(repo, old_tree, Some(new_tree))?;
    let kind = match hook {
        "post-commit" => "git.commit",
        "post-merge" => "git.merge",
        _ => "git.rewrite",
    };
    let mut data = serde_json::json!({
        "old": parent.map(|p| p.to_string()),
        "new": head.id.to_string(),
        "paths": paths.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
    });
    if hook == "post-rewrite" {
        data["command"] = serde_json::json!(args.first());
        data["rewritten"] = serde_json::json!(stdin()?.lines().collect::<Vec<_>>());
    }
    workspace.record(Event {
        kind: kind.to_owned(),
        session: Some(session.id.clone()),
        data,
    })?;
    Ok(())
}
