//! paddock-sandbox's integration tests: real programs confined on the real kernel, checked on the
//! real filesystem afterwards.
//!
//! Tests that need Landlock fail on a kernel without it, saying so, unless
//! `PADDOCK_TEST_ALLOW_NO_LANDLOCK=1` is set; then they print that they skipped and why.

mod suite;
