//! `SystemState` on a real machine: NetAPI accounts and group, the UserList registry values,
//! DPAPI-sealed secrets and the setup record in `%ProgramData%\Paddock`, the WFP fence, and
//! removal of every kept ACE through the level-1 ledger.
//!
//! Guarantees: the machine folder is re-secured before anything is written into it; the
//! `secrets` folder and each secret carry `setup_plan::secret_store_descriptor` (readable by
//! the brokers group only); a SID seen for an account is remembered so its profile can still be
//! removed after the account is gone.

use super::{accounts, dpapi, lsa, machine_dir, wfp, winreg};
use crate::errors::SystemError;
use crate::filters::{self, FenceSpec};
use crate::setup_plan::{
    AccountSpec, BROKERS_GROUP_NAME, DesiredState, GroupSpec, Observed, ObservedAccount,
    RegistryValue, Secret, SetupRecord, SystemState, secret_store_descriptor,
};
use paddock_windows::apply::acl::NtfsAclStore;
use paddock_windows::grants;
use paddock_windows::sid::Sid;
use paddock_windows::sid_registry::SidRegistry;
use std::collections::{BTreeMap, BTreeSet};

/// The real machine.
#[derive(Default)]
pub struct WinSystem {
    sids: BTreeMap<String, Sid>,
}

impl WinSystem {
    pub fn new() -> WinSystem {
        WinSystem::default()
    }

    /// Secures the machine folder, and the `secrets` folder once the brokers group exists
    /// (returned; secrets are only ever written after it is created).
    fn prepare_dirs(&self) -> Result<Option<Sid>, SystemError> {
        let root = machine_dir::root();
        machine_dir::secure(&root, &[Sid::builtin_users()])?;
        let brokers = accounts::lookup_sid(BROKERS_GROUP_NAME)?;
        if let Some(b) = &brokers {
            let folder = secret_store_descriptor(b, true).to_sddl();
            machine_dir::secure_with(&root.join("secrets"), &folder)?;
        }
        Ok(brokers)
    }

    fn record(&self) -> Result<Option<SetupRecord>, SystemError> {
        let path = machine_dir::record_path();
        match machine_dir::read_optional(&path)? {
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| SystemError::new("serde_json", 0, format!("{}: {e}", path.display()))),
            None => Ok(None),
        }
    }

    fn installed_fence(&self) -> Result<Option<FenceSpec>, SystemError> {
        let path = machine_dir::fence_path();
        let Some(bytes) = machine_dir::read_optional(&path)? else {
            return Ok(None);
        };
        let spec: FenceSpec = serde_json::from_slice(&bytes)
            .map_err(|e| SystemError::new("serde_json", 0, format!("{}: {e}", path.display())))?;
        Ok(wfp::Engine::open()?.present(&spec)?.then_some(spec))
    }
}

fn group_sid(group: &str) -> Result<Sid, SystemError> {
    accounts::lookup_sid(group)?
        .ok_or_else(|| SystemError::new("LookupAccountNameW", 1332, format!("{group} not found")))
}

/// A spec with Paddock's keys (the account does not matter for deletion by key).
fn keys_only() -> FenceSpec {
    filters::fence(&Sid::everyone(), filters::DEFAULT_PROXY_PORTS)
}

impl SystemState for WinSystem {
    fn observe(&self, desired: &DesiredState) -> Result<Observed, SystemError> {
        let (group, group_rights) = match accounts::lookup_sid(&desired.group.name)? {
            Some(sid) => {
                let members = accounts::group_members(&desired.group.name)?.unwrap_or_default();
                let rights = lsa::rights_of(&sid)?;
                (
                    Some((sid, members.into_iter().collect::<BTreeSet<_>>())),
                    rights,
                )
            }
            None => (None, BTreeSet::new()),
        };
        let record = self.record()?;
        let mut names: Vec<String> = desired.accounts.iter().map(|a| a.name.clone()).collect();
        if let Some(r) = &record {
            names.extend(r.accounts.iter().map(|(n, _, _)| n.clone()));
        }
        let mut accs = BTreeMap::new();
        let mut regs = BTreeMap::new();
        let mut secrets = BTreeSet::new();
        for name in names {
            if let Some(sid) = accounts::lookup_sid(&name)? {
                accs.insert(name.clone(), ObservedAccount { sid });
            }
            if let Some(v) = winreg::get_dword(crate::setup_plan::USERLIST_KEY, &name)? {
                regs.insert(format!("{}\\{name}", crate::setup_plan::USERLIST_KEY), v);
            }
            if machine_dir::secret_path(&name).exists() {
                secrets.insert(name);
            }
        }
        Ok(Observed {
            group,
            group_rights,
            accounts: accs,
            registry: regs,
            fence: self.installed_fence()?,
            secrets,
            record,
            brokers_group: match accounts::lookup_sid(&desired.brokers_group.name)? {
                Some(sid) => Some((
                    sid,
                    accounts::group_member_sids(&desired.brokers_group.name)?
                        .unwrap_or_default()
                        .into_iter()
                        .collect(),
                )),
                None => None,
            },
        })
    }

    fn create_group(&mut self, g: &GroupSpec) -> Result<(), SystemError> {
        accounts::create_group(&g.name, &g.comment)
    }

    fn delete_group(&mut self, name: &str) -> Result<(), SystemError> {
        accounts::delete_group(name)
    }

