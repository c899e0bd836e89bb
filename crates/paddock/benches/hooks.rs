//! The time git spends in paddock's hooks for one commit, on a generated 50,000-file repository,
//! next to an empty `sh` hook and a `git diff --cached --name-only` hook, in the same run.
//!
//! `cargo bench -p paddock --bench hooks` (PADDOCK_BENCH_FILES and PADDOCK_BENCH_COMMITS change
//! the size). Each round commits one changed file under every configuration in turn, so drift
//! in the machine's load hits all of them alike.

mod common;

use common::{git, hermetic};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn hook_dir(root: &Path, name: &str, body: Option<&str>) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    if let Some(body) = body {
        let path = dir.join("pre-commit");
        std::fs::write(&path, body).expect("write");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
    }
    dir
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let files: usize = std::env::var("PADDOCK_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let commits: usize = std::env::var("PADDOCK_BENCH_COMMITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let paddock = env!("CARGO_BIN_EXE_paddock");
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("repo");
    common::generate_tree(&repo, "src/d", "e", 500, 20, files);
    common::commit_all(&repo);
    let run = |args: &[&str]| {
        let out = hermetic(Command::new(paddock).args(args).current_dir(&repo))
            .output()
            .expect("paddock");
        assert!(
            out.status.success(),
            "paddock {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    run(&["init"]);
    let out = run(&[
        "session",
        "start",
        "--id",
        "bench",
        "--scope",
        "src/d001/**",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let worktree = PathBuf::from(json["worktree"].as_str().expect("worktree"));

    let none = hook_dir(tmp.path(), "hooks-none", None);
    let empty = hook_dir(tmp.path(), "hooks-empty", Some("#!/bin/sh\nexit 0\n"));
    let diff = hook_dir(
        tmp.path(),
        "hooks-diff",
        Some("#!/bin/sh\ngit diff --cached --name-only >/dev/null\n"),
    );
    let configs: Vec<(&str, Option<&Path>)> = vec![
        ("no hooks (baseline)", Some(&none)),
        ("empty sh pre-commit", Some(&empty)),
        ("sh pre-commit: git diff --cached --name-only", Some(&diff)),
        (
            "paddock (pre-commit + reference-transaction + post-commit)",
            None,
        ),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); configs.len()];
    let mut n = 0;
    for round in 0..commits + 2 {
        for (i, (_, hooks)) in configs.iter().enumerate() {
            n += 1;
            std::fs::write(worktree.join("src/d001/changed.rs"), format!("// {n}\n"))
                .expect("write");
            git(&worktree, &["add", "src/d001/changed.rs"]);
            let mut cmd = Command::new("git");
            hermetic(&mut cmd).arg("-C").arg(&worktree);
            if let Some(dir) = hooks {
                cmd.arg("-c")
                    .arg(format!("core.hooksPath={}", dir.display()));
            }
            cmd.args(["commit", "-q", "-m", "bench"]);
            let start = Instant::now();
            let status = cmd.status().expect("commit");
            let elapsed = start.elapsed();
            assert!(status.success(), "commit under {:?} failed", configs[i].0);
            if round >= 2 {
                times[i].push(elapsed);
            }
        }
    }
    let medians: Vec<Duration> = times.iter().map(|t| median(t.clone())).collect();
    println!(
        "one commit of one file in a {files}-file repository, median of {commits} (same run, interleaved):"
    );
    for ((name, _), m) in configs.iter().zip(&medians) {
        println!(
            "  {name:<62} {:>7.2} ms   hooks cost {:>6.2} ms",
            ms(*m),
            ms(*m) - ms(medians[0])
        );
    }
    let paddock_extra = ms(medians[3]) - ms(medians[1]);
    let diff_cost = ms(medians[2]) - ms(medians[0]);
    let paddock_cost = ms(medians[3]) - ms(medians[0]);
    println!("paddock vs empty hook: {paddock_extra:+.2} ms (budget <= 5 ms)");
    println!(
        "paddock hooks {paddock_cost:.2} ms vs git diff --cached hook {diff_cost:.2} ms (ratio {:.2})",
        paddock_cost / diff_cost
    );
}
