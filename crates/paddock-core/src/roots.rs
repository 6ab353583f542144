//! Which directories may never be writable roots (the workspace in workspace-write mode, or a
//! `writable_roots` entry): the host reads or runs what is written there later, outside the
//! sandbox (shell startup files, `~/.config`, `~/.local/bin`, systemd units, `/etc`).
//!
//! Guarantees: `refusal` is `Some` for the filesystem (or volume) root, every home directory (the
//! caller's, `/root`, any child of `/home`, `/Users`, `/var/home`, `C:\Users`) and any directory
//! containing one, and on Unix for the system directories (`/etc`, `/boot`, `/usr/bin`, ...), what
//! is inside them and what contains them. Paths are compared resolved, with the core's
//! fail-closed `may_be_beneath`. The Windows planner refuses more on its own (system folders,
//! `%TEMP%`, AppData, Paddock's state: `paddock-windows/src/plan/roots.rs`).

use crate::paths;
use std::path::{Path, PathBuf};

/// System directories of a Unix host: a writable root inside them, equal to them or containing
/// them is refused.
pub const UNIX_SYSTEM_DIRS: &[&str] = &[
    "/etc",
    "/boot",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/local/lib",
    "/var/spool",
    "/proc",
    "/sys",
    "/dev",
];

/// The host directories the refusal rules need, from the environment or given in tests. Every
/// path is absolute and resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoots {
    /// Folders holding home directories (`/home`): their children are home directories, and a
    /// root equal to them or containing them is refused.
    pub home_parents: Vec<PathBuf>,
    /// Home directories (the caller's, `/root`): a root may be inside one, never equal to one or
    /// containing one.
    pub homes: Vec<PathBuf>,
    /// System directories: a root may not be inside, equal to or containing one.
    pub system: Vec<PathBuf>,
}

impl HostRoots {
    /// This host's directories: the caller's home (`HOME` or `USERPROFILE`, resolved) and the
    /// usual ones of the OS. The home's parent is not taken for a folder of homes: a `HOME` set
    /// to `/srv/agent/home` must not refuse `/srv/agent/project`.
    pub fn from_env() -> HostRoots {
        let resolve = |p: &Path| paths::resolve(Path::new("/"), p).unwrap_or(p.to_path_buf());
        let home = crate::state::home_dir()
            .filter(|h| h.is_absolute())
            .map(|h| resolve(&h));
        let (home_parents, mut homes, system): (Vec<PathBuf>, Vec<PathBuf>, Vec<PathBuf>) =
            if cfg!(windows) {
                (vec![PathBuf::from(r"C:\Users")], Vec::new(), Vec::new())
            } else {
                (
                    ["/home", "/Users", "/var/home"]
                        .iter()
                        .map(|p| resolve(Path::new(p)))
                        .collect(),
                    vec![resolve(Path::new("/root"))],
                    UNIX_SYSTEM_DIRS.iter().map(PathBuf::from).collect(),
                )
            };
        homes.extend(home);
        HostRoots {
            home_parents,
            homes,
            system,
        }
    }

    /// Why `root` (absolute, resolved) may not be a writable root, or `None` when it may.
    pub fn refusal(&self, root: &Path) -> Option<String> {
        if root.parent().is_none() {
            return Some(
                "it is the root of the file system, so the command could change anything your \
                 account can"
                    .into(),
            );
        }
        let contains = |outer: &Path, inner: &Path| paths::may_be_beneath(inner, outer);
        for h in &self.homes {
            if contains(root, h) {
                return Some(format!(
                    "it is or contains the home directory {} (shell startup files, ~/.config, \
                     ~/.local/bin run later outside the sandbox)",
                    h.display()
                ));
            }
        }
        for parent in &self.home_parents {
            if contains(root, parent) {
                return Some(format!(
                    "it is or contains {}, which holds the home directories",
                    parent.display()
                ));
            }
            if root
                .parent()
                .is_some_and(|p| contains(p, parent) && contains(parent, p))
            {
                return Some(
                    "it is a home directory (shell startup files, ~/.config, ~/.local/bin run \
                     later outside the sandbox)"
                        .into(),
                );
            }
        }
        for s in &self.system {
            if contains(root, s) || contains(s, root) {
                return Some(format!(
                    "it is, is inside or contains the system directory {}",
                    s.display()
                ));
            }
        }
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn host() -> HostRoots {
        HostRoots {
            home_parents: vec!["/home".into(), "/Users".into()],
            homes: vec!["/home/me".into(), "/root".into()],
            system: UNIX_SYSTEM_DIRS.iter().map(PathBuf::from).collect(),
        }
    }

    #[test]
    fn refuses_root_homes_their_parents_and_system_directories() {
        let h = host();
        for bad in [
            "/",
            "/home",
            "/home/me",
            "/home/someone-else",
            "/HOME/ME",
            "/Users/alice",
            "/root",
            "/etc",
            "/etc/nginx",
            "/usr",
            "/usr/bin",
            "/usr/local",
            "/var",
            "/var/spool/cron",
            "/proc/self",
        ] {
            assert!(h.refusal(Path::new(bad)).is_some(), "{bad} accepted");
        }
    }

    #[test]
    fn a_spec_refuses_a_workspace_that_a_link_makes_a_home_and_such_writable_roots() {
        use crate::config::default_policy;
        use crate::error::SpecError;
        use crate::spec::SandboxSpec;
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let home = base.join("home");
        let ws = base.join("ws");
        std::fs::create_dir_all(home.join("project")).unwrap();
        std::fs::create_dir_all(&ws).unwrap();
        std::os::unix::fs::symlink(&home, ws.join("planted")).unwrap();
        let host = HostRoots {
            home_parents: vec![],
            homes: vec![home.clone()],
            system: vec![],
        };
        let policy = default_policy();
        let err = SandboxSpec::from_policy_on(&policy, &ws.join("planted"), &host).unwrap_err();
        match &err {
            SpecError::RefusedWorkspace { path, .. } => assert_eq!(path, &home),
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("planted"), "{err}");
        // Inside the home is fine, and so is the home in read-only mode (nothing is writable).
        assert!(SandboxSpec::from_policy_on(&policy, &home.join("project"), &host).is_ok());
        let mut ro = policy.clone();
        ro.mode = crate::policy::Mode::ReadOnly;
        assert!(SandboxSpec::from_policy_on(&ro, &home, &host).is_ok());
        // The same refusal for an extra writable root, given directly or through a link.
        for root in [PathBuf::from("/"), home.clone(), ws.join("planted")] {
            let mut p = policy.clone();
            p.writable_roots.push(root.clone());
            let err = SandboxSpec::from_policy_on(&p, &ws, &host).unwrap_err();
            assert!(
                matches!(err, SpecError::RefusedRoot { .. }),
                "{root:?}: {err}"
            );
        }
    }

    #[test]
    fn accepts_project_directories_inside_homes_and_elsewhere() {
        let h = host();
        for good in [
            "/home/me/src/repo",
            "/home/me/.cargo",
            "/root/project",
            "/usr/src/app",
            "/srv/www",
            "/var/www/site",
            "/opt/work",
            "/tmp/x",
            "/work",
        ] {
            assert_eq!(h.refusal(Path::new(good)), None, "{good} refused");
        }
    }
}
