//! The watcher: where the kernel layer is absent (older kernels, other systems, processes
//! started outside the wrapper), notice out-of-scope and cross-session changes after the fact,
//! record them and block the session.
//!
//! inotify cannot block, carries no pid and misses files created right after a fast `mkdir -p`,
//! so its events are only evidence: each burst is reconciled by rescanning the directories it
//! names and asking git which of the candidate paths really differ from the session's HEAD (a
//! rebase or checkout rewrites files outside the scope without anyone breaking a rule).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use notify::{RecursiveMode, Watcher};
use paddock_policy::glob::PatternSet;
use serde::Serialize;

use crate::Workspace;
use crate::git::Git;
use crate::record::Event;
use crate::session::{Mode, Session};

/// Watcher errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel's inotify limit is too low for the trees.
    #[error(
        "the inotify watch limit ({limit}) is too low to watch {dirs}+ directories; raise it, e.g. \
         `sysctl fs.inotify.max_user_watches=524288` (persist it in /etc/sysctl.d/)"
    )]
    Limit {
        /// `fs.inotify.max_user_watches`.
        limit: String,
        /// How many directories were being watched.
        dirs: usize,
    },
    /// notify failed otherwise.
    #[error("cannot watch {path}: {message}")]
    Notify {
        /// The path.
        path: PathBuf,
        /// What notify said.
        message: String,
    },
    /// The registry could not be read.
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
    /// git failed.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
    /// Recording failed.
    #[error(transparent)]
    Record(#[from] crate::record::Error),
    /// Blocking failed.
    #[error(transparent)]
    Guard(#[from] crate::guard::Error),
}

/// Something the watcher saw.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The session whose worktree it happened in (`None`: the main worktree, unattributed).
    pub session: Option<String>,
    /// Repo-relative path.
    pub path: String,
    /// Rule id.
    pub rule: &'static str,
    /// When it was seen (RFC 3339).
    pub seen: String,
    /// Milliseconds from the first event of the burst to the decision.
    pub latency_ms: u64,
}

/// Watcher settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only this session's worktree.
    pub session: Option<String>,
    /// How long a burst may last before it is reconciled.
    pub debounce: Duration,
    /// How often the set of sessions is refreshed.
    pub refresh: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            session: None,
            debounce: Duration::from_millis(50),
            refresh: Duration::from_secs(2),
        }
    }
}

/// One watched tree.
struct Root {
    path: PathBuf,
    session: Option<Session>,
    scope: PatternSet,
}

impl Workspace {
    fn watch_roots(&self, options: &Options) -> Result<Vec<Root>, Error> {
        let now = SystemTime::now();
        let mut roots = Vec::new();
        for session in self.registry().load_all()? {
            if session.mode != Mode::Worktree || !session.holds_scope(now) {
                continue;
            }
            if options.session.as_ref().is_some_and(|id| id != &session.id) {
                continue;
            }
            let scope = PatternSet::new(&session.scope).unwrap_or_default();
            roots.push(Root {
                path: session.worktree.clone(),
                session: Some(session),
                scope,
            });
        }
        if options.session.is_none() {
            roots.push(Root {
                path: self.repo().main_worktree().to_owned(),
                session: None,
                scope: PatternSet::empty(),
            });
        }
        Ok(roots)
    }

