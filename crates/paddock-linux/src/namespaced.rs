//! Spawning straight into new namespaces: `clone` with `CLONE_VM | CLONE_VFORK` (no copy of
//! this process's page tables, as `posix_spawn` does) creates the child in a new user namespace
//! (and whichever others the caller names) with a pidfd; the child maps the caller's uid and
//! gid in it and executes the program while this thread waits. Between clone and exec the
//! child makes plain syscalls only, on data prepared here, with every signal blocked until it
//! has reset their handlers: no allocation, no lock, no handler of this process. The tree's
//! lifetime (terminal, exit watch, group kill) uses the runner's generic parts.
//! A single-threaded caller may instead have the child run a function of this program in a
//! fork-like copy of itself (`clone3` without `CLONE_VM`), which saves the `execve` and the
//! start-up of a new program: see [`NamespacedCommand::run_here`].

use crate::sys::pipe;
use paddock_runner::unix::lifetime::{self as tree, ExitWatch, terminal};
use paddock_runner::{ChildStdio, ExitInfo, Interrupt, SandboxedProcess, SignalWatch, StdioMode};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

/// What to start and in which namespaces.
pub struct NamespacedCommand<'a> {
    /// The program, executed as is (no PATH search).
    pub program: &'a CStr,
    /// argv, program name included.
    pub argv: &'a [CString],
    /// The complete environment.
    pub envp: &'a [CString],
    /// `CLONE_NEW*` flags; `CLONE_NEWUSER` is always added.
    pub namespaces: u64,
    /// Descriptors the program inherits besides stdio; every other one above 2 is closed at exec.
    pub keep: &'a [RawFd],
    /// Instead of executing `program`, run this in the child when this process is
    /// single-threaded (otherwise `program` is executed as usual, so the two must do the same).
    /// The child is then a copy of this process (`clone3` without `CLONE_VM`, like `fork`) with
    /// stdio in place, a session or group of its own, the death signal armed, its uid and gid
    /// mapped (written by this process before the spawn returns, so before anything it reads
    /// from a pipe this process writes later), every signal at its default disposition but
    /// SIGPIPE ignored (as a Rust program starts) and none blocked. Every other inherited
    /// descriptor is still open: the function must close what it does not keep and should end
    /// with `_exit` (if it returns, the child exits with 125; it never returns into this
    /// process's frames).
    pub run_here: Option<&'a dyn Fn()>,
}

/// Why the namespaced child could not be started.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceSpawnError {
    /// `clone` refused the namespaces (user namespaces disabled or restricted).
    #[error("clone into new namespaces failed: {0}")]
    Clone(#[source] io::Error),
    /// The child could not write its own id maps.
    #[error("writing {file} of the sandbox's user namespace failed: {source}")]
    MapIds {
        file: &'static str,
        #[source]
        source: io::Error,
    },
    /// Creating pipes, opening /dev/null, the signal handlers or the child's own set-up before
    /// `execve` failed (an `execve` failure included).
    #[error("preparing the spawn failed ({call}): {source}")]
    Prepare {
        call: &'static str,
        #[source]
        source: io::Error,
    },
}

