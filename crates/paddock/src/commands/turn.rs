//! `paddock turn run|replay|list|show`: agent role turns, isolated, pinned and replayable.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::Value;

use paddock_workspace::Workspace;
use paddock_workspace::turn::{self, Effective, Entry, Finished, Pin};

use super::Globals;
use crate::exit::{self, Refusal};

/// `turn replay`'s exit status when an output (or the exit status) differs.
const DIFFERENT: u8 = 1;

/// `paddock turn ...`
#[derive(Debug, Subcommand)]
pub enum TurnCommand {
    /// Run CMD as one isolated, pinned turn of a role.
    ///
    /// Fresh scratch, cleared environment, reads limited to the worktree and the declared
    /// inputs; inputs, outputs and pins recorded in the ledger. Exits with CMD's status; 126
    /// when refused (nothing ran), 125 on paddock's own errors.
    #[command(after_help = "Examples:\n  \
        paddock turn run --session s1 --role claim --input docs/q.md --output out/claim.json -- python3 roles/claim.py\n  \
        paddock turn run --session s1 --role glance --pin model=m-7 --pin seed=42 --pin-file picks.yaml -- ./glance.sh\n\n\
        The command runs in the session's worktree; relative --input and --output paths are relative to it.\n\
        It finds its pins in $PADDOCK_TURN_PINS (JSON), its scratch dir in $PADDOCK_TURN_SCRATCH (also $HOME\n\
        and $TMPDIR), its id in $PADDOCK_TURN_ID. Its stdin is /dev/null: pass data as --input files.\n\
        Its stdout is paddock's stdout (stderr under --json); paddock's summary line goes to stderr.\n\n\
        Exit status:\n  \
        N    the command's own status (128 + the signal that killed it), passed through\n  \
        126  refused: no isolation the policy allows, or the session is not live (nothing ran)\n  \
        125  paddock's own error: bad arguments, an unknown session, a missing input, a stdout\n       \
             that cannot be written, or the turn ran but its pin could not be recorded\n\n\
        paddock's own failures keep off 1 and 2, which the command may use (as env(1) and\n\
        timeout(1) do). A command that itself exits 125 or 126 is told apart with --json: stdout\n\
        holds the turn's pin (its `exit` is the command's status) when it ran and was recorded, an\n\
        {\"error\": {...}} object with `exit_code` otherwise.")]
    Run(RunArgs),
    /// Re-run a recorded turn from its pins and compare its outputs.
    ///
    /// Restores its inputs from the blob store into a fresh worktree at its commit, runs the
    /// same command with the same pins, and compares every output byte for byte. Exit 0
    /// identical, 1 different, 2 error (a missing or damaged blob, a refusal).
    #[command(after_help = "Examples:\n  \
        paddock turn replay t-3f9a1c0d2b4e\n  \
        paddock turn replay t-3f9a1c0d2b4e --compare --json\n\n\
        Exit status:\n  \
        0  every output and the exit status are identical\n  \
        1  something differs\n  \
        2  error: an unknown turn, a missing or damaged blob, a refusal")]
    Replay {
        /// The turn id (`paddock turn list` shows them).
        turn: String,
        /// Show a unified diff for each text output that differs.
        #[arg(long)]
        compare: bool,
        /// Keep the replay's directory (scratch and worktree) afterwards.
        #[arg(long)]
        keep: bool,
    },
    /// The turn history, oldest first: runs, replays and refusals.
    #[command(after_help = "Examples:\n  \
        paddock turn list\n  \
        paddock turn list --session s1 --json")]
    List {
        /// Only this session's turns.
        #[arg(long, value_name = "ID")]
        session: Option<String>,
    },
    /// One turn's pin, and its replays.
    #[command(after_help = "Examples:\n  \
        paddock turn show t-3f9a1c0d2b4e\n  \
        paddock turn show t-3f9a1c0d2b4e --json")]
    Show {
        /// The turn id.
        turn: String,
    },
}

