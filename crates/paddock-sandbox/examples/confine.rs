//! Runs one command in a sandbox described on the command line.
//!
//! ```text
//! confine --probe
//! confine [--mode MODE] [--allow MODE]... [--read PATH]... [--write PATH]... [--hide PATH]...
//!         [--ro-bind PATH]... [--print-mode] -- PROGRAM [ARG]...
//! ```
//!
//! `--mode` defaults to `full`; `--allow` defaults to `full` and `landlock`. Without `--read`,
//! everything is readable. Exits with the program's exit code (128 + signal when it was killed),
//! or 125 when the sandbox could not be set up.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use paddock_sandbox::{CommandExt as _, Mode, Prepared, Spec};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("confine: {message}");
            ExitCode::from(125)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let mut args = std::env::args_os().skip(1);
    let mut spec = Spec::new();
    let mut readable = Vec::new();
    let mut mode = Mode::Full;
    let mut allowed = Vec::new();
    let mut print_mode = false;
    let mut program = Vec::new();
    while let Some(arg) = args.next() {
        let arg = arg
            .to_str()
            .ok_or("arguments before `--` must be UTF-8")?
            .to_owned();
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--probe" => {
                println!("{}", paddock_sandbox::probe());
                return Ok(ExitCode::SUCCESS);
            }
            "--mode" | "--allow" => {
                let name = value()?;
                let name = name.to_string_lossy();
                let parsed = Mode::from_name(&name).ok_or(format!("unknown mode `{name}`"))?;
                if arg == "--mode" {
                    mode = parsed;
                } else {
                    allowed.push(parsed);
                }
            }
            "--read" => readable.push(PathBuf::from(value()?)),
            "--write" => spec.writable.push(PathBuf::from(value()?)),
            "--hide" => spec.hidden.push(PathBuf::from(value()?)),
            "--ro-bind" => spec.read_only_binds.push(PathBuf::from(value()?)),
            "--print-mode" => print_mode = true,
            "--" => {
                program.extend(args.by_ref());
                break;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if !readable.is_empty() {
        spec.readable = readable;
    }
    if allowed.is_empty() {
        allowed = vec![Mode::Full, Mode::LandlockOnly];
    }
    let (name, rest) = program.split_first().ok_or("no program after `--`")?;
    let prepared = Prepared::new(&spec, mode, &allowed).map_err(|e| e.to_string())?;
    if print_mode {
        eprintln!(
            "confine: mode {} (requested {})",
            prepared.mode(),
            prepared.requested()
        );
    }
    let status = Command::new(name)
        .args(rest)
        .confine(&prepared)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", name.to_string_lossy()))?;
    let code = match status.code() {
        Some(code) => code,
        None => {
            use std::os::unix::process::ExitStatusExt as _;
            128 + status.signal().unwrap_or(0)
        }
    };
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
