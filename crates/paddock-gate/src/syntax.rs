//! The shell-syntax layer: parsing with `brush-parser`, mapping positions back to the original
//! text, and expanding words as far as they can be known before the command runs.
//!
//! Expansion never guesses: a piece whose value depends on the run (an unknown variable, a
//! command substitution, arithmetic) makes the whole word [`Val::Dyn`]. Command substitutions
//! found anywhere in a word (also inside `${x:-$(...)}`, arithmetic or here-documents) are handed
//! back so the walker can check the commands they run.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use brush_parser::word::{self, ParameterExpr, TildeExpr, WordPiece, WordPieceWithSource};
use brush_parser::{ParserOptions, SourceSpan, ast};

/// The longest command line the gate analyses; anything longer is refused.
pub(crate) const MAX_TEXT: usize = 256 * 1024;

/// The deepest nesting of brackets and compound keywords the gate hands to the parser. The
/// parser recurses per level and would overflow the stack long before a real command line
/// needs this much.
pub(crate) const MAX_NESTING: usize = 96;

/// The deepest nesting of `(` the gate hands to the parser. brush-parser backtracks between
/// subshells and arithmetic commands (`((`): its time doubles with each level of `(`, whether
/// the parentheses close or not (`( ( ... x ; ) )` 30 deep takes seconds, `f()(((((...` 60 deep
/// hours; found by fuzzing `gate_decide`). Twenty levels cost a few milliseconds; no command
/// line needs more.
pub(crate) const MAX_PAREN_NESTING: usize = 20;

/// Most words a brace expansion may produce before the word counts as unknowable.
const MAX_BRACE_WORDS: usize = 256;

/// Deepest nesting of unquoted `{` in a word handed to brush-parser's brace-expansion parser.
/// That parser backtracks over every `{` it may have to read as text: its time grows two- to
/// threefold with each level, nested or left open (`a{{{{...` with 30 of them runs for hours;
/// found by fuzzing `gate_decide`). Real words nest two or three levels; deeper ones are
/// refused.
const MAX_BRACE_NESTING: usize = 6;

/// Where a parsed text sits in the original command line.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin {
    /// The text is a verbatim slice of the original starting at this byte offset.
    At(usize),
    /// The text was derived (unquoted, joined): every position maps to this span.
    Whole(usize, usize),
}

/// A text being analysed: converts the parser's character indices into byte spans of the
/// original command line.
pub(crate) struct Source<'t> {
    text: &'t str,
    /// Byte offset of every char, when the text is not ASCII (the parser counts chars).
    char_bytes: Option<Vec<usize>>,
    origin: Origin,
}

impl<'t> Source<'t> {
    pub(crate) fn new(text: &'t str, origin: Origin) -> Source<'t> {
        let char_bytes = if text.is_ascii() {
            None
        } else {
            let mut bytes: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            bytes.push(text.len());
            Some(bytes)
        };
        Source {
            text,
            char_bytes,
            origin,
        }
    }

    pub(crate) fn text(&self) -> &'t str {
        self.text
    }

    pub(crate) fn origin(&self) -> Origin {
        self.origin
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.char_bytes {
            None => char_index.min(self.text.len()),
            Some(bytes) => bytes.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }

    /// The original-text span of a parser span.
    pub(crate) fn span(&self, loc: Option<&SourceSpan>) -> (usize, usize) {
        match (self.origin, loc) {
            (Origin::Whole(offset, len), _) => (offset, len),
            (Origin::At(base), Some(loc)) => {
                let start = self.byte(loc.start.index);
                let end = self.byte(loc.end.index).max(start);
                (base + start, end - start)
            }
            (Origin::At(base), None) => (base, self.text.len()),
        }
    }

    /// The original-text span of a char position with no extent.
    pub(crate) fn point(&self, char_index: usize) -> (usize, usize) {
        match self.origin {
            Origin::Whole(offset, len) => (offset, len),
            Origin::At(base) => (base + self.byte(char_index), 0),
        }
    }

    /// The whole text's span.
    pub(crate) fn whole(&self) -> (usize, usize) {
        match self.origin {
            Origin::Whole(offset, len) => (offset, len),
            Origin::At(base) => (base, self.text.len()),
        }
    }
}

/// Why a text could not be parsed.
#[derive(Debug)]
pub(crate) struct ParseFailure {
    pub(crate) message: String,
    /// Char index of the problem, when the parser knows it.
    pub(crate) at: Option<usize>,
}

fn options() -> ParserOptions {
    ParserOptions::default()
}

/// Parses a shell program. Guards the parser against inputs that would overflow its stack and
/// turns a panic inside it into a failure.
pub(crate) fn parse_program(text: &str) -> Result<ast::Program, ParseFailure> {
    if text.len() > MAX_TEXT {
        return Err(ParseFailure {
            message: format!("the command line is longer than {MAX_TEXT} bytes"),
            at: None,
        });
    }
    let depth = nesting_depth(text);
    if depth > MAX_NESTING {
        return Err(ParseFailure {
            message: format!("the command line nests {depth} levels deep (limit {MAX_NESTING})"),
            at: None,
        });
    }
    if let Some(hazard) = heredoc_hazard(text) {
        return Err(ParseFailure {
            message: hazard.into(),
            at: None,
        });
    }
    let parens = paren_depth(text);
    if parens > MAX_PAREN_NESTING {
        return Err(ParseFailure {
            message: format!(
                "the command line nests parentheses {parens} levels deep (limit {MAX_PAREN_NESTING})"
            ),
            at: None,
        });
    }
    // brush-parser 0.4's tokenizer can loop, allocating without end, when the input ends on a
    // here-document's line (every such input fuzzing found). A command line means the same
    // with a final line break, and then ends cleanly. A final `\` stays as it is: it would
    // join nothing, and the parser refuses it.
    let terminated;
    let text = if text.ends_with(['\n', '\\']) {
        text
    } else {
        terminated = format!("{text}\n");
        &terminated
    };
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let opts = options();
        brush_parser::Parser::new(text.as_bytes(), &opts).parse_program()
    }));
    match parsed {
        Ok(Ok(program)) => Ok(program),
        Ok(Err(err)) => {
            let at = match &err {
                brush_parser::ParseError::ParsingNear(pos) => Some(pos.index),
                brush_parser::ParseError::Tokenizing { position, .. } => {
                    position.as_ref().map(|p| p.index)
                }
                brush_parser::ParseError::ParsingAtEndOfInput => None,
            };
            Err(ParseFailure {
                message: err.to_string(),
                at,
            })
        }
        Err(_) => Err(ParseFailure {
            message: "the shell parser failed internally".into(),
            at: None,
        }),
    }
}

