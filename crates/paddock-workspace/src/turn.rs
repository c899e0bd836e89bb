//! Role turns: one run of an agent role (claim, glance, extract, ...) under a session, started
//! from a reset context and pinned in the ledger so that it can be replayed.
//!
//! An *isolated* turn (the default) gets a fresh scratch directory of its own, a cleared
//! environment (the policy's `turns.env` allowlist plus the `PADDOCK_TURN_*` variables, with
//! `HOME` and `TMPDIR` pointing at its scratch), and kernel confinement that lets it read only
//! what a program needs to run (system trees, the toolchains on its `PATH`), the session's
//! worktree, its declared inputs and its scratch, and write only its scratch and the session's
//! scope. Nothing of a previous turn's scratch, nor the caller's home or temp dirs, is visible:
//! knowledge passes between roles only through persisted artifacts (declared inputs and files
//! in the worktree).
//!
//! The inputs, the declared outputs and the turn's stdout and stderr are stored by BLAKE3 hash
//! in the [blob store](blobs), and a `turn.pin` ledger record names them together with the
//! caller's pins (model, seed, candidate order, tie-breaks, ...), the repository state, the
//! requested and effective isolation, the command, a hash of its environment, its exit status
//! and its duration. [`Workspace::prepare_replay`] restores the inputs from the store into a
//! fresh worktree at the pinned commit, runs the same command with the same pins and reports,
//! per output, whether it came out byte for byte the same.
//!
//! ```no_run
//! use paddock_workspace::{turn, Workspace};
//!
//! let workspace = Workspace::open(std::path::Path::new(".")).expect("a repository");
//! let options = turn::Options {
//!     session: "claim-1".into(),
//!     role: "claim".into(),
//!     inputs: vec!["docs/question.md".into()],
//!     outputs: vec!["out/claim.json".into()],
//!     argv: vec!["python3".into(), "roles/claim.py".into()],
//!     ..Default::default()
//! };
//! let finished = workspace
//!     .prepare_turn(options)
//!     .and_then(|turn| turn.spawn(turn::Echo::terminal()))
//!     .and_then(|running| running.wait())
//!     .expect("the turn ran and its pin is recorded");
//! println!("turn {} exited {}", finished.pin.turn, finished.code);
//!
//! let replay = workspace
//!     .prepare_replay(&finished.pin.turn, &turn::ReplayOptions::default())
//!     .expect("pinned inputs intact")
//!     .spawn(turn::Echo::none())
//!     .and_then(|running| running.wait())
//!     .expect("replayed");
//! assert!(replay.pin.comparison.is_some_and(|c| c.identical));
//! ```
//!
//! # Where the scratch lives, and why
//!
//! Under the common git dir: the turn's own directory `paddock-turns/<turn-id>/` (mode 0700) is
//! its scratch (a replay's fresh worktree sits beside it, `paddock-turns/<turn-id>.worktree/`).
//! Not under `/tmp`: every session may write there, so a turn's scratch would be open to the
//! other turns and sessions of the same user. Inside `paddock-turns/` the sandbox hides every
//! other turn's directory, and also whatever is created there after the turn started, so
//! neither an earlier nor a concurrent turn can be read. The blob store (which holds earlier
//! turns' stdout) is hidden as well. The pins file is content-addressed and read-only,
//! `paddock-turns/pins/<blake3>.json`, shared by the turns with the same pins (what it holds is
//! in the ledger anyway), so a turn creates one directory and nothing else.
//!
//! # Degradation
//!
//! The kernel mode asked for is the policy's `isolation.sandbox.prefer`; the weakest mode
//! allowed is `isolation.sandbox.require`, lowered for one session only by a live `degraded`
//! approval (`paddock approve degraded`), as for every other command of the session. When the
//! kernel cannot give an allowed mode, the turn is refused, and a `turn.refused` record says
//! what was asked, what was available and why. When it runs in a weaker mode than asked, the
//! pin's effective isolation is `degraded`, with the reasons; it is `isolated` only when the
//! requested kernel mode was obtained.
#![allow(clippy::result_large_err)]

pub mod blobs;
pub mod diff;

mod access;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use paddock_policy::SandboxLevel;
use paddock_sandbox::{CommandExt as _, Mode as SandboxMode, Prepared, Spec};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Workspace;
use crate::approvals::Grant;
use crate::confine::CONFINED_ENV;
use crate::git::Git;
use crate::guard::{SESSION_ENV, Violation};
use crate::record::Event;
use crate::repo;
use crate::session::{self, Mode, Session, State};

use blobs::{BlobRef, Blobs};

/// The turn's id (for a replay: the id of the turn it replays).
pub const TURN_ID_ENV: &str = "PADDOCK_TURN_ID";
/// The turn's scratch directory (also its `HOME` and `TMPDIR` when isolated).
pub const SCRATCH_ENV: &str = "PADDOCK_TURN_SCRATCH";
/// A JSON file with the caller's pins, the same bytes in a replay.
pub const PINS_ENV: &str = "PADDOCK_TURN_PINS";
/// The turn's role.
pub const ROLE_ENV: &str = "PADDOCK_TURN_ROLE";
/// Set in a replay only: the replay's own id.
pub const REPLAY_ENV: &str = "PADDOCK_TURN_REPLAY";

/// Ledger kind of a turn that ran.
pub const PIN_KIND: &str = "turn.pin";
/// Ledger kind of a replay.
pub const REPLAY_KIND: &str = "turn.replay";
/// Ledger kind of a turn (or replay) the policy refused.
pub const REFUSED_KIND: &str = "turn.refused";

/// The directory under the common git dir holding the turns' own directories.
pub const TURNS_DIR: &str = "paddock-turns";

/// The directory in [`TURNS_DIR`] holding the pins files.
const PINS_DIR: &str = "pins";

/// Variables that carry per-run plumbing, not what the program was given: left out of the
/// environment hash (the scratch and pins paths are replaced by placeholders instead).
const ENV_HASH_SKIP: &[&str] = &[
    "PADDOCK_SUPERVISOR_FD",
    REPLAY_ENV,
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
];

/// The name stdout has in comparisons.
pub const STDOUT: &str = "<stdout>";
/// The name stderr has in comparisons.
pub const STDERR: &str = "<stderr>";

/// What isolation a turn asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// A reset context: fresh scratch, cleared environment, reads limited to what it needs.
    #[default]
    Isolated,
    /// The session's context: the caller's environment and the session's confinement (which
    /// reads everything but other sessions' worktrees). Only the scratch dir is its own.
    Shared,
}

impl Isolation {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Isolated => "isolated",
            Isolation::Shared => "shared",
        }
    }
}

/// What isolation a turn got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effective {
    /// Isolated, in the kernel mode the policy asks for.
    Isolated,
    /// Asked for isolation, ran in a weaker kernel mode the policy (or an approval) allows.
    Degraded,
    /// Asked for (and got) the session's shared context.
    Shared,
    /// Not run: no allowed mode was available.
    Refused,
}

impl Effective {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Effective::Isolated => "isolated",
            Effective::Degraded => "degraded",
            Effective::Shared => "shared",
            Effective::Refused => "refused",
        }
    }
}

/// A file a turn read or wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Relative to the worktree when inside it, else absolute.
    pub path: String,
    /// `b3:<hex>` of its content; absent for an output the turn did not produce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    /// Its size in bytes; absent with `blake3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// The repository a turn ran on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoState {
    /// The worktree it ran in (for a replay: the replay's own worktree).
    pub worktree: String,
    /// The session's base commit.
    pub base: String,
    /// The worktree's HEAD commit when the turn started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// HEAD's tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree: Option<String>,
    /// The branch checked out (absent when detached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// HEAD after the turn, when the turn moved it (it committed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_after: Option<String>,
}

/// How the kernel confinement was decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsolationDetail {
    /// The kernel mode asked for (`isolation.sandbox.prefer`).
    pub sandbox_requested: String,
    /// The kernel mode the turn ran in; absent when refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_effective: Option<String>,
    /// The strongest mode this kernel offers.
    pub sandbox_available: String,
    /// The modes the policy (and approvals) allowed.
    pub allowed: Vec<String>,
    /// Why effective and requested differ (missing kernel layers, an approval).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The `degraded` approval that allowed a mode below `isolation.sandbox.require`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// What the turn could read (isolated turns; shared ones read `/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readable: Vec<String>,
    /// What it could write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writable: Vec<String>,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// Its exit code, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// The signal that killed it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

impl Exit {
    /// A shell's `$?`: the code, or 128 + the signal.
    pub fn shell_code(self) -> u8 {
        match (self.code, self.signal) {
            (Some(code), _) => code as u8,
            (None, Some(signal)) => 128u8.wrapping_add(signal as u8),
            _ => 255,
        }
    }
}

/// One output of a replay against the recorded one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputComparison {
    /// The output's path, or [`STDOUT`] / [`STDERR`].
    pub name: String,
    /// Byte for byte the same (or missing both times).
    pub identical: bool,
    /// The recorded hash (absent: the turn did not produce it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
    /// The replay's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed: Option<String>,
    /// Recorded size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_size: Option<u64>,
    /// Replayed size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_size: Option<u64>,
    /// The first byte offset where they differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<u64>,
    /// A small unified diff, for text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// A replay against its original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// Every output identical and the same exit status.
    pub identical: bool,
    /// Same exit status.
    pub exit_same: bool,
    /// Same environment hash (same allowlisted values, same sandbox mode).
    pub env_same: bool,
    /// Per output: the declared ones, then stdout and stderr.
    pub outputs: Vec<OutputComparison>,
}

