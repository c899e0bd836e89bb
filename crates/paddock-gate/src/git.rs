//! git, understood: global options (`-C`, `-c`, `--git-dir`, `--work-tree`, `--config-env`),
//! `GIT_*` environment, aliases, and the subcommands that discard work, rewrite history, move
//! protected refs or switch hooks off. Option tables follow git 2.47's own (`git CMD
//! --git-completion-helper-all`), so unambiguous prefixes resolve as git resolves them.

use std::path::{Path, PathBuf};

use crate::opts::Takes::{No, Opt, Req};
use crate::opts::{self, GIT, OptSpec, Parsed, l, o, s};
use crate::paths::Access;
use crate::syntax::{self, Lit, Val};
use crate::walk::{Arg, Cwd, Frame, Inv, State, Walker};

/// Subcommands git implements itself: an alias of the same name is ignored.
const BUILTINS: &[&str] = &[
    "add",
    "am",
    "annotate",
    "apply",
    "archive",
    "bisect",
    "blame",
    "branch",
    "bugreport",
    "bundle",
    "cat-file",
    "check-attr",
    "check-ignore",
    "check-mailmap",
    "check-ref-format",
    "checkout",
    "checkout-index",
    "cherry",
    "cherry-pick",
    "clean",
    "clone",
    "column",
    "commit",
    "commit-graph",
    "commit-tree",
    "config",
    "count-objects",
    "credential",
    "describe",
    "diff",
    "diff-files",
    "diff-index",
    "diff-tree",
    "difftool",
    "fast-export",
    "fast-import",
    "fetch",
    "fetch-pack",
    "filter-branch",
    "fmt-merge-msg",
    "for-each-ref",
    "format-patch",
    "fsck",
    "gc",
    "grep",
    "hash-object",
    "help",
    "index-pack",
    "init",
    "log",
    "ls-files",
    "ls-remote",
    "ls-tree",
    "maintenance",
    "merge",
    "merge-base",
    "merge-file",
    "merge-tree",
    "mktag",
    "mktree",
    "mv",
    "name-rev",
    "notes",
    "pack-objects",
    "prune",
    "prune-packed",
    "pull",
    "push",
    "range-diff",
    "read-tree",
    "rebase",
    "reflog",
    "remote",
    "repack",
    "replace",
    "rerere",
    "reset",
    "restore",
    "rev-list",
    "rev-parse",
    "revert",
    "rm",
    "shortlog",
    "show",
    "show-branch",
    "show-ref",
    "sparse-checkout",
    "stash",
    "status",
    "stripspace",
    "submodule",
    "switch",
    "symbolic-ref",
    "tag",
    "update-index",
    "update-ref",
    "verify-commit",
    "verify-pack",
    "verify-tag",
    "version",
    "whatchanged",
    "worktree",
    "write-tree",
];

/// Subcommands that change files in the worktree.
const WORKTREE_WRITERS: &[&str] = &[
    "checkout",
    "restore",
    "switch",
    "reset",
    "stash",
    "merge",
    "pull",
    "rebase",
    "cherry-pick",
    "revert",
    "am",
    "apply",
    "rm",
    "mv",
    "clean",
    "read-tree",
    "checkout-index",
    "sparse-checkout",
];

