//! Merge-back: finish, merge, conflicts.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::harness::{TestRepo, hermetic};

fn worktree(json: &serde_json::Value) -> PathBuf {
    PathBuf::from(json["worktree"].as_str().expect("worktree"))
}

fn commit(dir: &Path, file: &str, text: &str, message: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().expect("p")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    for args in [vec!["add", file], vec!["commit", "-q", "-m", message]] {
        let out = hermetic(Command::new("git").arg("-C").arg(dir).args(&args))
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every file of a tree, for byte-identical before/after checks.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                out.push((
                    path.strip_prefix(base).expect("prefix").to_owned(),
                    std::fs::read(&path).expect("read"),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn disjoint_sessions_finish_and_merge_in_either_order() {
    for order in [["a", "b"], ["b", "a"]] {
        let repo = TestRepo::new();
        repo.paddock(&["init"]).ok();
        let a = worktree(&repo.start("a", &["src/**"]));
        let b = worktree(&repo.start("b", &["docs/**"]));
        commit(&a, "src/lib.rs", "pub fn f() { /* a */ }\n", "a work");
        commit(&b, "docs/guide.md", "# guide, by b\n", "b work");
        for id in order {
            let out = repo
                .paddock(&["session", "finish", id, "--json"])
                .ok()
                .json();
            let dir = PathBuf::from(out["artifact"].as_str().expect("artifact"));
            assert!(dir.join("change.patch").is_file() && dir.join("provenance.yaml").is_file());
            assert_eq!(out["provenance"]["session"], id);
            assert_eq!(out["provenance"]["scope_check"], "passed");
            assert_eq!(out["provenance"]["files"].as_array().map(Vec::len), Some(1));
            assert_eq!(
                out["provenance"]["patch_blake3"].as_str().map(str::len),
                Some(64)
            );
            assert_eq!(
                out["provenance"]["patch_id"].as_str().map(str::len),
                Some(40)
            );
        }
        for id in order {
            let out = repo.paddock(&["merge", id, "--json"]).ok().json();
            assert_eq!(out["session"]["state"], "merged");
            assert_eq!(out["merged"]["how"], "merge-commit");
            assert_eq!(
                out["merged"]["archive_ref"],
                format!("refs/paddock/archive/{id}")
            );
        }
        assert_eq!(
            std::fs::read_to_string(repo.path("src/lib.rs")).expect("r"),
            "pub fn f() { /* a */ }\n"
        );
        assert_eq!(
            std::fs::read_to_string(repo.path("docs/guide.md")).expect("r"),
            "# guide, by b\n"
        );
        assert_eq!(
            repo.git(&["status", "--porcelain"]),
            "",
            "the main worktree follows the target"
        );
        assert!(!a.exists() && !b.exists());
        let log = repo.git(&["log", "--format=%s", "main"]);
        assert!(
            log.contains("paddock: merge session a") && log.contains("paddock: merge session b"),
            "{log}"
        );
    }
}

#[test]
fn the_artifact_patch_applies_with_git_am() {
    let repo = TestRepo::new();
    let a = worktree(&repo.start("a", &["src/**"]));
    commit(&a, "src/lib.rs", "changed\n", "text");
    std::fs::write(a.join("src/blob.bin"), [0u8, 159, 146, 150, 255]).expect("w");
    commit(&a, "src/blob.bin", "\0\u{9f}binary\u{ff}", "binary");
    let out = repo
        .paddock(&["session", "finish", "a", "--json"])
        .ok()
        .json();
    let patch = PathBuf::from(out["artifact"].as_str().expect("a")).join("change.patch");
    let clone = repo.tmp.path().join("clone");
    repo.git(&[
        "clone",
        "-q",
        repo.root.to_str().expect("utf8"),
        clone.to_str().expect("utf8"),
    ]);
    repo.git_in(&clone, &["am", "-q", patch.to_str().expect("utf8")]);
    assert_eq!(
        std::fs::read(clone.join("src/blob.bin")).expect("r"),
        "\0\u{9f}binary\u{ff}".as_bytes()
    );
}

#[test]
fn a_conflicting_merge_changes_nothing_and_blocks() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let a = worktree(&repo.start("a", &["src/**"]));
    commit(&a, "src/lib.rs", "pub fn f() { session }\n", "session edit");
    repo.paddock(&["session", "finish", "a"]).ok();
    // Meanwhile a person changes the same line on main.
    repo.write("src/lib.rs", "pub fn f() { person }\n");
    repo.git(&["commit", "-q", "-am", "person edit"]);

    let main_before = repo.git(&["rev-parse", "main"]);
    let branch_before = repo.git(&["rev-parse", "paddock/a"]);
    let main_tree = snapshot(&repo.root);
    let session_tree = snapshot(&a);
    let run = repo.paddock(&["merge", "a", "--json"]).fails(3);
    let out = run.json();
    assert_eq!(out["blocked"], true);
    let conflict = &out["report"]["conflicts"][0];
    assert_eq!(conflict["path"], "src/lib.rs");
    assert_eq!(conflict["kind"], "content");
    assert!(
        conflict["base"].is_string()
            && conflict["ours"].is_string()
            && conflict["theirs"].is_string()
    );
    assert!(
        conflict["ours_changed_by"]
            .as_str()
            .is_some_and(|s| s.contains("person edit")),
        "{conflict}"
    );
    assert!(
        run.stderr().contains("src/lib.rs (content)"),
        "{}",
        run.stderr()
    );
    assert!(PathBuf::from(out["report_file"].as_str().expect("f")).is_file());

    assert_eq!(repo.git(&["rev-parse", "main"]), main_before);
    assert_eq!(repo.git(&["rev-parse", "paddock/a"]), branch_before);
    assert_eq!(snapshot(&repo.root), main_tree);
    assert_eq!(snapshot(&a), session_tree);
    let show = repo
        .paddock(&["session", "show", "a", "--json"])
        .ok()
        .json();
    assert_eq!(show["state"], "blocked");
    assert!(
        show["blocked_reason"]
            .as_str()
            .is_some_and(|r| r.contains("conflict"))
    );
    // Blocked: merging again is refused until an operator clears it.
    repo.paddock(&["merge", "a"]).fails(1).stderr_has("blocked");
}

#[test]
fn out_of_scope_work_committed_without_hooks_is_refused_at_finish() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let a = worktree(&repo.start("a", &["src/**"]));
    std::fs::write(a.join("README.md"), "sneaked in\n").expect("w");
    let out = hermetic(Command::new("git").arg("-C").arg(&a).args([
        "-c",
        "core.hooksPath=/dev/null",
        "commit",
        "-q",
        "-am",
        "no hooks",
    ]))
    .output()
    .expect("git");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = repo.paddock(&["session", "finish", "a", "--json"]).fails(1);
    assert_eq!(run.json()["error"]["kind"], "out-of-scope");
    assert!(run.stderr().contains("README.md"));
    assert_eq!(
        repo.paddock(&["session", "show", "a", "--json"])
            .ok()
            .json()["state"],
        "blocked"
    );
    assert!(!repo.state_dir().join("artifacts/a/change.patch").exists());
}

#[test]
fn finish_refuses_uncommitted_work_unless_asked_to_commit_it() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let a = worktree(&repo.start("a", &["src/**"]));
    std::fs::write(a.join("src/new.rs"), "new\n").expect("w");
    let run = repo.paddock(&["session", "finish", "a", "--json"]).fails(1);
    assert_eq!(run.json()["error"]["kind"], "uncommitted");
    assert!(run.stderr().contains("src/new.rs"));
    repo.paddock(&["merge", "a"])
        .fails(1)
        .stderr_has("finish it first");
    let out = repo
        .paddock(&["session", "finish", "a", "--commit-all", "--json"])
        .ok()
        .json();
    assert_eq!(out["provenance"]["files"][0]["path"], "src/new.rs");
    assert_eq!(out["provenance"]["files"][0]["status"], "A");
    // A commit after finishing makes the artifact stale.
    commit(&a, "src/later.rs", "later\n", "after finish");
    repo.paddock(&["merge", "a"])
        .fails(1)
        .stderr_has("finish a` again");
    repo.paddock(&["session", "finish", "a"]).ok();
    repo.paddock(&["merge", "a"]).ok();
    assert!(repo.path("src/later.rs").is_file());
}

#[test]
fn status_shows_live_sessions_with_ahead_and_behind() {
    let repo = TestRepo::new();
    let a = worktree(&repo.start("a", &["src/**"]));
    commit(&a, "src/x.rs", "x\n", "one");
    repo.write("docs/guide.md", "moved\n");
    repo.git(&["commit", "-q", "-am", "main moves"]);
    let rows = repo.paddock(&["status", "--json"]).ok().json();
    assert_eq!(rows[0]["session"]["id"], "a");
    assert_eq!(rows[0]["ahead"], 1);
    assert_eq!(rows[0]["behind"], 1);
    let human = repo.paddock(&["status"]).ok();
    assert!(
        human.stdout().contains("1 ahead, 1 behind main"),
        "{}",
        human.stdout()
    );
}

#[test]
fn a_target_that_moves_during_the_merge_is_never_overwritten() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let a = worktree(&repo.start("a", &["src/**"]));
    commit(&a, "src/lib.rs", "pub fn f() { a }\n", "a work");
    repo.paddock(&["session", "finish", "a"]).ok();
    // Another writer keeps moving main (with compare-and-swap, as git itself does) meanwhile.
    let root = repo.root.clone();
    let mover = std::thread::spawn(move || {
        let mut made = Vec::new();
        for i in 0..40 {
            let git = |args: &[&str]| {
                let out = hermetic(Command::new("git").arg("-C").arg(&root).args(args))
                    .output()
                    .expect("git");
                (
                    out.status.success(),
                    String::from_utf8_lossy(&out.stdout).trim().to_owned(),
                )
            };
            let (_, old) = git(&["rev-parse", "main"]);
            let (_, tree) = git(&["rev-parse", "main^{tree}"]);
            let (_, new) = git(&[
                "commit-tree",
                &tree,
                "-p",
                &old,
                "-m",
                &format!("concurrent {i}"),
            ]);
            if git(&["update-ref", "refs/heads/main", &new, &old]).0 {
                made.push(new);
            }
        }
        made
    });
    let run = repo.paddock(&["merge", "a", "--json"]);
    let made = mover.join().expect("mover");
    assert!(
        run.code() == 0 || run.code() == 1,
        "merged, or refused because main kept moving: {}",
        run.stderr()
    );
    for commit in &made {
        assert!(
            repo.git_ok(&["merge-base", "--is-ancestor", commit, "main"]),
            "{commit} was overwritten"
        );
    }
    if run.code() == 0 {
        let merged = run.json();
        let new = merged["merged"]["new"].as_str().expect("new");
        assert!(
            repo.git_ok(&["merge-base", "--is-ancestor", new, "main"]),
            "the merge is on main"
        );
        assert!(
            repo.git(&["show", "main:src/lib.rs"]).contains("a }"),
            "the session's work is in"
        );
    } else {
        assert_eq!(run.json()["error"]["kind"], "target-moving");
    }
}

