//! Random input never panics the gate, and input the shell parser rejects is never allowed.

use paddock_gate::{Verdict, decide};
use proptest::prelude::*;

use super::support::Fixture;

fn parses(text: &str) -> bool {
    let opts = brush_parser::ParserOptions::default();
    std::panic::catch_unwind(|| {
        brush_parser::Parser::new(text.as_bytes(), &opts)
            .parse_program()
            .is_ok()
    })
    .unwrap_or(false)
}

fn check(ctx: &paddock_gate::Context, text: &str) -> Result<(), TestCaseError> {
    let decision = decide(ctx, text);
    for f in &decision.findings {
        prop_assert!(
            !f.reason.contains("failed internally"),
            "internal error on {text:?}"
        );
        prop_assert!(
            f.span.0 + f.span.1 <= text.len(),
            "span out of range on {text:?}: {f:?}"
        );
        prop_assert!(
            text.is_char_boundary(f.span.0),
            "span not on a char boundary on {text:?}"
        );
    }
    if decision.verdict == Verdict::Allow {
        prop_assert!(
            parses(text),
            "allowed a command the parser rejects: {text:?}"
        );
    }
    Ok(())
}

/// Fragments of shell syntax, so random sequences reach deep into the gate.
const WORDS: &[&str] = &[
    "git", "reset", "--hard", "clean", "-fdx", "rm", "-rf", "docs", "src/a", "..", "/", "~",
    "$HOME", "$x", "x=1", "\"", "'", "`", "$(", ")", "(", "{", "}", ";", "&&", "||", "|", "&", ">",
    ">>", "<", "<<EOF", "EOF", "\n", "if", "then", "fi", "for", "in", "do", "done", "case", "esac",
    "sh", "-c", "env", "sudo", "xargs", "find", "-exec", "{}", "\\;", "-delete", "eval", "cd", "*",
    "?", "[a]", "$'\\x41'", "${x:-y}", "$((1+2))", "<(", ">(", "2>&1", "&>", "<<<", "#", "\\", "é",
    "\t",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, .. ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics_or_allows_unparsable(text in "\\PC{0,80}") {
        thread_local! { static FX: (Fixture, paddock_gate::Context) = { let fx = Fixture::new(); let ctx = fx.ctx(); (fx, ctx) }; }
        FX.with(|(_, ctx)| check(ctx, &text))?;
    }

    #[test]
    fn shell_fragments_never_panic_or_allow_unparsable(words in proptest::collection::vec(proptest::sample::select(WORDS), 0..24)) {
        let text = words.join(" ");
        thread_local! { static FX: (Fixture, paddock_gate::Context) = { let fx = Fixture::new(); let ctx = fx.ctx(); (fx, ctx) }; }
        FX.with(|(_, ctx)| check(ctx, &text))?;
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        thread_local! { static FX: (Fixture, paddock_gate::Context) = { let fx = Fixture::new(); let ctx = fx.ctx(); (fx, ctx) }; }
        FX.with(|(_, ctx)| check(ctx, &text))?;
    }
}