/// The data of a `turn.pin`, `turn.replay` or `turn.refused` record.
///
/// `turn`, `role`, `pins`, `inputs`, `outputs`, `isolation_requested` and
/// `isolation_effective` are those of [`paddock_ledger::events::TurnPin`], so its readers
/// decode these records; the rest lands in its `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pin {
    /// The turn's id (`t-` and 12 hex digits).
    pub turn: String,
    /// Its role.
    pub role: String,
    /// Its session.
    pub session: String,
    /// Its number within the session, from 1 (a replay carries its original's; 0 when
    /// refused).
    #[serde(default)]
    pub number: u64,
    /// The session's previous turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// For a replay: the turn it replays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<String>,
    /// When it started (RFC 3339 UTC).
    pub started: String,
    /// The caller's pins, verbatim (`--pin KEY=VALUE` values are strings).
    #[serde(default)]
    pub pins: BTreeMap<String, Value>,
    /// `b3:` hash of the `PADDOCK_TURN_PINS` file.
    pub pins_file: String,
    /// Input path -> `b3:` hash.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// Declared output path -> `b3:` hash (outputs it produced).
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    /// The inputs with their sizes.
    #[serde(default)]
    pub input_files: Vec<FileRef>,
    /// The declared outputs with their sizes (no hash: not produced).
    #[serde(default)]
    pub output_files: Vec<FileRef>,
    /// What it wrote to stdout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<BlobRef>,
    /// What it wrote to stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<BlobRef>,
    /// The repository state.
    pub repo: RepoState,
    /// The session's scope.
    #[serde(default)]
    pub scope: Vec<String>,
    /// Isolation asked for.
    pub isolation_requested: Isolation,
    /// Isolation obtained.
    pub isolation_effective: Effective,
    /// How the kernel confinement was decided.
    pub isolation: IsolationDetail,
    /// The command.
    pub argv: Vec<String>,
    /// `b3:` hash of the sorted environment the command got (scratch and pins paths as
    /// placeholders, per-run plumbing left out).
    pub env_hash: String,
    /// The names of the variables it got.
    #[serde(default)]
    pub env: Vec<String>,
    /// How it ended (absent when refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<Exit>,
    /// How long it ran, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_us: Option<u64>,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// What the after-command check found (writes outside the exact scope, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<RecordedViolation>,
    /// For a replay: how it compares with the original.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// The turn's directory, when kept (`--keep`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
}

/// A [`Violation`] as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedViolation {
    /// The rule.
    pub rule: String,
    /// The path.
    pub subject: String,
    /// Why.
    pub detail: String,
}

impl From<&Violation> for RecordedViolation {
    fn from(v: &Violation) -> RecordedViolation {
        RecordedViolation {
            rule: v.rule.to_owned(),
            subject: v.subject.clone(),
            detail: v.detail.clone(),
        }
    }
}

/// Errors of [`Workspace::prepare_turn`], [`Turn::spawn`] and [`Running::wait`].
pub mod run {
    use std::path::PathBuf;

    /// Why a turn did not run, or ran but does not count.
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        /// Bad input: role, command, pins, paths.
        #[error("{0}")]
        Invalid(String),
        /// Asked from inside a confined process, where paddock's state is read-only.
        #[error(
            "turns are started by the orchestrator, outside any session's confinement (this \
             process is confined by paddock, so it cannot store blobs or pins)"
        )]
        Confined,
        /// The session is not one a turn may run in.
        #[error("session {id} is {state}; turns run only in an active or blocked session")]
        NotLive {
            /// The session.
            id: String,
            /// Its state.
            state: String,
        },
        /// The kernel cannot give any mode the policy allows: nothing ran.
        #[error("turn refused: {message}")]
        Refused {
            /// The turn id the refusal was recorded under.
            turn: String,
            /// What the sandbox said.
            message: String,
        },
        /// The session registry could not be read.
        #[error(transparent)]
        Registry(#[from] crate::registry::Error),
        /// Approvals could not be read.
        #[error(transparent)]
        Approvals(#[from] crate::approvals::Error),
        /// The session's confinement could not be prepared.
        #[error(transparent)]
        Confinement(#[from] crate::confine::Error),
        /// The sandbox could not be built.
        #[error("cannot confine the turn: {0}")]
        Sandbox(#[source] paddock_sandbox::prepare::Error),
        /// A file operation failed.
        #[error("{action} {path}: {source}")]
        Io {
            /// What was being done.
            action: &'static str,
            /// On which path.
            path: PathBuf,
            /// The I/O error.
            #[source]
            source: std::io::Error,
        },
        /// The blob store failed.
        #[error(transparent)]
        Blob(#[from] super::blobs::Error),
        /// The command could not be started.
        #[error("cannot start {program:?}: {source}{hint}")]
        Spawn {
            /// argv[0].
            program: String,
            /// Why.
            #[source]
            source: std::io::Error,
            /// What to try.
            hint: &'static str,
        },
        /// The command could not be waited for.
        #[error("cannot wait for the turn's command: {0}")]
        Wait(#[source] std::io::Error),
        /// git failed.
        #[error(transparent)]
        Git(#[from] crate::git::Error),
        /// The ledger could not be read.
        #[error(transparent)]
        History(#[from] super::history::Error),
        /// The after-command check failed.
        #[error(transparent)]
        Check(#[from] crate::watch::Error),
        /// Blocking the session failed.
        #[error(transparent)]
        Block(#[from] crate::guard::Error),
        /// The refusal could not be recorded.
        #[error(
            "the turn was refused ({message}), and the refusal could not be recorded: {source}"
        )]
        RecordRefusal {
            /// Why it was refused.
            message: String,
            /// Why the record failed.
            #[source]
            source: crate::record::Error,
        },
        /// The command ran but its pin could not be recorded: the turn does not count (fail
        /// closed).
        #[error(
            "turn {turn} ran (exit {code}) but its pin could not be recorded, so it does not count: {source}"
        )]
        Record {
            /// The turn.
            turn: String,
            /// The command's exit status.
            code: u8,
            /// Why the record failed.
            #[source]
            source: crate::record::Error,
        },
    }
}

/// Errors of [`Workspace::prepare_replay`].
pub mod replay {
    /// Why a turn cannot be replayed.
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        /// No such turn in the ledger.
        #[error("no turn {turn:?} in the ledger; `paddock turn list` shows the turns")]
        Unknown {
            /// The id asked for.
            turn: String,
        },
        /// The turn did not run (it was refused) or its pin lacks what a replay needs.
        #[error("turn {turn} cannot be replayed: {reason}")]
        NotReplayable {
            /// The turn.
            turn: String,
            /// Why.
            reason: String,
        },
        /// A pinned input's blob is missing or damaged: refused.
        #[error("cannot restore input {path} of turn {turn}: {source}; the replay is refused")]
        Input {
            /// The turn.
            turn: String,
            /// The input.
            path: String,
            /// What is wrong with the blob.
            #[source]
            source: super::blobs::Error,
        },
        /// A recorded output's blob is missing or damaged: nothing to compare with.
        #[error(
            "cannot read the recorded output {name} of turn {turn}: {source}; the replay is refused"
        )]
        Output {
            /// The turn.
            turn: String,
            /// The output.
            name: String,
            /// What is wrong with the blob.
            #[source]
            source: super::blobs::Error,
        },
        /// An input outside the repository exists with other content than pinned; paddock does
        /// not overwrite files outside the repository.
        #[error(
            "input {path} of turn {turn} exists with other content ({actual}, pinned {pinned}); \
             paddock does not overwrite files outside the repository: move it aside and replay again"
        )]
        ExternalInput {
            /// The turn.
            turn: String,
            /// The file.
            path: String,
            /// Its hash now.
            actual: String,
            /// The pinned hash.
            pinned: String,
        },
        /// Preparing or running failed.
        #[error(transparent)]
        Run(#[from] super::run::Error),
    }
}

/// Errors reading the turn history.
pub mod history {
    use std::path::PathBuf;

    /// The ledger could not be read.
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        /// Reading or verifying the ledger failed.
        #[error("cannot read the turns from the ledger {path}: {source}")]
        Read {
            /// The ledger.
            path: PathBuf,
            /// Why.
            #[source]
            source: paddock_ledger::read::Error,
        },
    }
}

/// What to run as a turn.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The session it runs under.
    pub session: String,
    /// The role.
    pub role: String,
    /// Files it may read besides the worktree; relative paths are relative to the session's
    /// worktree (where the command runs).
    pub inputs: Vec<PathBuf>,
    /// Files it produces, inside the session's worktree; relative to it.
    pub outputs: Vec<PathBuf>,
    /// The caller's pins.
    pub pins: BTreeMap<String, Value>,
    /// Isolated (default) or shared.
    pub isolation: Isolation,
    /// Keep the turn's directory (scratch and pins file) afterwards.
    pub keep: bool,
    /// The command.
    pub argv: Vec<String>,
}

/// How to replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Keep the replay's directory (scratch, worktree) afterwards.
    pub keep: bool,
}

/// Parses `KEY=VALUE`; the value is kept verbatim, as a string.
pub fn parse_pin(text: &str) -> Result<(String, Value), String> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(format!("--pin {text:?}: expected KEY=VALUE"));
    };
    validate_pin_key(key)?;
    Ok((key.to_owned(), Value::String(value.to_owned())))
}

fn validate_pin_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 128 || key.chars().any(|c| c.is_control()) {
        return Err(format!(
            "pin key {key:?} must be 1 to 128 printable characters"
        ));
    }
    Ok(())
}

