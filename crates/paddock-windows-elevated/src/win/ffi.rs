//! Small owned wrappers the level-2 Win32 code shares: NUL-terminated UTF-16 strings, a
//! security descriptor built from SDDL (freed on drop), and the mapping of a Win32 failure to
//! the `SystemError` setup reports.
//!
//! Guarantees: every pointer handed out lives as long as its owner; nothing here leaks.

use crate::errors::SystemError;
use crate::filters::Guid;
use paddock_windows::apply::error::{Win32Error, system_message};
use windows_sys::Win32::Foundation::{HLOCAL, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{GetSecurityDescriptorLength, PSECURITY_DESCRIPTOR};
use windows_sys::core::GUID;

/// `s` as NUL-terminated UTF-16; an interior NUL ends the string early (callers pass names and
/// texts Paddock made, or ones already checked).
pub fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16()
        .take_while(|c| *c != 0)
        .chain(std::iter::once(0))
        .collect()
}

/// A Win32 failure as setup reports it.
pub fn sys_err(api: &'static str, code: u32) -> SystemError {
    SystemError::new(api, code, system_message(code))
}

/// `Win32Error` (from paddock-windows' wrappers) as setup reports it.
pub fn from_win32(e: Win32Error) -> SystemError {
    SystemError::new(e.api, e.code, e.message)
}

pub fn to_guid(g: Guid) -> GUID {
    GUID {
        data1: g.data1,
        data2: g.data2,
        data3: g.data3,
        data4: g.data4,
    }
}

/// A self-relative security descriptor made from SDDL, `LocalFree`d on drop.
pub struct SddlDescriptor(PSECURITY_DESCRIPTOR);

impl SddlDescriptor {
    pub fn new(sddl: &str) -> Result<SddlDescriptor, SystemError> {
        let text = wide(sddl);
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `text` is NUL-terminated; on success `sd` receives a LocalAlloc'd descriptor
        // that this value owns.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                text.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            let e = Win32Error::last("ConvertStringSecurityDescriptorToSecurityDescriptorW");
            return Err(from_win32(e));
        }
        Ok(SddlDescriptor(sd))
    }

    pub fn as_ptr(&self) -> PSECURITY_DESCRIPTOR {
        self.0
    }

    /// Its length in bytes (self-relative form).
    pub fn byte_len(&self) -> u32 {
        // SAFETY: `self.0` is a valid descriptor for the life of `self`.
        unsafe { GetSecurityDescriptorLength(self.0) }
    }
}

impl Drop for SddlDescriptor {
    fn drop(&mut self) {
        // SAFETY: the descriptor was LocalAlloc'd by the conversion and is freed exactly once.
        unsafe { LocalFree(self.0 as HLOCAL) };
    }
}
