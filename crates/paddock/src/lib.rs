//! The `paddock`, `paddock-sh` and `paddock-rec` programs: they parse arguments, call the
//! libraries, render results and choose the exit code in one place. This library exists only so
//! the three thin `main`s share it; it is not an API.
#![allow(missing_docs)]

mod agents;
mod cli;
mod commands;
mod exit;
mod gatectx;
mod output;
mod rec;
mod sh;
mod supervisor;

use std::process::ExitCode;

use clap::Parser;

/// `paddock-sh ARGS...`
pub fn paddock_sh() -> ExitCode {
    sh::main(std::env::args().skip(1).collect())
}

/// `paddock-rec ARGS...`
pub fn paddock_rec() -> ExitCode {
    rec::main(std::env::args().skip(1).collect())
}

/// `paddock ARGS...`
pub fn paddock() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout and succeed; usage errors exit 2.
            let code = if err.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let json = cli.json;
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let code = exit::code_for(&err);
            output::error(&err, code, json);
            ExitCode::from(code)
        }
    }
}
