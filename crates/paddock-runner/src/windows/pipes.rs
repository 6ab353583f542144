//! The child's three standard handles and, with capture, our read ends of its output pipes.
//! Child-side handles are inheritable (they go into the explicit inherited-handle list); our
//! ends never are, so no other process we start can hold a pipe open by accident.

use super::Win32Error;
use crate::StdioMode;
use paddock_win32::handle::{duplicate, null_device, output_pipe};
use std::fs::File;
use std::os::windows::io::{AsRawHandle, BorrowedHandle, OwnedHandle};
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Console::{
    GetStdHandle, STD_ERROR_HANDLE, STD_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
};

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
                let (out_r, out_w) = output_pipe()?;
                let (err_r, err_w) = output_pipe()?;
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

/// An inheritable duplicate of one of our standard handles, or the NUL device when we have
/// none (a GUI or detached parent).
fn ours(which: STD_HANDLE, write: bool) -> Result<OwnedHandle, Win32Error> {
    // SAFETY: GetStdHandle only reads the process parameters.
    let h = unsafe { GetStdHandle(which) };
    if h.is_null() || h == windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE {
        return null_device(!write);
    }
    // SAFETY: a standard handle of this process, which stays open while we duplicate it.
    let h = unsafe { BorrowedHandle::borrow_raw(h) };
    duplicate(h, true).or_else(|_| null_device(!write))
}
