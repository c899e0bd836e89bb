//! Reading a glob the way git reads a `:(glob)` pathspec, and writing it back out for `globset`.
//!
//! git matches a pathspec item in two steps (`match_pathspec_item` in git's `dir.c`):
//!
//! 1. the pattern text taken literally: the path equals it, or (for a pattern without glob
//!    metacharacters) lies under it;
//! 2. `wildmatch(WM_PATHNAME)`, after cutting off the pattern's literal head: the bytes before
//!    the first of `*`, `?`, `[`, `\` (git's `nowildcard_len`). Because the cut-off part is
//!    compared with `strncmp` and wildmatch only sees the rest, a `**` right at the cut counts as
//!    "at the start of the pattern" even when it sits in the middle of a component: `x**` is `x`
//!    followed by anything, slashes included, and `x**/y` also matches `xy`.
//!
//! This module turns a pattern into [`Item`]s with exactly those semantics (the automaton is built
//! from them) and into `globset` globs with the same language (the fast matcher).

use super::Error;
use super::automaton::ByteSet;

/// The longest glob accepted: Linux's `PATH_MAX`. It also bounds the automata.
const MAX_LEN: usize = 4096;

/// One step of wildmatch, `WM_PATHNAME` flavour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Item {
    /// This byte.
    Lit(u8),
    /// `?`: one byte other than `/`.
    Any,
    /// `[...]`: one byte of the set (never `/`).
    Class(ByteSet),
    /// `*` (and a `**` that is not a whole component): bytes other than `/`.
    Star,
    /// A trailing `**` after `/` or at the start: any bytes at all.
    StarStar,
    /// `**/` after `/` or at the start: nothing, or any bytes ending in `/`.
    StarStarSlash,
}

/// A validated, normalized pattern.
#[derive(Debug, Clone)]
pub(super) struct Syntax {
    /// The pattern as git sees it after normalization (`./`, `//` and `/./` removed; `**` for
    /// `.`, the whole tree). Ends with `/` when written with one.
    pub(super) normalized: String,
    /// Written with a trailing slash: everything under what the rest names.
    pub(super) dir: bool,
    /// Byte offset of the first glob metacharacter; `None` for a literal pattern. The bytes
    /// before it are the literal head.
    pub(super) wild_at: Option<usize>,
    /// The wildmatch items after the literal head (of the body, or of `body/**` when `dir`);
    /// empty for a literal pattern.
    pub(super) items: Vec<Item>,
    /// For a wildcard pattern written with a trailing slash: the wildmatch items of the body
    /// alone (after the head), to tell whether a directory is the one the pattern names.
    pub(super) dir_items: Option<Vec<Item>>,
}

impl Syntax {
    /// Parses and validates `text`.
    pub(super) fn parse(text: &str) -> Result<Syntax, Error> {
        let fail = |reason: String| Error {
            glob: text.to_owned(),
            reason,
        };
        if text.is_empty() {
            return Err(fail(
                "the glob is empty; name paths relative to the repository root, e.g. `src/**`"
                    .to_owned(),
            ));
        }
        if text.len() > MAX_LEN {
            return Err(fail(format!(
                "it is {} bytes long; no path is longer than {MAX_LEN} bytes (PATH_MAX), so \
                 shorten it",
                text.len()
            )));
        }
        if text.contains('\0') {
            return Err(fail(
                "it contains a NUL byte, which no path can contain; remove it".into(),
            ));
        }
        if text.starts_with('/') {
            return Err(fail(format!(
                "it is absolute; globs are relative to the repository root: write `{}`",
                text.trim_start_matches('/')
            )));
        }
        let mut components = Vec::new();
        // Already normal (the common case): no `.` component and no empty one but a last.
        let mut normal = true;
        let mut pieces = text.split('/').peekable();
        while let Some(component) = pieces.next() {
            match component {
                "." => normal = false,
                "" => normal &= pieces.peek().is_none(),
                ".." => {
                    return Err(fail(
                        "a `..` component escapes the repository; write the path from the \
                         repository root without `..`"
                            .to_owned(),
                    ));
                }
                _ => components.push(component),
            }
        }
        if components.is_empty() {
            // `.` and `./`: git matches every path (the "match was just the prefix" case).
            return Ok(Syntax {
                normalized: "**".to_owned(),
                dir: false,
                wild_at: Some(0),
                items: vec![Item::StarStar],
                dir_items: None,
            });
        }
        let last = text.rsplit('/').next().unwrap_or_default();
        let dir = text.contains('/') && matches!(last, "" | ".");
        let normalized = match (normal, dir) {
            (true, _) => text.to_owned(),
            (false, true) => format!("{}/", components.join("/")),
            (false, false) => components.join("/"),
        };
        let body = &normalized[..normalized.len() - usize::from(dir)];
        let wild_at = body.bytes().position(is_glob_special);
        let (items, dir_items) = match wild_at {
            None => (Vec::new(), None),
            Some(k) => {
                let body_items = parse_items(body.as_bytes(), k).map_err(fail)?;
                if dir {
                    // git's own `:(glob)src/*/` matches no file at all (a file path never ends
                    // in `/`); we give it the only useful reading, `src/*/**`.
                    let under = parse_items(format!("{body}/**").as_bytes(), k).map_err(fail)?;
                    (under, Some(body_items))
                } else {
                    (body_items, None)
                }
            }
        };
        Ok(Syntax {
            normalized,
            dir,
            wild_at,
            items,
            dir_items,
        })
    }

