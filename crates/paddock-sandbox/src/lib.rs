//! paddock-sandbox (being built)
