//! A spec that cannot be enforced as written is an error, in every mode.

use std::path::PathBuf;

use paddock_sandbox::prepare::{Error, PathRole};
use paddock_sandbox::{Mode, Prepared, Spec};

use super::Tree;

fn prepare(spec: &Spec) -> Result<Prepared, Error> {
    // Mode None skips the kernel entirely: the checks must not depend on it.
    Prepared::new(spec, Mode::None, &[Mode::None])
}

#[test]
fn relative_paths_are_refused() {
    let mut spec = Spec::new();
    spec.writable.push(PathBuf::from("relative/dir"));
    let error = prepare(&spec).expect_err("relative");
    assert!(
        matches!(
            error,
            Error::RelativePath {
                role: PathRole::Writable,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn missing_writable_and_bind_paths_are_refused() {
    let tree = Tree::new();
    let mut spec = tree.spec();
    spec.writable.push(tree.root.join("missing"));
    let error = prepare(&spec).expect_err("missing writable");
    assert!(
        matches!(
            error,
            Error::Path {
                role: PathRole::Writable,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("must exist"), "{error}");

    let mut spec = tree.spec();
    spec.read_only_binds.push(tree.work.join("missing-hooks"));
    let error = prepare(&spec).expect_err("missing bind");
    assert!(
        matches!(
            error,
            Error::Path {
                role: PathRole::ReadOnlyBind,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn hidden_paths_overlapping_grants_are_refused() {
    let tree = Tree::new();
    // Hidden inside writable: Landlock cannot carve it out.
    let mut spec = tree.spec();
    spec.hidden.push(tree.work.join("hooks"));
    let error = prepare(&spec).expect_err("hidden inside writable");
    assert!(
        matches!(
            error,
            Error::HiddenOverlap {
                role: PathRole::Writable,
                ..
            }
        ),
        "{error:?}"
    );

    // Writable inside hidden.
    let mut spec = tree.spec();
    spec.writable.push(tree.other.join("dir"));
    let error = prepare(&spec).expect_err("writable inside hidden");
    assert!(
        matches!(
            error,
            Error::HiddenOverlap {
                role: PathRole::Writable,
                ..
            }
        ),
        "{error:?}"
    );

    // A readable root inside a hidden tree.
    let mut spec = tree.spec();
    spec.readable.push(tree.other.join("dir"));
    let error = prepare(&spec).expect_err("readable inside hidden");
    assert!(
        matches!(
            error,
            Error::HiddenOverlap {
                role: PathRole::Readable,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn missing_devices_are_skipped() {
    let tree = Tree::new();
    let mut spec = tree.spec();
    spec.devices
        .push(PathBuf::from("/dev/paddock-no-such-device"));
    prepare(&spec).expect("a missing device is skipped");
}
