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

impl LayerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LayerStatus::Enforced => "enforced",
            LayerStatus::Partial => "partial",
            LayerStatus::NotEnforced => "not-enforced",
        }
    }
}

/// One layer of a backend, as named in `--json` reports (`"name": "landlock"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// Full access: no sandbox at all.
    Sandbox,
    /// Linux: user, mount, pid, ipc, uts and (network off) network namespaces.
    Namespaces,
    /// Linux: the read-only view of the host with the writable roots bound read-write.
    MountView,
    /// Linux: capabilities dropped, securebits locked, `no_new_privs`.
    Privileges,
    /// Linux: the Landlock ruleset.
    Landlock,
    /// Linux: the seccomp filters.
    Seccomp,
    /// Resource limits (or, on Windows, the `limits` capability accepted unenforced).
    Limits,
    /// Windows level 2: the run's dedicated sandbox account.
    SandboxAccount,
    /// Windows: the write-restricted token.
    RestrictedToken,
    /// Windows level 1: per-root SIDs granted on the writable roots.
    AclGrants,
    /// Windows level 1: deletes outside the writable roots.
    DeleteConfinement,
    /// Windows level 1: pipes and other objects the command creates.
    Ipc,
    /// Windows: reads limited to granted folders (level 2 only).
    ReadConfinement,
    /// Windows: the run SID's grant on the null device.
    NullDevice,
    /// Windows: the run SID's grant on the console.
    Console,
    /// Windows: the run SID's grant on the window station.
    WindowStation,
    /// Windows: the private desktop.
    PrivateDesktop,
    /// Windows: the job object.
    JobObject,
    /// Windows level 2: the WFP filters of the offline sandbox account.
    NetworkFence,
    /// The network, when not fenced (Windows `network = "on"` at level 2, or accepted unenforced).
    Network,
    /// Deny-read paths accepted unenforced (Windows level 1).
    DenyRead,
    /// Windows level 2: a compatibility grant that could not be made.
    CompatGrant,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Sandbox => "sandbox",
            Layer::Namespaces => "namespaces",
            Layer::MountView => "mount-view",
            Layer::Privileges => "privileges",
            Layer::Landlock => "landlock",
            Layer::Seccomp => "seccomp",
            Layer::Limits => "limits",
            Layer::SandboxAccount => "sandbox-account",
            Layer::RestrictedToken => "restricted-token",
            Layer::AclGrants => "acl-grants",
            Layer::DeleteConfinement => "delete-confinement",
            Layer::Ipc => "ipc",
            Layer::ReadConfinement => "read-confinement",
            Layer::NullDevice => "null-device",
            Layer::Console => "console",
            Layer::WindowStation => "window-station",
            Layer::PrivateDesktop => "private-desktop",
            Layer::JobObject => "job-object",
            Layer::NetworkFence => "network-fence",
            Layer::Network => "network",
            Layer::DenyRead => "deny-read",
            Layer::CompatGrant => "compat-grant",
        }
    }

    /// The layer that stands for `cap` when a backend runs without enforcing it.
    pub fn for_capability(cap: Capability) -> Layer {
        match cap {
            Capability::Network => Layer::Network,
            Capability::DenyRead => Layer::DenyRead,
            Capability::Limits => Layer::Limits,
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Layer {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What a layer keeps from the command: the typed answer to "is X denied?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protection {
    /// Writes only beneath the writable roots (and the private temp directories).
    Writes,
    /// Control paths inside the writable roots (`.git/hooks`, `paddock.toml`) stay read-only.
    ProtectedPaths,
    /// Deny-read paths cannot be read.
    DenyRead,
    /// Reads only in granted folders (Windows level 2).
    Reads,
    /// No network beyond the sandbox (the allow-list proxy being the one way out, when set).
    Network,
    /// TCP `bind(2)` refused.
    TcpBind,
    /// TCP `connect(2)` refused (to any port).
    TcpConnect,
    /// The host's unix socket files cannot be connected to.
    UnixSockets,
    /// Abstract unix sockets and signals stay inside the sandbox.
    Scoping,
    /// No capabilities, no privilege gain through setuid files (`no_new_privs`).
    Privileges,
    /// System calls that reach kernel attack surface or undo the other layers are refused.
    Syscalls,
    /// The resource limits of the policy hold.
    Limits,
    /// The command's whole process tree is contained and ended with the run.
    ProcessTree,
    /// The user's windows, clipboard and desktop are out of reach.
    Desktop,
}

impl From<Capability> for Protection {
    fn from(cap: Capability) -> Protection {
        match cap {
            Capability::Network => Protection::Network,
            Capability::DenyRead => Protection::DenyRead,
            Capability::Limits => Protection::Limits,
        }
    }
}

/// A Landlock right beyond ABI 1 that Paddock's ruleset uses, with the ABI that brings it: the
/// one list behind both the kernel probe (`paddock status`) and the run's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LandlockFeature {
    /// `LANDLOCK_ACCESS_FS_TRUNCATE`.
    Truncate,
    /// `LANDLOCK_ACCESS_NET_BIND_TCP` and `_CONNECT_TCP`.
    TcpBindConnect,
    /// `LANDLOCK_ACCESS_FS_IOCTL_DEV`.
    DeviceIoctl,
    /// `LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET` and `_SIGNAL`.
    Scoping,
    /// `LANDLOCK_ACCESS_FS_RESOLVE_UNIX`: connect to unix socket files.
    UnixSocketFiles,
}

impl LandlockFeature {
    pub const ALL: [LandlockFeature; 5] = [
        LandlockFeature::Truncate,
        LandlockFeature::TcpBindConnect,
        LandlockFeature::DeviceIoctl,
        LandlockFeature::Scoping,
        LandlockFeature::UnixSocketFiles,
    ];

    /// The Landlock ABI that brings this right.
    pub fn abi(self) -> i32 {
        match self {
            LandlockFeature::Truncate => 3,
            LandlockFeature::TcpBindConnect => 4,
            LandlockFeature::DeviceIoctl => 5,
            LandlockFeature::Scoping => 6,
            LandlockFeature::UnixSocketFiles => 9,
        }
    }

    /// What the right does, in words.
    pub fn describe(self) -> &'static str {
        match self {
            LandlockFeature::Truncate => "truncate controlled",
            LandlockFeature::TcpBindConnect => "TCP bind and connect denied",
            LandlockFeature::DeviceIoctl => "device ioctls controlled",
            LandlockFeature::Scoping => "abstract unix sockets and signals confined to the sandbox",
            LandlockFeature::UnixSocketFiles => {
                "connect to unix socket files limited to writable paths"
            }
        }
    }
}

