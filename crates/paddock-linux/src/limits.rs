//! The resource limits of a run, decided by the supervisor: which mechanism enforces each
//! limit of the policy here, what pid 1 applies (`PlanLimits`), what the run's cgroup must hold,
//! and the `limits` layer of the report.
//!
//! Mechanisms: the tmpfs size is a mount option and the file size `RLIMIT_FSIZE`, for every
//! caller. Processes: `RLIMIT_NPROC` (counted per uid in the sandbox's own user namespace) for
//! a non-root caller; the kernel exempts uid 0 from it, so for a root caller the `pid_max` of
//! the sandbox's pid namespace (Linux 6.14+, limits of 300 and more; free), else a cgroup's
//! `pids.max` (moving a process into a cgroup can wait milliseconds for an RCU grace period,
//! so no run pays for a cgroup unless it needs one). Memory: a cgroup only (`RLIMIT_AS` would break programs that reserve address
//! space). Fail closed: a limit the policy sets explicitly that cannot be enforced refuses the
//! run unless `allow_unenforced` holds `limits`; a default one is reported as not enforced.

use crate::cgroup::{Cgroup, CgroupLimits};
use crate::plan::{LinuxError, PlanLimits};
use paddock_core::policy::{Capability, LimitKind, Limits};
use paddock_core::{Gap, Layer, LayerReport, LayerStatus, Protection};
use std::collections::BTreeSet;

/// The smallest process limit `pid_max` can express: the kernel refuses a `pid_max` below 301.
const MIN_PID_MAX_LIMIT: u64 = 300;

/// Whether the running kernel has a `pid_max` per pid namespace (Linux 6.14 and later).
pub fn kernel_has_pid_max_per_namespace() -> bool {
    // SAFETY: a zeroed utsname is a valid out-parameter for uname.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is writable.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return false;
    }
    let release: String = uts
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8 as char)
        .collect();
    release_at_least(&release, (6, 14))
}

/// Whether a kernel release string (`6.18.44-fc`) is at least `(major, minor)`.
fn release_at_least(release: &str, want: (u32, u32)) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= want,
        _ => false,
    }
}

/// How the limits of one run are enforced.
#[derive(Debug, Default)]
pub struct LimitsSetup {
    /// What pid 1 applies.
    pub plan: PlanLimits,
    /// What the run's cgroup must limit, if one is needed.
    pub cgroup: CgroupLimits,
    /// Each limit with how it is enforced.
    enforced: Vec<String>,
    /// Each limit that is not, with why.
    missing: Vec<(LimitKind, String)>,
}

impl LimitsSetup {
    /// The mechanisms that need no cgroup, for a caller with `uid`, on a kernel where each pid
    /// namespace has its own `pid_max` (`per_namespace_pid_max`, see `kernel_has_pid_max_per_namespace`).
    pub fn decide(limits: &Limits, uid: u32, per_namespace_pid_max: bool) -> LimitsSetup {
        let mut s = LimitsSetup::default();
        if let Some(n) = limits.tmpfs {
            s.plan.tmpfs = Some(n);
            s.enforced.push(format!(
                "tmpfs {}: size of each private /tmp, /var/tmp, /dev/shm",
                size(n)
            ));
        }
        if let Some(n) = limits.file_size {
            s.plan.fsize = Some(n);
            s.enforced
                .push(format!("file_size {}: RLIMIT_FSIZE", size(n)));
        }
        if let Some(n) = limits.processes {
            if uid == 0 && per_namespace_pid_max && n >= MIN_PID_MAX_LIMIT {
                s.plan.pid_max = Some(n + 1);
                s.enforced.push(format!(
                    "processes {n}: pid_max {} of the sandbox's pid namespace (threads included)",
                    n + 1
                ));
            } else if uid == 0 {
                s.cgroup.pids = Some(n);
            } else {
                s.plan.nproc = Some(n);
                s.enforced.push(format!(
                    "processes {n}: RLIMIT_NPROC (threads included; per uid in the sandbox's \
                     user namespace)"
                ));
            }
        }
        s.cgroup.memory = limits.memory;
        s
    }

    /// Whether a cgroup must be made for this run.
    pub fn needs_cgroup(&self) -> bool {
        self.cgroup != CgroupLimits::default()
    }

    /// Records the cgroup's outcome: its limits are enforced by it, or missing for `reason`.
    pub fn cgroup_result(&mut self, made: Result<&Cgroup, &str>) {
        let items = [
            (
                LimitKind::Processes,
                self.cgroup
                    .pids
                    .map(|n| (format!("processes {n}"), "pids.max")),
            ),
            (
                LimitKind::Memory,
                self.cgroup
                    .memory
                    .map(|n| (format!("memory {}", size(n)), "memory limit")),
            ),
        ];
        for (kind, item) in items {
            let Some((what, file)) = item else { continue };
            match made {
                Ok(cg) => self.enforced.push(format!("{what}: {} {file}", cg.version)),
                Err(reason) => {
                    let why = if kind == LimitKind::Processes {
                        format!(
                            "{what}: not enforced (the kernel exempts uid 0 from RLIMIT_NPROC, \
                             and {reason})"
                        )
                    } else {
                        format!("{what}: not enforced (needs a cgroup: {reason})")
                    };
                    self.missing.push((kind, why));
                }
            }
        }
    }

