//! Sessions: start, list, show, cancel, gc, and every way they can be refused.

use std::path::{Path, PathBuf};
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

fn set_age(path: &Path, age: std::time::Duration) {
    let when = std::time::SystemTime::now() - age;
    std::fs::File::open(path)
        .expect("open")
        .set_modified(when)
        .expect("set mtime");
}

fn gc_items(repo: &TestRepo) -> Vec<serde_json::Value> {
    repo.paddock(&["session", "gc", "--json"])
        .ok()
        .json()
        .as_array()
        .expect("items")
        .clone()
}

// Issue D: the states `git worktree add` leaves when it is killed part-way, made directly.
// gc handles each of them (and the orphans after them), drops git's entry, and keeps what was
// written in a half-made worktree that is not the branch's.
#[test]
fn gc_handles_every_state_a_killed_worktree_creation_leaves() {
    let repo = TestRepo::new();
    repo.init();
    let root = repo.tmp.path().join("repo.paddock");
    let admin_root = repo.root.join(".git/worktrees");
    let add = |name: &str| {
        let path = root.join(name);
        repo.git(&[
            "worktree",
            "add",
            "-q",
            "-b",
            &format!("paddock/{name}"),
            path.to_str().expect("utf8"),
        ]);
        path
    };
    // Registered, but its `.git` file never written.
    let no_git = add("nogit");
    std::fs::remove_file(no_git.join(".git")).expect("rm");
    // Its entry not finished: HEAD not yet a commit, git's "initializing" lock still on it;
    // and a file in it that is nobody's checkout.
    let unborn = add("unborn");
    std::fs::write(
        admin_root.join("unborn/HEAD"),
        "0000000000000000000000000000000000000000\n",
    )
    .expect("HEAD");
    std::fs::write(admin_root.join("unborn/locked"), "initializing").expect("lock");
    std::fs::write(unborn.join("notes.txt"), "written in it\n").expect("write");
    // Only the branch and git's entry were made (no directory, no gitdir).
    let only_entry = admin_root.join("entryonly");
    std::fs::create_dir_all(&only_entry).expect("mkdir");
    std::fs::write(only_entry.join("locked"), "initializing").expect("lock");
    repo.git(&["branch", "paddock/entryonly"]);
    // The same, with no paddock branch: maybe someone's `git worktree add` at work.
    let foreign = admin_root.join("theirs");
    std::fs::create_dir_all(&foreign).expect("mkdir");
    std::fs::write(foreign.join("locked"), "initializing").expect("lock");
    // An orphan behind them all.
    repo.git(&["branch", "paddock/other"]);

    let items = gc_items(&repo);
    let item = |subject: &str| {
        items
            .iter()
            .find(|i| i["subject"] == subject)
            .unwrap_or_else(|| panic!("no item for {subject}: {items:?}"))
    };
    for dir in [&no_git, &unborn] {
        let it = item(dir.to_str().expect("utf8"));
        assert_eq!(it["kind"], "orphan-worktree", "{it}");
        assert_eq!(it["failed"], false, "{it}");
        assert!(!dir.exists());
    }
    assert_eq!(
        item(only_entry.to_str().expect("utf8"))["kind"],
        "orphan-admin-entry"
    );
    let theirs = item(foreign.to_str().expect("utf8"));
    assert!(
        theirs["action"]
            .as_str()
            .unwrap_or_default()
            .starts_with("left alone"),
        "{theirs}"
    );
    assert!(foreign.exists());
    assert_eq!(item("paddock/other")["kind"], "orphan-branch");
    assert!(!only_entry.exists());
    assert_eq!(
        repo.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1,
        "git lists no worktree but the main one"
    );
    assert_eq!(
        std::fs::read_dir(&admin_root)
            .map(|d| d.count())
            .unwrap_or(0),
        1,
        "no entry is left but the one that may not be paddock's"
    );
    assert_eq!(repo.git(&["for-each-ref", "refs/heads/paddock/"]), "");
    // What was written in the half-made worktree is kept.
    assert_eq!(
        repo.git(&["show", "refs/paddock/archive/orphan-unborn:notes.txt"]),
        "written in it"
    );
    // Nothing is left to find but that one.
    let again = gc_items(&repo);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["subject"], foreign.to_str().expect("utf8"));
}

