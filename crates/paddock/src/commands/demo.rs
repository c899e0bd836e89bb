//! `paddock demo`: the whole story on a throw-away repository, driving this very binary.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use super::Globals;
use crate::cli::DemoArgs;
use crate::exit;
use crate::output::Style;

pub fn run(globals: &Globals, args: DemoArgs) -> anyhow::Result<u8> {
    exit::no_json(
        globals.json,
        "the demo is a walkthrough for people, with no JSON form",
    )?;
    let style = globals.style;
    let exe = std::env::current_exe().context("cannot find the paddock binary itself")?;
    let tmp = tempfile::Builder::new()
        .prefix("paddock-demo-")
        .tempdir()
        .context("cannot create a temp dir")?;
    let repo = tmp.path().join("project");
    std::fs::create_dir_all(&repo)?;
    let worktrees = tmp.path().join("project.paddock");
    let demo = Demo {
        exe: &exe,
        repo: &repo,
        style,
    };

    demo.step("A throw-away repository with src/, tests/, docs/ and a governance dir");
    for (path, text) in [
        ("src/lib.rs", "pub fn answer() -> u32 {\n    42\n}\n"),
        ("tests/it.rs", "#[test]\nfn t() {}\n"),
        ("docs/guide.md", "# Guide\n"),
        (".handshake/gov/rules.md", "# Rules\n"),
        ("README.md", "# project\n"),
    ] {
        let file = repo.join(path);
        std::fs::create_dir_all(file.parent().context("a file has a parent")?)?;
        std::fs::write(&file, text)?;
    }
    demo.git(&repo, &["init", "-q", "-b", "main"])?;
    demo.git(&repo, &["add", "-A"])?;
    demo.git(&repo, &["commit", "-q", "-m", "initial"])?;

    demo.step("paddock init: state under .git/paddock, the built-in policy, git hook shims");
    demo.paddock(&repo, &["init"], 0)?;

    demo.step("Two sessions declare their scopes and get their own worktrees");
    demo.paddock(
        &repo,
        &[
            "session", "start", "--id", "claim-1", "--role", "claim", "--scope", "src/**",
        ],
        0,
    )?;
    demo.paddock(
        &repo,
        &[
            "session", "start", "--id", "glance-1", "--role", "glance", "--scope", "tests/**",
            "docs/",
        ],
        0,
    )?;
    demo.step("A third asks for src/*/mod.rs: it overlaps claim-1's src/**, so it is refused");
    demo.paddock(
        &repo,
        &[
            "session",
            "start",
            "--id",
            "extract-1",
            "--mode",
            "lock",
            "--scope",
            "src/*/mod.rs",
        ],
        1,
    )?;
    demo.paddock(&repo, &["session", "list"], 0)?;
    let claim = worktrees.join("claim-1");
    let glance = worktrees.join("glance-1");

    demo.step("In claim-1, through paddock-sh: a destructive command is refused before it runs");
    demo.sh(&claim, "git reset --hard HEAD", 126)?;
    demo.paddock(
        &repo,
        &[
            "session",
            "unblock",
            "claim-1",
            "--reason",
            "demo: the agent was told why",
        ],
        0,
    )?;

    demo.step("A program the gate lets run tries to write outside the scope: the kernel says no");
    std::fs::write(
        claim.join("src/sneaky.py"),
        format!(
            "try:\n    open({:?}, 'a').write('pwned')\n    print('wrote README.md')\nexcept OSError as e:\n    print('kernel refused:', e)\n",
            claim.join("README.md").display()
        ),
    )?;
    demo.sh(&claim, "python3 src/sneaky.py", 0)?;
    std::fs::remove_file(claim.join("src/sneaky.py"))?;

    demo.step(
        "Outside paddock-sh, a plain git commit of an out-of-scope file is refused by the hooks",
    );
    std::fs::write(
        claim.join("docs/guide.md"),
        "# Guide, rewritten by the wrong session\n",
    )?;
    demo.git(&claim, &["add", "docs/guide.md"])?;
    println!(
        "{} (in project.paddock/claim-1) git commit --no-verify -m 'out of scope'",
        style.dim("$")
    );
    demo.show(demo.git_cmd(
        &claim,
        &["commit", "-q", "--no-verify", "-m", "out of scope"],
    ))?;
    demo.git(&claim, &["reset", "-q", "HEAD", "docs/guide.md"])?;
    demo.git(&claim, &["checkout", "--", "docs/guide.md"])?;
    demo.paddock(
        &repo,
        &[
            "session",
            "unblock",
            "claim-1",
            "--reason",
            "demo: out-of-scope change dropped",
        ],
        0,
    )?;

    demo.step("claim-1 commits in scope, finishes and merges cleanly");
    demo.sh(
        &claim,
        "sed -i 's/42/43/' src/lib.rs && git commit -q -am 'answer: 43'",
        0,
    )?;
    demo.note(
        "(git's packed-refs.lock complaint is harmless: after a commit git 2.47 locks the shared \
         packed-refs to delete the worktree's AUTO_MERGE, and a session may not write git's \
         shared root; the commit itself went through)",
    );
    demo.paddock(&repo, &["session", "finish", "claim-1"], 0)?;

    demo.step("Meanwhile fix-2, approved by an operator to overlap claim-1, changes the same line");
    demo.paddock(
        &repo,
        &[
            "approve",
            "overlap",
            "--session",
            "fix-2",
            "--with",
            "claim-1",
            "--reason",
            "demo",
        ],
        0,
    )?;
    demo.paddock(
        &repo,
        &[
            "session",
            "start",
            "--id",
            "fix-2",
            "--role",
            "extract",
            "--scope",
            "src/lib.rs",
        ],
        0,
    )?;
    let fix = worktrees.join("fix-2");
    demo.sh(
        &fix,
        "sed -i 's/42/44/' src/lib.rs && git commit -q -am 'answer: 44'",
        0,
    )?;
    demo.paddock(&repo, &["session", "finish", "fix-2"], 0)?;
    demo.paddock(&repo, &["merge", "claim-1"], 0)?;
    demo.step(
        "fix-2's merge conflicts: nothing changes, the session is BLOCKED, a report says why",
    );
    demo.paddock(&repo, &["merge", "fix-2"], 3)?;
    demo.paddock(&repo, &["status"], 0)?;

    demo.step("glance-1 runs a role turn: fresh scratch, cleared env, pinned; then it is replayed");
    let line = "wc -l < src/lib.rs > tests/lines.txt";
    println!(
        "{} paddock turn run --session glance-1 --role glance --output tests/lines.txt --pin seed=7 -- sh -c {line:?}",
        style.dim("$")
    );
    let out = demo
        .paddock_cmd(&repo)
        .args([
            "turn",
            "run",
            "--json",
            "--session",
            "glance-1",
            "--role",
            "glance",
            "--output",
            "tests/lines.txt",
            "--pin",
            "seed=7",
            "--",
            "sh",
            "-c",
            line,
        ])
        .output()
        .context("cannot run the demo turn")?;
    anyhow::ensure!(
        out.status.success(),
        "the demo turn failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pin: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("the turn's pin is JSON")?;
    let turn = pin["turn"]
        .as_str()
        .context("the pin names its turn")?
        .to_owned();
    println!(
        "    turn {turn}: isolation {}, outputs {}",
        pin["isolation_effective"].as_str().unwrap_or("?"),
        pin["outputs"]
    );
    demo.paddock(&repo, &["turn", "replay", &turn], 0)?;

    demo.step("glance-1 leaves uncommitted work and is cancelled: the work is archived, not lost");
    std::fs::write(glance.join("tests/new.rs"), "// unfinished\n")?;
    demo.paddock(
        &repo,
        &["session", "cancel", "glance-1", "--reason", "demo"],
        0,
    )?;
    println!(
        "{} git log --stat -1 refs/paddock/archive/glance-1",
        style.dim("$")
    );
    demo.show(demo.git_cmd(
        &repo,
        &[
            "log",
            "--oneline",
            "--stat",
            "-1",
            "refs/paddock/archive/glance-1",
        ],
    ))?;

    demo.step("The ledger recorded all of it, hash-chained; checkpoint it to git and verify");
    demo.paddock(&repo, &["ledger", "tail", "-n", "8"], 0)?;
    demo.paddock(&repo, &["ledger", "checkpoint"], 0)?;
    demo.paddock(&repo, &["ledger", "verify"], 0)?;

    if args.keep {
        let kept = tmp.keep();
        println!(
            "\nkept the demo repository: {}",
            kept.join("project").display()
        );
    }
    println!("\n{}", style.green("demo complete"));
    Ok(exit::OK)
}

struct Demo<'a> {
    exe: &'a Path,
    repo: &'a Path,
    style: Style,
}

