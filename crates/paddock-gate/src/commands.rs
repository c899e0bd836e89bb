//! What each command does: wrappers are unwrapped, nested shells re-parsed, and the paths a
//! command reads, writes or deletes are handed to the path judge.
//!
//! Commands the gate does not know run unjudged (the kernel layer stands behind them), except
//! that an argument naming another session's worktree is still refused.

use std::path::Path;

use crate::opts::{self, GNU, OptSpec, POSIX, Parsed, Style, Takes::*, l, o, s};
use crate::paths::{self, Access};
use crate::syntax::{self, Dyn, Lit, Val};
use crate::walk::{Arg, Cwd, EnvAssign, Frame, Inv, State, Stdin, Walker};

/// The name a program is known by: `/usr/bin/git` is `git`, `python3.12` is `python`.
pub(crate) fn program_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let versioned = |family: &str| {
        base.strip_prefix(family)
            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    for family in [
        "python", "pypy", "perl", "ruby", "lua", "php", "node", "pip",
    ] {
        if versioned(family) {
            return match family {
                "pypy" => "python".to_owned(),
                other => other.to_owned(),
            };
        }
    }
    match base {
        "nodejs" => "node".to_owned(),
        "gsed" | "gtar" | "gawk" | "gfind" | "gxargs" | "gcp" | "gmv" | "gln" | "grm"
        | "gtouch" | "gmkdir" | "gtruncate" | "ginstall" | "gchmod" | "gchown" | "gdd" | "gtee"
        | "gsplit" | "genv" | "gtimeout" | "gnice" | "gstdbuf" | "gsort" => base[1..].to_owned(),
        "mawk" | "nawk" | "busybox-awk" => "awk".to_owned(),
        "sudoedit" => "sudoedit".to_owned(),
        other => other.to_owned(),
    }
}

fn operands<'x>(args: &'x [Arg], parsed: &Parsed) -> Vec<&'x Arg> {
    parsed
        .operands
        .iter()
        .filter_map(|&i| args.get(i))
        .collect()
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An argument naming `name` inside the directory `dir` (for `cp a b/` → `b/a`).
fn joined(dir: &Arg, name: &str) -> Arg {
    match dir.plain() {
        Some(text) => {
            let sep = if text.ends_with('/') { "" } else { "/" };
            Arg::synthetic(Val::Lit(Lit::plain(format!("{text}{sep}{name}"))), dir)
        }
        None => dir.clone(),
    }
}

fn is_dir(cwd: &Cwd, arg: &Arg) -> bool {
    let Some(text) = arg.plain() else {
        return false;
    };
    if text.ends_with('/') {
        return true;
    }
    match cwd {
        Cwd::Known(base) => paths::resolve(base, text, true).is_dir(),
        Cwd::Unknown(_) => false,
    }
}

