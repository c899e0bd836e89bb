//! Running the `git` binary for what gix cannot do (worktrees, ref transactions, merges).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A git invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// git could not be started at all.
    #[error("could not run git (is it installed and on PATH?): {0}")]
    Spawn(#[source] std::io::Error),
    /// git ran and failed.
    #[error("`git {args}` failed in {dir}: {stderr}")]
    Failed {
        /// The arguments, joined for the message.
        args: String,
        /// Where it ran.
        dir: PathBuf,
        /// What git said (trimmed).
        stderr: String,
        /// Its exit code, if it exited.
        code: Option<i32>,
    },
    /// A ref could not be read (in-process, with gix).
    #[error("cannot read {name}: {message}")]
    Ref {
        /// The ref.
        name: String,
        /// What went wrong.
        message: String,
    },
}

/// The object the ref `name` points to, symbolic refs followed and tags not peeled: what
/// `git rev-parse --verify --quiet NAME` prints for a full ref name, read in-process (a git
/// process costs milliseconds, and merge-back reads several refs). `None`: there is no such
/// ref.
pub fn ref_target(repo: &gix::Repository, name: &str) -> Result<Option<String>, Error> {
    let err = |message: String| Error::Ref {
        name: name.to_owned(),
        message,
    };
    let Some(mut reference) = repo
        .try_find_reference(name)
        .map_err(|e| err(e.to_string()))?
    else {
        return Ok(None);
    };
    let id = reference
        .follow_to_object()
        .map_err(|e| err(e.to_string()))?;
    Ok(Some(id.to_string()))
}

/// [`ref_target`] for a ref that must exist.
pub fn existing_ref(repo: &gix::Repository, name: &str) -> Result<String, Error> {
    ref_target(repo, name)?.ok_or_else(|| Error::Ref {
        name: name.to_owned(),
        message: "no such ref".to_owned(),
    })
}

/// Variables git sets for hooks and that would redirect our own git calls.
const INHERITED_GIT_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
];

/// git in one directory.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
}

impl Git {
    /// git running in `dir` (with `-C dir`).
    pub fn new(dir: impl Into<PathBuf>) -> Git {
        Git { dir: dir.into() }
    }

    /// The directory git runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A command ready to run; the inherited hook variables are removed so that our calls act
    /// on `dir` and nothing else.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.dir).args(args).stdin(Stdio::null());
        for var in INHERITED_GIT_VARS {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Runs git and returns its stdout, trimmed of the final newline.
    pub fn run<I, S>(&self, args: I) -> Result<String, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let output = self.output(args)?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        while text.ends_with('\n') {
            text.pop();
        }
        Ok(text)
    }

    /// Runs git and returns its raw output when it exits 0.
    pub fn output<I, S>(&self, args: I) -> Result<Output, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let output = self.command(&args).output().map_err(Error::Spawn)?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(self.failed(&args, &output))
        }
    }

    /// Runs git and tells whether it exited 0 (for `--is-ancestor` and friends); other failures
    /// than exit 1 are errors.
    pub fn test<I, S>(&self, args: I) -> Result<bool, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let output = self.command(&args).output().map_err(Error::Spawn)?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(self.failed(&args, &output)),
        }
    }

    fn failed(&self, args: &[std::ffi::OsString], output: &Output) -> Error {
        Error::Failed {
            args: args
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            dir: self.dir.clone(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            code: output.status.code(),
        }
    }
}
