//! Shared fixtures: a temp tree shaped like a session's world, and helpers to run commands in it.

mod binds;
mod degraded;
mod hidden;
mod nesting;
mod seccomp;
mod spawn;
mod spec;
mod writes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use paddock_sandbox::{ChildStdio, CommandExt as _, Mode, Prepared, Spec};

/// Set to `1` to let Landlock tests skip (with a message) on a kernel without Landlock.
const ALLOW_NO_LANDLOCK: &str = "PADDOCK_TEST_ALLOW_NO_LANDLOCK";

/// Whether the kernel can run `mode`. Panics with the probe's findings if it cannot, unless
/// [`ALLOW_NO_LANDLOCK`] is set, in which case it prints why the test skips and returns `false`.
pub fn kernel_supports(test: &str, mode: Mode) -> bool {
    let capabilities = paddock_sandbox::probe();
    if capabilities.best_mode() >= mode {
        return true;
    }
    let why = format!("{test} needs sandbox mode `{mode}`; this kernel offers:\n{capabilities}");
    if std::env::var(ALLOW_NO_LANDLOCK).as_deref() == Ok("1") {
        eprintln!("SKIPPED: {why}\n({ALLOW_NO_LANDLOCK}=1 is set)");
        return false;
    }
    panic!("{why}\nSet {ALLOW_NO_LANDLOCK}=1 to skip tests that need it.");
}

/// A temp tree shaped like a session's world:
///
/// ```text
/// root/
///   work/            writable (the session's scope)
///     src.txt
///     .git           read-only bind (worktree pointer file)
///     config         read-only bind (a file)
///     hooks/         read-only bind (a directory)
///       pre-commit
///   outside/         readable, not writable
///     keep.txt
///     sub/deep.txt
///   other/           hidden (another session's worktree)
///     secret.txt
///     dir/inner.txt
///   sibling/         readable sibling of the hidden tree
///     note.txt
/// ```
pub struct Tree {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub work: PathBuf,
    pub outside: PathBuf,
    pub other: PathBuf,
    pub sibling: PathBuf,
    pub pointer: PathBuf,
    pub config: PathBuf,
    pub hooks: PathBuf,
}

fn write(path: &Path, content: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent");
    }
    std::fs::write(path, content).expect("write fixture file");
}

impl Tree {
    pub fn new() -> Tree {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let work = root.join("work");
        write(&work.join("src.txt"), "source\n");
        write(&work.join(".git"), "gitdir: /elsewhere/worktrees/s1\n");
        write(&work.join("config"), "[core]\n\tbare = false\n");
        write(&work.join("hooks/pre-commit"), "#!/bin/sh\nexit 0\n");
        let outside = root.join("outside");
        write(&outside.join("keep.txt"), "keep me\n");
        write(&outside.join("sub/deep.txt"), "deep\n");
        let other = root.join("other");
        write(&other.join("secret.txt"), "secret\n");
        write(&other.join("dir/inner.txt"), "inner\n");
        let sibling = root.join("sibling");
        write(&sibling.join("note.txt"), "note\n");
        Tree {
            _dir: dir,
            pointer: work.join(".git"),
            config: work.join("config"),
            hooks: work.join("hooks"),
            root,
            work,
            outside,
            other,
            sibling,
        }
    }

    /// Work writable, other hidden, the pointer file, config and hooks bound read-only.
    pub fn spec(&self) -> Spec {
        let mut spec = Spec::new();
        spec.writable.push(self.work.clone());
        spec.hidden.push(self.other.clone());
        spec.read_only_binds = vec![
            self.pointer.clone(),
            self.config.clone(),
            self.hooks.clone(),
        ];
        spec
    }

    /// [`Tree::spec`] prepared in exactly `mode`.
    pub fn prepared(&self, mode: Mode) -> Prepared {
        let prepared = Prepared::new(&self.spec(), mode, &[mode]).expect("prepare the sandbox");
        assert_eq!(prepared.mode(), mode);
        prepared
    }
}

