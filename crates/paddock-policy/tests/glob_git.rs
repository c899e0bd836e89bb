//! The glob matcher against real git, and overlap against the matcher.
//!
//! `matcher_agrees_with_git_ls_files` builds throw-away repositories from generated paths
//! (`git init`, `git add`, a hermetic environment) and asks `git ls-files -z -- ':(glob)PAT'`
//! which of them each generated pattern matches; `Pattern::is_match` must give the same answer
//! for every file, except in the two documented departures (see the `glob` module docs).
//! Paths are generated partly by instantiating the patterns (`*` as `ab`, `**` as `a/b`, ...),
//! so that most patterns match some files, and they include glob metacharacters, spaces, dots
//! and non-UTF-8 bytes.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use paddock_policy::glob::{Pattern, PatternSet, overlap};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};

/// Pattern atoms and what each may stand for in a path that matches it.
const ATOMS: &[(&str, &[&str])] = &[
    ("a", &["a"]),
    ("b", &["b"]),
    ("*", &["", "a", "b.a", "*", "\u{e9}"]),
    ("**", &["", "a", "a/b", "b/a/a", "*"]),
    ("?", &["a", "b", ".", "?", "\u{ff}"]),
    ("[ab]", &["a", "b", "[ab]"]),
    ("[!a]", &["b", ".", " ", "!"]),
    ("[^b.]", &["a", "^"]),
    ("[]a]", &["]", "a"]),
    ("[a-c]", &["b", "c"]),
    ("[[:alpha:]]", &["x", "A"]),
    (".", &["."]),
    (" ", &[" "]),
    ("\\*", &["*", "\\*"]),
    ("\\a", &["a", "\\a"]),
    ("[.]", &[".", "[.]"]),
    ("\u{e9}", &["\u{e9}"]),
];

/// A pattern as atom indices per component, plus how it is written around them.
#[derive(Debug, Clone)]
struct GenPattern {
    components: Vec<Vec<usize>>,
    trailing_slash: bool,
    dot_slash: bool,
    double_slash: bool,
}

impl GenPattern {
    fn text(&self) -> String {
        let separator = if self.double_slash { "//" } else { "/" };
        let components: Vec<String> = self
            .components
            .iter()
            .map(|atoms| atoms.iter().map(|&atom| ATOMS[atom].0).collect())
            .collect();
        let mut text = components.join(separator);
        if self.trailing_slash {
            text.push('/');
        }
        if self.dot_slash {
            text.insert_str(0, "./");
        }
        text
    }

    /// A path this pattern is likely to match, choices driven by `seeds`.
    fn instance(&self, seeds: &[u8]) -> Vec<u8> {
        let mut seeds = seeds.iter().cycle();
        let mut next = || usize::from(*seeds.next().unwrap_or(&0));
        let mut out = Vec::new();
        for (n, atoms) in self.components.iter().enumerate() {
            if n > 0 {
                out.push(b'/');
            }
            for &atom in atoms {
                let choices = ATOMS[atom].1;
                let choice = choices[next() % choices.len()];
                // `\u{ff}` stands for the lone byte 0xff: not UTF-8.
                if choice == "\u{ff}" {
                    out.push(0xff);
                } else {
                    out.extend_from_slice(choice.as_bytes());
                }
            }
        }
        if self.trailing_slash {
            out.extend_from_slice(b"/a");
        }
        out
    }
}

fn gen_pattern() -> impl Strategy<Value = GenPattern> {
    let component = prop::collection::vec(0..ATOMS.len(), 1..4);
    (
        prop::collection::vec(component, 1..4),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(components, trailing_slash, dot_slash, double_slash)| GenPattern {
                components,
                trailing_slash,
                dot_slash,
                double_slash,
            },
        )
}

/// A free-form path over a small alphabet.
fn gen_path() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop::sample::select(&b"aab.* ?[]\\"[..]);
    let component = prop::collection::vec(byte, 1..4);
    prop::collection::vec(component, 1..4).prop_map(|components| components.join(&b'/'))
}

/// Whether git can hold `path`: no empty, `.`, `..` or `.git` component.
fn valid(path: &[u8]) -> bool {
    !path.is_empty()
        && path
            .split(|&b| b == b'/')
            .all(|c| !matches!(c, b"" | b"." | b".." | b".git"))
}

/// Keeps the valid paths that can all be files at once (none is a directory of another).
fn as_files(paths: impl IntoIterator<Item = Vec<u8>>) -> Vec<Vec<u8>> {
    let mut files: Vec<Vec<u8>> = Vec::new();
    let under = |dir: &[u8], path: &[u8]| {
        path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
    };
    for path in paths {
        if !valid(&path)
            || files
                .iter()
                .any(|f| *f == path || under(f, &path) || under(&path, f))
        {
            continue;
        }
        files.push(path);
    }
    files
}

fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_OBJECT_DIRECTORY");
    command
}

