//! Soak: 16 sessions at once, each running a mix of commands through the real `paddock-sh`
//! (allowed ones, ones the gate refuses, writes only the kernel can stop), committing through
//! the hooks, appending its own records, then finishing and merging, all while `paddock watch`
//! runs. Afterwards nothing may be missing or extra: every record expected is in the ledger
//! exactly once, every refusal is recorded exactly once, no branch holds a change outside its
//! session's scope, and the ledger verifies. It prints the throughput and the slowest operation.
//!
//! By default (CI) each session runs a few dozen commands; `PADDOCK_SOAK=long` runs a few
//! hundred each. `PADDOCK_SOAK_SEED` replays a run's choice of commands.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::harness::{Rng, TestRepo, landlock_or_skip, paddock_in, paddock_rec_in, paddock_sh_in};

const SESSIONS: usize = 16;

fn commands_per_session() -> usize {
    match std::env::var("PADDOCK_SOAK").as_deref() {
        Ok("long") => 300,
        _ => 24,
    }
}

/// Commands the gate refuses before anything runs (exit 126); `{s}` is the session's dir.
const REFUSED: &[&str] = &[
    "echo x > docs/guide.md",
    "git reset --hard",
    "rm -rf docs",
    "python3 -c \"open('docs/guide.md', 'w').write('x')\"",
    "git -c core.hooksPath=/dev/null commit -q -m sneaky",
    "echo x > {s}/../README.md",
];

/// Run from the scope, where the gate cannot see what it does: tries every write the kernel
/// must stop and prints the ones that worked (nothing, if the kernel holds).
const ESCAPE: &str = r#"
import json, os, sys
targets = json.load(open(sys.argv[1]))
worked = []
for t in targets:
    try:
        open(t, "a").write("x")
        worked.append(t)
    except Exception:
        pass
print(" ".join(worked))
"#;

/// What one session did, counted as it happened.
#[derive(Default, Debug)]
struct Tally {
    commands: u64,
    refused: Vec<String>,
    commits: u64,
    notes: u64,
    unblocks: u64,
    escapes: u64,
}

/// The slowest operations, for the report.
#[derive(Default)]
struct Timings {
    all: Vec<(Duration, String)>,
}

impl Timings {
    fn add(&mut self, took: Duration, what: String) {
        self.all.push((took, what));
    }
}

struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn timed<T>(timings: &Mutex<Timings>, what: impl FnOnce() -> String, run: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = run();
    let took = started.elapsed();
    timings.lock().expect("timings").add(took, what());
    out
}

