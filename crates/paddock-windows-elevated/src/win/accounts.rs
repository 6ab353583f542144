//! Local accounts and the local group through NetAPI: create, re-password, delete, group
//! membership, SID lookup, and profile removal.
//!
//! Guarantees: accounts are created enabled, with a password that never expires and that the
//! account cannot change, as ordinary users (never administrators); "already absent" counts as
//! success for deletions, so uninstall can be re-run.

use super::ffi::{sys_err, wide_secret};
use crate::errors::SystemError;
use paddock_win32::Win32Error;
use paddock_win32::wide::{read_pwstr, to_wide};
use paddock_windows::apply::sid::{OwnedSid, sid_from_psid};
use paddock_windows::sid::Sid;
use windows_sys::Win32::Foundation::{
    ERROR_ALIAS_EXISTS, ERROR_FILE_NOT_FOUND, ERROR_MEMBER_IN_ALIAS, ERROR_MEMBER_NOT_IN_ALIAS,
    ERROR_NO_SUCH_ALIAS,
};
use windows_sys::Win32::NetworkManagement::NetManagement::{
    LOCALGROUP_INFO_1, LOCALGROUP_MEMBERS_INFO_0, LOCALGROUP_MEMBERS_INFO_3, MAX_PREFERRED_LENGTH,
    NERR_GroupNotFound, NERR_UserNotFound, NetApiBufferFree, NetLocalGroupAdd,
    NetLocalGroupAddMembers, NetLocalGroupDel, NetLocalGroupDelMembers, NetLocalGroupGetMembers,
    NetUserAdd, NetUserDel, NetUserSetInfo, UF_DONT_EXPIRE_PASSWD, UF_PASSWD_CANT_CHANGE,
    UF_SCRIPT, USER_INFO_1, USER_INFO_1003, USER_INFO_1008, USER_PRIV_USER,
};
use windows_sys::Win32::UI::Shell::DeleteProfileW;

const FLAGS: u32 = UF_SCRIPT | UF_DONT_EXPIRE_PASSWD | UF_PASSWD_CANT_CHANGE;

fn check(api: &'static str, rc: u32, ok_also: &[u32]) -> Result<(), SystemError> {
    if rc == 0 || ok_also.contains(&rc) {
        Ok(())
    } else {
        Err(sys_err(api, rc))
    }
}

pub fn create_user(name: &str, password: &str, comment: &str) -> Result<(), SystemError> {
    let (mut n, mut p, mut c) = (to_wide(name)?, wide_secret(password)?, to_wide(comment)?);
    let info = USER_INFO_1 {
        usri1_name: n.as_mut_ptr(),
        usri1_password: p.as_mut_ptr(),
        usri1_priv: USER_PRIV_USER,
        usri1_comment: c.as_mut_ptr(),
        usri1_flags: FLAGS,
        ..Default::default()
    };
    let mut parm = 0u32;
    // SAFETY: `info` and its strings live across the call; level 1 matches USER_INFO_1.
    let rc = unsafe {
        NetUserAdd(
            std::ptr::null(),
            1,
            (&info as *const USER_INFO_1).cast(),
            &mut parm,
        )
    };
    p.fill(0);
    check("NetUserAdd", rc, &[])
}

/// Sets the password, then the flags (which also clears a lockout and re-enables).
pub fn set_password(name: &str, password: &str) -> Result<(), SystemError> {
    let (n, mut p) = (to_wide(name)?, wide_secret(password)?);
    let info = USER_INFO_1003 {
        usri1003_password: p.as_mut_ptr(),
    };
    let mut parm = 0u32;
    // SAFETY: `info` and its string live across the call; level 1003 matches USER_INFO_1003.
    let rc = unsafe {
        NetUserSetInfo(
            std::ptr::null(),
            n.as_ptr(),
            1003,
            (&info as *const USER_INFO_1003).cast(),
            &mut parm,
        )
    };
    p.fill(0);
    check("NetUserSetInfo(1003)", rc, &[])?;
    let flags = USER_INFO_1008 {
        usri1008_flags: FLAGS,
    };
    // SAFETY: level 1008 matches USER_INFO_1008, a plain struct on the stack.
    let rc = unsafe {
        NetUserSetInfo(
            std::ptr::null(),
            n.as_ptr(),
            1008,
            (&flags as *const USER_INFO_1008).cast(),
            &mut parm,
        )
    };
    check("NetUserSetInfo(1008)", rc, &[])
}

pub fn delete_user(name: &str) -> Result<(), SystemError> {
    let n = to_wide(name)?;
    // SAFETY: `n` is NUL-terminated.
    let rc = unsafe { NetUserDel(std::ptr::null(), n.as_ptr()) };
    check("NetUserDel", rc, &[NERR_UserNotFound])
}