/// Merges of several sessions at once: each one moves the target and brings the main checkout
/// along under one lock, so none of them finds git's `index.lock` taken by another, and the
/// checkout ends up matching the target.
#[test]
fn concurrent_merges_all_land_and_leave_the_checkout_matching_the_target() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let ids: Vec<String> = (0..4).map(|i| format!("c{i}")).collect();
    for id in &ids {
        let scope = format!("{id}/**");
        let wt = worktree(&repo.start(id, &[&scope]));
        for n in 0..3 {
            commit(
                &wt,
                &format!("{id}/f{n}.txt"),
                &format!("{id} {n}\n"),
                "work",
            );
        }
        repo.paddock(&["session", "finish", id]).ok();
    }
    let runs: Vec<_> = ids
        .iter()
        .map(|id| {
            super::harness::paddock_in(&repo.root)
                .args(["merge", id])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("paddock runs")
        })
        .collect();
    for (id, run) in ids.iter().zip(runs) {
        let out = run.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "merge {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("failed"),
            "merge {id} warned: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(repo.state(id), "merged");
    }
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=no"]),
        "",
        "the main checkout matches main"
    );
    for id in &ids {
        for n in 0..3 {
            assert_eq!(
                std::fs::read_to_string(repo.path(&format!("{id}/f{n}.txt"))).expect("read"),
                format!("{id} {n}\n")
            );
        }
    }
}

