//! Building the gate's context for a command: the session, its scope, other sessions'
//! worktrees, protected paths, scratch, approvals.

use std::path::Path;

use paddock_gate::{Approval, Context, ContextBuilder};
use paddock_workspace::approvals::Grant;
use paddock_workspace::{Session, Workspace};

/// The gate context for a command run in `cwd` for `session` (or for no session).
pub fn build(
    workspace: &Workspace,
    session: Option<&Session>,
    cwd: &Path,
) -> anyhow::Result<Context> {
    let repo = workspace.repo();
    let policy = workspace.policy();
    let mut builder = ContextBuilder::new(cwd, repo.main_worktree())
        .policy(policy)
        .git_common_dir(repo.common_dir())
        .hooks_dir(repo.common_dir().join("hooks"))
        .protected_dir(repo.state_dir())
        .protected_dir(repo.common_dir().join("paddock-objects"))
        .target_branch(policy.target_branch())
        .git_aliases(repo.git_aliases());
    if let Some(home) = std::env::var_os("HOME") {
        builder = builder.home(home);
    }
    let now = std::time::SystemTime::now();
    for other in workspace.sessions()? {
        if other.mode == paddock_workspace::Mode::Worktree
            && other.holds_scope(now)
            && session.is_none_or(|s| s.id != other.id)
        {
            builder = builder.other_session(other.id.clone(), other.worktree.clone());
        }
    }
    if let Some(session) = session {
        builder = builder.session(paddock_gate::Session {
            id: session.id.clone(),
            worktree: session.worktree.clone(),
            scope: paddock_policy::glob::PatternSet::new(&session.scope)?,
            branch: session.branch.clone(),
        });
        let mut approvals = Vec::new();
        for approval in workspace.approvals_for(&session.id)? {
            match &approval.grant {
                Grant::Rule { rule } => approvals.push(Approval {
                    rule: rule.clone(),
                    pattern: None,
                }),
                Grant::CrossAccess { other, paths } => {
                    let Ok(other) = workspace.session(other) else {
                        continue;
                    };
                    let root = other.worktree.display().to_string();
                    if paths.is_empty() {
                        approvals.push(Approval {
                            rule: "session.cross-access".to_owned(),
                            pattern: Some(root.clone()),
                        });
                        approvals.push(Approval {
                            rule: "session.cross-access".to_owned(),
                            pattern: Some(format!("{root}/*")),
                        });
                    }
                    for glob in paths {
                        // The gate's wildcard `*` crosses `/`: a glob's `**` and `*` both map to it.
                        let wildcard = glob.replace("**", "*");
                        approvals.push(Approval {
                            rule: "session.cross-access".to_owned(),
                            pattern: Some(format!("{root}/{wildcard}")),
                        });
                    }
                }
                Grant::Overlap { .. } | Grant::Degraded { .. } => {}
            }
        }
        builder = builder.approvals(approvals);
    }
    Ok(builder.build()?)
}