/// A known hole in a layer, typed so that a harness can test for it without reading prose.
/// An enforced layer may still list gaps that other layers cover (its residuals).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "gap")]
pub enum Gap {
    /// The kernel's Landlock ABI (`have`) lacks `feature` (from ABI `want`).
    LandlockAbi {
        feature: LandlockFeature,
        have: i32,
        want: i32,
    },
    /// No Landlock at all (accepted degradation).
    LandlockUnavailable,
    /// These resource limits are not enforced.
    Limits {
        kinds: Vec<crate::policy::LimitKind>,
    },
    /// Windows level 1: a write-restricted token does not restrict `FILE_DELETE_CHILD`.
    DeleteChild,
    /// Windows level 1: named pipes made without a security descriptor cannot be opened.
    NamedPipes,
    /// Reads are not confined (beyond deny-read paths, where those are enforced).
    Reads,
    /// The network is not restricted although the policy asked for it (accepted unenforced).
    Network,
    /// Deny-read paths are not enforced (accepted unenforced).
    DenyRead,
    /// Windows level 2: name resolution through the DNS client service passes the fence.
    DnsClient,
    /// Windows level 2: SMB through the redirector passes the fence.
    SmbRedirector,
    /// Windows level 2: the fence lets the offline account reach every loopback listener on
    /// the proxy port range fixed at setup, whichever program listens there.
    LoopbackProxyRange,
    /// A compatibility grant (device, window station, folder) could not be made: programs that
    /// need it may fail. Security is unaffected.
    Compatibility,
    /// Full access: nothing is enforced.
    Unconfined,
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gap::LandlockAbi {
                feature,
                have,
                want,
            } => write!(
                f,
                "{} (needs Landlock ABI {want}, have {have})",
                feature.describe()
            ),
            Gap::LandlockUnavailable => f.write_str("no Landlock"),
            Gap::Limits { kinds } => {
                let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                write!(f, "limits not enforced: {}", names.join(", "))
            }
            Gap::DeleteChild => f.write_str("deletes in folders granting the user full control"),
            Gap::NamedPipes => f.write_str("named pipes made without a security descriptor"),
            Gap::Reads => f.write_str("reads are not confined"),
            Gap::Network => f.write_str("the network is not restricted"),
            Gap::DenyRead => f.write_str("deny-read paths are not enforced"),
            Gap::DnsClient => f.write_str("DNS through the DNS client service"),
            Gap::SmbRedirector => f.write_str("SMB through the redirector"),
            Gap::LoopbackProxyRange => {
                f.write_str("other programs listening on the proxy's loopback port range")
            }
            Gap::Compatibility => f.write_str("a compatibility grant is missing"),
            Gap::Unconfined => f.write_str("no sandbox"),
        }
    }
}

