//! `paddock check` on the shared corpus and on the agent-tool payloads.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::Deserialize;

use super::harness::{TestRepo, paddock_in};

#[derive(Deserialize)]
struct Case {
    cmd: String,
    expect: String,
    why: String,
}

fn corpus() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/commands.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the shared corpus must be beside the repository at {}: {e}",
            path.display()
        )
    });
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("corpus line"))
        .collect()
}

/// The corpus situation: two live sessions in worktrees; the one under test has src/** and tests/**.
fn corpus_repo() -> (TestRepo, PathBuf, PathBuf) {
    let repo = TestRepo::new();
    let mine = PathBuf::from(
        repo.start("mine", &["src/**", "tests/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    let other = PathBuf::from(
        repo.start("other", &["docs/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    (repo, mine, other)
}

#[test]
fn every_corpus_case_through_paddock_check() {
    let (_repo, mine, other) = corpus_repo();
    let mut failures = Vec::new();
    let cases = corpus();
    assert!(cases.len() >= 80, "the corpus has {} cases", cases.len());
    for case in &cases {
        let cmd = case
            .cmd
            .replace("{OTHER}", other.to_str().expect("utf8"))
            .replace("{GOV}", ".handshake/gov");
        let out = paddock_in(&mine)
            .args(["check", "--json", "-c", &cmd])
            .output()
            .expect("runs");
        let code = out.status.code();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let got = match code {
            Some(0) => "allow",
            Some(1) => "deny",
            _ => "error",
        };
        if got != case.expect {
            failures.push(format!(
                "{} -> {got} (expected {}, {}): {}",
                case.cmd, case.expect, case.why, json["reason"]
            ));
        }
        if got == "deny" {
            assert!(
                json["rule"].is_string() && json["reason"].is_string(),
                "{json}"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn check_reports_rule_reason_word_and_position() {
    let (_repo, mine, _) = corpus_repo();
    let out = paddock_in(&mine)
        .args(["check", "--json", "-c", "git status && git reset --hard"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["decision"], "deny");
    assert_eq!(json["rule"], "git.discard");
    assert_eq!(json["session"], "mine");
    let (start, len) = (
        json["position"][0].as_u64().expect("s") as usize,
        json["position"][1].as_u64().expect("l") as usize,
    );
    let cmd = "git status && git reset --hard";
    assert!(
        cmd[start..start + len].contains("--hard") || cmd[start..start + len].contains("reset"),
        "{json}"
    );
    // Outside a repository it is an error, not an allow.
    let tmp = tempfile::tempdir().expect("tmp");
    let out = paddock_in(tmp.path())
        .args(["check", "-c", "true"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

fn hook(dir: &Path, format: &str, payload: serde_json::Value) -> serde_json::Value {
    let mut child = paddock_in(dir)
        .args(["check", "--format", format])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(payload.to_string().as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json out")
}

#[test]
fn claude_code_gemini_and_codex_payloads() {
    let (_repo, mine, other) = corpus_repo();
    let cwd = mine.to_str().expect("utf8");
    let decision = |v: &serde_json::Value| {
        v["hookSpecificOutput"]["permissionDecision"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    // Recorded shapes of each tool's pre-tool payload.
    let bash = |cmd: &str| serde_json::json!({"session_id": "s", "transcript_path": "/tmp/t", "cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": cmd, "description": "d"}});
    assert_eq!(
        decision(&hook(&mine, "claude-code", bash("git status"))),
        "allow"
    );
    let denied = hook(&mine, "claude-code", bash("git reset --hard"));
    assert_eq!(decision(&denied), "deny");
    assert!(
        denied["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .is_some_and(|r| r.contains("git.discard"))
    );
    let write = |path: String| serde_json::json!({"cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "Write", "tool_input": {"file_path": path, "content": "x"}});
    assert_eq!(
        decision(&hook(
            &mine,
            "claude-code",
            write(format!("{cwd}/src/new.rs"))
        )),
        "allow"
    );
    assert_eq!(
        decision(&hook(
            &mine,
            "claude-code",
            write(format!("{cwd}/docs/guide.md"))
        )),
        "deny"
    );
    let read = serde_json::json!({"cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "Read", "tool_input": {"file_path": format!("{}/src/lib.rs", other.display())}});
    assert_eq!(decision(&hook(&mine, "claude-code", read)), "deny");
    // Garbage is a denial, not an allow.
    let mut child = paddock_in(&mine)
        .args(["check", "--format", "claude-code"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"{not json")
        .expect("w");
    let out = child.wait_with_output().expect("wait");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(decision(&v), "deny");

    let gemini = |tool: &str, input: serde_json::Value| serde_json::json!({"session_id": "g", "cwd": cwd, "hook_event_name": "BeforeTool", "timestamp": "2026-11-22T00:00:00Z", "tool_name": tool, "tool_input": input});
    assert_eq!(
        hook(
            &mine,
            "gemini",
            gemini(
                "run_shell_command",
                serde_json::json!({"command": "ls src"})
            )
        )["decision"],
        "allow"
    );
    assert_eq!(
        hook(
            &mine,
            "gemini",
            gemini(
                "run_shell_command",
                serde_json::json!({"command": "git clean -fdx"})
            )
        )["decision"],
        "deny"
    );
    assert_eq!(
        hook(
            &mine,
            "gemini",
            gemini(
                "write_file",
                serde_json::json!({"file_path": "README.md", "content": "x"})
            )
        )["decision"],
        "deny"
    );

    let codex = |input: serde_json::Value| serde_json::json!({"session_id": "c", "cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "shell", "tool_input": input});
    assert_eq!(
        decision(&hook(
            &mine,
            "codex",
            codex(serde_json::json!({"command": ["bash", "-lc", "git status"]}))
        )),
        "allow"
    );
    assert_eq!(
        decision(&hook(
            &mine,
            "codex",
            codex(serde_json::json!({"command": ["git", "push", "--force"]}))
        )),
        "deny"
    );
    let patch = serde_json::json!({"cwd": cwd, "hook_event_name": "PreToolUse", "tool_name": "apply_patch", "tool_input": {"input": "*** Begin Patch\n*** Update File: docs/guide.md\n@@\n-a\n+b\n*** End Patch\n"}});
    assert_eq!(decision(&hook(&mine, "codex", patch)), "deny");
}

#[test]
fn git_aliases_from_the_repository_are_seen_through() {
    let (repo, mine, _) = corpus_repo();
    repo.git(&["config", "alias.nuke", "reset --hard"]);
    repo.git(&["config", "alias.st", "status"]);
    let code = |cmd: &str| {
        paddock_in(&mine)
            .args(["check", "-c", cmd])
            .output()
            .expect("runs")
            .status
            .code()
    };
    assert_eq!(code("git nuke"), Some(1));
    assert_eq!(code("git st"), Some(0));
}

#[test]
fn custom_policy_rules_are_applied_listed_and_approvable() {
    let repo = TestRepo::new();
    repo.write(
        ".paddock/policy.yaml",
        r#"version: 1
protected: [.handshake/gov/, .paddock/]
commands:
  custom:
    - {id: no-tf-destroy, argv: [terraform, destroy], action: deny, reason: "infra is managed by CI"}
    - {id: tf-apply-needs-ok, argv: [terraform, apply], action: approval, reason: "applying needs a person"}
"#,
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    let mine = repo.start_worktree("mine", &["src/**"]);

    let rules = repo.paddock(&["policy", "rules", "--json"]).ok().json();
    let custom: Vec<&serde_json::Value> = rules
        .as_array()
        .expect("a list")
        .iter()
        .filter(|r| r["custom"] == true)
        .collect();
    assert_eq!(custom.len(), 2, "{rules}");
    assert_eq!(custom[0]["id"], "no-tf-destroy");
    assert_eq!(
        custom[0]["argv"],
        serde_json::json!(["terraform", "destroy"])
    );
    assert_eq!(custom[0]["action"], "deny");
    assert_eq!(custom[1]["action"], "approval");
    let listed = repo.paddock(&["policy", "rules"]).ok().stdout();
    assert!(listed.contains("no-tf-destroy"), "{listed}");

    let check = |cmd: &str| {
        let out = paddock_in(&mine)
            .args(["check", "--json", "-c", cmd])
            .output()
            .expect("runs");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        (out.status.code(), json)
    };
    // Matched on the resolved words: behind a wrapper, in a nested shell, after a `cd`.
    let (code, json) = check("sudo sh -c 'cd src && /usr/bin/terraform destroy -auto-approve'");
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["decision"], "deny");
    assert_eq!(json["rule"], "no-tf-destroy");
    assert_eq!(json["word"], "/usr/bin/terraform destroy");
    assert!(
        json["reason"]
            .as_str()
            .is_some_and(|r| r.contains("infra is managed by CI")),
        "{json}"
    );
    assert_eq!(check("terraform plan").0, Some(0));
    assert_eq!(check("echo terraform destroy").0, Some(0));
    // A word only known at run time where the rule looks is refused like built-in rules do.
    let (code, json) = check("terraform $SUBCOMMAND");
    assert_eq!(
        (code, json["rule"].as_str()),
        (Some(1), Some("shell.dynamic"))
    );
    // The human rendering names the rule.
    let out = paddock_in(&mine)
        .args(["check", "-c", "terraform destroy"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("deny [no-tf-destroy]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `approval`: refused until an operator approves that rule for the session.
    let (code, json) = check("terraform apply");
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(
        (json["decision"].as_str(), json["rule"].as_str()),
        (Some("approval"), Some("tf-apply-needs-ok"))
    );
    repo.paddock(&[
        "approve",
        "rule",
        "--session",
        "mine",
        "--rule",
        "tf-apply-needs-ok",
        "--reason",
        "release day",
    ])
    .ok();
    let (code, json) = check("timeout 600 terraform apply");
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["findings"][0]["rule"], "tf-apply-needs-ok");
    assert_eq!(json["findings"][0]["approved"], true);
    // The approval covers that rule only.
    assert_eq!(check("terraform destroy").0, Some(1));
}