    /// The normalized pattern without its trailing slash.
    pub(super) fn body(&self) -> &str {
        &self.normalized[..self.normalized.len() - usize::from(self.dir)]
    }

    /// The literal head: the bytes before the first metacharacter (all of them when literal).
    pub(super) fn head(&self) -> &[u8] {
        let body = self.body().as_bytes();
        &body[..self.wild_at.unwrap_or(body.len())]
    }

    /// The globs, in `globset` syntax, whose union is this pattern's language.
    pub(super) fn globset_globs(&self) -> Vec<String> {
        let mut globs = Vec::new();
        let escaped = escape_literal(self.body().as_bytes());
        match self.wild_at {
            None => {
                if !self.dir {
                    globs.push(escaped.clone());
                }
                globs.push(format!("{escaped}/**"));
            }
            Some(_) => {
                if !self.dir {
                    // git's first step: the pattern text itself, taken literally.
                    globs.push(escaped);
                }
                emit_items(&self.items, escape_literal(self.head()), &mut globs);
            }
        }
        globs
    }
}

/// git's `is_glob_special`: the bytes that end the literal head of a pathspec.
pub(super) fn is_glob_special(byte: u8) -> bool {
    matches!(byte, b'*' | b'?' | b'[' | b'\\')
}

/// Parses `pattern[start..]` as wildmatch with `WM_PATHNAME`, where `start` is where git's
/// wildmatch call begins (the end of the literal head).
fn parse_items(pattern: &[u8], start: usize) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut i = start;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' => match pattern.get(i + 1) {
                None => {
                    return Err(
                        "it ends with a backslash, which escapes nothing; remove it or \
                                write `\\\\` for a literal backslash"
                            .to_owned(),
                    );
                }
                Some(b'/') => {
                    return Err(
                        "`\\/` escapes a slash, which is always a separator; write `/`".to_owned(),
                    );
                }
                Some(&byte) => {
                    items.push(Item::Lit(byte));
                    i += 2;
                }
            },
            b'?' => {
                items.push(Item::Any);
                i += 1;
            }
            b'[' => {
                let (set, next) = parse_class(pattern, i)?;
                items.push(Item::Class(set));
                i = next;
            }
            b'*' => {
                let mut end = i;
                while pattern.get(end) == Some(&b'*') {
                    end += 1;
                }
                // wildmatch: `**` is special only with `/` (or the start of the wildmatch call)
                // before it and `/` (or the end) after it; otherwise it is a plain `*`.
                let whole = end - i >= 2
                    && (i == start || pattern[i - 1] == b'/')
                    && matches!(pattern.get(end), None | Some(b'/'));
                if !whole {
                    items.push(Item::Star);
                    i = end;
                } else if end == pattern.len() {
                    items.push(Item::StarStar);
                    i = end;
                } else {
                    items.push(Item::StarStarSlash);
                    i = end + 1;
                }
            }
            byte => {
                items.push(Item::Lit(byte));
                i += 1;
            }
        }
    }
    Ok(simplify(items))
}