/// Reads a pin file: a JSON or YAML mapping of keys to any values.
pub fn load_pin_file(path: &Path) -> Result<BTreeMap<String, Value>, String> {
    let text = fs::read_to_string(path)
        .map_err(|e| format!("cannot read the pin file {}: {e}", path.display()))?;
    let is_json =
        path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    let map: BTreeMap<String, Value> = if is_json {
        serde_json::from_str(&text)
            .map_err(|e| format!("the pin file {} is not a JSON mapping: {e}", path.display()))?
    } else {
        serde_saphyr::from_str(&text)
            .map_err(|e| format!("the pin file {} is not a YAML mapping: {e}", path.display()))?
    };
    for key in map.keys() {
        validate_pin_key(key)?;
    }
    Ok(map)
}

/// Merges `--pin` values into the pin file's; the same key twice is an error, not a silent
/// override.
pub fn merge_pins(
    mut from_file: BTreeMap<String, Value>,
    given: impl IntoIterator<Item = (String, Value)>,
) -> Result<BTreeMap<String, Value>, String> {
    for (key, value) in given {
        if from_file.contains_key(&key) {
            return Err(format!(
                "pin {key:?} is given twice (--pin and --pin-file, or two --pin)"
            ));
        }
        from_file.insert(key, value);
    }
    Ok(from_file)
}

/// The bytes of the `PADDOCK_TURN_PINS` file: the pins as pretty JSON with sorted keys.
pub fn pins_file_bytes(pins: &BTreeMap<String, Value>) -> Vec<u8> {
    let mut bytes =
        serde_json::to_vec_pretty(pins).expect("a map of JSON values always serializes");
    bytes.push(b'\n');
    bytes
}

/// Where the turn's command's stdout and stderr go besides the blob store.
pub struct Echo {
    /// Receives the command's stdout.
    pub stdout: Box<dyn Write + Send>,
    /// Receives the command's stderr.
    pub stderr: Box<dyn Write + Send>,
}

impl Echo {
    /// Passed through to this process's stdout and stderr.
    pub fn terminal() -> Echo {
        Echo {
            stdout: Box::new(io::stdout()),
            stderr: Box::new(io::stderr()),
        }
    }
    /// Both to this process's stderr (when stdout carries JSON).
    pub fn stderr() -> Echo {
        Echo {
            stdout: Box::new(io::stderr()),
            stderr: Box::new(io::stderr()),
        }
    }
    /// Captured only.
    pub fn none() -> Echo {
        Echo {
            stdout: Box::new(io::sink()),
            stderr: Box::new(io::sink()),
        }
    }
}

impl std::fmt::Debug for Echo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Echo")
    }
}

/// One entry of the turn history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The ledger record's seq.
    pub seq: u64,
    /// When it was recorded.
    pub ts: String,
    /// `run`, `replay` or `refused`.
    pub kind: &'static str,
    /// The record.
    #[serde(flatten)]
    pub pin: Pin,
}

/// Removes a turn's directory (and a replay's worktree) when dropped, unless kept.
struct Cleanup {
    dir: PathBuf,
    worktree: Option<(Git, PathBuf)>,
    keep: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Some((git, worktree)) = &self.worktree {
            let _ = git.run([
                std::ffi::OsStr::new("worktree"),
                "remove".as_ref(),
                "--force".as_ref(),
                worktree.as_os_str(),
            ]);
        }
        remove_tree(&self.dir);
        if let Some((git, worktree)) = &self.worktree {
            remove_tree(worktree);
            let _ = git.run(["worktree", "prune"]);
        }
    }
}

/// Removes a tree the turn may have made unwritable (Landlock does not stop `chmod`).
fn remove_tree(dir: &Path) {
    if fs::remove_dir_all(dir).is_ok() || !dir.exists() {
        return;
    }
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let _ = fs::set_permissions(&d, fs::Permissions::from_mode(0o700));
        if let Ok(entries) = fs::read_dir(&d) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(entry.path());
                }
            }
        }
    }
    let _ = fs::remove_dir_all(dir);
}

/// A turn ready to run: scratch made, inputs stored, sandbox prepared.
pub struct Turn<'w> {
    workspace: &'w Workspace,
    session: Session,
    pin: Pin,
    command: Command,
    /// Recorded name and actual path of each declared output.
    outputs: Vec<(String, PathBuf)>,
    blobs: Blobs,
    original: Option<Pin>,
    cleanup: Cleanup,
    /// The session's worktree, opened to read HEAD after the turn (runs only).
    gix_repo: Option<gix::Repository>,
    /// What the after-command check needs to know whether anything changed (runs only).
    watch: Option<WriteWatch>,
}

impl std::fmt::Debug for Turn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn").field("pin", &self.pin).finish()
    }
}

/// A turn whose command is running.
pub struct Running<'w> {
    turn: Turn<'w>,
    child: Child,
    started: Instant,
    stdout: JoinHandle<Result<BlobRef, blobs::Error>>,
    stderr: JoinHandle<Result<BlobRef, blobs::Error>>,
}

impl std::fmt::Debug for Running<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("turn", &self.turn.pin.turn)
            .finish()
    }
}

/// A turn that ran and is recorded.
#[derive(Debug, Clone)]
pub struct Finished {
    /// What was recorded.
    pub pin: Pin,
    /// The command's exit status as a shell reports it.
    pub code: u8,
}

impl Workspace {
    /// The directory holding the turns' own directories.
    pub fn turns_dir(&self) -> PathBuf {
        self.repo().common_dir().join(TURNS_DIR)
    }

    /// The blob store.
    pub fn blobs(&self) -> Blobs {
        let durable = self.policy().ledger().fsync == paddock_policy::Durability::Always;
        Blobs::new(self.repo().state_dir().join("blobs"), durable)
    }

    /// Prepares a turn: checks the session, makes the scratch dir and pins file, stores the
    /// inputs and prepares the sandbox. A refusal by the policy is recorded (`turn.refused`).
    pub fn prepare_turn(&self, options: Options) -> Result<Turn<'_>, run::Error> {
        refuse_confined()?;
        session::validate_name("role", &options.role).map_err(run::Error::Invalid)?;
        if options.argv.is_empty() || options.argv[0].is_empty() {
            return Err(run::Error::Invalid(
                "a turn needs a command: paddock turn run ... -- CMD [ARGS]".to_owned(),
            ));
        }
        let session = self.session(&options.session)?;
        if !matches!(session.state, State::Active | State::Blocked)
            || session.is_expired(SystemTime::now())
        {
            let state = if session.state.is_live() {
                "expired"
            } else {
                session.state.as_str()
            };
            return Err(run::Error::NotLive {
                id: session.id.clone(),
                state: state.to_owned(),
            });
        }
        let worktree = session.worktree.clone();
        let others = self.other_worktrees(Some(&session.id))?;
        let mut inputs = Vec::new();
        for given in &options.inputs {
            let input = self.resolve_input(&worktree, given, &others)?;
            if !inputs.iter().any(|(name, _)| *name == input.0) {
                inputs.push(input);
            }
        }
        let mut outputs = Vec::new();
        for given in &options.outputs {
            let output = resolve_output(&worktree, given)?;
            if !outputs.iter().any(|(name, _)| *name == output.0) {
                outputs.push(output);
            }
        }

        let (id, dir) = self.new_turn_dir()?;
        let cleanup = Cleanup {
            dir: dir.clone(),
            worktree: None,
            keep: options.keep,
        };
        let scratch = dir.clone();
        let pins_bytes = pins_file_bytes(&options.pins);
        let pins_path = self.pins_file(&pins_bytes)?;

        let blobs = self.blobs();
        let mut input_files = Vec::new();
        for (name, path) in &inputs {
            let blob = blobs.store_file(path)?;
            input_files.push(FileRef {
                path: name.clone(),
                blake3: Some(blob.blake3),
                size: Some(blob.size),
            });
        }
        let external: Vec<PathBuf> = inputs
            .iter()
            .filter(|(name, _)| Path::new(name).is_absolute())
            .map(|(_, p)| p.clone())
            .collect();

        let (state, gix_repo) = repo_state(&session);
        let mut pin = Pin {
            turn: id.clone(),
            role: options.role.clone(),
            session: session.id.clone(),
            number: 0,
            parent: None,
            replay_of: None,
            started: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
            pins: options.pins.clone(),
            pins_file: blobs::format_hash(&blake3::hash(&pins_bytes)),
            inputs: input_files
                .iter()
                .filter_map(|f| Some((f.path.clone(), f.blake3.clone()?)))
                .collect(),
            outputs: BTreeMap::new(),
            input_files,
            output_files: Vec::new(),
            stdout: None,
            stderr: None,
            repo: state,
            scope: session.scope.clone(),
            isolation_requested: options.isolation,
            isolation_effective: Effective::Refused,
            isolation: IsolationDetail::default(),
            argv: options.argv.clone(),
            env_hash: String::new(),
            env: Vec::new(),
            exit: None,
            duration_us: None,
            refused: None,
            violations: Vec::new(),
            comparison: None,
            kept: options.keep.then(|| dir.display().to_string()),
        };

