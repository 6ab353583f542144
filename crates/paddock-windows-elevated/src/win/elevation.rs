//! Elevation: is this process elevated, and starting this program again elevated through the
//! UAC prompt (`ShellExecuteExW` with the `runas` verb), waiting for its exit code.
//!
//! Guarantees: a cancelled prompt is `UacCancelled` (1223), never a generic failure.

use crate::errors::ElevatedError;
use paddock_win32::Win32Error;
use paddock_win32::wide::to_wide;
use paddock_windows::apply::token::ProcessToken;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Security::{TOKEN_ELEVATION, TokenElevation};
use windows_sys::Win32::System::Threading::{GetExitCodeProcess, INFINITE, WaitForSingleObject};
use windows_sys::Win32::UI::Shell::{
    SEE_MASK_NOASYNC, SEE_MASK_NOCLOSEPROCESS, SHELLEXECUTEINFOW, ShellExecuteExW,
};
use windows_sys::Win32::UI::WindowsAndMessaging::SW_SHOWNORMAL;

fn os(e: Win32Error) -> ElevatedError {
    ElevatedError::from_elevation_code(e.api, e.code, e.message)
}

/// True when this process runs with an elevated (full administrator or SYSTEM) token.
pub fn is_elevated() -> Result<bool, ElevatedError> {
    let token = ProcessToken::open_query().map_err(os)?;
    let info = token.information(TokenElevation).map_err(os)?;
    // SAFETY: the buffer holds a TOKEN_ELEVATION for this information class.
    Ok(unsafe { (*info.as_ptr::<TOKEN_ELEVATION>()).TokenIsElevated } != 0)
}

/// Runs this executable again with `args` (already quoted for its command line) through the
/// UAC prompt, and returns its exit code.
pub fn run_elevated(args: &str) -> Result<u32, ElevatedError> {
    let exe = std::env::current_exe().map_err(|e| ElevatedError::State(e.to_string()))?;
    let file = to_wide(&exe)?;
    let (verb, params) = (to_wide("runas")?, to_wide(args)?);
    let mut info = SHELLEXECUTEINFOW {
        cbSize: size_of::<SHELLEXECUTEINFOW>() as u32,
        fMask: SEE_MASK_NOCLOSEPROCESS | SEE_MASK_NOASYNC,
        lpVerb: verb.as_ptr(),
        lpFile: file.as_ptr(),
        lpParameters: params.as_ptr(),
        nShow: SW_SHOWNORMAL,
        ..Default::default()
    };
    // SAFETY: `info` and its strings live across the call; `hProcess` is returned to us.
    if unsafe { ShellExecuteExW(&mut info) } == 0 {
        return Err(os(Win32Error::last("ShellExecuteExW")));
    }
    if info.hProcess.is_null() {
        return Err(ElevatedError::State(
            "the elevated setup started but gave no process handle to wait on".into(),
        ));
    }
    // SAFETY: with SEE_MASK_NOCLOSEPROCESS `hProcess` is a process handle we now own.
    let process = unsafe { OwnedHandle::from_raw_handle(info.hProcess) };
    // SAFETY: waits on the live process handle.
    unsafe { WaitForSingleObject(process.as_raw_handle(), INFINITE) };
    let mut code = 0u32;
    // SAFETY: valid process handle and out-pointer.
    if unsafe { GetExitCodeProcess(process.as_raw_handle(), &mut code) } == 0 {
        return Err(os(Win32Error::last("GetExitCodeProcess")));
    }
    Ok(code)
}