/// An over-estimate of how deeply `text` nests brackets, substitutions and compound commands.
/// Quotes are honoured roughly; over-counting only makes the gate refuse sooner.
pub(crate) fn nesting_depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    let mut in_single = false;
    // A `'` inside double quotes is text: taking it for a quote would stop the count.
    let mut in_double = false;
    let mut word_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if in_single {
            if b == b'\'' {
                in_single = false;
            }
            i += 1;
            continue;
        }
        match b {
            b'\\' => {
                i += 2;
                word_start = false;
                continue;
            }
            b'\'' if !in_double => in_single = true,
            b'"' => in_double = !in_double,
            b'(' | b'{' | b'`' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if word_start && b.is_ascii_alphabetic() {
            let end = bytes[i..]
                .iter()
                .position(|c| !c.is_ascii_alphanumeric())
                .map_or(bytes.len(), |n| i + n);
            match &text[i..end] {
                "if" | "while" | "until" | "for" | "case" | "select" | "function" => {
                    depth += 1;
                    max = max.max(depth);
                }
                "fi" | "done" | "esac" => depth = depth.saturating_sub(1),
                _ => {}
            }
            i = end;
            word_start = false;
            continue;
        }
        word_start = b.is_ascii_whitespace() || b"|&;()<>{}`$".contains(&b);
        i += 1;
    }
    max
}

/// Why the gate cannot trust brush-parser with a here-document in `text`, if it cannot.
///
/// brush-parser 0.4 reads a here-document's delimiter its own way: it drops leading `\r`,
/// every quote character wherever it stands (`<<'"'` has an empty delimiter, not `"`), and
/// treats `\` as an escape inside single quotes too (`<<'a\b'` ends at `ab`, not `a\b`).
/// Where that differs from the shell, the two disagree on where the document ends, and the
/// lines after it that the shell runs would reach the gate as document text, unjudged. An empty
/// delimiter also sends brush's tokenizer into a loop that allocates until memory runs out, as
/// does an operator where the delimiter should be inside a `$(` left open (both found by
/// fuzzing `gate_decide`: `rm -rfp<<'"' é `, `echo $(cat << > r `).
///
/// Such here-documents are refused before the parser sees them; real ones use a plain word,
/// quoted or not (`<<EOF`, `<<'EOF'`, `<<"EOF"`, `<<\EOF`). `<<` inside quotes or arithmetic
/// (`$((1 << (n)))`) and `<<<` are not here-documents.
pub(crate) fn heredoc_hazard(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    let mut quote: Option<u8> = None;
    // One entry per open `(`, innermost last: whether it opened arithmetic (`((`, `$((`).
    let mut parens: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match (quote, b[i]) {
            (Some(q), c) if c == q => quote = None,
            (Some(b'"'), b'\\') => i += 1,
            (Some(_), _) => {}
            (None, b'\\') => i += 1,
            (None, b'\'' | b'"') => quote = Some(b[i]),
            (None, b'(') => {
                let arithmetic = b.get(i + 1) == Some(&b'(');
                parens.push(arithmetic);
                if arithmetic {
                    i += 1;
                }
            }
            (None, b')') => {
                // `))` closes arithmetic as one.
                let arithmetic = parens.pop() == Some(true);
                i += usize::from(arithmetic && b.get(i + 1) == Some(&b')'));
            }
            (None, b'<') if b[i..].starts_with(b"<<<") => {
                // A here-string.
                i += 3;
                continue;
            }
            (None, b'<') if b.get(i + 1) == Some(&b'<') && parens.last() != Some(&true) => {
                let mut j = i + 2;
                if b.get(j) == Some(&b'-') {
                    j += 1;
                }
                while matches!(b.get(j), Some(b' ' | b'\t')) {
                    j += 1;
                }
                if b.get(j).is_some_and(|c| b";|&<>()".contains(c)) {
                    return Some("a here-document without a delimiter");
                }
                match heredoc_tag(b, j) {
                    Ok(end) => {
                        i = end;
                        continue;
                    }
                    Err(why) => return Some(why),
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Reads the delimiter word starting at `start`; where it ends when brush-parser and the shell
/// read it alike, else why not. No word at all is left to the parser (it refuses it).
fn heredoc_tag(b: &[u8], start: usize) -> Result<usize, &'static str> {
    const DIFFERENT: &str =
        "a here-document delimiter the gate's shell parser reads differently from the shell";
    if matches!(b.get(start), Some(b'\r' | b'\x0c')) {
        return Err(DIFFERENT);
    }
    let mut quote: Option<u8> = None;
    let mut kept = false;
    let mut seen = false;
    let mut j = start;
    while j < b.len() {
        let c = b[j];
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            // A quote character or a backslash inside quotes, `$'...'` and `$"..."`: the
            // shell and brush-parser part ways.
            (Some(_), b'\'' | b'"' | b'\\') => return Err(DIFFERENT),
            (None, b'$') if matches!(b.get(j + 1), Some(b'\'' | b'"')) => return Err(DIFFERENT),
            (Some(_), _) => kept = true,
            (None, b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')') => break,
            (None, b'\'' | b'"') => quote = Some(c),
            (None, b'\\') => {
                kept = true;
                j += 1;
            }
            (None, _) => kept = true,
        }
        seen = true;
        j += 1;
    }
    if seen && !kept {
        return Err("a here-document whose delimiter is empty once quotes are removed");
    }
    Ok(j)
}

/// An over-estimate of how deeply `(` nest in `text`, one left open counting as a level.
/// Single-quoted and escaped parentheses are text to the parser and are not counted.
pub(crate) fn paren_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_single, mut in_double) = (false, false);
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'\'' if !in_double => in_single = !in_single,
            _ if in_single => {}
            b'"' => in_double = !in_double,
            b'\\' => {
                bytes.next();
            }
            b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// One argument's value, as far as it is known before the command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Val {
    /// Known text; `meta` is the byte index of its first unquoted glob character.
    Lit(Lit),
    /// Computed at run time.
    Dyn(Dyn),
}

