//! Errors of [`Prepared::new`](crate::Prepared::new).

use std::fmt;
use std::path::PathBuf;

use crate::Mode;

/// Which field of the [`Spec`](crate::Spec) a path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRole {
    /// [`Spec::readable`](crate::Spec::readable).
    Readable,
    /// [`Spec::hidden`](crate::Spec::hidden).
    Hidden,
    /// [`Spec::writable`](crate::Spec::writable).
    Writable,
    /// [`Spec::read_only_binds`](crate::Spec::read_only_binds).
    ReadOnlyBind,
    /// [`Spec::devices`](crate::Spec::devices).
    Device,
}

impl fmt::Display for PathRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathRole::Readable => "readable",
            PathRole::Hidden => "hidden",
            PathRole::Writable => "writable",
            PathRole::ReadOnlyBind => "read-only bind",
            PathRole::Device => "device",
        })
    }
}

/// Why a sandbox could not be prepared. Nothing has been confined when this is returned; the
/// caller must not run the command unconfined instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The strongest mode the kernel offers (capped at the requested one) is not allowed.
    #[error(
        "sandbox mode `{requested}` was requested, this kernel offers at most `{available}`, \
         and the policy does not allow `{effective}` (allowed: {allowed}){reasons}; run on a \
         kernel with Landlock ABI >= 3, unprivileged user namespaces and seccomp, or allow the \
         degraded mode in the policy",
        allowed = list(.allowed),
        reasons = if .reasons.is_empty() { String::new() } else { format!(": {}", .reasons.join("; ")) }
    )]
    Refused {
        /// The mode asked for.
        requested: Mode,
        /// The strongest mode the kernel offers.
        available: Mode,
        /// `min(requested, available)`: the mode that would have run.
        effective: Mode,
        /// The modes the caller allowed.
        allowed: Vec<Mode>,
        /// Why layers are missing, from [`Capabilities::notes`](crate::Capabilities::notes).
        reasons: Vec<String>,
    },
    /// A path in the spec is relative.
    #[error("{role} path `{path}` is relative; sandbox paths must be absolute")]
    RelativePath {
        /// Which field it came from.
        role: PathRole,
        /// The path as given.
        path: PathBuf,
    },
    /// A path in the spec cannot be resolved or opened.
    #[error(
        "cannot resolve or open {role} path `{path}`: {source}; it must exist before the sandbox is prepared"
    )]
    Path {
        /// Which field it came from.
        role: PathRole,
        /// The path.
        path: PathBuf,
        /// What the kernel said.
        source: std::io::Error,
    },
    /// A directory on the ancestor chain of a hidden path cannot be listed, so its other entries
    /// cannot be granted one by one.
    #[error("cannot list `{dir}` to hide what lies below it: {source}")]
    ListDir {
        /// The directory.
        dir: PathBuf,
        /// What the kernel said.
        source: std::io::Error,
    },
    /// A hidden path is inside, equal to or contains a granted one; Landlock can only grant, so
    /// the hidden tree could not be hidden.
    #[error(
        "hidden path `{hidden}` overlaps {role} path `{granted}`; Landlock cannot hide part of a \
         granted tree: remove one of them from the spec"
    )]
    HiddenOverlap {
        /// The hidden path.
        hidden: PathBuf,
        /// The field of the overlapping grant.
        role: PathRole,
        /// The overlapping grant.
        granted: PathBuf,
    },
    /// Building the Landlock ruleset failed.
    #[cfg(target_os = "linux")]
    #[error("building the Landlock ruleset failed: {0}")]
    Landlock(#[from] landlock::RulesetError),
    /// The kernel handed back no Landlock ruleset although the probe found Landlock: the
    /// confinement would not be enforced.
    #[error(
        "Landlock would not be enforced: the kernel created no ruleset although the probe \
         reported Landlock; check that Landlock is enabled (`lsm=` on the kernel command line)"
    )]
    NotEnforced,
    /// Reading the flags of a read-only bind's mount failed.
    #[error("cannot read the mount flags of read-only bind `{path}`: {source}")]
    MountFlags {
        /// The path.
        path: PathBuf,
        /// What the kernel said.
        source: std::io::Error,
    },
    /// A path contains a NUL byte and cannot be passed to the kernel.
    #[error("path `{path}` contains a NUL byte")]
    NulInPath {
        /// The path.
        path: PathBuf,
    },
    /// Kernel confinement is only implemented on Linux.
    #[error("kernel confinement is only implemented on Linux, not on {os}; allow mode `none`")]
    Unsupported {
        /// `std::env::consts::OS`.
        os: &'static str,
    },
}

fn list(modes: &[Mode]) -> String {
    if modes.is_empty() {
        return "none of them".to_owned();
    }
    modes
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
