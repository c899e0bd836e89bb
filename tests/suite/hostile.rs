//! Hostile repositories: odd names (spaces, newlines, bytes that are not UTF-8, names near
//! NAME_MAX and PATH_MAX), symlinks out of the repository and into other sessions, case-only
//! renames, submodules and nested repositories, a worktree moved by hand and `.git` files that
//! point elsewhere. Each case goes through session start, `paddock check` / `paddock-sh`, a
//! commit through the hooks, finish + merge and the watcher where it applies, and must either
//! work or be refused with a clear message. Whatever happens, no write outside the scope gets
//! through: every test ends by looking at the files and the branches themselves.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::harness::{TestRepo, hermetic, landlock_or_skip, paddock_in, paddock_sh_in};

/// Runs git in `dir` with `args` and returns (success, stderr).
fn git(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = hermetic(Command::new("git").arg("-C").arg(dir).args(args))
        .output()
        .expect("git runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn bytes_path(base: &Path, rel: &[u8]) -> PathBuf {
    base.join(OsStr::from_bytes(rel))
}

/// Every path the branch changed since `base` satisfies `allowed`: nothing out of scope got
/// onto it, whatever the commands above reported.
#[track_caller]
fn assert_changes_within(repo: &TestRepo, base: &str, tip: &str, allowed: impl Fn(&[u8]) -> bool) {
    for path in repo.changed_paths(base, tip) {
        assert!(
            allowed(&path),
            "{tip} changed {:?}, outside the scope",
            String::from_utf8_lossy(&path)
        );
    }
}

/// Every file under `dir` (not `.git`), with its bytes: for "left exactly as it was" checks.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            if entry.file_name() == ".git" {
                continue;
            }
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                out.push((path, target.into_os_string().into_vec()));
            } else {
                let bytes = std::fs::read(&path).expect("read");
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

fn finish_and_merge(repo: &TestRepo, id: &str) {
    repo.paddock(&["session", "finish", id]).ok();
    let merged = repo.paddock(&["merge", id, "--json"]).ok().json();
    assert_eq!(merged["session"]["state"], "merged", "{merged}");
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "the main worktree follows the target"
    );
}

#[test]
fn spaces_and_newlines_in_scopes_and_paths_are_guarded_end_to_end() {
    if !landlock_or_skip("spaces_and_newlines_in_scopes_and_paths_are_guarded_end_to_end") {
        return;
    }
    let repo = TestRepo::new();
    repo.init();
    let base = repo.git(&["rev-parse", "main"]);
    let wt = repo.start_worktree("a", &["src/with space/**", "src/new\nline/**"]);
    let cwd = wt.to_str().expect("utf8");
    let in_scope = |p: &[u8]| p.starts_with(b"src/with space/") || p.starts_with(b"src/new\nline/");

    // The gate, asked without running anything.
    for (cmd, code) in [
        ("echo x > 'src/with space/a b.txt'", 0),
        ("echo x > 'src/new\nline/x.txt'", 0),
        ("echo x > 'docs/with space.md'", 1),
        ("echo x > 'src/new\nlineX'", 1),
        ("echo x > 'src/with space'/../../docs/x.md", 1),
    ] {
        repo.paddock(&["check", "--cwd", cwd, "-c", cmd])
            .fails(code);
    }

    // Work through paddock-sh, committed through the hooks.
    repo.sh(
        &wt,
        "mkdir -p 'src/with space' 'src/new\nline' && echo 1 > 'src/with space/a b.txt' \
         && echo 2 > 'src/new\nline/c\nd.txt' && git add -A && git commit -q -m 'odd names'",
    )
    .ok();
    assert_eq!(repo.state("a"), "active");

    // Out of scope through paddock-sh: refused before anything runs.
    let run = repo.sh(&wt, "echo x > 'docs/new\nline.md'").fails(126);
    assert!(
        run.stderr().contains("fs.write.outside-scope"),
        "{}",
        run.stderr()
    );
    assert!(!wt.join("docs/new\nline.md").exists());
    repo.unblock("a");

    // Out of scope by hand, committed through the hooks: refused, the branch does not move.
    let tip = repo.git(&["rev-parse", "paddock/a"]);
    std::fs::write(wt.join("docs/a b\nc.md"), "leak\n").expect("write");
    assert!(git(&wt, &["add", "-A"]).0);
    let (ok, err) = git(&wt, &["commit", "-q", "-m", "leak"]);
    assert!(!ok && err.contains("fs.write.outside-scope"), "{err}");
    assert_eq!(repo.git(&["rev-parse", "paddock/a"]), tip);
    assert!(git(&wt, &["rm", "-q", "--cached", "docs/a b\nc.md"]).0);
    std::fs::remove_file(wt.join("docs/a b\nc.md")).expect("rm");
    repo.unblock("a");

    finish_and_merge(&repo, "a");
    assert_eq!(
        std::fs::read_to_string(repo.path("src/new\nline/c\nd.txt")).expect("merged"),
        "2\n"
    );
    assert!(repo.path("src/with space/a b.txt").is_file());
    assert_changes_within(&repo, &base, "main", in_scope);
    repo.paddock(&["ledger", "verify"]).ok();
}

