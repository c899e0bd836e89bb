//! The command line's "first hour" conventions: shell completions, man pages, examples in every
//! `--help`, `--json` on every command that reads or reports, and quiet stderr off a terminal.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde::Deserialize;
use serde_json::Value;

use super::harness::{Run, TestRepo, paddock_in, paddock_rec_in};

fn paddock(args: &[&str]) -> Run {
    let dir = std::env::temp_dir();
    Run {
        output: paddock_in(&dir).args(args).output().expect("paddock runs"),
    }
}

/// The subcommands `--help` lists under "Commands:" (without clap's own `help`).
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every visible command path, from the binary's own help: ["session", "start"], ...
fn command_tree() -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = paddock(&args).ok().stdout();
        for name in listed_commands(&help) {
            let mut child = path.clone();
            child.push(name);
            todo.push(child);
        }
        paths.push(path);
    }
    paths.sort();
    paths
}

#[test]
fn every_command_and_subcommand_has_examples_in_its_help() {
    let tree = command_tree();
    // The walk reaches the nested groups, not just the top level.
    for expected in [
        vec!["session", "start"],
        vec!["ledger", "verify"],
        vec!["approve", "cross-access"],
        vec!["turn", "show"],
        vec!["completions"],
        vec!["man"],
    ] {
        assert!(
            tree.iter().any(|p| p == &expected),
            "{expected:?} not in {tree:?}"
        );
    }
    let mut missing = Vec::new();
    for path in &tree {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let long = paddock(&args).ok().stdout();
        *args.last_mut().expect("--help") = "-h";
        let short = paddock(&args).ok().stdout();
        if !long.contains("\nExamples:\n  paddock") || !short.contains("\nExamples:\n  paddock") {
            missing.push(path.join(" "));
        }
    }
    assert!(missing.is_empty(), "no examples in --help of: {missing:?}");
    // Commands with exit codes of their own list them.
    for path in [
        &["ledger", "verify"][..],
        &["check"],
        &["merge"],
        &["init"],
        &["turn", "replay"],
    ] {
        let mut args = path.to_vec();
        args.push("--help");
        let help = paddock(&args).ok().stdout();
        assert!(help.contains("Exit status:"), "{path:?}:\n{help}");
    }
    let verify = paddock(&["ledger", "verify", "--help"]).ok().stdout();
    assert!(verify.contains("4  torn tail") && verify.contains("5  tampered"));
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = paddock(&["completions", shell]).ok().stdout();
        assert!(script.len() > 1000, "{shell}: {script}");
        for word in [
            "session",
            "ledger",
            "verify",
            "approve",
            "cross-access",
            "--json",
        ] {
            assert!(script.contains(word), "{shell} completions lack {word:?}");
        }
    }
    paddock(&["completions", "tcsh"])
        .fails(2)
        .stderr_has("possible values");
}

#[test]
fn bash_completion_completes_subcommands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("paddock.bash");
    std::fs::write(
        &script,
        paddock(&["completions", "bash"]).ok().output.stdout,
    )
    .expect("w");
    // The function bash-completion would call for `paddock session s<TAB>`.
    let out = Command::new("bash")
        .arg("-c")
        .arg(
            "source \"$1\"; COMP_WORDS=(paddock session s); COMP_CWORD=2; \
             _paddock paddock s session; printf '%s\\n' \"${COMPREPLY[@]}\"",
        )
        .arg("bash")
        .arg(&script)
        .output()
        .expect("bash runs");
    let words: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        words,
        BTreeSet::from(["start".to_owned(), "show".to_owned()]),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[derive(Debug, Deserialize)]
struct ManJson {
    dir: String,
    pages: Vec<String>,
}

