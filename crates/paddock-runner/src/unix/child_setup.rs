//! What the child does between fork and exec: only async-signal-safe calls, no allocation.
//! It marks every descriptor above 2 close-on-exec (except the ones to keep) and, on Linux,
//! asks for SIGKILL when its parent thread dies.

use std::io;
use std::os::fd::RawFd;

/// The setup, built in the parent so the child only reads it.
pub(super) struct ChildSetup {
    keep: Vec<RawFd>,
    #[cfg(target_os = "linux")]
    parent: libc::pid_t,
}

impl ChildSetup {
    pub(super) fn new(keep: &[RawFd]) -> ChildSetup {
        ChildSetup {
            keep: keep.to_vec(),
            #[cfg(target_os = "linux")]
            parent: std::process::id() as libc::pid_t,
        }
    }

    /// Runs in the child after fork.
    pub(super) fn run(&self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: prctl with integer arguments only.
            if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before PDEATHSIG was armed.
            // SAFETY: getppid has no preconditions.
            if unsafe { libc::getppid() } != self.parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
        }
        cloexec_all_above_stderr();
        for &fd in &self.keep {
            // SAFETY: fcntl on a caller-named descriptor; an invalid one fails with EBADF.
            if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

/// Sets close-on-exec on every descriptor from 3 up.
fn cloexec_all_above_stderr() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes descriptor flags.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if rc == 0 {
            return;
        }
    }
    // Kernels before 5.11, and other Unixes: one fcntl per possible descriptor.
    // SAFETY: a zeroed rlimit is a valid out-parameter.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `lim` is writable.
    let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur.min(1 << 16) as RawFd
    } else {
        1 << 16
    };
    for fd in 3..max {
        // SAFETY: fcntl on a possibly closed descriptor fails harmlessly with EBADF.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}
