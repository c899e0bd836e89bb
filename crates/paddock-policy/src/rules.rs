//! The catalogue of built-in command rules.
//!
//! The gate (`paddock-gate`) understands commands and reports which of these rules a command
//! would break; the policy only decides what happens then ([`Action`](crate::Action)). Rule ids
//! are stable: they appear in ledger records, in `--json` output and in policies.

/// A built-in rule: its stable id, what it guards against, and whether a policy may relax it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, e.g. `git.discard`.
    pub id: &'static str,
    /// One line for people: what the rule refuses.
    pub summary: &'static str,
    /// Fail-closed rules can be made to require an approval, never to allow.
    pub fail_closed: bool,
}

/// Every built-in rule, in the order `paddock policy check --rules` lists them.
pub const CATALOGUE: &[Rule] = &[
    Rule { id: "git.discard", summary: "git commands that discard uncommitted work (reset --hard/--merge/--keep, checkout/restore of the worktree, switch --discard-changes)", fail_closed: false },
    Rule { id: "git.clean", summary: "git clean that deletes untracked files", fail_closed: false },
    Rule { id: "git.stash.drop", summary: "git stash drop/clear", fail_closed: false },
    Rule { id: "git.branch.force-delete", summary: "forced branch deletion (branch -D, --delete --force)", fail_closed: false },
    Rule { id: "git.push.force", summary: "force pushes (-f, --force*, +refspec, --mirror)", fail_closed: false },
    Rule { id: "git.push.delete", summary: "pushes that delete remote refs (:ref, --delete, --prune)", fail_closed: false },
    Rule { id: "git.push.protected", summary: "pushes to the protected target branch", fail_closed: false },
    Rule { id: "git.hooks.bypass", summary: "skipping hooks (--no-verify, -n)", fail_closed: false },
    Rule { id: "git.hooks.repoint", summary: "disabling or re-pointing hooks (core.hooksPath and friends)", fail_closed: true },
    Rule { id: "git.history.rewrite", summary: "history rewriting tools (filter-branch, filter-repo, replace)", fail_closed: false },
    Rule { id: "git.ref.delete", summary: "deleting refs (update-ref -d, tag -d, symbolic-ref -d)", fail_closed: false },
    Rule { id: "git.prune", summary: "pruning reflogs and unreachable objects (reflog expire/delete, gc --prune, prune)", fail_closed: false },
    Rule { id: "git.worktree.remove", summary: "removing, moving or pruning worktrees", fail_closed: false },
    Rule { id: "fs.delete.outside-scope", summary: "recursive or bulk deletion outside the session's scope", fail_closed: false },
    Rule { id: "fs.write.outside-scope", summary: "writes outside the session's scope and scratch paths", fail_closed: false },
    Rule { id: "fs.write.protected", summary: "writes to protected paths (governance dir, policy, paddock state, git internals)", fail_closed: true },
    Rule { id: "session.cross-access", summary: "reading or writing another session's worktree (INV-WS-003)", fail_closed: true },
    Rule { id: "shell.dynamic", summary: "commands whose name, arguments or text are computed at run time (eval, $var, $(...))", fail_closed: true },
    Rule { id: "shell.script-input", summary: "scripts fed to a shell or interpreter from a pipe or file", fail_closed: true },
    Rule { id: "shell.interpreter-write", summary: "interpreter one-liners that may write (python -c, perl -e, node -e ...)", fail_closed: true },
    Rule { id: "gate.parse-error", summary: "command lines the gate cannot parse", fail_closed: true },
];

/// Looks a rule up by id.
pub fn find(id: &str) -> Option<&'static Rule> {
    CATALOGUE.iter().find(|rule| rule.id == id)
}