/// A repository with session `a` finished: it changes `src/lib.rs`, adds `src/new.rs` and
/// deletes `src/a/mod.rs`. Returns the session head.
fn finished_session(repo: &TestRepo) -> String {
    repo.paddock(&["init"]).ok();
    let a = worktree(&repo.start("a", &["src/**"]));
    commit(&a, "src/lib.rs", "pub fn f() { a }\n", "a: change");
    commit(&a, "src/new.rs", "// new\n", "a: add");
    let out = hermetic(
        Command::new("git")
            .arg("-C")
            .arg(&a)
            .args(["rm", "-q", "src/a/mod.rs"]),
    )
    .output()
    .expect("git");
    assert!(out.status.success());
    let out =
        hermetic(
            Command::new("git")
                .arg("-C")
                .arg(&a)
                .args(["commit", "-q", "-m", "a: delete"]),
        )
        .output()
        .expect("git");
    assert!(out.status.success());
    repo.paddock(&["session", "finish", "a"]).ok();
    repo.git_in(&a, &["rev-parse", "HEAD"])
}

/// The main checkout as the merge leaves it: matching main, with the session's files.
fn assert_checkout_merged(repo: &TestRepo) {
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "the main checkout matches main"
    );
    assert_eq!(
        std::fs::read_to_string(repo.path("src/lib.rs")).expect("read"),
        "pub fn f() { a }\n"
    );
    assert!(repo.path("src/new.rs").is_file());
    assert!(!repo.path("src/a/mod.rs").exists());
    assert!(
        !repo.path("src/a").exists(),
        "the emptied directory goes too"
    );
}

