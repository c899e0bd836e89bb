//! Sessions: start, list, show, cancel, gc, and every way they can be refused.

use std::path::PathBuf;
use std::process::Stdio;

use super::harness::{TestRepo, paddock_in};

#[test]
fn two_sessions_get_their_own_worktrees_outside_the_main_one() {
    let repo = TestRepo::new();
    let a = repo.start("a", &["src/**"]);
    let b = repo.start("b", &["tests/**", "docs/"]);
    for (json, id) in [(&a, "a"), (&b, "b")] {
        assert_eq!(json["id"], id);
        assert_eq!(json["mode"], "worktree");
        assert_eq!(json["state"], "active");
        assert_eq!(json["branch"], format!("paddock/{id}"));
        assert_eq!(json["base"], repo.git(&["rev-parse", "HEAD"]));
        assert!(json["expires"].as_str().is_some_and(|e| e.ends_with('Z')));
        let worktree = PathBuf::from(json["worktree"].as_str().expect("worktree"));
        assert_eq!(
            worktree,
            repo.tmp
                .path()
                .canonicalize()
                .expect("c")
                .join("repo.paddock")
                .join(id)
        );
        assert!(
            !worktree.starts_with(&repo.root),
            "never nested inside the main worktree"
        );
        assert!(worktree.join("src/lib.rs").is_file());
        assert_eq!(
            repo.git_in(&worktree, &["branch", "--show-current"]),
            format!("paddock/{id}")
        );
    }
    assert_eq!(b["scope"], serde_json::json!(["tests/**", "docs/"]));
    let list = repo.paddock(&["session", "list", "--json"]).ok().json();
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let shown = repo
        .paddock(&["session", "show", "b", "--json"])
        .ok()
        .json();
    assert_eq!(shown, b);
    // Every worktree sees the same registry.
    let from_worktree = repo
        .paddock_in(
            &PathBuf::from(a["worktree"].as_str().expect("w")),
            &["session", "list", "--json"],
        )
        .ok()
        .json();
    assert_eq!(from_worktree, list);
}

#[test]
fn a_session_without_scope_is_refused() {
    let repo = TestRepo::new();
    repo.paddock(&["session", "start", "--id", "x"])
        .fails(2)
        .stderr_has("declare its scope");
    assert!(repo.registry_snapshot().is_empty());
    assert!(!repo.git_ok(&["show-ref", "--verify", "refs/heads/paddock/x"]));
}

#[test]
fn scopes_that_escape_the_repository_are_refused() {
    let repo = TestRepo::new();
    for bad in ["../x/**", "/etc/**", "src/../../x", ""] {
        let run = repo
            .paddock(&["session", "start", "--id", "x", "--scope", bad, "--json"])
            .fails(2);
        assert_eq!(run.json()["error"]["kind"], "invalid-scope", "{bad:?}");
    }
    assert!(repo.registry_snapshot().is_empty());
}

#[test]
fn bad_ids_unknown_ids_and_duplicates() {
    let repo = TestRepo::new();
    repo.paddock(&["session", "start", "--id", "a/b", "--scope", "src/**"])
        .fails(2)
        .stderr_has("may only contain");
    repo.paddock(&["session", "show", "nope"])
        .fails(2)
        .stderr_has("no session \"nope\"");
    repo.paddock(&["session", "cancel", "nope", "--json"])
        .fails(2);
    repo.start("a", &["src/**"]);
    let before = repo.registry_snapshot();
    let run = repo
        .paddock(&[
            "session", "start", "--id", "a", "--scope", "docs/**", "--json",
        ])
        .fails(2);
    assert_eq!(run.json()["error"]["kind"], "duplicate-id");
    assert_eq!(repo.registry_snapshot(), before);
}

#[test]
fn outside_a_repository_is_an_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run = super::harness::TestRepo::new();
    drop(run);
    let out = paddock_in(tmp.path())
        .args(["session", "list", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["error"]["kind"], "not-a-repository");
}

#[test]
fn dirty_or_detached_main_worktree_is_refused() {
    let repo = TestRepo::new();
    repo.write("src/lib.rs", "changed\n");
    repo.paddock(&["session", "start", "--id", "a", "--scope", "src/**"])
        .fails(1)
        .stderr_has("src/lib.rs");
    assert!(repo.registry_snapshot().is_empty());
    repo.paddock(&[
        "session",
        "start",
        "--id",
        "a",
        "--scope",
        "src/**",
        "--allow-dirty",
    ])
    .ok();
    repo.git(&["checkout", "-q", "--", "src/lib.rs"]);
    repo.git(&["checkout", "-q", "--detach"]);
    repo.paddock(&["session", "start", "--id", "b", "--scope", "docs/**"])
        .fails(1)
        .stderr_has("detached");
}

#[test]
fn an_existing_worktree_path_is_refused_and_nothing_is_left() {
    let repo = TestRepo::new();
    let path = repo.tmp.path().join("repo.paddock/a");
    std::fs::create_dir_all(&path).expect("mkdir");
    std::fs::write(path.join("keep.txt"), "mine").expect("write");
    repo.paddock(&["session", "start", "--id", "a", "--scope", "src/**"])
        .fails(2)
        .stderr_has("already exists");
    assert_eq!(
        std::fs::read_to_string(path.join("keep.txt")).expect("kept"),
        "mine"
    );
    assert!(!repo.git_ok(&["show-ref", "--verify", "refs/heads/paddock/a"]));
    assert!(repo.registry_snapshot().is_empty());
}

