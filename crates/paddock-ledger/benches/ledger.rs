//! Ledger benchmarks (`cargo bench -p paddock-ledger`), printing medians:
//!
//! 1. append with `fsync: always` next to a bare `write` + `fdatasync` of the same bytes,
//!    interleaved in one run (target: within 1.5x);
//! 2. batch throughput from one process (target: >= 100,000 records/s);
//! 3. verify throughput on a warm file (target: >= 1,000,000 records/s);
//! 4. 8 processes x 10,000 appends at once: every record present once, chain intact.
//!
//! Environment: `PADDOCK_BENCH_DIR` (where the files go; default: a temp dir under the target
//! dir's filesystem), `PADDOCK_BENCH_CONCURRENT_FSYNC=always` to sync every append in (4).

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use paddock_ledger::{
    BatchOptions, Durability, Entry, Filter, Kind, Ledger, OpenCheck, Options, VerifyOptions,
    records, verify,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn options(durability: Durability) -> Options {
    Options {
        durability,
        writer: "bench".into(),
        ..Options::default()
    }
}

/// A typical record: a denied command with a reason.
fn entry(proc_id: u64, n: u64) -> Result<Entry> {
    let data = serde_json::json!({
        "command": "git reset --hard HEAD~3",
        "rule": "git-reset-hard",
        "reason": "destroys uncommitted work",
        "cwd": "/work/repo.paddock/claim-3f9a1c",
        "proc": proc_id,
        "n": n,
    });
    Ok(Entry::new(Kind::DenyCommand, &data)?.session("claim-3f9a1c"))
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn median_f64(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn fresh(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// 1. One append (lock, tail check, write, fdatasync, unlock) vs a bare write + fdatasync.
fn append_vs_bare(dir: &Path) -> Result<(Duration, Duration)> {
    const N: usize = 1000;
    let path = fresh(dir, "append.yaml");
    let bare_path = fresh(dir, "bare.yaml");
    let mut ledger = Ledger::open(&path, options(Durability::Always))?;
    let bare = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&bare_path)?;
    let file = std::fs::File::open(&path)?;
    // Warm up both files.
    for i in 0..50 {
        ledger.append(&entry(0, i)?)?;
    }
    let (mut ours, mut theirs) = (Vec::with_capacity(N), Vec::with_capacity(N));
    for i in 0..N as u64 {
        let e = entry(0, i)?;
        let t = Instant::now();
        let appended = ledger.append(&e)?;
        ours.push(t.elapsed());
        // The same bytes, written bare.
        let end = std::fs::metadata(&path)?.len();
        let mut bytes = vec![0u8; usize::try_from(end - appended.offset)?];
        file.read_exact_at(&mut bytes, appended.offset)?;
        let t = Instant::now();
        (&bare).write_all(&bytes)?;
        bare.sync_data()?;
        theirs.push(t.elapsed());
    }
    Ok((median(&mut ours), median(&mut theirs)))
}

/// 2. Records per second through a batch writer.
fn batch_throughput(dir: &Path) -> Result<f64> {
    const N: u64 = 200_000;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let path = fresh(dir, "batch.yaml");
        let opts = Options {
            batch: BatchOptions::default(),
            ..options(Durability::Batch)
        };
        let entries: Vec<Entry> = (0..N).map(|n| entry(0, n)).collect::<Result<_>>()?;
        let t = Instant::now();
        let batch = Ledger::open(&path, opts)?.batch();
        for e in entries {
            batch.push(e)?;
        }
        batch.finish()?;
        runs.push(N as f64 / t.elapsed().as_secs_f64());
        let report = verify(&path, &VerifyOptions::default())?;
        assert!(
            report.outcome.is_ok() && report.records == N,
            "batch ledger broken: {report:?}"
        );
    }
    Ok(median_f64(&mut runs))
}

/// 3. Records per second verified, warm.
fn verify_throughput(dir: &Path) -> Result<(f64, u64, u64)> {
    const N: u64 = 1_000_000;
    let path = fresh(dir, "verify.yaml");
    let mut ledger = Ledger::open(&path, options(Durability::Never))?;
    let mut n = 0;
    while n < N {
        let chunk: Vec<Entry> = (n..(n + 10_000).min(N))
            .map(|i| entry(0, i))
            .collect::<Result<_>>()?;
        n += chunk.len() as u64;
        ledger.append_all(&chunk)?;
    }
    let bytes = std::fs::metadata(&path)?.len();
    verify(&path, &VerifyOptions::default())?; // warm the page cache
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let report = verify(&path, &VerifyOptions::default())?;
        runs.push(report.records as f64 / t.elapsed().as_secs_f64());
        assert!(report.outcome.is_ok() && report.records == N);
    }
    Ok((median_f64(&mut runs), N, bytes))
}

/// 4. 8 processes x 10,000 appends, then check every record is there once.
fn concurrent(dir: &Path, exe: &Path) -> Result<(Duration, u64, &'static str)> {
    const PROCS: u64 = 8;
    const EACH: u64 = 10_000;
    let fsync = if std::env::var("PADDOCK_BENCH_CONCURRENT_FSYNC").as_deref() == Ok("always") {
        "always"
    } else {
        "never"
    };
    let path = fresh(dir, "concurrent.yaml");
    let t = Instant::now();
    let children: Vec<_> = (0..PROCS)
        .map(|p| {
            Command::new(exe)
                .args([
                    "--child-append",
                    &path.to_string_lossy(),
                    &p.to_string(),
                    &EACH.to_string(),
                    fsync,
                ])
                .spawn()
        })
        .collect::<std::io::Result<_>>()?;
    for mut c in children {
        let status = c.wait()?;
        if !status.success() {
            return Err(format!("child failed: {status}").into());
        }
    }
    let elapsed = t.elapsed();
    let report = verify(&path, &VerifyOptions::default())?;
    if !report.outcome.is_ok() || report.records != PROCS * EACH {
        return Err(format!("broken: {:?}, {} records", report.outcome, report.records).into());
    }
    let mut seen = HashSet::new();
    for r in records(&path, Filter::new())? {
        let r = r?;
        let key = (r.data["proc"].as_u64(), r.data["n"].as_u64());
        if !seen.insert(key) {
            return Err(format!("record {key:?} twice").into());
        }
    }
    if seen.len() as u64 != PROCS * EACH {
        return Err("records missing".into());
    }
    Ok((elapsed, PROCS * EACH, fsync))
}

fn child_append(args: &[String]) -> Result<()> {
    let [path, proc_id, count, fsync] = args else {
        return Err("usage: --child-append PATH PROC COUNT always|never".into());
    };
    let durability = if fsync == "always" {
        Durability::Always
    } else {
        Durability::Never
    };
    let mut ledger = Ledger::open(
        path,
        Options {
            open_check: OpenCheck::Full,
            ..options(durability)
        },
    )?;
    let proc_id: u64 = proc_id.parse()?;
    for n in 0..count.parse::<u64>()? {
        ledger.append(&entry(proc_id, n)?)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child-append") {
        return match child_append(&args[2..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("child: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let exe = std::env::current_exe()?;
    let tmp = match std::env::var_os("PADDOCK_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir)?,
        // Next to the binary (the target dir), so it is a real disk, not a tmpfs.
        None => tempfile::tempdir_in(exe.parent().unwrap_or(Path::new(".")))?,
    };
    let dir = tmp.path();
    let only = args.iter().skip(1).find(|a| !a.starts_with('-')).cloned();
    let want = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    println!("paddock-ledger benchmarks (files in {})", dir.display());

    if want("append") {
        let (ours, bare) = append_vs_bare(dir)?;
        let ratio = ours.as_secs_f64() / bare.as_secs_f64();
        println!(
            "append fsync=always        median {:>9.1} us   bare write+fdatasync median {:>9.1} us   ratio {ratio:.2}x (target <= 1.5x) {}",
            ours.as_secs_f64() * 1e6,
            bare.as_secs_f64() * 1e6,
            if ratio <= 1.5 { "ok" } else { "MISSED" }
        );
    }
    if want("batch") {
        let rate = batch_throughput(dir)?;
        println!(
            "batch (256 / 20 ms)        median {rate:>12.0} records/s (target >= 100,000) {}",
            if rate >= 100_000.0 { "ok" } else { "MISSED" }
        );
    }
    if want("verify") {
        let (rate, n, bytes) = verify_throughput(dir)?;
        println!(
            "verify (warm, {n} records, {:.0} MiB) median {rate:>12.0} records/s (target >= 1,000,000) {}",
            bytes as f64 / (1 << 20) as f64,
            if rate >= 1_000_000.0 { "ok" } else { "MISSED" }
        );
    }
    if want("concurrent") {
        let (elapsed, n, fsync) = concurrent(dir, &exe)?;
        println!(
            "8 processes x 10,000 appends (fsync={fsync}): {n} records in {:.2} s ({:.0} appends/s), all present once, chain intact",
            elapsed.as_secs_f64(),
            n as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}
