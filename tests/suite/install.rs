//! install.sh: installs the binaries and the hooks, and uninstalls them exactly.

use std::path::Path;
use std::process::Command;

use super::harness::{TestRepo, hermetic};

fn install_sh(args: &[&str], prefix: &Path) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../install.sh");
    let mut cmd = Command::new("bash");
    hermetic(&mut cmd)
        .arg(script)
        .args(args)
        .env("PREFIX", prefix);
    cmd.output().expect("install.sh runs")
}

#[test]
fn install_sh_installs_into_a_repo_and_uninstall_restores_it() {
    let repo = TestRepo::new();
    let hook = repo.root.join(".git/hooks/pre-commit");
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").expect("w");
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let prefix = repo.tmp.path().join("prefix");
    // A man page of some other program, in a directory install.sh shares: it must survive.
    let man1 = prefix.join("share/man/man1");
    std::fs::create_dir_all(&man1).expect("mkdir");
    std::fs::write(man1.join("other.1"), ".TH other 1\n").expect("w");
    let out = install_sh(
        &["--debug", "--repo", repo.root.to_str().expect("utf8")],
        &prefix,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = prefix.join("bin/paddock");
    assert!(installed.is_file());
    assert!(stdout.contains("not on your PATH"), "{stdout}");
    let shim =
        std::fs::read_to_string(repo.root.join(".git/hooks/reference-transaction")).expect("shim");
    assert!(
        shim.contains(&format!("PADDOCK='{}'", installed.display())),
        "{shim}"
    );
    let completions = [
        "share/bash-completion/completions/paddock",
        "share/zsh/site-functions/_paddock",
        "share/fish/vendor_completions.d/paddock.fish",
    ];
    for file in completions {
        let text = std::fs::read_to_string(prefix.join(file)).unwrap_or_default();
        assert!(
            text.contains("session"),
            "{file} is not a completion script"
        );
    }
    let pages = [
        "paddock.1",
        "paddock-session-start.1",
        "paddock-ledger-verify.1",
    ];
    for page in pages {
        let text = std::fs::read_to_string(man1.join(page)).unwrap_or_default();
        assert!(text.contains(".TH "), "{page} is not a man page");
    }
    // Again: idempotent.
    assert!(
        install_sh(
            &["--debug", "--repo", repo.root.to_str().expect("utf8")],
            &prefix
        )
        .status
        .success()
    );
    assert_eq!(
        std::fs::read_to_string(repo.root.join(".git/hooks/pre-commit.legacy")).expect("legacy"),
        "#!/bin/sh\nexit 0\n"
    );

    let out = install_sh(
        &["--uninstall", "--repo", repo.root.to_str().expect("utf8")],
        &prefix,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!installed.exists());
    for file in completions {
        assert!(!prefix.join(file).exists(), "{file} is left behind");
    }
    let left: Vec<String> = std::fs::read_dir(&man1)
        .expect("man1 is still there: it held other.1 before")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["other.1"]);
    // The directories install.sh made are gone; the ones it found stay.
    for dir in [
        "share/bash-completion",
        "share/zsh",
        "share/fish",
        "share/paddock",
    ] {
        assert!(!prefix.join(dir).exists(), "{dir} is left behind");
    }
    assert!(prefix.join("bin").is_dir());
    assert_eq!(
        std::fs::read_to_string(&hook).expect("restored"),
        "#!/bin/sh\nexit 0\n"
    );
    assert!(!repo.root.join(".git/hooks/reference-transaction").exists());
}