/// Runs `sh -c script` in `cwd`, confined by `prepared` (or unconfined when `None`), started
/// the way `paddock-sh` starts commands: [`CommandExt::spawn_confined`].
pub fn sh(prepared: Option<&Prepared>, cwd: &Path, script: &str) -> Output {
    let mut command = Command::new("sh");
    command.arg("-c").arg(script).current_dir(cwd);
    match prepared {
        Some(prepared) => spawned_output(&mut command, prepared, None),
        None => command.output().expect("spawn sh"),
    }
}

/// Like [`sh`], confined, started by `std::process::Command` with [`CommandExt::confine`] (a
/// `pre_exec` hook after `fork`), as turns start commands.
pub fn sh_forked(prepared: &Prepared, cwd: &Path, script: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(cwd)
        .confine(prepared)
        .output()
        .expect("spawn sh")
}

/// `command.output()` through [`CommandExt::spawn_confined`], with `stdin` fed to the child.
pub fn spawned_output(command: &mut Command, prepared: &Prepared, stdin: Option<&[u8]>) -> Output {
    let (out_read, out_write) = std::io::pipe().expect("pipe");
    let (err_read, err_write) = std::io::pipe().expect("pipe");
    let mut stdio = ChildStdio {
        stdout: Some(out_write.into()),
        stderr: Some(err_write.into()),
        ..ChildStdio::default()
    };
    let feed = stdin.map(|bytes| {
        let (in_read, mut in_write) = std::io::pipe().expect("pipe");
        stdio.stdin = Some(in_read.into());
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            use std::io::Write as _;
            let _ = in_write.write_all(&bytes);
        })
    });
    let mut child = command
        .spawn_confined(prepared, stdio)
        .expect("spawn confined");
    let read_all = |mut pipe: std::io::PipeReader| {
        std::thread::spawn(move || {
            use std::io::Read as _;
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes)
                .expect("read the child's output");
            bytes
        })
    };
    let (stdout, stderr) = (read_all(out_read), read_all(err_read));
    let status = child.wait().expect("wait");
    if let Some(feed) = feed {
        feed.join().expect("stdin writer");
    }
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Like [`sh`], confined, and asserts success.
pub fn sh_ok(prepared: &Prepared, cwd: &Path, script: &str) -> Output {
    let output = sh(Some(prepared), cwd, script);
    assert!(
        output.status.success(),
        "`{script}` should succeed: {}",
        describe(&output)
    );
    output
}

/// Like [`sh`], confined, and asserts failure.
pub fn sh_fails(prepared: &Prepared, cwd: &Path, script: &str) -> Output {
    let output = sh(Some(prepared), cwd, script);
    assert!(
        !output.status.success(),
        "`{script}` should fail: {}",
        describe(&output)
    );
    output
}

pub fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// What a tree holds: every path below `root` with its kind and, for files, its bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File(Vec<u8>),
    Symlink(PathBuf),
}

pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
        for entry in std::fs::read_dir(dir).expect("list fixture dir") {
            let path = entry.expect("dir entry").path();
            let relative = path.strip_prefix(root).expect("below root").to_path_buf();
            let kind = std::fs::symlink_metadata(&path).expect("lstat").file_type();
            if kind.is_symlink() {
                out.insert(
                    relative,
                    Entry::Symlink(std::fs::read_link(&path).expect("link")),
                );
            } else if kind.is_dir() {
                out.insert(relative, Entry::Dir);
                walk(root, &path, out);
            } else {
                out.insert(
                    relative,
                    Entry::File(std::fs::read(&path).expect("read fixture")),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The `confine` example, built by `cargo test` / `cargo nextest` next to the test binary.
pub fn confine_example() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/all-<hash> -> target/<profile>/examples/confine
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let example = profile_dir.join("examples/confine");
    assert!(
        example.is_file(),
        "{} is missing: build it with `cargo build -p paddock-sandbox --examples` (cargo test \
         and cargo nextest build it by default)",
        example.display()
    );
    example
}