    /// Refuses an explicit limit that is not enforced, unless the user accepted that.
    pub fn check(&self, limits: &Limits, allowed: &BTreeSet<Capability>) -> Result<(), LinuxError> {
        if allowed.contains(&Capability::Limits) {
            return Ok(());
        }
        let refused: Vec<&str> = self
            .missing
            .iter()
            .filter(|(kind, _)| limits.explicit.contains(kind))
            .map(|(_, why)| why.as_str())
            .collect();
        if refused.is_empty() {
            return Ok(());
        }
        Err(LinuxError::Unsupported {
            reason: format!(
                "{}; run as root or in a delegated cgroup v2, drop the limit, or accept it \
                 unenforced with allow_unenforced = [\"limits\"]",
                refused.join("; ")
            ),
        })
    }

    /// Whether an explicitly set limit runs unenforced (accepted through `allow_unenforced`).
    pub fn explicit_unenforced(&self, limits: &Limits) -> bool {
        self.missing
            .iter()
            .any(|(kind, _)| limits.explicit.contains(kind))
    }

    /// The `limits` layer of the report.
    pub fn report(&self) -> LayerReport {
        let status = match (self.enforced.is_empty(), self.missing.is_empty()) {
            (_, true) => LayerStatus::Enforced,
            (false, false) => LayerStatus::Partial,
            (true, false) => LayerStatus::NotEnforced,
        };
        let mut parts = self.enforced.clone();
        parts.extend(self.missing.iter().map(|(_, why)| why.clone()));
        if parts.is_empty() {
            parts.push("no limits set".into());
        }
        let report = LayerReport::new(Layer::Limits, status, parts.join("; "));
        if self.missing.is_empty() {
            return report.enforcing([Protection::Limits]);
        }
        let mut kinds: Vec<LimitKind> = self.missing.iter().map(|(kind, _)| *kind).collect();
        kinds.sort();
        kinds.dedup();
        report.lacking([Gap::Limits { kinds }])
    }
}

/// A byte count in the largest binary unit that divides it.
fn size(n: u64) -> String {
    for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{}{unit}", n >> shift);
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(kinds: &[LimitKind]) -> Limits {
        Limits {
            memory: Some(1 << 30),
            explicit: kinds.iter().copied().collect(),
            ..Limits::default()
        }
    }

    #[test]
    fn a_non_root_caller_gets_rlimits_and_a_root_caller_needs_a_cgroup_for_processes() {
        let user = LimitsSetup::decide(&Limits::default(), 1000, true);
        assert_eq!(user.plan.nproc, Some(Limits::DEFAULT_PROCESSES));
        assert_eq!(user.plan.tmpfs, Some(Limits::DEFAULT_TMPFS));
        assert!(!user.needs_cgroup());
        let root = LimitsSetup::decide(&Limits::default(), 0, true);
        assert_eq!(root.plan.nproc, None, "uid 0 is exempt from RLIMIT_NPROC");
        assert_eq!(root.plan.pid_max, Some(Limits::DEFAULT_PROCESSES + 1));
        assert!(!root.needs_cgroup(), "the default must not cost a cgroup");
        let old_kernel = LimitsSetup::decide(&Limits::default(), 0, false);
        assert_eq!(old_kernel.cgroup.pids, Some(Limits::DEFAULT_PROCESSES));
        let small = Limits {
            processes: Some(50),
            ..Limits::default()
        };
        let root_small = LimitsSetup::decide(&small, 0, true);
        assert_eq!(root_small.plan.pid_max, None, "pid_max cannot go below 301");
        assert_eq!(root_small.cgroup.pids, Some(50));
    }

    #[test]
    fn kernel_releases_compare_by_major_and_minor() {
        assert!(release_at_least("6.18.44-fc-v1252", (6, 14)));
        assert!(release_at_least("7.0.0", (6, 14)));
        assert!(!release_at_least("6.8.0-45-generic", (6, 14)));
        assert!(!release_at_least("garbage", (6, 14)));
    }

    #[test]
    fn an_explicit_limit_without_its_mechanism_refuses_and_a_default_one_is_reported() {
        let no_cgroup = "no cgroup here";
        let mut s = LimitsSetup::decide(&explicit(&[LimitKind::Memory]), 1000, true);
        s.cgroup_result(Err(no_cgroup));
        let err = s
            .check(&explicit(&[LimitKind::Memory]), &BTreeSet::new())
            .unwrap_err();
        assert!(
            err.to_string().contains("memory 1GiB: not enforced"),
            "{err}"
        );
        assert!(err.to_string().contains("allow_unenforced"), "{err}");
        let accepted = BTreeSet::from([Capability::Limits]);
        assert!(s.check(&explicit(&[LimitKind::Memory]), &accepted).is_ok());
        // The same limit as a default: runs, reported.
        assert!(s.check(&explicit(&[]), &BTreeSet::new()).is_ok());
        let report = s.report();
        assert_eq!(report.status, LayerStatus::Partial);
        assert!(
            report.detail.contains("no cgroup here"),
            "{}",
            report.detail
        );
    }

    #[test]
    fn sizes_are_shown_in_binary_units() {
        assert_eq!(size(2 << 30), "2GiB");
        assert_eq!(size(1536 << 20), "1536MiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
