//! Starting the runner as a sandbox account (`CreateProcessWithLogonW` with
//! `LOGON_WITH_PROFILE`, so the account gets its own loaded profile, `USERPROFILE`, `TEMP` and
//! HKCU), suspended, then placed in a kill-on-close job before it runs, with exactly the three
//! standard handles the broker chose.
//!
//! Guarantees: the runner never runs outside the job (it is killed if assignment fails); when
//! the broker dies, closing the job ends the runner and everything it started; a logon failure
//! comes back as `ElevatedError::Logon` with its fix (1326, 1907, 1909, 1385, 1168, 1312).

use super::ffi::wide_secret;
use crate::errors::ElevatedError;
use paddock_win32::Win32Error;
use paddock_win32::handle::{null_device, output_pipe};
use paddock_win32::job::{Job, JobLimits, KILLED_EXIT_CODE};
use paddock_win32::wide::to_wide;
use std::fs::File;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Console::{
    GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
};
use windows_sys::Win32::System::Threading::{
    CREATE_NEW_PROCESS_GROUP, CREATE_SUSPENDED, CREATE_UNICODE_ENVIRONMENT,
    CreateProcessWithLogonW, LOGON_WITH_PROFILE, PROCESS_INFORMATION, ResumeThread,
    STARTF_USESHOWWINDOW, STARTF_USESTDHANDLES, STARTUPINFOW, TerminateProcess,
};
use windows_sys::Win32::UI::WindowsAndMessaging::SW_HIDE;

/// The runner's standard handles, and the broker's ends of captured streams.
pub struct RunnerStdio {
    child: [HANDLE; 3],
    /// Child ends this value owns (closed once the runner has its copies).
    owned_child_ends: Vec<OwnedHandle>,
    pub stdout: Option<File>,
    pub stderr: Option<File>,
}

impl RunnerStdio {
    /// `capture`: stdout and stderr through pipes, stdin from the null device; otherwise the
    /// broker's own standard handles.
    pub fn new(capture: bool) -> Result<RunnerStdio, ElevatedError> {
        if !capture {
            // SAFETY: GetStdHandle has no preconditions; the handles stay the broker's.
            let std = unsafe {
                [
                    GetStdHandle(STD_INPUT_HANDLE),
                    GetStdHandle(STD_OUTPUT_HANDLE),
                    GetStdHandle(STD_ERROR_HANDLE),
                ]
            };
            return Ok(RunnerStdio {
                child: std,
                owned_child_ends: Vec::new(),
                stdout: None,
                stderr: None,
            });
        }
        let null = null_device(true)?;
        let (out_r, out_w) = output_pipe()?;
        let (err_r, err_w) = output_pipe()?;
        Ok(RunnerStdio {
            child: [
                null.as_raw_handle(),
                out_w.as_raw_handle(),
                err_w.as_raw_handle(),
            ],
            owned_child_ends: vec![null, out_w, err_w],
            stdout: Some(File::from(out_r)),
            stderr: Some(File::from(err_r)),
        })
    }
}

/// The runner process, in its kill-on-close job.
pub struct RunnerProcess {
    pub process: OwnedHandle,
    pub pid: u32,
    /// Kill-on-close, no UI limits (as before the move): the runner starts its command in a
    /// job and on a desktop of its own.
    pub job: Job,
}

/// Starts `command_line` (the runner) as `account` with `password`.
pub fn start_runner(
    account: &str,
    password: &str,
    program: &std::path::Path,
    command_line: &str,
    stdio: &mut RunnerStdio,
) -> Result<RunnerProcess, ElevatedError> {
    let job = Job::create(&JobLimits::kill_on_close_only())?;
    let (user, domain) = (to_wide(account)?, to_wide(".")?);
    let mut pw = wide_secret(password).map_err(|e| ElevatedError::State(e.to_string()))?;
    let app = to_wide(program)?;
    let mut line = to_wide(command_line)?;
    // The broker's own directory may be closed to the account: start in the system folder.
    let system_root = std::env::var("SystemRoot").unwrap_or_else(|_| r"C:\Windows".into());
    let cwd = to_wide(format!(r"{system_root}\System32"))?;
    // The runner's console (seclogon gives it one of its own) stays hidden: the command's
    // output goes through the handles below, and Ctrl-C arrives over the pipe.
    let si = STARTUPINFOW {
        cb: size_of::<STARTUPINFOW>() as u32,
        dwFlags: STARTF_USESTDHANDLES | STARTF_USESHOWWINDOW,
        wShowWindow: SW_HIDE as u16,
        hStdInput: stdio.child[0],
        hStdOutput: stdio.child[1],
        hStdError: stdio.child[2],
        ..Default::default()
    };
    let mut pi = PROCESS_INFORMATION::default();
    // SAFETY: every string is NUL-terminated and lives across the call; the environment is
    // the account's own (null with LOGON_WITH_PROFILE); `pi` receives handles we own.
    let ok = unsafe {
        CreateProcessWithLogonW(
            user.as_ptr(),
            domain.as_ptr(),
            pw.as_ptr(),
            LOGON_WITH_PROFILE,
            app.as_ptr(),
            line.as_mut_ptr(),
            CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT | CREATE_NEW_PROCESS_GROUP,
            std::ptr::null(),
            cwd.as_ptr(),
            &si,
            &mut pi,
        )
    };
    pw.fill(0);
    if ok == 0 {
        let e = Win32Error::last("CreateProcessWithLogonW");
        return Err(match e.code {
            1326 | 1907 | 1909 | 1385 | 1168 | 1312 => ElevatedError::logon(account, e.code),
            _ => e.into(),
        });
    }
    // SAFETY: CreateProcessWithLogonW returned fresh handles we own.
    let (process, thread) = unsafe {
        (
            OwnedHandle::from_raw_handle(pi.hProcess),
            OwnedHandle::from_raw_handle(pi.hThread),
        )
    };
    stdio.owned_child_ends.clear();
    // The process is suspended and has run no code: it is in the job before it runs, or gone.
    if let Err(e) = job.assign(&process) {
        // SAFETY: ends the suspended process: it must not run outside the job.
        unsafe { TerminateProcess(process.as_raw_handle(), KILLED_EXIT_CODE) };
        return Err(e.into());
    }
    // SAFETY: resumes the primary thread of the suspended process we created.
    if unsafe { ResumeThread(thread.as_raw_handle()) } == u32::MAX {
        return Err(Win32Error::last("ResumeThread").into());
    }
    Ok(RunnerProcess {
        process,
        pid: pi.dwProcessId,
        job,
    })
}
