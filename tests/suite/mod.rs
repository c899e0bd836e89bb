mod approvals;
mod harness;
mod install;
mod hooks;
mod merge;
mod policy;
mod sessions;
mod watch;
