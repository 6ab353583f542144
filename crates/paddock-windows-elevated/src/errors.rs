//! The elevated backend's typed errors: one stable code per setup step, the UAC outcomes
//! (1223 cancelled, 740 elevation required) and the account logon failures, each mapped to the
//! fix a user can apply. The lead maps every `ElevatedError` to Paddock's refusal exit (125).

use crate::protocol::ProtocolError;
use paddock_win32::Win32Error;
use paddock_windows::WindowsError;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// `ERROR_CANCELLED`: the user answered "No" at the UAC prompt.
pub const ERROR_CANCELLED: u32 = 1223;
/// `ERROR_ELEVATION_REQUIRED`: the operation needs an elevated token.
pub const ERROR_ELEVATION_REQUIRED: u32 = 740;

/// One step of `paddock setup` or `paddock setup --uninstall`. The code is stable: it appears in
/// error messages and in the setup record, so support can tell where a setup stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetupStep {
    CheckElevation,
    CreateGroup,
    CreateAccount,
    SetPassword,
    AddToGroup,
    HideAccount,
    RestrictLogon,
    StoreSecret,
    InstallFence,
    WriteRecord,
    RemoveFence,
    RemoveAccount,
    RemoveProfile,
    RemoveGroup,
    RemoveRegistryValue,
    RemoveLogonRights,
    RemoveSecret,
    RemoveAces,
    RemoveRecord,
}

impl SetupStep {
    /// The stable code of the step (`PDK-S<code>` in messages).
    pub fn code(self) -> u32 {
        match self {
            SetupStep::CheckElevation => 10,
            SetupStep::CreateGroup => 20,
            SetupStep::CreateAccount => 30,
            SetupStep::SetPassword => 31,
            SetupStep::AddToGroup => 32,
            SetupStep::HideAccount => 33,
            SetupStep::RestrictLogon => 34,
            SetupStep::StoreSecret => 40,
            SetupStep::InstallFence => 50,
            SetupStep::WriteRecord => 60,
            SetupStep::RemoveFence => 150,
            SetupStep::RemoveAccount => 130,
            SetupStep::RemoveProfile => 131,
            SetupStep::RemoveGroup => 120,
            SetupStep::RemoveRegistryValue => 133,
            SetupStep::RemoveLogonRights => 134,
            SetupStep::RemoveSecret => 140,
            SetupStep::RemoveAces => 170,
            SetupStep::RemoveRecord => 160,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            SetupStep::CheckElevation => "check that setup runs elevated",
            SetupStep::CreateGroup => "create the sandbox group",
            SetupStep::CreateAccount => "create a sandbox account",
            SetupStep::SetPassword => "set a sandbox account's password",
            SetupStep::AddToGroup => "add a sandbox account to the sandbox group",
            SetupStep::HideAccount => "hide a sandbox account from the sign-in screen",
            SetupStep::RestrictLogon => "deny the sandbox group network and remote desktop logon",
            SetupStep::StoreSecret => "store a sandbox account's password (DPAPI)",
            SetupStep::InstallFence => "install the WFP network fence",
            SetupStep::WriteRecord => "record the setup version",
            SetupStep::RemoveFence => "remove the WFP network fence",
            SetupStep::RemoveAccount => "delete a sandbox account",
            SetupStep::RemoveProfile => "delete a sandbox account's profile folder",
            SetupStep::RemoveGroup => "delete the sandbox group",
            SetupStep::RemoveRegistryValue => "remove the sign-in screen registry value",
            SetupStep::RemoveLogonRights => "remove the sandbox group's logon right entries",
            SetupStep::RemoveSecret => "delete a stored password",
            SetupStep::RemoveAces => "remove every ACE Paddock kept (journal and ledger)",
            SetupStep::RemoveRecord => "remove the setup record",
        }
    }
}

/// A failure of the OS (or of the fake system in tests) while carrying out one step.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("{api} failed with error {code}: {message}")]
pub struct SystemError {
    pub api: String,
    pub code: u32,
    pub message: String,
}

