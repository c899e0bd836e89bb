//! Checkpoints on git refs: rewrites and truncations after a checkpoint are found; push and
//! pull never force; several writers read together.

use paddock_ledger::remote::{Error as SyncError, RefStatus};
use paddock_ledger::{
    Entry, Filter, GitRepo, Kind, Ledger, LocalLedger, Options, Outcome, Tamper, VerifyOptions,
    checkpoint, pull, push, read_writers, verify,
};
use pretty_assertions::assert_eq;

use super::common::{all_records, entry, git, init_repo, opts, ranges};

const PREFIX: &str = "refs/paddock/ledger";

fn writer_opts(writer: &str) -> Options {
    Options {
        writer: writer.into(),
        ..opts()
    }
}

fn anchored(repo: &GitRepo, writer: &str) -> VerifyOptions {
    VerifyOptions::anchor(repo.clone(), format!("{PREFIX}/{writer}"))
}

#[test]
fn checkpoint_anchors_the_head_and_verify_reports_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = GitRepo::new(init_repo(tmp.path(), "repo"));
    let path = tmp.path().join("ledger.yaml");
    let mut ledger = Ledger::open(&path, writer_opts("w1")).expect("open");
    for i in 1..=5 {
        ledger.append(&entry(i)).expect("append");
    }
    let cp = ledger
        .checkpoint(&repo)
        .expect("checkpoint")
        .expect("not empty");
    assert_eq!(
        (
            cp.head.first_seq,
            cp.head.seq,
            cp.new_records,
            cp.parent.as_deref()
        ),
        (1, 5, 5, None)
    );
    assert_eq!(cp.ref_name, "refs/paddock/ledger/w1");

    // The checkpoint record itself is record 6, not yet anchored.
    let report = verify(&path, &anchored(&repo, "w1")).expect("verify");
    assert_eq!(report.outcome, Outcome::Ok);
    assert_eq!((report.records, report.not_checkpointed), (6, Some(1)));
    assert_eq!(report.checkpoint.as_ref().map(|c| c.seq), Some(5));
    assert_eq!(all_records(&path)[5].kind, Kind::Checkpoint);

    // Up to date: no new commit. Then more records: a second commit on top of the first.
    let again = checkpoint(&path, &repo, "refs/paddock/ledger/w1", "w1")
        .expect("checkpoint")
        .expect("some");
    assert_eq!(again.head.seq, 6);
    let same = checkpoint(&path, &repo, "refs/paddock/ledger/w1", "w1")
        .expect("checkpoint")
        .expect("some");
    assert_eq!(
        (same.new_records, same.head.commit.as_str()),
        (0, again.head.commit.as_str())
    );
    let count = git(
        tmp.path(),
        &[
            "--git-dir",
            "repo/.git",
            "rev-list",
            "--count",
            "refs/paddock/ledger/w1",
        ],
    );
    assert_eq!(count, "2");
    // The commit carries the exact bytes.
    let blob = git(
        tmp.path(),
        &[
            "--git-dir",
            "repo/.git",
            "show",
            "refs/paddock/ledger/w1:records.yaml",
        ],
    );
    let file = std::fs::read_to_string(&path).expect("read");
    assert_eq!(blob, file[ranges(&path)[5].clone()].trim_end());
}

#[test]
fn rewriting_the_whole_file_after_a_checkpoint_is_found() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = GitRepo::new(init_repo(tmp.path(), "repo"));
    let path = tmp.path().join("ledger.yaml");
    let mut ledger = Ledger::open(&path, writer_opts("w1")).expect("open");
    for i in 1..=5 {
        ledger.append(&entry(i)).expect("append");
    }
    checkpoint(&path, &repo, "refs/paddock/ledger/w1", "w1").expect("checkpoint");
    let original = std::fs::read(&path).expect("read");
    let record3 = ranges(&path)[2].clone();

    // The attacker keeps records 1-2, rewrites 3.. with a correct, recomputed chain.
    let forged = tmp.path().join("forged.yaml");
    std::fs::write(&forged, &original[..record3.start]).expect("write");
    let mut f = Ledger::open(&forged, writer_opts("w1")).expect("open");
    for i in 3..=6 {
        f.append(
            &Entry::new(
                Kind::Approval,
                &serde_json::json!({"what": "nothing happened", "n": i}),
            )
            .expect("entry"),
        )
        .expect("append");
    }
    std::fs::copy(&forged, &path).expect("copy");

    // The chain alone looks fine...
    assert!(
        verify(&path, &VerifyOptions::default())
            .expect("verify")
            .outcome
            .is_ok()
    );
    // ...the ref does not.
    let report = verify(&path, &anchored(&repo, "w1")).expect("verify");
    match report.outcome {
        Outcome::Tampered {
            first_bad_seq: 3,
            byte_offset,
            reason: Tamper::CheckpointMismatch {
                checkpoint_seq: 5, ..
            },
        } => {
            assert_eq!(byte_offset, record3.start as u64);
        }
        other => panic!("{other:?}"),
    }
    // And nobody anchors the forgery.
    assert!(matches!(
        checkpoint(&path, &repo, "refs/paddock/ledger/w1", "w1"),
        Err(paddock_ledger::checkpoint::Error::Tampered { seq: 3, .. })
    ));
}

