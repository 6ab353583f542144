//! `paddock scan-host` on Windows: reads the DACLs of the PATH directories, the system drive root's
//! children and the user's and common folders, and reports every one where Everyone, Users or
//! Authenticated Users can create, replace or re-permission files, with why it matters and the
//! `icacls` command that fixes it.
//!
//! Guarantees: the verdict comes from the pure access-check model (`access::access_check`) on the
//! descriptor as stored, per principal, never from guessing at ACE text; a folder whose DACL
//! cannot be read is listed as unreadable, never silently passed.

use super::acl::NtfsAclStore;
use super::shell::Env;
use crate::access::{TokenModel, access_check};
use crate::acl::SecurityDescriptor;
use crate::mask::AccessMask;
use crate::sid::Sid;
use crate::store::AclStore;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Rights on a directory that let someone plant or swap what others run or read there.
const PLANTING_RIGHTS: AccessMask = AccessMask(
    AccessMask::FILE_WRITE_DATA.0 // FILE_ADD_FILE on a directory
        | AccessMask::FILE_DELETE_CHILD.0
        | AccessMask::WRITE_DAC.0
        | AccessMask::WRITE_OWNER.0,
);

/// Why a folder is audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    /// A directory on the PATH.
    PathDir,
    /// A direct child of the system drive's root (legacy tool folders live there).
    DriveRootChild,
    /// One of the user's own folders (profile, Desktop, Documents, AppData, TEMP).
    UserFolder,
    /// A folder shared by all users (ProgramData, Public).
    CommonFolder,
}

impl Place {
    fn why(self) -> &'static str {
        match self {
            Place::PathDir => {
                "a directory on PATH that others can write lets any account, Paddock's sandbox \
                 accounts included, plant an executable that runs in place of the real one the \
                 next time you type its name"
            }
            Place::DriveRootChild => {
                "any local account, Paddock's sandbox accounts included, can leave or replace \
                 files here; tools installed here (Python, Git, build tools) then run code \
                 someone else wrote"
            }
            Place::UserFolder => {
                "your own folder is writable by other accounts, Paddock's sandbox accounts \
                 included: a sandboxed command could plant scripts, shortcuts or DLLs you later \
                 open"
            }
            Place::CommonFolder => {
                "a folder shared by all users is writable here; programs that load files from it \
                 run what any account, Paddock's sandbox accounts included, put there. Windows \
                 sets some of this by default (ProgramData): installers may rely on it, so test \
                 the fix on one folder first"
            }
        }
    }
}

/// One folder where a broad principal can plant files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostScanFinding {
    pub path: PathBuf,
    pub place: Place,
    /// `Everyone`, `Users` or `Authenticated Users`.
    pub principal: &'static str,
    pub sid: Sid,
    /// The planting rights the principal has (`FILE_WRITE_DATA`, ...).
    pub rights: Vec<&'static str>,
    /// True when the granting ACE is inherited from a parent folder.
    pub inherited: bool,
    pub why: &'static str,
    /// An `icacls` command that removes the write grant and keeps read and execute.
    pub fix: String,
}

/// A folder that could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    pub path: PathBuf,
    pub place: Place,
    pub reason: String,
}

/// Everything `paddock scan-host` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostScanReport {
    pub checked: usize,
    pub findings: Vec<HostScanFinding>,
    pub unreadable: Vec<Unreadable>,
}

