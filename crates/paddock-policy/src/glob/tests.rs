use pretty_assertions::assert_eq;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::*;

fn set(globs: &[&str]) -> PatternSet {
    PatternSet::new(globs).expect("valid globs")
}

fn pattern(glob: &str) -> Pattern {
    Pattern::new(glob).expect("valid glob")
}

#[test]
fn refuses_bad_globs_and_says_what_to_do() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("/etc/passwd", "write `etc/passwd`"),
        ("../x", "`..`"),
        ("src/../../x", "`..`"),
        ("a/..", "`..`"),
        ("a\0b", "NUL"),
        ("src/[ab", "no closing `]`"),
        ("[", "no closing `]`"),
        ("[]", "no closing `]`"),
        ("[!]", "no closing `]`"),
        ("x[\\", "no closing `]`"),
        ("[z-a]", "write `a-z`"),
        ("[[:word:]]", "not a character class"),
        ("[[:alpha:]", "no closing `]`"),
        ("[/]", "matches nothing"),
        ("[é]", "non-ASCII"),
        ("src\\", "ends with a backslash"),
        ("a\\/b", "`\\/`"),
    ];
    let long = "a/".repeat(2049);
    let cases: Vec<(&str, &str)> = cases
        .iter()
        .copied()
        .chain([(long.as_str(), "PATH_MAX")])
        .collect();
    for (glob, needle) in &cases {
        let error = Pattern::new(glob).expect_err(glob);
        assert_eq!(error.glob, *glob);
        assert!(
            error.reason.contains(needle),
            "{glob:?}: {:?} lacks {needle:?}",
            error.reason
        );
        assert!(error.to_string().starts_with("invalid glob"), "{error}");
    }
}

#[test]
fn normalizes_like_git() {
    let cases: &[(&str, &str)] = &[
        ("src", "src"),
        ("./src", "src"),
        ("././src//a.rs", "src/a.rs"),
        ("src/./a.rs", "src/a.rs"),
        ("src/", "src/"),
        ("src//", "src/"),
        ("src/.", "src/"),
        (".", "**"),
        ("./", "**"),
        ("a//*/**", "a/*/**"),
    ];
    for (glob, normalized) in cases {
        assert_eq!(pattern(glob).as_str(), *normalized, "{glob}");
        assert_eq!(pattern(glob).original(), *glob);
    }
    assert_eq!(pattern("./src"), pattern("src"));
}

#[test]
fn literal_prefix_dir_is_the_fixed_leading_directory() {
    let cases: &[(&str, &str)] = &[
        ("src/a/*.rs", "src/a"),
        ("src/", "src"),
        ("src/**", "src"),
        ("src/a.rs", "src"),
        ("src", ""),
        ("*.rs", ""),
        ("**/x", ""),
        ("src/a[bc]/x", "src"),
        ("src/a\\*/x", "src"),
        ("src**", ""),
        ("a/b/c/", "a/b/c"),
        ("a/*/", "a"),
        (".", ""),
    ];
    for (glob, dir) in cases {
        assert_eq!(pattern(glob).literal_prefix_dir(), *dir, "{glob}");
    }
}