        let home = std::env::var_os("HOME").map(PathBuf::from);
        let never = self.never_grant(&worktree, home.as_deref());
        let never_refs: Vec<&Path> = never.iter().map(PathBuf::as_path).collect();
        let path_var = std::env::var("PATH").ok();
        let toolchain = access::toolchain(path_var.as_deref(), &never_refs);
        let mut spec = self.sandbox_spec(&session)?;
        if options.isolation == Isolation::Isolated {
            self.narrow_spec(
                &mut spec,
                &session,
                &worktree,
                &external,
                &toolchain,
                std::slice::from_ref(&dir),
                &never_refs,
            )?;
        }
        spec.writable.push(scratch.clone());
        let base_env = match options.isolation {
            Isolation::Isolated => isolated_env(self.policy().turn_env(), &toolchain, &scratch),
            Isolation::Shared => caller_env(),
        };
        let capabilities = self.capabilities();
        let prepared = self.prepare_sandbox(
            &spec,
            &capabilities,
            &session.id,
            options.isolation,
            &mut pin,
        )?;
        let mut env = base_env;
        if options.isolation == Isolation::Shared
            && let Some(private) = private_tmp(&spec, &session.id)
        {
            // As for the session's other commands: its private temp dir, when /tmp holds
            // another session's worktree.
            env.insert("TMPDIR".to_owned(), private.display().to_string());
        }
        env.insert(TURN_ID_ENV.to_owned(), id.clone());
        env.insert(SCRATCH_ENV.to_owned(), scratch.display().to_string());
        env.insert(PINS_ENV.to_owned(), pins_path.display().to_string());
        env.insert(ROLE_ENV.to_owned(), options.role.clone());
        env.insert(SESSION_ENV.to_owned(), session.id.clone());
        env.insert(CONFINED_ENV.to_owned(), prepared.mode().as_str().to_owned());
        if session.mode == Mode::Worktree {
            env.insert(
                "GIT_OBJECT_DIRECTORY".to_owned(),
                self.session_objects(&session.id).display().to_string(),
            );
            env.insert(
                "GIT_ALTERNATE_OBJECT_DIRECTORIES".to_owned(),
                self.repo()
                    .common_dir()
                    .join("objects")
                    .display()
                    .to_string(),
            );
        }
        pin.env_hash = env_hash(&env, &scratch, &pins_path);
        pin.env = env.keys().cloned().collect();
        if options.isolation == Isolation::Isolated {
            pin.isolation.readable = spec
                .readable
                .iter()
                .map(|p| p.display().to_string())
                .collect();
        }
        pin.isolation.writable = spec
            .writable
            .iter()
            .map(|p| p.display().to_string())
            .collect();

