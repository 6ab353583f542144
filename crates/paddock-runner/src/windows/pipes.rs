//! The child's three standard handles and, with capture, our read ends of its output pipes.
//! Child-side handles are inheritable (they go into the explicit inherited-handle list); our
//! ends never are, so no other process we start can hold a pipe open by accident.

use super::Win32Error;
use super::handle::{duplicate, owned, set_inheritable};
use crate::StdioMode;
use std::fs::File;
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::{GENERIC_READ, GENERIC_WRITE, HANDLE};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::Console::{
    GetStdHandle, STD_ERROR_HANDLE, STD_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
};
use windows_sys::Win32::System::Pipes::CreatePipe;

/// The handles for one spawn.
pub(crate) struct StdioHandles {
    /// stdin, stdout, stderr for the child: inheritable, distinct handles.
    pub child: [OwnedHandle; 3],
    /// Our read ends of stdout and stderr (capture only).
    pub stdout: Option<File>,
    pub stderr: Option<File>,
}

impl StdioHandles {
    pub(crate) fn new(mode: StdioMode) -> Result<StdioHandles, Win32Error> {
        match mode {
            StdioMode::Capture => {
                let (out_r, out_w) = pipe()?;
                let (err_r, err_w) = pipe()?;
                Ok(StdioHandles {
                    child: [null_device(true)?, out_w, err_w],
                    stdout: Some(File::from(out_r)),
                    stderr: Some(File::from(err_r)),
                })
            }
            StdioMode::Inherit => Ok(StdioHandles {
                child: [
                    ours(STD_INPUT_HANDLE, false)?,
                    ours(STD_OUTPUT_HANDLE, true)?,
                    ours(STD_ERROR_HANDLE, true)?,
                ],
                stdout: None,
                stderr: None,
            }),
        }
    }

    pub(crate) fn raw_child(&self) -> [HANDLE; 3] {
        [
            self.child[0].as_raw_handle(),
            self.child[1].as_raw_handle(),
            self.child[2].as_raw_handle(),
        ]
    }
}

/// An anonymous pipe: (our read end, the child's inheritable write end).
fn pipe() -> Result<(OwnedHandle, OwnedHandle), Win32Error> {
    let (mut r, mut w): (HANDLE, HANDLE) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: `r` and `w` receive the two new handles; null attributes: not inheritable.
    if unsafe { CreatePipe(&mut r, &mut w, std::ptr::null(), 0) } == 0 {
        return Err(Win32Error::last("CreatePipe"));
    }
    let (r, w) = (owned(r, "CreatePipe")?, owned(w, "CreatePipe")?);
    set_inheritable(&w, true)?;
    Ok((r, w))
}

/// The NUL device, opened for reading (stdin) or writing, inheritable.
fn null_device(read: bool) -> Result<OwnedHandle, Win32Error> {
    let name: Vec<u16> = "NUL\0".encode_utf16().collect();
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
    let h = owned(h, "CreateFileW(NUL)")?;
    set_inheritable(&h, true)?;
    Ok(h)
}

/// An inheritable duplicate of one of our standard handles, or the NUL device when we have
/// none (a GUI or detached parent).
fn ours(which: STD_HANDLE, write: bool) -> Result<OwnedHandle, Win32Error> {
    // SAFETY: GetStdHandle only reads the process parameters.
    let h = unsafe { GetStdHandle(which) };
    if h.is_null() || h == windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE {
        return null_device(!write);
    }
    duplicate(h, true).or_else(|_| null_device(!write))
}
