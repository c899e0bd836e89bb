//! One glob semantics for all of paddock: git's `:(glob)` pathspec magic.
//!
//! Scopes, protected paths and scratch paths are globs relative to the repository root. The gate,
//! the hooks, the locks and the sandbox all ask this module, so they all agree, and they agree
//! with `git ls-files -- ':(glob)PATTERN'` (property-tested against git 2.47):
//!
//! - `*`, `?` and `[...]` never match `/`; `[!...]` and `[^...]` negate; `[[:alpha:]]` and the
//!   other POSIX classes are ASCII; `\` escapes the next character.
//! - `**` as a whole component matches any number of components: `src/**`, `**/x`, `a/**/b`
//!   (which includes `a/b`). Anywhere else it is a plain `*` (`a**b`, `**.rs`) — except right
//!   after the pattern's literal head, where git treats it as a whole component: `x**` is `x`
//!   followed by anything (`xa/b` included) and `x**/y` also matches `xy`.
//! - A pattern without metacharacters matches that path and everything under it: `src` matches
//!   `src` and `src/a.rs`; `src/` matches only what is under `src`.
//! - A pattern with metacharacters never matches a leading directory (`src/*` does not match
//!   `src/a/b.rs`), but it does match the one path spelled exactly like it (`app/[id].ts`
//!   matches the file `app/[id].ts` as well as `app/i.ts`), as git does.
//! - Paths are bytes (`&[u8]`), repository-relative and `/`-separated; they need not be UTF-8.
//!   A path holding a NUL byte matches nothing.
//!
//! Two departures from git, both deliberate:
//!
//! - git also matches everything *under* a directory spelled exactly like a pattern with
//!   metacharacters (`:(glob)src/*.txt` matches the file `src/*.txt/a.rs`). We do not: with it,
//!   `src/**/*.rs` and `src/gen/*.txt` would overlap on `src/gen/*.txt/a.rs`, and any two scopes
//!   sharing a `**` would collide.
//! - A pattern with metacharacters and a trailing slash matches no file in git (`src/*/`); here it
//!   means everything under the directories it names (`src/*/**`), as `dir/` does for a plain
//!   directory.
//!
//! [`overlap`] decides exactly whether two sets can match a common path, with automata rather than
//! prefix guesses, and names such a path; [`ScopeIndex`] answers that against many held scopes
//! at once.
//!
//! ```
//! use paddock_policy::glob::{overlap, PatternSet};
//!
//! let mine = PatternSet::new(["src/*/mod.rs", "docs/"]).expect("valid globs");
//! assert!(mine.is_match(b"src/net/mod.rs"));
//! assert!(!mine.is_match(b"src/net/tcp/mod.rs"));
//!
//! let theirs = PatternSet::new(["src/net/**"]).expect("valid globs");
//! let hit = overlap(&mine, &theirs).expect("both match src/net/mod.rs");
//! assert_eq!(hit.witness, "src/net/mod.rs");
//!
//! let generated = PatternSet::new(["src/gen/*.txt"]).expect("valid globs");
//! let rust = PatternSet::new(["src/**/*.rs"]).expect("valid globs");
//! assert_eq!(overlap(&rust, &generated), None);
//! ```

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

mod automaton;
mod index;
mod syntax;
#[cfg(test)]
mod tests;

pub use index::ScopeIndex;

use automaton::Nfa;
use syntax::{Item, Syntax};

/// Why a glob was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("invalid glob {glob:?}: {reason}")]
pub struct Error {
    /// The glob as it was written.
    pub glob: String,
    /// What is wrong with it and how to write it instead.
    pub reason: String,
}

/// One compiled glob.
///
/// Matching uses `globset` (the pattern is rewritten into globs with git's semantics); overlap
/// and coverage questions use an automaton built from the same parse. Both are built on first
/// use, so parsing many patterns only to check overlap stays cheap.
#[derive(Clone)]
pub struct Pattern {
    original: String,
    syntax: Syntax,
    /// `syntax.normalized[..prefix_len]` starts every path the pattern matches.
    prefix_len: usize,
    /// `syntax.normalized[len - suffix_len..]` ends every path the pattern matches.
    suffix_len: usize,
    automaton: OnceLock<Nfa>,
    dir_automaton: OnceLock<Nfa>,
    /// `None` when globset refused the rewritten globs; the automaton then matches.
    globs: OnceLock<Option<globset::GlobSet>>,
    uses: Uses,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.original)
    }
}

