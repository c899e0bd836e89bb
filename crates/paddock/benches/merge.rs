//! Finish + merge of a session that changed 100 files in a 50,000-file repository, against
//! `git merge --no-ff` of the same branch in a scratch clone, in the same run.
//!
//! `cargo bench -p paddock --bench merge` (PADDOCK_BENCH_FILES, PADDOCK_BENCH_ROUNDS).

mod common;

use common::{git, hermetic};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn timed(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().expect("runs");
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn main() {
    let files: usize = std::env::var("PADDOCK_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let rounds: usize = std::env::var("PADDOCK_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let paddock = env!("CARGO_BIN_EXE_paddock");
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("repo");
    common::generate_tree(&repo, "lib/d", "e", 500, 20, files);
    std::fs::create_dir_all(repo.join("work")).expect("mkdir");
    for i in 0..100 {
        std::fs::write(repo.join(format!("work/w{i}.rs")), "// base\n").expect("write");
    }
    common::commit_all(&repo);
    let paddock_cmd = |args: &[&str]| {
        let mut cmd = Command::new(paddock);
        hermetic(&mut cmd).current_dir(&repo).args(args);
        cmd
    };
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let id = format!("m{round}");
        let out = paddock_cmd(&[
            "session", "start", "--json", "--id", &id, "--scope", "work/**",
        ])
        .output()
        .expect("start");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let worktree = PathBuf::from(json["worktree"].as_str().expect("worktree"));
        for i in 0..100 {
            std::fs::write(
                worktree.join(format!("work/w{i}.rs")),
                format!("// round {round}\n"),
            )
            .expect("write");
        }
        git(&worktree, &["commit", "-q", "-am", "100 files"]);
        // The same merge by git, in a scratch clone (made outside the timing).
        let clone = tmp.path().join(format!("clone{round}"));
        git(
            tmp.path(),
            &[
                "clone",
                "-q",
                "--no-hardlinks",
                repo.to_str().expect("utf8"),
                clone.to_str().expect("utf8"),
            ],
        );
        git(
            &clone,
            &["fetch", "-q", "origin", &format!("paddock/{id}:incoming")],
        );
        theirs.push(timed(hermetic(
            Command::new("git")
                .arg("-C")
                .arg(&clone)
                .args(["merge", "-q", "--no-ff", "-m", "merge", "incoming"]),
        )));
        let start = Instant::now();
        timed(&mut paddock_cmd(&["session", "finish", &id]));
        timed(&mut paddock_cmd(&["merge", &id]));
        ours.push(start.elapsed());
        std::fs::remove_dir_all(&clone).expect("rm clone");
    }
    ours.sort();
    theirs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (p, g) = (ms(ours[ours.len() / 2]), ms(theirs[theirs.len() / 2]));
    println!(
        "finish + merge of 100 changed files in a {files}-file repository, median of {rounds}:"
    );
    println!("  paddock session finish + paddock merge  {p:>8.1} ms");
    println!("  git merge --no-ff (scratch clone)       {g:>8.1} ms");
    println!(
        "  ratio {:.2} (paddock / git; must not be slower: <= 1.0)",
        p / g
    );
}
