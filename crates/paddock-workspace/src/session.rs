//! What a session is, as stored in the registry.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// How a session is isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Its own worktree on branch `paddock/<id>`.
    Worktree,
    /// A scope lock in a shared worktree.
    Lock,
}

impl Mode {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Worktree => "worktree",
            Mode::Lock => "lock",
        }
    }
}

impl From<paddock_policy::IsolationMode> for Mode {
    fn from(mode: paddock_policy::IsolationMode) -> Mode {
        match mode {
            paddock_policy::IsolationMode::Worktree => Mode::Worktree,
            paddock_policy::IsolationMode::Lock => Mode::Lock,
        }
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Working.
    Active,
    /// A violation or conflict needs a person; see [`Session::blocked_reason`].
    Blocked,
    /// Work handed in as a merge artifact, waiting for `paddock merge`.
    Finished,
    /// `paddock merge` recorded the merge it is about to make (see [`Session::merging`]) and
    /// may have moved the target: running `paddock merge` again (or `paddock session gc`)
    /// finishes it, or takes the session back to [`State::Finished`] when the target never
    /// moved.
    Merging,
    /// Merged into its target.
    Merged,
    /// Cancelled; unmerged work archived.
    Cancelled,
    /// Its TTL ran out; unmerged work archived.
    Expired,
}

impl State {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Blocked => "blocked",
            State::Finished => "finished",
            State::Merging => "merging",
            State::Merged => "merged",
            State::Cancelled => "cancelled",
            State::Expired => "expired",
        }
    }

    /// Live sessions hold their scope and their worktree.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            State::Active | State::Blocked | State::Finished | State::Merging
        )
    }
}

/// A merge `paddock merge` is about to make or has made, saved in the registry before the
/// target moves: whoever finds it (`paddock merge` run again, `paddock session gc`) can tell
/// whether the target moved and finish the job (the main checkout, the worktree, the state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeProgress {
    /// The branch merged into.
    pub target: String,
    /// Its tip before the merge.
    pub old: String,
    /// Its tip after the merge (`old` when the work was there already).
    pub new: String,
    /// The session head merged.
    pub head: String,
    /// `merge-commit` or `already-merged`.
    pub how: String,
}

/// One session, as stored in `$GIT_COMMON_DIR/paddock/sessions/<id>.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// Unique id (also the worktree's directory name and the branch suffix).
    pub id: String,
    /// The agent role it runs for.
    pub role: String,
    /// Declared scope: repo-relative globs.
    pub scope: Vec<String>,
    /// Worktree or lock.
    pub mode: Mode,
    /// Where the session works: its own worktree, or the shared one in lock mode.
    pub worktree: PathBuf,
    /// `paddock/<id>` in worktree mode.
    pub branch: Option<String>,
    /// The commit it started from.
    pub base: String,
    /// The branch its work goes back to.
    pub target: String,
    /// When it started (RFC 3339, UTC).
    pub created: String,
    /// When its TTL runs out (RFC 3339, UTC).
    pub expires: String,
    /// Where it is in its life.
    pub state: State,
    /// Why it is blocked, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_reason: Option<String>,
    /// The ref holding its archived unmerged work, once archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_ref: Option<String>,
    /// The merge under way, from just before the target moves until the session is saved as
    /// merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merging: Option<MergeProgress>,
    /// When the state last changed (RFC 3339, UTC).
    pub updated: String,
}

impl Session {
    /// The expiry time; an unparsable one counts as already expired (fail closed).
    pub fn expires_at(&self) -> SystemTime {
        humantime::parse_rfc3339(&self.expires).unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Whether its TTL ran out at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        now >= self.expires_at()
    }

    /// Live and not past its TTL: it holds its scope.
    pub fn holds_scope(&self, now: SystemTime) -> bool {
        self.state.is_live() && !self.is_expired(now)
    }
}

/// Formats a time as RFC 3339 UTC, seconds precision.
pub fn timestamp(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Parses a duration such as `90s`, `15m`, `8h`, `2d`.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err(format!("TTL {text:?} is zero")),
        Ok(d) => Ok(d),
        Err(err) => Err(format!(
            "{text:?} is not a duration ({err}); write e.g. 90s, 15m, 8h, 2d"
        )),
    }
}

/// Checks a session id or role: it names a directory, a branch and a ref.
pub fn validate_name(what: &str, name: &str) -> Result<(), String> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if name.is_empty() || name.len() > 64 {
        Err(format!("{what} must be 1 to 64 characters long"))
    } else if !ok_chars {
        Err(format!(
            "{what} {name:?} may only contain letters, digits, `.`, `_` and `-`"
        ))
    } else if !name.as_bytes()[0].is_ascii_alphanumeric() {
        Err(format!("{what} {name:?} must start with a letter or digit"))
    } else if name.contains("..") || name.ends_with(".lock") || name.ends_with('.') {
        Err(format!(
            "{what} {name:?} cannot contain `..` or end in `.` or `.lock`"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("id", "agent-1").is_ok());
        assert!(validate_name("id", "a.b_c").is_ok());
        for bad in [
            "",
            "-x",
            "a/b",
            "a..b",
            "x.lock",
            "ü",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(validate_name("id", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ttl() {
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("soon").is_err());
    }
}
