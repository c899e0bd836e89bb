//! Progress on stderr for what can take more than a second (`session gc`, `ledger verify`,
//! `ledger export`). One helper, so every command behaves the same way:
//!
//! - only when stderr is a terminal, and never under `--json` or `--quiet` (a script or a log
//!   gets the result alone);
//! - nothing for the first second (a quick run stays silent), then one line redrawn at most
//!   every 100 ms (a tight loop does not flood the terminal);
//! - the line is cleared when the operation ends, fails or panics (`Drop`), so whatever is
//!   printed next starts on a clean line.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::commands::Globals;

/// How long an operation runs before its progress shows.
const DELAY: Duration = Duration::from_secs(1);
/// The shortest time between two redraws.
const INTERVAL: Duration = Duration::from_millis(100);
/// Longer lines are cut: a line that wraps cannot be redrawn in place with `\r`.
const MAX_WIDTH: usize = 72;

/// A progress line on stderr (see the module docs).
#[derive(Debug)]
pub struct Progress {
    label: &'static str,
    enabled: bool,
    started: Instant,
    last_draw: Option<Instant>,
}

impl Progress {
    /// Progress for an operation whose results come at the end (`gc`, `verify`).
    pub fn new(globals: &Globals, label: &'static str) -> Progress {
        let enabled = !globals.json && !globals.quiet && std::io::stderr().is_terminal();
        Progress::with(label, enabled, Instant::now())
    }

    /// Progress for an operation that streams its results to stdout (`export`): shown only
    /// when stdout is not the same terminal, where the lines would garble each other (and the
    /// stream itself shows that it moves).
    pub fn beside_output(globals: &Globals, label: &'static str) -> Progress {
        let mut progress = Progress::new(globals, label);
        progress.enabled &= !std::io::stdout().is_terminal();
        progress
    }

    fn with(label: &'static str, enabled: bool, started: Instant) -> Progress {
        Progress {
            label,
            enabled,
            started,
            last_draw: None,
        }
    }

    /// Redraws the line with `message()` if it is time to; `message` is not called otherwise,
    /// so a caller in a hot loop pays for an `Instant::now()` and nothing more.
    pub fn update(&mut self, message: impl FnOnce() -> String) {
        if !self.enabled || !self.due(Instant::now()) {
            return;
        }
        let mut line = format!("{}: {}", self.label, message());
        if let Some((cut, _)) = line.char_indices().nth(MAX_WIDTH) {
            line.truncate(cut);
        }
        let mut err = std::io::stderr().lock();
        // `\r` + "erase to end of line": redraw in place. A failed write (stderr closed) only
        // loses the progress line.
        let _ = write!(err, "\r\x1b[K{line}");
        let _ = err.flush();
    }

    /// Whether a redraw at `now` is allowed, and if so, counts it as done.
    fn due(&mut self, now: Instant) -> bool {
        if now.saturating_duration_since(self.started) < DELAY {
            return false;
        }
        if let Some(last) = self.last_draw
            && now.saturating_duration_since(last) < INTERVAL
        {
            return false;
        }
        self.last_draw = Some(now);
        true
    }

    /// Clears the line, if one was drawn. Dropping does the same.
    pub fn finish(&mut self) {
        if self.last_draw.take().is_some() && self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `12.3 MiB`: sizes in progress lines.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `42%` of `total`, for progress lines (0% of nothing).
pub fn percent(done: u64, total: u64) -> String {
    let pct = (done.saturating_mul(100))
        .checked_div(total)
        .unwrap_or(0)
        .min(100);
    format!("{pct}%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn silent_for_a_second_then_at_most_every_100_ms() {
        let t0 = Instant::now();
        let mut p = Progress::with("test", false, t0);
        let at = |ms| t0 + Duration::from_millis(ms);
        assert!(!p.due(at(0)));
        assert!(!p.due(at(999)));
        assert!(p.due(at(1000)));
        assert!(!p.due(at(1050)));
        assert!(!p.due(at(1099)));
        assert!(p.due(at(1100)));
        assert!(p.due(at(5000)));
        // A clock that goes backwards (or a caller's stale Instant) never draws early.
        assert!(!p.due(at(10)));
        // Disabled, it printed nothing and has nothing to clear.
        p.finish();
        assert!(p.last_draw.is_none());
    }

    #[test]
    fn disabled_progress_never_calls_for_a_message() {
        let t0 = Instant::now()
            .checked_sub(Duration::from_secs(5))
            .unwrap_or_else(Instant::now);
        let mut p = Progress::with("test", false, t0);
        p.update(|| panic!("must not format a message when disabled"));
        assert!(p.last_draw.is_none());
    }

    #[test]
    fn sizes_and_percentages() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024 * 1024), "5120.0 GiB");
        assert_eq!(percent(1, 4), "25%");
        assert_eq!(percent(0, 0), "0%");
        assert_eq!(percent(9, 4), "100%");
    }
}
