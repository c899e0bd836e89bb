//! Installing, checking and removing the git hook shims.
//!
//! Shims live in the hooks folder git uses (`git rev-parse --git-path hooks`, shared by every
//! worktree). A hook that was there first is kept as `<hook>.legacy`, runs first, and its
//! failure still blocks; uninstalling puts it back byte for byte.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Repo;

/// The events paddock uses; each costs a process per run, so no others are installed.
pub const EVENTS: &[&str] = &[
    "pre-commit",
    "reference-transaction",
    "pre-push",
    "post-commit",
    "post-merge",
    "post-rewrite",
];

/// Bumped whenever the shim text changes; older shims are reported as stale.
pub const SHIM_VERSION: u32 = 2;

const SHIM_MARKER: &str = "# paddock-shim:";

/// Errors installing or removing hooks.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `core.hooksPath` points somewhere paddock must not or cannot write.
    #[error(
        "core.hooksPath is set to {path:?} ({scope} config): {reason}. paddock installs its hooks \
         where git runs them, so it refuses to proceed; {help}"
    )]
    HooksPath {
        /// The configured value.
        path: String,
        /// Which config file sets it.
        scope: String,
        /// Why it is refused.
        reason: &'static str,
        /// What to do.
        help: &'static str,
    },
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
    /// git failed.
    #[error(transparent)]
    Git(#[from] crate::git::Error),
}

/// The state of one hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookState {
    /// paddock's current shim.
    Installed,
    /// paddock's shim from another version, or pointing at a binary that is gone.
    Stale,
    /// Someone else's hook where paddock's should be.
    Foreign,
    /// No hook.
    Missing,
}

/// One line of `paddock doctor` / `init --check`.
#[derive(Debug, Clone, Serialize)]
pub struct HookReport {
    /// The event.
    pub event: &'static str,
    /// Its state.
    pub state: HookState,
    /// Whether a previous hook is chained as `<event>.legacy`.
    pub legacy: bool,
    /// A sentence for people.
    pub detail: String,
}

/// Where git runs hooks for this repository, and whether `core.hooksPath` is in play.
#[derive(Debug, Clone)]
pub struct HooksDir {
    /// The folder.
    pub path: PathBuf,
    /// `core.hooksPath` and the scope that sets it, if set.
    pub hooks_path: Option<(String, String)>,
}

/// Finds the hooks folder and refuses a `core.hooksPath` that would make paddock's hooks
/// ineffective or write into somebody else's folder.
pub fn hooks_dir(repo: &Repo, accept_hooks_path: bool) -> Result<HooksDir, Error> {
    let git = repo.git();
    let configured = git
        .run(["config", "--show-scope", "--get", "core.hooksPath"])
        .ok();
    let hooks_path = configured.and_then(|line| {
        let (scope, value) = line.split_once('\t')?;
        Some((value.to_owned(), scope.to_owned()))
    });
    if let Some((value, scope)) = &hooks_path {
        let refuse = |reason, help| Error::HooksPath {
            path: value.clone(),
            scope: scope.clone(),
            reason,
            help,
        };
        if scope != "local" && scope != "worktree" {
            return Err(refuse(
                "it is not set by this repository, so it is shared with others",
                "unset it for this repository (`git config --local core.hooksPath ''` does not \
                 help; remove the global setting or override it with an absolute local path), \
                 then run `paddock init --accept-hooks-path`",
            ));
        }
        if !Path::new(value).is_absolute() {
            return Err(refuse(
                "it is relative, so it means a different folder in every worktree",
                "make it absolute (`git config core.hooksPath /abs/path`) or unset it",
            ));
        }
        if !accept_hooks_path {
            return Err(refuse(
                "paddock would write its shims into that folder",
                "if that folder belongs to this repository, run `paddock init --accept-hooks-path`",
            ));
        }
    }
    let path = git.run(["rev-parse", "--path-format=absolute", "--git-path", "hooks"])?;
    Ok(HooksDir {
        path: PathBuf::from(path),
        hooks_path,
    })
}

/// The shim for one event.
pub fn shim(event: &str, binary: &Path) -> String {
    let binary = binary.display().to_string().replace('\'', "'\\''");
    let reads_stdin = matches!(event, "reference-transaction" | "pre-push" | "post-rewrite");
    // reference-transaction runs several times per commit: only `prepared` can refuse, so the
    // shim returns for the other states without starting paddock.
    let gate = if event == "reference-transaction" {
        "[ \"$1\" = prepared ] || exit 0\n"
    } else {
        ""
    };
    let mut text = format!(
        "#!/bin/sh\n\
         {SHIM_MARKER} {event}\n\
         # paddock-shim-version: {SHIM_VERSION}\n\
         # Installed by `paddock init`; `paddock init --uninstall` restores the hook that was here\n\
         # (kept as {event}.legacy, which runs first and whose failure still blocks).\n\
         PADDOCK='{binary}'\n\
         [ -x \"$PADDOCK\" ] || PADDOCK=paddock\n"
    );
    if reads_stdin {
        text.push_str(&format!(
            "if [ -x \"$0.legacy\" ]; then\n\
             \x20 input=$(cat; echo x); input=${{input%x}}\n\
             \x20 printf '%s' \"$input\" | \"$0.legacy\" \"$@\" || exit $?\n\
             \x20 {gate_inline}printf '%s' \"$input\" | \"$PADDOCK\" hook {event} \"$@\"\n\
             \x20 exit $?\n\
             fi\n\
             {gate}exec \"$PADDOCK\" hook {event} \"$@\"\n",
            gate_inline = if gate.is_empty() {
                String::new()
            } else {
                "[ \"$1\" = prepared ] || exit 0; ".to_owned()
            },
        ));
        if event == "reference-transaction" {
            // Most transactions touch only HEAD, AUTO_MERGE and the like, which paddock never
            // refuses: decide that in the shell and save starting a process. Only builtins
            // (`read`, a here-document) so that a commit pays no extra fork either.
            text = text.replace(
                &format!("{gate}exec \"$PADDOCK\" hook {event} \"$@\"\n"),
                &format!(
                    "{gate}input=\n\
                     while IFS= read -r line || [ -n \"$line\" ]; do input=\"$input$line\n\"; done\n\
                     case \"$input\" in *\" refs/heads/\"*) ;; *) exit 0 ;; esac\n\
                     exec \"$PADDOCK\" hook {event} \"$@\" <<PADDOCK_REFS\n\
                     $input\n\
                     PADDOCK_REFS\n"
                ),
            );
        }
    } else {
        text.push_str(&format!(
            "if [ -x \"$0.legacy\" ]; then \"$0.legacy\" \"$@\" || exit $?; fi\n\
             exec \"$PADDOCK\" hook {event} \"$@\"\n"
        ));
    }
    text
}

