//! The seccomp filter: a hand-written classic BPF program that makes a short list of syscalls fail
//! with `EPERM` and allows everything else.
//!
//! The denied syscalls reach kernel attack surface or other processes' memory without going
//! through a path Landlock checks: io_uring (its operations bypass seccomp and, historically, LSM
//! hooks), `ptrace`, `process_vm_readv`/`process_vm_writev`, `bpf`, `perf_event_open` and the
//! keyring calls (`keyctl`, `add_key`, `request_key`).
//!
//! Written by hand rather than with `seccompiler` because the filter must also cover the other ABIs
//! a 64-bit x86 process can enter the kernel through: the i386 ABI (`int 0x80`, different syscall
//! numbers) and the x32 ABI (numbers with bit 30 set). A syscall from an architecture the filter
//! does not know kills the process: failing closed is better than allowing it unfiltered.

use libc::sock_filter;

// Offsets into `struct seccomp_data` (include/uapi/linux/seccomp.h).
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

// include/uapi/linux/audit.h
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;

/// The x32 ABI marks its syscall numbers with this bit (arch/x86/include/uapi/asm/unistd.h).
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const RET_ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const RET_KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;
const RET_EPERM: u32 = libc::SECCOMP_RET_ERRNO | (libc::EPERM as u32 & libc::SECCOMP_RET_DATA);

/// The syscall table of one architecture the filter knows.
struct Table {
    audit_arch: u32,
    denied: &'static [u32],
    /// Deny every x32 syscall (only meaningful for `AUDIT_ARCH_X86_64`).
    deny_x32: bool,
}

/// Syscall numbers from arch/x86/entry/syscalls/syscall_64.tbl.
#[cfg(target_arch = "x86_64")]
const X86_64: &[u32] = &[
    101, // ptrace
    310, // process_vm_readv
    311, // process_vm_writev
    321, // bpf
    298, // perf_event_open
    250, // keyctl
    248, // add_key
    249, // request_key
    425, // io_uring_setup
    426, // io_uring_enter
    427, // io_uring_register
];

/// Syscall numbers from arch/x86/entry/syscalls/syscall_32.tbl.
#[cfg(target_arch = "x86_64")]
const I386: &[u32] = &[
    26,  // ptrace
    347, // process_vm_readv
    348, // process_vm_writev
    357, // bpf
    336, // perf_event_open
    288, // keyctl
    286, // add_key
    287, // request_key
    425, // io_uring_setup
    426, // io_uring_enter
    427, // io_uring_register
];

/// Syscall numbers from include/uapi/asm-generic/unistd.h.
#[cfg(target_arch = "aarch64")]
const AARCH64: &[u32] = &[
    117, // ptrace
    270, // process_vm_readv
    271, // process_vm_writev
    280, // bpf
    241, // perf_event_open
    219, // keyctl
    217, // add_key
    218, // request_key
    425, // io_uring_setup
    426, // io_uring_enter
    427, // io_uring_register
];

#[cfg(target_arch = "x86_64")]
fn tables() -> &'static [Table] {
    const TABLES: &[Table] = &[
        Table {
            audit_arch: AUDIT_ARCH_X86_64,
            denied: X86_64,
            deny_x32: true,
        },
        Table {
            audit_arch: AUDIT_ARCH_I386,
            denied: I386,
            deny_x32: false,
        },
    ];
    TABLES
}

#[cfg(target_arch = "aarch64")]
fn tables() -> &'static [Table] {
    // A 64-bit arm process cannot issue 32-bit syscalls, and 32-bit arm binaries are killed by the
    // unknown-architecture rule.
    const TABLES: &[Table] = &[Table {
        audit_arch: AUDIT_ARCH_AARCH64,
        denied: AARCH64,
        deny_x32: false,
    }];
    TABLES
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn tables() -> &'static [Table] {
    &[]
}

// Keep the constant used on every architecture so that none of them warns.
const _: u32 = AUDIT_ARCH_AARCH64 ^ AUDIT_ARCH_I386 ^ AUDIT_ARCH_X86_64;

fn stmt(code: u32, k: u32) -> sock_filter {
    sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

const BPF_LD_W_ABS: u32 = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
const BPF_JEQ_K: u32 = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
const BPF_JGE_K: u32 = libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K;
const BPF_JGT_K: u32 = libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K;
const BPF_RET_K: u32 = libc::BPF_RET | libc::BPF_K;

/// Where a jump goes, resolved to an offset once the whole program is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The next instruction.
    Next,
    /// The instruction at this index.
    At(usize),
    /// The final `ret ALLOW`.
    Allow,
    /// The final `ret ERRNO(EPERM)`.
    Deny,
}

/// An instruction whose jump targets are not resolved yet.
struct Insn {
    code: u32,
    k: u32,
    jt: Target,
    jf: Target,
}

