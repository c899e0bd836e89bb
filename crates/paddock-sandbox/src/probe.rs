//! What the running kernel offers.

use std::fmt;

use crate::Mode;

/// The environment variable the test hook reads; see the [crate docs](crate#test-hook).
pub const SIMULATE_ENV: &str = "PADDOCK_SANDBOX_SIMULATE";

/// What the running kernel offers, as found by [`probe`].
///
/// The fields are public so tests can describe a kernel they do not have; describing layers that
/// the kernel lacks cannot weaken anything, because [`Prepared`](crate::Prepared) fails when the
/// kernel refuses to build or enforce what it was told is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// The Landlock ABI version the kernel reports; `None` when Landlock is not built in or not
    /// enabled.
    pub landlock_abi: Option<u32>,
    /// An unprivileged process can create a user + mount namespace and map its own uid and gid.
    pub user_namespaces: bool,
    /// Inside such a namespace, mounts can be made private and a path bind-mounted read-only.
    pub mount_namespaces: bool,
    /// paddock's seccomp filter can be installed (the kernel has seccomp filters and this crate
    /// has a syscall table for the architecture).
    pub seccomp: bool,
    /// Why a layer is missing, and which layers the test hook hid.
    pub notes: Vec<String>,
}

impl Capabilities {
    /// The Landlock ABI below which Landlock counts as missing: ABI 3 added control over
    /// `truncate(2)`.
    pub const MIN_LANDLOCK_ABI: u32 = 3;

    /// Landlock is present at [`Capabilities::MIN_LANDLOCK_ABI`] or newer.
    pub fn landlock(&self) -> bool {
        self.landlock_abi
            .is_some_and(|abi| abi >= Self::MIN_LANDLOCK_ABI)
    }

    /// The strongest mode these capabilities allow.
    pub fn best_mode(&self) -> Mode {
        if !self.landlock() {
            Mode::None
        } else if self.user_namespaces && self.mount_namespaces && self.seccomp {
            Mode::Full
        } else {
            Mode::LandlockOnly
        }
    }

    /// Nothing usable, with `note` saying why.
    pub fn none(note: impl Into<String>) -> Capabilities {
        Capabilities {
            landlock_abi: None,
            user_namespaces: false,
            mount_namespaces: false,
            seccomp: false,
            notes: vec![note.into()],
        }
    }

    /// Applies the test hook's words (see [`SIMULATE_ENV`]).
    fn simulate(mut self, value: &str) -> Capabilities {
        for word in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "no-landlock" => self.landlock_abi = None,
                "no-userns" => {
                    self.user_namespaces = false;
                    self.mount_namespaces = false;
                }
                "no-seccomp" => self.seccomp = false,
                unknown => {
                    return Capabilities::none(format!(
                        "{SIMULATE_ENV} has the unknown word `{unknown}` (known: no-landlock, \
                         no-userns, no-seccomp); reporting nothing usable"
                    ));
                }
            }
            self.notes
                .push(format!("{word}: simulated by {SIMULATE_ENV}"));
        }
        self
    }
}

impl fmt::Display for Capabilities {
    /// The multi-line report `paddock doctor` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes = |b: bool| if b { "yes" } else { "no" };
        match self.landlock_abi {
            Some(abi) => writeln!(f, "landlock ABI:     {abi}")?,
            None => writeln!(f, "landlock ABI:     none")?,
        }
        writeln!(f, "user namespaces:  {}", yes(self.user_namespaces))?;
        writeln!(f, "mount namespaces: {}", yes(self.mount_namespaces))?;
        writeln!(f, "seccomp:          {}", yes(self.seccomp))?;
        write!(f, "best mode:        {}", self.best_mode())?;
        for note in &self.notes {
            write!(f, "\nnote: {note}")?;
        }
        Ok(())
    }
}

