//! In-process decisions per second over the shared corpus mix (target: ≥ 100,000/s).
//!
//! `cargo bench -p paddock-gate` builds the corpus layout (a real repository and two session
//! worktrees), then decides every corpus command in a loop for a few seconds and prints the
//! throughput, plus the slowest commands.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../tests/suite/support.rs"]
mod support;

fn main() {
    let corpus =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/commands.jsonl");
    if !corpus.exists() {
        eprintln!("the shared corpus is missing at {}", corpus.display());
        std::process::exit(2);
    }
    let fx = support::Fixture::new();
    let ctx = fx.ctx();
    let commands: Vec<String> = support::read_cases(&corpus)
        .iter()
        .map(|c| fx.expand(&c.cmd))
        .collect();

    // Warm up (page cache, allocator, the parser's word cache).
    for command in &commands {
        black_box(paddock_gate::decide(&ctx, command));
    }

    let budget = Duration::from_secs(3);
    let start = Instant::now();
    let mut decisions = 0u64;
    while start.elapsed() < budget {
        for command in &commands {
            black_box(paddock_gate::decide(&ctx, black_box(command)));
        }
        decisions += commands.len() as u64;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let per_second = decisions as f64 / elapsed;
    println!(
        "decide: {decisions} decisions over {} corpus commands in {elapsed:.2} s = {per_second:.0} decisions/s ({:.2} µs each)",
        commands.len(),
        1e6 / per_second
    );

    // The slowest commands, each timed on its own.
    let mut timings: Vec<(f64, &str)> = commands
        .iter()
        .map(|command| {
            let runs = 2000;
            let t = Instant::now();
            for _ in 0..runs {
                black_box(paddock_gate::decide(&ctx, black_box(command)));
            }
            (
                t.elapsed().as_secs_f64() * 1e6 / runs as f64,
                command.as_str(),
            )
        })
        .collect();
    timings.sort_by(|a, b| b.0.total_cmp(&a.0));
    let median = timings[timings.len() / 2].0;
    println!("median per command: {median:.2} µs; slowest:");
    for (micros, command) in timings.iter().take(5) {
        println!("  {micros:8.2} µs  {}", command.replace('\n', "⏎"));
    }
    // What one `paddock check` process pays: a fresh context (paths resolved, no caches), then
    // one decision.
    let cold_start = Instant::now();
    for command in &commands {
        let fresh = fx.ctx();
        black_box(paddock_gate::decide(&fresh, black_box(command)));
    }
    let cold = cold_start.elapsed().as_secs_f64() * 1e6 / commands.len() as f64;
    println!("cold (fresh context + one decision): {cold:.1} µs per command on average");
    if per_second < 100_000.0 {
        println!("below the target of 100,000 decisions/s");
    }
}
