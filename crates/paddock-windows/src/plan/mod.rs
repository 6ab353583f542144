//! The level-1 planner: from a `SandboxSpec`, the ACLs on disk (through `AclStore` reads) and the
//! SID registry, the exact token, ACEs and targeted grants of one run. Pure: it reads the store
//! and the registry, and changes nothing on disk but the registry; it plans no file or folder to
//! create but the run's private temp (below Paddock's state folder).
//!
//! Guarantees: the token is write-restricted with one synthetic SID per writable root plus a
//! per-run SID, never Everyone nor a logon SID; each root gets an inheritable Modify grant
//! without FILE_DELETE_CHILD and a kept, non-inheritable DELETE deny on the root folder itself
//! for its SID (kept with the grant: it is part of what being a root means, costs no tree walk,
//! and goes with the grant at `forget`); each protected path gets the denies of `protect`; roots that would
//! spread a grant over the disk, a profile, `%TEMP%`, system folders or Paddock's state are
//! refused; gaps in enforcement are refused unless accepted (see `enforceability`).

mod protect;
mod roots;

#[cfg(test)]
mod integrity_tests;
#[cfg(test)]
mod model_tests;

pub use roots::HostDirs;
#[cfg(any(test, feature = "testworld"))]
pub(crate) use roots::SYSTEM_DEFAULTS;

use crate::access::{GroupState, Privilege, TokenModel};
use crate::acl::{Ace, AceFlags, Acl};
use crate::enforceability::check_enforceable;
use crate::error::WindowsError;
use crate::mask::AccessMask;
use crate::sid::Sid;
use crate::sid_registry::SidRegistry;
use crate::store::{AclStore, EntryKind};
use crate::winpath;
use paddock_core::SandboxSpec;
use paddock_core::policy::{Capability, Mode, WindowsLevel};
use paddock_core::report::{EnforcementReport, Gap, Layer, LayerReport, LayerStatus, Protection};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How long a planned ACE stays on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lifetime {
    /// Applied once, recorded in the grant ledger, verified each run, removed by `forget`.
    Kept,
    /// Applied for this run (shared with concurrent runs by reference count), removed at its end.
    PerRun,
}

/// One ACE the run needs on one path, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAce {
    pub path: PathBuf,
    pub ace: Ace,
    pub lifetime: Lifetime,
    /// The writable root this ACE belongs to (kept ACEs), `None` for run-scoped ones.
    pub root: Option<PathBuf>,
    pub reason: String,
}

/// The local group (created by level 2's `paddock setup`) whose enabled members may read the
/// sandbox account passwords. Every level-1 token makes it deny-only, so a level-1 command
/// cannot read them although it runs as a member.
pub const BROKERS_GROUP: &str = "PaddockBrokers";

/// What the apply layer grants outside the file ACL journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "target")]
pub enum TargetedGrant {
    /// `\\.\NUL`: opened for write by countless tools. Its stock DACL
    /// `D:(A;;0x1201bf;;;WD)(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x1200a9;;;RC)` grants write to Everyone
    /// only, never a level-1 restricting SID, so the command's own `> NUL` is denied unless this
    /// grant is made, which needs an administrator (WRITE_DAC). Paddock's own null stdio is
    /// opened by Paddock and works either way (docs/windows.md, "The NUL device").
    NullDevice { path: String, ace: Ace },
    /// The console the child is attached to (`CONIN$` / `CONOUT$`).
    Console { ace: Ace },
    /// Pipes and kernel objects the child creates without a descriptor. Those the kernel
    /// secures with the token's default DACL (`CreatePipe`, unnamed `NtCreateNamedPipeFile`,
    /// events, mutexes, semaphores, sections) are covered by `TokenPlan::default_dacl`; pipes
    /// from `CreateNamedPipeW(.., NULL)` are not (see `ipc` and the report's `ipc` layer).
    Pipes,
    /// The run's private temp directory (its ACE is in `WindowsPlan::aces`, journaled).
    PrivateTemp { path: PathBuf },
}

/// The restricted token to create (`CreateRestrictedToken` of the caller's token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPlan {
    /// `WRITE_RESTRICTED` (0x8): restricting SIDs are checked for write access only.
    pub write_restricted: bool,
    /// `DISABLE_MAX_PRIVILEGE` (0x1): delete every privilege but SeChangeNotifyPrivilege.
    pub disable_max_privilege: bool,
    /// `LUA_TOKEN` (0x4): a filtered, non-administrator token.
    pub lua_token: bool,
    /// `SidsToRestrict`: the root SIDs then the run SID.
    pub restricting_sids: Vec<Sid>,
    /// The per-run SID (in `restricting_sids`): owns the private temp and targeted grants.
    pub run_sid: Sid,
    /// `SidsToDisable`: groups of the caller made deny-only (they match deny ACEs only). Holds
    /// the SID of `BROKERS_GROUP` when that group exists, filled by the apply layer.
    #[serde(default)]
    pub deny_only: Vec<Sid>,
    pub retained_privileges: Vec<Privilege>,
    /// `TokenDefaultDacl`: OWNER RIGHTS, SYSTEM and the run SID get full access to objects the
    /// kernel secures with it (unnamed pipes, events, mutexes, semaphores, sections): the run
    /// SID passes the restricting check, so the command can write its own objects, and no
    /// other run can. Not used by `CreateNamedPipeW` without a descriptor (`ipc`).
    pub default_dacl: Acl,
}

