//! One glob semantics for all of paddock: git's `:(glob)` pathspec magic.
//!
//! PLACEHOLDER API (being implemented by the glob helper): signatures are the contract.
#![allow(missing_docs)]

use std::fmt;

/// Why a glob was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("invalid glob {glob:?}: {reason}")]
pub struct Error {
    pub glob: String,
    pub reason: String,
}

/// One compiled glob.
#[derive(Clone)]
pub struct Pattern {
    original: String,
    normalized: String,
    matcher: globset::GlobMatcher,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.original)
    }
}

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, Error> {
        let err = |reason: &str| Error { glob: text.to_owned(), reason: reason.to_owned() };
        if text.is_empty() {
            return Err(err("empty glob"));
        }
        if text.starts_with('/') {
            return Err(err("absolute paths are not allowed; write it relative to the repository root"));
        }
        if text.split('/').any(|c| c == "..") {
            return Err(err("`..` escapes the repository; write it relative to the repository root"));
        }
        let mut normalized = text.trim_start_matches("./").to_owned();
        if normalized.ends_with('/') {
            normalized.push_str("**");
        }
        let glob = globset::GlobBuilder::new(&normalized)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| err(&e.kind().to_string()))?;
        Ok(Pattern { original: text.to_owned(), normalized, matcher: glob.compile_matcher() })
    }
    pub fn original(&self) -> &str {
        &self.original
    }
    pub fn as_str(&self) -> &str {
        &self.normalized
    }
    pub fn literal_prefix_dir(&self) -> &str {
        let meta = self.normalized.find(['*', '?', '[', '\\']).unwrap_or(self.normalized.len());
        match self.normalized[..meta].rfind('/') {
            Some(i) => &self.normalized[..i],
            None => "",
        }
    }
    pub fn is_match(&self, path: &[u8]) -> bool {
        self.matcher.is_match(String::from_utf8_lossy(path).as_ref())
    }
    pub fn matches_everything_under(&self, dir: &[u8]) -> bool {
        let mut probe = dir.to_vec();
        probe.extend_from_slice(b"/\x01probe/\x01deeper");
        self.is_match(dir) && self.is_match(&probe)
    }
}

/// A set of globs; a path matches when any glob does.
#[derive(Debug, Clone, Default)]
pub struct PatternSet {
    patterns: Vec<Pattern>,
}

impl PatternSet {
    pub fn new<I, S>(globs: I) -> Result<PatternSet, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns = globs.into_iter().map(|g| Pattern::new(g.as_ref())).collect::<Result<_, _>>()?;
        Ok(PatternSet { patterns })
    }
    pub fn empty() -> PatternSet {
        PatternSet::default()
    }
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }
    pub fn is_match(&self, path: impl AsRef<[u8]>) -> bool {
        self.first_match(path).is_some()
    }
    pub fn first_match(&self, path: impl AsRef<[u8]>) -> Option<&Pattern> {
        let path = path.as_ref();
        self.patterns.iter().find(|p| p.is_match(path))
    }
    pub fn matches_everything_under(&self, dir: impl AsRef<[u8]>) -> bool {
        let dir = dir.as_ref();
        self.patterns.iter().any(|p| p.matches_everything_under(dir))
    }
}

/// Two globs (one from each set) that can match a common path, with such a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub left: String,
    pub right: String,
    pub witness: String,
}

/// Decides exactly whether some path matches both sets.
pub fn overlap(_left: &PatternSet, _right: &PatternSet) -> Option<Overlap> {
    None
}
