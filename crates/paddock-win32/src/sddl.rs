//! Security descriptors between SDDL text and the binary (self-relative) form Win32 takes: an
//! owned descriptor made from SDDL or handed out by the system, freed with `LocalFree` on drop,
//! printed back to SDDL, and the owner and DACL inside it.
//!
//! Guarantees: every pointer handed out points into the descriptor and lives as long as it; an
//! SDDL text with an interior NUL is refused, never cut short (which would drop ACEs).

use crate::Win32Error;
use crate::wide::{take_local_pwstr, to_wide};
use std::ffi::OsStr;
use std::os::windows::io::{AsRawHandle, BorrowedHandle};
use windows_sys::Win32::Foundation::{ERROR_SUCCESS, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetNamedSecurityInfoW, GetSecurityInfo,
    SDDL_REVISION_1, SE_OBJECT_TYPE,
};
use windows_sys::Win32::Security::{
    ACL, GetSecurityDescriptorDacl, GetSecurityDescriptorLength, GetSecurityDescriptorOwner,
    PSECURITY_DESCRIPTOR, PSID,
};

/// A security descriptor the system allocated (`ConvertStringSecurityDescriptorTo...`,
/// `GetNamedSecurityInfoW`, `GetSecurityInfo`), freed on drop.
#[derive(Debug)]
pub struct SecurityDescriptor(PSECURITY_DESCRIPTOR);

// SAFETY: the descriptor is a block of memory owned by this value alone; LocalFree may be
// called from any thread.
unsafe impl Send for SecurityDescriptor {}

