//! Every case of the shared corpus, on a real repository with two live sessions.

use std::path::PathBuf;

use super::support::{Fixture, read_cases, run_cases};

fn corpus_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/commands.jsonl")
}

#[test]
fn shared_corpus() {
    let path = corpus_path();
    assert!(
        path.exists(),
        "the shared corpus is missing at {} (expected ../../../shared/corpus/commands.jsonl from the crate)",
        path.display()
    );
    let cases = read_cases(&path);
    assert!(
        cases.len() >= 80,
        "the corpus has only {} cases",
        cases.len()
    );
    let fx = Fixture::new();
    let (passed, failures) = run_cases(&fx, &cases);
    println!("corpus: {passed}/{} cases pass", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Prints every corpus decision with its rules (run with `--no-capture` to read them).
#[test]
fn corpus_explained() {
    let path = corpus_path();
    let cases = read_cases(&path);
    let fx = Fixture::new();
    let ctx = fx.ctx();
    for case in &cases {
        let cmd = fx.expand(&case.cmd);
        let decision = paddock_gate::decide(&ctx, &cmd);
        let rules: Vec<String> = decision
            .findings
            .iter()
            .map(|f| format!("{}[{}]", f.rule, f.word))
            .collect();
        println!(
            "{:5} {:60} {}",
            decision.verdict.as_str(),
            case.cmd.replace('\n', "\\n"),
            rules.join(" ")
        );
    }
}
