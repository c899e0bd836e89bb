//! Spawning a confined command without copying the caller's address space.
//!
//! `std::process::Command` with a `pre_exec` hook (what [`CommandExt::confine`] installs) must
//! `fork`: the kernel copies the page tables of the whole caller, write-protects every private
//! page in both processes, the caller takes a fault on each page it writes afterwards, and the
//! child's `exec` tears the copy down again. For a large caller that is a sizeable part of a
//! short command's cost. [`CommandExt::spawn_confined`] instead starts the child with
//! `clone(CLONE_VM | CLONE_VFORK)`, as `posix_spawn(3)` does: the child borrows the caller's
//! memory on a stack of its own, confines itself with the same [`ChildPlan`](crate::child) and
//! calls `execve`, while the caller waits.
//!
//! Sharing memory with a caller that is stopped is safe only if the child changes nothing the
//! caller relies on. The child therefore only makes system calls on data prepared beforehand
//! (no allocation, no locks, no unwinding), reports a failure through one atomic integer, and
//! never runs a signal handler: every signal stays blocked until just before `execve`, after the
//! child has reset each caught signal to its default action.
//!
//! [`CommandExt::spawn_confined`]: crate::CommandExt::spawn_confined
//! [`CommandExt::confine`]: crate::CommandExt::confine

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};

use crate::child::{ChildPlan, errno};

/// The child's stack. Its deepest frame holds a `PATH_MAX` buffer (re-entering the working
/// directory); the rest is small.
const STACK_SIZE: usize = 64 * 1024;

/// Where a child started by [`CommandExt::spawn_confined`](crate::CommandExt::spawn_confined)
/// reads and writes: each descriptor given replaces the caller's, the others are inherited.
#[derive(Debug, Default)]
pub struct ChildStdio {
    /// Standard input.
    pub stdin: Option<OwnedFd>,
    /// Standard output.
    pub stdout: Option<OwnedFd>,
    /// Standard error.
    pub stderr: Option<OwnedFd>,
}

/// A confined child started by [`CommandExt::spawn_confined`](crate::CommandExt::spawn_confined).
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    pidfd: Option<OwnedFd>,
    status: Option<ExitStatus>,
}

impl Child {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.pid.unsigned_abs()
    }

    /// A pidfd for the child: readable once it has exited. `None` on kernels without pidfds
    /// (before Linux 5.2), which cannot run Landlock either.
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        use std::os::fd::AsFd as _;
        self.pidfd.as_ref().map(|fd| fd.as_fd())
    }

    /// Waits for the child to exit and returns its status (again, once it has been reaped).
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let mut raw: libc::c_int = 0;
        loop {
            // SAFETY: `raw` is a valid, writable int; the pid is our own unreaped child.
            let rc = unsafe { libc::waitpid(self.pid, &mut raw, 0) };
            if rc == self.pid {
                break;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        let status = ExitStatus::from_raw(raw);
        self.status = Some(status);
        Ok(status)
    }
}

/// Everything the child reads, prepared by the caller before `clone`.
struct ChildArgs<'a> {
    plan: Option<&'a ChildPlan>,
    program: &'a CStr,
    argv: &'a [*const libc::c_char],
    envp: &'a [*const libc::c_char],
    /// Descriptors to install as 0, 1 and 2.
    stdio: [Option<RawFd>; 3],
    cwd: Option<&'a CStr>,
    /// The highest signal number (`SIGRTMAX`), looked up by the caller.
    max_signal: libc::c_int,
    /// 0 while all goes well; the errno of the failed step otherwise.
    error: AtomicI32,
}