/// Folds runs that mean the same thing (`**/**/` is `**/`, `**/**` is `**`), which keeps the
/// globs simple for `globset`.
fn simplify(items: Vec<Item>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        if out.last() == Some(&Item::StarStarSlash)
            && matches!(item, Item::StarStarSlash | Item::StarStar)
        {
            out.pop();
        }
        out.push(item);
    }
    out
}

/// The error for a `[` without its `]`.
fn unbalanced() -> String {
    "a `[` has no closing `]`; close the class, or write `\\[` for a literal bracket".to_owned()
}

/// Parses the class starting at `pattern[open] == b'['` the way git's wildmatch does; returns
/// the set of bytes it matches (never `/`) and the offset after its `]`.
fn parse_class(pattern: &[u8], open: usize) -> Result<(ByteSet, usize), String> {
    let at = |i: usize| pattern.get(i).copied();
    let mut p = open + 1;
    let negated = matches!(at(p), Some(b'!' | b'^'));
    if negated {
        p += 1;
    }
    let mut set = ByteSet::EMPTY;
    // The previous single byte, which may start a range (`prev_ch` in wildmatch).
    let mut prev: Option<u8> = None;
    loop {
        let Some(byte) = at(p) else {
            return Err(unbalanced());
        };
        if byte == b'\\' {
            p += 1;
            let Some(escaped) = at(p) else {
                return Err(unbalanced());
            };
            set.insert(escaped);
            prev = Some(escaped);
        } else if let (b'-', Some(low), Some(next)) = (byte, prev, at(p + 1))
            && next != b']'
        {
            p += 1;
            let mut high = next;
            if high == b'\\' {
                p += 1;
                let Some(escaped) = at(p) else {
                    return Err(unbalanced());
                };
                high = escaped;
            }
            if high < low {
                return Err(format!(
                    "the range `{}-{}` is backwards and matches nothing; write `{}-{}`",
                    char::from(low),
                    char::from(high),
                    char::from(high),
                    char::from(low)
                ));
            }
            set.insert_range(low, high);
            prev = None;
        } else if byte == b'[' && at(p + 1) == Some(b':') {
            let name_start = p + 2;
            let Some(close) = pattern[name_start..].iter().position(|&b| b == b']') else {
                return Err(unbalanced());
            };
            let close = name_start + close;
            if close > name_start && pattern[close - 1] == b':' {
                let name = &pattern[name_start..close - 1];
                set = set.or(posix_class(name).ok_or_else(|| {
                    format!(
                        "`[:{}:]` is not a character class; use one of alnum, alpha, blank, \
                         cntrl, digit, graph, lower, print, punct, space, upper, xdigit",
                        String::from_utf8_lossy(name)
                    )
                })?);
                prev = None;
                p = close;
            } else {
                // No `:]`: wildmatch takes the `[` as an ordinary member.
                set.insert(b'[');
                prev = Some(b'[');
            }
        } else {
            set.insert(byte);
            prev = Some(byte);
        }
        p += 1;
        match at(p) {
            None => return Err(unbalanced()),
            Some(b']') => break,
            Some(_) => {}
        }
    }
    if set.iter().any(|b| b >= 0x80) {
        return Err(
            "a character class contains a non-ASCII character; git compares classes \
                    byte by byte, so it would not match that character: write the character \
                    itself, or `*`"
                .to_owned(),
        );
    }
    let set = if negated { set.complement() } else { set };
    // WM_PATHNAME: a class never matches `/`; no path holds a NUL.
    let set = set.without(b'/').without(0);
    if set.iter().next().is_none() {
        return Err(
            "a character class matches nothing (a class never matches `/`); remove it".to_owned(),
        );
    }
    Ok((set, p + 1))
}

