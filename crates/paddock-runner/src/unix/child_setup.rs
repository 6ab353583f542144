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

/// The controlling terminal on stdin, handed between Paddock's process group and the tree's;
/// its state saved before an interactive run and put back after it; and the standard streams
/// of a run that must not reach the terminal's input.
pub mod terminal {
    use std::io;
    use std::os::fd::{FromRawFd, OwnedFd, RawFd};

    /// What an interactive command may change on the terminal and Paddock puts back: the
    /// termios modes and the status flags (`O_NONBLOCK`) of the open file description stdin
    /// shares with the command. The foreground group is given back by `give_to`.
    pub struct Saved {
        modes: libc::termios,
        flags: libc::c_int,
    }

    impl Saved {
        /// The state of the terminal on stdin now; `None` if it cannot be read.
        pub fn take() -> Option<Saved> {
            // SAFETY: a zeroed termios is a valid out-parameter; tcgetattr and fcntl(F_GETFL)
            // only query descriptor 0.
            unsafe {
                let mut modes: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(0, &mut modes) != 0 {
                    return None;
                }
                let flags = libc::fcntl(0, libc::F_GETFL);
                (flags >= 0).then_some(Saved { modes, flags })
            }
        }

        /// Puts the saved modes and flags back (call once Paddock's group has the terminal
        /// again). SIGTTOU is blocked meanwhile, as in `give_to`.
        pub fn restore(&self) -> io::Result<()> {
            // SAFETY: zeroed sigsets are initialised by sigemptyset/sigaddset; the mask changes
            // for this thread only and is restored; tcsetattr and fcntl(F_SETFL) take the
            // saved values for descriptor 0.
            unsafe {
                let mut block: libc::sigset_t = std::mem::zeroed();
                let mut old: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut block);
                libc::sigaddset(&mut block, libc::SIGTTOU);
                libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
                let modes = libc::tcsetattr(0, libc::TCSANOW, &self.modes);
                let modes_err = io::Error::last_os_error();
                let flags = libc::fcntl(0, libc::F_SETFL, self.flags);
                let flags_err = io::Error::last_os_error();
                libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
                match (modes, flags) {
                    (0, 0) => Ok(()),
                    (0, _) => Err(flags_err),
                    _ => Err(modes_err),
                }
            }
        }
    }

    /// Replacements for the standard streams of a non-interactive run that are terminals:
    /// stdin becomes `/dev/null` and stdout/stderr a new *write-only* open of the same
    /// terminal (still a terminal for `isatty`, colours and all), so that the command, in a
    /// session of its own without a controlling terminal, can neither read what the user types
    /// nor take the terminal's foreground. A terminal this process may not open again (one
    /// owned by another user, after `su`) is fed through a pipe instead, copied by a thread of
    /// this process, whose handle is returned too: join it once the tree is gone, so that the
    /// last output reaches the terminal. `None` for a stream that is not a terminal.
    pub fn detached_streams() -> io::Result<Detached> {
        let mut out = [None, None, None];
        let mut copiers = Vec::new();
        for (fd, slot) in out.iter_mut().enumerate() {
            let fd = fd as RawFd;
            // SAFETY: isatty only queries.
            if unsafe { libc::isatty(fd) } != 1 {
                continue;
            }
            let (path, mode) = if fd == 0 {
                (c"/dev/null".to_owned(), libc::O_RDONLY)
            } else {
                (
                    std::ffi::CString::new(format!("/proc/self/fd/{fd}"))
                        .map_err(io::Error::other)?,
                    libc::O_WRONLY,
                )
            };
            // SAFETY: open with a NUL-terminated path and integer flags; O_NOCTTY so that the
            // terminal never becomes Paddock's controlling terminal by this open.
            let new = unsafe { libc::open(path.as_ptr(), mode | libc::O_NOCTTY | libc::O_CLOEXEC) };
            *slot = Some(if new >= 0 {
                // SAFETY: a new descriptor that nothing else owns.
                unsafe { OwnedFd::from_raw_fd(new) }
            } else if fd == 0 {
                return Err(io::Error::last_os_error());
            } else {
                let (writer, copier) = forwarded_to(fd)?;
                copiers.push(copier);
                writer
            });
        }
        Ok(Detached {
            streams: out,
            copiers,
        })
    }

    /// What `detached_streams` made: the replacement streams and the threads copying any pipe.
    pub struct Detached {
        pub streams: [Option<OwnedFd>; 3],
        pub copiers: Vec<std::thread::JoinHandle<()>>,
    }

    /// The write end of a pipe whose bytes a thread copies to `fd` until every writer is gone,
    /// and that thread.
    fn forwarded_to(fd: RawFd) -> io::Result<(OwnedFd, std::thread::JoinHandle<()>)> {
        let (mut reader, writer) = std::io::pipe()?;
        // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor of ours into a new one.
        let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if copy < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new descriptor that nothing else owns.
        let mut terminal = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(copy) });
        let copier = std::thread::Builder::new()
            .name("paddock-terminal-copy".into())
            .spawn(move || {
                let _ = std::io::copy(&mut reader, &mut terminal);
            })?;
        Ok((writer.into(), copier))
    }

    /// True when stdin is a terminal whose foreground group is ours: an interactive run.
    pub fn is_ours() -> bool {
        // SAFETY: isatty, tcgetpgrp and getpgrp only query.
        unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() }
    }

    /// Makes `pgid` the foreground group of the terminal on stdin. SIGTTOU, which a background
    /// group gets for trying, is blocked meanwhile. Async-signal-safe.
    pub fn give_to(pgid: libc::pid_t) -> io::Result<()> {
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
