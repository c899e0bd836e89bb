//! Arbitrary bytes as a ledger file: `verify`, `records` and `Ledger::open` never panic, and
//! agree with each other.
//!
//! Random bytes almost never carry valid hashes, so half of the inputs are *sealed* first: the
//! input is cut at NUL bytes into record bodies (`ts:` line, headers, data, as a writer would
//! put after `prev:`), and each gets a correct `---`/`seq`/`prev` head and hash line. That
//! takes the fuzzer past the hash check into the layout checks, the time order and the reader.
//!
//! What is checked when `verify` says the file is whole:
//!
//! - `records` reads it without finding damage, record by record in order, and the records
//!   tile the file exactly. It may stop at a record whose fields it cannot read (`Unreadable`:
//!   the format lets a newer writer add what an older reader does not know); nothing else.
//! - Round trip: each record read, written again through the public API (`Entry` with the same
//!   time, kind, session, actor and data) into a new ledger, reads back as the same record.
//!   Byte equality with the input is not checkable (the reader accepts layouts the writer never
//!   produces, and the hash chain changes with them), parse ∘ write ∘ parse = parse is.
//! - The ledger opens for appending, takes one more record, and then verifies with one more.
//!
//! When it ends in a torn record, `recover` cuts it off and the file verifies again.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use paddock_ledger::{
    Durability, Entry, Filter, Kind, Ledger, Options, Outcome, RecordHash, VerifyOptions, read,
    records, verify,
};

fn options() -> Options {
    static OPTIONS: OnceLock<Options> = OnceLock::new();
    OPTIONS
        .get_or_init(|| Options {
            durability: Durability::Never,
            writer: "fuzz".to_owned(),
            ..Options::default()
        })
        .clone()
}

/// A directory of this process's own (libFuzzer may run several), emptied for every input:
/// under `PADDOCK_FUZZ_TMP` (`.ci/fuzz` points it at a directory it removes), else in memory
/// (`/dev/shm`) or the temp dir.
fn workdir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR
        .get_or_init(|| {
            let shm = Path::new("/dev/shm");
            let base = match std::env::var_os("PADDOCK_FUZZ_TMP") {
                Some(dir) => PathBuf::from(dir),
                None if shm.is_dir() => shm.to_path_buf(),
                None => std::env::temp_dir(),
            };
            base.join(format!("paddock-fuzz-ledger-{}", std::process::id()))
        })
        .clone();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// Gives each NUL-separated body a valid head and hash line, chained.
fn seal(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev = RecordHash::GENESIS;
    for (i, body) in input.split(|&b| b == 0).enumerate() {
        let start = out.len();
        out.extend_from_slice(
            format!("---\nseq: {}\nprev: b3:{}\n", i + 1, prev.to_hex()).as_bytes(),
        );
        out.extend_from_slice(body);
        if !body.ends_with(b"\n") {
            out.push(b'\n');
        }
        let hash = RecordHash::of_record(&out[start..]);
        out.extend_from_slice(format!("# b3:{}\n", hash.to_hex()).as_bytes());
        prev = hash;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let bytes = if mode & 1 == 1 {
        seal(input)
    } else {
        input.to_vec()
    };
    let dir = workdir();
    let path = dir.join("ledger.yaml");
    std::fs::write(&path, &bytes).expect("write the ledger");

    let report = verify(&path, &VerifyOptions::default()).expect("verify reads a plain file");
    assert_eq!(report.bytes, bytes.len() as u64);
    match report.outcome {
        Outcome::Ok => whole(&dir, &path, &bytes, report.records),
        Outcome::TornTail {
            offset,
            bytes: torn,
        } => {
            assert_eq!(offset + torn, bytes.len() as u64);
            assert_eq!(report.head.map_or(0, |h| h.end), offset);
            let mut ledger =
                Ledger::open(&path, options()).expect("a ledger with a torn tail opens");
            ledger.recover().expect("the torn tail is cut off");
            let after = verify(&path, &VerifyOptions::default()).expect("verify");
            assert!(after.outcome.is_ok(), "after recovery: {:?}", after.outcome);
            // The records before the tear, and the `recovered` record saying what was cut.
            assert_eq!(after.records, report.records + 1);
        }
        Outcome::Tampered {
            first_bad_seq,
            byte_offset,
            ..
        } => {
            assert_eq!(first_bad_seq, report.records + 1);
            assert_eq!(report.head.map_or(0, |h| h.end), byte_offset);
            assert!(
                Ledger::open(&path, options()).is_err(),
                "a damaged ledger opened"
            );
        }
    }
});

fn whole(dir: &Path, path: &Path, bytes: &[u8], count: u64) {
    let mut read_back = Vec::new();
    let mut end = 0u64;
    for record in records(path, Filter::new()).expect("records opens the file") {
        match record {
            Ok(record) => {
                assert_eq!(record.seq, read_back.len() as u64 + 1);
                assert_eq!(record.offset, end, "records do not tile the file");
                end = record.offset + record.len;
                read_back.push(record);
            }
            Err(read::Error::Unreadable { .. }) => break,
            Err(err) => panic!("verify found the file whole, records found: {err}"),
        }
    }
    if read_back.len() as u64 == count {
        assert_eq!(end, bytes.len() as u64, "records stop before the end");
    }

    // Round trip through the writer.
    let copy = dir.join("copy.yaml");
    let entries: Vec<Entry> = read_back
        .iter()
        .map(|r| {
            let entry = Entry::new(r.kind.clone(), &r.data).expect("read data writes again");
            let entry = entry.actor(r.actor.clone()).time(r.ts);
            match &r.session {
                Some(session) => entry.session(session.clone()),
                None => entry,
            }
        })
        .collect();
    let mut ledger = Ledger::open(&copy, options()).expect("a new ledger");
    ledger.append_all(&entries).expect("append");
    let again: Vec<_> = records(&copy, Filter::new())
        .expect("records")
        .collect::<Result<_, _>>()
        .expect("what the writer wrote reads back");
    assert_eq!(again.len(), read_back.len());
    for (a, b) in read_back.iter().zip(&again) {
        assert_eq!(
            (&a.ts, &a.kind, &a.session, &a.actor, &a.data),
            (&b.ts, &b.kind, &b.session, &b.actor, &b.data),
            "record {} changes when written again",
            a.seq
        );
    }

    // A whole ledger takes the next record.
    let mut ledger = Ledger::open(path, options()).expect("a whole ledger opens");
    let kind = Kind::parse("fuzz.appended").expect("a valid kind");
    ledger
        .append(&Entry::new(kind, &()).expect("an empty mapping"))
        .expect("a whole ledger takes an append");
    let after = verify(path, &VerifyOptions::default()).expect("verify");
    assert!(
        after.outcome.is_ok(),
        "after an append: {:?}",
        after.outcome
    );
    assert_eq!(after.records, count + 1);
}
