//! What the kernel lets a session's processes do: the sandbox spec for a session, and the
//! session's own object directory.
//!
//! A commit from a worktree writes the common dir's `objects/`, `refs/`, `logs/` and
//! `worktrees/<own>/`. Granting all of `objects/` would let a confined process chmod and corrupt
//! existing objects, so each session writes new objects to a directory of its own
//! (`GIT_OBJECT_DIRECTORY`, with the shared store as an alternate; the shared store lists it as
//! an alternate too, so everybody outside reads its objects), moved into the shared store when
//! the session ends. Of `refs/` and `logs/` only the directory of the session branches is
//! writable, so git can lock and rename the session's own branch; `refs/heads/main`, tags and
//! every other ref stay read-only to Landlock, and other sessions' branches in that directory
//! are bound read-only.

use std::path::{Path, PathBuf};

use paddock_policy::SandboxLevel;
use paddock_sandbox::{Mode as SandboxMode, Spec};

use crate::Workspace;
use crate::session::{Mode, Session};

/// The environment variable marking a confined process.
pub const CONFINED_ENV: &str = "PADDOCK_CONFINED";

/// Errors preparing a session's confinement.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The sandbox refused (no allowed mode is achievable) or failed to build.
    #[error(transparent)]
    Sandbox(#[from] paddock_sandbox::prepare::Error),
    /// The registry could not be read.
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    /// Approvals could not be read.
    #[error(transparent)]
    Approvals(#[from] crate::approvals::Error),
    /// The session's worktree is not where the registry says (moved or deleted by hand).
    #[error(
        "session {id}'s worktree {path} is gone (moved or deleted by hand?); move it back, or \
         have an operator cancel the session (its committed work is archived)"
    )]
    MissingWorktree {
        /// The session.
        id: String,
        /// Where the registry says it is.
        path: PathBuf,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// `create_dir_all`, asking first whether the directory is there: on every command it almost
/// always is, and one `stat` is cheaper than a `mkdir` that fails followed by a `stat`.
fn ensure_dir(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(io("cannot create", dir))
}

/// A session's confinement, ready to apply to commands.
#[derive(Debug, Clone)]
pub struct Confinement {
    /// The prepared sandbox.
    pub prepared: paddock_sandbox::Prepared,
    /// What the policy asked for.
    pub requested: SandboxMode,
    /// Environment variables the confined commands get.
    pub env: Vec<(String, String)>,
}

fn to_sandbox(level: SandboxLevel) -> SandboxMode {
    match level {
        SandboxLevel::None => SandboxMode::None,
        SandboxLevel::Landlock => SandboxMode::LandlockOnly,
        SandboxLevel::Full => SandboxMode::Full,
    }
}

impl Workspace {
    /// The session's own object directory.
    pub fn session_objects(&self, id: &str) -> PathBuf {
        self.repo().common_dir().join("paddock-objects").join(id)
    }

    /// Creates the session's object directory and registers it as an alternate of the shared
    /// store (idempotent).
    pub fn ensure_session_objects(&self, id: &str) -> Result<PathBuf, Error> {
        let dir = self.session_objects(id);
        ensure_dir(&dir.join("info"))?;
        // No `info/alternates` back to the shared store here: the shared store lists this
        // directory, and a loop is refused by gix. Git inside the sandbox reaches the shared
        // store through GIT_ALTERNATE_OBJECT_DIRECTORIES.
        let line = dir.display().to_string();
        let alternates = self.alternates_path();
        // Every command checks this: the common case (already listed) takes no lock.
        let listed = |text: &str| text.lines().any(|l| l == line);
        if !listed(&std::fs::read_to_string(&alternates).unwrap_or_default()) {
            self.update_alternates(|lines| {
                if !lines.contains(&line) {
                    lines.push(line.clone());
                }
            })?;
        }
        Ok(dir)
    }

    fn alternates_path(&self) -> PathBuf {
        self.repo()
            .common_dir()
            .join("objects")
            .join("info")
            .join("alternates")
    }

    /// Read-modify-write of the shared store's `info/alternates`, which every session's shell
    /// and every merge update at once: under a lock of its own (so no update is lost), and by
    /// rename (so a reader, git or gix in any process, never sees it half-written and loses
    /// sight of a session's objects).
    fn update_alternates(&self, change: impl FnOnce(&mut Vec<String>)) -> Result<(), Error> {
        use nix::fcntl::{Flock, FlockArg};
        use std::io::Write as _;
        let state = self.repo().state_dir();
        std::fs::create_dir_all(&state).map_err(io("cannot create", &state))?;
        let lock_path = state.join("alternates.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io("cannot open", &lock_path))?;
        let _lock = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| Error::Io {
            action: "cannot lock",
            path: lock_path.clone(),
            source: std::io::Error::from(errno),
        })?;
        let alternates = self.alternates_path();
        let info = alternates.parent().map(Path::to_owned).unwrap_or_default();
        std::fs::create_dir_all(&info).map_err(io("cannot create", &info))?;
        let mut lines: Vec<String> = std::fs::read_to_string(&alternates)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        change(&mut lines);
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        let mut temp =
            tempfile::NamedTempFile::new_in(&info).map_err(io("cannot write in", &info))?;
        temp.write_all(text.as_bytes())
            .map_err(io("cannot write in", &info))?;
        temp.persist(&alternates)
            .map_err(|e| io("cannot replace", &alternates)(e.error))?;
        Ok(())
    }

    /// Moves a session's objects into the shared store and unregisters its directory.
    pub fn absorb_session_objects(&self, id: &str) -> Result<(), Error> {
        let dir = self.session_objects(id);
        if !dir.exists() {
            return Ok(());
        }
        let shared = self.repo().common_dir().join("objects");
        copy_missing(&dir, &shared, &dir.join("info"))?;
        let line = dir.display().to_string();
        self.update_alternates(|lines| lines.retain(|l| *l != line))?;
        std::fs::remove_dir_all(&dir).map_err(io("cannot remove", &dir))?;
        Ok(())
    }

    /// The sandbox spec for a session's processes.
    pub fn sandbox_spec(&self, session: &Session) -> Result<Spec, Error> {
        // Granting the scope's directories would re-create them under a worktree that is no
        // longer there (moved away by hand): refuse instead.
        if session.mode == Mode::Worktree && !session.worktree.is_dir() {
            return Err(Error::MissingWorktree {
                id: session.id.clone(),
                path: session.worktree.clone(),
            });
        }
        let mut spec = Spec::new();
        let repo = self.repo();
        let common = repo.common_dir();
        let worktree = &session.worktree;
        let policy = self.policy();

        // Writable: the scope's fixed directories (the after-command check holds the exact
        // globs), scratch, temp dirs, and the git state a commit needs.
        let scope = paddock_policy::glob::PatternSet::new(&session.scope).unwrap_or_default();
        for pattern in scope
            .patterns()
            .iter()
            .chain(policy.scratch().worktree.patterns())
        {
            let dir = worktree.join(pattern.literal_prefix_dir());
            match std::fs::metadata(&dir) {
                Ok(meta) if meta.is_dir() => spec.writable.push(dir),
                // A file where the scope names a directory: nothing to grant.
                Ok(_) => {}
                Err(_) => {
                    std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
                    spec.writable.push(dir);
                }
            }
        }
        if session.mode == Mode::Worktree {
            spec.writable
                .push(self.ensure_session_objects(&session.id)?);
            // Only the directory holding the session branches is writable (git creates
            // `<branch>.lock` next to the branch and renames it over): everything else under
            // `refs/` and `logs/` (the target branch, tags, remotes, the shared stash) stays
            // read-only by Landlock, which holds whatever renames happen outside.
            for dir in session_ref_dirs(common, session) {
                ensure_dir(&dir)?;
                spec.writable.push(dir);
            }
            if let Some(own) = own_admin_dir(common, worktree) {
                spec.writable.push(own);
            }
        }

        // Read-only inside what is writable.
        let pointer = worktree.join(".git");
        if pointer.is_file() {
            spec.read_only_binds.push(pointer);
        }
        for path in [
            common.join("config"),
            common.join("hooks"),
            repo.state_dir(),
            common.join("packed-refs"),
        ] {
            if path.exists() {
                spec.read_only_binds.push(path);
            }
        }
        for pattern in policy.protected().patterns() {
            let prefix = pattern.literal_prefix_dir();
            if prefix.is_empty() {
                continue;
            }
            let path = worktree.join(prefix);
            if path.exists() {
                spec.read_only_binds.push(path);
            }
        }
        if session.mode == Mode::Worktree {
            // Other sessions' branches share the directory the session writes its own branch
            // in: bind each read-only. A bind only holds until the file is replaced outside (a
            // commit in that session renames a new file over it); Landlock cannot tell files
            // of one directory apart, so the merge-back re-checks what a branch holds.
            let own: Vec<PathBuf> = session
                .branch
                .iter()
                .flat_map(|b| {
                    [
                        common.join("refs/heads").join(b),
                        common.join("logs/refs/heads").join(b),
                    ]
                })
                .collect();
            for dir in session_ref_dirs(common, session) {
                for file in files_under(&dir) {
                    if !own.contains(&file) {
                        spec.read_only_binds_if_present.push(file);
                    }
                }
            }
        }

        // Hidden: every other live session's worktree.
        spec.hidden.extend(self.other_worktrees(Some(&session.id))?);

        // Temp dirs. Landlock cannot hide part of a granted tree, so a temp dir that holds
        // another session's worktree (repositories under /tmp) is replaced by a private
        // directory inside it, which the session's TMPDIR points at.
        for dir in &policy.scratch().system {
            let dir = PathBuf::from(dir);
            if !dir.is_dir() {
                continue;
            }
            let canonical = crate::repo::canonical(&dir);
            // The same holds for the repository itself: granting a temp dir that holds the
            // session's worktree, the main worktree or the common dir would grant all of them
            // (files outside the scope, existing objects), even with no other session around.
            let guarded = [worktree.as_path(), repo.main_worktree(), common];
            if spec.hidden.iter().any(|h| h.starts_with(&canonical))
                || guarded.iter().any(|p| p.starts_with(&canonical))
            {
                let private = canonical.join(format!("paddock-{}", session.id));
                ensure_dir(&private)?;
                spec.writable.push(private);
            } else {
                spec.writable.push(canonical);
            }
        }
        Ok(spec)
    }

    /// Prepares the confinement of a session: the policy's preferred level, refused below the
    /// required level unless an operator approved a degraded mode for this session.
    pub fn confinement(&self, session: &Session) -> Result<Confinement, Error> {
        let spec = self.sandbox_spec(session)?;
        let isolation = self.policy().isolation();
        let requested = to_sandbox(isolation.sandbox_prefer);
        let mut weakest = to_sandbox(isolation.sandbox_require);
        for approval in self.approvals_for(&session.id)? {
            if let crate::approvals::Grant::Degraded { level } = &approval.grant
                && let Some(mode) = SandboxMode::from_name(level)
                && mode < weakest
            {
                weakest = mode;
            }
        }
        let allowed: Vec<SandboxMode> = SandboxMode::ALL
            .iter()
            .copied()
            .filter(|m| *m >= weakest)
            .collect();
        let private_tmp = spec
            .writable
            .iter()
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy() == format!("paddock-{}", session.id))
            })
            .cloned();
        let capabilities = self.capabilities();
        let prepared = paddock_sandbox::Prepared::with_capabilities(
            &spec,
            &capabilities,
            requested,
            &allowed,
        )?;
        let mut env = vec![
            (crate::guard::SESSION_ENV.to_owned(), session.id.clone()),
            (CONFINED_ENV.to_owned(), prepared.mode().as_str().to_owned()),
        ];
        if session.mode == Mode::Worktree {
            env.push((
                "GIT_OBJECT_DIRECTORY".to_owned(),
                self.session_objects(&session.id).display().to_string(),
            ));
            env.push((
                "GIT_ALTERNATE_OBJECT_DIRECTORIES".to_owned(),
                self.repo()
                    .common_dir()
                    .join("objects")
                    .display()
                    .to_string(),
            ));
        }
        if let Some(tmp) = private_tmp {
            env.push(("TMPDIR".to_owned(), tmp.display().to_string()));
        }
        Ok(Confinement {
            prepared,
            requested,
            env,
        })
    }
}