// Issue C: with the checkout's `index.lock` taken, the target moves and the checkout cannot
// follow. That used to be a warning on a successful merge, and the checkout stayed behind for
// good; now it is an error that says where things stand, and running the merge again finishes
// it.
#[test]
fn a_checkout_that_cannot_be_updated_is_an_error_and_merging_again_finishes_the_job() {
    let repo = TestRepo::new();
    let head = finished_session(&repo);
    let before = repo.git(&["rev-parse", "main"]);
    let lock = repo.path(".git/index.lock");
    std::fs::write(&lock, "").expect("lock");

    let run = repo.paddock(&["merge", "a"]).fails(2);
    let stderr = run.stderr();
    for text in [
        "is merged: main now points at",
        "index.lock",
        "nothing is lost",
        "`paddock merge a` again",
    ] {
        assert!(stderr.contains(text), "{text:?} in {stderr}");
    }
    assert!(repo.git_ok(&["merge-base", "--is-ancestor", &head, "main"]));
    assert_eq!(repo.state("a"), "merging");
    let status = repo.paddock(&["status"]).ok().stdout();
    assert!(status.contains("paddock merge a"), "{status}");
    // Another merge into main waits for this one: it finishes it first.
    std::fs::remove_file(&lock).expect("unlock");

    let again = repo.paddock(&["merge", "a", "--json"]).ok().json();
    assert_eq!(again["session"]["state"], "merged");
    assert_eq!(again["merged"]["resumed"], true);
    assert_eq!(again["merged"]["old"].as_str(), Some(before.as_str()));
    assert_checkout_merged(&repo);
    assert!(repo.git_ok(&["show-ref", "--verify", "refs/paddock/archive/a"]));
    assert!(!repo.git_ok(&["show-ref", "--verify", "refs/heads/paddock/a"]));
    let done = repo.records(Some("merge.done"));
    assert!(!done.is_empty());
}

// Issue A: an update of the checkout that was cut short (some files new, one missing or only
// partly written, the index still as before) is completed by `session gc`.
#[test]
fn gc_completes_a_checkout_update_that_was_cut_short() {
    // What a `read-tree -u` killed part-way leaves: git removes each file and writes the new
    // one in its place.
    type Cut = fn(&TestRepo);
    let cuts: [(&str, Cut); 3] = [
        ("one file written, the others not yet", |repo| {
            std::fs::write(repo.path("src/lib.rs"), "pub fn f() { a }\n").expect("write");
        }),
        ("a file removed, not yet written again", |repo| {
            std::fs::remove_file(repo.path("src/lib.rs")).expect("rm");
        }),
        ("files cut short while written", |repo| {
            std::fs::write(repo.path("src/lib.rs"), "pub fn f(").expect("write");
            std::fs::write(repo.path("src/new.rs"), "").expect("write");
        }),
    ];
    for (what, cut) in cuts {
        let repo = TestRepo::new();
        finished_session(&repo);
        let lock = repo.path(".git/index.lock");
        std::fs::write(&lock, "").expect("lock");
        repo.paddock(&["merge", "a"]).fails(2);
        std::fs::remove_file(&lock).expect("unlock");
        cut(&repo);

        let items = repo.paddock(&["session", "gc", "--json"]).ok().json();
        let item = items
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["kind"] == "interrupted-merge")
            .unwrap_or_else(|| panic!("{what}: {items}"))
            .clone();
        assert_eq!(item["subject"], "a", "{what}");
        assert_eq!(item["failed"], false, "{what}: {item}");
        assert_eq!(repo.state("a"), "merged", "{what}");
        assert_checkout_merged(&repo);
    }
}

