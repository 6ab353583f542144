//! User rights in the local security policy (`LsaAddAccountRights` and friends) for the sandbox
//! group: the deny-logon rights setup gives it and uninstall takes back.
//!
//! Guarantees: the policy handle is closed on every path; removing a right the group does not
//! hold succeeds; a SID with no rights at all reads as an empty set.

use super::ffi::sys_err;
use crate::errors::SystemError;
use paddock_windows::apply::sid::OwnedSid;
use paddock_windows::sid::Sid;
use std::collections::BTreeSet;
use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, NTSTATUS};
use windows_sys::Win32::Security::Authentication::Identity::{
    LSA_HANDLE, LSA_OBJECT_ATTRIBUTES, LSA_UNICODE_STRING, LsaAddAccountRights, LsaClose,
    LsaEnumerateAccountRights, LsaFreeMemory, LsaNtStatusToWinError, LsaOpenPolicy,
    LsaRemoveAccountRights, POLICY_CREATE_ACCOUNT, POLICY_LOOKUP_NAMES,
};

fn check(api: &'static str, status: NTSTATUS) -> Result<(), SystemError> {
    if status == 0 {
        return Ok(());
    }
    // SAFETY: pure conversion of a status code.
    Err(sys_err(api, unsafe { LsaNtStatusToWinError(status) }))
}

/// An open local policy, closed on drop.
struct Policy(LSA_HANDLE);

impl Policy {
    fn open() -> Result<Policy, SystemError> {
        let attrs = LSA_OBJECT_ATTRIBUTES::default();
        let mut h: LSA_HANDLE = 0;
        // SAFETY: local system (null name), zeroed attributes as documented; `h` receives the
        // handle we own.
        let status = unsafe {
            LsaOpenPolicy(
                std::ptr::null(),
                &attrs,
                (POLICY_CREATE_ACCOUNT | POLICY_LOOKUP_NAMES) as u32,
                &mut h,
            )
        };
        check("LsaOpenPolicy", status)?;
        Ok(Policy(h))
    }
}

impl Drop for Policy {
    fn drop(&mut self) {
        // SAFETY: closes the handle this value owns, once.
        unsafe { LsaClose(self.0) };
    }
}

/// `rights` as UTF-16 buffers and the `LSA_UNICODE_STRING`s pointing into them.
fn unicode(rights: &[String]) -> (Vec<Vec<u16>>, Vec<LSA_UNICODE_STRING>) {
    let mut bufs: Vec<Vec<u16>> = rights.iter().map(|r| r.encode_utf16().collect()).collect();
    let strings = bufs
        .iter_mut()
        .map(|b| LSA_UNICODE_STRING {
            Length: (b.len() * 2) as u16,
            MaximumLength: (b.len() * 2) as u16,
            Buffer: b.as_mut_ptr(),
        })
        .collect();
    (bufs, strings)
}

pub fn add_rights(sid: &Sid, rights: &[String]) -> Result<(), SystemError> {
    let policy = Policy::open()?;
    let psid = OwnedSid::new(sid)?;
    let (_bufs, strings) = unicode(rights);
    // SAFETY: valid policy handle and SID; `strings` point into `_bufs`, alive for the call.
    let status = unsafe {
        LsaAddAccountRights(
            policy.0,
            psid.as_psid(),
            strings.as_ptr(),
            strings.len() as u32,
        )
    };
    check("LsaAddAccountRights", status)
}

pub fn remove_rights(sid: &Sid, rights: &[String]) -> Result<(), SystemError> {
    let policy = Policy::open()?;
    let psid = OwnedSid::new(sid)?;
    let (_bufs, strings) = unicode(rights);
    // SAFETY: as in `add_rights`; `false`: remove only the listed rights.
    let status = unsafe {
        LsaRemoveAccountRights(
            policy.0,
            psid.as_psid(),
            false,
            strings.as_ptr(),
            strings.len() as u32,
        )
    };
    match check("LsaRemoveAccountRights", status) {
        Err(e) if e.code == ERROR_FILE_NOT_FOUND => Ok(()),
        other => other,
    }
}

pub fn rights_of(sid: &Sid) -> Result<BTreeSet<String>, SystemError> {
    let policy = Policy::open()?;
    let psid = OwnedSid::new(sid)?;
    let mut list: *mut LSA_UNICODE_STRING = std::ptr::null_mut();
    let mut count = 0u32;
    // SAFETY: valid handle and SID; on success `list` is LSA memory freed below.
    let status =
        unsafe { LsaEnumerateAccountRights(policy.0, psid.as_psid(), &mut list, &mut count) };
    match check("LsaEnumerateAccountRights", status) {
        Err(e) if e.code == ERROR_FILE_NOT_FOUND => return Ok(BTreeSet::new()),
        other => other?,
    }
    let mut out = BTreeSet::new();
    for i in 0..count as usize {
        // SAFETY: `list` holds `count` strings of `Length` bytes, valid until LsaFreeMemory.
        let s = unsafe {
            let u = &*list.add(i);
            String::from_utf16_lossy(std::slice::from_raw_parts(
                u.Buffer,
                usize::from(u.Length / 2),
            ))
        };
        out.insert(s);
    }
    // SAFETY: frees the array LsaEnumerateAccountRights allocated, once.
    unsafe { LsaFreeMemory(list.cast()) };
    Ok(out)
}
