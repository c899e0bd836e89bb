//! Read-only binds inside a writable tree: no write, replace, rename, delete or unmount.

use paddock_sandbox::Mode;

use super::{Tree, kernel_supports, sh_fails, sh_ok, snapshot};

#[test]
fn read_only_bind_file_cannot_be_written_replaced_renamed_or_deleted() {
    if !kernel_supports(
        "read_only_bind_file_cannot_be_written_replaced_renamed_or_deleted",
        Mode::Full,
    ) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    let scripts = [
        "echo 'gitdir: /tmp/evil' > .git",
        "echo more >> .git",
        "truncate -s 0 .git",
        "python3 -c \"open('.git', 'w').write('gitdir: /tmp/evil')\"",
        "perl -e 'open(my $f, \">\", \".git\") or die $!; print $f \"x\"'",
        "dd if=/dev/zero of=.git bs=1 count=4 conv=notrunc status=none",
        "rm -f .git",
        "python3 -c \"import os; os.unlink('.git')\"",
        "echo 'gitdir: /tmp/evil' > evil && mv -f evil .git",
        "python3 -c \"import os; open('evil2', 'w').write('x'); os.replace('evil2', '.git')\"",
        "mv .git moved-pointer",
        "cp -f src.txt .git",
        "ln -f src.txt .git",
        "ln -sf src.txt .git",
        "chmod 000 .git",
        "echo '[core] hooksPath = /tmp' > config",
        "rm -f config",
    ];
    let before = std::fs::read(&tree.pointer).expect("pointer file");
    let config_before = std::fs::read(&tree.config).expect("config");
    for script in scripts {
        sh_fails(&prepared, &tree.work, script);
        assert_eq!(
            std::fs::read(&tree.pointer).expect("pointer file"),
            before,
            "`{script}`"
        );
        assert_eq!(
            std::fs::read(&tree.config).expect("config"),
            config_before,
            "`{script}`"
        );
    }
    // The rest of the writable tree stays writable.
    sh_ok(&prepared, &tree.work, "echo fine > ok.txt");
}

#[test]
fn read_only_bind_dir_cannot_gain_lose_or_change_entries() {
    if !kernel_supports(
        "read_only_bind_dir_cannot_gain_lose_or_change_entries",
        Mode::Full,
    ) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    let before = snapshot(&tree.hooks);
    let scripts = [
        "echo evil > hooks/post-checkout",
        "echo 'exit 1' > hooks/pre-commit",
        "rm -f hooks/pre-commit",
        "mv hooks/pre-commit hooks/disabled",
        "mv hooks/pre-commit pre-commit-stolen",
        "mkdir hooks/sub",
        "rm -rf hooks",
        "mv hooks hooks-moved",
        "ln -s /tmp hooks/link",
        "chmod -x hooks/pre-commit",
        "cp src.txt hooks/pre-commit",
    ];
    for script in scripts {
        sh_fails(&prepared, &tree.work, script);
        assert_eq!(snapshot(&tree.hooks), before, "`{script}` changed hooks/");
    }
}

#[test]
fn read_only_bind_cannot_be_unmounted() {
    if !kernel_supports("read_only_bind_cannot_be_unmounted", Mode::Full) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    let before = std::fs::read(&tree.pointer).expect("pointer file");
    // Each attempt to unmount is followed by a write, so the script fails if either step is
    // refused; the file's bytes show the write never happened.
    for script in [
        "umount .git; echo evil > .git",
        "umount -l .git; echo evil > .git",
        "umount hooks; echo evil > hooks/pre-commit",
        "python3 -c \"import ctypes; libc = ctypes.CDLL(None, use_errno=True); \
         assert libc.umount2(b'.git', 2) == 0, ctypes.get_errno()\"",
    ] {
        sh_fails(&prepared, &tree.work, script);
        assert_eq!(
            std::fs::read(&tree.pointer).expect("pointer file"),
            before,
            "`{script}`"
        );
    }
    let hook = std::fs::read_to_string(tree.hooks.join("pre-commit")).expect("hook");
    assert_eq!(hook, "#!/bin/sh\nexit 0\n");
}

#[test]
fn working_dir_inside_a_bind_sees_the_bind() {
    if !kernel_supports("working_dir_inside_a_bind_sees_the_bind", Mode::Full) {
        return;
    }
    // The child's working directory is set before the binds exist; without re-entering it, a
    // relative path would reach the writable directory under the bind.
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    let before = snapshot(&tree.hooks);
    sh_fails(&prepared, &tree.hooks, "echo evil > post-checkout");
    sh_fails(&prepared, &tree.hooks, "echo evil > pre-commit");
    assert_eq!(snapshot(&tree.hooks), before);
}

#[test]
fn landlock_only_mode_names_the_binds_it_cannot_protect() {
    if !kernel_supports(
        "landlock_only_mode_names_the_binds_it_cannot_protect",
        Mode::Full,
    ) {
        return;
    }
    let tree = Tree::new();
    let mut spec = tree.spec();
    // Outside the writable tree: Landlock alone keeps it read-only.
    let protected_anyway = tree.outside.join("keep.txt");
    spec.read_only_binds.push(protected_anyway.clone());
    let prepared = paddock_sandbox::Prepared::new(&spec, Mode::LandlockOnly, &[Mode::LandlockOnly])
        .expect("prepare");
    assert_eq!(prepared.mode(), Mode::LandlockOnly);
    assert_eq!(
        prepared.unenforced_read_only_binds(),
        [
            tree.pointer.clone(),
            tree.config.clone(),
            tree.hooks.clone()
        ]
    );
    sh_fails(
        &prepared,
        &tree.work,
        &format!("echo evil > {}", protected_anyway.display()),
    );
    assert_eq!(
        std::fs::read(&protected_anyway).expect("keep.txt"),
        b"keep me\n"
    );

    let full = tree.prepared(Mode::Full);
    assert!(full.unenforced_read_only_binds().is_empty());
}