/// Known text, possibly a glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lit {
    pub(crate) text: String,
    /// Byte index in `text` of the first active (unquoted) glob character.
    pub(crate) meta: Option<usize>,
}

impl Lit {
    pub(crate) fn plain(text: impl Into<String>) -> Lit {
        Lit {
            text: text.into(),
            meta: None,
        }
    }
}

/// What makes a word unknowable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dyn {
    /// `$name`, `${name...}`.
    Var(String),
    /// `$(...)` or backquotes.
    Subst,
    /// `<(...)` / `>(...)`.
    ProcSubst,
    /// Input the command reads at run time (`xargs`, `parallel`): names the source.
    Input(String),
    /// Anything else (arithmetic, `~user`, word splitting ...).
    Other(String),
}

impl Dyn {
    pub(crate) fn describe(&self) -> String {
        match self {
            Dyn::Var(name) => format!("the variable `${name}`"),
            Dyn::Subst => "a command substitution".to_owned(),
            Dyn::ProcSubst => "a process substitution".to_owned(),
            Dyn::Input(source) => format!("input read by {source}"),
            Dyn::Other(what) => what.clone(),
        }
    }
}

/// Variables whose values the gate knows at this point of the command line.
pub(crate) struct Vars<'a> {
    pub(crate) named: &'a HashMap<String, Lit>,
    /// `$1`...; `None` inside means that one is unknown.
    pub(crate) positional: Option<&'a [Option<String>]>,
    pub(crate) pwd: Option<&'a str>,
    pub(crate) oldpwd: Option<&'a str>,
}

/// The result of expanding one word.
#[derive(Debug, Default)]
pub(crate) struct Expansion {
    /// One value per resulting argument (brace expansion and `"$@"` can make several).
    pub(crate) values: Vec<Val>,
    /// Code that runs while the word is expanded (command substitutions).
    pub(crate) nested: Vec<String>,
    /// Set when expansion itself can run unknown code (`${x@P}`).
    pub(crate) dyn_code: Option<String>,
}

/// How a word is expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A command argument: brace expansion, globbing.
    Arg,
    /// The value of an assignment: no brace expansion, no globbing.
    Assignment,
}

/// Expands a raw word as written in the command line.
pub(crate) fn expand(raw: &str, vars: &Vars<'_>, mode: Mode) -> Result<Expansion, String> {
    let mut out = Expansion::default();
    if is_plain(raw) {
        let meta = if mode == Mode::Arg {
            glob_meta(raw)
        } else {
            None
        };
        out.values.push(Val::Lit(Lit {
            text: raw.to_owned(),
            meta,
        }));
        return Ok(out);
    }
    let alternatives = if mode == Mode::Arg && raw.contains('{') {
        brace_expand(raw)?
    } else {
        vec![raw.to_owned()]
    };
    for alt in alternatives {
        let pieces = word::parse(&alt, &options()).map_err(|e| e.to_string())?;
        // `"$@"` (alone in a word) expands to one argument per positional parameter.
        if let Some(values) = all_positional(&pieces, vars) {
            out.values.extend(values);
            continue;
        }
        let mut acc = Acc::default();
        fold(&pieces, false, vars, mode, &mut acc, &mut out)?;
        // The shell drops an argument that expands to nothing and has no quotes at all
        // (`x=; git $x reset --hard` runs `git reset --hard`): keeping an empty word would
        // shift every later word and hide what runs.
        if mode == Mode::Arg && acc.is_null() {
            continue;
        }
        out.values.push(acc.finish());
    }
    Ok(out)
}

/// The byte index of the first glob character: `*`, `?`, or a `[` that opens a bracket
/// expression (a lone `[`, as in the `[` command, is literal).
pub(crate) fn glob_meta(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'*' | b'?' => return Some(i),
            b'[' if bytes.get(i + 2..).is_some_and(|rest| rest.contains(&b']')) => return Some(i),
            _ => {}
        }
    }
    None
}

/// Words made only of characters that need no expansion at all.
fn is_plain(raw: &str) -> bool {
    !raw.is_empty()
        && !raw.starts_with('~')
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./,:=+@%^*?[]!#".contains(&b))
        && !raw.contains("@(")
        && !raw.contains("!(")
}

fn brace_expand(raw: &str) -> Result<Vec<String>, String> {
    use brush_parser::word::BraceExpressionOrText as B;
    if brace_nesting(raw) > MAX_BRACE_NESTING {
        return Err("braces nest too deeply (or too many are left open) to expand".into());
    }
    let parsed = word::parse_brace_expansions(raw, &options()).map_err(|e| e.to_string())?;
    let Some(parts) = parsed else {
        return Ok(vec![raw.to_owned()]);
    };
    if !parts.iter().any(|p| matches!(p, B::Expr(_))) {
        return Ok(vec![raw.to_owned()]);
    }
    let words = expand_brace_parts(&parts)?;
    Ok(words)
}

