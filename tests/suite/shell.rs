//! `paddock-sh` as a session's shell: the gate first, then the kernel for whatever gets past it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::harness::{TestRepo, hermetic};

/// paddock-sh in `dir`, with the tests' hermetic environment.
fn sh_cmd(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paddock-sh"));
    hermetic(&mut c).current_dir(dir);
    c
}

fn sh(dir: &Path, cmd: &str) -> std::process::Output {
    sh_cmd(dir)
        .args(["-c", cmd])
        .output()
        .expect("paddock-sh runs")
}

fn session_state(repo: &TestRepo, id: &str) -> String {
    repo.paddock(&["session", "show", id, "--json"]).ok().json()["state"]
        .as_str()
        .expect("state")
        .to_owned()
}

#[test]
fn allowed_commands_run_and_pass_their_exit_code_through() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let wt = PathBuf::from(
        repo.start("a", &["src/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    let out = sh(
        &wt,
        "echo hello > src/hello.txt && cat src/hello.txt && exit 7",
    );
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    // -lc, as agents call it, and a script on stdin.
    let mut c = sh_cmd(&wt);
    c.args(["-lc", "echo login"]);
    assert_eq!(
        String::from_utf8_lossy(&c.output().expect("runs").stdout),
        "login\n"
    );
    assert_eq!(session_state(&repo, "a"), "active");
}

#[test]
fn refused_commands_exit_126_are_recorded_and_block_the_session() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let wt = PathBuf::from(
        repo.start("a", &["src/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    let before = std::fs::read(wt.join("docs/guide.md")).expect("r");
    let out = sh(&wt, "echo x > docs/guide.md");
    assert_eq!(out.status.code(), Some(126));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refused") && err.contains("fs.write.outside-scope"),
        "{err}"
    );
    assert_eq!(std::fs::read(wt.join("docs/guide.md")).expect("r"), before);
    assert_eq!(session_state(&repo, "a"), "blocked");
    let denies = repo
        .paddock(&["ledger", "show", "--kind", "deny.command", "--json"])
        .ok()
        .json();
    assert_eq!(
        denies.as_array().map(Vec::len),
        Some(1),
        "recorded once: {denies}"
    );
    assert_eq!(denies[0]["session"], "a");
}

const ATTACK: &str = r#"
import json, os, subprocess, sys
targets = json.loads(sys.argv[1])
results = {}
def attempt(name, fn):
    try:
        fn()
        results[name] = "succeeded"
    except Exception as e:
        results[name] = "failed: %s" % e
for name, path in targets.items():
    attempt(name + ":python", lambda: open(path, "a").write("x"))
    attempt(name + ":sh", lambda: subprocess.run(["sh", "-c", 'echo x >> "$0"', path], check=True, capture_output=True))
    attempt(name + ":perl", lambda: subprocess.run(["perl", "-e", 'open(F, ">>", $ARGV[0]) or die; print F "x"', path], check=True, capture_output=True))
    attempt(name + ":cp", lambda: subprocess.run(["cp", "/etc/hostname", path], check=True, capture_output=True))
    attempt(name + ":dd", lambda: subprocess.run(["dd", "if=/dev/zero", "of=" + path, "bs=1", "count=1", "conv=notrunc"], check=True, capture_output=True))
    attempt(name + ":truncate", lambda: subprocess.run(["truncate", "-s", "0", path], check=True, capture_output=True))
    attempt(name + ":mv", lambda: subprocess.run(["mv", path, path + ".moved"], check=True, capture_output=True))
    attempt(name + ":rm", lambda: os.unlink(path))
    attempt(name + ":ln", lambda: subprocess.run(["ln", "-sf", "/etc/hostname", path], check=True, capture_output=True))
    attempt(name + ":chmod-write", lambda: (os.chmod(path, 0o666), open(path, "w").write("x")))
json.dump(results, open(os.environ["PADDOCK_TEST_RESULTS"], "w"))
"#;

fn snapshot(paths: &[PathBuf]) -> Vec<Option<Vec<u8>>> {
    paths.iter().map(|p| std::fs::read(p).ok()).collect()
}

#[test]
fn the_kernel_stops_writes_the_gate_cannot_see() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let wt = PathBuf::from(
        repo.start("a", &["src/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    let other = PathBuf::from(
        repo.start("b", &["docs/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    repo.git(&["branch", "-q", "side"]);
    let common = repo.root.join(".git");
    let object = {
        let id = repo.git(&["rev-parse", "HEAD:src/lib.rs"]);
        common.join("objects").join(&id[..2]).join(&id[2..])
    };
    let targets: Vec<(&str, PathBuf)> = vec![
        ("outside-scope", wt.join("docs/guide.md")),
        ("governance", wt.join(".handshake/gov/rules.md")),
        ("hooks", common.join("hooks/pre-commit")),
        ("config", common.join("config")),
        ("registry", common.join("paddock/sessions/a.yaml")),
        ("ledger", common.join("paddock/ledger.yaml")),
        ("main", common.join("refs/heads/main")),
        ("side-branch", common.join("refs/heads/side")),
        ("other-branch", common.join("refs/heads/paddock/b")),
        ("object", object),
        ("pointer", wt.join(".git")),
        ("other-worktree", other.join("docs/guide.md")),
        ("main-worktree", repo.root.join("README.md")),
    ];
    let paths: Vec<PathBuf> = targets.iter().map(|(_, p)| p.clone()).collect();
    for p in &paths {
        assert!(
            p.exists(),
            "{} must exist for the test to mean anything",
            p.display()
        );
    }
    let before = snapshot(&paths);
    std::fs::write(wt.join("src/attack.py"), ATTACK).expect("w");
    // The attack reports inside the scope, the one place it may write.
    let results_file = wt.join("src/results.json");
    let arg = serde_json::to_string(
        &targets
            .iter()
            .map(|(n, p)| (n.to_string(), p.display().to_string()))
            .collect::<std::collections::BTreeMap<_, _>>(),
    )
    .expect("json");
    let mut c = sh_cmd(&wt);
    c.env("PADDOCK_TEST_RESULTS", &results_file)
        .args(["-c", &format!("python3 src/attack.py '{arg}'")]);
    let out = c.output().expect("runs");
    assert!(
        results_file.exists(),
        "the attack ran: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&results_file).expect("r")).expect("json");
    let succeeded: Vec<&String> = results
        .iter()
        .filter(|(_, r)| r.as_str() == "succeeded")
        .map(|(n, _)| n)
        .collect();
    assert!(succeeded.is_empty(), "writes got through: {succeeded:?}");
    assert_eq!(snapshot(&paths), before, "every target byte-identical");
}

#[test]
fn a_confined_session_works_normally_inside_its_scope() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let wt = PathBuf::from(
        repo.start("a", &["src/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    let other = PathBuf::from(
        repo.start("b", &["docs/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    let out = sh(
        &wt,
        "echo new > src/new.rs && mkdir -p src/deep/er && echo t > /var/tmp/paddock-e2e-ok.txt && mkdir -p target && echo o > target/out && git add src/new.rs && git commit -q -m 'in scope'",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(repo.git(&["show", "paddock/a:src/new.rs"]), "new");
    // The commit's objects went to the session's own store and are visible from outside.
    assert!(repo.root.join(".git/paddock-objects/a").is_dir());
    assert!(
        repo.git(&["log", "-1", "--format=%s", "paddock/a"])
            .contains("in scope")
    );
    // The hooks inside the sandbox recorded the commit through the supervisor.
    let commits = repo
        .paddock(&["ledger", "show", "--kind", "git.commit", "--json"])
        .ok()
        .json();
    assert_eq!(commits[0]["session"], "a", "{commits}");
    // Reading another session's worktree fails in the kernel too.
    std::fs::write(wt.join("src/peek.py"), format!("import os\ntry:\n    print(os.listdir({:?}))\nexcept Exception as e:\n    print('denied', e)\n", other.join("src").display())).expect("w");
    let out = sh(&wt, "python3 src/peek.py");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("denied"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(session_state(&repo, "a"), "active");
    // Finish and merge bring the session's objects into the shared store.
    // Scratch output (target/out) is not part of the work handed back; the helper script is.
    let out = repo
        .paddock(&["session", "finish", "a", "--commit-all", "--json"])
        .ok()
        .json();
    let files: Vec<&str> = out["provenance"]["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("p"))
        .collect();
    assert!(
        files.contains(&"src/peek.py") && !files.iter().any(|f| f.starts_with("target/")),
        "{files:?}"
    );
    repo.paddock(&["merge", "a"]).ok();
    assert!(!repo.root.join(".git/paddock-objects/a").exists());
    assert_eq!(
        std::fs::read_to_string(repo.path("src/new.rs")).expect("merged"),
        "new\n"
    );
}

#[test]
fn degraded_kernels_do_what_the_policy_says() {
    let repo = TestRepo::new();
    let wt = PathBuf::from(
        repo.start("a", &["src/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    let run = |simulate: &str| {
        let mut c = sh_cmd(&wt);
        c.env("PADDOCK_SANDBOX_SIMULATE", simulate)
            .args(["-c", "echo ran > src/ran.txt"]);
        c.output().expect("runs")
    };
    // No namespaces: Landlock only is allowed by the default policy (require: landlock), and said.
    let out = run("no-userns");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("landlock"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No Landlock: refused, nothing ran.
    std::fs::remove_file(wt.join("src/ran.txt")).expect("rm");
    let out = run("no-landlock");
    assert_eq!(
        out.status.code(),
        Some(125),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!wt.join("src/ran.txt").exists());
    // An operator's degraded-mode approval lets exactly this session run without Landlock.
    repo.paddock(&[
        "approve",
        "degraded",
        "--session",
        "a",
        "--level",
        "none",
        "--reason",
        "old kernel",
    ])
    .ok();
    let out = run("no-landlock");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cargo_builds_inside_a_confined_session() {
    let repo = TestRepo::new();
    let wt = PathBuf::from(
        repo.start("a", &["src/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    std::fs::create_dir_all(wt.join("src/hello/src")).expect("mkdir");
    std::fs::write(
        wt.join("src/hello/Cargo.toml"),
        "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .expect("w");
    std::fs::write(
        wt.join("src/hello/src/main.rs"),
        "fn main() { println!(\"built inside\"); }\n",
    )
    .expect("w");
    // The project's own target dir, not one the test run was pointed at from outside.
    let out = sh(
        &wt,
        "cd src/hello && unset CARGO_TARGET_DIR && cargo build --offline -q && ./target/debug/hello",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "built inside\n");
}

#[test]
fn a_confined_session_can_move_only_its_own_refs() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    let wt = PathBuf::from(
        repo.start("a", &["src/**"])["worktree"]
            .as_str()
            .expect("w"),
    );
    let refs_before = repo.git(&["for-each-ref", "--format=%(refname) %(objectname)"]);
    // Tags, branches outside the session's own, and the stash (shared by every worktree, so
    // one session's stash would be another's to pop) all live where git cannot lock them.
    std::fs::write(wt.join("src/lib.rs"), "changed\n").expect("w");
    for (cmd, says) in [
        ("git tag t1", "cannot lock ref"),
        ("git branch side", "cannot lock ref"),
        ("git stash", "Cannot save the current status"),
    ] {
        let out = sh(&wt, cmd);
        assert!(!out.status.success(), "{cmd} succeeded");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        repo.git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
        refs_before
    );
    assert_eq!(
        std::fs::read_to_string(wt.join("src/lib.rs")).expect("r"),
        "changed\n",
        "the failed stash lost nothing"
    );
    // The session's own branch still moves, with its reflog.
    let out = sh(&wt, "git commit -q -am 'own branch'");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(repo.git(&["reflog", "paddock/a"]).contains("own branch"));
}
