//! `paddock ledger verify|show|tail|export|checkpoint|push|pull|recover`.

use std::io::Write;
use std::os::unix::fs::FileExt as _;

use anyhow::Context as _;
use paddock_ledger::{Filter, GitRepo, Outcome, Record, VerifyOptions};
use paddock_workspace::Workspace;
use paddock_workspace::record::ledger_options;
use serde::Serialize;

use super::Globals;
use crate::cli::{LedgerCommand, LedgerFilter};
use crate::exit;
use crate::progress::{self, Progress};

fn filter(f: &LedgerFilter) -> anyhow::Result<Filter> {
    let mut filter = Filter::new();
    if let Some(kind) = &f.kind {
        filter = filter.kind(kind.clone());
    }
    if let Some(session) = &f.session {
        filter = filter.session(session.clone());
    }
    if let Some(since) = &f.since {
        let ts = since.parse().map_err(|e| {
            anyhow::anyhow!("--since {since:?}: {e} (use RFC 3339, e.g. 2026-11-22T10:00:00Z)")
        })?;
        filter = filter.since(ts);
    }
    Ok(filter)
}

/// How much of a record's data the one-line human form shows.
const DATA_SHOWN: usize = 160;

fn print_record(
    out: &mut impl Write,
    record: &Record,
    writer: Option<&str>,
) -> std::io::Result<()> {
    let mut data = serde_json::to_string(&record.data).unwrap_or_default();
    // One line per record stays readable: a turn's pins run to kilobytes. `--json` and
    // `ledger export` give every byte.
    if data.len() > DATA_SHOWN + DATA_SHOWN / 2 {
        let cut = (0..=DATA_SHOWN)
            .rev()
            .find(|&i| data.is_char_boundary(i))
            .unwrap_or(0);
        let more = data.len() - cut;
        data.truncate(cut);
        data.push_str(&format!("… ({more} more bytes; --json shows all)"));
    }
    let writer = writer.map(|w| format!("{w} ")).unwrap_or_default();
    writeln!(
        out,
        "{writer}{:>6} {} {:<18} {:<14} {data}",
        record.seq,
        record.ts,
        record.kind.as_str(),
        record.session.as_deref().unwrap_or("-"),
    )
}

/// `ledger recover --json`: one entry per torn tail cut off (none for a clean ledger).
#[derive(Serialize)]
struct RecoverJson {
    recovered: Vec<RecoveredJson>,
}

#[derive(Serialize)]
struct RecoveredJson {
    /// Where the torn bytes began; the file was cut back to it.
    offset: u64,
    /// How many bytes were cut.
    bytes: u64,
    /// The file that keeps them.
    quarantine: String,
    /// The `recovered` record that says so.
    record: paddock_ledger::Appended,
}