/// Finds out what the running kernel offers. Takes about a millisecond: the namespace and seccomp
/// checks run in a forked child, so the caller is never confined by probing. Reads the test hook
/// [`SIMULATE_ENV`].
///
/// [`Prepared::new`](crate::Prepared::new) probes once per process and caches the result; call
/// this directly for a fresh answer (`paddock doctor`).
pub fn probe() -> Capabilities {
    let found = imp::probe();
    match std::env::var(SIMULATE_ENV) {
        Ok(value) => found.simulate(&value),
        Err(std::env::VarError::NotPresent) => found,
        Err(std::env::VarError::NotUnicode(_)) => Capabilities::none(format!(
            "{SIMULATE_ENV} is not UTF-8; reporting nothing usable"
        )),
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::Capabilities;

    pub(super) fn probe() -> Capabilities {
        Capabilities::none(format!(
            "kernel confinement is only implemented on Linux, not on {}",
            std::env::consts::OS
        ))
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::ffi::CString;
    use std::io::Read as _;

    use nix::sys::wait::waitpid;
    use nix::unistd::{Pid, pipe2};

    use super::Capabilities;
    use crate::child::{Bind, NsPlan, errno};

    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;

    /// What the forked child found, as raw numbers so it can be written without allocating.
    struct Report {
        /// 0: installed; otherwise the errno (or `ENOSYS`: no table for this architecture).
        seccomp_errno: i32,
        /// 0: all namespace steps worked; otherwise `1 + index` of the failed step in
        /// [`STEPS`].
        ns_step: i32,
        ns_errno: i32,
    }

    const STEPS: [&str; 7] = [
        "unshare(CLONE_NEWUSER | CLONE_NEWNS)",
        "writing /proc/self/setgroups",
        "writing /proc/self/uid_map",
        "writing /proc/self/gid_map",
        "making mounts private",
        "bind-mounting a path",
        "remounting a bind read-only",
    ];

    fn landlock_abi() -> Result<u32, String> {
        // SAFETY: with LANDLOCK_CREATE_RULESET_VERSION the attribute pointer must be NULL and the
        // size 0; the call only returns a number.
        let abi = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<libc::c_void>(),
                0usize,
                LANDLOCK_CREATE_RULESET_VERSION,
            )
        };
        if abi > 0 {
            return Ok(u32::try_from(abi).unwrap_or(u32::MAX));
        }
        Err(match errno() {
            libc::ENOSYS => "Landlock: the kernel is built without it (ENOSYS)".to_owned(),
            libc::EOPNOTSUPP => "Landlock: built in but disabled at boot (EOPNOTSUPP); add \
                                 `landlock` to the `lsm=` kernel parameter"
                .to_owned(),
            e => format!(
                "Landlock: the version query failed: {}",
                std::io::Error::from_raw_os_error(e)
            ),
        })
    }

    pub(super) fn probe() -> Capabilities {
        let mut notes = Vec::new();
        let landlock_abi = match landlock_abi() {
            Ok(abi) => {
                if abi < Capabilities::MIN_LANDLOCK_ABI {
                    notes.push(format!(
                        "Landlock ABI {abi} cannot restrict truncate(2) (needs ABI {}); treated \
                         as missing",
                        Capabilities::MIN_LANDLOCK_ABI
                    ));
                }
                Some(abi)
            }
            Err(note) => {
                notes.push(note);
                None
            }
        };
        let report = match in_child() {
            Ok(report) => report,
            Err(note) => {
                notes.push(note);
                Report {
                    seccomp_errno: libc::EIO,
                    ns_step: 1,
                    ns_errno: libc::EIO,
                }
            }
        };
        let seccomp = report.seccomp_errno == 0;
        if !seccomp {
            notes.push(match report.seccomp_errno {
                libc::ENOSYS => "seccomp: no syscall table for this architecture".to_owned(),
                e => format!(
                    "seccomp: installing the filter failed: {}",
                    std::io::Error::from_raw_os_error(e)
                ),
            });
        }
        let failed_step = usize::try_from(report.ns_step).unwrap_or(1);
        // The first four steps make the user namespace; the rest need the mount namespace.
        let user_namespaces = failed_step == 0 || failed_step > 4;
        let mount_namespaces = failed_step == 0;
        if failed_step != 0 {
            let step = STEPS
                .get(failed_step - 1)
                .copied()
                .unwrap_or("an unknown step");
            let error = std::io::Error::from_raw_os_error(report.ns_errno);
            let hint = match (failed_step, report.ns_errno) {
                (1, _) => {
                    " (unprivileged user namespaces are disabled or exhausted: see the \
                     kernel.unprivileged_userns_clone, user.max_user_namespaces and \
                     kernel.apparmor_restrict_unprivileged_userns sysctls)"
                }
                (2..=4, libc::EACCES) | (5.., libc::EPERM) => {
                    " (expected when this process is already Landlock-confined: a nested sandbox \
                     stacks on the outer one, whose read-only binds stay in force; otherwise a \
                     security module refuses it)"
                }
                _ => "",
            };
            notes.push(format!("namespaces: {step} failed: {error}{hint}"));
        }
        Capabilities {
            landlock_abi,
            user_namespaces,
            mount_namespaces,
            seccomp,
            notes,
        }
    }

    /// Forks a child that tries the seccomp filter and the namespace steps, and reports back
    /// through a pipe.
    fn in_child() -> Result<Report, String> {
        let filter = crate::seccomp::program();
        let uid = nix::unistd::getuid();
        let gid = nix::unistd::getgid();
        // Any path will do; `/` itself cannot be bound onto itself on every system, and /dev is
        // mounted with the locked flags (`nosuid`, often `noexec`) a real bind must keep.
        let target = CString::new("/dev/null").expect("no NUL");
        let bind =
            Bind::new(target).map_err(|e| format!("namespaces: statvfs(/dev/null) failed: {e}"))?;
        let ns = NsPlan {
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
            binds: vec![bind],
        };
        let (read_end, write_end) =
            pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("probe: pipe2 failed: {e}"))?;

        // SAFETY: the child only makes syscalls on data prepared above (`ns`, `filter`,
        // `write_end`) and leaves with `_exit`; it never returns into the caller's code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!(
                "probe: fork failed: {}",
                std::io::Error::last_os_error()
            ));
        }
        if pid == 0 {
            let seccomp_errno = match &filter {
                Some(prog) => {
                    // SAFETY: prctl with integer arguments only.
                    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
                    if rc != 0 {
                        errno()
                    } else {
                        crate::seccomp::install(prog).err().unwrap_or(0)
                    }
                }
                None => libc::ENOSYS,
            };
            let (ns_step, ns_errno) = match ns.apply() {
                Ok(()) => (0, 0),
                Err(failure) => {
                    use crate::child::Step;
                    let step = match failure.step {
                        Step::Unshare => 1,
                        Step::Setgroups => 2,
                        Step::UidMap => 3,
                        Step::GidMap => 4,
                        Step::MakePrivate => 5,
                        Step::Bind(_) => 6,
                        _ => 7,
                    };
                    (step, failure.errno)
                }
            };
            let bytes: [i32; 3] = [seccomp_errno, ns_step, ns_errno];
            // SAFETY: writes the array's bytes to the pipe, then leaves without running any of
            // the parent's exit handlers.
            unsafe {
                use std::os::fd::AsRawFd as _;
                libc::write(
                    write_end.as_raw_fd(),
                    bytes.as_ptr().cast(),
                    size_of_val(&bytes),
                );
                libc::_exit(0);
            }
        }
        drop(write_end);
        let mut buf = Vec::with_capacity(12);
        let read = std::fs::File::from(read_end).read_to_end(&mut buf);
        let status = waitpid(Pid::from_raw(pid), None);
        if let Err(e) = read {
            return Err(format!("probe: reading the child's report failed: {e}"));
        }
        let words: Vec<i32> = buf
            .chunks_exact(4)
            .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        match words.as_slice() {
            [seccomp_errno, ns_step, ns_errno] => Ok(Report {
                seccomp_errno: *seccomp_errno,
                ns_step: *ns_step,
                ns_errno: *ns_errno,
            }),
            _ => Err(format!(
                "probe: the child died without reporting ({status:?})"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn everything() -> Capabilities {
        Capabilities {
            landlock_abi: Some(7),
            user_namespaces: true,
            mount_namespaces: true,
            seccomp: true,
            notes: Vec::new(),
        }
    }

    #[test]
    fn simulate_hides_named_layers() {
        let caps = everything().simulate("no-userns");
        assert_eq!(caps.best_mode(), Mode::LandlockOnly);
        assert!(!caps.user_namespaces && !caps.mount_namespaces);
        let caps = everything().simulate(" no-landlock , no-seccomp ");
        assert_eq!(caps.best_mode(), Mode::None);
        assert_eq!(caps.notes.len(), 2);
    }

    #[test]
    fn simulate_fails_closed_on_unknown_words() {
        let caps = everything().simulate("no-landlok");
        assert_eq!(caps.best_mode(), Mode::None);
        assert!(caps.notes[0].contains("no-landlok"), "{:?}", caps.notes);
    }

    #[test]
    fn old_landlock_counts_as_missing() {
        let caps = Capabilities {
            landlock_abi: Some(2),
            ..everything()
        };
        assert_eq!(caps.best_mode(), Mode::None);
    }
}