/// The broad principals audited, with their display names.
fn principals() -> [(&'static str, Sid); 3] {
    [
        ("Everyone", Sid::everyone()),
        ("Users", Sid::builtin_users()),
        ("Authenticated Users", Sid::authenticated_users()),
    ]
}

/// Judges one folder's descriptor: a finding per broad principal that gets a planting right.
pub fn judge(path: &Path, place: Place, sd: &SecurityDescriptor) -> Vec<HostScanFinding> {
    let mut out = Vec::new();
    for (name, sid) in principals() {
        // A stranger who holds only this group: no owner rights, no other memberships.
        let stranger = Sid::new(5, &[21, 0, 0, 0, 0xFFFF_FFFE]).expect("a valid constant SID");
        let token = TokenModel::user(stranger, std::slice::from_ref(&sid));
        let decision = access_check(&token, sd, PLANTING_RIGHTS);
        if decision.granted.is_empty() {
            continue;
        }
        let inherited = decision
            .normal
            .deciders
            .iter()
            .any(|d| d.ace.is_inherited());
        out.push(HostScanFinding {
            path: path.to_path_buf(),
            place,
            principal: name,
            rights: decision.granted.names(),
            inherited,
            why: place.why(),
            fix: fix_command(path, &sid, inherited),
            sid,
        });
    }
    out
}

/// `icacls` steps that take the grant away from `sid` and give back read and execute.
fn fix_command(path: &Path, sid: &Sid, inherited: bool) -> String {
    let p = path.display();
    let regrant = format!("icacls \"{p}\" /remove:g *{sid} /grant *{sid}:(OI)(CI)RX");
    if inherited {
        format!("icacls \"{p}\" /inheritance:d && {regrant}")
    } else {
        regrant
    }
}

/// The folders to audit for a user whose environment is `env`.
pub fn targets(env: Env<'_>) -> Vec<(PathBuf, Place)> {
    let mut out: Vec<(PathBuf, Place)> = Vec::new();
    let mut push = |p: PathBuf, place: Place| {
        if p.is_absolute() && !out.iter().any(|(q, _)| crate::winpath::same(q, &p)) {
            out.push((p, place));
        }
    };
    if let Some(path) = env.get("PATH") {
        for dir in path.to_string_lossy().split(';') {
            let dir = dir.trim().trim_matches('"');
            if !dir.is_empty() {
                push(PathBuf::from(dir), Place::PathDir);
            }
        }
    }
    let drive = env
        .get("SystemDrive")
        .map_or("C:".into(), |d| d.to_string_lossy().into_owned());
    if let Ok(entries) = std::fs::read_dir(format!("{drive}\\")) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                push(e.path(), Place::DriveRootChild);
            }
        }
    }
    if let Some(profile) = env.get("USERPROFILE").map(PathBuf::from) {
        for sub in ["", "Desktop", "Documents", "Downloads"] {
            push(
                if sub.is_empty() {
                    profile.clone()
                } else {
                    profile.join(sub)
                },
                Place::UserFolder,
            );
        }
    }
    for var in ["APPDATA", "LOCALAPPDATA", "TEMP"] {
        if let Some(dir) = env.get(var) {
            push(PathBuf::from(dir), Place::UserFolder);
        }
    }
    for var in ["ProgramData", "PUBLIC"] {
        if let Some(dir) = env.get(var) {
            push(PathBuf::from(dir), Place::CommonFolder);
        }
    }
    out
}

/// Audits `targets` through `store`.
pub fn scan_host_with(store: &dyn AclStore, targets: &[(PathBuf, Place)]) -> HostScanReport {
    let mut report = HostScanReport::default();
    for (path, place) in targets {
        match store.read(path) {
            Ok(sd) => {
                report.checked += 1;
                report.findings.extend(judge(path, *place, &sd));
            }
            Err(crate::store::StoreError::NotFound { .. }) => {}
            Err(e) => report.unreadable.push(Unreadable {
                path: path.clone(),
                place: *place,
                reason: e.to_string(),
            }),
        }
    }
    report
}

