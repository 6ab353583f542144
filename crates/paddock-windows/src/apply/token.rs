//! Access tokens: the current process token (queries), and the restricted token a sandboxed
//! command runs with, made by `CreateRestrictedToken` from the caller's own token as the
//! planner's `TokenPlan` says.
//!
//! Guarantees: the token gets exactly the plan's flags and restricting SIDs, the plan's
//! deny-only groups, and the plan's default DACL (so pipes and IPC objects the child creates
//! stay usable by it; PowerShell dies with 0xC0000142 otherwise); `verify` reads restricting
//! SIDs, default DACL and the state of every planned deny-only group back from the kernel and
//! fails unless all are exactly as planned. A plan this layer cannot honour (extra
//! privileges under DISABLE_MAX_PRIVILEGE, no restricting SID) is refused.

use super::owned_acl::{ModelDacl, ModelDaclError, acl_to_model};
use super::sid::{OwnedSid, sid_from_psid};
use super::wine::running_under_wine;
use crate::access::Privilege;
use crate::acl::Acl;
use crate::plan::TokenPlan;
use crate::sid::Sid;
use paddock_win32::Win32Error;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::{ERROR_INSUFFICIENT_BUFFER, HANDLE};
use windows_sys::Win32::Security::{
    CreateRestrictedToken, GetTokenInformation, SID_AND_ATTRIBUTES, SetTokenInformation,
    TOKEN_ACCESS_MASK, TOKEN_ADJUST_DEFAULT, TOKEN_ASSIGN_PRIMARY, TOKEN_DEFAULT_DACL,
    TOKEN_DUPLICATE, TOKEN_GROUPS, TOKEN_INFORMATION_CLASS, TOKEN_QUERY, TokenDefaultDacl,
    TokenGroups, TokenRestrictedSids,
};
use windows_sys::Win32::System::SystemServices::{SE_GROUP_ENABLED, SE_GROUP_USE_FOR_DENY_ONLY};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// Why a sandbox token could not be made or proven.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Win32(#[from] Win32Error),
    #[error("the token's default DACL cannot be built or read: {0}")]
    DefaultDacl(#[from] ModelDaclError),
    #[error("a restricted token needs at least one restricting SID; the plan has none")]
    NoRestrictingSids,
    #[error(
        "the plan keeps privileges {0:?} under DISABLE_MAX_PRIVILEGE, which keeps only \
         SeChangeNotifyPrivilege; the apply layer refuses a token that differs from its plan"
    )]
    UnsupportedPrivileges(Vec<Privilege>),
    #[error(
        "the restricted token carries restricting SIDs {found:?} instead of {wanted:?}; this \
         Windows does not build restricted tokens as documented, so Paddock refuses to run"
    )]
    RestrictingSidsMismatch { wanted: Vec<Sid>, found: Vec<Sid> },
    #[error("the token's default DACL is {found} instead of {wanted}; Paddock refuses to run")]
    DefaultDaclMismatch { wanted: String, found: String },
    #[error(
        "group {0} is still enabled in the sandbox token although the plan makes it deny-only; \
         Paddock refuses to run"
    )]
    GroupNotDenyOnly(Sid),
    #[error(
        "cannot read the restricting SIDs back from the sandbox token ({source}){wine}; without \
         that proof Paddock refuses to run the command"
    )]
    Unverifiable {
        source: Win32Error,
        wine: &'static str,
    },
}

/// A handle to the current process's token.
#[derive(Debug)]
pub struct ProcessToken(OwnedHandle);

impl ProcessToken {
    /// Opens the current process token for queries only.
    pub fn open_query() -> Result<ProcessToken, Win32Error> {
        ProcessToken::open(TOKEN_QUERY)
    }

    fn open(access: TOKEN_ACCESS_MASK) -> Result<ProcessToken, Win32Error> {
        let mut handle: HANDLE = std::ptr::null_mut();
        // SAFETY: GetCurrentProcess returns a pseudo handle that needs no closing; on success
        // `handle` receives a new token handle that we own.
        if unsafe { OpenProcessToken(GetCurrentProcess(), access, &mut handle) } == 0 {
            return Err(Win32Error::last("OpenProcessToken"));
        }
        // SAFETY: `handle` is a valid token handle owned by nobody else.
        Ok(ProcessToken(unsafe {
            OwnedHandle::from_raw_handle(handle)
        }))
    }

    /// One `GetTokenInformation` class of this token.
    pub fn information(&self, class: TOKEN_INFORMATION_CLASS) -> Result<TokenInfo, Win32Error> {
        token_information(&self.0, class)
    }
}

