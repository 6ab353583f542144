//! The plain Unix spawn: a `std::process::Command` started in a new process group, with every
//! descriptor but stdio (and any the caller asks to keep) closed at exec, and on Linux a
//! parent-death signal and a child-subreaper Paddock so that escaped grandchildren can be found
//! and killed (see `tree`). A backend whose tree dies with its first process (the Linux
//! backend's pid namespace, spawned by paddock-linux) builds its own `SandboxedProcess` from the
//! process-lifetime parts in [`lifetime`] and skips that search.

mod child_setup;
mod exit_watch;
#[cfg(target_os = "linux")]
mod tree;

use crate::{ChildStdio, ExitInfo, Interrupt, SandboxedProcess, StdioMode};
use child_setup::terminal;
use exit_watch::ExitWatch;
#[cfg(target_os = "linux")]
use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The generic process-lifetime parts a backend that spawns its own tree calls: the terminal's
/// foreground and modes, exit watching by pidfd, killing a process group with its leader and
/// waiting for the group to empty, and this process as child subreaper. They carry no policy.
#[cfg(target_os = "linux")]
pub mod lifetime {
    pub use super::child_setup::terminal;
    pub use super::exit_watch::{ExitWatch, wait_readable};
    pub use super::peek_exit;
    pub use super::tree::{
        await_empty_group, become_subreaper, kill_group_and_leader, signal_group,
    };
}
pub use tree::MARKER_VAR;

/// Starts `cmd` as the first process of a new tree. See [`spawn_keeping_fds`].
pub fn spawn(cmd: Command, stdio: StdioMode) -> io::Result<Box<dyn SandboxedProcess>> {
    spawn_keeping_fds(cmd, stdio, &[])
}

/// Starts `cmd` without any sandbox (full-access): its program, arguments, directory and
/// (already filtered) environment, and nothing inherited from this process's environment.
pub fn spawn_unconfined(
    cmd: &paddock_core::spec::CommandSpec,
    stdio: StdioMode,
) -> io::Result<Box<dyn SandboxedProcess>> {
    let mut c = Command::new(&cmd.program);
    c.args(&cmd.args)
        .current_dir(&cmd.cwd)
        .env_clear()
        .envs(cmd.env.iter().cloned());
    spawn(c, stdio)
}

/// Starts `cmd` like [`spawn_keeping_fds`], for a tree whose containment is the caller's: the
/// caller guarantees that once the first process and its process group are killed, no process
/// of the tree can run any more. The Linux backend qualifies: its first process is outside a
/// new pid namespace whose init is its child, in its process group and with
/// `PR_SET_PDEATHSIG = SIGKILL`, and the kernel kills every process of a pid namespace when its
/// init dies.
///
/// Starts `cmd` as the first process of a new tree:
/// - stdio per `stdio` (with `Capture`, stdin is `/dev/null` and stdout/stderr are pipes);
/// - in a new process group whose id is the child's pid (this replaces any `process_group` the
///   caller set);
/// - every descriptor above 2 is closed at exec except those in `keep` (for a backend that
///   hands its helper a setup pipe); descriptors without close-on-exec elsewhere in this
///   process do not leak;
/// - with [`MARKER_VAR`] set to a value unique to this tree, by which `kill_tree` recognises
///   descendants that escaped the process group and were reparented to this process;
/// - on Linux, with `PR_SET_PDEATHSIG = SIGKILL`: the first process dies if the *thread* that
///   called `spawn` exits, so call it from a thread that outlives the run; and this process
///   becomes a child subreaper (`PR_SET_CHILD_SUBREAPER`) for the rest of its life, so orphans
///   of the tree are reparented here instead of to init;
/// - with `Inherit` and stdin a terminal in our foreground, the tree's group becomes the
///   terminal's foreground group (an interactive command can read it, and Ctrl-C typed there
///   reaches the tree directly); `kill_tree` gives the terminal back. Job control (Ctrl-Z) is
///   not handled: a stopped tree stays stopped until the timeout or a signal ends it.
///
/// Caller's `pre_exec` hooks run before Paddock's own.
pub fn spawn_keeping_fds(
    cmd: Command,
    stdio: StdioMode,
    keep: &[RawFd],
) -> io::Result<Box<dyn SandboxedProcess>> {
    start(cmd, stdio, keep)
}