impl PartialEq for Pattern {
    /// Patterns are equal when they normalize to the same text (and so match the same paths).
    fn eq(&self, other: &Pattern) -> bool {
        self.syntax.normalized == other.syntax.normalized
    }
}

impl Eq for Pattern {}

impl Pattern {
    /// Parses and validates a glob.
    ///
    /// `./` prefixes, duplicate slashes and `/./` are removed, as git does; `.` alone means the
    /// whole tree (`**`).
    ///
    /// # Errors
    ///
    /// Refused, with a reason that says what to write instead: an empty glob, an absolute one, a
    /// `..` component, a NUL byte, an unbalanced `[`, a backwards range, an unknown `[:class:]`, a
    /// class that matches nothing or holds non-ASCII characters, a trailing backslash, and `\/`.
    pub fn new(text: &str) -> Result<Pattern, Error> {
        let syntax = Syntax::parse(text)?;
        let normalized = syntax.normalized.as_bytes();
        let (prefix_len, suffix_len) = match syntax.wild_at {
            None => (normalized.len(), 0),
            Some(cut) if syntax.dir => (cut, 0),
            Some(cut) => {
                // Both readings end with the literal tail: the wildmatch items after the last
                // wildcard, and the text itself (where escapes may interrupt it).
                let tail = syntax.items.iter().rev().map_while(|item| match item {
                    Item::Lit(byte) => Some(*byte),
                    _ => None,
                });
                let common = tail
                    .zip(normalized.iter().rev())
                    .take_while(|(item_byte, text_byte)| item_byte == *text_byte)
                    .count();
                (cut, common)
            }
        };
        Ok(Pattern {
            original: text.to_owned(),
            syntax,
            prefix_len,
            suffix_len,
            automaton: OnceLock::new(),
            dir_automaton: OnceLock::new(),
            globs: OnceLock::new(),
            uses: Uses::default(),
        })
    }

    /// The glob as it was written.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The glob after normalization (`./src//a/` is `src/a/`; `.` and `./` are `**`).
    pub fn as_str(&self) -> &str {
        &self.syntax.normalized
    }

    /// The longest leading directory without metacharacters: every path the pattern matches lies
    /// under it. `"src/a"` for `src/a/*.rs`; `"src"` for `src/`, `src/**` and `src/a.rs`; `""`
    /// (the root) for `*.rs`, and for `Cargo.toml` or `src`, which may be files in the root. The
    /// sandbox grants writes below it.
    pub fn literal_prefix_dir(&self) -> &str {
        let body = self.syntax.body();
        match self.syntax.wild_at {
            None if self.syntax.dir => body,
            None => body.rfind('/').map_or("", |slash| &body[..slash]),
            Some(cut) => body[..cut].rfind('/').map_or("", |slash| &body[..slash]),
        }
    }

    /// Whether the pattern matches `path` (repository-relative, `/`-separated, no leading or
    /// trailing slash, as git stores paths).
    pub fn is_match(&self, path: &[u8]) -> bool {
        if path.contains(&0) {
            return false;
        }
        match self.uses.compiled(&self.globs, || self.globs()) {
            Some(globs) => with_candidate(path, |candidate| globs.is_match_candidate(candidate)),
            None => self.automaton().is_match(path),
        }
    }

    /// Whether deleting `dir` recursively touches only paths this pattern matches: `dir` itself
    /// and every path under it match. Exact: `tests/**` covers `tests/fixtures/tmp`, `tests/`
    /// covers `tests`, `tests/**` does not cover `tests` (it does not match `tests` itself), and
    /// `src/*.rs` covers nothing. A `dir` that is absolute, holds `..` or a NUL is never covered;
    /// an empty `dir` (or `.`) is the whole tree.
    pub fn matches_everything_under(&self, dir: &[u8]) -> bool {
        PatternSet::covers(std::slice::from_ref(self), dir)
    }

    /// Every path the pattern matches starts with this.
    fn prefix(&self) -> &[u8] {
        &self.syntax.normalized.as_bytes()[..self.prefix_len]
    }

    /// Every path the pattern matches ends with this.
    fn suffix(&self) -> &[u8] {
        let normalized = self.syntax.normalized.as_bytes();
        &normalized[normalized.len() - self.suffix_len..]
    }

    /// A cheap, exact test that rules most disjoint pairs out: a common path would have to start
    /// with both literal prefixes and end with both literal suffixes.
    fn may_overlap(&self, other: &Pattern) -> bool {
        let (a, b) = (self.prefix(), other.prefix());
        let n = a.len().min(b.len());
        if a[..n] != b[..n] {
            return false;
        }
        let (a, b) = (self.suffix(), other.suffix());
        let n = a.len().min(b.len());
        a[a.len() - n..] == b[b.len() - n..]
    }

