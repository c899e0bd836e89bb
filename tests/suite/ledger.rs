//! The ledger through the CLI: what sessions record, verify, tampering, checkpoints, paddock-rec.

use std::process::Command;

use super::harness::{TestRepo, hermetic};

fn kinds(repo: &TestRepo, args: &[&str]) -> Vec<String> {
    let mut all = vec!["ledger", "show", "--json"];
    all.extend_from_slice(args);
    let records = repo.paddock(&all).ok().json();
    records
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["kind"].as_str().expect("kind").to_owned())
        .collect()
}

#[test]
fn session_life_is_recorded_and_verifies() {
    let repo = TestRepo::new();
    repo.start("a", &["src/**"]);
    repo.paddock(&[
        "session", "start", "--id", "l", "--mode", "lock", "--scope", "docs/**",
    ])
    .ok();
    repo.paddock(&["session", "cancel", "a"]).ok();
    repo.paddock(&["session", "cancel", "l"]).ok();
    assert_eq!(
        kinds(&repo, &["--session", "a"]),
        vec!["session.started", "session.cancelled"]
    );
    assert_eq!(
        kinds(&repo, &["--session", "l"]),
        vec![
            "session.started",
            "lock.acquired",
            "session.cancelled",
            "lock.released"
        ]
    );
    let report = repo.paddock(&["ledger", "verify", "--json"]).ok().json();
    assert_eq!(report["outcome"]["outcome"], "ok");
    // Six session records, and a checkpoint record after each session ended.
    assert_eq!(report["records"], 8);
    assert_eq!(kinds(&repo, &["--kind", "checkpoint"]).len(), 2);
    let human = repo.paddock(&["ledger", "verify"]).ok();
    assert!(human.stdout().contains("ok"), "{}", human.stdout());
}

#[test]
fn a_flipped_byte_is_tampering_with_its_own_exit_code() {
    let repo = TestRepo::new();
    repo.start("a", &["src/**"]);
    repo.paddock(&["session", "cancel", "a"]).ok();
    let path = repo.state_dir().join("ledger.yaml");
    let mut bytes = std::fs::read(&path).expect("ledger");
    let at = bytes.iter().position(|b| *b == b'a').expect("an a");
    bytes[at] = b'b';
    std::fs::write(&path, &bytes).expect("write");
    let report = repo
        .paddock(&["ledger", "verify", "--json"])
        .fails(5)
        .json();
    assert_eq!(report["outcome"]["outcome"], "tampered");
    assert!(report["outcome"]["first_bad_seq"].as_u64().is_some());
    // Appends refuse, so nothing that needs a record happens.
    let run = repo
        .paddock(&["session", "start", "--id", "b", "--scope", "docs/**"])
        .fails(1);
    assert!(run.stderr().contains("ledger"), "{}", run.stderr());
    assert!(
        !repo.git_ok(&["show-ref", "--verify", "refs/heads/paddock/b"]),
        "nothing left behind"
    );
}

#[test]
fn a_torn_tail_has_its_own_exit_code_and_recovers() {
    let repo = TestRepo::new();
    repo.start("a", &["src/**"]);
    let path = repo.state_dir().join("ledger.yaml");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    std::io::Write::write_all(&mut file, b"---\nseq: 2\nprev: b3:00").expect("write");
    repo.paddock(&["ledger", "verify"]).fails(4);
    repo.paddock(&["ledger", "recover"]).ok();
    repo.paddock(&["ledger", "verify"]).ok();
    assert!(kinds(&repo, &[]).contains(&"recovered".to_owned()));
}

#[test]
fn rewriting_the_ledger_after_a_checkpoint_is_caught_against_the_ref() {
    let repo = TestRepo::new();
    repo.start("a", &["src/**"]);
    repo.paddock(&["session", "cancel", "a"]).ok();
    let cp = repo
        .paddock(&["ledger", "checkpoint", "--json"])
        .ok()
        .json();
    assert!(
        cp["ref_name"]
            .as_str()
            .is_some_and(|r| r.starts_with("refs/paddock/ledger/")),
        "{cp}"
    );
    // Throw the file away and build a new, internally consistent chain.
    std::fs::remove_file(repo.state_dir().join("ledger.yaml")).expect("rm");
    repo.start("b", &["docs/**"]);
    let report = repo
        .paddock(&["ledger", "verify", "--json"])
        .fails(5)
        .json();
    assert_eq!(report["outcome"]["outcome"], "tampered", "{report}");
}

