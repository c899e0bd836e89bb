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

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// The filter program, or `None` when this crate has no syscall table for the architecture it was
/// built for.
///
/// Layout:
///
/// ```text
///     ld  arch
///     jeq ARCH_A, 0, <skip A's block>
///       ld  nr
///       jge X32_BIT, deny           (x86_64 only)
///       jeq NR_1, deny ... jeq NR_n, deny
///       ret ALLOW
///     jeq ARCH_B, ...
///     ret KILL_PROCESS              (unknown architecture)
/// deny:
///     ret ERRNO(EPERM)
/// ```
pub(crate) fn program() -> Option<Vec<sock_filter>> {
    let tables = tables();
    if tables.is_empty() {
        return None;
    }
    let bpf_ld_w_abs = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let bpf_jeq_k = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let bpf_jge_k = libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K;
    let bpf_ret_k = libc::BPF_RET | libc::BPF_K;

    let mut prog = vec![stmt(bpf_ld_w_abs, DATA_ARCH)];
    // Indexes of the jumps whose `jt` must point at the final `deny` instruction.
    let mut to_deny = Vec::new();
    for table in tables {
        let block_len = 1 + usize::from(table.deny_x32) + table.denied.len() + 1;
        let skip = u8::try_from(block_len).expect("a syscall table is far shorter than 255");
        prog.push(jump(bpf_jeq_k, table.audit_arch, 0, skip));
        prog.push(stmt(bpf_ld_w_abs, DATA_NR));
        if table.deny_x32 {
            to_deny.push(prog.len());
            prog.push(jump(bpf_jge_k, X32_SYSCALL_BIT, 0, 0));
        }
        for &nr in table.denied {
            to_deny.push(prog.len());
            prog.push(jump(bpf_jeq_k, nr, 0, 0));
        }
        prog.push(stmt(bpf_ret_k, RET_ALLOW));
    }
    prog.push(stmt(bpf_ret_k, RET_KILL_PROCESS));
    let deny = prog.len();
    prog.push(stmt(bpf_ret_k, RET_EPERM));
    for index in to_deny {
        // A jump's offset counts from the instruction after it.
        prog[index].jt = u8::try_from(deny - index - 1).expect("the program is shorter than 255");
    }
    Some(prog)
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

    #[test]
    fn every_deny_jump_lands_on_the_eperm_return() {
        let prog = program().expect("this crate's tests run on x86_64 or aarch64");
        let last = prog.len() - 1;
        assert_eq!(u32::from(prog[last].code), libc::BPF_RET | libc::BPF_K);
        assert_eq!(prog[last].k, RET_EPERM);
        for (index, insn) in prog.iter().enumerate() {
            if u32::from(insn.code) & 0x07 == libc::BPF_JMP && insn.k != 0 && insn.jt != 0 {
                assert_eq!(index + 1 + usize::from(insn.jt), last, "jump at {index}");
            }
        }
        let denied: usize = tables().iter().map(|t| t.denied.len()).sum();
        let jumps = prog.iter().filter(|i| i.jt != 0).count();
        let x32 = tables().iter().filter(|t| t.deny_x32).count();
        assert_eq!(jumps, denied + x32);
    }

    #[test]
    fn arch_mismatch_skips_to_the_next_table() {
        let prog = program().expect("this crate's tests run on x86_64 or aarch64");
        let mut index = 1;
        for table in tables() {
            let insn = prog[index];
            assert_eq!(insn.k, table.audit_arch);
            let next = index + 1 + usize::from(insn.jf);
            // The instruction before the next block is this block's `ret ALLOW`.
            assert_eq!(prog[next - 1].k, RET_ALLOW);
            index = next;
        }
        assert_eq!(prog[index].k, RET_KILL_PROCESS);
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
