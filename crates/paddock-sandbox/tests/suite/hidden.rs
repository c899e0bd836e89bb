//! Hidden trees (other sessions' worktrees): no read, no list, no write; their siblings stay
//! readable.

use paddock_sandbox::{Mode, Prepared};

use super::{Tree, kernel_supports, sh, sh_fails, sh_ok, snapshot};

#[test]
fn hidden_tree_cannot_be_read_listed_or_written_while_siblings_can() {
    if !kernel_supports(
        "hidden_tree_cannot_be_read_listed_or_written_while_siblings_can",
        Mode::Full,
    ) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    let other = tree.other.to_str().expect("utf-8 temp path");
    let before = snapshot(&tree.other);

    // The same commands work unconfined, so a failure below is the sandbox's doing.
    let reads = [
        format!("cat {other}/secret.txt"),
        format!("cat {other}/dir/inner.txt"),
        format!("ls {other}"),
        format!("ls {other}/dir"),
        format!("find {other} -type f"),
        format!("python3 -c \"print(open('{other}/secret.txt').read())\""),
        format!("perl -e 'open(my $f, \"<\", \"{other}/secret.txt\") or die $!; print <$f>'"),
        format!("cp {other}/secret.txt stolen.txt"),
        format!("tar -cf stolen.tar -C {other} ."),
    ];
    let baseline_dir = tempfile::tempdir().expect("temp dir");
    for script in &reads {
        let unconfined = sh(None, baseline_dir.path(), script);
        assert!(
            unconfined.status.success(),
            "`{script}` unconfined: {unconfined:?}"
        );
        let confined = sh_fails(&prepared, &tree.work, script);
        assert!(
            !String::from_utf8_lossy(&confined.stdout).contains("secret"),
            "`{script}` leaked the secret"
        );
    }
    for script in [
        format!("echo x > {other}/new.txt"),
        format!("echo x >> {other}/secret.txt"),
        format!("rm -rf {other}/dir"),
        format!("mv {other}/secret.txt ."),
        format!("mkdir {other}/newdir"),
    ] {
        sh_fails(&prepared, &tree.work, &script);
    }
    assert_eq!(snapshot(&tree.other), before);
    for (path, entry) in snapshot(&tree.work) {
        if let super::Entry::File(bytes) = entry {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("secret") && !text.contains("inner"),
                "{path:?} holds a copy"
            );
        }
    }

    // Siblings of the hidden tree, and the rest of the system, stay readable and executable.
    let sibling = tree.sibling.to_str().expect("utf-8 temp path");
    let outside = tree.outside.to_str().expect("utf-8 temp path");
    let output = sh_ok(
        &prepared,
        &tree.work,
        &format!(
            "cat {sibling}/note.txt && ls {sibling} && cat {outside}/sub/deep.txt && ls {outside}/sub \
             && ls /usr/bin >/dev/null && cat /etc/passwd >/dev/null && cat src.txt"
        ),
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "note\nnote.txt\ndeep\ndeep.txt\nsource\n"
    );
}

#[test]
fn hidden_path_created_after_preparing_stays_hidden() {
    if !kernel_supports(
        "hidden_path_created_after_preparing_stays_hidden",
        Mode::Full,
    ) {
        return;
    }
    let tree = Tree::new();
    let later = tree.root.join("later/worktree");
    let mut spec = tree.spec();
    spec.hidden.push(later.clone());
    let prepared = Prepared::new(&spec, Mode::Full, &[Mode::Full]).expect("prepare");
    std::fs::create_dir_all(&later).expect("create later");
    std::fs::write(later.join("secret.txt"), "late secret\n").expect("write");
    sh_fails(
        &prepared,
        &tree.work,
        &format!("cat {}/secret.txt", later.display()),
    );
    sh_fails(&prepared, &tree.work, &format!("ls {}", later.display()));
}

#[test]
fn symlink_into_hidden_tree_does_not_expose_it() {
    if !kernel_supports("symlink_into_hidden_tree_does_not_expose_it", Mode::Full) {
        return;
    }
    let tree = Tree::new();
    let link = tree.sibling.join("link-to-secret");
    let dir_link = tree.root.join("link-to-other");
    std::os::unix::fs::symlink(tree.other.join("secret.txt"), &link).expect("symlink");
    std::os::unix::fs::symlink(&tree.other, &dir_link).expect("symlink");
    let prepared = tree.prepared(Mode::Full);
    sh_fails(&prepared, &tree.work, &format!("cat {}", link.display()));
    sh_fails(
        &prepared,
        &tree.work,
        &format!("cat {}/secret.txt", dir_link.display()),
    );
    sh_fails(
        &prepared,
        &tree.work,
        &format!("ls {}/", dir_link.display()),
    );
}

#[test]
fn hidden_worktree_via_its_own_symlinked_path_is_hidden_too() {
    if !kernel_supports(
        "hidden_worktree_via_its_own_symlinked_path_is_hidden_too",
        Mode::Full,
    ) {
        return;
    }
    // The spec names the hidden tree through a symlink; the real tree is what gets hidden.
    let tree = Tree::new();
    let alias = tree.root.join("alias");
    std::os::unix::fs::symlink(&tree.other, &alias).expect("symlink");
    let mut spec = tree.spec();
    spec.hidden = vec![alias];
    let prepared = Prepared::new(&spec, Mode::Full, &[Mode::Full]).expect("prepare");
    sh_fails(
        &prepared,
        &tree.work,
        &format!("cat {}/secret.txt", tree.other.display()),
    );
}