/// `paddock turn run`'s arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The session the turn runs under.
    #[arg(long, value_name = "ID")]
    pub session: String,
    /// The role (claim, glance, extract, ...).
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// A file the turn reads besides the worktree; hashed and stored for replay. Repeatable.
    #[arg(long = "input", value_name = "PATH")]
    pub inputs: Vec<PathBuf>,
    /// A file the turn produces inside the worktree; hashed and stored. Repeatable.
    #[arg(long = "output", value_name = "PATH")]
    pub outputs: Vec<PathBuf>,
    /// A pin stored verbatim (model, seed, candidate order, tie-break, ...). Repeatable.
    #[arg(long = "pin", value_name = "KEY=VALUE", value_parser = turn::parse_pin)]
    pub pins: Vec<(String, Value)>,
    /// Pins from a YAML or JSON mapping.
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
    /// isolated (default): reset context; shared: the session's environment and confinement.
    #[arg(long, value_enum, default_value_t = IsolationArg::Isolated)]
    pub isolation: IsolationArg,
    /// Keep the turn's scratch dir and pins file afterwards.
    #[arg(long)]
    pub keep: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub argv: Vec<String>,
}

/// `--isolation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IsolationArg {
    /// Fresh scratch, cleared environment, reads limited to what the turn needs.
    Isolated,
    /// The session's environment and confinement; only the scratch dir is the turn's own.
    Shared,
}

pub fn run(globals: &Globals, cmd: TurnCommand) -> anyhow::Result<u8> {
    let workspace = globals.workspace()?;
    match cmd {
        TurnCommand::Run(args) => run_turn(globals, &workspace, args),
        TurnCommand::Replay {
            turn,
            compare,
            keep,
        } => replay(globals, &workspace, &turn, compare, keep),
        TurnCommand::List { session } => {
            if let Some(id) = &session {
                workspace.session(id)?;
            }
            let entries = workspace.turn_history(session.as_deref())?;
            if globals.json {
                crate::output::json(&entries)?;
            } else if entries.is_empty() {
                println!(
                    "no turns yet; run one with `paddock turn run --session ID --role R -- CMD`"
                );
            } else {
                print_table(globals, &entries);
            }
            Ok(exit::OK)
        }
        TurnCommand::Show { turn } => {
            let history = workspace.turn_history(None)?;
            let Some(entry) = history.iter().find(|e| e.pin.turn == turn) else {
                anyhow::bail!(
                    "no turn {turn:?} in the ledger; `paddock turn list` shows the turns"
                );
            };
            let replays: Vec<&Entry> = history
                .iter()
                .filter(|e| e.pin.replay_of.as_deref() == Some(turn.as_str()))
                .collect();
            if globals.json {
                #[derive(Serialize)]
                struct ShowJson<'a> {
                    turn: &'a Entry,
                    replays: Vec<&'a Entry>,
                }
                crate::output::json(&ShowJson {
                    turn: entry,
                    replays,
                })?;
            } else {
                print_entry(globals, entry);
                for replay in replays {
                    let verdict = replay.pin.comparison.as_ref().map(|c| {
                        if c.identical {
                            "identical"
                        } else {
                            "different"
                        }
                    });
                    println!(
                        "  replayed: {} at {} ({})",
                        replay.pin.turn,
                        replay.ts,
                        verdict.unwrap_or("refused")
                    );
                }
            }
            Ok(exit::OK)
        }
    }
}

fn run_turn(globals: &Globals, workspace: &Workspace, args: RunArgs) -> anyhow::Result<u8> {
    // A hot path, like the shell and the hooks: verify the ledger's last record before the
    // append, not the whole chain (`paddock ledger verify` and `turn replay` read it all).
    workspace.quick_ledger_check();
    let from_file = match &args.pin_file {
        Some(path) => turn::load_pin_file(path).map_err(anyhow::Error::msg)?,
        None => Default::default(),
    };
    let pins = turn::merge_pins(from_file, args.pins).map_err(anyhow::Error::msg)?;
    let options = turn::Options {
        session: args.session,
        role: args.role,
        inputs: args.inputs,
        outputs: args.outputs,
        pins,
        isolation: match args.isolation {
            IsolationArg::Isolated => turn::Isolation::Isolated,
            IsolationArg::Shared => turn::Isolation::Shared,
        },
        keep: args.keep,
        argv: args.argv,
    };
    let mut prepared = match workspace.prepare_turn(options) {
        Ok(prepared) => prepared,
        Err(
            err @ (turn::run::Error::Refused { .. }
            | turn::run::Error::NotLive { .. }
            | turn::run::Error::Confined),
        ) => {
            return Err(Refusal(err.to_string()).into());
        }
        Err(err) => return Err(err.into()),
    };
    let session_id = prepared.pin().session.clone();
    // Hooks inside the turn (a commit) report through this process, as under paddock-sh: the
    // turn cannot write paddock's state itself.
    let channel = crate::supervisor::Channel::new()?;
    let (key, value) = channel.env();
    prepared.command_mut().env(key, value);
    let echo = if globals.json {
        turn::Echo::stderr()
    } else {
        // The command's output on stdout, through paddock's writer (a failing stdout is
        // paddock's failure, see `exit::settle`), its stderr on stderr.
        turn::Echo {
            stdout: crate::output::shared_stdout(),
            stderr: Box::new(std::io::stderr()),
        }
    };
    let running = prepared.spawn(echo)?;
    let repo_dir = workspace.repo().main_worktree().to_owned();
    let supervisor = channel.serve(session_id, move || Ok(Workspace::open(&repo_dir)?));
    let finished = running.wait();
    drop(supervisor);
    let finished = finished.context("the turn does not count")?;
    if globals.json {
        crate::output::json(&finished.pin)?;
    } else {
        report_run(globals, &finished);
    }
    Ok(finished.code)
}

