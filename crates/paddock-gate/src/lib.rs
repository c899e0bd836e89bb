//! paddock's command gate: decides, before a shell command line runs, whether an agent's
//! session may run it.
//!
//! The gate parses the command line with a real shell parser (`brush-parser`) and follows it the
//! way the shell would: lists, pipelines, subshells, loops, functions, redirects, here-documents,
//! quoting, command and process substitution. It unwraps wrappers (`env`, `sudo`, `xargs`,
//! `find -exec`, ...), re-parses nested shells (`sh -c '...'`), understands git's global options,
//! aliases and option abbreviations, tracks `cd`, and resolves `..` and symlinks before judging a
//! path against the session's scope, the protected paths and the other sessions' worktrees.
//! What it cannot know before the command runs (`eval` of computed text, a command name in a
//! variable, a script piped into a shell, an interpreter one-liner) is refused when it could do
//! harm. It never allows on error: a command line it cannot parse is refused
//! (`gate.parse-error`).
//!
//! The answer is a [`Decision`]: a [`Verdict`] and the [`Finding`]s behind it, each naming the
//! rule (see `paddock_policy::rules::CATALOGUE`), the offending word, its byte span and a reason
//! that says how to rewrite the command. Decisions depend only on the command, the [`Context`]
//! and the file system (never on time), and take a few microseconds.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use paddock_gate::{decide, ContextBuilder, Session, Verdict};
//! use paddock_policy::{glob::PatternSet, Policy};
//!
//! let repo = tempfile::tempdir()?;
//! std::fs::create_dir_all(repo.path().join("src"))?;
//! let ctx = ContextBuilder::new(repo.path(), repo.path())
//!     .policy(&Policy::builtin())
//!     .session(Session {
//!         id: "s1".into(),
//!         worktree: repo.path().into(),
//!         scope: PatternSet::new(["src/**", "tests/**"])?,
//!         branch: Some("paddock/s1".into()),
//!     })
//!     .build()?;
//!
//! assert_eq!(decide(&ctx, "cargo test && git status").verdict, Verdict::Allow);
//! assert_eq!(decide(&ctx, "echo 'git reset --hard' >> src/notes.md").verdict, Verdict::Allow);
//!
//! let decision = decide(&ctx, "sh -c 'cd .. && git clean -fdx'");
//! assert_eq!(decision.verdict, Verdict::Deny);
//! let refusal = decision.refusal().expect("refused");
//! assert_eq!(refusal.rule, "git.clean");
//! assert_eq!(refusal.word, "-fdx");
//!
//! let decision = decide(&ctx, "rm -rf docs/*.md");
//! assert_eq!(decision.refusal().map(|f| f.rule), Some("fs.delete.outside-scope"));
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod commands;
pub mod context;
mod custom;
mod decision;
mod git;
mod opts;
mod paths;
mod syntax;
mod walk;

use std::panic::{AssertUnwindSafe, catch_unwind};

pub use context::{Approval, Context, ContextBuilder, Session};
pub use decision::{Decision, Finding, Verdict};

/// Decides whether `command` (one shell command line, possibly with several lines, lists and
/// nested shells) may run in the session `ctx` describes.
///
/// Never panics and never fails: a command it cannot parse or analyse is refused with the rule
/// `gate.parse-error`.
pub fn decide(ctx: &Context, command: &str) -> Decision {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut walker = walk::Walker::new(ctx, command);
        let mut state = walk::State::initial(ctx);
        walker.walk_text(command, syntax::Origin::At(0), &mut state);
        walker.into_findings()
    }));
    let (findings, may_change) = match outcome {
        Ok(result) => result,
        Err(_) => (
            vec![Finding {
                rule: "gate.parse-error",
                action: paddock_policy::Action::Deny,
                approved: false,
                reason:
                    "the gate failed internally while analysing this command, so it refuses it; \
                     please report it"
                        .to_owned(),
                word: command.to_owned(),
                span: (0, command.len()),
                target: None,
            }],
            true,
        ),
    };
    Decision::from_findings(findings, may_change)
}
