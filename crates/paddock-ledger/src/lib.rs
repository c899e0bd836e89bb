//! paddock-ledger (being built)
