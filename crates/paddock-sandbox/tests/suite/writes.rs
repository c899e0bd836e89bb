//! Writes inside writable trees work; writes anywhere else fail and change nothing.

use paddock_sandbox::{Mode, Prepared, Spec};

use super::{Tree, kernel_supports, sh, sh_fails, sh_ok, snapshot};

#[test]
fn writes_inside_writable_dirs_succeed() {
    if !kernel_supports("writes_inside_writable_dirs_succeed", Mode::Full) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    let scripts = [
        "echo shell > sh.txt",
        "python3 -c \"open('py.txt', 'w').write('python')\"",
        "perl -e 'open(my $f, \">\", \"pl.txt\") or die $!; print $f \"perl\"'",
        "cp src.txt cp.txt",
        "cp src.txt mv-source.txt && mv mv-source.txt mv.txt",
        "dd if=/dev/zero of=dd.bin bs=1 count=4 status=none",
        "ln -s src.txt symlink && ln src.txt hardlink",
        "truncate -s 10 truncated.txt",
        "touch touched",
        "mkdir -p a/b/c && echo deep > a/b/c/f && mv a/b/c/f a/moved && rm -r a/b",
        "echo tmp > new.tmp && rm new.tmp",
    ];
    for script in scripts {
        sh_ok(&prepared, &tree.work, script);
    }
    let read = |name: &str| std::fs::read(tree.work.join(name)).expect(name);
    assert_eq!(read("sh.txt"), b"shell\n");
    assert_eq!(read("py.txt"), b"python");
    assert_eq!(read("pl.txt"), b"perl");
    assert_eq!(read("cp.txt"), b"source\n");
    assert_eq!(read("mv.txt"), b"source\n");
    assert_eq!(read("dd.bin"), [0u8; 4]);
    assert_eq!(read("symlink"), b"source\n");
    assert_eq!(read("hardlink"), b"source\n");
    assert_eq!(read("truncated.txt"), [0u8; 10]);
    assert_eq!(read("touched"), b"");
    assert_eq!(read("a/moved"), b"deep\n");
    assert!(!tree.work.join("new.tmp").exists());
}

#[test]
fn writes_outside_fail_and_leave_files_byte_identical() {
    if !kernel_supports(
        "writes_outside_fail_and_leave_files_byte_identical",
        Mode::Full,
    ) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    // Only the trees outside `work`: `mv` falls back to copy + unlink when the kernel refuses a
    // rename, so a refused move out of `outside` may leave a copy in `work`.
    let outside_trees = || {
        (
            snapshot(&tree.outside),
            snapshot(&tree.other),
            snapshot(&tree.sibling),
        )
    };
    let before = outside_trees();
    let keep = tree.outside.join("keep.txt");
    let keep = keep.to_str().expect("utf-8 temp path");
    let outside = tree.outside.to_str().expect("utf-8 temp path");
    let scripts = [
        format!("echo overwrite > {keep}"),
        format!("echo append >> {keep}"),
        format!("python3 -c \"open('{keep}', 'w').write('python')\""),
        format!("python3 -c \"import os; os.remove('{keep}')\""),
        format!("perl -e 'open(my $f, \">\", \"{keep}\") or die $!; print $f \"perl\"'"),
        format!("perl -e 'unlink(\"{keep}\") or die $!'"),
        format!("cp src.txt {keep}"),
        format!("cp src.txt {outside}/new.txt"),
        format!("mv src.txt {outside}/moved.txt"),
        format!("mv {keep} {outside}/renamed.txt"),
        format!("mv {keep} ./stolen.txt"),
        format!("dd if=/dev/zero of={keep} bs=1 count=4 conv=notrunc status=none"),
        format!("ln -s /etc/passwd {outside}/link"),
        format!("ln src.txt {outside}/hardlink"),
        format!("ln -sf src.txt {keep}"),
        format!("truncate -s 0 {keep}"),
        format!("touch {outside}/touched"),
        format!("rm -f {keep}"),
        format!("rm -rf {outside}/sub"),
        format!("mkdir {outside}/newdir"),
        format!("mkfifo {outside}/fifo"),
    ];
    for script in &scripts {
        sh_fails(&prepared, &tree.work, script);
        assert_eq!(
            outside_trees(),
            before,
            "`{script}` changed a tree outside `work`"
        );
    }
}

#[test]
fn tmp_writes_work_when_granted() {
    if !kernel_supports("tmp_writes_work_when_granted", Mode::Full) {
        return;
    }
    let name = format!("paddock-sandbox-test-{}", std::process::id());
    let target = std::env::temp_dir().join(&name);
    let script = format!("echo tmp > {}", target.display());
    let cwd = std::env::temp_dir();

    // Not granted: refused.
    let denied = Prepared::new(&Spec::new(), Mode::Full, &[Mode::Full]).expect("prepare");
    sh_fails(&denied, &cwd, &script);
    assert!(!target.exists());

    let mut spec = Spec::new();
    spec.writable.push(std::env::temp_dir());
    let granted = Prepared::new(&spec, Mode::Full, &[Mode::Full]).expect("prepare");
    sh_ok(&granted, &cwd, &script);
    assert_eq!(std::fs::read(&target).expect("written"), b"tmp\n");
    std::fs::remove_file(&target).expect("clean up");
}

#[test]
fn exit_codes_and_signals_pass_through() {
    if !kernel_supports("exit_codes_and_signals_pass_through", Mode::Full) {
        return;
    }
    use std::os::unix::process::ExitStatusExt as _;
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    assert_eq!(
        sh(Some(&prepared), &tree.work, "exit 42").status.code(),
        Some(42)
    );
    assert_eq!(
        sh(Some(&prepared), &tree.work, "true").status.code(),
        Some(0)
    );
    let killed = sh(Some(&prepared), &tree.work, "kill -9 $$");
    assert_eq!(killed.status.signal(), Some(9));
}

#[test]
fn device_files_ordinary_programs_need_work() {
    if !kernel_supports("device_files_ordinary_programs_need_work", Mode::Full) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    let output = sh_ok(
        &prepared,
        &tree.work,
        "echo gone > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c \
         && echo pipe | cat",
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "4\n4\npipe\n");
    // A pseudo-terminal: /dev/ptmx, /dev/pts/N and terminal ioctls (unlockpt, isatty).
    let pty = "python3 -c \"import os; m, s = os.openpty(); os.write(s, b'pty'); \
               print(os.read(m, 3).decode(), os.isatty(s))\"";
    let output = sh_ok(&prepared, &tree.work, pty);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "pty True\n");
    // Creating device nodes or files in /dev is not granted.
    sh_fails(&prepared, &tree.work, "echo x > /dev/paddock-test-file");
    assert!(!std::path::Path::new("/dev/paddock-test-file").exists());
}