/// A Win32 failure as a setup step reports it.
impl From<Win32Error> for SystemError {
    fn from(e: Win32Error) -> SystemError {
        SystemError::new(e.api, e.code, e.message)
    }
}

impl SystemError {
    pub fn new(api: &str, code: u32, message: impl Into<String>) -> SystemError {
        SystemError {
            api: api.to_string(),
            code,
            message: message.into(),
        }
    }
}

/// Why a sandbox account could not log on, with the repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogonFailure {
    /// 1326 `ERROR_LOGON_FAILURE`: the stored password no longer matches.
    WrongPassword,
    /// 1907 `ERROR_PASSWORD_MUST_CHANGE`: a policy expired the password.
    PasswordExpired,
    /// 1909 `ERROR_ACCOUNT_LOCKED_OUT`.
    LockedOut,
    /// 1385 `ERROR_LOGON_TYPE_NOT_GRANTED`: Group Policy removed the logon right.
    LogonRightMissing,
    /// 1168 `ERROR_NOT_FOUND` from the profile service: the account's profile is missing or
    /// corrupt.
    ProfileBroken,
    /// 1312 `ERROR_NO_SUCH_LOGON_SESSION`: typical of `WindowsApps` execution aliases, which only
    /// run in the interactive user's session.
    NoLogonSession,
    Other(u32),
}

impl LogonFailure {
    pub fn from_code(code: u32) -> LogonFailure {
        match code {
            1326 => LogonFailure::WrongPassword,
            1907 => LogonFailure::PasswordExpired,
            1909 => LogonFailure::LockedOut,
            1385 => LogonFailure::LogonRightMissing,
            1168 => LogonFailure::ProfileBroken,
            1312 => LogonFailure::NoLogonSession,
            other => LogonFailure::Other(other),
        }
    }

    pub fn code(self) -> u32 {
        match self {
            LogonFailure::WrongPassword => 1326,
            LogonFailure::PasswordExpired => 1907,
            LogonFailure::LockedOut => 1909,
            LogonFailure::LogonRightMissing => 1385,
            LogonFailure::ProfileBroken => 1168,
            LogonFailure::NoLogonSession => 1312,
            LogonFailure::Other(c) => c,
        }
    }

    /// What the user does about it.
    pub fn fix(self) -> &'static str {
        match self {
            LogonFailure::WrongPassword => {
                "the stored password no longer matches the account (changed or restored from a \
                 backup); run `paddock setup` again to rotate it"
            }
            LogonFailure::PasswordExpired => {
                "a password policy expired the account's password; run `paddock setup` again \
                 (it sets the password to never expire and rotates it)"
            }
            LogonFailure::LockedOut => {
                "the account is locked out after failed logons; wait for the lockout to end or \
                 run `paddock setup` again as administrator to unlock and rotate it"
            }
            LogonFailure::LogonRightMissing => {
                "Group Policy denies this account the batch logon right (\"Log on as a batch \
                 job\" / \"Deny log on as a batch job\"); ask your administrator to allow the \
                 PaddockSandbox group, or use windows.level = \"unelevated\""
            }
            LogonFailure::ProfileBroken => {
                "the account's profile is missing or corrupt; run `paddock setup --uninstall` \
                 then `paddock setup` to recreate the accounts"
            }
            LogonFailure::NoLogonSession => {
                "the program is a WindowsApps execution alias (Microsoft Store app), which runs \
                 only in the signed-in user's own session and cannot start as a sandbox account; \
                 install the tool outside the Store (winget, the vendor installer) or run at \
                 level 1"
            }
            LogonFailure::Other(_) => {
                "run `paddock setup` again; if it persists, `paddock setup --uninstall` then \
                 `paddock setup`"
            }
        }
    }
}

