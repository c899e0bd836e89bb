//! `paddock-sh`: a drop-in `$SHELL` for agents. Every command line goes through the gate; an
//! allowed one runs in the real shell, confined to the session by the kernel, with this process
//! as its supervisor; a refused one is answered on stderr with exit status 126, recorded, and
//! blocks the session.

use std::io::Read;
use std::os::unix::process::{CommandExt as _, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context as _;
use paddock_sandbox::CommandExt as _;
use paddock_workspace::Workspace;
use paddock_workspace::guard::SESSION_ENV;
use paddock_workspace::record::Event;

use crate::timings::Timings;

/// Exit status of a refused command (POSIX shells use 126 for "found but cannot execute").
pub const REFUSED: u8 = 126;
/// Exit status when paddock-sh itself fails (bad usage, no repository, confinement refused).
pub const FAILED: u8 = 125;

/// How the shell was asked to run.
#[derive(Debug, PartialEq, Eq)]
struct Invocation {
    /// Options for the real shell (`-l`, `-e`, `-o pipefail`, ...), without `-c`.
    options: Vec<String>,
    /// What to run.
    source: Source,
    /// `$0 $1 ...` after the command string, or the script's arguments.
    args: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Source {
    Command(String),
    Script(PathBuf),
    Stdin,
}

fn parse(argv: &[String]) -> Result<Invocation, String> {
    let mut options = Vec::new();
    let mut i = 0;
    let mut wants_command = false;
    while i < argv.len() {
        let arg = &argv[i];
        if arg == "--" {
            i += 1;
            break;
        }
        if arg == "-o"
            || arg == "+o"
            || arg == "-O"
            || arg == "+O"
            || arg == "--rcfile"
            || arg == "--init-file"
        {
            let value = argv
                .get(i + 1)
                .ok_or_else(|| format!("{arg} needs a value"))?;
            options.push(arg.clone());
            options.push(value.clone());
            i += 2;
            continue;
        }
        if let Some(flags) = arg
            .strip_prefix('-')
            .filter(|f| !f.is_empty() && !f.starts_with('-'))
        {
            if flags.contains('c') {
                wants_command = true;
            }
            let rest: String = flags.chars().filter(|c| *c != 'c' && *c != 's').collect();
            if !rest.is_empty() {
                options.push(format!("-{rest}"));
            }
            i += 1;
            continue;
        }
        if arg.starts_with("--") {
            options.push(arg.clone());
            i += 1;
            continue;
        }
        break;
    }
    let rest = &argv[i.min(argv.len())..];
    if wants_command {
        let (command, args) = rest.split_first().ok_or("-c needs a command string")?;
        return Ok(Invocation {
            options,
            source: Source::Command(command.clone()),
            args: args.to_vec(),
        });
    }
    match rest.split_first() {
        Some((script, args)) => Ok(Invocation {
            options,
            source: Source::Script(PathBuf::from(script)),
            args: args.to_vec(),
        }),
        None => Ok(Invocation {
            options,
            source: Source::Stdin,
            args: Vec::new(),
        }),
    }
}

/// The shell that really runs commands.
fn real_shell() -> PathBuf {
    if let Some(shell) = std::env::var_os("PADDOCK_REAL_SHELL") {
        return PathBuf::from(shell);
    }
    for candidate in ["/bin/bash", "/usr/bin/bash", "/bin/sh"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    PathBuf::from("sh")
}

pub fn main(argv: Vec<String>) -> ExitCode {
    ExitCode::from(run_code(argv))
}

/// Runs paddock-sh and returns its exit status.
pub fn run_code(argv: Vec<String>) -> u8 {
    match run(&argv) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("paddock-sh: {err:#}");
            FAILED
        }
    }
}

fn run(argv: &[String]) -> anyhow::Result<u8> {
    let mut timings = Timings::new("paddock-sh");
    let invocation = parse(argv).map_err(|e| {
        anyhow::anyhow!("{e} (usage: paddock-sh [-c CMD | -lc CMD | SCRIPT | < SCRIPT])")
    })?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let mut workspace = match Workspace::open(&cwd) {
        Ok(w) => w,
        // Outside any repository there is nothing of paddock's to guard or record: be the shell.
        Err(paddock_workspace::open::Error::Discover(_)) => return exec_plain(&invocation),
        Err(err) => {
            return Err(err).context(
                "paddock-sh cannot load the repository's policy, so it refuses to run anything",
            );
        }
    };
    // Every agent command passes here: check the ledger's tail, not the whole chain.
    workspace.quick_ledger_check();
    let inside = crate::supervisor::client_from_env();
    let nested = inside.is_some();
    if let Some(forward) = inside {
        workspace.forward_to(forward);
    }
    let env_session = std::env::var(SESSION_ENV).ok();
    timings.mark("open");
    let session = workspace.acting_session(&cwd, env_session.as_deref())?;
    timings.mark("session");

    // What the gate reads: the command string, the script, or stdin (kept to feed the shell).
    let (text, stdin_script) = match &invocation.source {
        Source::Command(cmd) => (cmd.clone(), None),
        Source::Script(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the script {}", path.display()))?;
            (String::from_utf8_lossy(&bytes).into_owned(), None)
        }
        Source::Stdin => {
            let mut script = Vec::new();
            std::io::stdin()
                .read_to_end(&mut script)
                .context("cannot read the script from stdin")?;
            (String::from_utf8_lossy(&script).into_owned(), Some(script))
        }
    };
    let context = crate::gatectx::build(&workspace, session.as_ref(), &cwd)?;
    timings.mark("gate context");
    let decision = paddock_gate::decide(&context, &text);
    timings.mark("gate decision");
    for finding in decision.to_record() {
        workspace.record(Event {
            kind: "deny.command".to_owned(),
            session: session.as_ref().map(|s| s.id.clone()),
            data: serde_json::json!({ "command": text, "rule": finding.rule, "action": "record", "reason": finding.reason }),
        })?;
    }
    if let Some(refusal) = decision.refusal() {
        eprintln!("paddock-sh: refused [{}]: {}", refusal.rule, refusal.reason);
        if !refusal.word.is_empty() {
            eprintln!("  offending: {}", refusal.word);
        }
        workspace.record(Event {
            kind: "deny.command".to_owned(),
            session: session.as_ref().map(|s| s.id.clone()),
            data: serde_json::json!({ "command": text, "verdict": decision.verdict.as_str(), "findings": decision.findings }),
        })?;
        if let Some(s) = &session {
            workspace.block(
                &s.id,
                &format!(
                    "refused command [{}]: {}",
                    refusal.rule,
                    truncate(&text, 200)
                ),
            )?;
            eprintln!(
                "  session {} is now BLOCKED; an operator clears it with `paddock session unblock {} --reason ...`",
                s.id, s.id
            );
        }
        return Ok(REFUSED);
    }

    let mut command = shell_command(&invocation);
    let Some(session) = session else {
        // No session: the gate's protected-path and destructive-command rules applied; there is
        // no scope to confine to.
        return run_child(&mut command, stdin_script.as_deref());
    };
    if nested {
        // Already inside this session's confinement (it only stacks): the gate is enough here.
        return run_child(&mut command, stdin_script.as_deref());
    }
    let confinement = match workspace.confinement(&session) {
        Ok(c) => c,
        Err(err) => {
            workspace.record(Event::session(
                "deny.command",
                &session,
                serde_json::json!({ "command": text, "reason": format!("no isolation: {err}") }),
            ))?;
            anyhow::bail!(
                "the session's confinement cannot be established, so nothing ran (INV-WS-002): {err}"
            );
        }
    };
    timings.mark("confinement");
    if confinement.prepared.mode() < confinement.requested {
        eprintln!(
            "paddock-sh: running with kernel confinement `{}` (requested `{}`): {}",
            confinement.prepared.mode().as_str(),
            confinement.requested.as_str(),
            confinement.prepared.capabilities().notes.join("; ")
        );
    }
    for (key, value) in &confinement.env {
        command.env(key, value);
    }
    let channel = crate::supervisor::Channel::new()?;
    let (key, value) = channel.env();
    command.env(key, value);
    let repo_dir = workspace.repo().main_worktree().to_owned();
    let mut child = spawn_confined(&mut command, &confinement.prepared, stdin_script.as_deref())?;
    timings.mark("spawn");
    // The child runs in a Landlock domain of its own now. Closing this process's copy of the
    // ruleset frees it while the command runs, instead of after it, at exit.
    drop(confinement);
    let status = channel
        .supervise(&mut child, session.id.clone(), move || {
            Ok(Workspace::open(&repo_dir)?)
        })
        .context("cannot wait for the command")?;
    let code = status_code(status);
    timings.mark("command");

    // What the kernel cannot stop: exact globs, nested repositories, the pointer file. A command
    // the gate proved read-only (no writes, only read-only programs) cannot have changed any.
    let violations = if decision.may_change_files {
        workspace.after_command(&session)?
    } else {
        Vec::new()
    };
    timings.mark("after-command");
    if !violations.is_empty() {
        for v in &violations {
            eprintln!("paddock-sh: {} [{}]: {}", v.subject, v.rule, v.detail);
        }
        workspace.record(Event::session(
            "deny.write",
            &session,
            serde_json::json!({ "command": text, "violations": violations }),
        ))?;
        workspace.block(
            &session.id,
            &format!(
                "{} [{}] after `{}`",
                violations[0].subject,
                violations[0].rule,
                truncate(&text, 120)
            ),
        )?;
        eprintln!(
            "  session {} is now BLOCKED; an operator clears it with `paddock session unblock {} --reason ...`",
            session.id, session.id
        );
    }
    Ok(code)
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn shell_command(invocation: &Invocation) -> Command {
    let mut command = Command::new(real_shell());
    command.args(&invocation.options);
    match &invocation.source {
        Source::Command(cmd) => {
            command.arg("-c").arg(cmd).args(&invocation.args);
        }
        Source::Script(path) => {
            command.arg(path).args(&invocation.args);
        }
        Source::Stdin => {
            command.arg("-s");
        }
    }
    command
}

fn spawn(command: &mut Command, stdin: Option<&[u8]>) -> anyhow::Result<std::process::Child> {
    if stdin.is_some() {
        command.stdin(std::process::Stdio::piped());
    }
    let mut child = command.spawn().context("cannot start the shell")?;
    if let (Some(script), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        let script = script.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&script);
        });
    }
    Ok(child)
}

