//! Paddock's machine-wide folder `%ProgramData%\Paddock`: the setup record, the installed
//! fence spec, and the DPAPI-sealed passwords in `secrets\`.
//!
//! Guarantees: `secure` gives a folder Administrators as owner and a protected DACL (SYSTEM and
//! Administrators full control, plus what the caller adds), so a standard user who pre-created
//! the folder loses control of it; every file is replaced atomically and durably through a
//! temporary file this call creates (`CREATE_NEW`), flushed to disk and moved with write-through
//! (paddock_win32::fs), never through a file someone else made; a secret's file gets its
//! descriptor at creation, so no pre-created file's owner or ACL survives.

use crate::errors::SystemError;
use paddock_win32::fs::{FileError, write_atomically};
use paddock_win32::sddl::{SecurityDescriptor, SecurityTarget, write_security};
use paddock_windows::sid::Sid;
use std::path::{Path, PathBuf};
use windows_sys::Win32::Security::Authorization::SE_FILE_OBJECT;
use windows_sys::Win32::Security::{
    DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION,
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
    let sd = SecurityDescriptor::from_sddl(sddl)?;
    let target = SecurityTarget::Named {
        path: dir.as_os_str(),
        kind: SE_FILE_OBJECT,
    };
    let info = OWNER_SECURITY_INFORMATION
        | DACL_SECURITY_INFORMATION
        | PROTECTED_DACL_SECURITY_INFORMATION;
    write_security(target, &sd, info)?;
    Ok(())
}

fn file_err(e: FileError) -> SystemError {
    SystemError::new(
        e.source.api,
        e.source.code,
        format!("{}: {}", e.path.display(), e.source.message),
    )
}

/// Replaces `path` with `bytes` atomically and durably (paddock_win32::fs::write_atomically:
/// a new temporary file, flushed, moved over `path` with write-through).
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), SystemError> {
    write_atomically(path, bytes, None).map_err(file_err)
}

/// As `replace_file`, the new file created with the descriptor `sddl` (owner and protected
/// DACL set by the kernel at creation), so the bytes never land in a file whose owner or ACL
/// someone else chose.
pub fn write_new_with_descriptor(path: &Path, bytes: &[u8], sddl: &str) -> Result<(), SystemError> {
    let sd = SecurityDescriptor::from_sddl(sddl)?;
    write_atomically(path, bytes, Some(&sd)).map_err(file_err)
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
            // Not a skip: everything above was checked; only the DACL, which Wine does not
            // keep, is left to real Windows (where the assertion above holds).
            println!(
                "under Wine the descriptor given at creation is not kept ({})",
                found.to_sddl()
            );
        }
    }
}
