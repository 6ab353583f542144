//! `paddock setup` as data: the machine state level 2 needs (a group, two hidden accounts with
//! stored passwords, the group of users allowed to read those passwords, the WFP fence, a setup
//! record), a `reconcile` that turns what is observed
//! into ordered steps, an executor that undoes every completed step when a later one fails, and
//! the uninstall sequence. `SystemState` is the seam: `win::system` implements it with Win32,
//! `FakeSystem` in memory with fault injection.
//!
//! Guarantees: a failed setup leaves the machine exactly as it found it (or names each undo that
//! failed); running setup again repairs in place, rotates both passwords and changes nothing
//! else that is already right; a stored secret always equals its account's password after a
//! setup returns, failed or not; a stored secret's descriptor (`secret_store_descriptor`) grants
//! reading to the brokers group only, never to a user SID, Users or Everyone, and every level-1
//! token makes that group deny-only; uninstall goes forward past failures and can be re-run
//! until nothing of Paddock is left.

use crate::errors::{ElevatedError, SetupStep, SystemError};
use crate::filters::{self, FenceSpec, PortRange};
use paddock_windows::acl::{Ace, AceFlags, Acl, SecurityDescriptor};
use paddock_windows::mask::AccessMask;
use paddock_windows::sid::Sid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The setup layout this build installs; a lower recorded version is upgraded in place.
pub const SETUP_VERSION: u32 = 2;
pub const GROUP_NAME: &str = "PaddockSandbox";
/// The local group whose members (the users setup was run for) may read the stored passwords.
/// Level 1 makes it deny-only in every sandbox token (`paddock_windows::plan::BROKERS_GROUP`).
pub const BROKERS_GROUP_NAME: &str = paddock_windows::plan::BROKERS_GROUP;
pub const OFFLINE_ACCOUNT: &str = "PaddockOffline";
pub const ONLINE_ACCOUNT: &str = "PaddockOnline";
/// HKLM key whose DWORD values named after accounts hide them from the sign-in screen.
pub const USERLIST_KEY: &str =
    r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\SpecialAccounts\UserList";
/// User rights setup gives the sandbox group: no logon over the network (SMB, WinRM) and none
/// through Remote Desktop, as a service or as a batch job. The launch needs only the
/// interactive logon `CreateProcessWithLogonW` performs (granted to Users by default).
pub const DENIED_LOGON_RIGHTS: &[&str] = &[
    "SeDenyNetworkLogonRight",
    "SeDenyRemoteInteractiveLogonRight",
    "SeDenyServiceLogonRight",
    "SeDenyBatchLogonRight",
];
/// Length of generated passwords (characters; well above any complexity policy).
pub const PASSWORD_LEN: usize = 40;

/// Which network side an account is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Fenced by WFP: used for `network = "off"`.
    Offline,
    /// Not fenced: used for `network = "on"`.
    Online,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSpec {
    pub name: String,
    pub role: Role,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSpec {
    pub name: String,
    pub comment: String,
}

/// An HKLM `REG_DWORD` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryValue {
    pub key: String,
    pub name: String,
    pub value: u32,
}

/// What setup installs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredState {
    pub version: u32,
    pub group: GroupSpec,
    pub accounts: Vec<AccountSpec>,
    pub hidden: Vec<RegistryValue>,
    /// User rights (LSA) given to the group.
    pub group_rights: Vec<String>,
    pub proxy_ports: PortRange,
    /// The group allowed to read the stored passwords.
    pub brokers_group: GroupSpec,
    /// Its members: the users who may run level-2 commands.
    pub brokers: Vec<Sid>,
}

impl DesiredState {
    /// The standard layout: `PaddockSandbox` with `PaddockOffline` and `PaddockOnline`.
    pub fn standard() -> DesiredState {
        let account = |name: &str, role, what: &str| AccountSpec {
            name: name.into(),
            role,
            comment: format!("Paddock sandbox account ({what}); managed by `paddock setup`"),
        };
        let accounts = vec![
            account(OFFLINE_ACCOUNT, Role::Offline, "network fenced"),
            account(ONLINE_ACCOUNT, Role::Online, "network allowed"),
        ];
        let hidden = accounts
            .iter()
            .map(|a| RegistryValue {
                key: USERLIST_KEY.into(),
                name: a.name.clone(),
                value: 0,
            })
            .collect();
        DesiredState {
            version: SETUP_VERSION,
            group: GroupSpec {
                name: GROUP_NAME.into(),
                comment: "Paddock sandbox accounts; managed by `paddock setup`".into(),
            },
            accounts,
            hidden,
            group_rights: DENIED_LOGON_RIGHTS.iter().map(|r| r.to_string()).collect(),
            proxy_ports: filters::DEFAULT_PROXY_PORTS,
            brokers_group: GroupSpec {
                name: BROKERS_GROUP_NAME.into(),
                comment: "Users who may run Paddock level-2 commands (read the sandbox account \
                          passwords); managed by `paddock setup`"
                    .into(),
            },
            brokers: Vec::new(),
        }
    }

    /// The standard layout for `brokers`.
    pub fn with_brokers(mut self, brokers: Vec<Sid>) -> DesiredState {
        self.brokers = brokers;
        self
    }

    pub fn account(&self, role: Role) -> Option<&AccountSpec> {
        self.accounts.iter().find(|a| a.role == role)
    }
}

/// What setup records on the machine (`%ProgramData%\Paddock\setup.json`), read by `status`
/// and by the broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupRecord {
    pub version: u32,
    pub group: String,
    pub group_sid: Sid,
    /// The group allowed to read the stored passwords (absent in records before version 2).
    #[serde(default)]
    pub brokers_group_sid: Option<Sid>,
    /// Account name, role and SID.
    pub accounts: Vec<(String, Role, Sid)>,
    pub proxy_ports: PortRange,
}

impl SetupRecord {
    pub fn sid_of(&self, role: Role) -> Option<&Sid> {
        self.accounts
            .iter()
            .find(|(_, r, _)| *r == role)
            .map(|(_, _, s)| s)
    }
}

