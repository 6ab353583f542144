//! `CreateProcessW` / `CreateProcessAsUserW` for one `WinLaunch`: suspended, in its job from
//! creation (or assigned before it runs a single instruction where the job list is not
//! supported), inheriting exactly its three standard handles, with a Unicode environment block
//! and optionally its own desktop.

use super::attributes::AttributeList;
use super::pipes::StdioHandles;
use super::process::WinProcess;
use super::{Win32Error, WinLaunch};
use crate::{StdioMode, cmdline, envblock};
use paddock_win32::handle::owned;
use paddock_win32::job::Job;
use paddock_win32::wide::to_wide;
use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use windows_sys::Win32::System::Threading::{
    CREATE_NEW_PROCESS_GROUP, CREATE_SUSPENDED, CREATE_UNICODE_ENVIRONMENT, CreateProcessAsUserW,
    CreateProcessW, EXTENDED_STARTUPINFO_PRESENT, PROCESS_INFORMATION, ResumeThread,
    STARTF_USESTDHANDLES, STARTUPINFOEXW, TerminateProcess,
};

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
}

/// `s` as NUL-terminated UTF-16; an interior NUL is refused, naming `what` it is.
fn wide_nul(s: &OsStr, what: &str) -> io::Result<Vec<u16>> {
    to_wide(s).map_err(|e| invalid(format!("the {what} {e}")))
}

pub(crate) fn spawn(l: WinLaunch, stdio: StdioMode) -> io::Result<WinProcess> {
    if !l.program.is_absolute() {
        return Err(invalid(format!(
            "the program `{}` is not an absolute path; resolve it before spawning",
            l.program.display()
        )));
    }
    let program = wide_nul(l.program.as_os_str(), "program path")?;
    let mut command_line = match &l.command_line {
        Some(line) => line.encode_wide().collect(),
        None => {
            let args: Vec<Vec<u16>> = l.args.iter().map(|a| a.encode_wide().collect()).collect();
            cmdline::argv_line(&program[..program.len() - 1], &args).map_err(invalid)?
        }
    };
    if command_line.contains(&0) {
        return Err(invalid("the command line contains a NUL character"));
    }
    command_line.push(0);
    let env: Vec<(Vec<u16>, Vec<u16>)> = l
        .env
        .iter()
        .map(|(k, v)| (k.encode_wide().collect(), v.encode_wide().collect()))
        .collect();
    let env_block = envblock::env_block(&env).map_err(invalid)?;
    let cwd = wide_nul(l.cwd.as_os_str(), "working directory")?;
    let mut desktop = match &l.desktop {
        Some(d) => Some(wide_nul(OsStr::new(d), "desktop name")?),
        None => None,
    };

    let job = Job::create(&l.limits)?;
    let handles = StdioHandles::new(stdio)?;
    let raw = handles.raw_child();
    let mut attrs = AttributeList::new(&raw, job.raw())?;

    let mut si: STARTUPINFOEXW = STARTUPINFOEXW::default();
    si.StartupInfo.cb = size_of::<STARTUPINFOEXW>() as u32;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    [
        si.StartupInfo.hStdInput,
        si.StartupInfo.hStdOutput,
        si.StartupInfo.hStdError,
    ] = raw;
    if let Some(d) = desktop.as_mut() {
        si.StartupInfo.lpDesktop = d.as_mut_ptr();
    }
    si.lpAttributeList = attrs.ptr();
    let flags = EXTENDED_STARTUPINFO_PRESENT
        | CREATE_UNICODE_ENVIRONMENT
        | CREATE_SUSPENDED
        | CREATE_NEW_PROCESS_GROUP;
    let mut pi = PROCESS_INFORMATION::default();
    // SAFETY: every pointer is to a live, NUL-terminated buffer or initialised struct owned by
    // this frame (program, command line, environment block, cwd, desktop, startup info with
    // its attribute list); `pi` receives the new handles.
    let ok = unsafe {
        match &l.token {
            Some(token) => CreateProcessAsUserW(
                token.as_raw_handle(),
                program.as_ptr(),
                command_line.as_mut_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                1,
                flags,
                env_block.as_ptr().cast(),
                cwd.as_ptr(),
                &si.StartupInfo,
                &mut pi,
            ),
            None => CreateProcessW(
                program.as_ptr(),
                command_line.as_mut_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                1,
                flags,
                env_block.as_ptr().cast(),
                cwd.as_ptr(),
                &si.StartupInfo,
                &mut pi,
            ),
        }
    };
    if ok == 0 {
        let api = if l.token.is_some() {
            "CreateProcessAsUserW"
        } else {
            "CreateProcessW"
        };
        return Err(Win32Error::last(api).into());
    }
    // SAFETY: the create call succeeded: both are new handles only we hold.
    let (process, thread) = unsafe {
        (
            owned(pi.hProcess, "CreateProcessW")?,
            owned(pi.hThread, "CreateProcessW")?,
        )
    };
    if let Err(e) = confine(&job, &process, attrs.has_job) {
        // SAFETY: ends the suspended process we just created; it must not run unconfined.
        unsafe { TerminateProcess(process.as_raw_handle(), 1) };
        return Err(e);
    }
    // SAFETY: resumes the primary thread of the process we created suspended.
    if unsafe { ResumeThread(thread.as_raw_handle()) } == u32::MAX {
        let err = Win32Error::last("ResumeThread");
        // `job` is dropped below: kill-on-close ends the process.
        return Err(err.into());
    }
    drop(attrs);
    drop(handles.child);
    Ok(WinProcess {
        process,
        pid: pi.dwProcessId,
        job,
        stdout: handles.stdout,
        stderr: handles.stderr,
        exited: None,
    })
}

/// Makes sure the suspended `process` is in `job` before it runs: assigns it when the job list
/// attribute was not accepted, then checks membership (fail closed).
fn confine(job: &Job, process: &OwnedHandle, in_job_list: bool) -> io::Result<()> {
    if !in_job_list {
        // The process is suspended and has run no code.
        job.assign(process)?;
    }
    if !job.contains(process)? {
        return Err(io::Error::other(
            "the new process is not in its job object; refusing to run it uncontained",
        ));
    }
    Ok(())
}