fn report_run(globals: &Globals, finished: &Finished) {
    let style = globals.style;
    let pin = &finished.pin;
    let mode = isolation_text(globals, pin);
    eprintln!(
        "paddock: turn {} ({} #{} of session {}) {mode}, exit {} in {}",
        style.bold(&pin.turn),
        pin.role,
        pin.number,
        pin.session,
        finished.code,
        duration_text(pin.duration_us)
    );
    for reason in &pin.isolation.reasons {
        eprintln!("  degraded: {reason}");
    }
    for v in &pin.violations {
        eprintln!(
            "  {} [{}]: {} -> session {} BLOCKED",
            v.subject, v.rule, v.detail, pin.session
        );
    }
    if let Some(kept) = &pin.kept {
        eprintln!("  kept: {kept}");
    }
}

fn replay(
    globals: &Globals,
    workspace: &Workspace,
    turn_id: &str,
    compare: bool,
    keep: bool,
) -> anyhow::Result<u8> {
    let options = turn::ReplayOptions { keep };
    let prepared = workspace.prepare_replay(turn_id, &options)?;
    let echo = if globals.json {
        turn::Echo::none()
    } else {
        turn::Echo::stderr()
    };
    let finished = prepared
        .spawn(echo)?
        .wait()
        .context("the replay does not count")?;
    let pin = &finished.pin;
    let comparison = pin
        .comparison
        .as_ref()
        .context("a replay always has a comparison")?;
    if globals.json {
        crate::output::json(pin)?;
    } else {
        let style = globals.style;
        let verdict = if comparison.identical {
            style.green("identical")
        } else {
            style.red("different")
        };
        println!(
            "replay {} of turn {}: {verdict}",
            style.bold(&pin.turn),
            pin.replay_of.as_deref().unwrap_or("?")
        );
        for output in &comparison.outputs {
            if output.identical {
                let what = match (&output.recorded, output.recorded_size) {
                    (Some(hash), Some(size)) => format!("{} ({size} B)", short_hash(hash)),
                    _ => "not produced, either time".to_owned(),
                };
                println!("  {} {:<24} {what}", style.green("="), output.name);
                continue;
            }
            let size = |s: Option<u64>| {
                s.map(|s| format!("{s} B"))
                    .unwrap_or_else(|| "missing".to_owned())
            };
            let mut line = format!(
                "{} -> {}",
                size(output.recorded_size),
                size(output.replayed_size)
            );
            if let Some(offset) = output.first_difference {
                line.push_str(&format!(", first difference at byte {offset}"));
            }
            println!("  {} {:<24} {line}", style.red("≠"), output.name);
            if compare && let Some(diff) = &output.diff {
                for text in diff.lines() {
                    println!("      {text}");
                }
            }
        }
        let exit_text = |p: &Pin| {
            p.exit
                .map(|e| e.shell_code().to_string())
                .unwrap_or_else(|| "-".to_owned())
        };
        match workspace.find_turn(turn_id)? {
            Some(original) if !comparison.exit_same => {
                println!(
                    "  {} exit status {} -> {}",
                    style.red("≠"),
                    exit_text(&original.pin),
                    exit_text(pin)
                )
            }
            _ => println!("  {} exit status {}", style.green("="), exit_text(pin)),
        }
        if !comparison.env_same {
            println!(
                "  {} the environment differs from the original's (allowlisted values or the sandbox mode changed)",
                style.yellow("!")
            );
        }
        if !compare && !comparison.identical {
            println!("  (--compare shows a diff of text outputs)");
        }
        if let Some(kept) = &pin.kept {
            println!("  kept: {kept}");
        }
    }
    Ok(if comparison.identical {
        exit::OK
    } else {
        DIFFERENT
    })
}

