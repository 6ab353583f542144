//! `paddock explain PATH [--read|--write]` on Windows: the caller's real token read into the
//! access-check model (`caller_token_model`), and the verdict for the sandbox token a run of the
//! spec would get, judged against the ACLs on disk as that run's plan would leave them
//! (`explain_path`).
//!
//! Guarantees: nothing is applied or recorded: the plan is made with a preview SID registry
//! and judged over a read-only copy of the ACLs (`preview::explain_planned`); the token model
//! carries every group with its real state (enabled, deny-only, disabled; the logon SID and
//! the integrity label as they are) and every privilege the token holds that changes file
//! access.

use super::acl::NtfsAclStore;
use super::backend::ApplyError;
use super::sid::sid_from_psid;
use super::token::{ProcessToken, TokenInfo};
use crate::access::{GroupState, Privilege, TokenGroup, TokenModel};
use crate::explain::{Operation, Verdict};
use crate::plan;
use crate::preview::{explain_planned, file_access_spec};
use crate::sid_registry::SidRegistry;
use paddock_core::SandboxSpec;
use paddock_core::policy::WindowsLevel;
use paddock_win32::Win32Error;
use paddock_win32::wide::until_nul;
use std::path::Path;
use windows_sys::Win32::Foundation::LUID;
use windows_sys::Win32::Security::{
    LookupPrivilegeNameW, TOKEN_GROUPS, TOKEN_PRIVILEGES, TOKEN_USER, TokenGroups, TokenPrivileges,
    TokenUser,
};
use windows_sys::Win32::System::SystemServices::{SE_GROUP_ENABLED, SE_GROUP_USE_FOR_DENY_ONLY};

/// Would a sandboxed run of `spec` at `level` be allowed `op` on `path`? Plans the run's file
/// access exactly as the run would (`preview::file_access_spec`: network and deny-read, which
/// do not change it, are left out), applies nothing, and returns the verdict with the ACEs that
/// decided it. Level 2 and full access are errors (`ElevatedUnavailable`, `FullAccess`).
/// `path` must be absolute and resolved (`paddock_core::paths::resolve` against the workspace,
/// as the CLI does): the store refuses relative paths.
pub fn explain_path(
    spec: &SandboxSpec,
    level: WindowsLevel,
    path: &Path,
    op: Operation,
) -> Result<Verdict, ApplyError> {
    let caller = caller_token_model().map_err(ApplyError::CallerToken)?;
    let store = NtfsAclStore::new();
    let mut registry = SidRegistry::open_default()?.preview();
    let mut plan = plan::plan(&file_access_spec(spec), level, &store, &mut registry)?;
    plan.token.deny_only = super::sid::level_one_deny_only().map_err(ApplyError::CallerToken)?;
    Ok(explain_planned(&store, &plan, &caller, path, op)?)
}

/// The current process token as the access-check model sees it.
pub fn caller_token_model() -> Result<TokenModel, Win32Error> {
    let token = ProcessToken::open_query()?;
    let user_info = token.information(TokenUser)?;
    // SAFETY: a TokenUser query fills the buffer with a TOKEN_USER whose SID points into the
    // same buffer, alive while `user_info` is.
    let (user, user_attributes) = unsafe {
        let u = &(*user_info.as_ptr::<TOKEN_USER>()).User;
        (sid_from_psid(u.Sid)?, u.Attributes)
    };
    let groups_info = token.information(TokenGroups)?;
    // SAFETY: a TokenGroups query fills the buffer with a TOKEN_GROUPS followed by GroupCount
    // entries whose SIDs point into the same buffer, alive while `groups_info` is.
    let groups = unsafe {
        let g = &*groups_info.as_ptr::<TOKEN_GROUPS>();
        std::slice::from_raw_parts(g.Groups.as_ptr(), g.GroupCount as usize)
            .iter()
            .map(|e| {
                Ok(TokenGroup {
                    sid: sid_from_psid(e.Sid)?,
                    state: group_state(e.Attributes),
                })
            })
            .collect::<Result<Vec<_>, Win32Error>>()?
    };
    let privileges = held_privileges(&token.information(TokenPrivileges)?)?;
    Ok(TokenModel {
        user,
        user_state: group_state(user_attributes | SE_GROUP_ENABLED as u32),
        groups,
        restricting: Vec::new(),
        write_restricted: false,
        privileges,
    })
}

/// How a group with `attributes` (`SE_GROUP_*`) takes part in access checks. The user SID has
/// no ENABLED bit of its own; callers add it.
fn group_state(attributes: u32) -> GroupState {
    if attributes & SE_GROUP_USE_FOR_DENY_ONLY as u32 != 0 {
        GroupState::DenyOnly
    } else if attributes & SE_GROUP_ENABLED as u32 != 0 {
        GroupState::Enabled
    } else {
        GroupState::Disabled
    }
}

/// The privileges in a `TokenPrivileges` buffer that change file access, enabled or not (a
/// process can enable what it holds).
fn held_privileges(info: &TokenInfo) -> Result<Vec<Privilege>, Win32Error> {
    // SAFETY: a TokenPrivileges query fills the buffer with a TOKEN_PRIVILEGES followed by
    // PrivilegeCount entries, alive while `info` is.
    let luids: Vec<LUID> = unsafe {
        let p = &*info.as_ptr::<TOKEN_PRIVILEGES>();
        std::slice::from_raw_parts(p.Privileges.as_ptr(), p.PrivilegeCount as usize)
            .iter()
            .map(|e| e.Luid)
            .collect()
    };
    let mut out = Vec::new();
    for luid in luids {
        let name = privilege_name(&luid)?;
        if let Some(p) = privilege_named(&name) {
            out.push(p);
        }
    }
    Ok(out)
}

fn privilege_name(luid: &LUID) -> Result<String, Win32Error> {
    let mut buffer = [0u16; 128];
    let mut len = buffer.len() as u32;
    // SAFETY: local system (null name); `luid` is valid; `buffer` holds `len` UTF-16 units and
    // receives a NUL-terminated name.
    let ok = unsafe { LookupPrivilegeNameW(std::ptr::null(), luid, buffer.as_mut_ptr(), &mut len) };
    if ok == 0 {
        return Err(Win32Error::last("LookupPrivilegeNameW"));
    }
    Ok(String::from_utf16_lossy(until_nul(&buffer)))
}

fn privilege_named(name: &str) -> Option<Privilege> {
    [
        Privilege::ChangeNotify,
        Privilege::Backup,
        Privilege::Restore,
        Privilege::TakeOwnership,
        Privilege::Security,
    ]
    .into_iter()
    .find(|p| p.name().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_attributes_map_to_model_states() {
        assert_eq!(
            group_state(SE_GROUP_ENABLED as u32 | SE_GROUP_USE_FOR_DENY_ONLY as u32),
            GroupState::DenyOnly
        );
        assert_eq!(group_state(0x7), GroupState::Enabled);
        assert_eq!(group_state(0), GroupState::Disabled);
    }

    #[test]
    fn privileges_are_known_by_their_win32_names() {
        assert_eq!(
            privilege_named("SeRestorePrivilege"),
            Some(Privilege::Restore)
        );
        assert_eq!(privilege_named("SeShutdownPrivilege"), None);
    }
}