#[test]
fn names_that_are_not_utf8_are_guarded_byte_for_byte() {
    if !landlock_or_skip("names_that_are_not_utf8_are_guarded_byte_for_byte") {
        return;
    }
    let repo = TestRepo::new();
    repo.init();
    let base = repo.git(&["rev-parse", "main"]);

    // A scope cannot hold such bytes (globs are text): refused, nothing started.
    let out = paddock_in(&repo.root)
        .args(["session", "start", "--id", "x", "--scope"])
        .arg(OsStr::from_bytes(b"src/\xff/**"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("UTF-8"));
    assert!(!repo.git_ok(&["show-ref", "--verify", "refs/heads/paddock/x"]));

    let wt = repo.start_worktree("n", &["docs/**"]);
    // A script (the gate cannot see into it) makes one such name in scope and tries one
    // outside: the kernel stops the second.
    std::fs::write(
        wt.join("docs/mk.py"),
        "import sys\n\
         open(b'docs/\\xff\\xfe.md', 'w').write('in')\n\
         try:\n    open(b'src/\\xc3.txt', 'w').write('out')\n    sys.exit(3)\n\
         except PermissionError:\n    pass\n",
    )
    .expect("write");
    let run = repo.sh(&wt, "python3 docs/mk.py");
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(bytes_path(&wt, b"docs/\xff\xfe.md").is_file());
    assert!(!bytes_path(&wt, b"src/\xc3.txt").exists());
    assert_eq!(repo.state("n"), "active");

    // A command line that is not UTF-8: refused with a message, not a panic; nothing ran.
    let out = paddock_sh_in(&wt)
        .arg("-c")
        .arg(OsString::from_vec(b"echo x > docs/\xfe.txt".to_vec()))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not valid UTF-8"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!bytes_path(&wt, b"docs/\xfe.txt").exists());
    let out = paddock_in(&wt)
        .arg("check")
        .arg("-c")
        .arg(OsString::from_vec(b"echo x > src/\xfe.txt".to_vec()))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("UTF-8"));

    repo.sh(&wt, "git add -A && git commit -q -m bytes").ok();

    // Out of scope by hand, committed through the hooks: refused.
    let tip = repo.git(&["rev-parse", "paddock/n"]);
    std::fs::create_dir_all(bytes_path(&wt, b"src/\xc3")).expect("mkdir");
    std::fs::write(bytes_path(&wt, b"src/\xc3/x"), "leak").expect("write");
    assert!(git(&wt, &["add", "-A"]).0);
    let (ok, err) = git(&wt, &["commit", "-q", "-m", "leak"]);
    assert!(!ok && err.contains("fs.write.outside-scope"), "{err}");
    assert_eq!(repo.git(&["rev-parse", "paddock/n"]), tip);
    assert!(git(&wt, &["reset", "-q"]).0);
    std::fs::remove_dir_all(bytes_path(&wt, b"src/\xc3")).expect("rm");
    repo.unblock("n");

    finish_and_merge(&repo, "n");
    assert_eq!(
        std::fs::read(bytes_path(&repo.root, b"docs/\xff\xfe.md")).expect("merged"),
        b"in"
    );
    assert_changes_within(&repo, &base, "main", |p| p.starts_with(b"docs/"));
    repo.paddock(&["ledger", "verify"]).ok();
}

/// The watcher as a child process, killed on drop.
struct Watcher {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Watcher {
    fn start(repo: &TestRepo) -> Watcher {
        let mut child = paddock_in(&repo.root)
            .args(["watch", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("watch starts");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // It says when it is watching; changes before that would not be seen.
        let (ready_tx, ready) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("watching") {
                    let _ = ready_tx.send(());
                }
            }
        });
        ready
            .recv_timeout(Duration::from_secs(20))
            .expect("the watcher reports that it is watching");
        Watcher { child, lines }
    }

