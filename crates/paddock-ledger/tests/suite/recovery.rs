//! A torn last record is cut off, quarantined and recorded; nothing else is ever "repaired".

use paddock_ledger::{
    Kind, Ledger, OpenCheck, Options, Outcome, QUARANTINE_DIR, VerifyOptions, events, verify,
};
use pretty_assertions::assert_eq;

use super::common::{all_records, entry, ledger_with, opts, ranges};

#[test]
fn truncating_the_last_record_anywhere_recovers_exactly_the_complete_records() {
    let (_dir, path) = ledger_with(3);
    let original = std::fs::read(&path).expect("read");
    let last = ranges(&path)[2].clone();
    for cut in last.start + 1..last.end {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger.yaml");
        std::fs::write(&path, &original[..cut]).expect("write");

        let report = verify(&path, &VerifyOptions::default()).expect("verify runs");
        assert_eq!(
            report.outcome,
            Outcome::TornTail {
                offset: last.start as u64,
                bytes: (cut - last.start) as u64
            },
            "cut at {cut}"
        );
        assert_eq!(report.records, 2);

        // Both kinds of open accept a torn tail (it is not damage).
        let check = if cut % 2 == 0 {
            OpenCheck::Full
        } else {
            OpenCheck::Tail
        };
        let mut ledger = Ledger::open(
            &path,
            Options {
                open_check: check,
                ..opts()
            },
        )
        .expect("a torn tail does not refuse the open");
        let recovered = ledger.recover().expect("recover");
        assert_eq!(recovered.len(), 1, "cut at {cut}");
        let r = &recovered[0];
        assert_eq!(
            (r.offset, r.bytes, r.record.seq),
            (last.start as u64, (cut - last.start) as u64, 3)
        );
        assert_eq!(
            std::fs::read(&r.quarantine).expect("quarantined"),
            &original[last.start..cut]
        );
        assert!(r.quarantine.starts_with(dir.path().join(QUARANTINE_DIR)));

        // The complete records are kept byte for byte, then the `recovered` record.
        let now = std::fs::read(&path).expect("read");
        assert_eq!(&now[..last.start], &original[..last.start], "cut at {cut}");
        assert!(
            verify(&path, &VerifyOptions::default())
                .expect("verify runs")
                .outcome
                .is_ok()
        );
        let records = all_records(&path);
        assert_eq!(records.len(), 3);
        let data: events::Recovered = records[2].decode().expect("recovered record");
        assert_eq!(
            (data.offset, data.bytes),
            (last.start as u64, (cut - last.start) as u64)
        );
        assert_eq!(
            data.blake3,
            blake3::hash(&original[last.start..cut])
                .to_hex()
                .to_string()
        );

        // Nothing more to recover.
        assert!(ledger.recover().expect("recover").is_empty());
    }
}

#[test]
fn next_append_recovers_a_torn_tail_first() {
    let (dir, path) = ledger_with(2);
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    // Another process crashed half-way through its write.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    std::io::Write::write_all(&mut f, b"---\nseq: 3\nprev: b3:00").expect("write");
    let appended = ledger.append(&entry(3)).expect("append");
    assert_eq!(appended.seq, 4);
    let kinds: Vec<_> = all_records(&path).into_iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::DenyCommand,
            Kind::DenyCommand,
            Kind::Recovered,
            Kind::DenyCommand
        ]
    );
    let quarantined: Vec<_> = std::fs::read_dir(dir.path().join(QUARANTINE_DIR))
        .expect("dir")
        .collect();
    assert_eq!(quarantined.len(), 1);
}

#[test]
fn quarantine_left_pending_by_a_crash_is_recorded_once() {
    // A writer cut the tail and crashed before writing its `recovered` record.
    let (dir, path) = ledger_with(2);
    let qdir = dir.path().join(QUARANTINE_DIR);
    std::fs::create_dir(&qdir).expect("mkdir");
    std::fs::write(qdir.join("ledger.yaml.1234.99.pending"), b"---\nseq: 3\n").expect("write");

    let mut a = Ledger::open(&path, opts()).expect("open");
    let mut b = Ledger::open(&path, opts()).expect("open");
    a.append(&entry(3)).expect("append");
    b.append(&entry(4)).expect("append");

    let records = all_records(&path);
    let recovered: Vec<_> = records
        .iter()
        .filter(|r| r.kind == Kind::Recovered)
        .collect();
    assert_eq!(recovered.len(), 1);
    let data: events::Recovered = recovered[0].decode().expect("decodes");
    assert_eq!(
        (data.offset, data.bytes, data.quarantine.as_str()),
        (1234, 11, "quarantine/ledger.yaml.1234.99.torn")
    );
    assert!(qdir.join("ledger.yaml.1234.99.torn").exists());
}

#[test]
fn damage_in_the_middle_is_not_recovered() {
    let (_dir, path) = ledger_with(3);
    let ranges = ranges(&path);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[ranges[1].start + 10] ^= 1;
    // And a torn tail after it: still not recoverable, the damage comes first.
    bytes.extend_from_slice(b"---\nseq: 4\n");
    std::fs::write(&path, &bytes).expect("write");
    assert!(Ledger::open(&path, opts()).is_err());
    assert!(matches!(
        verify(&path, &VerifyOptions::default())
            .expect("runs")
            .outcome,
        Outcome::Tampered {
            first_bad_seq: 2,
            ..
        }
    ));
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
}

#[test]
fn garbage_with_a_hash_line_at_the_end_is_damage_not_a_torn_tail() {
    let (_dir, path) = ledger_with(2);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.extend_from_slice(format!("junk\n# b3:{}\n", "0".repeat(64)).as_bytes());
    std::fs::write(&path, &bytes).expect("write");
    assert!(matches!(
        verify(&path, &VerifyOptions::default())
            .expect("runs")
            .outcome,
        Outcome::Tampered {
            first_bad_seq: 3,
            ..
        }
    ));
}
