//! SIDs in the form Win32 wants: an owned binary SID (freed with `LocalFree` on drop) converted
//! from and to the planner's `Sid`, the SIDs of the current process token (user, logon), and
//! the groups of it that every level-1 token makes deny-only.
//!
//! Guarantees: an `OwnedSid` always holds a valid SID allocated by the system; conversion in
//! both directions goes through the documented SDDL string form, so it agrees with `Sid`'s.

use super::error::Win32Error;
use super::token::{ProcessToken, TokenInfo};
use super::wide::{read_pwstr, to_wide};
use crate::sid::Sid;
use windows_sys::Win32::Foundation::{
    ERROR_INSUFFICIENT_BUFFER, ERROR_INVALID_SID, ERROR_NONE_MAPPED, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{ConvertSidToStringSidW, ConvertStringSidToSidW};
use windows_sys::Win32::Security::{
    IsValidSid, LookupAccountNameW, PSID, SID_NAME_USE, TOKEN_GROUPS, TOKEN_USER, TokenGroups,
    TokenUser,
};
use windows_sys::Win32::System::SystemServices::SE_GROUP_LOGON_ID;

/// A binary SID allocated by `ConvertStringSidToSidW`, freed on drop.
#[derive(Debug)]
pub struct OwnedSid(PSID);

// SAFETY: the SID is an immutable block of memory owned by this value alone; LocalFree may be
// called from any thread.
unsafe impl Send for OwnedSid {}
// SAFETY: shared references only ever read the SID.
unsafe impl Sync for OwnedSid {}

impl OwnedSid {
    /// The binary form of `sid`.
    pub fn new(sid: &Sid) -> Result<OwnedSid, Win32Error> {
        let text = to_wide(sid.to_string()).expect("a formatted SID has no NUL");
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

    /// Back to the planner's value.
    pub fn to_sid(&self) -> Result<Sid, Win32Error> {
        // SAFETY: `self.0` is a valid SID for the lifetime of `self`.
        unsafe { sid_from_psid(self.0) }
    }
}

impl Drop for OwnedSid {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from ConvertStringSidToSidW (LocalAlloc) and is freed only here.
        unsafe { LocalFree(self.0) };
    }
}

/// Converts a SID the system handed out (in a token buffer, a DACL) into a `Sid`.
///
/// # Safety
/// `psid` must point at a valid SID that stays alive for the duration of the call.
pub(crate) unsafe fn sid_from_psid(psid: PSID) -> Result<Sid, Win32Error> {
    // SAFETY: the caller guarantees `psid` points at readable SID memory.
    if unsafe { IsValidSid(psid) } == 0 {
        return Err(Win32Error::from_code("IsValidSid", ERROR_INVALID_SID));
    }
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: `psid` is valid (checked above); on success `text` receives a LocalAlloc'd string.
    if unsafe { ConvertSidToStringSidW(psid, &mut text) } == 0 {
        return Err(Win32Error::last("ConvertSidToStringSidW"));
    }
    // SAFETY: ConvertSidToStringSidW returns a NUL-terminated string.
    let string = unsafe { read_pwstr(text) };
    // SAFETY: `text` was LocalAlloc'd by ConvertSidToStringSidW and is freed once here.
    unsafe { LocalFree(text.cast()) };
    Sid::parse(&string)
        .map_err(|_| Win32Error::from_code("ConvertSidToStringSidW", ERROR_INVALID_SID))
}

/// The SID of the user the current process runs as (`TokenUser`).
pub fn current_user_sid() -> Result<Sid, Win32Error> {
    let token = ProcessToken::open_query()?;
    let info = token.information(TokenUser)?;
    // SAFETY: a TokenUser query fills the buffer with a TOKEN_USER whose SID pointer points
    // into the same buffer, which `info` keeps alive during the conversion.
    unsafe {
        let user = &*info.as_ptr::<TOKEN_USER>();
        sid_from_psid(user.User.Sid)
    }
}

/// The logon-session SID (`S-1-5-5-X-Y`) of the current process token, when it has one
/// (services and some remote sessions do not).
pub fn current_logon_sid() -> Result<Option<Sid>, Win32Error> {
    let token = ProcessToken::open_query()?;
    let info = token.information(TokenGroups)?;
    logon_sid_in(&info)
}

/// The SID of the local account or group `name`, `None` when this machine has none (or the
/// name cannot be one: it holds a NUL).
pub fn lookup_account(name: &str) -> Result<Option<Sid>, Win32Error> {
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
    unsafe { sid_from_psid(sid.as_mut_ptr().cast()) }.map(Some)
}

/// The groups of the current process token that a level-1 token makes deny-only: the brokers
/// group (`plan::BROKERS_GROUP`), when level 2 is set up and the caller is in it, so a level-1
/// command cannot read the sandbox account passwords its user may read. A failed lookup is an
/// error (the caller refuses to run), never an empty list.
pub fn level_one_deny_only() -> Result<Vec<Sid>, Win32Error> {
    let Some(brokers) = lookup_account(crate::plan::BROKERS_GROUP)? else {
        return Ok(Vec::new());
    };
    let token = ProcessToken::open_query()?;
    let info = token.information(TokenGroups)?;
    // SAFETY: a TokenGroups query fills the buffer with a TOKEN_GROUPS followed by GroupCount
    // SID_AND_ATTRIBUTES entries whose SIDs point into the same buffer, kept alive by `info`.
    let held = unsafe {
        let groups = &*info.as_ptr::<TOKEN_GROUPS>();
        let entries =
            std::slice::from_raw_parts(groups.Groups.as_ptr(), groups.GroupCount as usize);
        entries
            .iter()
            .map(|e| sid_from_psid(e.Sid))
            .collect::<Result<Vec<Sid>, _>>()?
    };
    Ok(if held.contains(&brokers) {
        vec![brokers]
    } else {
        Vec::new()
    })
}

fn logon_sid_in(info: &TokenInfo) -> Result<Option<Sid>, Win32Error> {
    // SAFETY: a TokenGroups query fills the buffer with a TOKEN_GROUPS followed by GroupCount
    // SID_AND_ATTRIBUTES entries whose SIDs point into the same buffer, kept alive by `info`.
    unsafe {
        let groups = &*info.as_ptr::<TOKEN_GROUPS>();
        let entries =
            std::slice::from_raw_parts(groups.Groups.as_ptr(), groups.GroupCount as usize);
        for entry in entries {
            if entry.Attributes & SE_GROUP_LOGON_ID as u32 == SE_GROUP_LOGON_ID as u32 {
                return sid_from_psid(entry.Sid).map(Some);
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_sid_round_trips_through_binary_form() {
        for sid in [Sid::everyone(), Sid::local_system(), Sid::builtin_users()] {
            assert_eq!(OwnedSid::new(&sid).unwrap().to_sid().unwrap(), sid);
        }
    }

    #[test]
    fn synthetic_sid_round_trips_through_binary_form() {
        let sid = Sid::synthetic().unwrap();
        assert_eq!(OwnedSid::new(&sid).unwrap().to_sid().unwrap(), sid);
    }

    #[test]
    fn current_user_sid_is_an_account_sid() {
        let user = current_user_sid().unwrap();
        assert_eq!(user.authority(), 5, "{user}");
        assert!(!user.is_logon());
    }

    #[test]
    fn an_unknown_account_name_looks_up_as_none_and_a_well_known_one_as_its_sid() {
        assert_eq!(
            lookup_account("paddock-no-such-account-7f3a").unwrap(),
            None
        );
        // Wine maps the well-known names as Windows does.
        assert_eq!(lookup_account("SYSTEM").unwrap(), Some(Sid::local_system()));
    }

    #[test]
    fn without_the_brokers_group_no_level_one_group_is_made_deny_only() {
        if lookup_account(crate::plan::BROKERS_GROUP)
            .unwrap()
            .is_some()
        {
            println!("SKIPPED: this machine has level 2 set up");
            return;
        }
        assert_eq!(level_one_deny_only().unwrap(), Vec::<Sid>::new());
    }

    #[test]
    fn logon_sid_when_present_has_logon_shape() {
        if let Some(sid) = current_logon_sid().unwrap() {
            assert!(sid.is_logon(), "{sid}");
        }
    }
}
