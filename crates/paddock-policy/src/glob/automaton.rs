//! Automata over path bytes: one NFA per pattern, the product of two of them for overlap, and a
//! subset construction for "does this set match everything under a directory".
//!
//! Every search runs alongside a four-state automaton of *valid paths* (no empty, `.` or `..`
//! component, no NUL, not empty, no trailing slash), so an answer is always about a path git
//! could hold, never about `a//b` or `a/../b`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use super::syntax::{Item, Syntax};

/// A set of bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(super) struct ByteSet([u64; 4]);

impl ByteSet {
    pub(super) const EMPTY: ByteSet = ByteSet([0; 4]);

    /// Every byte but NUL, which no path holds.
    const ANY: ByteSet = ByteSet([u64::MAX - 1, u64::MAX, u64::MAX, u64::MAX]);

    /// Every byte but NUL and `/`: what `*`, `?` and a component may hold.
    const NOT_SLASH: ByteSet = ByteSet([u64::MAX - 1 - (1 << b'/'), u64::MAX, u64::MAX, u64::MAX]);

    /// Every byte but NUL, `/` and `.`.
    const PLAIN: ByteSet = ByteSet([
        u64::MAX - 1 - (1 << b'/') - (1 << b'.'),
        u64::MAX,
        u64::MAX,
        u64::MAX,
    ]);

    const fn single(byte: u8) -> ByteSet {
        let mut words = [0; 4];
        words[(byte >> 6) as usize] = 1 << (byte & 63);
        ByteSet(words)
    }

    pub(super) fn insert(&mut self, byte: u8) {
        self.0[usize::from(byte >> 6)] |= 1 << (byte & 63);
    }

    pub(super) fn insert_range(&mut self, low: u8, high: u8) {
        for byte in low..=high {
            self.insert(byte);
        }
    }

    pub(super) fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0
    }

    pub(super) fn without(mut self, byte: u8) -> ByteSet {
        self.0[usize::from(byte >> 6)] &= !(1 << (byte & 63));
        self
    }

    pub(super) fn complement(self) -> ByteSet {
        ByteSet(self.0.map(|word| !word))
    }

    pub(super) fn or(self, other: ByteSet) -> ByteSet {
        let mut words = self.0;
        for (word, extra) in words.iter_mut().zip(other.0) {
            *word |= extra;
        }
        ByteSet(words)
    }

    fn and(self, other: ByteSet) -> ByteSet {
        let mut words = self.0;
        for (word, mask) in words.iter_mut().zip(other.0) {
            *word &= mask;
        }
        ByteSet(words)
    }

    fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|&byte| self.contains(byte))
    }

    /// The member that reads best in a witness path: a lowercase letter, a digit, an uppercase
    /// letter, some punctuation, then anything.
    fn pick(&self) -> u8 {
        const PREFERRED: &[u8] =
            b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-.+~=@%,";
        PREFERRED
            .iter()
            .copied()
            .find(|&byte| self.contains(byte))
            .or_else(|| (0x20..0x7f).find(|&byte| self.contains(byte)))
            .or_else(|| self.iter().next())
            .unwrap_or(b'?')
    }
}

impl fmt::Debug for ByteSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members: Vec<u8> = self.iter().collect();
        write!(f, "ByteSet({:?})", String::from_utf8_lossy(&members))
    }
}

/// The valid-path automaton's states.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
enum Valid {
    /// At the start of a component (or of the path): nothing of it read yet.
    Start = 0,
    /// The component so far is `.`.
    Dot = 1,
    /// The component so far is `..`.
    DotDot = 2,
    /// Inside a component that is neither empty, `.` nor `..`: a path may end here.
    Name = 3,
}

impl Valid {
    const ALL: [Valid; 4] = [Valid::Start, Valid::Dot, Valid::DotDot, Valid::Name];