    /// Findings' paths until `want` are all seen (or a generous deadline passes).
    fn until(&self, want: &[&str]) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while !want.iter().all(|w| seen.iter().any(|s| s == w)) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            let finding: serde_json::Value = serde_json::from_str(&line).expect("json line");
            seen.push(finding["path"].as_str().expect("path").to_owned());
        }
        seen
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_watcher_sees_hostile_names_outside_the_scope() {
    let repo = TestRepo::new();
    repo.init();
    let wt = repo.start_worktree("a", &["src/**"]);
    let watcher = Watcher::start(&repo);
    // In scope, however odd: not a finding.
    std::fs::write(bytes_path(&wt, b"src/fine \xff.rs"), "ok").expect("write");
    // Out of scope: a name that is not UTF-8, and one with a space and a newline.
    std::fs::write(bytes_path(&wt, b"docs/\xff.md"), "leak").expect("write");
    std::fs::write(wt.join("docs/a b\nc.md"), "leak").expect("write");
    let long = format!("docs/{}", "n".repeat(255));
    std::fs::write(wt.join(&long), "leak").expect("write");
    let want = ["docs/\u{fffd}.md", "docs/a b\nc.md", long.as_str()];
    let seen = watcher.until(&want);
    for w in want {
        assert!(seen.iter().any(|s| s == w), "{w:?} not reported: {seen:?}");
    }
    assert!(!seen.iter().any(|s| s.starts_with("src/")), "{seen:?}");
    assert_eq!(repo.state("a"), "blocked");
    let denies = repo.records(Some("deny.write"));
    assert!(denies.len() >= 2, "{denies:?}");
}

#[test]
fn names_near_name_max_and_path_max_work_or_are_refused_clearly() {
    if !landlock_or_skip("names_near_name_max_and_path_max_work_or_are_refused_clearly") {
        return;
    }
    let repo = TestRepo::new();
    repo.init();
    let base = repo.git(&["rev-parse", "main"]);
    let dir = "L".repeat(250);

    // Session ids name a directory, a branch and a ref: 64 characters at most.
    let long_id = "i".repeat(65);
    repo.paddock(&["session", "start", "--id", &long_id, "--scope", "src/**"])
        .fails(2)
        .stderr_has("64");
    // A glob longer than any path: refused, with the reason.
    let huge = format!("{}/**", vec!["x".repeat(255); 20].join("/"));
    repo.paddock(&["session", "start", "--id", "huge", "--scope", &huge])
        .fails(2)
        .stderr_has("PATH_MAX");

    let id = "l".repeat(64);
    let wt = repo.start_worktree(&id, &[&format!("{dir}/**")]);
    let name255 = "f".repeat(255);
    let name256 = "g".repeat(256);
    // ~3.8 KB of directories below the 250-byte one: the repository-relative path stays under
    // PATH_MAX; commands reach it by relative paths.
    let deep = vec!["d".repeat(200); 18].join("/");
    repo.sh(
        &wt,
        &format!(
            "mkdir -p {dir}/{deep} && echo a > {dir}/{name255} && echo b > {dir}/{deep}/end.txt \
             && git add -A && git commit -q -m long"
        ),
    )
    .ok();
    // One byte over NAME_MAX: the kernel says no, paddock-sh passes its answer on.
    let run = repo.sh(&wt, &format!("echo x > {dir}/{name256}"));
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("too long"), "{}", run.stderr());
    // A command line of 100 KB is decided, not choked on.
    let long_cmd = format!("echo {}", "y".repeat(100_000));
    repo.paddock(&[
        "check",
        "--cwd",
        wt.to_str().expect("utf8"),
        "-c",
        &long_cmd,
    ])
    .ok();
    assert_eq!(repo.state(&id), "active");

    finish_and_merge(&repo, &id);
    assert!(repo.path(&format!("{dir}/{deep}/end.txt")).is_file());
    assert_changes_within(&repo, &base, "main", |p| p.starts_with(dir.as_bytes()));
    repo.paddock(&["ledger", "verify"]).ok();
}

/// A script in the scope that tries to write through each link (the gate cannot see into
/// it); it prints the ones that worked.
const THROUGH_LINKS: &str = r#"
import sys
worked = []
for link in sys.argv[1:]:
    try:
        open(link + "/planted.txt", "w").write("x")
        worked.append(link)
    except Exception:
        pass
print(" ".join(worked))
"#;

/// A directory outside the repository and outside every scratch dir (the system temp dirs are
/// scratch): cargo's target tmp dir, unless the checkout itself lives under a temp dir.
fn outside_scratch_dir() -> tempfile::TempDir {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let scratch = ["/tmp", "/var/tmp", "/dev/shm"];
    let base = if scratch.iter().any(|s| target.starts_with(s)) {
        std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from)
    } else {
        target.to_owned()
    };
    tempfile::Builder::new()
        .prefix(".paddock-outside-")
        .tempdir_in(base)
        .expect("temp dir")
}

