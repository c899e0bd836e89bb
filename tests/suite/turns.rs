//! `paddock turn run|replay|list|show`: every turn starts from a reset context, is pinned in
//! the ledger, and can be replayed from its pins.
//!
//! These tests need the kernel's Landlock (and, for `full`, user namespaces): a kernel without
//! it fails them with the sandbox's refusal message, never a silent pass.

use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;
use serde_json::Value;

use super::harness::{Run, TestRepo, paddock_in};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/turns");

/// A repository with one worktree session `s` on `scope`; returns the session's worktree.
fn session(repo: &TestRepo, scope: &[&str]) -> PathBuf {
    let json = repo.start("s", scope);
    PathBuf::from(json["worktree"].as_str().expect("worktree"))
}

/// `paddock turn run --json --session s ARGS`: the pin on stdout.
fn turn(repo: &TestRepo, args: &[&str]) -> Run {
    let mut all = vec!["turn", "run", "--json", "--session", "s"];
    all.extend_from_slice(args);
    repo.paddock(&all)
}

fn history(repo: &TestRepo) -> Vec<Value> {
    match repo.paddock(&["turn", "list", "--json"]).ok().json() {
        Value::Array(entries) => entries,
        other => panic!("turn list --json is not an array: {other}"),
    }
}

fn blob_path(repo: &TestRepo, hash: &str) -> PathBuf {
    let hex = hash.strip_prefix("b3:").expect("b3: hash");
    repo.state_dir().join("blobs").join(&hex[..2]).join(hex)
}

trait StdoutHas {
    fn stdout_has(self, text: &str) -> Run;
}

