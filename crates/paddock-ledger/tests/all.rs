//! Integration tests of paddock-ledger: one test binary (see STYLE.md), modules under `suite/`.

mod suite;