fn run(command: &mut Command) -> Vec<u8> {
    let output = command.output().expect("git runs");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A repository holding `files` (empty), added to the index.
fn repository(files: &[Vec<u8>]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    run(git(dir.path()).args(["init", "-q", "."]));
    for file in files {
        let path = dir.path().join(OsStr::from_bytes(file));
        std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("mkdir");
        std::fs::write(&path, b"").expect("write file");
    }
    run(git(dir.path()).args(["add", "-A", "."]));
    let listed = ls_files(dir.path(), &[]);
    let expected: BTreeSet<Vec<u8>> = files.iter().cloned().collect();
    assert_eq!(listed, expected, "git holds exactly the generated files");
    dir
}

fn ls_files(dir: &Path, pathspecs: &[String]) -> BTreeSet<Vec<u8>> {
    let stdout = run(git(dir).args(["ls-files", "-z", "--"]).args(pathspecs));
    stdout
        .split(|&b| b == 0)
        .filter(|name| !name.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn has_metacharacter(text: &str) -> bool {
    text.bytes()
        .any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
}

/// What git matches for `text`, read our way: a pattern with metacharacters and a trailing
/// slash (after normalization: `*/.` is `*/`) also means `text**` (departure 2).
fn git_matches(dir: &Path, text: &str, normalized: &str) -> BTreeSet<Vec<u8>> {
    let mut pathspecs = vec![format!(":(glob){text}")];
    if normalized.ends_with('/') && has_metacharacter(normalized) {
        pathspecs.push(format!(":(glob){normalized}**"));
    }
    ls_files(dir, &pathspecs)
}

/// Failures are kept (and replayed first) in `tests/proptest-regressions/` (nextest runs the test
/// binary in the crate's directory).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/glob_git.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    // Each case builds a repository and runs git about ten times: ~20 ms.
    #![proptest_config(config(64))]

    #[test]
    fn matcher_agrees_with_git_ls_files(
        patterns in prop::collection::vec(gen_pattern(), 6..12),
        seeds in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..8), 8..16),
        extra in prop::collection::vec(gen_path(), 0..8),
    ) {
        agrees_with_git(&patterns, &seeds, extra)?;
    }
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn overlap_is_exact(
        left in prop::collection::vec(gen_pattern(), 1..4),
        right in prop::collection::vec(gen_pattern(), 1..4),
        seeds in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..8), 16..48),
        extra in prop::collection::vec(gen_path(), 0..16),
    ) {
        overlap_agrees_with_matching(&left, &right, &seeds, extra)?;
    }
}

fn agrees_with_git(
    patterns: &[GenPattern],
    seeds: &[Vec<u8>],
    extra: Vec<Vec<u8>>,
) -> Result<(), TestCaseError> {
    // Most files instantiate a pattern, so most patterns match something.
    let instances = seeds
        .iter()
        .enumerate()
        .map(|(n, seed)| patterns[n % patterns.len()].instance(seed));
    let files = as_files(instances.chain(extra));
    prop_assume!(!files.is_empty());
    let repo = repository(&files);
    let mut compiled = Vec::new();
    for generated in patterns {
        let text = generated.text();
        let Ok(pattern) = Pattern::new(&text) else {
            // Only `..` components are refused here, and git refuses them too.
            prop_assert!(text.split('/').any(|c| c == ".."), "{text} refused");
            continue;
        };
        let matched_by_git = git_matches(repo.path(), &text, pattern.as_str());
        for file in &files {
            let ours = pattern.is_match(file);
            let theirs = matched_by_git.contains(file);
            if ours == theirs {
                continue;
            }
            // Departure 1: git also matches under a directory spelled like the pattern.
            let body = pattern.as_str().trim_end_matches('/');
            let under_spelled_dir =
                file.starts_with(body.as_bytes()) && file.get(body.len()) == Some(&b'/');
            let (normalized, shown) = (pattern.as_str(), String::from_utf8_lossy(file));
            prop_assert!(
                theirs && !ours && has_metacharacter(body) && under_spelled_dir,
                "{text:?} ({normalized:?}) on {shown:?}: git says {theirs}, we say {ours}"
            );
        }
        compiled.push(pattern);
    }
    // The set answers like its members.
    let texts: Vec<&str> = compiled.iter().map(Pattern::original).collect();
    let set = PatternSet::new(&texts).expect("each glob is valid");
    for file in &files {
        let first = compiled.iter().find(|p| p.is_match(file));
        prop_assert_eq!(set.first_match(file), first);
        prop_assert_eq!(set.is_match(file), first.is_some());
    }
    Ok(())
}

fn overlap_agrees_with_matching(
    left: &[GenPattern],
    right: &[GenPattern],
    seeds: &[Vec<u8>],
    extra: Vec<Vec<u8>>,
) -> Result<(), TestCaseError> {
    let texts = |patterns: &[GenPattern]| patterns.iter().map(GenPattern::text).collect::<Vec<_>>();
    let (Ok(left_set), Ok(right_set)) =
        (PatternSet::new(texts(left)), PatternSet::new(texts(right)))
    else {
        return Ok(());
    };
    // Paths that instantiate the globs of either side, so that many match both when they can.
    let both: Vec<&GenPattern> = left.iter().chain(right).collect();
    let paths = seeds
        .iter()
        .enumerate()
        .map(|(n, seed)| both[n % both.len()].instance(seed))
        .chain(extra)
        .filter(|path| valid(path));
    match overlap(&left_set, &right_set) {
        None => {
            for path in paths {
                let shown = String::from_utf8_lossy(&path);
                prop_assert!(
                    !(left_set.is_match(&path) && right_set.is_match(&path)),
                    "no overlap claimed, yet both match {shown:?}"
                );
            }
        }
        Some(hit) => {
            let witness = hit.witness.as_bytes();
            prop_assert!(valid(witness), "{hit:?}");
            prop_assert!(
                left_set.is_match(witness) && right_set.is_match(witness),
                "{hit:?}"
            );
            let left_glob = Pattern::new(&hit.left).expect("a glob of the set");
            let right_glob = Pattern::new(&hit.right).expect("a glob of the set");
            prop_assert!(
                left_glob.is_match(witness) && right_glob.is_match(witness),
                "{hit:?}"
            );
        }
    }
    Ok(())
}
