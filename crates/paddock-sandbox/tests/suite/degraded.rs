//! Degraded kernels, simulated: the effective mode is the best one achievable and allowed, or the
//! sandbox is refused; never more than the policy says.

use std::process::Command;

use paddock_sandbox::prepare::Error;
use paddock_sandbox::{Capabilities, Mode, Prepared, SIMULATE_ENV};

use super::{Tree, confine_example, describe, kernel_supports, sh, sh_fails};

fn full() -> Capabilities {
    Capabilities {
        landlock_abi: paddock_sandbox::probe().landlock_abi,
        user_namespaces: true,
        mount_namespaces: true,
        seccomp: true,
        notes: Vec::new(),
    }
}

fn no_userns() -> Capabilities {
    Capabilities {
        user_namespaces: false,
        mount_namespaces: false,
        notes: vec!["no-userns: simulated".to_owned()],
        ..full()
    }
}

fn no_landlock() -> Capabilities {
    Capabilities {
        landlock_abi: None,
        notes: vec!["no-landlock: simulated".to_owned()],
        ..full()
    }
}

#[test]
fn probe_finds_everything_on_this_kernel() {
    if !kernel_supports("probe_finds_everything_on_this_kernel", Mode::Full) {
        return;
    }
    let capabilities = paddock_sandbox::probe();
    eprintln!("{capabilities}");
    assert!(capabilities.landlock_abi.is_some_and(|abi| abi >= 3));
    assert!(capabilities.user_namespaces && capabilities.mount_namespaces && capabilities.seccomp);
    assert_eq!(capabilities.best_mode(), Mode::Full);
    // Probing must not confine the caller.
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    assert!(
        status
            .lines()
            .any(|l| l.split_whitespace().eq(["NoNewPrivs:", "0"])),
        "{status}"
    );
    assert!(
        status
            .lines()
            .any(|l| l.split_whitespace().eq(["Seccomp:", "0"])),
        "{status}"
    );
}

#[test]
fn no_namespaces_degrades_to_landlock_only_when_allowed() {
    if !kernel_supports(
        "no_namespaces_degrades_to_landlock_only_when_allowed",
        Mode::LandlockOnly,
    ) {
        return;
    }
    let tree = Tree::new();
    let prepared = Prepared::with_capabilities(
        &tree.spec(),
        &no_userns(),
        Mode::Full,
        &[Mode::Full, Mode::LandlockOnly],
    )
    .expect("LandlockOnly is allowed");
    assert_eq!(
        (prepared.requested(), prepared.mode()),
        (Mode::Full, Mode::LandlockOnly)
    );
    assert!(prepared.seccomp());
    assert_eq!(prepared.unenforced_read_only_binds().len(), 3);
    // Landlock is really in force.
    sh_fails(
        &prepared,
        &tree.work,
        &format!("echo x > {}/keep.txt", tree.outside.display()),
    );
    assert_eq!(
        std::fs::read(tree.outside.join("keep.txt")).expect("keep"),
        b"keep me\n"
    );
}

#[test]
fn no_namespaces_is_refused_when_only_full_is_allowed() {
    let tree = Tree::new();
    let error = Prepared::with_capabilities(&tree.spec(), &no_userns(), Mode::Full, &[Mode::Full])
        .expect_err("LandlockOnly is not allowed");
    match &error {
        Error::Refused {
            requested,
            available,
            effective,
            allowed,
            reasons,
        } => {
            assert_eq!(
                (*requested, *available, *effective),
                (Mode::Full, Mode::LandlockOnly, Mode::LandlockOnly)
            );
            assert_eq!(allowed, &[Mode::Full]);
            assert_eq!(reasons, &["no-userns: simulated".to_owned()]);
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("does not allow `landlock`"), "{message}");
}

#[test]
fn no_landlock_is_refused_unless_none_is_allowed() {
    let tree = Tree::new();
    for allowed in [&[Mode::Full][..], &[Mode::Full, Mode::LandlockOnly]] {
        let error = Prepared::with_capabilities(&tree.spec(), &no_landlock(), Mode::Full, allowed)
            .expect_err("no Landlock");
        assert!(
            matches!(
                error,
                Error::Refused {
                    effective: Mode::None,
                    ..
                }
            ),
            "{error:?}"
        );
    }
    let prepared = Prepared::with_capabilities(
        &tree.spec(),
        &no_landlock(),
        Mode::Full,
        &[Mode::Full, Mode::LandlockOnly, Mode::None],
    )
    .expect("None is allowed");
    assert_eq!(prepared.mode(), Mode::None);
    assert_eq!(prepared.rule_count(), 0);
    assert!(!prepared.seccomp());
    assert_eq!(prepared.unenforced_read_only_binds().len(), 3);
    // Mode None confines nothing, and says so through `mode()`.
    let output = sh(
        Some(&prepared),
        &tree.work,
        "echo unconfined > ../outside/new.txt",
    );
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn requested_mode_caps_the_effective_mode() {
    if !kernel_supports("requested_mode_caps_the_effective_mode", Mode::Full) {
        return;
    }
    let tree = Tree::new();
    let prepared =
        Prepared::with_capabilities(&tree.spec(), &full(), Mode::LandlockOnly, &Mode::ALL)
            .expect("prepare");
    assert_eq!(prepared.mode(), Mode::LandlockOnly);
    let none = Prepared::with_capabilities(&tree.spec(), &full(), Mode::None, &[Mode::None])
        .expect("prepare");
    assert_eq!(none.mode(), Mode::None);
}

/// Makes the child see a kernel that fails one Landlock syscall with `ENOSYS`: `create` fails
/// only ruleset creation (flags 0) and leaves the version query the probe makes alone; `restrict`
/// fails `landlock_restrict_self`.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn break_landlock(command: &mut Command, syscall: &str) {
    use std::os::unix::process::CommandExt as _;
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    let (nr, only_flags_zero) = match syscall {
        "create" => (444, true),
        "restrict" => (446, false),
        other => panic!("unknown syscall {other}"),
    };
    let ld = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    let ret = (libc::BPF_RET | libc::BPF_K) as u16;
    let insn = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
    // Offsets into struct seccomp_data: nr 0, arch 4, args[2] (low half on x86_64) 32. A jump
    // offset counts from the next instruction; 6 is ALLOW, 7 is ENOSYS.
    let filter = [
        /* 0 */ insn(ld, 0, 0, 4),
        /* 1 */ insn(jeq, 0, 4, AUDIT_ARCH_X86_64),
        /* 2 */ insn(ld, 0, 0, 0),
        /* 3 */ insn(jeq, 0, 2, nr),
        /* 4 */ insn(ld, 0, 0, 32),
        /* 5 */ insn(jeq, 1, if only_flags_zero { 0 } else { 1 }, 0),
        /* 6 */ insn(ret, 0, 0, libc::SECCOMP_RET_ALLOW),
        /* 7 */ insn(ret, 0, 0, enosys),
    ];
    let hook = move || {
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr().cast_mut(),
        };
        // SAFETY: prctl and seccomp with valid arguments; `prog` points at `filter`, which lives
        // as long as the closure.
        let rc = unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &prog)
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    // SAFETY: the hook only makes syscalls on data captured by the closure.
    unsafe { command.pre_exec(hook) };
}

