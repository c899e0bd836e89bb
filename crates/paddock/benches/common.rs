//! What every benchmark needs: git and paddock without the user's configuration, fixed names.

use std::process::Command;

/// No user or system git config, a fixed identity.
pub fn hermetic(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.invalid")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.invalid")
        .env("LANG", "C")
        .env("NO_COLOR", "1")
        .env_remove("PADDOCK_SESSION")
        .env_remove("PADDOCK_CONFINED")
        .env_remove("PADDOCK_SANDBOX_SIMULATE")
        .env_remove("PADDOCK_SUPERVISOR_FD")
}