/// git's ASCII-only character classes (measured with git 2.47 over every byte).
fn posix_class(name: &[u8]) -> Option<ByteSet> {
    let mut set = ByteSet::EMPTY;
    let ranges: &[(u8, u8)] = match name {
        b"alnum" => &[(b'0', b'9'), (b'A', b'Z'), (b'a', b'z')],
        b"alpha" => &[(b'A', b'Z'), (b'a', b'z')],
        b"blank" => &[(b'\t', b'\t'), (b' ', b' ')],
        b"cntrl" => &[(0x01, 0x1f), (0x7f, 0x7f)],
        b"digit" => &[(b'0', b'9')],
        b"graph" => &[(0x21, 0x7e)],
        b"lower" => &[(b'a', b'z')],
        b"print" => &[(0x20, 0x7e)],
        b"punct" => &[(0x21, 0x2f), (0x3a, 0x40), (0x5b, 0x60), (0x7b, 0x7e)],
        b"space" => &[(b'\t', b'\n'), (b'\r', b'\r'), (b' ', b' ')],
        b"upper" => &[(b'A', b'Z')],
        b"xdigit" => &[(b'0', b'9'), (b'A', b'F'), (b'a', b'f')],
        _ => return None,
    };
    for &(low, high) in ranges {
        set.insert_range(low, high);
    }
    Some(set)
}

