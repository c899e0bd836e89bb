//! The gate's answer: a verdict and the findings behind it.

use paddock_policy::Action;
use serde::{Serialize, Serializer};

/// What the caller should do with the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Run it.
    Allow,
    /// Refuse it unless an operator approves (then pass the approval in the context).
    Approval,
    /// Refuse it.
    Deny,
}

impl Verdict {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Approval => "approval",
            Verdict::Deny => "deny",
        }
    }
}

/// The gate's decision about one command line.
///
/// Serializes to JSON as
/// `{"verdict": "deny", "findings": [{"rule": ..., "action": ..., "approved": false,
/// "reason": ..., "word": ..., "span": [offset, len], "target": ...}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The strictest effect among the findings (`allow` when there are none).
    pub verdict: Verdict,
    /// Every rule the command would break, in the order met in the text. Includes findings the
    /// policy allows or only records, and those an approval covers.
    pub findings: Vec<Finding>,
    /// Whether the command may change files (it writes or deletes something, or runs a program
    /// not known to be read-only). `false` is a promise: callers may skip after-the-fact checks.
    pub may_change_files: bool,
}

impl Decision {
    pub(crate) fn from_findings(findings: Vec<Finding>, may_change_files: bool) -> Decision {
        let verdict = findings
            .iter()
            .map(Finding::effect)
            .max()
            .unwrap_or(Verdict::Allow);
        Decision {
            verdict,
            findings,
            may_change_files,
        }
    }

    /// Whether the command may run.
    pub fn is_allowed(&self) -> bool {
        self.verdict == Verdict::Allow
    }

    /// The finding that decided the verdict (the first with the strictest effect), if the
    /// command is refused.
    pub fn refusal(&self) -> Option<&Finding> {
        if self.verdict == Verdict::Allow {
            return None;
        }
        self.findings.iter().find(|f| f.effect() == self.verdict)
    }

    /// Findings whose rule the policy set to `record`: the caller writes them to the ledger.
    pub fn to_record(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.action == Action::Record && !f.approved)
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule id (see `paddock_policy::rules::CATALOGUE`).
    pub rule: &'static str,
    /// What the policy says to do about it.
    #[serde(serialize_with = "action_name")]
    pub action: Action,
    /// An operator approval covers it: it does not count against the command.
    pub approved: bool,
    /// Why, and how to rewrite the command.
    pub reason: String,
    /// The offending word as written (for nested shells, the word inside the nested text).
    pub word: String,
    /// Where it is in the original command line: (byte offset, byte length).
    pub span: (usize, usize),
    /// What the word resolved to: an absolute path, or the command as the gate understood it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl Finding {
    /// What this finding does to the verdict.
    pub fn effect(&self) -> Verdict {
        if self.approved {
            return Verdict::Allow;
        }
        match self.action {
            Action::Allow | Action::Record => Verdict::Allow,
            Action::Approval => Verdict::Approval,
            Action::Deny => Verdict::Deny,
        }
    }
}

fn action_name<S: Serializer>(action: &Action, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(action.as_str())
}
