//! `paddock status` on Windows: finds out by trying, not by guessing, whether this machine lets
//! the level-1 backend do its job: build and prove a restricted token, create a private desktop,
//! keep an ACL on the volume in question, grant the null device. Nothing runs and nothing is left
//! behind (each trial undoes itself).
//!
//! Guarantees: every check that fails carries the reason and what to do; `problems` lists exactly
//! the failed checks that make `paddock run` refuse, and notes the ones that only limit it.

use super::acl::NtfsAclStore;
use super::desktop::PrivateDesktop;
use super::device::DeviceGrant;
use super::long_path::strip_verbatim;
use super::token::RestrictedToken;
use super::wine::running_under_wine;
use crate::access::Privilege;
use crate::acl::{Ace, AceFlags, Acl};
use crate::mask::AccessMask;
use crate::plan::TokenPlan;
use crate::sid::Sid;
use crate::store::AclStore;
use serde::Serialize;
use std::path::Path;

/// The outcome of one trial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub ok: bool,
    pub detail: String,
}

impl Check {
    fn from<E: std::fmt::Display>(r: Result<String, E>) -> Check {
        match r {
            Ok(detail) => Check { ok: true, detail },
            Err(e) => Check {
                ok: false,
                detail: e.to_string(),
            },
        }
    }
}

/// What the level-1 backend can do here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub wine: bool,
    pub restricted_token: Check,
    pub private_desktop: Check,
    pub acl_storage: Check,
    pub null_device: Check,
    /// One line per failed check: what breaks and what to do.
    pub problems: Vec<String>,
}

/// Tries every level-1 mechanism; `dir` is a folder on the volume the workspace lives on (a
/// scratch folder is created in it and removed again).
pub fn probe(dir: &Path) -> Probe {
    // The resolved long form, as the backend sees a workspace (no 8.3 or link spellings).
    let resolved = std::fs::canonicalize(dir).map(|p| strip_verbatim(&p));
    let dir = resolved.as_deref().unwrap_or(dir);
    let restricted_token = Check::from(try_token());
    let private_desktop = Check::from(
        PrivateDesktop::create(&[]).map(|d| format!("created and closed {}", d.startup_name())),
    );
    let acl_storage = Check::from(try_acl(dir));
    let null_device = Check::from(try_null_device());
    let wine = running_under_wine();
    let mut problems = Vec::new();
    if wine {
        problems.push(
            "running under Wine, which enforces neither restricted tokens nor ACLs: `paddock run` \
             refuses every sandboxed mode here; use real Windows"
                .to_string(),
        );
    }
    if !restricted_token.ok {
        problems.push(format!(
            "restricted token: {}; `paddock run` refuses sandboxed modes",
            restricted_token.detail
        ));
    }
    if !private_desktop.ok {
        problems.push(format!(
            "private desktop: {}; `paddock run` refuses sandboxed modes (run Paddock in a \
             session with a window station, not as a bare service)",
            private_desktop.detail
        ));
    }
    if !acl_storage.ok {
        problems.push(format!(
            "ACLs on {}: {}; `paddock run` refuses workspaces on this volume",
            dir.display(),
            acl_storage.detail
        ));
    }
    if !null_device.ok {
        problems.push(format!(
            "null device: {}; at level 1 a sandboxed `> NUL` is denied (NUL grants write to \
             Everyone only, and only an administrator can add the run SID); the null stdin \
             Paddock opens for a command works",
            null_device.detail
        ));
    }
    Probe {
        wine,
        restricted_token,
        private_desktop,
        acl_storage,
        null_device,
        problems,
    }
}

fn try_token() -> Result<String, String> {
    let run_sid = Sid::synthetic().map_err(|e| e.to_string())?;
    let plan = TokenPlan {
        write_restricted: true,
        disable_max_privilege: true,
        lua_token: true,
        restricting_sids: vec![run_sid.clone()],
        run_sid: run_sid.clone(),
        deny_only: Vec::new(),
        retained_privileges: vec![Privilege::ChangeNotify],
        default_dacl: Acl::new(vec![
            Ace::allow(Sid::owner_rights(), AccessMask::GENERIC_ALL, AceFlags::NONE),
            Ace::allow(Sid::local_system(), AccessMask::GENERIC_ALL, AceFlags::NONE),
            Ace::allow(run_sid, AccessMask::GENERIC_ALL, AceFlags::NONE),
        ]),
    };
    let token = RestrictedToken::create(&plan).map_err(|e| e.to_string())?;
    token.verify().map_err(|e| e.to_string())?;
    Ok("write-restricted token created and read back from the kernel".into())
}

fn try_acl(dir: &Path) -> Result<String, String> {
    let scratch = dir.join(format!("paddock-probe-{}", std::process::id()));
    let mut store = NtfsAclStore::new();
    store.create_dir(&scratch).map_err(|e| e.to_string())?;
    let ace = Ace::allow(
        Sid::synthetic().map_err(|e| e.to_string())?,
        AccessMask::FILE_GENERIC_READ,
        AceFlags::NONE,
    );
    let result = store
        .add_explicit(&scratch, std::slice::from_ref(&ace))
        .and_then(|()| store.remove_explicit(&scratch, &[ace]))
        .map(|()| {
            format!(
                "an ACE was stored, read back and removed on {}",
                dir.display()
            )
        })
        .map_err(|e| e.to_string());
    std::fs::remove_dir(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    result
}

fn try_null_device() -> Result<String, String> {
    let sid = Sid::synthetic().map_err(|e| e.to_string())?;
    let ace = Ace::allow(sid, AccessMask::FILE_GENERIC_WRITE, AceFlags::NONE);
    let grant = DeviceGrant::add(r"\\.\NUL", &ace).map_err(|e| e.to_string())?;
    grant.revoke().map_err(|e| e.to_string())?;
    Ok("a per-run grant on \\\\.\\NUL was added and removed".into())
}
