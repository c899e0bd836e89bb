//! The on-disk format: how records are written, and how a record's bytes are read back.
//!
//! ```text
//! ---
//! seq: 7
//! prev: b3:<64 hex: hash of record 6, zeros for record 1>
//! ts: 2025-11-22T03:25:00.123456789Z
//! kind: session.started
//! session: "claim-3f9a1c"            (only when the record concerns a session)
//! actor: "paddock"
//! data:
//!   mode: "worktree"
//!   scope: ["src/**","tests/**"]
//! # b3:<64 hex: keyed BLAKE3 of every byte above, from `---` on>
//! ```
//!
//! The safety argument: every line a writer produces is one of a fixed set of shapes, and
//! none but the hash line starts with `#`, and none but the first starts with `-`. Strings
//! (session, actor, data) are JSON-encoded on one line, with every line break, control
//! character and Unicode line/paragraph separator escaped, so no content can start a line,
//! let alone forge a `---` boundary or a `# b3:` hash line. JSON is also YAML (a double-quoted
//! scalar or flow collection), so the file stays a valid YAML stream.

use std::io;

use serde_json::{Map, Value};

use crate::hash::{RecordHash, decode_hex, encode_hex};
use crate::kind::{Kind, is_valid_name};
use crate::time::Timestamp;

/// The first line of every record.
pub(crate) const RECORD_START: &[u8] = b"---\n";
/// The start of the line that closes every record.
pub(crate) const HASH_LINE: &[u8] = b"# b3:";
/// The hash line as searched for: it always follows a line break.
pub(crate) const HASH_LINE_NEEDLE: &[u8] = b"\n# b3:";
/// Length of the hash line, with its line break.
pub(crate) const HASH_LINE_LEN: usize = HASH_LINE.len() + 64 + 1;
/// Largest data block (the JSON of `data`) a record may carry.
pub const MAX_DATA_BYTES: usize = 8 << 20;
/// Keys longer than this (JSON-encoded) make the data block fall back to one flow mapping,
/// because YAML limits implicit keys to 1024 characters.
const MAX_BLOCK_KEY: usize = 1000;

/// A serde_json formatter that also escapes what YAML (or a line-oriented reader) could take
/// for something else: DEL and the C1 controls (not printable in YAML; U+0085 is a YAML 1.1
/// line break), U+2028/U+2029 (line breaks to some readers), the BOM and the non-characters
/// U+FFFE/U+FFFF. serde_json already escapes `"`, `\` and everything below U+0020.
struct SafeFormatter;

fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

impl serde_json::ser::Formatter for SafeFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let mut last = 0;
        for (i, c) in fragment.char_indices() {
            if needs_escape(c) {
                writer.write_all(&fragment.as_bytes()[last..i])?;
                write!(writer, "\\u{:04x}", u32::from(c))?;
                last = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[last..])
    }
}

/// One-line JSON with [`SafeFormatter`].
pub(crate) fn json_line<T: serde::Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), serde_json::Error> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, SafeFormatter);
    value.serialize(&mut ser)
}

/// A data key written bare: lowercase identifiers that YAML reads as a plain string.
fn is_bare_key(key: &str) -> bool {
    const RESERVED: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let b = key.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        && !RESERVED.contains(&key)
}

