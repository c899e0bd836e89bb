//! The file is a YAML stream people (and YAML parsers) can read, and no content can forge a
//! record boundary or hash line.

use paddock_ledger::{
    Entry, Filter, Kind, Ledger, RecordHash, VerifyOptions, events, records, verify,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::{all_records, forge, opts};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    seq: u64,
    prev: String,
    ts: String,
    kind: String,
    session: Option<String>,
    actor: String,
    data: Value,
}

fn nasty_strings() -> Vec<String> {
    let forged_hash = format!("# b3:{}", "a".repeat(64));
    vec![
        format!(
            "\n---\nseq: 99\nprev: b3:{}\n{forged_hash}\n",
            "0".repeat(64)
        ),
        format!("x\n{forged_hash}\n---\n"),
        "---".to_owned(),
        "# b3:".to_owned(),
        "quotes \" and ' and \\ backslash".to_owned(),
        "# not a comment: key: value".to_owned(),
        "tab\there\r\ncrlf\u{0}nul\u{7}bell\u{1b}[31mescape".to_owned(),
        "\u{85}nel\u{2028}ls\u{2029}ps\u{feff}bom\u{fffe}\u{ffff}\u{9f}c1".to_owned(),
        "ünïcødé ✓ 🦀 𝄞".to_owned(),
        "- item\n? key\n: value\n&anchor *alias !tag |\n  literal\n>\n  folded".to_owned(),
        "{[flow]}, true, null, ~, 0x1f, 1e3, .inf".to_owned(),
        "   leading and trailing spaces   ".to_owned(),
        String::new(),
    ]
}

#[test]
fn the_file_is_a_yaml_stream_that_matches_what_we_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    for (i, s) in nasty_strings().into_iter().enumerate() {
        let data =
            json!({"text": s.clone(), s.clone(): i, "nested": {"list": [s, 1, null, true, 2.5]}});
        ledger
            .append(
                &Entry::new(Kind::Approval, &data)
                    .expect("entry")
                    .session(format!("s\n{i}"))
                    .actor("op\"x"),
            )
            .expect("append");
    }
    ledger
        .append(&Entry::new(Kind::SessionFinished, &()).expect("entry"))
        .expect("append");

    let text = std::fs::read_to_string(&path).expect("utf-8");
    let docs: Vec<Doc> = serde_saphyr::from_multiple(&text).expect("valid YAML stream");
    let ours = all_records(&path);
    assert_eq!(docs.len(), ours.len());
    for (doc, record) in docs.iter().zip(&ours) {
        assert_eq!(doc.seq, record.seq);
        assert_eq!(doc.prev, record.prev.to_string());
        assert_eq!(doc.ts, record.ts.as_str());
        assert_eq!(doc.kind, record.kind.as_str());
        assert_eq!(doc.session, record.session);
        assert_eq!(doc.actor, record.actor);
        assert_eq!(
            doc.data,
            Value::Object(record.data.clone()),
            "record {}",
            record.seq
        );
    }
    // What was written is what is read.
    for (i, s) in nasty_strings().into_iter().enumerate() {
        assert_eq!(ours[i].data.get("text"), Some(&Value::String(s.clone())));
        assert_eq!(ours[i].data.get(&s), Some(&json!(i)));
        assert_eq!(ours[i].session.as_deref(), Some(format!("s\n{i}").as_str()));
        assert_eq!(ours[i].actor, "op\"x");
    }
}

#[test]
fn content_cannot_forge_a_boundary_or_a_hash_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    for s in nasty_strings() {
        ledger
            .append(
                &Entry::new(Kind::Approval, &json!({"what": s}))
                    .expect("entry")
                    .session(s.clone())
                    .actor(s),
            )
            .expect("append");
    }
    let n = nasty_strings().len();
    let text = std::fs::read_to_string(&path).expect("utf-8");
    let boundaries = text.lines().filter(|l| l.starts_with("---")).count();
    let hash_lines = text.lines().filter(|l| l.starts_with('#')).count();
    assert_eq!((boundaries, hash_lines), (n, n));
    // Only LF ends lines: no CR, NEL or Unicode separators anywhere in the file.
    for bad in ['\r', '\u{85}', '\u{2028}', '\u{2029}', '\u{feff}'] {
        assert!(!text.contains(bad), "{bad:?} in the file");
    }
    let report = verify(&path, &VerifyOptions::default()).expect("verify runs");
    assert!(report.outcome.is_ok());
    assert_eq!(report.records, n as u64);
}

#[test]
fn an_example_record_looks_like_the_docs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    let started = events::SessionStarted {
        scope: vec!["src/**".into()],
        mode: "worktree".into(),
        ..Default::default()
    };
    let entry = Entry::event(&started)
        .expect("entry")
        .session("claim-3f9a1c")
        .time("2025-11-22T03:25:00.123456789Z".parse().expect("time"));
    ledger.append(&entry).expect("append");
    let text = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..lines.len() - 1],
        [
            "---",
            "seq: 1",
            &format!("prev: b3:{}", "0".repeat(64)),
            "ts: 2025-11-22T03:25:00.123456789Z",
            "kind: session.started",
            "session: \"claim-3f9a1c\"",
            "actor: \"paddock\"",
            "data:",
            "  mode: \"worktree\"",
            "  scope: [\"src/**\"]",
        ]
    );
    assert!(lines[lines.len() - 1].starts_with("# b3:") && lines[lines.len() - 1].len() == 69);
}

