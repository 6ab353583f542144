//! Paddock's machine-wide folder `%ProgramData%\Paddock`: the setup record, the installed
//! fence spec, and the DPAPI-sealed passwords in `secrets\`.
//!
//! Guarantees: `secure` gives a folder Administrators as owner and a protected DACL (SYSTEM and
//! Administrators full control, plus what the caller adds), so a standard user who pre-created
//! the folder loses control of it; files are replaced atomically (write then rename); a secret
//! is written to a file this call creates (`CREATE_NEW`) with its descriptor given at creation,
//! never to a file someone else made, so no pre-created file's owner or ACL survives.

use super::ffi::{SddlDescriptor, from_win32};
use crate::errors::SystemError;
use paddock_windows::apply::error::Win32Error;
use paddock_windows::sid::Sid;
use std::os::windows::io::{FromRawHandle, OwnedHandle};
use std::path::{Path, PathBuf};
use windows_sys::Win32::Foundation::{GENERIC_WRITE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Security::Authorization::{SE_FILE_OBJECT, SetNamedSecurityInfoW};
use windows_sys::Win32::Security::{
    ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl, GetSecurityDescriptorOwner,
    OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION, PSID, SECURITY_ATTRIBUTES,
};
use windows_sys::Win32::Storage::FileSystem::{
    CREATE_NEW, CreateFileW, FILE_ATTRIBUTE_NORMAL, MOVEFILE_REPLACE_EXISTING,
    MOVEFILE_WRITE_THROUGH, MoveFileExW,
};

/// `%ProgramData%\Paddock`.
pub fn root() -> PathBuf {
    let base = std::env::var_os("ProgramData")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"));
    base.join("Paddock")
}

pub fn record_path() -> PathBuf {
    root().join("setup.json")
}

pub fn fence_path() -> PathBuf {
    root().join("fence.json")
}

pub fn secret_path(account: &str) -> PathBuf {
    root().join("secrets").join(format!("{account}.bin"))
}

fn io_err(api: &'static str, path: &Path, e: std::io::Error) -> SystemError {
    SystemError::new(
        api,
        e.raw_os_error().unwrap_or(0) as u32,
        format!("{}: {e}", path.display()),
    )
}

/// Creates `dir` (and parents) and sets its owner and protected DACL: SYSTEM and
/// Administrators full control, `readers` read and execute, inherited by everything inside.
pub fn secure(dir: &Path, readers: &[Sid]) -> Result<(), SystemError> {
    let mut sddl = String::from("O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)");
    for r in readers {
        sddl.push_str(&format!("(A;OICI;FRFX;;;{r})"));
    }
    secure_with(dir, &sddl)
}

/// Creates `dir` (and parents) and sets the owner and protected DACL of `sddl` on it.
pub fn secure_with(dir: &Path, sddl: &str) -> Result<(), SystemError> {
    std::fs::create_dir_all(dir).map_err(|e| io_err("CreateDirectoryW", dir, e))?;
    let sd = SddlDescriptor::new(sddl)?;
    let (mut present, mut defaulted) = (0, 0);
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut owner: PSID = std::ptr::null_mut();
    // SAFETY: `sd` is valid; the out-pointers are locals; `dacl` and `owner` point into `sd`,
    // which outlives their use below.
    let ok = unsafe {
        GetSecurityDescriptorDacl(sd.as_ptr(), &mut present, &mut dacl, &mut defaulted) != 0
            && GetSecurityDescriptorOwner(sd.as_ptr(), &mut owner, &mut defaulted) != 0
    };
    if !ok {
        return Err(from_win32(Win32Error::last("GetSecurityDescriptorDacl")));
    }
    let path = paddock_windows::apply::wide::to_wide(dir)
        .map_err(|e| SystemError::new("SetNamedSecurityInfoW", 0, e.to_string()))?;
    // SAFETY: `path` is NUL-terminated; `owner` and `dacl` point into the live `sd`.
    let rc = unsafe {
        SetNamedSecurityInfoW(
            path.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION
                | DACL_SECURITY_INFORMATION
                | PROTECTED_DACL_SECURITY_INFORMATION,
            owner,
            std::ptr::null_mut(),
            dacl,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(super::ffi::sys_err("SetNamedSecurityInfoW", rc));
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SystemError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| io_err("WriteFile", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err("MoveFileExW", path, e))
}

/// Writes `bytes` to a file created new with the descriptor `sddl` (owner and protected DACL
/// set by the kernel at creation), then moves it over `path`. A leftover temporary file is
/// deleted first, and `CREATE_NEW` fails rather than open one that reappeared, so the bytes
/// never land in a file whose owner or ACL someone else chose.
pub fn write_new_with_descriptor(path: &Path, bytes: &[u8], sddl: &str) -> Result<(), SystemError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    remove_optional(&tmp)?;
    let sd = SddlDescriptor::new(sddl)?;
    let sa = SECURITY_ATTRIBUTES {
        nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd.as_ptr(),
        bInheritHandle: 0,
    };
    let to_wide = |p: &Path| {
        paddock_windows::apply::wide::to_wide(p)
            .map_err(|e| SystemError::new("CreateFileW", 0, e.to_string()))
    };
    let wtmp = to_wide(&tmp)?;
    // SAFETY: `wtmp` is NUL-terminated; `sa` points at the live descriptor `sd`; no template.
    let h = unsafe {
        CreateFileW(
            wtmp.as_ptr(),
            GENERIC_WRITE,
            0,
            &sa,
            CREATE_NEW,
            FILE_ATTRIBUTE_NORMAL,
            std::ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(from_win32(Win32Error::last("CreateFileW")));
    }
    // SAFETY: `h` is a valid file handle this call owns.
    let mut file = std::fs::File::from(unsafe { OwnedHandle::from_raw_handle(h) });
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = remove_optional(&tmp);
        return Err(io_err("WriteFile", &tmp, e));
    }
    let wpath = to_wide(path)?;
    // SAFETY: both paths are NUL-terminated.
    let ok = unsafe {
        MoveFileExW(
            wtmp.as_ptr(),
            wpath.as_ptr(),
            MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH,
        )
    };
    if ok == 0 {
        let e = from_win32(Win32Error::last("MoveFileExW"));
        let _ = remove_optional(&tmp);
        return Err(e);
    }
    Ok(())
}

/// Reads `path`, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, SystemError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("ReadFile", path, e)),
    }
}

