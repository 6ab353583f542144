//! What the child does between fork and exec: only async-signal-safe calls, no allocation.
//! It marks every descriptor above 2 close-on-exec (except the ones to keep), on Linux asks
//! for SIGKILL when its parent thread dies, and, when asked, makes its new process group the
//! terminal's foreground group so that an interactive command can read the terminal.

use std::io;
use std::os::fd::RawFd;

/// The setup, built in the parent so the child only reads it.
pub(super) struct ChildSetup {
    keep: Vec<RawFd>,
    take_terminal: bool,
    #[cfg(target_os = "linux")]
    parent: libc::pid_t,
}

impl ChildSetup {
    pub(super) fn new(keep: &[RawFd], take_terminal: bool) -> ChildSetup {
        ChildSetup {
            keep: keep.to_vec(),
            take_terminal,
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
        if self.take_terminal {
            // Runs after std's setpgid: our group is the child's own. Best effort: a command
            // that cannot have the terminal still runs, it just cannot read it.
            // SAFETY: getpid has no preconditions.
            let _ = terminal::give_to(unsafe { libc::getpid() });
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

/// The controlling terminal on stdin, handed between Paddock's process group and the tree's.
pub(super) mod terminal {
    use std::io;

    /// True when stdin is a terminal whose foreground group is ours: an interactive run.
    pub(in crate::unix) fn is_ours() -> bool {
        // SAFETY: isatty, tcgetpgrp and getpgrp only query.
        unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() }
    }

    /// Makes `pgid` the foreground group of the terminal on stdin. SIGTTOU, which a background
    /// group gets for trying, is blocked meanwhile. Async-signal-safe.
    pub(in crate::unix) fn give_to(pgid: libc::pid_t) -> io::Result<()> {
        // SAFETY: zeroed sigsets are valid and initialised by sigemptyset/sigaddset; the masks
        // only change for this thread and are restored before returning.
        unsafe {
            let mut block: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut block);
            libc::sigaddset(&mut block, libc::SIGTTOU);
            libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
            let rc = libc::tcsetpgrp(0, pgid);
            let err = io::Error::last_os_error();
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            if rc != 0 { Err(err) } else { Ok(()) }
        }
    }
}