#[rustfmt::skip]
const RESET: &[OptSpec] = &[
    o('q', "quiet", No), l("no-refresh", No), l("mixed", No), l("soft", No), l("hard", No),
    l("merge", No), l("keep", No), l("recurse-submodules", Opt), o('p', "patch", No),
    o('N', "intent-to-add", No), l("pathspec-from-file", Req), l("pathspec-file-nul", No),
    s('U', Req),
];
#[rustfmt::skip]
const CLEAN: &[OptSpec] = &[
    o('q', "quiet", No), o('n', "dry-run", No), o('f', "force", No), o('i', "interactive", No),
    s('d', No), o('e', "exclude", Req), s('x', No), s('X', No),
];
#[rustfmt::skip]
const CHECKOUT: &[OptSpec] = &[
    s('b', Req), s('B', Req), s('l', No), l("guess", No), l("overlay", No), o('q', "quiet", No),
    l("recurse-submodules", Opt), l("progress", No), o('m', "merge", No), l("conflict", Req),
    o('d', "detach", No), o('t', "track", Opt), o('f', "force", No), l("orphan", Req),
    l("overwrite-ignore", No), l("ignore-other-worktrees", No), o('2', "ours", No),
    o('3', "theirs", No), o('p', "patch", No), l("ignore-skip-worktree-bits", No),
    l("pathspec-from-file", Req), l("pathspec-file-nul", No), s('U', Req),
    l("inter-hunk-context", Req),
];
#[rustfmt::skip]
const RESTORE: &[OptSpec] = &[
    o('s', "source", Req), o('S', "staged", No), o('W', "worktree", No), l("ignore-unmerged", No),
    l("overlay", No), o('q', "quiet", No), l("recurse-submodules", Opt), l("progress", No),
    o('m', "merge", No), l("conflict", Req), o('2', "ours", No), o('3', "theirs", No),
    o('p', "patch", No), l("ignore-skip-worktree-bits", No), l("pathspec-from-file", Req),
    l("pathspec-file-nul", No), s('U', Req), l("inter-hunk-context", Req),
];
#[rustfmt::skip]
const SWITCH: &[OptSpec] = &[
    o('c', "create", Req), o('C', "force-create", Req), l("guess", No), l("discard-changes", No),
    o('q', "quiet", No), l("recurse-submodules", Opt), l("progress", No), o('m', "merge", No),
    l("conflict", Req), o('d', "detach", No), o('t', "track", Opt), o('f', "force", No),
    l("orphan", Req), l("overwrite-ignore", No), l("ignore-other-worktrees", No),
];
#[rustfmt::skip]
const PUSH: &[OptSpec] = &[
    o('v', "verbose", No), o('q', "quiet", No), l("repo", Req), l("all", No), l("branches", No),
    l("mirror", No), o('d', "delete", No), l("tags", No), o('n', "dry-run", No),
    l("porcelain", No), o('f', "force", No), l("force-with-lease", Opt),
    l("force-if-includes", No), l("recurse-submodules", Req), l("thin", No),
    l("receive-pack", Req), l("exec", Req), o('u', "set-upstream", No), l("progress", No),
    l("prune", No), l("no-verify", No), l("follow-tags", No), l("signed", Opt), l("atomic", No),
    o('o', "push-option", Req), o('4', "ipv4", No), o('6', "ipv6", No),
];
#[rustfmt::skip]
const COMMIT: &[OptSpec] = &[
    o('q', "quiet", No), o('v', "verbose", No), o('F', "file", Req), l("author", Req),
    l("date", Req), o('m', "message", Req), o('c', "reedit-message", Req),
    o('C', "reuse-message", Req), l("fixup", Req), l("squash", Req), l("reset-author", No),
    l("trailer", Req), o('s', "signoff", No), o('t', "template", Req), o('e', "edit", No),
    l("cleanup", Req), l("status", No), o('S', "gpg-sign", Opt), o('a', "all", No),
    o('i', "include", No), l("interactive", No), o('p', "patch", No), o('o', "only", No),
    o('n', "no-verify", No), l("dry-run", No), l("short", No), l("branch", No),
    l("ahead-behind", No), l("porcelain", No), l("long", No), o('z', "null", No), l("amend", No),
    l("no-post-rewrite", No), o('u', "untracked-files", Opt), l("pathspec-from-file", Req),
    l("pathspec-file-nul", No), l("allow-empty", No), l("allow-empty-message", No),
];
#[rustfmt::skip]
const MERGE: &[OptSpec] = &[
    s('n', No), l("stat", No), l("summary", No), l("log", Opt), l("squash", No), l("commit", No),
    o('e', "edit", No), l("cleanup", Req), l("ff", No), l("ff-only", No),
    l("rerere-autoupdate", No), l("verify-signatures", No), o('s', "strategy", Req),
    o('X', "strategy-option", Req), o('m', "message", Req), o('F', "file", Req),
    l("into-name", Req), o('v', "verbose", No), o('q', "quiet", No), l("abort", No), l("quit", No),
    l("continue", No), l("allow-unrelated-histories", No), l("progress", No),
    o('S', "gpg-sign", Opt), l("autostash", No), l("overwrite-ignore", No), l("signoff", No),
    l("no-verify", No),
];
#[rustfmt::skip]
const REBASE: &[OptSpec] = &[
    l("onto", Req), l("keep-base", No), l("no-verify", No), o('q', "quiet", No),
    o('v', "verbose", No), o('n', "no-stat", No), l("signoff", No),
    l("committer-date-is-author-date", No), l("reset-author-date", No), l("ignore-date", No),
    s('C', Req), l("ignore-whitespace", No), l("whitespace", Req), o('f', "force-rebase", No),
    l("no-ff", No), l("continue", No), l("skip", No), l("abort", No), l("quit", No),
    l("edit-todo", No), l("show-current-patch", No), l("apply", No), o('m', "merge", No),
    o('i', "interactive", No), l("rerere-autoupdate", No), l("empty", Req), l("autosquash", No),
    l("update-refs", No), o('S', "gpg-sign", Opt), l("autostash", No), o('x', "exec", Req),
    o('r', "rebase-merges", Opt), l("fork-point", No), o('s', "strategy", Req),
    o('X', "strategy-option", Req), l("root", No), l("reschedule-failed-exec", No),
    l("reapply-cherry-picks", No), l("keep-empty", No), l("allow-empty-message", No),
];
#[rustfmt::skip]
const AM: &[OptSpec] = &[
    o('i', "interactive", No), o('n', "no-verify", No), o('3', "3way", No), o('q', "quiet", No),
    o('s', "signoff", No), o('u', "utf8", No), o('k', "keep", No), l("keep-non-patch", No),
    o('m', "message-id", No), l("keep-cr", No), o('c', "scissors", No), l("quoted-cr", Req),
    l("whitespace", Req), l("ignore-space-change", No), l("ignore-whitespace", No),
    l("directory", Req), l("exclude", Req), l("include", Req), s('C', Req), s('p', Req),
    l("patch-format", Req), l("reject", No), l("resolvemsg", Req), l("continue", No),
    o('r', "resolved", No), l("skip", No), l("abort", No), l("quit", No),
    l("show-current-patch", Opt), l("retry", No), l("allow-empty", No),
    l("committer-date-is-author-date", No), l("ignore-date", No), l("rerere-autoupdate", No),
    o('S', "gpg-sign", Opt), l("empty", Req),
];
#[rustfmt::skip]
const PULL: &[OptSpec] = &[
    o('v', "verbose", No), o('q', "quiet", No), l("progress", No), l("recurse-submodules", Opt),
    o('r', "rebase", Opt), s('n', No), l("stat", No), l("log", Opt), l("signoff", Opt),
    l("squash", No), l("commit", No), l("edit", No), l("cleanup", Req), l("ff", No),
    l("ff-only", No), l("verify", No), l("verify-signatures", No), l("autostash", No),
    o('s', "strategy", Req), o('X', "strategy-option", Req), o('S', "gpg-sign", Opt),
    l("allow-unrelated-histories", No), l("all", No), o('a', "append", No), l("upload-pack", Req),
    o('f', "force", No), o('t', "tags", No), o('p', "prune", No), o('j', "jobs", Opt),
    l("dry-run", No), o('k', "keep", No), l("depth", Req), l("shallow-since", Req),
    l("shallow-exclude", Req), l("deepen", Req), l("unshallow", No), l("update-shallow", No),
    l("refmap", Req), o('o', "server-option", Req), o('4', "ipv4", No), o('6', "ipv6", No),
    l("negotiation-tip", Req), l("show-forced-updates", No), l("set-upstream", No),
];
#[rustfmt::skip]
const FETCH: &[OptSpec] = &[
    o('v', "verbose", No), o('q', "quiet", No), l("all", No), l("set-upstream", No),
    o('a', "append", No), l("atomic", No), l("upload-pack", Req), o('f', "force", No),
    o('m', "multiple", No), o('t', "tags", No), o('j', "jobs", Req), l("prefetch", No),
    o('p', "prune", No), o('P', "prune-tags", No), l("recurse-submodules", Opt), l("dry-run", No),
    l("porcelain", No), l("write-fetch-head", No), o('k', "keep", No),
    o('u', "update-head-ok", No), l("progress", No), l("depth", Req), l("shallow-since", Req),
    l("shallow-exclude", Req), l("deepen", Req), l("unshallow", No), l("refetch", No),
    l("update-shallow", No), l("refmap", Req), o('o', "server-option", Req), o('4', "ipv4", No),
    o('6', "ipv6", No), l("negotiation-tip", Req), l("negotiate-only", No), l("filter", Req),
    l("auto-maintenance", No), l("auto-gc", No), l("show-forced-updates", No),
    l("write-commit-graph", No), l("stdin", No),
];
#[rustfmt::skip]
const BRANCH: &[OptSpec] = &[
    o('v', "verbose", No), o('q', "quiet", No), o('t', "track", Opt),
    o('u', "set-upstream-to", Req), l("unset-upstream", No), l("color", Opt),
    o('r', "remotes", No), l("contains", Opt), l("no-contains", Opt), l("abbrev", Opt),
    o('a', "all", No), o('d', "delete", No), s('D', No), o('m', "move", No), s('M', No),
    l("omit-empty", No), o('c', "copy", No), s('C', No), o('l', "list", No), l("show-current", No),
    l("create-reflog", No), l("edit-description", No), o('f', "force", No), l("merged", Opt),
    l("no-merged", Opt), l("column", Opt), l("sort", Req), l("points-at", Req),
    o('i', "ignore-case", No), l("recurse-submodules", No), l("format", Req),
];
#[rustfmt::skip]
const TAG: &[OptSpec] = &[
    o('l', "list", No), s('n', Opt), o('d', "delete", No), o('v', "verify", No),
    o('a', "annotate", No), o('m', "message", Req), o('F', "file", Req), l("trailer", Req),
    o('e', "edit", No), o('s', "sign", No), l("cleanup", Req), o('u', "local-user", Req),
    o('f', "force", No), l("create-reflog", No), l("column", Opt), l("contains", Opt),
    l("no-contains", Opt), l("merged", Opt), l("no-merged", Opt), l("omit-empty", No),
    l("sort", Req), l("points-at", Opt), l("format", Req), l("color", Opt),
    o('i', "ignore-case", No),
];
#[rustfmt::skip]
const RM: &[OptSpec] = &[
    o('n', "dry-run", No), o('q', "quiet", No), l("cached", No), o('f', "force", No), s('r', No),
    l("ignore-unmatch", No), l("sparse", No), l("pathspec-from-file", Req),
    l("pathspec-file-nul", No),
];
#[rustfmt::skip]
const APPLY: &[OptSpec] = &[
    l("exclude", Req), l("include", Req), s('p', Req), l("no-add", No), l("add", No),
    l("stat", No), l("numstat", No), l("summary", No), l("check", No), l("index", No),
    o('N', "intent-to-add", No), l("cached", No), l("unsafe-paths", No), l("apply", No),
    o('3', "3way", No), l("ours", No), l("theirs", No), l("union", No),
    l("build-fake-ancestor", Req), s('z', No), s('C', Req), l("whitespace", Req),
    l("ignore-space-change", No), l("ignore-whitespace", No), o('R', "reverse", No),
    l("unidiff-zero", No), l("reject", No), l("allow-overlap", No), o('v', "verbose", No),
    o('q', "quiet", No), l("inaccurate-eof", No), l("recount", No), l("directory", Req),
    l("allow-empty", No),
];

/// Config keys whose value git runs as a command.
fn runs_command(key: &str, value: Option<&str>) -> bool {
    let bool_like = value.is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "" | "true" | "false" | "yes" | "no" | "on" | "off" | "1" | "0"
        )
    });
    let parts: Vec<&str> = key.split('.').collect();
    let (section, last) = (parts[0], parts[parts.len() - 1]);
    match (section, parts.len(), last) {
        ("core", 2, "fsmonitor") => !bool_like,
        (
            "core",
            2,
            "sshcommand" | "editor" | "pager" | "askpass" | "gitproxy" | "alternaterefscommand",
        ) => true,
        ("sequence", 2, "editor") => true,
        ("diff", 2, "external") => true,
        ("diff", 3, "textconv" | "command") => true,
        ("merge", 3, "driver") => true,
        ("filter", 3, "clean" | "smudge" | "process") => true,
        ("gpg", _, "program") => true,
        ("credential", _, "helper") => value.is_some_and(|v| v.starts_with('!')),
        ("pager", 2, _) => !bool_like,
        ("uploadpack", 2, "packobjectshook") => true,
        ("difftool" | "mergetool" | "man" | "browser", 3, "cmd") => true,
        ("interactive", 2, "difffilter") => true,
        _ => false,
    }
}