// Issue A, and never losing a person's work: local changes to a path the merge changed are
// not overwritten when the merge is finished; the message says what to do, and once done the
// merge finishes.
#[test]
fn finishing_a_merge_never_overwrites_local_changes_to_merged_paths() {
    let repo = TestRepo::new();
    finished_session(&repo);
    let before = repo.git(&["rev-parse", "main"]);
    let lock = repo.path(".git/index.lock");
    std::fs::write(&lock, "").expect("lock");
    repo.paddock(&["merge", "a"]).fails(2);
    std::fs::remove_file(&lock).expect("unlock");
    std::fs::write(repo.path("src/lib.rs"), "pub fn f() { mine }\n").expect("write");

    let run = repo.paddock(&["merge", "a"]).fails(2);
    let stderr = run.stderr();
    for text in ["local changes", "src/lib.rs", "checkout", "paddock merge a"] {
        assert!(stderr.contains(text), "{text:?} in {stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(repo.path("src/lib.rs")).expect("read"),
        "pub fn f() { mine }\n"
    );
    assert_eq!(repo.state("a"), "merging");
    // gc reports it, and leaves it as it is.
    let gc = repo.paddock(&["session", "gc", "--json"]).fails(2);
    let items = gc.json();
    assert!(
        items
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["kind"] == "interrupted-merge" && i["failed"] == true),
        "{items}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.path("src/lib.rs")).expect("read"),
        "pub fn f() { mine }\n"
    );

    // As the message says: put the file back as it was, and merge again.
    repo.git(&["checkout", &before, "--", "src/lib.rs"]);
    repo.paddock(&["merge", "a"]).ok();
    assert_eq!(repo.state("a"), "merged");
    assert_checkout_merged(&repo);
}

// A merge recorded in the registry whose target never moved (cut short before the
// compare-and-swap): gc takes the session back to finished, and it merges as usual.
#[test]
fn a_recorded_merge_that_never_moved_the_target_goes_back_to_finished() {
    let repo = TestRepo::new();
    let head = finished_session(&repo);
    let main = repo.git(&["rev-parse", "main"]);
    let file = repo.state_dir().join("sessions/a.yaml");
    let text = std::fs::read_to_string(&file).expect("read");
    let text = text.replace("state: finished", "state: merging");
    let text = format!(
        "{text}merging:\n  target: main\n  old: {main}\n  new: {head}\n  head: {head}\n  how: merge-commit\n"
    );
    std::fs::write(&file, text).expect("write");
    assert_eq!(repo.state("a"), "merging");

    let items = repo.paddock(&["session", "gc", "--json"]).ok().json();
    let action = items[0]["action"].as_str().unwrap_or_default().to_owned();
    assert!(action.contains("never moved main"), "{items}");
    assert_eq!(repo.state("a"), "finished");
    assert_eq!(repo.git(&["rev-parse", "main"]), main);
    repo.paddock(&["merge", "a"]).ok();
    assert_checkout_merged(&repo);
}

// Issue B: a finished session whose work is on the target already and whose worktree is gone
// (what a merge cut short after removing the worktree left) ends merged, not cancelled.
#[test]
fn gc_records_a_finished_session_whose_work_is_on_the_target_as_merged() {
    let repo = TestRepo::new();
    let head = finished_session(&repo);
    repo.git(&["merge", "-q", "--no-ff", "-m", "by hand", "paddock/a"]);
    let wt = repo.tmp.path().join("repo.paddock/a");
    std::fs::remove_dir_all(&wt).expect("rm");

    let items = repo.paddock(&["session", "gc", "--json"]).ok().json();
    let item = items
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["kind"] == "vanished-worktree")
        .unwrap_or_else(|| panic!("{items}"))
        .clone();
    assert!(
        item["action"]
            .as_str()
            .unwrap_or_default()
            .starts_with("merged"),
        "{item}"
    );
    assert_eq!(repo.state("a"), "merged");
    assert_eq!(
        repo.git(&["rev-parse", "refs/paddock/archive/a"]),
        head,
        "the branch is kept, as a merge keeps it"
    );
    assert!(!repo.git_ok(&["show-ref", "--verify", "refs/heads/paddock/a"]));
    assert_eq!(
        repo.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );
}

