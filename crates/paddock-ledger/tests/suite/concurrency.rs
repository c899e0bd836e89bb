//! Many processes appending to one ledger at once.

use std::collections::BTreeSet;

use paddock_ledger::{Durability, Entry, Kind, Ledger, Options, VerifyOptions, verify};
use pretty_assertions::assert_eq;

use super::common::{all_records, child, opts};

const PROCS: u64 = 8;
const EACH: u64 = 150;

#[test]
fn eight_processes_append_at_once_and_every_record_is_there_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    // Half the processes append one record at a time, half in batches.
    let children: Vec<_> = (0..PROCS)
        .map(|p| {
            child("suite::concurrency::child_appender")
                .env("PADDOCK_LEDGER_TEST_PATH", &path)
                .env("PADDOCK_LEDGER_TEST_PROC", p.to_string())
                .env("PADDOCK_LEDGER_TEST_COUNT", EACH.to_string())
                .env(
                    "PADDOCK_LEDGER_TEST_BATCH",
                    if p % 2 == 0 { "0" } else { "1" },
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("CHILD DONE"),
            "child failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report = verify(&path, &VerifyOptions::default()).expect("verify");
    assert!(report.outcome.is_ok(), "{:?}", report.outcome);
    assert_eq!(report.records, PROCS * EACH);

    let records = all_records(&path);
    let mut seen = BTreeSet::new();
    let mut last_per_proc = vec![0u64; PROCS as usize];
    for r in &records {
        let p = r.data["proc"].as_u64().expect("proc");
        let n = r.data["n"].as_u64().expect("n");
        assert!(seen.insert((p, n)), "({p}, {n}) twice");
        // Each process's records appear in the order it appended them.
        assert!(n >= last_per_proc[p as usize], "process {p} out of order");
        last_per_proc[p as usize] = n;
    }
    assert_eq!(seen.len() as u64, PROCS * EACH);
}

#[test]
#[ignore = "run as a child process by eight_processes_append_at_once_and_every_record_is_there_once"]
fn child_appender() {
    let Some(path) = std::env::var_os("PADDOCK_LEDGER_TEST_PATH") else {
        return;
    };
    let var = |k: &str| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .expect("env")
    };
    let (proc_id, count, batch) = (
        var("PADDOCK_LEDGER_TEST_PROC"),
        var("PADDOCK_LEDGER_TEST_COUNT"),
        var("PADDOCK_LEDGER_TEST_BATCH") == 1,
    );
    let options = Options {
        durability: if batch {
            Durability::Batch
        } else {
            Durability::Never
        },
        batch: paddock_ledger::BatchOptions {
            max_records: 16,
            max_delay: std::time::Duration::from_millis(2),
        },
        ..opts()
    };
    let ledger = Ledger::open(&path, options).expect("open");
    let make = |n: u64| {
        Entry::new(
            Kind::DenyWrite,
            &serde_json::json!({"proc": proc_id, "n": n}),
        )
        .expect("entry")
    };
    if batch {
        let batch = ledger.batch();
        for n in 0..count {
            batch.push(make(n)).expect("push");
        }
        batch.finish().expect("finish");
    } else {
        let mut ledger = ledger;
        for n in 0..count {
            ledger.append(&make(n)).expect("append");
        }
    }
    println!("CHILD DONE");
}
