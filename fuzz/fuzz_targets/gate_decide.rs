//! Arbitrary text as a command line: `paddock_gate::decide` never panics, and never allows what
//! it could not analyse (a parse failure or an internal error is always a refusal).
//!
//! The context is the one agents run in: the built-in policy, session `s1` in its own worktree
//! with scope `src/**` and `tests/**`, another live session `s2`, the default scratch paths, a
//! home directory, and symlinks from the scope to outside it.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use paddock_gate::{Context, ContextBuilder, Session, Verdict, decide};
use paddock_policy::Policy;
use paddock_policy::glob::PatternSet;

fn context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let base = fixture_root();
        let main = base.join("repo");
        let s1 = base.join("repo.paddock/s1");
        let s2 = base.join("repo.paddock/s2");
        let home = base.join("home");
        for root in [&main, &s1, &s2] {
            for file in [
                "src/lib.rs",
                "src/a.rs",
                "tests/it.rs",
                "tests/fixtures/tmp/x.txt",
                "docs/guide.md",
                "README.md",
                ".handshake/gov/rules.md",
                "scripts/build.sh",
            ] {
                write(&root.join(file));
            }
        }
        write(&main.join(".git/config"));
        std::fs::create_dir_all(main.join(".git/hooks")).expect("mkdir");
        std::fs::create_dir_all(&home).expect("mkdir");
        for (name, target) in [
            ("src/docs-link", Path::new("../docs")),
            ("tests/other-link", s2.as_path()),
            ("tests/etc-link", Path::new("/etc")),
        ] {
            // Several fuzzing processes may build the fixture at once: an existing link is
            // the same link.
            let _ = std::os::unix::fs::symlink(target, s1.join(name));
        }
        ContextBuilder::new(&s1, &main)
            .policy(&Policy::builtin())
            .session(Session {
                id: "s1".into(),
                worktree: s1.clone(),
                scope: PatternSet::new(["src/**", "tests/**"]).expect("valid globs"),
                branch: Some("paddock/s1".into()),
            })
            .other_session("s2", &s2)
            .git_common_dir(main.join(".git"))
            .home(&home)
            .build()
            .expect("the fixture makes a valid context")
    })
}

/// Beside the fuzzer's binary (under `fuzz/target/`), unless that is inside the built-in
/// policy's scratch directories, where every path would be writable and the scope rules
/// would never be reached: then under `$HOME/.cache`.
fn fixture_root() -> PathBuf {
    let exe = std::env::current_exe().expect("the fuzzer knows its path");
    let dir = exe.parent().unwrap_or(Path::new(".")).join("gate-fixture");
    let under_scratch = ["/tmp", "/var/tmp"].iter().any(|s| dir.starts_with(s));
    let dir = match std::env::var_os("HOME") {
        Some(home) if under_scratch => PathBuf::from(home).join(".cache/paddock-fuzz/gate-fixture"),
        _ => dir,
    };
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir.canonicalize().expect("canonical")
}

fn write(path: &Path) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, "x\n").expect("write");
}

/// Whether the shell parser the gate uses accepts the text (a panic counts as no). Like the
/// gate, it hands the parser the text with a final line break (brush-parser can loop on a
/// text that ends on a here-document's line).
fn parses(text: &str) -> bool {
    let options = brush_parser::ParserOptions::default();
    let text = if text.ends_with(['\n', '\\']) {
        text.to_owned()
    } else {
        format!("{text}\n")
    };
    std::panic::catch_unwind(|| {
        brush_parser::Parser::new(text.as_bytes(), &options)
            .parse_program()
            .is_ok()
    })
    .unwrap_or(false)
}

/// Panics inside brush-parser are the parser's, and the gate turns them into refusals by
/// design (`catch_unwind`): let them unwind to it. Any other panic is a bug in the gate and
/// ends the run as a crash (libFuzzer's hook, installed before this one, aborts).
fn tolerate_parser_panics() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_parser = info.location().is_some_and(|l| {
            l.file().contains("brush-parser") || l.file().contains("brush_parser")
        });
        if !in_parser {
            abort(info);
        }
    }));
}

fuzz_target!(init: { tolerate_parser_panics(); context(); }, |data: &[u8]| {
    // `paddock-sh` reads scripts as lossy UTF-8; the agent-tool hooks hand over JSON strings.
    let text = String::from_utf8_lossy(data);
    let decision = decide(context(), &text);
    for f in &decision.findings {
        assert!(
            f.span.0 <= text.len() && f.span.1 <= text.len() - f.span.0,
            "span {:?} outside a {}-byte text: {f:?}",
            f.span,
            text.len()
        );
        assert!(
            text.is_char_boundary(f.span.0) && text.is_char_boundary(f.span.0 + f.span.1),
            "span {:?} not on char boundaries: {f:?}",
            f.span
        );
        if f.rule == "gate.parse-error" {
            // A command the gate cannot analyse (or an internal error) is always refused.
            assert_eq!(decision.verdict, Verdict::Deny, "{f:?}");
            assert!(!f.approved && f.effect() == Verdict::Deny, "{f:?}");
        }
    }
    if decision.verdict == Verdict::Allow {
        assert!(parses(&text), "allowed a command the shell parser rejects");
        assert!(decision.refusal().is_none());
    } else {
        assert!(decision.refusal().is_some(), "refused without a finding");
    }
    // `may_change_files: false` is a promise: nothing that writes or deletes.
    if !decision.may_change_files {
        assert!(
            decision.findings.iter().all(|f| !f.rule.starts_with("fs.")),
            "a write or delete finding in a command said not to change files"
        );
    }
});
