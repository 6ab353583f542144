//! Builds and applies Paddock's Landlock ruleset for the kernel's ABI: read and execute
//! everywhere, every right beneath the writable hierarchies, the null and terminal devices
//! usable, TCP denied when the network is off, abstract unix sockets and signals scoped.
//!
//! Only rights the kernel supports are requested, and the crate runs in hard-requirement mode:
//! the ruleset is applied whole or not at all.

use super::{LandlockError, LandlockRequest};
use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath,
    PathFd, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus, Scope,
};
use std::path::Path;

/// Device files a shell needs to write to or drive: redirections to `/dev/null`, terminals.
const DEVICE_FILES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/ptmx",
];
/// Device directories whose entries get the same device rights (pseudo-terminal slaves).
const DEVICE_DIRS: &[&str] = &["/dev/pts"];

/// What one applied ruleset covers, for the layer report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub abi: i32,
    /// Hierarchies granted every right.
    pub writable: Vec<String>,
    /// Device paths found and granted read, write and (ABI 5) ioctl.
    pub devices: usize,
    /// `truncate(2)` and `O_TRUNC` are controlled (ABI 3).
    pub truncate: bool,
    /// ioctl on device files is controlled (ABI 5).
    pub ioctl_dev: bool,
    /// TCP bind and connect are denied (ABI 4, network off only).
    pub tcp_denied: bool,
    /// Connecting to abstract unix sockets and signalling processes outside the sandbox are
    /// denied (ABI 6).
    pub scoped: bool,
    /// `connect(2)` to unix socket files is allowed only beneath the writable hierarchies (ABI 9).
    pub resolve_unix: bool,
}

/// Restricts the calling thread (and everything it later executes) with Paddock's ruleset for
/// `abi_version`. Irreversible; call once, single-threaded, just before `execve`.
pub fn restrict(abi_version: i32, req: &LandlockRequest) -> Result<Coverage, LandlockError> {
    let abi = ABI::from(abi_version);
    let all = AccessFs::from_all(abi);
    let device_rights =
        all & (AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev);
    let tcp_denied = req.network_off && abi >= ABI::V4;
    let scoped = abi >= ABI::V6;

    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(all)
        .map_err(|e| LandlockError::ruleset("handling filesystem rights", e))?;
    if tcp_denied {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(abi))
            .map_err(|e| LandlockError::ruleset("handling network rights", e))?;
    }
    if scoped {
        ruleset = ruleset
            .scope(Scope::from_all(abi))
            .map_err(|e| LandlockError::ruleset("scoping unix sockets and signals", e))?;
    }
    let mut created = ruleset
        .create()
        .map_err(|e| LandlockError::ruleset("creating the ruleset", e))?;

    created = add_beneath(created, Path::new("/"), AccessFs::from_read(abi))?;
    let mut devices = 0;
    for dev in DEVICE_FILES.iter().chain(DEVICE_DIRS) {
        let path = Path::new(dev);
        if !path.exists() {
            continue;
        }
        let rights = if DEVICE_DIRS.contains(dev) {
            device_rights
        } else {
            device_rights & AccessFs::from_file(abi)
        };
        created = add_beneath(created, path, rights)?;
        devices += 1;
    }
    if tcp_denied && let Some(port) = req.tcp_connect_port {
        created = created
            .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
            .map_err(|e| LandlockError::ruleset("allowing connect to the proxy port", e))?;
    }
    let mut writable = Vec::new();
    for root in &req.writable {
        let fd = PathFd::new(root).map_err(|source| LandlockError::WritableMissing {
            path: root.clone(),
            source,
        })?;
        created = created
            .add_rule(PathBeneath::new(fd, all))
            .map_err(|e| LandlockError::ruleset("granting a writable hierarchy", e))?;
        writable.push(root.display().to_string());
    }

    let status = created
        .restrict_self()
        .map_err(|e| LandlockError::ruleset("restricting the process", e))?;
    if status.ruleset != RulesetStatus::FullyEnforced {
        return Err(LandlockError::NotFullyEnforced {
            status: format!("{:?}", status.ruleset),
        });
    }
    Ok(Coverage {
        abi: abi_version,
        writable,
        devices,
        truncate: all.contains(AccessFs::Truncate),
        ioctl_dev: all.contains(AccessFs::IoctlDev),
        tcp_denied,
        scoped,
        resolve_unix: all.contains(AccessFs::ResolveUnix),
    })
}

fn add_beneath(
    created: RulesetCreated,
    path: &Path,
    rights: BitFlags<AccessFs>,
) -> Result<RulesetCreated, LandlockError> {
    let fd = PathFd::new(path).map_err(|source| LandlockError::OpenPath {
        path: path.to_path_buf(),
        source,
    })?;
    created
        .add_rule(PathBeneath::new(fd, rights))
        .map_err(|e| LandlockError::ruleset("adding a path rule", e))
}