/// What `git ls-files -- ':(glob)PATTERN'` (git 2.47) said for these paths, with the two
/// documented departures marked.
#[test]
fn matches_what_git_matches() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "src",
            &["src", "src/a.rs", "src/a/b/c.rs", "src/*"],
            &["srcfile", "x/src"],
        ),
        ("src/", &["src/a.rs", "src/a/b.rs"], &["src", "srcfile"]),
        ("src/a", &["src/a", "src/a/b.rs"], &["src/ab", "src/a.rs"]),
        // Departure 1: git also matches `src/*/x` (under the directory spelled `src/*`).
        (
            "src/*",
            &["src/a.rs", "src/*", "src/.hidden"],
            &["src/a/b.rs", "src", "src/*/x"],
        ),
        ("sr?", &["src", "sra"], &["src/a.rs", "sr"]),
        ("src*", &["srcfile", "src"], &["src/a.rs"]),
        (
            "a**b",
            &["aXb", "a*b", "ab", "a?b"],
            &["a/b", "ab/x", "a/x/b"],
        ),
        ("**.rs", &["b.rs", ".rs"], &["x/y/z.rs", "src/a.rs"]),
        ("x**", &["x", "x.rs", "x/y/z.rs", "xa/b/y"], &["ax", "a/x"]),
        ("x**/y", &["xy", "x/y", "xa/b/y"], &["x/yz", "xz"]),
        ("x]**", &["x]/a", "x]y/z"], &["x/a"]),
        ("**x", &["x", "ax"], &["a/x"]),
        ("**/x", &["x", "a/x", "ab/x", "a/b/x"], &["ax", "x/a"]),
        ("**", &["a", ".dot", "a/b/c"], &[]),
        ("*", &["a", ".dot", "a*b"], &["a/b"]),
        ("[!a]b.rs", &["xb.rs"], &["b.rs", "ab.rs"]),
        ("[^a].rs", &["b.rs", "x.rs"], &["a.rs"]),
        ("[!b].rs", &["x.rs"], &["b.rs"]),
        ("a\\*b", &["a*b"], &["aXb", "ab"]),
        ("a\\?b", &["a?b"], &["aXb"]),
        ("\\[ab]", &["[ab]"], &["a", "b"]),
        ("a\\\\b", &["a\\b"], &["ab"]),
        ("a\\b", &["ab", "a\\b"], &["a\\\\b"]),
        ("[ab]", &["a", "b", "[ab]"], &["[ab]/x", "ab"]),
        ("[]]", &["]"], &["[]]x"]),
        ("[]a]", &["]", "a"], &["b"]),
        ("[!]a]", &["b", "!"], &["]", "a"]),
        ("[a-]", &["a", "-"], &["b"]),
        ("[[:alpha:]][[:alpha:]]", &["ab", "xy", "XY"], &["a1", "a"]),
        ("[[:space:]]", &[" ", "\t", "\n", "\r"], &["\x0b", "\x0c"]),
        ("[[:punct:]]", &["!", "_", "~"], &["a", " "]),
        ("x[.]y", &["x.y"], &["xay"]),
        (
            "src/**",
            &["src/a.rs", "src/a/b/c.rs", "src/*"],
            &["src", "srcfile"],
        ),
        // Departure 2: git matches no file with `src/**/` or `src/*/`.
        ("src/**/", &["src/a.rs", "src/a/b.rs"], &["src", "x/src/a"]),
        ("src/*/", &["src/a/b.rs", "src/a/b/c"], &["src/a.rs", "src"]),
        (
            "src/**/*.rs",
            &["src/a.rs", "src/a/b.rs", "src/a/b/c.rs"],
            &["src/a.txt", "a.rs"],
        ),
        (
            "x/**/z.rs",
            &["x/z.rs", "x/y/z.rs", "x/y/w/z.rs"],
            &["x/yz.rs"],
        ),
        ("*/x", &["a/x", "ab/x"], &["x", "a/b/x"]),
        ("*.rs", &["b.rs", "*.rs", ".rs"], &["src/a.rs", "*.rs/x"]),
        (
            "**/*.rs",
            &["b.rs", "src/a.rs", "x/y/z.rs", ".rs"],
            &["a.rsx"],
        ),
        (".*", &[".dot", ".a.b"], &["a", "x/.hidden"]),
        ("**/.*", &[".dot", "x/y/.hidden"], &["x/y/z"]),
        ("q b", &["q b", "q b/c"], &["q", "qb"]),
        (".", &["a", "a/b/c"], &[]),
        ("{a,b}", &["{a,b}", "{a,b}/x"], &["a", "b"]),
        ("src/a,b*", &["src/a,bc"], &["src/a"]),
    ];
    for (glob, yes, no) in cases {
        let p = pattern(glob);
        let s = set(&[glob]);
        for path in *yes {
            assert!(p.is_match(path.as_bytes()), "{glob} should match {path:?}");
            assert!(s.is_match(path), "{glob} (set) should match {path:?}");
            assert!(
                p.automaton().is_match(path.as_bytes()),
                "{glob} automaton: {path:?}"
            );
        }
        for path in *no {
            assert!(
                !p.is_match(path.as_bytes()),
                "{glob} should not match {path:?}"
            );
            assert!(!s.is_match(path), "{glob} (set) should not match {path:?}");
            assert!(
                !p.automaton().is_match(path.as_bytes()),
                "{glob} automaton: {path:?}"
            );
        }
    }
}

