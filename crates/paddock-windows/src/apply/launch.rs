//! Starts a command inside the sandbox: the restricted token, the private desktop, a
//! kill-on-close job (through the runner's Windows spawn), cmd and PowerShell spelled right, and
//! a guard that ends the tree and then undoes the run's own ACL entries when the run is over.
//!
//! Guarantees: the process never starts without the token and desktop given; the guard runs on
//! every path out (normal exit, timeout, Ctrl-C, panic unwinding through `run`): first the whole
//! tree is killed and the job waited on until it reports no process, then the cleanup runs and
//! is told whether the tree is gone or which processes outlived the kill (it must then keep the
//! run's denies), then the desktop is closed.

use super::desktop::PrivateDesktop;
use super::process::stamp;
use super::shell::{
    Env, KnownShell, ShellError, batch_command_line, cmd_command_line, find_shell, is_batch,
    is_cmd, is_powershell, powershell_args,
};
use super::token::RestrictedToken;
use crate::journal::ProcessStamp;
use paddock_core::spec::CommandSpec;
use paddock_runner::windows::{JobLimits, JobSurvivors, WinLaunch, spawn};
use paddock_runner::{ChildStdio, ExitInfo, Interrupt, SandboxedProcess, StdioMode};
use std::io;
use std::time::Duration;

/// How the sandboxed tree ended, as the cleanup is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeEnd {
    /// The job reports no process: nothing runs under the run's token any more.
    Gone,
    /// Processes outlived `TerminateJobObject` for the bounded wait (or the job could not be
    /// queried): these, stamped while still there. The run's denies must stay.
    Survived(Vec<ProcessStamp>),
}

impl TreeEnd {
    /// What `kill_tree`'s result says about the tree.
    pub fn of(killed: &io::Result<()>) -> TreeEnd {
        match killed {
            Ok(()) => TreeEnd::Gone,
            Err(e) => TreeEnd::Survived(
                JobSurvivors::of(e)
                    .map(|s| s.pids.iter().filter_map(|pid| stamp(*pid)).collect())
                    .unwrap_or_default(),
            ),
        }
    }
}

/// Work to do once the sandboxed tree has ended (taking back per-run ACL entries, or keeping
/// them when processes survived).
pub type Cleanup = Box<dyn FnOnce(TreeEnd) + Send>;

/// How the command is contained.
pub struct Containment {
    pub token: RestrictedToken,
    pub desktop: Option<PrivateDesktop>,
    pub limits: JobLimits,
    /// Keep PowerShell's profile (otherwise `-NoProfile` is added).
    pub keep_powershell_profile: bool,
}

/// Why the command could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Shell(#[from] ShellError),
    #[error("starting {program} in the sandbox failed: {source}")]
    Spawn { program: String, source: io::Error },
}

/// The `WinLaunch` for `cmd` under `containment` (what `start` hands the runner).
pub fn win_launch(
    cmd: &CommandSpec,
    containment: Containment,
) -> Result<(WinLaunch, Option<PrivateDesktop>), LaunchError> {
    let args = if is_powershell(&cmd.program) {
        powershell_args(&cmd.args, containment.keep_powershell_profile)
    } else {
        cmd.args.clone()
    };
    // A batch file is started as cmd.exe running it, never as the program itself: CreateProcess
    // would otherwise hand the arguments to cmd unescaped.
    let (program, command_line) = if is_cmd(&cmd.program) {
        (
            cmd.program.clone(),
            Some(cmd_command_line(&cmd.program, &args)?),
        )
    } else if is_batch(&cmd.program) {
        let cmd_exe = find_shell(KnownShell::Cmd, Env(&cmd.env))?;
        let line = batch_command_line(&cmd_exe, &cmd.program, &args)?;
        (cmd_exe, Some(line))
    } else {
        (cmd.program.clone(), None)
    };
    let mut launch = WinLaunch::new(program, args, &cmd.cwd, cmd.env.clone());
    launch.command_line = command_line;
    launch.token = Some(containment.token.into_handle());
    launch.desktop = containment
        .desktop
        .as_ref()
        .map(PrivateDesktop::startup_name);
    launch.limits = containment.limits;
    Ok((launch, containment.desktop))
}