/// Starts `command` confined by `prepared`, without copying this process's address space (see
/// `CommandExt::spawn_confined`), feeding it `stdin` if given.
fn spawn_confined(
    command: &mut Command,
    prepared: &paddock_sandbox::Prepared,
    stdin: Option<&[u8]>,
) -> anyhow::Result<paddock_sandbox::Child> {
    let mut stdio = paddock_sandbox::ChildStdio::default();
    let mut feed = None;
    if let Some(script) = stdin {
        let (read, write) = std::io::pipe().context("cannot make a pipe for the script")?;
        stdio.stdin = Some(read.into());
        feed = Some((write, script.to_vec()));
    }
    let child = command
        .spawn_confined(prepared, stdio)
        .context("cannot start the shell")?;
    if let Some((mut pipe, script)) = feed {
        use std::io::Write;
        std::thread::spawn(move || {
            let _ = pipe.write_all(&script);
        });
    }
    Ok(child)
}

fn run_child(command: &mut Command, stdin: Option<&[u8]>) -> anyhow::Result<u8> {
    let status = spawn(command, stdin)?
        .wait()
        .context("cannot wait for the command")?;
    Ok(status_code(status))
}

/// The child's exit code, or 128 + signal like a shell.
fn status_code(status: std::process::ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128u8.wrapping_add(signal as u8),
        _ => FAILED,
    }
}

/// Outside any repository: the real shell, unchanged.
fn exec_plain(invocation: &Invocation) -> anyhow::Result<u8> {
    let err = shell_command(invocation).exec();
    Err(err).context("cannot start the shell")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Invocation {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("parses")
    }

    #[test]
    fn the_ways_agents_start_a_shell() {
        assert_eq!(p(&["-c", "ls"]).source, Source::Command("ls".into()));
        let lc = p(&["-lc", "ls -l", "zero", "one"]);
        assert_eq!(lc.source, Source::Command("ls -l".into()));
        assert_eq!(lc.options, vec!["-l"]);
        assert_eq!(lc.args, vec!["zero", "one"]);
        assert_eq!(p(&["-ic", "x"]).options, vec!["-i"]);
        assert_eq!(
            p(&["-e", "-o", "pipefail", "-c", "x"]).options,
            vec!["-e", "-o", "pipefail"]
        );
        assert_eq!(
            p(&["script.sh", "a"]).source,
            Source::Script("script.sh".into())
        );
        assert_eq!(p(&[]).source, Source::Stdin);
        assert_eq!(p(&["-s"]).source, Source::Stdin);
        assert!(parse(&["-c".to_string()]).is_err());
    }
}