impl Demo<'_> {
    fn step(&self, text: &str) {
        println!("\n{} {}", self.style.yellow("==>"), self.style.bold(text));
    }

    fn note(&self, text: &str) {
        println!("    {}", self.style.dim(text));
    }

    fn git_cmd(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "demo")
            .env("GIT_AUTHOR_EMAIL", "demo@example.invalid")
            .env("GIT_COMMITTER_NAME", "demo")
            .env("GIT_COMMITTER_EMAIL", "demo@example.invalid");
        cmd
    }

    fn git(&self, dir: &Path, args: &[&str]) -> anyhow::Result<()> {
        let output = self.git_cmd(dir, args).output().context("cannot run git")?;
        anyhow::ensure!(
            output.status.success(),
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }

    /// Runs `paddock ARGS` in `dir`, prints the command and its output, and checks the exit code
    /// is the one the story expects.
    fn paddock(&self, dir: &Path, args: &[&str], expect: i32) -> anyhow::Result<()> {
        let shown = if dir == self.repo {
            String::new()
        } else {
            format!("(in {}) ", short(dir))
        };
        println!("{} {shown}paddock {}", self.style.dim("$"), args.join(" "));
        let mut cmd = self.paddock_cmd(dir);
        cmd.args(args);
        self.expect(&mut cmd, expect, &format!("paddock {}", args.join(" ")))
    }

    /// Runs a command line through paddock-sh in a session's worktree.
    fn sh(&self, dir: &Path, line: &str, expect: i32) -> anyhow::Result<()> {
        println!(
            "{} (in {}) paddock-sh -c {line:?}",
            self.style.dim("$"),
            short(dir)
        );
        let mut cmd = self.paddock_cmd(dir);
        cmd.args(["sh", "-c", line]);
        self.expect(&mut cmd, expect, &format!("paddock-sh -c {line:?}"))
    }

    fn paddock_cmd(&self, dir: &Path) -> Command {
        let mut cmd = Command::new(self.exe);
        cmd.current_dir(dir)
            .env("GIT_AUTHOR_NAME", "demo")
            .env("GIT_AUTHOR_EMAIL", "demo@example.invalid")
            .env("GIT_COMMITTER_NAME", "demo")
            .env("GIT_COMMITTER_EMAIL", "demo@example.invalid")
            .env_remove("PADDOCK_SESSION");
        cmd
    }

    fn expect(&self, cmd: &mut Command, expect: i32, what: &str) -> anyhow::Result<()> {
        let code = self.show_cmd(cmd)?;
        anyhow::ensure!(
            code == expect,
            "`{what}` exited {code}, the demo expected {expect}"
        );
        Ok(())
    }

    fn show(&self, mut cmd: Command) -> anyhow::Result<i32> {
        self.show_cmd(&mut cmd)
    }

    fn show_cmd(&self, cmd: &mut Command) -> anyhow::Result<i32> {
        let output = cmd.output().context("cannot run a demo command")?;
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            println!("    {line}");
        }
        for line in String::from_utf8_lossy(&output.stderr).lines() {
            println!("    {}", self.style.red(line));
        }
        Ok(output.status.code().unwrap_or(-1))
    }
}

fn short(dir: &Path) -> String {
    let parts: Vec<_> = dir.components().rev().take(2).collect();
    parts
        .iter()
        .rev()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