/// The `data:` block for a mapping (with its trailing line break).
pub(crate) fn encode_data(map: &Map<String, Value>) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(64);
    if map.is_empty() {
        out.extend_from_slice(b"data: {}\n");
        return Ok(out);
    }
    out.extend_from_slice(b"data:\n");
    for (key, value) in map {
        out.extend_from_slice(b"  ");
        if is_bare_key(key) {
            out.extend_from_slice(key.as_bytes());
        } else {
            let at = out.len();
            json_line(&mut out, key)?;
            if out.len() - at > MAX_BLOCK_KEY {
                // Too long for a YAML implicit key: one flow mapping instead.
                out.clear();
                out.extend_from_slice(b"data: ");
                json_line(&mut out, map)?;
                out.push(b'\n');
                return Ok(out);
            }
        }
        out.extend_from_slice(b": ");
        json_line(&mut out, value)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// The part of a record after `ts:` and before `data:`.
pub(crate) fn encode_headers(out: &mut Vec<u8>, kind: &Kind, session: Option<&str>, actor: &str) {
    out.extend_from_slice(b"kind: ");
    out.extend_from_slice(kind.as_str().as_bytes());
    out.push(b'\n');
    if let Some(session) = session {
        out.extend_from_slice(b"session: ");
        // A string always serializes.
        let _ = json_line(out, session);
        out.push(b'\n');
    }
    out.extend_from_slice(b"actor: ");
    let _ = json_line(out, actor);
    out.push(b'\n');
}

/// Appends one complete record (`body` = headers and data block) and returns its hash.
pub(crate) fn encode_record(
    out: &mut Vec<u8>,
    seq: u64,
    prev: &RecordHash,
    ts: &Timestamp,
    body: &[u8],
) -> RecordHash {
    let start = out.len();
    let mut hex = [0u8; 64];
    out.extend_from_slice(b"---\nseq: ");
    out.extend_from_slice(seq.to_string().as_bytes());
    out.extend_from_slice(b"\nprev: b3:");
    encode_hex(prev.as_bytes(), &mut hex);
    out.extend_from_slice(&hex);
    out.extend_from_slice(b"\nts: ");
    out.extend_from_slice(ts.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    let hash = RecordHash::of_record(&out[start..]);
    out.extend_from_slice(HASH_LINE);
    encode_hex(hash.as_bytes(), &mut hex);
    out.extend_from_slice(&hex);
    out.push(b'\n');
    hash
}

/// `seq: <digits>\n` at the start of `b`: the number and the rest.
pub(crate) fn seq_line(b: &[u8]) -> Option<(u64, &[u8])> {
    let rest = b.strip_prefix(b"seq: ")?;
    let nl = memchr::memchr(b'\n', rest)?;
    let digits = &rest[..nl];
    if digits.is_empty() || digits.len() > 20 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some((n, &rest[nl + 1..]))
}

/// `prev: b3:<hex>\n` at the start of `b`.
pub(crate) fn prev_line(b: &[u8]) -> Option<(RecordHash, &[u8])> {
    let rest = b.strip_prefix(b"prev: b3:")?;
    if rest.len() < 65 || rest[64] != b'\n' {
        return None;
    }
    Some((
        RecordHash::from_bytes(decode_hex(&rest[..64])?),
        &rest[65..],
    ))
}

/// `ts: <timestamp>\n` at the start of `b`.
pub(crate) fn ts_line(b: &[u8]) -> Option<(Timestamp, &[u8])> {
    let rest = b.strip_prefix(b"ts: ")?;
    let nl = memchr::memchr(b'\n', rest)?;
    Some((Timestamp::from_bytes(&rest[..nl])?, &rest[nl + 1..]))
}

/// A JSON string on its own (the whole of `b`).
fn json_string(b: &[u8]) -> Option<String> {
    if b.first() != Some(&b'"') {
        return None;
    }
    serde_json::from_slice::<String>(b).ok()
}

/// One line of a `data:` block (`  key: <json>`, without the line break).
pub(crate) fn data_line(line: &[u8]) -> Option<(String, Value)> {
    let line = line.strip_prefix(b"  ")?;
    let (key, rest) = if line.first() == Some(&b'"') {
        let mut stream = serde_json::Deserializer::from_slice(line).into_iter::<String>();
        let key = stream.next()?.ok()?;
        let used = stream.byte_offset();
        (key, &line[used..])
    } else {
        let colon = memchr::memchr(b':', line)?;
        let key = std::str::from_utf8(&line[..colon]).ok()?;
        if !is_bare_key(key) {
            return None;
        }
        (key.to_owned(), &line[colon..])
    };
    let value = rest.strip_prefix(b": ")?;
    if value.first().is_none_or(|c| c.is_ascii_whitespace()) {
        return None;
    }
    Some((key, serde_json::from_slice(value).ok()?))
}

/// The value of a `data: {...}` line (without the line break), if it is one.
pub(crate) fn inline_data(line: &[u8]) -> Option<Map<String, Value>> {
    let value = line.strip_prefix(b"data: ")?;
    if value.first() != Some(&b'{') {
        return None;
    }
    serde_json::from_slice(value).ok()
}

/// Whether a complete header line (between `ts:` and `data:`) is well-formed. Unknown keys from
/// a newer writer are allowed if they look like `key: value`.
pub(crate) fn header_line_ok(line: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', line) else {
        return false;
    };
    let key = &line[..colon];
    let Some(value) = line[colon..].strip_prefix(b": ") else {
        return false;
    };
    match key {
        b"kind" => is_valid_name(value),
        b"session" | b"actor" => json_string(value).is_some(),
        _ => {
            !key.is_empty()
                && key.iter().all(|&c| c.is_ascii_lowercase() || c == b'_')
                && !value.is_empty()
        }
    }
}

/// The parts of a record a reader wants, parsed from its exact bytes (hash line included).
pub(crate) struct Parsed {
    pub(crate) seq: u64,
    pub(crate) prev: RecordHash,
    pub(crate) ts: Timestamp,
    pub(crate) kind: Kind,
    pub(crate) session: Option<String>,
    pub(crate) actor: String,
    pub(crate) data: Map<String, Value>,
    pub(crate) hash: RecordHash,
}

/// Parses a record's bytes. The caller has verified its hash; this only reads it.
pub(crate) fn parse_record(bytes: &[u8]) -> Result<Parsed, &'static str> {
    let rest = bytes.strip_prefix(RECORD_START).ok_or("no `---` line")?;
    let (seq, rest) = seq_line(rest).ok_or("no `seq:` line")?;
    let (prev, rest) = prev_line(rest).ok_or("no `prev:` line")?;
    let (ts, rest) = ts_line(rest).ok_or("no `ts:` line")?;
    let mut kind = None;
    let mut session = None;
    let mut actor = None;
    let mut data: Option<Map<String, Value>> = None;
    let mut hash = None;
    let mut in_block = false;
    let mut lines = rest.split(|&c| c == b'\n');
    for line in lines.by_ref() {
        if let Some(hex) = line.strip_prefix(HASH_LINE) {
            hash = RecordHash::from_hex(hex);
            break;
        }
        if in_block {
            let (key, value) = data_line(line).ok_or("bad line in the `data:` block")?;
            if let Some(map) = data.as_mut() {
                map.insert(key, value);
            }
            continue;
        }
        if line == b"data:" {
            data = Some(Map::new());
            in_block = true;
        } else if line.starts_with(b"data: ") {
            data = Some(inline_data(line).ok_or("`data:` is not a JSON mapping")?);
        } else if let Some(v) = line.strip_prefix(b"kind: ") {
            let name = std::str::from_utf8(v).map_err(|_| "`kind:` is not UTF-8")?;
            kind = Some(Kind::parse(name).map_err(|_| "`kind:` is not a valid kind")?);
        } else if let Some(v) = line.strip_prefix(b"session: ") {
            session = Some(json_string(v).ok_or("`session:` is not a JSON string")?);
        } else if let Some(v) = line.strip_prefix(b"actor: ") {
            actor = Some(json_string(v).ok_or("`actor:` is not a JSON string")?);
        } else if !header_line_ok(line) {
            return Err("unexpected line before `data:`");
        }
    }
    Ok(Parsed {
        seq,
        prev,
        ts,
        kind: kind.ok_or("no `kind:` line")?,
        session,
        actor: actor.ok_or("no `actor:` line")?,
        data: data.ok_or("no `data:` line")?,
        hash: hash.ok_or("no hash line")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn data(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn round_trip(map: &Map<String, Value>) -> Map<String, Value> {
        let mut body = Vec::new();
        encode_headers(&mut body, &Kind::Approval, Some("s-1"), "tester");
        body.extend(encode_data(map).expect("encodes"));
        let mut out = Vec::new();
        let ts: Timestamp = "2025-01-01T00:00:00Z".parse().expect("time");
        let hash = encode_record(&mut out, 1, &RecordHash::GENESIS, &ts, &body);
        let parsed = parse_record(&out).expect("parses");
        assert_eq!(parsed.hash, hash);
        assert_eq!(parsed.session.as_deref(), Some("s-1"));
        assert_eq!(parsed.actor, "tester");
        parsed.data
    }

    #[test]
    fn data_round_trips() {
        let map = data(json!({
            "plain": "x",
            "Upper Key": 1,
            "true": false,
            "nested": {"a": [1, 2, {"b": null}], "s": "line\nbreak"},
            "weird": "\u{0}\u{7f}\u{85}\u{2028}\u{feff}#---\"'\\",
            "": "empty key",
        }));
        assert_eq!(round_trip(&map), map);
    }

    #[test]
    fn every_line_has_a_known_shape() {
        let map = data(json!({"a": "x\n---\n# b3:00\n", "b": "\r\u{2029}"}));
        let block = encode_data(&map).expect("encodes");
        for line in block.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            assert!(
                line == b"data:" || line.starts_with(b"  "),
                "{:?}",
                String::from_utf8_lossy(line)
            );
            assert!(!line.contains(&b'\r'));
        }
        assert!(!String::from_utf8_lossy(&block).contains('\u{2029}'));
    }

    #[test]
    fn long_keys_fall_back_to_a_flow_mapping() {
        let map = data(json!({"k".repeat(2000): 1, "b": 2}));
        let block = encode_data(&map).expect("encodes");
        assert!(block.starts_with(b"data: {"));
        assert_eq!(round_trip(&map), map);
    }

    #[test]
    fn empty_data() {
        assert_eq!(encode_data(&Map::new()).expect("encodes"), b"data: {}\n");
        assert_eq!(round_trip(&Map::new()), Map::new());
    }

    #[test]
    fn header_lines() {
        assert!(header_line_ok(b"kind: a.b"));
        assert!(header_line_ok(b"session: \"x\""));
        assert!(!header_line_ok(b"session: x"));
        assert!(header_line_ok(b"future_field: 3"));
        assert!(!header_line_ok(b"Future: 3"));
        assert!(!header_line_ok(b"  x: 3"));
    }

    #[test]
    fn seq_lines() {
        assert_eq!(
            seq_line(b"seq: 12\nx").map(|(n, r)| (n, r.to_vec())),
            Some((12, b"x".to_vec()))
        );
        assert!(seq_line(b"seq: 012\n").is_none());
        assert!(seq_line(b"seq: 99999999999999999999999\n").is_none());
        assert!(seq_line(b"seq: \n").is_none());
    }
}
