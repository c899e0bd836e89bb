//! What runs in the child between `fork` (or `clone(CLONE_VM | CLONE_VFORK)`, see `spawn.rs`)
//! and `exec`.
//!
//! Everything here is computed in the parent ([`ChildPlan`] holds paths as `CString`s and the id
//! maps as bytes); the child only makes syscalls. No allocation, no locks, no panics: after a
//! `fork` in a multi-threaded parent, another thread may have held the allocator's lock, and a
//! child sharing the parent's memory must leave it as it found it.
//!
//! The order matters:
//!
//! 1. `unshare(CLONE_NEWUSER | CLONE_NEWNS)`, then `setgroups` = `deny`, `uid_map`, `gid_map`
//!    (the process keeps its uid and gid),
//! 2. `mount("/", MS_REC | MS_PRIVATE)` so nothing propagates back to the parent namespace,
//! 3. per read-only path: `mount(path, path, MS_BIND)` then
//!    `mount(path, MS_BIND | MS_REMOUNT | MS_RDONLY | <locked flags>)`,
//! 4. `chdir(getcwd())` so a working directory inside a bound directory sees the read-only bind,
//! 5. `prctl(PR_SET_NO_NEW_PRIVS)`, `landlock_restrict_self` (from here on the process cannot
//!    mount or unmount anything),
//! 6. the seccomp filter.
//!
//! Steps 1 to 4 only run in [`Mode::Full`](crate::Mode::Full).

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// Everything the child needs, computed in the parent.
#[derive(Debug)]
pub(crate) struct ChildPlan {
    pub(crate) namespaces: Option<NsPlan>,
    /// The Landlock ruleset; `O_CLOEXEC`, so it does not leak into the program.
    pub(crate) landlock: Option<OwnedFd>,
    pub(crate) seccomp: Option<Vec<libc::sock_filter>>,
}

/// The user + mount namespace with its read-only binds.
#[derive(Debug)]
pub(crate) struct NsPlan {
    pub(crate) uid_map: Vec<u8>,
    pub(crate) gid_map: Vec<u8>,
    pub(crate) binds: Vec<Bind>,
}

/// One path bind-mounted read-only onto itself.
#[derive(Debug)]
pub(crate) struct Bind {
    pub(crate) path: CString,
    /// `MS_BIND | MS_REMOUNT | MS_RDONLY` plus the flags the kernel locks in a mount namespace
    /// owned by a less privileged user namespace (`nosuid`, `nodev`, `noexec`): a remount that
    /// drops a locked flag fails with `EPERM`.
    pub(crate) remount_flags: libc::c_ulong,
    /// From [`Spec::read_only_binds_if_present`](crate::Spec::read_only_binds_if_present): if
    /// the path is gone by the time the child mounts it, it is skipped.
    pub(crate) optional: bool,
}

impl Bind {
    /// Reads the flags of the mount `path` lives on.
    pub(crate) fn new(path: CString) -> io::Result<Bind> {
        use nix::sys::statvfs::{FsFlags, statvfs};
        let flags = statvfs(path.as_c_str()).map_err(io::Error::from)?.flags();
        let mut remount_flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
        for (fs, ms) in [
            (FsFlags::ST_NOSUID, libc::MS_NOSUID),
            (FsFlags::ST_NODEV, libc::MS_NODEV),
            (FsFlags::ST_NOEXEC, libc::MS_NOEXEC),
        ] {
            if flags.contains(fs) {
                remount_flags |= ms;
            }
        }
        Ok(Bind {
            path,
            remount_flags,
            optional: false,
        })
    }
}

/// Which step failed, for the message the child prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Unshare,
    Setgroups,
    UidMap,
    GidMap,
    MakePrivate,
    Bind(usize),
    Remount(usize),
    Chdir,
    NoNewPrivs,
    LandlockRestrict,
    Seccomp,
}

impl Step {
    fn describe(self) -> &'static str {
        match self {
            Step::Unshare => "unshare(CLONE_NEWUSER | CLONE_NEWNS) failed",
            Step::Setgroups => "writing /proc/self/setgroups failed",
            Step::UidMap => "writing /proc/self/uid_map failed",
            Step::GidMap => "writing /proc/self/gid_map failed",
            Step::MakePrivate => "making mounts private (MS_REC | MS_PRIVATE) failed",
            Step::Bind(_) => "bind-mounting a read-only path failed: ",
            Step::Remount(_) => "remounting a bind read-only failed: ",
            Step::Chdir => "re-entering the working directory after the binds failed",
            Step::NoNewPrivs => "prctl(PR_SET_NO_NEW_PRIVS) failed",
            Step::LandlockRestrict => "landlock_restrict_self failed",
            Step::Seccomp => "installing the seccomp filter failed",
        }
    }
}

/// A failed step and its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) step: Step,
    pub(crate) errno: i32,
}

/// The calling thread's `errno`.
pub(crate) fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn check(rc: libc::c_int, step: Step) -> Result<(), Failure> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Failure {
            step,
            errno: errno(),
        })
    }
}

