//! Security descriptors between SDDL text and the binary (self-relative) form Win32 takes: an
//! owned descriptor made from SDDL or handed out by the system, freed with `LocalFree` on drop,
//! printed back to SDDL, the owner and DACL inside it, and the one place a descriptor is written
//! to an object ([`write_security`]: by name, through a handle, or in place on one object).
//!
//! Guarantees: every pointer handed out points into the descriptor and lives as long as it; an
//! SDDL text with an interior NUL is refused, never cut short (which would drop ACEs); a write
//! sets only the parts its `info` names, and a DACL asked for but absent from the descriptor is
//! refused, never written as a NULL DACL (which grants everyone everything).

use crate::Win32Error;
use crate::wide::{take_local_pwstr, to_wide};
use std::ffi::OsStr;
use std::os::windows::io::{AsRawHandle, BorrowedHandle};
use windows_sys::Win32::Foundation::{ERROR_INVALID_SECURITY_DESCR, ERROR_SUCCESS, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetNamedSecurityInfoW, GetSecurityInfo,
    SDDL_REVISION_1, SE_OBJECT_TYPE, SetNamedSecurityInfoW, SetSecurityInfo,
};
use windows_sys::Win32::Security::{
    ACL, DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION, GetSecurityDescriptorDacl,
    GetSecurityDescriptorGroup, GetSecurityDescriptorLength, GetSecurityDescriptorOwner,
    OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, SetKernelObjectSecurity,
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

    /// The group SID inside the descriptor (null when it has none); valid while `self` lives.
    pub fn group_ptr(&self) -> Result<PSID, Win32Error> {
        let mut group: PSID = std::ptr::null_mut();
        let mut defaulted = 0;
        // SAFETY: `self.0` is a valid descriptor; the out-pointers are writable locals.
        if unsafe { GetSecurityDescriptorGroup(self.0, &mut group, &mut defaulted) } == 0 {
            return Err(Win32Error::last("GetSecurityDescriptorGroup"));
        }
        Ok(group)
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

/// The object a descriptor is written to, and so the call that writes it.
#[derive(Debug, Clone, Copy)]
pub enum SecurityTarget<'a> {
    /// The object `path` names (`SetNamedSecurityInfoW`; a file wants its `\\?\` path). On a
    /// folder Windows propagates a changed inheritable ACE to everything below it.
    Named {
        path: &'a OsStr,
        kind: SE_OBJECT_TYPE,
    },
    /// The object behind `handle`, opened with WRITE_DAC or WRITE_OWNER as `info` needs
    /// (`SetSecurityInfo`); propagates to children like `Named`.
    Handle {
        handle: BorrowedHandle<'a>,
        kind: SE_OBJECT_TYPE,
    },
    /// The object behind `handle` alone (`SetKernelObjectSecurity`): the descriptor is stored
    /// as given, control bits included, and no child is touched (no tree walk).
    InPlace { handle: BorrowedHandle<'a> },
}

/// Writes the parts of `sd` that `info` names (`OWNER_SECURITY_INFORMATION`,
/// `DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION`, ...) to `target`. The one
/// wrapper of the three Win32 calls that set a security descriptor. Errors name the call made.
pub fn write_security(
    target: SecurityTarget<'_>,
    sd: &SecurityDescriptor,
    info: u32,
) -> Result<(), Win32Error> {
    let (api, code) = match target {
        SecurityTarget::Named { path, kind } => {
            const API: &str = "SetNamedSecurityInfoW";
            let wide = to_wide(path).map_err(|e| e.for_api(API))?;
            let (owner, group, dacl) = parts(sd, info)?;
            // SAFETY: `wide` is NUL-terminated; owner, group and DACL are null (not asked for by
            // `info`) or point into `sd`, alive for the call; no SACL is passed.
            let code = unsafe {
                SetNamedSecurityInfoW(
                    wide.as_ptr(),
                    kind,
                    info,
                    owner,
                    group,
                    dacl,
                    std::ptr::null(),
                )
            };
            (API, code)
        }
        SecurityTarget::Handle { handle, kind } => {
            let (owner, group, dacl) = parts(sd, info)?;
            // SAFETY: `handle` is live for the call (a handle of another type than `kind` makes
            // the call fail, the kernel checks it); owner, group and DACL are null or point into
            // `sd`, alive for the call; no SACL is passed.
            let code = unsafe {
                SetSecurityInfo(
                    handle.as_raw_handle(),
                    kind,
                    info,
                    owner,
                    group,
                    dacl,
                    std::ptr::null(),
                )
            };
            ("SetSecurityInfo", code)
        }
        SecurityTarget::InPlace { handle } => {
            // SAFETY: `handle` is live for the call; `sd` is a valid descriptor alive for the
            // call, of which only the parts `info` names are read.
            let ok = unsafe { SetKernelObjectSecurity(handle.as_raw_handle(), info, sd.as_ptr()) };
            if ok == 0 {
                return Err(Win32Error::last("SetKernelObjectSecurity"));
            }
            return Ok(());
        }
    };
    if code != ERROR_SUCCESS {
        return Err(Win32Error::from_code(api, code));
    }
    Ok(())
}

/// The owner, group and DACL of `sd` that `info` asks for, null for the others; a DACL asked
/// for but absent is an error (a null pointer would be written as a NULL DACL).
fn parts(sd: &SecurityDescriptor, info: u32) -> Result<(PSID, PSID, *const ACL), Win32Error> {
    let wanted = |bit: u32| info & bit != 0;
    let owner = if wanted(OWNER_SECURITY_INFORMATION) {
        sd.owner_ptr()?
    } else {
        std::ptr::null_mut()
    };
    let group = if wanted(GROUP_SECURITY_INFORMATION) {
        sd.group_ptr()?
    } else {
        std::ptr::null_mut()
    };
    let dacl: *const ACL = if wanted(DACL_SECURITY_INFORMATION) {
        sd.dacl_ptr()?.ok_or_else(|| {
            Win32Error::new(
                "write_security",
                ERROR_INVALID_SECURITY_DESCR,
                "the descriptor holds no DACL to write; Paddock never writes a NULL DACL",
            )
        })?
    } else {
        std::ptr::null()
    };
    Ok((owner, group, dacl))
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
    use std::os::windows::io::{AsHandle, FromRawHandle};
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
    fn a_descriptor_without_dacl_is_never_written_as_a_null_dacl() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.txt");
        std::fs::write(&file, b"x").unwrap();
        let owner_only = SecurityDescriptor::from_sddl("O:SY").unwrap();
        let target = SecurityTarget::Named {
            path: file.as_os_str(),
            kind: windows_sys::Win32::Security::Authorization::SE_FILE_OBJECT,
        };
        let e = write_security(target, &owner_only, DACL_SECURITY_INFORMATION).unwrap_err();
        assert_eq!(e.api, "write_security", "{e}");
        let e = write_security(
            SecurityTarget::Named {
                path: OsStr::new("C:\\a\0b"),
                kind: windows_sys::Win32::Security::Authorization::SE_FILE_OBJECT,
            },
            &owner_only,
            OWNER_SECURITY_INFORMATION,
        )
        .unwrap_err();
        assert!(e.message.contains("NUL"), "{e}");
    }

    #[test]
    fn a_dacl_written_through_each_call_is_the_dacl_read_back() {
        use windows_sys::Win32::Security::Authorization::SE_KERNEL_OBJECT;
        use windows_sys::Win32::System::Threading::CreateEventW;
        // A kernel object keeps its DACL under Wine too (files there do not).
        // SAFETY: an unnamed event, no attributes; on success we own the handle.
        let raw = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
        assert!(!raw.is_null());
        // SAFETY: a valid handle owned by nobody else.
        let event = unsafe { std::os::windows::io::OwnedHandle::from_raw_handle(raw) };
        let info = DACL_SECURITY_INFORMATION;
        let aces = |sd: &SecurityDescriptor| {
            let text = sd.to_sddl(info).unwrap();
            text[text.find('(').unwrap_or(text.len())..].to_string()
        };
        for (sddl, target) in [
            (
                "D:(A;;0x1f0003;;;SY)(A;;0x100001;;;BA)",
                SecurityTarget::Handle {
                    handle: event.as_handle(),
                    kind: SE_KERNEL_OBJECT,
                },
            ),
            (
                "D:(A;;0x1f0003;;;SY)(A;;0x1f0003;;;BA)(A;;0x100001;;;BU)",
                SecurityTarget::InPlace {
                    handle: event.as_handle(),
                },
            ),
        ] {
            let wanted = SecurityDescriptor::from_sddl(sddl).unwrap();
            write_security(target, &wanted, info).unwrap();
            let read =
                SecurityDescriptor::of_handle(event.as_handle(), SE_KERNEL_OBJECT, info).unwrap();
            assert_eq!(aces(&read), aces(&wanted), "{target:?}");
        }
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
