//! Two arbitrary globs (the input cut at its first NUL, which no glob may hold): compiling and
//! `overlap()` never panic; a reported overlap names a path both globs match; when none is
//! reported, no path derived from the two globs matches both. The matcher (globset) and the
//! automata (overlap, coverage) must agree on every path looked at.

#![no_main]

use libfuzzer_sys::fuzz_target;
use paddock_policy::glob::{PatternSet, overlap};

fuzz_target!(|data: &[u8]| {
    let (left, right) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let left = String::from_utf8_lossy(left);
    let right = String::from_utf8_lossy(right);
    let (Ok(a), Ok(b)) = (PatternSet::new([&*left]), PatternSet::new([&*right])) else {
        return;
    };
    let found = overlap(&a, &b);
    assert_eq!(
        found.is_some(),
        overlap(&b, &a).is_some(),
        "overlap is not symmetric for {left:?} and {right:?}"
    );
    match &found {
        Some(hit) => {
            // The witness is shown lossily; a non-UTF-8 witness cannot be matched back.
            if !hit.witness.contains('\u{fffd}') {
                let path = hit.witness.as_bytes();
                assert!(
                    a.is_match(path) && b.is_match(path),
                    "witness {:?} of {left:?} and {right:?} does not match both",
                    hit.witness
                );
                assert!(
                    hit.witness
                        .split('/')
                        .all(|c| !c.is_empty() && c != "." && c != ".."),
                    "witness {:?} is not a path git could hold",
                    hit.witness
                );
            }
        }
        None => {
            for path in samples(&a, &b) {
                assert!(
                    !(a.is_match(&path) && b.is_match(&path)),
                    "no overlap reported for {left:?} and {right:?}, yet both match {:?}",
                    String::from_utf8_lossy(&path)
                );
            }
        }
    }
    // Coverage (automata) against matching (globset): what is under a covered directory
    // matches. (The directory itself need not: `docs/` covers `docs` for `rm -rf docs`, yet
    // as a path glob it matches only what is under it.)
    for set in [&a, &b] {
        for path in samples(&a, &b) {
            if set.matches_everything_under(&path) {
                let mut under = path.clone();
                under.extend_from_slice(b"/x");
                assert!(
                    set.is_match(&under),
                    "{set:?} covers {:?} but does not match {:?}",
                    String::from_utf8_lossy(&path),
                    String::from_utf8_lossy(&under)
                );
            }
        }
    }
});

/// Paths a pattern suggests: its text with wildcards filled in a few ways, its literal prefix,
/// and the same under a directory. Not exhaustive: a witness search would be the overlap check
/// again; these are the paths a person would try.
fn samples(a: &PatternSet, b: &PatternSet) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for pattern in a.patterns().iter().chain(b.patterns()) {
        let text = pattern.as_str();
        let prefix = pattern.literal_prefix_dir();
        let fills = [
            text.to_owned(),
            text.replace("**/", "")
                .replace("/**", "")
                .replace(['*', '?'], ""),
            text.replace("**", "a/b").replace(['*', '?'], "a"),
            fill_classes(&text.replace("**", "x").replace(['*', '?'], "x")),
            prefix.to_owned(),
            format!("{prefix}/x"),
            format!("{}x", text.trim_end_matches('/')),
            format!("{}/x", text.trim_end_matches('/')),
        ];
        for fill in fills {
            let path = fill.trim_matches('/').replace("//", "/");
            // Only paths git could hold count as an overlap (see `overlap`).
            let holdable = path
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..");
            if holdable && !out.iter().any(|p| p == path.as_bytes()) {
                out.push(path.into_bytes());
            }
        }
    }
    out
}

/// Replaces each `[...]` class by its first member (or `x` for a negated one) and drops `\`.
fn fill_classes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '[' => {
                let negated = matches!(chars.peek(), Some('!' | '^'));
                let mut first = None;
                for inner in chars.by_ref() {
                    if inner == ']' && first.is_some() {
                        break;
                    }
                    if first.is_none() && !matches!(inner, '!' | '^') {
                        first = Some(inner);
                    }
                }
                out.push(if negated { 'x' } else { first.unwrap_or('x') });
            }
            other => out.push(other),
        }
    }
    out
}
