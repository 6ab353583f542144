//! The effective policy: what a run may do, independent of how any OS enforces it.
//!
//! A `Policy` is the result of layering defaults, the user file, the project file and CLI flags
//! (see `config`). It holds paths as the user wrote them (after `~` expansion); `spec` turns it
//! into absolute, resolved paths for the backends.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// How much the sandboxed command may write. Names follow Codex's, which users already know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Reads everywhere except deny-read paths; writes nowhere (but a private temp directory).
    ReadOnly,
    /// Reads as in read-only; writes inside the writable roots (the workspace first), except
    /// protected paths.
    WorkspaceWrite,
    /// No sandbox at all. Stated as such in every report.
    FullAccess,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read-only",
            Mode::WorkspaceWrite => "workspace-write",
            Mode::FullAccess => "full-access",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "read-only" => Ok(Mode::ReadOnly),
            "workspace-write" => Ok(Mode::WorkspaceWrite),
            "full-access" => Ok(Mode::FullAccess),
            other => Err(format!(
                "unknown mode `{other}`: use read-only, workspace-write or full-access"
            )),
        }
    }
}

/// Outbound network access for the sandboxed command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "domains")]
pub enum Network {
    /// No network at all (loopback inside the sandbox's own namespace only, where the OS allows).
    Off,
    /// Unrestricted network.
    On,
    /// Only these domains, through Paddock's proxy. Not implemented yet: every backend refuses it
    /// (fail closed) until the allowlist issue lands.
    Allowlist(Vec<String>),
}

/// Windows enforcement level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowsLevel {
    /// Level 1: write-restricted token of the real user. No admin needed. Enforces writes only.
    Unelevated,
    /// Level 2: dedicated sandbox accounts created once by `paddock setup`. Adds read denial and
    /// the network fence.
    Elevated,
}

/// A capability the user may explicitly accept as unenforced (`allow_unenforced`), so that a
/// backend that cannot enforce it runs anyway and reports it as not enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// `network = "off"` could not be enforced.
    Network,
    /// Deny-read paths could not be enforced.
    DenyRead,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Network => "network",
            Capability::DenyRead => "deny-read",
        }
    }
}

/// Which variables the sandboxed command sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvPolicy {
    /// Which of the caller's variables to start from (then scrubbed by `deny`).
    pub inherit: EnvInherit,
    /// Glob patterns (case-insensitive, `*` wildcard) of names always dropped.
    pub deny: Vec<String>,
    /// Names (or globs) kept even when they match `deny`.
    pub allow: Vec<String>,
    /// Variables set explicitly, after scrubbing.
    pub set: std::collections::BTreeMap<String, String>,
}

/// Which of the caller's environment variables the command starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvInherit {
    /// Every variable, then scrubbed by the deny patterns.
    All,
    /// Only a core set (PATH, HOME, LANG, TERM, ... and Windows' system variables).
    Core,
    /// Nothing but `allow`-listed and `set` variables.
    None,
}

/// Approval mode for command rules (see paddock-rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalMode {
    /// Never prompt: a `prompt` decision becomes a refusal reported to the caller.
    Never,
    /// Prompt only for `prompt` decisions and for escalation.
    OnRisk,
    /// Prompt for everything not known to be safe.
    Always,
    /// As `on-risk`; in addition, when the command fails and its output suggests the sandbox
    /// denied something, ask to rerun it once outside the sandbox (the output is captured for
    /// that; the attribution is a heuristic and reported as one).
    OnFailure,
}

impl ApprovalMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalMode::Never => "never",
            ApprovalMode::OnRisk => "on-risk",
            ApprovalMode::Always => "always",
            ApprovalMode::OnFailure => "on-failure",
        }
    }
}

/// The effective policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub mode: Mode,
    /// Extra writable roots besides the workspace (workspace-write only).
    pub writable_roots: Vec<PathBuf>,
    /// Paths inside writable roots that stay read-only. Relative entries are relative to *each*
    /// writable root (e.g. `.git/hooks`); absolute entries stand for themselves.
    pub protected_paths: Vec<PathBuf>,
    /// Protect the whole `.git` (directory or file, and its gitdir target), not only its
    /// code-execution vectors. Off by default so that `git commit` works.
    pub protect_whole_git: bool,
    /// Paths the command may not read (secrets). `~` is expanded.
    pub deny_read: Vec<PathBuf>,
    pub network: Network,
    /// Wall-clock limit; `None` means no limit.
    #[serde(with = "opt_secs")]
    pub timeout: Option<Duration>,
    pub env: EnvPolicy,
    pub windows_level: WindowsLevel,
    pub allow_unenforced: BTreeSet<Capability>,
    pub approval: ApprovalMode,
    /// Cap on captured output per stream (bytes) when output is captured (`--json`).
    pub output_cap: u64,
    /// The user trusts this workspace's project file (`trusted_projects`), so it may loosen
    /// the policy. Set by `config::load`, never by a file itself.
    #[serde(default)]
    pub project_trusted: bool,
}

mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.map(Duration::from_secs_f64))
    }
}
