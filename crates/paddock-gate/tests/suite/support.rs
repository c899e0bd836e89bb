//! A real repository with two live sessions in their own worktrees, built in a temp dir.

use std::path::{Path, PathBuf};
use std::process::Command;

use paddock_gate::{Context, ContextBuilder, Session};
use paddock_policy::Policy;
use paddock_policy::glob::PatternSet;

/// The layout every corpus case assumes.
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub main: PathBuf,
    /// The session under test (scope `src/**`, `tests/**`).
    pub s1: PathBuf,
    /// The other live session.
    pub s2: PathBuf,
    pub home: PathBuf,
}

fn git(cwd: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .env("GIT_AUTHOR_DATE", "2020-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2020-01-01T00:00:00Z")
        .env("LANG", "C")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// Where fixtures live: never inside the built-in policy's scratch dirs (`/tmp`, `/var/tmp`),
/// or everything around the repository, the fake home included, would count as scratch. The
/// target dir is used unless the checkout itself sits under one of them (CI may clone there).
fn fixture_root() -> PathBuf {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let target = target.canonicalize().unwrap_or(target);
    let under_scratch = ["/tmp", "/var/tmp"].iter().any(|dir| {
        let dir = Path::new(dir)
            .canonicalize()
            .unwrap_or_else(|_| PathBuf::from(dir));
        target.starts_with(dir)
    });
    if !under_scratch {
        return target;
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .expect("HOME is set");
    let root = home.join(".cache").join("paddock-gate-tests");
    std::fs::create_dir_all(&root).expect("mkdir");
    root
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("gate-")
            .tempdir_in(fixture_root())
            .expect("tempdir");
        let base = dir.path().canonicalize().expect("canonical");
        let main = base.join("repo");
        std::fs::create_dir_all(&main).expect("mkdir");
        git(&main, &["init", "-q", "-b", "main"]);
        for (path, text) in [
            ("src/lib.rs", "pub fn f() {}\n"),
            ("src/a.rs", "// a\n"),
            ("src/old.rs", "// old\n"),
            ("tests/it.rs", "#[test] fn t() {}\n"),
            ("tests/fixtures/tmp/x.txt", "x\n"),
            ("docs/guide.md", "# guide\n"),
            ("README.md", "# repo\n"),
            ("Cargo.toml", "[package]\nname = \"x\"\n"),
            (".handshake/gov/rules.md", "# rules\n"),
            ("scripts/build.sh", "#!/bin/sh\necho build\n"),
        ] {
            write(&main.join(path), text);
        }
        git(&main, &["add", "-A"]);
        git(&main, &["commit", "-q", "-m", "init"]);
        let sessions = base.join("repo.paddock");
        let s1 = sessions.join("s1");
        let s2 = sessions.join("s2");
        git(
            &main,
            &[
                "worktree",
                "add",
                "-q",
                "--no-track",
                "-b",
                "paddock/s1",
                s1.to_str().expect("utf8"),
                "main",
            ],
        );
        git(
            &main,
            &[
                "worktree",
                "add",
                "-q",
                "--no-track",
                "-b",
                "paddock/s2",
                s2.to_str().expect("utf8"),
                "main",
            ],
        );
        // Symlinks for the symlink cases: inside the scope, pointing out of it.
        std::os::unix::fs::symlink("../docs", s1.join("src/docs-link")).expect("symlink");
        std::os::unix::fs::symlink(&s2, s1.join("tests/other-link")).expect("symlink");
        std::os::unix::fs::symlink("/etc", s1.join("tests/etc-link")).expect("symlink");
        std::os::unix::fs::symlink("fixtures", s1.join("tests/fixtures-link")).expect("symlink");
        let home = base.join("home");
        std::fs::create_dir_all(&home).expect("mkdir");
        Fixture {
            _dir: dir,
            main,
            s1,
            s2,
            home,
        }
    }

    /// The context of session s1, in its worktree.
    pub fn ctx(&self) -> Context {
        self.ctx_in(&self.s1)
    }

    pub fn ctx_in(&self, cwd: &Path) -> Context {
        self.builder(cwd).build().expect("context")
    }

    /// The context of session s1, in its worktree, under `policy`.
    pub fn ctx_with_policy(&self, policy: &Policy) -> Context {
        self.builder(&self.s1)
            .policy(policy)
            .build()
            .expect("context")
    }

    pub fn builder(&self, cwd: &Path) -> ContextBuilder {
        ContextBuilder::new(cwd, &self.main)
            .policy(&Policy::builtin())
            .session(Session {
                id: "s1".into(),
                worktree: self.s1.clone(),
                scope: PatternSet::new(["src/**", "tests/**"]).expect("globs"),
                branch: Some("paddock/s1".into()),
            })
            .other_session("s2", &self.s2)
            .git_common_dir(self.main.join(".git"))
            .home(&self.home)
    }

    /// Replaces the corpus placeholders.
    pub fn expand(&self, cmd: &str) -> String {
        cmd.replace("{OTHER}", self.s2.to_str().expect("utf8"))
            .replace("{GOV}", ".handshake/gov")
            .replace("{MAIN}", self.main.to_str().expect("utf8"))
            .replace("{HOME}", self.home.to_str().expect("utf8"))
    }
}

/// One line of a case file.
#[derive(Debug, serde::Deserialize)]
pub struct Case {
    pub cmd: String,
    pub expect: String,
    #[serde(default)]
    pub why: String,
    /// For refusals: a rule that must be among the findings.
    #[serde(default)]
    pub rule: Option<String>,
}

pub fn read_cases(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read the case file {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Runs cases in session s1's context; returns the failures as readable lines.
pub fn run_cases(fx: &Fixture, cases: &[Case]) -> (usize, Vec<String>) {
    run_cases_in(fx, &fx.ctx(), cases)
}

/// Runs cases in `ctx`. `expect` is `allow`, `deny` (any refusal) or `approval` (refused
/// until an operator approves). With `rule`, a refusal must come from that rule, and an
/// `allow` must carry a finding of that rule that lets the command through.
pub fn run_cases_in(fx: &Fixture, ctx: &Context, cases: &[Case]) -> (usize, Vec<String>) {
    use paddock_gate::Verdict;
    let mut failures = Vec::new();
    let mut passed = 0;
    for case in cases {
        let cmd = fx.expand(&case.cmd);
        let decision = paddock_gate::decide(ctx, &cmd);
        let got = match decision.verdict {
            Verdict::Allow => "allow",
            Verdict::Approval if case.expect == "approval" => "approval",
            Verdict::Approval | Verdict::Deny => "deny",
        };
        let rule_ok = match (&case.rule, case.expect.as_str()) {
            (Some(rule), "deny" | "approval") => decision
                .findings
                .iter()
                .any(|f| f.rule == rule && f.effect() != Verdict::Allow),
            (Some(rule), _) => decision
                .findings
                .iter()
                .any(|f| f.rule == rule && f.effect() == Verdict::Allow),
            _ => true,
        };
        if got == case.expect && rule_ok {
            passed += 1;
        } else {
            let findings: Vec<String> = decision
                .findings
                .iter()
                .map(|f| format!("      {} `{}` @{:?}: {}", f.rule, f.word, f.span, f.reason))
                .collect();
            failures.push(format!(
                "{:?}\n    expected {}{} ({}), got {}\n{}",
                case.cmd,
                case.expect,
                case.rule
                    .as_ref()
                    .map(|r| format!(" by {r}"))
                    .unwrap_or_default(),
                case.why,
                got,
                findings.join("\n")
            ));
        }
    }
    (passed, failures)
}