#[test]
fn truncating_after_a_checkpoint_is_found() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = GitRepo::new(init_repo(tmp.path(), "repo"));
    let path = tmp.path().join("ledger.yaml");
    let mut ledger = Ledger::open(&path, writer_opts("w1")).expect("open");
    for i in 1..=5 {
        ledger.append(&entry(i)).expect("append");
    }
    checkpoint(&path, &repo, "refs/paddock/ledger/w1", "w1").expect("checkpoint");
    let r = ranges(&path);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    f.set_len(r[3].start as u64).expect("truncate");
    // A clean 3-record chain, but the ref anchors 5.
    assert!(
        verify(&path, &VerifyOptions::default())
            .expect("verify")
            .outcome
            .is_ok()
    );
    let report = verify(&path, &anchored(&repo, "w1")).expect("verify");
    assert_eq!(
        report.outcome,
        Outcome::Tampered {
            first_bad_seq: 4,
            byte_offset: r[3].start as u64,
            reason: Tamper::ShorterThanCheckpoint {
                checkpoint_seq: 5,
                commit: report
                    .checkpoint
                    .as_ref()
                    .map(|c| c.commit.clone())
                    .unwrap_or_default(),
                records: 3,
            },
        }
    );
}

fn clone_repo(parent: &std::path::Path, name: &str, remote: &std::path::Path) -> GitRepo {
    let git_dir = init_repo(parent, name);
    git(
        &parent.join(name),
        &[
            "remote",
            "add",
            "origin",
            remote.to_str().expect("utf-8 path"),
        ],
    );
    GitRepo::new(git_dir)
}

#[test]
fn push_and_pull_refuse_a_rewritten_history() {
    let tmp = tempfile::tempdir().expect("temp dir");
    git(tmp.path(), &["init", "-q", "--bare", "remote.git"]);
    let remote = tmp.path().join("remote.git");
    let a = clone_repo(tmp.path(), "a", &remote);
    let b = clone_repo(tmp.path(), "b", &remote);
    let path = tmp.path().join("a-ledger.yaml");
    let cp_ref = "refs/paddock/ledger/host-a";

    let mut ledger = Ledger::open(&path, writer_opts("host-a")).expect("open");
    ledger.append(&entry(1)).expect("append");
    checkpoint(&path, &a, cp_ref, "host-a").expect("checkpoint");
    let pushed = push(&a, "origin", PREFIX).expect("push");
    assert_eq!(
        pushed
            .refs
            .iter()
            .map(|r| (r.ref_name.as_str(), r.status))
            .collect::<Vec<_>>(),
        [(cp_ref, RefStatus::Created)]
    );

    ledger.append(&entry(2)).expect("append");
    checkpoint(&path, &a, cp_ref, "host-a").expect("checkpoint");
    assert_eq!(
        push(&a, "origin", PREFIX).expect("push").refs[0].status,
        RefStatus::FastForward
    );
    assert_eq!(
        pull(&b, "origin", PREFIX).expect("pull").refs[0].status,
        RefStatus::Created
    );
    let before_b = git(tmp.path(), &["--git-dir", "b/.git", "rev-parse", cp_ref]);

    // a checkpoints again without pushing: b is behind, a is ahead of the remote.
    ledger.append(&entry(3)).expect("append");
    checkpoint(&path, &a, cp_ref, "host-a").expect("checkpoint");
    let ahead = pull(&a, "origin", PREFIX).expect("pull");
    assert_eq!(ahead.refs[0].status, RefStatus::LocalAhead);

    // Someone on a rewrites the ledger and re-anchors it from scratch.
    std::fs::remove_file(&path).expect("rm");
    git(
        tmp.path(),
        &["--git-dir", "a/.git", "update-ref", "-d", cp_ref],
    );
    let mut forged = Ledger::open(&path, writer_opts("host-a")).expect("open");
    forged
        .append(
            &Entry::new(Kind::Approval, &serde_json::json!({"what": "all fine"})).expect("entry"),
        )
        .expect("append");
    checkpoint(&path, &a, cp_ref, "host-a").expect("checkpoint");
    match push(&a, "origin", PREFIX) {
        Err(SyncError::Rejected { refused, .. }) => assert_eq!(refused[0].ref_name, cp_ref),
        other => panic!("{other:?}"),
    }
    // Someone with access to the remote forces it there anyway: b refuses to follow.
    git(
        tmp.path(),
        &[
            "--git-dir",
            "a/.git",
            "push",
            "-q",
            "--force",
            "origin",
            &format!("{cp_ref}:{cp_ref}"),
        ],
    );
    match pull(&b, "origin", PREFIX) {
        Err(SyncError::Rejected { refused, .. }) => assert_eq!(refused[0].ref_name, cp_ref),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        git(tmp.path(), &["--git-dir", "b/.git", "rev-parse", cp_ref]),
        before_b
    );
}