fn man_available() -> bool {
    Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The page as `man -l` renders it, as plain text.
fn render(page: &Path) -> String {
    let out = Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .env("LANG", "C")
        .output()
        .expect("man runs");
    assert!(
        out.status.success(),
        "man -l {}: {}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // Overstrike bold (`x\bx`), should a man use it for a pipe.
    let text = String::from_utf8_lossy(&out.stdout);
    let mut plain = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn man_writes_a_page_per_command_that_man_can_render() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("share/man/man1");
    let json: ManJson = serde_json::from_value(
        paddock(&["man", "--json", "--out", dir.to_str().expect("utf8")])
            .ok()
            .json(),
    )
    .expect("man --json shape");
    assert_eq!(json.dir, dir.display().to_string());
    assert_eq!(json.pages.first().map(String::as_str), Some("paddock.1"));
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(on_disk, json.pages.iter().cloned().collect());
    // One page per visible command, named after its path, and one for each other program.
    let mut expected: BTreeSet<String> = command_tree()
        .iter()
        .map(|path| {
            std::iter::once("paddock")
                .chain(path.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("-")
                + ".1"
        })
        .collect();
    expected.extend(["paddock-rec.1".to_owned(), "paddock-sh.1".to_owned()]);
    assert_eq!(on_disk, expected);
    assert!(!on_disk.contains("paddock-hook.1") && !on_disk.contains("paddock-help.1"));

    for page in &json.pages {
        let text = std::fs::read_to_string(dir.join(page)).expect("page");
        let name = page.trim_end_matches(".1");
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!(".TH {name} 1 "))),
            "{page} has no .TH header:\n{text}"
        );
        assert!(text.contains(".SH \"EXAMPLES\""), "{page}");
    }
    // Without --out: paddock.1 on stdout, the same page.
    let stdout = paddock(&["man"]).ok().stdout();
    assert_eq!(
        stdout,
        std::fs::read_to_string(dir.join("paddock.1")).expect("page")
    );

    if !man_available() {
        eprintln!("note: no `man` on this machine: checked the roff headers only");
        return;
    }
    let start = render(&dir.join("paddock-session-start.1"));
    assert!(start.contains("paddock-session-start"), "{start}");
    assert!(start.contains("--scope"), "{start}");
    // The examples keep their lines (and plain hyphens, so they can be copied).
    assert!(
        start.contains("paddock session start --scope docs/ --mode lock --ttl 30m --json"),
        "{start}"
    );
    let verify = render(&dir.join("paddock-ledger-verify.1"));
    assert!(verify.contains("EXIT STATUS"), "{verify}");
    let root = render(&dir.join("paddock.1"));
    assert!(root.contains("paddock-session(1)"), "{root}");
    // paddock-rec's page comes from its own command line; paddock-sh's is written by hand.
    let rec = render(&dir.join("paddock-rec.1"));
    for text in [
        "--data-file",
        "--session",
        "EXIT STATUS",
        "paddock-rec note.review",
    ] {
        assert!(rec.contains(text), "paddock-rec.1 lacks {text:?}:\n{rec}");
    }
    let sh = render(&dir.join("paddock-sh.1"));
    for text in [
        "paddock-sh -c 'cargo test'",
        "PADDOCK_SESSION",
        "126  refused by the gate",
        "125  paddock-sh could not run it",
        "EXIT STATUS",
    ] {
        assert!(sh.contains(text), "paddock-sh.1 lacks {text:?}:\n{sh}");
    }
}

/// One JSON document on stdout.
fn document(run: Run) -> Value {
    run.json()
}

