//! Many held scopes, indexed by literal prefix, for "which of them overlap this new scope?".

use super::{Overlap, PatternSet};

/// Held scopes (say, the scope locks of live sessions), each under a key of the caller's choice,
/// indexed so that checking a new scope against all of them is cheap.
///
/// Every path a glob matches starts with the glob's literal prefix (`crates/x/src/` for
/// `crates/x/src/*.rs`, empty for `**/*.snap`). Two globs can only overlap when one prefix is a
/// prefix of the other, so the index keeps every held glob sorted by its prefix and looks at
/// those candidates only; the literal suffix rules out most of the rest, and the automata decide
/// what remains. The answer is exactly [`overlap`](super::overlap)'s, held scope by held scope.
///
/// ```
/// use paddock_policy::glob::{PatternSet, ScopeIndex};
///
/// let mut held = ScopeIndex::new();
/// held.insert("s1", PatternSet::new(["crates/net/**"]).expect("valid"));
/// held.insert("s2", PatternSet::new(["docs/**/*.md", "**/*.snap"]).expect("valid"));
///
/// let mine = PatternSet::new(["crates/net/src/*.rs", "crates/io/**"]).expect("valid");
/// let hits = held.overlapping(&mine);
/// assert_eq!(hits.len(), 2);
/// assert_eq!(*hits[0].0, "s1");
/// assert_eq!(hits[1].1.witness, "crates/io/a.snap");
/// ```
#[derive(Debug, Clone)]
pub struct ScopeIndex<K> {
    scopes: Vec<(K, PatternSet)>,
    /// One entry per held glob, sorted by the literal prefix that starts all its matches.
    entries: Vec<Entry>,
    /// `has_prefix_len[n]`: some held prefix is `n` bytes long.
    has_prefix_len: Vec<bool>,
}

#[derive(Debug, Clone)]
struct Entry {
    prefix: Box<[u8]>,
    scope: usize,
    pattern: usize,
}

impl<K> Default for ScopeIndex<K> {
    fn default() -> Self {
        ScopeIndex {
            scopes: Vec::new(),
            entries: Vec::new(),
            has_prefix_len: Vec::new(),
        }
    }
}

impl<K> FromIterator<(K, PatternSet)> for ScopeIndex<K> {
    fn from_iter<I: IntoIterator<Item = (K, PatternSet)>>(iter: I) -> Self {
        let mut index = ScopeIndex {
            scopes: iter.into_iter().collect(),
            ..ScopeIndex::default()
        };
        index.reindex();
        index
    }
}

impl<K> ScopeIndex<K> {
    /// An empty index.
    pub fn new() -> Self {
        ScopeIndex::default()
    }

    /// Adds a held scope.
    pub fn insert(&mut self, key: K, scope: PatternSet) {
        let scope_index = self.scopes.len();
        for (pattern_index, pattern) in scope.patterns().iter().enumerate() {
            let entry = Entry {
                prefix: pattern.prefix().into(),
                scope: scope_index,
                pattern: pattern_index,
            };
            self.note_prefix_len(entry.prefix.len());
            let at = self.entries.partition_point(|e| e.prefix <= entry.prefix);
            self.entries.insert(at, entry);
        }
        self.scopes.push((key, scope));
    }

    /// Removes the first held scope under `key` and returns it.
    pub fn remove(&mut self, key: &K) -> Option<PatternSet>
    where
        K: PartialEq,
    {
        let position = self.scopes.iter().position(|(k, _)| k == key)?;
        let (_, scope) = self.scopes.remove(position);
        self.reindex();
        Some(scope)
    }

    /// How many scopes are held.
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    /// Whether no scope is held.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// The held scopes, in the order they were inserted.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &PatternSet)> {
        self.scopes.iter().map(|(key, scope)| (key, scope))
    }

    /// Every held scope that overlaps `scope`, in insertion order, each with
    /// `overlap(scope, held)`.
    pub fn overlapping(&self, scope: &PatternSet) -> Vec<(&K, Overlap)> {
        // Per held scope: the first pair that overlaps, as `overlap` orders pairs (new glob
        // first, then held glob), and its witness. The new globs are taken in order, and the
        // candidates of each in held-glob order; a held glob that is no candidate cannot overlap.
        let mut first: Vec<Option<(usize, usize, Vec<u8>)>> = vec![None; self.scopes.len()];
        let mut candidates: Vec<(usize, usize)> = Vec::new();
        for (new_index, pattern) in scope.patterns().iter().enumerate() {
            let prefix = pattern.prefix();
            candidates.clear();
            // Held prefixes that are prefixes of this one (the empty one included)...
            for len in 0..=prefix.len() {
                if !self.has_prefix_len.get(len).copied().unwrap_or(false) {
                    continue;
                }
                let key = &prefix[..len];
                let start = self.entries.partition_point(|e| &*e.prefix < key);
                let equal = self.entries[start..]
                    .iter()
                    .take_while(|e| &*e.prefix == key);
                candidates.extend(equal.map(|e| (e.scope, e.pattern)));
            }
            // ...and held prefixes that extend it.
            let start = self.entries.partition_point(|e| &*e.prefix <= prefix);
            let longer = self.entries[start..]
                .iter()
                .take_while(|e| e.prefix.starts_with(prefix));
            candidates.extend(longer.map(|e| (e.scope, e.pattern)));
            // Held globs in order within each scope: the first that overlaps is the pair.
            candidates.sort_unstable();
            for &(scope_index, held_index) in &candidates {
                if first[scope_index].is_some() {
                    continue;
                }
                let held = &self.scopes[scope_index].1.patterns()[held_index];
                if let Some(witness) = pattern.witness(held) {
                    first[scope_index] = Some((new_index, held_index, witness));
                }
            }
        }
        self.scopes
            .iter()
            .zip(first)
            .filter_map(|((key, held), first)| {
                let (new_index, held_index, witness) = first?;
                let found = Overlap {
                    left: scope.patterns()[new_index].original().to_owned(),
                    right: held.patterns()[held_index].original().to_owned(),
                    witness: String::from_utf8_lossy(&witness).into_owned(),
                };
                Some((key, found))
            })
            .collect()
    }

    /// The earliest inserted held scope that overlaps `scope`, if any.
    pub fn first_overlapping(&self, scope: &PatternSet) -> Option<(&K, Overlap)> {
        self.overlapping(scope).into_iter().next()
    }

    fn note_prefix_len(&mut self, len: usize) {
        if self.has_prefix_len.len() <= len {
            self.has_prefix_len.resize(len + 1, false);
        }
        self.has_prefix_len[len] = true;
    }

    fn reindex(&mut self) {
        self.entries.clear();
        self.has_prefix_len.clear();
        let mut entries = Vec::new();
        for (scope_index, (_, scope)) in self.scopes.iter().enumerate() {
            for (pattern_index, pattern) in scope.patterns().iter().enumerate() {
                entries.push(Entry {
                    prefix: pattern.prefix().into(),
                    scope: scope_index,
                    pattern: pattern_index,
                });
            }
        }
        entries.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        for entry in &entries {
            self.note_prefix_len(entry.prefix.len());
        }
        self.entries = entries;
    }
}
