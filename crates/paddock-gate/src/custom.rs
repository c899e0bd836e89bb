//! The policy's own command rules (`commands.custom`), judged on the words of every command the
//! gate resolves, never on the command text.
//!
//! A rule matches when its words are the command's leading words (`*` matches any one word);
//! the first word is the program, by its name (`/usr/bin/terraform` is `terraform`, `gsed` is
//! also `sed`). [`Walker::exec`](crate::walk::Walker) calls this for every simple command it
//! is about to judge (after aliases, functions and wrappers are resolved), and git's handler
//! again for the command git will run once global options and aliases are gone.
//!
//! Several rules may match one command. The one with the most words decides, a tie going to
//! the stricter action: `allow [terraform, plan]` is an exception carved out of
//! `deny [terraform]`. A custom rule never loosens a built-in one: it is one more finding, and
//! the strictest finding decides the verdict.

use paddock_policy::Action;

use crate::commands::program_name;
use crate::context::CustomMatcher;
use crate::syntax::{Dyn, Val};
use crate::walk::{Arg, Walker};

/// How a rule's words compare with a command's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// Every word matches.
    Yes,
    /// The words before `argv[.0]` match; that word cannot be known before the command runs
    /// (a variable, a substitution, a glob, input read at run time), and may stand for any
    /// number of words, so neither it nor anything after it can be compared.
    Unknown(usize),
    /// A known word differs, or the command is shorter than the rule.
    No,
}

/// Compares a rule with a command whose program word (`argv[0]`) is known to match.
pub(crate) fn match_args(rule_args: &[String], argv: &[Arg]) -> Match {
    for (i, want) in rule_args.iter().enumerate() {
        let Some(arg) = argv.get(i + 1) else {
            return Match::No;
        };
        match arg.plain() {
            None => return Match::Unknown(i + 1),
            Some(text) if want == "*" || want == text => {}
            Some(_) => return Match::No,
        }
    }
    Match::Yes
}

/// The names a rule's program word may use for the program `path` runs: its last path
/// component, and the name the gate knows it by (`python3.12` is `python`, `gsed` is `sed`).
pub(crate) fn program_names(path: &str) -> (&str, String) {
    let base = path.rsplit('/').next().unwrap_or(path);
    (base, program_name(base))
}

/// Which of two matching rules decides: more words, then the stricter action.
fn precedence(rule: &CustomMatcher) -> (usize, Action) {
    (rule.args.len(), rule.action)
}

impl Walker<'_> {
    /// Judges `argv` (its program word known) against the policy's custom rules.
    pub(crate) fn custom_rules(&mut self, argv: &[Arg]) {
        let ctx = self.ctx;
        if ctx.custom.is_empty() {
            return;
        }
        let Some(path) = argv.first().and_then(Arg::plain) else {
            return;
        };
        let (base, known_as) = program_names(path);
        let mut decider: Option<&CustomMatcher> = None;
        let mut unknown: Vec<(&CustomMatcher, usize)> = Vec::new();
        for rule in ctx.custom.iter() {
            if rule.program != base && rule.program != known_as {
                continue;
            }
            match match_args(&rule.args, argv) {
                Match::Yes => {
                    if decider.is_none_or(|d| precedence(rule) > precedence(d)) {
                        decider = Some(rule);
                    }
                }
                Match::Unknown(at) => unknown.push((rule, at)),
                Match::No => {}
            }
        }
        if let Some(rule) = decider {
            let matched = &argv[..=rule.args.len()];
            let (word, span) = self.words_and_span(matched);
            let target = command_text(argv);
            let reason = match rule.action {
                Action::Allow | Action::Record => format!(
                    "the policy's rule `{}` lets `{}` run: {}",
                    rule.id,
                    rule.argv_text(),
                    rule.reason
                ),
                Action::Approval => format!(
                    "{} (the policy's rule `{}` on `{}` needs an operator's approval: \
                     `paddock approve rule --rule {}`)",
                    rule.reason,
                    rule.id,
                    rule.argv_text(),
                    rule.id
                ),
                Action::Deny => format!(
                    "{} (the policy's rule `{}` refuses `{}`)",
                    rule.reason,
                    rule.id,
                    rule.argv_text()
                ),
            };
            self.report_as(rule.id, rule.action, &word, span, reason, Some(target));
        }
        // A rule that may match a word only known at run time: refuse it the way built-in
        // rules refuse what they cannot see (`shell.dynamic`), when its match could make the
        // verdict stricter than what is certain. An allow rule there is simply not applied.
        for (rule, at) in unknown {
            if rule.action < Action::Approval {
                continue;
            }
            if let Some(d) = decider
                && (precedence(rule) <= precedence(d) || rule.action <= d.action)
            {
                continue;
            }
            // An approval of the whole rule lets any match through: nothing left to know.
            if ctx
                .approvals
                .iter()
                .any(|a| a.rule == rule.id && a.pattern.is_none())
            {
                continue;
            }
            let arg = &argv[at];
            let why = match &arg.val {
                Val::Dyn(d) => d.describe(),
                Val::Lit(_) => "a glob".to_owned(),
            };
            let known = argv[..at]
                .iter()
                .map(|a| a.raw.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let input = matches!(&arg.val, Val::Dyn(Dyn::Input(_)));
            let fix = if input {
                "name the arguments literally"
            } else {
                "write it literally"
            };
            self.report_arg(
                "shell.dynamic",
                arg,
                format!(
                    "`{known} {}`: `{}` comes from {why}, which is only known when the command \
                     runs, and the policy's rule `{}` ({} `{}`) could match it; {fix}",
                    arg.raw,
                    arg.raw,
                    rule.id,
                    rule.action.as_str(),
                    rule.argv_text()
                ),
                None,
            );
        }
    }

    /// The matched words as written (a word that expanded to several arguments once), and the
    /// span from the first to the last.
    fn words_and_span(&self, words: &[Arg]) -> (String, (usize, usize)) {
        let mut text = String::new();
        let mut last_span = None;
        for arg in words {
            if last_span == Some(arg.span) {
                continue;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&arg.raw);
            last_span = Some(arg.span);
        }
        let first = words.first().map_or((0, 0), |a| a.span);
        let span = match words.last() {
            Some(last) if last.span.0 >= first.0 => (
                first.0,
                (last.span.0 + last.span.1).max(first.0 + first.1) - first.0,
            ),
            _ => first,
        };
        (text, span)
    }
}

