//! Typed data for each known record kind.
//!
//! Each struct is what goes under `data:` for its kind. Fields a newer paddock adds land in
//! `extra` when read by this version, so nothing is dropped. Build one with struct syntax and
//! `..Default::default()`, then turn it into an [`Entry`](crate::Entry) with
//! [`Entry::event`](crate::Entry::event); read one back with
//! [`Record::decode`](crate::Record::decode).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::Kind;

/// Data of a known kind.
pub trait Event: Serialize + DeserializeOwned {
    /// The kind records of this data are written under.
    const KIND: Kind;
}

macro_rules! event {
    (
        $(#[$doc:meta])*
        $name:ident => $kind:ident {
            $($(#[$fattr:meta])* $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name {
            $(
                $(#[$fattr])*
                pub $field: $ty,
            )*
            /// Fields this version does not know (from a newer writer), kept as they were.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }

        impl Event for $name {
            const KIND: Kind = Kind::$kind;
        }
    };
}

event! {
    /// `session.started`.
    SessionStarted => SessionStarted {
        /// Declared scope globs.
        scope: Vec<String>,
        /// Role, such as `claim`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        /// `worktree` or `lock`.
        mode: String,
        /// Worktree path (worktree mode).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worktree: Option<String>,
        /// Branch, such as `paddock/<id>`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
        /// Base commit id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base: Option<String>,
        /// When the session expires (RFC 3339).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires: Option<String>,
        /// The isolation the session asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        isolation_requested: Option<String>,
        /// The isolation it got.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        isolation_effective: Option<String>,
    }
}

event! {
    /// `session.blocked`.
    SessionBlocked => SessionBlocked {
        /// Why, for people.
        reason: String,
        /// The rule or check that blocked it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    }
}

event! {
    /// `session.unblocked`: an operator cleared BLOCKED (the actor is the operator).
    SessionUnblocked => SessionUnblocked {
        /// The operator's reason.
        reason: String,
    }
}

event! {
    /// `session.finished`.
    SessionFinished => SessionFinished {
        /// The session's head commit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        head: Option<String>,
    }
}

event! {
    /// `session.cancelled`.
    SessionCancelled => SessionCancelled {
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Where unmerged work was archived (`refs/paddock/archive/<id>`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        archived: Option<String>,
    }
}

event! {
    /// `session.expired`.
    SessionExpired => SessionExpired {
        /// When it expired (RFC 3339).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expired_at: Option<String>,
        /// Where unmerged work was archived.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        archived: Option<String>,
    }
}

event! {
    /// `session.merged`.
    SessionMerged => SessionMerged {
        /// Target branch.
        into: String,
        /// The merge commit id.
        commit: String,
    }
}

event! {
    /// `lock.acquired`.
    LockAcquired => LockAcquired {
        /// The locked scope globs.
        scope: Vec<String>,
    }
}

event! {
    /// `lock.released`.
    LockReleased => LockReleased {
        /// The released scope globs.
        scope: Vec<String>,
        /// Why (finish, cancel, timeout).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    }
}

event! {
    /// `lock.refused`.
    LockRefused => LockRefused {
        /// The requested scope globs.
        scope: Vec<String>,
        /// The session holding an overlapping lock.
        held_by: String,
        /// A path both scopes match, as evidence.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        overlap: Option<String>,
    }
}

event! {
    /// `deny.command`.
    DenyCommand => DenyCommand {
        /// The command text.
        command: String,
        /// The rule id.
        rule: String,
        /// Why, for people.
        reason: String,
        /// Working directory.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
    }
}

event! {
    /// `deny.write`.
    DenyWrite => DenyWrite {
        /// The path written or attempted.
        path: String,
        /// The rule id.
        rule: String,
        /// Why, for people.
        reason: String,
    }
}

event! {
    /// `deny.commit`.
    DenyCommit => DenyCommit {
        /// The ref being updated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// Offending paths.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        paths: Vec<String>,
        /// The rule id.
        rule: String,
        /// Why, for people.
        reason: String,
    }
}

event! {
    /// `approval`: an operator override (the actor is the operator).
    Approval => Approval {
        /// What was approved, such as `cross-session-read` or `unblock`.
        what: String,
        /// The operator's reason.
        reason: String,
        /// The session the approval is about, if not the record's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    }
}

event! {
    /// `turn.pin`: what one agent turn saw and chose, so a replay follows the same order.
    TurnPin => TurnPin {
        /// Turn id.
        turn: String,
        /// Role of the turn (`claim`, `glance`, `extract`, ...).
        role: String,
        /// Input path -> `b3:` hash.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        inputs: BTreeMap<String, String>,
        /// Free-form pins (`KEY=VALUE` from the command line, candidate lists, tie-breaks).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pins: BTreeMap<String, Value>,
        /// Output path -> `b3:` hash.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        outputs: BTreeMap<String, String>,
        /// Isolation asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        isolation_requested: Option<String>,
        /// Isolation obtained.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        isolation_effective: Option<String>,
    }
}

event! {
    /// `merge.artifact`.
    MergeArtifact => MergeArtifact {
        /// Path of `change.patch`.
        patch: String,
        /// `b3:` hash of the patch.
        patch_hash: String,
        /// Base commit.
        base: String,
        /// Head commit.
        head: String,
        /// Changed files.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<String>,
    }
}

event! {
    /// `merge.done`.
    MergeDone => MergeDone {
        /// Target branch.
        into: String,
        /// Resulting commit.
        commit: String,
        /// The target's commit before the merge.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<String>,
    }
}

event! {
    /// `merge.blocked`.
    MergeBlocked => MergeBlocked {
        /// Target branch.
        into: String,
        /// Conflicting paths.
        conflicts: Vec<String>,
        /// Path of the conflict report.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report: Option<String>,
    }
}

event! {
    /// `recovered`: a torn last record was cut off (written by the ledger itself).
    Recovered => Recovered {
        /// Byte offset where the torn bytes began (the file was cut back to it).
        offset: u64,
        /// How many bytes were cut.
        bytes: u64,
        /// Where they were kept, relative to the ledger's directory.
        quarantine: String,
        /// `b3:` hash (plain BLAKE3) of the cut bytes.
        blake3: String,
    }
}

event! {
    /// `checkpoint`: the head was committed on a git ref (written by [`Ledger::checkpoint`]).
    ///
    /// [`Ledger::checkpoint`]: crate::Ledger::checkpoint
    Checkpoint => Checkpoint {
        /// The ref, such as `refs/paddock/ledger/host`.
        #[serde(rename = "ref")]
        reference: String,
        /// The checkpoint commit id.
        commit: String,
        /// The checkpointed head's seq.
        seq: u64,
        /// The checkpointed head's hash (`b3:...`).
        hash: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn unknown_fields_are_kept() {
        let json = serde_json::json!({"reason": "r", "rule": "x", "new_field": [1, 2]});
        let blocked: SessionBlocked = serde_json::from_value(json.clone()).expect("decodes");
        assert_eq!(
            blocked.extra.get("new_field"),
            Some(&serde_json::json!([1, 2]))
        );
        assert_eq!(serde_json::to_value(&blocked).expect("encodes"), json);
    }

    #[test]
    fn checkpoint_field_is_named_ref() {
        let c = Checkpoint {
            reference: "refs/x".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&c).expect("encodes");
        assert_eq!(v.get("ref"), Some(&Value::from("refs/x")));
    }
}