/// Deletes `path`; absent is fine.
pub fn remove_optional(path: &Path) -> Result<(), SystemError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("DeleteFileW", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup_plan::secret_store_descriptor;
    use paddock_windows::apply::acl::NtfsAclStore;
    use paddock_windows::store::AclStore;

    #[test]
    fn a_secret_never_lands_in_a_planted_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("PaddockOffline.bin");
        let tmp = path.with_extension("tmp");
        // The planted temporary file is a hard link to a file its planter keeps: writing into
        // it in place would hand them the secret through the other link.
        let kept = dir.path().join("planter-keeps.txt");
        std::fs::write(&kept, b"planted by someone else").unwrap();
        std::fs::hard_link(&kept, &tmp).unwrap();
        std::fs::write(&path, b"old secret").unwrap();
        let brokers = Sid::parse("S-1-5-21-7-8-9-4242").unwrap();
        let sddl = secret_store_descriptor(&brokers, false).to_sddl();
        write_new_with_descriptor(&path, b"new secret", &sddl).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new secret");
        assert!(!tmp.exists(), "the temporary file is gone after the move");
        assert_eq!(
            std::fs::read(&kept).unwrap(),
            b"planted by someone else",
            "the secret went into the planted file"
        );
        let found = NtfsAclStore::new().read(&path).unwrap();
        let wanted = secret_store_descriptor(&brokers, false);
        if found.dacl != wanted.dacl {
            assert!(
                paddock_windows::apply::wine::running_under_wine(),
                "the secret file's DACL is {} instead of {}",
                found.to_sddl(),
                wanted.to_sddl()
            );
            println!(
                "SKIPPED: Wine does not keep the descriptor given at creation ({})",
                found.to_sddl()
            );
        }
    }
}