/// The command as the gate resolved it, for approvals' patterns and people.
fn command_text(argv: &[Arg]) -> String {
    argv.iter()
        .map(|a| a.plain().unwrap_or(&a.raw))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Lit;

    fn lit(text: &str) -> Arg {
        Arg {
            val: Val::Lit(Lit::plain(text)),
            raw: text.to_owned(),
            span: (0, text.len()),
        }
    }

    fn words(rule: &[&str]) -> Vec<String> {
        rule.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn leading_words_match() {
        let argv = [lit("terraform"), lit("destroy"), lit("-auto-approve")];
        assert_eq!(match_args(&words(&["destroy"]), &argv), Match::Yes);
        assert_eq!(match_args(&words(&[]), &argv), Match::Yes);
        assert_eq!(
            match_args(&words(&["*", "-auto-approve"]), &argv),
            Match::Yes
        );
        assert_eq!(match_args(&words(&["plan"]), &argv), Match::No);
        assert_eq!(match_args(&words(&["destroy", "x", "y"]), &argv), Match::No);
    }

    #[test]
    fn unknown_words_stop_the_comparison() {
        let var = Arg {
            val: Val::Dyn(Dyn::Var("x".into())),
            raw: "$x".into(),
            span: (10, 2),
        };
        let argv = [lit("terraform"), var.clone(), lit("destroy")];
        assert_eq!(match_args(&words(&["destroy"]), &argv), Match::Unknown(1));
        // `$x` may expand to no word at all: even `*` cannot be sure of it.
        assert_eq!(match_args(&words(&["*"]), &argv), Match::Unknown(1));
        let argv = [lit("terraform"), lit("plan"), var];
        assert_eq!(match_args(&words(&["destroy"]), &argv), Match::No);
        let glob = Arg {
            val: Val::Lit(Lit {
                text: "de*".into(),
                meta: Some(2),
            }),
            raw: "de*".into(),
            span: (10, 3),
        };
        let argv = [lit("terraform"), glob];
        assert_eq!(match_args(&words(&["destroy"]), &argv), Match::Unknown(1));
    }

    #[test]
    fn programs_match_by_name() {
        let names = |path| {
            let (base, known_as) = program_names(path);
            (base.to_owned(), known_as)
        };
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(names("terraform"), pair("terraform", "terraform"));
        assert_eq!(
            names("/usr/local/bin/terraform"),
            pair("terraform", "terraform")
        );
        assert_eq!(
            names("./terraform-docs"),
            pair("terraform-docs", "terraform-docs")
        );
        assert_eq!(names("gsed"), pair("gsed", "sed"));
        assert_eq!(names("/usr/bin/python3.12"), pair("python3.12", "python"));
    }
}
