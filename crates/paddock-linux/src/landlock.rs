//! Landlock, the second filesystem and network layer under the mount view: writes only beneath
//! the writable hierarchies, TCP bind/connect denied when the network is off, abstract unix
//! sockets and signals confined to the sandbox. Fails closed when the kernel has no Landlock.
//!
//! What Landlock cannot do, and who does it instead:
//! - Read-only holes (`.git/hooks`) inside a writable root: Landlock rights only add up along a
//!   hierarchy, so a right granted on the root cannot be taken back below it. The mount view
//!   binds protected paths read-only.
//! - Deny-read paths: the ruleset must grant read on `/` (programs, libraries, `/etc`), and a
//!   read right on a parent covers every path beneath it. Granting read on every top-level
//!   directory except the ones holding secrets would still cover the secrets' siblings and
//!   break on the first secret under `$HOME`. The mount view hides deny-read paths (empty
//!   tmpfs or `/dev/null` bound over them); Landlock adds nothing there.
//! - `connect(2)` to a unix socket *file* below ABI 9: the read-only view does not stop it
//!   either. The mount view hides host sockets (see `seccomp::host_unix_sockets`); from ABI 9
//!   on, this ruleset allows such connects only beneath the writable hierarchies.
//! - chmod, chown, utimes, xattrs: not governed by Landlock; the mount view's read-only binds
//!   stop them outside the writable roots.

mod abi;
mod ruleset;

pub use abi::{KernelLandlock, kernel_landlock};
pub use ruleset::Coverage;

use crate::plan::{LinuxError, LinuxPlan};
use paddock_core::report::{Gap, LandlockFeature, Layer, LayerReport, LayerStatus, Protection};
use std::path::PathBuf;
use thiserror::Error;

/// What the Landlock layer must enforce, with paths as the sandbox's mount view shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandlockRequest {
    /// Hierarchies that get every right: the writable roots and the sandbox's private temp dir.
    pub writable: Vec<PathBuf>,
    /// Deny TCP bind and connect (ABI 4).
    pub network_off: bool,
    /// With `network_off`: the one TCP port `connect(2)` may reach (the allow-list proxy on
    /// the namespace's loopback); bind stays denied.
    pub tcp_connect_port: Option<u16>,
    /// The user accepted running without Landlock: a kernel without it yields a `NotEnforced`
    /// report instead of an error.
    pub may_degrade: bool,
}

/// Why the Landlock layer could not be applied.
#[derive(Debug, Error)]
pub enum LandlockError {
    #[error(
        "Landlock is not available: {reason}. Paddock refuses to run without its second \
         filesystem layer; use a kernel with Landlock enabled"
    )]
    Unavailable { reason: &'static str },
    #[error(
        "writable path {} cannot be opened inside the sandbox ({source}); the mount view must \
         contain every writable root",
        path.display()
    )]
    WritableMissing {
        path: PathBuf,
        source: landlock::PathFdError,
    },
    #[error("cannot open {} for a Landlock rule: {source}", path.display())]
    OpenPath {
        path: PathBuf,
        source: landlock::PathFdError,
    },
    #[error(
        "Landlock rejected the ruleset while {step}: {source}; run `paddock status` and report it"
    )]
    Ruleset {
        step: &'static str,
        source: landlock::RulesetError,
    },
    #[error("Landlock enforced the ruleset only as {status}; Paddock refuses a partial ruleset")]
    NotFullyEnforced { status: String },
}

impl LandlockError {
    fn ruleset(step: &'static str, source: landlock::RulesetError) -> Self {
        LandlockError::Ruleset { step, source }
    }
}

/// Applies the plan's Landlock layer: every right beneath `plan.writable_dirs()`, TCP denied
/// when the network is off. The plan has no degradation switch, so a kernel without Landlock
/// is an error. Call after `pivot_root` and before `execve`, in a single-threaded process.
pub fn apply_landlock(plan: &LinuxPlan) -> Result<LayerReport, LinuxError> {
    let req = LandlockRequest {
        writable: plan.writable_dirs(),
        network_off: plan.network_off,
        tcp_connect_port: plan.proxy_port,
        may_degrade: false,
    };
    enforce(&req).map_err(|e| LinuxError::Landlock {
        reason: e.to_string(),
    })
}

/// Applies the Landlock layer to the calling thread and what it executes.
pub fn enforce(req: &LandlockRequest) -> Result<LayerReport, LandlockError> {
    match start(kernel_landlock(), req.may_degrade)? {
        Start::Apply(abi) => Ok(report(&ruleset::restrict(abi, req)?, req.network_off)
            .with_proxy_port(req.tcp_connect_port)),
        Start::Degraded(report) => Ok(report),
    }
}

