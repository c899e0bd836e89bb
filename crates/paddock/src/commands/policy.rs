//! `paddock policy check|rules|default`.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::Globals;
use crate::cli::PolicyCommand;
use crate::exit;

#[derive(Serialize)]
struct CheckJson<'a> {
    file: &'a str,
    valid: bool,
    diagnostics: Vec<DiagnosticJson<'a>>,
}

#[derive(Serialize)]
struct DiagnosticJson<'a> {
    file: &'a str,
    line: u64,
    column: u64,
    message: &'a str,
    help: &'a str,
}

/// One rule of `paddock policy rules --json`: built-in rules first, in catalogue order, then
/// the policy's `commands.custom` rules in file order (`custom: true`, with their `argv`).
#[derive(Serialize)]
struct RuleJson<'a> {
    id: &'a str,
    action: &'static str,
    fail_closed: bool,
    /// What the rule refuses; for a custom rule, its `reason`.
    summary: &'a str,
    custom: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    argv: Option<&'a [String]>,
}

pub fn run(globals: &Globals, cmd: PolicyCommand) -> anyhow::Result<u8> {
    match cmd {
        PolicyCommand::Check { file } => check(globals, file.as_deref()),
        PolicyCommand::Rules => rules(globals),
        PolicyCommand::Default => default(globals),
    }
}

/// `paddock policy default --json`: the built-in policy's text as it is (comments included, to
/// write out as `.paddock/policy.yaml`) and the same settings as data, to read from a script.
#[derive(Serialize)]
struct DefaultJson {
    /// `<built-in policy>`, as `policy check --json` names it.
    file: &'static str,
    text: &'static str,
    policy: serde_json::Value,
}

fn default(globals: &Globals) -> anyhow::Result<u8> {
    if globals.json {
        let policy = serde_saphyr::from_str(paddock_policy::BUILTIN_POLICY)
            .context("the built-in policy does not read as data")?;
        crate::output::json(&DefaultJson {
            file: paddock_policy::BUILTIN_POLICY_NAME,
            text: paddock_policy::BUILTIN_POLICY,
            policy,
        })?;
    } else {
        print!("{}", paddock_policy::BUILTIN_POLICY);
    }
    Ok(exit::OK)
}

fn check(globals: &Globals, file: Option<&Path>) -> anyhow::Result<u8> {
    let (name, result) = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the policy {}", path.display()))?;
            let name = path.display().to_string();
            let result = paddock_policy::load(&text, &name);
            (name, result)
        }
        None => {
            let repo = paddock_workspace::Repo::discover(&globals.dir()?)?;
            let path = repo.policy_path();
            if path.exists() {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read the policy {}", path.display()))?;
                let name = path.display().to_string();
                let result = paddock_policy::load(&text, &name);
                (name, result)
            } else {
                let name = paddock_policy::BUILTIN_POLICY_NAME.to_owned();
                (
                    name.clone(),
                    paddock_policy::load(paddock_policy::BUILTIN_POLICY, &name),
                )
            }
        }
    };
    let diagnostics = match &result {
        Ok(_) => Vec::new(),
        Err(err) => err.diagnostics.clone(),
    };
    if globals.json {
        crate::output::json(&CheckJson {
            file: &name,
            valid: result.is_ok(),
            diagnostics: diagnostics
                .iter()
                .map(|d| DiagnosticJson {
                    file: &d.file,
                    line: d.line,
                    column: d.column,
                    message: &d.message,
                    help: &d.help,
                })
                .collect(),
        })?;
    } else if result.is_ok() {
        println!("{name}: valid");
    } else {
        for d in &diagnostics {
            eprintln!("{d}");
        }
        eprintln!(
            "paddock: error: the policy is invalid ({} problem(s)); nothing uses it until it is fixed",
            diagnostics.len()
        );
    }
    Ok(if result.is_ok() {
        exit::OK
    } else {
        exit::ERROR
    })
}

fn rules(globals: &Globals) -> anyhow::Result<u8> {
    let workspace = globals.workspace()?;
    let commands = workspace.policy().commands();
    let builtin = paddock_policy::rules::CATALOGUE.iter().map(|r| RuleJson {
        id: r.id,
        action: commands.action(r.id).as_str(),
        fail_closed: r.fail_closed,
        summary: r.summary,
        custom: false,
        argv: None,
    });
    let custom = commands.custom().iter().map(|r| RuleJson {
        id: &r.id,
        action: r.action.as_str(),
        fail_closed: false,
        summary: &r.reason,
        custom: true,
        argv: Some(&r.argv),
    });
    let rules: Vec<RuleJson> = builtin.chain(custom).collect();
    if globals.json {
        crate::output::json(&rules)?;
    } else {
        for r in &rules {
            match r.argv {
                None => println!("{:<26} {:<9} {}", r.id, r.action, r.summary),
                Some(argv) => println!(
                    "{:<26} {:<9} [custom] `{}`: {}",
                    r.id,
                    r.action,
                    argv.join(" "),
                    r.summary
                ),
            }
        }
    }
    Ok(exit::OK)
}
