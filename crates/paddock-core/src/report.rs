//! Run and enforcement reports: what a backend *really* applied, not what was asked for.
//!
//! Every backend returns an `EnforcementReport`; `paddock run --json` prints a `RunReport`;
//! `paddock status` prints the report a backend would produce for the effective policy.

use crate::policy::Capability;
use serde::{Deserialize, Serialize};

/// How completely one layer of a backend was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerStatus {
    Enforced,
    Partial,
    NotEnforced,
}

/// One layer of a backend (e.g. "mount-namespace", "landlock", "seccomp", "restricted-token").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerReport {
    pub name: String,
    pub status: LayerStatus,
    /// Human-readable facts: ABI versions, rule counts, SIDs, what is missing and why.
    pub detail: String,
}

impl LayerReport {
    pub fn new(name: &str, status: LayerStatus, detail: impl Into<String>) -> Self {
        LayerReport {
            name: name.to_string(),
            status,
            detail: detail.into(),
        }
    }
}

/// What a backend applied for one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EnforcementReport {
    /// "linux", "windows-unelevated", "windows-elevated", or "none" (full-access).
    pub backend: String,
    /// True when the command ran without any sandbox (full-access).
    pub unconfined: bool,
    pub layers: Vec<LayerReport>,
    /// Capabilities the policy asked for that were not enforced, accepted through
    /// `allow_unenforced`. Empty unless the user explicitly allowed degradation.
    pub not_enforced: Vec<Capability>,
}

impl EnforcementReport {
    pub fn unconfined() -> Self {
        EnforcementReport {
            backend: "none".into(),
            unconfined: true,
            layers: vec![LayerReport::new(
                "sandbox",
                LayerStatus::NotEnforced,
                "full-access mode: the command runs with the caller's full rights",
            )],
            not_enforced: Vec::new(),
        }
    }
}

/// The report `paddock run --json` prints after the command ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RunReport {
    /// Paddock's own exit code (the command's, or 124/125/126/127/77/130).
    pub exit_code: i32,
    /// The command's exit code, when it exited normally.
    pub command_exit_code: Option<i32>,
    /// The signal that ended the command (Unix), when one did.
    pub signal: Option<i32>,
    pub duration_ms: u64,
    pub timed_out: bool,
    /// Ended by Ctrl-C / SIGINT / SIGTERM forwarded from the caller.
    pub interrupted: bool,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    /// Captured output (only with capture), lossily decoded, cut at the output cap.
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub output_truncated: bool,
    pub enforcement: EnforcementReport,
    /// The workspace the command ran in, with every link resolved (it may differ from the
    /// `--cwd` given when that path goes through a link).
    pub workspace: Option<std::path::PathBuf>,
    /// The command-rules decision that let this run happen (paddock-rules), if rules ran.
    pub decision: Option<serde_json::Value>,
    /// Why Paddock refused or failed, when it did.
    pub error: Option<String>,
    /// What the after-run integrity check reverted in the writable roots (planted hooks, git
    /// configs, repositories): see `integrity::check_after_run`. Empty when nothing was found.
    #[serde(default)]
    pub integrity: Vec<crate::integrity::IntegrityEvent>,
    /// `approval = "on-failure"`: the command failed in the sandbox on what looked like a denial,
    /// and a rerun outside the sandbox was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<OnFailureReport>,
    /// `network = { allow = [...] }`: every connection the sandbox asked Paddock's proxy for,
    /// allowed or refused, in the order decided. Empty for the other network settings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<NetworkEvent>,
    /// Why the run failed, as far as the sandbox can tell: the timeout with its limit, refused
    /// connections, writes outside the roots, deny-read hits (see `denial`). Each says whether
    /// the sandbox saw it or it is a guess from the command's stderr.
    #[serde(default)]
    pub denials: Vec<crate::denial::Denial>,
    /// `denials` in one line (what the CLI prints after `paddock: `), when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denial_summary: Option<String>,
}

/// One decision of the allow-list proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkEvent {
    /// "connect" (HTTP CONNECT tunnel) or "http" (plain HTTP forwarded by the proxy).
    pub kind: String,
    /// The host the command asked for, as it asked (a name or an IP literal).
    pub host: String,
    pub port: u16,
    pub allowed: bool,
    /// The address the proxy connected to (allowed) or the one that made it refuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Why: the allow-list entry that matched, or what made the proxy refuse.
    pub reason: String,
}

/// Where a run's proxy records its decisions; shared by the proxy threads and the caller, who
/// reads it once the run has ended.
#[derive(Debug, Clone, Default)]
pub struct NetworkLog(std::sync::Arc<std::sync::Mutex<Vec<NetworkEvent>>>);

impl NetworkLog {
    /// Records one decision.
    pub fn record(&self, event: NetworkEvent) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(event);
    }

    /// Every decision recorded so far (the log is left empty).
    pub fn take(&self) -> Vec<NetworkEvent> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// What `approval = "on-failure"` saw and decided after a failed run in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OnFailureReport {
    /// False when the sandbox itself reported what it refused (`denials` observed by the
    /// sandbox); true when the denial was inferred from the command's output (a path named in a
    /// "Read-only file system" message, or failing that messages such as "Permission denied",
    /// "Could not resolve host"), which can be wrong both ways.
    pub heuristic: bool,
    /// The denials as shown to the person asked: the sandbox's own descriptions, or the output
    /// lines taken as denials (escaped, at most a few).
    pub denied: Vec<String>,
    /// The sandboxed run's typed denials (its report's `denials`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denials: Vec<crate::denial::Denial>,
    /// Paddock's exit code for the run in the sandbox.
    pub sandboxed_exit_code: i32,
    /// The rerun outside the sandbox was approved and ran (its result is this report's).
    pub rerun: bool,
    /// How the rerun was decided.
    pub how: String,
}