// git's lock files left by a killed git make every later git command that needs them fail.
// gc names each one with its exact path and what to do, and removes only those that are old
// and open in no process; paddock's own lock files are not git's.
#[test]
fn gc_reports_stale_git_locks_and_removes_only_old_unused_ones() {
    let repo = TestRepo::new();
    repo.init();
    let wt = repo.start_worktree("a", &["src/**"]);
    let name = wt.file_name().expect("name").to_owned();
    let fresh_index = repo.root.join(".git/index.lock");
    let fresh_session = repo
        .root
        .join(".git/worktrees")
        .join(&name)
        .join("index.lock");
    let old_ref = repo.root.join(".git/refs/heads/paddock/a.lock");
    for lock in [&fresh_index, &fresh_session, &old_ref] {
        std::fs::write(lock, "").expect("lock");
    }
    set_age(&old_ref, std::time::Duration::from_secs(2 * 3600));

    let items = gc_items(&repo);
    let locks: Vec<&serde_json::Value> = items
        .iter()
        .filter(|i| i["kind"] == "stale-git-lock")
        .collect();
    assert_eq!(locks.len(), 3, "{items:?}");
    for lock in [&fresh_index, &fresh_session] {
        let shown = lock.to_str().expect("utf8");
        let it = locks
            .iter()
            .find(|i| i["subject"] == shown)
            .unwrap_or_else(|| panic!("{shown} not reported: {items:?}"));
        let action = it["action"].as_str().expect("action");
        assert!(action.starts_with("left alone"), "{it}");
        assert!(action.contains(&format!("rm '{shown}'")), "{it}");
        assert!(lock.exists(), "a young lock is left alone");
    }
    let it = locks
        .iter()
        .find(|i| i["subject"] == old_ref.to_str().expect("utf8"))
        .unwrap_or_else(|| panic!("{items:?}"));
    assert!(
        it["action"]
            .as_str()
            .expect("action")
            .starts_with("removed"),
        "{it}"
    );
    assert!(!old_ref.exists());
    assert!(repo.state_dir().join("registry.lock").exists());
}

// The private temp directory a session gets in a temp dir that holds the repository goes when
// the session ends, unless a session with the same id may be at work (its name is not this
// repository's alone), and gc removes one a crash left behind.
#[test]
fn private_temp_dirs_of_ended_sessions_are_removed() {
    let repo = TestRepo::new();
    let tmp = repo.tmp.path().canonicalize().expect("canonical");
    repo.write(
        ".paddock/policy.yaml",
        &format!("version: 1\nscratch:\n  system: [{}]\n", tmp.display()),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    repo.init();
    // Ids no test running at the same time has.
    let [a, b, c] = ["a", "b", "c"].map(|n| format!("tmp{n}{}", std::process::id()));
    for (id, scope) in [(&a, "src/**"), (&b, "docs/**"), (&c, "tests/**")] {
        repo.start(id, &[scope]);
    }
    let private = |id: &str| tmp.join(format!("paddock-{id}"));
    for id in [&a, &b, &c] {
        std::fs::create_dir_all(private(id).join("sub")).expect("mkdir");
        std::fs::write(private(id).join("sub/f"), "x").expect("write");
    }
    repo.paddock(&["session", "cancel", &a]).ok();
    assert!(!private(&a).exists(), "removed when the session ends");
    assert!(private(&b).exists(), "a live session keeps its own");

    // Another repository's session with the same id at work (a process in its worktree).
    let elsewhere = tmp.join("other.paddock").join(&c);
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    let mut busy = std::process::Command::new("sleep")
        .arg("30")
        .current_dir(&elsewhere)
        .spawn()
        .expect("sleep");
    repo.paddock(&["session", "cancel", &c]).ok();
    let _ = busy.kill();
    let _ = busy.wait();
    assert!(private(&c).exists(), "left alone while it may be in use");

    // Ended, still there (a crash between the two, or it was in use): gc removes it. One that
    // changed after the session ended may be another repository's session's: left alone.
    std::fs::create_dir_all(private(&a)).expect("mkdir");
    set_age(&private(&a), std::time::Duration::from_secs(3600));
    set_age(&private(&c), std::time::Duration::from_secs(3600));
    repo.paddock(&["session", "cancel", &b]).ok();
    std::fs::create_dir_all(private(&b)).expect("mkdir");
    std::fs::File::open(private(&b))
        .expect("open")
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .expect("set mtime");
    let items = gc_items(&repo);
    let action = |id: &str| {
        let shown = private(id).display().to_string();
        items
            .iter()
            .find(|i| i["kind"] == "private-tmp" && i["subject"] == shown.as_str())
            .and_then(|i| i["action"].as_str())
            .unwrap_or_else(|| panic!("no item for {shown}: {items:?}"))
            .to_owned()
    };
    assert!(action(&a).starts_with("removed"), "{items:?}");
    assert!(action(&c).starts_with("removed"), "{items:?}");
    assert!(action(&b).starts_with("left alone"), "{items:?}");
    assert!(!private(&a).exists());
    assert!(!private(&c).exists());
    assert!(private(&b).exists());
}
