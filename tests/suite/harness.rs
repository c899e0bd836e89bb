//! A throw-away repository and a ready-made `paddock` command for each test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The environment every git and paddock process in a test gets: no user or system config,
/// fixed identities and dates, C locale.
pub fn hermetic(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .env("LANG", "C")
        .env("NO_COLOR", "1")
        .env_remove("PADDOCK_SESSION")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
}

pub struct TestRepo {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
}

/// The result of a command, with helpers for assertions.
pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.output.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            )
        })
    }
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code(),
            0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn fails(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Run {
        assert!(
            self.stderr().contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr()
        );
        self
    }
}

impl TestRepo {
    /// A repository with `src/`, `tests/`, `docs/`, `README.md`, `Cargo.toml` and the
    /// governance dir, one commit on `main`.
    pub fn new() -> TestRepo {
        let tmp = tempfile::Builder::new()
            .prefix("paddock-e2e-")
            .tempdir()
            .expect("temp dir");
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(&root).expect("mkdir");
        let root = root.canonicalize().expect("canonical");
        let repo = TestRepo { tmp, root };
        for (path, text) in [
            ("src/lib.rs", "pub fn f() {}\n"),
            ("src/a/mod.rs", "// a\n"),
            ("tests/it.rs", "#[test] fn t() {}\n"),
            ("docs/guide.md", "# guide\n"),
            ("README.md", "# readme\n"),
            ("Cargo.toml", "[package]\nname = \"x\"\n"),
            (".handshake/gov/rules.md", "# rules\n"),
        ] {
            repo.write(path, text);
        }
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "initial"]);
        repo
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// Runs git in `dir` and returns stdout; panics on failure.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let output = hermetic(Command::new("git").arg("-C").arg(dir).args(args))
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_owned()
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.root, args)
    }

    /// Whether a git command succeeds (for ref existence and the like).
    pub fn git_ok(&self, args: &[&str]) -> bool {
        hermetic(Command::new("git").arg("-C").arg(&self.root).args(args))
            .output()
            .expect("git runs")
            .status
            .success()
    }

    pub fn paddock(&self, args: &[&str]) -> Run {
        self.paddock_in(&self.root, args)
    }

    pub fn paddock_in(&self, dir: &Path, args: &[&str]) -> Run {
        Run {
            output: paddock_in(dir).args(args).output().expect("paddock runs"),
        }
    }

    /// Starts a worktree session and returns its JSON.
    pub fn start(&self, id: &str, scope: &[&str]) -> Value {
        let mut args = vec!["session", "start", "--json", "--id", id, "--scope"];
        args.extend_from_slice(scope);
        self.paddock(&args).ok().json()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".git/paddock")
    }

    /// The registry files, for "left as it was" checks.
    pub fn registry_snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let dir = self.state_dir().join("sessions");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read(e.path()).expect("read"),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }
}

pub fn paddock_in(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paddock"));
    hermetic(&mut cmd).current_dir(dir);
    cmd
}

/// `paddock-sh` in `dir`, with the tests' hermetic environment.
pub fn paddock_sh_in(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paddock-sh"));
    hermetic(&mut cmd).current_dir(dir);
    cmd
}

/// `paddock-rec` in `dir`, with the tests' hermetic environment.
pub fn paddock_rec_in(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paddock-rec"));
    hermetic(&mut cmd).current_dir(dir);
    cmd
}

impl TestRepo {
    /// `paddock init`: hook shims and state, as a guarded repository has them.
    pub fn init(&self) -> &TestRepo {
        self.paddock(&["init"]).ok();
        self
    }

    /// Starts a worktree session and returns its worktree.
    pub fn start_worktree(&self, id: &str, scope: &[&str]) -> PathBuf {
        PathBuf::from(
            self.start(id, scope)["worktree"]
                .as_str()
                .expect("a worktree session has a worktree"),
        )
    }

    /// `paddock-sh -c CMD` in `dir`.
    pub fn sh(&self, dir: &Path, cmd: &str) -> Run {
        Run {
            output: paddock_sh_in(dir)
                .args(["-c", cmd])
                .output()
                .expect("paddock-sh runs"),
        }
    }

    /// A session's state (`active`, `blocked`, ...).
    pub fn state(&self, id: &str) -> String {
        self.paddock(&["session", "show", id, "--json"]).ok().json()["state"]
            .as_str()
            .expect("state")
            .to_owned()
    }

    /// The operator clears BLOCKED (from the main worktree, as operators do).
    pub fn unblock(&self, id: &str) {
        if self.state(id) == "blocked" {
            self.paddock(&["session", "unblock", id, "--reason", "test"])
                .ok();
        }
    }

    /// Every path changed between two commits, as raw bytes (names need not be UTF-8).
    pub fn changed_paths(&self, from: &str, to: &str) -> Vec<Vec<u8>> {
        let output = hermetic(Command::new("git").arg("-C").arg(&self.root).args([
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            from,
            to,
        ]))
        .output()
        .expect("git runs");
        assert!(output.status.success(), "git diff {from} {to}");
        output
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Ledger records (optionally of one kind), as JSON values.
    pub fn records(&self, kind: Option<&str>) -> Vec<Value> {
        let mut args = vec!["ledger", "show", "--json"];
        if let Some(kind) = kind {
            args.extend(["--kind", kind]);
        }
        self.paddock(&args)
            .ok()
            .json()
            .as_array()
            .cloned()
            .expect("records are a list")
    }
}

/// Whether the kernel offers Landlock (as `paddock doctor` sees it). Tests that need the
/// kernel layer call this first and skip, saying so, only on a kernel without it.
pub fn landlock_or_skip(test: &str) -> bool {
    let probe = tempfile::tempdir().expect("temp dir");
    let init = hermetic(Command::new("git").arg("init").arg("-q").arg(probe.path()))
        .output()
        .expect("git runs");
    assert!(init.status.success(), "git init");
    let out = paddock_in(probe.path())
        .args(["doctor", "--json"])
        .output()
        .expect("paddock doctor runs");
    let abi = serde_json::from_slice::<Value>(&out.stdout)
        .ok()
        .and_then(|v| v["landlock_abi"].as_u64())
        .unwrap_or(0);
    if abi == 0 {
        eprintln!("SKIP {test}: this kernel has no Landlock, and the test needs the kernel layer");
    }
    abi > 0
}

/// A small seeded generator (splitmix64): a failing randomised run is reproduced from the
/// seed it prints.
pub struct Rng(u64);

impl Rng {
    /// The seed from `var` if set, else one from the clock; printed either way.
    pub fn from_env(var: &str, test: &str) -> Rng {
        let seed = std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{test}: seed {seed} (rerun with {var}={seed})");
        Rng(seed)
    }

    /// A generator with a known seed (e.g. derived from a printed one).
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
