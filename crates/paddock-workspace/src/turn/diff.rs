//! How a replayed output differs from the recorded one: the first differing byte, and for text a
//! small unified diff.

/// Text bigger than this is summarised by sizes and offset only.
const MAX_TEXT: usize = 256 << 10;
/// Lines of context around the changed block.
const CONTEXT: usize = 3;
/// Removed or added lines shown at most, each side.
const MAX_SHOWN: usize = 20;

/// The offset of the first byte where `a` and `b` differ (the shorter length when one is a
/// prefix of the other); `None` when they are equal.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<u64> {
    if a == b {
        return None;
    }
    let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    Some(same as u64)
}

/// A unified diff of `recorded` against `replayed` with one hunk around the changed block
/// (common leading and trailing lines trimmed), when both are UTF-8 text of moderate size and
/// differ. Long blocks are cut to their first lines.
pub fn unified(recorded: &[u8], replayed: &[u8]) -> Option<String> {
    if recorded == replayed || recorded.len() > MAX_TEXT || replayed.len() > MAX_TEXT {
        return None;
    }
    let a = std::str::from_utf8(recorded).ok()?;
    let b = std::str::from_utf8(replayed).ok()?;
    if a.contains('\0') || b.contains('\0') {
        return None;
    }
    let a: Vec<&str> = a.split_inclusive('\n').collect();
    let b: Vec<&str> = b.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_end, b_end) = (a.len() - suffix, b.len() - suffix);
    let start = prefix.saturating_sub(CONTEXT);
    let (a_stop, b_stop) = (
        (a_end + CONTEXT).min(a.len()),
        (b_end + CONTEXT).min(b.len()),
    );

    let mut out = String::from("--- recorded\n+++ replayed\n");
    out.push_str(&format!(
        "@@ -{} +{} @@\n",
        range(start, a_stop - start),
        range(start, b_stop - start)
    ));
    let line = |out: &mut String, mark: char, text: &str| {
        out.push(mark);
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    };
    for text in &a[start..prefix] {
        line(&mut out, ' ', text);
    }
    for (side, mark, lines) in [
        ("removed", '-', &a[prefix..a_end]),
        ("added", '+', &b[prefix..b_end]),
    ] {
        for text in lines.iter().take(MAX_SHOWN) {
            line(&mut out, mark, text);
        }
        if lines.len() > MAX_SHOWN {
            out.push_str(&format!(
                "{mark} ... {} more line(s) {side}\n",
                lines.len() - MAX_SHOWN
            ));
        }
    }
    for text in &a[a_end..a_stop] {
        line(&mut out, ' ', text);
    }
    Some(out)
}

/// `start,len` in unified-diff form (1-based; `start,0` names the line before an empty range).
fn range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn first_differing_byte() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"ab", b"abc"), Some(2));
        assert_eq!(first_difference(b"", b"x"), Some(0));
    }

    #[test]
    fn one_hunk_around_the_change() {
        let a = "1\n2\n3\n4\n5\n6\n7\n8\n";
        let b = "1\n2\n3\n4\nfive\n6\n7\n8\n";
        assert_eq!(
            unified(a.as_bytes(), b.as_bytes()).expect("text"),
            "--- recorded\n+++ replayed\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn missing_newline_and_binary() {
        let diff = unified(b"x\n", b"x\ny").expect("text");
        assert!(
            diff.ends_with("+y\n\\ No newline at end of file\n"),
            "{diff}"
        );
        assert_eq!(unified(b"\0\x01", b"\0\x02"), None);
        assert_eq!(unified(b"same", b"same"), None);
    }

    #[test]
    fn long_blocks_are_cut() {
        let a: String = (0..100).map(|i| format!("a{i}\n")).collect();
        let b: String = (0..100).map(|i| format!("b{i}\n")).collect();
        let diff = unified(a.as_bytes(), b.as_bytes()).expect("text");
        assert!(diff.contains("- ... 80 more line(s) removed\n"), "{diff}");
        assert!(diff.contains("+ ... 80 more line(s) added\n"), "{diff}");
        assert!(diff.lines().count() < 50);
    }
}
