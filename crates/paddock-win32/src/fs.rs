//! Atomic file replacement: the bytes go to a temporary file this call creates new beside the
//! target (optionally with a security descriptor the kernel sets at creation), are flushed to
//! disk (`FlushFileBuffers`), and the file is moved over the target with
//! `MoveFileExW(MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)`.
//!
//! Guarantees: a reader sees the old content or the new, never a mix or a truncated file, also
//! after a power cut; the bytes never land in a file someone else made (a leftover temporary is
//! deleted first and `CREATE_NEW` fails rather than open one that reappeared, so a planted hard
//! link or a pre-set ACL cannot catch them); no temporary file is left behind, on success or
//! failure; paths go to Win32 as UTF-16 without a lossy detour.

use crate::Win32Error;
use crate::handle::owned;
use crate::sddl::SecurityDescriptor;
use crate::wide::to_wide;
use std::ffi::OsStr;
use std::os::windows::io::AsRawHandle;
use std::os::windows::io::OwnedHandle;
use std::path::{Path, PathBuf};
use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND, GENERIC_WRITE};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::Storage::FileSystem::{
    CREATE_NEW, CreateFileW, DeleteFileW, FILE_ATTRIBUTE_NORMAL, FILE_FLAG_BACKUP_SEMANTICS,
    FILE_FLAG_OPEN_REPARSE_POINT, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
    FlushFileBuffers, MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH, MoveFileExW,
    OPEN_EXISTING, WriteFile,
};

/// Opens the file or folder `path` itself with `access` (`READ_CONTROL | WRITE_DAC`, ...): a
/// symlink or junction at `path` is opened as such, never followed; folders open too
/// (`FILE_FLAG_BACKUP_SEMANTICS`); other openers are not locked out.
pub fn open_no_follow(path: impl AsRef<OsStr>, access: u32) -> Result<OwnedHandle, Win32Error> {
    let wide = to_wide(path).map_err(|e| e.for_api("CreateFileW"))?;
    // SAFETY: `wide` is NUL-terminated; no security attributes or template; a reparse point at
    // `path` is opened itself, not followed; the result is owned right after the call.
    unsafe {
        owned(
            CreateFileW(
                wide.as_ptr(),
                access,
                FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                std::ptr::null(),
                OPEN_EXISTING,
                FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT,
                std::ptr::null_mut(),
            ),
            "CreateFileW",
        )
    }
}

/// A file operation that failed, with the path it failed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {source}", .path.display())]
pub struct FileError {
    pub path: PathBuf,
    #[source]
    pub source: Win32Error,
}

/// The temporary file `write_atomically` uses for `path`: `path` with the extension `tmp`.
pub fn temporary_for(path: &Path) -> PathBuf {
    path.with_extension("tmp")
}

