//! The one seam between the portable front (library, CLI, MCP) and each OS's sandbox: the
//! `Backend` trait, one thin adapter per OS over that OS's crate, and `current()`, the one place
//! that picks the adapter for this build. Fails closed: a mode that no backend here can enforce
//! is refused, never run unconfined; only `full-access` runs without a sandbox, and says so.

use crate::error::PaddockError;
use crate::explain::{Access, Explanation};
use paddock_core::host_scan::Finding;
use paddock_core::policy::Capability;
use paddock_core::policy::Limits;
use paddock_core::report::{Gap, Layer, LayerReport, LayerStatus};
use paddock_core::spec::CommandSpec;
use paddock_core::{EnforcementReport, Mode, Network, NetworkLog, SandboxSpec};
use paddock_runner::{SandboxedProcess, StdioMode};
use serde::Serialize;
use std::path::Path;

// The one place that chooses: each adapter is compiled for its OS only.
#[cfg(target_os = "linux")]
#[path = "linux.rs"]
pub(crate) mod os;
#[cfg(windows)]
#[path = "windows.rs"]
pub(crate) mod os;
#[cfg(not(any(target_os = "linux", windows)))]
#[path = "other.rs"]
pub(crate) mod os;

/// The backend of this build.
pub fn current() -> &'static dyn Backend {
    &os::BACKEND
}

/// A started command and what its backend applied.
pub type Launched = (Box<dyn SandboxedProcess>, EnforcementReport);

/// What one OS's sandbox offers the front ends. Every method answers for this machine; a
/// backend without a feature answers with a typed refusal (`PaddockError::NotAvailable`), never
/// by doing nothing silently.
pub trait Backend: Sync {
    /// The backend's name in `paddock status` ("linux", "windows", "none").
    fn name(&self) -> &'static str;

    /// Runs the role this executable was re-started for (the Linux sandbox init, the Windows
    /// level-2 command runner) and never returns then; returns at once otherwise. Call it first
    /// thing in `main`, before any thread starts.
    fn run_helper_if_requested(&self) {}

    /// What this machine lets the backend enforce, with each missing requirement and its fix.
    fn probe(&self) -> BackendStatus;

    /// A command that does nothing, for `paddock status`'s trial run.
    fn noop_command(&self) -> (&'static str, &'static [&'static str]) {
        ("true", &[])
    }

    /// Whether a network allow-list (Paddock's proxy) can be enforced here for `spec` (on
    /// Windows it depends on the spec's level).
    fn supports_allowlist(&self, _spec: &SandboxSpec) -> bool {
        false
    }

    /// Starts `cmd` confined by `spec` (never `full-access`) with `limits`; with a network
    /// allow-list, the proxy's decisions go to `log`.
    fn launch(
        &self,
        spec: &SandboxSpec,
        cmd: &CommandSpec,
        limits: &Limits,
        stdio: StdioMode,
        log: &NetworkLog,
    ) -> Result<Launched, PaddockError>;

    /// Whether `prepare_spare` builds anything here.
    fn builds_spares(&self) -> bool {
        false
    }

    /// A sandbox for `spec` and `limits` built ahead of its command, for a resident front end
    /// (`warm`); `Ok(None)` when this backend builds none (all but Linux).
    fn prepare_spare(
        &self,
        _spec: &SandboxSpec,
        _limits: &Limits,
    ) -> Result<Option<Box<dyn WaitingSandbox>>, PaddockError> {
        Ok(None)
    }

    /// Starts `cmd` with the caller's full rights (`full-access`).
    fn launch_unconfined(
        &self,
        cmd: &CommandSpec,
        stdio: StdioMode,
    ) -> Result<Launched, PaddockError>;

    /// Could a run of `spec` do `ops` on `path`, and what decides it. The default answers from
    /// the spec, which is what the Linux backend turns into its mount view and Landlock rules.
    fn explain_path(
        &self,
        spec: &SandboxSpec,
        path: &Path,
        _ops: &[Access],
    ) -> Result<Explanation, PaddockError> {
        crate::explain::explain_path(spec, path)
            .map(Explanation::Spec)
            .map_err(|e| PaddockError::Resolve {
                path: path.to_path_buf(),
                source: e,
            })
    }

    /// Places anyone can write (so the sandbox, or another account, can plant files there).
    fn scan_host(&self) -> Vec<Finding>;

    /// One-time setup (or, with `uninstall`, its removal); most backends need none.
    fn setup(&self, req: &SetupRequest) -> Result<SetupOutcome, PaddockError> {
        if let Some(user) = req.for_users.first() {
            return Err(paddock_core::ConfigError::Value {
                origin: format!("--for-user {user}"),
                message: "it names a Windows account; it has no meaning here".into(),
            }
            .into());
        }
        Ok(SetupOutcome::NotNeeded)
    }

    /// Removes the grants kept for `root` between runs (Windows keeps ACL grants; other
    /// backends keep none).
    fn forget_grants(&self, state: &Path, root: &Path) -> Result<Forgotten, PaddockError> {
        // The pure registry still answers whether the root is known (state copied from Windows).
        let known = paddock_windows::sid_registry::SidRegistry::open(state)
            .and_then(|r| r.lookup(root))
            .map_err(|e| PaddockError::backend("windows", e))?;
        match known {
            None => Ok(Forgotten {
                root: root.to_path_buf(),
                aces_removed: 0,
                sid_removed: false,
            }),
            Some(_) => Err(PaddockError::NotAvailable {
                what: "removing kept grants",
                fix: "kept grants are removed on Windows, where their ACEs are: run `paddock \
                      grants forget` there"
                    .into(),
            }),
        }
    }
}

/// A sandbox built and confined ahead, waiting for the one command it will run.
pub trait WaitingSandbox: Send {
    /// The spec it was built for (with the integrity walk of that moment).
    fn spec(&self) -> &SandboxSpec;

