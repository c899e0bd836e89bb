//! `PADDOCK_TIMINGS=1`: how long each phase of a hot path took, printed to stderr, so a slow
//! commit or command can be taken apart without a profiler.

use std::time::Instant;

pub struct Timings {
    /// Which program is speaking (`paddock-sh`, `paddock hook pre-commit`).
    who: &'static str,
    on: bool,
    start: Instant,
    last: Instant,
}

impl Timings {
    pub fn new(who: &'static str) -> Timings {
        let now = Instant::now();
        Timings {
            who,
            on: std::env::var_os("PADDOCK_TIMINGS").is_some(),
            start: now,
            last: now,
        }
    }

    pub fn mark(&mut self, phase: &str) {
        if self.on {
            let now = Instant::now();
            eprintln!(
                "{} timing: {phase:<16} {:>7.3} ms (total {:.3} ms)",
                self.who,
                (now - self.last).as_secs_f64() * 1e3,
                (now - self.start).as_secs_f64() * 1e3
            );
            self.last = now;
        }
    }
}