/// Runs in the child, on its own stack, sharing the caller's memory until `execve`.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points at the `ChildArgs` of `spawn`, which outlives the child's use of it:
    // the caller is suspended (CLONE_VFORK) until this function execs or exits.
    let args = unsafe { &*(arg as *const ChildArgs<'_>) };
    let fail = |errno: i32| -> libc::c_int {
        args.error.store(errno.max(1), Ordering::SeqCst);
        // SAFETY: leaves at once, running nothing of the caller's (no atexit handlers, no
        // stdio flush): the memory is the caller's.
        unsafe { libc::_exit(127) }
    };
    // No handler of the caller's may run here: reset every caught signal to its default action
    // while all are blocked (glibc's posix_spawn does the same). SIGPIPE goes back to its default
    // too, as `std::process::Command` does for its children (the Rust runtime ignores it).
    for signal in 1..=args.max_signal {
        // SAFETY: `sigaction` with a null new action only reads the current one into `old`;
        // glibc refuses the signals it reserves for itself (EINVAL), which are skipped.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        if unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) } != 0 {
            continue;
        }
        let caught = old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN;
        if caught || signal == libc::SIGPIPE {
            // SAFETY: a zeroed `sigaction` is SIG_DFL with no flags and an empty mask.
            let default: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: valid pointer to a default action; a failure leaves the old one, which
            // cannot run while every signal is blocked up to `execve`, and `execve` resets it.
            unsafe { libc::sigaction(signal, &default, std::ptr::null_mut()) };
        }
    }
    for (target, fd) in (0..).zip(args.stdio) {
        let Some(fd) = fd else { continue };
        // SAFETY: `fd` is open (owned by the caller, which waits) and numbered 3 or above, so no
        // earlier dup2 overwrote it; dup2 clears CLOEXEC on the copy.
        if unsafe { libc::dup2(fd, target) } < 0 {
            return fail(errno());
        }
    }
    if let Some(cwd) = args.cwd {
        // SAFETY: NUL-terminated path owned by the caller.
        if unsafe { libc::chdir(cwd.as_ptr()) } != 0 {
            return fail(errno());
        }
    }
    if let Some(plan) = args.plan
        && let Err(failure) = plan.apply()
    {
        plan.report(failure);
        return fail(failure.errno);
    }
    // The program starts with no signal blocked, as under `std::process::Command`.
    // SAFETY: an empty set, built on this stack.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
    // SAFETY: all three are NUL-terminated (the arrays end with a null pointer) and owned by the
    // caller, which waits.
    unsafe {
        libc::execve(
            args.program.as_ptr(),
            args.argv.as_ptr(),
            args.envp.as_ptr(),
        )
    };
    fail(errno())
}

fn c_string(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a program, argument or environment entry contains a NUL byte",
        )
    })
}

/// The environment `command` gives its program: this process's, with its changes applied.
fn environment(command: &Command) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    for (key, value) in command.get_envs() {
        env.retain(|(k, _)| k.as_os_str() != key);
        if let Some(value) = value {
            env.push((key.to_owned(), value.to_owned()));
        }
    }
    env
}

/// Where `execvp` would find `program`: as given if it names a path, else the first executable
/// file of that name in `PATH`.
fn find_program(program: &OsStr, path: Option<&OsStr>) -> io::Result<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let path = path.unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    for dir in std::env::split_paths(path) {
        let candidate = dir.join(program);
        let Ok(c_candidate) = c_string(candidate.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: NUL-terminated path.
        if unsafe { libc::access(c_candidate.as_ptr(), libc::X_OK) } == 0 && candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found in PATH", Path::new(program).display()),
    ))
}

/// A stack for the child: `STACK_SIZE` bytes above a guard page.
struct Stack {
    base: *mut libc::c_void,
    len: usize,
}

