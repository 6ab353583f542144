//! Which folders may never become writable roots at level 1, and why: an inheritable grant on
//! them would reach the whole disk, every profile, the user's startup items, `%TEMP%` or
//! Paddock's own state (journal, ledger, SIDs), which no root may overlap.
//!
//! Guarantees: `refusal` is `Some` for a volume root, a profile root (any child of the users
//! folder), an ancestor of (or equal to) a guarded folder, a system folder or anything in it,
//! and anything overlapping the state directory.

use crate::winpath;
use std::path::{Path, PathBuf};

/// The host folders the refusal rules need, read from the environment on Windows and given
/// explicitly in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDirs {
    /// Windows, Program Files (both), ProgramData: a root inside them is refused.
    pub system: Vec<PathBuf>,
    /// The folder holding every profile (`C:\Users`): its children are profile roots.
    pub users: Vec<PathBuf>,
    /// Folders a root may be inside of but never equal to or above: the profile, `%TEMP%`,
    /// AppData, the Startup folder.
    pub guarded: Vec<PathBuf>,
    /// Paddock's state directory (journal, ledger, SIDs): a root may not overlap it at all, or
    /// the command could rewrite what Paddock later replays with the user's rights.
    pub state: PathBuf,
}

/// Windows' system folders where no variable says otherwise.
pub(crate) const SYSTEM_DEFAULTS: [&str; 4] = [
    r"C:\Windows",
    r"C:\Program Files",
    r"C:\Program Files (x86)",
    r"C:\ProgramData",
];

impl HostDirs {
    /// Windows' defaults plus what `SystemRoot`, `ProgramFiles`, `ProgramData`, `USERPROFILE`,
    /// `TEMP`, `TMP`, `APPDATA`, `LOCALAPPDATA` and `PUBLIC` say, and `state_dir`.
    pub fn from_env(state_dir: &Path) -> HostDirs {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let mut system: Vec<PathBuf> = SYSTEM_DEFAULTS.iter().map(PathBuf::from).collect();
        system.extend(
            [
                "SystemRoot",
                "windir",
                "ProgramFiles",
                "ProgramFiles(x86)",
                "ProgramW6432",
                "ProgramData",
            ]
            .iter()
            .filter_map(|n| var(n)),
        );
        let mut users = vec![PathBuf::from(r"C:\Users")];
        let mut guarded: Vec<PathBuf> = [
            "USERPROFILE",
            "TEMP",
            "TMP",
            "APPDATA",
            "LOCALAPPDATA",
            "PUBLIC",
        ]
        .iter()
        .filter_map(|n| var(n))
        .collect();
        if let Some(profile) = var("USERPROFILE") {
            users.extend(winpath::parent(&profile));
        }
        if let Some(appdata) = var("APPDATA") {
            guarded.push(winpath::join(
                &appdata,
                r"Microsoft\Windows\Start Menu\Programs\Startup",
            ));
        }
        HostDirs {
            system,
            users,
            guarded,
            state: state_dir.to_path_buf(),
        }
    }

    /// Why `root` may not be a writable root, or `None` when it may. Relations are the core's
    /// fail-closed ones: a root that *may* overlap a guarded or system folder is refused.
    pub fn refusal(&self, root: &Path) -> Option<String> {
        if let Some(why) = winpath::unusable_as_root(root) {
            return Some(why);
        }
        let may_equal =
            |a: &Path, b: &Path| winpath::may_be_beneath(a, b) && winpath::may_be_beneath(b, a);
        for users in &self.users {
            if winpath::may_be_beneath(users, root) {
                return Some(format!(
                    "it may contain every user profile ({})",
                    users.display()
                ));
            }
            if winpath::parent(root).is_some_and(|p| may_equal(&p, users)) {
                return Some(
                    "it is a user profile root (NTUSER.DAT, AppData, startup items)".into(),
                );
            }
        }
        for g in &self.guarded {
            if winpath::may_be_beneath(g, root) {
                return Some(format!(
                    "it is or may contain {}, which must never be granted wholesale",
                    g.display()
                ));
            }
        }
        if winpath::may_be_beneath(root, &self.state) || winpath::may_be_beneath(&self.state, root)
        {
            return Some(format!(
                "it overlaps Paddock's state directory {}",
                self.state.display()
            ));
        }
        for s in &self.system {
            if winpath::may_be_beneath(root, s) || winpath::may_be_beneath(s, root) {
                return Some(format!(
                    "it is or may overlap the system folder {}",
                    s.display()
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_drive_profile_temp_and_system_roots() {
        let h = crate::testworld::host();
        for bad in [
            r"C:\",
            r"D:\",
            r"C:\Users",
            r"C:\Users\me",
            r"C:\Users\someone-else",
            r"C:\Users\me\AppData",
            r"C:\Users\me\AppData\Local\Temp",
            r"C:\Users\me\AppData\Local\paddock",
            r"C:\Users\me\AppData\Local\paddock\windows\tmp\run",
            r"C:\Windows",
            r"C:\Windows\System32",
            r"C:\Program Files\Git",
            r"C:\ProgramData",
            r"\\server\share",
            r"\\server\share\project",
            r"C:\PROGRA~1\Git",
            r"\\localhost\C$\Windows\Temp",
            "relative",
        ] {
            assert!(h.refusal(Path::new(bad)).is_some(), "{bad} accepted");
        }
    }

    #[test]
    fn accepts_project_folders_and_temp_subfolders() {
        let h = crate::testworld::host();
        for good in [
            r"C:\Users\me\src\repo",
            r"C:\Users\me\AppData\Local\Temp\build-1",
            r"D:\work",
            r"C:\Users\me\.cargo",
        ] {
            assert_eq!(h.refusal(Path::new(good)), None, "{good} refused");
        }
    }
}