/// The streams (`show`, `tail`, `export`) write with `?`, so a reader that goes away (`| head`)
/// stops them; `exit::settle` counts that as success.
pub fn run(globals: &Globals, cmd: LedgerCommand) -> anyhow::Result<u8> {
    let workspace = globals.workspace()?;
    let path = workspace.ledger_path();
    let options = ledger_options(workspace.policy());
    let repo = GitRepo::new(workspace.repo().common_dir());
    match cmd {
        LedgerCommand::Verify => {
            let anchor = VerifyOptions::anchor(repo, options.checkpoint_ref());
            let mut progress = Progress::new(globals, "verifying the ledger");
            let report = paddock_ledger::verify_with_progress(&path, &anchor, &mut |p| {
                progress.update(|| walked(p))
            })?;
            progress.finish();
            if globals.json {
                crate::output::json(&report)?;
            } else {
                let head = report
                    .head
                    .as_ref()
                    .map(|h| format!("seq {} {}", h.seq, h.hash))
                    .unwrap_or_else(|| "empty".to_owned());
                println!(
                    "ledger {}: {} records, head {head}",
                    path.display(),
                    report.records
                );
                match &report.checkpoint {
                    Some(cp) => println!(
                        "checkpointed up to seq {} on {}; {} record(s) not yet checkpointed",
                        cp.seq,
                        options.checkpoint_ref(),
                        report.not_checkpointed.unwrap_or(0)
                    ),
                    None => println!(
                        "no checkpoint on {} yet (`paddock ledger checkpoint` makes one)",
                        options.checkpoint_ref()
                    ),
                }
                match &report.outcome {
                    Outcome::Ok => println!("ok: every hash, link, seq and time verifies"),
                    Outcome::TornTail { offset, bytes } => println!(
                        "torn tail: {bytes} byte(s) at offset {offset} are an incomplete record (a crash mid-write); the next \
                         append cuts them off into quarantine/, or run `paddock ledger recover`"
                    ),
                    Outcome::Tampered {
                        first_bad_seq,
                        byte_offset,
                        reason,
                    } => println!(
                        "TAMPERED: the first bad record is seq {first_bad_seq} at byte {byte_offset}: {reason:?}; appends \
                         refuse until an operator restores the ledger"
                    ),
                }
            }
            Ok(match report.outcome {
                Outcome::Ok => exit::OK,
                Outcome::TornTail { .. } => exit::TORN_TAIL,
                Outcome::Tampered { .. } => exit::TAMPERED,
            })
        }
        LedgerCommand::Show {
            filter: f,
            all_writers,
        } => {
            let filter = filter(&f)?;
            let mut out = crate::output::stdout();
            if all_writers {
                let local = paddock_ledger::LocalLedger {
                    path: &path,
                    writer: &options.writer,
                };
                let records = paddock_ledger::read_writers(
                    &repo,
                    &options.checkpoint.ref_prefix,
                    Some(local),
                    &filter,
                )?;
                if globals.json {
                    crate::output::json(&records)?;
                } else {
                    for r in &records {
                        print_record(&mut out, &r.record, Some(&r.writer))?;
                    }
                }
                return Ok(exit::OK);
            }
            let mut progress = Progress::new(globals, "reading the ledger");
            // The progress line goes (is cleared) with the iterator, before anything prints.
            let records: Vec<Record> = paddock_ledger::records(&path, filter)?
                .with_progress(move |p| progress.update(|| walked(p)))
                .collect::<Result<_, _>>()?;
            if globals.json {
                crate::output::json(&records)?;
            } else {
                for r in &records {
                    print_record(&mut out, r, None)?;
                }
            }
            Ok(exit::OK)
        }
        LedgerCommand::Tail {
            filter: f,
            lines,
            follow,
        } => {
            let filter = filter(&f)?;
            let mut out = crate::output::stdout();
            let emit = |out: &mut crate::output::Stdout, r: &Record| -> anyhow::Result<()> {
                if globals.json {
                    writeln!(out, "{}", serde_json::to_string(r)?)?;
                } else {
                    print_record(out, r, None)?;
                }
                out.flush()?;
                Ok(())
            };
            if follow {
                let follower = paddock_ledger::Follower::new(
                    &path,
                    filter,
                    paddock_ledger::FollowFrom::Last(lines),
                )?;
                for record in follower {
                    emit(&mut out, &record?)?;
                }
            } else {
                for r in paddock_ledger::tail(&path, lines, filter)? {
                    emit(&mut out, &r)?;
                }
            }
            Ok(exit::OK)
        }
        LedgerCommand::Export { filter: f } => {
            let filter = filter(&f)?;
            let mut out = crate::output::stdout();
            let mut progress = Progress::beside_output(globals, "exporting the ledger");
            let records = paddock_ledger::records(&path, filter)?
                .with_progress(move |p| progress.update(|| walked(p)));
            // The verified records' own bytes, read where the walk found them (one read per
            // record, not the whole file per record).
            // Opened at the first record: a ledger not written yet has none.
            let mut file = None;
            let mut bytes = Vec::new();
            for record in records {
                let record = record?;
                if globals.json {
                    writeln!(out, "{}", serde_json::to_string(&record)?)?;
                } else {
                    let len = usize::try_from(record.len).context("a record is too long")?;
                    bytes.resize(len, 0);
                    let file = match &mut file {
                        Some(file) => file,
                        None => file.insert(std::fs::File::open(&path).with_context(|| {
                            format!("cannot read the ledger {}", path.display())
                        })?),
                    };
                    file.read_exact_at(&mut bytes, record.offset)
                        .with_context(|| {
                            format!(
                                "cannot read record {} of the ledger {}",
                                record.seq,
                                path.display()
                            )
                        })?;
                    out.write_all(&bytes)?;
                }
            }
            out.flush()?;
            Ok(exit::OK)
        }
        LedgerCommand::Checkpoint => {
            let made = checkpoint(&workspace)?;
            if globals.json {
                crate::output::json(&made)?;
            } else {
                match made {
                    Some(cp) => println!(
                        "checkpoint {} on {}: seq {} ({} new record(s))",
                        cp.head.commit, cp.ref_name, cp.head.seq, cp.new_records
                    ),
                    None => println!("the ledger is empty: nothing to checkpoint"),
                }
            }
            Ok(exit::OK)
        }
        LedgerCommand::Push { remote } => sync(
            globals,
            paddock_ledger::push(&repo, &remote, &options.checkpoint.ref_prefix)?,
        ),
        LedgerCommand::Pull { remote } => sync(
            globals,
            paddock_ledger::pull(&repo, &remote, &options.checkpoint.ref_prefix)?,
        ),
        LedgerCommand::Recover => {
            let mut ledger = paddock_ledger::Ledger::open(&path, options)?;
            let recovered = ledger.recover()?;
            if globals.json {
                crate::output::json(&RecoverJson {
                    recovered: recovered
                        .into_iter()
                        .map(|r| RecoveredJson {
                            offset: r.offset,
                            bytes: r.bytes,
                            quarantine: r.quarantine.display().to_string(),
                            record: r.record,
                        })
                        .collect(),
                })?;
                return Ok(exit::OK);
            }
            if recovered.is_empty() {
                println!("nothing to recover: the ledger ends in a complete record");
            }
            for r in recovered {
                println!(
                    "cut {} torn byte(s) at offset {}; kept in {}",
                    r.bytes,
                    r.offset,
                    r.quarantine.display()
                );
            }
            Ok(exit::OK)
        }
    }
}

/// `1228800 records, 3.1 MiB of 9.4 MiB (33%)`: how far a walk over the ledger has got.
fn walked(p: paddock_ledger::Progress) -> String {
    format!(
        "{} records, {} of {} ({})",
        p.records,
        progress::bytes(p.bytes),
        progress::bytes(p.total_bytes),
        progress::percent(p.bytes, p.total_bytes)
    )
}

/// Checkpoints this writer's ledger head on its ref.
pub fn checkpoint(workspace: &Workspace) -> anyhow::Result<Option<paddock_ledger::Checkpoint>> {
    let mut ledger =
        paddock_ledger::Ledger::open(workspace.ledger_path(), ledger_options(workspace.policy()))?;
    Ok(ledger.checkpoint(&GitRepo::new(workspace.repo().common_dir()))?)
}

fn sync(globals: &Globals, report: paddock_ledger::remote::SyncReport) -> anyhow::Result<u8> {
    if globals.json {
        crate::output::json(&report)?;
    } else {
        for r in &report.refs {
            println!("{} {:?}", r.ref_name, r.status);
        }
    }
    Ok(exit::OK)
}
