//! A sandbox built ahead of its command (a *spare*, for a resident front end such as
//! `paddock mcp`): namespaces, view, privilege drop, limits, Landlock and seccomp are in place
//! and pid 1 blocks on a pipe until `start` writes the command, which pid 1 then starts exactly
//! as in a sandbox built for it. A waiting sandbox runs one command and is gone after it; one
//! dropped unused ends without running anything.
//!
//! What it cannot see: the host as it is at `start` rather than at build. `is_current` says
//! whether the host's unix sockets (hidden from the sandbox when it is built) are still the
//! same sockets, not only the same paths (a daemon that restarted and bound its path again
//! removed the mount that hid it); the caller compares its spec (see `paddock::warm`).

use crate::plan::LinuxError;
use crate::status;
use crate::supervisor::{self, kill_on_error, plan_command, read_messages};
use paddock_core::policy::Limits;
use paddock_core::spec::CommandSpec;
use paddock_core::{EnforcementReport, Network, NetworkLog, SandboxSpec};
use paddock_runner::{SandboxedProcess, StdioMode};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// A built sandbox waiting for its command. Output is captured (stdin is empty).
pub struct WaitingSandbox {
    child: Box<dyn SandboxedProcess>,
    report: EnforcementReport,
    command: OwnedFd,
    status: OwnedFd,
    spec: SandboxSpec,
    /// The host's reachable sockets when it was built, read before the plan's own list (so a
    /// socket the plan hid and this list lacks only makes `is_current` say no), sorted.
    sockets: Vec<(PathBuf, u64)>,
}

impl std::fmt::Debug for WaitingSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitingSandbox")
            .field("pid", &self.child.id())
            .field("workspace", &self.spec.workspace)
            .finish_non_exhaustive()
    }
}

/// Builds a sandbox for `spec` and `limits` whose pid 1 waits for its command, with
/// `init_exe` as the init (one whose `main` calls `maybe_run_init` first). A network
/// allow-list is refused (its proxy belongs to one run): use `prepare` for it.
pub fn prepare_waiting(
    init_exe: &Path,
    spec: &SandboxSpec,
    limits: &Limits,
) -> Result<WaitingSandbox, LinuxError> {
    if matches!(spec.network, Network::Allowlist(_)) {
        return Err(LinuxError::Unsupported {
            reason: "a network allow-list needs a proxy per run; build this sandbox with its \
                     command instead"
                .into(),
        });
    }
    let sockets = host_sockets(spec)?;
    let launched = supervisor::launch(
        init_exe,
        spec,
        None,
        limits,
        StdioMode::Capture,
        &NetworkLog::default(),
    )?;
    let Some((command, status)) = launched.waiting else {
        return Err(kill_on_error(
            launched.child,
            LinuxError::Setup {
                message: "the sandbox init did not wait for its command".into(),
            },
        ));
    };
    Ok(WaitingSandbox {
        child: launched.child,
        report: launched.report,
        command,
        status,
        spec: spec.clone(),
        sockets,
    })
}

/// The host's reachable unix sockets outside the writable roots, by identity
/// (`seccomp::host_unix_socket_ids`).
fn host_sockets(spec: &SandboxSpec) -> Result<Vec<(PathBuf, u64)>, LinuxError> {
    crate::seccomp::host_unix_socket_ids(&spec.writable_roots).map_err(|e| LinuxError::Setup {
        message: format!("cannot list the host's unix sockets in /proc/net/unix: {e}"),
    })
}

impl WaitingSandbox {
    /// The spec the sandbox was built for.
    pub fn spec(&self) -> &SandboxSpec {
        &self.spec
    }

    /// Whether every reachable unix socket of the host is one that was there when the view
    /// was built, by identity (a socket made since, or bound again at a hidden path, would be
    /// reachable from this sandbox, not from a new one).
    pub fn is_current(&self) -> bool {
        host_sockets(&self.spec)
            .is_ok_and(|now| now.iter().all(|id| self.sockets.binary_search(id).is_ok()))
    }

    /// Hands the command to pid 1 and returns once it is being executed (or failed to start,
    /// `LinuxError::Exec`), as `prepare` does. `cmd.program` must be resolved already.
    pub fn start(
        self,
        cmd: &CommandSpec,
    ) -> Result<(Box<dyn SandboxedProcess>, EnforcementReport), LinuxError> {
        let WaitingSandbox {
            child,
            mut report,
            command,
            status,
            spec,
            ..
        } = self;
        let frame = crate::command_frame::encode(&plan_command(&spec, cmd));
        let sent = std::fs::File::from(command).write_all(&frame);
        if let Err(e) = sent {
            let e = LinuxError::Setup {
                message: format!("the waiting sandbox did not take its command: {e}"),
            };
            return Err(kill_on_error(child, e));
        }
        let messages = tracing::debug_span!("command_started")
            .in_scope(|| status::receive_all(status).unwrap_or_default());
        let (_, error) = read_messages(messages, &mut report, cmd);
        match error {
            Some(e) => Err(kill_on_error(child, e)),
            None => Ok((child, report)),
        }
    }
}