#[test]
fn paths_are_bytes() {
    assert!(pattern("*").is_match(b"\xff\xfe"));
    assert!(pattern("?").is_match(b"\xff"));
    assert!(!pattern("?").is_match("é".as_bytes()));
    assert!(pattern("??").is_match("é".as_bytes()));
    assert!(pattern("[!a]").is_match(b"\x80"));
    assert!(pattern("**/x").is_match(b"\xc3/x"));
    assert!(pattern("é/*").is_match("é/a".as_bytes()));
    assert!(pattern("a*").is_match(b"a\n"));
    assert!(pattern("a/**").is_match(b"a/\n/b"));
    assert!(!pattern("*").is_match(b"a\0"));
    assert!(!set(&["**"]).is_match(b"a\0b"));
    assert_eq!(set(&["**"]).first_match(b"a\0b"), None);
}

#[test]
fn first_match_is_the_first_glob_given() {
    let s = set(&["docs/**", "src/*.rs", "**/*.rs", "src/"]);
    assert_eq!(
        s.first_match(b"src/a.rs").map(Pattern::original),
        Some("src/*.rs")
    );
    assert_eq!(
        s.first_match(b"src/a/b.rs").map(Pattern::original),
        Some("**/*.rs")
    );
    assert_eq!(
        s.first_match(b"src/x.txt").map(Pattern::original),
        Some("src/")
    );
    assert_eq!(s.first_match(b"x.txt"), None);
    assert!(PatternSet::empty().is_empty());
    assert!(!PatternSet::empty().is_match(b"a"));
    assert_eq!(s.patterns().len(), 4);
    assert_eq!(
        format!("{s:?}"),
        r#"["docs/**", "src/*.rs", "**/*.rs", "src/"]"#
    );
}

#[test]
fn matches_everything_under_is_exact() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&["tests/**"], "tests/fixtures/tmp", true),
        (&["tests/**"], "tests/fixtures/tmp/", true),
        (&["tests/**"], "./tests//fixtures", true),
        (&["tests/**"], "tests", false),
        (&["tests/"], "tests", true),
        (&["tests"], "tests", true),
        (&["tests"], "tests/a", true),
        (&["tests"], "test", false),
        (&["src/*.rs"], "src", false),
        (&["src/*.rs"], "src/a.rs", false),
        (&["*.rs"], "a.rs", false),
        (&["**"], "", true),
        (&["**"], "a/b", true),
        (&["."], "", true),
        (&["*"], "", false),
        (&["tests/*"], "tests/x", false),
        (&["tests/*/**"], "tests/x", false),
        (&["tests/*", "tests/*/**"], "tests/x", true),
        (&["**/.git/"], "a/b/.git", true),
        (&["**/.git/"], ".git", true),
        (&["**/.git/"], "a/.gitx", false),
        (&["src/**/*.rs"], "src", false),
        (&["x**"], "xa", true),
        (&["x**"], "x", true),
        (&["a/*/"], "a/b", true),
        (&["a/*/"], "a", false),
        // Coverage of the union, not of one glob.
        (&["a/[!x]*", "a/[!x]*/**"], "a/b", true),
        (&["a/[!x]*", "a/[!x]*/**"], "a/x", false),
        (&["a/**/[!.]*", "a/**/.*"], "a/b", true),
        (&["a/**/[!.]*"], "a/b", false),
        (&["a/b", "a/b/**/[!.]*", "a/b/**/.*"], "a/b", true),
        (&["tests/**"], "../tests", false),
        (&["**"], "/tmp", false),
        (&["**"], "a\0b", false),
        (&[], "a", false),
    ];
    for (globs, dir, expected) in cases {
        let s = set(globs);
        assert_eq!(
            s.matches_everything_under(dir),
            *expected,
            "{globs:?} under {dir:?}"
        );
        if let [one] = globs {
            assert_eq!(
                pattern(one).matches_everything_under(dir.as_bytes()),
                *expected
            );
        }
    }
}

