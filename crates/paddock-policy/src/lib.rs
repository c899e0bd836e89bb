//! paddock's policy: what a session may write, what it may run, how it is isolated and where
//! its decisions are recorded.
//!
//! The crate is pure: it parses and validates text and answers questions about paths. It does no
//! I/O of its own (the caller reads the file) and spawns nothing.
//!
//! ```
//! use paddock_policy::{glob::PatternSet, Policy};
//!
//! let policy = Policy::builtin();
//! assert!(policy.protected().is_match(b".handshake/gov/rules.md"));
//!
//! let scope = PatternSet::new(["src/**", "tests/"]).expect("valid globs");
//! assert!(scope.is_match(b"src/a/b.rs"));
//! assert!(!scope.is_match(b"docs/guide.md"));
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod glob;
pub mod rules;
mod schema;

pub use schema::{
    Action, BUILTIN_POLICY, BUILTIN_POLICY_NAME, CheckpointPolicy, CommandRules, CustomRule,
    Diagnostic, Durability, Error, IsolationMode, IsolationPolicy, LedgerPolicy, Policy,
    SandboxLevel, ScratchPolicy, load,
};
