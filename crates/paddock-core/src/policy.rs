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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowsLevel {
    /// Level 1: write-restricted token of the real user. No admin needed. Enforces writes only.
    #[default]
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
    /// A resource limit set explicitly (`[limits]`, `--limit`) could not be enforced.
    Limits,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Network => "network",
            Capability::DenyRead => "deny-read",
            Capability::Limits => "limits",
        }
    }
}

/// One kind of resource limit, as named in `[limits]` and `--limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// Processes and threads alive at once in the sandbox.
    Processes,
    /// Memory of the whole sandbox, in bytes.
    Memory,
    /// Size of each private tmpfs (`/tmp`, `/var/tmp`, `/dev/shm`), in bytes.
    Tmpfs,
    /// The largest file the command may write, in bytes.
    FileSize,
}

impl LimitKind {
    pub const ALL: [LimitKind; 4] = [
        LimitKind::Processes,
        LimitKind::Memory,
        LimitKind::Tmpfs,
        LimitKind::FileSize,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Processes => "processes",
            LimitKind::Memory => "memory",
            LimitKind::Tmpfs => "tmpfs",
            LimitKind::FileSize => "file_size",
        }
    }
}

impl std::str::FromStr for LimitKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        LimitKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown limit `{s}`: use processes, memory, tmpfs or file_size")
            })
    }
}

/// Resource limits of a sandboxed run; `None` is no limit. `explicit` names the limits a config
/// file or the command line set: a backend that cannot enforce one of those refuses to run
/// (unless `allow_unenforced` holds `limits`), while a default it cannot enforce is only
/// reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub processes: Option<u64>,
    pub memory: Option<u64>,
    pub tmpfs: Option<u64>,
    pub file_size: Option<u64>,
    #[serde(default)]
    pub explicit: BTreeSet<LimitKind>,
}

impl Limits {
    /// Processes and threads at once: room for parallel builds and thread-heavy tools.
    pub const DEFAULT_PROCESSES: u64 = 4096;
    /// Each private tmpfs: 2 GiB (the kernel's default is half the memory, per mount).
    pub const DEFAULT_TMPFS: u64 = 2 << 30;

    pub fn get(&self, kind: LimitKind) -> Option<u64> {
        match kind {
            LimitKind::Processes => self.processes,
            LimitKind::Memory => self.memory,
            LimitKind::Tmpfs => self.tmpfs,
            LimitKind::FileSize => self.file_size,
        }
    }

    pub fn set(&mut self, kind: LimitKind, value: Option<u64>) {
        let slot = match kind {
            LimitKind::Processes => &mut self.processes,
            LimitKind::Memory => &mut self.memory,
            LimitKind::Tmpfs => &mut self.tmpfs,
            LimitKind::FileSize => &mut self.file_size,
        };
        *slot = value;
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            processes: Some(Limits::DEFAULT_PROCESSES),
            memory: None,
            tmpfs: Some(Limits::DEFAULT_TMPFS),
            file_size: None,
            explicit: BTreeSet::new(),
        }
    }
}

/// Parses a limit value: a count for `processes`, a size for the others (bytes, or a number
/// with `K`, `M`, `G`, `T` or `KiB`, `MiB`, `GiB`, `TiB`, powers of 1024, or `KB`, `MB`, `GB`,
/// `TB`, powers of 1000). `none` or `0` is no limit.
pub fn parse_limit(kind: LimitKind, text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") || t == "0" {
        return Ok(None);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = (&t[..split], t[split..].trim());
    let number: u64 = digits.parse().map_err(|_| {
        format!(
            "limit {} = `{text}` is not a number; write e.g. {}",
            kind.as_str(),
            example(kind)
        )
    })?;
    let scale: u64 = match (kind, unit.to_ascii_lowercase().as_str()) {
        (_, "") => 1,
        (LimitKind::Processes, _) => {
            return Err(format!(
                "limit processes = `{text}` must be a plain count, e.g. 512"
            ));
        }
        (_, "k" | "kib") => 1 << 10,
        (_, "m" | "mib") => 1 << 20,
        (_, "g" | "gib") => 1 << 30,
        (_, "t" | "tib") => 1 << 40,
        (_, "kb") => 1_000,
        (_, "mb") => 1_000_000,
        (_, "gb") => 1_000_000_000,
        (_, "tb") => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "limit {} = `{text}` has an unknown unit `{unit}`; use K, M, G, T (or KiB, MiB, \
                 GiB, TiB; KB, MB, GB, TB for powers of 1000), e.g. {}",
                kind.as_str(),
                example(kind)
            ));
        }
    };
    let value = number
        .checked_mul(scale)
        .ok_or_else(|| format!("limit {} = `{text}` is too large", kind.as_str()))?;
    Ok((value > 0).then_some(value))
}

fn example(kind: LimitKind) -> &'static str {
    match kind {
        LimitKind::Processes => "512",
        _ => "\"2GiB\"",
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
    /// Resource limits (processes, memory, tmpfs size, file size).
    #[serde(default)]
    pub limits: Limits,
    /// Cap on captured output per stream (bytes) when output is captured (`--json`).
    pub output_cap: u64,
    /// The user trusts this workspace's project file (`trusted_projects`), so it may loosen
    /// the policy. Set by `config::load`, never by a file itself.
    #[serde(default)]
    pub project_trusted: bool,
    /// Toolchain recipes in effect and what each added (`recipes`): their cache directories
    /// are writable roots in workspace-write (see `spec`), their hosts are in an allow-list.
    #[serde(default)]
    pub recipes: Vec<crate::recipes::RecipeGrant>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_sizes_take_binary_and_decimal_units_and_none() {
        let size = |t| parse_limit(LimitKind::Memory, t);
        assert_eq!(size("2GiB"), Ok(Some(2 << 30)));
        assert_eq!(size("2G"), Ok(Some(2 << 30)));
        assert_eq!(size("512 MiB"), Ok(Some(512 << 20)));
        assert_eq!(size("3kb"), Ok(Some(3000)));
        assert_eq!(size("4096"), Ok(Some(4096)));
        assert_eq!(size("none"), Ok(None));
        assert_eq!(size("0"), Ok(None));
        assert!(size("2 parsecs").unwrap_err().contains("unknown unit"));
        assert!(size("lots").unwrap_err().contains("not a number"));
        assert!(size("99999999999T").unwrap_err().contains("too large"));
    }

    #[test]
    fn process_limits_are_plain_counts() {
        assert_eq!(parse_limit(LimitKind::Processes, "64"), Ok(Some(64)));
        assert!(parse_limit(LimitKind::Processes, "64K").is_err());
    }
}
