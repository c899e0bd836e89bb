//! Finding the repository a command acts on, and its paddock state.

use std::path::{Path, PathBuf};

use paddock_policy::Policy;

use crate::git::Git;

/// The repository-relative path of a repository's own policy.
pub const POLICY_PATH: &str = ".paddock/policy.yaml";

/// Errors of [`Repo::discover`].
pub mod discover {
    use std::path::PathBuf;

    /// Why no usable repository was found.
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        /// Not inside a git repository.
        #[error(
            "{dir} is not inside a git repository; run paddock in a repository or pass --repo DIR"
        )]
        NotARepository {
            /// Where the search started.
            dir: PathBuf,
            /// What gix said.
            #[source]
            source: Box<gix::Error>,
        },
        /// A bare repository has no worktree to guard.
        #[error("{git_dir} is a bare repository; paddock guards repositories with a working tree")]
        Bare {
            /// The repository.
            git_dir: PathBuf,
        },
        /// The main worktree could not be located from the common dir.
        #[error("cannot locate the main worktree of {common_dir}: {reason}")]
        NoMainWorktree {
            /// The common git dir.
            common_dir: PathBuf,
            /// Why.
            reason: String,
        },
    }
}

/// Errors of [`Repo::load_policy`].
pub mod load_policy {
    use std::path::PathBuf;

    /// Why the repository's policy cannot be used.
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        /// The file exists but cannot be read.
        #[error("cannot read the policy {path}: {source}")]
        Read {
            /// The policy file.
            path: PathBuf,
            /// The I/O error.
            #[source]
            source: std::io::Error,
        },
        /// The file is invalid: never treated as "allow".
        #[error(transparent)]
        Invalid(#[from] paddock_policy::Error),
    }
}

/// A git repository with a working tree, as paddock sees it.
#[derive(Debug, Clone)]
pub struct Repo {
    gix: gix::Repository,
    main_worktree: PathBuf,
    worktree: PathBuf,
    common_dir: PathBuf,
    git_dir: PathBuf,
}

impl Repo {
    /// Finds the repository containing `dir` (which may be a linked worktree).
    pub fn discover(dir: &Path) -> Result<Repo, discover::Error> {
        let repo = gix::discover(dir).map_err(|source| discover::Error::NotARepository {
            dir: dir.to_owned(),
            source: Box::new(source),
        })?;
        let Some(worktree) = repo.workdir() else {
            return Err(discover::Error::Bare {
                git_dir: repo.git_dir().to_owned(),
            });
        };
        let common_dir = canonical(repo.common_dir());
        let git_dir = canonical(repo.git_dir());
        let worktree = canonical(worktree);
        // The common dir of a non-bare repository is its main worktree's `.git`.
        let main_worktree = if common_dir.file_name().is_some_and(|n| n == ".git") {
            common_dir.parent().map(Path::to_owned).ok_or_else(|| {
                discover::Error::NoMainWorktree {
                    common_dir: common_dir.clone(),
                    reason: "the common dir has no parent".to_owned(),
                }
            })?
        } else if common_dir == git_dir {
            worktree.clone()
        } else {
            return Err(discover::Error::NoMainWorktree {
                common_dir,
                reason: "it is not named `.git`; separate git dirs are not supported".to_owned(),
            });
        };
        Ok(Repo {
            gix: repo,
            main_worktree,
            worktree,
            common_dir,
            git_dir,
        })
    }

    /// The repository opened with gix, for reading objects, refs and the index.
    pub fn gix(&self) -> &gix::Repository {
        &self.gix
    }
    /// The main worktree (where people work and the target branch is checked out).
    pub fn main_worktree(&self) -> &Path {
        &self.main_worktree
    }
    /// The worktree discovery started in (the main one or a linked one).
    pub fn worktree(&self) -> &Path {
        &self.worktree
    }
    /// The git dir shared by all worktrees.
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }
    /// The current worktree's own git dir.
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }
    /// paddock's state: registry, ledger, artifacts, blobs (`$GIT_COMMON_DIR/paddock`).
    pub fn state_dir(&self) -> PathBuf {
        self.common_dir.join("paddock")
    }
    /// The repository's policy file (it may not exist).
    pub fn policy_path(&self) -> PathBuf {
        self.main_worktree.join(POLICY_PATH)
    }
    /// The repository name, for the default worktree root.
    pub fn name(&self) -> String {
        self.main_worktree
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "repo".to_owned())
    }
    /// The repository's git aliases (`alias.NAME = VALUE`), so the gate sees through them.
    pub fn git_aliases(&self) -> Vec<(String, String)> {
        let config = self.gix.config_snapshot();
        let Some(sections) = config.plumbing().sections_by_name("alias") else {
            return Vec::new();
        };
        let mut aliases = Vec::new();
        for section in sections {
            let body = section.body();
            for name in body.value_names() {
                if let Some(value) = body.value(&name) {
                    aliases.push((name.to_lowercase(), value.to_string()));
                }
            }
        }
        aliases
    }

    /// git in the main worktree.
    pub fn git(&self) -> Git {
        Git::new(&self.main_worktree)
    }

    /// The repository's policy, or the built-in one when it has none. An unreadable or invalid
    /// policy is an error, never a fallback.
    pub fn load_policy(&self) -> Result<Policy, load_policy::Error> {
        let path = self.policy_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(paddock_policy::load(&text, &path.to_string_lossy())?),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Policy::builtin()),
            Err(source) => Err(load_policy::Error::Read { path, source }),
        }
    }

    /// Where session worktrees go: the policy's root, or `<parent>/<repo>.paddock`.
    pub fn worktree_root(&self, policy: &Policy) -> PathBuf {
        match &policy.isolation().worktree_root {
            Some(root) if Path::new(root).is_absolute() => PathBuf::from(root),
            Some(root) => self.main_worktree.join(root),
            None => {
                let parent = self.main_worktree.parent().unwrap_or(Path::new("/"));
                parent.join(format!("{}.paddock", self.name()))
            }
        }
    }
}

