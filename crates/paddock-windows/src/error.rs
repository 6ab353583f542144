//! The backend's typed errors. Each message names the problem and what the user can do; the
//! lead maps every variant to Paddock's refusal exit code (125).

use crate::sid::SidError;
use crate::store::StoreError;
use paddock_core::Capability;
use std::path::PathBuf;
use thiserror::Error;

/// Why the Windows backend refuses to run a command.
#[derive(Debug, Error)]
pub enum WindowsError {
    #[error(
        "Windows level 1 (unelevated) cannot enforce {}: it restricts writes only. Run `paddock \
         setup` once as administrator and set windows.level = \"elevated\", or accept the gap \
         with allow_unenforced = [{}]",
        names(.capabilities),
        quoted(.capabilities)
    )]
    Unenforceable { capabilities: Vec<Capability> },
    #[error(
        "Windows level 1 has no network fence that could hold the command to a proxy; run \
         `paddock setup` once and set windows.level = \"elevated\", or use network = \"on\" \
         or \"off\""
    )]
    AllowlistUnsupported,
    #[error(
        "windows.level = \"elevated\" (sandbox accounts, read denial, network fence) is not \
         available in this build; use windows.level = \"unelevated\""
    )]
    ElevatedUnavailable,
    #[error("full-access mode runs without a sandbox; there is nothing to plan")]
    FullAccess,
    #[error("writable root {root} is refused: {reason}; choose a project folder instead")]
    RefusedRoot { root: PathBuf, reason: String },
    #[error(
        "the spec lists {path} as protected but it does not exist: Paddock creates nothing on \
         your disk to protect a path (a missing control path is watched and removed after the \
         run); build the spec with SandboxSpec::from_policy, which lists it as watched"
    )]
    ProtectedMissing { path: PathBuf },
    #[error(
        "protected path {path} disappeared before its deny could be set; something else is \
         changing the workspace: let it finish and run the command again"
    )]
    ProtectedVanished { path: PathBuf },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Sid(#[from] SidError),
    #[error("Paddock's state directory is unknown: set PADDOCK_STATE_DIR or LOCALAPPDATA")]
    NoStateDir,
    #[error("{path}: {message}; check the permissions of Paddock's state directory")]
    State { path: PathBuf, message: String },
    #[error(
        "{root} is in use by a running sandboxed command (run {run_id}); wait for it to end, \
         then run `paddock grants forget` again"
    )]
    RootInUse { root: PathBuf, run_id: String },
}

fn names(caps: &[Capability]) -> String {
    caps.iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(" and ")
}

fn quoted(caps: &[Capability]) -> String {
    caps.iter()
        .map(|c| format!("\"{}\"", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl WindowsError {
    pub(crate) fn state(path: &std::path::Path, e: impl std::fmt::Display) -> WindowsError {
        WindowsError::State {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}
