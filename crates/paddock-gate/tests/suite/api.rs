//! The public API: spans, JSON, policy actions, approvals, contexts without a session.

use paddock_gate::{Approval, ContextBuilder, Verdict, decide};
use paddock_policy::{Action, Policy};
use pretty_assertions::assert_eq;

use super::support::Fixture;

/// The span of the first finding of `rule`, as text.
fn spanned<'a>(cmd: &'a str, decision: &paddock_gate::Decision, rule: &str) -> &'a str {
    let finding = decision
        .findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {decision:#?}"));
    &cmd[finding.span.0..finding.span.0 + finding.span.1]
}

#[test]
fn spans_point_at_the_offending_word() {
    let fx = Fixture::new();
    let ctx = fx.ctx();
    let cmd = "echo ok && git reset --hard";
    assert_eq!(spanned(cmd, &decide(&ctx, cmd), "git.discard"), "--hard");
    // Inside a nested shell, the span points into the quoted text.
    let cmd = "sh -c 'cd .. && git clean -fdx'";
    let d = decide(&ctx, cmd);
    assert_eq!(spanned(cmd, &d, "git.clean"), "-fdx");
    assert_eq!(d.findings[0].word, "-fdx");
    // Byte offsets, not characters.
    let cmd = "echo 'ééé' && rm -rf docs";
    assert_eq!(
        spanned(cmd, &decide(&ctx, cmd), "fs.delete.outside-scope"),
        "docs"
    );
    // A substitution's inner command.
    let cmd = "echo \"$(git stash clear)\"";
    assert_eq!(spanned(cmd, &decide(&ctx, cmd), "git.stash.drop"), "clear");
    // A parse error points at the problem or the text.
    let cmd = "echo 'unterminated";
    let d = decide(&ctx, cmd);
    assert_eq!(d.verdict, Verdict::Deny);
    assert_eq!(d.findings[0].rule, "gate.parse-error");
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct JsonDecision {
    verdict: String,
    findings: Vec<JsonFinding>,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct JsonFinding {
    rule: String,
    action: String,
    approved: bool,
    reason: String,
    word: String,
    span: (usize, usize),
    target: Option<String>,
}

#[test]
fn decisions_serialize_to_json() {
    let fx = Fixture::new();
    let ctx = fx.ctx();
    let decision = decide(&ctx, "rm -rf docs");
    let json = serde_json::to_string(&decision).expect("serializes");
    let back: JsonDecision = serde_json::from_str(&json).expect("parses");
    let target = fx.s1.join("docs").to_string_lossy().into_owned();
    assert_eq!(back.verdict, "deny");
    assert_eq!(back.findings.len(), 1);
    let f = &back.findings[0];
    assert_eq!(
        (
            f.rule.as_str(),
            f.action.as_str(),
            f.approved,
            f.word.as_str(),
            f.span,
            f.target.as_deref()
        ),
        (
            "fs.delete.outside-scope",
            "deny",
            false,
            "docs",
            (7, 4),
            Some(target.as_str())
        )
    );
    assert!(
        f.reason.contains("src/**"),
        "the reason names the scope: {}",
        f.reason
    );
    let allowed = serde_json::to_value(decide(&ctx, "git status")).expect("serializes");
    assert_eq!(
        allowed,
        serde_json::json!({"verdict": "allow", "findings": [], "may_change_files": false})
    );
}

#[test]
fn policy_actions_decide_the_verdict() {
    let fx = Fixture::new();
    let relaxed = fx
        .builder(&fx.s1)
        .actions(|rule| match rule {
            "git.discard" => Action::Approval,
            "git.stash.drop" => Action::Allow,
            "git.clean" => Action::Record,
            // Fail-closed rules are never relaxed to allow.
            "session.cross-access" => Action::Allow,
            _ => Action::Deny,
        })
        .build()
        .expect("context");
    assert_eq!(
        decide(&relaxed, "git reset --hard").verdict,
        Verdict::Approval
    );
    let dropped = decide(&relaxed, "git stash drop");
    assert_eq!(dropped.verdict, Verdict::Allow);
    assert_eq!(dropped.findings[0].action, Action::Allow);
    let cleaned = decide(&relaxed, "git clean -f");
    assert_eq!(cleaned.verdict, Verdict::Allow);
    assert_eq!(cleaned.to_record().count(), 1);
    let other = format!("cat {}/src/lib.rs", fx.s2.display());
    assert_eq!(decide(&relaxed, &other).verdict, Verdict::Approval);
    // The strictest finding wins.
    let both = decide(&relaxed, "git reset --hard; rm -rf docs");
    assert_eq!(both.verdict, Verdict::Deny);
    assert_eq!(
        both.refusal().map(|f| f.rule),
        Some("fs.delete.outside-scope")
    );
    // Parse errors are always refused.
    let everything = fx
        .builder(&fx.s1)
        .actions(|_| Action::Allow)
        .build()
        .expect("context");
    assert_eq!(decide(&everything, "if then fi (").verdict, Verdict::Deny);
}

#[test]
fn approvals_let_findings_through() {
    let fx = Fixture::new();
    let other_src = format!("{}/src/*", fx.s2.display());
    let ctx = fx
        .builder(&fx.s1)
        .approvals([
            Approval {
                rule: "git.discard".into(),
                pattern: None,
            },
            Approval {
                rule: "session.cross-access".into(),
                pattern: Some(other_src),
            },
            Approval {
                rule: "gate.parse-error".into(),
                pattern: None,
            },
        ])
        .build()
        .expect("context");
    let reset = decide(&ctx, "git reset --hard");
    assert_eq!(reset.verdict, Verdict::Allow);
    assert!(reset.findings[0].approved);
    let inside = format!("cat {}/src/lib.rs", fx.s2.display());
    assert_eq!(decide(&ctx, &inside).verdict, Verdict::Allow);
    let outside = format!("cat {}/README.md", fx.s2.display());
    assert_eq!(decide(&ctx, &outside).verdict, Verdict::Deny);
    assert_eq!(
        decide(&ctx, "echo 'x").verdict,
        Verdict::Deny,
        "parse errors cannot be approved"
    );
}

#[test]
fn without_a_session_only_protected_and_destructive_rules_apply() {
    let fx = Fixture::new();
    let ctx = ContextBuilder::new(&fx.main, &fx.main)
        .policy(&Policy::builtin())
        .other_session("s1", &fx.s1)
        .other_session("s2", &fx.s2)
        .git_common_dir(fx.main.join(".git"))
        .home(&fx.home)
        .build()
        .expect("context");
    for (cmd, verdict) in [
        ("rm -rf docs", Verdict::Allow),
        ("echo x > README.md", Verdict::Allow),
        ("git reset --hard", Verdict::Deny),
        ("echo x > .handshake/gov/rules.md", Verdict::Deny),
        ("rm -rf /home", Verdict::Deny),
        ("git push origin main", Verdict::Deny),
    ] {
        assert_eq!(decide(&ctx, cmd).verdict, verdict, "{cmd}");
    }
    let read = format!("cat {}/src/lib.rs", fx.s2.display());
    assert_eq!(decide(&ctx, &read).verdict, Verdict::Allow);
    let write = format!("rm -rf {}/src", fx.s2.display());
    assert_eq!(decide(&ctx, &write).verdict, Verdict::Deny);
}

#[test]
fn lock_mode_shares_the_main_worktree() {
    let fx = Fixture::new();
    let ctx = ContextBuilder::new(&fx.main, &fx.main)
        .policy(&Policy::builtin())
        .session(paddock_gate::Session {
            id: "lock".into(),
            worktree: fx.main.clone(),
            scope: paddock_policy::glob::PatternSet::new(["docs/**"]).expect("globs"),
            branch: None,
        })
        .build()
        .expect("context");
    assert_eq!(decide(&ctx, "rm -rf docs").verdict, Verdict::Allow);
    assert_eq!(decide(&ctx, "touch src/x.rs").verdict, Verdict::Deny);
}

#[test]
fn context_errors_are_typed() {
    let err = ContextBuilder::new("relative/dir", "/")
        .build()
        .expect_err("relative");
    assert!(
        matches!(
            err,
            paddock_gate::context::Error::NotAbsolute { what: "cwd", .. }
        ),
        "{err}"
    );
    let err = ContextBuilder::new("/no/such/dir/anywhere", "/")
        .build()
        .expect_err("missing");
    assert!(
        matches!(err, paddock_gate::context::Error::Resolve { .. }),
        "{err}"
    );
}

#[test]
fn decisions_are_deterministic_and_cwd_aware() {
    let fx = Fixture::new();
    let ctx = fx.ctx();
    let a = decide(&ctx, "for f in docs/*; do rm \"$f\"; done; git stash clear");
    let b = decide(&ctx, "for f in docs/*; do rm \"$f\"; done; git stash clear");
    assert_eq!(a, b);
    // The same command, run from inside the scope.
    let in_src = fx.ctx_in(&fx.s1.join("src"));
    assert_eq!(decide(&in_src, "rm -rf *").verdict, Verdict::Allow);
    assert_eq!(decide(&ctx, "rm -rf *").verdict, Verdict::Deny);
}

#[test]
fn may_change_files_is_false_only_for_known_read_only_commands() {
    let fx = Fixture::new();
    let ctx = fx.ctx();
    for cmd in [
        "true",
        "ls src && cat src/lib.rs | wc -l",
        "git status --short",
        "git log -p -- src",
        "echo $HOME",
    ] {
        assert!(!decide(&ctx, cmd).may_change_files, "{cmd} only reads");
    }
    for cmd in [
        "echo x > src/a.rs",
        "touch src/new.rs",
        "python3 src/tool.py",
        "env true",
        "git commit -am x",
        "git -C src status",
        "cargo build",
        "true && rm src/old.rs",
        "sh -c 'echo x >> src/a.rs'",
        "f() { :; }; f",
    ] {
        assert!(decide(&ctx, cmd).may_change_files, "{cmd} may change files");
    }
}

#[test]
fn custom_rules_report_their_id_reason_and_words() {
    let fx = Fixture::new();
    let ctx = fx.ctx_with_policy(&super::cases::custom_policy());
    let cmd = "cd src && sudo terraform destroy -auto-approve";
    let d = decide(&ctx, cmd);
    assert_eq!(d.verdict, Verdict::Deny);
    let f = d.refusal().expect("refused");
    assert_eq!(
        (f.rule, f.action, f.word.as_str(), f.target.as_deref()),
        (
            "no-tf-destroy",
            Action::Deny,
            "terraform destroy",
            Some("terraform destroy -auto-approve")
        )
    );
    assert_eq!(spanned(cmd, &d, "no-tf-destroy"), "terraform destroy");
    assert!(f.reason.contains("infra is managed by CI"), "{}", f.reason);
    // Inside a nested shell the span points into the quoted text.
    let cmd = "sh -c 'terraform  destroy'";
    assert_eq!(
        spanned(cmd, &decide(&ctx, cmd), "no-tf-destroy"),
        "terraform  destroy"
    );
    // An unknown word names the rule it could trip.
    let d = decide(&ctx, "terraform $SUB");
    let f = d.refusal().expect("refused");
    assert_eq!((f.rule, f.word.as_str()), ("shell.dynamic", "$SUB"));
    assert!(f.reason.contains("no-tf-destroy"), "{}", f.reason);
    // `record` lets the command run and hands the finding to the caller's ledger.
    let d = decide(&ctx, "cargo publish");
    assert_eq!(d.verdict, Verdict::Allow);
    assert_eq!(
        d.to_record().map(|f| f.rule).collect::<Vec<_>>(),
        ["publish-recorded"]
    );
}

#[test]
fn approvals_cover_custom_rules_like_built_in_ones() {
    let fx = Fixture::new();
    let policy = super::cases::custom_policy();
    let plain = fx.ctx_with_policy(&policy);
    assert_eq!(decide(&plain, "terraform apply").verdict, Verdict::Approval);
    let approved = |approvals: Vec<Approval>| {
        fx.builder(&fx.s1)
            .policy(&policy)
            .approvals(approvals)
            .build()
            .expect("context")
    };
    let ctx = approved(vec![Approval {
        rule: "tf-apply-needs-ok".into(),
        pattern: None,
    }]);
    let d = decide(&ctx, "sudo terraform apply -auto-approve");
    assert_eq!(d.verdict, Verdict::Allow);
    assert!(d.findings[0].approved);
    // An approval of the whole rule leaves nothing to know about an unknown word ...
    assert_eq!(
        decide(&ctx, "terraform apply $PLAN").verdict,
        Verdict::Allow
    );
    // ... but not about words other rules look at, nor about other rules.
    assert_eq!(decide(&ctx, "terraform $SUB").verdict, Verdict::Deny);
    assert_eq!(decide(&ctx, "terraform destroy").verdict, Verdict::Deny);
    // As for built-in rules, an approval may name the command it covers.
    let ctx = approved(vec![Approval {
        rule: "tf-apply-needs-ok".into(),
        pattern: Some("terraform apply plan.tfplan".into()),
    }]);
    assert_eq!(
        decide(&ctx, "terraform apply plan.tfplan").verdict,
        Verdict::Allow
    );
    assert_eq!(
        decide(&ctx, "terraform apply other.tfplan").verdict,
        Verdict::Approval
    );
    // Deny rules, like built-in ones, pass with an approval that names them.
    let ctx = approved(vec![Approval {
        rule: "no-tf-destroy".into(),
        pattern: None,
    }]);
    assert_eq!(decide(&ctx, "terraform destroy").verdict, Verdict::Allow);
}

#[test]
fn custom_rules_come_from_the_builder_too() {
    let fx = Fixture::new();
    let rule = paddock_policy::CustomRule {
        id: "no-make-clean".into(),
        argv: vec!["make".into(), "clean".into()],
        action: Action::Deny,
        reason: "the build cache is shared".into(),
    };
    let ctx = fx
        .builder(&fx.s1)
        .custom_rules([&rule])
        .build()
        .expect("context");
    assert_eq!(
        decide(&ctx, "make -C src clean; make clean")
            .refusal()
            .map(|f| f.rule),
        Some("no-make-clean")
    );
    assert_eq!(decide(&ctx, "make build").verdict, Verdict::Allow);
    // Without custom rules nothing changes.
    assert_eq!(decide(&fx.ctx(), "make clean").verdict, Verdict::Allow);
}
