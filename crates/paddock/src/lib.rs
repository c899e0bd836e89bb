//! The `paddock`, `paddock-sh` and `paddock-rec` programs: they parse arguments, call the
//! libraries, render results and choose the exit code in one place. This library exists only so
//! the three thin `main`s share it; it is not an API.
#![allow(missing_docs)]

// Every `print!`, `println!`, `eprint!` and `eprintln!` in this crate's modules (declared below,
// so these shadow std's macros there) goes through `output`. std's versions panic when the write
// fails: `paddock ledger export | head -1` closes the pipe early, `> /dev/full` fills up. On
// stdout a failure is remembered, the command finishes, and `paddock()` decides once it is done:
// a reader that went away is quiet success, anything else an error (see `output::Stdout`).
// A diagnostic that cannot be written to stderr has nowhere else to go and is dropped.
#[allow(unused_macros)]
macro_rules! print {
    ($($arg:tt)*) => { $crate::output::print(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::output::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::print_line(format_args!($($arg)*)) };
}
#[allow(unused_macros)]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::output::eprint(format_args!($($arg)*)) };
}
macro_rules! eprintln {
    () => { $crate::output::eprint(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::eprint(format_args!("{}\n", format_args!($($arg)*))) };
}

mod agents;
mod cli;
mod commands;
mod exit;
mod gatectx;
mod output;
mod progress;
mod rec;
mod sh;
mod supervisor;
mod timings;

use std::process::ExitCode;

use clap::Parser;

/// `paddock-sh ARGS...`
pub fn paddock_sh() -> ExitCode {
    match utf8_args("paddock-sh") {
        Ok(args) => sh::main(args),
        Err(message) => {
            eprintln!("{message}; nothing ran");
            ExitCode::from(sh::FAILED)
        }
    }
}

/// `paddock-rec ARGS...`
pub fn paddock_rec() -> ExitCode {
    match utf8_args("paddock-rec") {
        Ok(args) => rec::main(args),
        Err(message) => {
            eprintln!("{message}; nothing was recorded");
            ExitCode::from(exit::ERROR)
        }
    }
}

/// The arguments as text. `std::env::args()` panics on bytes that are not UTF-8 (paths can
/// hold any byte); the gate reads commands as text, so such an argument is refused with a
/// message instead of a panic. A script file may still hold any bytes.
fn utf8_args(program: &str) -> Result<Vec<String>, String> {
    std::env::args_os()
        .skip(1)
        .enumerate()
        .map(|(i, arg)| {
            arg.into_string().map_err(|arg| {
                format!(
                    "{program}: argument {} is not valid UTF-8 ({:?}); pass such paths through a \
                     script file or a glob instead",
                    i + 1,
                    arg
                )
            })
        })
        .collect()
}

/// `paddock ARGS...`
pub fn paddock() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let parsed = match cli::Cli::hook_invocation(&args) {
        Some(cli) => Ok(cli),
        None => cli::Cli::try_parse(),
    };
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout and succeed; usage errors exit 2 (125 for `turn
            // run`, whose 2 could be its command's: see `exit::Status`).
            let code = if err.use_stderr() {
                exit::Status::of_words(&cli::command_path(std::env::args_os().skip(1))).error()
            } else {
                exit::OK
            };
            let _ = err.print();
            if code != exit::OK && output::json_requested(std::env::args_os()) {
                output::usage_error(&err, code);
            }
            return ExitCode::from(code);
        }
    };
    let (json, status) = (cli.json, exit::Status::of(&cli.command));
    let result = commands::run(cli);
    ExitCode::from(exit::settle(result, output::finish(), status, json))
}
