//! Killing a running child from another thread (a cancelled request) without a pid race: a
//! pidfd taken while the child is unreaped names that process only, even after it is reaped
//! and its pid reused.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A handle that sends `SIGKILL` to one process.
#[derive(Debug)]
pub struct Killer(OwnedFd);

impl Killer {
    /// A killer for `pid`, which must be an unreaped child of this process (so that the pid
    /// cannot name another process yet).
    pub fn for_child(pid: u32) -> io::Result<Killer> {
        // SAFETY: pidfd_open takes a pid and flags only and returns a new descriptor.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a descriptor pidfd_open just returned; nothing else owns it.
        Ok(Killer(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
    }

    /// Sends `SIGKILL`; a process that has already exited is not an error.
    pub fn kill(&self) -> io::Result<()> {
        // SAFETY: pidfd_send_signal on a pidfd we own, with no siginfo.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        let err = io::Error::last_os_error();
        if rc == 0 || err.raw_os_error() == Some(libc::ESRCH) {
            Ok(())
        } else {
            Err(err)
        }
    }
}
