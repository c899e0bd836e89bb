//! The gate's own cases: every rule and every bypass class (`tests/cases.jsonl`).

use std::path::PathBuf;

use super::support::{Fixture, read_cases, run_cases, run_cases_in};

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

/// A policy with `commands.custom` rules of every action, on top of the built-in policy.
pub fn custom_policy() -> paddock_policy::Policy {
    let custom = r#"  rules: {}
  custom:
    - {id: no-tf-destroy, argv: [terraform, destroy], action: deny, reason: "infra is managed by CI"}
    - {id: tf-apply-needs-ok, argv: [terraform, apply], action: approval, reason: "applying needs a person"}
    - {id: no-kubectl, argv: [kubectl], action: deny, reason: "no cluster access from sessions"}
    - {id: kubectl-get-ok, argv: [kubectl, get], action: allow, reason: "reading is fine"}
    - {id: no-docker-rm, argv: [docker, "*", rm], action: deny, reason: "shared daemon"}
    - {id: no-git-gc, argv: [git, gc], action: deny, reason: "the shared object store is big"}
    - {id: rm-rf-ok, argv: [rm, -rf], action: allow, reason: "tries to loosen a built-in rule"}
    - {id: publish-recorded, argv: [cargo, publish], action: record, reason: "releases are audited"}
"#;
    let text = paddock_policy::BUILTIN_POLICY.replacen("  rules: {}\n", custom, 1);
    assert_ne!(
        text,
        paddock_policy::BUILTIN_POLICY,
        "the built-in policy changed shape"
    );
    paddock_policy::load(&text, "custom.yaml").expect("valid policy")
}

#[test]
fn custom_rule_cases() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/custom_cases.jsonl");
    let cases = read_cases(&path);
    let fx = Fixture::new();
    let ctx = fx.ctx_with_policy(&custom_policy());
    let (passed, failures) = run_cases_in(&fx, &ctx, &cases);
    println!("custom rule cases: {passed}/{} pass", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
