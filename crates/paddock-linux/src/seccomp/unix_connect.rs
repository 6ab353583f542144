//! Unix socket `connect(2)` brokered by pid 1 when the network is off: the command may connect
//! only to sockets beneath the writable paths (the writable roots and the private tmpfs), where
//! sockets it creates live; every socket file elsewhere (a host daemon's, bound before or after
//! the run started, under any path, from any mount namespace) is refused with `EACCES`.
//! Landlock before ABI 9 cannot express this and seccomp alone cannot read the path.
//!
//! How: the command's seccomp stack has one more program that hands every `connect` to a
//! listener (`SECCOMP_RET_USER_NOTIF`). A thread of pid 1, started after Landlock and the
//! privilege drop but before pid 1's own seccomp filters (filters are per thread), serves it:
//! it copies the address from the caller's memory once, takes the caller's socket
//! (`pidfd_getfd`, the same open file description), opens the named socket file itself from the
//! caller's directory (`openat2`, no magic links), checks where that inode really is, and
//! connects the caller's socket through `/proc/thread-self/fd/N`, so that nothing the caller
//! changes after the check (its memory, a symlink) can redirect the connect. The caller gets
//! the connect's own result. Abstract and unnamed addresses are connected as given (Landlock's
//! ABI 6 scoping and the network namespace confine those).
//!
//! Denial reports: with the network off (no allow-list) every `connect` to an IPv4 or IPv6
//! address is refused here with `ENETUNREACH`, and so is a `sendto` that names one (the program
//! hands `sendto` over only when its address argument is not NULL); each refusal, and each unix
//! socket file refused, is written to the result channel for the run report (see
//! `result_channel`). With the allow-list, an IP connect Landlock refuses (any port but the
//! proxy's) is recorded too. Not seen: datagrams sent with `sendmsg`/`sendmmsg` (their address
//! sits behind a pointer the filter cannot read; they stay in the empty namespace).
//!
//! The same thread serves the write observer (`write_observer`), in every network mode: its
//! calls are looked at and always continued. The thread is also started when only the
//! observer needs it (network on); `notify_filter` builds the one program for both.

use super::write_observer::{self, WriteRules};
use crate::result_channel::Recorder;
use paddock_core::Denial;
use paddock_core::paths::is_beneath;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::mpsc;

/// The broker thread (connects and write observation), waiting for its listener.
pub struct Broker(mpsc::Sender<OwnedFd>);

/// What the broker allows and where it reports refusals.
pub struct BrokerRules {
    /// Unix socket files may be connected beneath these (the writable paths).
    pub writable: Vec<PathBuf>,
    /// The network is off without an allow-list: refuse every IP connect and addressed sendto.
    pub refuse_inet: bool,
    pub recorder: Recorder,
    /// Write attempts to observe (see `write_observer`), when its calls are handed over.
    pub writes: Option<WriteRules>,
}

impl Broker {
    /// Starts the thread that will serve the listener given to `serve` under `rules`. Start it
    /// before this thread installs its seccomp filters.
    pub fn start(rules: BrokerRules) -> io::Result<Broker> {
        let (tx, rx) = mpsc::channel::<OwnedFd>();
        std::thread::Builder::new()
            .name("paddock-broker".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut rules = rules;
                if let Ok(listener) = rx.recv() {
                    sync_wake_up(&listener);
                    serve(&listener, &mut rules);
                }
            })?;
        Ok(Broker(tx))
    }

    /// Hands the listener to the thread.
    pub fn serve(self, listener: OwnedFd) -> io::Result<()> {
        self.0
            .send(listener)
            .map_err(|_| io::Error::other("the broker thread has ended"))
    }
}

/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (not yet in libc).
const SYNC_WAKE_UP: libc::c_ulong = 1;

/// Asks the kernel (Linux 6.6+) to hand each notification to this thread with a synchronous
/// wake-up on the caller's CPU, as the caller sleeps until the answer anyway: the round trip
/// then costs a switch between two threads rather than a cross-CPU wake-up. Older kernels
/// refuse the flag and keep the ordinary wake-up.
fn sync_wake_up(listener: &OwnedFd) {
    // SAFETY: NOTIF_SET_FLAGS takes the flags as its argument value, no pointer.
    unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            SYNC_WAKE_UP,
        )
    };
}

/// The broker's answer to one call.
enum Answer {
    /// The call's result, done by the broker (0 or an errno).
    Done(Result<(), i32>),
    /// Let the kernel run the call as made.
    Continue,
}

