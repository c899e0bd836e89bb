//! `paddock watch` against real file changes.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use super::harness::{TestRepo, paddock_in};

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_watcher_records_out_of_scope_changes_and_blocks_the_session() {
    let repo = TestRepo::new();
    let wt = PathBuf::from(
        repo.start("a", &["src/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    let mut child = paddock_in(&repo.root)
        .args(["watch", "--session", "a", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch starts");
    let stdout = child.stdout.take().expect("stdout");
    let _guard = Kill(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::sleep(Duration::from_millis(700));
    std::fs::write(wt.join("src/fine.rs"), "in scope\n").expect("w");
    // Created right after a fast mkdir -p: the case inotify alone misses.
    std::fs::create_dir_all(wt.join("docs/deep/er")).expect("mkdir");
    std::fs::write(wt.join("docs/deep/er/leak.md"), "out of scope\n").expect("w");

    let mut seen = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
        let finding: serde_json::Value = serde_json::from_str(&line).expect("json line");
        seen.push(finding["path"].as_str().expect("path").to_owned());
        if seen.iter().any(|p| p == "docs/deep/er/leak.md") {
            break;
        }
    }
    assert!(seen.iter().any(|p| p == "docs/deep/er/leak.md"), "{seen:?}");
    assert!(!seen.iter().any(|p| p.starts_with("src/")), "{seen:?}");
    let show = repo
        .paddock(&["session", "show", "a", "--json"])
        .ok()
        .json();
    assert_eq!(show["state"], "blocked");
    assert!(
        show["blocked_reason"]
            .as_str()
            .is_some_and(|r| r.contains("leak.md")),
        "{show}"
    );
}