    /// False once the host changed in a way the spec does not show (a new host unix socket):
    /// the sandbox must then be dropped, not used.
    fn is_current(&self) -> bool;

    /// Starts `cmd` (program resolved) in it, its output captured (the run's `output_cap`
    /// applies); the sandbox is used up either way.
    fn start(self: Box<Self>, cmd: &CommandSpec) -> Result<Launched, PaddockError>;
}

/// What a backend needs from this machine, and whether it has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// E.g. "user namespaces", "landlock", "level 2 setup".
    pub name: String,
    pub available: bool,
    /// What is there (an ABI, a description) or why it is missing.
    pub detail: String,
    /// How to get it, when it is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Parts this requirement cannot carry here although it is available (an old Landlock ABI).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<Gap>,
}

/// `paddock status`'s view of the backend: typed requirements, then the problems that make a
/// sandboxed run refuse (125), then facts only this backend has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackendStatus {
    pub name: &'static str,
    pub requirements: Vec<Requirement>,
    /// One line per missing requirement with its fix; empty when the backend can run.
    pub problems: Vec<String>,
    /// The backend's own probe (Windows: the folders probe and level 2's setup state).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// `paddock setup`'s request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupRequest {
    pub uninstall: bool,
    /// Accounts (SIDs) that may run level-2 commands; empty for the current user.
    pub for_users: Vec<String>,
}

/// What `paddock setup` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupOutcome {
    /// This OS's backend needs no setup.
    NotNeeded,
    /// Done in this process, one line per step.
    Done(Vec<String>),
    /// Done by an elevated copy of this program, which exited with this code.
    Elevated { exit_code: i32 },
}

/// What `paddock grants forget ROOT` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forgotten {
    pub root: std::path::PathBuf,
    pub aces_removed: usize,
    /// The root's SID was known and is forgotten.
    pub sid_removed: bool,
}

/// The ACL grants the Windows backend keeps between runs, as recorded in the state directory
/// (readable on every OS; empty where Windows never ran).
pub fn kept_grants(state: &Path) -> Result<Vec<paddock_windows::grants::KeptGrant>, PaddockError> {
    paddock_windows::grants::Ledger::load(&state.join("windows"))
        .map(|l| l.entries)
        .map_err(|e| PaddockError::backend("windows", e))
}

/// Why an allow-list is refused where `supports_allowlist` says no, in one line.
const ALLOWLIST_ELSEWHERE: &str = if cfg!(windows) {
    "Windows level 1 has no network fence that could hold the command to a proxy; run \
     `paddock setup` once and set windows.level = \"elevated\", or use network = \"on\" or \
     \"off\""
} else {
    "the allow-list proxy is wired into the Linux backend only; use network = \"on\" or \"off\""
};

/// Refusals made before anything starts: a malformed allow-list entry, and an allow-list on a
/// backend (or, on Windows, a level) without the proxy.
pub fn check_portable(spec: &SandboxSpec) -> Result<(), PaddockError> {
    if spec.mode != Mode::FullAccess
        && let Network::Allowlist(allow) = &spec.network
    {
        paddock_proxy::AllowList::parse(allow).map_err(|e| PaddockError::Unenforceable {
            what: "network allowlist".into(),
            fix: e.to_string(),
        })?;
        if !current().supports_allowlist(spec) {
            return Err(PaddockError::Unenforceable {
                what: "network allowlist".into(),
                fix: ALLOWLIST_ELSEWHERE.into(),
            });
        }
    }
    Ok(())
}

/// Starts `cmd` under `spec` on this build's backend; with a network allow-list, the proxy's
/// decisions go to `log`.
pub fn launch(
    spec: &SandboxSpec,
    cmd: &CommandSpec,
    limits: &Limits,
    stdio: StdioMode,
    log: &NetworkLog,
) -> Result<Launched, PaddockError> {
    check_portable(spec)?;
    let backend = current();
    if spec.mode == Mode::FullAccess {
        return backend.launch_unconfined(cmd, stdio);
    }
    backend.launch(spec, cmd, limits, stdio, log)
}

/// Resource limits on a backend that enforces none (all but Linux), before the run: an explicit
/// one refuses the run unless `allow_unenforced` holds `limits` (fail closed).
pub fn refuse_unenforced_limits(spec: &SandboxSpec, limits: &Limits) -> Result<(), PaddockError> {
    let explicit: Vec<&str> = limits.explicit.iter().map(|k| k.as_str()).collect();
    if !explicit.is_empty() && !spec.allow_unenforced.contains(&Capability::Limits) {
        return Err(PaddockError::Unenforceable {
            what: format!("resource limits ({})", explicit.join(", ")),
            fix: "this backend enforces no resource limits yet; drop them or accept them \
                  unenforced with allow_unenforced = [\"limits\"]"
                .into(),
        });
    }
    Ok(())
}

/// Resource limits on a backend that enforces none, after the start: the `limits` layer says
/// so, and an explicit limit (accepted unenforced) is listed in `not_enforced`.
pub fn report_unenforced_limits(limits: &Limits, report: &mut EnforcementReport) {
    report.layers.push(
        LayerReport::new(
            Layer::Limits,
            LayerStatus::NotEnforced,
            "resource limits are not enforced by this backend",
        )
        .lacking([Gap::unenforced(Capability::Limits)]),
    );
    if !limits.explicit.is_empty() {
        report.not_enforced.push(Capability::Limits);
    }
}

#[cfg(test)]
mod tests;