    fn create_account(&mut self, a: &AccountSpec, pw: &Secret) -> Result<(), SystemError> {
        accounts::create_user(&a.name, pw.expose(), &a.comment)?;
        if let Some(sid) = accounts::lookup_sid(&a.name)? {
            self.sids.insert(a.name.clone(), sid);
        }
        Ok(())
    }

    fn set_password(&mut self, account: &str, pw: &Secret) -> Result<(), SystemError> {
        accounts::set_password(account, pw.expose())
    }

    fn delete_account(&mut self, account: &str) -> Result<(), SystemError> {
        if let Some(sid) = accounts::lookup_sid(account)? {
            self.sids.insert(account.to_string(), sid);
        }
        accounts::delete_user(account)
    }

    fn delete_profile(&mut self, account: &str) -> Result<(), SystemError> {
        let from_record = self.record()?.and_then(|r| {
            r.accounts
                .into_iter()
                .find(|(n, _, _)| n == account)
                .map(|(_, _, s)| s)
        });
        match self.sids.get(account).cloned().or(from_record) {
            Some(sid) => accounts::delete_profile(&sid),
            None => Ok(()),
        }
    }

    fn add_sid_member(&mut self, group: &str, member: &Sid) -> Result<(), SystemError> {
        accounts::add_sid_member(group, member)
    }

    fn remove_sid_member(&mut self, group: &str, member: &Sid) -> Result<(), SystemError> {
        accounts::remove_sid_member(group, member)
    }

    fn add_member(&mut self, group: &str, account: &str) -> Result<(), SystemError> {
        accounts::add_member(group, account)
    }

    fn remove_member(&mut self, group: &str, account: &str) -> Result<(), SystemError> {
        accounts::remove_member(group, account)
    }

    fn set_registry_dword(&mut self, v: &RegistryValue) -> Result<(), SystemError> {
        winreg::set_dword(&v.key, &v.name, v.value)
    }

    fn add_group_rights(&mut self, group: &str, rights: &[String]) -> Result<(), SystemError> {
        lsa::add_rights(&group_sid(group)?, rights)
    }

    fn remove_group_rights(&mut self, group: &str, rights: &[String]) -> Result<(), SystemError> {
        match accounts::lookup_sid(group)? {
            Some(sid) => lsa::remove_rights(&sid, rights),
            None => Ok(()),
        }
    }

    fn delete_registry_value(&mut self, key: &str, name: &str) -> Result<(), SystemError> {
        winreg::delete_value(key, name)
    }

    fn read_secret(&self, account: &str) -> Result<Option<Secret>, SystemError> {
        read_secret(account)
    }

    fn store_secret(&mut self, account: &str, secret: &Secret) -> Result<(), SystemError> {
        let brokers = self.prepare_dirs()?.ok_or_else(|| {
            SystemError::new(
                "LookupAccountNameW",
                1332,
                format!("{BROKERS_GROUP_NAME} not found"),
            )
        })?;
        let sealed = dpapi::protect(secret.expose().as_bytes())?;
        let file = secret_store_descriptor(&brokers, false).to_sddl();
        machine_dir::write_new_with_descriptor(&machine_dir::secret_path(account), &sealed, &file)
    }

    fn delete_secret(&mut self, account: &str) -> Result<(), SystemError> {
        machine_dir::remove_optional(&machine_dir::secret_path(account))
    }

    fn install_fence(&mut self, fence: &FenceSpec) -> Result<(), SystemError> {
        self.prepare_dirs()?;
        wfp::Engine::open()?.install(fence)?;
        let bytes = serde_json::to_vec_pretty(fence)
            .map_err(|e| SystemError::new("serde_json", 0, e.to_string()))?;
        machine_dir::replace_file(&machine_dir::fence_path(), &bytes)
    }

    fn remove_fence(&mut self) -> Result<(), SystemError> {
        wfp::Engine::open()?.remove(&keys_only())?;
        machine_dir::remove_optional(&machine_dir::fence_path())
    }

    fn write_record(&mut self, record: Option<&SetupRecord>) -> Result<(), SystemError> {
        match record {
            Some(r) => {
                self.prepare_dirs()?;
                let bytes = serde_json::to_vec_pretty(r)
                    .map_err(|e| SystemError::new("serde_json", 0, e.to_string()))?;
                machine_dir::replace_file(&machine_dir::record_path(), &bytes)
            }
            None => machine_dir::remove_optional(&machine_dir::record_path()),
        }
    }

    fn remove_kept_aces(&mut self) -> Result<usize, SystemError> {
        let err =
            |e: paddock_windows::WindowsError| SystemError::new("forget_all", 0, e.to_string());
        let mut reg = SidRegistry::open_default().map_err(err)?;
        let mut store = NtfsAclStore::new();
        let gone = grants::forget_all(&mut store, &mut reg).map_err(err)?;
        Ok(gone.iter().map(|f| f.aces_removed).sum())
    }
}

/// The stored password of `account` (the broker reads it to log the account on).
pub fn read_secret(account: &str) -> Result<Option<Secret>, SystemError> {
    let Some(sealed) = machine_dir::read_optional(&machine_dir::secret_path(account))? else {
        return Ok(None);
    };
    let plain = dpapi::unprotect(&sealed)?;
    String::from_utf8(plain)
        .map(|s| Some(Secret::from_stored(s)))
        .map_err(|_| SystemError::new("CryptUnprotectData", 13, "the stored secret is not text"))
}

/// The setup record, `None` before setup.
pub fn read_record() -> Result<Option<SetupRecord>, SystemError> {
    WinSystem::new().record()
}
