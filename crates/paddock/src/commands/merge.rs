//! `paddock merge` and `paddock status`.

use serde::Serialize;

use paddock_workspace::merge::Error as MergeError;

use super::Globals;
use crate::exit;
use crate::output::{self, SessionJson};

pub fn merge(globals: &Globals, id: &str, into: Option<&str>) -> anyhow::Result<u8> {
    let workspace = globals.workspace()?;
    match workspace.merge(id, into) {
        Ok((session, merged)) => {
            if globals.json {
                #[derive(Serialize)]
                struct MergeJson<'a> {
                    session: SessionJson<'a>,
                    merged: &'a paddock_workspace::merge::Merged,
                }
                output::json(&MergeJson {
                    session: SessionJson::from(&session),
                    merged: &merged,
                })?;
            } else {
                if merged.resumed {
                    println!(
                        "finished the interrupted merge of session {} into {}",
                        session.id, merged.target
                    );
                }
                println!(
                    "merged session {} into {} ({}: {} -> {})",
                    session.id,
                    merged.target,
                    merged.how,
                    &merged.old[..10.min(merged.old.len())],
                    &merged.new[..10.min(merged.new.len())]
                );
                println!(
                    "  the session branch is kept as {}; its worktree is removed",
                    merged.archive_ref
                );
            }
            Ok(exit::OK)
        }
        Err(MergeError::Conflict(report)) => {
            let style = globals.style;
            if globals.json {
                #[derive(Serialize)]
                struct ConflictJson<'a> {
                    blocked: bool,
                    report: &'a paddock_workspace::merge::ConflictReport,
                    report_file: String,
                }
                let report_file = workspace
                    .artifact_dir(id)
                    .join("conflicts.yaml")
                    .display()
                    .to_string();
                output::json(&ConflictJson {
                    blocked: true,
                    report: &report,
                    report_file,
                })?;
            }
            eprintln!(
                "{} merging session {} into {}: nothing was changed; the session is BLOCKED",
                style.red("conflict"),
                report.session,
                report.target
            );
            for c in &report.conflicts {
                eprintln!("  {} ({})", c.path, c.kind);
                eprintln!(
                    "      base {}  ours {}  theirs {}",
                    c.base.as_deref().unwrap_or("-"),
                    c.ours.as_deref().unwrap_or("-"),
                    c.theirs.as_deref().unwrap_or("-")
                );
                if let Some(by) = &c.ours_changed_by {
                    eprintln!("      {} last changed by {by}", report.target);
                }
                if let Some(by) = &c.theirs_changed_by {
                    eprintln!("      session last changed by {by}");
                }
            }
            eprintln!(
                "report: {}",
                workspace.artifact_dir(id).join("conflicts.yaml").display()
            );
            eprintln!("ways forward:");
            for step in &report.next_steps {
                eprintln!("  - {step}");
            }
            Ok(exit::BLOCKED)
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Serialize)]
struct StatusJson<'a> {
    session: SessionJson<'a>,
    ahead: Option<u32>,
    behind: Option<u32>,
}

pub fn status(globals: &Globals) -> anyhow::Result<u8> {
    let workspace = globals.workspace()?;
    let sessions = workspace.sessions()?;
    let git = workspace.repo().git();
    let rows: Vec<StatusJson> = sessions
        .iter()
        .filter(|s| s.state.is_live())
        .map(|s| {
            let (ahead, behind) = match &s.branch {
                Some(branch) => git
                    .run([
                        "rev-list",
                        "--left-right",
                        "--count",
                        &format!("refs/heads/{branch}...refs/heads/{}", s.target),
                    ])
                    .ok()
                    .and_then(|out| {
                        let mut it = out.split_whitespace().map(|n| n.parse::<u32>().ok());
                        Some((it.next()??, it.next()??))
                    })
                    .map_or((None, None), |(a, b)| (Some(a), Some(b))),
                None => (None, None),
            };
            StatusJson {
                session: SessionJson::from(s),
                ahead,
                behind,
            }
        })
        .collect();
    if globals.json {
        output::json(&rows)?;
        return Ok(exit::OK);
    }
    let style = globals.style;
    println!(
        "{} — policy {}",
        workspace.repo().main_worktree().display(),
        workspace.policy().source()
    );
    if rows.is_empty() {
        println!("no live sessions");
    }
    for row in &rows {
        let s = &row.session;
        let state = match s.state {
            "blocked" => style.red("BLOCKED"),
            "finished" => style.yellow("finished"),
            "merging" => style.yellow("merging"),
            other => style.green(other),
        };
        let counts = match (row.ahead, row.behind) {
            (Some(a), Some(b)) => format!("{a} ahead, {b} behind {}", s.target),
            _ => format!("lock on {}", s.worktree),
        };
        println!(
            "{} {state}  [{}]  {counts}",
            style.bold(s.id),
            s.scope.join(" ")
        );
        if let Some(reason) = s.blocked_reason {
            println!("    blocked: {reason}");
        }
        let next = match s.state {
            "active" => format!("paddock session finish {}", s.id),
            "finished" => format!("paddock merge {}", s.id),
            "merging" => format!(
                "paddock merge {} (its merge was interrupted; this finishes it)",
                s.id
            ),
            _ => format!("paddock session unblock {} --reason ...", s.id),
        };
        println!("    next: {next}");
    }
    Ok(exit::OK)
}
