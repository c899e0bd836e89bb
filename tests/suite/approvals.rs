//! Operator approvals: refused from inside a session; exactly what they name gets through.

use std::path::PathBuf;
use std::process::Command;

use super::harness::{TestRepo, hermetic};

#[test]
fn approvals_from_inside_a_session_are_refused() {
    let repo = TestRepo::new();
    let a = PathBuf::from(
        repo.start("a", &["src/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    repo.start("b", &["docs/**"]);
    let run = repo
        .paddock_in(
            &a,
            &[
                "approve",
                "rule",
                "--session",
                "a",
                "--rule",
                "git.discard",
                "--reason",
                "me",
                "--json",
            ],
        )
        .fails(1);
    assert_eq!(run.json()["error"]["kind"], "inside-session");
    let out = super::harness::paddock_in(&repo.root)
        .env("PADDOCK_SESSION", "a")
        .args([
            "approve",
            "overlap",
            "--session",
            "a",
            "--with",
            "b",
            "--reason",
            "me",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside a session"));
    let list = repo.paddock(&["approve", "list", "--json"]).ok().json();
    assert_eq!(list.as_array().map(Vec::len), Some(0));
}

#[test]
fn an_overlap_approval_lets_exactly_that_pair_through() {
    let repo = TestRepo::new();
    repo.start("a", &["src/**"]);
    repo.start("b", &["docs/**"]);
    let approval = repo
        .paddock(&[
            "approve",
            "overlap",
            "--session",
            "c",
            "--with",
            "a",
            "--reason",
            "pairing",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(approval["grant"]["kind"], "overlap");
    assert_eq!(approval["by"].as_str().map(|s| !s.is_empty()), Some(true));
    // Approved against a, not against b.
    repo.paddock(&[
        "session",
        "start",
        "--id",
        "c",
        "--scope",
        "src/lib.rs",
        "docs/x.md",
    ])
    .fails(1)
    .stderr_has("\"b\"");
    repo.paddock(&["session", "start", "--id", "c", "--scope", "src/lib.rs"])
        .ok();
    // Another id gets nothing from it.
    repo.paddock(&["session", "start", "--id", "d", "--scope", "src/lib.rs"])
        .fails(1);
    assert_eq!(approval["session"], "c");
    // Revoked, an approval no longer applies.
    let other = repo
        .paddock(&[
            "approve",
            "overlap",
            "--session",
            "e",
            "--with",
            "a",
            "--reason",
            "r",
            "--json",
        ])
        .ok()
        .json();
    repo.paddock(&[
        "approve",
        "revoke",
        other["id"].as_str().expect("id"),
        "--reason",
        "changed my mind",
    ])
    .ok();
    repo.paddock(&["session", "start", "--id", "e", "--scope", "src/lib.rs"])
        .fails(1);
    let list = repo.paddock(&["approve", "list", "--json"]).ok().json();
    let revoked = list
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["session"] == "e")
        .expect("e's approval");
    assert!(revoked["revoked"].is_string(), "{list}");
}

#[test]
fn two_sessions_editing_the_same_lines_conflict_on_the_second_merge() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let a = PathBuf::from(
        repo.start("a", &["src/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    repo.paddock(&[
        "approve",
        "overlap",
        "--session",
        "b",
        "--with",
        "a",
        "--reason",
        "test",
    ])
    .ok();
    let b = PathBuf::from(
        repo.start("b", &["src/lib.rs"])["worktree"]
            .as_str()
            .expect("w"),
    );
    for (dir, text) in [(&a, "pub fn f() { a }\n"), (&b, "pub fn f() { b }\n")] {
        std::fs::write(dir.join("src/lib.rs"), text).expect("w");
        let out = hermetic(
            Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(["commit", "-q", "-am", "edit"]),
        )
        .output()
        .expect("git");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    repo.paddock(&["session", "finish", "a"]).ok();
    repo.paddock(&["session", "finish", "b"]).ok();
    repo.paddock(&["merge", "a"]).ok();
    let main = repo.git(&["rev-parse", "main"]);
    let out = repo.paddock(&["merge", "b", "--json"]).fails(3).json();
    assert_eq!(out["report"]["conflicts"][0]["path"], "src/lib.rs");
    assert_eq!(out["report"]["conflicts"][0]["kind"], "content");
    assert!(
        out["report"]["conflicts"][0]["ours_changed_by"]
            .as_str()
            .is_some_and(|s| s.contains("session a")),
        "{out}"
    );
    assert_eq!(repo.git(&["rev-parse", "main"]), main);
    assert_eq!(
        std::fs::read_to_string(b.join("src/lib.rs")).expect("r"),
        "pub fn f() { b }\n"
    );
}

#[test]
fn a_rule_approval_waives_that_rule_for_that_session_only() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let a = PathBuf::from(
        repo.start("a", &["src/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    let b = PathBuf::from(
        repo.start("b", &["tests/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    repo.paddock(&[
        "approve",
        "rule",
        "--session",
        "a",
        "--rule",
        "fs.write.outside-scope",
        "--reason",
        "docs typo",
    ])
    .ok();
    for (dir, ok) in [(&a, true), (&b, false)] {
        std::fs::write(dir.join("docs/guide.md"), "typo fixed\n").expect("w");
        let out = hermetic(
            Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(["commit", "-q", "-am", "docs"]),
        )
        .output()
        .expect("git");
        assert_eq!(
            out.status.success(),
            ok,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The protected rule was not approved: still refused for a.
    std::fs::write(a.join(".handshake/gov/rules.md"), "x\n").expect("w");
    let out = hermetic(
        Command::new("git")
            .arg("-C")
            .arg(&a)
            .args(["commit", "-q", "-am", "gov"]),
    )
    .output()
    .expect("git");
    assert!(!out.status.success());
}
