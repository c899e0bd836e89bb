//! Damage anywhere is found, named, and stops appends.

use paddock_ledger::{
    Ledger, OpenCheck, Options, Outcome, Tamper, VerifyOptions, append, open, verify,
};
use pretty_assertions::assert_eq;

use super::common::{entry, forge, ledger_with, opts, ranges};

fn outcome(path: &std::path::Path) -> Outcome {
    verify(path, &VerifyOptions::default())
        .expect("verify runs")
        .outcome
}

#[test]
fn flipping_any_byte_names_its_record() {
    let (_dir, path) = ledger_with(4);
    let original = std::fs::read(&path).expect("read");
    let ranges = ranges(&path);
    for mask in [0x01u8, 0x20, 0x80] {
        for at in 0..original.len() {
            let mut damaged = original.clone();
            damaged[at] ^= mask;
            std::fs::write(&path, &damaged).expect("write");
            let record = ranges
                .iter()
                .position(|r| r.contains(&at))
                .expect("byte is in a record");
            match outcome(&path) {
                Outcome::Tampered {
                    first_bad_seq,
                    byte_offset,
                    ..
                } => {
                    assert_eq!(
                        (first_bad_seq, byte_offset),
                        (record as u64 + 1, ranges[record].start as u64),
                        "flip {mask:#x} at byte {at}"
                    );
                }
                other => panic!("flip {mask:#x} at byte {at}: {other:?}"),
            }
        }
    }
}

fn with_records(path: &std::path::Path, order: &[usize]) {
    let original = std::fs::read(path).expect("read");
    let ranges = ranges(path);
    let mut out = Vec::new();
    for &i in order {
        out.extend_from_slice(&original[ranges[i].clone()]);
    }
    std::fs::write(path, out).expect("write");
}

#[test]
fn deleted_record_is_found() {
    let (_dir, path) = ledger_with(4);
    let starts: Vec<_> = ranges(&path).iter().map(|r| r.start as u64).collect();
    with_records(&path, &[0, 2, 3]);
    match outcome(&path) {
        Outcome::Tampered {
            first_bad_seq: 2,
            byte_offset,
            reason:
                Tamper::SeqMismatch {
                    expected: 2,
                    found: 3,
                },
        } => {
            assert_eq!(byte_offset, starts[1]);
        }
        other => panic!("{other:?}"),
    }
    let (_dir, path) = ledger_with(3);
    with_records(&path, &[1, 2]);
    assert!(matches!(
        outcome(&path),
        Outcome::Tampered {
            first_bad_seq: 1,
            byte_offset: 0,
            ..
        }
    ));
}

#[test]
fn duplicated_record_is_found() {
    let (_dir, path) = ledger_with(3);
    with_records(&path, &[0, 1, 1, 2]);
    assert!(matches!(
        outcome(&path),
        Outcome::Tampered {
            first_bad_seq: 3,
            reason: Tamper::SeqMismatch {
                expected: 3,
                found: 2
            },
            ..
        }
    ));
}

#[test]
fn reordered_records_are_found() {
    let (_dir, path) = ledger_with(4);
    with_records(&path, &[0, 2, 1, 3]);
    assert!(matches!(
        outcome(&path),
        Outcome::Tampered {
            first_bad_seq: 2,
            reason: Tamper::SeqMismatch {
                expected: 2,
                found: 3
            },
            ..
        }
    ));
}

#[test]
fn relinked_record_is_found() {
    // A record with the right seq and a valid hash but a prev that is not the previous hash.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let mut bytes = Vec::new();
    let body = "kind: approval\nactor: \"x\"\ndata: {}\n";
    let h1 = forge(
        &mut bytes,
        1,
        &paddock_ledger::RecordHash::GENESIS,
        "2025-01-01T00:00:00.000000000Z",
        body,
    );
    let _ = h1;
    forge(
        &mut bytes,
        2,
        &paddock_ledger::RecordHash::of_record(b"other"),
        "2025-01-01T00:00:01.000000000Z",
        body,
    );
    std::fs::write(&path, bytes).expect("write");
    assert!(matches!(
        outcome(&path),
        Outcome::Tampered {
            first_bad_seq: 2,
            reason: Tamper::BrokenLink { .. },
            ..
        }
    ));
}

#[test]
fn time_running_backwards_is_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let mut bytes = Vec::new();
    let body = "kind: approval\nactor: \"x\"\ndata: {}\n";
    let h1 = forge(
        &mut bytes,
        1,
        &paddock_ledger::RecordHash::GENESIS,
        "2025-01-01T00:00:02.000000000Z",
        body,
    );
    forge(&mut bytes, 2, &h1, "2025-01-01T00:00:01.000000000Z", body);
    std::fs::write(&path, bytes).expect("write");
    assert!(matches!(
        outcome(&path),
        Outcome::Tampered {
            first_bad_seq: 2,
            reason: Tamper::TimeOrder { .. },
            ..
        }
    ));
}

#[test]
fn damage_refuses_open_and_append() {
    let (_dir, path) = ledger_with(5);
    let ranges = ranges(&path);
    let mut ledger = Ledger::open(&path, opts()).expect("open");

    // Damage mid-file: a new open refuses.
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[ranges[1].start + 20] ^= 1;
    std::fs::write(&path, &bytes).expect("write");
    match Ledger::open(&path, opts()) {
        Err(open::Error::Tampered { seq: 2, .. }) => {}
        other => panic!("{other:?}"),
    }
    // (A tail-only open does not read that far; verify does.)
    assert!(
        Ledger::open(
            &path,
            Options {
                open_check: OpenCheck::Tail,
                ..opts()
            }
        )
        .is_ok()
    );

    // Damage to the last record this handle verified: its append refuses, nothing is written.
    bytes[ranges[4].start + 30] ^= 1;
    std::fs::write(&path, &bytes).expect("write");
    match ledger.append(&entry(99)) {
        Err(append::Error::Tampered {
            seq: 5,
            reason: Tamper::Changed,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
}

#[test]
fn file_shrunk_behind_the_writer_refuses_append() {
    let (_dir, path) = ledger_with(3);
    let ranges = ranges(&path);
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    file.set_len(ranges[2].start as u64).expect("truncate");
    match ledger.append(&entry(9)) {
        Err(append::Error::Tampered {
            reason: Tamper::Truncated { .. },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn appends_verify_what_other_writers_appended() {
    let (_dir, path) = ledger_with(2);
    let mut a = Ledger::open(&path, opts()).expect("open");
    let mut b = Ledger::open(&path, opts()).expect("open");
    b.append(&entry(3)).expect("append");
    // Someone edits b's record; a, catching up, refuses.
    let ranges = ranges(&path);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[ranges[2].start + 40] ^= 1;
    std::fs::write(&path, &bytes).expect("write");
    assert!(matches!(
        a.append(&entry(4)),
        Err(append::Error::Tampered { seq: 3, .. })
    ));
}
