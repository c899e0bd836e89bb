//! A confined process that confines a child again only narrows what it may do.

use std::process::Command;

use paddock_sandbox::{CommandExt as _, Mode};

use super::{Tree, confine_example, describe, kernel_supports};

#[test]
fn nested_sandbox_cannot_widen_the_outer_one() {
    if !kernel_supports("nested_sandbox_cannot_widen_the_outer_one", Mode::Full) {
        return;
    }
    let tree = Tree::new();
    let outer = tree.prepared(Mode::Full);
    let example = confine_example();
    let keep = tree.outside.join("keep.txt");
    // The inner sandbox grants `outside` and lifts the hiding of `other`; the outer one does not.
    let output = Command::new(&example)
        .args(["--print-mode", "--write"])
        .arg(&tree.outside)
        .arg("--write")
        .arg(&tree.work)
        .args(["--allow", "full", "--allow", "landlock", "--", "sh", "-c"])
        .arg(format!(
            "echo widened > {keep}; cat {other}/secret.txt; echo inner > {work}/inner.txt",
            keep = keep.display(),
            other = tree.other.display(),
            work = tree.work.display()
        ))
        .current_dir(&tree.work)
        .confine(&outer)
        .output()
        .expect("spawn the example");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}", describe(&output));
    // Inside a Landlock domain mounts are refused, so the inner sandbox degrades explicitly.
    assert!(
        stderr.contains("confine: mode landlock (requested full)"),
        "{stderr}"
    );
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("secret"));
    assert_eq!(std::fs::read(&keep).expect("keep.txt"), b"keep me\n");
    // What both sandboxes allow still works.
    assert_eq!(
        std::fs::read(tree.work.join("inner.txt")).expect("inner.txt"),
        b"inner\n"
    );
    // The outer read-only binds are inherited.
    let pointer_write = Command::new(&example)
        .args(["--write"])
        .arg(&tree.work)
        .args(["--", "sh", "-c", "echo evil > .git"])
        .current_dir(&tree.work)
        .confine(&outer)
        .output()
        .expect("spawn the example");
    assert!(
        !pointer_write.status.success(),
        "{}",
        describe(&pointer_write)
    );
    assert_eq!(
        std::fs::read(&tree.pointer).expect("pointer"),
        b"gitdir: /elsewhere/worktrees/s1\n"
    );
}

#[test]
fn nested_sandbox_refuses_when_only_full_is_allowed() {
    if !kernel_supports(
        "nested_sandbox_refuses_when_only_full_is_allowed",
        Mode::Full,
    ) {
        return;
    }
    let tree = Tree::new();
    let outer = tree.prepared(Mode::Full);
    let output = Command::new(confine_example())
        .args(["--allow", "full", "--", "sh", "-c", "echo ran"])
        .current_dir(&tree.work)
        .confine(&outer)
        .output()
        .expect("spawn the example");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{}", describe(&output));
    assert!(stderr.contains("does not allow `landlock`"), "{stderr}");
    assert!(stderr.contains("already Landlock-confined"), "{stderr}");
    assert!(output.stdout.is_empty(), "the command must not run");
}