/// Replaces `path` with `bytes` atomically and durably; with `descriptor`, the new file gets
/// that owner and DACL from its creation on.
pub fn write_atomically(
    path: &Path,
    bytes: &[u8],
    descriptor: Option<&SecurityDescriptor>,
) -> Result<(), FileError> {
    let tmp = temporary_for(path);
    let fail = |p: &Path, source: Win32Error| FileError {
        path: p.to_path_buf(),
        source,
    };
    let wtmp = to_wide(&tmp).map_err(|e| fail(&tmp, e.for_api("CreateFileW")))?;
    let wpath = to_wide(path).map_err(|e| fail(path, e.for_api("MoveFileExW")))?;
    delete_if_present(&wtmp).map_err(|e| fail(&tmp, e))?;
    let sa = descriptor.map(|sd| SECURITY_ATTRIBUTES {
        nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd.as_ptr(),
        bInheritHandle: 0,
    });
    let sa_ptr = sa.as_ref().map_or(std::ptr::null(), |s| s as *const _);
    // SAFETY: `wtmp` is NUL-terminated; `sa_ptr` is null or points at `sa`, whose descriptor
    // (`descriptor`) outlives the call; no template.
    let h = unsafe {
        CreateFileW(
            wtmp.as_ptr(),
            GENERIC_WRITE,
            0,
            sa_ptr,
            CREATE_NEW,
            FILE_ATTRIBUTE_NORMAL,
            std::ptr::null_mut(),
        )
    };
    // SAFETY: `h` was just returned by CreateFileW and is owned by no one else.
    let file = unsafe { owned(h, "CreateFileW") }.map_err(|e| fail(&tmp, e))?;
    let written = write_all(&file, bytes).and_then(|()| {
        // SAFETY: a live file handle opened for writing.
        if unsafe { FlushFileBuffers(file.as_raw_handle()) } == 0 {
            return Err(Win32Error::last("FlushFileBuffers"));
        }
        Ok(())
    });
    drop(file);
    if let Err(e) = written {
        let _ = delete_if_present(&wtmp);
        return Err(fail(&tmp, e));
    }
    // SAFETY: both paths are NUL-terminated.
    let ok = unsafe {
        MoveFileExW(
            wtmp.as_ptr(),
            wpath.as_ptr(),
            MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH,
        )
    };
    if ok == 0 {
        let e = Win32Error::last("MoveFileExW");
        let _ = delete_if_present(&wtmp);
        return Err(fail(path, e));
    }
    Ok(())
}

fn write_all(file: &OwnedHandle, mut bytes: &[u8]) -> Result<(), Win32Error> {
    while !bytes.is_empty() {
        let chunk = bytes.len().min(u32::MAX as usize) as u32;
        let mut done = 0u32;
        // SAFETY: `bytes` holds at least `chunk` readable bytes; `done` is writable; no overlap.
        let ok = unsafe {
            WriteFile(
                file.as_raw_handle(),
                bytes.as_ptr(),
                chunk,
                &mut done,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(Win32Error::last("WriteFile"));
        }
        bytes = &bytes[done as usize..];
    }
    Ok(())
}

fn delete_if_present(wide_path: &[u16]) -> Result<(), Win32Error> {
    // SAFETY: `wide_path` is NUL-terminated.
    if unsafe { DeleteFileW(wide_path.as_ptr()) } == 0 {
        let e = Win32Error::last("DeleteFileW");
        if e.code != ERROR_FILE_NOT_FOUND && e.code != ERROR_PATH_NOT_FOUND {
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        std::fs::write(&path, b"old").unwrap();
        write_atomically(&path, b"new content", None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new content");
        assert!(
            !temporary_for(&path).exists(),
            "the temporary file is left behind"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("record.json")]);
    }

    #[test]
    fn a_planted_temporary_file_never_receives_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.bin");
        let kept = dir.path().join("planter-keeps.txt");
        std::fs::File::create(&kept)
            .unwrap()
            .write_all(b"planted")
            .unwrap();
        std::fs::hard_link(&kept, temporary_for(&path)).unwrap();
        write_atomically(&path, b"secret", None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
        assert_eq!(std::fs::read(&kept).unwrap(), b"planted");
        assert!(!temporary_for(&path).exists());
    }

    #[test]
    fn open_no_follow_opens_files_and_folders_and_reports_a_missing_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        const READ_CONTROL: u32 = 0x0002_0000;
        assert!(open_no_follow(&file, READ_CONTROL).is_ok());
        assert!(open_no_follow(dir.path(), READ_CONTROL).is_ok());
        let e = open_no_follow(dir.path().join("missing"), READ_CONTROL).unwrap_err();
        assert_eq!(e.code, ERROR_FILE_NOT_FOUND);
    }

    #[test]
    fn a_failed_write_names_the_path_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("x.json");
        let e = write_atomically(&path, b"x", None).unwrap_err();
        assert_eq!(e.source.api, "CreateFileW");
        assert!(e.to_string().contains("missing-dir"), "{e}");
        assert!(!path.exists());
    }
}