fn witness(left: &[&str], right: &[&str]) -> Option<String> {
    let (l, r) = (set(left), set(right));
    let found = overlap(&l, &r);
    let back = overlap(&r, &l);
    assert_eq!(
        found.is_some(),
        back.is_some(),
        "overlap must be symmetric: {left:?} {right:?}"
    );
    if let Some(hit) = &found {
        assert!(
            l.is_match(&hit.witness) && r.is_match(&hit.witness),
            "{hit:?}"
        );
        assert!(
            pattern(&hit.left).is_match(hit.witness.as_bytes()),
            "{hit:?}"
        );
        assert!(
            pattern(&hit.right).is_match(hit.witness.as_bytes()),
            "{hit:?}"
        );
    }
    found.map(|hit| hit.witness)
}

#[test]
fn overlap_is_exact() {
    let cases: &[(&[&str], &[&str], Option<&str>)] = &[
        (&["src/**/*.rs"], &["src/gen/*.txt"], None),
        (&["src/*/mod.rs"], &["src/a/**"], Some("src/a/mod.rs")),
        (&["*.rs"], &["src/**"], None),
        (&["**/x"], &["a/**"], Some("a/x")),
        (&["src/"], &["src"], Some("src/a")),
        (&["src"], &["src"], Some("src")),
        (&["src"], &["srcx"], None),
        (&["src"], &["src*"], Some("src")),
        (&["src/"], &["src*"], None),
        (&["src/"], &["src**"], Some("src/a")),
        (&["a/**/b"], &["a/b"], Some("a/b")),
        (&["a/*/b"], &["a/b"], Some("a/b/b")),
        (&["a/*/b"], &["a/b/**"], Some("a/b/b")),
        (&["a/*/b"], &["a/b/*/**"], None),
        (&["a/*/b"], &["a/c/**"], Some("a/c/b")),
        (&["crates/x/src/*.rs"], &["crates/x/src/*/mod.rs"], None),
        (&["crates/*/src/*.rs"], &["crates/*/tests/*.rs"], None),
        (
            &["crates/*/src/*.rs"],
            &["crates/x/*/lib.rs"],
            Some("crates/x/src/lib.rs"),
        ),
        (&["docs/**/*.md"], &["docs/*.txt"], None),
        (&["docs/**/*.md"], &["**/README.*"], Some("docs/README.md")),
        (&["**/*.snap"], &["src/foo/**"], Some("src/foo/a.snap")),
        (&["**/*.snap"], &["src/*.rs"], None),
        (&["*.[ch]"], &["*.h"], Some("a.h")),
        (&["[.]*"], &["*.h"], Some(".h")),
        (&["*.[!h]"], &["*.h"], None),
        (&["[ab]"], &["[!a]"], Some("b")),
        (&["[ab]"], &["[!ab]"], None),
        // The pattern text itself is a path the pattern matches.
        (&["app/[id].ts"], &["app/\\[id\\].ts"], Some("app/[id].ts")),
        (&["app/[id].ts"], &["app/d.ts"], Some("app/d.ts")),
        (&["*"], &["."], Some("a")),
        (&["x**/y"], &["xy"], Some("xy")),
        (&["x**"], &["x/a/b/**"], Some("x/a/b/a")),
        (&["a/?*"], &["a/.?"], Some("a/.a")),
        // Only real paths: no `..` or `.` component, no empty component.
        (&["a/?/b"], &["a/[.]/b"], None),
        (&["??"], &["[.][.]"], None),
        (&["a/*/b"], &["a/b"], Some("a/b/b")),
        // ...but the text of a glob is a path it matches.
        (&["a/*/b"], &["a/[.][.]/b"], Some("a/[.][.]/b")),
        (&["a/**/b"], &["a/?/b"], Some("a/a/b")),
        (&[], &["**"], None),
        (&["a", "b/**"], &["c", "b/x"], Some("b/x")),
    ];
    for (left, right, expected) in cases {
        assert_eq!(
            witness(left, right).as_deref(),
            *expected,
            "{left:?} vs {right:?}"
        );
    }
}

