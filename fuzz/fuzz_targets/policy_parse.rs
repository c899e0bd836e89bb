//! Arbitrary bytes as a policy file: `paddock_policy::load` never panics, every refusal names
//! a place in the text, and an accepted policy keeps the promises the rest of paddock relies
//! on (fail-closed rules never `allow`, custom rules start with a program name).

#![no_main]

use libfuzzer_sys::fuzz_target;
use paddock_policy::{Action, load, rules};

const FILE: &str = "fuzz.yaml";

fuzz_target!(|data: &[u8]| {
    // The CLI refuses a non-UTF-8 file before parsing; lossy text reaches the parser with
    // every other byte intact.
    let text = String::from_utf8_lossy(data);
    match load(&text, FILE) {
        Ok(policy) => accepted(&policy),
        Err(err) => refused(&text, &err),
    }
});

fn refused(text: &str, err: &paddock_policy::Error) {
    assert!(
        !err.diagnostics.is_empty(),
        "a refusal without a diagnostic"
    );
    // YAML counts `\r`, `\n` and `\r\n` as line breaks: a place is at most one past the last.
    let lines = 1 + text.matches('\n').count() + text.matches('\r').count();
    for d in &err.diagnostics {
        assert_eq!(d.file, FILE);
        assert!(
            d.line >= 1 && d.column >= 1,
            "a diagnostic without a place: {d:?}"
        );
        assert!(
            d.line <= lines as u64 + 1,
            "line {} of a {lines}-line text: {d:?}",
            d.line
        );
        assert!(!d.message.is_empty() && !d.help.is_empty(), "{d:?}");
    }
    // Rendering must not panic either.
    let _ = err.to_string();
}

fn accepted(policy: &paddock_policy::Policy) {
    let commands = policy.commands();
    for rule in rules::CATALOGUE {
        if rule.fail_closed {
            assert_ne!(
                commands.action(rule.id),
                Action::Allow,
                "fail-closed rule {} set to allow",
                rule.id
            );
        }
    }
    for (i, custom) in commands.custom().iter().enumerate() {
        let program = custom.argv.first().map(String::as_str);
        assert!(
            program.is_some_and(|p| !p.is_empty()
                && p != "*"
                && !p.contains('/')
                && !p.contains(char::is_whitespace)),
            "custom rule {:?} does not start with a program name",
            custom.id
        );
        assert!(rules::find(&custom.id).is_none(), "{}", custom.id);
        assert!(
            commands.custom()[..i].iter().all(|c| c.id != custom.id),
            "duplicate custom id {}",
            custom.id
        );
    }
    assert!(!policy.isolation().ttl.is_zero());
    assert!(policy.isolation().sandbox_prefer >= policy.isolation().sandbox_require);
    assert!(policy.ledger().batch_max_records >= 1);
    for dir in &policy.scratch().system {
        assert!(dir.starts_with('/') && dir.len() > 1, "{dir:?}");
    }
}
