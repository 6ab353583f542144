//! The running sandbox as the runner sees it: the runner's own process handle for the init,
//! plus a pidfd so that waiting for the end wakes up the moment the init exits instead of on
//! the runner's polling schedule. Everything else (stdio, signals, killing) is the runner's.

use crate::sys;
use paddock_runner::{ChildStdio, ExitInfo, Interrupt, SandboxedProcess};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

pub struct LinuxProcess {
    inner: Box<dyn SandboxedProcess>,
    /// `None` on kernels without pidfd_open (before 5.3): the runner's polling is used.
    exited: Option<OwnedFd>,
}

impl LinuxProcess {
    pub fn new(inner: Box<dyn SandboxedProcess>) -> LinuxProcess {
        // The init stays unreaped until the runner's kill_tree, so its pid cannot be reused.
        let exited = sys::pidfd_open(inner.id() as libc::pid_t).ok();
        LinuxProcess { inner, exited }
    }
}

impl SandboxedProcess for LinuxProcess {
    fn take_stdio(&mut self) -> ChildStdio {
        self.inner.take_stdio()
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitInfo>> {
        self.inner.try_wait()
    }

    fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>> {
        let Some(fd) = &self.exited else {
            return self.inner.wait_timeout(d);
        };
        let deadline = Instant::now() + d;
        loop {
            if let Some(status) = self.inner.try_wait()? {
                return Ok(Some(status));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            sys::wait_readable(fd.as_fd(), left)?;
        }
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
}