        let command = build_command(&options.argv, &worktree, &env, &prepared);
        let watch = WriteWatch::new(&session, &spec, prepared.mode());
        Ok(Turn {
            workspace: self,
            session,
            pin,
            command,
            outputs,
            blobs,
            original: None,
            cleanup,
            gix_repo,
            watch,
        })
    }

    /// Prepares a replay of a recorded turn: checks every pinned blob, makes a fresh worktree
    /// at the pinned commit, restores the inputs into it, and prepares the same command with
    /// the same pins in a fresh scratch dir.
    pub fn prepare_replay(
        &self,
        turn_id: &str,
        options: &ReplayOptions,
    ) -> Result<Turn<'_>, replay::Error> {
        refuse_confined()?;
        let entry = self
            .find_turn(turn_id)
            .map_err(run::Error::from)?
            .ok_or_else(|| replay::Error::Unknown {
                turn: turn_id.to_owned(),
            })?;
        let original = entry.pin;
        let not = |reason: &str| replay::Error::NotReplayable {
            turn: turn_id.to_owned(),
            reason: reason.to_owned(),
        };
        if entry.kind != "run" {
            return Err(not(&format!(
                "it is a {} record, not a turn that ran",
                entry.kind
            )));
        }
        let head = original
            .repo
            .head
            .clone()
            .ok_or_else(|| not("its pin names no HEAD commit"))?;
        let session = self.session(&original.session).map_err(run::Error::from)?;

        // Everything the replay needs must be intact before anything is touched.
        let blobs = self.blobs();
        for file in &original.input_files {
            let hash = file
                .blake3
                .as_deref()
                .ok_or_else(|| not("an input has no hash"))?;
            blobs.verify(hash).map_err(|source| replay::Error::Input {
                turn: turn_id.to_owned(),
                path: file.path.clone(),
                source,
            })?;
        }
        let recorded_outputs = original
            .output_files
            .iter()
            .filter_map(|f| Some((f.path.clone(), f.blake3.clone()?)))
            .chain(
                original
                    .stdout
                    .iter()
                    .map(|b| (STDOUT.to_owned(), b.blake3.clone())),
            )
            .chain(
                original
                    .stderr
                    .iter()
                    .map(|b| (STDERR.to_owned(), b.blake3.clone())),
            );
        for (name, hash) in recorded_outputs {
            blobs
                .verify(&hash)
                .map_err(|source| replay::Error::Output {
                    turn: turn_id.to_owned(),
                    name,
                    source,
                })?;
        }
        let pins_bytes = pins_file_bytes(&original.pins);
        if blobs::format_hash(&blake3::hash(&pins_bytes)) != original.pins_file {
            return Err(not(
                "its pins no longer serialize to the pinned PADDOCK_TURN_PINS file",
            ));
        }
        let mut external = Vec::new();
        for file in original
            .input_files
            .iter()
            .filter(|f| Path::new(&f.path).is_absolute())
        {
            let pinned = file.blake3.clone().unwrap_or_default();
            let path = PathBuf::from(&file.path);
            if path.exists() {
                let actual = blobs::format_hash(&hash_path(&path)?);
                if actual != pinned {
                    return Err(replay::Error::ExternalInput {
                        turn: turn_id.to_owned(),
                        path: file.path.clone(),
                        actual,
                        pinned,
                    });
                }
            }
            external.push(path);
        }

        let (id, dir) = self.new_turn_dir()?;
        let main = self.repo().git();
        let worktree = self.turns_dir().join(format!("{id}.worktree"));
        let mut cleanup = Cleanup {
            dir: dir.clone(),
            worktree: None,
            keep: options.keep,
        };
        let scratch = dir.clone();
        let pins_path = self.pins_file(&pins_bytes)?;
        {
            // Parallel `git worktree add`s race on the common dir's files.
            let _lock = self.registry().lock().map_err(run::Error::from)?;
            main.run([
                std::ffi::OsStr::new("worktree"),
                "add".as_ref(),
                "--quiet".as_ref(),
                "--detach".as_ref(),
                worktree.as_os_str(),
                head.as_ref(),
            ])
            .map_err(run::Error::from)?;
        }
        cleanup.worktree = Some((main, worktree.clone()));
        let worktree = repo::canonical(&worktree);
        let own = [dir.clone(), worktree.clone()];
        for file in &original.input_files {
            let hash = file.blake3.as_deref().unwrap_or_default();
            let target = if Path::new(&file.path).is_absolute() {
                if Path::new(&file.path).exists() {
                    continue;
                }
                PathBuf::from(&file.path)
            } else {
                worktree.join(&file.path)
            };
            blobs
                .restore(hash, &target)
                .map_err(|source| replay::Error::Input {
                    turn: turn_id.to_owned(),
                    path: file.path.clone(),
                    source,
                })?;
        }

        let mut pin = Pin {
            turn: id.clone(),
            replay_of: Some(original.turn.clone()),
            started: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
            repo: RepoState {
                worktree: worktree.display().to_string(),
                base: original.repo.base.clone(),
                head: Some(head),
                tree: original.repo.tree.clone(),
                branch: None,
                head_after: None,
            },
            outputs: BTreeMap::new(),
            output_files: Vec::new(),
            stdout: None,
            stderr: None,
            isolation_effective: Effective::Refused,
            isolation: IsolationDetail::default(),
            env_hash: String::new(),
            env: Vec::new(),
            exit: None,
            duration_us: None,
            refused: None,
            violations: Vec::new(),
            comparison: None,
            kept: options.keep.then(|| dir.display().to_string()),
            ..original.clone()
        };

        // The scope's fixed directories are writable, as they were for the original.
        let scope = paddock_policy::glob::PatternSet::new(&original.scope).unwrap_or_default();
        let mut spec = Spec::new();
        for pattern in scope.patterns() {
            let scope_dir = worktree.join(pattern.literal_prefix_dir());
            fs::create_dir_all(&scope_dir).map_err(io_err("cannot create", &scope_dir))?;
            if !spec.writable.contains(&scope_dir) {
                spec.writable.push(scope_dir);
            }
        }
        let pointer = worktree.join(".git");
        if spec.writable.iter().any(|w| pointer.starts_with(w)) {
            spec.read_only_binds.push(pointer);
        }
        spec.hidden = self.other_worktrees(None).map_err(run::Error::from)?;
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let never = self.never_grant(&worktree, home.as_deref());
        let never_refs: Vec<&Path> = never.iter().map(PathBuf::as_path).collect();
        let path_var = std::env::var("PATH").ok();
        let toolchain = access::toolchain(path_var.as_deref(), &never_refs);
        match original.isolation_requested {
            Isolation::Isolated => {
                self.narrow_spec(
                    &mut spec,
                    &session,
                    &worktree,
                    &external,
                    &toolchain,
                    &own,
                    &never_refs,
                )?;
            }
            Isolation::Shared => {
                // The temp dirs the original could write, unless one holds a live session's
                // worktree (Landlock cannot grant a tree and hide part of it).
                for dir in &self.policy().scratch().system {
                    let dir = repo::canonical(Path::new(dir));
                    if dir.is_dir() && !spec.hidden.iter().any(|h| h.starts_with(&dir)) {
                        spec.writable.push(dir);
                    }
                }
            }
        }
        spec.writable.push(scratch.clone());
        let mut env = match original.isolation_requested {
            Isolation::Isolated => isolated_env(self.policy().turn_env(), &toolchain, &scratch),
            Isolation::Shared => caller_env(),
        };
        let capabilities = self.capabilities();
        let prepared = self.prepare_sandbox(
            &spec,
            &capabilities,
            &session.id,
            original.isolation_requested,
            &mut pin,
        )?;
        env.insert(TURN_ID_ENV.to_owned(), original.turn.clone());
        env.insert(REPLAY_ENV.to_owned(), id.clone());
        env.insert(SCRATCH_ENV.to_owned(), scratch.display().to_string());
        env.insert(PINS_ENV.to_owned(), pins_path.display().to_string());
        env.insert(ROLE_ENV.to_owned(), original.role.clone());
        env.insert(SESSION_ENV.to_owned(), original.session.clone());
        env.insert(CONFINED_ENV.to_owned(), prepared.mode().as_str().to_owned());
        pin.env_hash = env_hash(&env, &scratch, &pins_path);
        pin.env = env.keys().cloned().collect();
        if original.isolation_requested == Isolation::Isolated {
            pin.isolation.readable = spec
                .readable
                .iter()
                .map(|p| p.display().to_string())
                .collect();
        }
        pin.isolation.writable = spec
            .writable
            .iter()
            .map(|p| p.display().to_string())
            .collect();

        let outputs = original
            .output_files
            .iter()
            .map(|f| (f.path.clone(), worktree.join(&f.path)))
            .collect::<Vec<_>>();
        let command = build_command(&original.argv, &worktree, &env, &prepared);
        Ok(Turn {
            workspace: self,
            session,
            pin,
            command,
            outputs,
            blobs,
            original: Some(original),
            cleanup,
            gix_repo: None,
            watch: None,
        })
    }

    /// The turn history (runs, replays and refusals), oldest first; one session's with
    /// `session`. Records of these kinds that do not decode as a [`Pin`] are skipped.
    pub fn turn_history(&self, session: Option<&str>) -> Result<Vec<Entry>, history::Error> {
        let path = self.ledger_path();
        if !path.exists() {
            return Ok(Vec::new());
        }
        let mut filter = paddock_ledger::Filter::new().kind("turn");
        if let Some(session) = session {
            filter = filter.session(session);
        }
        let records =
            paddock_ledger::records(&path, filter).map_err(|source| history::Error::Read {
                path: path.clone(),
                source,
            })?;
        let mut entries = Vec::new();
        for record in records {
            let record = record.map_err(|source| history::Error::Read {
                path: path.clone(),
                source,
            })?;
            let kind = match record.kind.as_str() {
                PIN_KIND => "run",
                REPLAY_KIND => "replay",
                REFUSED_KIND => "refused",
                _ => continue,
            };
            let Ok(pin) = serde_json::from_value::<Pin>(Value::Object(record.data)) else {
                continue;
            };
            entries.push(Entry {
                seq: record.seq,
                ts: record.ts.to_string(),
                kind,
                pin,
            });
        }
        Ok(entries)
    }

    /// One turn (or replay, or refusal) by id.
    pub fn find_turn(&self, turn_id: &str) -> Result<Option<Entry>, history::Error> {
        Ok(self
            .turn_history(None)?
            .into_iter()
            .find(|e| e.pin.turn == turn_id))
    }

    fn last_turn_path(&self, session_id: &str) -> PathBuf {
        self.repo()
            .state_dir()
            .join("turns")
            .join(format!("{session_id}.json"))
    }

    /// The session's last turn: from its index file, or (when that is missing or unreadable)
    /// from the ledger, which is the truth the index only caches.
    fn last_turn(&self, session_id: &str) -> Result<Option<LastTurn>, run::Error> {
        if let Ok(bytes) = fs::read(self.last_turn_path(session_id))
            && let Ok(last) = serde_json::from_slice::<LastTurn>(&bytes)
        {
            return Ok(Some(last));
        }
        Ok(self
            .turn_history(Some(session_id))?
            .into_iter()
            .rfind(|e| e.kind == "run")
            .map(|e| LastTurn {
                number: e.pin.number,
                turn: e.pin.turn,
            }))
    }

    /// Updates the index after a pin was recorded; when it cannot be written it is removed, so
    /// the next turn reads the ledger instead of a stale number.
    fn save_last_turn(&self, session_id: &str, last: LastTurn) -> Result<(), run::Error> {
        let path = self.last_turn_path(session_id);
        // Rewritten in place (one short write, no new inode): a torn write leaves bytes that do
        // not parse, and the next turn reads the ledger instead.
        let write = || -> io::Result<()> {
            let bytes = serde_json::to_vec(&last).map_err(io::Error::other)?;
            let mut file = match fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
            {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
                    fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .open(&path)?
                }
                other => other?,
            };
            file.write_all(&bytes)?;
            file.set_len(bytes.len() as u64)?;
            Ok(())
        };
        if write().is_err() {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(run::Error::Io {
                        action: "cannot remove the stale turn index",
                        path,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// The pins file for these bytes: `paddock-turns/pins/<blake3>.json`, content-addressed and
    /// read-only, shared by every turn with the same pins. One that no longer matches its name
    /// is replaced.
    fn pins_file(&self, bytes: &[u8]) -> Result<PathBuf, run::Error> {
        let dir = self.turns_dir().join(PINS_DIR);
        let path = dir.join(format!("{}.json", blake3::hash(bytes).to_hex()));
        if fs::read(&path).is_ok_and(|existing| existing == bytes) {
            return Ok(path);
        }
        fs::create_dir_all(&dir).map_err(io_err("cannot create", &dir))?;
        let mut temp = tempfile::NamedTempFile::new_in(&dir)
            .map_err(io_err("cannot create a temp file in", &dir))?;
        temp.write_all(bytes)
            .map_err(io_err("cannot write a temp file in", &dir))?;
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o444))
            .map_err(io_err("cannot make read-only", &path))?;
        temp.persist(&path).map_err(|e| run::Error::Io {
            action: "cannot write",
            path: path.clone(),
            source: e.error,
        })?;
        Ok(path)
    }

    fn new_turn_dir(&self) -> Result<(String, PathBuf), run::Error> {
        let turns = self.turns_dir();
        fs::create_dir_all(&turns).map_err(io_err("cannot create", &turns))?;
        for attempt in 0u32.. {
            let mut hasher = blake3::Hasher::new();
            hasher.update(&std::process::id().to_le_bytes());
            hasher.update(&attempt.to_le_bytes());
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            hasher.update(&nanos.to_le_bytes());
            let id = format!("t-{}", &hasher.finalize().to_hex()[..12]);
            let dir = turns.join(&id);
            match fs::create_dir(&dir) {
                Ok(()) => {
                    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                        .map_err(io_err("cannot make private", &dir))?;
                    return Ok((id, dir));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => continue,
                Err(e) => {
                    return Err(run::Error::Io {
                        action: "cannot create",
                        path: dir,
                        source: e,
                    });
                }
            }
        }
        unreachable!("the loop returns within 17 attempts")
    }

    /// Resolves an `--input`: an existing file, not in paddock's state nor in another session's
    /// worktree. Returns its recorded name and its real path.
    fn resolve_input(
        &self,
        worktree: &Path,
        given: &Path,
        others: &[PathBuf],
    ) -> Result<(String, PathBuf), run::Error> {
        let joined = worktree.join(given);
        let real = fs::canonicalize(&joined)
            .map_err(|e| run::Error::Invalid(format!("--input {}: {e}", given.display())))?;
        if !real.is_file() {
            return Err(run::Error::Invalid(format!(
                "--input {}: not a file (declare files, not directories)",
                given.display()
            )));
        }
        let common = self.repo().common_dir();
        if real.starts_with(self.repo().state_dir()) || real.starts_with(common.join(TURNS_DIR)) {
            return Err(run::Error::Invalid(format!(
                "--input {}: paddock's own state cannot be a turn's input",
                given.display()
            )));
        }
        if let Some(other) = others.iter().find(|o| real.starts_with(o)) {
            return Err(run::Error::Invalid(format!(
                "--input {}: it lies in another session's worktree ({}); access to another session's files \
                 needs an operator's approval (INV-WS-003)",
                given.display(),
                other.display()
            )));
        }
        let name = match real.strip_prefix(worktree) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => real.clone(),
        };
        let name = name
            .to_str()
            .ok_or_else(|| {
                run::Error::Invalid(format!(
                    "--input {}: the path is not UTF-8",
                    given.display()
                ))
            })?
            .to_owned();
        Ok((name, real))
    }

    /// Paths no toolchain grant may contain: the repository, its worktrees, the caller's home.
    fn never_grant(&self, worktree: &Path, home: Option<&Path>) -> Vec<PathBuf> {
        let mut never = vec![
            worktree.to_owned(),
            self.repo().main_worktree().to_owned(),
            self.repo().common_dir().to_owned(),
        ];
        never.extend(home.map(Path::to_owned));
        never
    }

    /// Narrows a session's spec to an isolated turn's: reads limited to the system trees, the
    /// toolchains, the worktree, the common git dir (less the blob store and the other turns'
    /// directories), the external inputs and paddock's own binary; no system temp dirs or
    /// build-output dirs shared with other turns.
    #[allow(clippy::too_many_arguments)]
    fn narrow_spec(
        &self,
        spec: &mut Spec,
        session: &Session,
        worktree: &Path,
        external: &[PathBuf],
        toolchain: &access::Toolchain,
        own: &[PathBuf],
        never: &[&Path],
    ) -> Result<(), run::Error> {
        let policy = self.policy();
        let scope = paddock_policy::glob::PatternSet::new(&session.scope).unwrap_or_default();
        let scope_dirs: Vec<PathBuf> = scope
            .patterns()
            .iter()
            .map(|p| worktree.join(p.literal_prefix_dir()))
            .collect();
        let shared_dirs: Vec<PathBuf> = policy
            .scratch()
            .worktree
            .patterns()
            .iter()
            .map(|p| worktree.join(p.literal_prefix_dir()))
            .filter(|d| !scope_dirs.contains(d))
            .chain(policy.scratch().system.iter().flat_map(|dir| {
                // The temp dir itself, or the session's private directory inside it.
                let dir = repo::canonical(Path::new(dir));
                let private = dir.join(format!("paddock-{}", session.id));
                [dir, private]
            }))
            .collect();
        spec.writable.retain(|w| !shared_dirs.contains(w));

        let mut readable = access::system();
        readable.extend(toolchain.readable.iter().cloned());
        readable.push(worktree.to_owned());
        readable.push(self.repo().common_dir().to_owned());
        readable.extend(external.iter().cloned());
        if let Some(exe_dir) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_owned))
            && !never.iter().any(|n| n.starts_with(&exe_dir))
        {
            readable.push(exe_dir);
        }
        readable.dedup();
        spec.readable = readable;

        // Every other turn's directory, and (through the placeholder, which puts the directory
        // on the hidden chain) every one made after the sandbox is prepared.
        let turns = self.turns_dir();
        if let Ok(entries) = fs::read_dir(&turns) {
            for entry in entries.flatten() {
                let path = entry.path();
                if !own.contains(&path) && entry.file_name() != PINS_DIR {
                    spec.hidden.push(path);
                }
            }
        }
        spec.hidden.push(turns.join(".later"));
        spec.hidden.push(self.blobs().dir().to_owned());
        Ok(())
    }

    /// Prepares the sandbox in the policy's mode, recording a refusal. Fills in the pin's
    /// isolation fields.
    fn prepare_sandbox(
        &self,
        spec: &Spec,
        capabilities: &paddock_sandbox::Capabilities,
        session_id: &str,
        isolation: Isolation,
        pin: &mut Pin,
    ) -> Result<Prepared, run::Error> {
        let policy = self.policy().isolation();
        let requested = to_sandbox(policy.sandbox_prefer);
        let required = to_sandbox(policy.sandbox_require);
        let mut weakest = required;
        let mut approval = None;
        for a in self.approvals_for(session_id)? {
            if let Grant::Degraded { level } = &a.grant
                && let Some(mode) = SandboxMode::from_name(level)
                && mode < weakest
            {
                weakest = mode;
                approval = Some(a);
            }
        }
        let allowed: Vec<SandboxMode> = SandboxMode::ALL
            .iter()
            .copied()
            .filter(|m| *m >= weakest)
            .collect();
        pin.isolation.sandbox_requested = requested.as_str().to_owned();
        pin.isolation.allowed = allowed.iter().map(|m| m.as_str().to_owned()).collect();
        match Prepared::with_capabilities(spec, capabilities, requested, &allowed) {
            Ok(prepared) => {
                let effective = prepared.mode();
                pin.isolation.sandbox_effective = Some(effective.as_str().to_owned());
                pin.isolation.sandbox_available =
                    prepared.capabilities().best_mode().as_str().to_owned();
                if effective < requested {
                    pin.isolation
                        .reasons
                        .extend(prepared.capabilities().notes.iter().cloned());
                }
                if effective < required
                    && let Some(a) = &approval
                {
                    pin.isolation.approval = Some(a.id.clone());
                    pin.isolation.reasons.push(format!(
                        "below the policy's `require: {}`, allowed by approval {} ({}: {})",
                        required.as_str(),
                        a.id,
                        a.by,
                        a.why
                    ));
                }
                if requested == SandboxMode::None {
                    pin.isolation
                        .reasons
                        .push("the policy prefers no kernel confinement".to_owned());
                }
                pin.isolation_effective = match isolation {
                    Isolation::Shared => Effective::Shared,
                    Isolation::Isolated
                        if effective == requested && effective > SandboxMode::None =>
                    {
                        Effective::Isolated
                    }
                    Isolation::Isolated => Effective::Degraded,
                };
                Ok(prepared)
            }
            Err(err @ paddock_sandbox::prepare::Error::Refused { .. }) => {
                let paddock_sandbox::prepare::Error::Refused {
                    available, reasons, ..
                } = &err
                else {
                    unreachable!("matched just above")
                };
                pin.isolation.sandbox_available = available.as_str().to_owned();
                pin.isolation.reasons = reasons.clone();
                pin.isolation_effective = Effective::Refused;
                let message = err.to_string();
                pin.refused = Some(message.clone());
                let event = Event {
                    kind: REFUSED_KIND.to_owned(),
                    session: Some(pin.session.clone()),
                    data: to_value(pin),
                };
                if let Err(source) = self.record(event) {
                    return Err(run::Error::RecordRefusal { message, source });
                }
                Err(run::Error::Refused {
                    turn: pin.turn.clone(),
                    message,
                })
            }
            Err(err) => Err(run::Error::Sandbox(err)),
        }
    }
}