#[test]
fn paddock_rec_appends_validated_records() {
    let repo = TestRepo::new();
    repo.start("a", &["src/**"]);
    let rec = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paddock-rec"));
        hermetic(&mut cmd).current_dir(&repo.root);
        cmd
    };
    let out = rec()
        .args(["note.review", "--session", "a", "verdict=ok", "score=3"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = repo
        .paddock(&["ledger", "show", "--kind", "note", "--json"])
        .ok()
        .json();
    assert_eq!(records[0]["data"]["verdict"], "ok");
    assert_eq!(records[0]["data"]["score"], 3);
    for bad in [
        vec!["Not A Kind", "x=1"],
        vec!["note.x", "novalue"],
        vec!["note.x", "--session", "nope", "a=1"],
        vec!["session.started", "a=1"],
        vec!["note.x", "a=1", "a=2"],
    ] {
        let out = rec().args(&bad).output().expect("runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    repo.paddock(&["ledger", "verify"]).ok();
}

#[test]
fn ledger_checkpoints_travel_through_a_remote_without_force() {
    let repo = TestRepo::new();
    let remote = repo.tmp.path().join("remote.git");
    repo.git(&["init", "-q", "--bare", remote.to_str().expect("utf8")]);
    repo.git(&["remote", "add", "origin", remote.to_str().expect("utf8")]);
    repo.start("a", &["src/**"]);
    repo.paddock(&["ledger", "checkpoint"]).ok();
    let pushed = repo.paddock(&["ledger", "push", "--json"]).ok().json();
    assert!(
        pushed["refs"][0]["ref_name"]
            .as_str()
            .is_some_and(|r| r.starts_with("refs/paddock/ledger/")),
        "{pushed}"
    );
    let all = repo
        .paddock(&["ledger", "show", "--all-writers", "--json"])
        .ok()
        .json();
    assert!(all.as_array().is_some_and(|a| !a.is_empty()));
}

#[test]
fn a_read_only_ledger_refuses_the_commands_that_need_it_and_leaves_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let repo = TestRepo::new();
    repo.start("a", &["src/**"]);
    let path = repo.state_dir().join("ledger.yaml");
    let before = std::fs::read(&path).expect("ledger");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let run = repo
        .paddock(&[
            "session", "start", "--id", "b", "--scope", "docs/**", "--json",
        ])
        .fails(1);
    assert_eq!(run.json()["error"]["kind"], "ledger");
    assert!(
        !repo.git_ok(&["show-ref", "--verify", "refs/heads/paddock/b"]),
        "no branch left behind"
    );
    assert!(
        !repo.tmp.path().join("repo.paddock/b").exists(),
        "no worktree left behind"
    );
    assert!(
        !repo.state_dir().join("sessions/b.yaml").exists(),
        "not registered"
    );
    repo.paddock(&["session", "cancel", "a"]).fails(1);
    assert_eq!(
        repo.paddock(&["session", "show", "a", "--json"])
            .ok()
            .json()["state"],
        "active"
    );
    assert_eq!(
        std::fs::read(&path).expect("ledger"),
        before,
        "nothing half-written"
    );
}

#[test]
fn the_ledger_is_checkpointed_when_a_session_ends() {
    let repo = TestRepo::new();
    repo.start("a", &["src/**"]);
    assert!(
        repo.git(&["for-each-ref", "refs/paddock/ledger/"])
            .is_empty()
    );
    repo.paddock(&["session", "cancel", "a"]).ok();
    assert!(
        !repo
            .git(&["for-each-ref", "refs/paddock/ledger/"])
            .is_empty(),
        "checkpointed at session end"
    );
    let report = repo.paddock(&["ledger", "verify", "--json"]).ok().json();
    assert!(
        report["checkpoint"]["seq"].as_u64().is_some_and(|s| s >= 2),
        "{report}"
    );
}

/// An error's cause is said once: the ledger's errors leave it to the chain, which the binaries
/// print (it used to read "...: No such file or directory (os error 2): No such file or
/// directory (os error 2)").
#[test]
fn an_unreadable_ledger_is_reported_once_per_cause() {
    let repo = TestRepo::new();
    repo.init();
    let ledger = repo.state_dir().join("ledger.yaml");
    std::fs::create_dir_all(&ledger).expect("a directory where the ledger goes");
    let cause = "Is a directory (os error 21)";
    for args in [
        &["ledger", "verify"][..],
        &["ledger", "show"],
        &["ledger", "export"],
    ] {
        let run = repo.paddock(args).fails(2);
        assert_eq!(
            run.stderr().matches(cause).count(),
            1,
            "{args:?}: {}",
            run.stderr()
        );
        assert!(
            run.stderr().contains(&ledger.display().to_string()),
            "{args:?}"
        );
    }
    let run = repo.paddock(&["ledger", "verify", "--json"]).fails(2);
    let message = run.json()["error"]["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_default();
    assert_eq!(message.matches(cause).count(), 1, "{message}");
    // paddock-rec renders its errors the same way.
    let out = super::harness::paddock_rec_in(&repo.root)
        .args(["note.x", "--data-file", "missing.yaml"])
        .output()
        .expect("paddock-rec runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr
            .matches("No such file or directory (os error 2)")
            .count(),
        1,
        "{stderr}"
    );
}

/// `paddock init` records nothing, so there is no ledger file yet: that is an empty ledger,
/// unless a checkpoint says records existed (then the file was deleted).
#[test]
fn a_ledger_not_yet_written_is_empty_and_a_deleted_one_is_tampered() {
    let repo = TestRepo::new();
    repo.init();
    let ledger = repo.state_dir().join("ledger.yaml");
    assert!(!ledger.exists(), "init records nothing");
    let verified = repo.paddock(&["ledger", "verify", "--json"]).ok().json();
    assert_eq!(verified["records"], 0, "{verified}");
    assert_eq!(repo.paddock(&["ledger", "show"]).ok().stdout(), "");
    assert_eq!(repo.paddock(&["ledger", "export"]).ok().stdout(), "");
    repo.paddock(&["session", "start", "--id", "a", "--scope", "src/**"])
        .ok();
    repo.paddock(&["ledger", "checkpoint"]).ok();
    std::fs::remove_file(&ledger).expect("delete the ledger");
    let run = repo.paddock(&["ledger", "verify"]).fails(5);
    assert!(run.stdout().contains("TAMPERED"), "{}", run.stdout());
}
