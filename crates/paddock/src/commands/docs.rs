//! `paddock completions SHELL` and `paddock man [--out DIR]`: generated from the clap
//! definitions in `cli.rs` at run time, so they always match what the parser accepts (and
//! install.sh installs them from the binary it just built).

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;
use serde::Serialize;

use super::Globals;
use crate::cli::Cli;
use crate::exit;

/// The man section: user commands.
const SECTION: &str = "1";

/// `paddock completions SHELL`: the script on stdout.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    // Not handed the global flags (`commands::run`), but its only argument is a shell name, so
    // a `--json` among the arguments is the global flag.
    exit::no_json(
        crate::output::json_requested(std::env::args_os()),
        "`paddock completions` prints a shell script, which has no JSON form",
    )?;
    let mut cmd = Cli::command();
    // Into a buffer first: clap_complete panics when its writer fails, and a closed pipe
    // (`paddock completions bash | head`) is not worth a panic.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "paddock", &mut script);
    write_stdout(&script)
}

#[derive(Serialize)]
struct ManJson {
    /// The directory the pages were written to.
    dir: String,
    /// The file names, `paddock.1` first.
    pages: Vec<String>,
}

/// `paddock man [--out DIR]`.
pub fn man(globals: &Globals, out: Option<&Path>) -> anyhow::Result<u8> {
    let pages = pages();
    let Some(dir) = out else {
        exit::no_json(
            globals.json,
            "`paddock man` prints a roff page, which has no JSON form; with --out DIR it \
             writes the pages and lists them as JSON",
        )?;
        let root = pages.first().context("the command tree has a root")?;
        let mut page = Vec::new();
        render(root, &mut page)?;
        return write_stdout(&page);
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the man page directory {}", dir.display()))?;
    let mut rendered = Vec::with_capacity(pages.len() + 2);
    for cmd in pages.iter().chain([&crate::rec::command()]) {
        let mut page = Vec::new();
        render(cmd, &mut page)?;
        rendered.push((display_name(cmd).to_owned(), page));
    }
    rendered.push(("paddock-sh".to_owned(), sh_page().into_bytes()));
    let mut names = Vec::with_capacity(rendered.len());
    for (name, page) in rendered {
        let name = format!("{name}.{SECTION}");
        let path = dir.join(&name);
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
        names.push(name);
    }
    if globals.json {
        crate::output::json(&ManJson {
            dir: dir.display().to_string(),
            pages: names,
        })?;
    } else {
        println!("wrote {} man pages to {}", names.len(), dir.display());
    }
    Ok(exit::OK)
}

/// paddock-sh(1). paddock-sh takes a shell's command line (`-c CMD`, `-lc CMD`, a script, a
/// script on stdin) rather than a clap one, so its page is written here, from its usage.
fn sh_page() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let (refused, failed) = (crate::sh::REFUSED, crate::sh::FAILED);
    format!(
        // The title line as clap_mangen writes the other pages', so all read alike.
        r#".TH paddock-sh {SECTION}  "paddock {version}" "paddock manual"
.SH NAME
paddock\-sh \- a drop\-in $SHELL for agents: every command line through paddock's gate, run
confined to its session
.SH SYNOPSIS
\fBpaddock\-sh\fR [\fISHELL\-OPTIONS\fR] \fB\-c\fR \fICMD\fR [\fIARG0\fR [\fIARG\fR]...]
.br
\fBpaddock\-sh\fR [\fISHELL\-OPTIONS\fR] \fISCRIPT\fR [\fIARG\fR]...
.br
\fBpaddock\-sh\fR [\fISHELL\-OPTIONS\fR] < \fISCRIPT\fR
.SH DESCRIPTION
Point an agent's shell at paddock\-sh (\fBSHELL=paddock\-sh\fR, or the tool's shell setting).
It accepts the ways agents start a shell and, for every command line: the gate decides, with a
real shell parser (\fBpaddock check\fR decides the same way); an allowed command runs in the
real shell, confined by the kernel (Landlock, a private mount namespace, seccomp) to the
session's scope, the scratch paths and its own git state; afterwards, what the kernel cannot see
(changes outside the exact scope globs, a nested .git) is checked. A refused command is answered
on stderr, recorded in the ledger as \fBdeny.command\fR and puts the session in BLOCKED.
.PP
The session is the one named by \fBPADDOCK_SESSION\fR, or the one whose worktree the current
directory is in. Outside any git repository paddock\-sh is just the real shell.
.SH OPTIONS
.TP
\fB\-c\fR \fICMD\fR
Run the command string \fICMD\fR, as \fBsh \-c\fR does; \fIARG0\fR and the \fIARG\fRs
become $0, $1, ...  \fB\-c\fR may be combined with other flags (\fB\-lc\fR, \fB\-ic\fR).
.TP
\fISHELL\-OPTIONS\fR
Any other option (\fB\-l\fR, \fB\-e\fR, \fB\-x\fR, \fB\-o\fR \fIOPT\fR, \fB+o\fR
\fIOPT\fR, \fB\-O\fR \fIOPT\fR, \fB\-\-rcfile\fR \fIFILE\fR, ...) is passed to the real
shell.
.TP
\fISCRIPT\fR
Run a script file; without \fB\-c\fR or \fISCRIPT\fR the script is read from stdin.
.SH ENVIRONMENT
.TP
\fBPADDOCK_SESSION\fR
The session to act for.
.TP
\fBPADDOCK_REAL_SHELL\fR
The shell that runs allowed commands (default: /bin/bash, else /bin/sh).
.SH "EXAMPLES"
.nf
SHELL=paddock\-sh
paddock\-sh \-c 'cargo test'
PADDOCK_SESSION=claim\-1 paddock\-sh \-lc 'git commit \-am wip'
.fi
.SH "EXIT STATUS"
.nf
N    the command's own status (128 + the signal if it was killed)
{refused}  refused by the gate: nothing ran; the session is BLOCKED
{failed}  paddock\-sh could not run it: bad usage, an invalid policy, no confinement possible
.fi
.SH "SEE ALSO"
paddock(1), paddock\-check(1), paddock\-doctor(1), paddock\-approve\-degraded(1)
"#
    )
}

