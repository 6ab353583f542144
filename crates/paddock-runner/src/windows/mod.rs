//! The Windows spawn: `CreateProcessW`, or `CreateProcessAsUserW` with the restricted token the
//! Windows backend builds, into a kill-on-close job object from creation, inheriting only its
//! three standard handles (`PROC_THREAD_ATTRIBUTE_HANDLE_LIST`), with a sorted Unicode
//! environment block and optionally a private desktop.

mod attributes;
mod pipes;
mod process;
mod spawn;

pub use paddock_win32::job::{JobLimits, JobSurvivors, KILLED_EXIT_CODE};
pub use paddock_win32::{Win32Error, system_message};

use crate::{SandboxedProcess, StdioMode};
use std::ffi::OsString;
use std::io;
use std::os::windows::io::OwnedHandle;
use std::path::PathBuf;

/// What to start on Windows, and how to contain it.
#[derive(Debug)]
pub struct WinLaunch {
    /// Absolute path of the executable (passed as `lpApplicationName`: no search-path lookup).
    pub program: PathBuf,
    /// Arguments after the program, quoted for `CommandLineToArgvW` by [`crate::cmdline`].
    pub args: Vec<OsString>,
    /// A complete command line used verbatim instead of quoting `program` and `args`; build it
    /// with `cmdline::cmd_exe_argv_line` or `cmdline::cmd_exe_script_line` for `cmd.exe`.
    pub command_line: Option<OsString>,
    pub cwd: PathBuf,
    /// The complete environment (sorted and de-duplicated here).
    pub env: Vec<(OsString, OsString)>,
    /// A primary token (e.g. from `CreateRestrictedToken`) to start the process with.
    pub token: Option<OwnedHandle>,
    /// `winsta\desktop` for `STARTUPINFO.lpDesktop`.
    pub desktop: Option<String>,
    pub limits: JobLimits,
}

impl WinLaunch {
    /// A launch with no token, no desktop and default job limits.
    pub fn new(
        program: impl Into<PathBuf>,
        args: Vec<OsString>,
        cwd: impl Into<PathBuf>,
        env: Vec<(OsString, OsString)>,
    ) -> WinLaunch {
        WinLaunch {
            program: program.into(),
            args,
            command_line: None,
            cwd: cwd.into(),
            env,
            token: None,
            desktop: None,
            limits: JobLimits::default(),
        }
    }
}

/// Starts the first process of a new tree in a new job and console process group.
pub fn spawn(launch: WinLaunch, stdio: StdioMode) -> io::Result<Box<dyn SandboxedProcess>> {
    Ok(Box::new(spawn::spawn(launch, stdio)?))
}
