//! From a [`Spec`] to a Landlock ruleset: path resolution, overlap checks, and the sibling
//! enumeration that hides a tree inside a readable one.

use std::collections::BTreeSet;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, BitFlags, PathBeneath, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
};
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;

use crate::Spec;
use crate::prepare::{Error, PathRole};

/// The newest ABI this crate knows. Rights are requested for it in best-effort mode, so the
/// ruleset handles exactly what the running kernel supports (never less than ABI 3: the caller
/// checks the kernel's ABI first).
const LATEST: ABI = ABI::V9;

/// Read, list and execute; connecting to a pathname socket stays allowed where reading is (ABI 9
/// made it a right of its own).
fn read_access() -> BitFlags<AccessFs> {
    AccessFs::from_read(LATEST) | AccessFs::ResolveUnix
}

fn write_access() -> BitFlags<AccessFs> {
    AccessFs::from_all(LATEST)
}

/// Open, write, truncate (shells open `> /dev/null` with `O_TRUNC`), ioctl; no create, no delete.
fn device_access() -> BitFlags<AccessFs> {
    AccessFs::ReadFile
        | AccessFs::ReadDir
        | AccessFs::WriteFile
        | AccessFs::Truncate
        | AccessFs::IoctlDev
}

/// A [`Spec`] with every path absolute, resolved and checked.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) readable: Vec<PathBuf>,
    /// Minimal: no hidden path lies inside another.
    pub(crate) hidden: Vec<PathBuf>,
    pub(crate) writable: Vec<PathBuf>,
    pub(crate) read_only_binds: Vec<PathBuf>,
    /// [`Spec::read_only_binds_if_present`] that exist now.
    pub(crate) optional_binds: Vec<PathBuf>,
    /// Only the devices that exist.
    pub(crate) devices: Vec<PathBuf>,
}

fn absolute(path: &Path, role: PathRole) -> Result<(), Error> {
    if path.is_absolute() {
        Ok(())
    } else {
        Err(Error::RelativePath {
            role,
            path: path.to_path_buf(),
        })
    }
}

fn canonical(path: &Path, role: PathRole) -> Result<PathBuf, Error> {
    absolute(path, role)?;
    path.canonicalize().map_err(|source| Error::Path {
        role,
        path: path.to_path_buf(),
        source,
    })
}

/// Resolves the longest existing prefix of `path` and appends the rest, so a hidden path that
/// does not exist yet is still hidden once it is created.
fn canonical_prefix(path: &Path) -> Result<PathBuf, Error> {
    absolute(path, PathRole::Hidden)?;
    let mut rest = Vec::new();
    let mut existing = path;
    loop {
        match existing.canonicalize() {
            Ok(mut resolved) => {
                for component in rest.iter().rev() {
                    resolved.push(component);
                }
                return Ok(resolved);
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(Error::Path {
                        role: PathRole::Hidden,
                        path: path.to_path_buf(),
                        source: error,
                    });
                };
                rest.push(name.to_os_string());
                existing = parent;
            }
            Err(source) => {
                return Err(Error::Path {
                    role: PathRole::Hidden,
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
}

/// `a` is `b` or lies inside it (by components, after resolution).
fn within(a: &Path, b: &Path) -> bool {
    a.starts_with(b)
}

pub(crate) fn resolve(spec: &Spec) -> Result<Resolved, Error> {
    let readable = spec
        .readable
        .iter()
        .map(|p| canonical(p, PathRole::Readable))
        .collect::<Result<Vec<_>, _>>()?;
    let writable = spec
        .writable
        .iter()
        .map(|p| canonical(p, PathRole::Writable))
        .collect::<Result<Vec<_>, _>>()?;
    let read_only_binds = spec
        .read_only_binds
        .iter()
        .map(|p| canonical(p, PathRole::ReadOnlyBind))
        .collect::<Result<Vec<_>, _>>()?;
    let mut optional_binds = Vec::new();
    for path in &spec.read_only_binds_if_present {
        absolute(path, PathRole::ReadOnlyBind)?;
        match path.canonicalize() {
            Ok(resolved) => optional_binds.push(resolved),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Path {
                    role: PathRole::ReadOnlyBind,
                    path: path.clone(),
                    source,
                });
            }
        }
    }
    let mut devices = Vec::new();
    for path in &spec.devices {
        absolute(path, PathRole::Device)?;
        match path.canonicalize() {
            Ok(resolved) => devices.push(resolved),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Path {
                    role: PathRole::Device,
                    path: path.clone(),
                    source,
                });
            }
        }
    }
    let mut hidden = spec
        .hidden
        .iter()
        .map(|p| canonical_prefix(p))
        .collect::<Result<Vec<_>, _>>()?;
    hidden.sort();
    hidden.dedup();
    // Drop hidden paths inside other hidden paths: the outer one already hides them, and
    // enumerating inside it would grant its contents.
    let outer: Vec<PathBuf> = hidden.clone();
    hidden.retain(|h| !outer.iter().any(|o| o != h && within(h, o)));

    for h in &hidden {
        for (role, granted) in [
            (PathRole::Writable, &writable),
            (PathRole::Device, &devices),
        ] {
            if let Some(g) = granted.iter().find(|g| within(h, g) || within(g, h)) {
                return Err(Error::HiddenOverlap {
                    hidden: h.clone(),
                    role,
                    granted: g.clone(),
                });
            }
        }
        if let Some(r) = readable.iter().find(|r| within(r, h)) {
            return Err(Error::HiddenOverlap {
                hidden: h.clone(),
                role: PathRole::Readable,
                granted: r.clone(),
            });
        }
    }
    Ok(Resolved {
        readable,
        hidden,
        writable,
        read_only_binds,
        optional_binds,
        devices,
    })
}

