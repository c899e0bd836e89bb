//! The installed hook shims on real repositories and worktrees.

use std::path::PathBuf;
use std::process::Command;

use super::harness::{TestRepo, hermetic};

/// A repository with paddock's hooks and a session `a` on `src/**`.
fn guarded() -> (TestRepo, PathBuf) {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let json = repo.start("a", &["src/**"]);
    (
        repo,
        PathBuf::from(json["worktree"].as_str().expect("worktree")),
    )
}

/// Runs git in `dir` and returns (success, stderr).
fn git(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new("git");
    hermetic(&mut cmd).arg("-C").arg(dir).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("git runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &std::path::Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn state(repo: &TestRepo, id: &str) -> String {
    repo.paddock(&["session", "show", id, "--json"]).ok().json()["state"]
        .as_str()
        .expect("state")
        .to_owned()
}

#[test]
fn in_scope_commits_work_and_out_of_scope_ones_are_refused() {
    let (repo, wt) = guarded();
    write(&wt, "src/new.rs", "fn x() {}\n");
    assert!(git(&wt, &["add", "src/new.rs"], &[]).0);
    let (ok, err) = git(&wt, &["commit", "-q", "-m", "in scope"], &[]);
    assert!(ok, "{err}");
    let tip = repo.git_in(&wt, &["rev-parse", "HEAD"]);

    write(&wt, "docs/guide.md", "changed\n");
    assert!(git(&wt, &["add", "docs/guide.md"], &[]).0);
    let (ok, err) = git(&wt, &["commit", "-q", "-m", "out of scope"], &[]);
    assert!(!ok);
    assert!(
        err.contains("docs/guide.md") && err.contains("fs.write.outside-scope"),
        "{err}"
    );
    assert_eq!(
        repo.git_in(&wt, &["rev-parse", "HEAD"]),
        tip,
        "nothing committed"
    );
    assert_eq!(state(&repo, "a"), "blocked");
    // BLOCKED: even an in-scope commit waits for an operator.
    assert!(git(&wt, &["reset", "-q", "docs/guide.md"], &[]).0);
    write(&wt, "src/more.rs", "\n");
    assert!(git(&wt, &["add", "src/more.rs"], &[]).0);
    let (ok, err) = git(&wt, &["commit", "-q", "-m", "while blocked"], &[]);
    assert!(!ok && err.contains("BLOCKED"), "{err}");
    // An approval from inside the session is refused; the operator's works.
    repo.paddock_in(&wt, &["session", "unblock", "a", "--reason", "self"])
        .fails(1)
        .stderr_has("inside a session");
    repo.paddock(&["session", "unblock", "a", "--reason", "reviewed"])
        .ok();
    assert_eq!(state(&repo, "a"), "active");
    let (ok, err) = git(&wt, &["commit", "-q", "-m", "after unblock"], &[]);
    assert!(ok, "{err}");
}

#[test]
fn no_verify_is_still_refused_by_reference_transaction() {
    let (repo, wt) = guarded();
    let tip = repo.git_in(&wt, &["rev-parse", "HEAD"]);
    write(&wt, "README.md", "changed\n");
    let (ok, err) = git(&wt, &["commit", "-q", "--no-verify", "-am", "sneaky"], &[]);
    assert!(!ok);
    assert!(err.contains("README.md"), "{err}");
    assert_eq!(repo.git_in(&wt, &["rev-parse", "HEAD"]), tip);
}

#[test]
fn governance_changes_are_refused_even_in_scope() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let wt = PathBuf::from(
        repo.start("g", &[".handshake/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    write(&wt, ".handshake/gov/rules.md", "rewritten\n");
    let (ok, err) = git(&wt, &["commit", "-q", "-am", "gov"], &[]);
    assert!(!ok && err.contains("fs.write.protected"), "{err}");
    let (ok, err) = git(&wt, &["commit", "-q", "--no-verify", "-am", "gov"], &[]);
    assert!(!ok && err.contains("fs.write.protected"), "{err}");
}

#[test]
fn another_sessions_branch_and_worktree_are_off_limits() {
    let (repo, wt_a) = guarded();
    let wt_b = PathBuf::from(
        repo.start("b", &["docs/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    // `git -C` into b's worktree, acting as a.
    write(&wt_b, "docs/x.md", "x\n");
    assert!(git(&wt_b, &["add", "docs/x.md"], &[]).0);
    let (ok, err) = git(
        &wt_b,
        &["commit", "-q", "-m", "as a"],
        &[("PADDOCK_SESSION", "a")],
    );
    assert!(!ok && err.contains("session.cross-access"), "{err}");
    // Moving b's branch from a's worktree.
    let (ok, err) = git(&wt_a, &["update-ref", "refs/heads/paddock/b", "HEAD"], &[]);
    assert!(!ok && err.contains("belongs to session b"), "{err}");
    // Moving main from a session.
    let (ok, err) = git(&wt_a, &["update-ref", "refs/heads/main", "HEAD"], &[]);
    assert!(!ok && err.contains("target branch"), "{err}");
}

#[test]
fn commit_with_paths_uses_the_temporary_index() {
    let (repo, wt) = guarded();
    write(&wt, "docs/guide.md", "staged but not committed\n");
    assert!(git(&wt, &["add", "docs/guide.md"], &[]).0);
    write(&wt, "src/lib.rs", "changed\n");
    // Only src/lib.rs goes into this commit: allowed although docs/ is staged.
    let (ok, err) = git(&wt, &["commit", "-q", "-m", "only src", "src/lib.rs"], &[]);
    assert!(ok, "{err}");
    assert_eq!(
        repo.git_in(&wt, &["show", "--name-only", "--format=", "HEAD"]),
        "src/lib.rs"
    );
    // And committing the docs path alone is refused.
    let (ok, err) = git(&wt, &["commit", "-q", "-m", "docs", "docs/guide.md"], &[]);
    assert!(!ok && err.contains("docs/guide.md"), "{err}");
}

#[test]
fn merges_rebases_and_cherry_picks_of_out_of_scope_changes_are_refused() {
    let (repo, wt) = guarded();
    // An outside branch with a docs change, made in the main worktree by a person.
    repo.git(&["switch", "-q", "-c", "outside"]);
    repo.write("docs/guide.md", "outside\n");
    repo.git(&["commit", "-q", "-am", "docs change"]);
    repo.git(&["switch", "-q", "main"]);
    let tip = repo.git_in(&wt, &["rev-parse", "HEAD"]);
    for args in [
        vec!["cherry-pick", "outside"],
        vec!["merge", "--no-edit", "outside"],
        vec!["rebase", "outside"],
    ] {
        let (ok, err) = git(&wt, &args, &[]);
        assert!(!ok, "{args:?} should be refused");
        assert!(err.contains("docs/guide.md"), "{args:?}: {err}");
        let _ = git(&wt, &["cherry-pick", "--abort"], &[]);
        let _ = git(&wt, &["merge", "--abort"], &[]);
        let _ = git(&wt, &["rebase", "--abort"], &[]);
        assert!(
            git(&wt, &["reset", "-q", "--hard", "HEAD"], &[]).0,
            "cleanup"
        );
        // The branch never moved (a refused rebase may leave HEAD detached on its work).
        assert_eq!(
            repo.git(&["rev-parse", "refs/heads/paddock/a"]),
            tip,
            "{args:?}"
        );
        let _ = git(&wt, &["switch", "-q", "paddock/a"], &[]);
        repo.paddock(&["session", "unblock", "a", "--reason", "test"])
            .ok();
    }
}

#[test]
fn an_existing_hook_runs_first_and_uninstall_restores_it() {
    let repo = TestRepo::new();
    let hook = repo.root.join(".git/hooks/pre-commit");
    let original = "#!/bin/sh\n# the user's own hook\n[ -e .block ] && { echo user-hook-said-no >&2; exit 7; }\nexit 0\n";
    std::fs::write(&hook, original).expect("write");
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    repo.paddock(&["init"]).ok();
    repo.paddock(&["init"]).ok(); // idempotent: the shim is not kept as legacy of itself
    assert_eq!(
        std::fs::read_to_string(repo.root.join(".git/hooks/pre-commit.legacy")).expect("legacy"),
        original
    );
    let check = repo.paddock(&["init", "--check", "--json"]).ok().json();
    assert!(
        check["hooks"]
            .as_array()
            .expect("hooks")
            .iter()
            .all(|h| h["state"] == "installed"),
        "{check}"
    );

    repo.write(".block", "");
    repo.write("src/lib.rs", "changed\n");
    let (ok, err) = git(&repo.root, &["commit", "-q", "-am", "x"], &[]);
    assert!(!ok && err.contains("user-hook-said-no"), "{err}");
    std::fs::remove_file(repo.root.join(".block")).expect("rm");
    let (ok, err) = git(
        &repo.root,
        &["commit", "-q", "-am", "ordinary commit on main"],
        &[],
    );
    assert!(ok, "the main worktree's ordinary commits work: {err}");

    repo.paddock(&["init", "--uninstall"]).ok();
    assert_eq!(std::fs::read(&hook).expect("restored"), original.as_bytes());
    assert!(!repo.root.join(".git/hooks/pre-commit.legacy").exists());
    assert!(!repo.root.join(".git/hooks/reference-transaction").exists());
    let check = repo.paddock(&["init", "--check", "--json"]).fails(1).json();
    assert_eq!(check["hooks"][1]["state"], "missing");
}

#[test]
fn people_cannot_rewrite_or_delete_the_target_branch() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    repo.write("src/lib.rs", "one\n");
    repo.git(&["commit", "-q", "-am", "one"]);
    let (ok, err) = git(&repo.root, &["reset", "-q", "--hard", "HEAD~1"], &[]);
    assert!(!ok && err.contains("rewrites the history"), "{err}");
    let (ok, err) = git(
        &repo.root,
        &["commit", "-q", "--amend", "--allow-empty", "-m", "amended"],
        &[],
    );
    assert!(!ok && err.contains("rewrites the history"), "{err}");
    // Protected paths are refused for people too (a person may override with --no-verify).
    repo.write(".handshake/gov/rules.md", "edited\n");
    let (ok, err) = git(&repo.root, &["commit", "-q", "-am", "gov"], &[]);
    assert!(!ok && err.contains("fs.write.protected"), "{err}");
    let (ok, err) = git(
        &repo.root,
        &["commit", "-q", "--no-verify", "-am", "gov by an operator"],
        &[],
    );
    assert!(ok, "{err}");
}

#[test]
fn force_pushes_and_remote_deletions_are_refused() {
    let repo = TestRepo::new();
    let remote = repo.tmp.path().join("remote.git");
    repo.git(&["init", "-q", "--bare", remote.to_str().expect("utf8")]);
    repo.git(&["remote", "add", "origin", remote.to_str().expect("utf8")]);
    repo.git(&["push", "-q", "origin", "main", "main:side"]);
    repo.paddock(&["init"]).ok();
    repo.git(&["switch", "-q", "-c", "side"]);
    repo.git(&["commit", "-q", "--allow-empty", "-m", "rewrite me"]);
    repo.git(&["push", "-q", "origin", "side"]);
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    repo.git(&["commit", "-q", "--allow-empty", "-m", "diverged"]);
    let (ok, err) = git(
        &repo.root,
        &["push", "-q", "--force", "origin", "side"],
        &[],
    );
    assert!(!ok && err.contains("git.push.force"), "{err}");
    let (ok, err) = git(&repo.root, &["push", "-q", "origin", ":side"], &[]);
    assert!(!ok && err.contains("git.push.delete"), "{err}");
}

#[test]
fn a_global_hooks_path_is_refused() {
    let repo = TestRepo::new();
    let global = repo.tmp.path().join("gitconfig");
    std::fs::write(&global, "[core]\n\thooksPath = /tmp/elsewhere\n").expect("w");
    let out = super::harness::paddock_in(&repo.root)
        .env("GIT_CONFIG_GLOBAL", &global)
        .args(["init"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("core.hooksPath"));
    assert!(!repo.root.join(".git/hooks/pre-commit").exists());
}
