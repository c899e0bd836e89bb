//! `spawn_confined` (the child shares the caller's memory until it execs) behaves like a
//! `std::process::Command` confined with a `pre_exec` hook: same confinement, same exit statuses,
//! same environment, and failures before `exec` are the caller's errors.

use std::os::unix::process::ExitStatusExt as _;
use std::process::Command;

use paddock_sandbox::{ChildStdio, CommandExt as _, Mode, Prepared};

use super::{Tree, describe, kernel_supports, sh, sh_forked, spawned_output};

#[test]
fn both_ways_of_spawning_confine_alike() {
    if !kernel_supports("both_ways_of_spawning_confine_alike", Mode::Full) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    let scripts = [
        // Allowed: writes in the writable tree, reads of readable ones.
        "echo a > spawned.txt && cat spawned.txt ../outside/keep.txt ../sibling/note.txt",
        // Refused by Landlock: writes outside, reads of the hidden tree.
        "echo x > ../outside/new.txt",
        "cat ../other/secret.txt",
        "ls ../other",
        // Refused by the read-only binds inside the writable tree.
        "echo x >> .git",
        "rm config",
        "touch hooks/new",
        // Refused by seccomp (EPERM), where Python is there to ask.
        "python3 -c 'import ctypes,sys; sys.exit(0 if ctypes.CDLL(None).syscall(101, 0, 0, 0, 0) == -1 and ctypes.get_errno() in (0, 1) else 3)' || true",
        "exit 7",
    ];
    for script in scripts {
        let spawned = sh(Some(&prepared), &tree.work, script);
        let forked = sh_forked(&prepared, &tree.work, script);
        assert_eq!(
            (spawned.status.code(), &spawned.stdout),
            (forked.status.code(), &forked.stdout),
            "`{script}`\nspawned: {}\nforked: {}",
            describe(&spawned),
            describe(&forked)
        );
    }
    assert_eq!(
        std::fs::read(tree.work.join("spawned.txt")).expect("written"),
        b"a\n"
    );
    assert!(!tree.outside.join("new.txt").exists());
}

#[test]
fn arguments_environment_directory_and_stdin_reach_the_program() {
    if !kernel_supports(
        "arguments_environment_directory_and_stdin_reach_the_program",
        Mode::Full,
    ) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    // SAFETY-free way to set a variable for this process only: the child inherits it, the
    // command overrides one and removes another.
    let mut command = Command::new("sh");
    command
        .args([
            "-c",
            "printf '%s|%s|%s|%s|' \"$0\" \"$1\" \"$PADDOCK_T_SET\" \"${HOME-unset}\"; pwd; cat",
        ])
        .args(["zero", "one two"])
        .env("PADDOCK_T_SET", "v=1")
        .env_remove("HOME")
        .current_dir(&tree.work);
    let output = spawned_output(&mut command, &prepared, Some(b"from stdin\n"));
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!(
            "zero|one two|v=1|unset|{}\nfrom stdin\n",
            tree.work.display()
        )
    );
}

#[test]
fn exit_codes_signals_and_signal_state_pass_through() {
    if !kernel_supports(
        "exit_codes_signals_and_signal_state_pass_through",
        Mode::Full,
    ) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    assert_eq!(
        sh(Some(&prepared), &tree.work, "exit 42").status.code(),
        Some(42)
    );
    let killed = sh(Some(&prepared), &tree.work, "kill -TERM $$");
    assert_eq!(killed.status.signal(), Some(libc::SIGTERM));
    // The program starts with no signal blocked and none ignored that a forked Command child
    // does not ignore (the Rust runtime ignores SIGPIPE; children get it back). A plain
    // Command may differ: glibc's posix_spawn ignores its two internal signals in the child.
    let status = "grep -E '^Sig(Blk|Ign)' /proc/self/status";
    let spawned = sh(Some(&prepared), &tree.work, status);
    let forked = super::sh_forked(&prepared, &tree.work, status);
    assert!(spawned.status.success(), "{}", describe(&spawned));
    assert_eq!(
        String::from_utf8_lossy(&spawned.stdout),
        String::from_utf8_lossy(&forked.stdout)
    );
    assert!(
        String::from_utf8_lossy(&spawned.stdout).contains("SigBlk:\t0000000000000000"),
        "{}",
        describe(&spawned)
    );
    // A writer to a closed pipe dies of SIGPIPE instead of seeing EPIPE.
    let pipe = sh(Some(&prepared), &tree.work, "yes | head -n 1 >/dev/null");
    assert!(
        pipe.status.success() && pipe.stderr.is_empty(),
        "{}",
        describe(&pipe)
    );
}

#[test]
fn failures_before_exec_are_errors_and_nothing_runs() {
    if !kernel_supports(
        "failures_before_exec_are_errors_and_nothing_runs",
        Mode::Full,
    ) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    let missing = Command::new("/nonexistent/program")
        .spawn_confined(&prepared, ChildStdio::default())
        .expect_err("no such program");
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    let not_in_path = Command::new("paddock-no-such-program")
        .spawn_confined(&prepared, ChildStdio::default())
        .expect_err("not in PATH");
    assert_eq!(not_in_path.kind(), std::io::ErrorKind::NotFound);

    // A read-only bind that is gone by the time the child mounts it fails the mount: the
    // program must not run, unconfined or otherwise.
    let marker = tree.work.join("ran");
    std::fs::remove_file(&tree.config).expect("remove a bound file");
    let (err_read, err_write) = std::io::pipe().expect("pipe");
    let error = Command::new("sh")
        .args(["-c", "touch ran"])
        .current_dir(&tree.work)
        .spawn_confined(
            &prepared,
            ChildStdio {
                stderr: Some(err_write.into()),
                ..ChildStdio::default()
            },
        )
        .expect_err("the bind cannot be made");
    assert_eq!(error.raw_os_error(), Some(libc::ENOENT), "{error}");
    let mut message = String::new();
    std::io::Read::read_to_string(&mut { err_read }, &mut message).expect("read stderr");
    assert!(
        message.contains("paddock-sandbox: bind-mounting a read-only path failed"),
        "{message}"
    );
    assert!(!marker.exists());
}

#[test]
fn unconfined_mode_spawns_too() {
    let tree = Tree::new();
    let prepared =
        Prepared::new(&tree.spec(), Mode::None, &[Mode::None]).expect("prepare mode none");
    let output = spawned_output(
        Command::new("sh").args(["-c", "echo $((6 * 7))"]),
        &prepared,
        None,
    );
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(output.stdout, b"42\n");
}
