//! `paddock-rec`: append a record to the ledger from scripts and other tools.

fn main() -> std::process::ExitCode {
    paddock::paddock_rec()
}