/// JSON lines on stdout (`ledger tail`, `ledger export`): each line one object.
fn lines(run: Run) -> Vec<Value> {
    run.stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

#[derive(Debug, Deserialize)]
struct ErrorJson {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    kind: String,
    message: String,
    exit_code: u8,
}

#[test]
fn every_read_command_prints_json_on_a_real_repo() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    repo.start("claim-1", &["src/**"]);
    repo.paddock(&[
        "session", "start", "--json", "--id", "lock-1", "--mode", "lock", "--scope", "docs/",
    ])
    .ok();
    repo.paddock(&[
        "approve",
        "overlap",
        "--session",
        "fix-2",
        "--with",
        "claim-1",
        "--reason",
        "pairing",
    ])
    .ok();
    let turn = repo
        .paddock(&[
            "turn",
            "run",
            "--json",
            "--session",
            "claim-1",
            "--role",
            "claim",
            "--",
            "true",
        ])
        .ok()
        .json();
    let turn_id = turn["turn"].as_str().expect("turn id").to_owned();

    let status = document(repo.paddock(&["status", "--json"]).ok());
    let ids: BTreeSet<&str> = status
        .as_array()
        .expect("status is a list")
        .iter()
        .map(|row| row["session"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, BTreeSet::from(["claim-1", "lock-1"]));

    let list = document(repo.paddock(&["session", "list", "--json"]).ok());
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    let show = document(repo.paddock(&["session", "show", "claim-1", "--json"]).ok());
    assert_eq!(show["state"], "active");
    assert_eq!(show["scope"], serde_json::json!(["src/**"]));

    let records = document(repo.paddock(&["ledger", "show", "--json"]).ok());
    let records = records.as_array().expect("ledger show is a list");
    assert!(records.len() >= 3, "{records:?}");
    let writers = document(
        repo.paddock(&["ledger", "show", "--all-writers", "--json"])
            .ok(),
    );
    assert!(writers.is_array(), "{writers}");
    let tail = lines(repo.paddock(&["ledger", "tail", "-n", "2", "--json"]).ok());
    assert_eq!(tail.len(), 2);
    let export = lines(repo.paddock(&["ledger", "export", "--json"]).ok());
    assert_eq!(export.len(), records.len());
    assert_eq!(export.first().map(|r| &r["seq"]), Some(&Value::from(1)));
    let verify = document(repo.paddock(&["ledger", "verify", "--json"]).ok());
    assert_eq!(verify["outcome"]["outcome"], "ok", "{verify}");
    assert_eq!(verify["records"], Value::from(records.len()));
    let recover = document(repo.paddock(&["ledger", "recover", "--json"]).ok());
    assert_eq!(recover, serde_json::json!({ "recovered": [] }));
    let checkpoint = document(repo.paddock(&["ledger", "checkpoint", "--json"]).ok());
    assert!(checkpoint["head"]["seq"].is_u64(), "{checkpoint}");

    let check = document(repo.paddock(&["init", "--check", "--json"]).ok());
    assert!(check["hooks"].as_array().is_some_and(|h| !h.is_empty()));
    // doctor exits 1 where the kernel offers less than the policy wants: JSON either way.
    let doctor = repo.paddock(&["doctor", "--json"]);
    assert!([0, 1].contains(&doctor.code()), "{}", doctor.stderr());
    let doctor = document(doctor);
    assert!(doctor["best_mode"].is_string(), "{doctor}");
    assert_eq!(doctor["hooks"], check["hooks"]);

    let policy = document(repo.paddock(&["policy", "check", "--json"]).ok());
    assert_eq!(policy["valid"], true);
    let rules = document(repo.paddock(&["policy", "rules", "--json"]).ok());
    assert!(rules.as_array().is_some_and(|r| !r.is_empty()));
    let default: PolicyDefault = serde_json::from_value(document(
        repo.paddock(&["policy", "default", "--json"]).ok(),
    ))
    .expect("policy default --json shape");
    assert_eq!(
        default.text,
        repo.paddock(&["policy", "default"]).ok().stdout()
    );
    assert_eq!(default.file, policy["file"].as_str().unwrap_or_default());
    assert_eq!(default.policy["version"], 1);
    assert_eq!(default.policy["target_branch"], "main");

    let approvals = document(repo.paddock(&["approve", "list", "--json"]).ok());
    assert_eq!(approvals.as_array().map(Vec::len), Some(1), "{approvals}");

    let turns = document(repo.paddock(&["turn", "list", "--json"]).ok());
    assert_eq!(turns.as_array().map(Vec::len), Some(1), "{turns}");
    let shown = document(repo.paddock(&["turn", "show", &turn_id, "--json"]).ok());
    assert_eq!(shown["turn"]["turn"].as_str(), Some(turn_id.as_str()));

    let allowed = document(repo.paddock(&["check", "--json", "-c", "ls"]).ok());
    assert_eq!(allowed["decision"], "allow");

    let gc = document(repo.paddock(&["session", "gc", "--json"]).ok());
    assert!(gc.is_array(), "{gc}");

    // Failures are JSON too, with the exit code inside.
    let run = repo
        .paddock(&["session", "show", "nope", "--json"])
        .fails(2);
    let err: ErrorJson = serde_json::from_value(run.json()).expect("error shape");
    assert_eq!(
        (err.error.kind.as_str(), err.error.exit_code),
        ("unknown-session", 2)
    );
    let run = repo
        .paddock(&["turn", "show", "t-000000000000", "--json"])
        .fails(2);
    let err: ErrorJson = serde_json::from_value(run.json()).expect("error shape");
    assert!(err.error.message.contains("t-000000000000"), "{err:?}");
    // ... even when the arguments themselves are wrong.
    let run = repo.paddock(&["session", "shwo", "--json"]).fails(2);
    let err: ErrorJson = serde_json::from_value(run.json()).expect("error shape");
    assert_eq!((err.error.kind.as_str(), err.error.exit_code), ("usage", 2));
    assert!(err.error.message.contains("shwo"), "{err:?}");
    // Without --json a usage error prints nothing on stdout.
    let run = repo.paddock(&["session", "shwo"]).fails(2);
    assert_eq!(run.stdout(), "");
}

#[derive(Debug, Deserialize)]
struct PolicyDefault {
    file: String,
    text: String,
    policy: Value,
}

/// Commands whose output is not data refuse `--json` (a usage error, as JSON) rather than
/// ignoring it.
#[test]
fn commands_without_a_json_form_refuse_json() {
    let repo = TestRepo::new();
    for (args, says) in [
        (&["completions", "bash", "--json"][..], "shell script"),
        (&["--json", "completions", "zsh"], "shell script"),
        (&["man", "--json"], "--out DIR"),
        (&["demo", "--json"], "walkthrough"),
    ] {
        let run = repo.paddock(args).fails(2);
        let err: ErrorJson = serde_json::from_value(run.json()).expect("error shape");
        assert_eq!((err.error.kind.as_str(), err.error.exit_code), ("usage", 2));
        assert!(err.error.message.starts_with("--json: "), "{err:?}");
        assert!(err.error.message.contains(says), "{args:?}: {err:?}");
        assert!(
            run.stderr().starts_with("paddock: error: --json: "),
            "{}",
            run.stderr()
        );
    }
}

#[test]
fn policy_rules_help_says_it_lists_custom_rules_too() {
    let help = paddock(&["policy", "rules", "--help"]).ok().stdout();
    assert!(help.contains("custom"), "{help}");
    assert!(!help.contains("List the built-in command rules"), "{help}");
    let group = paddock(&["policy", "--help"]).ok().stdout();
    assert!(
        !group.contains("list the built-in command rules"),
        "{group}"
    );
}

#[test]
fn long_operations_draw_no_progress_off_a_terminal_and_export_is_exact() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    repo.start("claim-1", &["src/**"]);
    repo.paddock(&["session", "cancel", "claim-1"]).ok();
    for args in [
        &["ledger", "verify"][..],
        &["ledger", "export"],
        &["ledger", "show"],
        &["session", "gc"],
    ] {
        let run = repo.paddock(args).ok();
        let stderr = run.stderr();
        assert!(
            !stderr.contains('\r') && !stderr.contains('\u{1b}'),
            "{args:?} drew progress on a pipe: {stderr:?}"
        );
    }
    // The YAML export is the ledger, byte for byte.
    let export = repo.paddock(&["ledger", "export"]).ok();
    let ledger = std::fs::read(repo.state_dir().join("ledger.yaml")).expect("ledger");
    assert_eq!(export.output.stdout, ledger);
    // A filtered export is whole records of the file, in order.
    let sessions = repo
        .paddock(&["ledger", "export", "--session", "claim-1"])
        .ok();
    let text = String::from_utf8(sessions.output.stdout).expect("utf8");
    assert!(text.starts_with("---\n") && text.contains("session: \"claim-1\""));
    assert!(String::from_utf8_lossy(&ledger).contains(&text[..text.len().min(200)]));
}