/// A password, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A fresh password from the OS CSPRNG: `PASSWORD_LEN` characters over upper, lower, digits
    /// and symbols, with at least one of each class (so every complexity policy accepts it).
    pub fn generate() -> Result<Secret, SystemError> {
        const CLASSES: [&[u8]; 4] = [
            b"ABCDEFGHJKLMNPQRSTUVWXYZ",
            b"abcdefghijkmnopqrstuvwxyz",
            b"23456789",
            b"!#%+-=?@_~",
        ];
        let all: Vec<u8> = CLASSES.concat();
        loop {
            let mut bytes = [0u8; PASSWORD_LEN];
            getrandom::fill(&mut bytes)
                .map_err(|e| SystemError::new("getrandom", 0, e.to_string()))?;
            // Rejection sampling keeps every character equally likely.
            let limit = 256 - 256 % all.len();
            if bytes.iter().any(|b| usize::from(*b) >= limit) {
                continue;
            }
            let text: Vec<u8> = bytes
                .iter()
                .map(|b| all[usize::from(*b) % all.len()])
                .collect();
            if CLASSES
                .iter()
                .all(|class| text.iter().any(|c| class.contains(c)))
            {
                return Ok(Secret(String::from_utf8(text).expect("ASCII alphabet")));
            }
        }
    }

    pub fn from_stored(text: String) -> Secret {
        Secret(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One account as the system reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAccount {
    pub sid: Sid,
}

/// The descriptor of every stored secret file and of the `secrets` folder: owned by
/// Administrators, protected (nothing inherited), SYSTEM and Administrators full control, the
/// brokers group read (and list, for the folder). No user SID, Users, Everyone or sandbox
/// account appears, so a user's process reads a secret only through an *enabled* brokers-group
/// membership, which every level-1 token makes deny-only.
pub fn secret_store_descriptor(brokers_group: &Sid, folder: bool) -> SecurityDescriptor {
    let inherit = if folder {
        AceFlags::OICI
    } else {
        AceFlags::NONE
    };
    let read = AccessMask::FILE_GENERIC_READ | AccessMask::FILE_EXECUTE;
    SecurityDescriptor {
        owner: Some(Sid::builtin_administrators()),
        group: None,
        dacl: Some(Acl::new(vec![
            Ace::allow(Sid::local_system(), AccessMask::FILE_ALL_ACCESS, inherit),
            Ace::allow(
                Sid::builtin_administrators(),
                AccessMask::FILE_ALL_ACCESS,
                inherit,
            ),
            Ace::allow(brokers_group.clone(), read, inherit),
        ])),
        protected: true,
    }
}

/// What `SystemState::observe` reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observed {
    /// The group's SID and member names, when it exists.
    pub group: Option<(Sid, BTreeSet<String>)>,
    /// The user rights (LSA) the group holds.
    pub group_rights: BTreeSet<String>,
    pub accounts: BTreeMap<String, ObservedAccount>,
    /// `key\name` -> DWORD for the values setup manages.
    pub registry: BTreeMap<String, u32>,
    /// The objects installed under Paddock's sublayer, when it exists.
    pub fence: Option<FenceSpec>,
    /// Accounts with a stored secret.
    pub secrets: BTreeSet<String>,
    pub record: Option<SetupRecord>,
    /// The brokers group's SID and member SIDs, when it exists.
    pub brokers_group: Option<(Sid, BTreeSet<Sid>)>,
}

fn reg_key(key: &str, name: &str) -> String {
    format!("{key}\\{name}")
}

/// The machine, as setup sees and changes it. Every mutating call either fully happens or
/// returns an error having changed nothing (the Win32 implementation uses a WFP transaction for
/// the fence and single calls elsewhere).
pub trait SystemState {
    fn observe(&self, desired: &DesiredState) -> Result<Observed, SystemError>;
    fn create_group(&mut self, g: &GroupSpec) -> Result<(), SystemError>;
    fn delete_group(&mut self, name: &str) -> Result<(), SystemError>;
    /// Creates an enabled account whose password never expires and cannot be changed by it.
    fn create_account(&mut self, a: &AccountSpec, password: &Secret) -> Result<(), SystemError>;
    /// Sets the password and repairs the flags (enabled, unlocked, never expires).
    fn set_password(&mut self, account: &str, password: &Secret) -> Result<(), SystemError>;
    fn delete_account(&mut self, account: &str) -> Result<(), SystemError>;
    /// Deletes the account's profile folder and ProfileList entry (absent is fine).
    fn delete_profile(&mut self, account: &str) -> Result<(), SystemError>;
    fn add_member(&mut self, group: &str, account: &str) -> Result<(), SystemError>;
    fn remove_member(&mut self, group: &str, account: &str) -> Result<(), SystemError>;
    /// Adds the user `member` (by SID) to `group`; already a member is fine.
    fn add_sid_member(&mut self, group: &str, member: &Sid) -> Result<(), SystemError>;
    fn remove_sid_member(&mut self, group: &str, member: &Sid) -> Result<(), SystemError>;
    fn set_registry_dword(&mut self, v: &RegistryValue) -> Result<(), SystemError>;
    /// Adds user rights (LSA) to the group.
    fn add_group_rights(&mut self, group: &str, rights: &[String]) -> Result<(), SystemError>;
    /// Removes user rights from the group (absent ones are fine).
    fn remove_group_rights(&mut self, group: &str, rights: &[String]) -> Result<(), SystemError>;
    fn delete_registry_value(&mut self, key: &str, name: &str) -> Result<(), SystemError>;
    fn read_secret(&self, account: &str) -> Result<Option<Secret>, SystemError>;
    /// Stores the secret as a new file created with `secret_store_descriptor` for the brokers
    /// group (never rewriting an existing file in place), then moved over the old one.
    fn store_secret(&mut self, account: &str, secret: &Secret) -> Result<(), SystemError>;
    fn delete_secret(&mut self, account: &str) -> Result<(), SystemError>;
    /// Replaces everything under Paddock's sublayer with `fence`, atomically.
    fn install_fence(&mut self, fence: &FenceSpec) -> Result<(), SystemError>;
    /// Deletes Paddock's filters and sublayer (absent is fine), atomically.
    fn remove_fence(&mut self) -> Result<(), SystemError>;
    /// Writes (`Some`) or deletes (`None`) the setup record.
    fn write_record(&mut self, record: Option<&SetupRecord>) -> Result<(), SystemError>;
    /// Removes every ACE Paddock kept (ledger and journal); returns how many.
    fn remove_kept_aces(&mut self) -> Result<usize, SystemError>;
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    CreateGroup(GroupSpec),
    /// Create with a fresh password and store it.
    CreateAccount(AccountSpec),
    /// Set a fresh password (repairing expiry and lockout) and store it.
    RotatePassword {
        account: String,
    },
    AddToGroup {
        group: String,
        account: String,
    },
    /// Add a user allowed to run level-2 commands to the brokers group.
    AddBroker {
        group: String,
        user: Sid,
    },
    Hide(RegistryValue),
    /// Give the group the user rights it lacks.
    RestrictLogon {
        group: String,
        rights: Vec<String>,
    },
    InstallFence(Box<FenceSpec>),
    /// Install the fence for the offline account once it exists (its SID is not known before).
    InstallFenceForNewAccount {
        account: String,
        proxy: PortRange,
    },
    WriteRecord,
}

impl Step {
    pub fn setup_step(&self) -> SetupStep {
        match self {
            Step::CreateGroup(_) => SetupStep::CreateGroup,
            Step::CreateAccount(_) => SetupStep::CreateAccount,
            Step::RotatePassword { .. } => SetupStep::SetPassword,
            Step::AddToGroup { .. } | Step::AddBroker { .. } => SetupStep::AddToGroup,
            Step::Hide(_) => SetupStep::HideAccount,
            Step::RestrictLogon { .. } => SetupStep::RestrictLogon,
            Step::InstallFence(_) | Step::InstallFenceForNewAccount { .. } => {
                SetupStep::InstallFence
            }
            Step::WriteRecord => SetupStep::WriteRecord,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Step::CreateGroup(g) => format!("create group {}", g.name),
            Step::CreateAccount(a) => format!("create account {}", a.name),
            Step::RotatePassword { account } => format!("rotate the password of {account}"),
            Step::AddToGroup { group, account } => format!("add {account} to {group}"),
            Step::AddBroker { group, user } => format!("add user {user} to {group}"),
            Step::Hide(v) => format!("hide {} from the sign-in screen", v.name),
            Step::RestrictLogon { rights, .. } => {
                format!("deny the sandbox group {}", rights.join(", "))
            }
            Step::InstallFence(_) | Step::InstallFenceForNewAccount { .. } => {
                "install the WFP network fence".into()
            }
            Step::WriteRecord => "record the setup version".into(),
        }
    }
}

/// The ordered steps that bring `observed` to `desired`. Passwords are always rotated.
pub fn reconcile(desired: &DesiredState, observed: &Observed) -> Vec<Step> {
    let mut steps = Vec::new();
    if observed.brokers_group.is_none() {
        steps.push(Step::CreateGroup(desired.brokers_group.clone()));
    }
    let brokers = observed.brokers_group.as_ref().map(|(_, m)| m);
    for user in &desired.brokers {
        if !brokers.is_some_and(|m| m.contains(user)) {
            steps.push(Step::AddBroker {
                group: desired.brokers_group.name.clone(),
                user: user.clone(),
            });
        }
    }
    if observed.group.is_none() {
        steps.push(Step::CreateGroup(desired.group.clone()));
    }
    for a in &desired.accounts {
        if observed.accounts.contains_key(&a.name) {
            steps.push(Step::RotatePassword {
                account: a.name.clone(),
            });
        } else {
            steps.push(Step::CreateAccount(a.clone()));
        }
    }
    let members = observed.group.as_ref().map(|(_, m)| m);
    for a in &desired.accounts {
        if !members.is_some_and(|m| m.contains(&a.name)) {
            steps.push(Step::AddToGroup {
                group: desired.group.name.clone(),
                account: a.name.clone(),
            });
        }
    }
    for v in &desired.hidden {
        if observed.registry.get(&reg_key(&v.key, &v.name)) != Some(&v.value) {
            steps.push(Step::Hide(v.clone()));
        }
    }
    let missing: Vec<String> = desired
        .group_rights
        .iter()
        .filter(|r| !observed.group_rights.contains(*r))
        .cloned()
        .collect();
    if !missing.is_empty() {
        steps.push(Step::RestrictLogon {
            group: desired.group.name.clone(),
            rights: missing,
        });
    }
    if let Some(offline) = desired.account(Role::Offline) {
        match observed.accounts.get(&offline.name) {
            Some(acc) => {
                let want = filters::fence(&acc.sid, desired.proxy_ports);
                if observed.fence.as_ref() != Some(&want) {
                    steps.push(Step::InstallFence(Box::new(want)));
                }
            }
            None => steps.push(Step::InstallFenceForNewAccount {
                account: offline.name.clone(),
                proxy: desired.proxy_ports,
            }),
        }
    }
    let structural = steps
        .iter()
        .any(|s| !matches!(s, Step::RotatePassword { .. }));
    let record_ok = observed.record.as_ref().is_some_and(|r| {
        r.version == desired.version
            && r.proxy_ports == desired.proxy_ports
            && observed
                .group
                .as_ref()
                .is_some_and(|(sid, _)| *sid == r.group_sid)
            && observed.brokers_group.as_ref().map(|(sid, _)| sid) == r.brokers_group_sid.as_ref()
            && desired.accounts.iter().all(|a| {
                observed
                    .accounts
                    .get(&a.name)
                    .is_some_and(|o| r.sid_of(a.role) == Some(&o.sid))
            })
    });
    if structural || !record_ok {
        steps.push(Step::WriteRecord);
    }
    steps
}

/// How to take back one completed change.
#[derive(Debug)]
enum Undo {
    DeleteGroup(String),
    DeleteAccount(String),
    RestorePassword {
        account: String,
        old: Option<Secret>,
    },
    RemoveMember {
        group: String,
        account: String,
    },
    RemoveBroker {
        group: String,
        user: Sid,
    },
    RestoreRegistry {
        value: RegistryValue,
        previous: Option<u32>,
    },
    RemoveRights {
        group: String,
        rights: Vec<String>,
    },
    RestoreFence(Option<FenceSpec>),
    RestoreRecord(Option<SetupRecord>),
}

impl Undo {
    fn run(&self, sys: &mut dyn SystemState) -> Result<(), SystemError> {
        match self {
            Undo::DeleteGroup(name) => sys.delete_group(name),
            Undo::DeleteAccount(name) => {
                sys.delete_secret(name)?;
                sys.delete_account(name)?;
                sys.delete_profile(name)
            }
            Undo::RestorePassword { account, old } => match old {
                Some(old) => {
                    sys.set_password(account, old)?;
                    sys.store_secret(account, old)
                }
                // There was no usable secret before: the account was unusable already; leave
                // the new password and its secret in place rather than a password nobody knows.
                None => Ok(()),
            },
            Undo::RemoveMember { group, account } => sys.remove_member(group, account),
            Undo::RemoveBroker { group, user } => sys.remove_sid_member(group, user),
            Undo::RestoreRegistry { value, previous } => match previous {
                Some(p) => sys.set_registry_dword(&RegistryValue {
                    value: *p,
                    ..value.clone()
                }),
                None => sys.delete_registry_value(&value.key, &value.name),
            },
            Undo::RemoveRights { group, rights } => sys.remove_group_rights(group, rights),
            Undo::RestoreFence(Some(f)) => sys.install_fence(f),
            Undo::RestoreFence(None) => sys.remove_fence(),
            Undo::RestoreRecord(r) => sys.write_record(r.as_ref()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Undo::DeleteGroup(g) => format!("delete group {g}"),
            Undo::DeleteAccount(a) => format!("delete account {a}"),
            Undo::RestorePassword { account, .. } => format!("restore the password of {account}"),
            Undo::RemoveMember { group, account } => format!("remove {account} from {group}"),
            Undo::RemoveBroker { group, user } => format!("remove user {user} from {group}"),
            Undo::RestoreRegistry { value, .. } => format!("restore registry value {}", value.name),
            Undo::RemoveRights { group, .. } => format!("remove the rights given to {group}"),
            Undo::RestoreFence(_) => "restore the previous WFP fence".into(),
            Undo::RestoreRecord(_) => "restore the previous setup record".into(),
        }
    }
}

/// What a successful setup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupOutcome {
    pub steps: Vec<String>,
    pub record: SetupRecord,
}

fn fail(step: SetupStep, source: SystemError) -> (SetupStep, SystemError) {
    (step, source)
}

/// Runs one step; pushes its undo entries as soon as each sub-change has happened.
fn execute(
    step: &Step,
    desired: &DesiredState,
    sys: &mut dyn SystemState,
    undo: &mut Vec<Undo>,
) -> Result<(), (SetupStep, SystemError)> {
    match step {
        Step::CreateGroup(g) => {
            sys.create_group(g)
                .map_err(|e| fail(SetupStep::CreateGroup, e))?;
            undo.push(Undo::DeleteGroup(g.name.clone()));
        }
        Step::CreateAccount(a) => {
            let pw = Secret::generate().map_err(|e| fail(SetupStep::CreateAccount, e))?;
            sys.create_account(a, &pw)
                .map_err(|e| fail(SetupStep::CreateAccount, e))?;
            undo.push(Undo::DeleteAccount(a.name.clone()));
            sys.store_secret(&a.name, &pw)
                .map_err(|e| fail(SetupStep::StoreSecret, e))?;
        }
        Step::RotatePassword { account } => {
            let old = sys
                .read_secret(account)
                .map_err(|e| fail(SetupStep::StoreSecret, e))?;
            let pw = Secret::generate().map_err(|e| fail(SetupStep::SetPassword, e))?;
            sys.set_password(account, &pw)
                .map_err(|e| fail(SetupStep::SetPassword, e))?;
            undo.push(Undo::RestorePassword {
                account: account.clone(),
                old,
            });
            sys.store_secret(account, &pw)
                .map_err(|e| fail(SetupStep::StoreSecret, e))?;
        }
        Step::AddToGroup { group, account } => {
            sys.add_member(group, account)
                .map_err(|e| fail(SetupStep::AddToGroup, e))?;
            undo.push(Undo::RemoveMember {
                group: group.clone(),
                account: account.clone(),
            });
        }
        Step::AddBroker { group, user } => {
            sys.add_sid_member(group, user)
                .map_err(|e| fail(SetupStep::AddToGroup, e))?;
            undo.push(Undo::RemoveBroker {
                group: group.clone(),
                user: user.clone(),
            });
        }
        Step::Hide(v) => {
            let previous = sys
                .observe(desired)
                .map_err(|e| fail(SetupStep::HideAccount, e))?
                .registry
                .get(&reg_key(&v.key, &v.name))
                .copied();
            sys.set_registry_dword(v)
                .map_err(|e| fail(SetupStep::HideAccount, e))?;
            undo.push(Undo::RestoreRegistry {
                value: v.clone(),
                previous,
            });
        }
        Step::RestrictLogon { group, rights } => {
            sys.add_group_rights(group, rights)
                .map_err(|e| fail(SetupStep::RestrictLogon, e))?;
            undo.push(Undo::RemoveRights {
                group: group.clone(),
                rights: rights.clone(),
            });
        }
        Step::InstallFence(f) => install_fence(f, desired, sys, undo)?,
        Step::InstallFenceForNewAccount { account, proxy } => {
            let observed = sys
                .observe(desired)
                .map_err(|e| fail(SetupStep::InstallFence, e))?;
            let sid = observed
                .accounts
                .get(account)
                .map(|a| a.sid.clone())
                .ok_or_else(|| {
                    fail(
                        SetupStep::InstallFence,
                        SystemError::new(
                            "LookupAccountNameW",
                            1332,
                            format!("{account} not found"),
                        ),
                    )
                })?;
            install_fence(&filters::fence(&sid, *proxy), desired, sys, undo)?;
        }
        Step::WriteRecord => {
            let observed = sys
                .observe(desired)
                .map_err(|e| fail(SetupStep::WriteRecord, e))?;
            let record =
                record_from(desired, &observed).map_err(|e| fail(SetupStep::WriteRecord, e))?;
            sys.write_record(Some(&record))
                .map_err(|e| fail(SetupStep::WriteRecord, e))?;
            undo.push(Undo::RestoreRecord(observed.record));
        }
    }
    Ok(())
}

fn install_fence(
    f: &FenceSpec,
    desired: &DesiredState,
    sys: &mut dyn SystemState,
    undo: &mut Vec<Undo>,
) -> Result<(), (SetupStep, SystemError)> {
    let previous = sys
        .observe(desired)
        .map_err(|e| fail(SetupStep::InstallFence, e))?
        .fence;
    sys.install_fence(f)
        .map_err(|e| fail(SetupStep::InstallFence, e))?;
    undo.push(Undo::RestoreFence(previous));
    Ok(())
}

fn record_from(desired: &DesiredState, observed: &Observed) -> Result<SetupRecord, SystemError> {
    let missing = |what: &str| SystemError::new("observe", 1332, format!("{what} not found"));
    let group_sid = observed
        .group
        .as_ref()
        .map(|(s, _)| s.clone())
        .ok_or_else(|| missing(&desired.group.name))?;
    let accounts = desired
        .accounts
        .iter()
        .map(|a| {
            observed
                .accounts
                .get(&a.name)
                .map(|o| (a.name.clone(), a.role, o.sid.clone()))
                .ok_or_else(|| missing(&a.name))
        })
        .collect::<Result<_, _>>()?;
    Ok(SetupRecord {
        version: desired.version,
        group: desired.group.name.clone(),
        group_sid,
        brokers_group_sid: observed.brokers_group.as_ref().map(|(s, _)| s.clone()),
        accounts,
        proxy_ports: desired.proxy_ports,
    })
}

/// Brings the machine to `desired`, undoing everything on failure.
pub fn setup(
    sys: &mut dyn SystemState,
    desired: &DesiredState,
) -> Result<SetupOutcome, ElevatedError> {
    let observed = sys
        .observe(desired)
        .map_err(|source| ElevatedError::Setup {
            step: SetupStep::CheckElevation,
            source,
            done: Vec::new(),
            rolled_back: true,
            rollback_failures: Vec::new(),
        })?;
    let steps = reconcile(desired, &observed);
    let mut undo: Vec<Undo> = Vec::new();
    let mut done: Vec<String> = Vec::new();
    for step in &steps {
        if let Err((failed, source)) = execute(step, desired, sys, &mut undo) {
            let mut rollback_failures = Vec::new();
            while let Some(u) = undo.pop() {
                if let Err(e) = u.run(sys) {
                    rollback_failures.push(format!("{}: {e}", u.describe()));
                }
            }
            return Err(ElevatedError::Setup {
                step: failed,
                source,
                done,
                rolled_back: rollback_failures.is_empty(),
                rollback_failures,
            });
        }
        done.push(step.describe());
    }
    let observed = sys
        .observe(desired)
        .map_err(|source| ElevatedError::Setup {
            step: SetupStep::WriteRecord,
            source,
            done: done.clone(),
            rolled_back: false,
            rollback_failures: vec!["setup completed but could not be read back".into()],
        })?;
    let record = observed
        .record
        .clone()
        .ok_or_else(|| ElevatedError::Setup {
            step: SetupStep::WriteRecord,
            source: SystemError::new("observe", 2, "the setup record is missing after setup"),
            done: done.clone(),
            rolled_back: false,
            rollback_failures: Vec::new(),
        })?;
    Ok(SetupOutcome {
        steps: done,
        record,
    })
}

/// What uninstall removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UninstallOutcome {
    pub removed: Vec<String>,
    pub aces_removed: usize,
}