impl Walker<'_> {
    /// Judges one command about to run.
    pub(crate) fn exec<'a>(&mut self, fr: &mut Frame<'a>, st: &mut State, inv: Inv) {
        let Some(first) = inv.argv.first().cloned() else {
            return;
        };
        if !read_only(&inv.argv) {
            self.may_change = true;
        }
        let name = match &first.val {
            Val::Lit(lit) if lit.meta.is_none() => lit.text.clone(),
            Val::Dyn(Dyn::ProcSubst) => {
                self.script_input(&first, "runs a program", "a process substitution");
                return;
            }
            _ => {
                self.dynamic(&first, "the command name");
                return;
            }
        };
        let args: Vec<Arg> = inv.argv[1..].to_vec();
        // Aliases and functions shadow programs (`command NAME` and paths skip them).
        let shell_word = !inv.no_functions && !name.contains('/');
        if shell_word
            && (self.expand_alias(st, &first, &name, &args) || self.call_function(st, &name, &args))
        {
            return;
        }
        if name.contains('/') {
            self.script_file(st, &first);
        }
        let program = program_name(&name);
        // The policy's own rules see every command that gets this far: what runs, after
        // aliases, functions and wrappers.
        self.custom_rules(&inv.argv);
        match program.as_str() {
            // ---- the shell's own state ----
            "cd" | "pushd" | "popd" => self.change_dir(st, &program, &args),
            "exit" | "return" | "logout" => st.reachable = false,
            "eval" => self.eval(st, &args),
            "source" | "." => self.source(st, &inv, &args),
            "trap" => self.trap(st, &args),
            "alias" => {
                for arg in &args {
                    if let Some((name, value)) = arg.plain().and_then(|t| t.split_once('=')) {
                        let (name, value) = (name.to_owned(), value.to_owned());
                        // Checked where it is defined, and again where it is used.
                        let mut scratch = st.clone();
                        let origin = self.origin_for(&value, arg.span);
                        self.walk_text(&value, origin, &mut scratch);
                        self.aliases.insert(name, value);
                    }
                }
            }
            "unalias" => {
                for arg in &args {
                    if let Some(name) = arg.plain() {
                        self.aliases.remove(name);
                    }
                }
            }
            "export" | "declare" | "typeset" | "local" | "readonly" => self.declare(st, &args),
            "unset" => {
                for arg in &args {
                    if arg.plain() == Some("-f") {
                        continue;
                    }
                    if let Some(name) = arg.plain() {
                        st.unbind(name);
                        self.functions.remove(name);
                    }
                }
            }
            "read" | "mapfile" | "readarray" | "getopts" | "let" | "printf" => {
                for arg in &args {
                    match arg.text() {
                        Some(text) => {
                            for ident in
                                text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                            {
                                if is_identifier(ident) {
                                    st.unbind(ident);
                                }
                            }
                        }
                        None if program != "printf" => st.vars.retain(|k, _| k == "HOME"),
                        None => {}
                    }
                }
            }
            "set" => {
                if let Some(pos) = args.iter().position(|a| a.plain() == Some("--")) {
                    st.positional = Some(
                        args[pos + 1..]
                            .iter()
                            .map(|a| a.plain().map(str::to_owned))
                            .collect(),
                    );
                } else if args
                    .first()
                    .and_then(Arg::plain)
                    .is_some_and(|t| !t.starts_with(['-', '+']))
                {
                    st.positional =
                        Some(args.iter().map(|a| a.plain().map(str::to_owned)).collect());
                }
            }
            "shift" => {
                let n = args
                    .first()
                    .and_then(Arg::plain)
                    .map_or(Some(1), |t| t.parse::<usize>().ok());
                st.positional = match (st.positional.take(), n) {
                    (Some(mut p), Some(n)) if n <= p.len() => Some(p.split_off(n)),
                    _ => None,
                };
            }
            // ---- pure data: arguments are never paths ----
            // `test -f PATH` looks at files: only another session's matter.
            "test" | "[" => self.scan_args(st, &args),
            "echo" | "true" | "false" | ":" | "pwd" | "sleep" | "seq" | "yes" | "date"
            | "whoami" | "id" | "uname" | "hostname" | "basename" | "dirname" | "which"
            | "type" | "hash" | "help" | "jobs" | "wait" | "kill" | "umask" | "ulimit"
            | "shopt" | "printenv" | "tput" | "clear" | "dirs" | "times" | "break" | "continue"
            | "caller" | "disown" | "fg" | "bg" | "nproc" | "arch" | "tty" | "locale"
            | "getconf" | "expr" | "bc" | "dc" | "false_" | "cal" | "factor" | "numfmt"
            | "users" | "who" | "w" | "uptime" | "free" | "df" | "ps" | "pgrep" | "mktemp_"
            | "complete" | "compgen" | "compopt" | "bind" => {}
            // ---- wrappers ----
            "command" => self.command_builtin(fr, st, &inv, &args),
            "builtin" => self.wrap(fr, st, &inv, &args, false, Vec::new(), None),
            "exec" => {
                #[rustfmt::skip]
                const T: &[OptSpec] = &[s('c', No), s('l', No), s('a', Req)];
                let p = opts::parse(&args, T, POSIX);
                let rest = p
                    .operands
                    .first()
                    .map_or(&args[args.len()..], |&i| &args[i..]);
                if !rest.is_empty() {
                    self.wrap(fr, st, &inv, rest, true, Vec::new(), None);
                    st.reachable = false;
                }
            }
            "env" => self.env(fr, st, &inv, &args),
            "nice" | "nohup" | "timeout" | "time" | "stdbuf" | "setsid" | "ionice" | "chrt"
            | "taskset" | "unbuffer" | "chronic" | "catchsegv" | "fakeroot" | "strace"
            | "ltrace" | "valgrind" | "busybox" | "toybox" | "doas" | "sudo" | "sudoedit"
            | "runuser" | "su" | "flock" | "watch" | "script" | "xargs" | "parallel" => {
                self.wrapper(fr, st, &inv, &program, &args);
            }
            // ---- shells and interpreters ----
            "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "yash" | "posh" | "rbash"
            | "ksh93" | "pdksh" | "oksh" | "fish" | "csh" | "tcsh" => {
                self.shell(st, &inv, &program, &args)
            }
            "python" | "perl" | "ruby" | "node" | "deno" | "bun" | "php" | "lua" | "luajit"
            | "Rscript" | "R" | "julia" | "osascript" | "pwsh" | "powershell" | "tclsh"
            | "wish" | "irb" | "groovy" | "jshell" => self.interpreter(st, &inv, &program, &args),
            "awk" => self.awk(st, &args),
            "sed" => self.sed(st, &args),
            "ed" | "ex" | "vi" | "vim" | "nvim" | "view" | "nano" | "pico" | "emacs" | "micro"
            | "joe" | "sponge" => self.editor(st, &inv, &program, &args),
            // ---- file system writers ----
            "rm" => self.rm(st, &args),
            "rmdir" | "unlink" => {
                #[rustfmt::skip]
                const T: &[OptSpec] = &[
                    o('p', "parents", No), o('v', "verbose", No),
                    l("ignore-fail-on-non-empty", No),
                ];
                let p = opts::parse(&args, T, GNU);
                let verb = format!("`{program}` deletes");
                for arg in operands(&args, &p) {
                    self.path(&st.cwd, arg, Access::Delete, false, false, &verb);
                }
            }
            "shred" => {
                #[rustfmt::skip]
                const T: &[OptSpec] = &[
                    o('n', "iterations", Req), l("random-source", Req), o('s', "size", Req),
                    o('u', "remove", Opt), o('f', "force", No), o('v', "verbose", No),
                    o('x', "exact", No), o('z', "zero", No),
                ];
                let p = opts::parse(&args, T, GNU);
                let access = if p.maybe("remove") {
                    Access::Delete
                } else {
                    Access::Write
                };
                for arg in operands(&args, &p) {
                    self.path(&st.cwd, arg, access, false, true, "`shred` destroys");
                }
            }
            "cp" => self.cp_mv(st, &args, false),
            "mv" => self.cp_mv(st, &args, true),
            "install" => self.install(st, &args),
            "ln" | "link" => self.ln(st, &program, &args),
            "touch" | "mkdir" | "mkfifo" | "mknod" | "tee" | "truncate" | "chattr" | "setfacl" => {
                self.simple_writer(st, &program, &args);
            }
            "chmod" | "chown" | "chgrp" => self.chmod(st, &program, &args),
            "dd" => {
                for arg in &args {
                    match arg.text() {
                        Some(text) if text.starts_with("of=") => {
                            let target = Arg::synthetic(Val::Lit(Lit::plain(&text[3..])), arg);
                            self.path(
                                &st.cwd,
                                &target,
                                Access::Write,
                                false,
                                true,
                                "`dd of=` writes",
                            );
                        }
                        Some(text) if text.starts_with("if=") => {
                            let source = Arg::synthetic(Val::Lit(Lit::plain(&text[3..])), arg);
                            self.path(
                                &st.cwd,
                                &source,
                                Access::Read,
                                false,
                                true,
                                "`dd if=` reads",
                            );
                        }
                        Some(_) => {}
                        None => self.dynamic(arg, "a `dd` operand"),
                    }
                }
            }
            "rsync" => self.rsync(st, &args),
            "tar" | "bsdtar" => self.tar(st, &args),
            "unzip" => {
                #[rustfmt::skip]
                const T: &[OptSpec] = &[
                    s('d', Req), s('x', No), s('P', Req), s('p', No), s('l', No), s('t', No),
                    s('v', No), s('Z', No), s('c', No), s('z', No),
                ];
                let p = opts::parse(&args, T, GNU);
                let ops = operands(&args, &p);
                if let Some(archive) = ops.first() {
                    self.path(&st.cwd, archive, Access::Read, false, true, "`unzip` reads");
                }
                if ["p", "l", "t", "v", "Z", "c", "z"]
                    .iter()
                    .any(|f| p.flag(f))
                {
                    return;
                }
                match p.value("d") {
                    Some(dir) => self.path(
                        &st.cwd,
                        dir,
                        Access::Write,
                        true,
                        true,
                        "`unzip -d` extracts into",
                    ),
                    None => self.cwd_write(st, &args[..0], "`unzip` extracts into"),
                }
            }
            "zip" => {
                #[rustfmt::skip]
                const T: &[OptSpec] = &[
                    s('b', Req), s('n', Req), s('t', Req), s('x', No), s('i', No), s('O', Req),
                    s('P', Req), s('Z', Req), o('r', "recurse-paths", No), o('m', "move", No),
                    s('T', No), l("unzip-command", Req), l("out", Req),
                ];
                let p = opts::parse(&args, T, GNU);
                if p.maybe("unzip-command")
                    && let Some(cmd) = p.value("unzip-command").cloned()
                {
                    self.command_text_arg(st, &cmd);
                }
                let ops = operands(&args, &p);
                if let Some((archive, files)) = ops.split_first() {
                    self.path(&st.cwd, archive, Access::Write, false, true, "`zip` writes");
                    for file in files {
                        self.path(
                            &st.cwd,
                            file,
                            Access::Read,
                            p.flag("recurse-paths"),
                            true,
                            "`zip` reads",
                        );
                        if p.flag("move") {
                            self.path(
                                &st.cwd,
                                file,
                                Access::Delete,
                                true,
                                false,
                                "`zip -m` deletes",
                            );
                        }
                    }
                }
            }
            "gzip" | "gunzip" | "bzip2" | "bunzip2" | "xz" | "unxz" | "lzma" | "unlzma"
            | "zstd" | "unzstd" | "lz4" | "pigz" | "compress" | "uncompress" | "brotli" => {
                #[rustfmt::skip]
                const T: &[OptSpec] = &[
                    o('c', "stdout", No), l("to-stdout", No), o('t', "test", No),
                    o('l', "list", No), o('r', "recursive", No), o('S', "suffix", Req),
                    o('o', "output", Req), o('k', "keep", No), o('d', "decompress", No),
                    o('f', "force", No), o('T', "threads", Req), o('b', "blocksize", Req),
                ];
                let p = opts::parse(&args, T, GNU);
                if let Some(out) = p.value("output")
                    && out.plain() != Some("-")
                {
                    self.path(
                        &st.cwd,
                        out,
                        Access::Write,
                        false,
                        true,
                        &format!("`{program} -o` writes"),
                    );
                }
                let to_stdout =
                    p.flag("stdout") || p.flag("to-stdout") || p.flag("test") || p.flag("list");
                let verb = format!("`{program}` replaces");
                for arg in operands(&args, &p) {
                    let access = if to_stdout || p.value("output").is_some() {
                        Access::Read
                    } else {
                        Access::Write
                    };
                    self.path(&st.cwd, arg, access, p.flag("recursive"), true, &verb);
                }
            }
            "split" | "csplit" => {
                #[rustfmt::skip]
                const T: &[OptSpec] = &[
                    o('a', "suffix-length", Req), o('b', "bytes", Req), o('C', "line-bytes", Req),
                    o('l', "lines", Req), o('n', "number", Req), o('t', "separator", Req),
                    l("additional-suffix", Req), l("filter", Req), o('f', "prefix", Req),
                    o('d', "numeric-suffixes", Opt), o('x', "hex-suffixes", Opt),
                    o('k', "keep-files", No), o('s', "quiet", No), o('z', "elide-empty-files", No),
                    o('e', "elide-empty-files", No),
                ];
                let p = opts::parse(&args, T, GNU);
                if let Some(filter) = p.value("filter").cloned() {
                    self.command_text_arg(st, &filter);
                }
                let ops = operands(&args, &p);
                if let Some(input) = ops.first() {
                    self.path(&st.cwd, input, Access::Read, false, true, "reads");
                }
                let verb = format!("`{program}` writes pieces to");
                let prefix = if program == "split" {
                    ops.get(1).copied().cloned()
                } else {
                    p.value("prefix").cloned()
                };
                match prefix {
                    Some(prefix) => {
                        let piece = match prefix.plain() {
                            Some(text) => {
                                Arg::synthetic(Val::Lit(Lit::plain(format!("{text}00"))), &prefix)
                            }
                            None => prefix.clone(),
                        };
                        self.path(&st.cwd, &piece, Access::Write, false, true, &verb);
                    }
                    None => self.cwd_write(st, &args[..0], &verb),
                }
            }
            "sort" => {
                #[rustfmt::skip]
                const T: &[OptSpec] = &[
                    o('o', "output", Req), o('k', "key", Req), o('t', "field-separator", Req),
                    o('S', "buffer-size", Req), o('T', "temporary-directory", Req),
                    l("files0-from", Req), l("compress-program", Req), l("batch-size", Req),
                    l("parallel", Req), l("random-source", Req), l("sort", Req),
                ];
                let p = opts::parse(&args, T, GNU);
                if let Some(out) = p.value("output") {
                    self.path(&st.cwd, out, Access::Write, false, true, "`sort -o` writes");
                }
                if let Some(cmd) = p.value("compress-program").cloned() {
                    self.command_text_arg(st, &cmd);
                }
                for arg in operands(&args, &p) {
                    self.path(&st.cwd, arg, Access::Read, false, true, "`sort` reads");
                }
            }
            "uniq" => {
                #[rustfmt::skip]
                const T: &[OptSpec] = &[
                    o('f', "skip-fields", Req), o('s', "skip-chars", Req),
                    o('w', "check-chars", Req), l("group", Opt), o('D', "all-repeated", Opt),
                ];
                let p = opts::parse(&args, T, GNU);
                let ops = operands(&args, &p);
                if let Some(input) = ops.first() {
                    self.path(&st.cwd, input, Access::Read, false, true, "`uniq` reads");
                }
                if let Some(output) = ops.get(1) {
                    self.path(&st.cwd, output, Access::Write, false, true, "`uniq` writes");
                }
            }
            "iconv" => {
                #[rustfmt::skip]
                const T: &[OptSpec] = &[
                    o('f', "from-code", Req), o('t', "to-code", Req), o('o', "output", Req),
                ];
                let p = opts::parse(&args, T, GNU);
                if let Some(out) = p.value("output") {
                    self.path(
                        &st.cwd,
                        out,
                        Access::Write,
                        false,
                        true,
                        "`iconv -o` writes",
                    );
                }
                for arg in operands(&args, &p) {
                    self.path(&st.cwd, arg, Access::Read, false, true, "`iconv` reads");
                }
            }
            "patch" => self.patch(st, &inv, &args),
            "wget" => self.wget(st, &args),
            "curl" => self.curl(st, &args),
            "mktemp" => self.mktemp(st, &args),
            "git" => self.git(fr, st, &inv, &args),
            "find" => self.find(fr, st, &inv, &args),
            // ---- readers ----
            "cat" | "head" | "tail" | "less" | "more" | "wc" | "file" | "stat" | "cmp"
            | "strings" | "od" | "xxd" | "hexdump" | "nl" | "cut" | "paste" | "join" | "comm"
            | "column" | "fold" | "fmt" | "tac" | "rev" | "jq" | "yq" | "bat" | "readlink"
            | "realpath" | "lsattr" | "getfacl" | "md5sum" | "sha1sum" | "sha224sum"
            | "sha256sum" | "sha384sum" | "sha512sum" | "b2sum" | "cksum" | "sum" | "base64"
            | "base32" | "zcat" | "bzcat" | "xzcat" | "zstdcat" | "zless" | "zmore" | "expand"
            | "unexpand" | "tr" | "pr" | "look" | "source-highlight" => {
                self.reader(st, &args, false);
            }
            "grep" | "egrep" | "fgrep" | "zgrep" | "ls" | "dir" | "vdir" | "diff" | "colordiff" => {
                let recursive = args.iter().filter_map(Arg::plain).any(|t| {
                    matches!(t, "-r" | "-R" | "--recursive" | "--dereference-recursive")
                        || (t.starts_with('-') && !t.starts_with("--") && t.contains(['r', 'R']))
                });
                self.reader(st, &args, recursive);
            }
            "rg" | "ag" | "ack" | "du" | "tree" | "fd" | "fdfind" | "locate" => {
                self.reader(st, &args, true)
            }
            _ => self.scan_args(st, &args),
        }
    }

    /// An alias used as a command name: its text, then the arguments, run in this shell.
    fn expand_alias(&mut self, st: &mut State, first: &Arg, name: &str, args: &[Arg]) -> bool {
        // Only an unquoted name expands, and an alias never expands itself.
        if first.raw != name || self.expanding.iter().any(|n| n == name) {
            return false;
        }
        let Some(value) = self.aliases.get(name).cloned() else {
            return false;
        };
        let mut text = value;
        let mut last_span = None;
        for arg in args {
            // One word may have expanded to several arguments: add it once.
            if last_span != Some(arg.span) {
                text.push(' ');
                text.push_str(&arg.raw);
            }
            last_span = Some(arg.span);
        }
        let end = args
            .last()
            .map_or(first.span.0 + first.span.1, |a| a.span.0 + a.span.1);
        let span = (first.span.0, end.saturating_sub(first.span.0));
        self.expanding.push(name.to_owned());
        self.walk_text(&text, crate::syntax::Origin::Whole(span.0, span.1), st);
        self.expanding.pop();
        true
    }

    fn script_input(&mut self, arg: &Arg, what: &str, from: &str) {
        self.report_arg(
            "shell.script-input",
            arg,
            format!(
                "`{}` {what} read from {from}, which the gate cannot see; save the script as a \
                 file inside the scope and run it by name, or pass the commands with `sh -c '...'` \
                 so they can be checked",
                arg.raw
            ),
            None,
        );
    }

    fn interpreter_write(&mut self, arg: &Arg, what: &str, how: &str) {
        self.report_arg(
            "shell.interpreter-write",
            arg,
            format!(
                "{what} runs code that may write files or start programs, which the gate cannot \
                 check; {how}"
            ),
            None,
        );
    }

    /// Any argument that names another session's worktree is refused, whatever the program.
    pub(crate) fn scan_args(&mut self, st: &State, args: &[Arg]) {
        if self.ctx.other_sessions.is_empty() {
            return;
        }
        for arg in args {
            let Some(text) = arg.text() else { continue };
            let value = match text.split_once('=') {
                Some((key, value)) if key.starts_with('-') => value,
                _ => text,
            };
            if value.contains('/') || value == ".." {
                let probe = Arg::synthetic(
                    Val::Lit(Lit {
                        text: value.to_owned(),
                        meta: arg_meta(arg).and_then(|m| m.checked_sub(text.len() - value.len())),
                    }),
                    arg,
                );
                self.path(&st.cwd, &probe, Access::Read, false, true, "reads");
            }
        }
    }

    fn reader(&mut self, st: &State, args: &[Arg], recursive: bool) {
        for arg in args {
            let Some(text) = arg.text() else { continue };
            if text.starts_with('-') && text.len() > 1 {
                if let Some((_, value)) = text.split_once('=') {
                    let probe = Arg::synthetic(Val::Lit(Lit::plain(value)), arg);
                    self.path(&st.cwd, &probe, Access::Read, recursive, true, "reads");
                }
                continue;
            }
            self.path(&st.cwd, arg, Access::Read, recursive, true, "reads");
        }
    }

    /// A write into the working directory itself (a file whose name the gate cannot know).
    fn cwd_write(&mut self, st: &State, like: &[Arg], verb: &str) {
        let Cwd::Known(dir) = &st.cwd else {
            let arg = like.first().cloned().unwrap_or(Arg {
                val: Val::Dyn(Dyn::Other("the working directory".into())),
                raw: ".".into(),
                span: (0, 0),
            });
            self.dynamic(&arg, verb);
            return;
        };
        let text = format!("{}/*", dir.display());
        let meta = text.len() - 1;
        let arg = Arg {
            val: Val::Lit(Lit {
                text,
                meta: Some(meta),
            }),
            raw: ".".into(),
            span: like.first().map_or((0, 0), |a| a.span),
        };
        self.path(&st.cwd, &arg, Access::Write, false, true, verb);
    }

    /// Walks a command string an option hands to a program (`--filter=CMD`).
    /// Runs `arg` as shell text (`su -c`, `flock -c`, `script -c`), or refuses it as computed
    /// when it is not literal; `what` names it in the refusal.
    fn shell_text_arg(&mut self, st: &State, arg: &Arg, what: &str) {
        match arg.text() {
            Some(text) => {
                let text = text.to_owned();
                self.shell_text(&text, arg.span, st, None);
            }
            None => self.dynamic(arg, what),
        }
    }

    fn command_text_arg(&mut self, st: &State, arg: &Arg) {
        match arg.text() {
            Some(text) => {
                let text = text.to_owned();
                self.command_string(&text, arg.span, st);
            }
            None => self.dynamic(arg, "a command to run"),
        }
    }

    // ---- the shell's own state -------------------------------------------------------------

    fn change_dir(&mut self, st: &mut State, program: &str, args: &[Arg]) {
        let operand = args.iter().find(|a| {
            !a.plain().is_some_and(|t| {
                t.len() > 1
                    && t.starts_with('-')
                    && t != "--"
                    && !t[1..].starts_with(|c: char| c.is_ascii_digit())
            }) && a.plain() != Some("--")
        });
        if program == "popd" {
            let popped = st.dirstack.as_mut().and_then(Vec::pop);
            let next = match (operand, popped) {
                (None, Some(dir)) => dir,
                _ => Cwd::Unknown("`popd`".into()),
            };
            st.oldpwd = std::mem::replace(&mut st.cwd, next);
            return;
        }
        let target: Cwd = match operand {
            None if program == "pushd" => {
                let top = st.dirstack.as_mut().and_then(Vec::pop);
                match top {
                    Some(dir) => {
                        let here = st.cwd.clone();
                        if let Some(stack) = st.dirstack.as_mut() {
                            stack.push(here);
                        }
                        st.oldpwd = std::mem::replace(&mut st.cwd, dir);
                        return;
                    }
                    None => Cwd::Unknown("`pushd`".into()),
                }
            }
            None => match st.vars.get("HOME") {
                Some(home) => Cwd::Known(paths::resolve_abs(Path::new(&home.text))),
                None => Cwd::Unknown("`cd` to $HOME".into()),
            },
            Some(arg) => match arg.plain() {
                Some("-") => st.oldpwd.clone(),
                Some(text) if text.starts_with(['+', '-']) && program == "pushd" => {
                    Cwd::Unknown(format!("`pushd {text}`"))
                }
                Some(text) => {
                    let relative_search = !text.starts_with('/')
                        && !text.starts_with("./")
                        && !text.starts_with("../")
                        && text != "."
                        && text != "..";
                    if st.cdpath && relative_search {
                        Cwd::Unknown(format!("`cd {text}` with CDPATH set"))
                    } else {
                        match &st.cwd {
                            Cwd::Known(base) => {
                                // `cd` is logical by default: `..` is taken from the path as written.
                                let lexical = lexical_join(base, text);
                                let resolved = paths::resolve_abs(&lexical);
                                if resolved.is_dir() {
                                    for other in &self.ctx.other_sessions {
                                        if resolved.starts_with(&other.worktree) {
                                            let (id, worktree) =
                                                (other.id.clone(), other.worktree.clone());
                                            self.report_arg(
                                                "session.cross-access",
                                                arg,
                                                format!(
                                                    "`{program}` enters session {id}'s worktree {}; sessions may \
                                                     not read or write each other's files (INV-WS-003)",
                                                    worktree.display()
                                                ),
                                                Some(resolved.to_string_lossy().into_owned()),
                                            );
                                        }
                                    }
                                    Cwd::Known(resolved)
                                } else {
                                    Cwd::Unknown(format!(
                                        "`{program} {text}` into a directory that does not exist yet"
                                    ))
                                }
                            }
                            Cwd::Unknown(_) if text.starts_with('/') => {
                                let resolved = paths::resolve_abs(Path::new(text));
                                if resolved.is_dir() {
                                    Cwd::Known(resolved)
                                } else {
                                    Cwd::Unknown(format!("`{program} {text}`"))
                                }
                            }
                            Cwd::Unknown(why) => Cwd::Unknown(why.clone()),
                        }
                    }
                }
                None => Cwd::Unknown(format!("`{program} {}`", arg.raw)),
            },
        };
        if program == "pushd" {
            let here = st.cwd.clone();
            if let Some(stack) = st.dirstack.as_mut() {
                stack.push(here);
            }
        }
        st.oldpwd = std::mem::replace(&mut st.cwd, target);
    }

    fn eval(&mut self, st: &mut State, args: &[Arg]) {
        let mut words = Vec::new();
        for arg in args {
            match arg.text() {
                Some(text) => words.push(text.to_owned()),
                None => {
                    self.report_arg(
                        "shell.dynamic",
                        arg,
                        format!(
                            "`eval` runs text computed at run time (`{}`), which the gate cannot \
                             see; run the command directly instead",
                            arg.raw
                        ),
                        None,
                    );
                    return;
                }
            }
        }
        if words.is_empty() {
            return;
        }
        let text = words.join(" ");
        let span = match (args.first(), args.last()) {
            (Some(a), Some(b)) => (a.span.0, (b.span.0 + b.span.1).saturating_sub(a.span.0)),
            _ => (0, 0),
        };
        let origin = self.origin_for(&text, span);
        self.walk_text(&text, origin, st);
    }

    fn source(&mut self, st: &mut State, inv: &Inv, args: &[Arg]) {
        let Some(file) = args.first() else { return };
        match &file.val {
            Val::Dyn(Dyn::ProcSubst) => {
                self.script_input(file, "sources a script", "a process substitution")
            }
            Val::Dyn(_) => self.dynamic(file, "the script to source"),
            Val::Lit(_) if file.plain() == Some("/dev/stdin") || file.plain() == Some("-") => {
                if inv.stdin != Stdin::Inherit {
                    self.script_input(file, "sources a script", "stdin");
                }
            }
            Val::Lit(_) => self.script_file(st, file),
        }
        // A sourced file may change directory and variables.
        st.cwd = Cwd::Unknown(format!("`source {}`", file.raw));
        st.vars.clear();
    }

    fn trap(&mut self, st: &State, args: &[Arg]) {
        let first = args.iter().find(|a| a.plain() != Some("--"));
        let Some(action) = first else { return };
        match action.text() {
            Some(text) if text.starts_with('-') && args.len() == 1 => {}
            Some("-") => {}
            Some(text) => {
                let text = text.to_owned();
                self.shell_text(&text, action.span, st, None);
            }
            None => self.dynamic(action, "the trap action"),
        }
    }

    fn declare(&mut self, st: &mut State, args: &[Arg]) {
        let typed = args
            .iter()
            .filter_map(Arg::plain)
            .any(|t| t.starts_with('-') && t.len() > 1 && t != "-x" && t != "-r" && t != "-g");
        for arg in args {
            match &arg.val {
                Val::Lit(lit) => {
                    let Some((name, value)) = lit.text.split_once('=') else {
                        continue;
                    };
                    let name = name.trim_end_matches('+');
                    if !is_identifier(name) {
                        continue;
                    }
                    if typed || lit.text.contains("+=") {
                        st.unbind(name);
                    } else {
                        if name == "CDPATH" {
                            st.cdpath = true;
                        }
                        st.vars.insert(name.to_owned(), Lit::plain(value));
                    }
                }
                Val::Dyn(_) => {
                    let name = arg.raw.split(['=', '+', '[']).next().unwrap_or("");
                    if is_identifier(name) {
                        st.unbind(name);
                    } else {
                        st.vars.retain(|k, _| k == "HOME");
                    }
                }
            }
        }
    }

    // ---- wrappers --------------------------------------------------------------------------

    /// Runs `rest` as the command a wrapper starts.
    #[allow(clippy::too_many_arguments)]
    fn wrap<'a>(
        &mut self,
        fr: &mut Frame<'a>,
        st: &mut State,
        inv: &Inv,
        rest: &[Arg],
        new_process: bool,
        env: Vec<EnvAssign>,
        cwd: Option<Cwd>,
    ) {
        if rest.is_empty() {
            return;
        }
        let mut all_env = inv.env.clone();
        all_env.extend(env);
        let inner = Inv {
            argv: rest.to_vec(),
            env: all_env,
            stdin: inv.stdin,
            stdin_file: inv.stdin_file.clone(),
            stdin_text: inv.stdin_text.clone(),
            no_functions: new_process || inv.no_functions,
        };
        if new_process {
            let mut child = st.clone();
            if let Some(cwd) = cwd {
                child.cwd = cwd;
            }
            self.exec(fr, &mut child, inner);
        } else {
            self.exec(fr, st, inner);
        }
    }

    fn command_builtin<'a>(&mut self, fr: &mut Frame<'a>, st: &mut State, inv: &Inv, args: &[Arg]) {
        let mut i = 0;
        while let Some(text) = args.get(i).and_then(Arg::plain) {
            match text {
                "-v" | "-V" => return,
                "-p" => i += 1,
                "--" => {
                    i += 1;
                    break;
                }
                t if t.starts_with('-') && t.len() > 1 => {
                    if t.contains(['v', 'V']) {
                        return;
                    }
                    i += 1;
                }
                _ => break,
            }
        }
        let rest = &args[i.min(args.len())..];
        if rest.is_empty() {
            return;
        }
        let mut inner = inv.clone();
        inner.argv = rest.to_vec();
        inner.no_functions = true;
        self.exec(fr, st, inner);
    }

    fn env<'a>(&mut self, fr: &mut Frame<'a>, st: &mut State, inv: &Inv, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            o('i', "ignore-environment", No), o('0', "null", No), o('u', "unset", Req),
            o('C', "chdir", Req), o('S', "split-string", Req), o('v', "debug", No),
            l("ignore-signal", Opt), l("default-signal", Opt), l("block-signal", Opt),
            l("list-signal-handling", No), s('P', Req),
        ];
        let p = opts::parse(args, T, POSIX);
        let mut cwd = None;
        if let Some(dir) = p.value("chdir") {
            cwd = Some(self.cd_target(st, dir));
        }
        let mut rest: Vec<Arg> = Vec::new();
        if let Some(split) = p.value("split-string").cloned() {
            match split.text().and_then(syntax::split_static) {
                Some(words) => {
                    rest.extend(
                        words
                            .into_iter()
                            .map(|w| Arg::synthetic(Val::Lit(Lit::plain(w)), &split)),
                    );
                }
                None => {
                    self.dynamic(&split, "the `env -S` command line");
                    return;
                }
            }
        }
        let mut env = Vec::new();
        let mut ops = operands(args, &p).into_iter().peekable();
        // `env -S` words come before the operands; assignments may lead either.
        let mut words: Vec<Arg> = rest;
        words.extend(ops.by_ref().cloned());
        let mut start = 0;
        for word in &words {
            match word.plain().and_then(|t| t.split_once('=')) {
                Some((name, value)) if is_identifier(name) => {
                    env.push(EnvAssign {
                        name: name.to_owned(),
                        val: Val::Lit(Lit::plain(value)),
                        arg: word.clone(),
                    });
                    start += 1;
                }
                _ => break,
            }
        }
        self.wrap(fr, st, inv, &words[start..], true, env, cwd);
    }

    /// Where `cd DIR` (or a wrapper's `--chdir DIR`) would go.
    fn cd_target(&mut self, st: &State, dir: &Arg) -> Cwd {
        match self.resolve_arg(&st.cwd, dir) {
            Some(path) if path.is_dir() => {
                self.path(&st.cwd, dir, Access::Read, false, true, "enters");
                Cwd::Known(path)
            }
            _ => Cwd::Unknown(format!("changing directory to `{}`", dir.raw)),
        }
    }

    fn wrapper<'a>(
        &mut self,
        fr: &mut Frame<'a>,
        st: &mut State,
        inv: &Inv,
        program: &str,
        args: &[Arg],
    ) {
        #[rustfmt::skip]
        let table: &[OptSpec] = match program {
            "nice" => &[o('n', "adjustment", Req)],
            "nohup" | "unbuffer" | "chronic" | "catchsegv" | "fakeroot" | "busybox" | "toybox" => {
                &[]
            }
            "timeout" => &[
                o('s', "signal", Req), o('k', "kill-after", Req), o('p', "preserve-status", No),
                o('f', "foreground", No), o('v', "verbose", No),
            ],
            "time" => &[
                o('p', "portability", No), o('v', "verbose", No), o('f', "format", Req),
                o('o', "output", Req), o('a', "append", No), o('q', "quiet", No),
            ],
            "stdbuf" => &[
                o('i', "input", Req), o('o', "output", Req), o('e', "error", Req),
            ],
            "setsid" => &[o('c', "ctty", No), o('f', "fork", No), o('w', "wait", No)],
            "ionice" => &[
                o('c', "class", Req), o('n', "classdata", Req), o('p', "pid", Req),
                o('P', "pgid", Req), o('u', "uid", Req), o('t', "ignore", No),
            ],
            "chrt" => &[
                o('b', "batch", No), o('d', "deadline", No), o('f', "fifo", No),
                o('i', "idle", No), o('o', "other", No), o('r', "rr", No),
                o('R', "reset-on-fork", No), o('a', "all-tasks", No), o('m', "max", No),
                o('p', "pid", No), o('T', "sched-runtime", Req), o('P', "sched-period", Req),
                o('D', "sched-deadline", Req), o('v', "verbose", No),
            ],
            "taskset" => &[
                o('a', "all-tasks", No), o('p', "pid", No), o('c', "cpu-list", No),
            ],
            "strace" | "ltrace" => &[
                s('o', Req), s('e', Req), s('p', Req), s('s', Req), s('P', Req), s('E', Req),
                s('u', Req), s('a', Req), s('b', Req), s('X', Req), s('O', Req), s('S', Req),
                s('U', Req), s('I', Req), s('A', No), s('f', No), s('F', No), s('c', No),
                s('C', No), s('t', No), s('T', No), s('y', No), s('q', No), s('v', No), s('x', No),
                s('Z', No), s('z', No), s('w', No), s('k', No), s('i', No), s('r', No), s('n', No),
                s('D', No), s('d', No), s('h', No), s('V', No),
            ],
            "valgrind" => &[],
            "doas" => &[s('u', Req), s('C', Req), s('n', No), s('s', No), s('L', No)],
            "sudo" | "sudoedit" => &[
                o('A', "askpass", No), o('b', "background", No), o('C', "close-from", Req),
                o('D', "chdir", Req), o('E', "preserve-env", Opt), o('e', "edit", No),
                o('g', "group", Req), o('H', "set-home", No), o('h', "host", Opt),
                o('i', "login", No), o('K', "remove-timestamp", No), o('k', "reset-timestamp", No),
                o('l', "list", No), o('n', "non-interactive", No), o('P', "preserve-groups", No),
                o('p', "prompt", Req), o('R', "chroot", Req), o('r', "role", Req),
                o('S', "stdin", No), o('s', "shell", No), o('T', "command-timeout", Req),
                o('t', "type", Req), o('U', "other-user", Req), o('u', "user", Req),
                o('V', "version", No), o('v', "validate", No), o('B', "bell", No),
                o('N', "no-update", No),
            ],
            "runuser" | "su" => &[
                o('c', "command", Req), o('s', "shell", Req), o('l', "login", No),
                o('m', "preserve-environment", No), s('p', No), o('g', "group", Req),
                o('G', "supp-group", Req), o('w', "whitelist-environment", Req), o('P', "pty", No),
                l("session-command", Req), o('u', "user", Req), o('f', "fast", No),
            ],
            "flock" => &[
                o('s', "shared", No), o('x', "exclusive", No), s('e', No), o('u', "unlock", No),
                o('n', "nonblock", No), l("nb", No), o('w', "timeout", Req), l("wait", Req),
                o('E', "conflict-exit-code", Req), o('o', "close", No), o('c', "command", Req),
                o('F', "no-fork", No), l("verbose", No),
            ],
            "watch" => &[
                o('n', "interval", Req), o('d', "differences", Opt), o('t', "no-title", No),
                o('b', "beep", No), o('e', "errexit", No), o('g', "chgexit", No),
                o('c', "color", No), o('C', "no-color", No), o('x', "exec", No),
                o('p', "precise", No), o('w', "no-wrap", No), o('q', "equexit", Req),
                o('r', "no-rerun", No), o('s', "shotsdir", Req),
            ],
            "script" => &[
                o('a', "append", No), o('c', "command", Req), o('e', "return", No),
                o('f', "flush", No), o('q', "quiet", No), o('t', "timing", Opt),
                o('T', "log-timing", Req), o('B', "log-io", Req), o('I', "log-in", Req),
                o('O', "log-out", Req), o('E', "echo", Req), o('m', "logging-format", Req),
            ],
            "xargs" => &[
                o('0', "null", No), o('a', "arg-file", Req), o('d', "delimiter", Req), s('E', Req),
                s('e', Opt), l("eof", Opt), s('I', Req), s('i', Opt), l("replace", Opt),
                s('L', Req), s('l', Opt), l("max-lines", Opt), o('n', "max-args", Req),
                o('o', "open-tty", No), o('p', "interactive", No), o('P', "max-procs", Req),
                o('r', "no-run-if-empty", No), o('s', "max-chars", Req), o('t', "verbose", No),
                o('x', "exit", No), l("process-slot-var", Req), l("show-limits", No),
            ],
            "parallel" => &[
                o('j', "jobs", Req), s('S', Req), l("sshlogin", Req), s('a', Req),
                l("arg-file", Req), s('d', Req), l("delimiter", Req), s('I', Req),
                l("joblog", Req), l("results", Req), l("tmpdir", Req), s('X', No), s('k', No),
                l("keep-order", No), s('q', No), l("quote", No), s('n', Req), s('N', Req),
                s('L', Req), l("timeout", Req), l("halt", Req), l("retries", Req), s('0', No),
                l("null", No), s('v', No), l("dry-run", No), l("bar", No), l("eta", No),
                l("progress", No), l("group", No), l("line-buffer", No), l("tag", No),
                l("colsep", Req), l("env", Req), l("delay", Req), l("memfree", Req),
                l("load", Req),
            ],
            _ => &[],
        };
        let style = if program == "valgrind" {
            Style {
                permute: false,
                negation: false,
                abbrev: false,
            }
        } else {
            POSIX
        };
        let p = opts::parse(args, table, style);
        let first_operand = p.operands.first().copied().unwrap_or(args.len());
        let mut rest: Vec<Arg> = args[first_operand..].to_vec();
        let mut env = Vec::new();
        let mut cwd = None;
        let mut new_process = true;
        match program {
            "timeout" if !rest.is_empty() => {
                // The duration comes first.
                rest.remove(0);
            }
            "time" => {
                if let Some(out) = p.value("output") {
                    self.path(&st.cwd, out, Access::Write, false, true, "`time -o` writes");
                }
                new_process = false;
            }
            "strace" | "ltrace" => {
                if let Some(out) = p.value("o") {
                    self.path(
                        &st.cwd,
                        out,
                        Access::Write,
                        false,
                        true,
                        &format!("`{program} -o` writes"),
                    );
                }
            }
            "taskset" => {
                // The CPU mask comes first unless -p.
                if !p.flag("pid") && !rest.is_empty() {
                    rest.remove(0);
                } else if p.flag("pid") {
                    return;
                }
            }
            "chrt" if p.flag("pid") || p.flag("max") => return,
            "chrt" if !rest.is_empty() => {
                // The priority comes first.
                rest.remove(0);
            }
            "ionice"
                if p.value("pid").is_some()
                    || p.value("pgid").is_some()
                    || p.value("uid").is_some() =>
            {
                return;
            }
            "sudo" | "sudoedit" | "doas" => {
                if program == "sudoedit" || p.flag("edit") {
                    for arg in &rest {
                        self.path(&st.cwd, arg, Access::Write, false, true, "`sudoedit` edits");
                    }
                    return;
                }
                if let Some(dir) = p.value("chdir") {
                    cwd = Some(self.cd_target(st, dir));
                }
                let mut start = 0;
                for word in &rest {
                    match word.plain().and_then(|t| t.split_once('=')) {
                        Some((name, value)) if is_identifier(name) => {
                            env.push(EnvAssign {
                                name: name.to_owned(),
                                val: Val::Lit(Lit::plain(value)),
                                arg: word.clone(),
                            });
                            start += 1;
                        }
                        _ => break,
                    }
                }
                rest.drain(..start);
            }
            "su" | "runuser" => {
                if let Some(cmd) = p
                    .value("command")
                    .or_else(|| p.value("session-command"))
                    .cloned()
                {
                    self.shell_text_arg(st, &cmd, "the command `su -c` runs");
                    return;
                }
                if program == "su" {
                    return;
                }
                if rest.first().and_then(Arg::plain) == Some("--") {
                    rest.remove(0);
                }
            }
            "flock" => {
                if rest.is_empty() {
                    return;
                }
                let lock = rest.remove(0);
                if !lock
                    .plain()
                    .is_some_and(|t| t.chars().all(|c| c.is_ascii_digit()))
                {
                    self.path(
                        &st.cwd,
                        &lock,
                        Access::Write,
                        false,
                        true,
                        "`flock` creates its lock file",
                    );
                }
                if let Some(cmd) = p.value("command").cloned() {
                    self.shell_text_arg(st, &cmd, "the command `flock -c` runs");
                    return;
                }
                if rest.first().and_then(Arg::plain) == Some("-c") && rest.len() >= 2 {
                    let cmd = rest[1].clone();
                    self.command_text_arg(st, &cmd);
                    return;
                }
            }
            "watch" | "script" => {
                if program == "script" {
                    match rest.first() {
                        Some(file) => self.path(
                            &st.cwd,
                            file,
                            Access::Write,
                            false,
                            true,
                            "`script` writes its log to",
                        ),
                        None => {
                            let log = Arg {
                                val: Val::Lit(Lit::plain("typescript")),
                                raw: "script".into(),
                                span: inv.argv[0].span,
                            };
                            self.path(
                                &st.cwd,
                                &log,
                                Access::Write,
                                false,
                                true,
                                "`script` writes its log to",
                            );
                        }
                    }
                    if let Some(cmd) = p.value("command").cloned() {
                        self.shell_text_arg(st, &cmd, "the command `script -c` runs");
                    }
                    return;
                }
                if !p.flag("exec") {
                    // watch joins its arguments and runs them with `sh -c`.
                    let mut words = Vec::new();
                    for arg in &rest {
                        match arg.text() {
                            Some(text) => words.push(text.to_owned()),
                            None => {
                                self.dynamic(arg, "the command `watch` runs");
                                return;
                            }
                        }
                    }
                    if let (Some(first), Some(last)) = (rest.first(), rest.last()) {
                        let span = (
                            first.span.0,
                            (last.span.0 + last.span.1).saturating_sub(first.span.0),
                        );
                        self.shell_text(&words.join(" "), span, st, None);
                    }
                    return;
                }
            }
            "xargs" | "parallel" => {
                let input = Val::Dyn(Dyn::Input(format!("`{program}` (from its input)")));
                if program == "parallel"
                    && let Some(pos) = rest
                        .iter()
                        .position(|a| matches!(a.plain(), Some(":::" | "::::" | ":::+" | "::::+")))
                {
                    rest.truncate(pos);
                }
                if rest.is_empty() {
                    return;
                }
                let replace = p
                    .value("I")
                    .and_then(Arg::plain)
                    .map(str::to_owned)
                    .or_else(|| (p.maybe("replace") || p.maybe("i")).then(|| "{}".to_owned()))
                    .or_else(|| (program == "parallel").then(|| "{}".to_owned()));
                let mut replaced = false;
                if let Some(token) = &replace {
                    for arg in rest.iter_mut() {
                        if arg.text().is_some_and(|t| t.contains(token.as_str())) {
                            *arg = Arg::synthetic(input.clone(), arg);
                            replaced = true;
                        }
                    }
                }
                if !replaced {
                    let last = rest.last().cloned().unwrap_or_else(|| inv.argv[0].clone());
                    rest.push(Arg::synthetic(input, &last));
                }
                let mut inner = Inv {
                    argv: rest,
                    env: inv.env.clone(),
                    stdin: Stdin::Inherit,
                    stdin_file: None,
                    stdin_text: None,
                    no_functions: true,
                };
                if program == "parallel" {
                    // parallel runs its command through a shell.
                    inner.argv.retain(|a| a.plain() != Some(":::"));
                }
                let mut child = st.clone();
                self.exec(fr, &mut child, inner);
                return;
            }
            _ => {}
        }
        self.wrap(fr, st, inv, &rest, new_process, env, cwd);
    }

    // ---- shells and interpreters -------------------------------------------------------------

    fn stdin_source(inv: &Inv) -> Option<&'static str> {
        match inv.stdin {
            Stdin::Inherit => None,
            Stdin::Pipe => Some("a pipe"),
            Stdin::File => Some("a file redirect"),
            Stdin::Data => Some("a here-document or here-string"),
        }
    }

    fn shell(&mut self, st: &State, inv: &Inv, program: &str, args: &[Arg]) {
        let mut i = 0;
        let mut command_mode = false;
        let mut stdin_mode = false;
        while let Some(arg) = args.get(i) {
            let Some(text) = arg.plain() else { break };
            if text == "--" || text == "-" {
                i += 1;
                break;
            }
            if let Some(long) = text.strip_prefix("--") {
                i += if matches!(long, "rcfile" | "init-file") {
                    2
                } else {
                    1
                };
                continue;
            }
            if (text.starts_with('-') || text.starts_with('+')) && text.len() > 1 {
                let mut takes = 0;
                for c in text[1..].chars() {
                    match c {
                        'c' => command_mode = true,
                        's' => stdin_mode = true,
                        'o' | 'O' => takes += 1,
                        _ => {}
                    }
                }
                i += 1 + takes;
                continue;
            }
            break;
        }
        let rest = &args[i.min(args.len())..];
        if command_mode {
            let Some(cmd) = rest.first() else { return };
            match &cmd.val {
                Val::Lit(lit) => {
                    let text = lit.text.clone();
                    let positional: Vec<Option<String>> = rest
                        .iter()
                        .skip(2)
                        .map(|a| a.plain().map(str::to_owned))
                        .collect();
                    self.shell_text(&text, cmd.span, st, Some(positional));
                }
                Val::Dyn(Dyn::ProcSubst) => {
                    self.script_input(cmd, "runs commands", "a process substitution")
                }
                Val::Dyn(_) => self.dynamic(cmd, &format!("the script `{program} -c` runs:")),
            }
            return;
        }
        match rest.first() {
            Some(script) if !stdin_mode => match &script.val {
                Val::Dyn(Dyn::ProcSubst) => {
                    self.script_input(script, "runs a script", "a process substitution")
                }
                Val::Dyn(_) => self.dynamic(script, "the script to run"),
                Val::Lit(_) => {
                    if matches!(
                        script.plain(),
                        Some("/dev/stdin" | "/proc/self/fd/0" | "/dev/fd/0")
                    ) {
                        if let Some(from) = Self::stdin_source(inv) {
                            self.script_input(script, "runs a script", from);
                        }
                        return;
                    }
                    self.script_file(st, script);
                }
            },
            _ => {
                if let Some(from) = Self::stdin_source(inv) {
                    self.script_input(&inv.argv[0], "runs a script", from);
                }
            }
        }
        // Non-interactive bash and POSIX shells source these first.
        for assign in &inv.env {
            if assign.name == "BASH_ENV" || assign.name == "ENV" {
                self.script_file(st, &assign.arg.clone());
            }
        }
    }

    /// Running a script (or program) file: it must not be another session's, nor written
    /// earlier in this same command line (then its content is unknown to the gate).
    fn script_file(&mut self, st: &State, script: &Arg) {
        let arg = script.clone();
        match &arg.val {
            Val::Dyn(Dyn::ProcSubst) => {
                self.script_input(&arg, "runs a script", "a process substitution")
            }
            Val::Dyn(_) => self.dynamic(&arg, "the script to run"),
            Val::Lit(_) => {
                self.path(&st.cwd, &arg, Access::Read, false, true, "runs");
                if let Some(path) = self.resolve_arg(&st.cwd, &arg)
                    && self.written_here(&path)
                {
                    self.report_arg(
                            "shell.script-input",
                            &arg,
                            format!(
                                "`{}` is written earlier in this same command line, so the gate cannot \
                                 see what it would run; write the file in one command and run it in \
                                 the next",
                                arg.raw
                            ),
                            Some(path.to_string_lossy().into_owned()),
                        );
                }
            }
        }
    }

    fn interpreter(&mut self, st: &State, inv: &Inv, program: &str, args: &[Arg]) {
        // (inline-code options, options that take a value, whether a bare operand is a script)
        let (code_opts, value_opts): (&[&str], &[&str]) = match program {
            "python" => (
                &["-c"],
                &["-m", "-W", "-X", "--check-hash-based-pycs", "-Q"],
            ),
            "perl" | "ruby" => return self.perl_ruby(st, inv, program, args),
            "node" | "bun" => (
                &["-e", "--eval", "-p", "--print"],
                &[
                    "-r",
                    "--require",
                    "--import",
                    "--loader",
                    "--experimental-loader",
                    "--input-type",
                    "-C",
                    "--conditions",
                    "--title",
                    "--env-file",
                    "--inspect-port",
                    "--cpu-prof-dir",
                    "--heap-prof-dir",
                ],
            ),
            "deno" => {
                match args.first().and_then(Arg::plain) {
                    Some("eval") => {
                        let what = &args[0];
                        self.interpreter_write(
                            what,
                            "`deno eval`",
                            "put the code in a file inside the scope and run `deno run FILE`",
                        );
                    }
                    Some("run") => {
                        let script = args[1..].iter().find(|a| {
                            !a.plain().is_some_and(|t| t.starts_with('-')) || a.plain() == Some("-")
                        });
                        if let Some(script) = script {
                            if script.plain() == Some("-") {
                                if let Some(from) = Self::stdin_source(inv) {
                                    self.script_input(script, "runs a script", from);
                                }
                            } else {
                                let script = script.clone();
                                self.script_file(st, &script);
                            }
                        }
                    }
                    _ => {}
                }
                return;
            }
            "php" => (
                &["-r", "-B", "-R", "-E"],
                &["-d", "-c", "-z", "-t", "-S", "-f"],
            ),
            "lua" | "luajit" => (&["-e"], &["-l"]),
            "Rscript" | "R" => (&["-e"], &["-f", "--file"]),
            "julia" => (
                &["-e", "-E", "--eval", "--print"],
                &[
                    "-L",
                    "--load",
                    "-J",
                    "--sysimage",
                    "-t",
                    "--threads",
                    "-p",
                    "--procs",
                    "--project",
                ],
            ),
            "osascript" => (&["-e"], &["-l", "-s"]),
            "pwsh" | "powershell" => (
                &["-c", "-command", "-Command", "-EncodedCommand", "-ec", "-e"],
                &[
                    "-f",
                    "-File",
                    "-file",
                    "-ExecutionPolicy",
                    "-WorkingDirectory",
                    "-wd",
                ],
            ),
            "groovy" | "irb" | "jshell" => (&["-e"], &[]),
            _ => (&[], &[]),
        };
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            let Some(text) = arg.plain() else { break };
            if text == "--" {
                i += 1;
                break;
            }
            if text == "-" || !text.starts_with('-') {
                break;
            }
            let (flag, attached) = match text.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v)),
                _ => (text, None),
            };
            if code_opts.contains(&flag) || (program == "python" && is_cluster_with(text, 'c')) {
                self.interpreter_write(
                    arg,
                    &format!("`{program} {flag}`"),
                    "put the code in a file inside the scope (e.g. `src/tool.py`) and run that file instead",
                );
                return;
            }
            if program == "python" && (flag == "-m" || is_cluster_with(text, 'm')) {
                // `python -m module`: runs a module from a file; the rest are its arguments.
                return;
            }
            if value_opts.contains(&flag) {
                i += if attached.is_some() { 1 } else { 2 };
                if matches!(flag, "-f" | "--file" | "-File" | "-file") {
                    if let Some(script) = args.get(i - 1).cloned() {
                        self.script_file(st, &script);
                    }
                    return;
                }
                continue;
            }
            i += 1;
        }
        match args.get(i) {
            Some(script) if script.plain() != Some("-") => match &script.val {
                Val::Dyn(Dyn::ProcSubst) => {
                    self.script_input(script, "runs a script", "a process substitution")
                }
                Val::Dyn(_) => self.dynamic(script, "the script to run"),
                Val::Lit(_) => self.script_file(st, script),
            },
            _ => {
                if let Some(from) = Self::stdin_source(inv) {
                    self.script_input(&inv.argv[0], "runs a script", from);
                }
            }
        }
    }

    fn perl_ruby(&mut self, st: &State, inv: &Inv, program: &str, args: &[Arg]) {
        let mut code: Vec<(Arg, String)> = Vec::new();
        let mut in_place = false;
        let mut filter = false;
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            let Some(text) = arg.plain() else { break };
            if text == "--" {
                i += 1;
                break;
            }
            if text == "-" || !text.starts_with('-') {
                break;
            }
            if text.starts_with("--") {
                i += 1;
                continue;
            }
            i += 1;
            let cluster: Vec<char> = text[1..].chars().collect();
            let mut j = 0;
            while j < cluster.len() {
                let c = cluster[j];
                let rest: String = cluster[j + 1..].iter().collect();
                match c {
                    'e' | 'E' => {
                        let body = if rest.is_empty() {
                            i += 1;
                            args.get(i - 1).and_then(|a| a.text().map(str::to_owned))
                        } else {
                            Some(rest)
                        };
                        match body {
                            Some(body) => code.push((arg.clone(), body)),
                            None => {
                                self.dynamic(
                                    args.get(i - 1).unwrap_or(arg),
                                    &format!("the code `{program} -e` runs:"),
                                );
                                return;
                            }
                        }
                        break;
                    }
                    'i' => {
                        in_place = true;
                        break;
                    }
                    'n' | 'p' => filter = true,
                    'I' | 'M' | 'm' | 'r' | 'F' | 'C' | 'x' | 'd' | 'D' | 'V' | 'K' | 'W' => {
                        if rest.is_empty() && matches!(c, 'I' | 'r' | 'C' | 'F') {
                            i += 1;
                        }
                        break;
                    }
                    'l' | '0' => {
                        // Optional digits follow.
                        while j + 1 < cluster.len()
                            && cluster[j + 1].is_ascii_alphanumeric()
                            && cluster[j + 1] != 'e'
                            && cluster[j + 1] != 'i'
                            && cluster[j + 1] != 'n'
                            && cluster[j + 1] != 'p'
                        {
                            j += 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        let files = &args[i.min(args.len())..];
        if code.is_empty() {
            match files.first() {
                Some(script) if script.plain() != Some("-") => match &script.val {
                    Val::Dyn(Dyn::ProcSubst) => {
                        self.script_input(script, "runs a script", "a process substitution")
                    }
                    Val::Dyn(_) => self.dynamic(script, "the script to run"),
                    Val::Lit(_) => self.script_file(st, script),
                },
                _ => {
                    if let Some(from) = Self::stdin_source(inv) {
                        self.script_input(&inv.argv[0], "runs a script", from);
                    }
                }
            }
            return;
        }
        let danger = code
            .iter()
            .find_map(|(arg, body)| script_danger(program, body).map(|why| (arg.clone(), why)));
        if let Some((arg, why)) = danger {
            self.interpreter_write(
                &arg,
                &format!("`{program} -e` ({why})"),
                "put the code in a file inside the scope and run that file instead",
            );
            return;
        }
        if in_place {
            let verb = format!("`{program} -i` edits in place");
            for file in files {
                self.path(&st.cwd, file, Access::Write, false, true, &verb);
            }
            return;
        }
        if !filter {
            let (arg, _) = &code[0];
            self.interpreter_write(
                arg,
                &format!("`{program} -e`"),
                "put the code in a file inside the scope and run that file instead",
            );
            return;
        }
        for file in files {
            self.path(&st.cwd, file, Access::Read, false, true, "reads");
        }
    }

    fn awk(&mut self, st: &State, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            o('f', "file", Req), o('v', "assign", Req), o('F', "field-separator", Req),
            o('e', "source", Req), o('i', "include", Req), o('l', "load", Req),
            o('E', "exec", Req), o('b', "characters-as-bytes", No), o('c', "traditional", No),
            o('C', "copyright", No), o('d', "dump-variables", Opt), o('D', "debug", Opt),
            o('g', "gen-pot", No), o('h', "help", No), o('L', "lint", Opt), o('M', "bignum", No),
            o('n', "non-decimal-data", No), o('N', "use-lc-numeric", No),
            o('o', "pretty-print", Opt), o('O', "optimize", No), o('p', "profile", Opt),
            o('P', "posix", No), o('r', "re-interval", No), o('s', "no-optimize", No),
            o('S', "sandbox", No), o('t', "lint-old", No), o('V', "version", No),
        ];
        let p = opts::parse(args, T, POSIX);
        let sandbox = p.flag("sandbox");
        let in_place = p.values("include").chain(p.values("load")).any(|v| {
            v.plain()
                .is_some_and(|t| t.trim_end_matches(".so") == "inplace")
        });
        let mut ops = operands(args, &p);
        let mut programs: Vec<&Arg> = p.values("source").collect();
        if p.value("file").is_none()
            && p.value("exec").is_none()
            && programs.is_empty()
            && !ops.is_empty()
        {
            programs.push(ops.remove(0));
        }
        if let Some(file) = p.value("file").or_else(|| p.value("exec")) {
            self.path(
                &st.cwd,
                file,
                Access::Read,
                false,
                true,
                "runs the awk program",
            );
        }
        for program in programs {
            match program.text() {
                Some(text) if !sandbox => {
                    if let Some(why) = awk_danger(text) {
                        self.interpreter_write(
                            program,
                            &format!("the awk program ({why})"),
                            "put the program in a file inside the scope and run `awk -f FILE`, or add `--sandbox`",
                        );
                    }
                }
                Some(_) => {}
                None => self.dynamic(program, "the awk program"),
            }
        }
        let verb = if in_place {
            "`awk -i inplace` edits in place"
        } else {
            "reads"
        };
        for file in ops {
            if file
                .plain()
                .is_some_and(|t| t.split_once('=').is_some_and(|(n, _)| is_identifier(n)))
            {
                continue;
            }
            let access = if in_place {
                Access::Write
            } else {
                Access::Read
            };
            self.path(&st.cwd, file, access, false, true, verb);
        }
    }

    fn sed(&mut self, st: &State, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            o('n', "quiet", No), l("silent", No), o('e', "expression", Req), o('f', "file", Req),
            l("follow-symlinks", No), o('i', "in-place", Opt), o('l', "line-length", Req),
            l("posix", No), o('E', "regexp-extended", No), s('r', No), o('s', "separate", No),
            l("sandbox", No), o('u', "unbuffered", No), o('z', "null-data", No), l("debug", No),
            l("help", No), l("version", No),
            // BSD sed: `-i ''`/`-I`.
            s('I', Opt),
        ];
        let p = opts::parse(args, T, GNU);
        let mut ops = operands(args, &p);
        let mut scripts: Vec<&Arg> = p.values("expression").collect();
        if scripts.is_empty() && p.value("file").is_none() && !ops.is_empty() {
            scripts.push(ops.remove(0));
        }
        if let Some(file) = p.value("file") {
            self.path(
                &st.cwd,
                file,
                Access::Read,
                false,
                true,
                "runs the sed script",
            );
        }
        let sandbox = p.flag("sandbox");
        for script in scripts {
            let Some(text) = script.text() else {
                self.dynamic(script, "the sed script");
                continue;
            };
            if sandbox {
                continue;
            }
            for effect in sed_effects(text) {
                match effect {
                    SedEffect::Exec => self.interpreter_write(
                        script,
                        "the sed script (an `e` command or `s///e`)",
                        "do the replacement without executing commands, or run a script file",
                    ),
                    SedEffect::Write(file) => {
                        let target = Arg::synthetic(Val::Lit(Lit::plain(file)), script);
                        self.path(
                            &st.cwd,
                            &target,
                            Access::Write,
                            false,
                            true,
                            "the sed script's `w` command writes",
                        );
                    }
                }
            }
        }
        let in_place = p.maybe("in-place") || p.maybe("I");
        let verb = if in_place {
            "`sed -i` edits in place"
        } else {
            "reads"
        };
        for file in ops {
            let access = if in_place {
                Access::Write
            } else {
                Access::Read
            };
            self.path(&st.cwd, file, access, false, true, verb);
        }
    }

    fn editor(&mut self, st: &State, inv: &Inv, program: &str, args: &[Arg]) {
        let mut files = Vec::new();
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            let text = arg.plain().unwrap_or("");
            if matches!(program, "vi" | "vim" | "nvim" | "view" | "ex")
                && (text.starts_with('+')
                    || matches!(text, "-c" | "--cmd" | "-S" | "-s" | "-W" | "-w"))
            {
                self.interpreter_write(
                    arg,
                    &format!("`{program} {text}`"),
                    "edit the file with a redirect, `sed -i` or a script file instead",
                );
                return;
            }
            if text.starts_with('-') && text.len() > 1 {
                i += 1;
                continue;
            }
            files.push(arg.clone());
            i += 1;
        }
        if matches!(program, "ed" | "ex") {
            match (&inv.stdin_text, inv.stdin) {
                (Some(script), _) => {
                    for effect in ed_effects(script) {
                        match effect {
                            SedEffect::Exec => {
                                self.interpreter_write(
                                    &inv.argv[0],
                                    &format!("the `{program}` script (a `!` command)"),
                                    "edit without shell escapes",
                                );
                            }
                            SedEffect::Write(file) => {
                                let target =
                                    Arg::synthetic(Val::Lit(Lit::plain(file)), &inv.argv[0]);
                                self.path(
                                    &st.cwd,
                                    &target,
                                    Access::Write,
                                    false,
                                    true,
                                    &format!("the `{program}` script writes"),
                                );
                            }
                        }
                    }
                }
                (None, Stdin::Inherit) => {}
                (None, _) => {
                    let from = Self::stdin_source(inv).unwrap_or("stdin");
                    self.script_input(&inv.argv[0], "runs editing commands", from);
                }
            }
        }
        let verb = format!("`{program}` writes");
        for file in files {
            self.path(&st.cwd, &file, Access::Write, false, true, &verb);
        }
    }

    // ---- writers -----------------------------------------------------------------------------

    fn rm(&mut self, st: &State, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            o('f', "force", No), s('i', No), l("interactive", Opt), s('I', No),
            o('r', "recursive", No), s('R', No), o('d', "dir", No), o('v', "verbose", No),
            l("one-file-system", No), l("no-preserve-root", No), l("preserve-root", Opt),
            l("help", No), l("version", No),
        ];
        let p = opts::parse(args, T, GNU);
        let recursive = p.maybe("recursive") || p.maybe("R");
        let verb = if recursive {
            "`rm -r` deletes"
        } else {
            "`rm` deletes"
        };
        for arg in operands(args, &p) {
            self.path(&st.cwd, arg, Access::Delete, recursive, false, verb);
        }
    }

    fn cp_mv(&mut self, st: &State, args: &[Arg], is_mv: bool) {
        #[rustfmt::skip]
        const CP: &[OptSpec] = &[
            o('a', "archive", No), l("attributes-only", No), s('b', No), l("backup", Opt),
            l("copy-contents", No), s('d', No), l("debug", No), o('f', "force", No),
            o('i', "interactive", No), s('H', No), o('l', "link", No), o('L', "dereference", No),
            o('n', "no-clobber", No), o('P', "no-dereference", No), s('p', No), l("preserve", Opt),
            l("no-preserve", Req), l("parents", No), o('R', "recursive", No), s('r', No),
            l("reflink", Opt), l("remove-destination", No), l("sparse", Req),
            l("strip-trailing-slashes", No), o('s', "symbolic-link", No), o('S', "suffix", Req),
            o('t', "target-directory", Req), o('T', "no-target-directory", No),
            o('u', "update", Opt), o('v', "verbose", No), l("keep-directory-symlink", No),
            o('x', "one-file-system", No), s('Z', No), l("context", Opt),
        ];
        #[rustfmt::skip]
        const MV: &[OptSpec] = &[
            s('b', No), l("backup", Opt), l("debug", No), l("exchange", No), o('f', "force", No),
            o('i', "interactive", No), o('n', "no-clobber", No), l("no-copy", No),
            l("strip-trailing-slashes", No), o('S', "suffix", Req),
            o('t', "target-directory", Req), o('T', "no-target-directory", No),
            o('u', "update", Opt), o('v', "verbose", No), s('Z', No), l("context", Opt),
        ];
        let p = opts::parse(args, if is_mv { MV } else { CP }, GNU);
        let recursive = is_mv || p.maybe("archive") || p.maybe("recursive") || p.maybe("r");
        let program = if is_mv { "mv" } else { "cp" };
        let verb = format!("`{program}` writes");
        let ops = operands(args, &p);
        let target_dir = p.value("target-directory").cloned();
        let (sources, dest): (Vec<&Arg>, Option<(Arg, bool)>) = match target_dir {
            Some(dir) => (ops.clone(), Some((dir, true))),
            None => match ops.split_last() {
                Some((last, rest)) if !rest.is_empty() => {
                    let into =
                        !p.flag("no-target-directory") && (rest.len() > 1 || is_dir(&st.cwd, last));
                    (rest.to_vec(), Some(((*last).clone(), into)))
                }
                _ => (ops.clone(), None),
            },
        };
        for source in &sources {
            self.path(
                &st.cwd,
                source,
                Access::Read,
                recursive,
                true,
                &format!("`{program}` reads"),
            );
            if is_mv {
                self.path(
                    &st.cwd,
                    source,
                    Access::Delete,
                    true,
                    false,
                    "`mv` moves away",
                );
            }
        }
        let Some((dest, into)) = dest else { return };
        if !into {
            self.path(&st.cwd, &dest, Access::Write, recursive, true, &verb);
            return;
        }
        for source in &sources {
            match source.plain().map(|t| t.trim_end_matches('/')) {
                Some(text) if !text.is_empty() && !p.flag("parents") => {
                    let name = text.rsplit('/').next().unwrap_or(text);
                    if name == "." || name == ".." {
                        self.path(&st.cwd, &dest, Access::Write, true, true, &verb);
                    } else {
                        let target = joined(&dest, name);
                        self.path(&st.cwd, &target, Access::Write, recursive, true, &verb);
                    }
                }
                _ => self.path(&st.cwd, &dest, Access::Write, true, true, &verb),
            }
        }
    }

    fn install(&mut self, st: &State, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            s('b', No), l("backup", Opt), o('C', "compare", No), s('c', No), s('D', No),
            o('d', "directory", No), o('g', "group", Req), o('m', "mode", Req),
            o('o', "owner", Req), o('p', "preserve-timestamps", No), o('s', "strip", No),
            l("strip-program", Req), o('S', "suffix", Req), o('t', "target-directory", Req),
            o('T', "no-target-directory", No), o('v', "verbose", No), s('Z', No),
            l("context", Opt), l("preserve-context", No), l("debug", No),
        ];
        let p = opts::parse(args, T, GNU);
        let ops = operands(args, &p);
        if p.flag("directory") {
            for dir in ops {
                self.path(
                    &st.cwd,
                    dir,
                    Access::Write,
                    false,
                    true,
                    "`install -d` creates",
                );
            }
            return;
        }
        let (sources, dest, into): (Vec<&Arg>, Option<Arg>, bool) =
            match p.value("target-directory") {
                Some(dir) => (ops.clone(), Some(dir.clone()), true),
                None => match ops.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        let into = !p.flag("no-target-directory")
                            && (rest.len() > 1 || is_dir(&st.cwd, last));
                        (rest.to_vec(), Some((*last).clone()), into)
                    }
                    _ => (Vec::new(), None, false),
                },
            };
        for source in &sources {
            self.path(
                &st.cwd,
                source,
                Access::Read,
                false,
                true,
                "`install` reads",
            );
        }
        let Some(dest) = dest else { return };
        if !into {
            self.path(
                &st.cwd,
                &dest,
                Access::Write,
                false,
                true,
                "`install` writes",
            );
            return;
        }
        for source in &sources {
            match source.plain() {
                Some(text) => {
                    let name = text
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or(text);
                    self.path(
                        &st.cwd,
                        &joined(&dest, name),
                        Access::Write,
                        false,
                        true,
                        "`install` writes",
                    );
                }
                None => self.path(
                    &st.cwd,
                    &dest,
                    Access::Write,
                    true,
                    true,
                    "`install` writes",
                ),
            }
        }
    }

    fn ln(&mut self, st: &State, program: &str, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            s('b', No), l("backup", Opt), o('d', "directory", No), s('F', No), o('f', "force", No),
            o('i', "interactive", No), o('L', "logical", No), o('n', "no-dereference", No),
            o('P', "physical", No), o('r', "relative", No), o('s', "symbolic", No),
            o('S', "suffix", Req), o('t', "target-directory", Req),
            o('T', "no-target-directory", No), o('v', "verbose", No),
        ];
        let p = opts::parse(args, T, GNU);
        let ops = operands(args, &p);
        let symbolic = program == "ln" && p.flag("symbolic");
        let (targets, links): (Vec<&Arg>, Vec<Arg>) = match p.value("target-directory") {
            Some(dir) => (
                ops.clone(),
                ops.iter()
                    .map(|t| {
                        joined(
                            dir,
                            t.plain().map_or("x", |x| x.rsplit('/').next().unwrap_or(x)),
                        )
                    })
                    .collect(),
            ),
            None => match ops.as_slice() {
                [target] => {
                    let name = target.plain().map_or("x", |x| {
                        x.trim_end_matches('/').rsplit('/').next().unwrap_or(x)
                    });
                    (
                        vec![*target],
                        vec![Arg::synthetic(Val::Lit(Lit::plain(name)), target)],
                    )
                }
                [rest @ .., last]
                    if rest.len() > 1
                        || (is_dir(&st.cwd, last)
                            && !p.flag("no-target-directory")
                            && !p.flag("no-dereference")) =>
                {
                    (
                        rest.to_vec(),
                        rest.iter()
                            .map(|t| {
                                joined(
                                    last,
                                    t.plain().map_or("x", |x| {
                                        x.trim_end_matches('/').rsplit('/').next().unwrap_or(x)
                                    }),
                                )
                            })
                            .collect(),
                    )
                }
                [target, link] => (vec![*target], vec![(*link).clone()]),
                _ => (Vec::new(), Vec::new()),
            },
        };
        for link in &links {
            self.path(
                &st.cwd,
                link,
                Access::Write,
                false,
                false,
                &format!("`{program}` creates the link"),
            );
        }
        // A link inside the scope that points at a file outside it lets later writes escape the
        // scope; judge what the link will point at as if it were written.
        for (target, link) in targets.iter().zip(&links) {
            let Some(text) = target.plain() else { continue };
            let base = if symbolic && !p.flag("relative") && !text.starts_with('/') {
                match (self.resolve_arg(&st.cwd, link), &st.cwd) {
                    (Some(link_abs), _) => link_abs.parent().map(Path::to_path_buf),
                    _ => None,
                }
            } else {
                st.cwd.known().map(Path::to_path_buf)
            };
            let Some(base) = base else { continue };
            let abs = paths::resolve(&base, text, true);
            let ctx = self.ctx;
            let in_repo = abs.starts_with(ctx.own_root())
                || abs.starts_with(&ctx.main_worktree)
                || ctx
                    .other_sessions
                    .iter()
                    .any(|o| abs.starts_with(&o.worktree));
            if in_repo {
                let probe = Arg::synthetic(Val::Lit(Lit::plain(abs.to_string_lossy())), target);
                self.path(
                    &st.cwd,
                    &probe,
                    Access::Write,
                    false,
                    true,
                    &format!("`{program}` makes a link through which later commands write"),
                );
            }
        }
    }

    fn simple_writer(&mut self, st: &State, program: &str, args: &[Arg]) {
        #[rustfmt::skip]
        let table: &[OptSpec] = match program {
            "touch" => &[
                s('a', No), o('c', "no-create", No), o('d', "date", Req), s('f', No),
                o('h', "no-dereference", No), s('m', No), o('r', "reference", Req), s('t', Req),
                l("time", Req),
            ],
            "mkdir" => &[
                o('m', "mode", Req), o('p', "parents", No), o('v', "verbose", No), s('Z', No),
                l("context", Opt),
            ],
            "mkfifo" | "mknod" => &[o('m', "mode", Req), s('Z', No), l("context", Opt)],
            "tee" => &[
                o('a', "append", No), o('i', "ignore-interrupts", No), s('p', No),
                l("output-error", Opt),
            ],
            "truncate" => &[
                o('c', "no-create", No), o('o', "io-blocks", No), o('r', "reference", Req),
                o('s', "size", Req),
            ],
            "chattr" => &[s('R', No), s('V', No), s('f', No), s('v', Req), s('p', Req)],
            "setfacl" => &[
                o('m', "modify", Req), o('M', "modify-file", Req), o('x', "remove", Req),
                o('X', "remove-file", Req), o('b', "remove-all", No), o('k', "remove-default", No),
                l("set", Req), l("set-file", Req), o('R', "recursive", No), o('d', "default", No),
                o('n', "no-mask", No),
            ],
            _ => &[],
        };
        let p = opts::parse(args, table, GNU);
        let mut ops = operands(args, &p);
        if program == "mknod" && ops.len() > 1 {
            ops.truncate(1);
        }
        if program == "chattr" {
            // The attribute change (`+i`, `-a`) is the first operand.
            ops.retain(|a| !a.plain().is_some_and(|t| t.starts_with(['+', '=', '-'])));
        }
        // A new directory holds nothing yet: creating it is covered when every path under it is
        // (`mkdir target` for the scratch glob `target/`).
        let recursive = p.flag("R") || p.flag("recursive") || program == "mkdir";
        let verb = format!("`{program}` writes");
        for arg in ops {
            self.path(&st.cwd, arg, Access::Write, recursive, true, &verb);
        }
    }

    fn chmod(&mut self, st: &State, program: &str, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            o('R', "recursive", No), o('c', "changes", No), o('f', "silent", No), l("quiet", No),
            o('v', "verbose", No), l("reference", Req), l("from", Req),
            o('h', "no-dereference", No), l("dereference", No), s('H', No), s('L', No), s('P', No),
            l("preserve-root", No), l("no-preserve-root", No),
        ];
        // `chmod -x f`: a mode that looks like an option.
        let is_mode = |t: &str| {
            program == "chmod"
                && t.len() > 1
                && t.starts_with('-')
                && t[1..]
                    .chars()
                    .all(|c| "rwxXstugoa=+-,0123456789".contains(c))
                && !t[1..].contains(['R', 'c', 'f', 'v', 'h'])
        };
        let mode_word = args.iter().position(|a| a.plain().is_some_and(is_mode));
        let filtered: Vec<Arg> = args
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != mode_word)
            .map(|(_, a)| a.clone())
            .collect();
        let p = opts::parse(&filtered, T, GNU);
        let mut ops = operands(&filtered, &p);
        if mode_word.is_none() && p.value("reference").is_none() && !ops.is_empty() {
            ops.remove(0);
        }
        let recursive = p.flag("recursive");
        let verb = format!("`{program}` changes");
        self.record_writes = false;
        for arg in ops {
            self.path(&st.cwd, arg, Access::Write, recursive, true, &verb);
        }
        self.record_writes = true;
    }

    fn rsync(&mut self, st: &State, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            o('e', "rsh", Req), o('f', "filter", Req), o('T', "temp-dir", Req),
            o('B', "block-size", Req), o('M', "remote-option", Req), s('@', Req),
            l("modify-window", Req), l("exclude", Req), l("include", Req), l("exclude-from", Req),
            l("include-from", Req), l("files-from", Req), l("rsync-path", Req), l("log-file", Req),
            l("log-file-format", Req), l("backup-dir", Req), l("suffix", Req),
            l("partial-dir", Req), l("compare-dest", Req), l("copy-dest", Req),
            l("link-dest", Req), l("chmod", Req), l("chown", Req), l("usermap", Req),
            l("groupmap", Req), l("timeout", Req), l("contimeout", Req), l("port", Req),
            l("password-file", Req), l("out-format", Req), l("max-size", Req), l("min-size", Req),
            l("max-delete", Req), l("bwlimit", Req), l("checksum-choice", Req),
            l("compress-choice", Req), l("compress-level", Req), l("skip-compress", Req),
            l("sockopts", Req), l("protocol", Req), l("iconv", Req), l("info", Req),
            l("debug", Req), l("outbuf", Req), l("read-batch", Req), l("write-batch", Req),
            l("only-write-batch", Req), l("copy-as", Req), l("stop-after", Req), l("stop-at", Req),
            l("max-alloc", Req), l("address", Req), l("delete", No), l("delete-before", No),
            l("delete-during", No), l("delete-delay", No), l("delete-after", No),
            l("delete-excluded", No), l("del", No), l("remove-source-files", No),
            o('a', "archive", No), o('r', "recursive", No), o('n', "dry-run", No),
            l("list-only", No), o('v', "verbose", No), o('z', "compress", No),
            o('P', "progress", No), o('h', "human-readable", No), o('q', "quiet", No),
            o('u', "update", No), o('l', "links", No), o('L', "copy-links", No),
            o('p', "perms", No), o('t', "times", No), o('g', "group", No), o('o', "owner", No),
            s('D', No), o('c', "checksum", No), o('H', "hard-links", No), o('A', "acls", No),
            o('X', "xattrs", No), o('x', "one-file-system", No), o('R', "relative", No),
            o('b', "backup", No), o('i', "itemize-changes", No), o('S', "sparse", No),
            o('W', "whole-file", No), o('C', "cvs-exclude", No), o('d', "dirs", No),
            o('k', "copy-dirlinks", No), o('K', "keep-dirlinks", No),
            o('m', "prune-empty-dirs", No), o('O', "omit-dir-times", No),
            o('J', "omit-link-times", No), o('y', "fuzzy", No), o('0', "from0", No),
            o('s', "secluded-args", No), o('8', "8-bit-output", No), o('4', "ipv4", No),
            o('6', "ipv6", No), l("mkpath", No), l("inplace", No), l("append", No),
            l("existing", No), l("ignore-existing", No), l("size-only", No), l("stats", No),
            l("progress", No), l("partial", No), l("numeric-ids", No), l("no-motd", No),
            l("ignore-times", No), l("force", No),
        ];
        let p = opts::parse(args, T, GNU);
        if p.flag("dry-run") || p.flag("list-only") {
            return;
        }
        if let Some(log) = p.value("log-file") {
            self.path(
                &st.cwd,
                log,
                Access::Write,
                false,
                true,
                "`rsync --log-file` writes",
            );
        }
        let ops = operands(args, &p);
        let remote = |a: &Arg| {
            a.plain().is_some_and(|t| {
                t.starts_with("rsync://")
                    || t.split('/').next().is_some_and(|first| first.contains(':'))
            })
        };
        let deletes = [
            "delete",
            "delete-before",
            "delete-during",
            "delete-delay",
            "delete-after",
            "delete-excluded",
            "del",
        ]
        .iter()
        .any(|d| p.maybe(d));
        let Some((dest, sources)) = ops.split_last() else {
            return;
        };
        let remove_sources = p.maybe("remove-source-files");
        for source in sources {
            if !remote(source) {
                self.path(&st.cwd, source, Access::Read, true, true, "`rsync` reads");
                if remove_sources {
                    self.path(
                        &st.cwd,
                        source,
                        Access::Delete,
                        true,
                        false,
                        "`rsync --remove-source-files` deletes",
                    );
                }
            }
        }
        if !p.unknown.is_empty() {
            // An option the gate does not know may take a value: any operand could be the
            // destination.
            for op in &ops {
                if !remote(op) {
                    self.path(
                        &st.cwd,
                        op,
                        Access::Write,
                        true,
                        true,
                        "`rsync` (with an option the gate does not know) may write",
                    );
                }
            }
        }
        if !remote(dest) {
            let access = if deletes {
                Access::Delete
            } else {
                Access::Write
            };
            let verb = if deletes {
                "`rsync --delete` deletes in"
            } else {
                "`rsync` writes"
            };
            self.path(&st.cwd, dest, access, true, true, verb);
        }
    }

    fn tar(&mut self, st: &State, args: &[Arg]) {
        // Old-style first word: `tar czf file dir`.
        let mut words: Vec<Arg> = args.to_vec();
        if let Some(first) = words.first().cloned()
            && let Some(text) = first.plain()
            && !text.starts_with('-')
            && !text.is_empty()
            && text.chars().all(|c| c.is_ascii_alphabetic())
        {
            let mut expanded = Vec::new();
            let mut values: Vec<Arg> = Vec::new();
            let mut k = 1;
            for c in text.chars() {
                expanded.push(Arg::synthetic(
                    Val::Lit(Lit::plain(format!("-{c}"))),
                    &first,
                ));
                if "fCTXbNLVKgH".contains(c)
                    && let Some(value) = words.get(k).cloned()
                {
                    values.push(value);
                    k += 1;
                }
            }
            // Re-attach each letter's value right after it.
            let mut out = Vec::new();
            let mut values = values.into_iter();
            for flag in expanded {
                let takes = flag
                    .plain()
                    .is_some_and(|t| "fCTXbNLVKgH".contains(&t[1..]));
                out.push(flag);
                if takes && let Some(v) = values.next() {
                    out.push(v);
                }
            }
            out.extend(words.drain(k.min(words.len())..));
            words = out;
        }
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            o('c', "create", No), o('x', "extract", No), l("get", No), o('t', "list", No),
            o('u', "update", No), o('r', "append", No), o('A', "catenate", No),
            l("concatenate", No), o('d', "diff", No), l("compare", No), l("delete", No),
            o('f', "file", Req), o('C', "directory", Req), o('T', "files-from", Req),
            o('X', "exclude-from", Req), l("exclude", Req), o('I', "use-compress-program", Req),
            l("to-command", Req), l("checkpoint-action", Req), o('F', "info-script", Req),
            l("new-volume-script", Req), l("rsh-command", Req), o('O', "to-stdout", No),
            o('k', "keep-old-files", No), l("overwrite", No), o('P', "absolute-names", No),
            l("transform", Req), l("xform", Req), l("strip-components", Req), o('z', "gzip", No),
            o('j', "bzip2", No), o('J', "xz", No), l("zstd", No), o('a', "auto-compress", No),
            o('v', "verbose", No), o('p', "preserve-permissions", No), o('m', "touch", No),
            o('h', "dereference", No), l("owner", Req), l("group", Req), l("mode", Req),
            l("mtime", Req), o('b', "blocking-factor", Req), o('H', "format", Req),
            o('g', "listed-incremental", Req), o('N', "newer", Req), o('V', "label", Req),
            o('L', "tape-length", Req), o('K', "starting-file", Req), l("remove-files", No),
            l("one-file-system", No), o('W', "verify", No), l("exclude-vcs", No),
            l("wildcards", No), l("anchored", No), l("no-same-owner", No), l("numeric-owner", No),
            l("checkpoint", Opt), l("sort", Req), l("warning", Req), l("index-file", Req),
        ];
        let p = opts::parse(&words, T, GNU);
        for key in [
            "use-compress-program",
            "to-command",
            "info-script",
            "new-volume-script",
            "rsh-command",
        ] {
            if let Some(cmd) = p.value(key).cloned() {
                self.command_text_arg(st, &cmd);
            }
        }
        for action in p.values("checkpoint-action").cloned().collect::<Vec<_>>() {
            if let Some(cmd) = action.text().and_then(|t| t.strip_prefix("exec=")) {
                let cmd = Arg::synthetic(Val::Lit(Lit::plain(cmd)), &action);
                self.command_text_arg(st, &cmd);
            }
        }
        let archive = p.value("file").cloned();
        let dir = p.value("directory").cloned();
        let member_cwd = match &dir {
            Some(dir) => match self.resolve_arg(&st.cwd, dir) {
                Some(path) => Cwd::Known(path),
                None => Cwd::Unknown(format!("`tar -C {}`", dir.raw)),
            },
            None => st.cwd.clone(),
        };
        let ops = operands(&words, &p);
        let stdout_archive = archive.as_ref().is_some_and(|a| a.plain() == Some("-"));
        if p.maybe("create")
            || p.maybe("append")
            || p.maybe("update")
            || p.maybe("catenate")
            || p.maybe("concatenate")
            || p.maybe("delete")
        {
            if let Some(archive) = &archive
                && !stdout_archive
            {
                self.path(
                    &st.cwd,
                    archive,
                    Access::Write,
                    false,
                    true,
                    "`tar` writes the archive",
                );
            }
            for member in &ops {
                self.path(
                    &member_cwd,
                    member,
                    Access::Read,
                    true,
                    true,
                    "`tar` archives",
                );
                if p.flag("remove-files") {
                    self.path(
                        &member_cwd,
                        member,
                        Access::Delete,
                        true,
                        false,
                        "`tar --remove-files` deletes",
                    );
                }
            }
        }
        if p.maybe("extract") || p.maybe("get") {
            if let Some(archive) = &archive
                && !stdout_archive
            {
                self.path(
                    &st.cwd,
                    archive,
                    Access::Read,
                    false,
                    true,
                    "`tar` reads the archive",
                );
            }
            if !p.flag("to-stdout") {
                if p.flag("absolute-names") {
                    let first = words.first().cloned().unwrap_or_else(|| Arg {
                        val: Val::Dyn(Dyn::Other("tar".into())),
                        raw: "tar".into(),
                        span: (0, 0),
                    });
                    self.report_arg(
                        "fs.write.outside-scope",
                        &first,
                        "`tar -P` extracts members to absolute paths stored in the archive, anywhere on disk; extract without `-P` into a directory inside the scope (`-C DIR`)".into(),
                        None,
                    );
                }
                match &dir {
                    Some(dir) => self.path(
                        &st.cwd,
                        dir,
                        Access::Write,
                        true,
                        true,
                        "`tar -x` extracts into",
                    ),
                    None => {
                        let like: Vec<Arg> = words.first().cloned().into_iter().collect();
                        self.cwd_write_tree(st, &like, "`tar -x` extracts into");
                    }
                }
            }
        }
        if (p.maybe("list") || p.maybe("diff") || p.maybe("compare"))
            && let Some(archive) = &archive
            && !stdout_archive
        {
            self.path(
                &st.cwd,
                archive,
                Access::Read,
                false,
                true,
                "`tar` reads the archive",
            );
        }
    }

    /// A write of anything under the working directory.
    fn cwd_write_tree(&mut self, st: &State, like: &[Arg], verb: &str) {
        let span = like.first().map_or((0, 0), |a| a.span);
        let arg = Arg {
            val: Val::Lit(Lit::plain(".")),
            raw: like.first().map_or(".".into(), |a| a.raw.clone()),
            span,
        };
        self.path(&st.cwd, &arg, Access::Write, true, true, verb);
    }

    fn mktemp(&mut self, st: &State, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            o('d', "directory", No), o('u', "dry-run", No), o('q', "quiet", No), s('p', Req),
            l("tmpdir", Opt), s('t', No), l("suffix", Req),
        ];
        let p = opts::parse(args, T, GNU);
        if p.flag("dry-run") {
            return;
        }
        let template = operands(args, &p).first().copied().cloned();
        let dir = p.value("p").or_else(|| p.value("tmpdir")).cloned();
        match (dir, template) {
            (Some(dir), template) => {
                if dir.plain().is_some_and(str::is_empty) {
                    return;
                }
                let target = match template.as_ref().and_then(Arg::plain) {
                    Some(t) => joined(&dir, t),
                    None => joined(&dir, "tmp.XXXXXXXXXX"),
                };
                self.path(
                    &st.cwd,
                    &target,
                    Access::Write,
                    false,
                    true,
                    "`mktemp` creates",
                );
            }
            (None, Some(template)) if !p.flag("t") => {
                self.path(
                    &st.cwd,
                    &template,
                    Access::Write,
                    false,
                    true,
                    "`mktemp` creates",
                );
            }
            // In $TMPDIR (the gate assumes the usual temp dir).
            _ => {}
        }
    }

    fn wget(&mut self, st: &State, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            o('O', "output-document", Req), o('P', "directory-prefix", Req),
            o('o', "output-file", Req), o('a', "append-output", Req), o('i', "input-file", Req),
            o('r', "recursive", No), o('m', "mirror", No), o('q', "quiet", No),
            o('c', "continue", No), o('N', "timestamping", No), o('t', "tries", Req),
            o('T', "timeout", Req), o('U', "user-agent", Req), l("header", Req), l("user", Req),
            l("password", Req), o('e', "execute", Req), o('l', "level", Req),
            o('A', "accept", Req), o('R', "reject", Req), o('D', "domains", Req),
            l("post-data", Req), l("post-file", Req), l("spider", No),
        ];
        let p = opts::parse(args, T, GNU);
        for key in ["output-file", "append-output"] {
            if let Some(log) = p.value(key) {
                self.path(
                    &st.cwd,
                    log,
                    Access::Write,
                    false,
                    true,
                    "`wget` writes its log to",
                );
            }
        }
        if p.flag("spider") {
            return;
        }
        match p.value("output-document") {
            Some(out) if out.plain() == Some("-") => {}
            Some(out) => self.path(&st.cwd, out, Access::Write, false, true, "`wget -O` writes"),
            None => {
                let tree = p.flag("recursive") || p.flag("mirror");
                match p.value("directory-prefix") {
                    Some(dir) => self.path(
                        &st.cwd,
                        dir,
                        Access::Write,
                        true,
                        true,
                        "`wget` downloads into",
                    ),
                    None if tree => self.cwd_write_tree(
                        st,
                        &args[..args.len().min(1)],
                        "`wget -r` downloads into",
                    ),
                    None => self.cwd_write(st, &args[..args.len().min(1)], "`wget` downloads into"),
                }
            }
        }
    }

    fn curl(&mut self, st: &State, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            o('o', "output", Req), o('O', "remote-name", No), l("remote-name-all", No),
            l("output-dir", Req), o('D', "dump-header", Req), o('c', "cookie-jar", Req),
            l("trace", Req), l("trace-ascii", Req), l("stderr", Req), l("etag-save", Req),
            l("hsts", Req), l("alt-svc", Req), o('J', "remote-header-name", No),
            o('d', "data", Req), l("data-binary", Req), l("data-raw", Req),
            l("data-urlencode", Req), o('H', "header", Req), o('X', "request", Req),
            o('u', "user", Req), o('A', "user-agent", Req), o('e', "referer", Req),
            o('b', "cookie", Req), o('T', "upload-file", Req), o('F', "form", Req),
            o('K', "config", Req), o('w', "write-out", Req), o('m', "max-time", Req),
            o('x', "proxy", Req), o('r', "range", Req), o('E', "cert", Req), l("key", Req),
            l("cacert", Req), l("connect-timeout", Req), l("retry", Req), l("url", Req),
            o('s', "silent", No), o('S', "show-error", No), o('L', "location", No),
            o('f', "fail", No), o('k', "insecure", No), o('v', "verbose", No), o('I', "head", No),
            o('i', "include", No), o('G', "get", No), o('C', "continue-at", Req),
            o('y', "speed-time", Req), o('Y', "speed-limit", Req), o('z', "time-cond", Req),
            o('U', "proxy-user", Req), o('Q', "quote", Req), o('P', "ftp-port", Req),
            o('t', "telnet-option", Req), l("libcurl", Req), o('n', "netrc", No),
            l("netrc-file", Req),
        ];
        let p = opts::parse(args, T, GNU);
        if let Some(config) = p.value("config") {
            self.report_arg(
                "shell.dynamic",
                config,
                "`curl -K` reads options (outputs included) from a config file the gate cannot see; pass the options on the command line".into(),
                None,
            );
        }
        for out in p.values("output").cloned().collect::<Vec<_>>() {
            if out.plain() != Some("-") {
                self.path(
                    &st.cwd,
                    &out,
                    Access::Write,
                    false,
                    true,
                    "`curl -o` writes",
                );
            }
        }
        for key in [
            "dump-header",
            "cookie-jar",
            "trace",
            "trace-ascii",
            "stderr",
            "etag-save",
            "hsts",
            "alt-svc",
            "libcurl",
        ] {
            for out in p.values(key).cloned().collect::<Vec<_>>() {
                if out.plain() != Some("-") {
                    self.path(
                        &st.cwd,
                        &out,
                        Access::Write,
                        false,
                        true,
                        &format!("`curl --{key}` writes"),
                    );
                }
            }
        }
        if p.flag("remote-name") || p.flag("remote-name-all") {
            match p.value("output-dir") {
                Some(dir) => self.path(
                    &st.cwd,
                    dir,
                    Access::Write,
                    true,
                    true,
                    "`curl -O` downloads into",
                ),
                None => self.cwd_write(st, &args[..args.len().min(1)], "`curl -O` downloads into"),
            }
        }
        for upload in p.values("upload-file").cloned().collect::<Vec<_>>() {
            self.path(
                &st.cwd,
                &upload,
                Access::Read,
                false,
                true,
                "`curl -T` uploads",
            );
        }
    }

    fn patch(&mut self, st: &State, inv: &Inv, args: &[Arg]) {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            o('p', "strip", Req), o('d', "directory", Req), o('i', "input", Req),
            o('o', "output", Req), o('r', "reject-file", Req), o('b', "backup", No),
            o('B', "prefix", Req), o('Y', "basename-prefix", Req), o('z', "suffix", Req),
            o('D', "ifdef", Req), o('F', "fuzz", Req), o('V', "version-control", Req),
            o('g', "get", Req), l("dry-run", No), o('R', "reverse", No), o('N', "forward", No),
            o('f', "force", No), o('s', "quiet", No), l("silent", No), o('t', "batch", No),
            o('E', "remove-empty-files", No), o('u', "unified", No), o('c', "context", No),
            o('e', "ed", No), o('n', "normal", No), o('l', "ignore-whitespace", No),
            l("binary", No), l("verbose", No), l("posix", No), l("merge", Opt),
            l("quoting-style", Req), l("read-only", Req), l("follow-symlinks", No),
            l("backup-if-mismatch", No), l("no-backup-if-mismatch", No),
        ];
        let p = opts::parse(args, T, GNU);
        if p.flag("dry-run") {
            return;
        }
        let cwd = match p.value("directory") {
            Some(dir) => match self.resolve_arg(&st.cwd, dir) {
                Some(path) => Cwd::Known(path),
                None => Cwd::Unknown(format!("`patch -d {}`", dir.raw)),
            },
            None => st.cwd.clone(),
        };
        for key in ["output", "reject-file"] {
            if let Some(out) = p.value(key)
                && out.plain() != Some("-")
            {
                self.path(&cwd, out, Access::Write, false, true, "`patch` writes");
            }
        }
        let ops = operands(args, &p);
        if let Some(original) = ops.first() {
            if p.value("output").is_none() {
                self.path(&cwd, original, Access::Write, false, true, "`patch` edits");
            }
            if let Some(file) = ops.get(1) {
                self.path(&st.cwd, file, Access::Read, false, true, "`patch` reads");
            }
            return;
        }
        if p.value("output").is_some() {
            return;
        }
        let strip = p
            .value("strip")
            .and_then(Arg::plain)
            .and_then(|t| t.parse::<usize>().ok());
        let source = p.value("input").cloned().or_else(|| inv.stdin_file.clone());
        let text = self.patch_text(st, inv, source.as_ref());
        let word = source.clone().unwrap_or_else(|| inv.argv[0].clone());
        match text {
            Some(text) => {
                for path in patch_paths(&text, strip) {
                    let target = Arg::synthetic(Val::Lit(Lit::plain(path)), &word);
                    self.path(&cwd, &target, Access::Write, false, false, "`patch` edits");
                }
            }
            None => self.report_arg(
                "fs.write.outside-scope",
                &word,
                "`patch` edits the files named inside the patch, and the gate cannot read this patch before it runs (it comes from a pipe or from a file that does not exist yet); write the patch to a file first, then run `patch -i FILE` as its own command".into(),
                None,
            ),
        }
    }

    /// The text of a patch given as a file or a here-document.
    pub(crate) fn patch_text(&self, st: &State, inv: &Inv, file: Option<&Arg>) -> Option<String> {
        if let Some(file) = file {
            let path = self.resolve_arg(&st.cwd, file)?;
            let meta = std::fs::metadata(&path).ok()?;
            if meta.len() > 4 * 1024 * 1024 {
                return None;
            }
            return std::fs::read_to_string(path).ok();
        }
        match inv.stdin {
            Stdin::Data => inv.stdin_text.clone(),
            _ => None,
        }
    }

    fn find<'a>(&mut self, fr: &mut Frame<'a>, st: &mut State, inv: &Inv, args: &[Arg]) {
        let mut i = 0;
        // Leading options.
        while let Some(text) = args.get(i).and_then(Arg::plain) {
            match text {
                "-H" | "-L" | "-P" => i += 1,
                "-D" => i += 2,
                t if t.starts_with("-O") => i += 1,
                _ => break,
            }
        }
        let mut roots: Vec<Arg> = Vec::new();
        while let Some(arg) = args.get(i) {
            if arg
                .plain()
                .is_some_and(|t| t.starts_with('-') || t == "(" || t == "!" || t == ")" || t == ",")
            {
                break;
            }
            roots.push(arg.clone());
            i += 1;
        }
        if roots.is_empty() {
            let like = inv.argv[0].clone();
            roots.push(Arg::synthetic(Val::Lit(Lit::plain(".")), &like));
        }
        for root in &roots {
            self.path(&st.cwd, root, Access::Read, true, true, "`find` searches");
        }
        const ONE_ARG: &[&str] = &[
            "-name",
            "-iname",
            "-path",
            "-ipath",
            "-regex",
            "-iregex",
            "-type",
            "-xtype",
            "-size",
            "-mtime",
            "-mmin",
            "-atime",
            "-amin",
            "-ctime",
            "-cmin",
            "-newer",
            "-anewer",
            "-cnewer",
            "-perm",
            "-user",
            "-group",
            "-uid",
            "-gid",
            "-links",
            "-inum",
            "-samefile",
            "-maxdepth",
            "-mindepth",
            "-printf",
            "-wholename",
            "-iwholename",
            "-lname",
            "-ilname",
            "-used",
            "-context",
            "-fstype",
            "-regextype",
            "-files0-from",
            "-newerXY",
        ];
        while let Some(arg) = args.get(i) {
            let Some(text) = arg.plain() else {
                self.dynamic(arg, "a `find` expression word");
                i += 1;
                continue;
            };
            match text {
                "-delete" => {
                    for root in &roots {
                        self.path(
                            &st.cwd,
                            root,
                            Access::Delete,
                            true,
                            false,
                            "`find -delete` deletes under",
                        );
                    }
                    i += 1;
                }
                "-exec" | "-execdir" | "-ok" | "-okdir" => {
                    let start = i + 1;
                    let mut end = start;
                    while end < args.len() && !matches!(args[end].plain(), Some(";" | "+")) {
                        end += 1;
                    }
                    let template: Vec<Arg> = args[start..end.min(args.len())].to_vec();
                    i = end + 1;
                    if template.is_empty() {
                        continue;
                    }
                    // `{}` is a path under one of the roots: walk the command once per root,
                    // with `{}` standing for "anything under the root".
                    let execdir = text == "-execdir" || text == "-okdir";
                    for root in &roots {
                        let placeholder = match (root.plain(), &st.cwd) {
                            (Some(r), Cwd::Known(base)) => Some(paths::resolve(base, r, true)),
                            (Some(r), Cwd::Unknown(_)) if r.starts_with('/') => {
                                Some(paths::resolve_abs(Path::new(r)))
                            }
                            _ => None,
                        };
                        let argv: Vec<Arg> = template
                            .iter()
                            .map(|a| match (a.text(), &placeholder) {
                                (Some(t), Some(base)) if t.contains("{}") => {
                                    let base = base.to_string_lossy();
                                    let sep = if base.ends_with('/') { "" } else { "/" };
                                    let text = t
                                        .replacen("{}", &format!("{base}{sep}*"), 1)
                                        .replace("{}", "");
                                    let meta = text.find('*');
                                    Arg::synthetic(Val::Lit(Lit { text, meta }), a)
                                }
                                (Some(t), None) if t.contains("{}") => {
                                    Arg::synthetic(Val::Dyn(Dyn::Input("`find`".into())), a)
                                }
                                _ => a.clone(),
                            })
                            .collect();
                        let mut child = st.clone();
                        if execdir {
                            // Other relative paths are relative to each match's directory.
                            child.cwd = Cwd::Unknown(format!("`find {text}`"));
                        }
                        let inner = Inv {
                            argv,
                            env: inv.env.clone(),
                            stdin: Stdin::Inherit,
                            stdin_file: None,
                            stdin_text: None,
                            no_functions: true,
                        };
                        self.exec(fr, &mut child, inner);
                    }
                }
                "-fprint" | "-fprint0" | "-fls" | "-fprintf" => {
                    if let Some(file) = args.get(i + 1) {
                        self.path(
                            &st.cwd,
                            file,
                            Access::Write,
                            false,
                            true,
                            &format!("`find {text}` writes"),
                        );
                    }
                    i += if text == "-fprintf" { 3 } else { 2 };
                }
                t if ONE_ARG.contains(&t) || (t.starts_with("-newer") && t.len() == 8) => {
                    if matches!(t, "-newer" | "-anewer" | "-cnewer" | "-samefile")
                        && let Some(file) = args.get(i + 1)
                    {
                        self.path(&st.cwd, file, Access::Read, false, true, "`find` reads");
                    }
                    i += 2;
                }
                _ => i += 1,
            }
        }
    }
}

