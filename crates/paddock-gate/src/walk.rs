//! Walks the syntax tree the way the shell would run it, tracking what can be known before the
//! command runs (the working directory, literal variables, positional parameters, stdin), and
//! hands every simple command, after expansion, to [`commands`](crate::commands).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use brush_parser::ast;

use crate::context::Context;
use crate::decision::Finding;
use crate::paths::{self, Access};
use crate::syntax::{self, Dyn, Lit, Mode, Origin, Source, Val, Vars};

/// Nested shells, `eval`, substitutions and function calls deeper than this are refused.
const MAX_DEPTH: u32 = 24;

/// Simple commands analysed per decision (loops and functions are walked more than once).
const MAX_WORK: u32 = 20_000;

/// Loop bodies walked once per literal value when the list is at most this long.
const MAX_UNROLL: usize = 16;

/// One argument after expansion.
#[derive(Debug, Clone)]
pub(crate) struct Arg {
    pub(crate) val: Val,
    /// The word as written.
    pub(crate) raw: String,
    /// Where the word is in the original text.
    pub(crate) span: (usize, usize),
}

impl Arg {
    /// Known text (possibly a glob).
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.val {
            Val::Lit(lit) => Some(&lit.text),
            Val::Dyn(_) => None,
        }
    }

    /// Known text that is not a glob.
    pub(crate) fn plain(&self) -> Option<&str> {
        match &self.val {
            Val::Lit(lit) if lit.meta.is_none() => Some(&lit.text),
            _ => None,
        }
    }

    pub(crate) fn synthetic(val: Val, like: &Arg) -> Arg {
        Arg {
            val,
            raw: like.raw.clone(),
            span: like.span,
        }
    }
}

/// The working directory as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cwd {
    Known(PathBuf),
    /// Unknown, with the word that made it so.
    Unknown(String),
}

impl Cwd {
    pub(crate) fn known(&self) -> Option<&Path> {
        match self {
            Cwd::Known(path) => Some(path),
            Cwd::Unknown(_) => None,
        }
    }
}

/// Where a command's standard input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stdin {
    /// Whatever the gate's caller gives (the agent's terminal or nothing).
    Inherit,
    /// The previous command of a pipeline, or a process substitution.
    Pipe,
    /// A file (`< f`).
    File,
    /// A here-document or here-string.
    Data,
}

/// The shell's state as far as the gate can follow it.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub(crate) cwd: Cwd,
    pub(crate) oldpwd: Cwd,
    pub(crate) dirstack: Option<Vec<Cwd>>,
    /// Variables with a known literal value (`HOME` from the context, `x=lit`, loop variables).
    pub(crate) vars: HashMap<String, Lit>,
    /// `$1`...: `None` at the top level (unknown), known inside `sh -c '...' _ a b`.
    pub(crate) positional: Option<Vec<Option<String>>>,
    /// `CDPATH` was set: relative `cd` targets are unknown.
    pub(crate) cdpath: bool,
    pub(crate) stdin: Stdin,
    /// False after `exit`/`return`/`exec`: this path of the script ends here.
    pub(crate) reachable: bool,
}

impl State {
    pub(crate) fn initial(ctx: &Context) -> State {
        let mut vars = HashMap::new();
        if let Some(home) = &ctx.home {
            vars.insert("HOME".to_owned(), Lit::plain(home.to_string_lossy()));
        }
        State {
            cwd: Cwd::Known(ctx.cwd.clone()),
            oldpwd: Cwd::Unknown("$OLDPWD".into()),
            dirstack: Some(Vec::new()),
            vars,
            positional: None,
            cdpath: false,
            stdin: Stdin::Inherit,
            reachable: true,
        }
    }

    /// The state a new shell process starts with: same directory and home, nothing else.
    pub(crate) fn child_shell(&self, positional: Option<Vec<Option<String>>>) -> State {
        let mut vars = HashMap::new();
        if let Some(home) = self.vars.get("HOME") {
            vars.insert("HOME".to_owned(), home.clone());
        }
        State {
            cwd: self.cwd.clone(),
            oldpwd: Cwd::Unknown("$OLDPWD".into()),
            dirstack: Some(Vec::new()),
            vars,
            positional,
            cdpath: self.cdpath,
            stdin: Stdin::Inherit,
            reachable: true,
        }
    }

    pub(crate) fn vars(&self) -> Vars<'_> {
        Vars {
            named: &self.vars,
            positional: self.positional.as_deref(),
            pwd: self.cwd.known().and_then(Path::to_str),
            oldpwd: self.oldpwd.known().and_then(Path::to_str),
        }
    }

    pub(crate) fn unbind(&mut self, name: &str) {
        self.vars.remove(name);
        if name == "CDPATH" {
            self.cdpath = true;
        }
    }

    /// What is true after either `a` or `b` ran.
    pub(crate) fn merge(a: &State, b: &State) -> State {
        if !a.reachable {
            return b.clone();
        }
        if !b.reachable {
            return a.clone();
        }
        let pick = |x: &Cwd, y: &Cwd| {
            if x == y {
                x.clone()
            } else {
                Cwd::Unknown("a directory that depends on which branch ran".into())
            }
        };
        State {
            cwd: pick(&a.cwd, &b.cwd),
            oldpwd: pick(&a.oldpwd, &b.oldpwd),
            dirstack: if a.dirstack == b.dirstack {
                a.dirstack.clone()
            } else {
                None
            },
            vars: a
                .vars
                .iter()
                .filter(|(k, v)| b.vars.get(*k) == Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            positional: if a.positional == b.positional {
                a.positional.clone()
            } else {
                None
            },
            cdpath: a.cdpath || b.cdpath,
            stdin: a.stdin,
            reachable: true,
        }
    }
}