impl Walker<'_> {
    pub(crate) fn git<'a>(&mut self, fr: &mut Frame<'a>, st: &mut State, inv: &Inv, args: &[Arg]) {
        self.git_with(fr, st, inv, args, Vec::new(), 0);
    }

    fn git_with<'a>(
        &mut self,
        fr: &mut Frame<'a>,
        st: &mut State,
        inv: &Inv,
        args: &[Arg],
        mut aliases: Vec<(String, String)>,
        alias_depth: u32,
    ) {
        let mut cwd = st.cwd.clone();
        let mut work_tree: Option<Arg> = None;
        let word0 = inv.argv[0].clone();

        // The environment git runs with.
        let mut config_keys: Vec<(String, Arg)> = Vec::new();
        let mut config_values: Vec<(String, Arg)> = Vec::new();
        for assign in &inv.env {
            let arg = &assign.arg;
            let value = match &assign.val {
                Val::Lit(lit) => Some(lit.text.clone()),
                Val::Dyn(_) => None,
            };
            let name = assign.name.as_str();
            match name {
                "GIT_DIR"
                | "GIT_WORK_TREE"
                | "GIT_COMMON_DIR"
                | "GIT_INDEX_FILE"
                | "GIT_OBJECT_DIRECTORY"
                | "GIT_ALTERNATE_OBJECT_DIRECTORIES" => {
                    let probe = Arg::synthetic(assign.val.clone(), arg);
                    self.git_location(&cwd, &probe, name);
                    if name == "GIT_WORK_TREE" {
                        work_tree = Some(probe);
                    }
                }
                "GIT_CONFIG_PARAMETERS" => match value {
                    Some(v) => {
                        for (key, value) in parse_config_parameters(&v) {
                            self.git_config_entry(st, &key, value.as_deref(), arg, &mut aliases);
                        }
                    }
                    None => self.dynamic(arg, "git configuration given in"),
                },
                "GIT_CONFIG_GLOBAL" | "GIT_CONFIG_SYSTEM" | "GIT_CONFIG"
                    if value.as_deref() != Some("/dev/null") =>
                {
                    self.report_arg(
                        "git.hooks.repoint",
                        arg,
                        format!("`{name}` makes git read another configuration file, which can re-point or disable hooks; drop it (or use /dev/null)"),
                        None,
                    );
                }
                "GIT_EXEC_PATH" => self.report_arg(
                    "shell.dynamic",
                    arg,
                    "`GIT_EXEC_PATH` makes git run its programs from another directory; drop it"
                        .into(),
                    None,
                ),
                "GIT_EDITOR"
                | "GIT_SEQUENCE_EDITOR"
                | "GIT_PAGER"
                | "GIT_SSH"
                | "GIT_SSH_COMMAND"
                | "GIT_ASKPASS"
                | "GIT_EXTERNAL_DIFF"
                | "GIT_PROXY_COMMAND" => match value {
                    Some(v) => self.command_string(&v, arg.span, st),
                    None => self.dynamic(arg, &format!("the command `{name}` names:")),
                },
                _ if name.starts_with("GIT_CONFIG_KEY_") => {
                    let index = name["GIT_CONFIG_KEY_".len()..].to_owned();
                    match value {
                        Some(v) => {
                            config_keys.push((index, Arg::synthetic(Val::Lit(Lit::plain(v)), arg)))
                        }
                        None => self.dynamic(arg, "a git configuration key"),
                    }
                }
                _ if name.starts_with("GIT_CONFIG_VALUE_") => {
                    config_values.push((
                        name["GIT_CONFIG_VALUE_".len()..].to_owned(),
                        Arg::synthetic(assign.val.clone(), arg),
                    ));
                }
                _ if name.starts_with("GIT_TRACE") => {
                    if let Some(v) = &value
                        && v.starts_with('/')
                    {
                        let probe = Arg::synthetic(Val::Lit(Lit::plain(v.clone())), arg);
                        self.path(
                            &st.cwd,
                            &probe,
                            Access::Write,
                            false,
                            true,
                            &format!("`{name}` writes"),
                        );
                    }
                }
                _ => {}
            }
        }
        for (index, key_arg) in &config_keys {
            let key = key_arg.plain().unwrap_or_default().to_owned();
            let value = config_values
                .iter()
                .find(|(i, _)| i == index)
                .map(|(_, v)| v.plain().map(str::to_owned));
            match value {
                Some(Some(v)) => self.git_config_entry(st, &key, Some(&v), key_arg, &mut aliases),
                Some(None) => self.git_config_entry(st, &key, None, key_arg, &mut aliases),
                None => self.git_config_entry(st, &key, Some(""), key_arg, &mut aliases),
            }
        }

        // Global options.
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            let Some(text) = arg.plain() else {
                self.dynamic(arg, "a git option or subcommand");
                return;
            };
            let (flag, attached) = match text.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v)),
                _ => (text, None),
            };
            let value_arg = |i: &mut usize| -> Option<Arg> {
                match attached {
                    Some(v) => Some(Arg::synthetic(Val::Lit(Lit::plain(v)), arg)),
                    None => {
                        *i += 1;
                        args.get(*i).cloned()
                    }
                }
            };
            match flag {
                "-C" => {
                    let Some(dir) = value_arg(&mut i) else { return };
                    if dir.plain() != Some("") {
                        self.path(&cwd, &dir, Access::Read, false, true, "`git -C` works in");
                        cwd = match (self.resolve_arg(&cwd, &dir), &dir.val) {
                            (Some(path), _) if path.is_dir() => Cwd::Known(path),
                            _ => Cwd::Unknown(format!("`git -C {}`", dir.raw)),
                        };
                    }
                }
                "-c" => {
                    let Some(kv) = value_arg(&mut i) else { return };
                    match kv.text() {
                        Some(text) => {
                            let (key, value) = match text.split_once('=') {
                                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                                None => (text.to_owned(), None),
                            };
                            // `-c key` alone means `key=true`.
                            let value = value.or_else(|| Some("true".to_owned()));
                            self.git_config_entry(st, &key, value.as_deref(), &kv, &mut aliases);
                        }
                        None => self.dynamic(&kv, "a `git -c` setting"),
                    }
                }
                "--config-env" => {
                    let Some(kv) = value_arg(&mut i) else { return };
                    match kv.text().and_then(|t| t.split_once('=')) {
                        Some((key, _)) => {
                            let key = key.to_owned();
                            self.git_config_entry(st, &key, None, &kv, &mut aliases);
                        }
                        None => self.dynamic(&kv, "a `git --config-env` setting"),
                    }
                }
                "--git-dir" | "--work-tree" => {
                    let Some(dir) = value_arg(&mut i) else { return };
                    self.git_location(&cwd, &dir, flag);
                    if flag == "--work-tree" {
                        work_tree = Some(dir);
                    }
                }
                "--namespace" | "--super-prefix" | "--list-cmds" | "--attr-source" => {
                    value_arg(&mut i);
                }
                "--exec-path" => {
                    if attached.is_some() {
                        self.report_arg("shell.dynamic", arg, "`git --exec-path=DIR` makes git run its programs from another directory; drop it".into(), None);
                    }
                    return;
                }
                "-p"
                | "--paginate"
                | "-P"
                | "--no-pager"
                | "--no-replace-objects"
                | "--bare"
                | "--literal-pathspecs"
                | "--glob-pathspecs"
                | "--noglob-pathspecs"
                | "--icase-pathspecs"
                | "--no-optional-locks"
                | "--no-advice"
                | "--no-lazy-fetch" => {}
                // Prints something and exits.
                "--version" | "-v" | "--help" | "-h" | "--html-path" | "--man-path"
                | "--info-path" => return,
                // git refuses options it does not know.
                _ if text.starts_with('-') => return,
                _ => break,
            }
            i += 1;
        }
        let Some(sub_arg) = args.get(i).cloned() else {
            return;
        };
        let Some(sub) = sub_arg.plain().map(str::to_owned) else {
            self.dynamic(&sub_arg, "the git subcommand");
            return;
        };
        let rest: Vec<Arg> = args[i + 1..].to_vec();

        // Aliases: git expands them unless a builtin has the name.
        if !BUILTINS.contains(&sub.as_str()) {
            let lower = sub.to_ascii_lowercase();
            let value = aliases
                .iter()
                .rev()
                .find(|(name, _)| *name == lower)
                .map(|(_, v)| v.clone())
                .or_else(|| self.ctx.git_aliases.get(&sub).cloned());
            if let Some(value) = value {
                if alias_depth > 8 {
                    self.parse_error(
                        &sub_arg.raw,
                        sub_arg.span,
                        "git aliases expand into each other",
                    );
                    return;
                }
                if let Some(shell) = value.strip_prefix('!') {
                    let positional: Vec<Option<String>> =
                        rest.iter().map(|a| a.plain().map(str::to_owned)).collect();
                    let text = format!("{shell} \"$@\"");
                    let mut child = st.child_shell(Some(positional));
                    child.cwd = cwd.clone();
                    self.walk_text(
                        &text,
                        crate::syntax::Origin::Whole(sub_arg.span.0, sub_arg.span.1),
                        &mut child,
                    );
                    return;
                }
                match syntax::split_static(&value) {
                    Some(words) => {
                        let mut expanded: Vec<Arg> = args[..i].to_vec();
                        expanded.extend(
                            words
                                .into_iter()
                                .map(|w| Arg::synthetic(Val::Lit(Lit::plain(w)), &sub_arg)),
                        );
                        expanded.extend(rest.iter().cloned());
                        self.git_with(fr, st, inv, &expanded, aliases, alias_depth + 1);
                    }
                    None => self.dynamic(&sub_arg, "the git alias"),
                }
                return;
            }
        }

        if let Some(tree) = &work_tree
            && WORKTREE_WRITERS.contains(&sub.as_str())
        {
            self.path(
                &cwd,
                tree,
                Access::Write,
                true,
                true,
                &format!("`git --work-tree {sub}` changes files in"),
            );
        }

        // Custom rules saw `git` with its global options when the command was resolved;
        // look again at what git runs without them (`git -C x push` is `git push`).
        if i > 0 || alias_depth > 0 {
            let mut resolved = vec![word0.clone(), sub_arg.clone()];
            resolved.extend(rest.iter().cloned());
            self.custom_rules(&resolved);
        }

        let g = GitCall {
            cwd,
            sub: sub_arg,
            word0,
        };
        match sub.as_str() {
            "reset" => {
                let p = opts::parse(&rest, RESET, GIT);
                for mode in ["hard", "merge", "keep"] {
                    if p.maybe(mode) {
                        let at = hit_arg(&rest, &p, mode).unwrap_or(&g.sub);
                        self.report_arg(
                            "git.discard",
                            at,
                            format!(
                                "`git reset --{mode}` throws away uncommitted changes in the worktree; commit or \
                                 `git stash` them first, or use `git reset --soft`/`--mixed`, which keep your files"
                            ),
                            Some(format!("git reset --{mode}")),
                        );
                    }
                }
            }
            "clean" => {
                let p = opts::parse(&rest, CLEAN, GIT);
                if !p.flag("dry-run") {
                    let at = hit_arg(&rest, &p, "force").unwrap_or(&g.sub).clone();
                    self.report_arg(
                        "git.clean",
                        &at,
                        "`git clean` deletes untracked files for good; preview with `git clean -n`, and remove \
                         what you really mean with `rm` on paths inside the scope"
                            .into(),
                        Some("git clean".into()),
                    );
                }
            }
            "checkout" => self.git_checkout(st, &g, &rest),
            "restore" => {
                let p = opts::parse(&rest, RESTORE, GIT);
                let worktree = p.flag("worktree") || !p.flag("staged");
                if worktree {
                    let ops: Vec<&Arg> = p.operands.iter().map(|&i| &rest[i]).collect();
                    let at = ops.first().copied().unwrap_or(&g.sub).clone();
                    self.report_arg(
                        "git.discard",
                        &at,
                        "`git restore` (of the worktree) overwrites uncommitted changes with the committed \
                         version; `git restore --staged` only unstages, `git show REV:PATH` shows an old version"
                            .into(),
                        Some("git restore --worktree".into()),
                    );
                    self.git_pathspecs(&g.cwd, &ops, Access::Write, "`git restore` rewrites");
                }
            }
            "switch" => {
                let p = opts::parse(&rest, SWITCH, GIT);
                for opt in ["discard-changes", "force"] {
                    if p.maybe(opt) {
                        let at = hit_arg(&rest, &p, opt).unwrap_or(&g.sub).clone();
                        self.report_arg(
                            "git.discard",
                            &at,
                            format!("`git switch --{opt}` throws away uncommitted changes; commit or stash them first"),
                            Some(format!("git switch --{opt}")),
                        );
                    }
                }
                if let Some(name) = p.value("force-create").cloned() {
                    self.guard_branch_overwrite(&name, "`git switch -C` resets");
                }
            }
            "stash" => {
                let action = rest
                    .iter()
                    .find_map(|a| a.plain().filter(|t| !t.starts_with('-')));
                if let Some(action @ ("drop" | "clear")) = action {
                    let at = rest
                        .iter()
                        .find(|a| a.plain() == Some(action))
                        .unwrap_or(&g.sub)
                        .clone();
                    self.report_arg(
                        "git.stash.drop",
                        &at,
                        format!("`git stash {action}` deletes stashed work for good; apply it (`git stash pop`) or leave it"),
                        Some(format!("git stash {action}")),
                    );
                }
            }
            "branch" => self.git_branch(&g, &rest),
            "push" => self.git_push(&g, &rest),
            "fetch" => {
                let p = opts::parse(&rest, FETCH, GIT);
                let ops: Vec<&Arg> = p.operands.iter().map(|&i| &rest[i]).collect();
                for refspec in ops.iter().skip(1) {
                    if let Some(text) = refspec.plain()
                        && let Some((_, dst)) = text.trim_start_matches('+').split_once(':')
                        && self.is_target_branch(dst)
                    {
                        self.report_arg(
                                    "git.push.protected",
                                    refspec,
                                    format!("`git fetch` into `{dst}` moves the protected branch; only `paddock merge` moves it"),
                                    None,
                                );
                    }
                }
            }
            "commit" | "merge" | "rebase" | "am" | "pull" => {
                let table = match sub.as_str() {
                    "commit" => COMMIT,
                    "merge" => MERGE,
                    "rebase" => REBASE,
                    "am" => AM,
                    _ => PULL,
                };
                let p = opts::parse(&rest, table, GIT);
                let bypass = if sub == "pull" {
                    p.hits
                        .iter()
                        .rev()
                        .find(|h| h.name == "verify")
                        .is_some_and(|h| h.negated)
                } else {
                    p.maybe("no-verify")
                };
                if bypass {
                    let name = if sub == "pull" { "verify" } else { "no-verify" };
                    let at = hit_arg(&rest, &p, name).unwrap_or(&g.sub).clone();
                    self.report_arg(
                        "git.hooks.bypass",
                        &at,
                        format!("`git {sub} --no-verify` skips the hooks that check this session's changes; fix what the hook refuses instead"),
                        Some(format!("git {sub} --no-verify")),
                    );
                }
                if sub == "rebase" {
                    for cmd in p.values("exec").cloned().collect::<Vec<_>>() {
                        self.git_command_value(st, &g.cwd, &cmd);
                    }
                }
                if sub == "am" {
                    let ops: Vec<Arg> = p.operands.iter().map(|&i| rest[i].clone()).collect();
                    self.git_patch_files(st, inv, &g, &ops, &p, "am");
                }
            }
            "apply" => {
                let p = opts::parse(&rest, APPLY, GIT);
                let index_only = p.flag("cached") && !p.flag("index");
                let report_only =
                    (p.flag("stat") || p.flag("numstat") || p.flag("summary") || p.flag("check"))
                        && !p.flag("apply");
                if !index_only && !report_only {
                    let ops: Vec<Arg> = p.operands.iter().map(|&i| rest[i].clone()).collect();
                    self.git_patch_files(st, inv, &g, &ops, &p, "apply");
                }
            }
            "tag" => {
                let p = opts::parse(&rest, TAG, GIT);
                for (opt, what) in [
                    ("delete", "deletes tags"),
                    ("force", "overwrites an existing tag"),
                ] {
                    if p.maybe(opt) {
                        let at = hit_arg(&rest, &p, opt).unwrap_or(&g.sub).clone();
                        self.report_arg(
                            "git.ref.delete",
                            &at,
                            format!("`git tag --{opt}` {what}; create a new tag instead"),
                            Some(format!("git tag --{opt}")),
                        );
                    }
                }
            }
            "update-ref" => {
                let mut delete = false;
                let mut operands = Vec::new();
                let mut j = 0;
                while let Some(arg) = rest.get(j) {
                    match arg.plain() {
                        Some("-d") => delete = true,
                        Some("--stdin") => {
                            self.report_arg(
                                "git.ref.delete",
                                arg,
                                "`git update-ref --stdin` applies ref updates (deletions too) the gate cannot see; name the update on the command line".into(),
                                None,
                            );
                            return;
                        }
                        Some("-m") => j += 1,
                        Some(t) if t.starts_with('-') => {}
                        _ => operands.push(arg.clone()),
                    }
                    j += 1;
                }
                if let Some(refname) = operands.first() {
                    match refname.plain() {
                        Some(name) if delete => self.report_arg(
                            "git.ref.delete",
                            refname,
                            format!("`git update-ref -d {name}` deletes a ref and what only it points to"),
                            None,
                        ),
                        Some(name) if self.is_target_branch(name) => self.report_arg(
                            "git.push.protected",
                            refname,
                            format!("`git update-ref {name}` moves the protected branch; only `paddock merge` moves it"),
                            None,
                        ),
                        Some(name) => self.guard_branch_overwrite(&Arg::synthetic(Val::Lit(Lit::plain(name)), refname), "`git update-ref` overwrites"),
                        None => self.dynamic(refname, "the ref `git update-ref` changes"),
                    }
                }
            }
            "symbolic-ref" => {
                if rest
                    .iter()
                    .any(|a| matches!(a.plain(), Some("-d" | "--delete")))
                {
                    self.report_arg(
                        "git.ref.delete",
                        &g.sub,
                        "`git symbolic-ref --delete` deletes a ref".into(),
                        None,
                    );
                }
            }
            "reflog" => {
                let action = rest
                    .iter()
                    .find_map(|a| a.plain().filter(|t| !t.starts_with('-')));
                let dry = rest
                    .iter()
                    .any(|a| matches!(a.plain(), Some("-n" | "--dry-run")));
                if let Some(action @ ("expire" | "delete")) = action
                    && !dry
                {
                    self.report_arg(
                            "git.prune",
                            &g.sub,
                            format!("`git reflog {action}` drops reflog entries, the last way back to lost commits"),
                            Some(format!("git reflog {action}")),
                        );
                }
            }
            "gc" => {
                #[rustfmt::skip]
                const GC: &[OptSpec] = &[
                    o('q', "quiet", No), l("prune", Opt), l("cruft", No), l("max-cruft-size", Req),
                    l("aggressive", No), l("auto", No), l("detach", No), l("force", No),
                    l("keep-largest-pack", No),
                ];
                let p = opts::parse(&rest, GC, GIT);
                if p.maybe("prune") {
                    let at = hit_arg(&rest, &p, "prune").unwrap_or(&g.sub).clone();
                    self.report_arg("git.prune", &at, "`git gc --prune` deletes unreachable objects now; run `git gc` without `--prune`".into(), None);
                }
            }
            "prune" => {
                if !rest
                    .iter()
                    .any(|a| matches!(a.plain(), Some("-n" | "--dry-run")))
                {
                    self.report_arg(
                        "git.prune",
                        &g.sub,
                        "`git prune` deletes unreachable objects; use `git prune -n` to look"
                            .into(),
                        None,
                    );
                }
            }
            "repack" => {
                let flags: String = rest
                    .iter()
                    .filter_map(Arg::plain)
                    .filter(|t| t.starts_with('-') && !t.starts_with("--"))
                    .flat_map(|t| t[1..].chars())
                    .collect();
                let keep = flags.contains('A')
                    || flags.contains('k')
                    || rest
                        .iter()
                        .any(|a| matches!(a.plain(), Some("--keep-unreachable" | "--cruft")));
                if flags.contains('a') && flags.contains('d') && !keep {
                    self.report_arg("git.prune", &g.sub, "`git repack -a -d` drops unreachable objects; add `-A` or `--cruft` to keep them".into(), None);
                }
            }
            "worktree" => {
                let action = rest
                    .iter()
                    .find_map(|a| a.plain().filter(|t| !t.starts_with('-')));
                match action {
                    Some(action @ ("remove" | "prune" | "move")) => {
                        let at = rest
                            .iter()
                            .find(|a| a.plain() == Some(action))
                            .unwrap_or(&g.sub)
                            .clone();
                        self.report_arg(
                            "git.worktree.remove",
                            &at,
                            format!("`git worktree {action}` changes the worktrees paddock manages (other sessions' included); use `paddock session finish|cancel|gc`"),
                            Some(format!("git worktree {action}")),
                        );
                    }
                    Some("add") => {
                        #[rustfmt::skip]
                        const ADD: &[OptSpec] = &[
                            o('f', "force", No), s('b', Req), s('B', Req), l("orphan", No),
                            o('d', "detach", No), l("checkout", No), l("lock", No),
                            l("reason", Req), o('q', "quiet", No), l("track", No),
                            l("guess-remote", No),
                        ];
                        let pos = rest
                            .iter()
                            .position(|a| a.plain() == Some("add"))
                            .unwrap_or(0);
                        let tail = &rest[pos + 1..];
                        let p = opts::parse(tail, ADD, GIT);
                        if let Some(&first) = p.operands.first() {
                            self.path(
                                &g.cwd,
                                &tail[first],
                                Access::Write,
                                true,
                                true,
                                "`git worktree add` creates",
                            );
                        }
                    }
                    _ => {}
                }
            }
            "filter-branch" | "filter-repo" => {
                self.report_arg(
                    "git.history.rewrite",
                    &g.sub,
                    format!("`git {sub}` rewrites history that other sessions and the ledger rely on; make new commits instead"),
                    Some(format!("git {sub}")),
                );
            }
            "replace" => {
                let listing = rest.is_empty()
                    || rest
                        .iter()
                        .any(|a| matches!(a.plain(), Some("-l" | "--list" | "-d" | "--delete")));
                if !listing {
                    self.report_arg(
                        "git.history.rewrite",
                        &g.sub,
                        "`git replace` makes git show different history than was committed; make new commits instead".into(),
                        Some("git replace".into()),
                    );
                }
            }
            "config" => self.git_config_cmd(st, &g, &rest, &mut aliases),
            "rm" => {
                let p = opts::parse(&rest, RM, GIT);
                if p.flag("cached") || p.flag("dry-run") {
                    return;
                }
                if let Some(from) = p.value("pathspec-from-file") {
                    let from = from.clone();
                    self.report_arg("fs.delete.outside-scope", &from, "`git rm --pathspec-from-file` deletes paths the gate cannot see; name them on the command line".into(), None);
                }
                let recursive = p.flag("r");
                for &i in &p.operands {
                    let spec = self.pathspec(&g.cwd, &rest[i]);
                    if let Some((cwd, arg)) = spec {
                        self.path(
                            &cwd,
                            &arg,
                            Access::Delete,
                            recursive,
                            false,
                            "`git rm` deletes",
                        );
                    }
                }
            }
            "mv" => {
                let ops: Vec<&Arg> = rest
                    .iter()
                    .filter(|a| !a.plain().is_some_and(|t| t.starts_with('-')))
                    .collect();
                if let Some((dest, sources)) = ops.split_last() {
                    if rest
                        .iter()
                        .any(|a| matches!(a.plain(), Some("-n" | "--dry-run")))
                    {
                        return;
                    }
                    for source in sources {
                        self.path(
                            &g.cwd,
                            source,
                            Access::Delete,
                            true,
                            false,
                            "`git mv` moves away",
                        );
                    }
                    self.path(&g.cwd, dest, Access::Write, true, true, "`git mv` writes");
                }
            }
            "checkout-index" => {
                if rest.iter().any(|a| {
                    a.plain().is_some_and(|t| {
                        t == "--force"
                            || t == "-f"
                            || (t.starts_with('-') && !t.starts_with("--") && t.contains('f'))
                    })
                }) {
                    self.report_arg("git.discard", &g.sub, "`git checkout-index --force` overwrites files in the worktree; commit or stash first".into(), None);
                }
            }
            "read-tree" => {
                let reset = rest.iter().any(|a| a.plain() == Some("--reset"));
                let update = rest.iter().any(|a| a.plain() == Some("-u"));
                if reset && update {
                    self.report_arg(
                        "git.discard",
                        &g.sub,
                        "`git read-tree --reset -u` overwrites the worktree like `reset --hard`"
                            .into(),
                        None,
                    );
                }
            }
            "submodule" => {
                let action = rest
                    .iter()
                    .position(|a| a.plain().is_some_and(|t| !t.starts_with('-')));
                let Some(pos) = action else { return };
                let tail = &rest[pos + 1..];
                match rest[pos].plain() {
                    Some("deinit" | "update")
                        if tail
                            .iter()
                            .any(|a| matches!(a.plain(), Some("-f" | "--force"))) =>
                    {
                        self.report_arg(
                            "git.discard",
                            &rest[pos],
                            "`git submodule --force` throws away changes in submodules".into(),
                            None,
                        );
                    }
                    Some("foreach") => {
                        let words: Option<Vec<String>> = tail
                            .iter()
                            .filter(|a| {
                                !matches!(a.plain(), Some("--recursive" | "-q" | "--quiet"))
                            })
                            .map(|a| a.text().map(str::to_owned))
                            .collect();
                        match (words, tail.first()) {
                            (Some(words), Some(first)) => {
                                let text = words.join(" ");
                                self.shell_text(&text, first.span, st, None);
                            }
                            (None, Some(first)) => {
                                self.dynamic(first, "the command `git submodule foreach` runs")
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
            "bisect" => {
                if rest.first().and_then(Arg::plain) == Some("run") && rest.len() > 1 {
                    let inner = Inv {
                        argv: rest[1..].to_vec(),
                        env: inv.env.clone(),
                        stdin: inv.stdin,
                        stdin_file: None,
                        stdin_text: None,
                        no_functions: true,
                    };
                    let mut child = st.clone();
                    child.cwd = g.cwd.clone();
                    self.exec(fr, &mut child, inner);
                }
            }
            "clone" => self.git_clone(&g, &rest),
            "init" => {
                let mut target: Option<Arg> = None;
                let mut j = 0;
                while let Some(arg) = rest.get(j) {
                    match arg.plain() {
                        Some(
                            "--template" | "--separate-git-dir" | "--object-format" | "-b"
                            | "--initial-branch" | "--ref-format",
                        ) => j += 1,
                        Some(t) if t.starts_with("--separate-git-dir=") => {
                            let dir = Arg::synthetic(
                                Val::Lit(Lit::plain(&t["--separate-git-dir=".len()..])),
                                arg,
                            );
                            self.path(
                                &g.cwd,
                                &dir,
                                Access::Write,
                                true,
                                true,
                                "`git init` creates",
                            );
                        }
                        Some(t) if t.starts_with('-') => {}
                        _ => target = Some(arg.clone()),
                    }
                    j += 1;
                }
                let dir =
                    target.unwrap_or_else(|| Arg::synthetic(Val::Lit(Lit::plain(".")), &g.sub));
                let config = joined_path(&dir, ".git/config");
                self.path(
                    &g.cwd,
                    &config,
                    Access::Write,
                    false,
                    true,
                    "`git init` creates a repository at",
                );
            }
            "format-patch" => {
                let mut out_dir = None;
                let mut to_stdout = false;
                let mut j = 0;
                while let Some(arg) = rest.get(j) {
                    match arg.plain() {
                        Some("-o" | "--output-directory") => {
                            out_dir = rest.get(j + 1).cloned();
                            j += 1;
                        }
                        Some(t) if t.starts_with("--output-directory=") => {
                            out_dir = Some(Arg::synthetic(
                                Val::Lit(Lit::plain(&t["--output-directory=".len()..])),
                                arg,
                            ));
                        }
                        Some("--stdout") => to_stdout = true,
                        _ => {}
                    }
                    j += 1;
                }
                if !to_stdout {
                    let dir = out_dir
                        .unwrap_or_else(|| Arg::synthetic(Val::Lit(Lit::plain(".")), &g.sub));
                    let file = joined_path(&dir, "0001-patch.patch");
                    self.path(
                        &g.cwd,
                        &file,
                        Access::Write,
                        false,
                        true,
                        "`git format-patch` writes",
                    );
                }
                self.git_output_option(&g.cwd, &rest);
            }
            "archive" | "bundle" => {
                self.git_output_option(&g.cwd, &rest);
                let mut j = 0;
                while let Some(arg) = rest.get(j) {
                    if matches!(arg.plain(), Some("-o"))
                        && let Some(out) = rest.get(j + 1)
                    {
                        self.path(
                            &g.cwd,
                            out,
                            Access::Write,
                            false,
                            true,
                            "`git archive -o` writes",
                        );
                    }
                    if sub == "bundle"
                        && arg.plain() == Some("create")
                        && let Some(out) = rest[j + 1..]
                            .iter()
                            .find(|a| !a.plain().is_some_and(|t| t.starts_with('-')))
                    {
                        self.path(
                            &g.cwd,
                            out,
                            Access::Write,
                            false,
                            true,
                            "`git bundle create` writes",
                        );
                    }
                    j += 1;
                }
            }
            _ => {
                // Read-only and everyday subcommands: only where they look and write matters.
                self.git_output_option(&g.cwd, &rest);
                let probe_state = State {
                    cwd: g.cwd.clone(),
                    ..st.clone()
                };
                self.scan_args(&probe_state, &rest);
            }
        }
    }

    fn git_checkout(&mut self, _st: &State, g: &GitCall, rest: &[Arg]) {
        let p = opts::parse(rest, CHECKOUT, GIT);
        for opt in ["force", "patch"] {
            if p.maybe(opt) {
                let at = hit_arg(rest, &p, opt).unwrap_or(&g.sub).clone();
                self.report_arg(
                    "git.discard",
                    &at,
                    format!("`git checkout --{opt}` overwrites uncommitted changes; commit or stash them first"),
                    Some(format!("git checkout --{opt}")),
                );
            }
        }
        if let Some(from) = p.value("pathspec-from-file").cloned() {
            self.report_arg(
                "git.discard",
                &from,
                "`git checkout --pathspec-from-file` overwrites paths the gate cannot see".into(),
                None,
            );
        }
        for name in p.values("B").cloned().collect::<Vec<_>>() {
            self.guard_branch_overwrite(&name, "`git checkout -B` resets");
        }
        let ops: Vec<&Arg> = p.operands.iter().map(|&i| &rest[i]).collect();
        let creates =
            p.value("b").is_some() || p.value("B").is_some() || p.value("orphan").is_some();
        let paths: Vec<&Arg> = match p.dashdash {
            Some(before) => ops[before.min(ops.len())..].to_vec(),
            None if ops.len() >= 2 && !creates => ops[1..].to_vec(),
            None if ops.len() == 1 && !creates => {
                // One operand: git takes it as a branch unless it names files.
                let op = ops[0];
                let looks_like_path = match op.text() {
                    Some(t) => {
                        t == "."
                            || t.starts_with(':')
                            || t.contains(['*', '?', '['])
                            || t.starts_with("./")
                            || t.starts_with("../")
                            || self.resolve_arg(&g.cwd, op).is_some_and(|p| p.exists())
                    }
                    None => {
                        self.dynamic(op, "the branch or path `git checkout` takes");
                        false
                    }
                };
                if looks_like_path {
                    vec![op]
                } else {
                    Vec::new()
                }
            }
            None => Vec::new(),
        };
        if paths.is_empty() {
            return;
        }
        self.report_arg(
            "git.discard",
            paths[0],
            "`git checkout [REV] -- PATH` overwrites uncommitted changes to PATH; use `git show REV:PATH` to look at \
             another version, or commit/stash your changes first"
                .into(),
            Some("git checkout -- <paths>".into()),
        );
        self.git_pathspecs(&g.cwd, &paths, Access::Write, "`git checkout` rewrites");
    }

    fn git_branch(&mut self, g: &GitCall, rest: &[Arg]) {
        let p = opts::parse(rest, BRANCH, GIT);
        let ops: Vec<&Arg> = p.operands.iter().map(|&i| &rest[i]).collect();
        let force_delete = p.maybe("D") || (p.maybe("delete") && p.maybe("force"));
        if force_delete {
            let at = hit_arg(rest, &p, "D")
                .or_else(|| hit_arg(rest, &p, "force"))
                .unwrap_or(&g.sub)
                .clone();
            self.report_arg(
                "git.branch.force-delete",
                &at,
                "`git branch -D` deletes a branch even when its commits are merged nowhere; use `git branch -d`, which refuses to lose work".into(),
                Some("git branch --delete --force".into()),
            );
        } else if p.maybe("delete") {
            for name in &ops {
                if name.plain().is_some_and(|n| self.is_target_branch(n)) {
                    self.report_arg(
                        "git.ref.delete",
                        name,
                        "deleting the protected target branch".into(),
                        None,
                    );
                }
            }
        }
        if p.maybe("M")
            || p.maybe("C")
            || ((p.maybe("move") || p.maybe("copy")) && p.maybe("force"))
        {
            let at = hit_arg(rest, &p, "M")
                .or_else(|| hit_arg(rest, &p, "C"))
                .unwrap_or(&g.sub)
                .clone();
            self.report_arg(
                "git.branch.force-delete",
                &at,
                "`git branch -M`/`-C` overwrites an existing branch; use `-m`/`-c`, which refuse to".into(),
                Some("git branch -M".into()),
            );
        } else if p.maybe("move") {
            if let Some(first) = ops.first()
                && ops.len() >= 2
                && first.plain().is_some_and(|n| self.is_target_branch(n))
            {
                self.report_arg(
                    "git.ref.delete",
                    first,
                    "renaming the protected target branch".into(),
                    None,
                );
            }
        } else if p.maybe("force")
            && !p.maybe("delete")
            && let Some(name) = ops.first()
        {
            self.guard_branch_overwrite(name, "`git branch --force` resets");
        }
    }

    fn git_push(&mut self, g: &GitCall, rest: &[Arg]) {
        let p = opts::parse(rest, PUSH, GIT);
        if p.flag("dry-run") {
            return;
        }
        let ops: Vec<&Arg> = p.operands.iter().map(|&i| &rest[i]).collect();
        for arg in p.dynamic.iter().map(|&i| &rest[i]) {
            self.dynamic(arg, "a `git push` argument");
        }
        for opt in ["force", "force-with-lease", "force-if-includes", "mirror"] {
            if p.maybe(opt) {
                let at = hit_arg(rest, &p, opt).unwrap_or(&g.sub).clone();
                self.report_arg(
                    "git.push.force",
                    &at,
                    format!("`git push --{opt}` replaces the remote branch's history; push without force, or push to a new branch"),
                    Some(format!("git push --{opt}")),
                );
            }
        }
        for opt in ["delete", "prune", "mirror"] {
            if p.maybe(opt) {
                let at = hit_arg(rest, &p, opt).unwrap_or(&g.sub).clone();
                self.report_arg(
                    "git.push.delete",
                    &at,
                    format!("`git push --{opt}` deletes branches on the remote; leave them, or ask an operator"),
                    Some(format!("git push --{opt}")),
                );
            }
        }
        if p.maybe("no-verify") {
            let at = hit_arg(rest, &p, "no-verify").unwrap_or(&g.sub).clone();
            self.report_arg(
                "git.hooks.bypass",
                &at,
                "`git push --no-verify` skips the pre-push hook; fix what it refuses instead"
                    .into(),
                Some("git push --no-verify".into()),
            );
        }
        for opt in ["all", "branches", "mirror"] {
            if p.maybe(opt) {
                let at = hit_arg(rest, &p, opt).unwrap_or(&g.sub).clone();
                let target = self.ctx.target_branch.clone();
                self.report_arg(
                    "git.push.protected",
                    &at,
                    format!("`git push --{opt}` also pushes the protected branch `{target}`; push your session branch by name"),
                    None,
                );
            }
        }
        let deleting = p.maybe("delete");
        for refspec in ops.iter().skip(1) {
            let Some(text) = refspec.plain() else {
                continue;
            };
            let (forced, body) = match text.strip_prefix('+') {
                Some(body) => (true, body),
                None => (false, text),
            };
            if forced {
                self.report_arg(
                    "git.push.force",
                    refspec,
                    format!("the refspec `{text}` force-pushes (the leading `+`); drop the `+`"),
                    None,
                );
            }
            if body == ":" || body.contains('*') {
                // `:` pushes every matching branch, `refs/heads/*:...` every branch: the target
                // branch too.
                let target = self.ctx.target_branch.clone();
                self.report_arg(
                    "git.push.protected",
                    refspec,
                    format!("the refspec `{text}` pushes many branches, `{target}` among them; push your session branch by name"),
                    None,
                );
                continue;
            }
            let dst = match body.split_once(':') {
                Some(("", dst)) => {
                    if !dst.is_empty() {
                        self.report_arg(
                            "git.push.delete",
                            refspec,
                            format!("the refspec `{text}` deletes `{dst}` on the remote"),
                            None,
                        );
                    }
                    dst
                }
                Some((_, dst)) => dst,
                None => body,
            };
            if !deleting && self.is_target_branch(dst) {
                let target = self.ctx.target_branch.clone();
                self.report_arg(
                    "git.push.protected",
                    refspec,
                    format!("`git push` to `{target}` moves the protected branch; only `paddock merge` does that. Push your session branch instead"),
                    None,
                );
            }
        }
    }

    fn git_clone(&mut self, g: &GitCall, rest: &[Arg]) {
        #[rustfmt::skip]
        const CLONE: &[OptSpec] = &[
            o('o', "origin", Req), o('b', "branch", Req), o('u', "upload-pack", Req),
            l("reference", Req), l("reference-if-able", Req), l("separate-git-dir", Req),
            l("depth", Req), l("template", Req), o('c', "config", Req), o('j', "jobs", Req),
            l("filter", Req), l("shallow-since", Req), l("shallow-exclude", Req),
            l("server-option", Req), l("bundle-uri", Req), l("ref-format", Req),
            l("revision", Req), o('q', "quiet", No), o('v', "verbose", No),
            o('n', "no-checkout", No), l("bare", No), l("mirror", No), o('l', "local", No),
            o('s', "shared", No), l("dissociate", No), l("recurse-submodules", Opt),
            l("single-branch", No), l("no-tags", No), l("sparse", No),
        ];
        let p = opts::parse(rest, CLONE, GIT);
        let ops: Vec<&Arg> = p.operands.iter().map(|&i| &rest[i]).collect();
        let Some(repo) = ops.first() else { return };
        if repo
            .plain()
            .is_some_and(|t| !t.contains("://") && !t.contains('@'))
        {
            self.path(&g.cwd, repo, Access::Read, true, true, "`git clone` copies");
        }
        let dest = match ops.get(1) {
            Some(dest) => (*dest).clone(),
            None => {
                let name = repo
                    .plain()
                    .map(|t| {
                        t.trim_end_matches('/')
                            .rsplit(['/', ':'])
                            .next()
                            .unwrap_or(t)
                            .trim_end_matches(".git")
                            .to_owned()
                    })
                    .unwrap_or_default();
                Arg::synthetic(
                    if name.is_empty() {
                        repo.val.clone()
                    } else {
                        Val::Lit(Lit::plain(name))
                    },
                    repo,
                )
            }
        };
        self.path(
            &g.cwd,
            &dest,
            Access::Write,
            true,
            true,
            "`git clone` creates",
        );
        if let Some(dir) = p.value("separate-git-dir") {
            self.path(
                &g.cwd,
                dir,
                Access::Write,
                true,
                true,
                "`git clone` creates",
            );
        }
    }

    fn git_config_cmd(
        &mut self,
        st: &State,
        g: &GitCall,
        rest: &[Arg],
        aliases: &mut Vec<(String, String)>,
    ) {
        #[rustfmt::skip]
        const CONFIG: &[OptSpec] = &[
            l("global", No), l("system", No), l("local", No), l("worktree", No),
            o('f', "file", Req), l("blob", Req), l("includes", No), l("type", Req), l("bool", No),
            l("int", No), l("bool-or-int", No), l("bool-or-str", No), l("path", No),
            l("expiry-date", No), o('z', "null", No), l("name-only", No), l("show-origin", No),
            l("show-scope", No), l("default", Req), l("comment", Req), l("add", No),
            l("replace-all", No), l("unset", No), l("unset-all", No), l("get", No),
            l("get-all", No), l("get-regexp", No), l("get-urlmatch", No), o('l', "list", No),
            o('e', "edit", No), l("rename-section", No), l("remove-section", No),
            l("fixed-value", No), l("get-color", No), l("get-colorbool", No), l("all", No),
            l("regexp", No), l("value", Req), l("url", Req),
        ];
        let p = opts::parse(rest, CONFIG, GIT);
        let mut ops: Vec<&Arg> = p.operands.iter().map(|&i| &rest[i]).collect();
        let verb = match ops.first().and_then(|a| a.plain()) {
            Some(
                v @ ("set" | "unset" | "get" | "list" | "edit" | "rename-section"
                | "remove-section"),
            ) => {
                ops.remove(0);
                Some(v)
            }
            _ => None,
        };
        let edit = p.flag("edit") || verb == Some("edit");
        let section_op = p.flag("rename-section")
            || p.flag("remove-section")
            || matches!(verb, Some("rename-section" | "remove-section"));
        let unset = p.flag("unset") || p.flag("unset-all") || verb == Some("unset");
        let read = matches!(verb, Some("get" | "list"))
            || [
                "get",
                "get-all",
                "get-regexp",
                "get-urlmatch",
                "list",
                "get-color",
                "get-colorbool",
            ]
            .iter()
            .any(|f| p.flag(f));
        let writes = !read
            && (edit
                || section_op
                || unset
                || p.flag("add")
                || p.flag("replace-all")
                || verb == Some("set")
                || ops.len() >= 2);
        if !writes {
            return;
        }
        let first = ops.first().copied().unwrap_or(&g.sub).clone();
        if edit {
            self.report_arg(
                "git.hooks.repoint",
                &first,
                "`git config --edit` can change any setting, hooks included; set one key on the command line instead".into(),
                None,
            );
        } else if section_op {
            let section = first.plain().unwrap_or("").to_ascii_lowercase();
            if section == "core" || section.starts_with("include") {
                self.report_arg(
                    "git.hooks.repoint",
                    &first,
                    format!("changing the `{section}` section can re-point hooks"),
                    None,
                );
            }
        } else if let Some(key) = first.plain() {
            let key = key.to_owned();
            if unset {
                let lower = key.to_ascii_lowercase();
                if lower == "core.hookspath" || lower.starts_with("include") {
                    self.report_arg(
                        "git.hooks.repoint",
                        &first,
                        format!("unsetting `{key}` re-points hooks"),
                        None,
                    );
                }
            } else {
                let value = ops.get(1).and_then(|a| a.text()).map(str::to_owned);
                if ops.get(1).is_some()
                    && value.is_none()
                    && let Some(v) = ops.get(1)
                {
                    let v = (*v).clone();
                    self.dynamic(&v, "the git config value");
                }
                self.git_config_entry(st, &key, value.as_deref(), &first, aliases);
            }
        } else {
            self.dynamic(&first, "the git config key");
        }
        // Where the setting is written.
        let file = p.value("file").cloned();
        if let Some(file) = file {
            self.path(
                &g.cwd,
                &file,
                Access::Write,
                false,
                true,
                "`git config --file` writes",
            );
        } else if p.flag("global") || p.flag("system") {
            let target = if p.flag("global") {
                "~/.gitconfig"
            } else {
                "/etc/gitconfig"
            };
            if self.ctx.session.is_some() {
                let at = hit_arg(rest, &p, if p.flag("global") { "global" } else { "system" })
                    .unwrap_or(&g.sub)
                    .clone();
                self.report_arg(
                    "fs.write.outside-scope",
                    &at,
                    format!("`git config` writes {target}, outside the session's scope; use `git -c key=value` for one command"),
                    Some(target.into()),
                );
            }
        } else if !p.flag("worktree")
            && let Some(config) = self.ctx.git_config.clone()
        {
            let probe = Arg::synthetic(Val::Lit(Lit::plain(config.to_string_lossy())), &first);
            self.path(
                &g.cwd,
                &probe,
                Access::Write,
                false,
                true,
                "`git config` writes the shared repository config",
            );
        }
    }

    /// Judges one configuration setting git will use.
    fn git_config_entry(
        &mut self,
        st: &State,
        key: &str,
        value: Option<&str>,
        arg: &Arg,
        aliases: &mut Vec<(String, String)>,
    ) {
        let lower = key.to_ascii_lowercase();
        if lower == "core.hookspath" {
            self.report_arg(
                "git.hooks.repoint",
                arg,
                "`core.hooksPath` switches paddock's hooks off or points git at other hooks; leave it alone".into(),
                Some(format!("{key}={}", value.unwrap_or("?"))),
            );
            return;
        }
        if lower == "include.path" || (lower.starts_with("includeif.") && lower.ends_with(".path"))
        {
            self.report_arg(
                "git.hooks.repoint",
                arg,
                "an included config file can re-point or disable hooks; set the keys you need directly".into(),
                Some(key.to_owned()),
            );
            return;
        }
        if let Some(name) = lower.strip_prefix("alias.") {
            match value {
                Some(v) => aliases.push((name.to_owned(), v.to_owned())),
                None => self.dynamic(arg, "a git alias"),
            }
            return;
        }
        if lower == "core.worktree" {
            if let Some(v) = value {
                let probe = Arg::synthetic(Val::Lit(Lit::plain(v)), arg);
                self.git_location(&st.cwd, &probe, "core.worktree");
            }
            return;
        }
        if runs_command(&lower, value) {
            match value {
                Some(v) => {
                    let v = v.strip_prefix('!').unwrap_or(v).to_owned();
                    self.command_string(&v, arg.span, st);
                }
                None => self.dynamic(arg, &format!("the command `{key}` names:")),
            }
        }
    }

    /// A command string git runs (`rebase --exec`).
    fn git_command_value(&mut self, st: &State, cwd: &Cwd, cmd: &Arg) {
        match cmd.text() {
            Some(text) => {
                let text = text.to_owned();
                let mut child = st.child_shell(None);
                child.cwd = cwd.clone();
                let origin = self.origin_for(&text, cmd.span);
                self.walk_text(&text, origin, &mut child);
            }
            None => self.dynamic(cmd, "the command git runs"),
        }
    }

    /// `--git-dir`, `--work-tree` and friends: pointing git at another session is cross-access.
    fn git_location(&mut self, cwd: &Cwd, dir: &Arg, what: &str) {
        match &dir.val {
            Val::Dyn(_) => self.dynamic(dir, &format!("`{what}`")),
            Val::Lit(_) => self.path(
                cwd,
                dir,
                Access::Read,
                true,
                true,
                &format!("`{what}` points git at"),
            ),
        }
    }

    /// Judges pathspecs (`.`, `:/`, globs) a git subcommand writes.
    fn git_pathspecs(&mut self, cwd: &Cwd, specs: &[&Arg], access: Access, verb: &str) {
        for spec in specs {
            if let Some((base, arg)) = self.pathspec(cwd, spec) {
                self.path(&base, &arg, access, true, true, verb);
            }
        }
    }

    /// A pathspec as a path relative to a base directory; `None` for exclusions.
    fn pathspec(&self, cwd: &Cwd, spec: &Arg) -> Option<(Cwd, Arg)> {
        let Some(text) = spec.text() else {
            return Some((cwd.clone(), spec.clone()));
        };
        let mut body = text;
        let mut from_top = false;
        if let Some(rest) = body.strip_prefix(":(") {
            let (magic, rest) = rest.split_once(')').unwrap_or((rest, ""));
            if magic.split(',').any(|m| m == "exclude") {
                return None;
            }
            from_top = magic.split(',').any(|m| m == "top");
            body = rest;
        } else if let Some(rest) = body.strip_prefix(':') {
            let magic_end = rest
                .find(|c: char| !matches!(c, '/' | '!' | '^'))
                .unwrap_or(rest.len());
            let magic = &rest[..magic_end];
            if magic.contains(['!', '^']) {
                return None;
            }
            from_top = magic.contains('/');
            body = &rest[magic_end..];
        }
        let body = if body.is_empty() { "." } else { body };
        let meta = crate::syntax::glob_meta(body);
        let arg = Arg::synthetic(
            Val::Lit(Lit {
                text: body.to_owned(),
                meta,
            }),
            spec,
        );
        if from_top {
            let root = self.repo_root(cwd).map_or_else(|| cwd.clone(), Cwd::Known);
            return Some((root, arg));
        }
        Some((cwd.clone(), arg))
    }

    /// The top of the worktree `cwd` is in.
    pub(crate) fn repo_root(&self, cwd: &Cwd) -> Option<PathBuf> {
        let dir = cwd.known()?;
        let ctx = self.ctx;
        let mut roots: Vec<&Path> = vec![ctx.own_root(), &ctx.main_worktree];
        roots.extend(ctx.other_sessions.iter().map(|o| o.worktree.as_path()));
        // The deepest known worktree containing the directory.
        if let Some(root) = roots
            .into_iter()
            .filter(|r| dir.starts_with(r))
            .max_by_key(|r| r.as_os_str().len())
        {
            return Some(root.to_path_buf());
        }
        dir.ancestors()
            .find(|a| a.join(".git").exists())
            .map(Path::to_path_buf)
    }

    /// `git apply`/`git am`: the files named in the patches.
    fn git_patch_files(
        &mut self,
        st: &State,
        inv: &Inv,
        g: &GitCall,
        files: &[Arg],
        p: &Parsed,
        sub: &str,
    ) {
        let strip = p
            .value("p")
            .and_then(Arg::plain)
            .and_then(|t| t.parse::<usize>().ok())
            .unwrap_or(1);
        let directory = p
            .value("directory")
            .and_then(Arg::plain)
            .map(|d| d.trim_end_matches('/').to_owned());
        let root = self
            .repo_root(&g.cwd)
            .map_or_else(|| g.cwd.clone(), Cwd::Known);
        let mut sources: Vec<(Arg, Option<String>)> = Vec::new();
        if files.is_empty() {
            let text = self.patch_text(st, inv, inv.stdin_file.as_ref());
            sources.push((
                inv.stdin_file.clone().unwrap_or_else(|| g.sub.clone()),
                text,
            ));
        } else {
            for file in files {
                let text = if file.plain() == Some("-") {
                    self.patch_text(st, inv, inv.stdin_file.as_ref())
                } else {
                    let state = State {
                        cwd: g.cwd.clone(),
                        ..st.clone()
                    };
                    self.patch_text(&state, inv, Some(file))
                };
                sources.push((file.clone(), text));
            }
        }
        for (word, text) in sources {
            match text {
                Some(text) => {
                    for path in crate::commands::patch_paths(&text, Some(strip)) {
                        let full = match &directory {
                            Some(dir) => format!("{dir}/{path}"),
                            None => path,
                        };
                        let target = Arg::synthetic(Val::Lit(Lit::plain(full)), &word);
                        self.path(&root, &target, Access::Write, false, false, &format!("`git {sub}` changes"));
                    }
                }
                None => self.report_arg(
                    "fs.write.outside-scope",
                    &word,
                    format!("`git {sub}` changes the files named inside the patch, and the gate cannot read it before it runs; write the patch to a file first, then apply it in its own command"),
                    None,
                ),
            }
        }
    }

    /// `--output=FILE` (diff, log, show, format-patch) writes a file.
    fn git_output_option(&mut self, cwd: &Cwd, rest: &[Arg]) {
        let mut j = 0;
        while let Some(arg) = rest.get(j) {
            match arg.plain() {
                Some("--output") => {
                    if let Some(out) = rest.get(j + 1) {
                        self.path(
                            cwd,
                            out,
                            Access::Write,
                            false,
                            true,
                            "`git --output` writes",
                        );
                    }
                    j += 1;
                }
                Some(t) if t.starts_with("--output=") => {
                    let out = Arg::synthetic(Val::Lit(Lit::plain(&t["--output=".len()..])), arg);
                    self.path(
                        cwd,
                        &out,
                        Access::Write,
                        false,
                        true,
                        "`git --output` writes",
                    );
                }
                _ => {}
            }
            j += 1;
        }
    }

    fn is_target_branch(&self, name: &str) -> bool {
        let name = name.trim_start_matches('+');
        let short = name
            .strip_prefix("refs/heads/")
            .or_else(|| name.strip_prefix("heads/"))
            .unwrap_or(name);
        short == self.ctx.target_branch
    }

    /// Force-moving the target branch or another session's branch loses their commits.
    fn guard_branch_overwrite(&mut self, name: &Arg, verb: &str) {
        let Some(text) = name.plain() else {
            self.dynamic(name, "the branch name");
            return;
        };
        let short = text.strip_prefix("refs/heads/").unwrap_or(text);
        let own = self.ctx.session.as_ref().and_then(|s| s.branch.as_deref());
        let others = short.starts_with("paddock/") && Some(short) != own;
        if self.is_target_branch(text) || others {
            self.report_arg(
                "git.branch.force-delete",
                name,
                format!("{verb} `{short}`, which belongs to the target branch or another session; create a new branch instead"),
                None,
            );
        }
    }
}

/// The subcommand being judged.
struct GitCall {
    cwd: Cwd,
    sub: Arg,
    #[allow(dead_code)]
    word0: Arg,
}

/// The word where an option was given.
fn hit_arg<'x>(args: &'x [Arg], p: &Parsed, name: &str) -> Option<&'x Arg> {
    p.hits
        .iter()
        .rev()
        .find(|h| h.name == name)
        .and_then(|h| args.get(h.at))
}

fn joined_path(dir: &Arg, rest: &str) -> Arg {
    match dir.plain() {
        Some(text) => Arg::synthetic(
            Val::Lit(Lit::plain(format!("{}/{rest}", text.trim_end_matches('/')))),
            dir,
        ),
        None => dir.clone(),
    }
}

/// `GIT_CONFIG_PARAMETERS`: `'key'='value' 'key2'='value2'`.
fn parse_config_parameters(text: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let read_quoted = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> String {
        let mut s = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\'' {
                    // `'\''` is an escaped quote.
                    if chars.peek() == Some(&'\\') {
                        chars.next();
                        chars.next();
                        s.push('\'');
                        chars.next();
                        continue;
                    }
                    break;
                }
                s.push(c);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '=' || c.is_whitespace() {
                    break;
                }
                s.push(c);
                chars.next();
            }
        }
        s
    };
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let key = read_quoted(&mut chars);
        let (key, value) = if chars.peek() == Some(&'=') {
            chars.next();
            (key, Some(read_quoted(&mut chars)))
        } else if let Some((k, v)) = key.split_once('=') {
            (k.to_owned(), Some(v.to_owned()))
        } else {
            (key, None)
        };
        if key.is_empty() && value.is_none() {
            chars.next();
            continue;
        }
        out.push((key, value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parameters() {
        assert_eq!(
            parse_config_parameters("'core.hooksPath'='' 'user.name'='a b'"),
            vec![
                ("core.hooksPath".to_owned(), Some(String::new())),
                ("user.name".to_owned(), Some("a b".to_owned()))
            ]
        );
    }

    #[test]
    fn command_keys() {
        assert!(runs_command("core.fsmonitor", Some("rm -rf ~")));
        assert!(!runs_command("core.fsmonitor", Some("true")));
        assert!(runs_command("diff.foo.textconv", Some("x")));
        assert!(!runs_command("user.name", Some("x")));
    }
}