fn arg_meta(arg: &Arg) -> Option<usize> {
    match &arg.val {
        Val::Lit(lit) => lit.meta,
        Val::Dyn(_) => None,
    }
}

fn is_cluster_with(text: &str, c: char) -> bool {
    text.len() > 1
        && text.starts_with('-')
        && !text.starts_with("--")
        && text[1..].chars().all(|x| x.is_ascii_alphabetic())
        && text.ends_with(c)
}

/// `base` joined with `text`, with `.` and `..` taken lexically (the shell's logical `cd`).
fn lexical_join(base: &Path, text: &str) -> std::path::PathBuf {
    let mut out = if text.starts_with('/') {
        std::path::PathBuf::from("/")
    } else {
        base.to_path_buf()
    };
    for comp in text.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            name => out.push(name),
        }
    }
    out
}

/// What a sed or ed script does besides editing its input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SedEffect {
    /// Writes a file (`w FILE`, `s///w FILE`).
    Write(String),
    /// Runs a command (`e`, `s///e`).
    Exec,
}

/// Scans a sed script for `w`/`W` and `e` commands and flags.
pub(crate) fn sed_effects(script: &str) -> Vec<SedEffect> {
    let chars: Vec<char> = script.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let rest_of_line = |i: &mut usize| -> String {
        let start = *i;
        while *i < chars.len() && chars[*i] != '\n' {
            *i += 1;
        }
        chars[start..*i]
            .iter()
            .collect::<String>()
            .trim()
            .to_owned()
    };
    // Skips a delimited part (`/regex/`), honouring backslash escapes.
    let skip_delimited = |i: &mut usize, delim: char| {
        while *i < chars.len() && chars[*i] != delim {
            if chars[*i] == '\\' {
                *i += 1;
            }
            *i += 1;
        }
        *i += 1;
    };
    while i < chars.len() {
        let c = chars[i];
        // Addresses.
        if c.is_whitespace()
            || c == ';'
            || c.is_ascii_digit()
            || matches!(c, '$' | ',' | '~' | '+' | '!' | '{' | '}')
        {
            i += 1;
            continue;
        }
        if c == '/' {
            i += 1;
            skip_delimited(&mut i, '/');
            continue;
        }
        if c == '\\' {
            if let Some(&d) = chars.get(i + 1) {
                i += 2;
                skip_delimited(&mut i, d);
            } else {
                i += 1;
            }
            continue;
        }
        i += 1;
        match c {
            '#' | ':' | 'a' | 'i' | 'c' | 'r' | 'R' | 'b' | 't' | 'T' | 'v' => {
                // To the end of the line (labels stop at `;` too).
                while i < chars.len()
                    && chars[i] != '\n'
                    && !(matches!(c, 'b' | 't' | 'T' | ':' | 'v') && chars[i] == ';')
                {
                    i += 1;
                }
            }
            'w' | 'W' => out.push(SedEffect::Write(rest_of_line(&mut i))),
            'e' => {
                out.push(SedEffect::Exec);
                rest_of_line(&mut i);
            }
            's' | 'y' => {
                let Some(&delim) = chars.get(i) else { break };
                i += 1;
                skip_delimited(&mut i, delim);
                skip_delimited(&mut i, delim);
                if c == 's' {
                    while i < chars.len() && !matches!(chars[i], ';' | '\n' | '}') {
                        match chars[i] {
                            'e' => out.push(SedEffect::Exec),
                            'w' => {
                                i += 1;
                                out.push(SedEffect::Write(rest_of_line(&mut i)));
                                break;
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Scans an ed/ex script (one command a line) for shell escapes and writes to other files.
fn ed_effects(script: &str) -> Vec<SedEffect> {
    let mut out = Vec::new();
    for line in script.lines() {
        let body = line.trim_start_matches(|c: char| {
            c.is_ascii_digit() || matches!(c, ',' | '.' | '$' | ';' | '%' | '+' | '-' | ' ' | '\'')
        });
        let mut chars = body.chars();
        match chars.next() {
            Some('!') => out.push(SedEffect::Exec),
            Some(c @ ('w' | 'W' | 'e' | 'E' | 'r')) => {
                let rest = chars.as_str().trim_start_matches('q').trim();
                if rest.starts_with('!') {
                    out.push(SedEffect::Exec);
                } else if !rest.is_empty() && c != 'r' {
                    out.push(SedEffect::Write(rest.to_owned()));
                }
            }
            _ => {}
        }
    }
    out
}

/// Why an awk program may write or run commands.
pub(crate) fn awk_danger(program: &str) -> Option<&'static str> {
    let chars: Vec<char> = program.chars().collect();
    let mut i = 0;
    let mut in_print = false;
    let mut depth = 0i32;
    let mut prev_significant = ' ';
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '/' if matches!(
                prev_significant,
                ' ' | '(' | ',' | ';' | '{' | '}' | '!' | '~' | '&' | '|' | '\n'
            ) =>
            {
                i += 1;
                while i < chars.len() && chars[i] != '/' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '|' => {
                if chars.get(i + 1) == Some(&'|') {
                    i += 1;
                } else {
                    return Some("it pipes to a command");
                }
            }
            '>' if in_print && depth == 0 => return Some("it redirects output to a file"),
            '(' => depth += 1,
            ')' => depth -= 1,
            ';' | '}' | '\n' => {
                in_print = false;
                depth = 0;
            }
            '@' => return Some("it loads an extension"),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i + 1 < chars.len()
                    && (chars[i + 1].is_ascii_alphanumeric() || chars[i + 1] == '_')
                {
                    i += 1;
                }
                let word: String = chars[start..=i].iter().collect();
                match word.as_str() {
                    "system" => return Some("it calls `system`"),
                    "print" | "printf" => {
                        in_print = true;
                        depth = 0;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        if !c.is_whitespace() || c == '\n' {
            prev_significant = if c.is_whitespace() { '\n' } else { c };
        }
        i += 1;
    }
    None
}

/// Why a perl/ruby one-liner may do more than filter text.
pub(crate) fn script_danger(program: &str, code: &str) -> Option<String> {
    const PERL: &[&str] = &[
        "system", "exec", "qx", "open", "sysopen", "unlink", "rename", "mkdir", "rmdir", "chmod",
        "chown", "utime", "symlink", "link", "truncate", "require", "do", "eval", "fork", "kill",
        "syscall", "glob", "readpipe", "pipe", "socket", "dump", "File", "IO", "POSIX", "CORE",
        "chdir", "binmode", "select", "dbmopen", "tie", "local", "SIG", "ENV", "use", "no", "sub",
        "BEGIN", "END", "INIT",
    ];
    const RUBY: &[&str] = &[
        "system",
        "exec",
        "spawn",
        "File",
        "IO",
        "Dir",
        "FileUtils",
        "open",
        "Kernel",
        "eval",
        "instance_eval",
        "class_eval",
        "module_eval",
        "send",
        "__send__",
        "public_send",
        "require",
        "require_relative",
        "load",
        "syscall",
        "fork",
        "Process",
        "Open3",
        "Pathname",
        "ObjectSpace",
        "const_get",
        "method",
        "define_method",
        "binding",
        "ENV",
        "at_exit",
        "trap",
        "Signal",
        "BEGIN",
        "END",
        "x",
    ];
    let list = if program == "perl" { PERL } else { RUBY };
    if code.contains('`') {
        return Some("it runs a command in backquotes".into());
    }
    if program == "perl"
        && (code.contains("&{")
            || code.contains("&$")
            || code.contains("*{")
            || code.contains("->"))
    {
        return Some("it calls code indirectly".into());
    }
    if program == "ruby" && code.contains("%x") {
        return Some("it runs a command with %x".into());
    }
    if program == "perl" {
        // `s/.../.../e` evaluates the replacement as code.
        if perl_subst_eval(code) {
            return Some("a substitution with the `e` flag evaluates code".into());
        }
    }
    for ident in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if list.contains(&ident) {
            return Some(format!("it uses `{ident}`"));
        }
    }
    None
}

fn perl_subst_eval(code: &str) -> bool {
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let at_word_start =
            i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_');
        if chars[i] == 's'
            && at_word_start
            && let Some(&delim) = chars.get(i + 1)
            && !delim.is_ascii_alphanumeric()
            && !delim.is_whitespace()
            && delim != '_'
        {
            let close = match delim {
                '{' => '}',
                '(' => ')',
                '[' => ']',
                '<' => '>',
                d => d,
            };
            let mut j = i + 2;
            let mut parts = 0;
            while j < chars.len() && parts < 2 {
                if chars[j] == '\\' {
                    j += 2;
                    continue;
                }
                if chars[j] == close {
                    parts += 1;
                    if close != delim && parts == 1 {
                        // s{a}{b}: skip to the next opening bracket.
                        while j + 1 < chars.len() && chars[j + 1] != delim {
                            j += 1;
                        }
                        j += 1;
                    }
                }
                j += 1;
            }
            let mut k = j;
            while k < chars.len() && chars[k].is_ascii_alphabetic() {
                if chars[k] == 'e' {
                    return true;
                }
                k += 1;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    false
}

/// The files a unified or context diff touches, with `strip` leading components removed
/// (`None`: only the last component, as `patch` does without `-p`).
pub(crate) fn patch_paths(text: &str, strip: Option<usize>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let name = if let Some(rest) = line
            .strip_prefix("+++ ")
            .or_else(|| line.strip_prefix("--- "))
            .or_else(|| line.strip_prefix("*** "))
        {
            rest.split('\t')
                .next()
                .unwrap_or(rest)
                .trim()
                .trim_matches('"')
                .to_owned()
        } else if let Some(rest) = line.strip_prefix("diff --git ") {
            // `diff --git a/x b/y`: both names.
            for part in rest.split_whitespace() {
                let stripped = strip_components(part, strip);
                if !stripped.is_empty() && !out.contains(&stripped) {
                    out.push(stripped);
                }
            }
            continue;
        } else if let Some(rest) = line
            .strip_prefix("rename to ")
            .or_else(|| line.strip_prefix("copy to "))
        {
            rest.trim().to_owned()
        } else {
            continue;
        };
        if name == "/dev/null" || name.is_empty() {
            continue;
        }
        let stripped = strip_components(&name, strip);
        if !stripped.is_empty() && !out.contains(&stripped) {
            out.push(stripped);
        }
    }
    out
}

fn strip_components(name: &str, strip: Option<usize>) -> String {
    match strip {
        None => name.rsplit('/').next().unwrap_or(name).to_owned(),
        Some(n) => {
            let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
            if name.starts_with('/') && n == 0 {
                return name.to_owned();
            }
            parts.get(n..).map(|p| p.join("/")).unwrap_or_default()
        }
    }
}

/// Programs that never change files (their output redirections are judged as writes on their
/// own). Wrappers are left out on purpose: what they run is another program.
const READ_ONLY_PROGRAMS: &[&str] = &[
    "true", "false", ":", "echo", "printf", "pwd", "ls", "cat", "head", "tail", "wc", "grep",
    "egrep", "fgrep", "rg", "cut", "tr", "diff", "cmp", "stat", "file", "du", "df", "which",
    "type", "date", "whoami", "id", "uname", "test", "[", "sleep", "basename", "dirname",
    "realpath", "readlink", "tree", "printenv", "seq", "nproc", "hostname", "cd", "pushd", "popd",
    "export", "unset", "exit", "return", "shift", "local", "declare", "read",
];

/// git subcommands that only read (when given right after `git`, without global options).
const READ_ONLY_GIT: &[&str] = &[
    "status",
    "log",
    "diff",
    "show",
    "blame",
    "rev-parse",
    "ls-files",
    "ls-tree",
    "grep",
    "describe",
    "shortlog",
    "cat-file",
    "rev-list",
    "merge-base",
    "for-each-ref",
    "show-ref",
];

/// Whether running `argv` cannot change any file: a plain name from the read-only lists.
fn read_only(argv: &[Arg]) -> bool {
    let Some(name) = argv.first().and_then(Arg::plain) else {
        return false;
    };
    if name == "git" {
        return argv
            .get(1)
            .and_then(Arg::plain)
            .is_some_and(|sub| READ_ONLY_GIT.contains(&sub));
    }
    READ_ONLY_PROGRAMS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn program_names() {
        assert_eq!(program_name("/usr/bin/git"), "git");
        assert_eq!(program_name("python3.12"), "python");
        assert_eq!(program_name("gsed"), "sed");
        assert_eq!(program_name("./tool"), "tool");
    }

    #[test]
    fn sed_scripts() {
        assert_eq!(sed_effects("s/a/b/g"), vec![]);
        assert_eq!(
            sed_effects("s/a/b/w out.txt"),
            vec![SedEffect::Write("out.txt".into())]
        );
        assert_eq!(
            sed_effects("1d;w /etc/x"),
            vec![SedEffect::Write("/etc/x".into())]
        );
        assert_eq!(sed_effects("s/x/rm -rf ~/e"), vec![SedEffect::Exec]);
        assert_eq!(sed_effects("/wow/d"), vec![]);
        assert_eq!(sed_effects("s|/w|/e|g"), vec![]);
        assert_eq!(sed_effects("1e id"), vec![SedEffect::Exec]);
    }

    #[test]
    fn awk_programs() {
        assert_eq!(awk_danger("{print $1}"), None);
        assert_eq!(awk_danger("$3 > 10 {print}"), None);
        assert_eq!(awk_danger("/a|b/ {n++} END {print n}"), None);
        assert!(awk_danger("{print > \"/tmp/x\"}").is_some());
        assert!(awk_danger("{system(\"rm -rf /\")}").is_some());
        assert!(awk_danger("{print | \"sh\"}").is_some());
        assert_eq!(awk_danger("$1 == 1 || $2 == 2"), None);
    }

    #[test]
    fn perl_one_liners() {
        assert_eq!(script_danger("perl", "s/a/b/g"), None);
        assert!(script_danger("perl", "s/a/`id`/").is_some());
        assert!(script_danger("perl", "s/a/system('x')/e").is_some());
        assert!(script_danger("perl", "s{a}{b}gex").is_some());
        assert!(script_danger("perl", "unlink glob '*'").is_some());
        assert_eq!(script_danger("perl", "print if /foo/"), None);
    }

    #[test]
    fn patch_targets() {
        let diff = "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@\n--- /dev/null\n+++ b/docs/new.md\t2020\n";
        assert_eq!(
            patch_paths(diff, Some(1)),
            vec!["src/a.rs".to_owned(), "docs/new.md".to_owned()]
        );
        assert_eq!(
            patch_paths("--- x/y/z.c\n+++ x/y/z.c\n", None),
            vec!["z.c".to_owned()]
        );
    }
}
