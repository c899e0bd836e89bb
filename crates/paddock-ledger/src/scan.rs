//! Verification on raw bytes: record boundaries, hashes, `seq`, `prev` and `ts`, without a YAML
//! parser. Every reader (verify, show, tail, append's tail check) walks the file through here,
//! so nothing is ever shown or appended to without having been verified.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use memchr::memmem::Finder;

use crate::format::{
    HASH_LINE, HASH_LINE_LEN, HASH_LINE_NEEDLE, RECORD_START, data_line, header_line_ok,
    inline_data, prev_line, seq_line, ts_line,
};
use crate::hash::{RecordHash, is_hex};
use crate::time::{Timestamp, is_shape_prefix};
use crate::verify::Tamper;

/// Where a chain stands after some records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chain {
    /// The `seq` the next record must carry.
    pub(crate) next_seq: u64,
    /// The hash the next record's `prev` must carry.
    pub(crate) prev: RecordHash,
    /// The last record's time (the next may not be earlier).
    pub(crate) last_ts: Option<Timestamp>,
}

impl Chain {
    /// Before the first record.
    pub(crate) const START: Chain = Chain {
        next_seq: 1,
        prev: RecordHash::GENESIS,
        last_ts: None,
    };

    pub(crate) fn advance(&mut self, scanned: &Scanned) {
        self.next_seq = scanned.seq + 1;
        self.prev = scanned.hash;
        self.last_ts = Some(scanned.ts);
    }
}

/// A verified record at the start of a buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scanned {
    /// Bytes, hash line included.
    pub(crate) len: usize,
    pub(crate) seq: u64,
    pub(crate) hash: RecordHash,
    pub(crate) ts: Timestamp,
}

pub(crate) enum Scan {
    Record(Scanned),
    /// The buffer holds no complete record yet and the file goes on.
    NeedMore,
    /// Nothing left.
    End,
    /// The rest of the file is an incomplete record, a prefix of a well-formed one: a write
    /// that stopped half-way.
    Torn,
    /// Anything else.
    Bad(Tamper),
}

pub(crate) fn finder() -> Finder<'static> {
    Finder::new(HASH_LINE_NEEDLE)
}

/// Verifies the record at the start of `buf` as the next link of `chain`.
pub(crate) fn scan(buf: &[u8], eof: bool, chain: &Chain, finder: &Finder<'_>) -> Scan {
    if buf.is_empty() {
        return if eof { Scan::End } else { Scan::NeedMore };
    }
    let incomplete = || {
        if !eof {
            Scan::NeedMore
        } else if is_torn_prefix(buf) {
            Scan::Torn
        } else {
            Scan::Bad(Tamper::Malformed {
                what: "the last record is incomplete but is not a torn write",
            })
        }
    };
    let Some(nl) = finder.find(buf) else {
        return incomplete();
    };
    let line = nl + 1;
    let end = line + HASH_LINE_LEN;
    if buf.len() < end {
        return incomplete();
    }
    let hex = &buf[line + HASH_LINE.len()..end - 1];
    let recorded = match RecordHash::from_hex(hex) {
        Some(h) if buf[end - 1] == b'\n' => h,
        _ => {
            return Scan::Bad(Tamper::Malformed {
                what: "the hash line is not `# b3:` and 64 lowercase hex digits",
            });
        }
    };
    let body = &buf[..line];
    let Some(header) = body.strip_prefix(RECORD_START) else {
        return Scan::Bad(Tamper::Malformed {
            what: "the record does not start with a `---` line",
        });
    };
    let computed = RecordHash::of_record(body);
    if computed != recorded {
        return Scan::Bad(Tamper::HashMismatch { recorded, computed });
    }
    let Some((seq, rest)) = seq_line(header) else {
        return Scan::Bad(Tamper::Malformed {
            what: "the second line is not `seq: <number>`",
        });
    };
    if seq != chain.next_seq {
        return Scan::Bad(Tamper::SeqMismatch {
            expected: chain.next_seq,
            found: seq,
        });
    }
    let Some((prev, rest)) = prev_line(rest) else {
        return Scan::Bad(Tamper::Malformed {
            what: "the third line is not `prev: b3:<hash>`",
        });
    };
    if prev != chain.prev {
        return Scan::Bad(Tamper::BrokenLink {
            expected: chain.prev,
            found: prev,
        });
    }
    let Some((ts, _)) = ts_line(rest) else {
        return Scan::Bad(Tamper::Malformed {
            what: "the fourth line is not `ts: <RFC 3339 time>`",
        });
    };
    if let Some(previous) = chain.last_ts
        && ts < previous
    {
        return Scan::Bad(Tamper::TimeOrder {
            previous,
            found: ts,
        });
    }
    Scan::Record(Scanned {
        len: end,
        seq,
        hash: recorded,
        ts,
    })
}