    /// Watches until `stop` is set, calling `report` for each finding after it is recorded (and
    /// its session blocked).
    pub fn watch(
        &self,
        options: &Options,
        stop: &AtomicBool,
        ready: impl FnOnce(usize),
        mut report: impl FnMut(&Finding),
    ) -> Result<(), Error> {
        let (tx, rx) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = tx.send(event);
        })
        .map_err(|e| Error::Notify {
            path: PathBuf::from("/"),
            message: e.to_string(),
        })?;
        let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
        let mut roots = self.watch_roots(options)?;
        for root in &roots {
            add_tree(&mut watcher, &root.path, &mut watched)?;
        }
        ready(watched.len());
        let mut last_refresh = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let first = match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(event) => event,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if last_refresh.elapsed() >= options.refresh {
                        roots = self.refresh(options, &mut watcher, &mut watched)?;
                        last_refresh = Instant::now();
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let started = Instant::now();
            let mut events = vec![first];
            while let Ok(event) = rx.recv_timeout(options.debounce) {
                events.push(event);
                if started.elapsed() > options.debounce * 10 {
                    break;
                }
            }
            let mut touched: BTreeSet<PathBuf> = BTreeSet::new();
            for event in events {
                let event = match event {
                    Ok(event) => event,
                    Err(err) if matches!(err.kind, notify::ErrorKind::MaxFilesWatch) => {
                        return Err(limit_error(watched.len()));
                    }
                    Err(_) => continue,
                };
                // Reads (opening, listing) change nothing, and reacting to them would feed on the
                // watcher's own rescans. A write that completes (close-after-write) does count.
                use notify::event::{AccessKind, AccessMode, EventKind};
                match event.kind {
                    EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
                    EventKind::Access(_) | EventKind::Any | EventKind::Other => continue,
                    _ => {}
                }
                for path in event.paths {
                    if path.components().any(|c| c.as_os_str() == ".git") && !path.ends_with(".git")
                    {
                        continue;
                    }
                    touched.insert(path);
                }
            }
            // inotify misses what is created inside a new directory before its watch exists:
            // watch new directories now and treat what is already in them as touched.
            for path in touched.clone() {
                if path.is_dir() && !watched.contains(&path) {
                    add_tree(&mut watcher, &path, &mut watched)?;
                    for file in walk_files(&path) {
                        touched.insert(file);
                    }
                }
            }
            for finding in self.reconcile(&roots, &touched, started)? {
                report(&finding);
            }
        }
        Ok(())
    }

    fn refresh(
        &self,
        options: &Options,
        watcher: &mut notify::RecommendedWatcher,
        watched: &mut BTreeSet<PathBuf>,
    ) -> Result<Vec<Root>, Error> {
        let roots = self.watch_roots(options)?;
        for root in &roots {
            if !watched.contains(&root.path) {
                add_tree(watcher, &root.path, watched)?;
            }
        }
        let gone: Vec<PathBuf> = watched
            .iter()
            .filter(|p| !roots.iter().any(|r| p.starts_with(&r.path)))
            .cloned()
            .collect();
        for path in gone {
            let _ = watcher.unwatch(&path);
            watched.remove(&path);
        }
        Ok(roots)
    }

    /// Decides what a burst of touched paths means: candidates outside the scope (or protected)
    /// count only if git sees them changed.
    fn reconcile(
        &self,
        roots: &[Root],
        touched: &BTreeSet<PathBuf>,
        started: Instant,
    ) -> Result<Vec<Finding>, Error> {
        // Paths stay raw bytes until they are shown: a name that is not UTF-8 must still reach
        // git as itself, or git never reports it and the change goes unseen.
        let mut by_root: HashMap<usize, Vec<(Vec<u8>, &'static str)>> = HashMap::new();
        for path in touched {
            // The deepest root containing the path (session worktrees may sit under the main one).
            let Some((index, root)) = roots
                .iter()
                .enumerate()
                .filter(|(_, r)| path.starts_with(&r.path))
                .max_by_key(|(_, r)| r.path.as_os_str().len())
            else {
                continue;
            };
            let Ok(rel) = path.strip_prefix(&root.path) else {
                continue;
            };
            let bytes = rel.as_os_str().as_bytes();
            if bytes.is_empty() {
                continue;
            }
            let rule = if self.policy().protected().is_match(bytes) {
                "fs.write.protected"
            } else if root.session.is_some()
                && !root.scope.is_match(bytes)
                && !self.policy().scratch().worktree.is_match(bytes)
            {
                "fs.write.outside-scope"
            } else {
                continue;
            };
            by_root
                .entry(index)
                .or_default()
                .push((bytes.to_vec(), rule));
        }
        let mut findings = Vec::new();
        for (index, candidates) in by_root {
            let root = &roots[index];
            let changed = changed_paths(&root.path, candidates.iter().map(|(p, _)| p.as_slice()))?;
            let rules: BTreeMap<&[u8], &'static str> =
                candidates.iter().map(|(p, r)| (p.as_slice(), *r)).collect();
            let mut blocked = false;
            for raw in changed {
                let Some(rule) = rules.get(raw.as_slice()).copied() else {
                    continue;
                };
                let path = String::from_utf8_lossy(&raw).into_owned();
                let finding = Finding {
                    session: root.session.as_ref().map(|s| s.id.clone()),
                    path: path.clone(),
                    rule,
                    seen: crate::session::timestamp(SystemTime::now()),
                    latency_ms: started.elapsed().as_millis() as u64,
                };
                self.record(Event {
                    kind: "deny.write".to_owned(),
                    session: finding.session.clone(),
                    data: serde_json::json!({
                        "path": finding.path, "rule": rule, "detected_by": "watch", "worktree": root.path.to_string_lossy(),
                    }),
                })?;
                if let Some(session) = &root.session
                    && !blocked
                {
                    self.block(&session.id, &format!("watcher saw {rule} on {path}"))?;
                    blocked = true;
                }
                findings.push(finding);
            }
        }
        Ok(findings)
    }

    /// After a command ran in a session: what the kernel cannot stop (it grants whole
    /// directories) — paths changed outside the exact scope globs, new nested `.git`, a
    /// rewritten worktree pointer file.
    pub fn after_command(&self, session: &Session) -> Result<Vec<crate::guard::Violation>, Error> {
        let mut violations = Vec::new();
        if session.mode != Mode::Worktree {
            return Ok(violations);
        }
        let pointer = session.worktree.join(".git");
        let expected = self.repo().common_dir().join("worktrees");
        // It must lead to an admin dir of this repository, and to this worktree's own: one
        // re-aimed at another session's admin dir would commit onto that session's branch.
        let pointer_ok = std::fs::read_to_string(&pointer)
            .ok()
            .and_then(|t| t.strip_prefix("gitdir: ").map(|p| PathBuf::from(p.trim())))
            .is_some_and(|admin| {
                admin.starts_with(&expected)
                    && std::fs::read_to_string(admin.join("gitdir")).is_ok_and(|back| {
                        // git writes the path it was given, which may differ in symlinks.
                        crate::repo::canonical(Path::new(back.trim()))
                            == crate::repo::canonical(&pointer)
                    })
            });
        if !pointer_ok {
            violations.push(crate::guard::Violation {
                rule: "fs.write.protected",
                subject: pointer.display().to_string(),
                detail: "the worktree's .git pointer file was changed or removed".to_owned(),
            });
        }
        let scope = PatternSet::new(&session.scope).unwrap_or_default();
        // No optional locks: another command of the same session may be committing right now.
        let output = Git::new(&session.worktree)
            .command([
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
                "--no-renames",
            ])
            .env("GIT_OPTIONAL_LOCKS", "0")
            .output()
            .map_err(crate::git::Error::Spawn)?;
        if !output.status.success() {
            return Err(crate::git::Error::Failed {
                args: "status".to_owned(),
                dir: session.worktree.clone(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                code: output.status.code(),
            }
            .into());
        }
        let status = output.stdout;
        for entry in status.split(|b| *b == 0).filter(|e| e.len() > 3) {
            let path = &entry[3..];
            let shown = String::from_utf8_lossy(path).into_owned();
            let nested_git =
                path.ends_with(b"/.git") || path.ends_with(b"/.git/") || shown.contains("/.git/");
            if nested_git {
                violations.push(crate::guard::Violation {
                    rule: "fs.write.protected",
                    subject: shown,
                    detail: "a nested repository was created inside the worktree".to_owned(),
                });
            } else if self.policy().protected().is_match(path) {
                violations.push(crate::guard::Violation {
                    rule: "fs.write.protected",
                    subject: shown,
                    detail: "protected by the policy".to_owned(),
                });
            } else if !scope.is_match(path) && !self.policy().scratch().worktree.is_match(path) {
                violations.push(crate::guard::Violation {
                    rule: "fs.write.outside-scope",
                    subject: shown,
                    detail: format!(
                        "outside session {}'s scope ({})",
                        session.id,
                        session.scope.join(" ")
                    ),
                });
            }
        }
        Ok(violations)
    }
}

/// The candidates git reports as changed (modified, added, deleted or untracked) in `root`.
fn changed_paths<'a>(
    root: &Path,
    candidates: impl Iterator<Item = &'a [u8]>,
) -> Result<Vec<Vec<u8>>, Error> {
    let git = Git::new(root);
    let mut args: Vec<OsString> = [
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--no-renames",
        "--",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    args.extend(candidates.map(|c| OsStr::from_bytes(c).to_owned()));
    // The watcher reads while sessions work: a status that refreshed the index would take
    // `index.lock` and make the session's own `git add` or `git commit` fail meanwhile.
    let output = git
        .command(&args)
        .env("GIT_LITERAL_PATHSPECS", "1")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .map_err(crate::git::Error::Spawn)?;
    let out = output.stdout;
    Ok(out
        .split(|b| *b == 0)
        .filter(|e| e.len() > 3)
        .map(|e| e[3..].to_vec())
        .collect())
}

fn limit_error(dirs: usize) -> Error {
    let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    Error::Limit { limit, dirs }
}

/// Watches every directory of a tree except `.git`, non-recursively (so new directories get a
/// rescan, not a blind spot).
fn add_tree(
    watcher: &mut notify::RecommendedWatcher,
    root: &Path,
    watched: &mut BTreeSet<PathBuf>,
) -> Result<(), Error> {
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        if watched.contains(&dir) {
            continue;
        }
        match watcher.watch(&dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                watched.insert(dir.clone());
            }
            Err(err) if matches!(err.kind, notify::ErrorKind::MaxFilesWatch) => {
                return Err(limit_error(watched.len()));
            }
            Err(err) if matches!(&err.kind, notify::ErrorKind::Io(io) if io.raw_os_error() == Some(nix::errno::Errno::ENOSPC as i32)) =>
            {
                return Err(limit_error(watched.len()));
            }
            // The directory vanished in the meantime: nothing to watch.
            Err(_) if !dir.exists() => continue,
            Err(err) => {
                return Err(Error::Notify {
                    path: dir,
                    message: err.to_string(),
                });
            }
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && entry.file_name() != ".git" {
                stack.push(entry.path());
            }
        }
    }
    Ok(())
}

fn walk_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() && entry.file_name() != ".git" => stack.push(entry.path()),
                Ok(t) if !t.is_dir() => files.push(entry.path()),
                _ => {}
            }
        }
    }
    files
}
