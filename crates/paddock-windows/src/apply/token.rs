//! Access tokens: the current process token (queries), and the write-restricted token a
//! sandboxed command runs with, made by `CreateRestrictedToken` from the caller's own token.
//!
//! Guarantees: the token is `WRITE_RESTRICTED | DISABLE_MAX_PRIVILEGE | LUA_TOKEN` with the
//! restricting SIDs asked for (`verify` reads them back from the kernel), and its
//! default DACL grants the user, SYSTEM and every restricting SID `GENERIC_ALL`, so pipes and IPC
//! objects the sandboxed process creates stay usable by it (PowerShell dies with 0xC0000142
//! otherwise).

use super::error::Win32Error;
use super::owned_acl::{Entry, EntryMode, OwnedAcl};
use super::sid::{OwnedSid, current_user_sid, sid_from_psid};
use super::wine::running_under_wine;
use crate::sid::Sid;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::{ERROR_INSUFFICIENT_BUFFER, GENERIC_ALL, HANDLE};
use windows_sys::Win32::Security::{
    CreateRestrictedToken, DISABLE_MAX_PRIVILEGE, GetTokenInformation, LUA_TOKEN,
    SID_AND_ATTRIBUTES, SetTokenInformation, TOKEN_ACCESS_MASK, TOKEN_ADJUST_DEFAULT,
    TOKEN_ASSIGN_PRIMARY, TOKEN_DEFAULT_DACL, TOKEN_DUPLICATE, TOKEN_GROUPS,
    TOKEN_INFORMATION_CLASS, TOKEN_QUERY, TokenDefaultDacl, TokenRestrictedSids, WRITE_RESTRICTED,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// Why a sandbox token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Win32(#[from] Win32Error),
    #[error(
        "the restricted token carries restricting SIDs {found:?} instead of {wanted:?}; this \
         Windows version does not build restricted tokens as documented, so Paddock refuses to run"
    )]
    RestrictingSidsMismatch { wanted: Vec<Sid>, found: Vec<Sid> },
    #[error(
        "cannot read the restricting SIDs back from the sandbox token ({source}){wine}; without \
         that proof Paddock refuses to run the command"
    )]
    Unverifiable {
        source: Win32Error,
        wine: &'static str,
    },
    #[error("a write-restricted token needs at least one restricting SID; the plan has none")]
    NoRestrictingSids,
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
    // SAFETY: `buffer` is writable for `needed` bytes and 8-byte aligned, enough for every
    // token information structure.
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

/// A primary token for a sandboxed command.
#[derive(Debug)]
pub struct RestrictedToken {
    handle: OwnedHandle,
    restricting: Vec<Sid>,
    default_dacl: Vec<Sid>,
}

impl RestrictedToken {
    /// A write-restricted copy of the caller's token with `restricting` as restricting SIDs.
    pub fn create(restricting: &[Sid]) -> Result<RestrictedToken, TokenError> {
        if restricting.is_empty() {
            return Err(TokenError::NoRestrictingSids);
        }
        let base = ProcessToken::open(
            TOKEN_DUPLICATE | TOKEN_QUERY | TOKEN_ASSIGN_PRIMARY | TOKEN_ADJUST_DEFAULT,
        )?;
        let owned: Vec<OwnedSid> = restricting
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
        let mut handle: HANDLE = std::ptr::null_mut();
        // SAFETY: `base` is a token opened with TOKEN_DUPLICATE; `entries` holds `len` valid
        // SIDs kept alive by `owned`; no SIDs to disable and no privileges listed (the flag
        // DISABLE_MAX_PRIVILEGE drops them all); on success `handle` is a new token we own.
        let ok = unsafe {
            CreateRestrictedToken(
                base.0.as_raw_handle(),
                WRITE_RESTRICTED | DISABLE_MAX_PRIVILEGE | LUA_TOKEN,
                0,
                std::ptr::null(),
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
        let mut default_dacl = vec![current_user_sid()?, Sid::local_system()];
        default_dacl.extend(restricting.iter().cloned());
        set_default_dacl(&handle, &default_dacl)?;
        Ok(RestrictedToken {
            handle,
            restricting: restricting.to_vec(),
            default_dacl,
        })
    }

    /// The restricting SIDs the token was made with.
    pub fn restricting_sids(&self) -> &[Sid] {
        &self.restricting
    }

    /// Reads the restricting SIDs back from the kernel's token and checks they are exactly the
    /// ones asked for. The backend runs nothing before this succeeds.
    pub fn verify(&self) -> Result<(), TokenError> {
        let found = restricting_sids(&self.handle).map_err(|source| TokenError::Unverifiable {
            source,
            wine: if running_under_wine() {
                " under Wine, which does not implement restricted tokens"
            } else {
                ""
            },
        })?;
        if !same_set(&found, &self.restricting) {
            return Err(TokenError::RestrictingSidsMismatch {
                wanted: self.restricting.clone(),
                found,
            });
        }
        Ok(())
    }

    /// The SIDs the token's default DACL grants `GENERIC_ALL`.
    pub fn default_dacl_sids(&self) -> &[Sid] {
        &self.default_dacl
    }

    /// Gives the handle away (to the process launcher).
    pub fn into_handle(self) -> OwnedHandle {
        self.handle
    }
}

fn same_set(a: &[Sid], b: &[Sid]) -> bool {
    a.len() == b.len() && a.iter().all(|s| b.contains(s))
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

fn set_default_dacl(token: &OwnedHandle, sids: &[Sid]) -> Result<(), Win32Error> {
    let owned: Vec<OwnedSid> = sids.iter().map(OwnedSid::new).collect::<Result<_, _>>()?;
    let entries: Vec<Entry<'_>> = owned
        .iter()
        .map(|sid| Entry {
            sid,
            mode: EntryMode::Grant,
            mask: GENERIC_ALL,
            inheritance: 0,
        })
        .collect();
    let acl = OwnedAcl::build(&entries)?;
    let info = TOKEN_DEFAULT_DACL {
        DefaultDacl: acl.as_ptr(),
    };
    // SAFETY: `token` was opened with TOKEN_ADJUST_DEFAULT (inherited by the restricted copy);
    // `info` points at a valid ACL alive for the call, and the system copies it.
    let ok = unsafe {
        SetTokenInformation(
            token.as_raw_handle(),
            TokenDefaultDacl,
            (&raw const info).cast(),
            size_of::<TOKEN_DEFAULT_DACL>() as u32,
        )
    };
    if ok == 0 {
        return Err(Win32Error::last("SetTokenInformation(TokenDefaultDacl)"));
    }
    Ok(())
}