fn shim_info(text: &str) -> Option<(String, Option<u32>, Option<String>)> {
    let event = text
        .lines()
        .find_map(|l| l.strip_prefix(SHIM_MARKER))?
        .trim()
        .to_owned();
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("# paddock-shim-version:"))
        .and_then(|v| v.trim().parse().ok());
    let binary = text
        .lines()
        .find_map(|l| l.strip_prefix("PADDOCK='"))
        .map(|b| b.trim_end_matches('\'').replace("'\\''", "'"));
    Some((event, version, binary))
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Installs (or refreshes) every shim. Idempotent; a foreign hook is kept as `.legacy`.
pub fn install(dir: &HooksDir, binary: &Path) -> Result<Vec<HookReport>, Error> {
    fs::create_dir_all(&dir.path).map_err(io("cannot create", &dir.path))?;
    for event in EVENTS {
        let path = dir.path.join(event);
        let legacy = dir.path.join(format!("{event}.legacy"));
        let existing = fs::symlink_metadata(&path).is_ok();
        if existing {
            let text = fs::read(&path).map_err(io("cannot read", &path))?;
            let ours = shim_info(&String::from_utf8_lossy(&text)).is_some();
            if !ours {
                if fs::symlink_metadata(&legacy).is_ok() {
                    // Both a foreign hook and a legacy one: never overwrite someone's hook.
                    return Err(Error::Io {
                        action: "refusing to replace",
                        path,
                        source: std::io::Error::other(format!(
                            "{} already exists too; move one of them away first",
                            legacy.display()
                        )),
                    });
                }
                fs::rename(&path, &legacy)
                    .map_err(io("cannot keep the existing hook as", &legacy))?;
            }
        }
        let temp = dir.path.join(format!(".{event}.paddock-tmp"));
        fs::write(&temp, shim(event, binary)).map_err(io("cannot write", &temp))?;
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o755))
            .map_err(io("cannot chmod", &temp))?;
        fs::rename(&temp, &path).map_err(io("cannot install", &path))?;
    }
    check(dir)
}

/// Removes paddock's shims and puts back any hook that was there before.
pub fn uninstall(dir: &HooksDir) -> Result<Vec<HookReport>, Error> {
    for event in EVENTS {
        let path = dir.path.join(event);
        let legacy = dir.path.join(format!("{event}.legacy"));
        let ours = fs::read(&path)
            .map(|t| shim_info(&String::from_utf8_lossy(&t)).is_some())
            .unwrap_or(false);
        if !ours {
            continue;
        }
        if fs::symlink_metadata(&legacy).is_ok() {
            fs::rename(&legacy, &path).map_err(io("cannot restore", &path))?;
        } else {
            fs::remove_file(&path).map_err(io("cannot remove", &path))?;
        }
    }
    check(dir)
}

/// Reports the state of every hook paddock uses.
pub fn check(dir: &HooksDir) -> Result<Vec<HookReport>, Error> {
    let mut reports = Vec::new();
    for event in EVENTS {
        let path = dir.path.join(event);
        let legacy = fs::symlink_metadata(dir.path.join(format!("{event}.legacy"))).is_ok();
        let (state, detail) = match fs::read(&path) {
            Err(_) => (
                HookState::Missing,
                "not installed: run `paddock init`".to_owned(),
            ),
            Ok(text) => match shim_info(&String::from_utf8_lossy(&text)) {
                None => (
                    HookState::Foreign,
                    "another tool's hook: `paddock init` keeps it as .legacy and chains it"
                        .to_owned(),
                ),
                Some((_, version, _)) if version != Some(SHIM_VERSION) => (
                    HookState::Stale,
                    format!(
                        "shim version {version:?}, expected {SHIM_VERSION}: run `paddock init`"
                    ),
                ),
                Some((_, _, Some(binary))) if !Path::new(&binary).exists() => (
                    HookState::Stale,
                    format!(
                        "calls {binary}, which is gone (falls back to paddock on PATH): run `paddock init`"
                    ),
                ),
                Some(_) => {
                    let executable = fs::metadata(&path)
                        .map(|m| m.permissions().mode() & 0o111 != 0)
                        .unwrap_or(false);
                    if executable {
                        (HookState::Installed, "installed".to_owned())
                    } else {
                        (
                            HookState::Stale,
                            "not executable, so git skips it: run `paddock init`".to_owned(),
                        )
                    }
                }
            },
        };
        reports.push(HookReport {
            event,
            state,
            legacy,
            detail,
        });
    }
    Ok(reports)
}
