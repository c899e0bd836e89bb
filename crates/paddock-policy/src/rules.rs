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
    Rule {
        id: "git.discard",
        summary: "git commands that discard uncommitted work (reset --hard/--merge/--keep, \
                  checkout/restore of worktree paths, checkout -f, switch --discard-changes/-f, \
                  checkout-index -f, read-tree --reset -u, submodule deinit -f)",
        fail_closed: false,
    },
    Rule {
        id: "git.clean",
        summary: "git clean that deletes untracked files (anything but --dry-run/-n)",
        fail_closed: false,
    },
    Rule {
        id: "git.stash.drop",
        summary: "git stash drop/clear",
        fail_closed: false,
    },
    Rule {
        id: "git.branch.force-delete",
        summary: "forced branch deletion or overwrite (branch -D, --delete --force, -M, -C; \
                  force-moving the target branch or another session's branch)",
        fail_closed: false,
    },
    Rule {
        id: "git.push.force",
        summary: "force pushes (-f, --force*, +refspec, --mirror)",
        fail_closed: false,
    },
    Rule {
        id: "git.push.delete",
        summary: "pushes that delete remote refs (:ref, --delete, --prune, --mirror)",
        fail_closed: false,
    },
    Rule {
        id: "git.push.protected",
        summary: "updates of the protected target branch: pushes to it (also --all, --mirror), \
                  update-ref of it",
        fail_closed: false,
    },
    Rule {
        id: "git.hooks.bypass",
        summary: "skipping hooks (--no-verify on commit, merge, rebase, am, pull, push; commit -n, \
                  am -n)",
        fail_closed: false,
    },
    Rule {
        id: "git.hooks.repoint",
        summary: "disabling or re-pointing hooks (-c core.hooksPath=, git config core.hooksPath, \
                  GIT_CONFIG_* and include.path tricks, writes into the hooks directory)",
        fail_closed: true,
    },
    Rule {
        id: "git.history.rewrite",
        summary: "history rewriting tools (filter-branch, filter-repo, replace)",
        fail_closed: false,
    },
    Rule {
        id: "git.ref.delete",
        summary: "deleting or overwriting refs (update-ref -d/--stdin, tag -d/-f, symbolic-ref -d, \
                  deleting the target branch)",
        fail_closed: false,
    },
    Rule {
        id: "git.prune",
        summary: "pruning reflogs and unreachable objects (reflog expire/delete, gc --prune, \
                  prune, repack -a -d)",
        fail_closed: false,
    },
    Rule {
        id: "git.worktree.remove",
        summary: "removing, moving or pruning worktrees",
        fail_closed: false,
    },
    Rule {
        id: "fs.delete.outside-scope",
        summary: "deletion outside the session's scope and scratch paths (rm, rmdir, unlink, \
                  find -delete, xargs rm, rsync --delete, mv of the source, git rm), including \
                  deletions whose targets cannot be known before they run",
        fail_closed: false,
    },
    Rule {
        id: "fs.write.outside-scope",
        summary: "writes outside the session's scope and scratch paths (redirects, cp, mv, tee, \
                  touch, mkdir, sed -i, perl -i, truncate, dd of=, install, rsync, ln, chmod, \
                  chown, tar, unzip, patch, curl -o, git writes of worktree paths)",
        fail_closed: false,
    },
    Rule {
        id: "fs.write.protected",
        summary: "writes to protected paths (governance dir, policy, paddock state, git config, \
                  a worktree's .git, nested repositories)",
        fail_closed: true,
    },
    Rule {
        id: "session.cross-access",
        summary: "reading or writing another session's worktree (INV-WS-003)",
        fail_closed: true,
    },
    Rule {
        id: "shell.dynamic",
        summary: "commands whose name, arguments or text are computed at run time (eval of \
                  computed text, $var, $(...), an unknown working directory) where they could \
                  reach a denied effect",
        fail_closed: true,
    },
    Rule {
        id: "shell.script-input",
        summary: "scripts fed to a shell or interpreter from a pipe, a here-document, a \
                  here-string, a redirect or a process substitution",
        fail_closed: true,
    },
    Rule {
        id: "shell.interpreter-write",
        summary: "interpreter one-liners that may write or run commands (python -c, perl -e, \
                  node -e, ruby -e, awk/sed programs that write or execute ...)",
        fail_closed: true,
    },
    Rule {
        id: "gate.parse-error",
        summary: "command lines the gate cannot parse or fully analyse (always refused)",
        fail_closed: true,
    },
];

/// Looks a rule up by id.
pub fn find(id: &str) -> Option<&'static Rule> {
    CATALOGUE.iter().find(|rule| rule.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_findable() {
        for (i, rule) in CATALOGUE.iter().enumerate() {
            assert!(
                CATALOGUE[..i].iter().all(|other| other.id != rule.id),
                "{}",
                rule.id
            );
            assert_eq!(find(rule.id), Some(rule));
        }
        assert_eq!(find("no.such.rule"), None);
    }
}