impl SecurityDescriptor {
    /// The self-relative descriptor `sddl` describes.
    pub fn from_sddl(sddl: &str) -> Result<SecurityDescriptor, Win32Error> {
        const API: &str = "ConvertStringSecurityDescriptorToSecurityDescriptorW";
        let text = to_wide(sddl).map_err(|e| e.for_api(API))?;
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `text` is NUL-terminated; on success `sd` receives a LocalAlloc'd descriptor
        // that this value owns.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                text.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(Win32Error::last(API));
        }
        Ok(SecurityDescriptor(sd))
    }

    /// The parts `info` names (`OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION`, ...)
    /// of the descriptor of the object `path` names (`GetNamedSecurityInfoW`; give a file a
    /// `\\?\` path to pass MAX_PATH).
    pub fn of_path(
        path: impl AsRef<OsStr>,
        kind: SE_OBJECT_TYPE,
        info: u32,
    ) -> Result<SecurityDescriptor, Win32Error> {
        const API: &str = "GetNamedSecurityInfoW";
        let wide = to_wide(path).map_err(|e| e.for_api(API))?;
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `wide` is NUL-terminated; the out-pointers for owner, group, DACL and SACL
        // may be null because we ask for the whole descriptor, which the system LocalAllocs
        // into `sd`.
        let code = unsafe {
            GetNamedSecurityInfoW(
                wide.as_ptr(),
                kind,
                info,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut sd,
            )
        };
        if code != ERROR_SUCCESS {
            return Err(Win32Error::from_code(API, code));
        }
        Ok(SecurityDescriptor(sd))
    }

    /// The parts `info` names of the descriptor of the object `handle` (opened with
    /// READ_CONTROL) of type `kind` (`GetSecurityInfo`).
    pub fn of_handle(
        handle: BorrowedHandle<'_>,
        kind: SE_OBJECT_TYPE,
        info: u32,
    ) -> Result<SecurityDescriptor, Win32Error> {
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `handle` is live for the call (a handle of another type than `kind` makes the
        // call fail, the kernel checks it); only the whole descriptor is requested, which the
        // system LocalAllocs into `sd`.
        let code = unsafe {
            GetSecurityInfo(
                handle.as_raw_handle(),
                kind,
                info,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut sd,
            )
        };
        if code != ERROR_SUCCESS {
            return Err(Win32Error::from_code("GetSecurityInfo", code));
        }
        Ok(SecurityDescriptor(sd))
    }

    /// Takes ownership of a descriptor the system allocated with `LocalAlloc`.
    ///
    /// # Safety
    /// `sd` must be a valid LocalAlloc'd security descriptor that nobody else frees.
    pub unsafe fn from_raw(sd: PSECURITY_DESCRIPTOR) -> SecurityDescriptor {
        SecurityDescriptor(sd)
    }

    /// The pointer to pass to Win32; valid while `self` lives.
    pub fn as_ptr(&self) -> PSECURITY_DESCRIPTOR {
        self.0
    }

    /// Its length in bytes (self-relative form).
    pub fn byte_len(&self) -> u32 {
        // SAFETY: `self.0` is a valid descriptor for the life of `self`.
        unsafe { GetSecurityDescriptorLength(self.0) }
    }

    /// The parts `info` names (`OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION`, ...)
    /// as SDDL.
    pub fn to_sddl(&self, info: u32) -> Result<String, Win32Error> {
        let mut text: *mut u16 = std::ptr::null_mut();
        // SAFETY: `self.0` is a valid descriptor; on success `text` receives a LocalAlloc'd
        // NUL-terminated string.
        let ok = unsafe {
            ConvertSecurityDescriptorToStringSecurityDescriptorW(
                self.0,
                SDDL_REVISION_1,
                info,
                &mut text,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(Win32Error::last(
                "ConvertSecurityDescriptorToStringSecurityDescriptorW",
            ));
        }
        // SAFETY: the conversion returned a LocalAlloc'd NUL-terminated string we own.
        Ok(unsafe { take_local_pwstr(text) })
    }

    /// The owner SID inside the descriptor (null when it has none); valid while `self` lives.
    pub fn owner_ptr(&self) -> Result<PSID, Win32Error> {
        let mut owner: PSID = std::ptr::null_mut();
        let mut defaulted = 0;
        // SAFETY: `self.0` is a valid descriptor; the out-pointers are writable locals.
        if unsafe { GetSecurityDescriptorOwner(self.0, &mut owner, &mut defaulted) } == 0 {
            return Err(Win32Error::last("GetSecurityDescriptorOwner"));
        }
        Ok(owner)
    }

    /// The DACL inside the descriptor: `None` when the descriptor holds none, a null pointer
    /// for a NULL DACL; valid while `self` lives.
    pub fn dacl_ptr(&self) -> Result<Option<*mut ACL>, Win32Error> {
        let (mut present, mut defaulted) = (0, 0);
        let mut dacl: *mut ACL = std::ptr::null_mut();
        // SAFETY: `self.0` is a valid descriptor; the out-pointers are writable locals.
        if unsafe { GetSecurityDescriptorDacl(self.0, &mut present, &mut dacl, &mut defaulted) }
            == 0
        {
            return Err(Win32Error::last("GetSecurityDescriptorDacl"));
        }
        Ok((present != 0).then_some(dacl))
    }
}

impl Drop for SecurityDescriptor {
    fn drop(&mut self) {
        // SAFETY: the descriptor was LocalAlloc'd by the system and is freed exactly once.
        unsafe { LocalFree(self.0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sid::sid_string;
    use std::os::windows::io::AsHandle;
    use windows_sys::Win32::Security::{DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION};

    #[test]
    fn sddl_round_trips_through_the_binary_form() {
        let sddl = "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(D;;FA;;;S-1-5-21-7-8-9-4242)";
        let sd = SecurityDescriptor::from_sddl(sddl).unwrap();
        let back = sd
            .to_sddl(OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION)
            .unwrap();
        assert_eq!(back, sddl);
        assert!(sd.byte_len() > 20);
        let owner = sd.owner_ptr().unwrap();
        // SAFETY: the owner points into `sd`, alive here.
        let owner = unsafe { sid_string(owner) }.unwrap();
        assert_eq!(owner, "S-1-5-32-544");
        assert!(sd.dacl_ptr().unwrap().is_some_and(|d| !d.is_null()));
    }

    #[test]
    fn a_file_descriptor_is_read_by_path_and_by_handle_alike() {
        use windows_sys::Win32::Security::Authorization::SE_FILE_OBJECT;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.txt");
        std::fs::write(&file, b"x").unwrap();
        let info = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
        let by_path = SecurityDescriptor::of_path(&file, SE_FILE_OBJECT, info).unwrap();
        let opened = std::fs::File::open(&file).unwrap();
        let by_handle =
            SecurityDescriptor::of_handle(opened.as_handle(), SE_FILE_OBJECT, info).unwrap();
        assert_eq!(
            by_path.to_sddl(info).unwrap(),
            by_handle.to_sddl(info).unwrap()
        );
        let missing = SecurityDescriptor::of_path(dir.path().join("nope"), SE_FILE_OBJECT, info);
        assert_eq!(missing.unwrap_err().api, "GetNamedSecurityInfoW");
    }

    #[test]
    fn a_descriptor_without_dacl_says_so() {
        let sd = SecurityDescriptor::from_sddl("O:SY").unwrap();
        assert_eq!(sd.dacl_ptr().unwrap(), None);
    }

    #[test]
    fn malformed_sddl_and_a_nul_cut_dacl_are_refused() {
        assert!(SecurityDescriptor::from_sddl("D:(A;;nonsense").is_err());
        // Cut at the NUL this would be a DACL without the deny ACE.
        let e = SecurityDescriptor::from_sddl("D:(A;;FA;;;WD)\0(D;;FA;;;WD)").unwrap_err();
        assert!(e.message.contains("NUL"), "{e}");
    }
}