/// What to do on this kernel.
#[derive(Debug, PartialEq, Eq)]
enum Start {
    /// Build and apply the ruleset for this ABI.
    Apply(i32),
    /// No Landlock, and the user accepted that: report the layer as not enforced.
    Degraded(LayerReport),
}

fn start(kernel: KernelLandlock, may_degrade: bool) -> Result<Start, LandlockError> {
    let reason = match kernel {
        KernelLandlock::Available(abi) => return Ok(Start::Apply(abi)),
        other => other.unavailable_reason().unwrap_or("unknown"),
    };
    if !may_degrade {
        return Err(LandlockError::Unavailable { reason });
    }
    Ok(Start::Degraded(
        LayerReport::new(
            Layer::Landlock,
            LayerStatus::NotEnforced,
            format!("not enforced (the caller accepted running without Landlock): {reason}"),
        )
        .lacking([Gap::LandlockUnavailable]),
    ))
}

/// Names the one TCP port connect may reach, when there is one and the ABI denies the rest.
trait ProxyPortNote {
    fn with_proxy_port(self, port: Option<u16>) -> Self;
}

impl ProxyPortNote for LayerReport {
    fn with_proxy_port(mut self, port: Option<u16>) -> Self {
        if let Some(port) = port
            && self.enforces.contains(&Protection::TcpConnect)
        {
            self.enforces.retain(|p| *p != Protection::TcpConnect);
            self.detail.push_str(&format!(
                "; TCP connect allowed to port {port} only (the allow-list proxy)"
            ));
        }
        self
    }
}

/// Whether the applied ruleset holds `feature`.
fn holds(c: &Coverage, feature: LandlockFeature) -> bool {
    match feature {
        LandlockFeature::Truncate => c.truncate,
        LandlockFeature::TcpBindConnect => c.tcp_denied,
        LandlockFeature::DeviceIoctl => c.ioctl_dev,
        LandlockFeature::Scoping => c.scoped,
        LandlockFeature::UnixSocketFiles => c.resolve_unix,
    }
}

/// The layer report for an applied ruleset: `Enforced` when every part of Paddock's design the
/// ABI can carry is in force (ABI 6 or later), `Partial` with the missing parts named otherwise.
/// Connect to unix socket files (ABI 9) is a gap that never makes the layer partial: the mount
/// view and the seccomp broker guard it on older kernels.
pub fn report(c: &Coverage, network_off: bool) -> LayerReport {
    let mut held = vec![format!(
        "ABI {}: read and execute on /, every right beneath {} ({}), read/write/ioctl on {} device paths",
        c.abi,
        if c.writable.is_empty() {
            "no path".to_string()
        } else {
            c.writable.join(", ")
        },
        c.writable.len(),
        c.devices
    )];
    let mut missing = Vec::new();
    let mut gaps = Vec::new();
    let mut enforces = vec![Protection::Writes];
    for feature in LandlockFeature::ALL {
        if feature == LandlockFeature::TcpBindConnect && !network_off {
            continue;
        }
        let (what, abi) = (feature.describe(), feature.abi());
        if holds(c, feature) {
            enforces.extend(match feature {
                LandlockFeature::TcpBindConnect => {
                    &[Protection::TcpBind, Protection::TcpConnect][..]
                }
                LandlockFeature::Scoping => &[Protection::Scoping],
                LandlockFeature::UnixSocketFiles => &[Protection::UnixSockets],
                LandlockFeature::Truncate | LandlockFeature::DeviceIoctl => &[],
            });
            if feature != LandlockFeature::UnixSocketFiles {
                held.push(format!("{what} (ABI {abi})"));
            }
        } else {
            gaps.push(Gap::LandlockAbi {
                feature,
                have: c.abi,
                want: abi,
            });
            if feature != LandlockFeature::UnixSocketFiles {
                missing.push(format!("{what} (needs ABI {abi})"));
            }
        }
    }
    let status = if missing.is_empty() {
        LayerStatus::Enforced
    } else {
        LayerStatus::Partial
    };
    let mut detail = held.join("; ");
    if !missing.is_empty() {
        detail.push_str("; missing: ");
        detail.push_str(&missing.join(", "));
    }
    if c.resolve_unix {
        detail.push_str("; connect to unix socket files only beneath writable paths (ABI 9)");
    } else {
        detail.push_str(
            "; connect to unix socket files left to the mount view and, with the network off, \
             the seccomp connect broker (Landlock needs ABI 9)",
        );
    }
    LayerReport::new(Layer::Landlock, status, detail)
        .enforcing(enforces)
        .lacking(gaps)
}

#[cfg(test)]
mod tests;
