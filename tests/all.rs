//! End-to-end tests: the real `paddock` binary on real git repositories in temp dirs.

mod suite;
