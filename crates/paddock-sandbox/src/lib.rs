//! paddock's kernel confinement: every process a session starts runs inside a Landlock domain, a
//! private user + mount namespace with read-only bind mounts, and a seccomp filter.
//!
//! The caller describes what a session may touch in a [`Spec`], asks for a [`Mode`] and says which
//! modes its policy allows. [`Prepared::new`] probes the kernel ([`probe`]), picks the strongest
//! achievable mode no stronger than the requested one, refuses with a typed error when that mode
//! is not allowed, and builds the Landlock ruleset once, in the parent. [`CommandExt::confine`]
//! then applies it to a [`std::process::Command`] in the child, between `fork` and `exec`.
//!
//! ```
//! use std::process::Command;
//! use paddock_sandbox::{CommandExt as _, Mode, Prepared, Spec};
//!
//! let scratch = tempfile::tempdir().expect("temp dir");
//! let mut spec = Spec::new();
//! spec.writable.push(scratch.path().to_path_buf());
//!
//! // A real caller passes the modes its policy allows; a kernel without Landlock would make
//! // this example run unconfined, and say so in `prepared.mode()`.
//! let allowed = [Mode::Full, Mode::LandlockOnly, Mode::None];
//! let prepared = Prepared::new(&spec, Mode::Full, &allowed).expect("sandbox");
//! let status = Command::new("sh")
//!     .arg("-c")
//!     .arg("echo hi > out.txt")
//!     .current_dir(scratch.path())
//!     .confine(&prepared)
//!     .status()
//!     .expect("spawn");
//! assert!(status.success());
//! println!("ran in mode {}", prepared.mode());
//! ```
//!
//! # What each mode means
//!
//! | mode | Landlock (ABI ≥ 3) | user + mount namespace, read-only binds | seccomp |
//! |---|---|---|---|
//! | [`Mode::Full`] | yes | yes | yes |
//! | [`Mode::LandlockOnly`] | yes | no: binds inside writable trees are *not* protected | when the kernel has it |
//! | [`Mode::None`] | no | no | no |
//!
//! Landlock ABI 1 and 2 count as "no Landlock": they cannot restrict `truncate(2)`, so a confined
//! process could empty any file it can read.
//!
//! # Nesting
//!
//! A confined process may confine its children again; the new domain only stacks on the old one,
//! so it can never widen what the outer sandbox allows. Landlock forbids a confined process to
//! change its mount topology (nor write its own `uid_map`), so a nested [`probe`] finds no usable
//! namespaces and a nested [`Prepared`] runs in [`Mode::LandlockOnly`]; the outer read-only binds
//! stay in force (they are inherited and cannot be unmounted). A policy that wants nested
//! `paddock-sh` must therefore allow `landlock`.
//!
//! # What the kernel layer does not stop
//!
//! - Metadata: Landlock does not control `chmod`, `chown`, `utimensat` or extended attributes,
//!   so a confined process can change the mode or times of a file it may only read (where the
//!   file's owner allows it). Paths under a read-only bind are protected ([`Mode::Full`] only).
//! - Directories on a hidden path's ancestor chain can be walked through but not listed, and an
//!   entry created in one of them after [`Prepared::new`] is not readable (new sessions'
//!   worktrees stay hidden; other new entries are hidden too until the next prepare).
//! - Network access and abstract unix sockets are not restricted. Signals are: a confined process
//!   can only signal processes of its own Landlock domain (ABI ≥ 6), and each confined spawn is a
//!   domain of its own.
//! - In [`Mode::Full`] only the caller's own uid and gid are mapped in the user namespace. Files
//!   owned by other users show as `nobody`, and a caller running as root loses its override of
//!   their permissions.
//! - `/proc` is readable, never writable.
//!
//! # Test hook
//!
//! [`probe`] reads `PADDOCK_SANDBOX_SIMULATE`, a comma-separated list of `no-landlock`,
//! `no-userns` and `no-seccomp`, and reports the named layers as missing. It exists so that the
//! degraded paths can be tested on a kernel that has everything. Hiding a layer can only lower the
//! mode; an unknown word makes the probe report nothing usable (fail closed) and name the word.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
// `pre_exec`, `fork` and raw syscalls are unsafe by nature; each block is small and says why it
// holds.
#![allow(unsafe_code)]

use std::fmt;
use std::path::PathBuf;

mod probe;
pub use probe::{Capabilities, SIMULATE_ENV, probe};

#[cfg(target_os = "linux")]
mod child;
#[cfg(target_os = "linux")]
mod rules;
#[cfg(target_os = "linux")]
mod seccomp;
#[cfg(target_os = "linux")]
mod spawn;

pub mod prepare;

