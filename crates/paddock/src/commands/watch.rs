//! `paddock watch`.

use std::sync::atomic::AtomicBool;

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
    workspace.watch(&options, &stop, ready, |finding| {
        if json {
            if let Ok(line) = serde_json::to_string(finding) {
                println!("{line}");
            }
        } else {
            println!(
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
            );
        }
    })?;
    Ok(exit::OK)
}