/// Starts `cmd` in a new user namespace plus `cmd.namespaces`, as the first process of a new
/// process group (and session, unless interactive), with its uid and gid mapped to this process's own and setgroups denied; the
/// child gets `PR_SET_PDEATHSIG = SIGKILL` (it dies when the calling *thread* exits) and every
/// capability of its namespace as ambient, so that it keeps them across `execve` even for a
/// non-root caller. Stdio per `stdio`. With `Inherit` and a terminal in our foreground (an
/// interactive run), the child's group gets the terminal, and its modes, `O_NONBLOCK` and
/// foreground group are put back when the tree is gone. Otherwise the child starts a session of
/// its own, without a controlling terminal (`/dev/tty` gives `ENXIO`), and a standard stream
/// that is a terminal is replaced (stdin by `/dev/null`, stdout and stderr by a write-only open
/// of the terminal), so the command cannot read what the user types. The caller contains the tree: `kill_tree` kills the group
/// and the first process, which must be the init of a new pid namespace (`CLONE_NEWPID`) or
/// otherwise take every process of the tree with it.
pub fn spawn_in_namespaces(
    cmd: &NamespacedCommand<'_>,
    stdio: StdioMode,
) -> Result<Spawned, NamespaceSpawnError> {
    let prepare = |call| move |source| NamespaceSpawnError::Prepare { call, source };
    let interactive = stdio == StdioMode::Inherit && terminal::is_ours();
    // Not interactive: the child starts a session of its own, without a controlling terminal,
    // and gets no readable descriptor of a terminal (see `terminal::detached_streams`).
    let mut detached = [None, None, None];
    let mut copiers = Vec::new();
    let (stdin, stdout, stderr) = match stdio {
        StdioMode::Inherit => {
            if !interactive {
                let made = terminal::detached_streams().map_err(prepare("reopen the terminal"))?;
                (detached, copiers) = (made.streams, made.copiers);
            }
            (None, None, None)
        }
        StdioMode::Capture => {
            let null = File::open("/dev/null").map_err(prepare("open /dev/null"))?;
            let out = pipe().map_err(prepare("pipe"))?;
            let err = pipe().map_err(prepare("pipe"))?;
            (Some(OwnedFd::from(null)), Some(out), Some(err))
        }
    };
    let saved_terminal = if interactive {
        terminal::Saved::take()
    } else {
        None
    };
    let mut argv: Vec<*const libc::c_char> = cmd.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = cmd.envp.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: getuid and getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let (uid_map, gid_map) = (format!("{uid} {uid} 1\n"), format!("{gid} {gid} 1\n"));
    let child = ChildPlan {
        program: cmd.program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        keep: cmd.keep,
        maps: [
            (c"/proc/self/setgroups", b"deny".as_slice()),
            (c"/proc/self/uid_map", uid_map.as_bytes()),
            (c"/proc/self/gid_map", gid_map.as_bytes()),
        ],
        stdio: [
            stdin
                .as_ref()
                .or(detached[0].as_ref())
                .map(|f| f.as_raw_fd()),
            stdout
                .as_ref()
                .map(|(_, w)| w)
                .or(detached[1].as_ref())
                .map(|f| f.as_raw_fd()),
            stderr
                .as_ref()
                .map(|(_, w)| w)
                .or(detached[2].as_ref())
                .map(|f| f.as_raw_fd()),
        ],
        new_session: !interactive,
        failed: std::sync::atomic::AtomicI64::new(0),
    };
    tree::become_subreaper().map_err(prepare("prctl(PR_SET_CHILD_SUBREAPER)"))?;
    let signals = SignalWatch::install().map_err(prepare("sigaction"))?;

    if let Some(entry) = cmd.run_here.filter(|_| single_threaded()) {
        let (pid, pidfd) = fork_into(cmd.namespaces, &child, entry)?;
        drop((stdin, detached));
        let mut process = NamespacedProcess::started(pid, pidfd, stdout, stderr, copiers, signals);
        // Dropping `process` on an error kills and reaps the child.
        for (file, (_, text)) in MAP_FILES.into_iter().zip(child.maps) {
            std::fs::write(format!("/proc/{pid}/{file}"), text)
                .map_err(|source| NamespaceSpawnError::MapIds { file, source })?;
        }
        if interactive {
            process.terminal = terminal::give_to(pid).is_ok().then_some(saved_terminal);
        }
        return Ok(Spawned {
            process,
            ran_here: true,
        });
    }

    let mut pidfd: libc::c_int = -1;
    let flags =
        cmd.namespaces as libc::c_int | libc::CLONE_NEWUSER | libc::CLONE_PIDFD | libc::SIGCHLD;
    // SAFETY: the child runs `child_entry` with `child` as its argument and makes only raw
    // syscalls before execve or _exit; the pidfd is stored in `pidfd` (the parent_tid argument).
    let pid = unsafe {
        crate::sys::clone_vfork(
            child_entry,
            &child as *const ChildPlan as *mut libc::c_void,
            flags,
            CHILD_STACK,
            &mut pidfd,
        )
    }
    .map_err(NamespaceSpawnError::Clone)?;
    drop((stdin, detached));
    // SAFETY: clone stored a new pidfd that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    let mut process = NamespacedProcess::started(pid, pidfd, stdout, stderr, copiers, signals);
    let failed = child.failed.load(std::sync::atomic::Ordering::SeqCst);
    if failed != 0 {
        // Dropping `process` reaps the child, which has exited.
        let (step, errno) = ((failed >> 32) as usize, failed as i32);
        let source = io::Error::from_raw_os_error(errno);
        return Err(match step {
            1..=3 => NamespaceSpawnError::MapIds {
                file: MAP_FILES[step - 1],
                source,
            },
            _ => NamespaceSpawnError::Prepare {
                call: "child set-up before execve",
                source,
            },
        });
    }
    if interactive {
        // Best effort: a command that cannot have the terminal still runs. The saved state
        // (modes, flags) is put back with the foreground once the tree is gone.
        process.terminal = terminal::give_to(pid).is_ok().then_some(saved_terminal);
    }
    Ok(Spawned {
        process,
        ran_here: false,
    })
}