/// Escapes `bytes` (a run of literal pattern bytes, valid UTF-8) for `globset`.
fn escape_literal(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Writes `items` after `prefix` as `globset` globs (more than one where `globset` has no single
/// glob for git's mid-component `**`) and appends them to `globs`.
fn emit_items(items: &[Item], mut text: String, globs: &mut Vec<String>) {
    let mut literal: Vec<u8> = Vec::new();
    for (n, item) in items.iter().enumerate() {
        if let Item::Lit(byte) = item {
            literal.push(*byte);
            continue;
        }
        // Literal bytes come from the pattern text in order, so a run is whole characters.
        text.push_str(&escape_literal(&literal));
        literal.clear();
        let at_boundary = text.is_empty() || text.ends_with('/');
        match item {
            Item::Lit(_) => {}
            Item::Any => text.push('?'),
            Item::Class(set) => text.push_str(&class_glob(set)),
            Item::Star => text.push('*'),
            Item::StarStar if at_boundary => text.push_str("**"),
            Item::StarStar => {
                // `x**`: `x`, then either no slash at all or a slash and anything.
                globs.push(format!("{text}*"));
                text.push_str("*/**");
            }
            Item::StarStarSlash if at_boundary => text.push_str("**/"),
            Item::StarStarSlash => {
                // `x**/y`: `xy`, or `x`, anything, `/y`.
                emit_items(&items[n + 1..], text.clone(), globs);
                text.push_str("*/**/");
            }
        }
    }
    text.push_str(&escape_literal(&literal));
    globs.push(text);
}

/// A `globset` class (or single escaped byte) for `set`, a set of bytes without `/`.
///
/// A positive set holds only ASCII (non-ASCII members are refused); a negated one holds every
/// byte from 0x80 up, so it is written as a negated class of its ASCII complement.
fn class_glob(set: &ByteSet) -> String {
    let members: Vec<u8> = set.iter().collect();
    if let [only] = members[..] {
        return escape_literal(&[only]);
    }
    let negated = set.contains(0x80);
    let listed: Vec<u8> = if negated {
        (1u8..0x80).filter(|&b| !set.contains(b)).collect()
    } else {
        members
    };
    let has_bracket = listed.contains(&b']');
    let has_dash = listed.contains(&b'-');
    // Runs of consecutive bytes, without `]` and `-`, which have fixed places.
    let mut runs: Vec<(u8, u8)> = Vec::new();
    for &b in listed.iter().filter(|&&b| b != b']' && b != b'-') {
        match runs.last_mut() {
            Some((_, high)) if *high + 1 == b => *high = b,
            _ => runs.push((b, b)),
        }
    }
    let mut text = String::from(if negated { "[!" } else { "[" });
    let mut dash_first = false;
    if has_bracket {
        // `]` right after the opening bracket is a member.
        text.push(']');
    } else if !negated
        && runs
            .first()
            .is_some_and(|&(low, _)| matches!(low, b'!' | b'^'))
    {
        // A leading `!` or `^` would negate the class: lead with another member.
        if let Some(i) = runs
            .iter()
            .position(|&(low, _)| !matches!(low, b'!' | b'^'))
        {
            runs.swap(0, i);
        } else if let Some(i) = runs.iter().position(|&(low, high)| high > low) {
            let (low, high) = runs[i];
            runs[i] = (low, low);
            runs.insert(0, (low + 1, high));
        } else if has_dash {
            dash_first = true;
            text.push('-');
        } else {
            // Only `!` and `^`: lead with NUL, which no path holds.
            text.push('\0');
        }
    }
    for (low, high) in runs {
        text.push(char::from(low));
        if high > low {
            if high > low + 1 {
                text.push('-');
            }
            text.push(char::from(high));
        }
    }
    if has_dash && !dash_first {
        text.push('-');
    }
    text.push(']');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// All items, the literal head included.
    fn items(text: &str) -> Vec<Item> {
        let syntax = Syntax::parse(text).expect("valid");
        let mut all: Vec<Item> = syntax.head().iter().map(|&b| Item::Lit(b)).collect();
        all.extend(syntax.items);
        all
    }

    #[test]
    fn double_star_is_special_only_as_a_whole_component_or_at_the_literal_cut() {
        use Item::*;
        assert_eq!(items("a**b"), vec![Lit(b'a'), Star, Lit(b'b')]);
        assert_eq!(items("**.rs"), vec![Star, Lit(b'.'), Lit(b'r'), Lit(b's')]);
        assert_eq!(items("x**"), vec![Lit(b'x'), StarStar]);
        assert_eq!(items("x**/y"), vec![Lit(b'x'), StarStarSlash, Lit(b'y')]);
        assert_eq!(items("a*b**"), vec![Lit(b'a'), Star, Lit(b'b'), Star]);
        assert_eq!(
            items("a/**/**/b"),
            vec![Lit(b'a'), Lit(b'/'), StarStarSlash, Lit(b'b')]
        );
        assert_eq!(items("a/**/**"), vec![Lit(b'a'), Lit(b'/'), StarStar]);
        assert_eq!(items("a/***"), vec![Lit(b'a'), Lit(b'/'), StarStar]);
        assert_eq!(items("a/**b"), vec![Lit(b'a'), Lit(b'/'), Star, Lit(b'b')]);
    }

    #[test]
    fn classes_follow_wildmatch() {
        let class = |text: &str| match &items(text)[..] {
            [Item::Class(set)] => set.iter().collect::<Vec<u8>>(),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(class("[]a]"), b"]a".to_vec());
        assert_eq!(class("[a-]"), b"-a".to_vec());
        assert_eq!(class("[-a]"), b"-a".to_vec());
        assert_eq!(class("[\\]]"), b"]".to_vec());
        assert_eq!(class("[\\a-c]"), b"abc".to_vec());
        assert_eq!(class("[[:digit:]x]"), b"0123456789x".to_vec());
        assert_eq!(class("[[:x]"), b":[x".to_vec());
        assert_eq!(class("[a/b]"), b"ab".to_vec());
        let negated = class("[!a]");
        assert!(!negated.contains(&b'a') && !negated.contains(&b'/') && negated.contains(&0xff));
        assert_eq!(class("[^a]"), negated);
    }

    #[test]
    fn globs_for_globset() {
        let globs = |text: &str| Syntax::parse(text).expect("valid").globset_globs();
        assert_eq!(globs("src"), vec!["src", "src/**"]);
        assert_eq!(globs("src/"), vec!["src/**"]);
        assert_eq!(globs("src/*.rs"), vec![r"src/\*.rs", "src/*.rs"]);
        assert_eq!(globs("src/*/"), vec!["src/*/**"]);
        assert_eq!(globs("x**"), vec![r"x\*\*", "x*", "x*/**"]);
        assert_eq!(globs("x**/y"), vec![r"x\*\*/y", "xy", "x*/**/y"]);
        assert_eq!(globs("[!a]"), vec![r"\[!a\]", "[!/a]"]);
        assert_eq!(globs("[]-]"), vec![r"\[\]-\]", "[]-]"]);
        assert_eq!(globs("[!^]x"), vec![r"\[!^\]x", "[!/^]x"]);
        assert_eq!(globs(r"[\^!]"), vec![r"\[\\^!\]", "[\0!^]"]);
        assert_eq!(globs("[!-#]"), vec![r"\[!-#\]", "[!#/-]"]);
        assert_eq!(globs(r"[\!-#]"), vec![r"\[\\!-#\]", "[\"#!]"]);
        assert_eq!(globs("{a,b}"), vec![r"\{a\,b\}", r"\{a\,b\}/**"]);
        assert_eq!(globs("."), vec![r"\*\*", "**"]);
        assert_eq!(globs("a,b/*"), vec![r"a\,b/\*", r"a\,b/*"]);
    }
}