/// How deep unquoted `{` nest in a word, counting one left open as a level too. Quoted and
/// escaped braces cost the brace parser nothing and are not counted.
fn brace_nesting(raw: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote: Option<u8> = None;
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        match (quote, b) {
            (Some(b'\''), b'\'') => quote = None,
            (Some(b'\''), _) => {}
            (_, b'\\') => {
                bytes.next();
            }
            (Some(b'"'), b'"') => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, b'}') => depth = depth.saturating_sub(1),
            (None, _) => {}
        }
    }
    deepest
}

fn expand_brace_parts(
    parts: &[brush_parser::word::BraceExpressionOrText],
) -> Result<Vec<String>, String> {
    use brush_parser::word::BraceExpressionMember as M;
    use brush_parser::word::BraceExpressionOrText as B;
    let mut acc = vec![String::new()];
    for part in parts {
        let options: Vec<String> = match part {
            B::Text(text) => vec![text.clone()],
            B::Expr(members) => {
                let mut all = Vec::new();
                for member in members {
                    match member {
                        M::Child(children) => all.extend(expand_brace_parts(children)?),
                        M::NumberSequence {
                            start,
                            end,
                            increment,
                        } => {
                            let step = increment.unsigned_abs().max(1);
                            let count = start.abs_diff(*end) / step + 1;
                            if count > MAX_BRACE_WORDS as u64 {
                                return Err("a brace expansion makes too many words".into());
                            }
                            let mut n = *start;
                            for _ in 0..count {
                                all.push(n.to_string());
                                n = if start <= end {
                                    n + step as i64
                                } else {
                                    n - step as i64
                                };
                            }
                        }
                        M::CharSequence { start, end, .. } => {
                            let (a, b) = (*start as u32, *end as u32);
                            let (lo, hi) = (a.min(b), a.max(b));
                            if hi - lo > MAX_BRACE_WORDS as u32 {
                                return Err("a brace expansion makes too many words".into());
                            }
                            all.extend((lo..=hi).filter_map(char::from_u32).map(String::from));
                        }
                    }
                }
                all
            }
        };
        if acc.len() * options.len() > MAX_BRACE_WORDS {
            return Err("a brace expansion makes too many words".into());
        }
        acc = acc
            .iter()
            .flat_map(|prefix| options.iter().map(move |o| format!("{prefix}{o}")))
            .collect();
    }
    Ok(acc)
}

fn all_positional(pieces: &[WordPieceWithSource], vars: &Vars<'_>) -> Option<Vec<Val>> {
    use brush_parser::word::{Parameter, SpecialParameter};
    let [only] = pieces else { return None };
    let inner = match &only.piece {
        WordPiece::DoubleQuotedSequence(inner) => match inner.as_slice() {
            [one] => &one.piece,
            _ => return None,
        },
        piece => piece,
    };
    let WordPiece::ParameterExpansion(ParameterExpr::Parameter {
        parameter: Parameter::Special(SpecialParameter::AllPositionalParameters { .. }),
        indirect: false,
    }) = inner
    else {
        return None;
    };
    let positional = vars.positional?;
    Some(
        positional
            .iter()
            .map(|p| match p {
                Some(text) => Val::Lit(Lit::plain(text.clone())),
                None => Val::Dyn(Dyn::Var("@".into())),
            })
            .collect(),
    )
}

#[derive(Default)]
struct Acc {
    text: String,
    meta: Option<usize>,
    dynamic: Option<Dyn>,
    /// Some part of the word was quoted (even `""`): it stays an argument when empty.
    quoted: bool,
}

impl Acc {
    /// Known to be empty, without quotes: the shell removes such a word.
    fn is_null(&self) -> bool {
        self.text.is_empty() && self.dynamic.is_none() && !self.quoted
    }

    fn push_lit(&mut self, text: &str, quoted: bool, mode: Mode) {
        self.quoted |= quoted;
        if !quoted
            && mode == Mode::Arg
            && self.meta.is_none()
            && let Some(i) = glob_meta(text)
        {
            self.meta = Some(self.text.len() + i);
        }
        self.text.push_str(text);
    }

    fn dynamic(&mut self, why: Dyn) {
        if self.dynamic.is_none() {
            self.dynamic = Some(why);
        }
    }

    fn finish(self) -> Val {
        match self.dynamic {
            Some(why) => Val::Dyn(why),
            None => Val::Lit(Lit {
                text: self.text,
                meta: self.meta,
            }),
        }
    }
}

