//! Thin safe wrappers for the handles the spawn juggles: checked conversion of a returned
//! `HANDLE` into `OwnedHandle` (closed on drop), inheritable duplicates, the inherit flag, and
//! NUL-terminated wide strings. `unsafe` stays inside these functions.

use super::Win32Error;
use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::{
    DUPLICATE_SAME_ACCESS, DuplicateHandle, HANDLE, HANDLE_FLAG_INHERIT, INVALID_HANDLE_VALUE,
    SetHandleInformation,
};
use windows_sys::Win32::System::Threading::GetCurrentProcess;

/// Takes ownership of `h` as returned by `api`, or reports `api`'s last error when it is null
/// or `INVALID_HANDLE_VALUE`.
pub(crate) fn owned(h: HANDLE, api: &'static str) -> Result<OwnedHandle, Win32Error> {
    if h.is_null() || h == INVALID_HANDLE_VALUE {
        return Err(Win32Error::last(api));
    }
    // SAFETY: `h` is a valid handle just returned to us and owned by no one else.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// A new handle to the same object as `h`, inheritable or not.
pub(crate) fn duplicate(h: HANDLE, inheritable: bool) -> Result<OwnedHandle, Win32Error> {
    let mut out: HANDLE = std::ptr::null_mut();
    // SAFETY: duplicates within this process; `out` receives the new handle.
    let ok = unsafe {
        let me = GetCurrentProcess();
        DuplicateHandle(
            me,
            h,
            me,
            &mut out,
            0,
            i32::from(inheritable),
            DUPLICATE_SAME_ACCESS,
        )
    };
    if ok == 0 {
        return Err(Win32Error::last("DuplicateHandle"));
    }
    owned(out, "DuplicateHandle")
}

/// Sets or clears `h`'s inherit flag.
pub(crate) fn set_inheritable(h: &OwnedHandle, on: bool) -> Result<(), Win32Error> {
    let flags = if on { HANDLE_FLAG_INHERIT } else { 0 };
    // SAFETY: `h` is a live handle we own.
    if unsafe { SetHandleInformation(h.as_raw_handle(), HANDLE_FLAG_INHERIT, flags) } == 0 {
        return Err(Win32Error::last("SetHandleInformation"));
    }
    Ok(())
}

/// `s` as UTF-16 with a terminating NUL; refuses an embedded NUL, which would cut it short.
pub(crate) fn wide_nul(s: &OsStr, what: &str) -> io::Result<Vec<u16>> {
    let mut v: Vec<u16> = s.encode_wide().collect();
    if v.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the {what} contains a NUL character"),
        ));
    }
    v.push(0);
    Ok(v)
}