impl Stack {
    fn new() -> io::Result<Stack> {
        // SAFETY: `sysconf` takes a constant and returns a number.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let len = STACK_SIZE + page;
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = Stack { base, len };
        // The lowest page is the guard: the stack grows down into it.
        // SAFETY: the first page of the mapping just made.
        if unsafe { libc::mprotect(base, page, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    fn top(&self) -> *mut libc::c_void {
        // 16-byte aligned: the mapping is page aligned and `len` a multiple of the page size.
        self.base.wrapping_byte_add(self.len)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` made; the child no longer runs on it.
        unsafe { libc::munmap(self.base, self.len) };
    }
}

/// Blocks every signal in the calling thread until dropped.
struct BlockSignals {
    old: libc::sigset_t,
}

impl BlockSignals {
    fn new() -> BlockSignals {
        // SAFETY: plain sigset operations on values owned by this frame.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            BlockSignals { old }
        }
    }
}

impl Drop for BlockSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `new`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut()) };
    }
}

/// See [`CommandExt::spawn_confined`](crate::CommandExt::spawn_confined).
pub(crate) fn spawn(
    command: &Command,
    plan: Option<&ChildPlan>,
    stdio: ChildStdio,
) -> io::Result<Child> {
    let env = environment(command);
    let path_var = env
        .iter()
        .find(|(k, _)| k.as_os_str() == "PATH")
        .map(|(_, v)| v.as_os_str());
    let program = c_string(
        find_program(command.get_program(), path_var)?
            .as_os_str()
            .as_bytes(),
    )?;
    let mut argv_owned = vec![c_string(command.get_program().as_bytes())?];
    for arg in command.get_args() {
        argv_owned.push(c_string(arg.as_bytes())?);
    }
    let envp_owned = env
        .into_iter()
        .map(|(k, v)| {
            let mut entry = k.into_vec();
            entry.push(b'=');
            entry.extend(v.into_vec());
            c_string(&entry)
        })
        .collect::<io::Result<Vec<_>>>()?;
    let pointers = |strings: &[CString]| -> Vec<*const libc::c_char> {
        strings
            .iter()
            .map(|s| s.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect()
    };
    let argv = pointers(&argv_owned);
    let envp = pointers(&envp_owned);
    let cwd = command
        .get_current_dir()
        .map(|dir| c_string(dir.as_os_str().as_bytes()))
        .transpose()?;
    // A descriptor numbered 0 to 2 could be overwritten by the child's own dup2 onto that number
    // before it is copied: move such ones to 3 or above first.
    let above_stdio = |fd: Option<OwnedFd>| -> io::Result<Option<OwnedFd>> {
        match fd {
            Some(fd) if fd.as_raw_fd() <= libc::STDERR_FILENO => fd.try_clone().map(Some),
            fd => Ok(fd),
        }
    };
    let stdio = ChildStdio {
        stdin: above_stdio(stdio.stdin)?,
        stdout: above_stdio(stdio.stdout)?,
        stderr: above_stdio(stdio.stderr)?,
    };
    let args = ChildArgs {
        plan,
        program: &program,
        argv: &argv,
        envp: &envp,
        stdio: [&stdio.stdin, &stdio.stdout, &stdio.stderr]
            .map(|fd| fd.as_ref().map(|fd| fd.as_raw_fd())),
        cwd: cwd.as_deref(),
        max_signal: libc::SIGRTMAX(),
        error: AtomicI32::new(0),
    };
    let stack = Stack::new()?;
    let mut pidfd: libc::c_int = -1;
    let pid = {
        let _blocked = BlockSignals::new();
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
        let arg = &args as *const ChildArgs<'_> as *mut libc::c_void;
        // SAFETY: `child_main` only reads `args` (alive until clone returns: CLONE_VFORK
        // suspends this thread until the child execs or exits) and runs on `stack`; see the
        // module docs for why sharing memory is sound.
        let mut pid = unsafe {
            libc::clone(
                child_main,
                stack.top(),
                flags | libc::CLONE_PIDFD,
                arg,
                &mut pidfd as *mut libc::c_int,
            )
        };
        if pid < 0 && errno() == libc::EINVAL {
            // A kernel without CLONE_PIDFD (before 5.2).
            pidfd = -1;
            // SAFETY: as above.
            pid = unsafe { libc::clone(child_main, stack.top(), flags, arg) };
        }
        pid
    };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    drop(stack);
    // SAFETY: with CLONE_PIDFD the kernel stored a new descriptor here that nothing else owns.
    let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
    let mut child = Child {
        pid,
        pidfd,
        status: None,
    };
    match args.error.load(Ordering::SeqCst) {
        0 => Ok(child),
        errno => {
            // The program never ran: reap the child, which has exited.
            let _ = child.wait();
            Err(io::Error::from_raw_os_error(errno))
        }
    }
}