fn fold(
    pieces: &[WordPieceWithSource],
    quoted: bool,
    vars: &Vars<'_>,
    mode: Mode,
    acc: &mut Acc,
    out: &mut Expansion,
) -> Result<(), String> {
    use brush_parser::word::{Parameter, SpecialParameter};
    for piece in pieces {
        match &piece.piece {
            WordPiece::Text(text) => acc.push_lit(text, quoted, mode),
            WordPiece::SingleQuotedText(text) => acc.push_lit(text, true, mode),
            WordPiece::AnsiCQuotedText(text) => acc.push_lit(&decode_ansi_c(text), true, mode),
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                acc.quoted = true;
                fold(inner, true, vars, mode, acc, out)?;
            }
            WordPiece::EscapeSequence(seq) => {
                let escaped = seq.strip_prefix('\\').unwrap_or(seq);
                if quoted {
                    match escaped.chars().next() {
                        Some('$' | '`' | '"' | '\\') => acc.push_lit(escaped, true, mode),
                        Some('\n') => {}
                        _ => acc.push_lit(seq, true, mode),
                    }
                } else if escaped != "\n" {
                    acc.push_lit(escaped, true, mode);
                }
            }
            WordPiece::TildeExpansion(tilde) => match tilde {
                TildeExpr::Home => match vars.named.get("HOME") {
                    Some(home) => acc.push_lit(&home.text, true, mode),
                    None => acc.dynamic(Dyn::Var("HOME".into())),
                },
                TildeExpr::WorkingDir => match vars.pwd {
                    Some(pwd) => acc.push_lit(pwd, true, mode),
                    None => acc.dynamic(Dyn::Var("PWD".into())),
                },
                TildeExpr::OldWorkingDir => match vars.oldpwd {
                    Some(pwd) => acc.push_lit(pwd, true, mode),
                    None => acc.dynamic(Dyn::Var("OLDPWD".into())),
                },
                TildeExpr::UserHome(user) => acc.dynamic(Dyn::Other(format!("`~{user}`"))),
                _ => acc.dynamic(Dyn::Other("a directory-stack `~N`".into())),
            },
            WordPiece::ParameterExpansion(expr) => {
                collect_param_code(expr, out)?;
                match expr {
                    ParameterExpr::Parameter {
                        parameter,
                        indirect: false,
                    } => {
                        let value: Option<Lit> = match parameter {
                            Parameter::Named(name) => match name.as_str() {
                                "PWD" => vars.pwd.map(Lit::plain),
                                "OLDPWD" => vars.oldpwd.map(Lit::plain),
                                _ => vars.named.get(name).cloned(),
                            },
                            Parameter::Positional(0) => None,
                            Parameter::Positional(n) => vars
                                .positional
                                .and_then(|p| p.get(*n as usize - 1).cloned().flatten())
                                .map(Lit::plain),
                            _ => None,
                        };
                        match value {
                            // Unquoted expansions are split and globbed: only a single plain
                            // field is predictable.
                            Some(v) if !quoted && v.text.chars().any(char::is_whitespace) => acc
                                .dynamic(Dyn::Other(
                                    "a variable that splits into several words".into(),
                                )),
                            Some(v) if !quoted || v.meta.is_some() => {
                                let meta = v.meta.or_else(|| glob_meta(&v.text));
                                if mode == Mode::Arg
                                    && acc.meta.is_none()
                                    && let Some(i) = meta
                                {
                                    acc.meta = Some(acc.text.len() + i);
                                }
                                acc.text.push_str(&v.text);
                            }
                            Some(v) => acc.push_lit(&v.text, true, mode),
                            None => acc.dynamic(match parameter {
                                Parameter::Named(name) => Dyn::Var(name.clone()),
                                Parameter::Positional(n) => Dyn::Var(n.to_string()),
                                Parameter::Special(SpecialParameter::AllPositionalParameters {
                                    ..
                                }) => Dyn::Var("@".into()),
                                other => {
                                    Dyn::Var(other.to_string().trim_start_matches('$').to_owned())
                                }
                            }),
                        }
                    }
                    ParameterExpr::Transform {
                        op: word::ParameterTransformOp::PromptExpand,
                        ..
                    } => {
                        out.dyn_code = Some(
                            "`${var@P}` prompt expansion runs the variable's \
                                             command substitutions"
                                .into(),
                        );
                        acc.dynamic(Dyn::Other("a prompt expansion".into()));
                    }
                    _ => acc.dynamic(Dyn::Other(format!(
                        "the parameter expansion `{}`",
                        piece_source(piece)
                    ))),
                }
            }
            WordPiece::CommandSubstitution(code) => {
                out.nested.push(code.clone());
                acc.dynamic(Dyn::Subst);
            }
            WordPiece::BackquotedCommandSubstitution(code) => {
                out.nested.push(unescape_backquoted(code));
                acc.dynamic(Dyn::Subst);
            }
            WordPiece::ArithmeticExpression(expr) => {
                collect_code(&expr.value, out)?;
                acc.dynamic(Dyn::Other("an arithmetic expansion".into()));
            }
        }
    }
    Ok(())
}

fn piece_source(piece: &WordPieceWithSource) -> String {
    match &piece.piece {
        WordPiece::ParameterExpansion(ParameterExpr::Parameter { parameter, .. }) => {
            parameter.to_string()
        }
        WordPiece::ParameterExpansion(_) => "${...}".to_owned(),
        _ => "...".to_owned(),
    }
}

/// Command substitutions hidden in a parameter expression's operands (`${x:-$(rm ...)}`).
fn collect_param_code(expr: &ParameterExpr, out: &mut Expansion) -> Result<(), String> {
    use brush_parser::word::Parameter;
    let mut texts: Vec<&str> = Vec::new();
    let parameter = match expr {
        ParameterExpr::Parameter { parameter, .. }
        | ParameterExpr::ParameterLength { parameter, .. }
        | ParameterExpr::Transform { parameter, .. } => Some(parameter),
        ParameterExpr::UseDefaultValues {
            parameter,
            default_value: v,
            ..
        }
        | ParameterExpr::AssignDefaultValues {
            parameter,
            default_value: v,
            ..
        } => {
            texts.extend(v.as_deref());
            Some(parameter)
        }
        ParameterExpr::IndicateErrorIfNullOrUnset {
            parameter,
            error_message: v,
            ..
        } => {
            texts.extend(v.as_deref());
            Some(parameter)
        }
        ParameterExpr::UseAlternativeValue {
            parameter,
            alternative_value: v,
            ..
        } => {
            texts.extend(v.as_deref());
            Some(parameter)
        }
        ParameterExpr::RemoveSmallestSuffixPattern {
            parameter,
            pattern: v,
            ..
        }
        | ParameterExpr::RemoveLargestSuffixPattern {
            parameter,
            pattern: v,
            ..
        }
        | ParameterExpr::RemoveSmallestPrefixPattern {
            parameter,
            pattern: v,
            ..
        }
        | ParameterExpr::RemoveLargestPrefixPattern {
            parameter,
            pattern: v,
            ..
        }
        | ParameterExpr::UppercaseFirstChar {
            parameter,
            pattern: v,
            ..
        }
        | ParameterExpr::UppercasePattern {
            parameter,
            pattern: v,
            ..
        }
        | ParameterExpr::LowercaseFirstChar {
            parameter,
            pattern: v,
            ..
        }
        | ParameterExpr::LowercasePattern {
            parameter,
            pattern: v,
            ..
        } => {
            texts.extend(v.as_deref());
            Some(parameter)
        }
        ParameterExpr::Substring {
            parameter,
            offset,
            length,
            ..
        } => {
            texts.push(&offset.value);
            if let Some(length) = length {
                texts.push(&length.value);
            }
            Some(parameter)
        }
        ParameterExpr::ReplaceSubstring {
            parameter,
            pattern,
            replacement,
            ..
        } => {
            texts.push(pattern);
            texts.extend(replacement.as_deref());
            Some(parameter)
        }
        ParameterExpr::VariableNames { .. } | ParameterExpr::MemberKeys { .. } => None,
    };
    if let Some(Parameter::NamedWithIndex { index, .. }) = parameter {
        texts.push(index);
    }
    for text in texts {
        collect_code(text, out)?;
    }
    Ok(())
}

