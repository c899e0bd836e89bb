//! `paddock watch`.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use paddock_workspace::watch::Options;

use super::Globals;
use crate::exit;

pub fn run(globals: &Globals, session: Option<String>, daemon: bool) -> anyhow::Result<u8> {
    let workspace = globals.workspace()?;
    if let Some(id) = &session {
        workspace.session(id)?;
    }
    if daemon {
        // Keep the working directory (the repository) and detach from the terminal.
        nix::unistd::daemon(true, false)?;
    }
    let options = Options {
        session,
        ..Options::default()
    };
    let stop = AtomicBool::new(false);
    let json = globals.json;
    let ready = |dirs: usize| {
        if !daemon {
            eprintln!("paddock: watching {dirs} directories (Ctrl-C stops)");
        }
    };
    let mut out = crate::output::stdout();
    workspace.watch(&options, &stop, ready, |finding| {
        let written = if json {
            serde_json::to_string(finding)
                .map_err(std::io::Error::from)
                .and_then(|line| writeln!(out, "{line}"))
        } else {
            writeln!(
                out,
                "{} {} {} [{}]{}",
                finding.seen,
                finding.session.as_deref().unwrap_or("(main worktree)"),
                finding.path,
                finding.rule,
                if finding.session.is_some() {
                    " -> session BLOCKED"
                } else {
                    ""
                }
            )
        }
        .and_then(|()| out.flush());
        // The finding is recorded (and the session blocked) before it is reported. Once it
        // cannot be reported, stop, as `tail -f | head` does: a reader that went away is
        // done (exit 0), a failing stdout is an error (`exit::settle`).
        if written.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
    })?;
    Ok(exit::OK)
}
