//! paddock-gate (being built)