#[test]
fn no_isolation_is_refused_unless_the_policy_allows_lock_fallback() {
    let repo = TestRepo::new();
    // A worktree root that is a file: no worktree can be made there.
    std::fs::write(repo.tmp.path().join("blocker"), "file").expect("write");
    let policy = format!(
        "version: 1\nisolation:\n  worktree_root: {}\n",
        repo.tmp.path().join("blocker").display()
    );
    repo.write(".paddock/policy.yaml", &policy);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    let run = repo
        .paddock(&[
            "session", "start", "--id", "a", "--scope", "src/**", "--json",
        ])
        .fails(1);
    assert_eq!(run.json()["error"]["kind"], "no-isolation");
    assert!(repo.registry_snapshot().is_empty());
    assert!(!repo.git_ok(&["show-ref", "--verify", "refs/heads/paddock/a"]));
    assert_eq!(
        repo.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );

    repo.write(
        ".paddock/policy.yaml",
        &format!("{policy}  lock_fallback: true\n"),
    );
    repo.git(&["commit", "-q", "-am", "fallback"]);
    let json = repo
        .paddock(&[
            "session", "start", "--id", "a", "--scope", "src/**", "--json",
        ])
        .ok()
        .json();
    assert_eq!(json["mode"], "lock");
    assert_eq!(json["worktree"], repo.root.to_string_lossy().as_ref());
}

#[test]
fn overlapping_scopes_are_refused_exactly() {
    let repo = TestRepo::new();
    repo.start("a", &["src/**/*.rs"]);
    // Disjoint by the exact semantics, though a prefix heuristic would call them overlapping.
    repo.paddock(&[
        "session",
        "start",
        "--id",
        "b",
        "--mode",
        "lock",
        "--scope",
        "src/gen/*.txt",
    ])
    .ok();
    let run = repo
        .paddock(&[
            "session",
            "start",
            "--id",
            "c",
            "--mode",
            "lock",
            "--scope",
            "src/*/mod.rs",
            "--json",
        ])
        .fails(1);
    let err = run.json();
    assert_eq!(err["error"]["kind"], "scope-overlap");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"a\"") && m.contains("mod.rs")),
        "{err}"
    );
    // Once a is cancelled its scope is free again.
    repo.paddock(&["session", "cancel", "a"]).ok();
    repo.paddock(&[
        "session",
        "start",
        "--id",
        "c",
        "--mode",
        "lock",
        "--scope",
        "src/*/mod.rs",
    ])
    .ok();
}

#[test]
fn cancel_archives_committed_and_uncommitted_work_then_removes_the_worktree() {
    let repo = TestRepo::new();
    let json = repo.start("a", &["src/**"]);
    let worktree = PathBuf::from(json["worktree"].as_str().expect("w"));
    std::fs::write(worktree.join("src/committed.rs"), "c\n").expect("w");
    repo.git_in(&worktree, &["add", "src/committed.rs"]);
    repo.git_in(&worktree, &["commit", "-q", "-m", "work"]);
    std::fs::write(worktree.join("src/lib.rs"), "edited\n").expect("w");
    std::fs::write(worktree.join("src/untracked.rs"), "u\n").expect("w");

    let out = repo
        .paddock(&["session", "cancel", "a", "--json"])
        .ok()
        .json();
    assert_eq!(out["session"]["state"], "cancelled");
    assert_eq!(out["archived"]["archive_ref"], "refs/paddock/archive/a");
    assert_eq!(out["archived"]["uncommitted"], true);
    assert!(!worktree.exists());
    assert!(!repo.git_ok(&["show-ref", "--verify", "refs/heads/paddock/a"]));
    assert_eq!(
        repo.git(&["show", "refs/paddock/archive/a:src/untracked.rs"]),
        "u"
    );
    assert_eq!(
        repo.git(&["show", "refs/paddock/archive/a:src/lib.rs"]),
        "edited"
    );
    assert_eq!(
        repo.git(&["show", "refs/paddock/archive/a:src/committed.rs"]),
        "c"
    );
    // The main worktree and its branch are untouched.
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    repo.paddock(&["session", "cancel", "a"])
        .fails(1)
        .stderr_has("cancelled");
}

#[test]
fn cancel_with_nothing_unmerged_archives_nothing() {
    let repo = TestRepo::new();
    repo.start("a", &["src/**"]);
    let out = repo
        .paddock(&["session", "cancel", "a", "--json"])
        .ok()
        .json();
    assert_eq!(out["archived"]["archive_ref"], serde_json::Value::Null);
    assert!(!repo.git_ok(&["show-ref", "--verify", "refs/paddock/archive/a"]));
}