impl TokenPlan {
    /// `CreateRestrictedToken` flags as bits.
    pub fn flag_bits(&self) -> u32 {
        let mut bits = 0;
        if self.disable_max_privilege {
            bits |= 0x1;
        }
        if self.lua_token {
            bits |= 0x4;
        }
        if self.write_restricted {
            bits |= 0x8;
        }
        bits
    }

    /// The model of the token this plan creates from `caller`'s token.
    pub fn model(&self, caller: &TokenModel) -> TokenModel {
        let mut t = caller.clone();
        t.restricting = self.restricting_sids.clone();
        t.write_restricted = self.write_restricted;
        if self.disable_max_privilege {
            t.privileges
                .retain(|p| self.retained_privileges.contains(p));
        }
        for g in &mut t.groups {
            if (self.lua_token && g.sid == Sid::builtin_administrators())
                || self.deny_only.contains(&g.sid)
            {
                g.state = GroupState::DenyOnly;
            }
        }
        t
    }
}

/// Everything one level-1 run applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowsPlan {
    /// Random id naming this run in the journal and the private temp folder.
    pub run_id: String,
    pub token: TokenPlan,
    /// Writable roots and their SIDs, in spec order.
    pub roots: Vec<(PathBuf, Sid)>,
    /// Per-run denies first, then each root's kept DELETE deny and grant, then the private temp.
    pub aces: Vec<PlannedAce>,
    /// The command's `TEMP` / `TMP`; created by apply, removed at the end of the run.
    pub private_temp: PathBuf,
    pub targeted: Vec<TargetedGrant>,
    /// Capabilities not enforced, each accepted through `allow_unenforced`.
    pub not_enforced: Vec<Capability>,
}

impl WindowsPlan {
    /// The enforcement report this plan stands for once applied.
    pub fn report(&self) -> EnforcementReport {
        let sids: Vec<String> = self
            .token
            .restricting_sids
            .iter()
            .map(Sid::to_string)
            .collect();
        let mut layers = vec![
            LayerReport::new(
                Layer::RestrictedToken,
                LayerStatus::Enforced,
                format!(
                    "write-restricted token, restricting SIDs {}",
                    sids.join(", ")
                ),
            )
            .enforcing([Protection::Writes]),
            LayerReport::new(
                Layer::AclGrants,
                LayerStatus::Enforced,
                format!(
                    "{} writable root(s), {} ACEs, private temp {}",
                    self.roots.len(),
                    self.aces.len(),
                    self.private_temp.display()
                ),
            )
            .enforcing([Protection::Writes, Protection::ProtectedPaths]),
            LayerReport::new(
                Layer::DeleteConfinement,
                LayerStatus::Partial,
                "outside the writable roots the command can delete (never create, change or \
                 rename) files in folders that grant the user full control: a write-restricted \
                 token does not restrict FILE_DELETE_CHILD; protected paths are covered",
            )
            .lacking([Gap::DeleteChild]),
            LayerReport::new(
                Layer::Ipc,
                LayerStatus::Partial,
                "unnamed pipes (CreatePipe, Rust's std Command), events, mutexes and semaphores \
                 the command creates are secured by the token's default DACL and usable by it; \
                 a pipe made by CreateNamedPipeW without a security descriptor (libuv / Node \
                 child stdio, Ninja) gets a fixed DACL naming the user, not the sandbox's SIDs, \
                 so the command cannot open it for write: such tools fail (nothing leaks)",
            )
            .lacking([Gap::NamedPipes]),
            LayerReport::new(
                Layer::ReadConfinement,
                LayerStatus::NotEnforced,
                "level 1 restricts writes only: the command reads what the user can read",
            )
            .lacking([Gap::Reads]),
        ];
        for cap in &self.not_enforced {
            layers.push(
                LayerReport::new(
                    Layer::for_capability(*cap),
                    LayerStatus::NotEnforced,
                    "accepted through allow_unenforced; needs windows.level = \"elevated\"",
                )
                .lacking([Gap::unenforced(*cap)]),
            );
        }
        EnforcementReport {
            backend: "windows-unelevated".into(),
            unconfined: false,
            layers,
            not_enforced: self.not_enforced.clone(),
        }
    }
}

/// Plans a level-1 run of `spec` (host folders read from the environment).
pub fn plan(
    spec: &SandboxSpec,
    level: WindowsLevel,
    store: &dyn AclStore,
    registry: &mut SidRegistry,
) -> Result<WindowsPlan, WindowsError> {
    let host = HostDirs::from_env(registry.state_dir());
    plan_with(spec, level, store, registry, &host)
}

