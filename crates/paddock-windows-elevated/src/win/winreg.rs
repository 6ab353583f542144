//! HKLM `REG_DWORD` values (the sign-in screen's `SpecialAccounts\UserList`).
//!
//! Guarantees: deleting an absent value succeeds; reading an absent value is `None`.

use super::ffi::sys_err;
use crate::errors::SystemError;
use paddock_win32::wide::to_wide;
use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND};
use windows_sys::Win32::System::Registry::{
    HKEY_LOCAL_MACHINE, REG_DWORD, RRF_RT_REG_DWORD, RegDeleteKeyValueW, RegGetValueW,
    RegSetKeyValueW,
};

pub fn set_dword(key: &str, name: &str, value: u32) -> Result<(), SystemError> {
    let (k, n) = (to_wide(key)?, to_wide(name)?);
    // SAFETY: strings are NUL-terminated; the data is 4 bytes on the stack. The key is created
    // when missing.
    let rc = unsafe {
        RegSetKeyValueW(
            HKEY_LOCAL_MACHINE,
            k.as_ptr(),
            n.as_ptr(),
            REG_DWORD,
            (&value as *const u32).cast(),
            4,
        )
    };
    if rc != 0 {
        return Err(sys_err("RegSetKeyValueW", rc));
    }
    Ok(())
}

pub fn get_dword(key: &str, name: &str) -> Result<Option<u32>, SystemError> {
    let (k, n) = (to_wide(key)?, to_wide(name)?);
    let mut value = 0u32;
    let mut len = 4u32;
    // SAFETY: the output buffer is a u32 of `len` bytes.
    let rc = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            k.as_ptr(),
            n.as_ptr(),
            RRF_RT_REG_DWORD,
            std::ptr::null_mut(),
            (&mut value as *mut u32).cast(),
            &mut len,
        )
    };
    match rc {
        0 => Ok(Some(value)),
        ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND => Ok(None),
        other => Err(sys_err("RegGetValueW", other)),
    }
}

pub fn delete_value(key: &str, name: &str) -> Result<(), SystemError> {
    let (k, n) = (to_wide(key)?, to_wide(name)?);
    // SAFETY: strings are NUL-terminated.
    let rc = unsafe { RegDeleteKeyValueW(HKEY_LOCAL_MACHINE, k.as_ptr(), n.as_ptr()) };
    match rc {
        0 | ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND => Ok(()),
        other => Err(sys_err("RegDeleteKeyValueW", other)),
    }
}
