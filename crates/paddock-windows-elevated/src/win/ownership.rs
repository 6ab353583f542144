//! Giving a folder the sandbox created back to the real user (owner), so that the user's own
//! git does not refuse a repository a sandboxed `git init` made ("dubious ownership").
//!
//! Guarantees: only an object owned by one of the given sandbox accounts changes owner, and
//! only its owner (never its DACL); a missing path is left alone; a path that is, or passes
//! through, a symlink or junction is refused, never followed (as the ACL store refuses them):
//! the object is opened without following a reparse point, checked through that handle, and
//! its owner read and written through the same handle; paths stay UTF-16 end to end.

use crate::errors::SystemError;
use paddock_win32::Win32Error;
use paddock_win32::fs;
use paddock_win32::sddl::{SecurityDescriptor, SecurityTarget, write_security};
use paddock_windows::apply::owned_acl::{DescriptorModel, RawSecurityDescriptor};
use paddock_windows::sid::Sid;
use std::os::windows::io::{AsHandle, AsRawHandle, OwnedHandle};
use std::path::Path;
use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND};
use windows_sys::Win32::Security::Authorization::SE_FILE_OBJECT;
use windows_sys::Win32::Security::OWNER_SECURITY_INFORMATION;
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, FILE_ATTRIBUTE_REPARSE_POINT, GetFileInformationByHandle,
    READ_CONTROL, WRITE_OWNER,
};

fn link_error(path: &Path, link: &Path) -> SystemError {
    SystemError::new(
        "reown",
        0,
        format!(
            "{} is a symlink or junction; Paddock does not change owners through links \
             (leaving {} as it is)",
            link.display(),
            path.display()
        ),
    )
}

/// Opens `path` itself (not what a link there points at) for reading and changing its owner.
/// `None` when it does not exist; an error when it or a folder above it is a link.
fn open_no_follow(path: &Path) -> Result<Option<OwnedHandle>, SystemError> {
    for ancestor in path.ancestors() {
        match std::fs::symlink_metadata(ancestor) {
            Ok(m) if m.file_type().is_symlink() => return Err(link_error(path, ancestor)),
            _ => {}
        }
    }
    let file = match fs::open_no_follow(path, READ_CONTROL | WRITE_OWNER) {
        Ok(file) => file,
        Err(e) if e.code == ERROR_FILE_NOT_FOUND || e.code == ERROR_PATH_NOT_FOUND => {
            return Ok(None);
        }
        Err(e) => return Err(SystemError::from(e)),
    };
    // SAFETY: an all-zero BY_HANDLE_FILE_INFORMATION is a valid out-parameter.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: `file` is open; `info` is writable.
    if unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut info) } == 0 {
        return Err(SystemError::from(Win32Error::last(
            "GetFileInformationByHandle",
        )));
    }
    if info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        return Err(link_error(path, path));
    }
    Ok(Some(file))
}

fn owner_of(file: &OwnedHandle) -> Result<Sid, SystemError> {
    let sd = RawSecurityDescriptor::of_handle(
        file.as_handle(),
        SE_FILE_OBJECT,
        OWNER_SECURITY_INFORMATION,
    )?;
    sd.owner()
        .map_err(|e| SystemError::new("GetSecurityDescriptorOwner", 0, e.to_string()))?
        .ok_or_else(|| SystemError::new("GetSecurityInfo", 0, "the object has no owner"))
}

/// Makes `user` the owner of `path` when one of `sandbox` owns it. Returns true if it changed.
pub fn reown_if_sandbox_owned(
    path: &Path,
    user: &Sid,
    sandbox: &[Sid],
) -> Result<bool, SystemError> {
    let Some(file) = open_no_follow(path)? else {
        return Ok(false);
    };
    if !sandbox.contains(&owner_of(&file)?) {
        return Ok(false);
    }
    let owner = SecurityDescriptor::from_sddl(&format!("O:{user}"))?;
    // Only the owner is set, through the handle checked above.
    let target = SecurityTarget::Handle {
        handle: file.as_handle(),
        kind: SE_FILE_OBJECT,
    };
    write_security(target, &owner, OWNER_SECURITY_INFORMATION)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_windows::apply::sid::current_user_sid;

    #[test]
    fn a_folder_not_owned_by_a_sandbox_account_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let me = current_user_sid().unwrap();
        let stranger = Sid::parse("S-1-5-21-7-7-7-1010").unwrap();
        match reown_if_sandbox_owned(dir.path(), &me, std::slice::from_ref(&stranger)) {
            Ok(changed) => assert!(!changed),
            Err(e) => paddock_core::testing::skip(&format!("owner not readable here ({e})")),
        }
        assert!(!reown_if_sandbox_owned(&dir.path().join("missing"), &me, &[stranger]).unwrap());
    }

    #[test]
    #[ignore = "real Windows only: Wine does not report the links it makes, so this cannot fail there"]
    fn a_path_through_a_junction_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::create_dir(&target).unwrap();
        std::fs::create_dir(target.join("repo")).unwrap();
        let link = dir.path().join("link");
        let made = std::process::Command::new("cmd")
            .args(["/c", "mklink", "/J"])
            .arg(&link)
            .arg(&target)
            .output()
            .unwrap();
        assert!(made.status.success(), "mklink /J failed: {made:?}");
        let me = current_user_sid().unwrap();
        for path in [link.clone(), link.join("repo")] {
            let err = reown_if_sandbox_owned(&path, &me, std::slice::from_ref(&me)).unwrap_err();
            assert!(err.to_string().contains("symlink or junction"), "{err}");
        }
        assert!(
            reown_if_sandbox_owned(&target.join("repo"), &me, std::slice::from_ref(&me)).is_ok()
        );
    }
}
