//! Seeing a child's exit the moment it happens: on Linux a pidfd, polled with the caller's
//! timeout, wakes as soon as the process exits. Where there is no pidfd (kernels before 5.3,
//! other Unixes) the caller polls with short sleeps instead.

use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// How the exit of one child is watched.
pub enum ExitWatch {
    /// A pidfd: readable once the process has exited.
    #[cfg(target_os = "linux")]
    Pidfd(OwnedFd),
    /// No pidfd: the caller sleeps and checks.
    Polling,
}

impl ExitWatch {
    /// A watch on `pid`, which must be an unreaped child of this process (so that the pid cannot
    /// name another process). Falls back to polling only when `pidfd_open` does not exist:
    /// `ENOSYS` (kernels before 5.3) or `EPERM` (a container's seccomp profile that predates
    /// the call answers so); any other failure is an error.
    pub(super) fn new(pid: libc::pid_t) -> io::Result<ExitWatch> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: pidfd_open takes a pid and flags only and returns a new descriptor.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            if fd >= 0 {
                // SAFETY: `fd` is a descriptor pidfd_open just returned; nothing else owns it.
                return Ok(ExitWatch::Pidfd(unsafe { OwnedFd::from_raw_fd(fd as i32) }));
            }
            let err = io::Error::last_os_error();
            if !matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) {
                return Err(err);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = pid;
        Ok(ExitWatch::Polling)
    }

    /// A watch on a pidfd the caller already holds (from `clone3` with `CLONE_PIDFD`).
    #[cfg(target_os = "linux")]
    pub fn from_pidfd(fd: OwnedFd) -> ExitWatch {
        ExitWatch::Pidfd(fd)
    }

    /// Blocks until the process exits or `d` has passed (or a signal interrupts the wait) and
    /// returns true; returns false at once when the caller has to poll.
    pub fn wait(&self, d: Duration) -> io::Result<bool> {
        match self {
            #[cfg(target_os = "linux")]
            ExitWatch::Pidfd(fd) => wait_readable(fd.as_fd(), d).map(|()| true),
            ExitWatch::Polling => Ok(false),
        }
    }
}

/// Blocks until `fd` is readable (data, end of file, a pidfd's exit) or `d` has passed; a
/// signal that interrupts the wait ends it too.
#[cfg(target_os = "linux")]
pub fn wait_readable(fd: BorrowedFd<'_>, d: Duration) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // Round up, so that a sub-millisecond wait does not spin.
    let ms = d.as_micros().div_ceil(1000).min(libc::c_int::MAX as u128) as libc::c_int;
    // SAFETY: `pfd` is one valid pollfd that lives across the call.
    if unsafe { libc::poll(&mut pfd, 1, ms) } < 0 {
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(())
}
