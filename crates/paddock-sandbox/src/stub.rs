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

/// Confines a [`Command`] with a [`Prepared`] sandbox.
pub trait CommandExt {
    /// Outside Linux a [`Prepared`] is always [`Mode::None`], so this does nothing.
    fn confine(&mut self, prepared: &Prepared) -> &mut Self;
}

impl CommandExt for Command {
    fn confine(&mut self, prepared: &Prepared) -> &mut Self {
        debug_assert_eq!(prepared.mode(), Mode::None);
        self
    }
}