#[test]
fn unknown_kinds_and_fields_are_kept_and_verified() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    ledger
        .append(
            &Entry::new(
                Kind::parse("sandbox.degraded").expect("kind"),
                &json!({"to": "landlock"}),
            )
            .expect("entry"),
        )
        .expect("append");
    let head = ledger.head().expect("head");
    drop(ledger);

    // A record from a newer version: unknown kind, an extra header line, unknown data fields.
    let mut bytes = std::fs::read(&path).expect("read");
    let ts = "2999-01-01T00:00:00.000000000Z";
    let rest = "kind: future.thing\npriority: high\nactor: \"v2\"\ndata:\n  reason: \"r\"\n  novel: {\"x\": [1]}\n";
    let h2 = forge(&mut bytes, 2, &head.hash, ts, rest);
    let rest = "kind: session.blocked\nactor: \"v2\"\ndata:\n  reason: \"r\"\n  novel: 7\n";
    forge(&mut bytes, 3, &h2, ts, rest);
    std::fs::write(&path, &bytes).expect("write");

    assert!(
        verify(&path, &VerifyOptions::default())
            .expect("runs")
            .outcome
            .is_ok()
    );
    let records = all_records(&path);
    assert_eq!(records[0].kind, Kind::Other("sandbox.degraded".into()));
    assert_eq!(records[1].kind.as_str(), "future.thing");
    assert!(!records[1].kind.is_known());
    let blocked: events::SessionBlocked = records[2].decode().expect("decodes");
    assert_eq!(blocked.extra.get("novel"), Some(&json!(7)));
    // And appending after them works.
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    assert_eq!(
        ledger.append(&super::common::entry(4)).expect("append").seq,
        4
    );
    let _ = RecordHash::GENESIS;
}

#[test]
fn every_known_event_round_trips() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    let pin = events::TurnPin {
        turn: "t1".into(),
        role: "claim".into(),
        inputs: [("a.txt".to_owned(), "b3:00".to_owned())].into(),
        pins: [("tie_break".to_owned(), json!(["b", "a"]))].into(),
        ..Default::default()
    };
    let lock = events::LockRefused {
        scope: vec!["docs/**".into()],
        held_by: "s2".into(),
        ..Default::default()
    };
    ledger
        .append(&Entry::event(&pin).expect("entry"))
        .expect("append");
    ledger
        .append(&Entry::event(&lock).expect("entry"))
        .expect("append");
    let records: Vec<_> = records(&path, Filter::new())
        .expect("read")
        .collect::<Result<_, _>>()
        .expect("verifies");
    assert_eq!(records[0].decode::<events::TurnPin>().expect("pin"), pin);
    assert_eq!(
        records[1].decode::<events::LockRefused>().expect("lock"),
        lock
    );
    assert!(records[0].decode::<events::LockRefused>().is_err());
}

#[test]
fn large_records_cross_read_chunks_and_tail_windows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    let big = "y".repeat(3 << 20);
    for i in 0..3 {
        ledger
            .append(&Entry::new(Kind::TurnPin, &json!({"i": i, "blob": big})).expect("entry"))
            .expect("append");
    }
    let report = verify(&path, &VerifyOptions::default()).expect("verify");
    assert!(report.outcome.is_ok());
    assert_eq!(report.records, 3);
    assert_eq!(
        all_records(&path)[2].data["blob"].as_str().map(str::len),
        Some(3 << 20)
    );
    // A tail-only open finds the last record even though it is bigger than its first window.
    let tail_opts = paddock_ledger::Options {
        open_check: paddock_ledger::OpenCheck::Tail,
        ..opts()
    };
    let mut ledger = Ledger::open(&path, tail_opts).expect("open");
    assert_eq!(ledger.head().map(|h| h.seq), Some(3));
    assert_eq!(
        ledger.append(&super::common::entry(4)).expect("append").seq,
        4
    );
}

/// Found by `fuzz/` (ledger_verify): serde_json's default float parsing is not exact, so the
/// number the writer wrote as `4.4444e70` read back as `4.4443999999999996e70`. Every number a
/// record carries must read back as the one written.
#[test]
fn numbers_read_back_exactly_as_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ledger.yaml");
    let mut ledger = Ledger::open(&path, opts()).expect("open");
    let data = json!({
        "floats": [
            4.4444e70_f64, 0.1, 1e-300, 2.2250738585072014e-308, 1.7976931348623157e308,
            123456789.12345679, 5e-324, 9007199254740993.0, -1.5e-7,
        ],
        "ints": [u64::MAX, i64::MIN, 0],
    });
    ledger
        .append(&Entry::new(Kind::Approval, &data).expect("entry"))
        .expect("append");
    let read: Vec<_> = records(&path, Filter::new())
        .expect("records")
        .collect::<Result<_, _>>()
        .expect("read");
    assert_eq!(Value::Object(read[0].data.clone()), data);
}