fn isolation_text(globals: &Globals, pin: &Pin) -> String {
    let style = globals.style;
    let sandbox = pin.isolation.sandbox_effective.as_deref().unwrap_or("-");
    match pin.isolation_effective {
        Effective::Isolated => format!("{} (sandbox {sandbox})", style.green("isolated")),
        Effective::Degraded => {
            format!(
                "{} (sandbox {sandbox}, asked {})",
                style.yellow("degraded"),
                pin.isolation.sandbox_requested
            )
        }
        Effective::Shared => format!("shared (sandbox {sandbox})"),
        Effective::Refused => style.red("refused"),
    }
}

fn duration_text(us: Option<u64>) -> String {
    match us {
        Some(us) if us >= 10_000_000 => format!("{:.1} s", us as f64 / 1e6),
        Some(us) => format!("{:.1} ms", us as f64 / 1e3),
        None => "-".to_owned(),
    }
}

fn short_hash(hash: &str) -> &str {
    hash.get(..15).unwrap_or(hash)
}

fn print_table(globals: &Globals, entries: &[Entry]) {
    let style = globals.style;
    println!(
        "{:<4} {:<15} {:<8} {:<14} {:<10} {:<10} {:<9} {:<5} {:<10} OUTPUTS",
        "#", "TURN", "KIND", "SESSION", "ROLE", "ISOLATION", "SANDBOX", "EXIT", "TIME"
    );
    for e in entries {
        let pin = &e.pin;
        let isolation = match pin.isolation_effective {
            Effective::Isolated => style.green(&format!("{:<10}", "isolated")),
            Effective::Degraded => style.yellow(&format!("{:<10}", "degraded")),
            Effective::Refused => style.red(&format!("{:<10}", "refused")),
            Effective::Shared => format!("{:<10}", "shared"),
        };
        let outputs = match (&pin.comparison, e.kind) {
            (Some(c), _) if c.identical => {
                format!("identical to {}", pin.replay_of.as_deref().unwrap_or("?"))
            }
            (Some(_), _) => format!("differs from {}", pin.replay_of.as_deref().unwrap_or("?")),
            (None, _) => pin
                .output_files
                .iter()
                .map(|f| {
                    format!(
                        "{}={}",
                        f.path,
                        f.blake3.as_deref().map(short_hash).unwrap_or("missing")
                    )
                })
                .collect::<Vec<_>>()
                .join(" "),
        };
        println!(
            "{:<4} {:<15} {:<8} {:<14} {:<10} {} {:<9} {:<5} {:<10} {}",
            if pin.number == 0 {
                "-".to_owned()
            } else {
                pin.number.to_string()
            },
            pin.turn,
            e.kind,
            pin.session,
            pin.role,
            isolation,
            pin.isolation.sandbox_effective.as_deref().unwrap_or("-"),
            pin.exit
                .map(|x| x.shell_code().to_string())
                .unwrap_or_else(|| "-".to_owned()),
            duration_text(pin.duration_us),
            outputs
        );
    }
}

