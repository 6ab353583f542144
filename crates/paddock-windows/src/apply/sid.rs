//! SIDs in the form Win32 wants: an owned binary SID (freed with `LocalFree` on drop) converted
//! from and to the planner's `Sid`, the SIDs of the current process token (user, logon), and
//! the groups of it that every level-1 token makes deny-only.
//!
//! Guarantees: an `OwnedSid` always holds a valid SID allocated by the system; conversion in
//! both directions goes through the documented SDDL string form, so it agrees with `Sid`'s.

use super::token::{ProcessToken, TokenInfo};
use crate::sid::Sid;
use paddock_win32::Win32Error;
pub use paddock_win32::sid::OwnedSid;
use windows_sys::Win32::Foundation::ERROR_INVALID_SID;
use windows_sys::Win32::Security::{PSID, TOKEN_GROUPS, TOKEN_USER, TokenGroups, TokenUser};
use windows_sys::Win32::System::SystemServices::SE_GROUP_LOGON_ID;

/// The planner's value of a SID text Windows printed.
fn parse(text: &str, api: &'static str) -> Result<Sid, Win32Error> {
    Sid::parse(text).map_err(|_| Win32Error::from_code(api, ERROR_INVALID_SID))
}

/// Converts a SID the system handed out (in a token buffer, a DACL, a NetAPI list) into a
/// `Sid`.
///
/// # Safety
/// `psid` must point at a valid SID that stays alive for the duration of the call.
pub unsafe fn sid_from_psid(psid: PSID) -> Result<Sid, Win32Error> {
    // SAFETY: the caller's guarantee, passed on.
    let text = unsafe { paddock_win32::sid::sid_string(psid) }?;
    parse(&text, "ConvertSidToStringSidW")
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
    match paddock_win32::sid::lookup_account(name)? {
        Some(text) => parse(&text, "LookupAccountNameW").map(Some),
        None => Ok(None),
    }
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
            assert_eq!(
                Sid::parse(&OwnedSid::new(&sid).unwrap().to_string_sid().unwrap()).unwrap(),
                sid
            );
        }
    }

    #[test]
    fn synthetic_sid_round_trips_through_binary_form() {
        let sid = Sid::synthetic().unwrap();
        assert_eq!(
            Sid::parse(&OwnedSid::new(&sid).unwrap().to_string_sid().unwrap()).unwrap(),
            sid
        );
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
            paddock_core::testing::skip("this machine has level 2 set up");
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