#[test]
fn symlinks_out_of_the_repository_and_into_other_sessions_carry_no_writes() {
    if !landlock_or_skip("symlinks_out_of_the_repository_and_into_other_sessions_carry_no_writes") {
        return;
    }
    let repo = TestRepo::new();
    repo.init();
    // Outside the repository and outside the scratch dirs (/tmp is scratch, so not there).
    let outside = outside_scratch_dir();
    let a = repo.start_worktree("a", &["src/**"]);
    let b = repo.start_worktree("b", &["docs/**"]);
    let before_b = snapshot(&b);
    let before_main = snapshot(&repo.root);
    let before_a_docs = snapshot(&a.join("docs"));

    // Planted by hand (not through paddock-sh), inside a's scope.
    let links: [(&str, PathBuf); 4] = [
        ("src/out", outside.path().to_owned()),
        ("src/peer", b.join("docs")),
        ("src/up", PathBuf::from("../docs")),
        ("src/main", repo.root.join("docs")),
    ];
    for (link, target) in &links {
        std::os::unix::fs::symlink(target, a.join(link)).expect("symlink");
    }
    let cwd = a.to_str().expect("utf8");
    for (link, _) in &links {
        let cmd = format!("echo x > {link}/planted.txt");
        repo.paddock(&["check", "--cwd", cwd, "-c", &cmd]).fails(1);
        repo.sh(&a, &cmd).fails(126);
        repo.unblock("a");
    }
    // Reading the other session's files through the link: refused or denied by the kernel.
    let run = repo.sh(&a, "cat src/peer/guide.md");
    assert_ne!(run.code(), 0);
    assert!(!run.stdout().contains("guide"), "{}", run.stdout());
    repo.unblock("a");
    // Links the agent makes itself into another session: refused.
    repo.sh(&a, &format!("ln -s {} src/p2", b.join("docs").display()))
        .fails(126);
    repo.unblock("a");
    // Through a script the gate cannot read: the kernel stops every one.
    std::fs::write(a.join("src/through.py"), THROUGH_LINKS).expect("write");
    let names: Vec<&str> = links.iter().map(|(l, _)| *l).collect();
    let run = repo.sh(&a, &format!("python3 src/through.py {}", names.join(" ")));
    assert_eq!(
        run.stdout().trim(),
        "",
        "writes got through: {}",
        run.stderr()
    );
    // `rm -rf` through a link to another session's tree.
    let _ = repo.sh(&a, "rm -rf src/peer/");
    repo.unblock("a");

    assert_eq!(
        std::fs::read_dir(outside.path()).expect("ls").count(),
        0,
        "nothing written outside the repository"
    );
    assert_eq!(snapshot(&b), before_b, "session b's worktree untouched");
    assert_eq!(
        snapshot(&a.join("docs")),
        before_a_docs,
        "a's docs untouched"
    );
    assert_eq!(
        snapshot(&repo.root),
        before_main,
        "the main worktree untouched"
    );
    // A committed link is content, like any file in the scope; nothing outside it moved.
    repo.sh(&a, "git add -A src && git commit -q -m links").ok();
    let base = repo.git(&["rev-parse", "main"]);
    assert_changes_within(&repo, &base, "paddock/a", |p| p.starts_with(b"src/"));
    assert_changes_within(&repo, &base, "paddock/b", |_| false);
    // Merged, the links are content of the target like any file; nothing was written through
    // them on the way.
    finish_and_merge(&repo, "a");
    let merged = repo
        .path("src/peer")
        .symlink_metadata()
        .expect("merged link");
    assert!(merged.file_type().is_symlink());
    assert_eq!(std::fs::read_dir(outside.path()).expect("ls").count(), 0);
    assert_changes_within(&repo, &base, "main", |p| p.starts_with(b"src/"));
}

/// Renames `src/A.rs` to `src/a.rs` from a script: the kernel grants `src/` (the scope's
/// directory), so only the after-command check can see that `src/a.rs` is outside the glob.
const CASE_RENAME: &str = "import os\nos.rename('src/A.rs', 'src/a.rs')\n";

