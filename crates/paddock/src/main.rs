//! The `paddock` binary: parses arguments, calls the libraries, renders results and chooses the
//! exit code in one place.

mod cli;
mod commands;
mod exit;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout and succeed; usage errors exit 2.
            let code = if err.use_stderr() { exit::ERROR } else { exit::OK };
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