/// The probe's answer, cached for one boot of one kernel.
#[derive(serde::Serialize, serde::Deserialize)]
struct CachedCapabilities {
    boot_id: String,
    release: String,
    landlock_abi: Option<u32>,
    user_namespaces: bool,
    mount_namespaces: bool,
    seccomp: bool,
    notes: Vec<String>,
}

/// Where the cache lives in paddock's state. JSON, not YAML like the rest of the state: every
/// confined command reads it, and a JSON parse is a small fraction of a YAML one.
const CAPABILITIES_CACHE: &str = "kernel.json";
/// Where earlier versions kept the cache (YAML); removed when the cache is rewritten.
const OLD_CAPABILITIES_CACHE: &str = "kernel.yaml";

/// A small text file in one `read` (files under `/proc/sys` report no size up front).
fn read_small(path: &str) -> Option<String> {
    use std::io::Read as _;
    let mut buf = [0u8; 128];
    let mut file = std::fs::File::open(path).ok()?;
    let mut len = 0;
    loop {
        let n = file.read(&mut buf[len..]).ok()?;
        if n == 0 {
            break;
        }
        len += n;
        if len == buf.len() {
            return None;
        }
    }
    Some(std::str::from_utf8(&buf[..len]).ok()?.trim().to_owned())
}

