//! An ACL built by `SetEntriesInAclW` and freed with `LocalFree` on drop: the one way the apply
//! layer makes ACLs (token default DACL, private desktop, file grants).
//!
//! Guarantees: entries are applied in the documented order of `SetEntriesInAclW`, which keeps the
//! result canonical (explicit deny before explicit allow); the SIDs named by the entries must
//! outlive the call only, not the ACL (the ACL holds copies).

use super::error::Win32Error;
use super::sid::OwnedSid;
use windows_sys::Win32::Foundation::{ERROR_SUCCESS, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ACCESS_MODE, DENY_ACCESS, EXPLICIT_ACCESS_W, GRANT_ACCESS, REVOKE_ACCESS, SetEntriesInAclW,
    TRUSTEE_IS_SID, TRUSTEE_IS_UNKNOWN, TRUSTEE_W,
};
use windows_sys::Win32::Security::{ACL, PSECURITY_DESCRIPTOR};

/// What one entry does to the ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryMode {
    /// Adds an allow ACE, merged with an existing allow ACE of the same SID.
    Grant,
    /// Adds a deny ACE, placed before every allow ACE.
    Deny,
    /// Removes every explicit ACE (allow and deny) of the SID.
    Revoke,
}

/// One change handed to `SetEntriesInAclW`.
#[derive(Debug)]
pub struct Entry<'a> {
    pub sid: &'a OwnedSid,
    pub mode: EntryMode,
    /// Access mask (ignored for `Revoke`).
    pub mask: u32,
    /// ACE inheritance flags (`OBJECT_INHERIT_ACE`, `CONTAINER_INHERIT_ACE`, ...).
    pub inheritance: u32,
}

/// An ACL allocated by the system.
#[derive(Debug)]
pub struct OwnedAcl(*mut ACL);

// SAFETY: the ACL is a block of memory owned by this value alone; LocalFree may run on any thread.
unsafe impl Send for OwnedAcl {}

impl OwnedAcl {
    /// A new ACL holding exactly `entries`.
    pub fn build(entries: &[Entry<'_>]) -> Result<OwnedAcl, Win32Error> {
        let explicit: Vec<EXPLICIT_ACCESS_W> = entries
            .iter()
            .map(|e| EXPLICIT_ACCESS_W {
                grfAccessPermissions: e.mask,
                grfAccessMode: access_mode(e.mode),
                grfInheritance: e.inheritance,
                Trustee: TRUSTEE_W {
                    pMultipleTrustee: std::ptr::null_mut(),
                    MultipleTrusteeOperation: 0,
                    TrusteeForm: TRUSTEE_IS_SID,
                    TrusteeType: TRUSTEE_IS_UNKNOWN,
                    ptstrName: e.sid.as_psid().cast(),
                },
            })
            .collect();
        let mut acl: *mut ACL = std::ptr::null_mut();
        // SAFETY: `explicit` holds `len` initialised entries whose SIDs are alive (borrowed from
        // `entries`); there is no old ACL to merge; on success `acl`
        // receives a LocalAlloc'd ACL that this value then owns.
        let code = unsafe {
            SetEntriesInAclW(
                explicit.len() as u32,
                explicit.as_ptr(),
                std::ptr::null(),
                &mut acl,
            )
        };
        if code != ERROR_SUCCESS {
            return Err(Win32Error::from_code("SetEntriesInAclW", code));
        }
        Ok(OwnedAcl(acl))
    }

    /// The pointer to pass to Win32; valid while `self` lives.
    pub fn as_ptr(&self) -> *mut ACL {
        self.0
    }
}

impl Drop for OwnedAcl {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the ACL was LocalAlloc'd by SetEntriesInAclW and is freed only here.
            unsafe { LocalFree(self.0.cast()) };
        }
    }
}

/// A security descriptor the system allocated (`GetNamedSecurityInfoW`,
/// `ConvertStringSecurityDescriptorToSecurityDescriptorW`), freed on drop.
#[derive(Debug)]
pub struct RawSecurityDescriptor(PSECURITY_DESCRIPTOR);

impl RawSecurityDescriptor {
    /// Takes ownership of a descriptor the system allocated with `LocalAlloc`.
    ///
    /// # Safety
    /// `sd` must be a LocalAlloc'd security descriptor that nobody else frees.
    pub(crate) unsafe fn from_raw(sd: PSECURITY_DESCRIPTOR) -> RawSecurityDescriptor {
        RawSecurityDescriptor(sd)
    }

    /// The pointer to pass to Win32; valid while `self` lives.
    pub fn as_ptr(&self) -> PSECURITY_DESCRIPTOR {
        self.0
    }
}

impl Drop for RawSecurityDescriptor {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the descriptor was LocalAlloc'd by the system and is freed only here.
            unsafe { LocalFree(self.0) };
        }
    }
}

fn access_mode(mode: EntryMode) -> ACCESS_MODE {
    match mode {
        EntryMode::Grant => GRANT_ACCESS,
        EntryMode::Deny => DENY_ACCESS,
        EntryMode::Revoke => REVOKE_ACCESS,
    }
}
