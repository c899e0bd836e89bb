//! The scope-lock budget: checking a new 20-glob scope against 1,000 held scopes (5–20 globs
//! each) must take at most 10 ms.
//!
//! Run with `cargo bench -p paddock-policy --bench overlap`. Prints the median, min and max of
//! `RUNS` runs for:
//!
//! - `check`: parse the new scope from text and ask a [`ScopeIndex`] of the held scopes which of
//!   them overlap it (the index built once, as a long-lived supervisor keeps it): the budget;
//! - `check, cold`: the same in a fresh process: parse all 1,000 held scopes from text, build the
//!   index, then check (what `paddock session start` pays when it loads the registry);
//! - `pairwise`: `overlap(new, held)` for every held scope, without the index;
//! - `check, wide`: `check` for a new scope that also holds `**/*.txt`, which overlaps most held
//!   scopes (each hit gets its witness).

use std::hint::black_box;
use std::time::{Duration, Instant};

use paddock_policy::glob::{PatternSet, ScopeIndex, overlap};

const HELD: usize = 1_000;
const RUNS: usize = 25;
const BUDGET: Duration = Duration::from_millis(10);

/// splitmix64: deterministic, so every run checks the same scopes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("n fits")
    }
}

/// What a session working on crate/module `name` typically locks.
const TEMPLATES: &[&str] = &[
    "crates/{}/src/**",
    "crates/{}/src/*.rs",
    "crates/{}/tests/*.rs",
    "crates/{}/Cargo.toml",
    "crates/{}/benches/**/*.rs",
    "src/{}/**",
    "src/{}/*/mod.rs",
    "docs/{}/**/*.md",
    "tests/fixtures/{}/**",
    "web/app/{}/[id]/page.tsx",
    "proto/{}/*.proto",
    "scripts/{}_*.sh",
    "assets/{}/**/*.png",
    "config/{}.yaml",
    "migrations/{}/*.sql",
    "gen/**/{}_generated.rs",
    "snapshots/**/*.{}.snap",
    "lib/{}/",
    "pkg/{}/internal/**/*_test.go",
    "services/{}/*/handler.py",
];

/// Globs that cover a lot of the tree; a few held scopes carry one.
const WIDE: &[&str] = &[
    "**/*.snap",
    "docs/**/*.md",
    "*.md",
    "Cargo.lock",
    ".github/**",
];

fn held_scopes() -> Vec<Vec<String>> {
    let mut rng = Rng(0x5eed);
    (0..HELD)
        .map(|i| {
            let name = format!("c{i}");
            let count = 5 + rng.below(16);
            let mut globs: Vec<String> = (0..count)
                .map(|_| TEMPLATES[rng.below(TEMPLATES.len())].replace("{}", &name))
                .collect();
            if rng.below(100) == 0 {
                globs.push(WIDE[rng.below(WIDE.len())].to_owned());
            }
            globs
        })
        .collect()
}

fn new_scope() -> Vec<String> {
    let mut globs: Vec<String> = TEMPLATES.iter().map(|t| t.replace("{}", "new")).collect();
    globs.truncate(18);
    // Two that collide with held work, so witnesses get built too.
    globs.push("crates/c17/src/lib.rs".to_owned());
    globs.push("docs/c404/guide/*.md".to_owned());
    globs
}

fn parse(globs: &[String]) -> PatternSet {
    PatternSet::new(globs).expect("benchmark globs are valid")
}

fn measure(name: &str, mut run: impl FnMut() -> usize) -> Duration {
    let mut times = Vec::with_capacity(RUNS);
    let mut hits = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        hits = black_box(run());
        times.push(start.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = times[RUNS / 2];
    let (min, max) = (ms(times[0]), ms(times[RUNS - 1]));
    println!(
        "{name:<14} median {:8.3} ms   min {min:8.3} ms   max {max:8.3} ms   \
         ({RUNS} runs, {hits} held scopes overlap)",
        ms(median),
    );
    median
}

fn main() {
    let held_text = held_scopes();
    let new_text = new_scope();
    let glob_count: usize = held_text.iter().map(Vec::len).sum();
    println!(
        "new scope: {} globs; held: {HELD} scopes, {glob_count} globs ({} to {} per scope)",
        new_text.len(),
        held_text.iter().map(Vec::len).min().unwrap_or(0),
        held_text.iter().map(Vec::len).max().unwrap_or(0),
    );

    let held: Vec<(usize, PatternSet)> = held_text
        .iter()
        .enumerate()
        .map(|(i, globs)| (i, parse(globs)))
        .collect();
    let index: ScopeIndex<usize> = held.iter().cloned().collect();

    // The index's answer is overlap()'s, scope by scope.
    let query = parse(&new_text);
    let from_index: Vec<usize> = index
        .overlapping(&query)
        .into_iter()
        .map(|(k, _)| *k)
        .collect();
    let pairwise: Vec<usize> = held
        .iter()
        .filter(|(_, scope)| overlap(&query, scope).is_some())
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(from_index, pairwise, "index and pairwise overlap disagree");
    for (key, hit) in index.overlapping(&query).into_iter().take(3) {
        println!(
            "  e.g. held scope {key}: {} and {} both match {}",
            hit.left, hit.right, hit.witness
        );
    }

    let check = measure("check", || index.overlapping(&parse(&new_text)).len());
    measure("check, cold", || {
        let index: ScopeIndex<usize> = held_text
            .iter()
            .enumerate()
            .map(|(i, globs)| (i, parse(globs)))
            .collect();
        index.overlapping(&parse(&new_text)).len()
    });
    measure("pairwise", || {
        let query = parse(&new_text);
        held.iter()
            .filter(|(_, scope)| overlap(&query, scope).is_some())
            .count()
    });
    // Worst case: a glob that reaches into almost every held scope.
    let mut wide_text = new_text.clone();
    wide_text.push("**/*.txt".to_owned());
    measure("check, wide", || {
        index.overlapping(&parse(&wide_text)).len()
    });
    let verdict = if check <= BUDGET { "within" } else { "OVER" };
    println!(
        "check median {:.3} ms: {verdict} the 10 ms budget",
        check.as_secs_f64() * 1e3
    );
}