/// The buffer a `GetTokenInformation` call filled, aligned for the structure it holds.
#[derive(Debug)]
pub struct TokenInfo(Vec<u64>);

impl TokenInfo {
    /// The buffer as a `T`, for the class that filled it.
    pub fn as_ptr<T>(&self) -> *const T {
        self.0.as_ptr().cast()
    }
}

fn token_information(
    token: &OwnedHandle,
    class: TOKEN_INFORMATION_CLASS,
) -> Result<TokenInfo, Win32Error> {
    let mut needed = 0u32;
    // SAFETY: a size query: null buffer of length 0, `needed` receives the size.
    let ok = unsafe {
        GetTokenInformation(
            token.as_raw_handle(),
            class,
            std::ptr::null_mut(),
            0,
            &mut needed,
        )
    };
    if ok == 0 {
        let e = Win32Error::last("GetTokenInformation");
        if e.code != ERROR_INSUFFICIENT_BUFFER {
            return Err(e);
        }
    }
    let mut buffer = vec![0u64; (needed as usize).div_ceil(8).max(1)];
    // SAFETY: `buffer` is writable for its full length in bytes and 8-byte aligned, enough for
    // every token information structure.
    let ok = unsafe {
        GetTokenInformation(
            token.as_raw_handle(),
            class,
            buffer.as_mut_ptr().cast(),
            (buffer.len() * 8) as u32,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(Win32Error::last("GetTokenInformation"));
    }
    Ok(TokenInfo(buffer))
}

/// A primary token for a sandboxed command, made from a `TokenPlan`.
#[derive(Debug)]
pub struct RestrictedToken {
    handle: OwnedHandle,
    restricting: Vec<Sid>,
    deny_only: Vec<Sid>,
    default_dacl: Acl,
    flags: u32,
}

impl RestrictedToken {
    /// A restricted copy of the caller's token as `plan` says.
    pub fn create(plan: &TokenPlan) -> Result<RestrictedToken, TokenError> {
        if plan.restricting_sids.is_empty() {
            return Err(TokenError::NoRestrictingSids);
        }
        let extra: Vec<Privilege> = plan
            .retained_privileges
            .iter()
            .copied()
            .filter(|p| *p != Privilege::ChangeNotify)
            .collect();
        if plan.disable_max_privilege && !extra.is_empty() {
            return Err(TokenError::UnsupportedPrivileges(extra));
        }
        let base = ProcessToken::open(
            TOKEN_DUPLICATE | TOKEN_QUERY | TOKEN_ASSIGN_PRIMARY | TOKEN_ADJUST_DEFAULT,
        )?;
        let owned: Vec<OwnedSid> = plan
            .restricting_sids
            .iter()
            .map(OwnedSid::new)
            .collect::<Result<_, _>>()?;
        let entries: Vec<SID_AND_ATTRIBUTES> = owned
            .iter()
            .map(|s| SID_AND_ATTRIBUTES {
                Sid: s.as_psid(),
                Attributes: 0,
            })
            .collect();
        let disabled: Vec<OwnedSid> = plan
            .deny_only
            .iter()
            .map(OwnedSid::new)
            .collect::<Result<_, _>>()?;
        let disable: Vec<SID_AND_ATTRIBUTES> = disabled
            .iter()
            .map(|s| SID_AND_ATTRIBUTES {
                Sid: s.as_psid(),
                Attributes: 0,
            })
            .collect();
        let flags = plan.flag_bits();
        let mut handle: HANDLE = std::ptr::null_mut();
        // SAFETY: `base` is a token opened with TOKEN_DUPLICATE; `disable` and `entries` hold
        // valid SIDs kept alive by `disabled` and `owned`; no privileges listed (the flags
        // decide privileges); on success `handle` is a new token we own.
        let ok = unsafe {
            CreateRestrictedToken(
                base.0.as_raw_handle(),
                flags,
                disable.len() as u32,
                if disable.is_empty() {
                    std::ptr::null()
                } else {
                    disable.as_ptr()
                },
                0,
                std::ptr::null(),
                entries.len() as u32,
                entries.as_ptr(),
                &mut handle,
            )
        };
        if ok == 0 {
            return Err(Win32Error::last("CreateRestrictedToken").into());
        }
        // SAFETY: `handle` is a valid token handle owned by nobody else.
        let handle = unsafe { OwnedHandle::from_raw_handle(handle) };
        set_default_dacl(&handle, &plan.default_dacl)?;
        Ok(RestrictedToken {
            handle,
            restricting: plan.restricting_sids.clone(),
            deny_only: plan.deny_only.clone(),
            default_dacl: plan.default_dacl.clone(),
            flags,
        })
    }

    /// The restricting SIDs the token was made with.
    pub fn restricting_sids(&self) -> &[Sid] {
        &self.restricting
    }

    /// The `CreateRestrictedToken` flags used.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The default DACL as the kernel holds it.
    pub fn read_default_dacl(&self) -> Result<Acl, TokenError> {
        let info = token_information(&self.handle, TokenDefaultDacl)?;
        // SAFETY: a TokenDefaultDacl query fills the buffer with a TOKEN_DEFAULT_DACL whose ACL
        // pointer points into the same buffer, which `info` keeps alive for the call.
        Ok(unsafe { acl_to_model((*info.as_ptr::<TOKEN_DEFAULT_DACL>()).DefaultDacl)? })
    }

    /// Reads restricting SIDs and default DACL back from the kernel's token and checks they are
    /// exactly the planned ones. The backend runs nothing before this succeeds.
    pub fn verify(&self) -> Result<(), TokenError> {
        let found = restricting_sids(&self.handle).map_err(|source| TokenError::Unverifiable {
            source,
            wine: if running_under_wine() {
                " under Wine, which does not implement restricted tokens"
            } else {
                ""
            },
        })?;
        let same = found.len() == self.restricting.len()
            && found.iter().all(|s| self.restricting.contains(s));
        if !same {
            return Err(TokenError::RestrictingSidsMismatch {
                wanted: self.restricting.clone(),
                found,
            });
        }
        if !self.deny_only.is_empty() {
            let info = token_information(&self.handle, TokenGroups)?;
            // SAFETY: a TokenGroups query fills the buffer with a TOKEN_GROUPS followed by
            // GroupCount entries whose SIDs point into the same buffer, alive while `info` is.
            let groups: Vec<(Sid, u32)> = unsafe {
                let g = &*info.as_ptr::<TOKEN_GROUPS>();
                std::slice::from_raw_parts(g.Groups.as_ptr(), g.GroupCount as usize)
                    .iter()
                    .map(|e| sid_from_psid(e.Sid).map(|s| (s, e.Attributes)))
                    .collect::<Result<_, _>>()?
            };
            for sid in &self.deny_only {
                let usable = groups.iter().any(|(s, attr)| {
                    s == sid
                        && (attr & SE_GROUP_ENABLED as u32 != 0
                            || attr & SE_GROUP_USE_FOR_DENY_ONLY as u32 == 0)
                });
                if usable {
                    return Err(TokenError::GroupNotDenyOnly(sid.clone()));
                }
            }
        }
        let dacl = self.read_default_dacl()?;
        if dacl != self.default_dacl {
            return Err(TokenError::DefaultDaclMismatch {
                wanted: sddl(&self.default_dacl),
                found: sddl(&dacl),
            });
        }
        Ok(())
    }

    /// Gives the handle away (to the process launcher).
    pub fn into_handle(self) -> OwnedHandle {
        self.handle
    }
}

fn sddl(acl: &Acl) -> String {
    acl.aces.iter().map(|a| a.to_sddl()).collect()
}

/// The restricting SIDs of `token` (`TokenRestrictedSids`).
fn restricting_sids(token: &OwnedHandle) -> Result<Vec<Sid>, Win32Error> {
    let info = token_information(token, TokenRestrictedSids)?;
    // SAFETY: a TokenRestrictedSids query fills the buffer with a TOKEN_GROUPS followed by
    // GroupCount entries whose SIDs point into the same buffer, alive while `info` is.
    unsafe {
        let groups = &*info.as_ptr::<TOKEN_GROUPS>();
        let entries =
            std::slice::from_raw_parts(groups.Groups.as_ptr(), groups.GroupCount as usize);
        entries.iter().map(|e| sid_from_psid(e.Sid)).collect()
    }
}

fn set_default_dacl(token: &OwnedHandle, acl: &Acl) -> Result<(), TokenError> {
    let dacl = ModelDacl::new(acl, false)?;
    let info = TOKEN_DEFAULT_DACL {
        DefaultDacl: dacl.as_ptr(),
    };
    // SAFETY: the restricted token inherits TOKEN_ADJUST_DEFAULT from `base`; `info` points at
    // a valid ACL alive for the call, and the system copies it.
    let ok = unsafe {
        SetTokenInformation(
            token.as_raw_handle(),
            TokenDefaultDacl,
            (&raw const info).cast(),
            size_of::<TOKEN_DEFAULT_DACL>() as u32,
        )
    };
    if ok == 0 {
        return Err(Win32Error::last("SetTokenInformation(TokenDefaultDacl)").into());
    }
    Ok(())
}