/// What `spawn_in_namespaces` started.
pub struct Spawned {
    pub process: Box<dyn SandboxedProcess>,
    /// `run_here` ran in the child (this process was single-threaded): the child is a copy of
    /// this process made by the clone, with its memory as it was then, not a new program.
    pub ran_here: bool,
}

/// The id-map files of `ChildPlan::maps`, in order.
const MAP_FILES: [&str; 3] = ["setgroups", "uid_map", "gid_map"];

/// The child's stack while it shares this process's memory (it only makes system calls).
const CHILD_STACK: usize = 64 * 1024;

/// Whether this process has a single thread (`/proc/self/task` links `.`, `..` and one
/// directory per thread); false when that cannot be told.
fn single_threaded() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/task").is_ok_and(|m| m.nlink() == 3)
}

/// `struct clone_args` of `clone3(2)` (the fields up to `tls`, `CLONE_ARGS_SIZE_VER0`).
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
}

/// Starts a fork-like copy of this (single-threaded) process in new namespaces, which sets
/// itself up as `NamespacedCommand::run_here` says and runs `entry`; returns its pid and pidfd.
/// The id maps are left to the caller (the child cannot report a failure through memory).
fn fork_into(
    namespaces: u64,
    plan: &ChildPlan<'_>,
    entry: &dyn Fn(),
) -> Result<(libc::pid_t, OwnedFd), NamespaceSpawnError> {
    // This process, for the child to check it is still alive once its death signal is armed:
    // unlike a vfork child, it runs while this thread goes on, which may end first. Without
    // pidfd_open (before Linux 5.3) the check is skipped.
    // SAFETY: pidfd_open on our own pid; the descriptor is owned below.
    let me = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    // SAFETY: a new descriptor that nothing else owns.
    let me = (me >= 0).then(|| unsafe { OwnedFd::from_raw_fd(me as RawFd) });
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: namespaces | libc::CLONE_NEWUSER as u64 | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
    };
    // SAFETY: every signal is blocked around the clone (restored below in the parent, reset
    // by the child), so that no handler of this process runs in the child before it resets
    // them. Without CLONE_VM and with no stack given, clone3 returns twice like fork: the child
    // runs on its own copy of this thread's stack and memory, and never returns from here.
    let (pid, clone_error) = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        );
        if pid == 0 {
            plan.become_forked_child(me.as_ref().map(|f| f.as_raw_fd()), entry)
        }
        let clone_error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        (pid, clone_error)
    };
    if pid < 0 {
        return Err(NamespaceSpawnError::Clone(clone_error));
    }
    // SAFETY: clone3 stored a new pidfd that nothing else owns.
    Ok((pid as libc::pid_t, unsafe { OwnedFd::from_raw_fd(pidfd) }))
}