/// Answers every notification for as long as pid 1 lives (its end ends this thread). It waits
/// in `NOTIF_RECV` itself, one call per notification: a call withdrawn by its caller (a signal,
/// the caller's end) gives `ENOENT`, and the next one is awaited.
fn serve(listener: &OwnedFd, rules: &mut BrokerRules) {
    loop {
        // SAFETY: a zeroed seccomp_notif is what NOTIF_RECV requires.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: NOTIF_RECV fills `req`.
        if unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                &mut req,
            )
        } != 0
        {
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::ENOENT | libc::EINTR) => continue,
                _ => return,
            }
        }
        let nr = i64::from(req.data.nr);
        let answer = if nr == libc::SYS_sendto {
            broker_sendto(&req, rules)
        } else if nr == libc::SYS_connect {
            Answer::Done(broker_connect(listener, &req, rules))
        } else {
            // Observation only: whatever was seen, the kernel runs the call as made and the
            // mounts and Landlock answer it.
            if let (Some(call), Some(writes)) = (write_observer::call(nr), rules.writes.as_mut()) {
                write_observer::observe(&req, call, writes, &mut rules.recorder, || {
                    still_valid(listener, req.id)
                });
            }
            Answer::Continue
        };
        let (error, flags) = match answer {
            Answer::Done(Ok(())) => (0, 0),
            Answer::Done(Err(errno)) => (-errno, 0),
            Answer::Continue => (0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32),
        };
        let resp = libc::seccomp_notif_resp {
            id: req.id,
            val: 0,
            error,
            flags,
        };
        // SAFETY: NOTIF_SEND reads `resp`; a caller that has gone away gives ENOENT, ignored.
        unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
    }
}

/// The IP address and port of an `AF_INET` or `AF_INET6` socket address, if it is one.
fn inet_address(addr: &[u8]) -> Option<(String, u16)> {
    let family = u16::from_ne_bytes([*addr.first()?, *addr.get(1)?]);
    let port = u16::from_be_bytes([*addr.get(2)?, *addr.get(3)?]);
    if family == libc::AF_INET as u16 {
        let ip: [u8; 4] = addr.get(4..8)?.try_into().ok()?;
        Some((std::net::Ipv4Addr::from(ip).to_string(), port))
    } else if family == libc::AF_INET6 as u16 {
        let ip: [u8; 16] = addr.get(8..24)?.try_into().ok()?;
        Some((std::net::Ipv6Addr::from(ip).to_string(), port))
    } else {
        None
    }
}

fn network_refused(address: String, port: u16) -> Denial {
    Denial::NetworkRefused {
        address,
        port,
        dns: port == 53,
        count: 1,
    }
}

/// Reads `len` bytes of a socket address at `addr` in the caller's memory (once). A caller
/// whose memory may not be read (not dumpable) is refused with `EACCES`.
fn read_address(pid: u32, addr: u64, len: usize, buf: &mut [u8]) -> Result<(), i32> {
    if len > buf.len() {
        return Err(libc::EINVAL);
    }
    match crate::sys::read_process_memory(pid, addr, &mut buf[..len]) {
        Ok(n) if n == len => Ok(()),
        Ok(_) => Err(libc::EFAULT),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Err(libc::EACCES),
        Err(e) => Err(errno(&e)),
    }
}

/// `sendto` with an address: an IP destination is refused and recorded when the network is
/// off; anything else runs as made (unix datagrams: as before this broker existed).
fn broker_sendto(req: &libc::seccomp_notif, rules: &mut BrokerRules) -> Answer {
    if !rules.refuse_inet {
        return Answer::Continue;
    }
    let [.., addr, len] = req.data.args;
    let mut buf = [0u8; std::mem::size_of::<libc::sockaddr_in6>()];
    let len = (len as u32 as usize).min(buf.len());
    if read_address(req.pid, addr, len, &mut buf).is_err() {
        return Answer::Continue;
    }
    match inet_address(&buf[..len]) {
        Some((address, port)) => {
            rules.recorder.record(&network_refused(address, port));
            Answer::Done(Err(libc::ENETUNREACH))
        }
        None => Answer::Continue,
    }
}

fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EACCES)
}

fn check(ret: libc::c_long) -> Result<libc::c_long, i32> {
    if ret < 0 {
        Err(errno(&io::Error::last_os_error()))
    } else {
        Ok(ret)
    }
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: `fd` is a new descriptor returned by the kernel that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

/// Whether the notification `id` still waits for an answer (its caller is alive and blocked).
fn still_valid(listener: &OwnedFd, id: u64) -> bool {
    // SAFETY: NOTIF_ID_VALID reads one u64.
    unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
            &id,
        ) == 0
    }
}

