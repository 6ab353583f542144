//! What the level-2 Win32 code adds to paddock-win32's wrappers: the mapping of a Win32 failure
//! and of a refused string to the errors setup and the broker report, and the WFP GUID.
//!
//! Guarantees: a string with an interior NUL is refused with an error, never cut short.

use crate::errors::{ElevatedError, SystemError};
use crate::filters::Guid;
use paddock_win32::Win32Error;
use paddock_win32::wide::InteriorNul;
use windows_sys::Win32::Foundation::ERROR_INVALID_PARAMETER;
use windows_sys::core::GUID;

/// A Win32 failure, returned as a code by `api`, as setup reports it.
pub fn sys_err(api: &'static str, code: u32) -> SystemError {
    Win32Error::from_code(api, code).into()
}

impl From<InteriorNul> for SystemError {
    fn from(e: InteriorNul) -> SystemError {
        SystemError::new("to_wide", ERROR_INVALID_PARAMETER, e.to_string())
    }
}

impl From<InteriorNul> for ElevatedError {
    fn from(e: InteriorNul) -> ElevatedError {
        ElevatedError::State(e.to_string())
    }
}

/// A password as NUL-terminated UTF-16; the refusal of one with a NUL does not repeat it.
pub fn wide_secret(password: &str) -> Result<Vec<u16>, SystemError> {
    paddock_win32::wide::to_wide(password).map_err(|_| {
        SystemError::new(
            "to_wide",
            ERROR_INVALID_PARAMETER,
            "the password contains a NUL character",
        )
    })
}

pub fn to_guid(g: Guid) -> GUID {
    GUID {
        data1: g.data1,
        data2: g.data2,
        data3: g.data3,
        data4: g.data4,
    }
}