/// One rule: an `O_PATH` descriptor and what it grants beneath it.
struct Rule {
    fd: OwnedFd,
    access: BitFlags<AccessFs>,
}

fn open_path(path: &Path) -> io::Result<OwnedFd> {
    // O_PATH: no read permission needed and never blocks on a FIFO. O_NOFOLLOW: a symlink that
    // appeared between listing and opening yields a rule on the link itself, which grants nothing.
    open(
        path,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(io::Error::from)
}

/// The read rules for one readable root. When hidden paths lie inside it, grant every entry of
/// every directory on their ancestor chains except the chains and the hidden paths themselves.
fn read_rules(root: &Path, hidden: &[PathBuf], rules: &mut Vec<Rule>) -> Result<(), Error> {
    let inside: Vec<&PathBuf> = hidden
        .iter()
        .filter(|h| within(h, root) && *h != root)
        .collect();
    if inside.is_empty() {
        let fd = open_path(root).map_err(|source| Error::Path {
            role: PathRole::Readable,
            path: root.to_path_buf(),
            source,
        })?;
        rules.push(Rule {
            fd,
            access: read_access(),
        });
        return Ok(());
    }
    let mut chain = BTreeSet::new();
    for h in &inside {
        let mut ancestor = h.parent();
        while let Some(dir) = ancestor.filter(|d| within(d, root)) {
            chain.insert(dir.to_path_buf());
            ancestor = dir.parent();
        }
    }
    for dir in &chain {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            // The ancestor of a hidden path that does not exist yet: nothing to grant.
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(Error::ListDir {
                    dir: dir.clone(),
                    source,
                });
            }
        };
        for entry in entries {
            let entry = entry.map_err(|source| Error::ListDir {
                dir: dir.clone(),
                source,
            })?;
            let path = entry.path();
            if chain.contains(&path) || inside.iter().any(|h| **h == path) {
                continue;
            }
            // A symlink's target is readable through its own path if it lies in a granted tree;
            // following it here could grant a hidden tree.
            match entry.file_type() {
                Ok(kind) if kind.is_symlink() => continue,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(Error::ListDir {
                        dir: dir.clone(),
                        source,
                    });
                }
            }
            match open_path(&path) {
                Ok(fd) => rules.push(Rule {
                    fd,
                    access: read_access(),
                }),
                // Removed since it was listed (other processes' temp files).
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(Error::Path {
                        role: PathRole::Readable,
                        path,
                        source,
                    });
                }
            }
        }
    }
    Ok(())
}

/// A created ruleset: the descriptor `landlock_restrict_self` takes, and how many rules it holds.
pub(crate) struct Built {
    pub(crate) fd: OwnedFd,
    pub(crate) rule_count: usize,
}

/// Builds the Landlock ruleset for `resolved` on the running kernel.
pub(crate) fn build(resolved: &Resolved) -> Result<Built, Error> {
    let mut rules = Vec::new();
    for root in &resolved.readable {
        read_rules(root, &resolved.hidden, &mut rules)?;
    }
    for (role, paths, access) in [
        (PathRole::Writable, &resolved.writable, write_access()),
        (PathRole::Device, &resolved.devices, device_access()),
    ] {
        for path in paths {
            let fd = open_path(path).map_err(|source| Error::Path {
                role,
                path: path.clone(),
                source,
            })?;
            rules.push(Rule { fd, access });
        }
    }
    let rule_count = rules.len();
    // Best effort: rights the running kernel does not know are dropped from the handled set and
    // from every rule (and directory-only rights from rules on files). Whether Landlock is there
    // at all was checked by the probe; a ruleset without a descriptor is an error below.
    let mut created = Ruleset::default()
        .handle_access(write_access() | read_access())?
        // A confined process may not signal processes outside its domain (other sessions'
        // processes, the supervisor); ignored below ABI 6.
        .scope(Scope::Signal)?
        .create()?;
    for rule in rules {
        created = created.add_rule(PathBeneath::new(rule.fd, rule.access))?;
    }
    let fd: Option<OwnedFd> = created.into();
    let fd = fd.ok_or(Error::NotEnforced)?;
    Ok(Built { fd, rule_count })
}

/// Read-only binds that a mode without namespaces leaves unprotected: those inside a writable
/// tree (outside one, Landlock already keeps them read-only).
pub(crate) fn binds_inside_writable(resolved: &Resolved) -> Vec<PathBuf> {
    resolved
        .read_only_binds
        .iter()
        .chain(&resolved.optional_binds)
        .filter(|b| resolved.writable.iter().any(|w| within(b, w)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_prefix_keeps_missing_tail() {
        let dir = tempfile::tempdir().expect("temp dir");
        let base = dir.path().canonicalize().expect("canonical");
        let missing = dir.path().join("a/b");
        assert_eq!(
            canonical_prefix(&missing).expect("resolves"),
            base.join("a/b")
        );
    }

    #[test]
    fn nested_hidden_paths_collapse_to_the_outer_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let base = dir.path().canonicalize().expect("canonical");
        let mut spec = Spec::new();
        spec.hidden = vec![base.join("h/inner"), base.join("h")];
        let resolved = resolve(&spec).expect("valid spec");
        assert_eq!(resolved.hidden, vec![base.join("h")]);
    }
}