/// Finds the command substitutions inside a piece of text that the shell expands.
pub(crate) fn collect_code(text: &str, out: &mut Expansion) -> Result<(), String> {
    if !(text.contains("$(") || text.contains('`') || text.contains("${")) {
        return Ok(());
    }
    let pieces = word::parse(text, &options()).map_err(|e| e.to_string())?;
    collect_pieces(&pieces, out)
}

fn collect_pieces(pieces: &[WordPieceWithSource], out: &mut Expansion) -> Result<(), String> {
    for piece in pieces {
        match &piece.piece {
            WordPiece::CommandSubstitution(code) => out.nested.push(code.clone()),
            WordPiece::BackquotedCommandSubstitution(code) => {
                out.nested.push(unescape_backquoted(code));
            }
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => collect_pieces(inner, out)?,
            WordPiece::ParameterExpansion(expr) => collect_param_code(expr, out)?,
            WordPiece::ArithmeticExpression(expr) => collect_code(&expr.value, out)?,
            _ => {}
        }
    }
    Ok(())
}

/// How deeply command substitutions may nest in a here-document body the gate hands to
/// brush-parser's here-document parser, whose time grows about ninefold with each level left
/// open (8 levels: seconds; found by fuzzing `gate_decide`). Real bodies nest one or two.
const MAX_HEREDOC_NESTING: usize = 4;

/// How deeply `$(`, `${`, `$[` and the brackets inside them nest in a here-document body, one
/// left open counting as a level. Outside them, brackets and quotes are text.
fn substitution_depth(body: &str) -> usize {
    let b = body.as_bytes();
    // The closers expected, innermost last. A closer of another kind closes nothing (`$(x]`
    // leaves the `$(` open, as the parser sees it).
    let mut open: Vec<u8> = Vec::new();
    let mut deepest = 0;
    let mut i = 0;
    while i < b.len() {
        let closer = |c: u8| match c {
            b'(' => Some(b')'),
            b'{' => Some(b'}'),
            b'[' => Some(b']'),
            _ => None,
        };
        match b[i] {
            b'\\' => i += 1,
            b'$' if b.get(i + 1).and_then(|&c| closer(c)).is_some() => {
                open.extend(b.get(i + 1).and_then(|&c| closer(c)));
                i += 1;
            }
            c if !open.is_empty() && closer(c).is_some() => open.extend(closer(c)),
            c if open.last() == Some(&c) => {
                open.pop();
            }
            _ => {}
        }
        deepest = deepest.max(open.len());
        i += 1;
    }
    deepest
}

/// The command substitutions a here-document body runs (only when its delimiter is unquoted).
pub(crate) fn heredoc_code(body: &str) -> Result<Vec<String>, String> {
    if !(body.contains("$(") || body.contains('`') || body.contains("${")) {
        return Ok(Vec::new());
    }
    if substitution_depth(body) > MAX_HEREDOC_NESTING {
        return Err("the here-document nests substitutions too deeply".into());
    }
    let pieces = word::parse_heredoc(body, &options()).map_err(|e| e.to_string())?;
    let mut out = Expansion::default();
    collect_pieces(&pieces, &mut out)?;
    Ok(out.nested)
}

