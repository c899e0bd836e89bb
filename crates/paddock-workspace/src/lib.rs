//! paddock's workspace: sessions, the registry, worktrees, scope locks and cleanup.
//!
//! A [`Workspace`] is opened once per command from any directory inside a repository (the main
//! worktree or a session's). Sessions live in a registry under the *common* git dir
//! (`$GIT_COMMON_DIR/paddock/sessions/`), so every worktree sees the same truth; every write
//! happens under one `flock` and replaces a file atomically.
//!
//! ```no_run
//! use paddock_workspace::{start, Workspace};
//!
//! let workspace = Workspace::open(std::path::Path::new(".")).expect("a repository");
//! let session = workspace
//!     .start(start::Options { scope: vec!["src/**".into()], ..Default::default() })
//!     .expect("isolation established");
//! println!("{} works in {}", session.id, session.worktree.display());
//! ```
#![deny(missing_docs)]
// Unsafe code is denied workspace-wide; the one exception maps the index (`changes::index`).
#![deny(unsafe_code)]

pub mod approvals;
pub mod changes;
pub mod cleanup;
pub mod confine;
pub mod git;
pub mod guard;
pub mod hooks;
pub mod merge;
pub mod record;
pub mod reflog;
pub mod registry;
pub mod repo;
pub mod session;
pub mod start;
pub mod turn;
pub mod watch;
mod workspace;

pub use repo::Repo;
pub use session::{Mode, Session, State};
pub use workspace::{Workspace, open};