/// Removes everything setup ever made (accounts of the record too, if they were renamed),
/// continuing past failures; errors list what is left so a re-run can finish.
pub fn uninstall(
    sys: &mut dyn SystemState,
    desired: &DesiredState,
) -> Result<UninstallOutcome, ElevatedError> {
    let observed = sys.observe(desired).map_err(|e| ElevatedError::Uninstall {
        failures: vec![format!("observe the machine: {e}")],
    })?;
    let mut out = UninstallOutcome::default();
    let mut failures: Vec<String> = Vec::new();
    match sys.remove_kept_aces() {
        Ok(n) => out.aces_removed = n,
        Err(e) => failures.push(format!(
            "PDK-S{} remove kept ACEs: {e}",
            SetupStep::RemoveAces.code()
        )),
    }
    if observed.fence.is_some() {
        let r = sys.remove_fence();
        note(
            &mut out,
            &mut failures,
            SetupStep::RemoveFence,
            "WFP fence".into(),
            r,
        );
    }
    let mut names: Vec<String> = desired.accounts.iter().map(|a| a.name.clone()).collect();
    if let Some(rec) = &observed.record {
        for (n, _, _) in &rec.accounts {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    for name in &names {
        if observed.secrets.contains(name) {
            let r = sys.delete_secret(name);
            note(
                &mut out,
                &mut failures,
                SetupStep::RemoveSecret,
                format!("secret of {name}"),
                r,
            );
        }
        if observed.accounts.contains_key(name) {
            let r = sys.delete_account(name);
            note(
                &mut out,
                &mut failures,
                SetupStep::RemoveAccount,
                format!("account {name}"),
                r,
            );
        }
        let r = sys.delete_profile(name);
        note(
            &mut out,
            &mut failures,
            SetupStep::RemoveProfile,
            format!("profile of {name}"),
            r,
        );
        if observed.registry.contains_key(&reg_key(USERLIST_KEY, name)) {
            let r = sys.delete_registry_value(USERLIST_KEY, name);
            let what = format!("sign-in value {name}");
            note(
                &mut out,
                &mut failures,
                SetupStep::RemoveRegistryValue,
                what,
                r,
            );
        }
    }
    if !observed.group_rights.is_empty() {
        // Rights held by a deleted SID would stay in the policy as orphans: remove them first.
        let rights: Vec<String> = observed.group_rights.iter().cloned().collect();
        let r = sys.remove_group_rights(&desired.group.name, &rights);
        let what = format!("user rights of {}", desired.group.name);
        note(
            &mut out,
            &mut failures,
            SetupStep::RemoveLogonRights,
            what,
            r,
        );
    }
    if observed.group.is_some() {
        let r = sys.delete_group(&desired.group.name);
        let what = format!("group {}", desired.group.name);
        note(&mut out, &mut failures, SetupStep::RemoveGroup, what, r);
    }
    if observed.brokers_group.is_some() {
        let r = sys.delete_group(&desired.brokers_group.name);
        let what = format!("group {}", desired.brokers_group.name);
        note(&mut out, &mut failures, SetupStep::RemoveGroup, what, r);
    }
    // The record goes last, so an interrupted uninstall still knows what to finish.
    if failures.is_empty() && observed.record.is_some() {
        let r = sys.write_record(None);
        note(
            &mut out,
            &mut failures,
            SetupStep::RemoveRecord,
            "setup record".into(),
            r,
        );
    }
    if failures.is_empty() {
        Ok(out)
    } else {
        Err(ElevatedError::Uninstall { failures })
    }
}

fn note(
    out: &mut UninstallOutcome,
    failures: &mut Vec<String>,
    step: SetupStep,
    what: String,
    r: Result<(), SystemError>,
) {
    match r {
        Ok(()) => out.removed.push(what),
        Err(e) => failures.push(format!("PDK-S{} {what}: {e}", step.code())),
    }
}

/// The machine state `FakeSystem` holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FakeMachine {
    pub group: Option<(Sid, BTreeSet<String>)>,
    pub group_rights: BTreeSet<String>,
    pub accounts: BTreeMap<String, (Sid, String)>,
    pub profiles: BTreeSet<String>,
    pub registry: BTreeMap<String, u32>,
    pub fence: Option<FenceSpec>,
    pub secrets: BTreeMap<String, String>,
    /// The descriptor (SDDL) each stored secret file was created with.
    pub secret_descriptors: BTreeMap<String, String>,
    pub brokers_group: Option<(Sid, BTreeSet<Sid>)>,
    pub record: Option<SetupRecord>,
    pub kept_aces: usize,
}

/// An in-memory `SystemState` with fault injection on mutating calls.
#[derive(Debug, Clone, Default)]
pub struct FakeSystem {
    pub machine: FakeMachine,
    calls: usize,
    fail: Vec<usize>,
    next_rid: u32,
}

impl FakeSystem {
    pub fn new() -> FakeSystem {
        FakeSystem {
            next_rid: 1000,
            ..FakeSystem::default()
        }
    }

    /// Makes the `n`-th mutating call from now (1-based) fail.
    pub fn fail_at(&mut self, n: usize) {
        self.fail.push(self.calls + n);
    }

    /// Mutating calls made so far.
    pub fn calls(&self) -> usize {
        self.calls
    }

    fn mutate(&mut self, api: &str) -> Result<(), SystemError> {
        self.calls += 1;
        if self.fail.contains(&self.calls) {
            return Err(SystemError::new(api, 5, "injected fault"));
        }
        Ok(())
    }

    fn new_sid(&mut self) -> Sid {
        self.next_rid += 1;
        Sid::parse(&format!("S-1-5-21-100-200-300-{}", self.next_rid)).expect("valid SID")
    }

    /// True when every stored secret is the password of its account.
    pub fn secrets_match_passwords(&self) -> bool {
        self.machine
            .secrets
            .iter()
            .all(|(n, s)| self.machine.accounts.get(n).is_some_and(|(_, pw)| pw == s))
    }
}

impl SystemState for FakeSystem {
    fn observe(&self, _desired: &DesiredState) -> Result<Observed, SystemError> {
        let m = &self.machine;
        Ok(Observed {
            group: m.group.clone(),
            group_rights: m.group_rights.clone(),
            accounts: m
                .accounts
                .iter()
                .map(|(n, (sid, _))| (n.clone(), ObservedAccount { sid: sid.clone() }))
                .collect(),
            registry: m.registry.clone(),
            fence: m.fence.clone(),
            secrets: m.secrets.keys().cloned().collect(),
            record: m.record.clone(),
            brokers_group: m.brokers_group.clone(),
        })
    }
    fn create_group(&mut self, g: &GroupSpec) -> Result<(), SystemError> {
        self.mutate("NetLocalGroupAdd")?;
        let sid = self.new_sid();
        if g.name == BROKERS_GROUP_NAME {
            self.machine.brokers_group = Some((sid, BTreeSet::new()));
        } else {
            self.machine.group = Some((sid, BTreeSet::new()));
        }
        Ok(())
    }
    fn delete_group(&mut self, name: &str) -> Result<(), SystemError> {
        self.mutate("NetLocalGroupDel")?;
        if name == BROKERS_GROUP_NAME {
            self.machine.brokers_group = None;
        } else {
            self.machine.group = None;
        }
        Ok(())
    }
    fn add_sid_member(&mut self, _group: &str, member: &Sid) -> Result<(), SystemError> {
        self.mutate("NetLocalGroupAddMembers")?;
        match &mut self.machine.brokers_group {
            Some((_, m)) => {
                m.insert(member.clone());
                Ok(())
            }
            None => Err(SystemError::new(
                "NetLocalGroupAddMembers",
                2220,
                "no such group",
            )),
        }
    }
    fn remove_sid_member(&mut self, _group: &str, member: &Sid) -> Result<(), SystemError> {
        self.mutate("NetLocalGroupDelMembers")?;
        if let Some((_, m)) = &mut self.machine.brokers_group {
            m.remove(member);
        }
        Ok(())
    }
    fn create_account(&mut self, a: &AccountSpec, pw: &Secret) -> Result<(), SystemError> {
        self.mutate("NetUserAdd")?;
        let sid = self.new_sid();
        self.machine
            .accounts
            .insert(a.name.clone(), (sid, pw.expose().to_string()));
        self.machine.profiles.insert(a.name.clone());
        Ok(())
    }
    fn set_password(&mut self, account: &str, pw: &Secret) -> Result<(), SystemError> {
        self.mutate("NetUserSetInfo")?;
        let acc = self
            .machine
            .accounts
            .get_mut(account)
            .ok_or_else(|| SystemError::new("NetUserSetInfo", 2221, "user not found"))?;
        acc.1 = pw.expose().to_string();
        Ok(())
    }
    fn delete_account(&mut self, account: &str) -> Result<(), SystemError> {
        self.mutate("NetUserDel")?;
        self.machine.accounts.remove(account);
        if let Some((_, members)) = &mut self.machine.group {
            members.remove(account);
        }
        Ok(())
    }
    fn delete_profile(&mut self, account: &str) -> Result<(), SystemError> {
        self.mutate("DeleteProfileW")?;
        self.machine.profiles.remove(account);
        Ok(())
    }
    fn add_member(&mut self, _group: &str, account: &str) -> Result<(), SystemError> {
        self.mutate("NetLocalGroupAddMembers")?;
        match &mut self.machine.group {
            Some((_, m)) => {
                m.insert(account.to_string());
                Ok(())
            }
            None => Err(SystemError::new(
                "NetLocalGroupAddMembers",
                1376,
                "no such group",
            )),
        }
    }
    fn remove_member(&mut self, _group: &str, account: &str) -> Result<(), SystemError> {
        self.mutate("NetLocalGroupDelMembers")?;
        if let Some((_, m)) = &mut self.machine.group {
            m.remove(account);
        }
        Ok(())
    }
    fn set_registry_dword(&mut self, v: &RegistryValue) -> Result<(), SystemError> {
        self.mutate("RegSetKeyValueW")?;
        self.machine
            .registry
            .insert(reg_key(&v.key, &v.name), v.value);
        Ok(())
    }
    fn add_group_rights(&mut self, _group: &str, rights: &[String]) -> Result<(), SystemError> {
        self.mutate("LsaAddAccountRights")?;
        if self.machine.group.is_none() {
            return Err(SystemError::new(
                "LsaAddAccountRights",
                1376,
                "no such group",
            ));
        }
        self.machine.group_rights.extend(rights.iter().cloned());
        Ok(())
    }
    fn remove_group_rights(&mut self, _group: &str, rights: &[String]) -> Result<(), SystemError> {
        self.mutate("LsaRemoveAccountRights")?;
        for r in rights {
            self.machine.group_rights.remove(r);
        }
        Ok(())
    }
    fn delete_registry_value(&mut self, key: &str, name: &str) -> Result<(), SystemError> {
        self.mutate("RegDeleteKeyValueW")?;
        self.machine.registry.remove(&reg_key(key, name));
        Ok(())
    }
    fn read_secret(&self, account: &str) -> Result<Option<Secret>, SystemError> {
        Ok(self
            .machine
            .secrets
            .get(account)
            .map(|s| Secret::from_stored(s.clone())))
    }
    fn store_secret(&mut self, account: &str, secret: &Secret) -> Result<(), SystemError> {
        self.mutate("CreateFileW")?;
        let Some((brokers, _)) = &self.machine.brokers_group else {
            return Err(SystemError::new(
                "LookupAccountNameW",
                1332,
                format!("{BROKERS_GROUP_NAME} not found"),
            ));
        };
        let descriptor = secret_store_descriptor(brokers, false).to_sddl();
        self.machine
            .secrets
            .insert(account.to_string(), secret.expose().to_string());
        self.machine
            .secret_descriptors
            .insert(account.to_string(), descriptor);
        Ok(())
    }
    fn delete_secret(&mut self, account: &str) -> Result<(), SystemError> {
        self.mutate("DeleteFileW")?;
        self.machine.secrets.remove(account);
        self.machine.secret_descriptors.remove(account);
        Ok(())
    }
    fn install_fence(&mut self, fence: &FenceSpec) -> Result<(), SystemError> {
        self.mutate("FwpmTransactionCommit0")?;
        self.machine.fence = Some(fence.clone());
        Ok(())
    }
    fn remove_fence(&mut self) -> Result<(), SystemError> {
        self.mutate("FwpmTransactionCommit0")?;
        self.machine.fence = None;
        Ok(())
    }
    fn write_record(&mut self, record: Option<&SetupRecord>) -> Result<(), SystemError> {
        self.mutate("WriteFile")?;
        self.machine.record = record.cloned();
        Ok(())
    }
    fn remove_kept_aces(&mut self) -> Result<usize, SystemError> {
        self.mutate("SetFileSecurityW")?;
        Ok(std::mem::take(&mut self.machine.kept_aces))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_windows::access::{TokenModel, access_check};
    use paddock_windows::plan::TokenPlan;

    fn alice() -> Sid {
        Sid::parse("S-1-5-21-7-8-9-1001").unwrap()
    }

    fn desired() -> DesiredState {
        DesiredState::standard().with_brokers(vec![alice()])
    }

    fn installed() -> FakeSystem {
        let mut sys = FakeSystem::new();
        setup(&mut sys, &desired()).unwrap();
        sys
    }

    #[test]
    fn fresh_setup_creates_hidden_grouped_fenced_recorded_accounts() {
        let sys = installed();
        let m = &sys.machine;
        let (_, members) = m.group.as_ref().unwrap();
        assert!(members.contains(OFFLINE_ACCOUNT) && members.contains(ONLINE_ACCOUNT));
        for name in [OFFLINE_ACCOUNT, ONLINE_ACCOUNT] {
            assert_eq!(m.registry.get(&reg_key(USERLIST_KEY, name)), Some(&0));
            assert!(m.secrets.contains_key(name));
        }
        for right in DENIED_LOGON_RIGHTS {
            assert!(m.group_rights.contains(*right), "{right}");
        }
        let offline_sid = &m.accounts[OFFLINE_ACCOUNT].0;
        assert_eq!(
            m.fence.as_ref().unwrap(),
            &filters::fence(offline_sid, filters::DEFAULT_PROXY_PORTS)
        );
        let rec = m.record.as_ref().unwrap();
        assert_eq!(rec.version, SETUP_VERSION);
        assert_eq!(rec.sid_of(Role::Offline), Some(offline_sid));
        assert!(sys.secrets_match_passwords());
        let (brokers, members) = m.brokers_group.as_ref().unwrap();
        assert_eq!(members, &BTreeSet::from([alice()]));
        assert_eq!(rec.brokers_group_sid.as_ref(), Some(brokers));
        for name in [OFFLINE_ACCOUNT, ONLINE_ACCOUNT] {
            assert_eq!(
                m.secret_descriptors[name],
                secret_store_descriptor(brokers, false).to_sddl(),
                "{name}'s secret is written with the store's own descriptor"
            );
        }
    }

    /// The tokens that meet a stored secret: alice's own (as the broker, after signing in again
    /// so the group is in her token), alice's before that, a level-1 sandbox token made from
    /// her token, another user, and the sandbox accounts.
    #[test]
    fn the_secret_store_is_readable_by_an_enabled_broker_only() {
        let sys = installed();
        let m = &sys.machine;
        let (brokers, _) = m.brokers_group.clone().unwrap();
        let sd = SecurityDescriptor::parse(&m.secret_descriptors[OFFLINE_ACCOUNT]).unwrap();
        let dacl = sd.dacl.as_ref().unwrap();
        assert!(sd.protected, "nothing inherited from %ProgramData%");
        for who in [
            alice(),
            Sid::builtin_users(),
            Sid::everyone(),
            Sid::authenticated_users(),
            m.accounts[OFFLINE_ACCOUNT].0.clone(),
            m.accounts[ONLINE_ACCOUNT].0.clone(),
            m.group.clone().unwrap().0,
        ] {
            assert!(
                dacl.aces.iter().all(|a| a.sid != who),
                "the store's DACL names {who}"
            );
        }
        let everyday = [
            Sid::everyone(),
            Sid::authenticated_users(),
            Sid::builtin_users(),
        ];
        let mut groups = everyday.to_vec();
        groups.push(brokers.clone());
        let broker = TokenModel::user(alice(), &groups);
        let read = AccessMask::FILE_READ_DATA;
        assert!(
            access_check(&broker, &sd, read).allowed(),
            "the broker reads"
        );
        let before_sign_in = TokenModel::user(alice(), &everyday);
        assert!(!access_check(&before_sign_in, &sd, read).allowed());
        let level_one = TokenPlan {
            write_restricted: true,
            disable_max_privilege: true,
            lua_token: true,
            restricting_sids: vec![Sid::parse("S-1-5-21-11-22-33-44").unwrap()],
            run_sid: Sid::parse("S-1-5-21-11-22-33-44").unwrap(),
            deny_only: vec![brokers.clone()],
            retained_privileges: Vec::new(),
            default_dacl: Acl::new(Vec::new()),
        }
        .model(&broker);
        let attempt = access_check(&level_one, &sd, read);
        assert!(
            !attempt.allowed(),
            "a level-1 command of the broker reads the password: {attempt:?}"
        );
        for account in [OFFLINE_ACCOUNT, ONLINE_ACCOUNT] {
            let acc = TokenModel::user(m.accounts[account].0.clone(), &groups[..3]);
            assert!(!access_check(&acc, &sd, read).allowed(), "{account}");
        }
        let bob = TokenModel::user(Sid::parse("S-1-5-21-7-8-9-1002").unwrap(), &everyday);
        assert!(!access_check(&bob, &sd, read).allowed());
    }

    #[test]
    fn a_secret_is_never_stored_before_the_brokers_group_exists() {
        let mut sys = FakeSystem::new();
        sys.machine.brokers_group = None;
        let steps = reconcile(&desired(), &sys.observe(&desired()).unwrap());
        let group_at = steps
            .iter()
            .position(|s| matches!(s, Step::CreateGroup(g) if g.name == BROKERS_GROUP_NAME))
            .unwrap();
        let first_account = steps
            .iter()
            .position(|s| matches!(s, Step::CreateAccount(_)))
            .unwrap();
        assert!(group_at < first_account, "{steps:?}");
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::AddBroker { user, .. } if *user == alice()))
        );
    }

    #[test]
    fn setup_again_only_rotates_passwords() {
        let mut sys = installed();
        let before = sys.machine.clone();
        let desired = desired();
        let steps = reconcile(&desired, &sys.observe(&desired).unwrap());
        assert!(
            steps
                .iter()
                .all(|s| matches!(s, Step::RotatePassword { .. })),
            "{steps:?}"
        );
        setup(&mut sys, &desired).unwrap();
        assert!(sys.secrets_match_passwords());
        for name in [OFFLINE_ACCOUNT, ONLINE_ACCOUNT] {
            assert_ne!(before.accounts[name].1, sys.machine.accounts[name].1);
            assert_eq!(before.accounts[name].0, sys.machine.accounts[name].0);
        }
        let strip = |m: &FakeMachine| {
            let mut m = m.clone();
            m.accounts.values_mut().for_each(|a| a.1.clear());
            m.secrets.values_mut().for_each(String::clear);
            m
        };
        assert_eq!(strip(&before), strip(&sys.machine));
    }

    #[test]
    fn a_fault_at_any_step_of_a_fresh_setup_leaves_nothing_behind() {
        let total = {
            let mut sys = FakeSystem::new();
            setup(&mut sys, &desired()).unwrap();
            sys.calls()
        };
        for n in 1..=total {
            let mut sys = FakeSystem::new();
            sys.fail_at(n);
            let err = setup(&mut sys, &desired()).unwrap_err();
            match &err {
                ElevatedError::Setup { rolled_back, .. } => assert!(rolled_back, "{n}: {err}"),
                other => panic!("{n}: {other}"),
            }
            let left = FakeMachine {
                profiles: BTreeSet::new(),
                ..sys.machine.clone()
            };
            assert_eq!(left, FakeMachine::default(), "fault at call {n}: {err}");
            assert!(sys.machine.profiles.is_empty(), "fault at call {n}");
        }
    }

    #[test]
    fn a_fault_during_a_repair_restores_the_working_setup() {
        let base = installed();
        let total = {
            let mut sys = base.clone();
            sys.machine.fence = None;
            sys.machine.registry.clear();
            let before = sys.calls();
            setup(&mut sys, &desired()).unwrap();
            sys.calls() - before
        };
        for n in 1..=total {
            let mut sys = base.clone();
            sys.machine.fence = None;
            sys.machine.registry.clear();
            let before = sys.machine.clone();
            sys.fail_at(n);
            let err = setup(&mut sys, &desired()).unwrap_err();
            assert_eq!(sys.machine, before, "fault at call {n}: {err}");
            assert!(sys.secrets_match_passwords(), "fault at call {n}");
        }
    }

    #[test]
    fn setup_repairs_a_removed_fence_and_an_unhidden_account() {
        let mut sys = installed();
        sys.machine.fence = None;
        sys.machine
            .registry
            .remove(&reg_key(USERLIST_KEY, ONLINE_ACCOUNT));
        let desired = desired();
        let steps = reconcile(&desired, &sys.observe(&desired).unwrap());
        assert!(steps.iter().any(|s| matches!(s, Step::InstallFence(_))));
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::Hide(v) if v.name == ONLINE_ACCOUNT))
        );
        assert!(!steps.iter().any(|s| matches!(s, Step::CreateAccount(_))));
        setup(&mut sys, &desired).unwrap();
        assert!(sys.machine.fence.is_some());
        assert_eq!(
            sys.machine
                .registry
                .get(&reg_key(USERLIST_KEY, ONLINE_ACCOUNT)),
            Some(&0)
        );
    }

    #[test]
    fn a_removed_logon_restriction_is_restored() {
        let mut sys = installed();
        sys.machine.group_rights.remove("SeDenyNetworkLogonRight");
        let desired = desired();
        let steps = reconcile(&desired, &sys.observe(&desired).unwrap());
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::RestrictLogon { rights, .. }
            if rights == &["SeDenyNetworkLogonRight".to_string()]))
        );
        setup(&mut sys, &desired).unwrap();
        assert!(sys.machine.group_rights.contains("SeDenyNetworkLogonRight"));
    }

    #[test]
    fn an_older_setup_is_upgraded_in_place() {
        let mut sys = installed();
        let old_sids = sys.machine.accounts.clone();
        let mut old = sys.machine.record.clone().unwrap();
        old.version = 0;
        old.proxy_ports = PortRange { low: 1, high: 2 };
        sys.machine.record = Some(old);
        let offline = old_sids[OFFLINE_ACCOUNT].0.clone();
        sys.machine.fence = Some(filters::fence(&offline, PortRange { low: 1, high: 2 }));
        setup(&mut sys, &desired()).unwrap();
        let rec = sys.machine.record.as_ref().unwrap();
        assert_eq!(rec.version, SETUP_VERSION);
        assert_eq!(
            sys.machine.fence,
            Some(filters::fence(&offline, filters::DEFAULT_PROXY_PORTS))
        );
        assert_eq!(
            sys.machine.accounts[OFFLINE_ACCOUNT].0, offline,
            "same account kept"
        );
    }

    #[test]
    fn a_fence_for_another_account_is_replaced() {
        let mut sys = installed();
        let stranger = Sid::parse("S-1-5-21-1-1-1-1").unwrap();
        sys.machine.fence = Some(filters::fence(&stranger, filters::DEFAULT_PROXY_PORTS));
        setup(&mut sys, &desired()).unwrap();
        let offline = &sys.machine.accounts[OFFLINE_ACCOUNT].0;
        assert_eq!(
            sys.machine.fence,
            Some(filters::fence(offline, filters::DEFAULT_PROXY_PORTS))
        );
    }

    #[test]
    fn a_fence_without_the_inbound_filters_is_upgraded() {
        let mut sys = installed();
        let offline = sys.machine.accounts[OFFLINE_ACCOUNT].0.clone();
        let mut outbound_only = filters::fence(&offline, filters::DEFAULT_PROXY_PORTS);
        outbound_only.filters.retain(|f| {
            matches!(
                f.layer,
                filters::Layer::AleAuthConnectV4 | filters::Layer::AleAuthConnectV6
            )
        });
        sys.machine.fence = Some(outbound_only);
        let steps = reconcile(&desired(), &sys.observe(&desired()).unwrap());
        assert!(steps.iter().any(|s| matches!(s, Step::InstallFence(_))));
        setup(&mut sys, &desired()).unwrap();
        let installed = sys.machine.fence.as_ref().unwrap();
        for key in filters::ALL_FILTER_KEYS {
            assert!(
                installed.filters.iter().any(|f| f.key == key),
                "filter {key} missing after the upgrade"
            );
        }
    }

    #[test]
    fn uninstall_removes_accounts_profiles_group_fence_secrets_aces_and_record() {
        let mut sys = installed();
        sys.machine.kept_aces = 7;
        let out = uninstall(&mut sys, &desired()).unwrap();
        assert_eq!(out.aces_removed, 7);
        assert_eq!(sys.machine, FakeMachine::default());
    }

    #[test]
    fn an_interrupted_uninstall_finishes_when_run_again() {
        let total = {
            let mut sys = installed();
            let before = sys.calls();
            uninstall(&mut sys, &desired()).unwrap();
            sys.calls() - before
        };
        for n in 1..=total {
            let mut sys = installed();
            sys.fail_at(n);
            let err = uninstall(&mut sys, &desired()).unwrap_err();
            assert!(err.to_string().contains("PDK-S"), "{err}");
            assert_ne!(
                sys.machine,
                FakeMachine::default(),
                "fault at {n} must leave a trace"
            );
            assert!(
                sys.machine.record.is_some(),
                "the record stays until everything else is gone ({n})"
            );
            uninstall(&mut sys, &desired()).unwrap();
            assert_eq!(sys.machine, FakeMachine::default(), "fault at {n}");
        }
    }

    #[test]
    fn uninstall_on_a_clean_machine_succeeds_and_changes_nothing() {
        let mut sys = FakeSystem::new();
        uninstall(&mut sys, &desired()).unwrap();
        assert_eq!(sys.machine, FakeMachine::default());
    }

    #[test]
    fn the_group_keeps_the_interactive_logon_the_launch_needs() {
        let rights = desired().group_rights;
        assert!(rights.iter().any(|r| r == "SeDenyNetworkLogonRight"));
        assert!(
            rights
                .iter()
                .any(|r| r == "SeDenyRemoteInteractiveLogonRight")
        );
        assert!(
            !rights.iter().any(|r| r == "SeDenyInteractiveLogonRight"),
            "CreateProcessWithLogonW logs on interactively"
        );
    }

    #[test]
    fn passwords_are_long_complex_distinct_and_never_printed() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), PASSWORD_LEN);
        assert!(a.expose().chars().any(|c| c.is_ascii_uppercase()));
        assert!(a.expose().chars().any(|c| c.is_ascii_lowercase()));
        assert!(a.expose().chars().any(|c| c.is_ascii_digit()));
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