/// The denied syscall numbers of a table as sorted, disjoint, inclusive ranges; the x32 numbers
/// (`nr >= X32_SYSCALL_BIT`) are one more range.
fn denied_ranges(table: &Table) -> Vec<(u32, u32)> {
    let mut numbers = table.denied.to_vec();
    numbers.sort_unstable();
    numbers.dedup();
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for nr in numbers {
        match ranges.last_mut() {
            Some((_, hi)) if hi.checked_add(1) == Some(nr) => *hi = nr,
            _ => ranges.push((nr, nr)),
        }
    }
    if table.deny_x32 {
        ranges.retain(|&(lo, _)| lo < X32_SYSCALL_BIT);
        if let Some((_, hi)) = ranges.last_mut() {
            *hi = (*hi).min(X32_SYSCALL_BIT - 1);
        }
        ranges.push((X32_SYSCALL_BIT, u32::MAX));
    }
    ranges
}

/// Emits a binary search of the syscall number (in the accumulator) over `ranges`: it jumps to
/// `Deny` when the number lies in one of them and to `Allow` otherwise. `known_lo` is a lower
/// bound already established by the caller's comparisons.
fn emit_search(prog: &mut Vec<Insn>, ranges: &[(u32, u32)], known_lo: u32) {
    match ranges {
        [] => prog.push(Insn {
            code: BPF_JGE_K,
            k: 0,
            jt: Target::Allow,
            jf: Target::Allow,
        }),
        [(lo, hi)] if lo == hi && known_lo < *lo => prog.push(Insn {
            code: BPF_JEQ_K,
            k: *lo,
            jt: Target::Deny,
            jf: Target::Allow,
        }),
        [(lo, hi)] => {
            if known_lo < *lo {
                prog.push(Insn {
                    code: BPF_JGE_K,
                    k: *lo,
                    jt: Target::Next,
                    jf: Target::Allow,
                });
            }
            prog.push(Insn {
                code: BPF_JGT_K,
                k: *hi,
                jt: Target::Allow,
                jf: Target::Deny,
            });
        }
        _ => {
            // nr >= ranges[mid].lo: the right half decides; otherwise the left half does.
            let mid = ranges.len() / 2;
            let split = ranges[mid].0;
            let node = prog.len();
            prog.push(Insn {
                code: BPF_JGE_K,
                k: split,
                jt: Target::Next,
                jf: Target::Next,
            });
            emit_search(prog, &ranges[..mid], known_lo);
            let right = prog.len();
            prog[node].jt = Target::At(right);
            emit_search(prog, &ranges[mid..], split);
        }
    }
}

/// The filter program, or `None` when this crate has no syscall table for the architecture it was
/// built for.
///
/// Each architecture's denied numbers are searched as a balanced tree of ranges rather than
/// compared one by one: the kernel evaluates the filter once per syscall number and architecture
/// when it is installed (to cache the numbers it always allows), so every instruction on the
/// common path costs about a thousand emulated steps per spawn.
///
/// Layout:
///
/// ```text
///     ld  arch
///     jeq ARCH_A, 0, <next arch>
///       ld  nr
///       binary search of nr over A's denied ranges (x32 numbers are one of them on x86_64),
///       ending in `allow` or `deny`
///     jeq ARCH_B, ...
///     ret KILL_PROCESS              (unknown architecture)
/// allow:
///     ret ALLOW
/// deny:
///     ret ERRNO(EPERM)
/// ```
pub(crate) fn program() -> Option<Vec<sock_filter>> {
    let tables = tables();
    if tables.is_empty() {
        return None;
    }
    let mut prog = vec![Insn {
        code: BPF_LD_W_ABS,
        k: DATA_ARCH,
        jt: Target::Next,
        jf: Target::Next,
    }];
    for table in tables {
        let check = prog.len();
        prog.push(Insn {
            code: BPF_JEQ_K,
            k: table.audit_arch,
            jt: Target::Next,
            jf: Target::Next,
        });
        prog.push(Insn {
            code: BPF_LD_W_ABS,
            k: DATA_NR,
            jt: Target::Next,
            jf: Target::Next,
        });
        emit_search(&mut prog, &denied_ranges(table), 0);
        prog[check].jf = Target::At(prog.len());
    }
    prog.push(Insn {
        code: BPF_RET_K,
        k: RET_KILL_PROCESS,
        jt: Target::Next,
        jf: Target::Next,
    });
    let allow = prog.len();
    let deny = allow + 1;
    let offset = |from: usize, target: Target| -> u8 {
        let to = match target {
            Target::Next => from + 1,
            Target::At(index) => index,
            Target::Allow => allow,
            Target::Deny => deny,
        };
        // A jump's offset counts from the instruction after it, and only goes forward.
        u8::try_from(to - from - 1).expect("the program is shorter than 255 instructions")
    };
    let mut filter: Vec<sock_filter> = prog
        .iter()
        .enumerate()
        .map(|(index, insn)| sock_filter {
            code: insn.code as u16,
            jt: offset(index, insn.jt),
            jf: offset(index, insn.jf),
            k: insn.k,
        })
        .collect();
    filter.push(stmt(BPF_RET_K, RET_ALLOW));
    filter.push(stmt(BPF_RET_K, RET_EPERM));
    Some(filter)
}