#[cfg(target_os = "linux")]
mod prepared;
#[cfg(not(target_os = "linux"))]
#[path = "stub.rs"]
mod prepared;

#[cfg(not(target_os = "linux"))]
pub use prepared::{Child, ChildStdio};
pub use prepared::{CommandExt, Prepared};
#[cfg(target_os = "linux")]
pub use spawn::{Child, ChildStdio};

/// How strongly a child is confined, weakest first (so `Mode::Full > Mode::LandlockOnly`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// No kernel confinement at all.
    None,
    /// Landlock (ABI ≥ 3) and, when the kernel has it, the seccomp filter; no namespaces, so
    /// [`Spec::read_only_binds`] inside writable trees are not protected.
    LandlockOnly,
    /// Landlock (ABI ≥ 3), a private user + mount namespace with read-only binds, and seccomp.
    Full,
}

impl Mode {
    /// Every mode, weakest first.
    pub const ALL: [Mode; 3] = [Mode::None, Mode::LandlockOnly, Mode::Full];

    /// The lowercase name used by the policy and the ledger: `none`, `landlock` or `full`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::LandlockOnly => "landlock",
            Mode::Full => "full",
        }
    }

    /// Parses [`Mode::as_str`]'s names (and `landlock-only`).
    pub fn from_name(name: &str) -> Option<Mode> {
        match name {
            "none" => Some(Mode::None),
            "landlock" | "landlock-only" => Some(Mode::LandlockOnly),
            "full" => Some(Mode::Full),
            _ => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a confined process may touch. All paths must be absolute; symlinks are resolved when the
/// sandbox is prepared.
///
/// Landlock only grants: anything not granted here is denied, for reading as well as writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Trees the process may read, list and execute from. [`Spec::new`] puts `/` here.
    ///
    /// A readable tree that contains a [`hidden`](Spec::hidden) path is not granted as a whole:
    /// instead every entry along the hidden path's ancestor chain is granted, except the chain
    /// itself and the hidden path. The directories on the chain can therefore be walked through
    /// but not listed (`ls /` fails when something below `/` is hidden).
    pub readable: Vec<PathBuf>,
    /// Trees the process may neither read nor write: other sessions' worktrees. They need not
    /// exist. A hidden path may not overlap a writable path or a device.
    pub hidden: Vec<PathBuf>,
    /// Trees the process may read, write, create in, delete from and execute from: the scope
    /// directories inside the worktree, scratch dirs, `/tmp`, the session's own git state. Each
    /// must exist.
    pub writable: Vec<PathBuf>,
    /// Files and directories that must not change even though they lie inside a writable tree
    /// (the worktree's `.git` pointer file, the common dir's `config` and `hooks/`, paddock's
    /// state, the governance dir, the policy). In [`Mode::Full`] each is bind-mounted read-only
    /// onto itself, so it can be neither written nor replaced, renamed or deleted. Each must
    /// exist.
    pub read_only_binds: Vec<PathBuf>,
    /// Like [`Spec::read_only_binds`], for files another process may delete meanwhile (other
    /// sessions' branch refs, which their merge deletes): one already gone when the sandbox is
    /// prepared or set up is skipped instead of failing the command. Nothing is left there to
    /// protect; the process could only create a new file in its place.
    pub read_only_binds_if_present: Vec<PathBuf>,
    /// Device files (or directories of them) the process may open for reading and writing and
    /// send ioctls to, but not create or delete. Entries that do not exist are skipped.
    /// [`Spec::new`] fills in [`Spec::DEFAULT_DEVICES`].
    pub devices: Vec<PathBuf>,
}

impl Spec {
    /// The device files ordinary programs expect to write: `/dev/null`, `/dev/zero`,
    /// `/dev/full`, `/dev/random`, `/dev/urandom`, `/dev/tty`, `/dev/ptmx` and the terminals under
    /// `/dev/pts`. Pipes and sockets are not path-based and need no grant.
    pub const DEFAULT_DEVICES: [&'static str; 8] = [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
        "/dev/ptmx",
        "/dev/pts",
    ];

    /// A spec that may read everything (`/`), use [`Spec::DEFAULT_DEVICES`], and write nothing.
    pub fn new() -> Spec {
        Spec {
            readable: vec![PathBuf::from("/")],
            hidden: Vec::new(),
            writable: Vec::new(),
            read_only_binds: Vec::new(),
            read_only_binds_if_present: Vec::new(),
            devices: Spec::DEFAULT_DEVICES.iter().map(PathBuf::from).collect(),
        }
    }
}

impl Default for Spec {
    /// Same as [`Spec::new`].
    fn default() -> Spec {
        Spec::new()
    }
}