#[test]
fn case_only_renames_are_judged_by_the_exact_globs() {
    if !landlock_or_skip("case_only_renames_are_judged_by_the_exact_globs") {
        return;
    }
    let repo = TestRepo::new();
    repo.write("src/A.rs", "// A\n");
    repo.write("src/B/x.txt", "x\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "case"]);
    repo.init();
    let base = repo.git(&["rev-parse", "main"]);
    let wt = repo.start_worktree("c", &["src/A.rs", "src/B/**"]);
    let in_scope = |p: &[u8]| p == b"src/A.rs" || p.starts_with(b"src/B/");

    for cmd in ["git mv src/A.rs src/a.rs", "mv src/A.rs src/a.rs"] {
        repo.paddock(&["check", "--cwd", wt.to_str().expect("utf8"), "-c", cmd])
            .fails(1);
        repo.sh(&wt, cmd)
            .fails(126)
            .stderr_has("fs.write.outside-scope");
        repo.unblock("c");
    }
    assert!(wt.join("src/A.rs").is_file() && !wt.join("src/a.rs").exists());

    std::fs::write(wt.join("src/B/rename.py"), CASE_RENAME).expect("write");
    let run = repo.sh(&wt, "python3 src/B/rename.py");
    assert!(
        run.stderr().contains("src/a.rs") && run.stderr().contains("fs.write.outside-scope"),
        "{}",
        run.stderr()
    );
    assert_eq!(repo.state("c"), "blocked");
    assert!(
        repo.records(Some("deny.write"))
            .iter()
            .any(|r| r["session"] == "c"),
        "recorded"
    );
    repo.unblock("c");
    // Committing the rename by hand: refused by the hooks.
    let tip = repo.git(&["rev-parse", "paddock/c"]);
    assert!(git(&wt, &["add", "-A"]).0);
    let (ok, err) = git(&wt, &["commit", "-q", "-m", "case rename"]);
    assert!(!ok && err.contains("src/a.rs"), "{err}");
    assert_eq!(repo.git(&["rev-parse", "paddock/c"]), tip);
    assert!(git(&wt, &["reset", "-q"]).0);
    std::fs::rename(wt.join("src/a.rs"), wt.join("src/A.rs")).expect("rename back");
    std::fs::remove_file(wt.join("src/B/rename.py")).expect("rm");
    repo.unblock("c");

    // A case-only rename inside the scope is ordinary work.
    repo.sh(
        &wt,
        "git mv src/B/x.txt src/B/X.txt && git commit -q -m 'case in scope'",
    )
    .ok();
    finish_and_merge(&repo, "c");
    assert!(repo.path("src/B/X.txt").is_file() && repo.path("src/A.rs").is_file());
    assert!(!repo.path("src/a.rs").exists());
    assert_changes_within(&repo, &base, "main", in_scope);
}

#[test]
fn submodules_and_nested_repositories_never_sidestep_the_session() {
    if !landlock_or_skip("submodules_and_nested_repositories_never_sidestep_the_session") {
        return;
    }
    let repo = TestRepo::new();
    let sub = repo.tmp.path().join("sub");
    std::fs::create_dir_all(&sub).expect("mkdir");
    repo.git_in(&sub, &["init", "-q", "-b", "main"]);
    std::fs::write(sub.join("s.txt"), "s\n").expect("write");
    repo.git_in(&sub, &["add", "-A"]);
    repo.git_in(&sub, &["commit", "-q", "-m", "sub"]);
    let sub_url = sub.to_str().expect("utf8");
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub_url,
        "vendor/sub",
    ]);
    repo.git(&["commit", "-q", "-m", "add a submodule"]);
    // The main worktree does not keep it checked out, so merged gitlink bumps leave it clean.
    // Its url stays registered in the config, which sessions cannot write.
    repo.git(&["submodule", "deinit", "-q", "-f", "vendor/sub"]);
    repo.git(&["submodule", "init", "-q"]);
    repo.init();
    let base = repo.git(&["rev-parse", "main"]);
    std::fs::write(sub.join("s.txt"), "s2\n").expect("write");
    repo.git_in(&sub, &["commit", "-q", "-am", "sub 2"]);
    let new_sub = repo.git_in(&sub, &["rev-parse", "HEAD"]);
    let cacheinfo = format!("160000,{new_sub},vendor/sub");

    let v = repo.start_worktree("v", &["vendor/**"]);
    let s = repo.start_worktree("s", &["src/**"]);

    // A gitlink change outside the scope, committed by hand: refused by the hooks.
    let tip = repo.git(&["rev-parse", "paddock/s"]);
    assert!(git(&s, &["update-index", "--cacheinfo", &cacheinfo]).0);
    let (ok, err) = git(&s, &["commit", "-q", "-m", "bump"]);
    assert!(!ok && err.contains("vendor/sub"), "{err}");
    assert_eq!(repo.git(&["rev-parse", "paddock/s"]), tip);
    assert!(git(&s, &["reset", "-q"]).0);
    repo.unblock("s");
    // In v's scope, the same bump is ordinary work that merges.
    repo.sh(
        &v,
        &format!("git update-index --cacheinfo {cacheinfo} && git commit -q -m bump"),
    )
    .ok();
    finish_and_merge(&repo, "v");
    assert_eq!(repo.git(&["rev-parse", "main:vendor/sub"]), new_sub);

    // Session w checks the submodule out (in its scope, into its own git admin dir) ...
    let w = repo.start_worktree("w", &["vendor/**"]);
    repo.sh(
        &w,
        "git -c protocol.file.allow=always submodule update --init -q",
    )
    .ok();
    assert_eq!(
        std::fs::read_to_string(w.join("vendor/sub/s.txt")).expect("checked out"),
        "s2\n"
    );
    // ... but a shell started inside the submodule is no way out of w's confinement.
    let before_main_docs = snapshot(&repo.path("docs"));
    let run = paddock_sh_in(&w.join("vendor/sub"))
        .args([
            "-c",
            "echo leak > ../../docs/leak.md; echo leak > ../../../../repo/docs/leak.md",
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("separate repository"), "{stderr}");
    assert!(!w.join("docs/leak.md").exists());
    assert_eq!(snapshot(&repo.path("docs")), before_main_docs);

    // Session s may not check the submodule out: vendor/ is outside its scope.
    let _ = repo.sh(
        &s,
        "git -c protocol.file.allow=always submodule update --init -q",
    );
    assert!(!s.join("vendor/sub/s.txt").exists());
    repo.unblock("s");
    // A nested repository in the scope: refused by the gate.
    repo.sh(&s, "git init -q src/inner").fails(126);
    assert!(!s.join("src/inner").exists());
    repo.unblock("s");
    // A clone nested in the worktree (made by hand) is no way out either.
    repo.git_in(&s, &["clone", "-q", sub_url, "src/clone"]);
    let run = paddock_sh_in(&s.join("src/clone"))
        .args(["-c", "echo leak > ../../docs/leak.md"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("nested"), "{stderr}");
    assert!(!s.join("docs/leak.md").exists());
    std::fs::remove_dir_all(s.join("src/clone")).expect("rm");

    assert_changes_within(&repo, &base, "main", |p| p.starts_with(b"vendor/"));
    assert_changes_within(&repo, &base, "paddock/s", |_| false);
    repo.paddock(&["ledger", "verify"]).ok();
}

#[test]
fn a_worktree_moved_by_hand_is_still_its_session_and_is_refused() {
    let repo = TestRepo::new();
    repo.init();
    let base = repo.git(&["rev-parse", "main"]);
    let wt = repo.start_worktree("a", &["src/**"]);
    std::fs::write(wt.join("src/work.rs"), "work\n").expect("write");
    assert!(git(&wt, &["add", "-A"]).0);
    assert!(git(&wt, &["commit", "-q", "-m", "work"]).0);
    let work = repo.git(&["rev-parse", "paddock/a"]);

    let moved = repo.tmp.path().join("moved-by-hand");
    std::fs::rename(&wt, &moved).expect("mv");
    // Commands there still act for session a: refused, nothing written (not run unconfined).
    let run = repo.sh(&moved, "echo x > docs/leak.md");
    assert_eq!(run.code(), 125, "{}", run.stderr());
    assert!(
        run.stderr().contains(wt.to_str().expect("utf8")),
        "the message names the missing worktree: {}",
        run.stderr()
    );
    assert!(!moved.join("docs/leak.md").exists());
    assert!(!wt.exists(), "the old place is not re-created");
    let check = repo.paddock(&[
        "check",
        "--cwd",
        moved.to_str().expect("utf8"),
        "-c",
        "echo x > docs/leak.md",
    ]);
    assert_ne!(check.code(), 0, "{}", check.stderr());
    // Commits there are the session's: an out-of-scope one is refused.
    std::fs::write(moved.join("docs/leak.md"), "leak\n").expect("write");
    assert!(git(&moved, &["add", "-A"]).0);
    let (ok, err) = git(&moved, &["commit", "-q", "-m", "leak"]);
    assert!(!ok && err.contains("fs.write.outside-scope"), "{err}");
    assert_eq!(repo.git(&["rev-parse", "paddock/a"]), work);

    // Finish cannot hand in a worktree that is not there.
    let run = repo.paddock(&["session", "finish", "a"]);
    assert_ne!(run.code(), 0);
    // gc finds it, archives the committed work, and leaves the moved directory alone.
    let items = repo.paddock(&["session", "gc", "--json"]).ok().json();
    assert!(
        items
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["kind"] == "vanished-worktree"),
        "{items}"
    );
    assert_eq!(
        repo.git(&["rev-parse", "refs/paddock/archive/a"]),
        work,
        "committed work archived"
    );
    assert!(moved.join("src/work.rs").is_file(), "nothing deleted");
    // Now that the session is gone, the stray copy is nobody's, and still not a way around.
    let run = repo.sh(&moved, "echo x > docs/leak2.md");
    assert_eq!(run.code(), 125, "{}", run.stderr());
    assert!(!moved.join("docs/leak2.md").exists());
    assert_eq!(repo.git(&["rev-parse", "main"]), base);
    repo.paddock(&["ledger", "verify"]).ok();
}