extern "C" fn child_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildPlan` the parent passed to clone, alive while it waits.
    let plan = unsafe { &*(arg as *const ChildPlan) };
    plan.run()
}

/// Everything the child needs, as raw values prepared by the parent.
struct ChildPlan<'a> {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    keep: &'a [RawFd],
    /// setgroups, uid_map and gid_map of the child's own user namespace, and what to write.
    maps: [(&'a CStr, &'a [u8]); 3],
    stdio: [Option<RawFd>; 3],
    /// Start a new session (no controlling terminal) rather than only a new process group.
    new_session: bool,
    /// Set by the child before it exits on a failure: step << 32 | errno (steps 1-3: the maps).
    failed: std::sync::atomic::AtomicI64,
}

/// Exit code of a child whose set-up failed before exec.
const CHILD_SETUP_FAILED: libc::c_int = 125;

impl ChildPlan<'_> {
    /// Runs in the cloned child; only raw syscalls, then execve or _exit.
    fn run(&self) -> ! {
        // SAFETY: every call below is a plain syscall wrapper on integers or on memory the
        // parent prepared before clone, which stays valid while the parent waits (vfork).
        unsafe {
            if self.new_session {
                libc::setsid();
            } else {
                libc::setpgid(0, 0);
            }
            // The parent waits (vfork) until execve; if it is killed meanwhile, the init gets
            // no plan and runs nothing.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                self.fail(0);
            }
            for (step, (path, text)) in self.maps.iter().enumerate() {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0
                    || libc::write(fd, text.as_ptr().cast(), text.len()) != text.len() as isize
                {
                    self.fail(step as i64 + 1);
                }
                libc::close(fd);
            }
            if !raise_ambient_capabilities() {
                self.fail(4);
            }
            // Default signal handling and an empty mask for the program (this process may
            // ignore SIGPIPE and run handlers that execve would not reset when ignored).
            for sig in 1..libc::SIGRTMIN() {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            for (target, fd) in self.stdio.iter().enumerate() {
                if let Some(fd) = fd
                    && libc::dup2(*fd, target as libc::c_int) < 0
                {
                    self.fail(5);
                }
            }
            if libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            ) != 0
            {
                self.fail(6);
            }
            for &fd in self.keep {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    self.fail(7);
                }
            }
            libc::execve(self.program, self.argv, self.envp);
            self.fail(8)
        }
    }

    /// The fork-like child (`fork_into`): process group or session, death signal (and this
    /// process's parent still alive, through its pidfd `parent`), signals, stdio, then `entry`.
    /// The id maps are written by the parent. Exits with 125 on a failure.
    fn become_forked_child(&self, parent: Option<RawFd>, entry: &dyn Fn()) -> ! {
        // SAFETY: plain syscall wrappers on integers and on this process's own copy of memory;
        // _exit never returns.
        unsafe {
            if self.new_session {
                libc::setsid();
            } else {
                libc::setpgid(0, 0);
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                libc::_exit(CHILD_SETUP_FAILED);
            }
            if let Some(fd) = parent {
                // Readable once the parent has exited: then nothing would kill this child.
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                if libc::poll(&mut p, 1, 0) != 0 {
                    libc::_exit(CHILD_SETUP_FAILED);
                }
                libc::close(fd);
            }
            for sig in 1..libc::SIGRTMIN() {
                if sig == libc::SIGPIPE {
                    libc::signal(sig, libc::SIG_IGN);
                } else if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            for (target, fd) in self.stdio.iter().enumerate() {
                if let Some(fd) = fd
                    && libc::dup2(*fd, target as libc::c_int) < 0
                {
                    libc::_exit(CHILD_SETUP_FAILED);
                }
            }
        }
        // A panic must not unwind into the frames copied from this process (which would go on
        // as a second supervisor): it ends the child like a failed set-up.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(entry));
        // SAFETY: _exit never returns.
        unsafe { libc::_exit(CHILD_SETUP_FAILED) }
    }

    /// Records the failed step and errno for the parent and exits.
    fn fail(&self, step: i64) -> ! {
        // SAFETY: __errno_location returns this thread's errno; _exit never returns.
        unsafe {
            let errno = *libc::__errno_location();
            self.failed.store(
                step << 32 | i64::from(errno as u32),
                std::sync::atomic::Ordering::SeqCst,
            );
            libc::_exit(CHILD_SETUP_FAILED)
        }
    }
}

/// Makes every permitted capability inheritable and ambient, so that `execve` by a non-root uid
/// keeps them. Raw syscalls only; false on failure.
fn raise_ambient_capabilities() -> bool {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capget/capset with a version-3 header and two data structs, as the kernel expects.
    unsafe {
        if libc::syscall(
            libc::SYS_capget,
            &mut header as *mut Header,
            data.as_mut_ptr(),
        ) != 0
        {
            return false;
        }
        for d in &mut data {
            d.inheritable = d.permitted;
        }
        if libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) != 0 {
            return false;
        }
        for cap in 0..64 {
            let held = data[cap / 32].permitted & (1 << (cap % 32)) != 0;
            if held
                && libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE,
                    cap as libc::c_ulong,
                    0,
                    0,
                ) != 0
            {
                return false;
            }
        }
    }
    true
}

/// A tree started by `spawn_in_namespaces`.
struct NamespacedProcess {
    /// The first process's pid (in our pid namespace), also the tree's process-group id.
    pid: libc::pid_t,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    /// The first process's status once it has exited (it stays unreaped until `kill_tree`).
    exited: Option<ExitInfo>,
    reaped: bool,
    /// The tree holds the terminal's foreground: give it back once the tree is gone, with the
    /// modes and flags saved before the run (when they could be read).
    terminal: Option<Option<terminal::Saved>>,
    /// Threads copying the command's output to a terminal it could not be given directly;
    /// joined once the tree is gone (every writer closed), so no output is lost.
    copiers: Vec<std::thread::JoinHandle<()>>,
    watch: ExitWatch,
    signals: Option<SignalWatch>,
}

impl NamespacedProcess {
    /// The handle of a first process just started (forked or executed), with the read ends of
    /// its captured output; nothing about it is known yet.
    fn started(
        pid: libc::pid_t,
        pidfd: OwnedFd,
        stdout: Option<(OwnedFd, OwnedFd)>,
        stderr: Option<(OwnedFd, OwnedFd)>,
        copiers: Vec<std::thread::JoinHandle<()>>,
        signals: SignalWatch,
    ) -> Box<Self> {
        Box::new(NamespacedProcess {
            pid,
            stdout: stdout.map(|(r, _)| r),
            stderr: stderr.map(|(r, _)| r),
            exited: None,
            reaped: false,
            terminal: None,
            copiers,
            watch: ExitWatch::from_pidfd(pidfd),
            signals: Some(signals),
        })
    }
}

impl SandboxedProcess for NamespacedProcess {
    fn take_stdio(&mut self) -> ChildStdio {
        ChildStdio::pipes(self.stdout.take(), self.stderr.take())
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitInfo>> {
        if self.exited.is_none() {
            self.exited = tree::peek_exit(self.pid)?;
        }
        Ok(self.exited)
    }

    fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>> {
        let deadline = Instant::now() + d;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.watch.wait(left)?;
        }
    }

    fn take_signal_watch(&mut self) -> Option<SignalWatch> {
        self.signals.take()
    }

    fn signal_tree(&mut self, sig: Interrupt) -> io::Result<()> {
        if self.reaped {
            return Ok(());
        }
        let signo = match sig {
            Interrupt::Interrupt => libc::SIGINT,
            Interrupt::Terminate => libc::SIGTERM,
            Interrupt::Hangup => libc::SIGHUP,
        };
        tree::signal_group(self.pid, signo)
    }

    fn kill_tree(&mut self) -> io::Result<()> {
        if self.reaped {
            return Ok(());
        }
        tree::kill_group_and_leader(self.pid);
        let mut status = 0;
        loop {
            // SAFETY: waits for our own unreaped child; `status` is writable.
            if unsafe { libc::waitpid(self.pid, &mut status, 0) } == self.pid {
                break;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        self.reaped = true;
        self.exited
            .get_or_insert(std::process::ExitStatus::from_raw(status).into());
        tree::await_empty_group(self.pid)?;
        for copier in self.copiers.drain(..) {
            let _ = copier.join();
        }
        if let Some(saved) = self.terminal.take() {
            // SAFETY: getpgrp has no preconditions.
            terminal::give_to(unsafe { libc::getpgrp() })?;
            if let Some(saved) = saved {
                saved.restore()?;
            }
        }
        Ok(())
    }

    fn id(&self) -> u32 {
        self.pid as u32
    }
}

impl Drop for NamespacedProcess {
    fn drop(&mut self) {
        let _ = self.kill_tree();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_runner::{Outcome, RunOptions, run};

    fn capture() -> RunOptions {
        RunOptions {
            stdio: StdioMode::Capture,
            ..RunOptions::default()
        }
    }

    fn tag(name: &str) -> String {
        format!("{name}-{}", std::process::id())
    }

    /// Pids of live processes whose environment holds `PADDOCK_TEST_TAG=tag`.
    fn tagged_alive(tag: &str) -> Vec<String> {
        let want = format!("PADDOCK_TEST_TAG={tag}").into_bytes();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
                let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let zombie = stat.rsplit(')').next()?.trim_start().starts_with('Z');
                (!zombie && env.split(|b| *b == 0).any(|v| v == want)).then(|| pid.to_string())
            })
            .collect()
    }

    /// Runs `sh -c script` as pid 1 of a new pid namespace (inside a new user namespace).
    fn sh_in_namespaces(script: &str, tag: &str, keep: &[RawFd], opts: &RunOptions) -> Outcome {
        let argv = ["sh", "-c", script].map(|a| CString::new(a).unwrap());
        let envp = [
            format!("PADDOCK_TEST_TAG={tag}"),
            "PATH=/usr/bin:/bin".to_string(),
        ]
        .map(|e| CString::new(e).unwrap());
        let cmd = NamespacedCommand {
            program: c"/bin/sh",
            argv: &argv,
            envp: &envp,
            namespaces: libc::CLONE_NEWPID as u64,
            keep,
            run_here: None,
        };
        run(spawn_in_namespaces(&cmd, opts.stdio).unwrap().process, opts).unwrap()
    }

    #[test]
    fn a_namespaced_tree_whose_init_exits_leaves_no_process_running() {
        let t = tag("ns-exit");
        let out = sh_in_namespaces("sleep 300 & sleep 300 & exit 3", &t, &[], &capture());
        assert_eq!(out.status, ExitInfo::Code(3));
        assert_eq!(tagged_alive(&t), Vec::<String>::new());
    }

    #[test]
    fn a_namespaced_tree_is_killed_at_the_timeout() {
        let t = tag("ns-timeout");
        let opts = RunOptions {
            timeout: Some(Duration::from_millis(300)),
            ..capture()
        };
        let out = sh_in_namespaces("trap '' TERM INT; sleep 300 & sleep 300", &t, &[], &opts);
        assert!(out.timed_out);
        assert_eq!(tagged_alive(&t), Vec::<String>::new());
    }

    /// A daemon that leaves the process group (setsid) is still in the pid namespace, which
    /// dies with its init: nothing needs to search for it.
    #[test]
    fn a_daemon_that_left_the_group_dies_with_the_namespaces_init() {
        let t = tag("ns-escape");
        let out = sh_in_namespaces("setsid sleep 300 & sleep 0.2; exit 0", &t, &[], &capture());
        assert_eq!(out.status, ExitInfo::Code(0));
        assert_eq!(tagged_alive(&t), Vec::<String>::new());
    }

    #[test]
    fn the_namespaced_child_runs_as_the_callers_uid_with_its_capabilities_kept() {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let out = sh_in_namespaces(
            "id -u; grep -E '^Cap(Eff|Amb)' /proc/self/status",
            &tag("ns-ids"),
            &[],
            &capture(),
        );
        let text = String::from_utf8(out.stdout.data).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(uid.to_string().as_str()), "{text}");
        for line in lines {
            let caps = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
            assert_ne!(caps, 0, "{text}");
        }
    }

    /// A close-on-exec duplicate of /dev/null numbered at least `min`, or without
    /// close-on-exec when `leaky` (as careless code elsewhere in a process might open it).
    fn dev_null_at(min: RawFd, leaky: bool) -> OwnedFd {
        let null = File::open("/dev/null").unwrap();
        let cmd = if leaky {
            libc::F_DUPFD
        } else {
            libc::F_DUPFD_CLOEXEC
        };
        // SAFETY: fcntl duplicates a descriptor we own.
        let fd = unsafe { libc::fcntl(null.as_raw_fd(), cmd, min) };
        assert!(fd >= min);
        // SAFETY: a new descriptor that nothing else owns.
        unsafe { OwnedFd::from_raw_fd(fd) }
    }

    #[test]
    fn a_namespaced_spawn_hands_over_only_the_kept_descriptor() {
        let kept = dev_null_at(200, false);
        let other = dev_null_at(300, true);
        let (k, o) = (kept.as_raw_fd(), other.as_raw_fd());
        let script = format!(
            "[ -e /proc/self/fd/{k} ] && echo kept; [ -e /proc/self/fd/{o} ] && echo leaked; true"
        );
        let out = sh_in_namespaces(&script, &tag("ns-fds"), &[k], &capture());
        assert_eq!(String::from_utf8(out.stdout.data).unwrap(), "kept\n");
        // SAFETY: F_GETFD only queries a descriptor we own.
        assert_eq!(unsafe { libc::fcntl(k, libc::F_GETFD) }, libc::FD_CLOEXEC);
    }
}
