//! The job object that contains a sandboxed tree: every process of the tree is in it from
//! creation, none may break away, the whole job dies when its last handle closes (so a crashed
//! Paddock leaves nothing running), and optional limits cap processes and memory.

use super::Win32Error;
use super::handle::owned;
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use windows_sys::Win32::System::JobObjects::{
    CreateJobObjectW, IsProcessInJob, JOB_OBJECT_LIMIT_ACTIVE_PROCESS,
    JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION, JOB_OBJECT_LIMIT_JOB_MEMORY,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, JOB_OBJECT_LIMIT_PROCESS_MEMORY,
    JOB_OBJECT_UILIMIT_DESKTOP, JOB_OBJECT_UILIMIT_DISPLAYSETTINGS, JOB_OBJECT_UILIMIT_EXITWINDOWS,
    JOB_OBJECT_UILIMIT_GLOBALATOMS, JOB_OBJECT_UILIMIT_HANDLES, JOB_OBJECT_UILIMIT_READCLIPBOARD,
    JOB_OBJECT_UILIMIT_SYSTEMPARAMETERS, JOB_OBJECT_UILIMIT_WRITECLIPBOARD,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, JOBOBJECT_BASIC_UI_RESTRICTIONS,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectBasicAccountingInformation,
    JobObjectBasicUIRestrictions, JobObjectExtendedLimitInformation, QueryInformationJobObject,
    SetInformationJobObject, TerminateJobObject,
};

/// Optional limits for the job. `Default` sets UI restrictions and no resource limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLimits {
    /// At most this many live processes in the tree (fork-bomb guard).
    pub active_processes: Option<u32>,
    /// Committed memory per process, in bytes.
    pub process_memory: Option<usize>,
    /// Committed memory for the whole tree, in bytes.
    pub job_memory: Option<usize>,
    /// Deny the tree other desktops, the clipboard, global atoms, USER handles from outside the
    /// job, display and system settings changes, and logoff/shutdown.
    pub ui_restrictions: bool,
}

impl Default for JobLimits {
    fn default() -> Self {
        JobLimits {
            active_processes: None,
            process_memory: None,
            job_memory: None,
            ui_restrictions: true,
        }
    }
}

/// The exit code every process of a killed job gets.
pub const KILLED_EXIT_CODE: u32 = 1;

/// An anonymous job object configured from `JobLimits`.
pub(crate) struct Job(OwnedHandle);

impl Job {
    pub(crate) fn create(limits: &JobLimits) -> Result<Job, Win32Error> {
        // SAFETY: no security attributes, no name: an anonymous job only we hold a handle to.
        let job = Job(owned(
            unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) },
            "CreateJobObjectW",
        )?);
        // SAFETY: an all-zero JOBOBJECT_EXTENDED_LIMIT_INFORMATION is valid (no limits).
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        // No JOB_OBJECT_LIMIT_BREAKAWAY_OK / SILENT_BREAKAWAY_OK: nothing leaves the job.
        let mut flags =
            JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
        if let Some(n) = limits.active_processes {
            flags |= JOB_OBJECT_LIMIT_ACTIVE_PROCESS;
            info.BasicLimitInformation.ActiveProcessLimit = n;
        }
        if let Some(bytes) = limits.process_memory {
            flags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
            info.ProcessMemoryLimit = bytes;
        }
        if let Some(bytes) = limits.job_memory {
            flags |= JOB_OBJECT_LIMIT_JOB_MEMORY;
            info.JobMemoryLimit = bytes;
        }
        info.BasicLimitInformation.LimitFlags = flags;
        job.set(JobObjectExtendedLimitInformation, &info)?;
        if limits.ui_restrictions {
            let ui = JOBOBJECT_BASIC_UI_RESTRICTIONS {
                UIRestrictionsClass: JOB_OBJECT_UILIMIT_DESKTOP
                    | JOB_OBJECT_UILIMIT_DISPLAYSETTINGS
                    | JOB_OBJECT_UILIMIT_EXITWINDOWS
                    | JOB_OBJECT_UILIMIT_GLOBALATOMS
                    | JOB_OBJECT_UILIMIT_HANDLES
                    | JOB_OBJECT_UILIMIT_READCLIPBOARD
                    | JOB_OBJECT_UILIMIT_SYSTEMPARAMETERS
                    | JOB_OBJECT_UILIMIT_WRITECLIPBOARD,
            };
            job.set(JobObjectBasicUIRestrictions, &ui)?;
        }
        Ok(job)
    }

    fn set<T>(&self, class: i32, value: &T) -> Result<(), Win32Error> {
        // SAFETY: `value` points to a live `T` of the size given, matching `class`.
        let ok = unsafe {
            SetInformationJobObject(
                self.raw(),
                class,
                (value as *const T).cast(),
                size_of::<T>() as u32,
            )
        };
        if ok == 0 {
            return Err(Win32Error::last("SetInformationJobObject"));
        }
        Ok(())
    }

    pub(crate) fn raw(&self) -> windows_sys::Win32::Foundation::HANDLE {
        self.0.as_raw_handle()
    }

    /// Ends every process in the job.
    pub(crate) fn terminate(&self) -> Result<(), Win32Error> {
        // SAFETY: a live job handle we own.
        if unsafe { TerminateJobObject(self.raw(), KILLED_EXIT_CODE) } == 0 {
            return Err(Win32Error::last("TerminateJobObject"));
        }
        Ok(())
    }

    /// True when `process` is in this job.
    pub(crate) fn contains(&self, process: &OwnedHandle) -> Result<bool, Win32Error> {
        let mut result = 0;
        // SAFETY: both handles are live; `result` is writable.
        if unsafe { IsProcessInJob(process.as_raw_handle(), self.raw(), &mut result) } == 0 {
            return Err(Win32Error::last("IsProcessInJob"));
        }
        Ok(result != 0)
    }

    /// How many processes of the job are still alive.
    pub(crate) fn active_processes(&self) -> Result<u32, Win32Error> {
        // SAFETY: an all-zero accounting struct is a valid out-parameter.
        let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is writable and of the size given.
        let ok = unsafe {
            QueryInformationJobObject(
                self.raw(),
                JobObjectBasicAccountingInformation,
                (&mut info as *mut JOBOBJECT_BASIC_ACCOUNTING_INFORMATION).cast(),
                size_of::<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION>() as u32,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(Win32Error::last("QueryInformationJobObject"));
        }
        Ok(info.ActiveProcesses)
    }
}
