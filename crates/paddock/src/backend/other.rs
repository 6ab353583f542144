//! The adapter for systems without a sandbox backend (macOS and the other Unixes, for now):
//! every confined mode is refused (exit 125, fail closed); only `full-access` runs.

use super::{Backend, BackendStatus, Launched};
use crate::error::PaddockError;
use paddock_core::host_scan::Finding;
use paddock_core::policy::Limits;
use paddock_core::spec::CommandSpec;
use paddock_core::{EnforcementReport, NetworkLog, SandboxSpec};
use paddock_runner::StdioMode;

pub struct NoBackend;

pub static BACKEND: NoBackend = NoBackend;

impl Backend for NoBackend {
    fn name(&self) -> &'static str {
        "none"
    }

    fn probe(&self) -> BackendStatus {
        BackendStatus {
            name: self.name(),
            requirements: Vec::new(),
            problems: vec![format!(
                "no sandbox backend for {}: only --mode full-access runs",
                std::env::consts::OS
            )],
            details: None,
        }
    }

    fn launch(
        &self,
        spec: &SandboxSpec,
        _cmd: &CommandSpec,
        _limits: &Limits,
        _stdio: StdioMode,
        _log: &NetworkLog,
    ) -> Result<Launched, PaddockError> {
        Err(PaddockError::BackendMissing {
            os: std::env::consts::OS,
            mode: spec.mode.as_str(),
        })
    }

    fn launch_unconfined(
        &self,
        cmd: &CommandSpec,
        stdio: StdioMode,
    ) -> Result<Launched, PaddockError> {
        let child = paddock_runner::unix::spawn_unconfined(cmd, stdio)?;
        Ok((child, EnforcementReport::unconfined()))
    }

    fn scan_host(&self) -> Vec<Finding> {
        paddock_core::host_scan::scan_system()
    }
}
