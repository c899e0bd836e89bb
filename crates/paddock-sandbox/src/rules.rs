//! From a [`Spec`] to a Landlock ruleset: path resolution, overlap checks, and the sibling
//! enumeration that hides a tree inside a readable one.

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Component, Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, BitFlags, PathBeneath, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
};
use nix::dir::{Dir, Type};
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, OpenHow, ResolveFlag, open, openat, openat2};
use nix::sys::stat::{Mode, fstatat};

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

/// `path.canonicalize()`, without `realpath(3)`'s `readlink` on every component (a session's spec
/// resolves a few dozen paths per command):
///
/// - a path that is already clean (absolute, no `.` or `..`) and has no symlink on the way is its
///   own canonical form: one `openat2(RESOLVE_NO_SYMLINKS)` proves both;
/// - otherwise open it, following symlinks, and ask the kernel where the descriptor landed;
/// - where neither answers (no `openat2`, no `/proc`), `canonicalize`.
fn resolve_path(path: &Path) -> io::Result<PathBuf> {
    let clean = path.is_absolute()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    if clean {
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS);
        match openat2(AT_FDCWD, path, how) {
            Ok(_) => return Ok(path.components().collect()),
            Err(nix::Error::ENOENT) => return Err(io::ErrorKind::NotFound.into()),
            // ELOOP: a symlink on the way; ENOSYS, EINVAL: no openat2. Resolve the long way.
            Err(_) => {}
        }
    }
    let fd =
        open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).map_err(io::Error::from)?;
    match std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) {
        Ok(target)
            if target.is_absolute() && !target.as_os_str().as_bytes().ends_with(b" (deleted)") =>
        {
            Ok(target)
        }
        _ => path.canonicalize(),
    }
}

fn canonical(path: &Path, role: PathRole) -> Result<PathBuf, Error> {
    absolute(path, role)?;
    resolve_path(path).map_err(|source| Error::Path {
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
        match resolve_path(existing) {
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
        match resolve_path(path) {
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
        match resolve_path(path) {
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
    // Each directory on a chain, with the names in it that are not granted: the next directory
    // of a chain, or a hidden path.
    let mut chain: BTreeMap<&Path, Vec<&OsStr>> = BTreeMap::new();
    for h in &inside {
        let mut child: &Path = h;
        while let Some(dir) = child.parent().filter(|d| within(d, root)) {
            if let Some(name) = child.file_name() {
                let names = chain.entry(dir).or_default();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            child = dir;
        }
    }
    for (dir, skip) in &chain {
        list_granting(dir, skip, rules)?;
    }
    Ok(())
}

/// Grants read on every entry of `dir` except the names in `skip` and symlinks. Opens each entry
/// relative to the listed directory, so the kernel walks one component per entry, not the whole
/// path.
fn list_granting(dir: &Path, skip: &[&OsStr], rules: &mut Vec<Rule>) -> Result<(), Error> {
    let list_error = |source: nix::Error| Error::ListDir {
        dir: dir.to_path_buf(),
        source: io::Error::from(source),
    };
    let mut listing = match Dir::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(listing) => listing,
        // The ancestor of a hidden path that does not exist yet: nothing to grant.
        Err(nix::Error::ENOENT) => return Ok(()),
        Err(source) => return Err(list_error(source)),
    };
    let mut entries: Vec<(CString, Option<Type>)> = Vec::new();
    for entry in listing.iter() {
        let entry = entry.map_err(list_error)?;
        let name = entry.file_name();
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." || skip.iter().any(|s| s.as_bytes() == bytes) {
            continue;
        }
        entries.push((name.to_owned(), entry.file_type()));
    }
    for (name, kind) in entries {
        // A symlink's target is readable through its own path if it lies in a granted tree;
        // following it here could grant a hidden tree.
        let kind = match kind {
            Some(kind) => kind,
            // The file system does not say in its listing: ask.
            None => match fstatat(&listing, name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(stat) if stat.st_mode & libc::S_IFMT == libc::S_IFLNK => Type::Symlink,
                Ok(_) => Type::File,
                Err(nix::Error::ENOENT) => continue,
                Err(source) => return Err(list_error(source)),
            },
        };
        if kind == Type::Symlink {
            continue;
        }
        // O_PATH: no read permission needed and never blocks on a FIFO. O_NOFOLLOW: a symlink
        // that appeared between listing and opening yields a rule on the link itself, which
        // grants nothing.
        match openat(
            &listing,
            name.as_c_str(),
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => rules.push(Rule {
                fd,
                access: read_access(),
            }),
            // Removed since it was listed (other processes' temp files).
            Err(nix::Error::ENOENT) => {}
            Err(source) => {
                return Err(Error::Path {
                    role: PathRole::Readable,
                    path: dir.join(OsStr::from_bytes(name.as_bytes())),
                    source: io::Error::from(source),
                });
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