impl Gap {
    /// The gap of a capability run unenforced (accepted through `allow_unenforced`).
    pub fn unenforced(cap: Capability) -> Gap {
        match cap {
            Capability::Network => Gap::Network,
            Capability::DenyRead => Gap::DenyRead,
            Capability::Limits => Gap::Limits {
                kinds: crate::policy::LimitKind::ALL.to_vec(),
            },
        }
    }
}

/// One layer of a backend and what it really applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerReport {
    pub name: Layer,
    pub status: LayerStatus,
    /// What this layer keeps from the command (only what is really in force).
    #[serde(default)]
    pub enforces: Vec<Protection>,
    /// What this layer cannot carry here.
    #[serde(default)]
    pub missing: Vec<Gap>,
    /// Human-readable facts: ABI versions, rule counts, SIDs, what is missing and why.
    pub detail: String,
}

impl LayerReport {
    pub fn new(name: Layer, status: LayerStatus, detail: impl Into<String>) -> Self {
        LayerReport {
            name,
            status,
            enforces: Vec::new(),
            missing: Vec::new(),
            detail: detail.into(),
        }
    }

    /// Adds what the layer keeps from the command.
    pub fn enforcing(mut self, what: impl IntoIterator<Item = Protection>) -> Self {
        self.enforces.extend(what);
        self
    }

    /// Adds the layer's gaps.
    pub fn lacking(mut self, gaps: impl IntoIterator<Item = Gap>) -> Self {
        self.missing.extend(gaps);
        self
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
            layers: vec![
                LayerReport::new(
                    Layer::Sandbox,
                    LayerStatus::NotEnforced,
                    "full-access mode: the command runs with the caller's full rights",
                )
                .lacking([Gap::Unconfined]),
            ],
            not_enforced: Vec::new(),
        }
    }

    /// Whether some layer really keeps `what` from the command: `enforces(Capability::Network)`,
    /// `enforces(Protection::TcpConnect)` ("is TCP denied?").
    pub fn enforces(&self, what: impl Into<Protection>) -> bool {
        let what = what.into();
        !self.unconfined
            && self
                .layers
                .iter()
                .any(|l| l.status != LayerStatus::NotEnforced && l.enforces.contains(&what))
    }

    /// The report of `layer`, if the backend has it.
    pub fn layer(&self, layer: Layer) -> Option<&LayerReport> {
        self.layers.iter().find(|l| l.name == layer)
    }

    /// Every gap of every layer.
    pub fn gaps(&self) -> impl Iterator<Item = &Gap> {
        self.layers.iter().flat_map(|l| l.missing.iter())
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

impl NetworkEvent {
    /// What was asked, as a person reads it: `CONNECT crates.io:443`, `HTTP example.com:80`;
    /// `SOCKS5 (no target)` for a client refused before it named one (SOCKS5 sends the target
    /// after the credential).
    pub fn request(&self) -> String {
        if self.host.is_empty() {
            return format!("{} (no target)", self.kind.to_ascii_uppercase());
        }
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{} {host}:{}", self.kind.to_ascii_uppercase(), self.port)
    }
}

/// Called with each decision as the proxy makes it (from the proxy's threads), while the
/// command still runs: the audit log and the terminal note see it at once.
#[derive(Clone)]
pub struct NetworkObserver(std::sync::Arc<dyn Fn(&NetworkEvent) + Send + Sync>);

impl NetworkObserver {
    pub fn new(f: impl Fn(&NetworkEvent) + Send + Sync + 'static) -> NetworkObserver {
        NetworkObserver(std::sync::Arc::new(f))
    }
}

impl std::fmt::Debug for NetworkObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NetworkObserver")
    }
}