#[test]
fn git_files_pointing_elsewhere_are_refused() {
    let repo = TestRepo::new();
    repo.init();
    let a = repo.start_worktree("a", &["src/**"]);
    let b = repo.start_worktree("b", &["docs/**"]);
    let pointer = std::fs::read_to_string(a.join(".git")).expect("pointer");
    let b_tip = repo.git(&["rev-parse", "paddock/b"]);
    let a_tip = repo.git(&["rev-parse", "paddock/a"]);

    // To nowhere: not "outside any repository" (which would run unconfined), but refused.
    std::fs::write(a.join(".git"), "gitdir: /nonexistent/.git/worktrees/a\n").expect("write");
    let run = repo.sh(&a, "echo x > docs/leak.md");
    assert_eq!(run.code(), 125, "{}", run.stderr());
    assert!(
        run.stderr().contains("not a git directory"),
        "{}",
        run.stderr()
    );
    assert!(!a.join("docs/leak.md").exists());
    repo.paddock(&[
        "check",
        "--cwd",
        a.to_str().expect("utf8"),
        "-c",
        "echo x > docs/leak.md",
    ])
    .fails(2);

    // To another repository.
    let other = repo.tmp.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    repo.git_in(&other, &["init", "-q"]);
    std::fs::write(
        a.join(".git"),
        format!("gitdir: {}\n", other.join(".git").display()),
    )
    .expect("write");
    let run = repo.sh(&a, "echo x > docs/leak.md");
    assert_eq!(run.code(), 125, "{}", run.stderr());
    assert!(!a.join("docs/leak.md").exists());

    // To another session's admin dir: a's commits would land on b's branch; refused. Any
    // command there is caught by the after-command check (the pointer is not a's own).
    std::fs::write(
        a.join(".git"),
        pointer.replace("worktrees/a", "worktrees/b"),
    )
    .expect("write");
    let run = repo.sh(&a, "echo x > src/y.rs");
    assert!(
        run.stderr().contains(".git pointer"),
        "the re-aimed pointer is reported: {}",
        run.stderr()
    );
    assert_eq!(repo.state("a"), "blocked");
    repo.unblock("a");
    let run = repo.sh(
        &a,
        "echo x > src/x.rs && git add src/x.rs && git commit -q -m via-a",
    );
    assert_ne!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        repo.git(&["rev-parse", "paddock/b"]),
        b_tip,
        "b's branch untouched"
    );

    std::fs::write(a.join(".git"), &pointer).expect("restore");
    repo.unblock("a");
    assert_eq!(repo.git(&["rev-parse", "paddock/a"]), a_tip);
    assert!(!b.join("src/x.rs").exists());
    // A repository whose git dir lives elsewhere (`--separate-git-dir`): start is refused
    // clearly and leaves nothing behind.
    let sep = repo.tmp.path().join("sep");
    std::fs::create_dir_all(sep.join("src")).expect("mkdir");
    let sep_git = repo.tmp.path().join("sep.gitdir");
    repo.git_in(
        &sep,
        &[
            "init",
            "-q",
            "-b",
            "main",
            "--separate-git-dir",
            sep_git.to_str().expect("utf8"),
        ],
    );
    std::fs::write(sep.join("src/a.rs"), "a\n").expect("write");
    repo.git_in(&sep, &["add", "-A"]);
    repo.git_in(&sep, &["commit", "-q", "-m", "init"]);
    let run = repo.paddock_in(
        &sep,
        &["session", "start", "--id", "s", "--scope", "src/**"],
    );
    assert_ne!(run.code(), 0);
    assert!(run.stderr().contains("separate"), "{}", run.stderr());
    assert!(!repo.tmp.path().join("sep.paddock/s").exists());
    repo.paddock(&["ledger", "verify"]).ok();
}