/// Runs `paddock ARGS` in `repo` with `stdout` as its stdout.
fn with_stdout(repo: &TestRepo, args: &[&str], stdout: impl Into<Stdio>) -> Run {
    Run {
        output: paddock_in(&repo.root)
            .args(args)
            .stdout(stdout)
            .output()
            .expect("paddock runs"),
    }
}

/// A repository with a session, a turn and records, for the output tests.
fn busy_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    repo.start("claim-1", &["src/**"]);
    repo.paddock(&[
        "turn",
        "run",
        "--session",
        "claim-1",
        "--role",
        "r",
        "--",
        "true",
    ])
    .ok();
    repo
}

/// Commands whose results go to stdout, each with the exit status it has in `busy_repo`,
/// which a closed stdout must not change.
const PRINTING: &[(&[&str], i32)] = &[
    (&["ledger", "export"], 0),
    (&["ledger", "export", "--json"], 0),
    (&["ledger", "show"], 0),
    (&["ledger", "show", "--json"], 0),
    (&["ledger", "tail"], 0),
    (&["ledger", "verify"], 0),
    (&["ledger", "verify", "--json"], 0),
    (&["completions", "bash"], 0),
    (&["man"], 0),
    (&["status"], 0),
    (&["status", "--json"], 0),
    (&["session", "list"], 0),
    (&["session", "show", "claim-1"], 0),
    (&["policy", "rules"], 0),
    (&["policy", "default"], 0),
    (&["policy", "check"], 0),
    (&["approve", "list"], 0),
    (&["turn", "list"], 0),
    (&["init", "--check"], 0),
    (&["check", "-c", "ls"], 0),
    // A denial stays a denial (and so does its JSON's exit status).
    (&["check", "--json", "-c", "git reset --hard"], 1),
];

