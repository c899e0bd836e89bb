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
    assert_eq!(
        std::fs::read_to_string(&hook).expect("restored"),
        "#!/bin/sh\nexit 0\n"
    );
    assert!(!repo.root.join(".git/hooks/reference-transaction").exists());
}