#[test]
fn several_writers_read_together_in_time_writer_seq_order() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = GitRepo::new(init_repo(tmp.path(), "repo"));
    let t = |s: &str| format!("2025-01-01T00:00:{s}Z").parse().expect("time");
    let mut ledgers = Vec::new();
    for w in ["w-b", "w-a"] {
        let path = tmp.path().join(format!("{w}.yaml"));
        ledgers.push((
            w,
            path.clone(),
            Ledger::open(&path, writer_opts(w)).expect("open"),
        ));
    }
    let plan = [
        (0, "01"),
        (1, "01"),
        (0, "02"),
        (1, "03"),
        (1, "03"),
        (0, "04"),
    ];
    for (i, (which, secs)) in plan.iter().enumerate() {
        let (_, _, ledger) = &mut ledgers[*which];
        ledger
            .append(&entry(i as u64).time(t(secs)))
            .expect("append");
    }
    for (w, path, _) in &ledgers {
        checkpoint(path, &repo, &format!("{PREFIX}/{w}"), w).expect("checkpoint");
    }
    let all = read_writers(&repo, PREFIX, None, &Filter::new()).expect("read");
    let order: Vec<(String, u64)> = all
        .iter()
        .map(|r| (r.writer.clone(), r.record.seq))
        .collect();
    let expected: Vec<(String, u64)> = [
        ("w-a", 1),
        ("w-b", 1),
        ("w-b", 2),
        ("w-a", 2),
        ("w-a", 3),
        ("w-b", 3),
    ]
    .iter()
    .map(|(w, s)| (w.to_string(), *s))
    .collect();
    assert_eq!(order, expected);

    // The local writer is read from its file, which has what is not checkpointed yet.
    let (w, path, ledger) = &mut ledgers[0];
    ledger.append(&entry(9).time(t("05"))).expect("append");
    let all = read_writers(
        &repo,
        PREFIX,
        Some(LocalLedger { path, writer: w }),
        &Filter::new().kind("deny"),
    )
    .expect("read");
    assert_eq!(all.len(), 7);
    assert_eq!(
        all.last().map(|r| (r.writer.as_str(), r.record.seq)),
        Some(("w-b", 4))
    );
}

#[test]
fn checkpoint_is_due_by_count_and_its_own_record_does_not_count() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = GitRepo::new(init_repo(tmp.path(), "repo"));
    let path = tmp.path().join("ledger.yaml");
    let mut options = writer_opts("w1");
    options.checkpoint.every_records = 3;
    options.checkpoint.every = std::time::Duration::ZERO;
    let mut ledger = Ledger::open(&path, options).expect("open");
    ledger.append(&entry(1)).expect("append");
    ledger.append(&entry(2)).expect("append");
    assert!(!ledger.checkpoint_due());
    ledger.append(&entry(3)).expect("append");
    assert!(ledger.checkpoint_due());
    ledger.checkpoint(&repo).expect("checkpoint");
    assert!(!ledger.checkpoint_due());
    for i in 4..=6 {
        ledger.append(&entry(i)).expect("append");
    }
    assert!(ledger.checkpoint_due());
    // An empty ledger has nothing to anchor.
    let empty = tmp.path().join("empty.yaml");
    Ledger::open(&empty, writer_opts("w2")).expect("open");
    assert!(
        checkpoint(&empty, &repo, "refs/paddock/ledger/w2", "w2")
            .expect("checkpoint")
            .is_none()
    );
}
