//! Chooses the backend for this OS and mode and hands it the spec. Fails closed: a mode that no
//! backend here can enforce is refused, never run unconfined; only `full-access` runs without a
//! sandbox, and its report says so.

use crate::error::PaddockError;
use paddock_core::spec::CommandSpec;
#[cfg(not(target_os = "linux"))]
use paddock_core::{Capability, LayerReport, LayerStatus};
use paddock_core::{EnforcementReport, Mode, Network, NetworkLog, Policy, SandboxSpec};
use paddock_runner::{SandboxedProcess, StdioMode};

/// A started command and what its backend applied.
pub type Launched = (Box<dyn SandboxedProcess>, EnforcementReport);

/// Why an allow-list is refused off Linux, in one line.
const ALLOWLIST_ELSEWHERE: &str = if cfg!(windows) {
    "Windows level 1 has no network fence that could hold the command to a proxy, and level \
     2 does not start the proxy yet (docs/windows.md); use network = \"on\" or \"off\""
} else {
    "the allow-list proxy is wired into the Linux backend only; use network = \"on\" or \"off\""
};

/// Refusals made before anything starts: a malformed allow-list entry, and an allow-list on a
/// backend without the proxy (only Linux has it; Windows refuses rather than run open).
pub fn check_portable(spec: &SandboxSpec) -> Result<(), PaddockError> {
    if spec.mode != Mode::FullAccess
        && let Network::Allowlist(allow) = &spec.network
    {
        paddock_proxy::AllowList::parse(allow).map_err(|e| PaddockError::Unenforceable {
            what: "network allowlist".into(),
            fix: e.to_string(),
        })?;
        if !cfg!(target_os = "linux") {
            return Err(PaddockError::Unenforceable {
                what: "network allowlist".into(),
                fix: ALLOWLIST_ELSEWHERE.into(),
            });
        }
    }
    Ok(())
}

/// Starts `cmd` under `spec`; with a network allow-list, the proxy's decisions go to `log`.
pub fn launch(
    spec: &SandboxSpec,
    cmd: &CommandSpec,
    policy: &Policy,
    stdio: StdioMode,
    log: &NetworkLog,
) -> Result<Launched, PaddockError> {
    check_portable(spec)?;
    if spec.mode == Mode::FullAccess {
        return launch_unconfined(cmd, stdio);
    }
    #[cfg(target_os = "linux")]
    return launch_sandboxed(spec, cmd, policy, stdio, log);
    #[cfg(not(target_os = "linux"))]
    {
        let limits = unenforced_limits(spec, policy)?;
        let (child, mut report) = launch_sandboxed(spec, cmd, policy, stdio, log)?;
        report.layers.push(limits);
        if !policy.limits.explicit.is_empty() {
            report.not_enforced.push(Capability::Limits);
        }
        Ok((child, report))
    }
}

/// Resource limits on a backend that enforces none (all but Linux): an explicit one refuses
/// the run unless `allow_unenforced` holds `limits` (fail closed); the defaults are reported.
#[cfg(not(target_os = "linux"))]
fn unenforced_limits(spec: &SandboxSpec, policy: &Policy) -> Result<LayerReport, PaddockError> {
    let explicit: Vec<&str> = policy.limits.explicit.iter().map(|k| k.as_str()).collect();
    if !explicit.is_empty() && !spec.allow_unenforced.contains(&Capability::Limits) {
        return Err(PaddockError::Unenforceable {
            what: format!("resource limits ({})", explicit.join(", ")),
            fix: "this backend enforces no resource limits yet; drop them or accept them \
                  unenforced with allow_unenforced = [\"limits\"]"
                .into(),
        });
    }
    Ok(LayerReport::new(
        "limits",
        LayerStatus::NotEnforced,
        "resource limits are not enforced by this backend",
    ))
}

#[cfg(unix)]
fn launch_unconfined(cmd: &CommandSpec, stdio: StdioMode) -> Result<Launched, PaddockError> {
    let mut c = std::process::Command::new(&cmd.program);
    c.args(&cmd.args)
        .current_dir(&cmd.cwd)
        .env_clear()
        .envs(cmd.env.iter().cloned());
    let child = paddock_runner::unix::spawn(c, stdio)?;
    Ok((child, EnforcementReport::unconfined()))
}

#[cfg(windows)]
fn launch_unconfined(cmd: &CommandSpec, stdio: StdioMode) -> Result<Launched, PaddockError> {
    let launch = paddock_runner::windows::WinLaunch::new(
        cmd.program.clone(),
        cmd.args.clone(),
        cmd.cwd.clone(),
        cmd.env.clone(),
    );
    let child = paddock_runner::windows::spawn(launch, stdio)?;
    Ok((child, EnforcementReport::unconfined()))
}

#[cfg(target_os = "linux")]
fn launch_sandboxed(
    spec: &SandboxSpec,
    cmd: &CommandSpec,
    policy: &Policy,
    stdio: StdioMode,
    log: &NetworkLog,
) -> Result<Launched, PaddockError> {
    paddock_linux::prepare(spec, cmd, &policy.limits, stdio, log).map_err(|e| match e {
        paddock_linux::LinuxError::Exec { program, source }
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            PaddockError::NotFound {
                program: program.display().to_string(),
            }
        }
        paddock_linux::LinuxError::Exec { program, source } => PaddockError::NotExecutable {
            path: program,
            reason: source.to_string(),
        },
        other => PaddockError::Setup(other.to_string()),
    })
}

#[cfg(windows)]
fn launch_sandboxed(
    spec: &SandboxSpec,
    cmd: &CommandSpec,
    policy: &Policy,
    stdio: StdioMode,
    _log: &NetworkLog,
) -> Result<Launched, PaddockError> {
    use paddock_windows::apply::ApplyError;
    use paddock_windows::apply::launch::LaunchError;
    if policy.windows_level == paddock_core::WindowsLevel::Elevated {
        return paddock_windows_elevated::win::prepare_elevated(spec, cmd, stdio)
            .map_err(|e| PaddockError::Setup(e.to_string()));
    }
    paddock_windows::apply::prepare(spec, cmd, policy.windows_level, stdio).map_err(|e| match e {
        ApplyError::Launch(LaunchError::Spawn { program, source })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            PaddockError::NotFound { program }
        }
        other => PaddockError::Setup(other.to_string()),
    })
}

#[cfg(not(any(target_os = "linux", windows)))]
fn launch_sandboxed(
    spec: &SandboxSpec,
    _cmd: &CommandSpec,
    _policy: &Policy,
    _stdio: StdioMode,
    _log: &NetworkLog,
) -> Result<Launched, PaddockError> {
    Err(PaddockError::BackendMissing {
        os: std::env::consts::OS,
        mode: spec.mode.as_str(),
    })
}
