//! Record hashes: BLAKE3, keyed with a key derived from a fixed context string, so a ledger hash
//! can never be confused with any other BLAKE3 hash of the same bytes.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// The BLAKE3 `derive_key` context the record-hashing key is derived from.
///
/// A record's hash is `BLAKE3-keyed(key, record bytes)` with
/// `key = BLAKE3-derive_key(HASH_CONTEXT, b"")`. Changing it is a format change.
pub const HASH_CONTEXT: &str = "paddock ledger v1 record";

/// The prefix every hash carries in the file and in text: `b3:`.
pub const HASH_PREFIX: &str = "b3:";

/// A record hash (32 bytes of BLAKE3 output). Displayed as `b3:<64 lowercase hex>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordHash([u8; 32]);

impl RecordHash {
    /// The `prev` of the first record: 32 zero bytes.
    pub const GENESIS: RecordHash = RecordHash([0; 32]);

    /// Wraps raw hash bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> RecordHash {
        RecordHash(bytes)
    }

    /// The raw hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash of `record` (its exact bytes, from `---` up to but excluding the hash line).
    pub fn of_record(record: &[u8]) -> RecordHash {
        let mut hasher = blake3::Hasher::new_keyed(record_key());
        hasher.update(record);
        RecordHash(*hasher.finalize().as_bytes())
    }

    /// The 64 lowercase hex digits, without the `b3:` prefix.
    pub fn to_hex(&self) -> String {
        let mut out = [0u8; 64];
        encode_hex(&self.0, &mut out);
        // Hex digits are ASCII.
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Parses exactly 64 lowercase hex digits (no prefix).
    pub fn from_hex(hex: &[u8]) -> Option<RecordHash> {
        decode_hex(hex).map(RecordHash)
    }
}

impl fmt::Display for RecordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{HASH_PREFIX}{}", self.to_hex())
    }
}

impl fmt::Debug for RecordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A string is not a `b3:<64 lowercase hex>` hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a ledger hash: expected `b3:` and 64 lowercase hex digits")]
pub struct InvalidHash(pub String);

impl FromStr for RecordHash {
    type Err = InvalidHash;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix(HASH_PREFIX)
            .and_then(|hex| RecordHash::from_hex(hex.as_bytes()))
            .ok_or_else(|| InvalidHash(s.to_owned()))
    }
}

impl serde::Serialize for RecordHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RecordHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn record_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| blake3::derive_key(HASH_CONTEXT, b""))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes the lowercase hex of `bytes` into `out` (twice as long).
pub(crate) fn encode_hex(bytes: &[u8; 32], out: &mut [u8; 64]) {
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
}

/// Lowercase hex digit values; 0xff for every other byte.
const UNHEX: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

fn nibble(c: u8) -> Option<u8> {
    let v = UNHEX[usize::from(c)];
    (v != 0xff).then_some(v)
}

/// Decodes exactly 64 lowercase hex digits. (Verification decodes two per record: a table and
/// one validity check at the end keep it branch-free.)
pub(crate) fn decode_hex(hex: &[u8]) -> Option<[u8; 32]> {
    let hex: &[u8; 64] = hex.try_into().ok()?;
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for i in 0..32 {
        let hi = UNHEX[usize::from(hex[2 * i])];
        let lo = UNHEX[usize::from(hex[2 * i + 1])];
        bad |= (hi | lo) & 0xf0;
        out[i] = (hi << 4) | (lo & 0x0f);
    }
    (bad == 0).then_some(out)
}

/// Whether `c` is a lowercase hex digit.
pub(crate) fn is_hex(c: u8) -> bool {
    nibble(c).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn hex_round_trip() {
        let h = RecordHash::of_record(b"---\nseq: 1\n");
        let text = h.to_string();
        assert!(text.starts_with("b3:"));
        assert_eq!(text.len(), 67);
        assert_eq!(text.parse::<RecordHash>(), Ok(h));
    }

    #[test]
    fn rejects_uppercase_and_short() {
        let upper = format!("b3:{}", "A".repeat(64));
        assert!(upper.parse::<RecordHash>().is_err());
        assert!("b3:00".parse::<RecordHash>().is_err());
        assert!("0".repeat(64).parse::<RecordHash>().is_err());
    }

    #[test]
    fn keyed_hash_differs_from_plain_blake3() {
        let bytes = b"---\nseq: 1\n";
        assert_ne!(
            RecordHash::of_record(bytes).as_bytes(),
            blake3::hash(bytes).as_bytes()
        );
    }

    #[test]
    fn genesis_is_zeros() {
        assert_eq!(
            RecordHash::GENESIS.to_string(),
            format!("b3:{}", "0".repeat(64))
        );
    }
}