#[test]
fn a_closed_pipe_is_not_an_error() {
    let repo = busy_repo();
    for (args, code) in PRINTING {
        // A pipe whose reader is gone before paddock writes: every write fails with EPIPE,
        // as it does once `| head` has read its fill.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let run = with_stdout(&repo, args, writer);
        assert_eq!(run.code(), *code, "{args:?}: {}", run.stderr());
        assert_eq!(run.stderr(), "", "{args:?}");
    }
    // Also with --json on a failure: the JSON error has nowhere to go, the sentence does.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    with_stdout(&repo, &["session", "show", "nope", "--json"], writer)
        .fails(2)
        .stderr_has("paddock: error: ");
}

#[test]
fn a_pipe_closed_part_way_ends_quietly() {
    let repo = busy_repo();
    // More than a pipe holds (64 KiB), so paddock is still writing when `head` exits.
    for args in [
        &["completions", "bash"][..],
        &["ledger", "export"],
        &["status"],
    ] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(r#""$0" "$@" | head -c 10 >/dev/null; exit "${PIPESTATUS[0]}""#)
            .arg(env!("CARGO_BIN_EXE_paddock"))
            .args(args)
            .current_dir(&repo.root)
            .env("NO_COLOR", "1")
            .output()
            .expect("bash runs");
        let run = Run { output: out };
        assert_eq!(run.code(), 0, "{args:?}: {}", run.stderr());
        assert_eq!(run.stderr(), "", "{args:?}");
    }

    // A stream that never ends on its own stops once its reader goes away.
    let mut follow = paddock_in(&repo.root)
        .args(["ledger", "tail", "-f", "-n", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("paddock runs");
    let mut stdout = BufReader::new(follow.stdout.take().expect("piped"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a record");
    assert!(first.contains("turn."), "{first}");
    drop(stdout);
    // The next record is written into the closed pipe: EPIPE, and tail -f ends.
    let rec = paddock_rec_in(&repo.root)
        .args(["note.test", "--session", "claim-1", "n=1"])
        .output()
        .expect("paddock-rec runs");
    assert!(
        rec.status.success(),
        "{}",
        String::from_utf8_lossy(&rec.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = follow.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = follow.kill();
            panic!("ledger tail -f kept running after its reader went away");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    follow
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert_eq!((status.code(), stderr.as_str()), (Some(0), ""));
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let repo = busy_repo();
    for (args, code) in PRINTING {
        // `>&-`: no fd 1 at all when paddock starts.
        let out = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" >&-"#)
            .arg(env!("CARGO_BIN_EXE_paddock"))
            .args(*args)
            .current_dir(&repo.root)
            .env("NO_COLOR", "1")
            .output()
            .expect("sh runs");
        let run = Run { output: out };
        assert_eq!(run.code(), *code, "{args:?}: {}", run.stderr());
        assert_eq!(run.stderr(), "", "{args:?}");
    }
}

#[test]
fn a_failing_stdout_is_an_error_with_a_sentence() {
    let repo = busy_repo();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
    };
    for (args, _) in PRINTING {
        // `check -c ls` prints "allow"; the denial prints nothing on stdout without --json.
        let run = with_stdout(&repo, args, full());
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr());
        assert_eq!(
            run.stderr(),
            "paddock: error: cannot write to stdout: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
    // Nothing on stdout, nothing to fail: the outcome stands.
    with_stdout(&repo, &["check", "-c", "git reset --hard"], full())
        .fails(1)
        .stderr_has("git reset --hard");
}

/// `turn run` passes its command's status through, so its own failures keep off 1 and 2: 126
/// when it refused (nothing ran), 125 for anything else; `--json` says which it was.
#[test]
fn turn_run_tells_its_failures_from_its_commands_status() {
    let repo = busy_repo();
    let turn = |args: &[&str]| {
        let mut all = vec!["turn", "run"];
        all.extend_from_slice(args);
        repo.paddock(&all)
    };
    // The command's own 1 and 2 pass through, and the pin says so.
    for code in [1, 2] {
        let script = format!("exit {code}");
        let pin = turn(&[
            "--json",
            "--session",
            "claim-1",
            "--role",
            "r",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .fails(code)
        .json();
        assert_eq!(pin["exit"]["code"], code, "{pin}");
    }
    // paddock's own failures: an unknown session, bad pins, bad arguments.
    for args in [
        &["--json", "--session", "nope", "--role", "r", "--", "true"][..],
        &[
            "--json",
            "--session",
            "claim-1",
            "--role",
            "r",
            "--pin",
            "a=1",
            "--pin",
            "a=2",
            "--",
            "true",
        ],
        &["--json", "--session", "claim-1", "--bogus", "--", "true"],
    ] {
        let run = turn(args).fails(125);
        let err: ErrorJson = serde_json::from_value(run.json()).expect("error shape");
        assert_eq!(err.error.exit_code, 125, "{args:?}: {err:?}");
    }
    // A refusal: nothing ran.
    let run = Run {
        output: paddock_in(&repo.root)
            .args([
                "turn",
                "run",
                "--json",
                "--session",
                "claim-1",
                "--role",
                "r",
            ])
            .args(["--", "sh", "-c", "exit 3"])
            .env("PADDOCK_SANDBOX_SIMULATE", "no-landlock")
            .output()
            .expect("paddock runs"),
    }
    .fails(126);
    let err: ErrorJson = serde_json::from_value(run.json()).expect("error shape");
    assert_eq!(
        (err.error.kind.as_str(), err.error.exit_code),
        ("refused", 126)
    );
    // The command's output is paddock's stdout: a closed one is no failure, a full one is.
    let args = [
        "turn",
        "run",
        "--session",
        "claim-1",
        "--role",
        "r",
        "--",
        "sh",
        "-c",
        "echo out; exit 7",
    ];
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    with_stdout(&repo, &args, writer).fails(7);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    with_stdout(&repo, &args, full)
        .fails(125)
        .stderr_has("paddock: error: cannot write to stdout: No space left on device");
}
