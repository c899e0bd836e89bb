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
