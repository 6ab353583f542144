//! What the running kernel lets Paddock use, for `paddock status` and for error messages:
//! unprivileged user namespaces (and the sysctls or AppArmor policy that forbid them), the new
//! mount API, Landlock's ABI and seccomp filters. Probing forks a short-lived child that tries
//! the real thing, so the answer is what a run would meet.

use crate::landlock::{KernelLandlock, kernel_landlock};
use crate::sys::{self, Ended, Forked};
use std::io;

/// Whether one requirement is met, and if not why and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Available,
    Unavailable { reason: String, fix: String },
}

/// What the kernel supports, as far as Paddock's Linux backend is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSupport {
    /// A user namespace with a mount namespace in which this process may mount.
    pub user_namespaces: Availability,
    /// open_tree, move_mount, mount_setattr, openat2 (Linux 5.12).
    pub mount_api: Availability,
    /// Landlock: its ABI, or why it is unavailable (the same probe the backend uses to build
    /// its ruleset).
    pub landlock: KernelLandlock,
    /// seccomp filter mode.
    pub seccomp: bool,
}

impl KernelSupport {
    /// One line per missing requirement (empty when the backend can run).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, a) in [
            ("user namespaces", &self.user_namespaces),
            ("mount API", &self.mount_api),
        ] {
            if let Availability::Unavailable { reason, fix } = a {
                out.push(format!("{what}: {reason}; {fix}"));
            }
        }
        if let Some(reason) = self.landlock.unavailable_reason() {
            out.push(format!("Landlock: {reason}"));
        }
        if !self.seccomp {
            out.push("seccomp: unavailable; use a kernel built with CONFIG_SECCOMP_FILTER".into());
        }
        out
    }
}

fn read_sysctl(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Why user namespaces are refused on this system and how to allow them, from its sysctls.
pub fn userns_diagnosis() -> (String, String) {
    if read_sysctl("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return (
            "unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0)".into(),
            "run `sudo sysctl -w kernel.unprivileged_userns_clone=1` (persist it in /etc/sysctl.d/)".into(),
        );
    }
    if read_sysctl("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return (
            "user namespaces are disabled (sysctl user.max_user_namespaces=0)".into(),
            "run `sudo sysctl -w user.max_user_namespaces=15000` (persist it in /etc/sysctl.d/)"
                .into(),
        );
    }
    if read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1")
    {
        return (
            "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu 23.10+)".into(),
            "add an AppArmor profile granting `userns,` to the paddock binary, or run `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`".into(),
        );
    }
    (
        "the kernel or a container runtime forbids creating user namespaces (seccomp profile or missing CONFIG_USER_NS)".into(),
        "run Paddock outside the container, or start the container with user namespaces allowed (e.g. `--security-opt seccomp=unconfined`)".into(),
    )
}

/// Runs `test` in a forked child and returns its exit code. The child only makes raw system
/// calls (no allocation), so forking from a multi-threaded caller is safe.
fn in_child(test: fn() -> i32) -> io::Result<i32> {
    match sys::fork()? {
        Forked::Child => sys::exit_now(test()),
        Forked::Parent(pid) => match sys::wait_for(pid)?.1 {
            Ended::Code(c) => Ok(c),
            Ended::Signal(s) => Ok(128 + s),
        },
    }
}

/// In the child: a user + mount namespace in which a mount succeeds (AppArmor's restriction
/// lets unshare succeed but withholds the capabilities).
fn try_userns() -> i32 {
    if sys::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS).is_err() {
        return 1;
    }
    match sys::mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None) {
        Ok(()) => 0,
        Err(_) => 2,
    }
}

/// Probes the running kernel.
pub fn probe() -> KernelSupport {
    let user_namespaces = match in_child(try_userns) {
        Ok(0) => Availability::Available,
        Ok(code) => {
            let (mut reason, fix) = userns_diagnosis();
            if code == 2 {
                reason =
                    format!("a user namespace can be created but grants no capabilities: {reason}");
            }
            Availability::Unavailable { reason, fix }
        }
        Err(e) => Availability::Unavailable {
            reason: format!("cannot fork a probe: {e}"),
            fix: "retry".into(),
        },
    };
    let mount_api = match sys::mount_setattr_exists() {
        true => Availability::Available,
        false => Availability::Unavailable {
            reason: "the kernel lacks open_tree/move_mount/mount_setattr".into(),
            fix: "use Linux 5.12 or later".into(),
        },
    };
    KernelSupport {
        user_namespaces,
        mount_api,
        landlock: kernel_landlock(),
        seccomp: sys::seccomp_available(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_agrees_with_unshare_about_user_namespaces() {
        let works = std::process::Command::new("unshare")
            .args(["-Urm", "true"])
            .status()
            .is_ok_and(|s| s.success());
        let probed = probe().user_namespaces == Availability::Available;
        assert_eq!(probed, works);
    }

    #[test]
    fn every_missing_requirement_is_a_problem_line_with_a_fix() {
        let k = KernelSupport {
            user_namespaces: Availability::Unavailable {
                reason: "r".into(),
                fix: "f".into(),
            },
            mount_api: Availability::Available,
            landlock: KernelLandlock::NotImplemented,
            seccomp: false,
        };
        let p = k.problems();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0], "user namespaces: r; f");
        assert!(p[1].contains("CONFIG_SECURITY_LANDLOCK"), "{p:?}");
    }

    #[test]
    fn this_kernel_has_the_mount_api_landlock_and_seccomp() {
        // Paddock's CI kernel is recent (6.x); an old kernel fails here with the reason.
        let k = probe();
        assert!(k.problems().is_empty(), "{:?}", k.problems());
    }
}