/// Installs `prog` on the calling thread. `no_new_privs` must already be set. Only makes one
/// syscall, so it is safe to call between `fork` and `exec`. On failure returns the errno.
pub(crate) fn install(prog: &[sock_filter]) -> Result<(), i32> {
    let fprog = libc::sock_fprog {
        len: u16::try_from(prog.len()).map_err(|_| libc::EINVAL)?,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points at `prog`, which outlives the call; the kernel copies the program and
    // never writes through the pointer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_uint,
            &fprog as *const libc::sock_fprog,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(crate::child::errno())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `prog` the way the kernel does on a `seccomp_data` with `arch` and `nr`.
    fn run(prog: &[sock_filter], arch: u32, nr: u32) -> u32 {
        let mut acc = 0u32;
        let mut pc = 0usize;
        loop {
            let insn = prog[pc];
            let code = u32::from(insn.code);
            pc += 1;
            match code {
                BPF_LD_W_ABS => {
                    acc = match insn.k {
                        DATA_NR => nr,
                        DATA_ARCH => arch,
                        other => panic!("load from offset {other}"),
                    }
                }
                BPF_RET_K => return insn.k,
                BPF_JEQ_K | BPF_JGE_K | BPF_JGT_K => {
                    let taken = match code {
                        BPF_JEQ_K => acc == insn.k,
                        BPF_JGE_K => acc >= insn.k,
                        _ => acc > insn.k,
                    };
                    pc += usize::from(if taken { insn.jt } else { insn.jf });
                }
                other => panic!("unexpected instruction code {other:#x}"),
            }
        }
    }

    #[test]
    fn denies_exactly_the_listed_syscalls_on_every_known_architecture() {
        let prog = program().expect("this crate's tests run on x86_64 or aarch64");
        assert!(prog.len() < 64, "{} instructions", prog.len());
        for table in tables() {
            let mut numbers: Vec<u32> = (0..1024).collect();
            numbers.extend([
                X32_SYSCALL_BIT - 1,
                X32_SYSCALL_BIT,
                X32_SYSCALL_BIT + 1,
                X32_SYSCALL_BIT + 101,
                X32_SYSCALL_BIT + 512,
                u32::MAX - 1,
                u32::MAX,
            ]);
            for nr in numbers {
                let denied =
                    table.denied.contains(&nr) || (table.deny_x32 && nr >= X32_SYSCALL_BIT);
                let expected = if denied { RET_EPERM } else { RET_ALLOW };
                assert_eq!(
                    run(&prog, table.audit_arch, nr),
                    expected,
                    "arch {:#x} nr {nr}",
                    table.audit_arch
                );
            }
        }
    }

    #[test]
    fn unknown_architectures_are_killed() {
        let prog = program().expect("this crate's tests run on x86_64 or aarch64");
        let known: Vec<u32> = tables().iter().map(|t| t.audit_arch).collect();
        for arch in [
            AUDIT_ARCH_X86_64,
            AUDIT_ARCH_I386,
            AUDIT_ARCH_AARCH64,
            0,
            u32::MAX,
        ] {
            if known.contains(&arch) {
                continue;
            }
            for nr in [0, 1, 101, 425] {
                assert_eq!(run(&prog, arch, nr), RET_KILL_PROCESS, "arch {arch:#x}");
            }
        }
    }

    #[test]
    fn allowed_syscalls_take_a_short_path() {
        // The kernel evaluates the filter for every syscall number when it is installed; keep
        // the common path to a binary search, not one comparison per denied syscall.
        let prog = program().expect("this crate's tests run on x86_64 or aarch64");
        let table = &tables()[0];
        let steps = |nr: u32| {
            let (mut acc, mut pc, mut steps) = (0u32, 0usize, 0);
            loop {
                let insn = prog[pc];
                steps += 1;
                pc += 1;
                match u32::from(insn.code) {
                    BPF_LD_W_ABS => {
                        acc = if insn.k == DATA_NR {
                            nr
                        } else {
                            table.audit_arch
                        }
                    }
                    BPF_RET_K => return steps,
                    code => {
                        let taken = match code {
                            BPF_JEQ_K => acc == insn.k,
                            BPF_JGE_K => acc >= insn.k,
                            _ => acc > insn.k,
                        };
                        pc += usize::from(if taken { insn.jt } else { insn.jf });
                    }
                }
            }
        };
        let worst = (0..512).map(steps).max().expect("numbers");
        assert!(worst <= 10, "{worst} instructions on the longest path");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn native_numbers_match_libc() {
        let from_libc = [
            libc::SYS_ptrace,
            libc::SYS_process_vm_readv,
            libc::SYS_process_vm_writev,
            libc::SYS_bpf,
            libc::SYS_perf_event_open,
            libc::SYS_keyctl,
            libc::SYS_add_key,
            libc::SYS_request_key,
            libc::SYS_io_uring_setup,
            libc::SYS_io_uring_enter,
            libc::SYS_io_uring_register,
        ];
        let from_libc: Vec<u32> = from_libc
            .iter()
            .map(|&n| u32::try_from(n).expect("small"))
            .collect();
        assert_eq!(from_libc, X86_64);
    }
}
