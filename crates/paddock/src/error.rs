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
    /// The backend could not build the sandbox; the command did not run. `source` is the
    /// backend's own typed error (`paddock_linux::LinuxError`,
    /// `paddock_windows::apply::ApplyError`, `paddock_windows_elevated::ElevatedError`).
    #[error("sandbox setup failed: {source}")]
    Backend {
        /// The backend that failed: "linux", "windows", "windows-elevated".
        backend: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Paddock's state directory (after-run check record, audit log) cannot be used, so the
    /// command must not run.
    #[error("sandbox setup failed: {message}")]
    State {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// A feature this OS's backend does not have (a Windows-only subcommand elsewhere).
    #[error("{what} is not available on this OS: {fix}")]
    NotAvailable { what: &'static str, fix: String },
    #[error("cannot resolve {}: {source}", paddock_core::text::escape_path(path))]
    Resolve {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
    /// The backend found a path of the sandbox's plan moved or removed while it built the
    /// sandbox (Linux: `LinuxError::Outdated`). Nothing ran; a run prepared again may succeed.
    pub fn plan_outdated(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let PaddockError::Backend { source, .. } = self {
            return matches!(
                source.downcast_ref::<paddock_linux::LinuxError>(),
                Some(paddock_linux::LinuxError::Outdated { .. })
            );
        }
        false
    }

    /// A failure of `backend`, keeping its typed error as the source.
    pub fn backend(
        backend: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        PaddockError::Backend {
            backend,
            source: Box::new(source),
        }
    }

    /// The state directory cannot be used: `message` says what and the fix; `source` is why.
    pub fn state(
        message: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        PaddockError::State {
            message: message.into(),
            source,
        }
    }

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
            | PaddockError::Spec(SpecError::RecipeCache { .. })
            | PaddockError::Resolve { .. } => exit::BAD_CONFIG,
            PaddockError::NotFound { .. } => exit::NOT_FOUND,
            PaddockError::NotExecutable { .. } => exit::NOT_EXECUTABLE,
            PaddockError::BackendMissing { .. }
            | PaddockError::Unenforceable { .. }
            | PaddockError::Backend { .. }
            | PaddockError::State { .. }
            | PaddockError::NotAvailable { .. }
            | PaddockError::Io(_) => exit::SANDBOX_UNAVAILABLE,
            PaddockError::Forbidden(_) => exit::FORBIDDEN,
            PaddockError::NotApproved(_) => exit::NOT_APPROVED,
            PaddockError::Cancelled => exit::INTERRUPTED,
        }
    }
}
