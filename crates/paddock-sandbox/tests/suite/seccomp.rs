//! The seccomp filter and Landlock's signal scope: what a confined process may not do to the
//! kernel or to other processes.

use paddock_sandbox::Mode;

use super::{Tree, describe, kernel_supports, sh};

/// Calls each syscall with arguments that make it fail harmlessly (or, for `process_vm_readv`
/// with zero-length vectors, succeed), and prints `name errno` per line (0 on success).
const PROBE_SYSCALLS: &str = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
calls = [
    ("io_uring_setup", 425, (1, 0)),
    ("io_uring_enter", 426, (-1, 0, 0, 0, 0, 0)),
    ("io_uring_register", 427, (-1, 0, 0, 0)),
    ("ptrace", 101, (-12345, 0, 0, 0)),
    ("process_vm_readv", 310, (os.getpid(), 0, 0, 0, 0, 0)),
    ("process_vm_writev", 311, (os.getpid(), 0, 0, 0, 0, 0)),
    ("bpf", 321, (-1, 0, 0)),
    ("perf_event_open", 298, (0, 0, -1, -1, 0)),
    ("keyctl", 250, (-1, 0, 0, 0, 0)),
    ("add_key", 248, (0, 0, 0, 0, 0)),
    ("request_key", 249, (0, 0, 0, 0)),
]
for name, nr, args in calls:
    ctypes.set_errno(0)
    rc = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
    print(name, ctypes.get_errno() if rc == -1 else 0)
"#;

const EPERM: i32 = 1;

fn errnos(output: &std::process::Output) -> Vec<(String, i32)> {
    assert!(
        output.status.success(),
        "syscall probe failed: {}",
        describe(output)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let (name, errno) = line.split_once(' ').expect("`name errno`");
            (name.to_owned(), errno.parse().expect("errno is a number"))
        })
        .collect()
}

#[cfg(target_arch = "x86_64")]
#[test]
fn seccomp_denies_listed_syscalls_with_eperm() {
    if !kernel_supports("seccomp_denies_listed_syscalls_with_eperm", Mode::Full) {
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    assert!(prepared.seccomp());
    let script = format!("python3 -c '{PROBE_SYSCALLS}'");
    let unconfined = errnos(&sh(None, &tree.work, &script));
    let confined = errnos(&sh(Some(&prepared), &tree.work, &script));
    assert_eq!(unconfined.len(), 11);
    assert_eq!(confined.len(), 11);
    for ((name, before), (_, after)) in unconfined.iter().zip(&confined) {
        // Unconfined, each call fails for another reason (or succeeds), so EPERM below is the
        // filter's doing.
        assert_ne!(*before, EPERM, "{name} already fails with EPERM unconfined");
        assert_eq!(*after, EPERM, "{name} confined: errno {after}, not EPERM");
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn seccomp_covers_the_i386_entry_point() {
    if !kernel_supports("seccomp_covers_the_i386_entry_point", Mode::Full) {
        return;
    }
    // A 64-bit process can enter the kernel through `int 0x80` with i386 syscall numbers. Without
    // an i386 table it could call ptrace as syscall 26 there. Checked with a tiny machine-code
    // stub mapped by python: `mov eax, 26; mov ebx, -12345; int 0x80; ret`.
    let script = r#"
import ctypes, mmap
code = bytes([0xb8, 26, 0, 0, 0, 0xbb, 0xc7, 0xcf, 0xff, 0xff, 0xcd, 0x80, 0xc3])
buf = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
buf.write(code)
addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
fn = ctypes.CFUNCTYPE(ctypes.c_int)(addr)
print(-fn())
"#;
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    let run = |prepared| {
        let output = sh(prepared, &tree.work, &format!("python3 -c '{script}'"));
        assert!(output.status.success(), "{}", describe(&output));
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse::<i32>()
            .expect("errno")
    };
    let unconfined = run(None);
    if unconfined == 38 {
        eprintln!("this kernel has no i386 entry point (ENOSYS); nothing to check");
        return;
    }
    assert_ne!(unconfined, EPERM, "ptrace via int 0x80 unconfined");
    assert_eq!(run(Some(&prepared)), EPERM, "ptrace via int 0x80 confined");
}

#[test]
fn signals_to_processes_outside_the_sandbox_are_refused() {
    if !kernel_supports(
        "signals_to_processes_outside_the_sandbox_are_refused",
        Mode::Full,
    ) {
        return;
    }
    let abi = paddock_sandbox::probe().landlock_abi.unwrap_or(0);
    if abi < 6 {
        eprintln!("Landlock ABI {abi} has no signal scoping (needs 6); nothing to check");
        return;
    }
    let tree = Tree::new();
    let prepared = tree.prepared(Mode::Full);
    let script = format!("kill -0 {}", std::process::id());
    assert!(sh(None, &tree.work, &script).status.success());
    assert!(!sh(Some(&prepared), &tree.work, &script).status.success());
    // Inside its own domain a process may still signal its children.
    let own_child = "sleep 5 & kill $! && wait $!; test $? -eq 143";
    assert!(sh(Some(&prepared), &tree.work, own_child).status.success());
}
