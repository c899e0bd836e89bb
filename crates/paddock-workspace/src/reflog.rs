//! Whether a branch moved only through git: its reflog must be one unbroken chain ending at
//! the branch's head.
//!
//! A confined session shares the directory of the session branches with the others, and the
//! read-only bind that keeps it off another session's branch file lasts only until that file
//! is replaced (the other session's next commit). A write that slips through that window is
//! made without git, so it leaves no reflog entry: the next entry's old id (or the head itself)
//! no longer matches the last entry's new id. `finish` refuses such a branch.

use std::path::{Path, PathBuf};

/// A branch whose history of moves does not add up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "branch {branch} moved outside git: {what} (reflog {}, line {line}); its tip may not be \
     the session's work, so an operator should inspect `git reflog {branch}` and cancel the \
     session (its work is archived)",
    log.display()
)]
pub struct Broken {
    /// The branch, e.g. `paddock/a`.
    pub branch: String,
    /// The reflog file.
    pub log: PathBuf,
    /// The 1-based line where the chain breaks (one past the end when the head differs).
    pub line: usize,
    /// What does not match.
    pub what: String,
}

/// Checks the reflog of `refs/heads/<branch>` under `common_dir` against `head`. A branch
/// without a reflog (`core.logAllRefUpdates=false`) cannot be checked and passes.
pub fn check(common_dir: &Path, branch: &str, head: &str) -> Result<(), Broken> {
    let log = common_dir.join("logs/refs/heads").join(branch);
    let Ok(text) = std::fs::read(&log) else {
        return Ok(());
    };
    let broken = |line: usize, what: String| Broken {
        branch: branch.to_owned(),
        log: log.clone(),
        line,
        what,
    };
    let mut last: Option<&[u8]> = None;
    let mut count = 0;
    for (i, entry) in text.split(|&b| b == b'\n').enumerate() {
        if entry.is_empty() {
            continue;
        }
        count = i + 1;
        let mut ids = entry.splitn(3, |&b| b == b' ');
        let (Some(old), Some(new)) = (ids.next(), ids.next()) else {
            return Err(broken(count, "a malformed entry".to_owned()));
        };
        if let Some(previous) = last
            && previous != old
        {
            return Err(broken(
                count,
                format!(
                    "the entry moves it from {} but the one before left it at {}",
                    String::from_utf8_lossy(old),
                    String::from_utf8_lossy(previous)
                ),
            ));
        }
        last = Some(new);
    }
    match last {
        Some(tip) if tip != head.as_bytes() => Err(broken(
            count + 1,
            format!(
                "its head is {head} but git last moved it to {}",
                String::from_utf8_lossy(tip)
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const C: &str = "3333333333333333333333333333333333333333";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    fn with_log(lines: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tmp");
        let log = dir.path().join("logs/refs/heads/paddock/a");
        std::fs::create_dir_all(log.parent().expect("parent")).expect("mkdir");
        let text: String = lines
            .iter()
            .map(|(old, new)| format!("{old} {new} t <t@x> 1795328706 +0000\tcommit: x\n"))
            .collect();
        std::fs::write(&log, text).expect("write");
        dir
    }

    #[test]
    fn an_unbroken_chain_ending_at_the_head_passes() {
        let dir = with_log(&[(ZERO, A), (A, B)]);
        assert_eq!(check(dir.path(), "paddock/a", B), Ok(()));
    }

    #[test]
    fn a_move_without_git_breaks_the_chain() {
        // Moved to C by hand after B; the session's next commit then logged C -> A.
        let dir = with_log(&[(ZERO, A), (A, B), (C, A)]);
        let err = check(dir.path(), "paddock/a", A).expect_err("broken");
        assert_eq!(err.line, 3);
        // Moved by hand and nothing since: the head is not where git left it.
        let dir = with_log(&[(ZERO, A), (A, B)]);
        let err = check(dir.path(), "paddock/a", C).expect_err("broken");
        assert_eq!(err.line, 3);
        assert!(err.to_string().contains("moved outside git"), "{err}");
    }

    #[test]
    fn no_reflog_cannot_be_checked() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_eq!(check(dir.path(), "paddock/a", A), Ok(()));
    }
}
