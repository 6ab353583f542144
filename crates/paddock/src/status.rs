//! `paddock status` as data: what this machine's backend can enforce (its typed probe) and the
//! enforcement report of a no-op run under the effective policy, the answer a real run would
//! get. It says what is *enforced*, not what is asked for.

use crate::backend::{self, BackendStatus};
use crate::{PaddockError, SandboxCommand};
use paddock_core::{EnforcementReport, Mode, Network, Policy};
use serde::Serialize;
use std::path::PathBuf;

/// What a trial run got: the enforcement report, or why the sandbox refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TrialRun {
    Ran(EnforcementReport),
    Refused { error: String, exit_code: i32 },
}

/// `paddock status --json` (and the MCP `status` tool).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub os: &'static str,
    pub mode: Mode,
    pub network: Network,
    pub backend: BackendStatus,
    pub trial_run: TrialRun,
    pub state_dir: Option<PathBuf>,
    /// "ready", or why `paddock run` will refuse.
    pub verdict: &'static str,
}

impl StatusReport {
    /// Probes the backend and runs a no-op under `policy` in `dirs` (cwd, workspace), or
    /// reports why the directories cannot be used.
    pub fn new(policy: &Policy, dirs: Result<(PathBuf, PathBuf), PaddockError>) -> StatusReport {
        let backend = backend::current().probe();
        let trial_run = match dirs.and_then(|(cwd, ws)| trial_run(policy, cwd, ws)) {
            Ok(r) => TrialRun::Ran(r),
            Err(e) => TrialRun::Refused {
                error: e.to_string(),
                exit_code: e.exit_code(),
            },
        };
        let verdict = if !backend.problems.is_empty() && policy.mode != Mode::FullAccess {
            "sandbox unavailable: `paddock run` will refuse (exit 125) until the problems are fixed"
        } else {
            "ready"
        };
        StatusReport {
            os: std::env::consts::OS,
            mode: policy.mode,
            network: policy.network.clone(),
            backend,
            trial_run,
            state_dir: paddock_core::state::state_dir(),
            verdict,
        }
    }
}

/// Runs the backend's no-op command under `policy` and returns what was really enforced.
fn trial_run(
    policy: &Policy,
    cwd: PathBuf,
    workspace: PathBuf,
) -> Result<EnforcementReport, PaddockError> {
    let (program, args) = backend::current().noop_command();
    let mut cmd = SandboxCommand::new(program);
    cmd.args(args)
        .cwd(cwd)
        .workspace(workspace)
        .policy(policy.clone())
        .capture_output(true);
    Ok(cmd.run()?.enforcement)
}
