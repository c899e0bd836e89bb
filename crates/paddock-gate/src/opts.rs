//! A getopt-like option parser for the commands the gate understands.
//!
//! It follows GNU `getopt_long` and git's `parse-options`: combined short flags (`-fdx`),
//! attached values (`-n5`, `--output=x`), unambiguous long-option prefixes (`--har` is
//! `--hard`), `--no-` negations (git) and argument permutation (options after operands) until
//! `--`. An abbreviation that matches several options is reported as all of them, flagged
//! `ambiguous`: the command would refuse it, but the gate does not rely on that.

use crate::syntax::Val;
use crate::walk::Arg;

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Takes {
    /// A flag.
    No,
    /// A value, attached or in the next word.
    Req,
    /// A value only when attached (`-Sx`, `--opt=x`).
    Opt,
}

/// One option a command understands.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptSpec {
    pub(crate) short: Option<char>,
    pub(crate) long: Option<&'static str>,
    pub(crate) takes: Takes,
}

/// Shorthand for building option tables: `o('f', "force", No)`.
pub(crate) const fn o(short: char, long: &'static str, takes: Takes) -> OptSpec {
    OptSpec {
        short: Some(short),
        long: Some(long),
        takes,
    }
}

/// A long-only option.
pub(crate) const fn l(long: &'static str, takes: Takes) -> OptSpec {
    OptSpec {
        short: None,
        long: Some(long),
        takes,
    }
}

/// A short-only option.
pub(crate) const fn s(short: char, takes: Takes) -> OptSpec {
    OptSpec {
        short: Some(short),
        long: None,
        takes,
    }
}

/// How a command parses its options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// Options may follow operands (GNU, git) until `--`.
    pub(crate) permute: bool,
    /// `--no-x` negates `--x` (git).
    pub(crate) negation: bool,
    /// Long options may be abbreviated.
    pub(crate) abbrev: bool,
}

pub(crate) const GNU: Style = Style {
    permute: true,
    negation: false,
    abbrev: true,
};
pub(crate) const GIT: Style = Style {
    permute: true,
    negation: true,
    abbrev: true,
};
pub(crate) const POSIX: Style = Style {
    permute: false,
    negation: false,
    abbrev: true,
};

/// One recognised option occurrence.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// The option's canonical name: its long name, or its short letter.
    pub(crate) name: &'static str,
    /// `--no-name`.
    pub(crate) negated: bool,
    /// Its value, as an argument carrying the option word's span.
    pub(crate) value: Option<Arg>,
    /// Index of the option word in the parsed slice.
    pub(crate) at: usize,
    /// The abbreviation matched several options.
    pub(crate) ambiguous: bool,
}

/// The parsed command line.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub(crate) hits: Vec<Hit>,
    /// Indices of operand words.
    pub(crate) operands: Vec<usize>,
    /// How many operands came before `--`, when there was one.
    pub(crate) dashdash: Option<usize>,
    /// Indices of words whose value is unknown (they might be options).
    pub(crate) dynamic: Vec<usize>,
    /// Options the table does not know (kept as written).
    pub(crate) unknown: Vec<usize>,
}

impl Parsed {
    /// The final state of a boolean option: set by its last unambiguous occurrence.
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.hits
            .iter()
            .rev()
            .find(|h| h.name == name && !h.ambiguous)
            .is_some_and(|h| !h.negated)
    }

    /// Whether the option occurs at all (also ambiguously, never negated): the cautious reading
    /// for options that make a command dangerous.
    pub(crate) fn maybe(&self, name: &str) -> bool {
        match self.hits.iter().rev().find(|h| h.name == name) {
            Some(h) => !h.negated || h.ambiguous,
            None => false,
        }
    }

    /// Every value given to an option.
    pub(crate) fn values(&self, name: &str) -> std::vec::IntoIter<&Arg> {
        let values: Vec<&Arg> = self
            .hits
            .iter()
            .filter(|h| h.name == name && !h.negated)
            .filter_map(|h| h.value.as_ref())
            .collect();
        values.into_iter()
    }

    /// The last value given to an option.
    pub(crate) fn value(&self, name: &str) -> Option<&Arg> {
        self.values(name).last()
    }
}