fn boot_key() -> Option<(String, String)> {
    let boot = read_small("/proc/sys/kernel/random/boot_id")?;
    let release = read_small("/proc/sys/kernel/osrelease")?;
    Some((boot, release))
}

impl Workspace {
    /// What the kernel offers. Probing forks a process and creates a namespace, so the answer
    /// is cached per boot and kernel release in paddock's state (written only by unconfined
    /// processes). The sandbox test hook always probes afresh. A stale cache cannot make things
    /// weaker than the kernel: a layer that is gone makes the spawn fail, never run unconfined.
    pub fn capabilities(&self) -> paddock_sandbox::Capabilities {
        let simulated = std::env::var_os(paddock_sandbox::SIMULATE_ENV).is_some();
        let key = boot_key();
        let path = self.repo().state_dir().join(CAPABILITIES_CACHE);
        if !simulated
            && let Some((boot_id, release)) = &key
            && let Ok(text) = std::fs::read(&path)
            && let Ok(cached) = serde_json::from_slice::<CachedCapabilities>(&text)
            && &cached.boot_id == boot_id
            && &cached.release == release
        {
            return paddock_sandbox::Capabilities {
                landlock_abi: cached.landlock_abi,
                user_namespaces: cached.user_namespaces,
                mount_namespaces: cached.mount_namespaces,
                seccomp: cached.seccomp,
                notes: cached.notes,
            };
        }
        let capabilities = paddock_sandbox::probe();
        if !simulated && let Some((boot_id, release)) = key {
            let cached = CachedCapabilities {
                boot_id,
                release,
                landlock_abi: capabilities.landlock_abi,
                user_namespaces: capabilities.user_namespaces,
                mount_namespaces: capabilities.mount_namespaces,
                seccomp: capabilities.seccomp,
                notes: capabilities.notes.clone(),
            };
            if let Ok(text) = serde_json::to_vec_pretty(&cached)
                && let Ok(mut temp) = tempfile::NamedTempFile::new_in(self.repo().state_dir())
                && std::io::Write::write_all(&mut temp, &text).is_ok()
                && temp.persist(&path).is_ok()
            {
                let _ = std::fs::remove_file(self.repo().state_dir().join(OLD_CAPABILITIES_CACHE));
            }
        }
        capabilities
    }
}