pub fn create_group(name: &str, comment: &str) -> Result<(), SystemError> {
    let (mut n, mut c) = (to_wide(name)?, to_wide(comment)?);
    let info = LOCALGROUP_INFO_1 {
        lgrpi1_name: n.as_mut_ptr(),
        lgrpi1_comment: c.as_mut_ptr(),
    };
    let mut parm = 0u32;
    // SAFETY: `info` and its strings live across the call; level 1 matches LOCALGROUP_INFO_1.
    let rc = unsafe {
        NetLocalGroupAdd(
            std::ptr::null(),
            1,
            (&info as *const LOCALGROUP_INFO_1).cast(),
            &mut parm,
        )
    };
    check("NetLocalGroupAdd", rc, &[ERROR_ALIAS_EXISTS])
}

pub fn delete_group(name: &str) -> Result<(), SystemError> {
    let n = to_wide(name)?;
    // SAFETY: `n` is NUL-terminated.
    let rc = unsafe { NetLocalGroupDel(std::ptr::null(), n.as_ptr()) };
    check(
        "NetLocalGroupDel",
        rc,
        &[NERR_GroupNotFound, ERROR_NO_SUCH_ALIAS],
    )
}

/// A member of a local group: an account name (`DOMAIN\name` or `name`) or a SID.
enum Member<'a> {
    Name(&'a str),
    Sid(&'a Sid),
}

/// Adds `member` to `group` (or removes it); already in (or already out) is success.
fn change_member(group: &str, member: Member<'_>, add: bool) -> Result<(), SystemError> {
    let g = to_wide(group)?;
    // The entry and what it points into, alive across the call.
    let mut name: Vec<u16>;
    let sid: OwnedSid;
    let by_name: LOCALGROUP_MEMBERS_INFO_3;
    let by_sid: LOCALGROUP_MEMBERS_INFO_0;
    let (level, buf): (u32, *const u8) = match member {
        Member::Name(account) => {
            name = to_wide(account)?;
            by_name = LOCALGROUP_MEMBERS_INFO_3 {
                lgrmi3_domainandname: name.as_mut_ptr(),
            };
            (3, (&raw const by_name).cast())
        }
        Member::Sid(member) => {
            sid = OwnedSid::new(member)?;
            by_sid = LOCALGROUP_MEMBERS_INFO_0 {
                lgrmi0_sid: sid.as_psid(),
            };
            (0, (&raw const by_sid).cast())
        }
    };
    // SAFETY: `buf` points at one entry of the struct `level` names, which with the string or
    // SID it points to lives across the call.
    let rc = unsafe {
        if add {
            NetLocalGroupAddMembers(std::ptr::null(), g.as_ptr(), level, buf, 1)
        } else {
            NetLocalGroupDelMembers(std::ptr::null(), g.as_ptr(), level, buf, 1)
        }
    };
    if add {
        check("NetLocalGroupAddMembers", rc, &[ERROR_MEMBER_IN_ALIAS])
    } else {
        check("NetLocalGroupDelMembers", rc, &[ERROR_MEMBER_NOT_IN_ALIAS])
    }
}

pub fn add_member(group: &str, account: &str) -> Result<(), SystemError> {
    change_member(group, Member::Name(account), true)
}

pub fn remove_member(group: &str, account: &str) -> Result<(), SystemError> {
    change_member(group, Member::Name(account), false)
}

/// Adds the account with SID `member` (a user of this machine or its domain) to `group`.
pub fn add_sid_member(group: &str, member: &Sid) -> Result<(), SystemError> {
    change_member(group, Member::Sid(member), true)
}

pub fn remove_sid_member(group: &str, member: &Sid) -> Result<(), SystemError> {
    change_member(group, Member::Sid(member), false)
}

/// The member list `NetLocalGroupGetMembers` returned at `level` (0: SIDs, 3: names), freed
/// on drop.
struct Members {
    buf: *mut u8,
    count: usize,
    level: u32,
}

impl Members {
    /// The members of `group` at `level`; `None` when the group does not exist.
    fn of(group: &str, level: u32) -> Result<Option<Members>, SystemError> {
        let g = to_wide(group)?;
        let mut buf: *mut u8 = std::ptr::null_mut();
        let (mut read, mut total, mut resume) = (0u32, 0u32, 0usize);
        // SAFETY: out-pointers are valid locals; on success `buf` is a NetAPI buffer that the
        // returned value frees.
        let rc = unsafe {
            NetLocalGroupGetMembers(
                std::ptr::null(),
                g.as_ptr(),
                level,
                &mut buf,
                MAX_PREFERRED_LENGTH,
                &mut read,
                &mut total,
                &mut resume,
            )
        };
        let members = Members {
            buf,
            count: read as usize,
            level,
        };
        if rc == NERR_GroupNotFound || rc == ERROR_NO_SUCH_ALIAS {
            return Ok(None);
        }
        check("NetLocalGroupGetMembers", rc, &[])?;
        Ok(Some(members))
    }

    /// The entries of a level-0 list.
    fn by_sid(&self) -> &[LOCALGROUP_MEMBERS_INFO_0] {
        assert_eq!(self.level, 0, "a level-{} list read as SIDs", self.level);
        if self.buf.is_null() {
            return &[];
        }
        // SAFETY: a level-0 list holds `count` LOCALGROUP_MEMBERS_INFO_0 entries, valid (with
        // the SIDs they point to) until the buffer is freed on drop.
        unsafe { std::slice::from_raw_parts(self.buf.cast(), self.count) }
    }

    /// The entries of a level-3 list.
    fn by_name(&self) -> &[LOCALGROUP_MEMBERS_INFO_3] {
        assert_eq!(self.level, 3, "a level-{} list read as names", self.level);
        if self.buf.is_null() {
            return &[];
        }
        // SAFETY: a level-3 list holds `count` LOCALGROUP_MEMBERS_INFO_3 entries, valid (with
        // the strings they point to) until the buffer is freed on drop.
        unsafe { std::slice::from_raw_parts(self.buf.cast(), self.count) }
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        if !self.buf.is_null() {
            // SAFETY: frees the buffer NetLocalGroupGetMembers allocated, once.
            unsafe { NetApiBufferFree(self.buf.cast()) };
        }
    }
}

/// Member SIDs of `group`; `None` when it does not exist.
pub fn group_member_sids(group: &str) -> Result<Option<Vec<Sid>>, SystemError> {
    let Some(members) = Members::of(group, 0)? else {
        return Ok(None);
    };
    let mut sids = Vec::new();
    for entry in members.by_sid() {
        // SAFETY: the SID points into `members`, alive here.
        sids.push(unsafe { sid_from_psid(entry.lgrmi0_sid) }?);
    }
    Ok(Some(sids))
}

/// Member names of `group` (`DOMAIN\name` stripped to `name`); `None` when it does not exist.
pub fn group_members(group: &str) -> Result<Option<Vec<String>>, SystemError> {
    let Some(members) = Members::of(group, 3)? else {
        return Ok(None);
    };
    let mut names = Vec::new();
    for entry in members.by_name() {
        // SAFETY: the NUL-terminated string points into `members`, alive here.
        let full = unsafe { read_pwstr(entry.lgrmi3_domainandname) };
        names.push(full.rsplit('\\').next().unwrap_or(&full).to_string());
    }
    Ok(Some(names))
}

/// The SID of local account or group `name`, `None` when it does not exist (or the name
/// cannot be one: it holds a NUL).
pub fn lookup_sid(name: &str) -> Result<Option<Sid>, SystemError> {
    Ok(paddock_windows::apply::sid::lookup_account(name)?)
}

/// Deletes the profile folder and ProfileList entry of `sid` (absent is fine).
pub fn delete_profile(sid: &Sid) -> Result<(), SystemError> {
    // Round-trip through the OS to be sure the text is a SID Windows accepts.
    OwnedSid::new(sid)?;
    let s = to_wide(sid.to_string())?;
    // SAFETY: `s` is NUL-terminated; null path and computer mean "this machine's profile".
    if unsafe { DeleteProfileW(s.as_ptr(), std::ptr::null(), std::ptr::null()) } == 0 {
        let e = Win32Error::last("DeleteProfileW");
        if e.code != ERROR_FILE_NOT_FOUND && e.code != 2 {
            return Err(e.into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[ignore = "real Windows only: Wine's NetLocalGroupGetMembers answers any group name with the current user by name and no SIDs, so this cannot fail there"]
    fn members_of_a_builtin_group_are_listed_alike_by_name_and_sid_and_a_missing_group_is_none() {
        let names = group_members("Administrators").unwrap().unwrap();
        let sids = group_member_sids("Administrators").unwrap().unwrap();
        assert!(!sids.is_empty());
        assert_eq!(names.len(), sids.len(), "{names:?} {sids:?}");
        assert!(names.iter().all(|n| !n.contains('\\')), "{names:?}");
        assert_eq!(group_members("paddock-no-such-group-7f3a").unwrap(), None);
        assert_eq!(
            group_member_sids("paddock-no-such-group-7f3a").unwrap(),
            None
        );
    }
}