impl<'w> Turn<'w> {
    /// What will be recorded (filled in as the turn goes).
    pub fn pin(&self) -> &Pin {
        &self.pin
    }

    /// The command, for the caller to add what it supervises with (the supervisor channel).
    /// Variables added here are not in the pin's environment hash.
    pub fn command_mut(&mut self) -> &mut Command {
        &mut self.command
    }

    /// Starts the command; its stdout and stderr are stored and also passed to `echo`.
    pub fn spawn(mut self, echo: Echo) -> Result<Running<'w>, run::Error> {
        let program = self.pin.argv[0].clone();
        if let Some(watch) = &mut self.watch {
            watch.arm();
        }
        let started = Instant::now();
        let mut child = self.command.spawn().map_err(|source| {
            let hint = match source.kind() {
                io::ErrorKind::PermissionDenied => {
                    " (an isolated turn reads and runs only what is in its worktree, its inputs, the \
                     system trees and the toolchains on PATH)"
                }
                io::ErrorKind::NotFound => " (not found on the turn's PATH)",
                _ => "",
            };
            run::Error::Spawn { program, source, hint }
        })?;
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(run::Error::Wait(io::Error::other(
                "the command's output pipes are missing",
            )));
        };
        let stdout = tee(out, echo.stdout, self.blobs.clone());
        let stderr = tee(err, echo.stderr, self.blobs.clone());
        Ok(Running {
            turn: self,
            child,
            started,
            stdout,
            stderr,
        })
    }
}

impl<'w> Running<'w> {
    /// The command's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the command, stores its outputs, checks what the kernel cannot (for a run),
    /// compares with the original (for a replay), records the pin and removes the scratch dir
    /// unless kept. A record that cannot be written is an error (the turn does not count).
    pub fn wait(mut self) -> Result<Finished, run::Error> {
        let status = self.child.wait().map_err(run::Error::Wait)?;
        let duration = self.started.elapsed();
        let stdout = join(self.stdout)?;
        let stderr = join(self.stderr)?;
        let Running { turn, .. } = self;
        let Turn {
            workspace,
            session,
            mut pin,
            outputs,
            blobs,
            original,
            cleanup,
            gix_repo,
            watch,
            ..
        } = turn;

        let exit = Exit {
            code: status.code(),
            signal: status.signal(),
        };
        pin.exit = Some(exit);
        pin.duration_us = Some(duration.as_micros() as u64);
        pin.stdout = Some(stdout);
        pin.stderr = Some(stderr);
        for (name, path) in &outputs {
            let file = if path.is_file() {
                let blob = blobs.store_file(path)?;
                pin.outputs.insert(name.clone(), blob.blake3.clone());
                FileRef {
                    path: name.clone(),
                    blake3: Some(blob.blake3),
                    size: Some(blob.size),
                }
            } else {
                FileRef {
                    path: name.clone(),
                    blake3: None,
                    size: None,
                }
            };
            pin.output_files.push(file);
        }

        // The scratch dir (and a replay's worktree) is not needed for the record; removing it
        // first keeps filesystem work off the path after the ledger's fsync.
        drop(cleanup);
        let mut violations = Vec::new();
        match &original {
            Some(original) => {
                pin.comparison = Some(compare(original, &pin, &blobs)?);
                let event = Event {
                    kind: REPLAY_KIND.to_owned(),
                    session: Some(pin.session.clone()),
                    data: to_value(&pin),
                };
                workspace
                    .record(event)
                    .map_err(|source| run::Error::Record {
                        turn: pin.turn.clone(),
                        code: exit.shell_code(),
                        source,
                    })?;
            }
            None => {
                let head_after = gix_repo
                    .as_ref()
                    .and_then(|r| r.head_id().ok())
                    .map(|id| id.to_string());
                if head_after != pin.repo.head {
                    pin.repo.head_after = head_after;
                }
                // What the kernel cannot stop (exact globs, nested repositories, the pointer
                // file), checked with git when anything the turn could write changed.
                if watch.as_ref().is_none_or(WriteWatch::changed) {
                    violations = workspace.after_command(&session)?;
                }
                pin.violations = violations.iter().map(RecordedViolation::from).collect();
                // The number and parent are settled under the registry lock, so two turns of
                // one session finishing together cannot take the same number.
                let lock = workspace.registry().lock()?;
                let last = workspace.last_turn(&session.id)?;
                pin.number = last.as_ref().map_or(0, |l| l.number) + 1;
                pin.parent = last.map(|l| l.turn);
                let event = Event {
                    kind: PIN_KIND.to_owned(),
                    session: Some(pin.session.clone()),
                    data: to_value(&pin),
                };
                let recorded = workspace.record(event);
                if recorded.is_ok() {
                    workspace.save_last_turn(
                        &session.id,
                        LastTurn {
                            number: pin.number,
                            turn: pin.turn.clone(),
                        },
                    )?;
                }
                drop(lock);
                recorded.map_err(|source| run::Error::Record {
                    turn: pin.turn.clone(),
                    code: exit.shell_code(),
                    source,
                })?;
            }
        }
        if !violations.is_empty() {
            let command = pin.argv.join(" ");
            workspace
                .record(Event::session(
                    "deny.write",
                    &session,
                    serde_json::json!({ "turn": pin.turn, "command": command, "violations": violations }),
                ))
                .map_err(|source| run::Error::Record { turn: pin.turn.clone(), code: exit.shell_code(), source })?;
            let first = &violations[0];
            workspace.block(
                &session.id,
                &format!("{} [{}] after turn {}", first.subject, first.rule, pin.turn),
            )?;
        }
        Ok(Finished {
            code: exit.shell_code(),
            pin,
        })
    }
}

