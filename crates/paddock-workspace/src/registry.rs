//! The session registry under `$GIT_COMMON_DIR/paddock/`: one YAML file per session, written
//! atomically (temp file + rename) while holding an exclusive `flock` on `registry.lock`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use crate::session::Session;

/// How long a command waits for another paddock process to release the registry.
const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Registry errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The state directory or a file in it could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The lock could not be taken: refuse rather than write unguarded.
    #[error(
        "could not take the registry lock {path} within {}s: another paddock command holds it; \
         retry, or look for a stuck paddock process",
        LOCK_TIMEOUT.as_secs()
    )]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
    },
    /// flock itself failed.
    #[error("could not lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// A session file does not parse.
    #[error(
        "the registry file {path} is corrupt: {message}; paddock will not guess what it said. \
         Inspect it, restore it from the ledger (`paddock ledger show --session ID`), or move it \
         aside"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// No session with that id.
    #[error("no session {id:?}; `paddock session list` shows the sessions")]
    UnknownSession {
        /// The id asked for.
        id: String,
    },
}

/// The registry of one repository.
#[derive(Debug, Clone)]
pub struct Registry {
    state_dir: PathBuf,
    /// The sessions as last read. Taking the lock or saving drops it, so whatever is decided
    /// under the lock reads the files afresh.
    snapshot: std::cell::RefCell<Option<Vec<Session>>>,
}

/// Proof that the registry lock is held; writes require it. Dropping it unlocks.
#[derive(Debug)]
pub struct RegistryLock {
    _flock: Flock<File>,
}

impl Registry {
    /// The registry in `state_dir` (created on first write).
    pub fn new(state_dir: impl Into<PathBuf>) -> Registry {
        Registry {
            state_dir: state_dir.into(),
            snapshot: std::cell::RefCell::new(None),
        }
    }

    /// paddock's state directory.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    fn sessions_dir(&self) -> PathBuf {
        self.state_dir.join("sessions")
    }

    fn session_path(&self, id: &str) -> PathBuf {
        self.sessions_dir().join(format!("{id}.yaml"))
    }

    /// Creates the state directories.
    pub fn ensure(&self) -> Result<(), Error> {
        let dir = self.sessions_dir();
        fs::create_dir_all(&dir).map_err(|source| Error::Io {
            action: "cannot create",
            path: dir,
            source,
        })
    }

    /// Takes the exclusive registry lock, waiting up to a minute for other paddock processes.
    pub fn lock(&self) -> Result<RegistryLock, Error> {
        self.ensure()?;
        self.snapshot.replace(None);
        let path = self.state_dir.join("registry.lock");
        let deadline = Instant::now() + LOCK_TIMEOUT;
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| Error::Io {
                action: "cannot open",
                path: path.clone(),
                source,
            })?;
        let mut pause = Duration::from_millis(1);
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(flock) => {
                    self.sweep_temp_files();
                    return Ok(RegistryLock { _flock: flock });
                }
                Err((returned, nix::Error::EWOULDBLOCK)) | Err((returned, nix::Error::EINTR)) => {
                    if Instant::now() >= deadline {
                        return Err(Error::LockTimeout { path });
                    }
                    file = returned;
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err((_, source)) => return Err(Error::Lock { path, source }),
            }
        }
    }

    /// Removes temp files a writer killed mid-save left behind. Only called with the lock held:
    /// every save holds it, so no temp file present now is still being written.
    fn sweep_temp_files(&self) {
        let Ok(entries) = fs::read_dir(self.sessions_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().as_encoded_bytes().starts_with(b".tmp-") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Every session, sorted by creation time then id. A corrupt file is an error.
    pub fn load_all(&self) -> Result<Vec<Session>, Error> {
        if let Some(sessions) = self.snapshot.borrow().as_ref() {
            return Ok(sessions.clone());
        }
        let sessions = self.read_all()?;
        self.snapshot.replace(Some(sessions.clone()));
        Ok(sessions)
    }

    fn read_all(&self) -> Result<Vec<Session>, Error> {
        let dir = self.sessions_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io {
                    action: "cannot list",
                    path: dir,
                    source,
                });
            }
        };
        let mut sessions = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| Error::Io {
                action: "cannot list",
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            // `.tmp-*` files are writes in flight (or left by a writer killed mid-save): never
            // the registry's word on a session.
            if entry.file_name().as_encoded_bytes().starts_with(b".") {
                continue;
            }
            if path.extension().is_some_and(|e| e == "yaml") {
                sessions.push(read_session(&path)?);
            }
        }
        sessions.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        Ok(sessions)
    }

    /// One session by id.
    pub fn load(&self, id: &str) -> Result<Session, Error> {
        if crate::session::validate_name("session id", id).is_err() {
            return Err(Error::UnknownSession { id: id.to_owned() });
        }
        let path = self.session_path(id);
        if !path.exists() {
            return Err(Error::UnknownSession { id: id.to_owned() });
        }
        read_session(&path)
    }

    /// Whether a session file exists for `id` (in any state).
    pub fn contains(&self, id: &str) -> bool {
        self.session_path(id).exists()
    }

    /// Writes a session atomically: a reader sees the old file or the new one, never a mix.
    pub fn save(&self, _lock: &RegistryLock, session: &Session) -> Result<(), Error> {
        self.snapshot.replace(None);
        let dir = self.sessions_dir();
        let path = self.session_path(&session.id);
        let text = serde_saphyr::to_string(session).map_err(|err| Error::Io {
            action: "cannot serialize",
            path: path.clone(),
            source: std::io::Error::other(err.to_string()),
        })?;
        let io = |action: &'static str| {
            let path = dir.clone();
            move |source| Error::Io {
                action,
                path,
                source,
            }
        };
        let mut temp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".yaml")
            .tempfile_in(self.sessions_dir())
            .map_err(io("cannot create a temp file in"))?;
        temp.write_all(text.as_bytes())
            .map_err(io("cannot write a temp file in"))?;
        temp.as_file()
            .sync_all()
            .map_err(io("cannot sync a temp file in"))?;
        temp.persist(&path).map_err(|err| Error::Io {
            action: "cannot replace",
            path: path.clone(),
            source: err.error,
        })?;
        // The rename is durable only once the directory is synced.
        if let Ok(dir) = File::open(self.sessions_dir()) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

fn read_session(path: &Path) -> Result<Session, Error> {
    let text = fs::read_to_string(path).map_err(|source| Error::Io {
        action: "cannot read",
        path: path.to_owned(),
        source,
    })?;
    let session: Session = serde_saphyr::from_str(&text).map_err(|err| Error::Corrupt {
        path: path.to_owned(),
        message: err.without_snippet().to_string(),
    })?;
    let expected = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    if expected.as_deref() != Some(session.id.as_str()) {
        return Err(Error::Corrupt {
            path: path.to_owned(),
            message: format!(
                "it holds session {:?}, not the one its name says",
                session.id
            ),
        });
    }
    Ok(session)
}