fn start(
    mut cmd: Command,
    stdio: StdioMode,
    keep: &[RawFd],
) -> io::Result<Box<dyn SandboxedProcess>> {
    match stdio {
        StdioMode::Inherit => {
            cmd.stdin(Stdio::inherit())
                .stdout(Stdio::inherit())
                .stderr(Stdio::inherit());
        }
        StdioMode::Capture => {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        }
    }
    cmd.process_group(0);
    let marker = tree::new_marker();
    cmd.env(MARKER_VAR, &marker);
    tree::become_subreaper()?;
    // Before the spawn: a signal from here on is forwarded by `run` rather than ending Paddock
    // with the tree still starting.
    let signals = crate::SignalWatch::install()?;
    let terminal = stdio == StdioMode::Inherit && terminal::is_ours();
    let setup = child_setup::ChildSetup::new(keep, terminal);
    // SAFETY: `ChildSetup::run` makes only async-signal-safe calls (prctl, getppid, getpid,
    // pthread_sigmask, tcsetpgrp, fcntl, syscall) and does not allocate, as required between
    // fork and exec.
    unsafe { cmd.pre_exec(move || setup.run()) };
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            if terminal {
                // The child may have taken the terminal before its exec failed.
                // SAFETY: getpgrp has no preconditions.
                let _ = terminal::give_to(unsafe { libc::getpgrp() });
            }
            return Err(e);
        }
    };
    let pid = child.id() as libc::pid_t;
    let mut process = Box::new(UnixProcess {
        child,
        pid,
        marker,
        exited: None,
        reaped: false,
        terminal,
        watch: ExitWatch::Polling,
        signals: Some(signals),
    });
    // The child stays unreaped until kill_tree, so the pid cannot name another process here.
    process.watch = ExitWatch::new(pid)?;
    Ok(process)
}

/// A tree started by `spawn`.
struct UnixProcess {
    child: Child,
    /// The first process's pid, which is also the tree's process-group id.
    pid: libc::pid_t,
    /// The tree's marker variable (see `tree`).
    marker: String,
    /// The first process's status once it has exited (it stays unreaped until `kill_tree`, so
    /// that its pid, the group id, cannot be reused while the tree is being killed).
    exited: Option<ExitInfo>,
    reaped: bool,
    /// The tree holds the terminal's foreground; give it back once the tree is gone.
    terminal: bool,
    /// How `wait_timeout` learns that the first process has exited.
    watch: ExitWatch,
    /// The handlers installed before the spawn, until `run` takes them.
    signals: Option<crate::SignalWatch>,
}

impl SandboxedProcess for UnixProcess {
    fn take_stdio(&mut self) -> ChildStdio {
        ChildStdio::pipes(
            self.child.stdout.take().map(Into::into),
            self.child.stderr.take().map(Into::into),
        )
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitInfo>> {
        if self.exited.is_none() {
            self.exited = self.peek_exit()?;
        }
        Ok(self.exited)
    }

    fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>> {
        let deadline = Instant::now() + d;
        let mut nap = Duration::from_millis(1);
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            if !self.watch.wait(left)? {
                std::thread::sleep(nap.min(left));
                nap = (nap * 2).min(Duration::from_millis(10));
            }
        }
    }

    fn take_signal_watch(&mut self) -> Option<crate::SignalWatch> {
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
        tree::kill(self.pid, &self.marker)?;
        let status = self.child.wait()?;
        self.reaped = true;
        self.exited.get_or_insert(status.into());
        if std::mem::take(&mut self.terminal) {
            // SAFETY: getpgrp has no preconditions.
            terminal::give_to(unsafe { libc::getpgrp() })?;
        }
        Ok(())
    }

    fn id(&self) -> u32 {
        self.pid as u32
    }
}

impl UnixProcess {
    /// The first process's exit status, without reaping it.
    #[cfg(target_os = "linux")]
    fn peek_exit(&mut self) -> io::Result<Option<ExitInfo>> {
        peek_exit(self.pid)
    }

    /// The first process's exit status; elsewhere than Linux this reaps it.
    #[cfg(not(target_os = "linux"))]
    fn peek_exit(&mut self) -> io::Result<Option<ExitInfo>> {
        Ok(self.child.try_wait()?.map(ExitInfo::from))
    }
}

/// The exit status of the child `pid`, without reaping it.
#[cfg(target_os = "linux")]
pub fn peek_exit(pid: libc::pid_t) -> io::Result<Option<ExitInfo>> {
    // SAFETY: a zeroed siginfo_t is a valid out-parameter.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `info` is writable; WNOWAIT leaves the child waitable for the reaping wait.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    // SAFETY: waitid filled a SIGCHLD siginfo (or left it zeroed when nothing changed).
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    Ok(match info.si_code {
        _ if pid == 0 => None,
        libc::CLD_EXITED => Some(ExitInfo::Code(status)),
        libc::CLD_KILLED | libc::CLD_DUMPED => Some(ExitInfo::Signal(status)),
        _ => None,
    })
}

impl Drop for UnixProcess {
    fn drop(&mut self) {
        let _ = self.kill_tree();
    }
}
