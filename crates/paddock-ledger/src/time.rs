//! Record timestamps: RFC 3339, UTC, always nine fractional digits, so the text is fixed-width
//! and its byte order is its time order (verify compares bytes, it never parses a date).

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

/// Length of a timestamp: `2025-11-22T03:25:00.123456789Z`.
pub(crate) const TS_LEN: usize = 30;

/// A record time: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (UTC, nanoseconds).
///
/// Ordering and equality are those of the text, which for this fixed-width form is time order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp([u8; TS_LEN]);

impl Timestamp {
    /// Now, from the system clock.
    pub fn now() -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }

    /// Formats `time`. Times before 1970 or after 9999 are clamped into that range.
    pub fn from_system_time(time: SystemTime) -> Timestamp {
        // humantime panics on nothing but years past 9999; clamp so it cannot.
        let max = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(253_402_300_799);
        let time = time.clamp(SystemTime::UNIX_EPOCH, max);
        let text = humantime::format_rfc3339_nanos(time).to_string();
        let mut out = [b'0'; TS_LEN];
        if text.len() == TS_LEN {
            out.copy_from_slice(text.as_bytes());
        }
        Timestamp(out)
    }

    /// Parses the fixed-width form only (what the ledger writes).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Timestamp> {
        if !has_shape(bytes) {
            return None;
        }
        let mut out = [0u8; TS_LEN];
        out.copy_from_slice(bytes);
        Some(Timestamp(out))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ever built from ASCII checked by `has_shape` or produced by humantime.
        std::str::from_utf8(&self.0).unwrap_or("0000-00-00T00:00:00.000000000Z")
    }

    pub(crate) fn as_bytes(&self) -> &[u8; TS_LEN] {
        &self.0
    }

    /// As a `SystemTime` (`None` for a date that does not exist, such as February 30th).
    pub fn to_system_time(&self) -> Option<SystemTime> {
        humantime::parse_rfc3339(self.as_str()).ok()
    }
}

/// Whether `b` (or, with `partial`, a prefix of it) has the fixed timestamp shape.
fn shape_ok(b: &[u8], partial: bool) -> bool {
    const SHAPE: &[u8; TS_LEN] = b"dddd-dd-ddTdd:dd:dd.dddddddddZ";
    if b.len() > TS_LEN || (!partial && b.len() != TS_LEN) {
        return false;
    }
    b.iter().zip(SHAPE.iter()).all(|(&c, &s)| {
        if s == b'd' {
            c.is_ascii_digit()
        } else {
            c == s
        }
    })
}

pub(crate) fn has_shape(b: &[u8]) -> bool {
    shape_ok(b, false)
}

pub(crate) fn is_shape_prefix(b: &[u8]) -> bool {
    shape_ok(b, true)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.as_str())
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        Timestamp::from_system_time(time)
    }
}

/// A string is not an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 time such as 2025-11-22T03:25:00Z")]
pub struct InvalidTimestamp(pub String);

impl FromStr for Timestamp {
    type Err = InvalidTimestamp;

    /// Accepts any RFC 3339 UTC time (`Z` or `+00:00`, any number of fractional digits).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_rfc3339_weak(s)
            .map(Timestamp::from_system_time)
            .map_err(|_| InvalidTimestamp(s.to_owned()))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::time::Duration;

    #[test]
    fn fixed_width_and_ordered() {
        let a = Timestamp::from_system_time(SystemTime::UNIX_EPOCH + Duration::from_nanos(5));
        let b = Timestamp::from_system_time(SystemTime::UNIX_EPOCH + Duration::from_secs(10));
        assert_eq!(a.as_str(), "1970-01-01T00:00:00.000000005Z");
        assert_eq!(b.as_str(), "1970-01-01T00:00:10.000000000Z");
        assert!(a < b);
        assert!(has_shape(a.as_bytes()));
    }

    #[test]
    fn parses_and_round_trips() {
        let t: Timestamp = "2025-11-22T03:25:00.5Z".parse().expect("valid time");
        assert_eq!(t.as_str(), "2025-11-22T03:25:00.500000000Z");
        assert_eq!(
            Timestamp::from_system_time(t.to_system_time().expect("real date")),
            t
        );
        assert!("yesterday".parse::<Timestamp>().is_err());
    }

    #[test]
    fn shape_prefixes() {
        assert!(is_shape_prefix(b"2025-11"));
        assert!(!is_shape_prefix(b"2025/11"));
        assert!(!has_shape(b"2025-11-22T03:25:00Z"));
    }
}
