//! The channel between `paddock-sh` (unconfined, the supervisor) and the hooks and tools running
//! inside its confined command, which cannot write paddock's state themselves.
//!
//! `paddock-sh` makes a `SOCK_SEQPACKET` socket pair and leaves one end open across `exec`, its
//! number in `PADDOCK_SUPERVISOR_FD`. A client makes a private socket pair for each request,
//! sends the request with one end attached (`SCM_RIGHTS`) and reads the answer from the other,
//! so answers never cross between concurrent clients. The supervisor attributes every request to
//! the session it supervises, whatever the request says, validates it and appends it.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use paddock_workspace::Workspace;
use paddock_workspace::record::{Event, Request};

/// Where a confined process finds the supervisor's socket.
pub const FD_ENV: &str = "PADDOCK_SUPERVISOR_FD";

const MAX_MESSAGE: usize = 1 << 20;

fn pair() -> nix::Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
}

/// The supervisor's end, and the end its child inherits.
pub struct Channel {
    ours: OwnedFd,
    theirs: OwnedFd,
}

impl Channel {
    /// A new channel; `theirs` stays open across `exec` (and nowhere else).
    pub fn new() -> anyhow::Result<Channel> {
        let (ours, theirs) = pair()?;
        nix::fcntl::fcntl(
            &theirs,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )?;
        Ok(Channel { ours, theirs })
    }

    /// The environment entry that tells the child where the channel is.
    pub fn env(&self) -> (String, String) {
        (FD_ENV.to_owned(), self.theirs.as_raw_fd().to_string())
    }

    /// Closes the child's end in this process (after spawning) and serves requests on a
    /// thread until every client end is closed. `open` builds the supervisor's own workspace.
    pub fn serve(
        self,
        session_id: String,
        open: impl FnOnce() -> anyhow::Result<Workspace> + Send + 'static,
    ) -> std::thread::JoinHandle<()> {
        drop(self.theirs);
        let ours = self.ours;
        std::thread::spawn(move || {
            let mut server = Server::new(ours, session_id, open);
            while server.serve_one() {}
        })
    }

    /// Closes the child's end in this process (after spawning `child`), serves requests on
    /// this thread while `child` runs, and returns its exit status.
    ///
    /// Waits on the child's pidfd and the socket at once: most commands make no request, and a
    /// thread of its own per command (stack, malloc arena, a wake-up at the end) costs more than
    /// the whole supervision. Falls back to [`Channel::serve`]'s thread where the kernel has no
    /// pidfds.
    pub fn supervise(
        self,
        child: &mut paddock_sandbox::Child,
        session_id: String,
        open: impl FnOnce() -> anyhow::Result<Workspace> + Send + 'static,
    ) -> std::io::Result<std::process::ExitStatus> {
        if child.pidfd().is_none() {
            let thread = self.serve(session_id, open);
            let status = child.wait();
            drop(thread);
            return status;
        }
        drop(self.theirs);
        let mut server = Server::new(self.ours, session_id, open);
        let mut serving = true;
        while let Some(pidfd) = child.pidfd() {
            let mut fds = [
                PollFd::new(pidfd, PollFlags::POLLIN),
                PollFd::new(server.socket.as_fd(), PollFlags::POLLIN),
            ];
            let polled = if serving { &mut fds[..] } else { &mut fds[..1] };
            match poll(polled, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::Error::EINTR) => continue,
                Err(err) => {
                    // Cannot happen with two valid descriptors. Stop serving: closing our end
                    // makes a client's request fail at once instead of waiting forever.
                    eprintln!("paddock-sh: the supervisor stops serving: poll failed: {err}");
                    break;
                }
            }
            // The command is gone: what runs on (a background process) gets no more answers,
            // as when this process exits.
            if fds[0].any().unwrap_or(true) {
                break;
            }
            let request = serving && fds[1].any().unwrap_or(false);
            if request {
                serving = server.serve_one();
            }
        }
        drop(server);
        child.wait()
    }
}

/// The supervisor's side of the channel: reads requests, answers them.
struct Server<F> {
    socket: OwnedFd,
    session_id: String,
    /// Opens the workspace on the first request: most commands make none.
    open: Option<F>,
    workspace: Option<Workspace>,
    buf: Vec<u8>,
}

impl<F: FnOnce() -> anyhow::Result<Workspace>> Server<F> {
    fn new(socket: OwnedFd, session_id: String, open: F) -> Server<F> {
        Server {
            socket,
            session_id,
            open: Some(open),
            workspace: None,
            buf: Vec::new(),
        }
    }