fn print_entry(globals: &Globals, entry: &Entry) {
    let style = globals.style;
    let pin = &entry.pin;
    println!(
        "{} ({}, ledger seq {}, {})",
        style.bold(&pin.turn),
        entry.kind,
        entry.seq,
        entry.ts
    );
    println!(
        "  session:   {} (turn #{}, parent {})",
        pin.session,
        pin.number,
        pin.parent.as_deref().unwrap_or("-")
    );
    if let Some(of) = &pin.replay_of {
        println!("  replay of: {of}");
    }
    println!("  role:      {}", pin.role);
    println!("  command:   {}", pin.argv.join(" "));
    println!(
        "  isolation: asked {}, got {}",
        pin.isolation_requested.as_str(),
        isolation_text(globals, pin)
    );
    for reason in &pin.isolation.reasons {
        println!("             {reason}");
    }
    if let Some(refused) = &pin.refused {
        println!("  refused:   {refused}");
    }
    println!(
        "  repo:      head {} tree {} branch {} (base {})",
        pin.repo.head.as_deref().unwrap_or("-"),
        pin.repo.tree.as_deref().unwrap_or("-"),
        pin.repo.branch.as_deref().unwrap_or("-"),
        pin.repo.base
    );
    for (key, value) in &pin.pins {
        println!("  pin:       {key} = {value}");
    }
    for f in &pin.input_files {
        println!(
            "  input:     {} {} ({} B)",
            f.path,
            f.blake3.as_deref().unwrap_or("-"),
            f.size.unwrap_or(0)
        );
    }
    for f in &pin.output_files {
        match &f.blake3 {
            Some(hash) => println!("  output:    {} {hash} ({} B)", f.path, f.size.unwrap_or(0)),
            None => println!("  output:    {} (not produced)", f.path),
        }
    }
    for (name, blob) in [("stdout", &pin.stdout), ("stderr", &pin.stderr)] {
        if let Some(blob) = blob {
            println!("  {name}:    {} ({} B)", blob.blake3, blob.size);
        }
    }
    println!("  env:       {} ({})", pin.env_hash, pin.env.join(" "));
    if let Some(exit) = pin.exit {
        println!(
            "  exit:      {} in {}",
            exit.shell_code(),
            duration_text(pin.duration_us)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use pretty_assertions::assert_eq;

    #[derive(Debug, Parser)]
    struct T {
        #[command(subcommand)]
        cmd: TurnCommand,
    }

    fn parse(args: &[&str]) -> Result<TurnCommand, clap::Error> {
        T::try_parse_from(std::iter::once("turn").chain(args.iter().copied())).map(|t| t.cmd)
    }

    #[test]
    fn run_takes_every_flag() {
        let cmd = parse(&[
            "run",
            "--session",
            "s1",
            "--role",
            "claim",
            "--input",
            "a",
            "--input",
            "/b",
            "--output",
            "o.json",
            "--pin",
            "seed=42",
            "--pin",
            "model=m=1",
            "--pin-file",
            "p.yaml",
            "--isolation",
            "shared",
            "--keep",
            "--",
            "python3",
            "-c",
            "print(1)",
        ])
        .expect("parses");
        let TurnCommand::Run(args) = cmd else {
            panic!("run")
        };
        assert_eq!(args.session, "s1");
        assert_eq!(args.role, "claim");
        assert_eq!(args.inputs, vec![PathBuf::from("a"), PathBuf::from("/b")]);
        assert_eq!(args.outputs, vec![PathBuf::from("o.json")]);
        assert_eq!(
            args.pins,
            vec![
                ("seed".to_owned(), Value::from("42")),
                ("model".to_owned(), Value::from("m=1"))
            ]
        );
        assert_eq!(args.pin_file, Some(PathBuf::from("p.yaml")));
        assert_eq!(args.isolation, IsolationArg::Shared);
        assert!(args.keep);
        assert_eq!(args.argv, vec!["python3", "-c", "print(1)"]);
    }

    #[test]
    fn run_defaults_and_requires_a_command() {
        let TurnCommand::Run(args) =
            parse(&["run", "--session", "s", "--role", "r", "--", "true"]).expect("parses")
        else {
            panic!("run")
        };
        assert_eq!(args.isolation, IsolationArg::Isolated);
        assert!(!args.keep && args.inputs.is_empty() && args.pins.is_empty());
        assert!(parse(&["run", "--session", "s", "--role", "r"]).is_err());
        assert!(
            parse(&[
                "run",
                "--session",
                "s",
                "--role",
                "r",
                "--pin",
                "novalue",
                "--",
                "true"
            ])
            .is_err()
        );
        assert!(
            parse(&[
                "run",
                "--session",
                "s",
                "--role",
                "r",
                "--isolation",
                "none",
                "--",
                "true"
            ])
            .is_err()
        );
        // Flags after `--` belong to the command.
        let TurnCommand::Run(args) =
            parse(&["run", "--session", "s", "--role", "r", "--", "ls", "--keep"]).expect("parses")
        else {
            panic!("run")
        };
        assert!(!args.keep);
        assert_eq!(args.argv, vec!["ls", "--keep"]);
    }

    #[test]
    fn replay_list_show() {
        let TurnCommand::Replay {
            turn,
            compare,
            keep,
        } = parse(&["replay", "t-1", "--compare"]).expect("parses")
        else {
            panic!("replay")
        };
        assert_eq!((turn.as_str(), compare, keep), ("t-1", true, false));
        let TurnCommand::List { session } = parse(&["list", "--session", "s1"]).expect("parses")
        else {
            panic!("list")
        };
        assert_eq!(session.as_deref(), Some("s1"));
        let TurnCommand::Show { turn } = parse(&["show", "t-2"]).expect("parses") else {
            panic!("show")
        };
        assert_eq!(turn, "t-2");
        assert!(parse(&["replay"]).is_err());
    }
}