/// Why the elevated backend refuses, or why setup failed.
#[derive(Debug, Error)]
pub enum ElevatedError {
    #[error(
        "setup step PDK-S{code} ({what}) failed: {source}. Already done: {done}. {undo}",
        code = .step.code(),
        what = .step.describe(),
        done = list_or_none(.done),
        undo = rollback_text(.rolled_back, .rollback_failures)
    )]
    Setup {
        step: SetupStep,
        source: SystemError,
        /// What had been done before the failure (before the rollback).
        done: Vec<String>,
        /// True when every earlier step of this setup was undone.
        rolled_back: bool,
        /// Undo steps that failed in turn (state left for the next `paddock setup`).
        rollback_failures: Vec<String>,
    },
    #[error(
        "uninstall left {remaining} in place: {failures}; run `paddock setup --uninstall` again \
         as administrator",
        remaining = .failures.len(),
        failures = .failures.join("; ")
    )]
    Uninstall { failures: Vec<String> },
    #[error("the UAC prompt was cancelled (error 1223); run `paddock setup` again and accept it")]
    UacCancelled,
    #[error(
        "this needs administrator rights (error 740); run `paddock setup` from an elevated \
         prompt or accept the UAC prompt"
    )]
    ElevationRequired,
    #[error(
        "sandbox account {account} cannot log on (error {code}): {fix}",
        code = .failure.code(),
        fix = .failure.fix()
    )]
    Logon {
        account: String,
        failure: LogonFailure,
    },
    #[error(
        "windows.level = \"elevated\" needs the one-time setup: run `paddock setup` (one UAC \
         prompt), or use windows.level = \"unelevated\""
    )]
    NotSetUp,
    #[error(
        "Paddock's setup is version {found}, this Paddock needs {wanted}: run `paddock setup` \
         again to upgrade it in place"
    )]
    SetupOutdated { found: u32, wanted: u32 },
    #[error(
        "this sign-in session may not read the sandbox account passwords: it is not an enabled \
         member of {group}. If `paddock setup` ran for you, sign out and in again (Windows reads \
         group membership at sign-in); otherwise run `paddock setup` from this account"
    )]
    NotABroker { group: String },
    #[error(
        "the network fence leaks: as the offline sandbox account a connect to {target} \
         succeeded; Paddock refuses to run a fenced command (network = \"off\" or an \
         allow-list). Run `paddock setup` to repair the WFP filters; if it persists, a \
         third-party firewall or Group Policy is overriding them"
    )]
    FenceLeaked { target: String },
    #[error("the network fence could not be probed: {0}; Paddock refuses to run unprobed")]
    ProbeFailed(String),
    #[error(
        "as the offline sandbox account a connect to Paddock's proxy at {target} failed \
         ({reason}): the fence does not let the sandbox reach its proxy. Run `paddock setup` \
         to repair the WFP filters"
    )]
    ProxyUnreachable { target: String, reason: String },
    #[error(
        "no port of the network fence's proxy range 127.0.0.1:{low}-{high} is free ({taken}), \
         so the allow-list proxy cannot start: stop the program listening there (`netstat -ano \
         -p tcp` names it) or use network = \"on\" or \"off\""
    )]
    ProxyPortsTaken { low: u16, high: u16, taken: String },
    #[error("cannot start the allow-list proxy on 127.0.0.1:{port}: {reason}")]
    ProxyStart { port: u16, reason: String },
    #[error("network.allow: {0}")]
    AllowList(#[from] paddock_proxy::AllowListError),
    #[error("broker-runner channel: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("{0}")]
    Windows(#[from] WindowsError),
    #[error(transparent)]
    Os(#[from] Win32Error),
    #[error("{0}")]
    State(String),
}

fn list_or_none(done: &[String]) -> String {
    if done.is_empty() {
        "nothing".into()
    } else {
        done.join(", ")
    }
}

fn rollback_text(rolled_back: &bool, failures: &[String]) -> String {
    if *rolled_back {
        "All of it was undone; nothing is half-made. Fix the cause and run `paddock setup` again."
            .into()
    } else {
        format!(
            "Undoing failed for: {}; run `paddock setup` again (it repairs in place) or \
             `paddock setup --uninstall`.",
            failures.join("; ")
        )
    }
}

impl ElevatedError {
    /// Maps a Win32 code from an elevation attempt (`ShellExecuteExW` with `runas`, or an API
    /// that needs admin) to the matching error.
    pub fn from_elevation_code(api: &'static str, code: u32, message: String) -> ElevatedError {
        match code {
            ERROR_CANCELLED => ElevatedError::UacCancelled,
            ERROR_ELEVATION_REQUIRED | 5 => ElevatedError::ElevationRequired,
            _ => ElevatedError::Os(Win32Error::new(api, code, message)),
        }
    }

    /// Maps a `LogonUserW` / `CreateProcessWithLogonW` failure.
    pub fn logon(account: &str, code: u32) -> ElevatedError {
        ElevatedError::Logon {
            account: account.to_string(),
            failure: LogonFailure::from_code(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_STEPS: &[SetupStep] = &[
        SetupStep::CheckElevation,
        SetupStep::CreateGroup,
        SetupStep::CreateAccount,
        SetupStep::SetPassword,
        SetupStep::AddToGroup,
        SetupStep::HideAccount,
        SetupStep::RestrictLogon,
        SetupStep::StoreSecret,
        SetupStep::InstallFence,
        SetupStep::WriteRecord,
        SetupStep::RemoveFence,
        SetupStep::RemoveAccount,
        SetupStep::RemoveProfile,
        SetupStep::RemoveGroup,
        SetupStep::RemoveRegistryValue,
        SetupStep::RemoveLogonRights,
        SetupStep::RemoveSecret,
        SetupStep::RemoveAces,
        SetupStep::RemoveRecord,
    ];

    #[test]
    fn every_setup_step_has_its_own_code() {
        let mut codes: Vec<u32> = ALL_STEPS.iter().map(|s| s.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ALL_STEPS.len());
    }

    #[test]
    fn uac_cancel_and_elevation_required_map_to_their_errors() {
        assert!(matches!(
            ElevatedError::from_elevation_code("ShellExecuteExW", 1223, String::new()),
            ElevatedError::UacCancelled
        ));
        assert!(matches!(
            ElevatedError::from_elevation_code("ShellExecuteExW", 740, String::new()),
            ElevatedError::ElevationRequired
        ));
        assert!(matches!(
            ElevatedError::from_elevation_code("ShellExecuteExW", 2, String::new()),
            ElevatedError::Os(Win32Error { code: 2, .. })
        ));
    }

    #[test]
    fn each_logon_error_maps_to_a_distinct_fix() {
        let codes = [1326, 1907, 1909, 1385, 1168, 1312];
        let fixes: Vec<&str> = codes
            .iter()
            .map(|c| LogonFailure::from_code(*c).fix())
            .collect();
        for (i, f) in fixes.iter().enumerate() {
            assert_eq!(LogonFailure::from_code(codes[i]).code(), codes[i]);
            assert!(fixes.iter().filter(|g| *g == f).count() == 1, "{f}");
        }
        let msg = ElevatedError::logon("PaddockOffline", 1312).to_string();
        assert!(msg.contains("WindowsApps"), "{msg}");
        assert!(msg.contains("1312"), "{msg}");
    }

    #[test]
    fn a_setup_error_names_the_step_what_was_done_and_the_rollback() {
        let err = ElevatedError::Setup {
            step: SetupStep::InstallFence,
            source: SystemError::new("FwpmFilterAdd0", 5, "Access is denied."),
            done: vec!["create the sandbox group".into()],
            rolled_back: true,
            rollback_failures: Vec::new(),
        };
        let msg = err.to_string();
        assert!(msg.contains("PDK-S50"), "{msg}");
        assert!(msg.contains("FwpmFilterAdd0"), "{msg}");
        assert!(msg.contains("create the sandbox group"), "{msg}");
        assert!(msg.contains("nothing is half-made"), "{msg}");
    }
}
