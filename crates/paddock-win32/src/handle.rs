//! Owned handles: checked conversion of a returned `HANDLE` into `OwnedHandle` (closed on drop),
//! inheritable duplicates, the inherit flag, anonymous pipes and the NUL device for a child's
//! standard streams.
//!
//! Guarantees: a null or `INVALID_HANDLE_VALUE` result is an error naming the API, never an
//! owned handle; a pipe's parent end is never inheritable, not even for an instant, so no other
//! process started meanwhile can hold it open.

use crate::Win32Error;
use crate::wide::to_wide;
use std::os::windows::io::{AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::{
    DUPLICATE_SAME_ACCESS, DuplicateHandle, GENERIC_READ, GENERIC_WRITE, HANDLE,
    HANDLE_FLAG_INHERIT, INVALID_HANDLE_VALUE, SetHandleInformation,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::Pipes::CreatePipe;
use windows_sys::Win32::System::Threading::GetCurrentProcess;

/// Takes ownership of `h` as returned by `api`, or reports `api`'s last error when it is null
/// or `INVALID_HANDLE_VALUE`. Call right after `api`.
///
/// # Safety
/// `h` must be null, `INVALID_HANDLE_VALUE`, or a handle `api` just returned that nobody else
/// owns or closes.
pub unsafe fn owned(h: HANDLE, api: &'static str) -> Result<OwnedHandle, Win32Error> {
    if h.is_null() || h == INVALID_HANDLE_VALUE {
        return Err(Win32Error::last(api));
    }
    // SAFETY: the caller guarantees `h` is a valid handle owned by no one else.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// A new handle to the same object as `h`, inheritable or not.
pub fn duplicate(h: BorrowedHandle<'_>, inheritable: bool) -> Result<OwnedHandle, Win32Error> {
    let mut out: HANDLE = std::ptr::null_mut();
    // SAFETY: duplicates a live handle within this process; `out` receives the new handle.
    let ok = unsafe {
        let me = GetCurrentProcess();
        DuplicateHandle(
            me,
            h.as_raw_handle(),
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
    // SAFETY: DuplicateHandle succeeded: `out` is a new handle only we hold.
    unsafe { owned(out, "DuplicateHandle") }
}

/// Sets or clears `h`'s inherit flag.
pub fn set_inheritable(h: &OwnedHandle, on: bool) -> Result<(), Win32Error> {
    let flags = if on { HANDLE_FLAG_INHERIT } else { 0 };
    // SAFETY: `h` is a live handle we own.
    if unsafe { SetHandleInformation(h.as_raw_handle(), HANDLE_FLAG_INHERIT, flags) } == 0 {
        return Err(Win32Error::last("SetHandleInformation"));
    }
    Ok(())
}

/// An anonymous pipe for a child's output: (our read end, never inheritable; the child's
/// write end, inheritable).
pub fn output_pipe() -> Result<(OwnedHandle, OwnedHandle), Win32Error> {
    let (mut r, mut w): (HANDLE, HANDLE) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: `r` and `w` receive the two new handles; null attributes: not inheritable.
    if unsafe { CreatePipe(&mut r, &mut w, std::ptr::null(), 0) } == 0 {
        return Err(Win32Error::last("CreatePipe"));
    }
    // SAFETY: CreatePipe succeeded: both are new handles only we hold.
    let (r, w) = unsafe { (owned(r, "CreatePipe")?, owned(w, "CreatePipe")?) };
    set_inheritable(&w, true)?;
    Ok((r, w))
}

/// The NUL device, opened for reading (a child's stdin) or writing, inheritable.
pub fn null_device(read: bool) -> Result<OwnedHandle, Win32Error> {
    let name = to_wide("NUL").map_err(|e| e.for_api("CreateFileW(NUL)"))?;
    let access = if read { GENERIC_READ } else { GENERIC_WRITE };
    // SAFETY: `name` is NUL-terminated; no security attributes or template.
    let h = unsafe {
        CreateFileW(
            name.as_ptr(),
            access,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            std::ptr::null(),
            OPEN_EXISTING,
            0,
            std::ptr::null_mut(),
        )
    };
    // SAFETY: `h` was just returned by CreateFileW and is owned by no one else.
    let h = unsafe { owned(h, "CreateFileW(NUL)") }?;
    set_inheritable(&h, true)?;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use windows_sys::Win32::Foundation::GetHandleInformation;

    fn inheritable(h: &OwnedHandle) -> bool {
        let mut flags = 0u32;
        // SAFETY: a live handle; `flags` is writable.
        let ok = unsafe { GetHandleInformation(h.as_raw_handle(), &mut flags) };
        assert_ne!(ok, 0);
        flags & HANDLE_FLAG_INHERIT != 0
    }

    #[test]
    fn output_pipe_carries_bytes_and_only_the_child_end_is_inheritable() {
        let (r, w) = output_pipe().unwrap();
        assert!(!inheritable(&r), "our read end must never be inherited");
        assert!(inheritable(&w));
        let mut writer = std::fs::File::from(w);
        writer.write_all(b"ping").unwrap();
        drop(writer);
        let mut got = String::new();
        std::fs::File::from(r).read_to_string(&mut got).unwrap();
        assert_eq!(got, "ping");
    }

    #[test]
    fn a_null_or_invalid_handle_is_an_error_naming_the_api() {
        // SAFETY: null and INVALID_HANDLE_VALUE are allowed and own nothing.
        let e = unsafe { owned(std::ptr::null_mut(), "OpenProcess") }.unwrap_err();
        assert_eq!(e.api, "OpenProcess");
        // SAFETY: as above.
        assert!(unsafe { owned(INVALID_HANDLE_VALUE, "CreateFileW") }.is_err());
    }

    #[test]
    fn null_device_reads_as_empty_and_is_inheritable() {
        let h = null_device(true).unwrap();
        assert!(inheritable(&h));
        let mut buf = Vec::new();
        std::fs::File::from(h).read_to_end(&mut buf).unwrap();
        assert!(buf.is_empty());
    }
}