    /// The moves out of this state: a byte class and where it leads. Bytes in no class (NUL, and
    /// `/` ending an empty, `.` or `..` component) make the path invalid. `visible` also refuses
    /// components that start with `.`, for witnesses that read well.
    fn moves(self, visible: bool) -> &'static [(ByteSet, Valid)] {
        const DOT: ByteSet = ByteSet::single(b'.');
        const SLASH: ByteSet = ByteSet::single(b'/');
        match self {
            Valid::Start if visible => &[(ByteSet::PLAIN, Valid::Name)],
            Valid::Start => &[(DOT, Valid::Dot), (ByteSet::PLAIN, Valid::Name)],
            Valid::Dot => &[(DOT, Valid::DotDot), (ByteSet::PLAIN, Valid::Name)],
            Valid::DotDot => &[(ByteSet::NOT_SLASH, Valid::Name)],
            Valid::Name => &[(SLASH, Valid::Start), (ByteSet::NOT_SLASH, Valid::Name)],
        }
    }

    fn step(self, byte: u8) -> Option<Valid> {
        self.moves(false)
            .iter()
            .find(|(class, _)| class.contains(byte))
            .map(|&(_, next)| next)
    }
}

/// An NFA without epsilon moves; state 0 is the start.
#[derive(Debug, Clone)]
pub(super) struct Nfa {
    states: Vec<State>,
}

#[derive(Debug, Clone, Default)]
struct State {
    /// Moves on a byte of the set to the state; at most one move per target.
    edges: Vec<(ByteSet, u32)>,
    accept: bool,
}

impl Nfa {
    /// The automaton of a whole pattern: its literal reading and its wildmatch reading.
    pub(super) fn from_syntax(syntax: &Syntax) -> Nfa {
        let mut builder = Builder::default();
        let start = builder.state();
        let body = syntax.body().as_bytes();
        match syntax.wild_at {
            None => {
                // `src`: the path `src` and everything under it; `src/`: only what is under it.
                let end = builder.literal(start, body);
                builder.accept[end as usize] = !syntax.dir;
                let under = builder.state();
                builder.edge(end, ByteSet::single(b'/'), under);
                builder.edge(under, ByteSet::ANY, under);
                builder.accept[under as usize] = true;
            }
            Some(cut) => {
                // Both readings start with the literal head; share it. The wildmatch reading
                // goes first: searches try edges in order, so witnesses read `a/a/b` rather
                // than `a/*/b` where both would do.
                let head = builder.literal(start, &body[..cut]);
                let end = builder.items(head, &syntax.items);
                builder.accept[end as usize] = true;
                if !syntax.dir {
                    // Entered through a fresh state so its edges come after the wildmatch ones.
                    let exact = builder.state();
                    builder.epsilon(head, exact);
                    let end = builder.literal(exact, &body[cut..]);
                    builder.accept[end as usize] = true;
                }
            }
        }
        builder.finish(start)
    }

    /// The automaton of a literal head followed by wildmatch items.
    pub(super) fn from_items(head: &[u8], items: &[Item]) -> Nfa {
        let mut builder = Builder::default();
        let start = builder.state();
        let head = builder.literal(start, head);
        let end = builder.items(head, items);
        builder.accept[end as usize] = true;
        builder.finish(start)
    }

    pub(super) fn len(&self) -> usize {
        self.states.len()
    }