#[test]
fn overlap_names_the_first_overlapping_pair() {
    let found = overlap(
        &set(&["docs/**", "src/*.rs", "src/**"]),
        &set(&["src/**/*.rs"]),
    )
    .expect("overlap");
    assert_eq!(
        found,
        Overlap {
            left: "src/*.rs".to_owned(),
            right: "src/**/*.rs".to_owned(),
            witness: "src/a.rs".to_owned()
        }
    );
}

#[test]
fn scope_index_agrees_with_pairwise_overlap() {
    let held: Vec<(usize, PatternSet)> = [
        &["crates/net/**"][..],
        &["crates/net/src/*.rs", "docs/net/**"],
        &["**/*.snap"],
        &["src/*/mod.rs", "src/a.rs"],
        &["docs/**/*.md"],
        &["*"],
        &["x**"],
        &["."],
        &[],
        &["app/[id].ts"],
    ]
    .iter()
    .enumerate()
    .map(|(i, globs)| (i, set(globs)))
    .collect();
    let mut index: ScopeIndex<usize> = held.iter().cloned().collect();
    assert_eq!(index.len(), held.len());
    let queries: &[&[&str]] = &[
        &["crates/net/src/tcp.rs"],
        &["crates/io/**"],
        &["src/b/mod.rs"],
        &["src/b/lib.rs"],
        &["docs/guide/x.md", "README.md"],
        &["xa/b"],
        &["app/d.ts"],
        &["app/x.ts"],
        &[],
    ];
    for query in queries {
        let query = set(query);
        let expected: Vec<(usize, Overlap)> = held
            .iter()
            .filter_map(|(key, scope)| overlap(&query, scope).map(|hit| (*key, hit)))
            .collect();
        let got: Vec<(usize, Overlap)> = index
            .overlapping(&query)
            .into_iter()
            .map(|(key, hit)| (*key, hit))
            .collect();
        assert_eq!(got, expected, "{query:?}");
        assert_eq!(
            index.first_overlapping(&query).map(|(k, _)| *k),
            expected.first().map(|e| e.0)
        );
    }
    // Incremental inserts and removal keep it right.
    let mut incremental = ScopeIndex::new();
    for (key, scope) in &held {
        incremental.insert(*key, scope.clone());
    }
    let probe = set(&["crates/net/lib.rs"]);
    let keys = |index: &ScopeIndex<usize>| -> Vec<usize> {
        index
            .overlapping(&probe)
            .into_iter()
            .map(|(k, _)| *k)
            .collect()
    };
    // `crates/net/lib.rs` also covers `crates/net/lib.rs/a.snap`, should it be a directory.
    assert_eq!(keys(&incremental), vec![0, 2, 7]);
    assert_eq!(incremental.remove(&0), Some(held[0].1.clone()));
    assert_eq!(keys(&incremental), vec![2, 7]);
    assert_eq!(index.remove(&7).map(|s| s.patterns().len()), Some(1));
    assert_eq!(index.remove(&7), None);
    assert_eq!(keys(&index), vec![0, 2]);
}

/// A glob from atoms that cover every syntax path: classes of every kind, escapes, every
/// placement of `**`, trailing slashes and normalization.
fn glob_strategy() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("a"),
        Just("b"),
        Just("."),
        Just("*"),
        Just("**"),
        Just("***"),
        Just("?"),
        Just("[ab]"),
        Just("[!a]"),
        Just("[^.b]"),
        Just("[]a]"),
        Just("[a-c]"),
        Just("[-a]"),
        Just("[[:alpha:]]"),
        Just("[[:x]"),
        Just("[\\]]"),
        Just("\\*"),
        Just("\\a"),
        Just("\\["),
        Just("!"),
        Just("^"),
        Just("[!^]"),
        Just("[\\^!]"),
        Just("{a,b}"),
    ];
    let component = prop::collection::vec(atom, 1..4).prop_map(|atoms| atoms.concat());
    (
        prop::collection::vec(component, 1..5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(components, trailing, dot)| {
            let mut glob = components.join("/");
            if trailing {
                glob.push('/');
            }
            if dot {
                glob.insert_str(0, "./");
            }
            glob
        })
}

