//! The gate's own cases: every rule and every bypass class (`tests/cases.jsonl`).

use std::path::PathBuf;

use super::support::{Fixture, read_cases, run_cases};

#[test]
fn own_cases() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cases.jsonl");
    let cases = read_cases(&path);
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    let fx = Fixture::new();
    let (passed, failures) = run_cases(&fx, &cases);
    println!("own cases: {passed}/{} pass", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