    /// The states reached after reading `path` from the states in `current`.
    fn run(&self, mut current: Vec<bool>, path: &[u8]) -> Vec<bool> {
        let mut next = vec![false; self.states.len()];
        for &byte in path {
            next.fill(false);
            for (state, _) in current.iter().enumerate().filter(|(_, on)| **on) {
                for &(set, target) in &self.states[state].edges {
                    if set.contains(byte) {
                        next[target as usize] = true;
                    }
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        current
    }

    fn start_set(&self) -> Vec<bool> {
        let mut set = vec![false; self.states.len()];
        set[0] = true;
        set
    }

    pub(super) fn is_match(&self, path: &[u8]) -> bool {
        let reached = self.run(self.start_set(), path);
        reached
            .iter()
            .zip(&self.states)
            .any(|(on, state)| *on && state.accept)
    }
}

/// Builds an NFA with epsilon moves, then removes them.
#[derive(Default)]
struct Builder {
    edges: Vec<Vec<(ByteSet, u32)>>,
    epsilon: Vec<Vec<u32>>,
    accept: Vec<bool>,
}

impl Builder {
    fn state(&mut self) -> u32 {
        self.edges.push(Vec::new());
        self.epsilon.push(Vec::new());
        self.accept.push(false);
        u32::try_from(self.edges.len() - 1).expect("patterns are far shorter than 2^32 bytes")
    }

    fn edge(&mut self, from: u32, set: ByteSet, to: u32) {
        self.edges[from as usize].push((set, to));
    }

    fn epsilon(&mut self, from: u32, to: u32) {
        self.epsilon[from as usize].push(to);
    }

    fn literal(&mut self, mut current: u32, bytes: &[u8]) -> u32 {
        for &byte in bytes {
            let next = self.state();
            self.edge(current, ByteSet::single(byte), next);
            current = next;
        }
        current
    }

    /// A fresh state looping on `set`, entered from `current` by an epsilon move (a fresh one, so
    /// the loop never leaks into another branch leaving `current`).
    fn looping(&mut self, current: u32, set: ByteSet) -> u32 {
        let looping = self.state();
        self.epsilon(current, looping);
        self.edge(looping, set, looping);
        looping
    }

    fn items(&mut self, mut current: u32, items: &[Item]) -> u32 {
        for item in items {
            let next = self.state();
            match item {
                Item::Lit(byte) => self.edge(current, ByteSet::single(*byte), next),
                Item::Any => self.edge(current, ByteSet::NOT_SLASH, next),
                Item::Class(set) => self.edge(current, *set, next),
                Item::Star => {
                    let looping = self.looping(current, ByteSet::NOT_SLASH);
                    self.epsilon(looping, next);
                }
                Item::StarStar => {
                    let looping = self.looping(current, ByteSet::ANY);
                    self.epsilon(looping, next);
                }
                Item::StarStarSlash => {
                    // Nothing, or anything ending in `/`.
                    self.epsilon(current, next);
                    let looping = self.looping(current, ByteSet::ANY);
                    self.edge(looping, ByteSet::single(b'/'), next);
                }
            }
            current = next;
        }
        current
    }

    fn finish(self, start: u32) -> Nfa {
        let count = self.edges.len();
        let closure = |state: usize| {
            let mut seen = vec![false; count];
            let mut stack = vec![state];
            seen[state] = true;
            while let Some(s) = stack.pop() {
                for &t in &self.epsilon[s] {
                    if !seen[t as usize] {
                        seen[t as usize] = true;
                        stack.push(t as usize);
                    }
                }
            }
            seen
        };
        // Keep the states reachable from the start through byte moves; number them in order of
        // discovery so the start is 0.
        let mut number: Vec<Option<u32>> = vec![None; count];
        let mut order = vec![start as usize];
        number[start as usize] = Some(0);
        let mut states = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let old = order[i];
            i += 1;
            let mut state = State::default();
            for (member, _) in closure(old).iter().enumerate().filter(|(_, on)| **on) {
                state.accept |= self.accept[member];
                for &(set, target) in &self.edges[member] {
                    let target = target as usize;
                    let new_target = *number[target].get_or_insert_with(|| {
                        order.push(target);
                        u32::try_from(order.len() - 1).expect("fewer states than bytes")
                    });
                    match state.edges.iter_mut().find(|(_, t)| *t == new_target) {
                        Some((existing, _)) => *existing = existing.or(set),
                        None => state.edges.push((set, new_target)),
                    }
                }
            }
            states.push(state);
        }
        Nfa { states }
    }
}

/// A shortest valid path both automata accept, if there is one; one without hidden components
/// (`.x`) when there is such a path (`src/a.rs` rather than `src/.rs`).
pub(super) fn intersection(left: &Nfa, right: &Nfa) -> Option<Vec<u8>> {
    let found = search(left, right, false)?;
    let hidden = found
        .split(|&b| b == b'/')
        .any(|component| component.first() == Some(&b'.'));
    if hidden {
        // Rare enough (only when there is an overlap) to pay for a second search.
        return Some(search(left, right, true).unwrap_or(found));
    }
    Some(found)
}

/// Breadth-first search of the product of `left`, `right` and the valid-path automaton.
fn search(left: &Nfa, right: &Nfa, visible: bool) -> Option<Vec<u8>> {
    let (left_len, right_len) = (left.len(), right.len());
    let encode = |l: usize, r: usize, v: Valid| (l * right_len + r) * 4 + v as usize;
    let decode = |code: usize| {
        let v = Valid::ALL[code % 4];
        let pair = code / 4;
        (pair / right_len, pair % right_len, v)
    };
    // Each visited product state remembers where it came from and on which byte.
    let mut parents = Parents::new(left_len * right_len * 4);
    let start = encode(0, 0, Valid::Start);
    parents.insert(start, (start, 0));
    let mut queue = VecDeque::from([start]);
    while let Some(code) = queue.pop_front() {
        let (l, r, v) = decode(code);
        let (left_state, right_state) = (&left.states[l], &right.states[r]);
        if left_state.accept && right_state.accept && v == Valid::Name {
            return Some(parents.path_to(code, start));
        }
        for &(left_set, left_target) in &left_state.edges {
            for &(right_set, right_target) in &right_state.edges {
                let both = left_set.and(right_set);
                if both.is_empty() {
                    continue;
                }
                for &(class, next_v) in v.moves(visible) {
                    let bytes = both.and(class);
                    if bytes.is_empty() {
                        continue;
                    }
                    let next = encode(left_target as usize, right_target as usize, next_v);
                    if parents.insert(next, (code, bytes.pick())) {
                        queue.push_back(next);
                    }
                }
            }
        }
    }
    None
}

/// Back pointers of a breadth-first search: a flat table for small products, a map for big ones.
enum Parents {
    Table(Vec<(u32, u8)>),
    Map(HashMap<usize, (usize, u8)>),
}

impl Parents {
    const TABLE_LIMIT: usize = 1 << 20;

    fn new(size: usize) -> Parents {
        if size <= Self::TABLE_LIMIT {
            Parents::Table(vec![(u32::MAX, 0); size])
        } else {
            Parents::Map(HashMap::new())
        }
    }

    /// Records `parent` for `code` unless it has one; returns whether it was new.
    fn insert(&mut self, code: usize, (parent, byte): (usize, u8)) -> bool {
        match self {
            Parents::Table(table) => {
                if table[code].0 != u32::MAX {
                    return false;
                }
                table[code] = (
                    u32::try_from(parent).expect("table holds < 2^20 states"),
                    byte,
                );
                true
            }
            Parents::Map(map) => match map.entry(code) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert((parent, byte));
                    true
                }
            },
        }
    }