fn negate(long: &str) -> Option<&str> {
    long.strip_prefix("no-")
}

enum Long<'s> {
    Found(&'s OptSpec, bool),
    Ambiguous(Vec<(&'s OptSpec, bool)>),
    Unknown,
}

fn find_long<'s>(table: &'s [OptSpec], name: &str, style: Style) -> Long<'s> {
    // Exact names first, then exact negations.
    for spec in table {
        if spec.long == Some(name) {
            return Long::Found(spec, false);
        }
    }
    if style.negation {
        for spec in table {
            let Some(long) = spec.long else { continue };
            let negated_name = match negate(long) {
                Some(positive) => positive == name,
                None => name.strip_prefix("no-") == Some(long),
            };
            if negated_name {
                return Long::Found(spec, true);
            }
        }
    }
    if !style.abbrev || name.is_empty() {
        return Long::Unknown;
    }
    let mut candidates: Vec<(&OptSpec, bool)> = Vec::new();
    for spec in table {
        let Some(long) = spec.long else { continue };
        if long.starts_with(name) {
            candidates.push((spec, false));
        }
        if style.negation {
            let negated_form = match negate(long) {
                Some(positive) => positive.to_owned(),
                None => format!("no-{long}"),
            };
            if negated_form.starts_with(name) {
                candidates.push((spec, true));
            }
        }
    }
    match candidates.len() {
        0 => Long::Unknown,
        1 => Long::Found(candidates[0].0, candidates[0].1),
        _ => Long::Ambiguous(candidates),
    }
}

/// The canonical name of an option.
pub(crate) fn name_of(spec: &OptSpec) -> &'static str {
    match (spec.long, spec.short) {
        (Some(long), _) => long,
        (None, Some(short)) => short_name(short),
        (None, None) => "",
    }
}

/// A `'static` name for a short option letter.
fn short_name(c: char) -> &'static str {
    const NAMES: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    match NAMES.find(c) {
        Some(i) => &NAMES[i..i + 1],
        None => "?",
    }
}

/// An argument derived from part of another (an attached option value).
fn part(arg: &Arg, text: &str) -> Arg {
    Arg {
        val: Val::Lit(crate::syntax::Lit::plain(text)),
        raw: arg.raw.clone(),
        span: arg.span,
    }
}