/// Where a run's proxy records its decisions; shared by the proxy threads and the caller, who
/// reads it once the run has ended. Observers are told of each decision as it is recorded.
#[derive(Debug, Clone, Default)]
pub struct NetworkLog {
    events: std::sync::Arc<std::sync::Mutex<Vec<NetworkEvent>>>,
    observers: Vec<NetworkObserver>,
}

impl NetworkLog {
    /// An empty log whose decisions are also handed to `observers`, in order.
    pub fn observed(observers: Vec<NetworkObserver>) -> NetworkLog {
        NetworkLog {
            events: Default::default(),
            observers,
        }
    }

    /// Records one decision and tells the observers.
    pub fn record(&self, event: NetworkEvent) {
        for o in &self.observers {
            (o.0)(&event);
        }
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
    }

    /// Every decision recorded so far (the log is left empty).
    pub fn take(&self) -> Vec<NetworkEvent> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
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

#[cfg(test)]
mod tests {
    use super::NetworkEvent;

    #[test]
    fn a_network_event_without_a_target_reads_as_no_target() {
        let mut e = NetworkEvent {
            kind: "socks5".into(),
            host: String::new(),
            port: 0,
            allowed: false,
            address: None,
            reason: "no proxy credential".into(),
        };
        assert_eq!(e.request(), "SOCKS5 (no target)");
        e.host = "::1".into();
        e.port = 443;
        assert_eq!(e.request(), "SOCKS5 [::1]:443");
    }

    use super::*;

    fn report(layers: Vec<LayerReport>) -> EnforcementReport {
        EnforcementReport {
            backend: "test".into(),
            unconfined: false,
            layers,
            not_enforced: Vec::new(),
        }
    }

    #[test]
    fn a_layer_reads_back_from_its_json_with_typed_name_and_gaps() {
        let layer = LayerReport::new(Layer::Landlock, LayerStatus::Partial, "ABI 3")
            .enforcing([Protection::Writes])
            .lacking([Gap::LandlockAbi {
                feature: LandlockFeature::TcpBindConnect,
                have: 3,
                want: 4,
            }]);
        let json = serde_json::to_value(&layer).unwrap();
        assert_eq!(json["name"], "landlock");
        assert_eq!(json["status"], "partial");
        assert_eq!(json["enforces"], serde_json::json!(["writes"]));
        assert_eq!(
            json["missing"][0],
            serde_json::json!({"gap": "landlock-abi", "feature": "tcp-bind-connect", "have": 3, "want": 4})
        );
        assert_eq!(serde_json::from_value::<LayerReport>(json).unwrap(), layer);
    }

    #[test]
    fn only_a_layer_in_force_enforces_what_it_names() {
        let off = LayerReport::new(Layer::NetworkFence, LayerStatus::NotEnforced, "")
            .enforcing([Protection::TcpConnect]);
        assert!(!report(vec![off.clone()]).enforces(Protection::TcpConnect));
        let on = LayerReport {
            status: LayerStatus::Enforced,
            ..off
        };
        assert!(report(vec![on.clone()]).enforces(Protection::TcpConnect));
        assert!(!report(vec![on]).enforces(Capability::Network));
        assert!(!EnforcementReport::unconfined().enforces(Protection::Writes));
        assert!(
            EnforcementReport::unconfined()
                .gaps()
                .any(|g| *g == Gap::Unconfined)
        );
    }
}