#[cfg(target_arch = "x86_64")]
#[test]
fn kernel_failures_are_errors_never_a_silent_allow() {
    if !kernel_supports(
        "kernel_failures_are_errors_never_a_silent_allow",
        Mode::Full,
    ) {
        return;
    }
    let tree = Tree::new();
    let marker = tree.work.join("ran");
    let run = |syscall: &str| {
        let mut command = Command::new(confine_example());
        command
            .args(["--allow", "full", "--allow", "landlock", "--write"])
            .arg(&tree.work)
            .args(["--", "touch"])
            .arg(&marker);
        break_landlock(&mut command, syscall);
        command.output().expect("spawn the example")
    };

    // The probe still finds Landlock, but the kernel refuses to create the ruleset.
    let output = run("create");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{}", describe(&output));
    assert!(
        stderr.contains("building the Landlock ruleset failed"),
        "{stderr}"
    );
    assert!(!marker.exists(), "the command ran");

    // The ruleset is built, but the child cannot enforce it: spawn fails, the step is named.
    let output = run("restrict");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{}", describe(&output));
    assert!(
        stderr.contains("paddock-sandbox: landlock_restrict_self failed: os error 38"),
        "{stderr}"
    );
    assert!(!marker.exists(), "the command ran");
}

#[test]
fn simulate_hook_reaches_probe_and_prepare() {
    if !kernel_supports(
        "simulate_hook_reaches_probe_and_prepare",
        Mode::LandlockOnly,
    ) {
        return;
    }
    let example = confine_example();
    let run = |simulate: &str, args: &[&str]| {
        Command::new(&example)
            .env(SIMULATE_ENV, simulate)
            .args(args)
            .output()
            .expect("spawn")
    };

    let probe = run("no-landlock", &["--probe"]);
    let text = String::from_utf8_lossy(&probe.stdout);
    assert!(text.contains("landlock ABI:     none"), "{text}");
    assert!(text.contains("best mode:        none"), "{text}");
    assert!(
        text.contains("no-landlock: simulated by PADDOCK_SANDBOX_SIMULATE"),
        "{text}"
    );

    // Full requested, no namespaces, LandlockOnly allowed: runs degraded and says so.
    let degraded = run(
        "no-userns",
        &[
            "--print-mode",
            "--allow",
            "full",
            "--allow",
            "landlock",
            "--",
            "true",
        ],
    );
    assert!(degraded.status.success(), "{}", describe(&degraded));
    let stderr = String::from_utf8_lossy(&degraded.stderr);
    assert!(
        stderr.contains("mode landlock (requested full)"),
        "{stderr}"
    );

    // Only Full allowed: refused, the command never runs.
    let refused = run(
        "no-userns",
        &["--allow", "full", "--", "sh", "-c", "echo ran"],
    );
    assert_eq!(refused.status.code(), Some(125), "{}", describe(&refused));
    assert!(refused.stdout.is_empty());

    // No Landlock and None not allowed: refused.
    let refused = run(
        "no-landlock",
        &["--allow", "full", "--allow", "landlock", "--", "true"],
    );
    assert_eq!(refused.status.code(), Some(125), "{}", describe(&refused));

    // A typo fails closed.
    let typo = run("no-landlok", &["--probe"]);
    assert!(String::from_utf8_lossy(&typo.stdout).contains("best mode:        none"));
}
