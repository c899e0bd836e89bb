//! `PADDOCK_TIMINGS=1`: how long each phase of a hot path took, printed to stderr, so a slow
//! commit or command can be taken apart without a profiler.
//!
//! Each phase shows its wall-clock time and the CPU time this process spent in it. On a busy
//! machine the wall clock includes waiting for a CPU; the CPU time does not, so it is the figure
//! to compare between runs.

use std::time::{Duration, Instant};

pub struct Timings {
    /// Which program is speaking (`paddock-sh`, `paddock hook pre-commit`).
    who: &'static str,
    on: bool,
    start: Instant,
    last: Instant,
    last_cpu: Duration,
    /// Time spent writing the timings, left out of the phases and the total.
    reporting: Duration,
}

/// CPU time used so far by this process (all threads).
fn cpu_time() -> Duration {
    let mut ts = nix::libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes into it.
    #[allow(unsafe_code)]
    let rc = unsafe { nix::libc::clock_gettime(nix::libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

impl Timings {
    pub fn new(who: &'static str) -> Timings {
        let now = Instant::now();
        let on = std::env::var_os("PADDOCK_TIMINGS").is_some();
        Timings {
            who,
            on,
            start: now,
            last: now,
            last_cpu: if on { cpu_time() } else { Duration::ZERO },
            reporting: Duration::ZERO,
        }
    }

    pub fn mark(&mut self, phase: &str) {
        if self.on {
            let now = Instant::now();
            let cpu = cpu_time();
            eprintln!(
                "{} timing: {phase:<16} {:>7.3} ms (total {:.3} ms, cpu {:.3} ms)",
                self.who,
                (now - self.last).as_secs_f64() * 1e3,
                (now - self.start - self.reporting).as_secs_f64() * 1e3,
                cpu.saturating_sub(self.last_cpu).as_secs_f64() * 1e3,
            );
            // Writing the line (to a pipe, often, waking its reader) is no phase's cost.
            self.last = Instant::now();
            self.last_cpu = cpu_time();
            self.reporting += self.last - now;
        }
    }
}

impl Drop for Timings {
    /// The last phase: dropping what the program built (values declared after the `Timings`
    /// are dropped before it).
    fn drop(&mut self) {
        self.mark("teardown");
    }
}
