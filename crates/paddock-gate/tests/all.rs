//! The integration tests of paddock-gate, as one binary (see STYLE.md).

mod suite;
