//! The network allow-list on Linux: the sandbox keeps its empty network namespace, and the init
//! binds 127.0.0.1:`PROXY_PORT` inside it before any layer is applied, then passes that
//! listening socket to the supervisor over the plan channel (a unix socket pair). The
//! supervisor serves it with Paddock's proxy (`paddock_proxy`): connections made inside the
//! sandbox are accepted on the host side, where the proxy checks and resolves the host and
//! connects out. Nothing else leaves the namespace; the command's environment points
//! `HTTP(S)_PROXY` (HTTP) and `ALL_PROXY` (SOCKS5, `socks5h://`) at the port.

use crate::plan::LinuxError;
use paddock_core::NetworkLog;
use paddock_proxy::{AllowList, Proxy, ProxyHandle};
use paddock_runner::{ChildStdio, ExitInfo, Interrupt, SandboxedProcess, SignalWatch};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// The loopback port the proxy listens on inside the sandbox (the sandbox's own namespace, so
/// it cannot collide with the host; the same number as the first Windows proxy port).
pub const PROXY_PORT: u16 = 47800;

/// The environment the command gets in allow-list mode. No credential: the port exists only in
/// the run's own network namespace, so no other run can reach it (Windows, where runs share
/// the ports, sets one per run).
pub fn proxy_env() -> Vec<(String, String)> {
    paddock_proxy::proxy_env(Ipv4Addr::LOCALHOST.into(), PROXY_PORT, None)
}

/// The plan channel: (the init's end, the supervisor's end), both close-on-exec.
pub fn plan_channel() -> io::Result<(OwnedFd, OwnedFd)> {
    let (init, supervisor) = UnixStream::pair()?;
    Ok((init.into(), supervisor.into()))
}

/// Supervisor side: writes the plan, ends it (the init reads to end of file), and, when the
/// plan asks for the proxy, takes the listening socket the init sends back.
pub fn send_plan(
    channel: OwnedFd,
    bytes: &[u8],
    wants_listener: bool,
) -> (io::Result<()>, Option<io::Result<TcpListener>>) {
    let mut s = UnixStream::from(channel);
    let written = s
        .write_all(bytes)
        .and_then(|()| s.shutdown(std::net::Shutdown::Write));
    let listener =
        (wants_listener && written.is_ok()).then(|| receive_fd(&s).map(TcpListener::from));
    (written, listener)
}

/// What `read_plan` reserves before its first read; a larger plan is read on as it comes.
const PLAN_READ_CAPACITY: usize = 64 * 1024;

/// Init side: reads the whole plan from the channel, keeping the channel open for the reply.
pub fn read_plan(channel: &OwnedFd) -> io::Result<Vec<u8>> {
    // Room for a whole plan (a few KiB) from the start: one read and the end, instead of a
    // probe read and a read per doubling of the buffer.
    let mut bytes = Vec::with_capacity(PLAN_READ_CAPACITY);
    let mut s = UnixStream::from(channel.try_clone()?);
    s.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Init side, in allow-list mode: binds the proxy port on the namespace's loopback (up by now)
/// and hands the listening socket to the supervisor. The init keeps no copy.
pub fn hand_over_listener(port: Option<u16>, channel: OwnedFd) -> Result<(), LinuxError> {
    let Some(port) = port else { return Ok(()) };
    let fail = |call: &'static str| {
        move |source| LinuxError::Syscall {
            call,
            target: format!("127.0.0.1:{port} (the proxy port)"),
            source,
        }
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(fail("bind"))?;
    send_fd(&UnixStream::from(channel), listener.as_raw_fd()).map_err(fail("sendmsg(SCM_RIGHTS)"))
}

/// Starts the proxy for `allow` on the listener the init handed over.
pub fn start_proxy(
    listener: TcpListener,
    allow: &[String],
    log: &NetworkLog,
) -> Result<ProxyHandle, LinuxError> {
    let list = AllowList::parse(allow).map_err(|e| LinuxError::Unsupported {
        reason: e.to_string(),
    })?;
    Proxy::new(list, log.clone())
        .serve(listener)
        .map_err(|e| LinuxError::Setup {
            message: format!("cannot start the allow-list proxy: {e}"),
        })
}

fn send_fd(s: &UnixStream, fd: RawFd) -> io::Result<()> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the sendmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `msg` has a control buffer of CMSG_SPACE(one fd) bytes, so the first header
    // exists and has room for one descriptor.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
    }
    // SAFETY: `msg` points to live buffers described by their lengths.
    let n = unsafe { libc::sendmsg(s.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    if n == 1 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn receive_fd(s: &UnixStream) -> io::Result<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the recvmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `msg` points to live buffers described by their lengths; received descriptors
    // are close-on-exec.
    let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: recvmsg filled `msg`; CMSG_FIRSTHDR returns null or a header inside `control`.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if n == 1
            && !cmsg.is_null()
            && (*cmsg).cmsg_level == libc::SOL_SOCKET
            && (*cmsg).cmsg_type == libc::SCM_RIGHTS
        {
            let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>());
            return Ok(OwnedFd::from_raw_fd(fd));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the sandbox init sent no proxy listener",
    ))
}

/// The sandbox with its proxy: the proxy stops accepting when the run's process is dropped.
pub struct ProxiedProcess {
    inner: Box<dyn SandboxedProcess>,
    _proxy: ProxyHandle,
}

impl ProxiedProcess {
    pub fn new(inner: Box<dyn SandboxedProcess>, proxy: ProxyHandle) -> ProxiedProcess {
        ProxiedProcess {
            inner,
            _proxy: proxy,
        }
    }
}

impl SandboxedProcess for ProxiedProcess {
    fn take_stdio(&mut self) -> ChildStdio {
        self.inner.take_stdio()
    }
    fn try_wait(&mut self) -> io::Result<Option<ExitInfo>> {
        self.inner.try_wait()
    }
    fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>> {
        self.inner.wait_timeout(d)
    }
    fn signal_tree(&mut self, sig: Interrupt) -> io::Result<()> {
        self.inner.signal_tree(sig)
    }
    fn kill_tree(&mut self) -> io::Result<()> {
        self.inner.kill_tree()
    }
    fn id(&self) -> u32 {
        self.inner.id()
    }
    fn take_signal_watch(&mut self) -> Option<SignalWatch> {
        self.inner.take_signal_watch()
    }
    fn take_denials(&mut self) -> Vec<paddock_core::Denial> {
        self.inner.take_denials()
    }
}