/// Starts `cmd` contained by `containment`; `cleanup` runs once the tree is gone, or at once
/// when the command cannot be started.
pub fn start(
    cmd: &CommandSpec,
    containment: Containment,
    stdio: StdioMode,
    cleanup: Option<Cleanup>,
) -> Result<Box<dyn SandboxedProcess>, LaunchError> {
    let started = win_launch(cmd, containment).and_then(|(launch, desktop)| {
        let inner = spawn(launch, stdio).map_err(|source| LaunchError::Spawn {
            program: cmd.program.display().to_string(),
            source,
        })?;
        Ok((inner, desktop))
    });
    match started {
        Ok((inner, desktop)) => Ok(Box::new(GuardedProcess {
            inner,
            cleanup,
            desktop,
        })),
        Err(e) => {
            if let Some(cleanup) = cleanup {
                cleanup(TreeEnd::Gone);
            }
            Err(e)
        }
    }
}

/// A sandboxed tree plus what must happen after it.
struct GuardedProcess {
    inner: Box<dyn SandboxedProcess>,
    cleanup: Option<Cleanup>,
    desktop: Option<PrivateDesktop>,
}

impl SandboxedProcess for GuardedProcess {
    fn take_stdio(&mut self) -> ChildStdio {
        self.inner.take_stdio()
    }
    fn try_wait(&mut self) -> io::Result<Option<ExitInfo>> {
        self.inner.try_wait()
    }
    fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>> {
        self.inner.wait_timeout(d)
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

impl Drop for GuardedProcess {
    fn drop(&mut self) {
        // Nothing of the tree may outlive the grants' removal with a handle opened under them:
        // the cleanup learns whether the job emptied and keeps the denies when it did not.
        let end = TreeEnd::of(&self.inner.kill_tree());
        if let Some(cleanup) = self.cleanup.take() {
            cleanup(end);
        }
        self.desktop.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A tree whose kill reports what `killed` says.
    struct Tree {
        killed: fn() -> io::Result<()>,
    }

    impl SandboxedProcess for Tree {
        fn take_stdio(&mut self) -> ChildStdio {
            ChildStdio {
                stdout: None,
                stderr: None,
            }
        }
        fn try_wait(&mut self) -> io::Result<Option<ExitInfo>> {
            Ok(Some(ExitInfo::Code(0)))
        }
        fn wait_timeout(&mut self, _d: Duration) -> io::Result<Option<ExitInfo>> {
            Ok(Some(ExitInfo::Code(0)))
        }
        fn signal_tree(&mut self, _sig: Interrupt) -> io::Result<()> {
            Ok(())
        }
        fn kill_tree(&mut self) -> io::Result<()> {
            (self.killed)()
        }
        fn id(&self) -> u32 {
            std::process::id()
        }
    }

    fn cleanup_sees(killed: fn() -> io::Result<()>) -> TreeEnd {
        let seen = Arc::new(Mutex::new(None));
        let s = Arc::clone(&seen);
        drop(GuardedProcess {
            inner: Box::new(Tree { killed }),
            cleanup: Some(Box::new(move |end| *s.lock().unwrap() = Some(end))),
            desktop: None,
        });
        seen.lock().unwrap().take().expect("the cleanup ran")
    }

    #[test]
    fn the_cleanup_is_told_which_processes_outlived_the_kill() {
        assert_eq!(cleanup_sees(|| Ok(())), TreeEnd::Gone);
        let survived = cleanup_sees(|| {
            Err(io::Error::other(JobSurvivors {
                active: 1,
                pids: vec![std::process::id()],
                waited: Duration::from_secs(10),
            }))
        });
        let me = stamp(std::process::id()).unwrap();
        assert_eq!(survived, TreeEnd::Survived(vec![me]));
        assert_eq!(
            cleanup_sees(|| Err(io::Error::other("QueryInformationJobObject failed"))),
            TreeEnd::Survived(Vec::new()),
            "a job that cannot be queried is not taken for empty"
        );
    }
}