#[test]
fn gc_expires_sessions_and_reports_orphans() {
    let repo = TestRepo::new();
    let expired = repo
        .paddock(&[
            "session", "start", "--id", "old", "--scope", "src/**", "--ttl", "1s", "--json",
        ])
        .ok()
        .json();
    std::fs::write(
        PathBuf::from(expired["worktree"].as_str().expect("w")).join("src/x.rs"),
        "x",
    )
    .expect("w");
    let vanished = repo.start("gone", &["docs/**"]);
    std::fs::remove_dir_all(vanished["worktree"].as_str().expect("w")).expect("rm");
    repo.git(&["branch", "paddock/stray"]);
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "--no-track",
        "-b",
        "paddock/lost",
        repo.tmp
            .path()
            .join("repo.paddock/lost")
            .to_str()
            .expect("utf8"),
    ]);
    std::fs::write(
        repo.tmp.path().join("repo.paddock/lost/README.md"),
        "lost work\n",
    )
    .expect("w");
    std::fs::create_dir_all(repo.tmp.path().join("repo.paddock/random")).expect("mkdir");
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let items = repo.paddock(&["session", "gc", "--json"]).ok().json();
    let kinds: Vec<(&str, &str)> = items
        .as_array()
        .expect("array")
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().expect("k"),
                i["subject"].as_str().expect("s"),
            )
        })
        .collect();
    assert!(
        kinds
            .iter()
            .any(|(k, s)| *k == "expired-session" && *s == "old"),
        "{items}"
    );
    assert!(
        kinds
            .iter()
            .any(|(k, s)| *k == "vanished-worktree" && s.starts_with("gone")),
        "{items}"
    );
    assert!(
        kinds
            .iter()
            .any(|(k, s)| *k == "orphan-branch" && *s == "paddock/stray"),
        "{items}"
    );
    assert!(
        kinds
            .iter()
            .any(|(k, s)| *k == "orphan-worktree" && s.ends_with("lost")),
        "{items}"
    );
    assert!(
        kinds
            .iter()
            .any(|(k, s)| *k == "orphan-dir" && s.ends_with("random")),
        "{items}"
    );
    assert_eq!(
        repo.paddock(&["session", "show", "old", "--json"])
            .ok()
            .json()["state"],
        "expired"
    );
    assert_eq!(
        repo.git(&["show", "refs/paddock/archive/old:src/x.rs"]),
        "x"
    );
    assert_eq!(
        repo.git(&["show", "refs/paddock/archive/orphan-lost:README.md"]),
        "lost work"
    );
    assert!(
        repo.tmp.path().join("repo.paddock/random").exists(),
        "gc never deletes what is not a worktree"
    );
    // A second run finds nothing but the directory it leaves alone.
    let again = repo.paddock(&["session", "gc", "--json"]).ok().json();
    assert_eq!(again.as_array().map(Vec::len), Some(1), "{again}");
}

#[test]
fn a_corrupt_registry_file_is_an_error_not_a_guess() {
    let repo = TestRepo::new();
    repo.start("a", &["src/**"]);
    let file = repo.state_dir().join("sessions/a.yaml");
    std::fs::write(&file, "id: [unclosed\n").expect("w");
    let run = repo.paddock(&["session", "list", "--json"]).fails(2);
    assert_eq!(run.json()["error"]["kind"], "corrupt-registry");
    repo.paddock(&["session", "start", "--id", "b", "--scope", "docs/**"])
        .fails(2)
        .stderr_has("corrupt");
    assert_eq!(
        std::fs::read_to_string(&file).expect("r"),
        "id: [unclosed\n",
        "left as it was"
    );
}

#[test]
fn twenty_sessions_started_at_once_all_succeed() {
    let repo = TestRepo::new();
    let children: Vec<_> = (0..20)
        .map(|i| {
            paddock_in(&repo.root)
                .args([
                    "session",
                    "start",
                    "--json",
                    "--id",
                    &format!("s{i}"),
                    "--scope",
                    &format!("area{i}/**"),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = repo.paddock(&["session", "list", "--json"]).ok().json();
    assert_eq!(list.as_array().map(Vec::len), Some(20));
    assert_eq!(
        repo.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        21
    );
}

#[test]
fn concurrent_starts_and_cancels_never_corrupt_the_registry() {
    let repo = TestRepo::new();
    for i in 0..6 {
        repo.start(&format!("c{i}"), &[&format!("old{i}/**")]);
    }
    let mut children = Vec::new();
    for i in 0..6 {
        children.push(
            paddock_in(&repo.root)
                .args(["session", "cancel", &format!("c{i}")])
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn"),
        );
        children.push(
            paddock_in(&repo.root)
                .args([
                    "session",
                    "start",
                    "--id",
                    &format!("n{i}"),
                    "--scope",
                    &format!("new{i}/**"),
                ])
                .stderr(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn"),
        );
    }
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = repo.paddock(&["session", "list", "--json"]).ok().json();
    let states: Vec<(String, String)> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().expect("id").to_owned(),
                s["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect();
    assert_eq!(states.len(), 12);
    for (id, state) in states {
        assert_eq!(
            state,
            if id.starts_with('c') {
                "cancelled"
            } else {
                "active"
            },
            "{id}"
        );
    }
}