/// Performs the caller's `connect(fd, addr, len)` on its own socket, if allowed.
fn broker_connect(
    listener: &OwnedFd,
    req: &libc::seccomp_notif,
    rules: &mut BrokerRules,
) -> Result<(), i32> {
    let [fd, addr, len, ..] = req.data.args;
    let len = len as u32 as usize;
    let mut buf = [0u8; std::mem::size_of::<libc::sockaddr_un>()];
    // The caller's memory, read once: what is checked is what is connected.
    read_address(req.pid, addr, len, &mut buf)?;
    let inet = inet_address(&buf[..len]);
    if rules.refuse_inet
        && let Some((address, port)) = inet.clone()
    {
        rules.recorder.record(&network_refused(address, port));
        return Err(libc::ENETUNREACH);
    }
    // SAFETY: pidfd_open takes a pid and flags.
    let pidfd = owned(check(unsafe {
        libc::syscall(libc::SYS_pidfd_open, req.pid as libc::pid_t, 0)
    })?);
    // The pidfd names the caller only if its notification is still pending.
    if !still_valid(listener, req.id) {
        return Err(libc::EINTR);
    }
    // SAFETY: pidfd_getfd duplicates the caller's descriptor into a new one of ours.
    let sock = owned(check(unsafe {
        libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd as RawFd, 0)
    })?);
    let family = u16::from_ne_bytes([buf[0], buf[1]]);
    let path = &buf[2..len.max(2)];
    let pathname = family == libc::AF_UNIX as u16 && path.first().is_some_and(|&b| b != 0);
    if !pathname {
        let done = connect(&sock, &buf[..len]);
        // With the allow-list, Landlock refuses IP connects to any port but the proxy's.
        if done == Err(libc::EACCES)
            && let Some((address, port)) = inet
        {
            rules.recorder.record(&network_refused(address, port));
        }
        return done;
    }
    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
    let target = open_socket_file(req.pid, &path[..end])?;
    let real = std::fs::read_link(format!("/proc/thread-self/fd/{}", target.as_raw_fd()))
        .map_err(|e| errno(&e))?;
    if !rules.writable.iter().any(|w| is_beneath(&real, w)) {
        rules.recorder.record(&Denial::UnixSocketRefused {
            path: String::from_utf8_lossy(&path[..end]).into_owned(),
            count: 1,
        });
        return Err(libc::EACCES);
    }
    let via = format!("/proc/thread-self/fd/{}", target.as_raw_fd());
    let mut addr = [0u8; std::mem::size_of::<libc::sockaddr_un>()];
    addr[..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
    addr[2..2 + via.len()].copy_from_slice(via.as_bytes());
    connect(&sock, &addr[..2 + via.len() + 1])
}

/// Opens the socket file `path` as the caller `pid` names it (relative paths from its working
/// directory), without following magic links; refuses what is not a socket as the kernel does.
fn open_socket_file(pid: u32, path: &[u8]) -> Result<OwnedFd, i32> {
    let base = if path.starts_with(b"/") {
        None
    } else {
        let cwd = CString::new(format!("/proc/{pid}/cwd")).map_err(|_| libc::EINVAL)?;
        // SAFETY: open with a NUL-terminated path and flags.
        Some(owned(check(unsafe {
            libc::open(
                cwd.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        } as libc::c_long)?))
    };
    let name = CString::new(path).map_err(|_| libc::EINVAL)?;
    // SAFETY: open_how is plain data; zeroed is a valid value before it is filled.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_NO_MAGICLINKS;
    let dirfd = base.as_ref().map_or(libc::AT_FDCWD, |b| b.as_raw_fd());
    // SAFETY: openat2 reads the NUL-terminated name and one open_how of the given size.
    let fd = owned(check(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            name.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    })?);
    // SAFETY: a zeroed stat is a valid out-parameter for fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat fills `st`.
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } as libc::c_long)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(libc::ECONNREFUSED);
    }
    Ok(fd)
}

fn connect(sock: &OwnedFd, addr: &[u8]) -> Result<(), i32> {
    // SAFETY: connect reads `addr.len()` bytes of the address.
    check(unsafe {
        libc::connect(
            sock.as_raw_fd(),
            addr.as_ptr().cast::<libc::sockaddr>(),
            addr.len() as libc::socklen_t,
        )
    } as libc::c_long)
    .map(drop)
}
