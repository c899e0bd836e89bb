//! `paddock check --format claude-code|gemini|codex`: the agent tools' pre-tool hooks. A tool
//! call comes in as JSON on stdin; the decision goes out as the tool's JSON on stdout. Shell
//! commands go through the gate as they are; file tools are judged as the write or read they
//! are, through the same rules. Anything that cannot be understood is denied.

use std::io::Read;
use std::path::Path;

use anyhow::Context as _;
use paddock_workspace::guard::SESSION_ENV;
use serde_json::{Value, json};

use super::commands::Globals;
use crate::cli::CheckFormat;
use crate::exit;

/// What a tool call asks for.
enum Call {
    Shell(String),
    Write(String),
    Read(String),
    /// Tools paddock has nothing to say about (web fetches, todo lists).
    Other,
}

fn classify(format: CheckFormat, tool: &str, input: &Value) -> Call {
    let text = |key: &str| input.get(key).and_then(Value::as_str).map(str::to_owned);
    let path = || {
        text("file_path")
            .or_else(|| text("notebook_path"))
            .or_else(|| text("absolute_path"))
            .or_else(|| text("path"))
    };
    let command = || match input.get("command") {
        Some(Value::String(s)) => Some(s.clone()),
        // Codex passes argv; `bash -lc CMD` is CMD, anything else is quoted word by word.
        Some(Value::Array(words)) => {
            let words: Vec<&str> = words.iter().filter_map(Value::as_str).collect();
            match words.as_slice() {
                [shell, flag, cmd]
                    if flag.starts_with('-') && flag.contains('c') && shell.ends_with("sh") =>
                {
                    Some((*cmd).to_owned())
                }
                _ => Some(words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")),
            }
        }
        _ => None,
    };
    let lower = tool.to_ascii_lowercase();
    match (format, lower.as_str()) {
        (
            _,
            "bash" | "shell" | "run_shell_command" | "exec_command" | "local_shell"
            | "container.exec",
        ) => command().map_or(Call::Shell(String::new()), Call::Shell),
        (
            _,
            "write" | "edit" | "multiedit" | "notebookedit" | "write_file" | "replace"
            | "apply_patch" | "edit_file",
        ) => {
            match path() {
                Some(p) => Call::Write(p),
                // apply_patch carries paths inside the patch text.
                None => patch_paths(input).map_or(Call::Shell(String::new()), |paths| {
                    Call::Write(paths.join("\n"))
                }),
            }
        }
        (
            _,
            "read"
            | "grep"
            | "glob"
            | "ls"
            | "read_file"
            | "read_many_files"
            | "list_directory"
            | "search_file_content",
        ) => path().map_or(Call::Other, Call::Read),
        _ => Call::Other,
    }
}

/// Paths named by a Codex `apply_patch` input (`*** Add File: p`, `*** Update File: p`, ...).
fn patch_paths(input: &Value) -> Option<Vec<String>> {
    let patch = input
        .get("input")
        .or_else(|| input.get("patch"))
        .and_then(Value::as_str)?;
    let paths: Vec<String> = patch
        .lines()
        .filter_map(|l| {
            [
                "*** Add File: ",
                "*** Update File: ",
                "*** Delete File: ",
                "*** Move to: ",
            ]
            .iter()
            .find_map(|p| l.strip_prefix(p))
            .map(|p| p.trim().to_owned())
        })
        .collect();
    (!paths.is_empty()).then_some(paths)
}

fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

pub fn run(
    globals: &Globals,
    format: CheckFormat,
    session: Option<&str>,
    cwd: Option<&Path>,
) -> anyhow::Result<u8> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the hook input")?;
    let (allowed, reason) = match decide(globals, format, session, cwd, &input) {
        Ok(answer) => answer,
        // Fail closed: a payload or repository paddock cannot understand is a denial.
        Err(err) => (
            false,
            format!("paddock could not decide, so it refuses: {err:#}"),
        ),
    };
    let out = match format {
        CheckFormat::ClaudeCode | CheckFormat::Codex => json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": if allowed { "allow" } else { "deny" },
                "permissionDecisionReason": reason,
            }
        }),
        CheckFormat::Gemini => {
            json!({ "decision": if allowed { "allow" } else { "deny" }, "reason": reason })
        }
    };
    println!("{out}");
    if !allowed {
        eprintln!("{reason}");
    }
    // The tools read the decision from the JSON; exit 0 keeps them from treating the hook as
    // broken.
    Ok(exit::OK)
}

fn decide(
    globals: &Globals,
    format: CheckFormat,
    session: Option<&str>,
    cwd: Option<&Path>,
    input: &str,
) -> anyhow::Result<(bool, String)> {
    let payload: Value = serde_json::from_str(input).context("the hook input is not JSON")?;
    let tool = payload
        .get("tool_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let empty = json!({});
    let tool_input = payload.get("tool_input").unwrap_or(&empty);
    let cwd = match (cwd, payload.get("cwd").and_then(Value::as_str)) {
        (Some(dir), _) => dir.to_owned(),
        (None, Some(dir)) => Path::new(dir).to_owned(),
        (None, None) => std::env::current_dir()?,
    };
    let workspace = paddock_workspace::Workspace::open(globals.repo.as_deref().unwrap_or(&cwd))?;
    let env_session = session
        .map(str::to_owned)
        .or_else(|| std::env::var(SESSION_ENV).ok());
    let acting = workspace.acting_session(&cwd, env_session.as_deref())?;
    let context = crate::gatectx::build(&workspace, acting.as_ref(), &cwd)?;
    let (command, what) = match classify(format, tool, tool_input) {
        Call::Other => return Ok((true, format!("paddock: {tool} is not a shell or file tool"))),
        Call::Shell(cmd) if cmd.trim().is_empty() => {
            anyhow::bail!("the {tool} call carries no command")
        }
        Call::Shell(cmd) => (cmd.clone(), format!("`{cmd}`")),
        Call::Write(paths) => {
            let words: Vec<String> = paths.lines().map(quote).collect();
            (
                format!("touch -- {}", words.join(" ")),
                format!("{tool} of {}", paths.replace('\n', ", ")),
            )
        }
        Call::Read(path) => (
            format!("cat -- {}", quote(&path)),
            format!("{tool} of {path}"),
        ),
    };
    let decision = paddock_gate::decide(&context, &command);
    match decision.refusal() {
        None => Ok((true, format!("paddock: allowed {what}"))),
        Some(f) => {
            if let Some(s) = &acting {
                let _ = workspace.record(paddock_workspace::record::Event {
                    kind: "deny.command".to_owned(),
                    session: Some(s.id.clone()),
                    data: json!({ "tool": tool, "format": format!("{format:?}"), "command": command, "findings": decision.findings }),
                });
            }
            Ok((
                false,
                format!("paddock refused {what} [{}]: {}", f.rule, f.reason),
            ))
        }
    }
}