/// The index `paddock/turns/<session>.json`: the session's last turn.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LastTurn {
    number: u64,
    turn: String,
}

/// Decides whether the after-command check (a `git status` of the worktree, a few
/// milliseconds) is needed: only when something the turn could write inside the worktree
/// changed. Walks the writable worktree directories for entries changed since just before the
/// turn started (timestamps are coarse, hence a margin), nested `.git` entries and a changed
/// pointer file; a tree too big to walk quickly, or a turn without kernel confinement (which
/// could write anywhere), always gets the full check. The index is not looked at: `git status`
/// itself rewrites it, and what a turn stages is checked by the hooks when it is committed.
#[derive(Debug)]
struct WriteWatch {
    dirs: Vec<PathBuf>,
    pointer: PathBuf,
    pointer_before: Option<Vec<u8>>,
    since: SystemTime,
    always: bool,
}

impl WriteWatch {
    /// More entries than this and the walk would cost what `git status` costs.
    const MAX_ENTRIES: usize = 4096;
    /// Filesystem timestamps come from a coarse clock (a jiffy or so).
    const MARGIN: std::time::Duration = std::time::Duration::from_millis(50);

    fn new(session: &Session, spec: &Spec, mode: SandboxMode) -> Option<WriteWatch> {
        if session.mode != Mode::Worktree {
            // `after_command` has nothing to check in lock mode, and returns at once.
            return None;
        }
        let worktree = &session.worktree;
        let pointer = worktree.join(".git");
        Some(WriteWatch {
            dirs: spec
                .writable
                .iter()
                .filter(|w| w.starts_with(worktree))
                .cloned()
                .collect(),
            pointer,
            pointer_before: None,
            since: SystemTime::now(),
            always: mode == SandboxMode::None,
        })
    }

    /// Just before the command starts.
    fn arm(&mut self) {
        self.pointer_before = fs::read(&self.pointer).ok();
        self.since = SystemTime::now() - Self::MARGIN;
    }

    fn changed(&self) -> bool {
        if self.always || fs::read(&self.pointer).ok() != self.pointer_before {
            return true;
        }
        let recent = |meta: &fs::Metadata| {
            use std::os::unix::fs::MetadataExt as _;
            let ctime = SystemTime::UNIX_EPOCH
                + std::time::Duration::new(
                    meta.ctime().max(0) as u64,
                    meta.ctime_nsec().clamp(0, 999_999_999) as u32,
                );
            meta.modified().map_or(true, |m| m >= self.since) || ctime >= self.since
        };
        let mut seen = 0usize;
        let mut stack: Vec<PathBuf> = self.dirs.clone();
        while let Some(dir) = stack.pop() {
            let Ok(meta) = fs::symlink_metadata(&dir) else {
                return true;
            };
            if recent(&meta) {
                return true;
            }
            let Ok(entries) = fs::read_dir(&dir) else {
                return true;
            };
            for entry in entries {
                let Ok(entry) = entry else { return true };
                seen += 1;
                if seen > Self::MAX_ENTRIES {
                    return true;
                }
                let path = entry.path();
                if entry.file_name() == ".git" {
                    if path == self.pointer {
                        continue;
                    }
                    return true;
                }
                let Ok(meta) = entry.metadata() else {
                    return true;
                };
                if meta.is_dir() {
                    // Each directory is checked (and listed) when it is popped.
                    if !self.dirs.contains(&path) {
                        stack.push(path);
                    }
                } else if recent(&meta) {
                    return true;
                }
            }
        }
        false
    }
}

fn to_sandbox(level: SandboxLevel) -> SandboxMode {
    match level {
        SandboxLevel::None => SandboxMode::None,
        SandboxLevel::Landlock => SandboxMode::LandlockOnly,
        SandboxLevel::Full => SandboxMode::Full,
    }
}

fn refuse_confined() -> Result<(), run::Error> {
    if std::env::var_os(CONFINED_ENV).is_some() {
        return Err(run::Error::Confined);
    }
    Ok(())
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> run::Error + 'a {
    move |source| run::Error::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn hash_path(path: &Path) -> Result<blake3::Hash, run::Error> {
    let mut file = fs::File::open(path).map_err(io_err("cannot read", path))?;
    let mut hasher = blake3::Hasher::new();
    io::copy(&mut file, &mut hasher).map_err(io_err("cannot read", path))?;
    Ok(hasher.finalize())
}

fn to_value(pin: &Pin) -> Value {
    serde_json::to_value(pin)
        .expect("a pin always serializes: string keys, no non-finite floats from us")
}

/// Resolves an `--output`: a path inside the session's worktree, without `..`.
fn resolve_output(worktree: &Path, given: &Path) -> Result<(String, PathBuf), run::Error> {
    let invalid = |why: &str| run::Error::Invalid(format!("--output {}: {why}", given.display()));
    if given
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(invalid(
            "`..` is not allowed; name the path inside the session's worktree",
        ));
    }
    let rel = if given.is_absolute() {
        given
            .strip_prefix(worktree)
            .map_err(|_| invalid("outputs must lie inside the session's worktree"))?
    } else {
        given
    };
    let rel: PathBuf = rel
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    if rel.as_os_str().is_empty() {
        return Err(invalid("names the worktree itself, not a file"));
    }
    let name = rel
        .to_str()
        .ok_or_else(|| invalid("the path is not UTF-8"))?
        .to_owned();
    Ok((name, worktree.join(rel)))
}

/// The session's private temp dir, when its spec has one (see [`Workspace::sandbox_spec`]).
fn private_tmp(spec: &Spec, session_id: &str) -> Option<PathBuf> {
    let name = format!("paddock-{session_id}");
    spec.writable
        .iter()
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy() == name))
        .cloned()
}

/// The caller's whole environment (a shared turn's), less what is not UTF-8 and an inherited
/// supervisor channel.
fn caller_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k != "PADDOCK_SUPERVISOR_FD")
        .collect()
}

/// The cleared environment of an isolated turn: the allowlisted variables the caller has, the
/// toolchain variables, `HOME` and `TMPDIR` in the scratch dir.
fn isolated_env(
    allow: &[String],
    toolchain: &access::Toolchain,
    scratch: &Path,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for name in allow {
        if let Ok(value) = std::env::var(name) {
            env.insert(name.clone(), value);
        }
    }
    for (name, value) in &toolchain.env {
        env.entry(name.clone()).or_insert_with(|| value.clone());
    }
    let scratch = scratch.display().to_string();
    env.insert("HOME".to_owned(), scratch.clone());
    env.insert("TMPDIR".to_owned(), scratch);
    env
}

/// `b3:` hash of `NAME=VALUE\0` for each variable, sorted by name; per-run paths replaced by
/// placeholders and per-run plumbing left out, so a replay with the same values hashes the
/// same.
fn env_hash(env: &BTreeMap<String, String>, scratch: &Path, pins: &Path) -> String {
    let scratch = scratch.display().to_string();
    let pins = pins.display().to_string();
    let mut hasher = blake3::Hasher::new();
    for (name, value) in env {
        if ENV_HASH_SKIP.contains(&name.as_str()) {
            continue;
        }
        let value = if *value == scratch {
            "<scratch>"
        } else if *value == pins {
            "<pins>"
        } else {
            value.as_str()
        };
        hasher.update(name.as_bytes());
        hasher.update(b"=");
        hasher.update(value.as_bytes());
        hasher.update(b"\0");
    }
    blobs::format_hash(&hasher.finalize())
}

fn build_command(
    argv: &[String],
    cwd: &Path,
    env: &BTreeMap<String, String>,
    prepared: &Prepared,
) -> Command {
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        // Undeclared input is not replayable: feed data through --input files.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .confine(prepared);
    command
}

/// Copies a pipe to `echo` and into a blob. Keeps draining the pipe after a store error, so
/// the command never blocks on a full pipe; the error is returned at the end.
fn tee(
    mut from: impl Read + Send + 'static,
    mut echo: Box<dyn Write + Send>,
    blobs: Blobs,
) -> JoinHandle<Result<BlobRef, blobs::Error>> {
    std::thread::spawn(move || {
        let mut writer = blobs.writer();
        let mut failed = None;
        let mut echoing = true;
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    failed.get_or_insert(blobs::Error::Io {
                        action: "cannot read the output of",
                        path: PathBuf::from("the turn"),
                        source: e,
                    });
                    break;
                }
            };
            // A closed terminal or pipe on our side must not stop the capture.
            if echoing
                && echo
                    .write_all(&buf[..n])
                    .and_then(|()| echo.flush())
                    .is_err()
            {
                echoing = false;
            }
            if failed.is_none()
                && let Err(e) = writer.push(&buf[..n])
            {
                failed = Some(e);
            }
        }
        match failed {
            Some(e) => Err(e),
            None => writer.finish(),
        }
    })
}

