//! The entry points the CLI wires: `paddock setup` (self-elevating through UAC when needed),
//! `paddock setup --uninstall`, and the level-2 part of `paddock status`.
//!
//! Guarantees: setup never runs its steps unelevated (it relaunches through UAC, or refuses
//! with 740); its result names every step done; status never changes anything.

use super::elevation::{is_elevated, run_elevated};
use super::system::{WinSystem, read_record};
use super::wfp;
use crate::errors::ElevatedError;
use crate::filters;
use crate::setup_plan::{self, DesiredState, SetupOutcome, SetupRecord, UninstallOutcome};
use paddock_windows::apply::sid::current_user_sid;
use paddock_windows::grants::Ledger;
use paddock_windows::sid::Sid;
use paddock_windows::sid_registry::SidRegistry;
use serde::Serialize;

/// How `setup` / `uninstall` run.
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// Users who may run level-2 commands: setup adds them to the `PaddockBrokers` group, the
    /// only grantee (besides SYSTEM and Administrators) of the stored passwords; they take part
    /// from their next sign-in. Empty: the current user (for a fleet install as SYSTEM, pass
    /// the users explicitly).
    pub brokers: Vec<Sid>,
    /// When not elevated: the arguments to relaunch this executable with through UAC (the
    /// CLI's own `setup` or `setup --uninstall`); `None` refuses with `ElevationRequired`.
    /// ` --for-user <SID of the invoking user>` is appended, so that an over-the-shoulder
    /// elevation (another administrator's credentials) still sets Paddock up for the user who
    /// asked: the CLI passes each `--for-user` SID in `brokers`.
    pub relaunch_args: Option<String>,
}

/// What happened.
#[derive(Debug)]
pub enum SetupResult<T> {
    /// Done in this process.
    Done(T),
    /// Done by an elevated copy of this program, which exited with this code.
    Elevated { exit_code: u32 },
}

fn elevated_or_relaunch(opts: &SetupOptions) -> Result<Option<u32>, ElevatedError> {
    if is_elevated()? {
        return Ok(None);
    }
    match &opts.relaunch_args {
        Some(args) => {
            let me = current_user_sid().map_err(|e| ElevatedError::State(e.to_string()))?;
            run_elevated(&format!("{args} --for-user {me}")).map(Some)
        }
        None => Err(ElevatedError::ElevationRequired),
    }
}

/// `paddock setup`: creates or repairs the accounts, group, fence and secrets.
pub fn setup(opts: &SetupOptions) -> Result<SetupResult<SetupOutcome>, ElevatedError> {
    if let Some(exit_code) = elevated_or_relaunch(opts)? {
        return Ok(SetupResult::Elevated { exit_code });
    }
    let mut brokers = opts.brokers.clone();
    if brokers.is_empty() {
        brokers.push(current_user_sid().map_err(|e| ElevatedError::State(e.to_string()))?);
    }
    let mut sys = WinSystem::new();
    setup_plan::setup(&mut sys, &DesiredState::standard().with_brokers(brokers))
        .map(SetupResult::Done)
}

/// `paddock setup --uninstall`: removes everything setup made and every kept ACE.
pub fn uninstall(opts: &SetupOptions) -> Result<SetupResult<UninstallOutcome>, ElevatedError> {
    if let Some(exit_code) = elevated_or_relaunch(opts)? {
        return Ok(SetupResult::Elevated { exit_code });
    }
    let mut sys = WinSystem::new();
    setup_plan::uninstall(&mut sys, &DesiredState::standard()).map(SetupResult::Done)
}

/// The level-2 lines of `paddock status`.
#[derive(Debug, Clone, Serialize)]
pub struct ElevatedStatus {
    pub record: Option<SetupRecord>,
    pub setup_current: bool,
    /// Every filter of the fence is installed (`None`: could not be checked, e.g. not admin).
    pub fence_installed: Option<bool>,
    pub kept_grants: usize,
    /// The fence probe of the last offline run (every offline run probes before it starts).
    pub last_probe: Option<super::broker::ProbeRecord>,
    pub problems: Vec<String>,
}

/// Reads the setup record, the WFP filters (when the engine lets this user read them) and the
/// grant ledger; changes nothing.
pub fn status() -> ElevatedStatus {
    let mut problems = Vec::new();
    let record = read_record().unwrap_or_else(|e| {
        problems.push(format!("setup record: {e}"));
        None
    });
    let setup_current = record
        .as_ref()
        .is_some_and(|r| r.version >= setup_plan::SETUP_VERSION);
    let fence_installed = record.as_ref().and_then(|r| {
        let sid = r.sid_of(setup_plan::Role::Offline)?;
        let spec = filters::fence(sid, r.proxy_ports);
        match wfp::Engine::open().and_then(|e| e.present(&spec)) {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(format!("WFP filters not readable: {e}"));
                None
            }
        }
    });
    let kept_grants = SidRegistry::open_default()
        .and_then(|r| Ledger::load(r.windows_dir()))
        .map(|l| l.entries.len())
        .unwrap_or_else(|e| {
            problems.push(format!("grant ledger: {e}"));
            0
        });
    if record.is_none() {
        problems.push("not set up: run `paddock setup`".into());
    }
    let last_probe = super::broker::last_probe();
    if let Some(target) = last_probe.as_ref().and_then(|p| p.leaked.as_ref()) {
        problems.push(format!(
            "the last fence probe reached {target}: offline runs are refused until `paddock \
             setup` repairs the fence"
        ));
    }
    ElevatedStatus {
        record,
        setup_current,
        fence_installed,
        kept_grants,
        last_probe,
        problems,
    }
}