/// `plan` with explicit host folders.
pub fn plan_with(
    spec: &SandboxSpec,
    level: WindowsLevel,
    store: &dyn AclStore,
    registry: &mut SidRegistry,
    host: &HostDirs,
) -> Result<WindowsPlan, WindowsError> {
    if spec.mode == Mode::FullAccess {
        return Err(WindowsError::FullAccess);
    }
    let not_enforced = check_enforceable(spec, level)?;
    let roots: &[PathBuf] = if spec.mode == Mode::WorkspaceWrite {
        &spec.writable_roots
    } else {
        &[]
    };
    for root in roots {
        if let Some(reason) = host.refusal(root) {
            return Err(WindowsError::RefusedRoot {
                root: root.clone(),
                reason,
            });
        }
        if let Some(p) = spec
            .protected
            .iter()
            .find(|p| winpath::may_be_beneath(root, &p.path))
        {
            return Err(WindowsError::RefusedRoot {
                root: root.clone(),
                reason: format!("it lies inside the protected path {}", p.path.display()),
            });
        }
        if store.kind(root)? != Some(EntryKind::Dir) {
            return Err(WindowsError::RefusedRoot {
                root: root.clone(),
                reason: "it is not an existing directory".into(),
            });
        }
    }
    // Every protected path in a root must exist (`protect::existing_kind`), checked before any
    // SID is minted or anything is touched.
    let mut protected = Vec::new();
    for p in &spec.protected {
        if roots.iter().any(|r| winpath::may_be_beneath(&p.path, r)) {
            protected.push((p, protect::existing_kind(p, store)?));
        }
    }
    let mut root_sids = Vec::new();
    for root in roots {
        root_sids.push((root.clone(), registry.sid_for_root(root)?));
    }
    let run_id = random_run_id()?;
    let run_sid = Sid::synthetic()?;

    let mut denies = Vec::new();
    for (p, kind) in protected {
        for (root, sid) in root_sids
            .iter()
            .filter(|(r, _)| winpath::may_be_beneath(&p.path, r))
        {
            protect::protect(root, sid, p, kind, &mut denies);
        }
    }
    let mut aces = denies;
    for (root, sid) in &root_sids {
        aces.push(PlannedAce {
            path: root.clone(),
            ace: Ace::deny(sid.clone(), AccessMask::DELETE, AceFlags::NONE),
            lifetime: Lifetime::Kept,
            root: Some(root.clone()),
            reason: "the root itself cannot be deleted or renamed away (then recreated as a \
                     link); what is inside stays deletable"
                .into(),
        });
        aces.push(PlannedAce {
            path: root.clone(),
            ace: Ace::allow(
                sid.clone(),
                AccessMask::MODIFY_WITHOUT_DELETE_CHILD,
                AceFlags::OICI,
            ),
            lifetime: Lifetime::Kept,
            root: Some(root.clone()),
            reason: "writable root (Modify without FILE_DELETE_CHILD)".into(),
        });
    }
    let private_temp = registry.private_temp(&run_id);
    aces.push(PlannedAce {
        path: private_temp.clone(),
        ace: Ace::allow(
            run_sid.clone(),
            AccessMask::MODIFY_WITHOUT_DELETE_CHILD,
            AceFlags::OICI,
        ),
        lifetime: Lifetime::PerRun,
        root: None,
        reason: "the run's private temp directory".into(),
    });
    let device_rw = AccessMask::FILE_GENERIC_READ | AccessMask::FILE_GENERIC_WRITE;
    let targeted = vec![
        TargetedGrant::NullDevice {
            path: r"\\.\NUL".into(),
            ace: Ace::allow(run_sid.clone(), device_rw, AceFlags::NONE),
        },
        TargetedGrant::Console {
            ace: Ace::allow(run_sid.clone(), device_rw, AceFlags::NONE),
        },
        TargetedGrant::Pipes,
        TargetedGrant::PrivateTemp {
            path: private_temp.clone(),
        },
    ];
    let mut restricting_sids: Vec<Sid> = root_sids.iter().map(|(_, s)| s.clone()).collect();
    restricting_sids.push(run_sid.clone());
    let default_dacl = Acl::new(vec![
        Ace::allow(Sid::owner_rights(), AccessMask::GENERIC_ALL, AceFlags::NONE),
        Ace::allow(Sid::local_system(), AccessMask::GENERIC_ALL, AceFlags::NONE),
        Ace::allow(run_sid.clone(), AccessMask::GENERIC_ALL, AceFlags::NONE),
    ]);
    let token = TokenPlan {
        write_restricted: true,
        disable_max_privilege: true,
        lua_token: true,
        restricting_sids,
        run_sid,
        deny_only: Vec::new(),
        retained_privileges: vec![Privilege::ChangeNotify],
        default_dacl,
    };
    Ok(WindowsPlan {
        run_id,
        token,
        roots: root_sids,
        aces,
        private_temp,
        targeted,
        not_enforced,
    })
}

fn random_run_id() -> Result<String, WindowsError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| crate::sid::SidError::Random {
        message: e.to_string(),
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
