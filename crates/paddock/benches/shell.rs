//! Whole-process costs on the agent's path, side by side in one run:
//! `bash -c true` vs `paddock-sh -c true` in a session worktree (gate + full kernel confinement +
//! after-command check), and `paddock check -c CMD` over the shared corpus.
//!
//! `cargo bench -p paddock --bench shell` (PADDOCK_BENCH_RUNS changes the repetitions;
//! PADDOCK_BENCH_TIMINGS=1 also prints paddock-sh's phases, see PADDOCK_TIMINGS).

mod common;

use common::hermetic;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn run(cmd: &mut Command) -> Duration {
    // `cargo bench` puts target/release/deps and the toolchain's library dirs on
    // LD_LIBRARY_PATH for the bench and everything it starts, and the dynamic loader then
    // probes each of them (and their glibc-hwcaps subdirectories) for every library of every
    // program: ~100 failed opens for paddock-sh, which starts two programs (itself and the
    // shell), against half that for bash alone. An agent's shell does not run under cargo.
    cmd.env_remove("LD_LIBRARY_PATH");
    let start = Instant::now();
    let out = cmd.output().expect("runs");
    let elapsed = start.elapsed();
    assert!(out.status.code().is_some(), "{cmd:?} was killed");
    elapsed
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let runs: usize = std::env::var("PADDOCK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let paddock = PathBuf::from(env!("CARGO_BIN_EXE_paddock"));
    let paddock_sh = PathBuf::from(env!("CARGO_BIN_EXE_paddock-sh"));
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("repo");
    for (path, text) in [
        ("src/lib.rs", "x\n"),
        ("tests/it.rs", "x\n"),
        ("docs/guide.md", "x\n"),
        (".handshake/gov/rules.md", "x\n"),
        ("README.md", "x\n"),
        ("Cargo.toml", "x\n"),
    ] {
        let p = repo.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let git = |args: &[&str]| {
        assert!(
            hermetic(Command::new("git").arg("-C").arg(&repo).args(args))
                .status()
                .expect("git")
                .success()
        )
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "i"]);
    let start = |id: &str, scope: &[&str]| -> PathBuf {
        let out = hermetic(
            Command::new(&paddock)
                .current_dir(&repo)
                .args(["session", "start", "--json", "--id", id, "--scope"])
                .args(scope),
        )
        .output()
        .expect("start");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        PathBuf::from(json["worktree"].as_str().expect("worktree"))
    };
    assert!(
        hermetic(Command::new(&paddock).current_dir(&repo).arg("init"))
            .output()
            .expect("init")
            .status
            .success()
    );
    let mine = start("mine", &["src/**", "tests/**"]);
    let other = start("other", &["docs/**"]);

    let corpus_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/commands.jsonl");
    let corpus: Vec<String> = std::fs::read_to_string(&corpus_path)
        .map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| {
                    v["cmd"].as_str().map(|c| {
                        c.replace("{OTHER}", other.to_str().unwrap_or_default())
                            .replace("{GOV}", ".handshake/gov")
                    })
                })
                .collect()
        })
        .unwrap_or_else(|_| vec!["git status".to_owned(), "git reset --hard".to_owned()]);

    let (mut bash, mut shell, mut check) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..runs + 3 {
        let b = run(Command::new("bash").current_dir(&mine).args(["-c", "true"]));
        let s = run(hermetic(
            Command::new(&paddock_sh)
                .current_dir(&mine)
                .args(["-c", "true"]),
        ));
        let cmd = &corpus[round % corpus.len()];
        let c = run(hermetic(
            Command::new(&paddock)
                .current_dir(&mine)
                .args(["check", "-c", cmd]),
        ));
        if round >= 3 {
            bash.push(b);
            shell.push(s);
            check.push(c);
        }
    }
    if std::env::var_os("PADDOCK_BENCH_TIMINGS").is_some() {
        // Where paddock-sh's time goes in this very setup (PADDOCK_TIMINGS).
        let out = hermetic(
            Command::new(&paddock_sh)
                .current_dir(&mine)
                .env("PADDOCK_TIMINGS", "1")
                .env_remove("LD_LIBRARY_PATH")
                .args(["-c", "true"]),
        )
        .output()
        .expect("runs");
        print!("{}", String::from_utf8_lossy(&out.stderr));
    }
    let (b, s, c) = (median(bash), median(shell), median(check));
    println!("medians of {runs} interleaved runs:");
    println!("  bash -c true                               {b:>7.2} ms");
    println!(
        "  paddock-sh -c true (gate + full confinement + after-command check) {s:>7.2} ms   overhead {:+.2} ms (budget <= 1.5 ms), {:.2}x bash",
        s - b,
        s / b
    );
    println!(
        "  paddock check -c CMD over {} corpus commands {c:>7.2} ms (budget <= 2 ms)",
        corpus.len()
    );
}
