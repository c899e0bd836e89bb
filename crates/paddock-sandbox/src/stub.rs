//! [`Prepared`] and [`CommandExt`] where kernel confinement is not implemented (not Linux): the
//! only mode is [`Mode::None`], and asking for anything that is not allowed to degrade to it
//! fails with [`Error::Refused`].

use std::path::PathBuf;
use std::process::Command;

use crate::prepare::Error;
use crate::{Capabilities, Mode, Spec};

/// A sandbox ready to apply to commands. Outside Linux it is always [`Mode::None`].
#[derive(Debug, Clone)]
pub struct Prepared {
    requested: Mode,
    capabilities: Capabilities,
    unenforced: Vec<PathBuf>,
}

impl Prepared {
    /// Outside Linux: succeeds only when `allowed` contains [`Mode::None`].
    pub fn new(spec: &Spec, requested: Mode, allowed: &[Mode]) -> Result<Prepared, Error> {
        Prepared::with_capabilities(spec, &crate::probe(), requested, allowed)
    }

    /// Outside Linux: succeeds only when `allowed` contains [`Mode::None`].
    pub fn with_capabilities(
        spec: &Spec,
        capabilities: &Capabilities,
        requested: Mode,
        allowed: &[Mode],
    ) -> Result<Prepared, Error> {
        if !allowed.contains(&Mode::None) {
            return Err(Error::Refused {
                requested,
                available: Mode::None,
                effective: Mode::None,
                allowed: allowed.to_vec(),
                reasons: vec![
                    Error::Unsupported {
                        os: std::env::consts::OS,
                    }
                    .to_string(),
                ],
            });
        }
        Ok(Prepared {
            requested,
            capabilities: capabilities.clone(),
            unenforced: spec
                .read_only_binds
                .iter()
                .chain(&spec.read_only_binds_if_present)
                .cloned()
                .collect(),
        })
    }

    /// Always [`Mode::None`].
    pub fn mode(&self) -> Mode {
        Mode::None
    }

    /// The mode that was asked for.
    pub fn requested(&self) -> Mode {
        self.requested
    }

    /// What the platform offered.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Always `false`.
    pub fn seccomp(&self) -> bool {
        false
    }

    /// Always 0.
    pub fn rule_count(&self) -> usize {
        0
    }

    /// All of [`Spec::read_only_binds`].
    pub fn unenforced_read_only_binds(&self) -> &[PathBuf] {
        &self.unenforced
    }
}

/// Where a child started by [`CommandExt::spawn_confined`] reads and writes: each descriptor
/// given replaces the caller's, the others are inherited.
#[derive(Debug, Default)]
pub struct ChildStdio {
    /// Standard input.
    pub stdin: Option<std::os::fd::OwnedFd>,
    /// Standard output.
    pub stdout: Option<std::os::fd::OwnedFd>,
    /// Standard error.
    pub stderr: Option<std::os::fd::OwnedFd>,
}

/// A child started by [`CommandExt::spawn_confined`].
#[derive(Debug)]
pub struct Child(std::process::Child);

impl Child {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Outside Linux there are no pidfds.
    pub fn pidfd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }

    /// Waits for the child to exit.
    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.0.wait()
    }
}

/// Confines a [`Command`] with a [`Prepared`] sandbox.
pub trait CommandExt {
    /// Outside Linux a [`Prepared`] is always [`Mode::None`], so this does nothing.
    fn confine(&mut self, prepared: &Prepared) -> &mut Self;

    /// Outside Linux: spawns the command, unconfined ([`Mode::None`]), with `stdio`.
    fn spawn_confined(&mut self, prepared: &Prepared, stdio: ChildStdio) -> std::io::Result<Child>;
}

impl CommandExt for Command {
    fn confine(&mut self, prepared: &Prepared) -> &mut Self {
        debug_assert_eq!(prepared.mode(), Mode::None);
        self
    }

    fn spawn_confined(&mut self, prepared: &Prepared, stdio: ChildStdio) -> std::io::Result<Child> {
        debug_assert_eq!(prepared.mode(), Mode::None);
        if let Some(fd) = stdio.stdin {
            self.stdin(std::process::Stdio::from(fd));
        }
        if let Some(fd) = stdio.stdout {
            self.stdout(std::process::Stdio::from(fd));
        }
        if let Some(fd) = stdio.stderr {
            self.stderr(std::process::Stdio::from(fd));
        }
        self.spawn().map(Child)
    }
}