/// `paddock scan-host` for the current user.
pub fn scan_host(env: Env<'_>) -> HostScanReport {
    scan_host_with(&NtfsAclStore::new(), &targets(env))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{Ace, AceFlags, Acl};

    fn sd(aces: Vec<Ace>) -> SecurityDescriptor {
        SecurityDescriptor {
            owner: Some(Sid::local_system()),
            group: None,
            dacl: Some(Acl::new(aces)),
            protected: false,
        }
    }

    #[test]
    fn folder_writable_by_authenticated_users_is_reported_with_fix() {
        let d = sd(vec![
            Ace::allow(
                Sid::local_system(),
                AccessMask::FILE_ALL_ACCESS,
                AceFlags::OICI,
            ),
            Ace::allow(
                Sid::authenticated_users(),
                AccessMask::MODIFY_WITHOUT_DELETE_CHILD,
                AceFlags::OICI,
            ),
        ]);
        let found = judge(Path::new(r"C:\Python27"), Place::DriveRootChild, &d);
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!(f.principal, "Authenticated Users");
        assert!(f.rights.contains(&"FILE_WRITE_DATA"), "{:?}", f.rights);
        assert!(!f.inherited);
        assert_eq!(
            f.fix,
            r#"icacls "C:\Python27" /remove:g *S-1-5-11 /grant *S-1-5-11:(OI)(CI)RX"#
        );
    }

    #[test]
    fn read_and_execute_for_everyone_is_not_a_finding() {
        let d = sd(vec![Ace::allow(
            Sid::everyone(),
            AccessMask::FILE_GENERIC_READ | AccessMask::FILE_GENERIC_EXECUTE,
            AceFlags::OICI,
        )]);
        assert!(judge(Path::new(r"C:\Tools"), Place::PathDir, &d).is_empty());
    }

    #[test]
    fn inherited_grant_fix_breaks_inheritance_first() {
        let inherited = AceFlags::OICI.union(AceFlags::INHERITED);
        let d = sd(vec![Ace::allow(
            Sid::builtin_users(),
            AccessMask::FILE_ALL_ACCESS,
            inherited,
        )]);
        let found = judge(Path::new(r"C:\Tools\bin"), Place::PathDir, &d);
        let f = found.iter().find(|f| f.principal == "Users").unwrap();
        assert!(f.inherited);
        assert!(
            f.fix
                .starts_with(r#"icacls "C:\Tools\bin" /inheritance:d && "#),
            "{}",
            f.fix
        );
        assert!(f.rights.contains(&"WRITE_DAC"));
    }

    #[test]
    fn deny_write_before_allow_clears_the_folder() {
        let d = sd(vec![
            Ace::deny(
                Sid::everyone(),
                AccessMask::FILE_WRITE_DATA
                    | AccessMask::FILE_DELETE_CHILD
                    | AccessMask::WRITE_DAC
                    | AccessMask::WRITE_OWNER,
                AceFlags::OICI,
            ),
            Ace::allow(Sid::everyone(), AccessMask::FILE_ALL_ACCESS, AceFlags::OICI),
        ]);
        assert!(
            judge(Path::new(r"C:\x"), Place::CommonFolder, &d)
                .iter()
                .all(|f| f.principal != "Everyone")
        );
    }

    #[test]
    fn null_dacl_is_writable_by_everyone() {
        let d = SecurityDescriptor {
            owner: None,
            group: None,
            dacl: None,
            protected: false,
        };
        let found = judge(Path::new(r"D:\share"), Place::PathDir, &d);
        assert_eq!(found.len(), 3);
    }

    #[test]
    fn targets_cover_path_profile_and_common_folders_once_each() {
        let env = vec![
            (
                std::ffi::OsString::from("Path"),
                std::ffi::OsString::from(r"C:\Tools;c:\tools\;;relative;C:\Bin"),
            ),
            (
                std::ffi::OsString::from("USERPROFILE"),
                std::ffi::OsString::from(r"C:\Users\me"),
            ),
            (
                std::ffi::OsString::from("ProgramData"),
                std::ffi::OsString::from(r"C:\ProgramData"),
            ),
            (
                std::ffi::OsString::from("SystemDrive"),
                std::ffi::OsString::from("Q:"),
            ),
        ];
        let t = targets(Env(&env));
        let paths: Vec<String> = t.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            paths
                .iter()
                .filter(
                    |p| p.eq_ignore_ascii_case(r"C:\Tools") || p.eq_ignore_ascii_case(r"c:\tools\")
                )
                .count(),
            1,
            "{paths:?}"
        );
        assert!(paths.contains(&r"C:\Bin".to_string()));
        assert!(!paths.iter().any(|p| p == "relative"));
        assert!(paths.contains(&r"C:\Users\me\Documents".to_string()));
        assert!(t.contains(&(PathBuf::from(r"C:\ProgramData"), Place::CommonFolder)));
    }
}
