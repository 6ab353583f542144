//! The job object that contains a sandboxed tree: every process of the tree is in it from
//! creation, none may break away, the whole job dies when its last handle closes (so a crashed
//! Paddock leaves nothing running), and optional limits cap processes and memory.

use super::Win32Error;
use super::handle::owned;
use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, OwnedHandle};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::ERROR_MORE_DATA;
use windows_sys::Win32::System::JobObjects::{
    CreateJobObjectW, IsProcessInJob, JOB_OBJECT_LIMIT_ACTIVE_PROCESS,
    JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION, JOB_OBJECT_LIMIT_JOB_MEMORY,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, JOB_OBJECT_LIMIT_PROCESS_MEMORY,
    JOB_OBJECT_UILIMIT_DESKTOP, JOB_OBJECT_UILIMIT_DISPLAYSETTINGS, JOB_OBJECT_UILIMIT_EXITWINDOWS,
    JOB_OBJECT_UILIMIT_GLOBALATOMS, JOB_OBJECT_UILIMIT_HANDLES, JOB_OBJECT_UILIMIT_READCLIPBOARD,
    JOB_OBJECT_UILIMIT_SYSTEMPARAMETERS, JOB_OBJECT_UILIMIT_WRITECLIPBOARD,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, JOBOBJECT_BASIC_PROCESS_ID_LIST,
    JOBOBJECT_BASIC_UI_RESTRICTIONS, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JobObjectBasicAccountingInformation, JobObjectBasicProcessIdList, JobObjectBasicUIRestrictions,
    JobObjectExtendedLimitInformation, QueryInformationJobObject, SetInformationJobObject,
    TerminateJobObject,
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

    pub(crate) fn handle(&self) -> BorrowedHandle<'_> {
        self.0.as_handle()
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
}

/// The processes of a job that outlived `TerminateJobObject` for `waited`: the error
/// `wait_until_empty` (and so `kill_tree`) returns, inside an `io::Error`, for whoever must keep
/// protections in place while they exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{active} processes of the job survived TerminateJobObject for {waited:?} (ids {pids:?})")]
pub struct JobSurvivors {
    pub active: u32,
    pub pids: Vec<u32>,
    pub waited: Duration,
}

impl JobSurvivors {
    /// The survivors an `io::Error` from `kill_tree` carries, if that is what it is.
    pub fn of(e: &io::Error) -> Option<&JobSurvivors> {
        e.get_ref()?.downcast_ref::<JobSurvivors>()
    }
}

/// Waits until `job` (already terminated) reports no active process, polling
/// `JobObjectBasicAccountingInformation`, for at most `limit`; `JobSurvivors` when it does not
/// empty in time. `TerminateJobObject` returns before its processes are gone.
pub fn wait_until_empty(job: BorrowedHandle<'_>, limit: Duration) -> io::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let active = active_processes(job)?;
        if active == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(io::Error::other(JobSurvivors {
                active,
                pids: process_ids(job).unwrap_or_default(),
                waited: limit,
            }));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How many processes of `job` are alive.
pub fn active_processes(job: BorrowedHandle<'_>) -> Result<u32, Win32Error> {
    // SAFETY: an all-zero accounting struct is a valid out-parameter.
    let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is writable and of the size given.
    let ok = unsafe {
        QueryInformationJobObject(
            job.as_raw_handle(),
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

/// The ids of the processes in `job` (at most 1024).
pub fn process_ids(job: BorrowedHandle<'_>) -> Result<Vec<u32>, Win32Error> {
    const MAX: usize = 1024;
    let offset = std::mem::offset_of!(JOBOBJECT_BASIC_PROCESS_ID_LIST, ProcessIdList);
    let mut buffer = vec![0usize; offset / size_of::<usize>() + MAX];
    let bytes = buffer.len() * size_of::<usize>();
    // SAFETY: `buffer` is writable, `bytes` long and aligned for the structure.
    let ok = unsafe {
        QueryInformationJobObject(
            job.as_raw_handle(),
            JobObjectBasicProcessIdList,
            buffer.as_mut_ptr().cast(),
            bytes as u32,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        let e = Win32Error::last("QueryInformationJobObject");
        if e.code != ERROR_MORE_DATA {
            return Err(e);
        }
    }
    // SAFETY: the buffer starts with the structure the call filled in.
    let listed = unsafe {
        (*buffer.as_ptr().cast::<JOBOBJECT_BASIC_PROCESS_ID_LIST>()).NumberOfProcessIdsInList
    };
    let first = offset / size_of::<usize>();
    Ok(buffer[first..first + (listed as usize).min(MAX)]
        .iter()
        .map(|p| *p as u32)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_sys::Win32::System::JobObjects::AssignProcessToJobObject;

    #[test]
    fn a_live_job_is_reported_with_its_processes_and_an_ended_one_as_empty() {
        let job = Job::create(&JobLimits::default()).unwrap();
        let system_root = std::env::var("SystemRoot").unwrap_or_else(|_| r"C:\Windows".into());
        let child = std::process::Command::new(format!(r"{system_root}\System32\cmd.exe"))
            .args(["/d", "/c", "ping -n 30 127.0.0.1 >NUL"])
            .spawn()
            .unwrap();
        let pid = child.id();
        let process = OwnedHandle::from(child);
        // SAFETY: both handles are live.
        let assigned = unsafe { AssignProcessToJobObject(job.raw(), process.as_raw_handle()) };
        assert_ne!(assigned, 0);
        let err = wait_until_empty(job.handle(), Duration::from_millis(200)).unwrap_err();
        let survivors = JobSurvivors::of(&err).expect("the error names the survivors");
        assert!(survivors.active >= 1, "{survivors}");
        assert!(survivors.pids.contains(&pid), "{survivors}");
        job.terminate().unwrap();
        wait_until_empty(job.handle(), Duration::from_secs(10)).unwrap();
        assert_eq!(active_processes(job.handle()).unwrap(), 0);
        assert!(process_ids(job.handle()).unwrap().is_empty());
    }
}