impl StdoutHas for Run {
    #[track_caller]
    fn stdout_has(self, text: &str) -> Run {
        assert!(
            self.stdout().contains(text),
            "stdout lacks {text:?}:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

#[test]
fn a_turn_cannot_read_what_a_previous_turn_left_in_its_scratch_dir() {
    let repo = TestRepo::new();
    session(&repo, &["src/**"]);
    // The first turn keeps its scratch dir, so the file really is still there.
    let first = turn(
        &repo,
        &[
            "--role",
            "claim",
            "--keep",
            "--",
            "sh",
            "-c",
            "echo private > \"$PADDOCK_TURN_SCRATCH/notes\"; echo \"$PADDOCK_TURN_SCRATCH\"",
        ],
    )
    .ok();
    let first_pin = first.json();
    let scratch = first
        .stderr()
        .lines()
        .next()
        .expect("the scratch path")
        .trim()
        .to_owned();
    let notes = Path::new(&scratch).join("notes");
    assert_eq!(std::fs::read_to_string(&notes).expect("kept"), "private\n");
    assert!(first_pin["kept"].is_string());

    let second = turn(
        &repo,
        &[
            "--role",
            "glance",
            "--",
            "sh",
            "-c",
            "cat \"$0\" || exit 9; echo read it",
            notes.to_str().expect("utf-8"),
        ],
    )
    .fails(9);
    assert!(
        second.stderr().contains("Permission denied"),
        "{}",
        second.stderr()
    );
    assert!(!second.stderr().contains("private"));
    // Nor can it list the turns' directories to find one.
    let turns_dir = repo.root.join(".git/paddock-turns");
    turn(
        &repo,
        &[
            "--role",
            "glance",
            "--",
            "ls",
            turns_dir.to_str().expect("utf-8"),
        ],
    )
    .fails(2);
    // Its own scratch is fresh and empty, and HOME and TMPDIR point there.
    let own = turn(
        &repo,
        &[
            "--role",
            "glance",
            "--",
            "sh",
            "-c",
            "ls -A \"$HOME\" \"$TMPDIR\"; test \"$HOME\" = \"$PADDOCK_TURN_SCRATCH\"",
        ],
    )
    .ok();
    assert!(
        own.stderr()
            .lines()
            .all(|l| l.ends_with(':') || l.is_empty()),
        "{}",
        own.stderr()
    );
    // Without --keep the scratch dir is gone afterwards.
    let pin = own.json();
    assert!(!turns_dir.join(text(&pin["turn"])).exists());

    // Neither the system temp dir nor the session's private one (made when /tmp holds another
    // session's worktree) is open to a turn: they outlive it.
    repo.paddock(&["session", "start", "--id", "other", "--scope", "docs/**"])
        .ok();
    let private_tmp = std::env::temp_dir().join("paddock-s");
    let run = turn(&repo, &["--role", "r", "--", "sh", "-c", "mkdir -p \"$0\" 2>/dev/null; touch \"$0/leak\" || touch /tmp/paddock-turn-leak || exit 9", private_tmp.to_str().expect("utf-8")]).fails(9);
    assert!(
        run.stderr().contains("Permission denied"),
        "{}",
        run.stderr()
    );
    assert!(!private_tmp.join("leak").exists());
}

#[test]
fn a_turn_cannot_read_the_scratch_dir_of_a_turn_that_started_after_it() {
    let repo = TestRepo::new();
    let worktree = session(&repo, &["out/**"]);
    std::fs::create_dir_all(worktree.join("out")).expect("mkdir");
    // B starts first and waits for A to say where its scratch is (through the worktree, which
    // both may read); A's directory did not exist when B's sandbox was prepared.
    let b = paddock_in(&repo.root)
        .args([
            "turn",
            "run",
            "--json",
            "--session",
            "s",
            "--role",
            "b",
            "--",
            "sh",
            "-c",
            "for i in $(seq 100); do [ -s out/a-path ] && break; sleep 0.05; done; \
             cat \"$(cat out/a-path)/notes\" || exit 9",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn b");
    std::thread::sleep(std::time::Duration::from_millis(300));
    turn(
        &repo,
        &["--role", "a", "--keep", "--", "sh", "-c", "echo secret > \"$PADDOCK_TURN_SCRATCH/notes\"; echo \"$PADDOCK_TURN_SCRATCH\" > out/a-path"],
    )
    .ok();
    let b = Run {
        output: b.wait_with_output().expect("b ran"),
    }
    .fails(9);
    assert!(b.stderr().contains("Permission denied"), "{}", b.stderr());
    assert!(!b.stderr().contains("secret"));
}

#[test]
fn a_turn_cannot_read_an_undeclared_file_outside_the_worktree() {
    let repo = TestRepo::new();
    let worktree = session(&repo, &["src/**"]);
    let outside = repo.tmp.path().join("outside.txt");
    std::fs::write(&outside, "undeclared\n").expect("write");
    // Also a file in the main worktree, which is not the session's.
    repo.write("main-only.txt", "main worktree\n");
    let main_only = repo.path("main-only.txt");

    for path in [&outside, &main_only] {
        let run = turn(
            &repo,
            &["--role", "r", "--", "cat", path.to_str().expect("utf-8")],
        )
        .fails(1);
        assert!(
            run.stderr().contains("Permission denied"),
            "{}",
            run.stderr()
        );
    }
    // Its worktree it reads.
    turn(&repo, &["--role", "r", "--", "cat", "src/lib.rs"]).ok();
    assert!(worktree.join("src/lib.rs").exists());

    // Declared, it is readable, and pinned by hash.
    let run = turn(
        &repo,
        &[
            "--role",
            "r",
            "--input",
            outside.to_str().expect("utf-8"),
            "--",
            "cat",
            outside.to_str().expect("utf-8"),
        ],
    )
    .ok();
    assert_eq!(run.stderr().lines().next(), Some("undeclared"));
    let pin = run.json();
    let input = &pin["input_files"][0];
    assert_eq!(input["path"], outside.to_str().expect("utf-8"));
    assert_eq!(input["size"], 11);
    let hash = text(&input["blake3"]);
    assert_eq!(
        std::fs::read(blob_path(&repo, hash)).expect("blob"),
        b"undeclared\n"
    );
    assert_eq!(pin["inputs"][outside.to_str().expect("utf-8")], hash);
}

#[test]
fn caller_environment_does_not_leak_in_unless_the_policy_allows_it() {
    let repo = TestRepo::new();
    session(&repo, &["src/**"]);
    let env_of = |repo: &TestRepo| {
        let run = paddock_in(&repo.root)
            .args([
                "turn",
                "run",
                "--json",
                "--session",
                "s",
                "--role",
                "r",
                "--",
                "env",
            ])
            .env("PADDOCK_TEST_SECRET", "hunter2")
            .env("AWS_SECRET_ACCESS_KEY", "also-secret")
            .output()
            .expect("runs");
        let run = Run { output: run }.ok();
        (run.stderr(), run.json())
    };
    let (env, pin) = env_of(&repo);
    assert!(
        !env.contains("hunter2") && !env.contains("also-secret"),
        "{env}"
    );
    let scratch = env
        .lines()
        .find_map(|l| l.strip_prefix("PADDOCK_TURN_SCRATCH="))
        .expect("scratch")
        .to_owned();
    assert!(
        env.contains(&format!("HOME={scratch}\n")) && env.contains(&format!("TMPDIR={scratch}\n")),
        "{env}"
    );
    assert!(env.contains(&format!("PADDOCK_TURN_ID={}\n", text(&pin["turn"]))));
    assert!(env.contains("PADDOCK_SESSION=s\n") && env.contains("PADDOCK_TURN_PINS="));
    assert!(
        !pin["env"]
            .as_array()
            .expect("names")
            .iter()
            .any(|n| n == "PADDOCK_TEST_SECRET")
    );

    // Allowed by the policy, it is passed (and named in the pin).
    repo.write(
        ".paddock/policy.yaml",
        "version: 1\nturns:\n  env: [PATH, LANG, PADDOCK_TEST_SECRET]\n",
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    let (env, pin) = env_of(&repo);
    assert!(env.contains("PADDOCK_TEST_SECRET=hunter2\n"), "{env}");
    assert!(!env.contains("also-secret"), "{env}");
    assert!(
        pin["env"]
            .as_array()
            .expect("names")
            .iter()
            .any(|n| n == "PADDOCK_TEST_SECRET")
    );
}

#[test]
fn a_replay_with_a_tampered_or_missing_input_blob_is_refused() {
    let repo = TestRepo::new();
    session(&repo, &["out/**"]);
    let pin = turn(
        &repo,
        &[
            "--role",
            "r",
            "--input",
            "docs/guide.md",
            "--output",
            "out/copy.md",
            "--",
            "cp",
            "docs/guide.md",
            "out/copy.md",
        ],
    )
    .ok()
    .json();
    let id = text(&pin["turn"]).to_owned();
    let blob = blob_path(&repo, text(&pin["inputs"]["docs/guide.md"]));
    // Intact, it replays identically.
    repo.paddock(&["turn", "replay", &id]).ok();

    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&blob, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::write(&blob, "# guide, edited after the fact\n").expect("tamper");
    let run = repo
        .paddock(&["turn", "replay", &id])
        .fails(2)
        .stderr_has("damaged");
    assert!(run.stderr().contains("docs/guide.md"), "{}", run.stderr());
    std::fs::remove_file(&blob).expect("remove");
    repo.paddock(&["turn", "replay", &id])
        .fails(2)
        .stderr_has("missing");
    // Neither refused replay counts as a replay; no replay worktree is left behind.
    assert_eq!(
        history(&repo)
            .iter()
            .filter(|e| e["kind"] == "replay")
            .count(),
        1
    );
    assert_eq!(repo.git(&["worktree", "list"]).lines().count(), 2);
}

#[test]
fn a_replay_of_a_nondeterministic_command_reports_the_difference() {
    let repo = TestRepo::new();
    session(&repo, &["out/**"]);
    let pin = turn(
        &repo,
        &[
            "--role",
            "r",
            "--output",
            "out/t.txt",
            "--",
            "sh",
            "-c",
            "echo same; date +%s%N > out/t.txt",
        ],
    )
    .ok()
    .json();
    let id = text(&pin["turn"]).to_owned();
    let replay = repo
        .paddock(&["turn", "replay", &id, "--compare", "--json"])
        .fails(1)
        .json();
    assert_eq!(replay["replay_of"], id.as_str());
    let comparison = &replay["comparison"];
    assert_eq!(comparison["identical"], false);
    assert_eq!(comparison["exit_same"], true);
    assert_eq!(comparison["env_same"], true);
    let outputs = comparison["outputs"].as_array().expect("outputs");
    let names: Vec<&str> = outputs.iter().map(|o| text(&o["name"])).collect();
    assert_eq!(names, ["out/t.txt", "<stdout>", "<stderr>"]);
    let t = &outputs[0];
    assert_eq!(t["identical"], false);
    assert!(
        t["first_difference"].as_u64().is_some_and(|o| o < 20),
        "{t}"
    );
    assert!(
        text(&t["diff"]).contains("\n-") && text(&t["diff"]).contains("\n+"),
        "{t}"
    );
    assert_eq!(outputs[1]["identical"], true);
    // The human report says the same, and the replay is recorded, linked to the original.
    repo.paddock(&["turn", "replay", &id, "--compare"])
        .fails(1)
        .stdout_has("different");
    let show = repo.paddock(&["turn", "show", &id, "--json"]).ok().json();
    assert_eq!(show["replays"].as_array().expect("replays").len(), 2);
    assert_eq!(show["replays"][0]["kind"], "replay");
}

#[test]
fn without_landlock_isolation_is_refused_or_degraded_by_policy_never_recorded_as_isolated() {
    let repo = TestRepo::new();
    session(&repo, &["src/**"]);
    let outside = repo.tmp.path().join("outside.txt");
    std::fs::write(&outside, "undeclared\n").expect("write");
    let simulated = |what: &str| {
        let output = paddock_in(&repo.root)
            .args([
                "turn",
                "run",
                "--json",
                "--session",
                "s",
                "--role",
                "r",
                "--",
                "cat",
                outside.to_str().expect("utf-8"),
            ])
            .env("PADDOCK_SANDBOX_SIMULATE", what)
            .output()
            .expect("runs");
        Run { output }
    };

    // The default policy requires Landlock: refused, and the refusal is recorded.
    let refused = simulated("no-landlock").fails(126);
    assert_eq!(refused.json()["error"]["kind"], "refused");
    assert!(
        refused.stderr().contains("no-landlock"),
        "{}",
        refused.stderr()
    );
    let entries = history(&repo);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["kind"], "refused");
    assert_eq!(entries[0]["isolation_requested"], "isolated");
    assert_eq!(entries[0]["isolation_effective"], "refused");
    assert_eq!(entries[0]["isolation"]["sandbox_available"], "none");

    // Without user namespaces Landlock still confines: allowed, but recorded as degraded.
    let pin = simulated("no-userns").fails(1).json();
    assert_eq!(pin["isolation_effective"], "degraded");
    assert_eq!(pin["isolation"]["sandbox_effective"], "landlock");
    assert_eq!(pin["isolation"]["sandbox_requested"], "full");

    // An operator allows `none` for this session: it runs, unconfined, and says so.
    repo.paddock(&[
        "approve",
        "degraded",
        "--session",
        "s",
        "--level",
        "none",
        "--reason",
        "old kernel on this box",
    ])
    .ok();
    let run = simulated("no-landlock").ok();
    assert_eq!(run.stderr().lines().next(), Some("undeclared"));
    let pin = run.json();
    assert_eq!(pin["isolation_requested"], "isolated");
    assert_eq!(pin["isolation_effective"], "degraded");
    assert_eq!(pin["isolation"]["sandbox_effective"], "none");
    assert!(
        pin["isolation"]["approval"]
            .as_str()
            .is_some_and(|a| a.starts_with("ap-")),
        "{pin}"
    );
    let reasons = pin["isolation"]["reasons"].to_string();
    assert!(
        reasons.contains("no-landlock") && reasons.contains("approval"),
        "{reasons}"
    );
    assert!(
        history(&repo)
            .iter()
            .all(|e| e["isolation_effective"] != "isolated")
    );
}

#[test]
fn a_policy_that_requires_no_sandbox_runs_degraded_and_says_so() {
    let repo = TestRepo::new();
    repo.write(
        ".paddock/policy.yaml",
        "version: 1\nisolation:\n  sandbox:\n    require: none\n",
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "policy"]);
    session(&repo, &["src/**"]);
    let output = paddock_in(&repo.root)
        .args([
            "turn",
            "run",
            "--json",
            "--session",
            "s",
            "--role",
            "r",
            "--",
            "true",
        ])
        .env("PADDOCK_SANDBOX_SIMULATE", "no-landlock")
        .output()
        .expect("runs");
    let pin = Run { output }.ok().json();
    assert_eq!(pin["isolation_effective"], "degraded");
    assert_eq!(pin["isolation"]["sandbox_effective"], "none");
    assert!(pin["isolation"]["approval"].is_null());
    assert!(
        pin["isolation"]["reasons"]
            .to_string()
            .contains("no-landlock")
    );
}

#[test]
fn pins_repo_state_and_the_turn_chain_are_recorded() {
    let repo = TestRepo::new();
    session(&repo, &["out/**"]);
    let pin_file = repo.tmp.path().join("pins.yaml");
    std::fs::write(
        &pin_file,
        "candidates: [b, a, c]\ntie_break: {a: 1, b: 0}\n",
    )
    .expect("write");
    let first = turn(
        &repo,
        &[
            "--role",
            "claim",
            "--pin",
            "model=m-7",
            "--pin",
            "seed=42",
            "--pin-file",
            pin_file.to_str().expect("utf-8"),
            "--",
            "cat",
            "/dev/null",
        ],
    )
    .ok()
    .json();
    assert_eq!(first["number"], 1);
    assert!(first["parent"].is_null());
    assert_eq!(
        first["pins"],
        serde_json::json!({"model": "m-7", "seed": "42", "candidates": ["b", "a", "c"], "tie_break": {"a": 1, "b": 0}})
    );
    assert_eq!(first["argv"], serde_json::json!(["cat", "/dev/null"]));
    assert_eq!(first["isolation_requested"], "isolated");
    assert_eq!(first["isolation_effective"], "isolated");
    assert_eq!(first["repo"]["branch"], "paddock/s");
    assert_eq!(first["repo"]["head"], first["repo"]["base"]);
    assert_eq!(text(&first["repo"]["tree"]).len(), 40);
    assert_eq!(first["exit"]["code"], 0);
    assert!(text(&first["env_hash"]).starts_with("b3:"));
    assert!(first["duration_us"].as_u64().is_some());
    // The command sees exactly the pins, as JSON.
    let second = turn(
        &repo,
        &[
            "--role",
            "glance",
            "--pin",
            "seed=42",
            "--",
            "sh",
            "-c",
            "cat \"$PADDOCK_TURN_PINS\"; exit 3",
        ],
    )
    .fails(3);
    assert_eq!(second.stderr(), "{\n  \"seed\": \"42\"\n}\n");
    let second = second.json();
    assert_eq!(second["number"], 2);
    assert_eq!(second["parent"], first["turn"]);
    assert_eq!(second["exit"]["code"], 3);
    // A key given twice is an error, not an override.
    turn(
        &repo,
        &[
            "--role", "r", "--pin", "seed=1", "--pin", "seed=2", "--", "true",
        ],
    )
    .fails(125)
    .stderr_has("twice");

    let entries = history(&repo);
    let roles: Vec<&str> = entries.iter().map(|e| text(&e["role"])).collect();
    assert_eq!(roles, ["claim", "glance"]);
    repo.paddock(&["turn", "list"]).ok().stdout_has("glance");
    repo.paddock(&["turn", "show", text(&first["turn"])])
        .ok()
        .stdout_has("pin:       model = \"m-7\"");
    repo.paddock(&["turn", "show", "t-000000000000"]).fails(2);
    // The ledger still verifies, and its typed reader decodes the pins.
    repo.paddock(&["ledger", "verify"]).ok();
}

#[test]
fn the_three_role_pipeline_cannot_leak_between_roles_and_replays_byte_for_byte() {
    let repo = TestRepo::new();
    for script in ["claim.py", "glance.py", "extract.py"] {
        std::fs::create_dir_all(repo.path("roles")).expect("mkdir");
        std::fs::copy(
            Path::new(FIXTURES).join(script),
            repo.path(&format!("roles/{script}")),
        )
        .expect("copy");
    }
    std::fs::copy(
        Path::new(FIXTURES).join("report.txt"),
        repo.path("docs/report.txt"),
    )
    .expect("copy");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "roles"]);
    let worktree = session(&repo, &["out/**"]);
    // The shared notes go to a temp dir that does not hold the repository: a session may
    // never write one that does (it would reach the repository itself), even in shared mode.
    let shared_tmp = tempfile::tempdir_in("/var/tmp").expect("temp dir");
    let leak = shared_tmp.path().join("leak.json");
    let leak_pin = format!("leak_path={}", leak.display());
    let picks = repo.tmp.path().join("picks.yaml");
    std::fs::write(&picks, "tie_break: [c3, c2, c1]\n").expect("write");
    // In shared mode HOME is the caller's: keep it inside the test.
    let home = shared_tmp.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");

    let pipeline = |isolation: &str| -> Vec<Value> {
        let steps: [(&str, Vec<&str>); 3] = [
            (
                "claim",
                vec![
                    "--input",
                    "docs/report.txt",
                    "--output",
                    "out/claims.json",
                    "--pin",
                    "max_claims=3",
                    "--pin",
                    &leak_pin,
                ],
            ),
            (
                "glance",
                vec![
                    "--input",
                    "out/claims.json",
                    "--output",
                    "out/glance.json",
                    "--pin-file",
                    picks.to_str().expect("utf-8"),
                    "--pin",
                    &leak_pin,
                ],
            ),
            (
                "extract",
                vec![
                    "--input",
                    "out/glance.json",
                    "--output",
                    "out/extract.md",
                    "--pin",
                    "span=0:48",
                ],
            ),
        ];
        steps
            .iter()
            .map(|(role, args)| {
                let script = format!("roles/{role}.py");
                let mut all = vec![
                    "turn",
                    "run",
                    "--json",
                    "--session",
                    "s",
                    "--role",
                    role,
                    "--isolation",
                    isolation,
                ];
                all.extend(args.iter().copied());
                all.extend(["--", "python3", &script]);
                let output = paddock_in(&repo.root)
                    .args(&all)
                    .env("HOME", &home)
                    .output()
                    .expect("runs");
                Run { output }.ok().json()
            })
            .collect()
    };

    // Shared, the claim role's notes reach the glance role: the leak is real.
    pipeline("shared");
    let glance: Value = serde_json::from_str(
        &std::fs::read_to_string(worktree.join("out/glance.json")).expect("glance"),
    )
    .expect("json");
    assert_eq!(
        glance["leaked"],
        serde_json::json!(["shared temp file", "home cache"])
    );
    std::fs::remove_file(&leak).expect("shared mode wrote it");

    // Isolated, it cannot.
    let turns = pipeline("isolated");
    assert!(
        !leak.exists(),
        "an isolated turn wrote the shared temp file"
    );
    let glance: Value = serde_json::from_str(
        &std::fs::read_to_string(worktree.join("out/glance.json")).expect("glance"),
    )
    .expect("json");
    assert_eq!(glance["leaked"], serde_json::json!([]));
    assert_eq!(glance["ranked"][0]["id"], "c2");
    let extract = std::fs::read_to_string(worktree.join("out/extract.md")).expect("extract");
    assert!(
        extract.starts_with("# Extracted\n\n> Teams with 3 or more agents saw 40 percent fewer"),
        "{extract}"
    );
    for (pin, role) in turns.iter().zip(["claim", "glance", "extract"]) {
        assert_eq!(pin["role"], role);
        assert_eq!(pin["isolation_effective"], "isolated");
    }
    // The isolated turns chain: 4, 5, 6 after the three shared ones.
    assert_eq!(turns[1]["parent"], turns[0]["turn"]);
    assert_eq!(turns[2]["number"], 6);
    // What one role wrote is exactly what the next one declared and read.
    assert_eq!(
        turns[0]["outputs"]["out/claims.json"],
        turns[1]["inputs"]["out/claims.json"]
    );
    assert_eq!(
        turns[1]["outputs"]["out/glance.json"],
        turns[2]["inputs"]["out/glance.json"]
    );

    // The session's worktree moves on; every replay still reproduces every output.
    std::fs::write(worktree.join("out/claims.json"), "{}\n").expect("overwrite");
    for pin in &turns {
        let replay = repo
            .paddock(&["turn", "replay", text(&pin["turn"]), "--json"])
            .ok()
            .json();
        let comparison = &replay["comparison"];
        assert_eq!(comparison["identical"], true, "{comparison}");
        assert_eq!(comparison["outputs"].as_array().expect("outputs").len(), 3);
        assert_eq!(replay["isolation_effective"], "isolated");
    }
    // Replays ran in worktrees of their own: the session's is as the test left it.
    assert_eq!(
        std::fs::read_to_string(worktree.join("out/claims.json")).expect("read"),
        "{}\n"
    );
    assert_eq!(repo.git(&["worktree", "list"]).lines().count(), 2);
}

#[test]
fn a_write_outside_the_exact_scope_is_recorded_and_blocks_the_session() {
    let repo = TestRepo::new();
    session(&repo, &["out/*.json"]);
    // The kernel grants `out/` as a whole; the after-command check holds the exact glob.
    let pin = turn(
        &repo,
        &["--role", "r", "--", "sh", "-c", "echo '{}' > out/a.json"],
    )
    .ok()
    .json();
    assert_eq!(pin["violations"], serde_json::json!(null));
    let pin = turn(
        &repo,
        &["--role", "r", "--", "sh", "-c", "echo x > out/notes.txt"],
    )
    .ok()
    .json();
    assert_eq!(pin["violations"][0]["rule"], "fs.write.outside-scope");
    assert_eq!(pin["violations"][0]["subject"], "out/notes.txt");
    let show = repo
        .paddock(&["session", "show", "s", "--json"])
        .ok()
        .json();
    assert_eq!(show["state"], "blocked");
    assert!(
        text(&show["blocked_reason"]).contains(text(&pin["turn"])),
        "{show}"
    );
}
