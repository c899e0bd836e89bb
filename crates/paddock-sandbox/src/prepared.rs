//! [`Prepared`] and [`CommandExt`] on Linux.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use crate::child::{Bind, ChildPlan, NsPlan};
use crate::prepare::Error;
use crate::spawn::{Child, ChildStdio};
use crate::{Capabilities, Mode, Spec, rules};

/// A sandbox ready to apply to any number of commands: the mode it runs in and the Landlock
/// ruleset, built once in the parent.
///
/// `Send` and `Sync`: one `Prepared` can confine commands spawned from several threads.
#[derive(Debug, Clone)]
pub struct Prepared {
    requested: Mode,
    mode: Mode,
    capabilities: Capabilities,
    /// `None` in [`Mode::None`].
    plan: Option<Arc<ChildPlan>>,
    rule_count: usize,
    unenforced: Vec<PathBuf>,
}

fn cached_probe() -> &'static Capabilities {
    static CAPABILITIES: OnceLock<Capabilities> = OnceLock::new();
    CAPABILITIES.get_or_init(crate::probe)
}

fn c_path(path: &Path) -> Result<CString, Error> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::NulInPath {
        path: path.to_path_buf(),
    })
}

impl Prepared {
    /// Prepares `spec` in the strongest mode the kernel offers, capped at `requested`, and
    /// refuses ([`Error::Refused`]) if that mode is not in `allowed`. Probes the kernel once per
    /// process (see [`probe`](crate::probe)).
    ///
    /// The spec is checked in every mode, [`Mode::None`] included.
    pub fn new(spec: &Spec, requested: Mode, allowed: &[Mode]) -> Result<Prepared, Error> {
        Prepared::with_capabilities(spec, cached_probe(), requested, allowed)
    }

    /// [`Prepared::new`] with capabilities the caller supplies, for tests and for callers that
    /// probed already.
    pub fn with_capabilities(
        spec: &Spec,
        capabilities: &Capabilities,
        requested: Mode,
        allowed: &[Mode],
    ) -> Result<Prepared, Error> {
        let available = capabilities.best_mode();
        let mode = requested.min(available);
        if !allowed.contains(&mode) {
            return Err(Error::Refused {
                requested,
                available,
                effective: mode,
                allowed: allowed.to_vec(),
                reasons: capabilities.notes.clone(),
            });
        }
        let resolved = rules::resolve(spec)?;
        let mut prepared = Prepared {
            requested,
            mode,
            capabilities: capabilities.clone(),
            plan: None,
            rule_count: 0,
            unenforced: Vec::new(),
        };
        if mode == Mode::None {
            prepared.unenforced = resolved.read_only_binds;
            prepared.unenforced.extend(resolved.optional_binds);
            return Ok(prepared);
        }
        let built = rules::build(&resolved)?;
        prepared.rule_count = built.rule_count;
        let namespaces = if mode == Mode::Full {
            let mut binds = Vec::with_capacity(resolved.read_only_binds.len());
            for path in &resolved.read_only_binds {
                let bind = Bind::new(c_path(path)?).map_err(|source| Error::MountFlags {
                    path: path.clone(),
                    source,
                })?;
                binds.push(bind);
            }
            for path in &resolved.optional_binds {
                match Bind::new(c_path(path)?) {
                    Ok(mut bind) => {
                        bind.optional = true;
                        binds.push(bind);
                    }
                    // Deleted since it was resolved: nothing left to protect.
                    Err(source) if source.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(Error::MountFlags {
                            path: path.clone(),
                            source,
                        });
                    }
                }
            }
            let uid = nix::unistd::getuid();
            let gid = nix::unistd::getgid();
            Some(NsPlan {
                uid_map: format!("{uid} {uid} 1\n").into_bytes(),
                gid_map: format!("{gid} {gid} 1\n").into_bytes(),
                binds,
            })
        } else {
            prepared.unenforced = rules::binds_inside_writable(&resolved);
            None
        };
        let seccomp = if capabilities.seccomp {
            crate::seccomp::program()
        } else {
            None
        };
        prepared.plan = Some(Arc::new(ChildPlan {
            namespaces,
            landlock: Some(built.fd),
            seccomp,
        }));
        Ok(prepared)
    }

    /// The mode commands run in: the strongest the kernel offers, capped at the requested one.
    /// Record it next to [`Prepared::requested`].
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The mode that was asked for.
    pub fn requested(&self) -> Mode {
        self.requested
    }

    /// What the kernel offered when this was prepared.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Whether the seccomp filter is installed (always in [`Mode::Full`]; in
    /// [`Mode::LandlockOnly`] when the kernel has seccomp).
    pub fn seccomp(&self) -> bool {
        self.plan
            .as_ref()
            .is_some_and(|plan| plan.seccomp.is_some())
    }

    /// How many Landlock rules the ruleset holds (0 in [`Mode::None`]).
    pub fn rule_count(&self) -> usize {
        self.rule_count
    }

    /// The [`Spec::read_only_binds`] this mode does not protect: none in [`Mode::Full`], those
    /// inside a writable tree in [`Mode::LandlockOnly`], all of them in [`Mode::None`]. The
    /// caller should check them after each command.
    pub fn unenforced_read_only_binds(&self) -> &[PathBuf] {
        &self.unenforced
    }
}

/// Confines a [`Command`] with a [`Prepared`] sandbox.
pub trait CommandExt {
    /// Applies `prepared` in the child between `fork` and `exec` (a no-op in [`Mode::None`]).
    ///
    /// If a step fails, the child writes `paddock-sandbox: <step>: os error <n>` to its stderr
    /// and `spawn` fails with that errno; the program never runs unconfined. Do not combine with
    /// `std::os::unix::process::CommandExt::uid`/`gid`: the id maps are computed for the
    /// caller's ids.
    fn confine(&mut self, prepared: &Prepared) -> &mut Self;

    /// Starts the command confined by `prepared` without `fork`: the child shares this
    /// process's memory until it execs (`clone(CLONE_VM | CLONE_VFORK)`, as `posix_spawn(3)`
    /// does), which for a large process saves copying its page tables and the page faults that
    /// follow. See the `spawn` module's source for why that is sound.
    ///
    /// Takes the command's program, arguments, environment changes and working directory; its
    /// stdio is inherited, except where `stdio` gives a descriptor. Other settings (`env_clear`,
    /// stdio set on the command, uid/gid, `pre_exec` hooks, [`CommandExt::confine`]) are not
    /// applied. Failures are reported as with [`CommandExt::confine`]: a step that fails makes
    /// this return its errno, and the program never runs unconfined.
    fn spawn_confined(&mut self, prepared: &Prepared, stdio: ChildStdio) -> io::Result<Child>;
}

impl CommandExt for Command {
    fn confine(&mut self, prepared: &Prepared) -> &mut Self {
        let Some(plan) = prepared.plan.clone() else {
            return self;
        };
        let hook = move || match plan.apply() {
            Ok(()) => Ok(()),
            Err(failure) => {
                plan.report(failure);
                Err(std::io::Error::from_raw_os_error(failure.errno))
            }
        };
        // SAFETY: `ChildPlan::apply` and `ChildPlan::report` only make syscalls on data computed
        // in the parent; they neither allocate nor take locks, which is what `pre_exec` requires
        // after `fork`.
        unsafe { std::os::unix::process::CommandExt::pre_exec(self, hook) }
    }

    fn spawn_confined(&mut self, prepared: &Prepared, stdio: ChildStdio) -> io::Result<Child> {
        crate::spawn::spawn(self, prepared.plan.as_deref(), stdio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Prepared>();
    }
}
