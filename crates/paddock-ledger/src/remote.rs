//! [`push`] and [`pull`]: carry `refs/paddock/ledger/*` through an ordinary git remote,
//! never with force, so a rewritten ledger history is refused as a non-fast-forward.

use crate::git::{GitError, GitRepo};
use crate::options::valid_ref_prefix;

/// What happened to one ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefStatus {
    /// The ref did not exist on the receiving side and was created.
    Created,
    /// The ref moved forward.
    FastForward,
    /// Nothing to do.
    UpToDate,
    /// (pull) The local ref is ahead of the remote's: push it.
    LocalAhead,
}

/// One ref's update.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RefUpdate {
    /// The ref.
    pub ref_name: String,
    /// What happened.
    pub status: RefStatus,
}

/// A ref that was refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    /// The ref.
    pub ref_name: String,
    /// Why, as git says it (`non-fast-forward`, `fetch first`, ...).
    pub reason: String,
}

/// What [`push`] or [`pull`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Refs updated or checked, by name.
    pub refs: Vec<RefUpdate>,
}

/// A push or pull failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The remote name or URL could be taken for an option.
    #[error("{0:?} is not a usable remote: name a configured remote or give a URL")]
    InvalidRemote(String),
    /// The ref prefix is not a ref prefix.
    #[error("{0:?} is not a ref prefix under refs/")]
    InvalidPrefix(String),
    /// Some refs were refused: their histories diverge (a ledger was rewritten on one side).
    #[error(
        "{} ledger ref(s) refused by {remote} ({}): the histories diverge, which means a ledger \
         was rewritten on one side; nothing is forced: verify both sides with `paddock ledger verify`",
        refused.len(),
        refused.iter().map(|r| format!("{}: {}", r.ref_name, r.reason)).collect::<Vec<_>>().join(", ")
    )]
    Rejected {
        /// The remote.
        remote: String,
        /// The refused refs.
        refused: Vec<Rejection>,
        /// The refs that did go through.
        report: SyncReport,
    },
    /// git failed.
    #[error(transparent)]
    Git(#[from] GitError),
}

fn check(remote: &str, prefix: &str) -> Result<String, Error> {
    if remote.is_empty() || remote.starts_with('-') {
        return Err(Error::InvalidRemote(remote.to_owned()));
    }
    if !valid_ref_prefix(prefix) {
        return Err(Error::InvalidPrefix(prefix.to_owned()));
    }
    // No leading `+`: git refuses a non-fast-forward update instead of forcing it.
    Ok(format!("{prefix}/*:{prefix}/*"))
}

/// Pushes every ref under `prefix` (such as `refs/paddock/ledger`) to `remote`, without force.
/// A ref whose history the remote does not contain (a rewrite, or a remote that is ahead) is
/// refused: [`Error::Rejected`] lists them.
pub fn push(repo: &GitRepo, remote: &str, prefix: &str) -> Result<SyncReport, Error> {
    let refspec = check(remote, prefix)?;
    let args = [
        "push",
        "--porcelain",
        "--no-verify",
        remote,
        refspec.as_str(),
    ];
    let output = repo.output(&args, None, &[])?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut report = SyncReport::default();
    let mut refused = Vec::new();
    for line in stdout.lines() {
        // <flag> TAB <from>:<to> TAB <summary>
        let mut parts = line.splitn(3, '\t');
        let (Some(flag), Some(spec), summary) =
            (parts.next(), parts.next(), parts.next().unwrap_or(""))
        else {
            continue;
        };
        let Some((_, to)) = spec.split_once(':') else {
            continue;
        };
        let ref_name = to.to_owned();
        let status = match flag {
            "*" => RefStatus::Created,
            " " => RefStatus::FastForward,
            "=" => RefStatus::UpToDate,
            "!" => {
                let reason = summary
                    .trim_start_matches("[rejected]")
                    .trim()
                    .trim_matches(|c| c == '(' || c == ')');
                refused.push(Rejection {
                    ref_name,
                    reason: reason.to_owned(),
                });
                continue;
            }
            _ => continue,
        };
        report.refs.push(RefUpdate { ref_name, status });
    }
    if !refused.is_empty() {
        return Err(Error::Rejected {
            remote: remote.to_owned(),
            refused,
            report,
        });
    }
    if !output.status.success() {
        return Err(Error::Git(repo.failed(&args, &output)));
    }
    Ok(report)
}

/// Fetches every ref under `prefix` from `remote` into the same names, without force. A ref
/// that would move backwards because the local one is ahead is reported
/// [`RefStatus::LocalAhead`]; one whose history diverges is refused ([`Error::Rejected`]) and
/// left as it was.
pub fn pull(repo: &GitRepo, remote: &str, prefix: &str) -> Result<SyncReport, Error> {
    let refspec = check(remote, prefix)?;
    let args = [
        "fetch",
        "--porcelain",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-auto-gc",
        remote,
        refspec.as_str(),
    ];
    let output = repo.output(&args, None, &[])?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut report = SyncReport::default();
    let mut refused = Vec::new();
    for line in stdout.lines() {
        // <flag> SP <old> SP <new> SP <local ref>
        let mut parts = line.splitn(4, ' ');
        let (Some(flag), Some(old), Some(new), Some(local)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let ref_name = local.to_owned();
        let status = match flag {
            "*" => RefStatus::Created,
            "" => RefStatus::FastForward,
            "=" => RefStatus::UpToDate,
            "!" => {
                // Ahead (the remote's tip is in our history) or diverged?
                let ancestor =
                    repo.output(&["merge-base", "--is-ancestor", new, old], None, &[])?;
                if ancestor.status.success() {
                    RefStatus::LocalAhead
                } else {
                    refused.push(Rejection {
                        ref_name,
                        reason: "non-fast-forward".to_owned(),
                    });
                    continue;
                }
            }
            _ => continue,
        };
        report.refs.push(RefUpdate { ref_name, status });
    }
    if !refused.is_empty() {
        return Err(Error::Rejected {
            remote: remote.to_owned(),
            refused,
            report,
        });
    }
    // git fetch exits non-zero for the refs it refused; when each of those was only behind
    // ours, that is not a failure.
    let explained = report
        .refs
        .iter()
        .any(|r| r.status == RefStatus::LocalAhead);
    if !output.status.success() && !explained {
        return Err(Error::Git(repo.failed(&args, &output)));
    }
    Ok(report)
}
