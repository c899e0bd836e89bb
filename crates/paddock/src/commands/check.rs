//! `paddock check`: decide without running. Exit 0 allow, 1 deny (or needs an approval), 2 error.

use anyhow::Context as _;
use paddock_workspace::guard::SESSION_ENV;
use serde::Serialize;

use super::Globals;
use crate::cli::CheckArgs;
use crate::exit;

#[derive(Serialize)]
struct CheckJson<'a> {
    decision: &'static str,
    allowed: bool,
    session: Option<&'a str>,
    rule: Option<&'static str>,
    reason: Option<&'a str>,
    word: Option<&'a str>,
    position: Option<(usize, usize)>,
    findings: &'a [paddock_gate::Finding],
}

pub fn run(globals: &Globals, args: CheckArgs) -> anyhow::Result<u8> {
    if let Some(format) = args.format {
        return crate::agents::run(
            globals,
            format,
            args.session.as_deref(),
            args.cwd.as_deref(),
        );
    }
    let command = args
        .command
        .context("give the command to check with -c CMD")?;
    let cwd = match &args.cwd {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let workspace = paddock_workspace::Workspace::open(globals.repo.as_deref().unwrap_or(&cwd))?;
    let env_session = args.session.or_else(|| std::env::var(SESSION_ENV).ok());
    let session = workspace.acting_session(&cwd, env_session.as_deref())?;
    let context = crate::gatectx::build(&workspace, session.as_ref(), &cwd)?;
    let decision = paddock_gate::decide(&context, &command);
    let refusal = decision.refusal();
    if globals.json {
        crate::output::json(&CheckJson {
            decision: decision.verdict.as_str(),
            allowed: decision.is_allowed(),
            session: session.as_ref().map(|s| s.id.as_str()),
            rule: refusal.map(|f| f.rule),
            reason: refusal.map(|f| f.reason.as_str()),
            word: refusal.map(|f| f.word.as_str()),
            position: refusal.map(|f| f.span),
            findings: &decision.findings,
        })?;
    } else if let Some(f) = refusal {
        eprintln!(
            "paddock: {} [{}]: {}",
            decision.verdict.as_str(),
            f.rule,
            f.reason
        );
        eprintln!("  {command}");
        eprintln!(
            "  {}{}",
            " ".repeat(f.span.0.min(command.len())),
            "^".repeat(f.span.1.max(1))
        );
    } else {
        println!("allow");
    }
    Ok(if decision.is_allowed() {
        exit::OK
    } else {
        exit::REFUSED
    })
}
