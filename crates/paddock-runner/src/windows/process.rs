//! A running tree on Windows: its first process and the job that holds the whole tree.
//! Waiting watches the first process; stopping politely sends Ctrl-Break to its console
//! process group; killing terminates the job and waits until the job is empty.

use super::Win32Error;
use crate::{ChildStdio, ExitInfo, Interrupt, SandboxedProcess};
use paddock_win32::job::Job;
use std::fs::File;
use std::io;
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::time::Duration;
use windows_sys::Win32::Foundation::{WAIT_OBJECT_0, WAIT_TIMEOUT};
use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, GenerateConsoleCtrlEvent};
use windows_sys::Win32::System::Threading::{GetExitCodeProcess, WaitForSingleObject};

/// How long `kill_tree` waits for a terminated job to empty.
const KILL_WAIT: Duration = Duration::from_secs(10);

pub(crate) struct WinProcess {
    pub(crate) process: OwnedHandle,
    pub(crate) pid: u32,
    /// Dropping the job kills whatever is left of the tree (kill-on-close).
    pub(crate) job: Job,
    pub(crate) stdout: Option<File>,
    pub(crate) stderr: Option<File>,
    pub(crate) exited: Option<ExitInfo>,
}

impl WinProcess {
    /// Waits up to `ms` for the first process; its exit code once it has exited.
    fn wait_ms(&mut self, ms: u32) -> io::Result<Option<ExitInfo>> {
        if self.exited.is_some() {
            return Ok(self.exited);
        }
        // SAFETY: a live process handle we own.
        match unsafe { WaitForSingleObject(self.process.as_raw_handle(), ms) } {
            WAIT_OBJECT_0 => {}
            WAIT_TIMEOUT => return Ok(None),
            _ => return Err(Win32Error::last("WaitForSingleObject").into()),
        }
        let mut code = 0u32;
        // SAFETY: `code` is writable; the process has exited.
        if unsafe { GetExitCodeProcess(self.process.as_raw_handle(), &mut code) } == 0 {
            return Err(Win32Error::last("GetExitCodeProcess").into());
        }
        self.exited = Some(ExitInfo::Code(code as i32));
        Ok(self.exited)
    }
}

impl SandboxedProcess for WinProcess {
    fn take_stdio(&mut self) -> ChildStdio {
        ChildStdio {
            stdout: self.stdout.take().map(|f| Box::new(f) as _),
            stderr: self.stderr.take().map(|f| Box::new(f) as _),
        }
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitInfo>> {
        self.wait_ms(0)
    }

    fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>> {
        self.wait_ms(d.as_millis().min(u128::from(u32::MAX - 1)) as u32)
    }

    /// Ctrl-Break to the tree's console process group (Ctrl-C is disabled in a new group).
    /// Works when the tree shares our console; otherwise it fails and the grace kill applies.
    fn signal_tree(&mut self, _sig: Interrupt) -> io::Result<()> {
        // SAFETY: no pointers; the group id is the first process's pid.
        if unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, self.pid) } == 0 {
            return Err(Win32Error::last("GenerateConsoleCtrlEvent").into());
        }
        Ok(())
    }

    /// Terminates the job and waits until it reports no active process; a job that does not
    /// empty within `KILL_WAIT` is an error carrying `JobSurvivors`.
    fn kill_tree(&mut self) -> io::Result<()> {
        self.job.kill_and_wait(KILL_WAIT)?;
        self.wait_ms(u32::MAX - 1)?;
        Ok(())
    }

    fn id(&self) -> u32 {
        self.pid
    }
}
