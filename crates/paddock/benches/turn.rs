//! `paddock turn run -- true` against `true` run directly, side by side in one run.
//!
//! Both run alternately on the same machine at the same time, so background noise hits both
//! alike; the figure is the difference of the medians. The turn pays for: paddock's own start
//! (argument parsing, opening the repository and its policy), a fresh scratch dir, preparing
//! the sandbox (the kernel probe is cached per boot; Landlock ruleset, namespace, read-only
//! binds), capturing and hashing stdout and stderr into the blob store, the after-command
//! check, one ledger record with fsync, and removing the scratch dir. `paddock --version` is
//! shown as the floor: the cost of starting the binary at all.
//!
//! Run: `cargo bench -p paddock --bench turn` (`-- --runs N` for more; default 60, at least 30).

mod common;

use common::hermetic;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TARGET_OVERHEAD: Duration = Duration::from_millis(5);

fn run(dir: &Path, program: &str, args: &[&str]) {
    let output = hermetic(Command::new(program).args(args).current_dir(dir))
        .output()
        .expect("spawn");
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn time(dir: &Path, program: &str, args: &[&str]) -> Duration {
    let start = Instant::now();
    let status = hermetic(Command::new(program).args(args).current_dir(dir))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawn");
    let elapsed = start.elapsed();
    assert!(status.success(), "{program} {args:?} failed");
    elapsed
}

struct Stats {
    median: Duration,
    p10: Duration,
    p90: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        median: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let mut runs = 60usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N");
        }
    }
    let runs = runs.max(30);
    let paddock = env!("CARGO_BIN_EXE_paddock");
    let tmp = tempfile::Builder::new()
        .prefix("paddock-bench-turn-")
        .tempdir()
        .expect("temp dir");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("src")).expect("mkdir");
    std::fs::write(repo.join("src/lib.rs"), "pub fn f() {}\n").expect("write");
    run(&repo, "git", &["init", "-q", "-b", "main"]);
    run(&repo, "git", &["add", "-A"]);
    run(&repo, "git", &["commit", "-q", "-m", "initial"]);
    run(&repo, paddock, &["init"]);
    run(
        &repo,
        paddock,
        &["session", "start", "--id", "bench", "--scope", "src/**"],
    );

    let turn: &[&str] = &[
        "turn",
        "run",
        "--session",
        "bench",
        "--role",
        "bench",
        "--",
        "true",
    ];
    // Warm the page cache and the blob store (the empty stdout/stderr blobs).
    for _ in 0..5 {
        time(&repo, "true", &[]);
        time(&repo, paddock, turn);
        time(&repo, paddock, &["--version"]);
    }
    let (mut direct, mut turns, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        direct.push(time(&repo, "true", &[]));
        turns.push(time(&repo, paddock, turn));
        floor.push(time(&repo, paddock, &["--version"]));
    }
    let (direct, turns, floor) = (stats(direct), stats(turns), stats(floor));
    let overhead = turns.median.saturating_sub(direct.median);

    println!("paddock turn run -- true  vs  true  ({runs} runs each, interleaved)");
    println!("{:<34} {:>10} {:>10} {:>10}", "", "median", "p10", "p90");
    for (name, s) in [
        ("true", &direct),
        ("paddock turn run -- true", &turns),
        ("paddock --version (start floor)", &floor),
    ] {
        println!(
            "{name:<34} {:>10} {:>10} {:>10}",
            ms(s.median),
            ms(s.p10),
            ms(s.p90)
        );
    }
    println!(
        "overhead (median turn - median true): {}  target <= {}: {}",
        ms(overhead),
        ms(TARGET_OVERHEAD),
        if overhead <= TARGET_OVERHEAD {
            "met"
        } else {
            "NOT met"
        }
    );
    // On a shared machine the median moves with the neighbours' load; the low decile shows
    // what the turn costs when the machine is quiet.
    println!(
        "overhead at the low decile (p10 turn - p10 true): {}",
        ms(turns.p10.saturating_sub(direct.p10))
    );
    let records = std::fs::read_to_string(repo.join(".git/paddock/ledger.yaml"))
        .map(|t| t.matches("kind: turn.pin").count())
        .unwrap_or(0);
    println!("turn.pin records written: {records}");
}
