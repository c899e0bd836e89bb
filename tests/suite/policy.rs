//! `paddock policy check` and invalid policies.

use super::harness::TestRepo;

#[test]
fn the_builtin_policy_is_valid() {
    let repo = TestRepo::new();
    let out = repo.paddock(&["policy", "check", "--json"]).ok().json();
    assert_eq!(out["valid"], true);
    assert!(out["file"].as_str().is_some_and(|f| f.contains("built-in")));
}

#[test]
fn an_invalid_policy_names_file_line_and_column() {
    let repo = TestRepo::new();
    repo.write(
        "bad.yaml",
        "version: 1\nprotected:\n  - ../out\nisolation:\n  ttl: 1h\n  colour: red\n",
    );
    let run = repo.paddock(&["policy", "check", "bad.yaml"]).fails(2);
    run.stderr_has("bad.yaml:6:3: unknown field");
    repo.write(
        "bad2.yaml",
        "version: 1\nprotected:\n  - ../out\n  - '[oops'\n",
    );
    let out = repo
        .paddock(&["policy", "check", "bad2.yaml", "--json"])
        .fails(2)
        .json();
    assert_eq!(out["valid"], false);
    let lines: Vec<u64> = out["diagnostics"]
        .as_array()
        .expect("a")
        .iter()
        .map(|d| d["line"].as_u64().expect("l"))
        .collect();
    assert_eq!(lines, vec![3, 4]);
    assert!(
        out["diagnostics"][0]["help"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    );
}

#[test]
fn an_invalid_repository_policy_stops_everything() {
    let repo = TestRepo::new();
    repo.write(
        ".paddock/policy.yaml",
        "version: 1\nisolation: {ttl: forever}\n",
    );
    let run = repo
        .paddock(&["session", "start", "--scope", "src/**", "--json"])
        .fails(2);
    assert_eq!(run.json()["error"]["kind"], "invalid-policy");
    repo.paddock(&["policy", "check"])
        .fails(2)
        .stderr_has("policy.yaml:2:");
    assert!(repo.registry_snapshot().is_empty());
}

#[test]
fn init_is_idempotent() {
    let repo = TestRepo::new();
    repo.paddock(&["init"]).ok();
    repo.paddock(&["init", "--json"]).ok();
    assert!(repo.state_dir().join("sessions").is_dir());
}
