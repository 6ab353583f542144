//! The job object that contains a process tree: every process of the tree is in it from
//! creation (or assigned while still suspended), none may break away, the whole job dies when
//! its last handle closes (so a crashed Paddock leaves nothing running), a crash ends the
//! crashing process without an error dialog, and optional limits cap processes, memory and UI.

use crate::Win32Error;
use crate::handle::owned;
use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, OwnedHandle};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{ERROR_MORE_DATA, HANDLE};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, IsProcessInJob, JOB_OBJECT_LIMIT_ACTIVE_PROCESS,
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

impl JobLimits {
    /// Kill-on-close and nothing else: for a job around a process that sets up its own
    /// desktop and its own inner job (the level-2 runner).
    pub fn kill_on_close_only() -> JobLimits {
        JobLimits {
            ui_restrictions: false,
            ..JobLimits::default()
        }
    }
}

/// The exit code every process of a killed job gets.
pub const KILLED_EXIT_CODE: u32 = 1;

/// An anonymous job object configured from `JobLimits`.
#[derive(Debug)]
pub struct Job(OwnedHandle);

impl Job {
    pub fn create(limits: &JobLimits) -> Result<Job, Win32Error> {
        // SAFETY: no security attributes, no name: an anonymous job only we hold a handle to,
        // owned right after the call.
        let job = Job(unsafe {
            owned(
                CreateJobObjectW(std::ptr::null(), std::ptr::null()),
                "CreateJobObjectW",
            )
        }?);
        let mut info = JOBOBJECT_EXTENDED_LIMIT_INFORMATION::default();
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

    pub fn handle(&self) -> BorrowedHandle<'_> {
        self.0.as_handle()
    }

    /// The raw handle, for a `PROC_THREAD_ATTRIBUTE_JOB_LIST`; valid while `self` lives.
    pub fn raw(&self) -> HANDLE {
        self.0.as_raw_handle()
    }

    /// Puts `process` in the job. It must not have run unconfined code yet: create it
    /// suspended, and terminate it when this fails.
    pub fn assign(&self, process: &OwnedHandle) -> Result<(), Win32Error> {
        // SAFETY: both handles are live.
        if unsafe { AssignProcessToJobObject(self.raw(), process.as_raw_handle()) } == 0 {
            return Err(Win32Error::last("AssignProcessToJobObject"));
        }
        Ok(())
    }

    /// Ends every process in the job (returns before they are all gone).
    pub fn terminate(&self) -> Result<(), Win32Error> {
        // SAFETY: a live job handle we own.
        if unsafe { TerminateJobObject(self.raw(), KILLED_EXIT_CODE) } == 0 {
            return Err(Win32Error::last("TerminateJobObject"));
        }
        Ok(())
    }

    /// True when `process` is in this job.
    pub fn contains(&self, process: &OwnedHandle) -> Result<bool, Win32Error> {
        let mut result = 0;
        // SAFETY: both handles are live; `result` is writable.
        if unsafe { IsProcessInJob(process.as_raw_handle(), self.raw(), &mut result) } == 0 {
            return Err(Win32Error::last("IsProcessInJob"));
        }
        Ok(result != 0)
    }

    /// Terminates the job and waits, at most `limit`, until it reports no active process; a
    /// job that does not empty is an error carrying `JobSurvivors`.
    pub fn kill_and_wait(&self, limit: Duration) -> io::Result<()> {
        let terminated = self.terminate();
        if let Err(e) = self.wait_until_empty(limit) {
            terminated?;
            return Err(e);
        }
        Ok(())
    }

    /// Waits until the job (already terminated) reports no active process, polling
    /// `JobObjectBasicAccountingInformation`, for at most `limit`; `JobSurvivors` when it does
    /// not empty in time. `TerminateJobObject` returns before its processes are gone.
    pub fn wait_until_empty(&self, limit: Duration) -> io::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let active = self.active_processes()?;
            if active == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::other(JobSurvivors {
                    active,
                    pids: self.process_ids().unwrap_or_default(),
                    waited: limit,
                }));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// How many processes of the job are alive.
    pub fn active_processes(&self) -> Result<u32, Win32Error> {
        let mut info = JOBOBJECT_BASIC_ACCOUNTING_INFORMATION::default();
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

    /// The ids of the processes in the job (at most 1024).
    pub fn process_ids(&self) -> Result<Vec<u32>, Win32Error> {
        const MAX: usize = 1024;
        let offset = std::mem::offset_of!(JOBOBJECT_BASIC_PROCESS_ID_LIST, ProcessIdList);
        let mut buffer = vec![0usize; offset / size_of::<usize>() + MAX];
        let bytes = buffer.len() * size_of::<usize>();
        // SAFETY: `buffer` is writable, `bytes` long and aligned for the structure.
        let ok = unsafe {
            QueryInformationJobObject(
                self.raw(),
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
}

/// The processes of a job that outlived `TerminateJobObject` for `waited`: the error
/// `wait_until_empty` (and so `kill_and_wait`) returns, inside an `io::Error`, for whoever must
/// keep protections in place while they exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{active} processes of the job survived TerminateJobObject for {waited:?} (ids {pids:?})")]
pub struct JobSurvivors {
    pub active: u32,
    pub pids: Vec<u32>,
    pub waited: Duration,
}

impl JobSurvivors {
    /// The survivors an `io::Error` from `kill_and_wait` carries, if that is what it is.
    pub fn of(e: &io::Error) -> Option<&JobSurvivors> {
        e.get_ref()?.downcast_ref::<JobSurvivors>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinger() -> std::process::Child {
        let system_root = std::env::var("SystemRoot").unwrap_or_else(|_| r"C:\Windows".into());
        std::process::Command::new(format!(r"{system_root}\System32\cmd.exe"))
            .args(["/d", "/c", "ping -n 30 127.0.0.1 >NUL"])
            .spawn()
            .unwrap()
    }

    #[test]
    fn a_live_job_is_reported_with_its_processes_and_an_ended_one_as_empty() {
        let job = Job::create(&JobLimits::default()).unwrap();
        assert_eq!(job.active_processes().unwrap(), 0);
        let child = pinger();
        let pid = child.id();
        let process = OwnedHandle::from(child);
        assert!(!job.contains(&process).unwrap());
        job.assign(&process).unwrap();
        assert!(job.contains(&process).unwrap());
        let err = job
            .wait_until_empty(Duration::from_millis(200))
            .unwrap_err();
        let survivors = JobSurvivors::of(&err).expect("the error names the survivors");
        assert!(survivors.active >= 1, "{survivors}");
        assert!(survivors.pids.contains(&pid), "{survivors}");
        job.kill_and_wait(Duration::from_secs(10)).unwrap();
        assert_eq!(job.active_processes().unwrap(), 0);
        assert!(job.process_ids().unwrap().is_empty());
    }

    #[test]
    fn closing_the_last_job_handle_ends_the_tree() {
        let job = Job::create(&JobLimits::kill_on_close_only()).unwrap();
        let mut child = pinger();
        let process = crate::handle::duplicate(child.as_handle(), false).unwrap();
        job.assign(&process).unwrap();
        drop(job);
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the process outlived its job");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
