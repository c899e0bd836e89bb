//! The watcher on a 100,000-file tree: how long from an out-of-scope write to its record
//! (median over repeated writes), and the watcher's peak resident memory.
//!
//! `cargo bench -p paddock --bench watch` (PADDOCK_BENCH_FILES, PADDOCK_BENCH_WRITES).

mod common;

use common::hermetic;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let files: usize = std::env::var("PADDOCK_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let writes: usize = std::env::var("PADDOCK_BENCH_WRITES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21);
    let paddock = env!("CARGO_BIN_EXE_paddock");
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = tmp.path().join("repo");
    common::generate_tree(&repo, "pkg", "mod", 1000, 10, files);
    common::commit_all(&repo);
    let out = hermetic(Command::new(paddock).current_dir(&repo).args([
        "session",
        "start",
        "--json",
        "--id",
        "w",
        "--scope",
        "pkg000/**",
    ]))
    .output()
    .expect("start");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let worktree = PathBuf::from(json["worktree"].as_str().expect("worktree"));

    let started = Instant::now();
    let mut child = hermetic(Command::new(paddock).current_dir(&repo).args([
        "watch",
        "--session",
        "w",
        "--json",
    ]))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("watch");
    let pid = child.id();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("ready line");
    eprintln!(
        "{} after {:.2} s",
        line.trim(),
        started.elapsed().as_secs_f64()
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), line));
        }
    });
    let mut latencies = Vec::new();
    for i in 0..writes {
        let path = worktree.join(format!("pkg{:03}/mod00/leak{i}.txt", 1 + i % 900));
        let wrote = Instant::now();
        std::fs::write(&path, "out of scope\n").expect("write");
        let want = format!("leak{i}.txt");
        loop {
            let (at, line) = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("a finding within 10 s");
            if line.contains(&want) {
                latencies.push(at - wrote);
                break;
            }
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?")
        .to_owned();
    let _ = child.kill();
    let _ = child.wait();
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "watcher on {files} files: out-of-scope write -> record median {:.1} ms (min {:.1}, max {:.1}, {} writes; budget 500 ms); peak RSS {}",
        ms(latencies[latencies.len() / 2]),
        ms(latencies[0]),
        ms(latencies[latencies.len() - 1]),
        latencies.len(),
        hwm.trim_start_matches("VmHWM:").trim()
    );
}