/// Writes the repository around a lone session: the main worktree, its own worktree outside
/// the scope, an existing object. Prints what got through.
const AROUND: &str = r#"
import glob, os, sys
main, wt = sys.argv[1], sys.argv[2]
targets = [main + "/README.md", main + "/new.txt", wt + "/docs/guide.md", wt + "/top.txt"]
targets += glob.glob(main + "/.git/objects/??/*")[:3]
worked = []
for t in targets:
    try:
        os.chmod(t, 0o644) if os.path.exists(t) else None
        open(t, "ab").write(b"x")
        worked.append(t)
    except Exception:
        pass
print(" ".join(worked))
# The session's own temp dir stays writable.
open(os.environ["TMPDIR"] + "/ok.txt", "w").write("scratch")
"#;

// Test repositories live under /tmp, a scratch dir every session may write. With no other
// session around, the whole of /tmp used to be granted, and with it the main worktree, the
// session's own files outside its scope and the existing objects.
#[test]
fn a_lone_session_in_a_repository_under_a_scratch_dir_stays_in_its_scope() {
    if !landlock_or_skip("a_lone_session_in_a_repository_under_a_scratch_dir_stays_in_its_scope") {
        return;
    }
    let repo = TestRepo::new();
    repo.init();
    assert!(
        repo.root.starts_with("/tmp"),
        "the case needs a repository under /tmp"
    );
    let wt = repo.start_worktree("a", &["src/**"]);
    let before = snapshot(&repo.root);
    std::fs::write(wt.join("src/around.py"), AROUND).expect("write");
    let run = repo.sh(
        &wt,
        &format!(
            "python3 src/around.py {} {}",
            repo.root.display(),
            wt.display()
        ),
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.stdout().trim(), "", "writes got through");
    assert_eq!(snapshot(&repo.root), before, "the main worktree untouched");
    assert!(repo.git_ok(&["fsck", "--no-dangling"]), "objects intact");
    assert_eq!(
        repo.state("a"),
        "active",
        "nothing changed outside the scope"
    );
}

