//! What an isolated turn may read besides its worktree, inputs and scratch: what a program
//! needs to run — the system trees and the toolchains on its `PATH` — and nothing of the
//! caller's home or temp dirs.

use std::path::{Path, PathBuf};

/// System trees every program may need: binaries, libraries, configuration, `/proc`, devices.
/// `/tmp`, `/var`, `/home`, `/root`, `/run` and `/mnt` are deliberately absent.
const SYSTEM: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/proc",
    "/dev",
    "/sys",
    "/opt",
    "/nix/store",
];

/// Toolchain homes under `$HOME` that programs on `PATH` need as a whole, and the variable
/// that tells the tool where its home is (the turn's own `HOME` is its scratch dir).
const TOOL_HOMES: &[(&str, Option<&str>)] = &[
    (".pyenv", Some("PYENV_ROOT")),
    (".rbenv", Some("RBENV_ROOT")),
    (".nvm", Some("NVM_DIR")),
    (".volta", Some("VOLTA_HOME")),
    (".bun", Some("BUN_INSTALL")),
    (".deno", Some("DENO_INSTALL")),
    (".sdkman", Some("SDKMAN_DIR")),
];

/// What a turn may read to run its programs, and the variables that point tools at their
/// homes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Toolchain {
    /// Trees to grant for reading (and executing).
    pub(crate) readable: Vec<PathBuf>,
    /// Variables to add to the turn's environment, unless the caller's allowlist set them.
    pub(crate) env: Vec<(String, String)>,
}

/// The system trees that exist here. `/etc/resolv.conf` often links into `/run`; its target is
/// added so name resolution keeps working.
pub(crate) fn system() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = SYSTEM
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect();
    if let Ok(target) = std::fs::canonicalize("/etc/resolv.conf")
        && !target.starts_with("/etc")
    {
        paths.push(target);
    }
    paths
}

/// The toolchain directories of `path_var` (a `PATH` value): each entry itself; for an entry
/// inside a tool home of [`TOOL_HOMES`] (`.pyenv`, `.nvm`, ... wherever it lies) that whole
/// home; `.rustup` beside `.cargo` for `.cargo/bin`; `.local/lib` for `.local/bin`. Nothing that
/// contains any of `never` (the repository, the caller's home as a whole, `/`) is granted: it
/// would grant far more than a toolchain.
pub(crate) fn toolchain(path_var: Option<&str>, never: &[&Path]) -> Toolchain {
    let mut found = Toolchain::default();
    let grant = |found: &mut Toolchain, path: PathBuf| {
        let broad = path == Path::new("/") || never.iter().any(|n| n.starts_with(&path));
        if path.is_absolute() && path.exists() && !broad && !found.readable.contains(&path) {
            found.readable.push(path);
        }
    };
    let set = |found: &mut Toolchain, name: &str, value: &Path| {
        if !found.env.iter().any(|(n, _)| n == name) {
            found
                .env
                .push((name.to_owned(), value.display().to_string()));
        }
    };
    for entry in path_var
        .unwrap_or_default()
        .split(':')
        .filter(|e| !e.is_empty())
    {
        let entry = PathBuf::from(entry);
        if !entry.is_absolute() || !entry.is_dir() {
            continue;
        }
        let entry = std::fs::canonicalize(&entry).unwrap_or(entry);
        if SYSTEM.iter().any(|s| entry.starts_with(s)) {
            continue;
        }
        let home = entry.ancestors().find(|a| {
            a.file_name().is_some_and(|n| {
                TOOL_HOMES.iter().any(|(d, _)| n == *d) || n == ".cargo" || n == ".local"
            })
        });
        let Some(home) = home.map(Path::to_owned) else {
            grant(&mut found, entry);
            continue;
        };
        let name = home
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some((_, var)) = TOOL_HOMES.iter().find(|(d, _)| *d == name) {
            grant(&mut found, home.clone());
            if let Some(var) = var {
                set(&mut found, var, &home);
            }
        } else if name == ".cargo" {
            // rustup's proxies in .cargo/bin need .rustup (found through RUSTUP_HOME once HOME
            // is the scratch dir); .cargo itself holds credentials and stays closed.
            grant(&mut found, entry.clone());
            let rustup = std::env::var_os("RUSTUP_HOME")
                .map(PathBuf::from)
                .or_else(|| home.parent().map(|p| p.join(".rustup")))
                .filter(|r| r.is_dir());
            if let Some(rustup) = rustup {
                grant(&mut found, rustup.clone());
                set(&mut found, "RUSTUP_HOME", &rustup);
            }
        } else {
            grant(&mut found, entry.clone());
            grant(&mut found, home.join("lib"));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn toolchains_from_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().canonicalize().expect("canonical");
        for sub in [
            ".pyenv/shims",
            ".pyenv/bin",
            ".cargo/bin",
            ".rustup",
            ".local/bin",
            ".local/lib",
            "tools/bin",
            "repo",
        ] {
            std::fs::create_dir_all(home.join(sub)).expect("mkdir");
        }
        let path = format!(
            "{h}/.pyenv/shims:{h}/.pyenv/bin:{h}/.cargo/bin:{h}/.local/bin:/usr/bin:{h}:{h}/tools/bin:relative:{h}/missing",
            h = home.display()
        );
        let repo = home.join("repo");
        let found = toolchain(Some(&path), &[&repo]);
        // Without RUSTUP_HOME in the environment, ~/.rustup is used.
        let rustup = std::env::var_os("RUSTUP_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".rustup"));
        let mut expected = vec![home.join(".pyenv"), home.join(".cargo/bin")];
        if rustup.is_dir() {
            expected.push(rustup.clone());
        }
        expected.extend([
            home.join(".local/bin"),
            home.join(".local/lib"),
            home.join("tools/bin"),
        ]);
        assert_eq!(found.readable, expected);
        assert_eq!(
            found.env[0],
            (
                "PYENV_ROOT".to_owned(),
                home.join(".pyenv").display().to_string()
            )
        );
        // `$HOME` itself contains the repository: never granted.
        assert!(!found.readable.contains(&home));
    }

    #[test]
    fn system_trees_exist() {
        let system = system();
        assert!(system.contains(&PathBuf::from("/usr")));
        assert!(
            !system
                .iter()
                .any(|p| p.starts_with("/tmp") || p.starts_with("/home"))
        );
    }
}