/// Inside backquotes a backslash escapes only `$`, `` ` `` and `\`.
fn unescape_backquoted(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next @ ('$' | '`' | '\\')) = chars.peek()
        {
            out.push(next);
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

/// Decodes the body of a `$'...'` string.
pub(crate) fn decode_ansi_c(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'e' | 'E' => out.push('\x1b'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' | '\'' | '"' | '?' => out.push(e),
            'c' => {
                if let Some(x) = chars.next() {
                    out.push(char::from((x as u8) & 0x1f));
                }
            }
            '0'..='7' => {
                let mut value = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value & 0xff).unwrap_or('\u{fffd}'));
            }
            'x' | 'u' | 'U' => {
                let max = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut value = 0u32;
                let mut digits = 0;
                while digits < max {
                    match chars.peek().and_then(|d| d.to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            chars.next();
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push('\\');
                    out.push(e);
                } else {
                    out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// Splits a plain string into words the way `sh` would for a simple command line without
/// expansions (used for `env -S`, git aliases and `watch`). Returns `None` when the text needs
/// real shell expansion.
pub(crate) fn split_static(text: &str) -> Option<Vec<String>> {
    let tokens = brush_parser::tokenize_str(text).ok()?;
    let mut words = Vec::new();
    for token in tokens {
        match token {
            brush_parser::Token::Word(raw, _) => {
                let vars = Vars {
                    named: &HashMap::new(),
                    positional: None,
                    pwd: None,
                    oldpwd: None,
                };
                let expansion = expand(&raw, &vars, Mode::Assignment).ok()?;
                if !expansion.nested.is_empty() {
                    return None;
                }
                for value in expansion.values {
                    match value {
                        Val::Lit(lit) => words.push(lit.text),
                        Val::Dyn(_) => return None,
                    }
                }
            }
            brush_parser::Token::Operator(..) => return None,
        }
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn lit(raw: &str) -> Vec<Val> {
        let named = HashMap::from([("HOME".to_owned(), Lit::plain("/home/u"))]);
        let vars = Vars {
            named: &named,
            positional: None,
            pwd: Some("/w"),
            oldpwd: None,
        };
        expand(raw, &vars, Mode::Arg).expect("expands").values
    }

    fn l(text: &str, meta: Option<usize>) -> Val {
        Val::Lit(Lit {
            text: text.into(),
            meta,
        })
    }

    #[test]
    fn quoting_and_escapes() {
        assert_eq!(lit("'a b'"), vec![l("a b", None)]);
        assert_eq!(lit("\"a\\$b\""), vec![l("a$b", None)]);
        assert_eq!(lit("a\\ b"), vec![l("a b", None)]);
        assert_eq!(lit("$'a\\nb\\x41'"), vec![l("a\nbA", None)]);
        assert_eq!(lit("\"\\a\""), vec![l("\\a", None)]);
        assert_eq!(lit("--hard"), vec![l("--hard", None)]);
        assert_eq!(lit("-\"-ha\"rd"), vec![l("--hard", None)]);
    }

    #[test]
    fn globs_only_when_unquoted() {
        assert_eq!(lit("docs/*.md"), vec![l("docs/*.md", Some(5))]);
        assert_eq!(lit("'docs/*.md'"), vec![l("docs/*.md", None)]);
        assert_eq!(lit("docs/'*'.md"), vec![l("docs/*.md", None)]);
        assert_eq!(lit("\"$HOME\"/*"), vec![l("/home/u/*", Some(8))]);
        assert_eq!(lit("["), vec![l("[", None)]);
        assert_eq!(lit("[a]x"), vec![l("[a]x", Some(0))]);
    }

    #[test]
    fn braces_tilde_and_variables() {
        assert_eq!(lit("d{oc,}s"), vec![l("docs", None), l("ds", None)]);
        assert_eq!(
            lit("{1..3}"),
            vec![l("1", None), l("2", None), l("3", None)]
        );
        assert_eq!(lit("'{a,b}'"), vec![l("{a,b}", None)]);
        assert_eq!(lit("~/x"), vec![l("/home/u/x", None)]);
        assert_eq!(lit("$HOME"), vec![l("/home/u", None)]);
        assert_eq!(lit("$PWD/a"), vec![l("/w/a", None)]);
        assert_eq!(lit("$X"), vec![Val::Dyn(Dyn::Var("X".into()))]);
        assert_eq!(lit("~root"), vec![Val::Dyn(Dyn::Other("`~root`".into()))]);
    }

    #[test]
    fn deep_braces_are_refused_not_expanded() {
        assert_eq!(brace_nesting("{a,b}{c,d}{e,f}"), 1);
        assert_eq!(brace_nesting("{a,{b,{c,d}}}"), 3);
        assert_eq!(brace_nesting("a{{{t"), 3);
        assert_eq!(brace_nesting("'{{{{{{{{'\"{{{{{{{{\"\\{\\{"), 0);
        assert_eq!(brace_nesting("${a${b}}"), 2);
        // A fuzzer's find: brush-parser's brace parser would take hours over this word.
        let word = format!("rese{}t", "{".repeat(30));
        assert!(expand(&word, &vars_none(), Mode::Arg).is_err());
        let word = format!("{}x{}", "{a,".repeat(7), "}".repeat(7));
        assert!(expand(&word, &vars_none(), Mode::Arg).is_err());
        // Six levels still expand.
        let word = format!("{}x{}", "{a,".repeat(6), "}".repeat(6));
        assert_eq!(
            expand(&word, &vars_none(), Mode::Arg)
                .expect("expands")
                .values
                .len(),
            7
        );
        // Quoted braces are text, however many.
        let word = format!("'{}'", "{\"a\":".repeat(40));
        assert_eq!(
            expand(&word, &vars_none(), Mode::Arg)
                .expect("expands")
                .values
                .len(),
            1
        );
    }

    fn vars_none() -> Vars<'static> {
        static NAMED: std::sync::OnceLock<HashMap<String, Lit>> = std::sync::OnceLock::new();
        Vars {
            named: NAMED.get_or_init(HashMap::new),
            positional: None,
            pwd: None,
            oldpwd: None,
        }
    }

    #[test]
    fn empty_unquoted_expansions_are_no_word() {
        let named = HashMap::from([("E".to_owned(), Lit::plain(""))]);
        let vars = Vars {
            named: &named,
            positional: None,
            pwd: None,
            oldpwd: None,
        };
        let values = |raw: &str, mode| expand(raw, &vars, mode).expect("expands").values;
        // `x=; git $x reset --hard` is `git reset --hard`.
        assert_eq!(values("$E", Mode::Arg), vec![]);
        assert_eq!(values("$E$E", Mode::Arg), vec![]);
        assert_eq!(values("${E}", Mode::Arg), vec![]);
        // Quotes keep an empty argument.
        assert_eq!(values("\"$E\"", Mode::Arg), vec![l("", None)]);
        assert_eq!(values("$E''", Mode::Arg), vec![l("", None)]);
        assert_eq!(values("''", Mode::Arg), vec![l("", None)]);
        // An assignment's value is never split away.
        assert_eq!(values("$E", Mode::Assignment), vec![l("", None)]);
    }

    #[test]
    fn substitutions_are_collected() {
        let vars = Vars {
            named: &HashMap::new(),
            positional: None,
            pwd: None,
            oldpwd: None,
        };
        let e = expand("a$(rm -rf x)`ls`", &vars, Mode::Arg).expect("expands");
        assert_eq!(e.nested, vec!["rm -rf x".to_owned(), "ls".to_owned()]);
        assert_eq!(e.values, vec![Val::Dyn(Dyn::Subst)]);
        let e = expand("${x:-$(rm -rf y)}", &vars, Mode::Arg).expect("expands");
        assert_eq!(e.nested, vec!["rm -rf y".to_owned()]);
        let e = expand("$((1 + $(id -u)))", &vars, Mode::Arg).expect("expands");
        assert_eq!(e.nested, vec!["id -u".to_owned()]);
    }

    #[test]
    fn positional_parameters() {
        let named = HashMap::new();
        let pos = vec![Some("docs".to_owned()), None];
        let vars = Vars {
            named: &named,
            positional: Some(&pos),
            pwd: None,
            oldpwd: None,
        };
        let e = expand("\"$1\"", &vars, Mode::Arg).expect("expands");
        assert_eq!(e.values, vec![l("docs", None)]);
        let e = expand("\"$@\"", &vars, Mode::Arg).expect("expands");
        assert_eq!(
            e.values,
            vec![l("docs", None), Val::Dyn(Dyn::Var("@".into()))]
        );
    }

    #[test]
    fn nesting_is_measured() {
        assert!(nesting_depth("echo hi") == 0);
        assert!(nesting_depth("( ( ( ls ) ) )") == 3);
        assert!(nesting_depth("echo '((((((((('") == 0);
        assert!(nesting_depth("if a; then if b; then c; fi; fi") == 2);
        assert_eq!(paren_depth("( ( ( ls ) ) ) && (x)"), 3);
        assert_eq!(paren_depth("echo '((((' \\( $((1+2))"), 2);
        assert_eq!(paren_depth("f()(((("), 4);
        // A `'` in double quotes opens no quote.
        assert_eq!(paren_depth("echo \"'\"; ( ( x ) )"), 2);
        assert_eq!(nesting_depth("echo \"'\"; ( ( x ) )"), 2);
    }

    #[test]
    fn deep_substitutions_in_heredocs_are_refused() {
        assert_eq!(substitution_depth("date: $(date)\n(a) (b (c\n"), 1);
        assert_eq!(substitution_depth("$(echo $(git rev-parse $(x)))"), 3);
        assert_eq!(substitution_depth("${a:-$(b)} \\$(x"), 2);
        assert!(heredoc_code("now: $(date) and $(echo $(whoami))\n").is_ok());
        // A fuzzer's find: brush-parser's here-document parser took seconds over this.
        let body = format!("{}x\n", "$(0$(".repeat(4));
        assert!(heredoc_code(&body).is_err());
        let body = format!("$(x) {}x\n", "$[$[z_[[".repeat(2));
        assert!(heredoc_code(&body).is_err());
        // A closer of another kind closes nothing.
        assert_eq!(substitution_depth("$(>\"]$(>\"]:$[x]"), 3);
        let body = format!("{}\n", "$(>\"]$(>\"]\u{1}:$[\u{fe}".repeat(3));
        assert!(heredoc_code(&body).is_err());
    }

    #[test]
    fn hazardous_heredocs_are_refused_before_parsing() {
        for text in [
            "cat <<'' x",
            "cat <<\"\" x",
            "cat <<'\"' x",
            "cat <<- \"'\" x",
            "rm -rfp<<'\"' \u{fffd}\u{fffd} ",
            "echo ok; cat <<''\n\n",
            "ech$(0 &\0cat << >\t\tr ",
            "echo $(cat << ; r ",
            "echo $(cat <<-( r ",
            "echo $(( $(cat << | r ",
            "cat <<'a\\b'\na\\b\ngit reset --hard\n",
            "cat <<\"a'b\"\nx\n",
            "cat <<$'EOF'\nx\nEOF\n",
            "cat <<\r\rEOF\nx\n\rEOF\n",
        ] {
            assert!(heredoc_hazard(text).is_some(), "{text:?}");
            // Fuzzers' finds: brush-parser's tokenizer would loop until memory runs out.
            assert!(parse_program(text).is_err(), "{text:?}");
        }
        for text in [
            "cat <<EOF\nx\nEOF\n",
            "cat <<'EOF'\nx\nEOF\n",
            "cat <<-\"END_OF_TEXT\"\n\tx\n\tEND_OF_TEXT\n",
            "git commit -m \"$(cat <<'EOF'\nmessage\nEOF\n)\"",
            "cat <<\\EOF\nx\nEOF\n",
            "cat <<E'O'F\nx\nEOF\n",
            "cat <<\\\" x",
            "cat <<<''",
            "echo '<<\"\"' \"<<''\"",
            "echo $((1<<2)) $((1 << (2))) $(( (1) << (2) ))",
            "(( x <<= (2) ))",
            "cat <<",
        ] {
            assert_eq!(heredoc_hazard(text), None, "{text:?}");
        }
    }

    #[test]
    fn deep_parentheses_are_refused_before_parsing() {
        // Fuzzer finds: brush-parser would take hours over these.
        let open = format!("sed()({}R{} $\u{ff}e", "(".repeat(30), "(".repeat(30));
        let err = parse_program(&open).expect_err("refused");
        assert!(err.message.contains("parentheses"), "{}", err.message);
        let valid = format!("{} x ;{}", "( ".repeat(40), ") ".repeat(40));
        assert!(parse_program(&valid).is_err());
        let fine = format!(
            "{} x ;{}",
            "( ".repeat(MAX_PAREN_NESTING),
            ") ".repeat(MAX_PAREN_NESTING)
        );
        assert!(parse_program(&fine).is_ok());
    }

    #[test]
    fn static_split() {
        assert_eq!(
            split_static("git reset  --hard 'a b'"),
            Some(vec![
                "git".into(),
                "reset".into(),
                "--hard".into(),
                "a b".into()
            ])
        );
        assert_eq!(split_static("rm $x"), None);
        assert_eq!(split_static("a; b"), None);
    }
}
