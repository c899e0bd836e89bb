//! Rendering: results on stdout (JSON or human text), diagnostics and errors on stderr, through
//! one writer ([`stdout()`]) that survives a closed or failing stdout; errors as sentences.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

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
    /// The merge in progress (state `merging`): target, old and new tips, head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merging: Option<&'a paddock_workspace::session::MergeProgress>,
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
            merging: s.merging.as_ref(),
        }
    }
}

/// Prints a value as one JSON document on stdout. Only a value that cannot be serialized is an
/// error here; a failed write is remembered, like any other (see [`stdout()`]).
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    write_remembered(&text);
    Ok(())
}

/// `print!` (see the macros in `lib.rs`): through [`stdout()`], a failure remembered.
pub fn print(args: std::fmt::Arguments<'_>) {
    match args.as_str() {
        Some(text) => write_remembered(text.as_bytes()),
        None => write_remembered(args.to_string().as_bytes()),
    }
}

/// `println!` (see the macros in `lib.rs`): through [`stdout()`], a failure remembered.
pub fn print_line(args: std::fmt::Arguments<'_>) {
    let mut text = args.to_string();
    text.push('\n');
    write_remembered(text.as_bytes());
}

/// [`stdout()`] for another thread (a turn's echo of its command's output): locks for each
/// write, and remembers a failure like any other write.
pub fn shared_stdout() -> Box<dyn Write + Send> {
    struct Shared;
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            stdout().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            stdout().flush()
        }
    }
    Box::new(Shared)
}

/// `eprint!`/`eprintln!` (see the macros in `lib.rs`). A diagnostic that cannot be written
/// has nowhere else to go, so a failure is ignored (std's macros would panic: `2>&1 | head`).
pub fn eprint(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Writes through [`stdout()`]; a failure is remembered for [`finish()`], not returned. For
/// output whose loss must not change what the command does or its exit status.
fn write_remembered(bytes: &[u8]) {
    let mut out = stdout();
    let _ = out.write_all(bytes);
}

/// The one writer for what commands print on stdout: results, JSON, streams.
///
/// std's `println!` panics when the write fails. Here the first failure is remembered, and
/// every later write fails the same way without trying, so a command stops producing output it
/// cannot deliver. [`finish()`] tells `paddock()` what happened, which decides: a reader that
/// went away (EPIPE: `| head` has read what it wanted, `less` quit) is no error, and the
/// command exits as it would have, quietly; any other failure (a full disk) is an error,
/// exit 2. Streaming commands propagate the error with `?` to stop early; everything else
/// prints with `println!` (which comes here too, see `lib.rs`) or [`json()`] and goes on.
///
/// A stdout closed before paddock starts (`>&-`) never gets here as an error: Rust's runtime
/// opens /dev/null on a closed standard descriptor, so the output is simply discarded.
pub struct Stdout(std::io::StdoutLock<'static>);

/// The process's stdout, locked, for writing a command's results.
pub fn stdout() -> Stdout {
    Stdout(std::io::stdout().lock())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(failure) = FAILURE.get() {
            return Err(failure.to_error());
        }
        self.0.write(buf).map_err(failed)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(failure) = FAILURE.get() {
            return Err(failure.to_error());
        }
        self.0.flush().map_err(failed)
    }
}

/// The first failed write to stdout (see [`Stdout`]).
static FAILURE: OnceLock<Failure> = OnceLock::new();

/// How writing to stdout failed.
#[derive(Debug, Clone)]
pub struct Failure {
    kind: std::io::ErrorKind,
    message: String,
}

impl Failure {
    /// The reader went away: not an error.
    pub fn is_closed(&self) -> bool {
        self.kind == std::io::ErrorKind::BrokenPipe
    }

    /// The failure as an error: "cannot write to stdout", caused by what the system said.
    pub fn to_error(&self) -> std::io::Error {
        std::io::Error::new(
            self.kind,
            StdoutError {
                closed: self.is_closed(),
                source: std::io::Error::new(self.kind, self.message.clone()),
            },
        )
    }
}

fn failed(err: std::io::Error) -> std::io::Error {
    let failure = Failure {
        kind: err.kind(),
        message: err.to_string(),
    };
    let error = failure.to_error();
    // Only the first failure counts: later ones are its echoes.
    let _ = FAILURE.set(failure);
    error
}

/// Flushes stdout and returns the first failed write, if any: for `paddock()` to decide the
/// exit status once the command is done.
pub fn finish() -> Option<Failure> {
    let _ = stdout().flush();
    FAILURE.get().cloned()
}

/// A failed write to stdout, marked as such, so [`is_closed_stdout`] can tell a closed stdout
/// apart from any other broken pipe (one to a git process, which is a real failure).
#[derive(Debug)]
struct StdoutError {
    closed: bool,
    source: std::io::Error,
}

impl std::fmt::Display for StdoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.closed {
            "stdout was closed by its reader"
        } else {
            "cannot write to stdout"
        })
    }
}