    /// A path both patterns match, if there is one.
    fn witness(&self, other: &Pattern) -> Option<Vec<u8>> {
        if !self.may_overlap(other) {
            return None;
        }
        automaton::intersection(self.automaton(), other.automaton())
    }

    fn automaton(&self) -> &Nfa {
        self.automaton
            .get_or_init(|| Nfa::from_syntax(&self.syntax))
    }

    /// Whether the pattern, written with a trailing slash, names the directory `dir` itself.
    fn names_dir(&self, dir: &[u8]) -> bool {
        if !self.syntax.dir {
            return false;
        }
        match &self.syntax.dir_items {
            None => self.syntax.body().as_bytes() == dir,
            Some(items) => self
                .dir_automaton
                .get_or_init(|| Nfa::from_items(self.syntax.head(), items))
                .is_match(dir),
        }
    }

    fn globs(&self) -> Option<&globset::GlobSet> {
        self.globs
            .get_or_init(|| {
                let mut builder = globset::GlobSetBuilder::new();
                for glob in self.syntax.globset_globs() {
                    builder.add(compile_glob(&glob)?);
                }
                builder.build().ok()
            })
            .as_ref()
    }
}

/// How many matches a pattern or set answers with its automata before building globset's
/// matcher. Compiling globset's regexes costs more than a few hundred automaton matches: a hook
/// that checks a handful of paths never pays for it, the gate matching all day does once.
const COMPILE_AFTER: u32 = 64;

/// Counts a pattern's matches (see [`COMPILE_AFTER`]).
#[derive(Default)]
struct Uses(AtomicU32);

impl Clone for Uses {
    fn clone(&self) -> Uses {
        Uses(AtomicU32::new(self.0.load(Ordering::Relaxed)))
    }
}

impl Uses {
    /// The compiled matcher once it is built or worth building; `None` means "use the automata"
    /// (also when globset refused the globs).
    fn compiled<'a, T>(
        &self,
        slot: &'a OnceLock<Option<T>>,
        build: impl FnOnce() -> Option<&'a T>,
    ) -> Option<&'a T> {
        if let Some(built) = slot.get() {
            return built.as_ref();
        }
        if self.0.fetch_add(1, Ordering::Relaxed) < COMPILE_AFTER {
            return None;
        }
        build()
    }
}

fn compile_glob(glob: &str) -> Option<globset::Glob> {
    globset::GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .ok()
}

/// Hands `path` to globset as a candidate, bytes and all.
fn with_candidate<R>(path: &[u8], f: impl FnOnce(&globset::Candidate<'_>) -> R) -> R {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        f(&globset::Candidate::new(std::ffi::OsStr::from_bytes(path)))
    }
    #[cfg(not(unix))]
    {
        let path = String::from_utf8_lossy(path);
        f(&globset::Candidate::new(path.as_ref()))
    }
}

/// `dir` as a normalized repository-relative path (no `./`, `//` or trailing slash), or `None`
/// when it is absolute, climbs with `..` or holds a NUL.
fn normalize_dir(dir: &[u8]) -> Option<Vec<u8>> {
    if dir.first() == Some(&b'/') || dir.contains(&0) {
        return None;
    }
    let mut out = Vec::with_capacity(dir.len());
    for component in dir.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return None,
            _ => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(component);
            }
        }
    }
    Some(out)
}

/// A set of globs; a path matches when any glob does.
#[derive(Clone, Default)]
pub struct PatternSet {
    patterns: Vec<Pattern>,
    /// All patterns' globs in one globset, and which pattern each glob came from; `None` when
    /// globset refused them (the automata then match).
    globs: OnceLock<Option<(globset::GlobSet, Vec<usize>)>>,
    uses: Uses,
}

impl fmt::Debug for PatternSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.patterns.iter().map(Pattern::original))
            .finish()
    }
}

impl PartialEq for PatternSet {
    fn eq(&self, other: &PatternSet) -> bool {
        self.patterns == other.patterns
    }
}

impl Eq for PatternSet {}