    fn get(&self, code: usize) -> (usize, u8) {
        match self {
            Parents::Table(table) => (table[code].0 as usize, table[code].1),
            Parents::Map(map) => map.get(&code).copied().unwrap_or((code, 0)),
        }
    }

    fn path_to(&self, mut code: usize, start: usize) -> Vec<u8> {
        let mut bytes = Vec::new();
        while code != start {
            let (parent, byte) = self.get(code);
            bytes.push(byte);
            code = parent;
        }
        bytes.reverse();
        bytes
    }
}

/// How many sets of states [`covers_everything_under`] explores before it answers "no".
const COVER_LIMIT: usize = 4096;

/// Whether every valid path `dir/...` (every valid path, for an empty `dir`) is accepted by at
/// least one of `nfas`. `dir` must be a valid path or empty.
///
/// A subset construction over the union of the automata, run alongside the valid-path automaton:
/// a reachable subset that holds no accepting state where a valid path ends, or no state at all,
/// is a path under `dir` that nothing matches. Past [`COVER_LIMIT`] subsets it answers `false`,
/// which callers treat as "not covered" (fail closed).
pub(super) fn covers_everything_under(nfas: &[&Nfa], dir: &[u8]) -> bool {
    let offsets: Vec<usize> = nfas
        .iter()
        .scan(0, |next, nfa| {
            let offset = *next;
            *next += nfa.len();
            Some(offset)
        })
        .collect();
    let total: usize = nfas.iter().map(|nfa| nfa.len()).sum();
    let words = total.div_ceil(64);
    let mut start = vec![0u64; words];
    for (nfa, &offset) in nfas.iter().zip(&offsets) {
        let reached = if dir.is_empty() {
            nfa.start_set()
        } else {
            let mut under = dir.to_vec();
            under.push(b'/');
            nfa.run(nfa.start_set(), &under)
        };
        for (state, _) in reached.iter().enumerate().filter(|(_, on)| **on) {
            let bit = offset + state;
            start[bit / 64] |= 1 << (bit % 64);
        }
    }
    // Flatten the automata into one table of (accepting, edges with global targets).
    let mut flat: Vec<(bool, Vec<(ByteSet, usize)>)> = Vec::with_capacity(total);
    for (nfa, &offset) in nfas.iter().zip(&offsets) {
        for state in &nfa.states {
            let edges = state
                .edges
                .iter()
                .map(|&(set, t)| (set, offset + t as usize))
                .collect();
            flat.push((state.accept, edges));
        }
    }
    let mut seen: HashSet<(Vec<u64>, Valid)> = HashSet::new();
    let mut queue = VecDeque::new();
    seen.insert((start.clone(), Valid::Start));
    queue.push_back((start, Valid::Start));
    while let Some((set, v)) = queue.pop_front() {
        for byte in 1..=255u8 {
            let Some(next_v) = v.step(byte) else { continue };
            let mut next = vec![0u64; words];
            let mut accepting = false;
            let mut any = false;
            for (word_index, &word) in set.iter().enumerate() {
                let mut bits = word;
                while bits != 0 {
                    let state = word_index * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    for &(edge_set, target) in &flat[state].1 {
                        if edge_set.contains(byte) {
                            next[target / 64] |= 1 << (target % 64);
                            accepting |= flat[target].0;
                            any = true;
                        }
                    }
                }
            }
            if !any || (next_v == Valid::Name && !accepting) {
                return false;
            }
            if seen.len() >= COVER_LIMIT {
                return false;
            }
            if seen.insert((next.clone(), next_v)) {
                queue.push_back((next, next_v));
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nfa(text: &str) -> Nfa {
        Nfa::from_syntax(&Syntax::parse(text).expect("valid glob"))
    }

    #[test]
    fn automaton_follows_the_pattern() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "src",
                &["src", "src/a", "src/a/b"],
                &["srcx", "sr", "x/src"],
            ),
            ("src/", &["src/a", "src/a/b"], &["src", "srcx"]),
            (
                "src/*.rs",
                &["src/a.rs", "src/.rs", "src/*.rs"],
                &["src/a/b.rs", "src/*.rs/x"],
            ),
            ("x**", &["x", "xa", "x/a/b", "xa/b"], &["ax"]),
            ("x**/y", &["xy", "x/y", "xa/b/y"], &["x/yz", "xz"]),
            ("a/**/b", &["a/b", "a/x/b", "a/x/y/b"], &["ab", "a/xb"]),
            ("**", &["a", "a/b/c"], &[]),
            ("[!a]", &["b", "!"], &["a", "/", "ab", "\u{e9}"]),
        ];
        for (pattern, yes, no) in cases {
            let automaton = nfa(pattern);
            for path in *yes {
                assert!(
                    automaton.is_match(path.as_bytes()),
                    "{pattern} should match {path}"
                );
            }
            for path in *no {
                assert!(
                    !automaton.is_match(path.as_bytes()),
                    "{pattern} should not match {path}"
                );
            }
        }
    }

    #[test]
    fn intersection_finds_the_shortest_valid_witness() {
        let witness = |a: &str, b: &str| {
            intersection(&nfa(a), &nfa(b)).map(|w| String::from_utf8(w).expect("ascii"))
        };
        assert_eq!(
            witness("src/*/mod.rs", "src/a/**"),
            Some("src/a/mod.rs".to_owned())
        );
        assert_eq!(witness("**/x", "a/**"), Some("a/x".to_owned()));
        assert_eq!(witness("src/**/*.rs", "src/gen/*.txt"), None);
        assert_eq!(witness("*.rs", "src/**"), None);
        // `a/*/b` matches `a//b` as a string, but that is no path.
        assert_eq!(witness("a/*/b", "a/?/**"), Some("a/a/b".to_owned()));
        assert_eq!(witness("??", "[.][.]"), None);
        assert_eq!(witness("?", "[.]"), None);
        assert_eq!(witness("x/?", "x/[.]"), None);
        assert_eq!(witness("x/??", "x/[.]?"), Some("x/.a".to_owned()));
        assert_eq!(witness("*.rs", "**/*.rs"), Some("a.rs".to_owned()));
    }
}
