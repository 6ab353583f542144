//! The errors a run can end with before or instead of the command's own exit, each mapped to
//! one of Paddock's distinct exit codes (see `exit`) and worded as one line with the fix.

use crate::exit;
use paddock_core::{ConfigError, SpecError};
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PaddockError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("program `{program}` not found in PATH; check the spelling or give its full path")]
    NotFound { program: String },
    #[error("{path} is not executable: {reason}; run it through its interpreter or fix its mode")]
    NotExecutable { path: PathBuf, reason: String },
    #[error(
        "no sandbox backend for {os} can enforce mode `{mode}`; use --mode full-access to run unconfined on purpose"
    )]
    BackendMissing {
        os: &'static str,
        mode: &'static str,
    },
    #[error("cannot enforce {what}: {fix}")]
    Unenforceable { what: String, fix: String },
    #[error("sandbox setup failed: {0}")]
    Setup(String),
    #[error("refused by command rules: {0}")]
    Forbidden(String),
    #[error("not approved: {0}")]
    NotApproved(String),
    #[error("cancelled by the caller before the command started")]
    Cancelled,
    #[error("cannot run the command: {0}")]
    Io(#[from] std::io::Error),
}

impl PaddockError {
    /// Paddock's exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            PaddockError::Config(_)
            | PaddockError::Spec(SpecError::Workspace { .. })
            | PaddockError::Spec(SpecError::WorkingDirectory { .. })
            | PaddockError::Spec(SpecError::DenyReadMissing { .. })
            | PaddockError::Spec(SpecError::WritableRoot { .. })
            | PaddockError::Spec(SpecError::Resolve { .. })
            | PaddockError::Spec(SpecError::RefusedRoot { .. })
            | PaddockError::Spec(SpecError::RefusedWorkspace { .. })
            | PaddockError::Spec(SpecError::RecipeCache { .. }) => exit::BAD_CONFIG,
            PaddockError::NotFound { .. } => exit::NOT_FOUND,
            PaddockError::NotExecutable { .. } => exit::NOT_EXECUTABLE,
            PaddockError::BackendMissing { .. }
            | PaddockError::Unenforceable { .. }
            | PaddockError::Setup(_)
            | PaddockError::Io(_) => exit::SANDBOX_UNAVAILABLE,
            PaddockError::Forbidden(_) => exit::FORBIDDEN,
            PaddockError::NotApproved(_) => exit::NOT_APPROVED,
            PaddockError::Cancelled => exit::INTERRUPTED,
        }
    }
}
