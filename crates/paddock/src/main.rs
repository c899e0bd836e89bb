//! `paddock`: sessions, hooks, merge-back, approvals, the ledger, the gate (see README.md).

fn main() -> std::process::ExitCode {
    paddock::paddock()
}