fn join(handle: JoinHandle<Result<BlobRef, blobs::Error>>) -> Result<BlobRef, run::Error> {
    match handle.join() {
        Ok(result) => Ok(result?),
        Err(_) => Err(run::Error::Wait(io::Error::other(
            "the output capture thread panicked",
        ))),
    }
}

/// The session worktree's HEAD, tree and branch (what gix can read; absent parts stay `None`).
/// The session worktree's HEAD, tree and branch (what gix can read; absent parts stay
/// `None`), and the repository opened there, to read HEAD again after the turn.
fn repo_state(session: &Session) -> (RepoState, Option<gix::Repository>) {
    let mut state = RepoState {
        worktree: session.worktree.display().to_string(),
        base: session.base.clone(),
        ..RepoState::default()
    };
    let Ok(repo) = gix::open(&session.worktree) else {
        return (state, None);
    };
    state.branch = repo
        .head_name()
        .ok()
        .flatten()
        .map(|n| n.shorten().to_string());
    if let Ok(commit) = repo.head_commit() {
        state.head = Some(commit.id.to_string());
        state.tree = commit.tree_id().ok().map(|t| t.to_string());
    }
    (state, Some(repo))
}

/// A replay's outputs against the original's.
fn compare(original: &Pin, replayed: &Pin, blobs: &Blobs) -> Result<Comparison, run::Error> {
    let mut outputs = Vec::new();
    for file in &original.output_files {
        let new = replayed.output_files.iter().find(|f| f.path == file.path);
        outputs.push(compare_one(
            blobs,
            &file.path,
            file.blake3.as_deref().zip(file.size),
            new.and_then(|f| f.blake3.as_deref().zip(f.size)),
        )?);
    }
    for (name, old, new) in [
        (STDOUT, &original.stdout, &replayed.stdout),
        (STDERR, &original.stderr, &replayed.stderr),
    ] {
        outputs.push(compare_one(
            blobs,
            name,
            old.as_ref().map(|b| (b.blake3.as_str(), b.size)),
            new.as_ref().map(|b| (b.blake3.as_str(), b.size)),
        )?);
    }
    let exit_same = original.exit == replayed.exit;
    Ok(Comparison {
        identical: exit_same && outputs.iter().all(|o| o.identical),
        exit_same,
        env_same: original.env_hash == replayed.env_hash,
        outputs,
    })
}

fn compare_one(
    blobs: &Blobs,
    name: &str,
    recorded: Option<(&str, u64)>,
    replayed: Option<(&str, u64)>,
) -> Result<OutputComparison, run::Error> {
    let mut out = OutputComparison {
        name: name.to_owned(),
        identical: recorded.map(|r| r.0) == replayed.map(|r| r.0),
        recorded: recorded.map(|r| r.0.to_owned()),
        replayed: replayed.map(|r| r.0.to_owned()),
        recorded_size: recorded.map(|r| r.1),
        replayed_size: replayed.map(|r| r.1),
        first_difference: None,
        diff: None,
    };
    if let (false, Some((old, _)), Some((new, _))) = (out.identical, recorded, replayed) {
        let old = blobs.read(old)?;
        let new = blobs.read(new)?;
        out.first_difference = diff::first_difference(&old, &new);
        out.diff = diff::unified(&old, &new);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn pins_parse_verbatim_and_merge_strictly() {
        assert_eq!(
            parse_pin("seed=42").expect("pin"),
            ("seed".to_owned(), Value::String("42".into()))
        );
        assert_eq!(
            parse_pin("a=b=c").expect("pin").1,
            Value::String("b=c".into())
        );
        assert_eq!(
            parse_pin("empty=").expect("pin").1,
            Value::String(String::new())
        );
        assert!(parse_pin("novalue").is_err());
        assert!(parse_pin("=x").is_err());
        let merged = merge_pins(
            [("model".to_owned(), Value::from("m1"))].into(),
            [("seed".to_owned(), Value::from("7"))],
        )
        .expect("merged");
        assert_eq!(merged.len(), 2);
        assert!(merge_pins(merged, [("seed".to_owned(), Value::from("8"))]).is_err());
    }

    #[test]
    fn pin_files_are_json_or_yaml() {
        let dir = tempfile::tempdir().expect("temp dir");
        let json = dir.path().join("p.json");
        fs::write(&json, r#"{"candidates": ["b", "a"], "seed": 7}"#).expect("write");
        let yaml = dir.path().join("p.yaml");
        fs::write(&yaml, "candidates: [b, a]\nseed: 7\n").expect("write");
        let from_json = load_pin_file(&json).expect("json");
        assert_eq!(from_json["candidates"], serde_json::json!(["b", "a"]));
        assert_eq!(load_pin_file(&yaml).expect("yaml"), from_json);
        fs::write(&yaml, "- a list\n").expect("write");
        assert!(load_pin_file(&yaml).is_err());
    }

    #[test]
    fn the_pins_file_is_stable() {
        let pins: BTreeMap<String, Value> = [
            ("z".to_owned(), serde_json::json!({"b": 1, "a": 2})),
            ("a".to_owned(), Value::from("x")),
        ]
        .into();
        let bytes = pins_file_bytes(&pins);
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "{\n  \"a\": \"x\",\n  \"z\": {\n    \"a\": 2,\n    \"b\": 1\n  }\n}\n"
        );
        // Through the ledger's JSON and back, the same bytes.
        let back: BTreeMap<String, Value> = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(pins_file_bytes(&back), bytes);
    }

    #[test]
    fn outputs_stay_inside_the_worktree() {
        let wt = Path::new("/w/t");
        assert_eq!(
            resolve_output(wt, Path::new("out/a.json")).expect("ok").0,
            "out/a.json"
        );
        assert_eq!(
            resolve_output(wt, Path::new("./a")).expect("ok").1,
            PathBuf::from("/w/t/a")
        );
        assert_eq!(resolve_output(wt, Path::new("/w/t/b")).expect("ok").0, "b");
        for bad in ["../x", "/etc/passwd", ".", "a/../../b"] {
            assert!(resolve_output(wt, Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_hash_ignores_per_run_paths() {
        let env = |scratch: &str, replay: Option<&str>| {
            let mut env: BTreeMap<String, String> = [
                ("HOME".to_owned(), scratch.to_owned()),
                (SCRATCH_ENV.to_owned(), scratch.to_owned()),
                (PINS_ENV.to_owned(), format!("{scratch}.pins")),
                ("PATH".to_owned(), "/usr/bin".to_owned()),
            ]
            .into();
            if let Some(id) = replay {
                env.insert(REPLAY_ENV.to_owned(), id.to_owned());
            }
            env
        };
        let a = env_hash(
            &env("/s/1", None),
            Path::new("/s/1"),
            Path::new("/s/1.pins"),
        );
        let b = env_hash(
            &env("/s/2", Some("t-2")),
            Path::new("/s/2"),
            Path::new("/s/2.pins"),
        );
        assert_eq!(a, b);
        let mut changed = env("/s/1", None);
        changed.insert("PATH".to_owned(), "/bin".to_owned());
        assert_ne!(
            env_hash(&changed, Path::new("/s/1"), Path::new("/s/1.pins")),
            a
        );
    }

    #[test]
    fn pins_decode_as_the_ledgers_turn_pin() {
        let pin = Pin {
            turn: "t-1".into(),
            role: "claim".into(),
            session: "s".into(),
            number: 1,
            parent: None,
            replay_of: None,
            started: "2026-01-01T00:00:00Z".into(),
            pins: [("seed".to_owned(), Value::from("7"))].into(),
            pins_file: "b3:00".into(),
            inputs: [("a.txt".to_owned(), "b3:01".to_owned())].into(),
            outputs: BTreeMap::new(),
            input_files: Vec::new(),
            output_files: Vec::new(),
            stdout: None,
            stderr: None,
            repo: RepoState::default(),
            scope: Vec::new(),
            isolation_requested: Isolation::Isolated,
            isolation_effective: Effective::Degraded,
            isolation: IsolationDetail::default(),
            argv: vec!["true".into()],
            env_hash: "b3:02".into(),
            env: Vec::new(),
            exit: Some(Exit {
                code: Some(0),
                signal: None,
            }),
            duration_us: Some(5),
            refused: None,
            violations: Vec::new(),
            comparison: None,
            kept: None,
        };
        let typed: paddock_ledger::events::TurnPin =
            serde_json::from_value(to_value(&pin)).expect("decodes");
        assert_eq!(typed.turn, "t-1");
        assert_eq!(typed.inputs, pin.inputs);
        assert_eq!(typed.isolation_requested.as_deref(), Some("isolated"));
        assert_eq!(typed.isolation_effective.as_deref(), Some("degraded"));
        assert_eq!(typed.extra["number"], Value::from(1));
        let back: Pin = serde_json::from_value(to_value(&pin)).expect("round trip");
        assert_eq!(back, pin);
    }

    #[test]
    fn exit_codes_like_a_shell() {
        assert_eq!(
            Exit {
                code: Some(3),
                signal: None
            }
            .shell_code(),
            3
        );
        assert_eq!(
            Exit {
                code: None,
                signal: Some(9)
            }
            .shell_code(),
            137
        );
    }
}