/// Parses `args` (the words after the command name) against `table`.
pub(crate) fn parse(args: &[Arg], table: &[OptSpec], style: Style) -> Parsed {
    let mut out = Parsed::default();
    let mut i = 0;
    let mut only_operands = false;
    while i < args.len() {
        let arg = &args[i];
        let text = match &arg.val {
            Val::Lit(lit) => lit.text.as_str(),
            Val::Dyn(_) => {
                out.dynamic.push(i);
                out.operands.push(i);
                i += 1;
                continue;
            }
        };
        if only_operands || text == "-" || !text.starts_with('-') {
            out.operands.push(i);
            if !style.permute && !only_operands {
                only_operands = true;
            }
            i += 1;
            continue;
        }
        if text == "--" {
            out.dashdash = Some(out.operands.len());
            only_operands = true;
            i += 1;
            continue;
        }
        if let Some(body) = text.strip_prefix("--") {
            let (name, attached) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let at = i;
            let take_value = |spec: &OptSpec, i: &mut usize| -> Option<Arg> {
                match (spec.takes, attached) {
                    (Takes::No, _) => None,
                    (_, Some(v)) => Some(part(arg, v)),
                    (Takes::Opt, None) => None,
                    (Takes::Req, None) => {
                        *i += 1;
                        args.get(*i).cloned()
                    }
                }
            };
            match find_long(table, name, style) {
                Long::Found(spec, negated) => {
                    let value = if negated {
                        None
                    } else {
                        take_value(spec, &mut i)
                    };
                    out.hits.push(Hit {
                        name: name_of(spec),
                        negated,
                        value,
                        at,
                        ambiguous: false,
                    });
                }
                Long::Ambiguous(candidates) => {
                    for (spec, negated) in candidates {
                        let value = attached.map(|v| part(arg, v));
                        out.hits.push(Hit {
                            name: name_of(spec),
                            negated,
                            value,
                            at,
                            ambiguous: true,
                        });
                    }
                }
                Long::Unknown => out.unknown.push(i),
            }
            i += 1;
            continue;
        }
        // A cluster of short options.
        let at = i;
        let cluster = &text[1..];
        for (pos, c) in cluster.char_indices() {
            let Some(spec) = table.iter().find(|s| s.short == Some(c)) else {
                if !c.is_ascii_digit() {
                    out.unknown.push(at);
                }
                continue;
            };
            let rest = &cluster[pos + c.len_utf8()..];
            match spec.takes {
                Takes::No => {
                    out.hits.push(Hit {
                        name: name_of(spec),
                        negated: false,
                        value: None,
                        at,
                        ambiguous: false,
                    });
                }
                Takes::Opt => {
                    let value = (!rest.is_empty()).then(|| part(arg, rest));
                    out.hits.push(Hit {
                        name: name_of(spec),
                        negated: false,
                        value,
                        at,
                        ambiguous: false,
                    });
                    break;
                }
                Takes::Req => {
                    let value = if rest.is_empty() {
                        i += 1;
                        args.get(i).cloned()
                    } else {
                        Some(part(arg, rest))
                    };
                    out.hits.push(Hit {
                        name: name_of(spec),
                        negated: false,
                        value,
                        at,
                        ambiguous: false,
                    });
                    break;
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Takes::*;
    use super::*;
    use crate::syntax::Lit;

    fn args(words: &[&str]) -> Vec<Arg> {
        words
            .iter()
            .map(|w| Arg {
                val: Val::Lit(Lit::plain(*w)),
                raw: (*w).to_owned(),
                span: (0, 0),
            })
            .collect()
    }

    #[rustfmt::skip]
    const RESET: &[OptSpec] = &[
        o('q', "quiet", No), l("no-refresh", No), l("refresh", No), l("mixed", No), l("soft", No),
        l("hard", No), l("merge", No), l("keep", No), l("recurse-submodules", Opt),
        o('p', "patch", No), l("pathspec-from-file", Req),
    ];

    #[test]
    fn abbreviations_and_negations() {
        let p = parse(&args(&["--har", "HEAD"]), RESET, GIT);
        assert!(p.flag("hard"));
        assert_eq!(p.operands, vec![1]);
        let p = parse(&args(&["--m"]), RESET, GIT);
        assert!(p.maybe("merge") && p.maybe("mixed") && !p.flag("merge"));
        let p = parse(&args(&["--no-patch", "--ke"]), RESET, GIT);
        assert!(!p.flag("patch") && p.flag("keep"));
    }

    #[test]
    fn clusters_values_and_dashdash() {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[
            s('f', No), s('d', No), s('x', No), o('e', "exclude", Req), o('n', "dry-run", No),
        ];
        let p = parse(
            &args(&["-xdf", "-eX", "--exclude", "Y", "--", "-n"]),
            T,
            GIT,
        );
        assert!(p.flag("f") && p.flag("d") && p.flag("x") && !p.flag("dry-run"));
        let values: Vec<_> = p.values("exclude").map(|a| a.val.clone()).collect();
        assert_eq!(values.len(), 2);
        assert_eq!(p.dashdash, Some(0));
        assert_eq!(p.operands, vec![5]);
    }

    #[test]
    fn posix_stops_at_first_operand() {
        #[rustfmt::skip]
        const T: &[OptSpec] = &[s('n', Req)];
        let p = parse(&args(&["-n", "5", "git", "-c", "x"]), T, POSIX);
        assert_eq!(p.operands, vec![2, 3, 4]);
        assert_eq!(
            p.value("n").map(|a| a.val.clone()),
            Some(Val::Lit(Lit::plain("5")))
        );
    }
}