/// `worktrees/<name>/` of the linked worktree at `worktree`.
/// The directories of `refs/` and `logs/` a worktree session writes its branch in: the
/// branch's parent (`refs/heads/paddock` for `paddock/<id>`). None for a branch directly under
/// `refs/heads`, whose directory holds the target branch: such a session cannot commit.
fn session_ref_dirs(common: &Path, session: &Session) -> Vec<PathBuf> {
    let Some(parent) = session
        .branch
        .as_deref()
        .and_then(|b| Path::new(b).parent())
        .filter(|p| !p.as_os_str().is_empty())
    else {
        return Vec::new();
    };
    vec![
        common.join("refs/heads").join(parent),
        common.join("logs/refs/heads").join(parent),
    ]
}

fn own_admin_dir(common: &Path, worktree: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(worktree.join(".git")).ok()?;
    let dir = PathBuf::from(text.strip_prefix("gitdir: ")?.trim());
    dir.starts_with(common.join("worktrees")).then_some(dir)
}

fn files_under(base: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![base.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                // `*.lock` files are other git processes' updates in flight: they vanish within
                // milliseconds, and a read-only bind on a path that is gone by the time the
                // sandbox mounts it fails the whole command. They are no ref to protect.
                Ok(t) if t.is_file() && entry.path().extension().is_none_or(|e| e != "lock") => {
                    files.push(entry.path())
                }
                _ => {}
            }
        }
    }
    files
}

/// Puts a copy of `from` at `to` in one step: readers (other merges walking the target's
/// history) must never see an object half-written, and a copy killed midway must not leave a
/// truncated object that later copies would skip as present. A hard link is atomic; across
/// filesystems, a temp file renamed into place is.
fn place_atomically(from: &Path, to: &Path) -> Result<(), Error> {
    match std::fs::hard_link(from, to) {
        Ok(()) => return Ok(()),
        // Someone else placed the same object meanwhile: objects are named by their content.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(_) => {}
    }
    let dir = to.parent().unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".paddock-")
        .tempfile_in(dir)
        .map_err(io("cannot copy into", dir))?;
    std::fs::copy(from, temp.path()).map_err(io("cannot copy into", temp.path()))?;
    temp.persist(to)
        .map_err(|e| io("cannot copy into", to)(e.error))?;
    Ok(())
}

/// Copies every file of `from` (except under `skip`) into `to` where it is missing.
fn copy_missing(from: &Path, to: &Path, skip: &Path) -> Result<(), Error> {
    let mut stack = vec![from.to_owned()];
    while let Some(dir) = stack.pop() {
        if dir == skip {
            continue;
        }
        let entries = std::fs::read_dir(&dir).map_err(io("cannot list", &dir))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(rel) = path.strip_prefix(from) else {
                continue;
            };
            let target = to.join(rel);
            if path.is_dir() {
                stack.push(path);
            } else if !target.exists() {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
                }
                place_atomically(&path, &target)?;
            }
        }
    }
    Ok(())
}