/// `session a` finished (see [`finished_session`]), then `prepare` run in the main checkout:
/// the merge is refused before anything moves when that leaves a local change on a path the
/// merge changes, and goes through, keeping every local change, when it does not.
fn merge_after(prepare: impl FnOnce(&TestRepo), refused: bool) -> TestRepo {
    let repo = TestRepo::new();
    finished_session(&repo);
    let main = repo.git(&["rev-parse", "main"]);
    prepare(&repo);
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    let run = repo.paddock(&["merge", "a", "--json"]);
    if refused {
        let run = run.fails(1);
        assert_eq!(
            run.json()["error"]["kind"],
            "checkout-dirty",
            "{}",
            run.stderr()
        );
        assert_eq!(repo.git(&["rev-parse", "main"]), main, "main did not move");
        assert_eq!(repo.state("a"), "finished");
    } else {
        run.ok();
        assert_eq!(repo.state("a"), "merged");
        assert_eq!(
            std::fs::read_to_string(repo.path("src/lib.rs")).expect("read"),
            "pub fn f() { a }\n"
        );
    }
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        status,
        "the local changes are as they were"
    );
    repo
}

// The check before the target moves looks only at the paths the merge changes, and shows most
// of them unchanged without git: whatever it cannot show unchanged, git looks at.
#[test]
fn local_changes_to_merged_paths_refuse_the_merge_before_anything_moves() {
    type Prepare = fn(&TestRepo);
    let refused: [(&str, Prepare); 9] = [
        ("a changed file", |repo| {
            repo.write("src/lib.rs", "pub fn f() { mine }\n")
        }),
        ("a staged change", |repo| {
            repo.write("src/lib.rs", "pub fn f() { mine }\n");
            repo.git(&["add", "src/lib.rs"]);
        }),
        ("a change staged, the file put back", |repo| {
            repo.write("src/lib.rs", "pub fn f() { mine }\n");
            repo.git(&["add", "src/lib.rs"]);
            repo.write("src/lib.rs", "pub fn f() {}\n");
        }),
        ("a file the merge deletes, deleted", |repo| {
            std::fs::remove_file(repo.path("src/a/mod.rs")).expect("rm")
        }),
        ("a file the merge deletes, untracked", |repo| {
            repo.git(&["rm", "-q", "--cached", "src/a/mod.rs"]);
        }),
        ("an untracked file where the merge adds one", |repo| {
            repo.write("src/new.rs", "// mine\n")
        }),
        (
            "untracked files in a directory where the merge adds a file",
            |repo| repo.write("src/new.rs/notes.txt", "mine\n"),
        ),
        (
            "a file marked intent-to-add where the merge adds one",
            |repo| {
                repo.write("src/new.rs", "// mine\n");
                repo.git(&["add", "-N", "src/new.rs"]);
            },
        ),
        ("a change that kept the size and the mtime", |repo| {
            let path = repo.path("src/lib.rs");
            let mtime = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("mtime");
            std::fs::write(&path, "pub fn g() {}\n").expect("write");
            let file = std::fs::File::options()
                .write(true)
                .open(&path)
                .expect("open");
            file.set_modified(mtime).expect("set mtime");
        }),
    ];
    for (what, prepare) in refused {
        eprintln!("{what}");
        let repo = merge_after(prepare, true);
        // The split index git writes for big checkouts is read too.
        if what == "a changed file" {
            repo.git(&["update-index", "--split-index"]);
            repo.paddock(&["merge", "a"]).fails(1);
            repo.git(&["checkout", "--", "src/lib.rs"]);
            repo.paddock(&["merge", "a"]).ok();
            assert_checkout_merged(&repo);
        }
    }
    let merged: [(&str, Prepare); 4] = [
        ("nothing", |_| {}),
        ("a merged file touched, its content as it was", |repo| {
            let path = repo.path("src/lib.rs");
            let text = std::fs::read(&path).expect("read");
            std::thread::sleep(std::time::Duration::from_millis(20));
            std::fs::write(&path, text).expect("write");
        }),
        ("changes to paths the merge does not change", |repo| {
            repo.write("README.md", "# mine\n");
            repo.write("docs/guide.md", "# mine too\n");
            repo.git(&["add", "docs/guide.md"]);
            repo.write("notes.txt", "mine\n");
        }),
        ("a split index", |repo| {
            repo.git(&["update-index", "--split-index"]);
        }),
    ];
    for (what, prepare) in merged {
        eprintln!("{what}");
        merge_after(prepare, false);
    }
}
