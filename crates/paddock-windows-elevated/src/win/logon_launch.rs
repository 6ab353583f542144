//! Starting the runner as a sandbox account (`CreateProcessWithLogonW` with
//! `LOGON_WITH_PROFILE`, so the account gets its own loaded profile, `USERPROFILE`, `TEMP` and
//! HKCU), suspended, then placed in a kill-on-close job before it runs, with exactly the three
//! standard handles the broker chose.
//!
//! Guarantees: the runner never runs outside the job (it is killed if assignment fails); when
//! the broker dies, closing the job ends the runner and everything it started; a logon failure
//! comes back as `ElevatedError::Logon` with its fix (1326, 1907, 1909, 1385, 1168, 1312).

use super::ffi::wide;
use crate::errors::ElevatedError;
use paddock_runner::windows::KILLED_EXIT_CODE;
use paddock_windows::apply::error::Win32Error;
use std::fs::File;
use std::os::windows::io::{AsHandle, AsRawHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::{HANDLE, HANDLE_FLAG_INHERIT, SetHandleInformation};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::System::Console::{
    GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject,
};
use windows_sys::Win32::System::Pipes::CreatePipe;
use windows_sys::Win32::System::Threading::{
    CREATE_NEW_PROCESS_GROUP, CREATE_SUSPENDED, CREATE_UNICODE_ENVIRONMENT,
    CreateProcessWithLogonW, LOGON_WITH_PROFILE, PROCESS_INFORMATION, ResumeThread,
    STARTF_USESHOWWINDOW, STARTF_USESTDHANDLES, STARTUPINFOW, TerminateProcess,
};
use windows_sys::Win32::UI::WindowsAndMessaging::SW_HIDE;

fn os(e: Win32Error) -> ElevatedError {
    ElevatedError::Os {
        api: e.api,
        code: e.code,
        message: e.message,
    }
}

/// A kill-on-close job object.
pub struct KillJob(OwnedHandle);

impl KillJob {
    pub fn create() -> Result<KillJob, ElevatedError> {
        // SAFETY: anonymous job with default security; the handle is checked and owned.
        let h = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if h.is_null() {
            return Err(os(Win32Error::last("CreateJobObjectW")));
        }
        // SAFETY: `h` is a fresh handle nobody else owns.
        let job = KillJob(unsafe { OwnedHandle::from_raw_handle(h) });
        let mut info = JOBOBJECT_EXTENDED_LIMIT_INFORMATION::default();
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: `info` is a valid structure of the size passed, for this class.
        let ok = unsafe {
            SetInformationJobObject(
                job.0.as_raw_handle(),
                JobObjectExtendedLimitInformation,
                (&info as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
                size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if ok == 0 {
            return Err(os(Win32Error::last("SetInformationJobObject")));
        }
        Ok(job)
    }

    /// Puts `process` in the job (it must not have started running unconfined code yet).
    pub fn assign(&self, process: &OwnedHandle) -> Result<(), ElevatedError> {
        // SAFETY: both handles are live.
        if unsafe { AssignProcessToJobObject(self.0.as_raw_handle(), process.as_raw_handle()) } == 0
        {
            return Err(os(Win32Error::last("AssignProcessToJobObject")));
        }
        Ok(())
    }

    pub fn terminate(&self) -> Result<(), ElevatedError> {
        // SAFETY: valid job handle.
        if unsafe { TerminateJobObject(self.0.as_raw_handle(), KILLED_EXIT_CODE) } == 0 {
            return Err(os(Win32Error::last("TerminateJobObject")));
        }
        Ok(())
    }

    /// How many processes of the job are alive.
    #[cfg(test)]
    pub(crate) fn active(&self) -> u32 {
        paddock_runner::windows::active_processes(self.0.as_handle()).unwrap()
    }

    /// Terminates the job and waits, at most `limit`, until it reports no active process
    /// (`TerminateJobObject` returns before they are gone). A job that does not empty is an
    /// error carrying `paddock_runner::windows::JobSurvivors`.
    pub fn kill_and_wait(&self, limit: std::time::Duration) -> std::io::Result<()> {
        let terminated = self.terminate();
        if let Err(e) = paddock_runner::windows::wait_until_empty(self.0.as_handle(), limit) {
            terminated.map_err(std::io::Error::other)?;
            return Err(e);
        }
        Ok(())
    }
}

/// The runner's standard handles, and the broker's ends of captured streams.
pub struct RunnerStdio {
    child: [HANDLE; 3],
    /// Child ends this value owns (closed once the runner has its copies).
    owned_child_ends: Vec<OwnedHandle>,
    pub stdout: Option<File>,
    pub stderr: Option<File>,
}

fn pipe() -> Result<(OwnedHandle, OwnedHandle), ElevatedError> {
    let sa = SECURITY_ATTRIBUTES {
        nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: std::ptr::null_mut(),
        bInheritHandle: 1,
    };
    let (mut r, mut w): (HANDLE, HANDLE) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: out-pointers are locals; both handles are owned right after.
    if unsafe { CreatePipe(&mut r, &mut w, &sa, 0) } == 0 {
        return Err(os(Win32Error::last("CreatePipe")));
    }
    // SAFETY: fresh handles owned by nobody else.
    let (r, w) = unsafe {
        (
            OwnedHandle::from_raw_handle(r),
            OwnedHandle::from_raw_handle(w),
        )
    };
    // SAFETY: the read end stays in the broker: make it non-inheritable.
    unsafe { SetHandleInformation(r.as_raw_handle(), HANDLE_FLAG_INHERIT, 0) };
    Ok((r, w))
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
        let null = std::fs::OpenOptions::new()
            .read(true)
            .open("NUL")
            .map_err(|e| ElevatedError::State(format!("open NUL: {e}")))?;
        let null = OwnedHandle::from(null);
        // SAFETY: the null handle is passed to the runner, which needs it inheritable.
        unsafe { SetHandleInformation(null.as_raw_handle(), HANDLE_FLAG_INHERIT, 1) };
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
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
    pub job: KillJob,
}

/// Starts `command_line` (the runner) as `account` with `password`.
pub fn start_runner(
    account: &str,
    password: &str,
    program: &std::path::Path,
    command_line: &str,
    stdio: &mut RunnerStdio,
) -> Result<RunnerProcess, ElevatedError> {
    let job = KillJob::create()?;
    let (user, domain, mut pw) = (wide(account), wide("."), wide(password));
    let app = paddock_windows::apply::wide::to_wide(program)
        .map_err(|e| ElevatedError::State(e.to_string()))?;
    let mut line = wide(command_line);
    // The broker's own directory may be closed to the account: start in the system folder.
    let system_root = std::env::var("SystemRoot").unwrap_or_else(|_| r"C:\Windows".into());
    let cwd = wide(&format!(r"{system_root}\System32"));
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
            _ => os(e),
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
        return Err(e);
    }
    // SAFETY: resumes the primary thread of the suspended process we created.
    if unsafe { ResumeThread(thread.as_raw_handle()) } == u32::MAX {
        return Err(os(Win32Error::last("ResumeThread")));
    }
    Ok(RunnerProcess {
        process,
        pid: pi.dwProcessId,
        job,
    })
}
