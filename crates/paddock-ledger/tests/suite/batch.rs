//! Batch mode: group commit bounded by count and delay.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use paddock_ledger::{BatchOptions, Durability, Ledger, Options, VerifyOptions, batch, verify};
use pretty_assertions::assert_eq;

use super::common::{entry, opts};

fn batch_opts(max_records: usize, max_delay: Duration) -> Options {
    Options {
        durability: Durability::Batch,
        batch: BatchOptions {
            max_records,
            max_delay,
        },
        ..opts()
    }
}

fn count(path: &std::path::Path) -> u64 {
    verify(path, &VerifyOptions::default())
        .expect("verify")
        .records
}

#[test]
fn flushes_when_full_and_on_finish() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let batch = Ledger::open(&path, batch_opts(10, Duration::from_secs(3600)))
        .expect("open")
        .batch();
    for i in 0..25 {
        batch.push(entry(i)).expect("push");
    }
    assert_eq!(count(&path), 20);
    assert_eq!(batch.pending(), 5);
    let ledger = batch.finish().expect("finish");
    assert_eq!(count(&path), 25);
    assert_eq!(ledger.head().map(|h| h.seq), Some(25));
}

#[test]
fn flushes_after_the_delay_without_more_pushes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let batch = Ledger::open(&path, batch_opts(1000, Duration::from_millis(20)))
        .expect("open")
        .batch();
    batch.push(entry(1)).expect("push");
    let start = Instant::now();
    while count(&path) == 0 {
        assert!(start.elapsed() < Duration::from_secs(5), "never flushed");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(batch.pending(), 0);
}

#[test]
fn flushes_on_drop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    {
        let batch = Ledger::open(&path, batch_opts(1000, Duration::from_secs(3600)))
            .expect("open")
            .batch();
        for i in 0..3 {
            batch.push(entry(i)).expect("push");
        }
    }
    assert_eq!(count(&path), 3);
}

#[test]
fn a_failed_flush_refuses_everything_after() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let batch = Ledger::open(&path, batch_opts(2, Duration::from_secs(3600)))
        .expect("open")
        .batch();
    batch.push(entry(1)).expect("push");
    batch.push(entry(2)).expect("push");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    batch.push(entry(3)).expect("buffered");
    assert!(matches!(
        batch.push(entry(4)),
        Err(batch::Error::Append { lost: 2, .. })
    ));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(matches!(
        batch.push(entry(5)),
        Err(batch::Error::Failed { lost: 2, .. })
    ));
    assert!(matches!(batch.flush(), Err(batch::Error::Failed { .. })));
    assert_eq!(count(&path), 2);
}

#[test]
fn batches_from_threads_keep_each_threads_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let batch = Ledger::open(&path, batch_opts(7, Duration::from_millis(1)))
        .expect("open")
        .batch();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let batch = &batch;
            s.spawn(move || {
                for i in 0..100 {
                    batch.push(entry(t * 1000 + i)).expect("push");
                }
            });
        }
    });
    batch.finish().expect("finish");
    let records = super::common::all_records(&path);
    assert_eq!(records.len(), 400);
    let mut last = [None; 4];
    for r in records {
        let n = r.data["n"].as_u64().expect("n");
        let t = (n / 1000) as usize;
        assert!(last[t].is_none_or(|l| l < n));
        last[t] = Some(n);
    }
}