impl PatternSet {
    /// Parses every glob.
    ///
    /// # Errors
    ///
    /// The first invalid glob, as [`Pattern::new`] refuses it.
    pub fn new<I, S>(globs: I) -> Result<PatternSet, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns = globs
            .into_iter()
            .map(|g| Pattern::new(g.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(PatternSet {
            patterns,
            globs: OnceLock::new(),
            uses: Uses::default(),
        })
    }

    /// The set that matches nothing.
    pub fn empty() -> PatternSet {
        PatternSet::default()
    }

    /// Whether the set holds no glob (and so matches nothing).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The globs, in the order given.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether any glob matches `path`.
    pub fn is_match(&self, path: impl AsRef<[u8]>) -> bool {
        let path = path.as_ref();
        if path.contains(&0) {
            return false;
        }
        match self.uses.compiled(&self.globs, || self.globs()) {
            Some((globs, _)) => {
                with_candidate(path, |candidate| globs.is_match_candidate(candidate))
            }
            None => self.patterns.iter().any(|p| p.automaton().is_match(path)),
        }
    }

    /// The first glob (in the order given) that matches `path`.
    pub fn first_match(&self, path: impl AsRef<[u8]>) -> Option<&Pattern> {
        let path = path.as_ref();
        if path.contains(&0) {
            return None;
        }
        match self.uses.compiled(&self.globs, || self.globs()) {
            Some((globs, owners)) => {
                let mut hits = Vec::new();
                with_candidate(path, |candidate| {
                    globs.matches_candidate_into(candidate, &mut hits)
                });
                hits.iter()
                    .map(|&glob| owners[glob])
                    .min()
                    .map(|pattern| &self.patterns[pattern])
            }
            None => self.patterns.iter().find(|p| p.automaton().is_match(path)),
        }
    }

    /// Whether deleting `dir` recursively touches only paths the set matches: `dir` itself and
    /// every path under it, each matched by some glob, not necessarily the same one (`tests/*`
    /// and `tests/*/**` together cover `tests/x`, neither does alone). See
    /// [`Pattern::matches_everything_under`].
    pub fn matches_everything_under(&self, dir: impl AsRef<[u8]>) -> bool {
        PatternSet::covers(&self.patterns, dir.as_ref())
    }

    fn covers(patterns: &[Pattern], dir: &[u8]) -> bool {
        let Some(dir) = normalize_dir(dir) else {
            return false;
        };
        if patterns.is_empty() {
            return false;
        }
        // The automata, not globset: coverage needs them anyway (and they agree).
        let itself = |p: &Pattern| p.automaton().is_match(&dir) || p.names_dir(&dir);
        if !dir.is_empty() && !patterns.iter().any(itself) {
            return false;
        }
        let automata: Vec<&Nfa> = patterns.iter().map(Pattern::automaton).collect();
        automaton::covers_everything_under(&automata, &dir)
    }

    fn globs(&self) -> Option<&(globset::GlobSet, Vec<usize>)> {
        self.globs
            .get_or_init(|| {
                let mut builder = globset::GlobSetBuilder::new();
                let mut owners = Vec::new();
                for (index, pattern) in self.patterns.iter().enumerate() {
                    for glob in pattern.syntax.globset_globs() {
                        builder.add(compile_glob(&glob)?);
                        owners.push(index);
                    }
                }
                Some((builder.build().ok()?, owners))
            })
            .as_ref()
    }
}

/// Two globs (one from each set) that can match a common path, with such a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// The glob of the left set, as written.
    pub left: String,
    /// The glob of the right set, as written.
    pub right: String,
    /// A shortest path both globs match (for a message: "both match src/a/mod.rs"). Bytes that
    /// are not UTF-8 (only possible with odd classes) are shown as U+FFFD.
    pub witness: String,
}

/// Decides exactly whether some path matches both sets, and names one.
///
/// Not a prefix heuristic: `src/**/*.rs` and `src/gen/*.txt` do not overlap, `src/*/mod.rs` and
/// `src/a/**` do (`src/a/mod.rs`), `*.rs` and `src/**` do not (`*` does not cross `/`). Only
/// paths git could hold count (no empty, `.` or `..` component). Pairs are tried in order (left
/// glob, then right glob); the first pair that overlaps is reported. Pairs whose literal prefixes
/// or suffixes disagree are ruled out at once; the others are decided on the product of their
/// automata.
pub fn overlap(left: &PatternSet, right: &PatternSet) -> Option<Overlap> {
    left.patterns.iter().find_map(|l| {
        right.patterns.iter().find_map(|r| {
            l.witness(r).map(|witness| Overlap {
                left: l.original.clone(),
                right: r.original.clone(),
                witness: String::from_utf8_lossy(&witness).into_owned(),
            })
        })
    })
}
