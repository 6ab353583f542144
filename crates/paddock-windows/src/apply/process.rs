//! Naming a process across time: its id and creation time (`ProcessStamp`), taken when a tree
//! outlives its kill, and the check recovery makes later that exactly that process still runs.
//!
//! Guarantees: a stamp names one process even after its id is reused (the creation time
//! differs); `alive` is false only when the process is certainly gone (no such id, another
//! process under the id, or it has exited), and true when it cannot tell (access denied).

use crate::journal::ProcessStamp;
use paddock_win32::Win32Error;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::{ERROR_ACCESS_DENIED, FILETIME, WAIT_TIMEOUT};
use windows_sys::Win32::System::Threading::{
    GetProcessTimes, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE,
    WaitForSingleObject,
};

fn open(pid: u32) -> Result<Option<OwnedHandle>, Win32Error> {
    // SAFETY: no pointers; on success we own the returned handle.
    let raw = unsafe {
        OpenProcess(
            PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_SYNCHRONIZE,
            0,
            pid,
        )
    };
    if raw.is_null() {
        let e = Win32Error::last("OpenProcess");
        // ERROR_INVALID_PARAMETER: no process has this id.
        return if e.code == ERROR_ACCESS_DENIED {
            Err(e)
        } else {
            Ok(None)
        };
    }
    // SAFETY: a valid handle owned by nobody else.
    Ok(Some(unsafe { OwnedHandle::from_raw_handle(raw) }))
}

fn creation_time(process: &OwnedHandle) -> Result<u64, Win32Error> {
    let mut times = [FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    }; 4];
    let [created, exited, kernel, user] = &mut times;
    // SAFETY: `process` is open with PROCESS_QUERY_LIMITED_INFORMATION; the out-pointers are
    // writable locals.
    if unsafe { GetProcessTimes(process.as_raw_handle(), created, exited, kernel, user) } == 0 {
        return Err(Win32Error::last("GetProcessTimes"));
    }
    Ok(u64::from(created.dwHighDateTime) << 32 | u64::from(created.dwLowDateTime))
}

/// The stamp of the running process `pid`, `None` when it is gone or has exited.
pub fn stamp(pid: u32) -> Option<ProcessStamp> {
    let process = open(pid).ok()??;
    let stamp = ProcessStamp {
        pid,
        created: creation_time(&process).ok()?,
    };
    running(&process).then_some(stamp)
}

/// False once `process` (open with SYNCHRONIZE) has exited.
fn running(process: &OwnedHandle) -> bool {
    // SAFETY: `process` is a live handle opened with SYNCHRONIZE.
    unsafe { WaitForSingleObject(process.as_raw_handle(), 0) == WAIT_TIMEOUT }
}

/// True unless the process `stamp` names is certainly gone.
pub fn alive(stamp: &ProcessStamp) -> bool {
    let process = match open(stamp.pid) {
        Ok(Some(p)) => p,
        Ok(None) => return false,
        Err(_) => return true,
    };
    match creation_time(&process) {
        Ok(created) if created != stamp.created => return false,
        Ok(_) => {}
        Err(_) => return true,
    }
    running(&process)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_process_is_alive_until_it_exits_and_a_reused_id_is_not_it() {
        let mut child = std::process::Command::new("cmd")
            .args(["/d", "/c", "ping -n 30 127.0.0.1 >NUL"])
            .spawn()
            .unwrap();
        let s = stamp(child.id()).expect("a running process has a stamp");
        assert!(alive(&s));
        let other = ProcessStamp {
            created: s.created + 1,
            ..s
        };
        assert!(!alive(&other), "same id, another creation time");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!alive(&s), "exited");
        assert_eq!(stamp(child.id()), None, "an exited process has no stamp");
    }
}