/// A parsed text and its source map.
pub(crate) struct Frame<'a> {
    pub(crate) src: Source<'a>,
}

/// A shell function, kept with the text it was defined in (for spans). Functions outlive the
/// text that defined them (`eval 'f() { ...; }'; f`), so they are owned.
pub(crate) struct FunctionDef {
    text: Rc<str>,
    origin: Origin,
    body: ast::FunctionBody,
}

/// An environment assignment for one command (`NAME=value cmd`, `env NAME=value cmd`).
#[derive(Debug, Clone)]
pub(crate) struct EnvAssign {
    pub(crate) name: String,
    pub(crate) val: Val,
    pub(crate) arg: Arg,
}

/// One command about to run, after expansion.
#[derive(Debug, Clone)]
pub(crate) struct Inv {
    pub(crate) argv: Vec<Arg>,
    pub(crate) env: Vec<EnvAssign>,
    pub(crate) stdin: Stdin,
    /// The file behind `< file`.
    pub(crate) stdin_file: Option<Arg>,
    /// The text of a here-document or here-string, when known.
    pub(crate) stdin_text: Option<String>,
    /// `command NAME`: skip shell functions.
    pub(crate) no_functions: bool,
}

pub(crate) struct Walker<'c> {
    pub(crate) ctx: &'c Context,
    original: &'c str,
    findings: Vec<Finding>,
    seen: HashSet<(&'static str, usize, usize, String)>,
    pub(crate) depth: u32,
    work: u32,
    calling: Vec<String>,
    /// Paths this command line writes before later parts run (`tree`: everything below too).
    written: Vec<(PathBuf, bool)>,
    /// Off while judging metadata changes (`chmod`), which do not change what a file runs.
    pub(crate) record_writes: bool,
    /// Shell functions defined so far (in any text of this command line).
    pub(crate) functions: HashMap<String, Rc<FunctionDef>>,
    /// Aliases defined so far, and those being expanded (an alias does not expand itself).
    pub(crate) aliases: HashMap<String, String>,
    pub(crate) expanding: Vec<String>,
    /// Something on this line may change files: a write or delete, or a program not known to
    /// be read-only. Callers skip after-the-fact checks only when this stays false.
    pub(crate) may_change: bool,
}