fn path_strategy() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        Just(b'a'),
        Just(b'b'),
        Just(b'c'),
        Just(b'.'),
        Just(b'*'),
        Just(b'['),
        Just(b']'),
        Just(b'!'),
        Just(b'^'),
        Just(b'\\'),
        Just(b'{'),
        Just(b','),
        Just(b'-'),
        Just(b'Z'),
        Just(0xc3u8),
        Just(0xa9u8),
    ];
    let component = prop::collection::vec(byte, 1..4);
    prop::collection::vec(component, 1..5).prop_map(|components| components.join(&b'/'))
}

fn paths() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(path_strategy(), 1..16)
}

proptest! {
    // No failure file: a failure prints its minimal input, and this crate's tree belongs to others.
    #![proptest_config(ProptestConfig {
        cases: 500,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// globset (what `is_match` uses) and the automaton (what `overlap` uses) agree.
    #[test]
    fn globset_and_automaton_agree(glob in glob_strategy(), paths in paths()) {
        globset_and_automaton_agree_on(&glob, &paths)?;
    }

    /// The literal prefix and suffix start and end every match (the pre-rejection relies on it).
    #[test]
    fn prefix_and_suffix_bound_every_match(glob in glob_strategy(), paths in paths()) {
        prefix_and_suffix_bound(&glob, &paths)?;
    }

    /// Coverage is never claimed wrongly: when a set covers `dir`, every sampled path under it
    /// matches.
    #[test]
    fn coverage_is_sound(
        globs in prop::collection::vec(glob_strategy(), 1..4),
        dir in path_strategy(),
        below in paths(),
    ) {
        coverage_holds(&globs, &dir, &below)?;
    }
}

fn globset_and_automaton_agree_on(glob: &str, paths: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let Ok(p) = Pattern::new(glob) else {
        return Ok(());
    };
    let globs = p.syntax.globset_globs();
    prop_assert!(p.globs().is_some(), "globset refused {globs:?}");
    for path in paths {
        let shown = String::from_utf8_lossy(path);
        prop_assert_eq!(
            p.is_match(path),
            p.automaton().is_match(path),
            "{} on {:?} (globs {:?})",
            glob,
            shown,
            globs
        );
    }
    Ok(())
}

fn prefix_and_suffix_bound(glob: &str, paths: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let Ok(p) = Pattern::new(glob) else {
        return Ok(());
    };
    for path in paths.iter().filter(|path| p.is_match(path)) {
        let shown = String::from_utf8_lossy(path);
        prop_assert!(path.starts_with(p.prefix()), "{glob} {shown:?}");
        prop_assert!(path.ends_with(p.suffix()), "{glob} {shown:?}");
        prop_assert!(
            path.starts_with(p.literal_prefix_dir().as_bytes()),
            "{glob} {shown:?}"
        );
    }
    Ok(())
}

fn coverage_holds(globs: &[String], dir: &[u8], below: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let Ok(s) = PatternSet::new(globs) else {
        return Ok(());
    };
    let valid = |path: &[u8]| path.split(|&b| b == b'/').all(|c| c != b"." && c != b"..");
    if !valid(dir) || !s.matches_everything_under(dir) {
        return Ok(());
    }
    let shown = String::from_utf8_lossy(dir);
    prop_assert!(
        s.is_match(dir) || s.patterns().iter().any(|p| p.names_dir(dir)),
        "{shown:?}"
    );
    for tail in below {
        let mut path = dir.to_vec();
        path.push(b'/');
        path.extend_from_slice(tail);
        let path_shown = String::from_utf8_lossy(&path);
        prop_assert!(
            !valid(&path) || s.is_match(&path),
            "{globs:?} under {shown:?}: {path_shown:?}"
        );
    }
    Ok(())
}