    /// Waits for one request and answers it; false once every client end is closed (the
    /// command tree is gone) or the socket fails.
    fn serve_one(&mut self) -> bool {
        if self.buf.is_empty() {
            self.buf = vec![0u8; MAX_MESSAGE];
        }
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let (len, reply) = {
            let mut iov = [IoSliceMut::new(&mut self.buf)];
            let msg = loop {
                match recvmsg::<()>(
                    self.socket.as_raw_fd(),
                    &mut iov,
                    Some(&mut space),
                    MsgFlags::MSG_CMSG_CLOEXEC,
                ) {
                    Ok(msg) => break msg,
                    Err(nix::Error::EINTR) => continue,
                    Err(_) => return false,
                }
            };
            if msg.bytes == 0 {
                // Every client end is closed: the command tree is gone.
                return false;
            }
            let mut reply = None;
            if let Ok(cmsgs) = msg.cmsgs() {
                for cmsg in cmsgs {
                    if let ControlMessageOwned::ScmRights(fds) = cmsg {
                        for fd in fds {
                            // SAFETY: the kernel just installed this descriptor in our
                            // table for us (SCM_RIGHTS); nothing else owns it.
                            #[allow(unsafe_code)]
                            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                            reply.get_or_insert(owned);
                        }
                    }
                }
            }
            (msg.bytes, reply)
        };
        if self.workspace.is_none()
            && let Some(open) = self.open.take()
        {
            match open() {
                Ok(w) => self.workspace = Some(w),
                Err(err) => {
                    eprintln!("paddock-sh: the supervisor cannot open the repository: {err:#}")
                }
            }
        }
        let answer = match (
            &self.workspace,
            serde_json::from_slice::<Request>(&self.buf[..len]),
        ) {
            (Some(workspace), Ok(request)) => handle(workspace, &self.session_id, request),
            (None, _) => Err("the supervisor cannot open the repository".to_owned()),
            (_, Err(err)) => Err(format!("malformed request: {err}")),
        };
        if let Some(reply) = reply {
            let text = match answer {
                Ok(()) => "ok".to_owned(),
                Err(err) => format!("error: {err}"),
            };
            let _ = nix::sys::socket::send(reply.as_raw_fd(), text.as_bytes(), MsgFlags::empty());
        }
        true
    }
}

/// Validates and carries out one request for `session_id`.
fn handle(workspace: &Workspace, session_id: &str, request: Request) -> Result<(), String> {
    match request {
        Request::Record(event) => {
            // Children may add records about their session, never rewrite who they are about.
            // Turns record from the unconfined runner; a confined child must not forge their pins.
            let allowed = ["deny.", "git.", "note."];
            if !allowed.iter().any(|p| event.kind.starts_with(p)) {
                return Err(format!(
                    "a confined process may not record {:?}",
                    event.kind
                ));
            }
            let event = Event {
                session: Some(session_id.to_owned()),
                ..event
            };
            workspace
                .append(&event)
                .map_err(|e| crate::output::sentence(&e.into()))
        }
        Request::Block { reason } => workspace
            .block(session_id, &reason)
            .map(|_| ())
            .map_err(|e| crate::output::sentence(&e.into())),
    }
}

/// The forwarder a confined process installs when `PADDOCK_SUPERVISOR_FD` is set.
pub fn client_from_env() -> Option<paddock_workspace::record::Forward> {
    let fd: RawFd = std::env::var(FD_ENV).ok()?.parse().ok()?;
    // The descriptor must be a socket we inherited, not whatever happens to have that number.
    let kind = nix::sys::socket::getsockopt(
        // SAFETY: borrowed only for this call; `fd` came from our own environment and getsockopt
        // fails cleanly (ENOTSOCK, EBADF) if it is not an open socket.
        &unsafe_borrow(fd),
        nix::sys::socket::sockopt::SockType,
    )
    .ok()?;
    if kind != SockType::SeqPacket {
        return None;
    }
    Some(Box::new(move |request: &Request| send(fd, request)))
}

#[allow(unsafe_code)]
fn unsafe_borrow(fd: RawFd) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: the supervisor's end is inherited open for the whole life of this process and is
    // never closed by it.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

fn send(fd: RawFd, request: &Request) -> Result<(), String> {
    let text = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    if text.len() > MAX_MESSAGE {
        return Err("the record is too large for the supervisor channel".to_owned());
    }
    let (mine, theirs) = pair().map_err(|e| e.to_string())?;
    let fds = [theirs.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(
        unsafe_borrow(fd).as_raw_fd(),
        &[IoSlice::new(&text)],
        &cmsg,
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| format!("cannot reach the supervisor: {e}"))?;
    drop(theirs);
    let mut answer = [0u8; 4096];
    let n = nix::sys::socket::recv(mine.as_fd().as_raw_fd(), &mut answer, MsgFlags::empty())
        .map_err(|e| format!("no answer from the supervisor: {e}"))?;
    let answer = String::from_utf8_lossy(&answer[..n]);
    if answer == "ok" {
        Ok(())
    } else {
        Err(answer.trim_start_matches("error: ").to_owned())
    }
}
