//! `paddock-sh`: the drop-in `$SHELL` for agents (see README.md).

fn main() -> std::process::ExitCode {
    paddock::paddock_sh()
}