#[test]
fn pathological_inputs_are_refused_not_crashed() {
    let fx = Fixture::new();
    let ctx = fx.ctx();
    let deep = format!("{}ls{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(decide(&ctx, &deep).verdict, Verdict::Deny);
    // Found by `fuzz/` (gate_decide): brush-parser's brace parser backtracks exponentially
    // over `{` left open; without the gate's nesting limit this took hours.
    let braces = format!("rsync -a ../../ rese{}t --harp/copy/", "{".repeat(30));
    let d = decide(&ctx, &braces);
    assert_eq!(d.verdict, Verdict::Deny);
    assert_eq!(d.refusal().map(|f| f.rule), Some("gate.parse-error"));
    let params = format!("echo {}", "${a".repeat(40));
    assert_eq!(decide(&ctx, &params).verdict, Verdict::Deny);
    // Found by `fuzz/` too: brush-parser's time doubles with each level of `(`.
    let parens = format!("sed()((((((\u{b}((R{} $\u{fffd}e", "(".repeat(60));
    assert_eq!(decide(&ctx, &parens).verdict, Verdict::Deny);
    let subshells = format!("{} git status ;{}", "( ".repeat(40), ") ".repeat(40));
    assert_eq!(decide(&ctx, &subshells).verdict, Verdict::Deny);
    // Found by `fuzz/`: an empty here-document delimiter (as brush-parser unquotes it) and a
    // non-ASCII word sent the parser's tokenizer into a loop that ate all memory.
    let heredoc = "rm -rfp<<'\"' \u{fffd}\u{fffd}\u{fffd} ";
    assert_eq!(decide(&ctx, heredoc).verdict, Verdict::Deny);
    assert_eq!(decide(&ctx, "cat <<'' é ").verdict, Verdict::Deny);
    // ... and so did an operator where the delimiter should be, in a `$(` left open.
    assert_eq!(
        decide(&ctx, "ech$(0 &\0cat << >\t\tr ").verdict,
        Verdict::Deny
    );
    let cr_tag = format!(
        "\0\0\0() {{ -\0<<{}<>\r\r\rr\0m!4> }}; #e\ten",
        "\r".repeat(16)
    );
    assert_eq!(decide(&ctx, &cr_tag).verdict, Verdict::Deny);
    assert_eq!(decide(&ctx, "echo $((1 << (2)))").verdict, Verdict::Allow);
    // A delimiter brush-parser reads otherwise than the shell: the shell ends the document at
    // `a\b` and runs the reset; the parser would have taken the reset for document text.
    let split = "cat <<'a\\b'\na\\b\ngit reset --hard\n";
    assert_eq!(decide(&ctx, split).verdict, Verdict::Deny);
    let split = "cat <<'\"'\nx\n\"\ngit reset --hard\n";
    assert_eq!(decide(&ctx, split).verdict, Verdict::Deny);
    // Found by `fuzz/`: brush-parser's here-document parser is exponential in nested `$(`.
    let body = format!("cat <<EOF > src/a.rs\n{}x\nEOF\n", "$(0$(".repeat(6));
    assert_eq!(decide(&ctx, &body).verdict, Verdict::Deny);
    // A here-document that is not closed before the end parses as the shell reads it.
    assert_eq!(
        decide(&ctx, "cat <<EOF > src/notes.md\nhello\nEOF").verdict,
        Verdict::Allow
    );
    // A `'` inside double quotes must not hide the nesting from those limits.
    let hidden = format!(
        "echo \"'\"; {} git status ;{}",
        "( ".repeat(40),
        ") ".repeat(40)
    );
    assert_eq!(decide(&ctx, &hidden).verdict, Verdict::Deny);
    let hidden = format!("echo \"'\"; {}ls{}", "( ".repeat(3000), " )".repeat(3000));
    assert_eq!(decide(&ctx, &hidden).verdict, Verdict::Deny);
    let subst = format!("echo {}ls{}", "$(".repeat(3000), ")".repeat(3000));
    assert_eq!(decide(&ctx, &subst).verdict, Verdict::Deny);
    let huge = "echo x; ".repeat(50_000);
    assert_eq!(decide(&ctx, &huge).verdict, Verdict::Deny);
    // Each `eval` re-parses the rest: nesting beyond the gate's depth limit is refused.
    let nested = format!("{}echo hi", "eval ".repeat(40));
    assert_eq!(decide(&ctx, &nested).verdict, Verdict::Deny);
    assert_eq!(
        decide(&ctx, &format!("{}echo hi", "eval ".repeat(5))).verdict,
        Verdict::Allow
    );
    let nested_shells = (0..6).fold("git reset --hard".to_owned(), |acc, _| {
        format!("sh -c {}", shell_quote(&acc))
    });
    assert_eq!(decide(&ctx, &nested_shells).verdict, Verdict::Deny);
    assert_eq!(decide(&ctx, "echo {1..100000}").verdict, Verdict::Deny);
    assert_eq!(
        decide(&ctx, "rm -rf {a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}").verdict,
        Verdict::Deny
    );
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
