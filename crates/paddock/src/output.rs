//! Rendering: JSON wire types (stdout) and human text (stderr for diagnostics, stdout for data).

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::cli::Color;

/// A session as `--json` prints it. The wire format is documented in the README; keep it
/// stable and separate from the registry's on-disk format.
#[derive(Debug, Serialize)]
pub struct SessionJson<'a> {
    pub id: &'a str,
    pub role: &'a str,
    pub mode: &'static str,
    pub state: &'static str,
    pub blocked_reason: Option<&'a str>,
    pub scope: &'a [String],
    pub worktree: String,
    pub branch: Option<&'a str>,
    pub base: &'a str,
    pub target: &'a str,
    pub created: &'a str,
    pub expires: &'a str,
    pub archive_ref: Option<&'a str>,
}

impl<'a> From<&'a paddock_workspace::Session> for SessionJson<'a> {
    fn from(s: &'a paddock_workspace::Session) -> Self {
        SessionJson {
            id: &s.id,
            role: &s.role,
            mode: s.mode.as_str(),
            state: s.state.as_str(),
            blocked_reason: s.blocked_reason.as_deref(),
            scope: &s.scope,
            worktree: s.worktree.to_string_lossy().into_owned(),
            branch: s.branch.as_deref(),
            base: &s.base,
            target: &s.target,
            created: &s.created,
            expires: &s.expires,
            archive_ref: s.archive_ref.as_deref(),
        }
    }
}

/// Prints a value as one JSON document on stdout.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = stdout();
    // As an io::Error, so a closed stdout stays recognisable (`is_closed_stdout`).
    serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// stdout for a command's results. A write that fails because the reader went away (`| head`)
/// is marked, so [`is_closed_stdout`] can tell it apart from any other broken pipe (one to a
/// git process, which is a real failure).
pub struct Stdout(std::io::StdoutLock<'static>);

/// The process's stdout, locked, with closed-reader errors marked.
pub fn stdout() -> Stdout {
    Stdout(std::io::stdout().lock())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(mark_closed)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().map_err(mark_closed)
    }
}

#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout was closed by its reader")
    }
}

impl std::error::Error for StdoutClosed {}

fn mark_closed(err: std::io::Error) -> std::io::Error {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        std::io::Error::new(std::io::ErrorKind::BrokenPipe, StdoutClosed)
    } else {
        err
    }
}

/// Whether `err` is a write to [`stdout()`] whose reader went away: the reader has what it
/// wanted, so a command may count it as success (the Unix convention for a closed pipe).
pub fn is_closed_stdout(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .and_then(|e| e.get_ref())
            .is_some_and(|inner| inner.is::<StdoutClosed>())
    })
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    kind: &'a str,
    message: String,
    exit_code: u8,
}

/// Reports an error: a sentence on stderr, and with `--json` a JSON object on stdout too.
pub fn error(err: &anyhow::Error, code: u8, json: bool) {
    let word = if code == crate::exit::REFUSED {
        "refused"
    } else {
        "error"
    };
    eprintln!("paddock: {word}: {err:#}");
    if json {
        let body = ErrorJson {
            error: ErrorBody {
                kind: crate::exit::kind_for(err),
                message: format!("{err:#}"),
                exit_code: code,
            },
        };
        let _ = self::json(&body);
    }
}

/// Reports a command-line error that clap found (exit 2) under `--json`: the same JSON
/// object as every other failure, on stdout, with the kind `usage`. clap has already printed
/// its own message (with the usage line) on stderr.
pub fn usage_error(err: &clap::Error) {
    let text = err.render().to_string();
    // clap's first line is the sentence ("error: unexpected argument ..."); the rest is the
    // usage line and a pointer to --help.
    let message = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned();
    let body = ErrorJson {
        error: ErrorBody {
            kind: "usage",
            message,
            exit_code: crate::exit::ERROR,
        },
    };
    let _ = self::json(&body);
}

/// Whether `--json` is among the arguments (before any `--`): for errors found before the
/// arguments are parsed, so a script asking for JSON still gets JSON.
pub fn json_requested(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    args.into_iter()
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// Resolved colour choice for stderr/stdout human text.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    on: bool,
}

impl Style {
    /// Resolves `--color` once, honouring NO_COLOR, CLICOLOR_FORCE and whether stdout is a TTY.
    pub fn new(color: Color) -> Style {
        let on = match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && (std::io::stdout().is_terminal()
                        || std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0"))
            }
        };
        Style { on }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }
    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }
    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}
