//! The error every Win32 call reports, in the runner, the Windows backend and its elevated level
//! alike: which API failed, its error code and the system's own message for that code
//! (FormatMessageW), so a report names the call that broke instead of a bare number. Converts
//! into `io::Error` with the matching kind. The type is plain data on every OS; building one
//! from the thread's last error or from the system's message table needs Windows.

use std::io;

/// A failed Win32 call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{api} failed with Win32 error {code}: {message}")]
pub struct Win32Error {
    /// The API that failed, e.g. `CreateProcessAsUserW`.
    pub api: &'static str,
    /// The Win32 error code (`GetLastError` or the returned `WIN32_ERROR`).
    pub code: u32,
    /// The system's message for `code` (FormatMessageW), trimmed, or Paddock's own text when
    /// the call was refused before it reached the system.
    pub message: String,
}

impl Win32Error {
    /// A failure of `api` with code `code` explained by `message`.
    pub fn new(api: &'static str, code: u32, message: impl Into<String>) -> Win32Error {
        Win32Error {
            api,
            code,
            message: message.into(),
        }
    }
}

#[cfg(windows)]
impl Win32Error {
    /// The error `api` left in the thread's last-error slot. Call right after the failing call.
    pub fn last(api: &'static str) -> Win32Error {
        // SAFETY: GetLastError reads thread-local state and has no preconditions.
        let code = unsafe { windows_sys::Win32::Foundation::GetLastError() };
        Win32Error::from_code(api, code)
    }

    /// The error for a code returned directly by `api`.
    pub fn from_code(api: &'static str, code: u32) -> Win32Error {
        Win32Error {
            api,
            code,
            message: system_message(code),
        }
    }
}

impl From<Win32Error> for io::Error {
    fn from(e: Win32Error) -> io::Error {
        let kind = io::Error::from_raw_os_error(e.code as i32).kind();
        io::Error::new(kind, e)
    }
}

/// The system's text for a Win32 error code, or a neutral text when it has none.
#[cfg(windows)]
pub fn system_message(code: u32) -> String {
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::System::Diagnostics::Debug::{
        FORMAT_MESSAGE_ALLOCATE_BUFFER, FORMAT_MESSAGE_FROM_SYSTEM, FORMAT_MESSAGE_IGNORE_INSERTS,
        FormatMessageW,
    };
    let mut buffer: *mut u16 = std::ptr::null_mut();
    // SAFETY: with FORMAT_MESSAGE_ALLOCATE_BUFFER, lpbuffer is really a `*mut PWSTR` that the
    // system fills with a LocalAlloc'd buffer; we pass the address of `buffer` for that, no
    // source and no insert arguments (IGNORE_INSERTS).
    let len = unsafe {
        FormatMessageW(
            FORMAT_MESSAGE_ALLOCATE_BUFFER
                | FORMAT_MESSAGE_FROM_SYSTEM
                | FORMAT_MESSAGE_IGNORE_INSERTS,
            std::ptr::null(),
            code,
            0,
            (&raw mut buffer).cast(),
            0,
            std::ptr::null(),
        )
    };
    if len == 0 || buffer.is_null() {
        return format!("no system message for error {code}");
    }
    // SAFETY: FormatMessageW returned `len` UTF-16 units written at `buffer`.
    let text =
        String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(buffer, len as usize) });
    // SAFETY: `buffer` was allocated by FormatMessageW with LocalAlloc and is freed once here.
    unsafe { LocalFree(buffer.cast()) };
    text.trim_end().to_string()
}

#[cfg(all(test, windows))]
mod tests {
    use super::*;

    #[test]
    fn access_denied_error_names_api_code_and_message() {
        let e = Win32Error::from_code("CreateFileW", 5);
        let text = e.to_string();
        assert!(
            text.starts_with("CreateFileW failed with Win32 error 5: "),
            "{text}"
        );
        assert!(!e.message.is_empty());
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::PermissionDenied);
    }
}
