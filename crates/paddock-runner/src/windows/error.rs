//! The error every Win32 call of the runner reports: which API failed, its error code and the
//! system's message for it, convertible into `io::Error` with the matching kind.

use std::io;

/// A failed Win32 call.
#[derive(Debug, thiserror::Error)]
#[error("{api} failed: {message} (Win32 error {code})")]
pub struct Win32Error {
    pub api: &'static str,
    pub code: u32,
    pub message: String,
}

impl Win32Error {
    /// The calling thread's last error, attributed to `api`.
    pub fn last(api: &'static str) -> Win32Error {
        let err = io::Error::last_os_error();
        Win32Error::from_code(api, err.raw_os_error().unwrap_or(0) as u32)
    }

    /// `code` (a Win32 error code), attributed to `api`.
    pub fn from_code(api: &'static str, code: u32) -> Win32Error {
        let message = io::Error::from_raw_os_error(code as i32).to_string();
        Win32Error { api, code, message }
    }
}

impl From<Win32Error> for io::Error {
    fn from(e: Win32Error) -> io::Error {
        let kind = io::Error::from_raw_os_error(e.code as i32).kind();
        io::Error::new(kind, e)
    }
}
