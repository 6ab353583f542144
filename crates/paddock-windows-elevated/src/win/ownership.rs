//! Giving a folder the sandbox created back to the real user (owner), so that the user's own
//! git does not refuse a repository a sandboxed `git init` made ("dubious ownership").
//!
//! Guarantees: only an object owned by one of the given sandbox accounts changes owner, and
//! only its owner (never its DACL); a missing path is left alone.

use super::ffi::{from_win32, sys_err, wide};
use crate::errors::SystemError;
use paddock_windows::apply::error::Win32Error;
use paddock_windows::apply::sid::OwnedSid;
use paddock_windows::sid::Sid;
use std::path::Path;
use windows_sys::Win32::Foundation::{HLOCAL, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, GetNamedSecurityInfoW, SE_FILE_OBJECT, SetNamedSecurityInfoW,
};
use windows_sys::Win32::Security::{OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID};

fn owner_of(path: &Path) -> Result<Sid, SystemError> {
    let w = wide(&path.to_string_lossy());
    let mut owner: PSID = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `w` is NUL-terminated; `sd` receives a LocalAlloc'd descriptor freed below and
    // `owner` points into it.
    let rc = unsafe {
        GetNamedSecurityInfoW(
            w.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION,
            &mut owner,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if rc != 0 {
        return Err(sys_err("GetNamedSecurityInfoW", rc));
    }
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: `owner` points into the live `sd`; `text` is LocalAlloc'd and freed below.
    let ok = unsafe { ConvertSidToStringSidW(owner, &mut text) };
    let result = if ok == 0 {
        Err(from_win32(Win32Error::last("ConvertSidToStringSidW")))
    } else {
        // SAFETY: `text` is a NUL-terminated string from the conversion.
        let s = unsafe {
            let mut n = 0;
            while *text.add(n) != 0 {
                n += 1;
            }
            String::from_utf16_lossy(std::slice::from_raw_parts(text, n))
        };
        Sid::parse(&s).map_err(|e| SystemError::new("ConvertSidToStringSidW", 0, e.to_string()))
    };
    // SAFETY: both were LocalAlloc'd by the calls above and are freed once (null is fine).
    unsafe {
        LocalFree(text as HLOCAL);
        LocalFree(sd as HLOCAL);
    }
    result
}

/// Makes `user` the owner of `path` when one of `sandbox` owns it. Returns true if it changed.
pub fn reown_if_sandbox_owned(
    path: &Path,
    user: &Sid,
    sandbox: &[Sid],
) -> Result<bool, SystemError> {
    if !path.exists() || !sandbox.contains(&owner_of(path)?) {
        return Ok(false);
    }
    let psid = OwnedSid::new(user).map_err(from_win32)?;
    let w = wide(&path.to_string_lossy());
    // SAFETY: `w` is NUL-terminated; `psid` is a valid SID alive for the call; only the owner
    // is set.
    let rc = unsafe {
        SetNamedSecurityInfoW(
            w.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION,
            psid.as_psid(),
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(sys_err("SetNamedSecurityInfoW", rc));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_windows::apply::sid::current_user_sid;

    #[test]
    fn a_folder_not_owned_by_a_sandbox_account_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let me = current_user_sid().unwrap();
        let stranger = Sid::parse("S-1-5-21-7-7-7-1010").unwrap();
        match reown_if_sandbox_owned(dir.path(), &me, std::slice::from_ref(&stranger)) {
            Ok(changed) => assert!(!changed),
            Err(e) => println!("SKIPPED: owner not readable here ({e})"),
        }
        assert!(!reown_if_sandbox_owned(&dir.path().join("missing"), &me, &[stranger]).unwrap());
    }
}