impl<'c> Walker<'c> {
    pub(crate) fn new(ctx: &'c Context, original: &'c str) -> Walker<'c> {
        Walker {
            ctx,
            original,
            findings: Vec::new(),
            seen: HashSet::new(),
            depth: 0,
            work: 0,
            calling: Vec::new(),
            written: Vec::new(),
            record_writes: true,
            functions: HashMap::new(),
            aliases: HashMap::new(),
            expanding: Vec::new(),
            may_change: false,
        }
    }

    /// Whether an earlier part of this command line writes `path`.
    pub(crate) fn written_here(&self, path: &Path) -> bool {
        self.written
            .iter()
            .any(|(w, tree)| w == path || (*tree && path.starts_with(w)))
    }

    pub(crate) fn into_findings(self) -> (Vec<Finding>, bool) {
        (self.findings, self.may_change)
    }

    // ---- findings -------------------------------------------------------------------------

    pub(crate) fn report(
        &mut self,
        rule: &'static str,
        word: &str,
        span: (usize, usize),
        reason: String,
        target: Option<String>,
    ) {
        let action = self.ctx.action(rule);
        self.report_as(rule, action, word, span, reason, target);
    }

    /// Reports a finding whose action is already decided (a custom rule carries its own).
    pub(crate) fn report_as(
        &mut self,
        rule: &'static str,
        action: paddock_policy::Action,
        word: &str,
        span: (usize, usize),
        reason: String,
        target: Option<String>,
    ) {
        if !self.seen.insert((rule, span.0, span.1, word.to_owned())) {
            return;
        }
        let approved = self.approved(rule, word, target.as_deref());
        self.findings.push(Finding {
            rule,
            action,
            approved,
            reason,
            word: word.to_owned(),
            span,
            target,
        });
    }

    /// Whether an operator approval lets a finding of `rule` about `word` (resolved to
    /// `target`) through. `target: None` with a pattern approval: only the word is compared.
    fn approved(&self, rule: &str, word: &str, target: Option<&str>) -> bool {
        rule != "gate.parse-error"
            && self.ctx.approvals.iter().any(|approval| {
                approval.rule == rule
                    && match &approval.pattern {
                        None => true,
                        Some(pattern) => {
                            wildcard(pattern, word) || target.is_some_and(|t| wildcard(pattern, t))
                        }
                    }
            })
    }

    pub(crate) fn report_arg(
        &mut self,
        rule: &'static str,
        arg: &Arg,
        reason: String,
        target: Option<String>,
    ) {
        self.report(rule, &arg.raw, arg.span, reason, target);
    }

    pub(crate) fn parse_error(&mut self, word: &str, span: (usize, usize), message: &str) {
        self.report(
            "gate.parse-error",
            word,
            span,
            format!(
                "the gate cannot analyse this command ({message}), so it refuses it; split it into \
                 simpler commands or put it in a script file inside the scope"
            ),
            None,
        );
    }

    /// Reports that `arg` is computed at run time where that matters.
    pub(crate) fn dynamic(&mut self, arg: &Arg, context: &str) {
        let why = match &arg.val {
            Val::Dyn(d) => d.describe(),
            Val::Lit(_) => "a glob".to_owned(),
        };
        self.report_arg(
            "shell.dynamic",
            arg,
            format!(
                "{context} `{}` comes from {why}, which is only known when the command runs; the \
                 gate cannot tell what it would do. Write it literally.",
                arg.raw
            ),
            None,
        );
    }

    /// Judges an access to the path `arg` names, relative to `cwd`.
    ///
    /// `tree`: the access covers everything under the path. `follow_last`: a symlink in the
    /// last component is followed (a trailing `/` always is).
    pub(crate) fn path(
        &mut self,
        cwd: &Cwd,
        arg: &Arg,
        access: Access,
        tree: bool,
        follow_last: bool,
        verb: &str,
    ) {
        if access != Access::Read {
            self.may_change = true;
        }
        let lit = match &arg.val {
            Val::Lit(lit) => lit,
            Val::Dyn(Dyn::Input(source)) => {
                if access != Access::Read {
                    let rule = if access == Access::Delete {
                        "fs.delete.outside-scope"
                    } else {
                        "fs.write.outside-scope"
                    };
                    self.report_arg(
                        rule,
                        arg,
                        format!(
                            "{verb} paths read from {source}, unknown before it runs, so they may \
                             lie outside the scope; name the paths literally, or use `find DIR \
                             ... -delete` / `-exec` on a directory inside the scope"
                        ),
                        None,
                    );
                }
                return;
            }
            Val::Dyn(_) => {
                if access != Access::Read {
                    self.dynamic(arg, &format!("{verb} a path:"));
                }
                return;
            }
        };
        if lit.text.is_empty() {
            return;
        }
        let (text, tree) = match lit.meta {
            None => (lit.text.as_str(), tree),
            Some(meta) => {
                let prefix = &lit.text[..meta];
                let dir = match prefix.rfind('/') {
                    Some(0) => "/",
                    Some(i) => &prefix[..i],
                    None => ".",
                };
                let after = &lit.text[meta..];
                if after.split('/').any(|c| c == "..") {
                    if access != Access::Read {
                        self.report_arg(
                            "shell.dynamic",
                            arg,
                            format!("{verb} `{}`: `..` after a wildcard can lead anywhere; write the path without it", arg.raw),
                            None,
                        );
                    }
                    return;
                }
                (dir, true)
            }
        };
        let base = match cwd {
            Cwd::Known(dir) => dir.as_path(),
            Cwd::Unknown(why) => {
                if !text.starts_with('/') {
                    if access != Access::Read {
                        self.report_arg(
                            "shell.dynamic",
                            arg,
                            format!(
                                "{verb} `{}` relative to a working directory the gate cannot know \
                                 (after {why}); use an absolute path or `cd` into an existing \
                                 directory first",
                                arg.raw
                            ),
                            None,
                        );
                    }
                    return;
                }
                Path::new("/")
            }
        };
        // A glob lists a directory: its prefix is always followed.
        let follow = follow_last || text.ends_with('/') || lit.meta.is_some();
        let abs = paths::resolve(base, text, follow);
        if access != Access::Read && self.record_writes && self.written.len() < 1024 {
            self.written.push((abs.clone(), tree));
        }
        let judged = self.ctx.judge(&abs, tree, access, verb);
        let target = abs.to_string_lossy().into_owned();
        for hit in judged.hits {
            self.report_arg(hit.rule, arg, hit.reason, Some(target.clone()));
        }
    }

    /// Resolves a literal path argument (no judgement); `None` when unknown.
    pub(crate) fn resolve_arg(&self, cwd: &Cwd, arg: &Arg) -> Option<PathBuf> {
        let text = arg.plain()?;
        match cwd {
            Cwd::Known(dir) => Some(paths::resolve(dir, text, true)),
            Cwd::Unknown(_) if text.starts_with('/') => {
                Some(paths::resolve(Path::new("/"), text, true))
            }
            Cwd::Unknown(_) => None,
        }
    }

    // ---- texts ----------------------------------------------------------------------------

    /// Where `text` (derived from the word at `span`) sits in the original command line.
    pub(crate) fn origin_for(&self, text: &str, span: (usize, usize)) -> Origin {
        if let Some(hay) = self.original.get(span.0..span.0 + span.1)
            && !text.is_empty()
            && let Some(i) = hay.find(text)
        {
            return Origin::At(span.0 + i);
        }
        Origin::Whole(span.0, span.1)
    }

    /// Parses and walks `text` in the shell state `st` (the current shell: `eval`, `source`).
    pub(crate) fn walk_text(&mut self, text: &str, origin: Origin, st: &mut State) {
        let src = Source::new(text, origin);
        if self.depth >= MAX_DEPTH {
            self.parse_error(text, src.whole(), "commands nest too deeply");
            return;
        }
        let program = match syntax::parse_program(text) {
            Ok(program) => program,
            Err(failure) => {
                let span = failure.at.map_or_else(|| src.whole(), |at| src.point(at));
                let word = match origin {
                    Origin::At(_) => text.to_owned(),
                    Origin::Whole(o, l) => self.original.get(o..o + l).unwrap_or(text).to_owned(),
                };
                self.parse_error(&word, span, &failure.message);
                return;
            }
        };
        self.depth += 1;
        let mut frame = Frame { src };
        for list in &program.complete_commands {
            self.list(&mut frame, st, list);
        }
        self.depth -= 1;
    }

    /// Walks `text` as a new shell process would run it (`sh -c TEXT NAME ARGS...`).
    pub(crate) fn shell_text(
        &mut self,
        text: &str,
        span: (usize, usize),
        st: &State,
        positional: Option<Vec<Option<String>>>,
    ) {
        let origin = self.origin_for(text, span);
        let mut child = st.child_shell(positional);
        self.walk_text(text, origin, &mut child);
    }

    /// Walks a command string a program runs with extra arguments of its own (`GIT_EDITOR`,
    /// `rsync -e`, `tar -I`): like `sh -c 'TEXT "$@"'` with unknown arguments.
    pub(crate) fn command_string(&mut self, text: &str, span: (usize, usize), st: &State) {
        let with_args = format!("{text} \"$@\"");
        let mut child = st.child_shell(Some(vec![None]));
        self.walk_text(&with_args, Origin::Whole(span.0, span.1), &mut child);
    }

    fn tick(&mut self, fr: &Frame<'_>) -> bool {
        self.work += 1;
        if self.work > MAX_WORK {
            if self.work == MAX_WORK + 1 {
                self.parse_error(
                    fr.src.text(),
                    fr.src.whole(),
                    "the command line is too complex",
                );
            }
            return false;
        }
        true
    }

    // ---- the tree -------------------------------------------------------------------------

    pub(crate) fn list<'a>(
        &mut self,
        fr: &mut Frame<'a>,
        st: &mut State,
        list: &'a ast::CompoundList,
    ) {
        for item in &list.0 {
            match item.1 {
                ast::SeparatorOperator::Async => {
                    let mut background = st.clone();
                    self.and_or(fr, &mut background, &item.0);
                }
                ast::SeparatorOperator::Sequence => self.and_or(fr, st, &item.0),
            }
        }
    }

    fn and_or<'a>(&mut self, fr: &mut Frame<'a>, st: &mut State, list: &'a ast::AndOrList) {
        let before = st.clone();
        self.pipeline(fr, st, &list.first);
        if list.additional.is_empty() {
            return;
        }
        let mut merged = st.clone();
        let mut prev_before = before;
        for next in &list.additional {
            let this_before = st.clone();
            let pipeline = match next {
                ast::AndOr::And(p) => p,
                ast::AndOr::Or(p) => {
                    // `a || b`: b runs when a failed, possibly before a changed anything.
                    *st = State::merge(&prev_before, st);
                    p
                }
            };
            self.pipeline(fr, st, pipeline);
            merged = State::merge(&merged, st);
            prev_before = this_before;
        }
        *st = merged;
    }

    fn pipeline<'a>(&mut self, fr: &mut Frame<'a>, st: &mut State, pipeline: &'a ast::Pipeline) {
        if let [only] = pipeline.seq.as_slice() {
            self.command(fr, st, only);
            return;
        }
        // Every part of a pipeline runs in a subshell.
        for (i, command) in pipeline.seq.iter().enumerate() {
            let mut part = st.clone();
            if i > 0 {
                part.stdin = Stdin::Pipe;
            }
            self.command(fr, &mut part, command);
        }
    }

    fn command<'a>(&mut self, fr: &mut Frame<'a>, st: &mut State, command: &'a ast::Command) {
        if !self.tick(fr) {
            return;
        }
        match command {
            ast::Command::Simple(simple) => self.simple(fr, st, simple),
            ast::Command::Compound(compound, redirects) => {
                let saved = st.stdin;
                if let Some(redirects) = redirects {
                    let list: Vec<&ast::IoRedirect> = redirects.0.iter().collect();
                    let io = self.redirects(fr, st, &list);
                    if let Some(stdin) = io.stdin {
                        st.stdin = stdin;
                    }
                }
                self.compound(fr, st, compound);
                st.stdin = saved;
            }
            ast::Command::Function(def) => {
                let name = def.fname.value.clone();
                let owned = FunctionDef {
                    text: Rc::from(fr.src.text()),
                    origin: fr.src.origin(),
                    body: def.body.clone(),
                };
                self.functions.insert(name.clone(), Rc::new(owned));
                // The body is checked where it is defined, and again wherever it is called.
                let mut scratch = st.clone();
                self.function_body(fr, &mut scratch, &name, &def.body);
            }
            ast::Command::ExtendedTest(test, redirects) => {
                if let Some(redirects) = redirects {
                    let list: Vec<&ast::IoRedirect> = redirects.0.iter().collect();
                    self.redirects(fr, st, &list);
                }
                self.test_expr(fr, st, &test.expr);
            }
        }
    }

    pub(crate) fn function_body<'a>(
        &mut self,
        fr: &mut Frame<'a>,
        st: &mut State,
        name: &str,
        body: &'a ast::FunctionBody,
    ) {
        if self.calling.iter().any(|n| n == name) || self.depth >= MAX_DEPTH {
            return;
        }
        self.calling.push(name.to_owned());
        self.depth += 1;
        let saved = st.stdin;
        if let Some(redirects) = &body.1 {
            let list: Vec<&ast::IoRedirect> = redirects.0.iter().collect();
            let io = self.redirects(fr, st, &list);
            if let Some(stdin) = io.stdin {
                st.stdin = stdin;
            }
        }
        self.compound(fr, st, &body.0);
        st.stdin = saved;
        self.depth -= 1;
        self.calling.pop();
    }

    /// Calls a shell function: its body runs in the current shell with the call's arguments.
    pub(crate) fn call_function(&mut self, st: &mut State, name: &str, args: &[Arg]) -> bool {
        let Some(def) = self.functions.get(name).cloned() else {
            return false;
        };
        let saved = st.positional.take();
        st.positional = Some(args.iter().map(|a| a.plain().map(str::to_owned)).collect());
        let mut frame = Frame {
            src: Source::new(&def.text, def.origin),
        };
        self.function_body(&mut frame, st, name, &def.body);
        st.positional = saved;
        // A function may change any variable.
        st.vars.retain(|k, _| k == "HOME");
        st.reachable = true;
        true
    }

    fn compound<'a>(
        &mut self,
        fr: &mut Frame<'a>,
        st: &mut State,
        compound: &'a ast::CompoundCommand,
    ) {
        use ast::CompoundCommand as C;
        match compound {
            C::BraceGroup(group) => self.list(fr, st, &group.list),
            C::Subshell(sub) => {
                let mut inner = st.clone();
                self.list(fr, &mut inner, &sub.list);
            }
            C::ForClause(f) => self.for_clause(fr, st, f),
            C::CaseClause(c) => {
                self.expand_word(fr, st, &c.value, Mode::Assignment);
                let start = st.clone();
                let mut out = start.clone();
                for item in &c.cases {
                    for pattern in &item.patterns {
                        self.expand_word(fr, st, pattern, Mode::Assignment);
                    }
                    if let Some(body) = &item.cmd {
                        let mut branch = start.clone();
                        self.list(fr, &mut branch, body);
                        out = State::merge(&out, &branch);
                    }
                }
                *st = out;
            }
            C::IfClause(i) => {
                self.list(fr, st, &i.condition);
                let mut then_state = st.clone();
                self.list(fr, &mut then_state, &i.then);
                let mut out = then_state;
                let mut rest = st.clone();
                let mut has_else = false;
                for clause in i.elses.iter().flatten() {
                    if let Some(condition) = &clause.condition {
                        self.list(fr, &mut rest, condition);
                        let mut branch = rest.clone();
                        self.list(fr, &mut branch, &clause.body);
                        out = State::merge(&out, &branch);
                    } else {
                        has_else = true;
                        let mut branch = rest.clone();
                        self.list(fr, &mut branch, &clause.body);
                        out = State::merge(&out, &branch);
                    }
                }
                if !has_else {
                    out = State::merge(&out, &rest);
                }
                *st = out;
            }
            C::WhileClause(w) | C::UntilClause(w) => self.loop_body(fr, st, Some(&w.0), &w.1.list),
            C::Arithmetic(a) => {
                let span = fr.src.span(Some(&a.loc));
                self.arithmetic(st, &a.expr.value, span);
            }
            C::ArithmeticForClause(a) => {
                let span = fr.src.span(Some(&a.loc));
                for expr in [&a.initializer, &a.condition, &a.updater]
                    .into_iter()
                    .flatten()
                {
                    self.arithmetic(st, &expr.value, span);
                }
                self.loop_body(fr, st, None, &a.body.list);
            }
            C::Coprocess(c) => {
                let mut inner = st.clone();
                self.command(fr, &mut inner, &c.body);
            }
        }
    }

    /// A loop body may run any number of times: walk it twice, the second time from what
    /// either "not yet run" or "ran once" leaves.
    fn loop_body<'a>(
        &mut self,
        fr: &mut Frame<'a>,
        st: &mut State,
        condition: Option<&'a ast::CompoundList>,
        body: &'a ast::CompoundList,
    ) {
        let mut s = st.clone();
        let mut exits = Vec::new();
        for _ in 0..2 {
            if let Some(condition) = condition {
                self.list(fr, &mut s, condition);
            }
            exits.push(s.clone());
            self.list(fr, &mut s, body);
            s = State::merge(exits.last().unwrap_or(&s), &s);
        }
        let mut out = s;
        for exit in &exits {
            out = State::merge(&out, exit);
        }
        *st = out;
    }

    fn for_clause<'a>(&mut self, fr: &mut Frame<'a>, st: &mut State, f: &'a ast::ForClauseCommand) {
        let name = f.variable_name.clone();
        let values: Option<Vec<Lit>> = match &f.values {
            None => st
                .positional
                .as_ref()
                .and_then(|p| p.iter().map(|v| v.clone().map(Lit::plain)).collect()),
            Some(words) => {
                let mut all = Vec::new();
                let mut known = true;
                for word in words {
                    for arg in self.expand_word(fr, st, word, Mode::Arg) {
                        match arg.val {
                            Val::Lit(lit) => all.push(lit),
                            Val::Dyn(_) => known = false,
                        }
                    }
                }
                known.then_some(all)
            }
        };
        match values {
            Some(values) if values.len() <= MAX_UNROLL => {
                let start = st.clone();
                let mut s = st.clone();
                for value in values {
                    s.vars.insert(name.clone(), value);
                    self.list(fr, &mut s, &f.body.list);
                    s.unbind(&name);
                }
                *st = State::merge(&start, &s);
                st.unbind(&name);
            }
            _ => {
                st.unbind(&name);
                self.loop_body(fr, st, None, &f.body.list);
                st.unbind(&name);
            }
        }
    }

    fn arithmetic(&mut self, st: &mut State, expr: &str, span: (usize, usize)) {
        let mut expansion = syntax::Expansion::default();
        if let Err(message) = syntax::collect_code(expr, &mut expansion) {
            self.parse_error(expr, span, &message);
        }
        for code in expansion.nested {
            self.nested(st, &code, span);
        }
        // Arithmetic may assign any variable it names.
        for ident in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !ident.is_empty() {
                st.unbind(ident);
            }
        }
    }

    fn test_expr<'a>(
        &mut self,
        fr: &mut Frame<'a>,
        st: &mut State,
        expr: &'a ast::ExtendedTestExpr,
    ) {
        use ast::ExtendedTestExpr as E;
        match expr {
            E::And(a, b) | E::Or(a, b) => {
                self.test_expr(fr, st, a);
                self.test_expr(fr, st, b);
            }
            E::Not(a) | E::Parenthesized(a) => self.test_expr(fr, st, a),
            E::UnaryTest(pred, word) => {
                let args = self.expand_word(fr, st, word, Mode::Assignment);
                if is_file_test(pred) {
                    for arg in &args {
                        self.path(&st.cwd, arg, Access::Read, false, true, "`[[` tests");
                    }
                }
            }
            E::BinaryTest(pred, a, b) => {
                let files = matches!(
                    pred,
                    ast::BinaryPredicate::FilesReferToSameDeviceAndInodeNumbers
                        | ast::BinaryPredicate::LeftFileIsNewerOrExistsWhenRightDoesNot
                        | ast::BinaryPredicate::LeftFileIsOlderOrDoesNotExistWhenRightDoes
                );
                for word in [a, b] {
                    let args = self.expand_word(fr, st, word, Mode::Assignment);
                    if files {
                        for arg in &args {
                            self.path(&st.cwd, arg, Access::Read, false, true, "`[[` tests");
                        }
                    }
                }
            }
        }
    }

    /// Walks code that runs in a subshell while a word is expanded.
    pub(crate) fn nested(&mut self, st: &State, code: &str, span: (usize, usize)) {
        let origin = self.origin_for(code, span);
        let mut sub = st.clone();
        sub.stdin = Stdin::Inherit;
        self.walk_text(code, origin, &mut sub);
    }

    /// Expands a word, checking the code it runs.
    pub(crate) fn expand_word<'a>(
        &mut self,
        fr: &Frame<'a>,
        st: &State,
        word: &ast::Word,
        mode: Mode,
    ) -> Vec<Arg> {
        let span = fr.src.span(word.loc.as_ref());
        self.expand_raw(st, &word.value, span, mode)
    }

    pub(crate) fn expand_raw(
        &mut self,
        st: &State,
        raw: &str,
        span: (usize, usize),
        mode: Mode,
    ) -> Vec<Arg> {
        let expansion = match syntax::expand(raw, &st.vars(), mode) {
            Ok(expansion) => expansion,
            Err(message) => {
                self.parse_error(raw, span, &message);
                return vec![Arg {
                    val: Val::Dyn(Dyn::Other("an unparsable word".into())),
                    raw: raw.to_owned(),
                    span,
                }];
            }
        };
        for code in &expansion.nested {
            self.nested(st, code, span);
        }
        if let Some(why) = &expansion.dyn_code {
            self.report(
                "shell.dynamic",
                raw,
                span,
                format!("{why}; the gate cannot see that code"),
                None,
            );
        }
        expansion
            .values
            .into_iter()
            .map(|val| Arg {
                val,
                raw: raw.to_owned(),
                span,
            })
            .collect()
    }

    // ---- simple commands and redirects ----------------------------------------------------

    fn simple<'a>(&mut self, fr: &mut Frame<'a>, st: &mut State, simple: &'a ast::SimpleCommand) {
        use ast::CommandPrefixOrSuffixItem as Item;
        enum Part<'a> {
            Word(&'a ast::Word),
            ProcSubst(&'a ast::SubshellCommand),
        }
        let mut assigns: Vec<(&'a ast::Assignment, &'a ast::Word)> = Vec::new();
        let mut redirects: Vec<&'a ast::IoRedirect> = Vec::new();
        let mut parts: Vec<Part<'a>> = Vec::new();
        let items = simple.prefix.iter().flat_map(|p| p.0.iter());
        for item in items {
            match item {
                Item::AssignmentWord(assignment, word) => assigns.push((assignment, word)),
                Item::IoRedirect(r) => redirects.push(r),
                Item::Word(w) => parts.push(Part::Word(w)),
                Item::ProcessSubstitution(_, sub) => parts.push(Part::ProcSubst(sub)),
            }
        }
        if let Some(name) = &simple.word_or_name {
            parts.push(Part::Word(name));
        }
        for item in simple.suffix.iter().flat_map(|s| s.0.iter()) {
            match item {
                Item::AssignmentWord(_, word) => parts.push(Part::Word(word)),
                Item::IoRedirect(r) => redirects.push(r),
                Item::Word(w) => parts.push(Part::Word(w)),
                Item::ProcessSubstitution(_, sub) => parts.push(Part::ProcSubst(sub)),
            }
        }

        // Assignments: values are expanded (their substitutions run) before the command.
        let mut env = Vec::new();
        for (assignment, word) in &assigns {
            let span = fr.src.span(word.loc.as_ref());
            let name = match &assignment.name {
                ast::AssignmentName::VariableName(name) => name.clone(),
                ast::AssignmentName::ArrayElementName(name, index) => {
                    let mut e = syntax::Expansion::default();
                    if syntax::collect_code(index, &mut e).is_err() {
                        self.parse_error(&word.value, span, "an unparsable array index");
                    }
                    for code in e.nested {
                        self.nested(st, &code, span);
                    }
                    st.unbind(name);
                    continue;
                }
            };
            let val = match &assignment.value {
                ast::AssignmentValue::Scalar(value) => {
                    let args = self.expand_raw(st, &value.value, span, Mode::Assignment);
                    match args.into_iter().next() {
                        Some(arg) if !assignment.append => arg.val,
                        _ => Val::Dyn(Dyn::Var(name.clone())),
                    }
                }
                ast::AssignmentValue::Array(items) => {
                    for (key, value) in items {
                        if let Some(key) = key {
                            self.expand_raw(st, &key.value, span, Mode::Assignment);
                        }
                        self.expand_raw(st, &value.value, span, Mode::Assignment);
                    }
                    Val::Dyn(Dyn::Var(name.clone()))
                }
            };
            let arg = Arg {
                val: val.clone(),
                raw: word.value.clone(),
                span,
            };
            env.push(EnvAssign { name, val, arg });
        }

        let mut argv = Vec::new();
        for part in &parts {
            match part {
                Part::Word(word) => argv.extend(self.expand_word(fr, st, word, Mode::Arg)),
                Part::ProcSubst(sub) => {
                    let mut inner = st.clone();
                    self.list(fr, &mut inner, &sub.list);
                    let span = fr.src.span(Some(&sub.loc));
                    let raw = self
                        .original
                        .get(span.0..span.0 + span.1)
                        .unwrap_or("<(...)")
                        .to_owned();
                    argv.push(Arg {
                        val: Val::Dyn(Dyn::ProcSubst),
                        raw,
                        span,
                    });
                }
            }
        }

        let io = self.redirects(fr, st, &redirects);

        if argv.is_empty() {
            // Only assignments (and redirects): they set shell variables.
            for assign in env {
                match assign.val {
                    Val::Lit(lit) => {
                        if assign.name == "CDPATH" {
                            st.cdpath = true;
                        }
                        st.vars.insert(assign.name, Lit::plain(lit.text));
                    }
                    Val::Dyn(_) => st.unbind(&assign.name),
                }
            }
            return;
        }
        // An assignment before a command changes that command's environment only; but the gate
        // does not track which expansions see it, so forget those variables.
        for assign in &env {
            if assign.name == "HOME" || assign.name == "CDPATH" {
                st.unbind(&assign.name);
            }
        }
        let inv = Inv {
            argv,
            env,
            stdin: io.stdin.unwrap_or(st.stdin),
            stdin_file: io.stdin_file,
            stdin_text: io.stdin_text,
            no_functions: false,
        };
        self.exec(fr, st, inv);
    }

    /// Judges redirects; returns what they make of stdin.
    pub(crate) fn redirects<'a>(
        &mut self,
        fr: &mut Frame<'a>,
        st: &mut State,
        redirects: &[&'a ast::IoRedirect],
    ) -> Io {
        use ast::{IoFileRedirectKind as K, IoFileRedirectTarget as T, IoRedirect as R};
        let mut io = Io::default();
        let cwd = st.cwd.clone();
        for redirect in redirects {
            match redirect {
                R::File(fd, kind, target) => {
                    let is_stdin = matches!(fd, None | Some(0));
                    match target {
                        T::Filename(word) => {
                            let args = self.expand_word(fr, st, word, Mode::Assignment);
                            for arg in &args {
                                match kind {
                                    K::Read => {
                                        self.path(
                                            &cwd,
                                            arg,
                                            Access::Read,
                                            false,
                                            true,
                                            "the redirect `<` reads",
                                        );
                                        if is_stdin {
                                            io.stdin = Some(Stdin::File);
                                            io.stdin_file = Some(arg.clone());
                                        }
                                    }
                                    K::Write | K::Append | K::Clobber | K::ReadAndWrite => {
                                        self.path(
                                            &cwd,
                                            arg,
                                            Access::Write,
                                            false,
                                            true,
                                            "the redirect writes",
                                        );
                                    }
                                    K::DuplicateInput | K::DuplicateOutput => {}
                                }
                            }
                        }
                        T::Duplicate(word) => {
                            // `>&word` with a word that is not a number or `-` redirects to a file.
                            let args = self.expand_word(fr, st, word, Mode::Assignment);
                            for arg in &args {
                                let is_fd = arg.plain().is_some_and(|t| {
                                    t == "-"
                                        || t.trim_end_matches('-')
                                            .chars()
                                            .all(|c| c.is_ascii_digit())
                                });
                                if !is_fd && matches!(kind, K::DuplicateOutput) {
                                    self.path(
                                        &cwd,
                                        arg,
                                        Access::Write,
                                        false,
                                        true,
                                        "the redirect writes",
                                    );
                                }
                            }
                        }
                        T::Fd(_) => {}
                        T::ProcessSubstitution(_, sub) => {
                            let mut inner = st.clone();
                            self.list(fr, &mut inner, &sub.list);
                            if is_stdin && matches!(kind, K::Read) {
                                io.stdin = Some(Stdin::Pipe);
                            }
                        }
                    }
                }
                R::HereDocument(fd, doc) => {
                    let span = fr
                        .src
                        .span(doc.doc.loc.as_ref().or(doc.here_end.loc.as_ref()));
                    if doc.requires_expansion {
                        match syntax::heredoc_code(&doc.doc.value) {
                            Ok(codes) => {
                                for code in codes {
                                    self.nested(st, &code, span);
                                }
                            }
                            Err(message) => self.parse_error(&doc.doc.value, span, &message),
                        }
                    }
                    if matches!(fd, None | Some(0)) {
                        io.stdin = Some(Stdin::Data);
                        io.stdin_text = (!doc.requires_expansion
                            || !doc.doc.value.contains(['$', '`']))
                        .then(|| doc.doc.value.clone());
                    }
                }
                R::HereString(fd, word) => {
                    let args = self.expand_word(fr, st, word, Mode::Assignment);
                    if matches!(fd, None | Some(0)) {
                        io.stdin = Some(Stdin::Data);
                        io.stdin_text = args
                            .first()
                            .and_then(|a| a.plain())
                            .map(|t| format!("{t}\n"));
                    }
                }
                R::OutputAndError(word, _) => {
                    let args = self.expand_word(fr, st, word, Mode::Assignment);
                    for arg in &args {
                        self.path(&cwd, arg, Access::Write, false, true, "the redirect writes");
                    }
                }
            }
        }
        io
    }
}

fn is_file_test(pred: &ast::UnaryPredicate) -> bool {
    use ast::UnaryPredicate as U;
    !matches!(
        pred,
        U::FdIsOpenTerminal
            | U::ShellOptionEnabled
            | U::ShellVariableIsSetAndAssigned
            | U::ShellVariableIsSetAndNameRef
            | U::StringHasZeroLength
            | U::StringHasNonZeroLength
    )
}

/// What redirects did to stdin.
#[derive(Debug, Default)]
pub(crate) struct Io {
    pub(crate) stdin: Option<Stdin>,
    pub(crate) stdin_file: Option<Arg>,
    pub(crate) stdin_text: Option<String>,
}

/// `*` matches any run of characters (`/` included), `?` one character.
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards() {
        assert!(wildcard("/w/s2/src/*", "/w/s2/src/a/b.rs"));
        assert!(wildcard("git *", "git reset --hard"));
        assert!(!wildcard("/w/s2/src/*", "/w/s2/docs/a"));
        assert!(wildcard("a?c", "abc"));
    }
}