impl std::error::Error for StdoutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Whether `err` is a write to [`stdout()`] whose reader went away: the reader has what it
/// wanted, so it counts as success (the Unix convention for a closed pipe).
pub fn is_closed_stdout(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .and_then(|e| e.get_ref())
            .and_then(|inner| inner.downcast_ref::<StdoutError>())
            .is_some_and(|e| e.closed)
    })
}

/// An error as one line for people: the message of each error in the chain, joined by `: `.
///
/// Errors in paddock's libraries leave their cause to `source()` and do not repeat it in their
/// message; some (those that wrap another error's text) still do. A cause whose message the
/// line already holds is left out, so nothing is said twice (`cannot open ledger X: No such
/// file or directory (os error 2): No such file or directory (os error 2)`).
pub fn sentence(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
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
    let message = sentence(err);
    eprintln!("paddock: {word}: {message}");
    if json {
        let body = ErrorJson {
            error: ErrorBody {
                kind: crate::exit::kind_for(err),
                message,
                exit_code: code,
            },
        };
        let _ = self::json(&body);
    }
}

/// Reports a command-line error that clap found (exit `code`) under `--json`: the same JSON
/// object as every other failure, on stdout, with the kind `usage`. clap has already printed
/// its own message (with the usage line) on stderr.
pub fn usage_error(err: &clap::Error, code: u8) {
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
            exit_code: code,
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

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// An error that, like many, puts its cause's message into its own and returns it as the
    /// source as well.
    #[derive(Debug)]
    struct Embeds(std::io::Error);

    impl std::fmt::Display for Embeds {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot open ledger x: {}", self.0)
        }
    }

    impl std::error::Error for Embeds {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    fn enoent() -> std::io::Error {
        std::io::Error::from_raw_os_error(2)
    }

    #[test]
    fn a_sentence_says_each_cause_once() {
        let err = anyhow::Error::new(Embeds(enoent())).context("cannot verify");
        assert_eq!(
            sentence(&err),
            "cannot verify: cannot open ledger x: No such file or directory (os error 2)"
        );
        // A cause left to the chain is printed once, after its error.
        let err = anyhow::Error::new(enoent()).context("cannot read x");
        assert_eq!(
            sentence(&err),
            "cannot read x: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn stdout_failures_read_as_sentences() {
        let full = Failure {
            kind: std::io::ErrorKind::StorageFull,
            message: "No space left on device (os error 28)".to_owned(),
        };
        assert!(!full.is_closed());
        let err = anyhow::Error::new(full.to_error());
        assert_eq!(
            sentence(&err),
            "cannot write to stdout: No space left on device (os error 28)"
        );
        assert!(!is_closed_stdout(&err));
        let closed = Failure {
            kind: std::io::ErrorKind::BrokenPipe,
            message: "Broken pipe (os error 32)".to_owned(),
        };
        assert!(closed.is_closed());
        assert!(is_closed_stdout(
            &anyhow::Error::new(closed.to_error()).context("cannot print")
        ));
        // A broken pipe that is not stdout's (to a child process) is a real failure.
        assert!(!is_closed_stdout(&anyhow::Error::new(
            std::io::Error::from(std::io::ErrorKind::BrokenPipe)
        )));
    }
}
