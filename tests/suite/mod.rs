mod approvals;
mod harness;
mod hooks;
mod merge;
mod policy;
mod sessions;
mod watch;