/// Every command that gets a page: `paddock`, then each visible subcommand, depth first
/// (`paddock-session`, `paddock-session-start`, ...). Hidden commands (`sh`, `hook`) are not
/// for people to look up, and clap's own `help` subcommand would only repeat `--help`.
fn pages() -> Vec<clap::Command> {
    // Built, so every subcommand carries its display name (`paddock-session-start`) and
    // the inherited global flags.
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = Vec::new();
    collect(&root, &mut pages);
    pages
}

fn collect(cmd: &clap::Command, pages: &mut Vec<clap::Command>) {
    pages.push(cmd.clone());
    for sub in cmd.get_subcommands() {
        if !sub.is_hide_set() && sub.get_name() != "help" {
            collect(sub, pages);
        }
    }
}

fn display_name(cmd: &clap::Command) -> &str {
    cmd.get_display_name().unwrap_or_else(|| cmd.get_name())
}

/// One page: clap_mangen's sections, with the `--help` epilogue (examples, exit status) as
/// sections of their own, laid out as written (clap_mangen would fill them into one
/// paragraph, which runs the examples together).
fn render(cmd: &clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone())
        .section(SECTION)
        .source(format!("paddock {}", env!("CARGO_PKG_VERSION")))
        .manual("paddock manual");
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(out)?;
    }
    if let Some(text) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        out.write_all(epilogue(&text.to_string()).as_bytes())?;
    }
    if cmd.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// The `--help` epilogue as roff: each unindented line ending in `:` ("Examples:",
/// "Exit status:") opens a section; the lines under it are kept as they are (no fill).
fn epilogue(text: &str) -> String {
    let mut roff = String::new();
    let mut open = false;
    for line in text.lines() {
        let heading = line
            .strip_suffix(':')
            .filter(|h| !h.is_empty() && !h.starts_with(' '));
        if let Some(heading) = heading {
            if open {
                roff.push_str(".fi\n");
            }
            roff.push_str(&format!(".SH \"{}\"\n.nf\n", heading.to_uppercase()));
            open = true;
            continue;
        }
        if !open {
            roff.push_str(".SH NOTES\n.nf\n");
            open = true;
        }
        roff.push_str(&escape(line.strip_prefix("  ").unwrap_or(line)));
        roff.push('\n');
    }
    if open {
        roff.push_str(".fi\n");
    }
    roff
}

/// Escapes a line of text for roff: backslashes, hyphens (an unescaped `-` may render as a
/// typographic hyphen, which breaks copied commands), and a leading `.` or `'` (a request).
fn escape(line: &str) -> String {
    let mut text = line.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        text.insert_str(0, "\\&");
    }
    text
}

/// Writes generated text to stdout. A reader that goes away (`| head`) is no error
/// (`exit::settle`).
fn write_stdout(bytes: &[u8]) -> anyhow::Result<u8> {
    let mut stdout = crate::output::stdout();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn every_visible_command_gets_a_page_named_after_its_path() {
        let names: Vec<String> = pages().iter().map(|c| display_name(c).to_owned()).collect();
        assert_eq!(names.first().map(String::as_str), Some("paddock"));
        for name in [
            "paddock-session",
            "paddock-session-start",
            "paddock-ledger-verify",
            "paddock-turn-run",
            "paddock-completions",
            "paddock-man",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        for hidden in [
            "paddock-sh",
            "paddock-hook",
            "paddock-help",
            "paddock-session-help",
        ] {
            assert!(!names.iter().any(|n| n == hidden), "{hidden} in {names:?}");
        }
    }

    #[test]
    fn the_epilogue_becomes_sections_laid_out_as_written() {
        let roff = epilogue(
            "Examples:\n  paddock check -c 'rm -rf x'\n  .hidden \\n\n\nExit status:\n  0  ok",
        );
        assert_eq!(
            roff,
            ".SH \"EXAMPLES\"\n.nf\npaddock check \\-c 'rm \\-rf x'\n\\&.hidden \\en\n\n\
             .fi\n.SH \"EXIT STATUS\"\n.nf\n0  ok\n.fi\n"
        );
        assert_eq!(epilogue("plain"), ".SH NOTES\n.nf\nplain\n.fi\n");
    }
}