/// Reads `seq` and `prev` of a record without knowing the chain before it, and verifies it on
/// its own (hash, layout). For the tail check.
pub(crate) fn scan_alone(bytes: &[u8], finder: &Finder<'_>) -> Option<Scanned> {
    let header = bytes.strip_prefix(RECORD_START)?;
    let (seq, rest) = seq_line(header)?;
    let (prev, _) = prev_line(rest)?;
    let chain = Chain {
        next_seq: seq,
        prev,
        last_ts: None,
    };
    match scan(bytes, true, &chain, finder) {
        Scan::Record(s) if s.len == bytes.len() => Some(s),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Line {
    Start,
    Seq,
    Prev,
    Ts,
    Headers,
    DataBlock,
    AfterData,
}

/// Whether `tail` (which holds no complete hash line) is a prefix of a well-formed record: every
/// complete line has the shape its position calls for and the last, partial line could still
/// become one. A torn write always passes; a flipped byte in the last record does not.
pub(crate) fn is_torn_prefix(tail: &[u8]) -> bool {
    let mut state = Line::Start;
    let mut rest = tail;
    while let Some(nl) = memchr::memchr(b'\n', rest) {
        let line = &rest[..nl];
        rest = &rest[nl + 1..];
        let mut with_nl = line.to_vec();
        with_nl.push(b'\n');
        state = match state {
            Line::Start if line == b"---" => Line::Seq,
            Line::Seq if seq_line(&with_nl).is_some() => Line::Prev,
            Line::Prev if prev_line(&with_nl).is_some() => Line::Ts,
            Line::Ts if ts_line(&with_nl).is_some() => Line::Headers,
            Line::Headers if line == b"data:" => Line::DataBlock,
            Line::Headers if line.starts_with(b"data: ") => {
                if inline_data(line).is_none() {
                    return false;
                }
                Line::AfterData
            }
            Line::Headers if header_line_ok(line) => Line::Headers,
            Line::DataBlock if data_line(line).is_some() => Line::DataBlock,
            _ => return false,
        };
    }
    let p = rest;
    if p.is_empty() {
        return true;
    }
    match state {
        Line::Start => b"---".starts_with(p),
        Line::Seq => prefix_then(p, b"seq: ", |d| {
            d.len() <= 20 && d.iter().all(u8::is_ascii_digit)
        }),
        Line::Prev => prefix_then(p, b"prev: b3:", |h| {
            h.len() <= 64 && h.iter().all(|&c| is_hex(c))
        }),
        Line::Ts => prefix_then(p, b"ts: ", is_shape_prefix),
        Line::Headers => {
            let key_end = memchr::memchr(b':', p).unwrap_or(p.len());
            p[..key_end]
                .iter()
                .all(|&c| c.is_ascii_lowercase() || c == b'_')
        }
        Line::DataBlock => p.starts_with(b"  ") || p == b" " || hash_line_prefix(p),
        Line::AfterData => hash_line_prefix(p),
    }
}

/// `p` is a prefix of `lead`, or `lead` followed by something `rest_ok` accepts.
fn prefix_then(p: &[u8], lead: &[u8], rest_ok: impl Fn(&[u8]) -> bool) -> bool {
    if p.len() <= lead.len() {
        lead.starts_with(p)
    } else {
        p.starts_with(lead) && rest_ok(&p[lead.len()..])
    }
}

fn hash_line_prefix(p: &[u8]) -> bool {
    prefix_then(p, HASH_LINE, |h| {
        h.len() <= 64 && h.iter().all(|&c| is_hex(c))
    })
}

/// One step of a [`Walker`].
pub(crate) enum Step<'a> {
    /// A verified record and its bytes.
    Record {
        offset: u64,
        bytes: &'a [u8],
        scanned: Scanned,
    },
    /// The end, after a complete record.
    End,
    /// A torn last record starting at `offset`.
    Torn { offset: u64 },
    /// Damage in the record that starts at `offset` and should carry `seq`.
    Bad {
        offset: u64,
        seq: u64,
        reason: Tamper,
    },
}

const CHUNK: usize = 1 << 20;

/// What a [`Walker`] reads.
pub(crate) enum Source {
    File(File),
    Bytes(Vec<u8>),
}

impl Source {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        match self {
            Source::File(f) => f.read_at(buf, offset),
            Source::Bytes(b) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(b.len());
                let n = buf.len().min(b.len() - start);
                buf[..n].copy_from_slice(&b[start..start + n]);
                Ok(n)
            }
        }
    }
}

