//! Reading: filters, tail, follow.

use std::time::Duration;

use paddock_ledger::{Filter, FollowFrom, Follower, Kind, Ledger, Timestamp, read, records, tail};
use pretty_assertions::assert_eq;

use super::common::{entry, ledger_with, opts};

fn seqs(path: &std::path::Path, filter: Filter) -> Vec<u64> {
    records(path, filter)
        .expect("read")
        .map(|r| r.expect("verifies").seq)
        .collect()
}

#[test]
fn filters_by_kind_session_and_time() {
    let (_dir, path) = ledger_with(6);
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    let late: Timestamp = "2999-01-01T00:00:00Z".parse().expect("time");
    ledger
        .append(
            &paddock_ledger::Entry::new(Kind::SessionStarted, &())
                .expect("entry")
                .session("s-1")
                .time(late),
        )
        .expect("append");
    assert_eq!(seqs(&path, Filter::new()), [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(seqs(&path, Filter::new().kind("deny")), [1, 2, 3, 4, 5, 6]);
    assert_eq!(seqs(&path, Filter::new().kind("session.*")), [7]);
    assert_eq!(
        seqs(&path, Filter::new().kind("deny.write")),
        Vec::<u64>::new()
    );
    assert_eq!(seqs(&path, Filter::new().session("s-1")), [1, 4, 7]);
    assert_eq!(
        seqs(&path, Filter::new().session("s-1").kind("deny.command")),
        [1, 4]
    );
    assert_eq!(seqs(&path, Filter::new().since(late)), [7]);
}

#[test]
fn records_have_offsets_and_hashes() {
    let (_dir, path) = ledger_with(3);
    let bytes = std::fs::read(&path).expect("read");
    let all: Vec<_> = records(&path, Filter::new())
        .expect("read")
        .collect::<Result<_, _>>()
        .expect("verifies");
    assert_eq!(all[0].offset, 0);
    assert_eq!(all[1].prev, all[0].hash);
    let end = (all[2].offset + all[2].len) as usize;
    assert_eq!(end, bytes.len());
    let rec = &bytes[all[1].offset as usize..(all[1].offset + all[1].len) as usize];
    assert!(rec.starts_with(b"---\nseq: 2\n"));
}

#[test]
fn tail_gives_the_last_n() {
    let (_dir, path) = ledger_with(10);
    let last: Vec<_> = tail(&path, 3, Filter::new())
        .expect("tail")
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(last, [8, 9, 10]);
    assert!(tail(&path, 0, Filter::new()).expect("tail").is_empty());
    assert_eq!(tail(&path, 50, Filter::new()).expect("tail").len(), 10);
}

#[test]
fn a_torn_tail_ends_reading_and_is_reported() {
    let (_dir, path) = ledger_with(2);
    let len = std::fs::metadata(&path).expect("stat").len();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    std::io::Write::write_all(&mut f, b"---\nseq: 3\n").expect("write");
    let mut it = records(&path, Filter::new()).expect("read");
    assert_eq!(it.by_ref().count(), 2);
    assert_eq!(it.torn_tail(), Some(len));
}

#[test]
fn damage_ends_reading_with_an_error() {
    let (_dir, path) = ledger_with(3);
    let mut bytes = std::fs::read(&path).expect("read");
    let at = bytes.len() - 100;
    bytes[at] ^= 1;
    std::fs::write(&path, &bytes).expect("write");
    let results: Vec<_> = records(&path, Filter::new()).expect("read").collect();
    assert_eq!(results.len(), 3);
    assert!(matches!(
        results[2],
        Err(read::Error::Tampered { seq: 3, .. })
    ));
}

#[test]
fn follower_sees_new_records_and_waits_out_a_torn_tail() {
    let (_dir, path) = ledger_with(4);
    let mut follower = Follower::new(&path, Filter::new(), FollowFrom::Last(2)).expect("follow");
    assert_eq!(
        follower
            .poll()
            .expect("poll")
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>(),
        [3, 4]
    );
    assert!(follower.poll().expect("poll").is_empty());

    let mut ledger = Ledger::open(&path, opts()).expect("open");
    ledger.append(&entry(5)).expect("append");
    assert_eq!(
        follower
            .poll()
            .expect("poll")
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>(),
        [5]
    );

    // Half a record: nothing yet. Then recovery cuts it and more comes: the follower goes on.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    std::io::Write::write_all(&mut f, b"---\nseq: 6\nprev: b3:").expect("write");
    assert!(follower.poll().expect("poll").is_empty());
    ledger.append(&entry(7)).expect("append");
    let kinds: Vec<_> = follower
        .poll()
        .expect("poll")
        .into_iter()
        .map(|r| (r.seq, r.kind))
        .collect();
    assert_eq!(kinds, [(6, Kind::Recovered), (7, Kind::DenyCommand)]);

    // Blocking iteration.
    let path2 = path.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let mut ledger = Ledger::open(&path2, opts()).expect("open");
        ledger.append(&entry(8)).expect("append");
    });
    let mut follower = follower.interval(Duration::from_millis(5));
    let next = follower.next().expect("a record").expect("verifies");
    assert_eq!(next.seq, 8);
    writer.join().expect("writer");

    let mut from_end = Follower::new(&path, Filter::new(), FollowFrom::End).expect("follow");
    assert!(from_end.poll().expect("poll").is_empty());
}
