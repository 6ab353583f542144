//! The descriptors Windows gives the pipes and kernel objects a sandboxed command creates
//! without a security descriptor of its own, so the access-check model can judge whether the
//! command (and other runs) can use them. Pure data, read from the documentation and ntdll:
//!
//! - Kernel-assigned: `CreatePipe`, `NtCreateNamedPipeFile` with no descriptor (Rust's std
//!   `Command` pipes since it moved to unnamed pipes), events, mutexes, semaphores and sections
//!   (named or not) get the creator's token **default DACL** ("Anonymous Pipe Security and Access
//!   Rights": "come from the primary or impersonation token of the creator"), owned by the
//!   token's owner (the user). Named objects also need the right to create in the session's
//!   `BaseNamedObjects` directory, not modelled here (a smoke case checks it on Windows).
//! - `CreateNamedPipeW` with no security attributes (libuv / Node child stdio, Ninja, older Rust
//!   std): kernelbase builds the descriptor itself with `RtlDefaultNpAcl` ("Named Pipe Security
//!   and Access Rights"): full control to SYSTEM, Administrators and the token's *owner*, read to
//!   Everyone and ANONYMOUS LOGON, whatever the default DACL says.
//!
//! Guarantees: the descriptors are exactly those; `open_for_write` is the access a client end
//! opened for write asks for (`GENERIC_WRITE`, mapped like a file's).

use crate::acl::{Ace, AceFlags, Acl, SecurityDescriptor};
use crate::mask::AccessMask;
use crate::sid::Sid;

/// ANONYMOUS LOGON, `S-1-5-7`.
pub fn anonymous_logon() -> Sid {
    Sid::parse("S-1-5-7").expect("well-known SID")
}

/// What `RtlDefaultNpAcl` gives a pipe made by `CreateNamedPipeW(.., NULL)` from a token whose
/// `TokenOwner` is `owner`.
pub fn default_named_pipe(owner: &Sid) -> SecurityDescriptor {
    let all = AccessMask::GENERIC_ALL;
    let read = AccessMask::GENERIC_READ;
    SecurityDescriptor {
        owner: Some(owner.clone()),
        group: None,
        dacl: Some(Acl::new(vec![
            Ace::allow(Sid::local_system(), all, AceFlags::NONE),
            Ace::allow(Sid::builtin_administrators(), all, AceFlags::NONE),
            Ace::allow(owner.clone(), all, AceFlags::NONE),
            Ace::allow(Sid::everyone(), read, AceFlags::NONE),
            Ace::allow(anonymous_logon(), read, AceFlags::NONE),
        ])),
        protected: false,
    }
}

/// An object the kernel secured with the creator token's default DACL, owned by `owner`.
pub fn from_default_dacl(owner: &Sid, default_dacl: &Acl) -> SecurityDescriptor {
    SecurityDescriptor {
        owner: Some(owner.clone()),
        group: None,
        dacl: Some(default_dacl.clone()),
        protected: false,
    }
}

/// The default DACL an interactive logon gives a user's token (user and SYSTEM full control,
/// the logon session read and execute), which `CreateRestrictedToken` copies unchanged.
pub fn stock_default_dacl(user: &Sid, logon: &Sid) -> Acl {
    Acl::new(vec![
        Ace::allow(user.clone(), AccessMask::GENERIC_ALL, AceFlags::NONE),
        Ace::allow(Sid::local_system(), AccessMask::GENERIC_ALL, AceFlags::NONE),
        Ace::allow(
            logon.clone(),
            AccessMask::GENERIC_READ | AccessMask::GENERIC_EXECUTE,
            AceFlags::NONE,
        ),
    ])
}

/// Opening a pipe's client end for write (`CreateFileW(GENERIC_WRITE)` / `NtOpenFile`), and
/// `SEMAPHORE_MODIFY_STATE` / `EVENT_MODIFY_STATE` (0x2, in those types' generic write mapping,
/// so write-restricted like FILE_WRITE_DATA, which has the same bit).
pub fn open_for_write() -> AccessMask {
    AccessMask::GENERIC_WRITE | AccessMask::SYNCHRONIZE
}
