mod harness;
mod hooks;
mod policy;
mod sessions;
