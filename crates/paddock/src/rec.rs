//! `paddock-rec KIND --session S [--data-file F | key=value...]`: append a record from scripts
//! and other tools. The data is validated; malformed input is refused and nothing is written.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser};
use paddock_workspace::Workspace;
use paddock_workspace::record::Event;
use serde_json::{Map, Value};

/// Append a record to the repository's paddock ledger.
#[derive(Debug, Parser)]
#[command(
    name = "paddock-rec",
    version,
    after_help = "Examples:\n  \
        paddock-rec note.review --session claim-1 verdict=ok reviewer=alice\n  \
        paddock-rec turn.custom --session claim-1 --data-file data.yaml\n\n\
        Exit status:\n  \
        0  recorded\n  \
        2  nothing was recorded: an invalid kind or data, a kind paddock writes itself, an\n     \
           unknown session, not a repository, or the ledger refused the record"
)]
struct Args {
    /// Record kind: dotted lowercase words, e.g. note.review.
    kind: String,
    /// The session the record is about.
    #[arg(long)]
    session: Option<String>,
    /// A YAML or JSON mapping with the record's data.
    #[arg(long, value_name = "FILE", conflicts_with = "pairs")]
    data_file: Option<std::path::PathBuf>,
    /// Act on the repository containing DIR.
    #[arg(long, value_name = "DIR")]
    repo: Option<std::path::PathBuf>,
    /// Data as key=value pairs (values that parse as JSON are kept typed).
    pairs: Vec<String>,
}

/// paddock-rec's command line, for its man page (`paddock man --out`).
pub(crate) fn command() -> clap::Command {
    Args::command()
}

pub fn main(argv: Vec<String>) -> ExitCode {
    let args = match Args::try_parse_from(std::iter::once("paddock-rec".to_owned()).chain(argv)) {
        Ok(args) => args,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                crate::exit::ERROR
            } else {
                crate::exit::OK
            });
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("paddock-rec: error: {}", crate::output::sentence(&err));
            ExitCode::from(crate::exit::ERROR)
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    paddock_ledger::Kind::parse(&args.kind)
        .map_err(|e| anyhow::anyhow!("invalid kind {:?}: {e}", args.kind))?;
    let reserved = [
        "session.",
        "merge.",
        "approval",
        "checkpoint",
        "recovered",
        "lock.",
    ];
    if reserved.iter().any(|p| args.kind.starts_with(p)) {
        anyhow::bail!(
            "{:?} records are written by paddock itself; pick a kind of your own (e.g. note.*)",
            args.kind
        );
    }
    let data = match &args.data_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let value: Value = serde_saphyr::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e))?;
            anyhow::ensure!(
                value.is_object(),
                "{}: the data must be a mapping",
                path.display()
            );
            value
        }
        None => {
            let mut map = Map::new();
            for pair in &args.pairs {
                let (key, value) = pair
                    .split_once('=')
                    .with_context(|| format!("{pair:?} is not key=value"))?;
                anyhow::ensure!(
                    !key.is_empty()
                        && key
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
                    "{key:?} is not a valid key (letters, digits, _ and -)"
                );
                let value =
                    serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
                anyhow::ensure!(
                    map.insert(key.to_owned(), value).is_none(),
                    "{key:?} is given twice"
                );
            }
            Value::Object(map)
        }
    };
    let dir = match args.repo {
        Some(dir) => dir,
        None => std::env::current_dir()?,
    };
    let mut workspace = Workspace::open(&dir)?;
    if let Some(forward) = crate::supervisor::client_from_env() {
        workspace.forward_to(forward);
    }
    if let Some(id) = &args.session {
        workspace.session(id)?;
    }
    workspace.record(Event {
        kind: args.kind,
        session: args.session,
        data,
    })?;
    Ok(())
}
