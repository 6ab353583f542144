//! SIDs between their string form (`S-1-5-...`) and the binary form Win32 takes: an owned
//! binary SID (freed with `LocalFree` on drop), the string of a SID the system handed out, and
//! the SID of a local account name.
//!
//! Guarantees: an `OwnedSid` always holds a valid SID allocated by the system; a SID pointer is
//! checked with `IsValidSid` before it is converted; a name or SID text with an interior NUL is
//! refused, never cut short (which would name another account).

use crate::Win32Error;
use crate::wide::{take_local_pwstr, to_wide};
use std::fmt::Display;
use windows_sys::Win32::Foundation::{
    ERROR_INSUFFICIENT_BUFFER, ERROR_INVALID_SID, ERROR_NONE_MAPPED, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{ConvertSidToStringSidW, ConvertStringSidToSidW};
use windows_sys::Win32::Security::{IsValidSid, LookupAccountNameW, PSID, SID_NAME_USE};

/// A binary SID allocated by `ConvertStringSidToSidW`, freed on drop.
#[derive(Debug)]
pub struct OwnedSid(PSID);

// SAFETY: the SID is an immutable block of memory owned by this value alone; LocalFree may be
// called from any thread.
unsafe impl Send for OwnedSid {}
// SAFETY: shared references only ever read the SID.
unsafe impl Sync for OwnedSid {}

impl OwnedSid {
    /// The binary form of the SID whose string form `sid` displays as (`S-1-5-32-544`).
    pub fn new(sid: impl Display) -> Result<OwnedSid, Win32Error> {
        let text = to_wide(sid.to_string()).map_err(|e| e.for_api("ConvertStringSidToSidW"))?;
        let mut psid: PSID = std::ptr::null_mut();
        // SAFETY: `text` is NUL-terminated; on success the system stores a LocalAlloc'd SID in
        // `psid`, which this value then owns.
        if unsafe { ConvertStringSidToSidW(text.as_ptr(), &mut psid) } == 0 {
            return Err(Win32Error::last("ConvertStringSidToSidW"));
        }
        Ok(OwnedSid(psid))
    }

    /// The pointer to pass to Win32; valid for as long as `self` lives.
    pub fn as_psid(&self) -> PSID {
        self.0
    }

    /// The string form (`S-1-...`), as Windows prints it.
    pub fn to_string_sid(&self) -> Result<String, Win32Error> {
        // SAFETY: `self.0` is a valid SID for the lifetime of `self`.
        unsafe { sid_string(self.0) }
    }
}

impl Drop for OwnedSid {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from ConvertStringSidToSidW (LocalAlloc) and is freed only here.
        unsafe { LocalFree(self.0) };
    }
}

/// The string form of a SID the system handed out (in a token buffer, a DACL, a NetAPI list).
///
/// # Safety
/// `psid` must point at readable SID memory that stays alive for the duration of the call.
pub unsafe fn sid_string(psid: PSID) -> Result<String, Win32Error> {
    // SAFETY: the caller guarantees `psid` points at readable SID memory.
    if unsafe { IsValidSid(psid) } == 0 {
        return Err(Win32Error::from_code("IsValidSid", ERROR_INVALID_SID));
    }
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: `psid` is valid (checked above); on success `text` receives a LocalAlloc'd string.
    if unsafe { ConvertSidToStringSidW(psid, &mut text) } == 0 {
        return Err(Win32Error::last("ConvertSidToStringSidW"));
    }
    // SAFETY: ConvertSidToStringSidW returned a LocalAlloc'd NUL-terminated string we own.
    Ok(unsafe { take_local_pwstr(text) })
}

/// The SID (string form) of the local account or group `name`, `None` when this machine has
/// none, or when the name cannot be one because it holds a NUL.
pub fn lookup_account(name: &str) -> Result<Option<String>, Win32Error> {
    let Ok(n) = to_wide(name) else {
        return Ok(None);
    };
    let (mut sid_len, mut dom_len, mut use_) = (0u32, 0u32, 0 as SID_NAME_USE);
    // SAFETY: a size query: null buffers with zero lengths.
    let ok = unsafe {
        LookupAccountNameW(
            std::ptr::null(),
            n.as_ptr(),
            std::ptr::null_mut(),
            &mut sid_len,
            std::ptr::null_mut(),
            &mut dom_len,
            &mut use_,
        )
    };
    if ok == 0 {
        let e = Win32Error::last("LookupAccountNameW");
        if e.code == ERROR_NONE_MAPPED {
            return Ok(None);
        }
        if e.code != ERROR_INSUFFICIENT_BUFFER {
            return Err(e);
        }
    }
    let mut sid = vec![0u8; sid_len as usize];
    let mut dom = vec![0u16; dom_len as usize + 1];
    // SAFETY: buffers of the sizes the first call asked for.
    let ok = unsafe {
        LookupAccountNameW(
            std::ptr::null(),
            n.as_ptr(),
            sid.as_mut_ptr().cast(),
            &mut sid_len,
            dom.as_mut_ptr(),
            &mut dom_len,
            &mut use_,
        )
    };
    if ok == 0 {
        return Err(Win32Error::last("LookupAccountNameW"));
    }
    // SAFETY: `sid` now holds a valid SID written by LookupAccountNameW.
    unsafe { sid_string(sid.as_mut_ptr().cast()) }.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sid_strings_round_trip_through_the_binary_form() {
        for text in [
            "S-1-1-0",
            "S-1-5-18",
            "S-1-5-32-545",
            "S-1-5-21-1004336348-1177238915-682003330-512",
        ] {
            let sid = OwnedSid::new(text).unwrap();
            assert_eq!(sid.to_string_sid().unwrap(), text);
        }
    }

    #[test]
    fn malformed_and_nul_cut_sid_texts_are_refused() {
        assert_eq!(
            OwnedSid::new("S-1-x").unwrap_err().api,
            "ConvertStringSidToSidW"
        );
        let e = OwnedSid::new("S-1-5-18\0-7").unwrap_err();
        assert!(e.message.contains("NUL"), "{e}");
    }

    #[test]
    fn an_invalid_sid_pointer_is_refused_before_conversion() {
        let mut garbage = [0xffu8; 16];
        // SAFETY: 16 readable bytes, not a valid SID (revision 255).
        let e = unsafe { sid_string(garbage.as_mut_ptr().cast()) }.unwrap_err();
        assert_eq!(e.api, "IsValidSid");
    }

    #[test]
    fn account_lookup_finds_system_and_refuses_a_nul_cut_name() {
        assert_eq!(
            lookup_account("SYSTEM").unwrap().as_deref(),
            Some("S-1-5-18")
        );
        assert_eq!(
            lookup_account("paddock-no-such-account-7f3a").unwrap(),
            None
        );
        // Cut at the NUL this would be SYSTEM; refused instead.
        assert_eq!(lookup_account("SYSTEM\0x").unwrap(), None);
    }
}