impl ChildPlan {
    /// Applies the plan to the calling process. Async-signal-safe.
    pub(crate) fn apply(&self) -> Result<(), Failure> {
        if let Some(ns) = &self.namespaces {
            ns.apply()?;
            rechdir()?;
        }
        // SAFETY: prctl with integer arguments only.
        let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        check(rc, Step::NoNewPrivs)?;
        if let Some(ruleset) = &self.landlock {
            // SAFETY: the ruleset fd is open (owned by the plan) and flags 0 is valid.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_landlock_restrict_self,
                    ruleset.as_raw_fd(),
                    0 as libc::c_uint,
                )
            };
            check(if rc == 0 { 0 } else { -1 }, Step::LandlockRestrict)?;
        }
        if let Some(prog) = &self.seccomp {
            crate::seccomp::install(prog).map_err(|errno| Failure {
                step: Step::Seccomp,
                errno,
            })?;
        }
        Ok(())
    }

    /// Writes `paddock-sandbox: <what failed>[<path>]: os error <n>` to the child's stderr, so a
    /// person sees which step failed; `spawn` itself only reports the errno. Async-signal-safe.
    pub(crate) fn report(&self, failure: Failure) {
        write_stderr(b"paddock-sandbox: ");
        write_stderr(failure.step.describe().as_bytes());
        if let (Step::Bind(i) | Step::Remount(i), Some(ns)) = (failure.step, &self.namespaces)
            && let Some(bind) = ns.binds.get(i)
        {
            write_stderr(bind.path.as_bytes());
        }
        write_stderr(b": os error ");
        let mut digits = [0u8; 12];
        write_stderr(format_decimal(failure.errno, &mut digits));
        write_stderr(b"\n");
    }
}

impl NsPlan {
    /// Steps 1 to 3. Async-signal-safe.
    pub(crate) fn apply(&self) -> Result<(), Failure> {
        // SAFETY: unshare takes only flags.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) };
        check(rc, Step::Unshare)?;
        // An unprivileged process must give up setgroups(2) before it may write its gid_map.
        write_proc(c"/proc/self/setgroups", b"deny", Step::Setgroups)?;
        write_proc(c"/proc/self/uid_map", &self.uid_map, Step::UidMap)?;
        write_proc(c"/proc/self/gid_map", &self.gid_map, Step::GidMap)?;
        // SAFETY: valid NUL-terminated strings; null source, type and data are allowed for a
        // propagation change.
        let rc = unsafe {
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            )
        };
        check(rc, Step::MakePrivate)?;
        for (index, bind) in self.binds.iter().enumerate() {
            let path = bind.path.as_ptr();
            // SAFETY: `path` is a valid NUL-terminated string owned by the plan.
            let bind_once = || unsafe {
                libc::mount(
                    path,
                    path,
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                )
            };
            let mut rc = bind_once();
            // A file another process replaces by rename meanwhile (git updates every ref so)
            // fails the mount with ENOENT although the path exists again at once: look it up
            // again. One that stays gone was deleted.
            let mut tries = 0;
            while rc != 0 && errno() == libc::ENOENT && tries < 16 {
                tries += 1;
                rc = bind_once();
            }
            if rc != 0 && bind.optional && errno() == libc::ENOENT {
                continue;
            }
            check(rc, Step::Bind(index))?;
            // SAFETY: as above; a remount needs no source or type.
            let rc = unsafe {
                libc::mount(
                    std::ptr::null(),
                    path,
                    std::ptr::null(),
                    bind.remount_flags,
                    std::ptr::null(),
                )
            };
            check(rc, Step::Remount(index))?;
        }
        Ok(())
    }
}

/// Step 4: the working directory still points into the mount it was on before the binds; walking
/// its path again lands on the binds.
fn rechdir() -> Result<(), Failure> {
    let mut buf = [0u8; libc::PATH_MAX as usize];
    // SAFETY: `buf` is writable for its whole length.
    let ptr = unsafe { libc::getcwd(buf.as_mut_ptr().cast(), buf.len()) };
    if ptr.is_null() {
        return Err(Failure {
            step: Step::Chdir,
            errno: errno(),
        });
    }
    // SAFETY: getcwd succeeded, so `buf` holds a NUL-terminated path.
    let rc = unsafe { libc::chdir(buf.as_ptr().cast()) };
    check(rc, Step::Chdir)
}

fn write_proc(path: &CStr, content: &[u8], step: Step) -> Result<(), Failure> {
    // SAFETY: `path` is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Failure {
            step,
            errno: errno(),
        });
    }
    // SAFETY: `content` is readable for its whole length; `fd` is open.
    let written = unsafe { libc::write(fd, content.as_ptr().cast(), content.len()) };
    let failure = (written != content.len() as isize).then(|| Failure {
        step,
        errno: errno(),
    });
    // SAFETY: `fd` is ours and closed exactly once.
    unsafe { libc::close(fd) };
    failure.map_or(Ok(()), Err)
}

fn write_stderr(bytes: &[u8]) {
    // SAFETY: `bytes` is readable for its whole length. A failed write has nowhere to be reported.
    let _ = unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
}

/// Formats `n` in decimal into `buf` without allocating.
fn format_decimal(n: i32, buf: &mut [u8; 12]) -> &[u8] {
    let negative = n < 0;
    let mut value = n.unsigned_abs();
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if negative {
        start -= 1;
        buf[start] = b'-';
    }
    &buf[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_decimal_without_allocating() {
        let mut buf = [0u8; 12];
        assert_eq!(format_decimal(0, &mut buf), b"0");
        assert_eq!(format_decimal(13, &mut buf), b"13");
        assert_eq!(format_decimal(-1, &mut buf), b"-1");
        assert_eq!(format_decimal(i32::MIN, &mut buf), b"-2147483648");
    }
}
