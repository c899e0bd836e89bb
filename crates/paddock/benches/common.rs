//! What every benchmark needs: git and paddock without the user's configuration, fixed names.
// Each benchmark is its own crate and uses a different part of this module.
#![allow(dead_code)]

use std::process::Command;

/// No user or system git config, a fixed identity.
pub fn hermetic(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.invalid")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.invalid")
        .env("LANG", "C")
        .env("NO_COLOR", "1")
        .env_remove("PADDOCK_SESSION")
        .env_remove("PADDOCK_CONFINED")
        .env_remove("PADDOCK_SANDBOX_SIMULATE")
        .env_remove("PADDOCK_SUPERVISOR_FD")
}

/// Runs git in `dir`; panics with git's message on failure.
pub fn git(dir: &std::path::Path, args: &[&str]) {
    let out = hermetic(Command::new("git").arg("-C").arg(dir).args(args))
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `files` one-line files at `<top>NNN/<sub>NN/fI.txt` (`tops` x `subs` directories) under
/// `repo`; the caller adds its own files, then calls [`commit_all`].
pub fn generate_tree(
    repo: &std::path::Path,
    top: &str,
    sub: &str,
    tops: usize,
    subs: usize,
    files: usize,
) {
    eprintln!("generating a {files}-file repository...");
    for i in 0..files {
        let dir = repo.join(format!(
            "{top}{:03}/{sub}{:02}",
            i % tops,
            (i / tops) % subs
        ));
        if i < tops * subs {
            std::fs::create_dir_all(&dir).expect("mkdir");
        }
        std::fs::write(dir.join(format!("f{i}.txt")), format!("{i}\n")).expect("write");
    }
}

/// `git init` on `main` and one commit of everything.
pub fn commit_all(repo: &std::path::Path) {
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "initial"]);
}