/// One session's life: start, commands, finish, merge.
fn session_life(
    repo: &TestRepo,
    id: &str,
    worktree: &Path,
    peer: &Path,
    mut rng: Rng,
    timings: &Mutex<Timings>,
) -> Tally {
    let mut tally = Tally::default();
    let dir = id.to_owned();
    std::fs::create_dir_all(worktree.join(&dir)).expect("mkdir");
    std::fs::write(worktree.join(format!("{dir}/escape.py")), ESCAPE).expect("write");
    let targets = serde_json::json!([
        repo.root.join("README.md"),
        repo.root.join("src/lib.rs"),
        worktree.join("docs/guide.md"),
        worktree.join("README.md"),
        peer.join("docs/guide.md"),
        repo.root.join(".git/config"),
        repo.root.join(".git/paddock/ledger.yaml"),
    ]);
    std::fs::write(
        worktree.join(format!("{dir}/targets.json")),
        targets.to_string(),
    )
    .expect("write");
    let sh = |cmd: &str| {
        timed(
            timings,
            || format!("paddock-sh in {id}: {cmd}"),
            || {
                paddock_sh_in(worktree)
                    .args(["-c", cmd])
                    .output()
                    .expect("paddock-sh runs")
            },
        )
    };
    for n in 0..commands_per_session() {
        tally.commands += 1;
        let pick = rng.below(100);
        let (cmd, want) = match pick {
            0..=29 => (format!("echo {n} > {dir}/f{n}.txt"), 0),
            30..=39 => (
                format!("mkdir -p {dir}/d{n}/e && printf x > {dir}/d{n}/e/g.txt"),
                0,
            ),
            40..=54 => (
                format!("ls {dir} > /dev/null && git log --oneline -3 > /dev/null"),
                0,
            ),
            55..=69 => {
                let refused = REFUSED[rng.below(REFUSED.len() as u64) as usize];
                (refused.replace("{s}", &dir), 126)
            }
            70..=79 => {
                tally.escapes += 1;
                (format!("python3 {dir}/escape.py {dir}/targets.json"), 0)
            }
            80..=94 => (
                format!(
                    "echo {n} > {dir}/c{n}.txt && git add -A {dir} && git commit -q -m '{id} {n}'"
                ),
                0,
            ),
            _ => {
                // An append of its own, outside paddock-sh.
                tally.commands -= 1;
                let out = timed(
                    timings,
                    || format!("paddock-rec in {id}"),
                    || {
                        paddock_rec_in(&repo.root)
                            .args(["note.soak", "--session", id, &format!("n={n}")])
                            .output()
                            .expect("paddock-rec runs")
                    },
                );
                assert!(
                    out.status.success(),
                    "{id}: paddock-rec: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                tally.notes += 1;
                continue;
            }
        };
        let out = sh(&cmd);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(want),
            "{id}: `{cmd}`\nstdout: {stdout}\nstderr: {stderr}"
        );
        if cmd.contains("escape.py") {
            assert_eq!(
                stdout.trim(),
                "",
                "{id}: the kernel let writes through: {stderr}"
            );
        }
        if want == 126 {
            tally.refused.push(cmd.clone());
            // The operator clears the block so the session can go on.
            let run = timed(
                timings,
                || format!("unblock {id}"),
                || repo.paddock(&["session", "unblock", id, "--reason", "soak"]),
            );
            assert_eq!(run.code(), 0, "{id}: unblock: {}", run.stderr());
            tally.unblocks += 1;
        }
        if cmd.contains("git commit") {
            tally.commits += 1;
        }
    }
    // Everything the session wrote is its work (scripts included): commit it, hand it in, merge.
    let out = sh(&format!(
        "git add -A {dir} && git commit -q --allow-empty -m '{id} final'"
    ));
    assert!(
        out.status.success(),
        "{id}: final commit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tally.commits += 1;
    let run = timed(
        timings,
        || format!("finish {id}"),
        || repo.paddock(&["session", "finish", id]),
    );
    assert_eq!(run.code(), 0, "{id}: finish: {}", run.stderr());
    let mut attempts = 0;
    loop {
        attempts += 1;
        let run = timed(
            timings,
            || format!("merge {id}"),
            || repo.paddock(&["merge", id, "--json"]),
        );
        if run.code() == 0 {
            break;
        }
        // Sixteen merges race for the target: a lost compare-and-swap says so, and nothing is
        // overwritten; try again.
        assert!(
            run.stdout().contains("target-moving") && attempts < 20,
            "{id}: merge: {}\n{}",
            run.stdout(),
            run.stderr()
        );
    }
    tally
}

#[test]
fn sixteen_sessions_at_once_lose_nothing_and_leak_nothing() {
    if !landlock_or_skip("sixteen_sessions_at_once_lose_nothing_and_leak_nothing") {
        return;
    }
    let repo = TestRepo::new();
    repo.init();
    let mut seed_rng = Rng::from_env("PADDOCK_SOAK_SEED", "soak");
    let seed = seed_rng.next();
    let base = repo.git(&["rev-parse", "main"]);
    let guide = std::fs::read(repo.path("docs/guide.md")).expect("read");
    let readme = std::fs::read(repo.path("README.md")).expect("read");
    let timings = Mutex::new(Timings::default());
    let ids: Vec<String> = (0..SESSIONS).map(|k| format!("s{k:02}")).collect();

    // Sixteen starts at once.
    let started = Instant::now();
    let worktrees: Vec<PathBuf> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .iter()
            .map(|id| {
                let (repo, timings) = (&repo, &timings);
                scope.spawn(move || {
                    timed(
                        timings,
                        || format!("start {id}"),
                        || repo.start_worktree(id, &[&format!("{id}/**")]),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("start thread"))
            .collect()
    });

    let mut watch = paddock_in(&repo.root)
        .args(["watch", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch starts");
    let stdout = watch.stdout.take().expect("stdout");
    let stderr = watch.stderr.take().expect("stderr");
    let watch = Watch(watch);
    let findings = std::sync::Arc::new(Mutex::new(Vec::<String>::new()));
    let collected = findings.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            collected.lock().expect("findings").push(line);
        }
    });
    let (ready_tx, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("watching") {
                let _ = ready_tx.send(());
            } else {
                eprintln!("watch: {line}");
            }
        }
    });
    ready
        .recv_timeout(Duration::from_secs(60))
        .expect("the watcher starts");

    let work_started = Instant::now();
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(k, id)| {
                let (repo, timings) = (&repo, &timings);
                let worktree = &worktrees[k];
                let peer = &worktrees[(k + 1) % SESSIONS];
                // The whole run replays from one seed: each session derives its own from it.
                let rng = Rng::new(seed ^ (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                scope.spawn(move || session_life(repo, id, worktree, peer, rng, timings))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("session thread"))
            .collect()
    });
    let work_took = work_started.elapsed();

    // Give the watcher a moment to report anything still in flight, then stop it.
    std::thread::sleep(Duration::from_millis(500));
    let mut watch = watch;
    let watch_status = watch.0.try_wait().expect("wait");
    drop(watch);

    let commands: u64 = tallies.iter().map(|t| t.commands).sum();
    let refused: u64 = tallies.iter().map(|t| t.refused.len() as u64).sum();
    let commits: u64 = tallies.iter().map(|t| t.commits).sum();
    let notes: u64 = tallies.iter().map(|t| t.notes).sum();
    let unblocks: u64 = tallies.iter().map(|t| t.unblocks).sum();
    let escapes: u64 = tallies.iter().map(|t| t.escapes).sum();
    let mut all = std::mem::take(&mut timings.lock().expect("timings").all);
    all.sort_by_key(|(took, _)| std::cmp::Reverse(*took));
    let (slowest, what) = all.first().cloned().expect("operations ran");
    let sh_times: Vec<Duration> = {
        let mut v: Vec<Duration> = all
            .iter()
            .filter(|(_, w)| w.starts_with("paddock-sh"))
            .map(|(d, _)| *d)
            .collect();
        v.sort();
        v
    };
    let median = sh_times
        .get(sh_times.len() / 2)
        .copied()
        .unwrap_or_default();
    eprintln!(
        "soak: {SESSIONS} sessions, {commands} paddock-sh commands ({refused} refused by the gate, \
         {escapes} kernel escapes tried, {commits} commits), {notes} paddock-rec appends, \
         {unblocks} unblocks, in {:.1} s: {:.1} commands/s; median paddock-sh {:.0} ms; \
         slowest: {what} took {:.0} ms; whole run {:.1} s",
        work_took.as_secs_f64(),
        commands as f64 / work_took.as_secs_f64(),
        median.as_secs_f64() * 1e3,
        slowest.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64()
    );

    // The watcher ran throughout and saw nothing out of scope.
    assert!(watch_status.is_none(), "the watcher died: {watch_status:?}");
    let findings = findings.lock().expect("findings").clone();
    assert!(findings.is_empty(), "the watcher reported: {findings:?}");

    // The ledger verifies and holds exactly the records the run made.
    let verify = repo.paddock(&["ledger", "verify", "--json"]).ok().json();
    assert_eq!(verify["outcome"]["outcome"], "ok", "{verify}");
    let records = repo.records(None);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        *counts
            .entry(r["kind"].as_str().expect("kind").to_owned())
            .or_default() += 1;
    }
    let count = |kind: &str| counts.get(kind).copied().unwrap_or(0);
    let n = SESSIONS as u64;
    assert_eq!(count("session.started"), n, "{counts:?}");
    assert_eq!(count("deny.command"), refused, "{counts:?}");
    assert_eq!(count("session.blocked"), refused, "{counts:?}");
    assert_eq!(count("approval"), unblocks, "{counts:?}");
    assert_eq!(count("session.unblocked"), unblocks, "{counts:?}");
    assert_eq!(count("note.soak"), notes, "{counts:?}");
    assert_eq!(count("git.commit"), commits, "{counts:?}");
    assert_eq!(count("merge.artifact"), n, "{counts:?}");
    assert_eq!(count("merge.done"), n, "{counts:?}");
    assert_eq!(count("deny.write"), 0, "{counts:?}");
    // Every refusal exactly once, attributed to its session, with its command.
    for (id, tally) in ids.iter().zip(&tallies) {
        let mut recorded: Vec<String> = records
            .iter()
            .filter(|r| r["kind"] == "deny.command" && r["session"] == id.as_str())
            .map(|r| r["data"]["command"].as_str().expect("command").to_owned())
            .collect();
        let mut expected = tally.refused.clone();
        recorded.sort();
        expected.sort();
        assert_eq!(recorded, expected, "{id}: refusals and their records");
    }

    // No out-of-scope change on any branch, nor on the target.
    for id in &ids {
        let archive = format!("refs/paddock/archive/{id}");
        for path in repo.changed_paths(&base, &archive) {
            assert!(
                path.starts_with(format!("{id}/").as_bytes()),
                "{archive} changed {:?}",
                String::from_utf8_lossy(&path)
            );
        }
        assert_eq!(repo.state(id), "merged");
    }
    for path in repo.changed_paths(&base, "main") {
        assert!(
            ids.iter()
                .any(|id| path.starts_with(format!("{id}/").as_bytes())),
            "main changed {:?}",
            String::from_utf8_lossy(&path)
        );
    }
    assert_eq!(
        std::fs::read(repo.path("docs/guide.md")).expect("read"),
        guide
    );
    assert_eq!(std::fs::read(repo.path("README.md")).expect("read"), readme);
    assert!(repo.git_ok(&["fsck", "--no-dangling"]), "objects intact");
    // Measured, not asserted here: concurrent merges can leave the main worktree's checkout
    // behind the target (the ignored test below asserts it).
    let stale = repo.git(&["status", "--porcelain", "--untracked-files=no"]);
    if !stale.is_empty() {
        eprintln!(
            "soak: the main worktree's checkout is behind main after the concurrent merges ({} paths)",
            stale.lines().count()
        );
    }
}