/// Keeps trying to overwrite the target branch's ref file, as a confined process that outlives
/// a merge would; prints when it got through.
const MOVE_MAIN: &str = r#"
import sys, time
ref, commit = sys.argv[1], sys.argv[2]
for _ in range(300):
    try:
        open(ref, "w").write(commit + "\n")
        print("moved")
        break
    except OSError:
        time.sleep(0.02)
"#;

// git updates a ref by renaming a new file over it; when that happens outside (a merge moving
// main), Linux drops a read-only bind on the old file in every other namespace. The target
// branch must therefore be read-only to Landlock itself, not only bound.
#[test]
fn a_confined_process_cannot_move_main_after_a_merge_replaced_its_ref() {
    if !landlock_or_skip("a_confined_process_cannot_move_main_after_a_merge_replaced_its_ref") {
        return;
    }
    let repo = TestRepo::new();
    repo.init();
    let a = repo.start_worktree("a", &["src/**"]);
    let b = repo.start_worktree("b", &["docs/**"]);
    std::fs::write(b.join("docs/b.md"), "b\n").expect("write");
    assert!(git(&b, &["add", "-A"]).0 && git(&b, &["commit", "-q", "-m", "b"]).0);
    repo.paddock(&["session", "finish", "b"]).ok();
    std::fs::write(a.join("src/move.py"), MOVE_MAIN).expect("write");
    let base = repo.git(&["rev-parse", "main"]);
    let main_ref = repo.root.join(".git/refs/heads/main");
    let attacker = paddock_sh_in(&a)
        .args([
            "-c",
            &format!("python3 src/move.py {} {base}", main_ref.display()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("paddock-sh starts");
    std::thread::sleep(Duration::from_millis(500));
    repo.paddock(&["merge", "b"]).ok();
    let merged = repo.git(&["rev-parse", "main"]);
    let out = attacker.wait_with_output().expect("wait");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "",
        "the confined process moved main"
    );
    assert_eq!(repo.git(&["rev-parse", "main"]), merged);
}

// What the bind on another session's branch cannot hold (it lasts until that session's next
// commit replaces the file) the reflog shows: a branch moved without git leaves no entry, and
// finish refuses it.
#[test]
fn finish_refuses_a_branch_moved_without_git() {
    let repo = TestRepo::new();
    repo.init();
    let a = repo.start_worktree("a", &["src/**"]);
    std::fs::write(a.join("src/a.rs"), "a\n").expect("write");
    assert!(git(&a, &["add", "-A"]).0 && git(&a, &["commit", "-q", "-m", "a"]).0);
    // Someone else's in-scope commit, written over a's branch file without git.
    let foreign = repo.git(&[
        "commit-tree",
        "-p",
        "paddock/a",
        "-m",
        "not a's",
        "paddock/a^{tree}",
    ]);
    let branch = repo.root.join(".git/refs/heads/paddock/a");
    std::fs::write(&branch, format!("{}\n", foreign.trim())).expect("write the ref file");
    let run = repo.paddock(&["session", "finish", "a", "--json"]).fails(1);
    assert_eq!(
        run.json()["error"]["kind"],
        "moved-outside-git",
        "{}",
        run.stdout()
    );
    let show = repo
        .paddock(&["session", "show", "a", "--json"])
        .ok()
        .json();
    assert_eq!(show["state"], "blocked", "{show}");
    let denies = repo
        .paddock(&["ledger", "show", "--kind", "deny.commit", "--json"])
        .ok()
        .json();
    assert_eq!(denies[0]["session"], "a", "{denies}");
    // A session whose branch only git moved finishes as before.
    let b = repo.start_worktree("b", &["docs/**"]);
    std::fs::write(b.join("docs/b.md"), "b\n").expect("write");
    assert!(git(&b, &["add", "-A"]).0 && git(&b, &["commit", "-q", "-m", "b"]).0);
    assert!(git(&b, &["commit", "-q", "--amend", "-m", "b, amended"]).0);
    repo.paddock(&["session", "finish", "b"]).ok();
}