/// Resolves symlinks where the path exists; keeps it as given otherwise.
pub(crate) fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// Checks what repository discovery alone cannot: that the `.git` governing `dir` really says
/// which guarded repository `dir` belongs to. Discovery stops at the first `.git` it meets, so
/// without this a `.git` file re-aimed at a missing directory or at another repository, a
/// submodule checkout or a nested clone inside a session's worktree would each look like "no
/// session here" (or "no repository at all"), and commands started there would run
/// unconfined. Returns why `dir` is refused.
pub fn check_git_link(dir: &Path) -> Result<(), String> {
    let dir = canonical(dir);
    let Some((root, common)) = governing_repo(&dir)? else {
        return Ok(());
    };
    // A repository nested in another one's worktree (a submodule's checkout, a clone, `git
    // init` by hand) is refused only when the outer repository is guarded by paddock: there,
    // the outer session's confinement must not be sidestepped by starting inside it.
    let mut outer = root.parent().map(Path::to_owned);
    while let Some(ancestor) = outer {
        let Ok(Some((outer_root, outer_common))) = governing_repo(&ancestor) else {
            break;
        };
        if outer_common != common && outer_common.join("paddock").is_dir() {
            return Err(format!(
                "{} is a repository nested inside {}, which paddock guards; paddock does not \
                 act for nested repositories (a submodule or a clone inside a worktree): run \
                 the command from {}",
                root.display(),
                outer_root.display(),
                outer_root.display()
            ));
        }
        outer = outer_root.parent().map(Path::to_owned);
    }
    Ok(())
}

/// The worktree root whose `.git` governs `dir` and the common git dir it leads to, following
/// a `.git` file only to a linked worktree's admin dir (`<common>/worktrees/<name>`).
fn governing_repo(dir: &Path) -> Result<Option<(PathBuf, PathBuf)>, String> {
    let mut at = Some(dir);
    while let Some(root) = at {
        let dot_git = root.join(".git");
        match std::fs::symlink_metadata(&dot_git) {
            Ok(meta) if meta.is_dir() => return Ok(Some((root.to_owned(), canonical(&dot_git)))),
            Ok(meta) if meta.is_file() => {
                let text = std::fs::read_to_string(&dot_git).unwrap_or_default();
                let Some(target) = text.strip_prefix("gitdir:").map(str::trim) else {
                    return Err(format!(
                        "{} is not a `gitdir: PATH` file, so paddock cannot tell which \
                         repository {} belongs to; restore it",
                        dot_git.display(),
                        dir.display()
                    ));
                };
                let admin = canonical(&root.join(target));
                if !admin.join("HEAD").is_file() {
                    return Err(format!(
                        "{} points to {}, which is not a git directory (moved or deleted?), so \
                         paddock cannot tell which repository {} belongs to; restore the file \
                         (`git worktree repair` from the main worktree) or move the worktree back",
                        dot_git.display(),
                        admin.display(),
                        dir.display()
                    ));
                }
                let common = match std::fs::read_to_string(admin.join("commondir")) {
                    Ok(commondir) => canonical(&admin.join(commondir.trim())),
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        return Err(format!(
                            "{} points to {}, the git directory of a separate repository (a \
                             submodule or a separate git dir); paddock does not act for it: run \
                             the command from the worktree of the repository paddock guards",
                            dot_git.display(),
                            admin.display()
                        ));
                    }
                    // Unreadable from here (a confined process may not read it): a linked
                    // worktree's admin dir sits in `<common>/worktrees/`, and discovery judges
                    // the rest.
                    Err(_) => admin
                        .parent()
                        .and_then(Path::parent)
                        .map_or_else(|| admin.clone(), Path::to_owned),
                };
                return Ok(Some((root.to_owned(), common)));
            }
            // A symlink named `.git` or any other oddity: git follows it, so judge the target.
            Ok(_) => {
                if dot_git.is_dir() {
                    return Ok(Some((root.to_owned(), canonical(&dot_git))));
                }
                return Err(format!(
                    "{} is neither a git directory nor a `gitdir:` file; paddock cannot tell \
                     which repository {} belongs to",
                    dot_git.display(),
                    dir.display()
                ));
            }
            Err(_) => at = root.parent(),
        }
    }
    Ok(None)
}
