//! `paddock session start|list|show|cancel|gc`.

use serde::Serialize;

use paddock_workspace::{Mode, Session, start};

use super::Globals;
use crate::cli::{ModeArg, SessionCommand, StartArgs};
use crate::exit;
use crate::output::{self, SessionJson};
use crate::progress::Progress;

pub fn run(globals: &Globals, cmd: SessionCommand) -> anyhow::Result<u8> {
    let workspace = globals.workspace()?;
    match cmd {
        SessionCommand::Start(args) => {
            let options = start_options(args)?;
            let session = workspace.start(options)?;
            if globals.json {
                output::json(&SessionJson::from(&session))?;
            } else {
                print_started(globals, &session);
            }
        }
        SessionCommand::List => {
            let sessions = workspace.sessions()?;
            if globals.json {
                output::json(&sessions.iter().map(SessionJson::from).collect::<Vec<_>>())?;
            } else if sessions.is_empty() {
                println!("no sessions; start one with `paddock session start --scope GLOB`");
            } else {
                print_table(globals, &sessions);
            }
        }
        SessionCommand::Show { id } => {
            let session = workspace.session(&id)?;
            if globals.json {
                output::json(&SessionJson::from(&session))?;
            } else {
                print_session(globals, &session);
            }
        }
        SessionCommand::Cancel { id, reason } => {
            let (session, archived) = workspace.cancel(&id, reason.as_deref())?;
            if globals.json {
                #[derive(Serialize)]
                struct CancelJson<'a> {
                    session: SessionJson<'a>,
                    archived: &'a paddock_workspace::cleanup::Archived,
                }
                output::json(&CancelJson {
                    session: SessionJson::from(&session),
                    archived: &archived,
                })?;
            } else {
                println!("cancelled session {}", session.id);
                match &archived.archive_ref {
                    Some(r) => {
                        println!("  unmerged work kept under {r} (restore: git switch -c NAME {r})")
                    }
                    None => println!("  nothing unmerged to keep"),
                }
                if archived.worktree_removed {
                    println!("  worktree {} removed", session.worktree.display());
                }
            }
        }
        SessionCommand::Unblock { id, reason } => {
            if let Some(why) =
                paddock_workspace::approvals::inside_session(&workspace, &globals.dir()?)?
            {
                anyhow::bail!(crate::exit::Refusal(format!(
                    "an approval cannot come from inside a session ({why}): an operator runs \
                     `paddock session unblock` from the main worktree"
                )));
            }
            let session = workspace.unblock(&id, &reason, &super::approve::operator())?;
            if globals.json {
                output::json(&SessionJson::from(&session))?;
            } else {
                println!("session {} is {}", session.id, session.state.as_str());
            }
        }
        SessionCommand::Finish { id, commit_all } => {
            let (session, provenance) = workspace.finish(&id, commit_all)?;
            if globals.json {
                #[derive(Serialize)]
                struct FinishJson<'a> {
                    session: SessionJson<'a>,
                    artifact: String,
                    provenance: &'a paddock_workspace::merge::Provenance,
                }
                let artifact = workspace.artifact_dir(&id).display().to_string();
                output::json(&FinishJson {
                    session: SessionJson::from(&session),
                    artifact,
                    provenance: &provenance,
                })?;
            } else {
                println!(
                    "session {} finished: {} file(s), scope check passed",
                    session.id,
                    provenance.files.len()
                );
                println!("  artifact: {}", workspace.artifact_dir(&id).display());
                println!("  next:     paddock merge {}", session.id);
            }
        }
        SessionCommand::Gc => {
            let mut progress = Progress::new(globals, "session gc");
            let items = workspace.gc_with_progress(&mut |p| {
                progress.update(|| format!("{} {}/{}: {}", p.phase, p.done + 1, p.total, p.subject))
            })?;
            progress.finish();
            if globals.json {
                output::json(&items)?;
            } else if items.is_empty() {
                println!("nothing to collect: no expired sessions and no orphans");
            } else {
                for item in &items {
                    let arrow = if item.failed {
                        globals.style.red("!!")
                    } else {
                        "->".to_owned()
                    };
                    println!(
                        "{:<18} {}\n{:<18} {arrow} {}",
                        item.kind, item.subject, "", item.action
                    );
                }
            }
            let failed: Vec<&str> = items
                .iter()
                .filter(|i| i.failed)
                .map(|i| i.subject.as_str())
                .collect();
            if !failed.is_empty() {
                // With --json the items (`failed: true`) are the whole answer on stdout.
                eprintln!(
                    "paddock: gc handled everything else, but could not handle {} of what it \
                     found ({}); each is left as it was, and its entry says why and what to do",
                    failed.len(),
                    failed.join(", ")
                );
                return Ok(exit::ERROR);
            }
        }
    }
    Ok(exit::OK)
}

