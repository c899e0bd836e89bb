//! `paddock approve ...`: operator overrides.

use paddock_workspace::approvals::{Approval, Grant};

use super::Globals;
use crate::cli::{ApproveCommand, ApproveCommon};
use crate::exit;
use crate::output;

/// The operator's name, as recorded in approvals.
pub fn operator() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "operator".to_owned())
}

pub fn run(globals: &Globals, cmd: ApproveCommand) -> anyhow::Result<u8> {
    let workspace = globals.workspace()?;
    let cwd = globals.dir()?;
    let give = |common: ApproveCommon, grant: Grant| -> anyhow::Result<Approval> {
        let valid_for = paddock_workspace::session::parse_ttl(&common.until)
            .map_err(|e| anyhow::anyhow!("--until: {e}"))?;
        Ok(workspace.approve(
            &cwd,
            &common.session,
            grant,
            &common.reason,
            valid_for,
            &operator(),
        )?)
    };
    let approval = match cmd {
        ApproveCommand::Overlap { common, other } => give(common, Grant::Overlap { other })?,
        ApproveCommand::CrossAccess {
            common,
            other,
            paths,
        } => give(common, Grant::CrossAccess { other, paths })?,
        ApproveCommand::Rule { common, rule } => give(common, Grant::Rule { rule })?,
        ApproveCommand::Degraded { common, level } => give(common, Grant::Degraded { level })?,
        ApproveCommand::List => {
            let approvals = workspace.approvals()?;
            if globals.json {
                output::json(&approvals)?;
            } else if approvals.is_empty() {
                println!("no approvals");
            } else {
                let now = std::time::SystemTime::now();
                for a in &approvals {
                    let state = if a.revoked.is_some() {
                        "revoked"
                    } else if a.is_live(now) {
                        "live"
                    } else {
                        "expired"
                    };
                    println!(
                        "{} {:<8} {}: {} (by {}, until {}): {}",
                        a.id,
                        state,
                        a.session,
                        a.grant.describe(),
                        a.by,
                        a.until,
                        a.why
                    );
                }
            }
            return Ok(exit::OK);
        }
        ApproveCommand::Revoke { id, reason } => {
            workspace.revoke(&cwd, &id, &reason, &operator())?
        }
    };
    if globals.json {
        output::json(&approval)?;
    } else {
        let verb = if approval.revoked.is_some() {
            "revoked"
        } else {
            "approved"
        };
        println!(
            "{verb} {}: session {} — {} (until {})",
            approval.id,
            approval.session,
            approval.grant.describe(),
            approval.until
        );
    }
    Ok(exit::OK)
}