/// Reads a file from a record boundary to a fixed end, verifying record after record.
pub(crate) struct Walker {
    file: Source,
    /// File offset of `buf[head]`: the start of the next record.
    pos: u64,
    /// Where reading stops (a size seen under the lock).
    end: u64,
    /// File offset just past the last byte in `buf`.
    filled_to: u64,
    buf: Vec<u8>,
    head: usize,
    pub(crate) chain: Chain,
    finder: Finder<'static>,
}

impl Walker {
    pub(crate) fn new(file: File, start: u64, end: u64, chain: Chain) -> Walker {
        Walker::over(Source::File(file), start, end, chain)
    }

    /// Walks bytes in memory (a ledger carried by checkpoint commits).
    pub(crate) fn over_bytes(bytes: Vec<u8>) -> Walker {
        let end = bytes.len() as u64;
        Walker::over(Source::Bytes(bytes), 0, end, Chain::START)
    }

    fn over(file: Source, start: u64, end: u64, chain: Chain) -> Walker {
        Walker {
            file,
            pos: start,
            end,
            filled_to: start,
            buf: Vec::new(),
            head: 0,
            chain,
            finder: finder(),
        }
    }

    /// The offset of the next record (after the last one returned).
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    /// Lets the walk go on to a new end (the file grew).
    pub(crate) fn extend_to(&mut self, end: u64) {
        if end > self.end {
            self.end = end;
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.head > 0 {
            self.buf.drain(..self.head);
            self.head = 0;
        }
        let want = usize::try_from(self.end.saturating_sub(self.filled_to))
            .unwrap_or(usize::MAX)
            .min(CHUNK.max(self.buf.len()));
        let at = self.buf.len();
        self.buf.resize(at + want, 0);
        let mut got = 0;
        while got < want {
            match self
                .file
                .read_at(&mut self.buf[at + got..], self.filled_to + got as u64)
            {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(at);
                    return Err(e);
                }
            }
        }
        self.buf.truncate(at + got);
        self.filled_to += got as u64;
        if got < want {
            // The file is shorter than it was under the lock: only a truncation does that.
            // Walk what is there; the caller sees the end (or a torn tail) early.
            self.end = self.filled_to;
        }
        Ok(())
    }

