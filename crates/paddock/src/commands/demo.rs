//! `paddock demo`: the whole story on a throw-away repository, driving this very binary.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use super::Globals;
use crate::cli::DemoArgs;
use crate::exit;
use crate::output::Style;

pub fn run(globals: &Globals, args: DemoArgs) -> anyhow::Result<u8> {
    let style = globals.style;
    let exe = std::env::current_exe().context("cannot find the paddock binary itself")?;
    let tmp = tempfile::Builder::new().prefix("paddock-demo-").tempdir().context("cannot create a temp dir")?;
    let repo = tmp.path().join("project");
    std::fs::create_dir_all(&repo)?;
    let demo = Demo { exe: &exe, repo: &repo, style };

    demo.step("A throw-away repository with src/, tests/, docs/ and a governance dir");
    for (path, text) in [
        ("src/lib.rs", "pub fn answer() -> u32 { 42 }\n"),
        ("tests/it.rs", "#[test] fn t() {}\n"),
        ("docs/guide.md", "# Guide\n"),
        (".handshake/gov/rules.md", "# Rules\n"),
        ("README.md", "# project\n"),
    ] {
        let file = repo.join(path);
        std::fs::create_dir_all(file.parent().context("a file has a parent")?)?;
        std::fs::write(&file, text)?;
    }
    demo.git(&["init", "-q", "-b", "main"])?;
    demo.git(&["add", "-A"])?;
    demo.git(&["commit", "-q", "-m", "initial"])?;

    demo.step("Make it ready for paddock");
    demo.paddock(&["init"], 0)?;

    demo.step("Session 1 declares src/** and gets its own worktree");
    demo.paddock(&["session", "start", "--id", "claim-1", "--role", "claim", "--scope", "src/**"], 0)?;
    demo.step("Session 2 declares tests/** and docs/ and gets another");
    demo.paddock(&["session", "start", "--id", "glance-1", "--role", "glance", "--scope", "tests/**", "docs/"], 0)?;

    demo.step("A third session asks for src/*/mod.rs: it overlaps session 1's src/** and is refused");
    demo.paddock(&["session", "start", "--id", "extract-1", "--mode", "lock", "--scope", "src/*/mod.rs"], 1)?;

    demo.step("The sessions and their worktrees");
    demo.paddock(&["session", "list"], 0)?;
    demo.show(Command::new("git").arg("-C").arg(&repo).args(["worktree", "list"]))?;

    demo.step("Session 2 leaves uncommitted work and is cancelled: the work is archived, not lost");
    let worktree = tmp.path().join("project.paddock").join("glance-1");
    std::fs::write(worktree.join("tests/new.rs"), "// unfinished\n")?;
    demo.paddock(&["session", "cancel", "glance-1", "--reason", "demo"], 0)?;
    demo.show(Command::new("git").arg("-C").arg(&repo).args(["log", "--oneline", "--stat", "-1", "refs/paddock/archive/glance-1"]))?;

    demo.step("gc finds nothing orphaned");
    demo.paddock(&["session", "gc"], 0)?;

    if args.keep {
        let kept = tmp.keep();
        println!("\nkept the demo repository: {}", kept.join("project").display());
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

    fn git(&self, args: &[&str]) -> anyhow::Result<()> {
        let status = Command::new("git")
            .arg("-C")
            .arg(self.repo)
            .args(args)
            .env("GIT_AUTHOR_NAME", "demo")
            .env("GIT_AUTHOR_EMAIL", "demo@example.invalid")
            .env("GIT_COMMITTER_NAME", "demo")
            .env("GIT_COMMITTER_EMAIL", "demo@example.invalid")
            .status()
            .context("cannot run git")?;
        anyhow::ensure!(status.success(), "git {} failed", args.join(" "));
        Ok(())
    }

    /// Runs `paddock ARGS` in the repo, prints the command and its output, and checks the exit
    /// code is the one the story expects.
    fn paddock(&self, args: &[&str], expect: i32) -> anyhow::Result<()> {
        println!("{} paddock {}", self.style.dim("$"), args.join(" "));
        let mut cmd = Command::new(self.exe);
        cmd.args(args).current_dir(self.repo);
        let code = self.show(&mut cmd)?;
        anyhow::ensure!(code == expect, "`paddock {}` exited {code}, the demo expected {expect}", args.join(" "));
        Ok(())
    }

    fn show(&self, cmd: &mut Command) -> anyhow::Result<i32> {
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
