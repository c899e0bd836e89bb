//! What confinement costs per command: `sh -c true` spawned directly and fully confined, side by
//! side in one run, plus the cost of building the ruleset and of probing.
//!
//! The spec looks like a session's: one writable worktree with three read-only binds, and a hidden
//! sibling worktree, which turns `/` into one rule per entry along the hidden path's ancestor chain
//! (about 60 rules). Target: at most 1.5 ms of overhead per spawn (median).
//!
//! Run with `cargo bench -p paddock-sandbox`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use paddock_sandbox::{CommandExt as _, Mode, Prepared, Spec};

const SPAWNS: usize = 400;
const BUILDS: usize = 200;
const PROBES: usize = 30;

fn median_and_p90(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() * 9 / 10])
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn spawn_true(prepared: Option<&Prepared>, cwd: &Path) -> Duration {
    let mut command = Command::new("sh");
    command.args(["-c", "true"]).current_dir(cwd);
    if let Some(prepared) = prepared {
        command.confine(prepared);
    }
    let start = Instant::now();
    let status = command.status().expect("spawn sh");
    let elapsed = start.elapsed();
    assert!(status.success(), "sh -c true failed: {status}");
    elapsed
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().canonicalize().expect("canonical temp dir");
    let work = root.join("work");
    let other = root.join("other-session");
    for d in [work.join("hooks"), other.clone(), root.join("sibling")] {
        std::fs::create_dir_all(d).expect("create dir");
    }
    std::fs::write(work.join(".git"), "gitdir: /x\n").expect("write");
    std::fs::write(work.join("config"), "[core]\n").expect("write");
    let mut spec = Spec::new();
    spec.writable.push(work.clone());
    spec.hidden.push(other);
    spec.read_only_binds = vec![work.join(".git"), work.join("config"), work.join("hooks")];

    let probes: Vec<Duration> = (0..PROBES)
        .map(|_| {
            let start = Instant::now();
            let _ = paddock_sandbox::probe();
            start.elapsed()
        })
        .collect();
    let capabilities = paddock_sandbox::probe();
    println!("probe:\n{capabilities}\n");
    if capabilities.best_mode() < Mode::Full {
        eprintln!("this kernel cannot run mode full; nothing to measure");
        std::process::exit(1);
    }

    let builds: Vec<Duration> = (0..BUILDS)
        .map(|_| {
            let start = Instant::now();
            let prepared =
                Prepared::with_capabilities(&spec, &capabilities, Mode::Full, &[Mode::Full])
                    .expect("prepare");
            let elapsed = start.elapsed();
            drop(prepared);
            elapsed
        })
        .collect();
    let full = Prepared::with_capabilities(&spec, &capabilities, Mode::Full, &[Mode::Full])
        .expect("prepare full");
    let landlock_only = Prepared::with_capabilities(
        &spec,
        &capabilities,
        Mode::LandlockOnly,
        &[Mode::LandlockOnly],
    )
    .expect("prepare landlock-only");

    // Warm up the page cache and the dynamic loader.
    for _ in 0..20 {
        spawn_true(None, &work);
        spawn_true(Some(&full), &work);
    }
    // Interleaved so that drift (other load, CPU frequency) hits all variants alike.
    let (mut direct, mut confined, mut landlock) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..SPAWNS {
        direct.push(spawn_true(None, &work));
        confined.push(spawn_true(Some(&full), &work));
        landlock.push(spawn_true(Some(&landlock_only), &work));
    }

    let (probe_median, probe_p90) = median_and_p90(probes);
    let (build_median, build_p90) = median_and_p90(builds);
    let (direct_median, direct_p90) = median_and_p90(direct);
    let (full_median, full_p90) = median_and_p90(confined);
    let (landlock_median, landlock_p90) = median_and_p90(landlock);
    println!("rules in the ruleset:           {}", full.rule_count());
    println!(
        "read-only binds:                {}",
        spec.read_only_binds.len()
    );
    println!(
        "probe (fork + checks):          median {}  p90 {}",
        ms(probe_median),
        ms(probe_p90)
    );
    println!(
        "Prepared::new (ruleset build):  median {}  p90 {}",
        ms(build_median),
        ms(build_p90)
    );
    println!(
        "sh -c true, direct:             median {}  p90 {}",
        ms(direct_median),
        ms(direct_p90)
    );
    println!(
        "sh -c true, full:               median {}  p90 {}",
        ms(full_median),
        ms(full_p90)
    );
    println!(
        "sh -c true, landlock only:      median {}  p90 {}",
        ms(landlock_median),
        ms(landlock_p90)
    );
    let overhead = full_median.saturating_sub(direct_median);
    println!(
        "overhead of full confinement:   {} (median vs median; target <= 1.500 ms) {}",
        ms(overhead),
        if overhead <= Duration::from_micros(1500) {
            "OK"
        } else {
            "OVER TARGET"
        }
    );
}