    pub(crate) fn next_step(&mut self) -> io::Result<Step<'_>> {
        let result = loop {
            let eof = self.filled_to >= self.end;
            match scan(&self.buf[self.head..], eof, &self.chain, &self.finder) {
                Scan::NeedMore => self.fill()?,
                other => break other,
            }
        };
        Ok(match result {
            Scan::Record(scanned) => {
                let start = self.head;
                let offset = self.pos;
                self.head += scanned.len;
                self.pos += scanned.len as u64;
                self.chain.advance(&scanned);
                Step::Record {
                    offset,
                    bytes: &self.buf[start..start + scanned.len],
                    scanned,
                }
            }
            Scan::End => Step::End,
            Scan::Torn => Step::Torn { offset: self.pos },
            Scan::Bad(reason) => Step::Bad {
                offset: self.pos,
                seq: self.chain.next_seq,
                reason,
            },
            Scan::NeedMore => Step::End,
        })
    }

    /// Forgets buffered bytes past the position, so that a later walk rereads them (after a
    /// torn tail that may since have been completed or cut).
    pub(crate) fn rewind_to_position(&mut self) {
        self.buf.clear();
        self.head = 0;
        self.filled_to = self.pos;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Entry;
    use crate::format::encode_record;
    use crate::kind::Kind;

    fn ledger(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut prev = RecordHash::GENESIS;
        for seq in 1..=n {
            let ts: Timestamp = "2025-01-01T00:00:00Z".parse().expect("time");
            let body = Entry::new(Kind::Approval, &serde_json::json!({"n": seq, "s": "a\nb"}))
                .expect("entry")
                .session("s")
                .body("me");
            prev = encode_record(&mut out, seq, &prev, &ts, &body);
        }
        out
    }

    fn walk(buf: &[u8]) -> (u64, Option<Tamper>, bool) {
        let f = finder();
        let mut chain = Chain::START;
        let mut at = 0;
        loop {
            match scan(&buf[at..], true, &chain, &f) {
                Scan::Record(s) => {
                    chain.advance(&s);
                    at += s.len;
                }
                Scan::End => return (chain.next_seq - 1, None, false),
                Scan::Torn => return (chain.next_seq - 1, None, true),
                Scan::Bad(t) => return (chain.next_seq - 1, Some(t), false),
                Scan::NeedMore => unreachable!("eof is set"),
            }
        }
    }

    #[test]
    fn clean_chain() {
        assert!(matches!(walk(&ledger(5)), (5, None, false)));
    }

    #[test]
    fn every_strict_prefix_of_the_last_record_is_torn() {
        let two = ledger(2);
        let one = ledger(1).len();
        for cut in one + 1..two.len() {
            let (n, bad, torn) = walk(&two[..cut]);
            assert_eq!((n, bad.is_none(), torn), (1, true, true), "cut at {cut}");
        }
    }

    #[test]
    fn every_byte_flip_in_the_last_record_is_damage() {
        let two = ledger(2);
        let one = ledger(1).len();
        for at in one..two.len() {
            let mut copy = two.clone();
            copy[at] ^= 0x01;
            let (n, bad, torn) = walk(&copy);
            assert!(
                bad.is_some() && !torn && n == 1,
                "flip at {at}: {n} {bad:?} {torn}"
            );
        }
    }

    #[test]
    fn garbage_never_panics() {
        let base = ledger(4);
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n.max(1) as u64) as usize
        };
        for _ in 0..3000 {
            let mut bytes = base.clone();
            for _ in 0..1 + rand(4) {
                if bytes.is_empty() {
                    break;
                }
                match rand(4) {
                    0 => {
                        let at = rand(bytes.len());
                        bytes[at] = rand(256) as u8;
                    }
                    1 => {
                        let at = rand(bytes.len());
                        bytes.insert(at, [b'\n', b'#', b'-', b' ', b'"', b':'][rand(6)]);
                    }
                    2 => {
                        let at = rand(bytes.len());
                        bytes.remove(at);
                    }
                    _ => bytes.truncate(rand(bytes.len())),
                }
            }
            let mut walker = Walker::over_bytes(bytes.clone());
            while let Ok(Step::Record { bytes, .. }) = walker.next_step() {
                let _ = crate::format::parse_record(bytes);
            }
            let _ = is_torn_prefix(&bytes);
            let _ = scan_alone(&bytes, &finder());
        }
    }
}