fn start_options(args: StartArgs) -> anyhow::Result<start::Options> {
    let ttl = match &args.ttl {
        Some(text) => Some(
            paddock_workspace::session::parse_ttl(text)
                .map_err(|e| anyhow::anyhow!("--ttl: {e}"))?,
        ),
        None => None,
    };
    Ok(start::Options {
        scope: args.scope,
        id: args.id,
        role: args.role,
        mode: args.mode.map(|m| match m {
            ModeArg::Worktree => Mode::Worktree,
            ModeArg::Lock => Mode::Lock,
        }),
        ttl,
        allow_dirty: args.allow_dirty,
    })
}

fn print_started(globals: &Globals, s: &Session) {
    let style = globals.style;
    println!(
        "{} session {} ({})",
        style.green("started"),
        style.bold(&s.id),
        s.mode.as_str()
    );
    println!("  scope:    {}", s.scope.join(" "));
    match s.mode {
        Mode::Worktree => {
            println!("  worktree: {}", s.worktree.display());
            println!(
                "  branch:   {} from {}",
                s.branch.as_deref().unwrap_or("-"),
                short(&s.base)
            );
            println!("  work there: cd {}", s.worktree.display());
        }
        Mode::Lock => {
            println!("  shares:   {} (scope lock held)", s.worktree.display());
            println!("  name it:  PADDOCK_SESSION={} or --session {}", s.id, s.id);
        }
    }
    println!("  expires:  {}", s.expires);
}

fn print_session(globals: &Globals, s: &Session) {
    let style = globals.style;
    println!("{}", style.bold(&s.id));
    println!(
        "  state:    {}{}",
        s.state.as_str(),
        s.blocked_reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    println!("  role:     {}", s.role);
    println!("  mode:     {}", s.mode.as_str());
    println!("  scope:    {}", s.scope.join(" "));
    println!("  worktree: {}", s.worktree.display());
    println!("  branch:   {}", s.branch.as_deref().unwrap_or("-"));
    println!("  base:     {} (target {})", s.base, s.target);
    println!("  created:  {}", s.created);
    println!("  expires:  {}", s.expires);
    if let Some(r) = &s.archive_ref {
        println!("  archive:  {r}");
    }
}

fn print_table(globals: &Globals, sessions: &[Session]) {
    let style = globals.style;
    println!(
        "{:<20} {:<9} {:<9} {:<10} {:<30} WORKTREE",
        "ID", "STATE", "MODE", "ROLE", "SCOPE"
    );
    for s in sessions {
        let state = match s.state.as_str() {
            "active" => style.green("active   "),
            "blocked" => style.red("blocked  "),
            other => style.dim(&format!("{other:<9}")),
        };
        println!(
            "{:<20} {} {:<9} {:<10} {:<30} {}",
            s.id,
            state,
            s.mode.as_str(),
            s.role,
            s.scope.join(" "),
            s.worktree.display()
        );
    }
}

fn short(id: &str) -> &str {
    id.get(..10).unwrap_or(id)
}