// Each merge moves the target by compare-and-swap, then brings the main worktree's checkout
// from its old tip to its new one (`read-tree -m -u OLD NEW`) outside any lock. Concurrent
// merges run those updates at once or out of order (one fails on `index.lock`, or applies
// A..B to an index still at X), and the checkout is left behind the target: `git status` in
// the main worktree shows the merged work as staged deletions, and a `git commit` there would
// revert it.
#[test]
#[ignore = "bug: concurrent merges leave the main worktree's checkout behind the target \
            (merge.rs updates the checkout outside any lock)"]
fn concurrent_merges_leave_the_main_checkout_matching_the_target() {
    let repo = TestRepo::new();
    repo.init();
    let ids: Vec<String> = (0..16).map(|k| format!("m{k}")).collect();
    for id in &ids {
        let wt = repo.start_worktree(id, &[&format!("{id}/**")]);
        std::fs::create_dir_all(wt.join(id)).expect("mkdir");
        std::fs::write(wt.join(format!("{id}/work.txt")), id).expect("write");
        repo.git_in(&wt, &["add", "-A"]);
        repo.git_in(&wt, &["commit", "-q", "-m", id]);
        repo.paddock(&["session", "finish", id]).ok();
    }
    std::thread::scope(|scope| {
        for id in &ids {
            let repo = &repo;
            scope.spawn(move || {
                for _ in 0..20 {
                    let run = repo.paddock(&["merge", id, "--json"]);
                    if run.code() == 0 {
                        if !run.stderr().is_empty() {
                            eprintln!("{id}: {}", run.stderr());
                        }
                        return;
                    }
                    assert!(run.stdout().contains("target-moving"), "{}", run.stdout());
                }
                panic!("{id}: the target kept moving");
            });
        }
    });
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "the main worktree's checkout follows main"
    );
}
