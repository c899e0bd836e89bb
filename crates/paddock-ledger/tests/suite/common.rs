//! Shared helpers: ledgers in temp dirs, raw record forging, hermetic git, child processes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use paddock_ledger::{Durability, Entry, Kind, Ledger, Options, Record, RecordHash};
use tempfile::TempDir;

/// Options for tests: no fsync (speed), a fixed writer id.
pub fn opts() -> Options {
    Options {
        durability: Durability::Never,
        writer: "test-writer".into(),
        ..Options::default()
    }
}

/// A simple entry numbered `n`.
pub fn entry(n: u64) -> Entry {
    Entry::new(
        Kind::DenyCommand,
        &serde_json::json!({"command": format!("rm -rf /{n}"), "n": n, "rule": "rm-rf"}),
    )
    .expect("valid entry")
    .session(format!("s-{}", n % 3))
}

/// A temp dir with a ledger of `n` records at `<dir>/ledger.yaml`.
pub fn ledger_with(n: u64) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    for i in 1..=n {
        ledger.append(&entry(i)).expect("append");
    }
    (dir, path)
}

/// Every record of a (valid) ledger.
pub fn all_records(path: &Path) -> Vec<Record> {
    paddock_ledger::records(path, paddock_ledger::Filter::new())
        .expect("readable")
        .collect::<Result<Vec<_>, _>>()
        .expect("verifies")
}

/// Byte ranges of the records of a valid ledger.
pub fn ranges(path: &Path) -> Vec<std::ops::Range<usize>> {
    all_records(path)
        .iter()
        .map(|r| r.offset as usize..(r.offset + r.len) as usize)
        .collect()
}

/// Appends a hand-made record (`rest` = every line after `ts:`), hashed properly, so tests can
/// build chains the library would refuse to write.
pub fn forge(out: &mut Vec<u8>, seq: u64, prev: &RecordHash, ts: &str, rest: &str) -> RecordHash {
    let start = out.len();
    write!(out, "---\nseq: {seq}\nprev: {prev}\nts: {ts}\n{rest}").expect("vec write");
    let hash = RecordHash::of_record(&out[start..]);
    writeln!(out, "# {hash}").expect("vec write");
    hash
}

/// git with a scrubbed environment (no user or system config, fixed identity and dates).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env("GIT_AUTHOR_DATE", "2025-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A fresh repository `<parent>/<name>`; returns its git dir.
pub fn init_repo(parent: &Path, name: &str) -> PathBuf {
    git(parent, &["init", "-q", name]);
    parent.join(name).join(".git")
}

/// A command that runs one `#[ignore]`d test of this binary as a child process.
pub fn child(test: &str) -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([
        test,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd
}
