//! Grants on device objects the sandboxed command must write to but cannot, because their DACLs
//! name Everyone and not the run's restricting SIDs: the null device `\\.\NUL` (every `> NUL`),
//! and the console (`CONOUT$`). Done through a handle (`GetSecurityInfo` / `SetSecurityInfo`),
//! since these are not files with a path-based descriptor.
//!
//! Guarantees: one explicit ACE is added to the object's current DACL (nothing else changes) and
//! read back; `DeviceGrant::revoke` (or drop) removes exactly that ACE. A device whose DACL the
//! caller may not change (WRITE_DAC denied, usual without administrator rights) is an error the
//! backend reports as a layer not applied, never a silent success. Device DACLs live in memory:
//! a grant left by a crash is gone at the next reboot, and the run SID it names is never reused.

use super::error::Win32Error;
use super::owned_acl::{ModelDacl, RawSecurityDescriptor};
use super::wide::to_wide;
use crate::acl::{Ace, SecurityDescriptor};
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::{ERROR_SUCCESS, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Security::Authorization::{
    GetSecurityInfo, SE_FILE_OBJECT, SetSecurityInfo,
};
use windows_sys::Win32::Security::{DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING, READ_CONTROL, WRITE_DAC,
};

/// Why a device grant could not be made or proven.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{device}: {source}")]
    Win32 { device: String, source: Win32Error },
    #[error("{device}: its DACL cannot be read or written as a model ACL: {reason}")]
    Invalid { device: String, reason: String },
    #[error("{device}: the ACE was accepted but is not in the DACL read back")]
    NotStored { device: String },
}

/// One ACE added to a device's DACL, removed again by `revoke` or on drop.
#[derive(Debug)]
pub struct DeviceGrant {
    device: String,
    handle: OwnedHandle,
    ace: Ace,
    revoked: bool,
}

impl DeviceGrant {
    /// Adds `ace` to the DACL of `device` (`\\.\NUL`, `CONOUT$`).
    pub fn add(device: &str, ace: &Ace) -> Result<DeviceGrant, DeviceError> {
        let handle = open_for_dac(device)?;
        let mut sd = read(device, &handle)?;
        let Some(acl) = sd.dacl.as_mut() else {
            return Err(DeviceError::Invalid {
                device: device.into(),
                reason: "it has a NULL DACL, which already grants everyone; nothing to add".into(),
            });
        };
        acl.insert_explicit(ace.clone());
        write(device, &handle, &sd)?;
        let stored = read(device, &handle)?;
        if !stored.dacl.is_some_and(|d| d.aces.contains(ace)) {
            return Err(DeviceError::NotStored {
                device: device.into(),
            });
        }
        Ok(DeviceGrant {
            device: device.into(),
            handle,
            ace: ace.clone(),
            revoked: false,
        })
    }

    /// The device this grant is on.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Removes the ACE again.
    pub fn revoke(mut self) -> Result<(), DeviceError> {
        self.revoked = true;
        self.remove()
    }

    fn remove(&self) -> Result<(), DeviceError> {
        let mut sd = read(&self.device, &self.handle)?;
        if let Some(acl) = sd.dacl.as_mut()
            && acl.remove_explicit(&self.ace)
        {
            write(&self.device, &self.handle, &sd)?;
        }
        Ok(())
    }
}

impl Drop for DeviceGrant {
    fn drop(&mut self) {
        if !self.revoked {
            // Best effort on an error path; the ACE names a run SID nobody will hold again.
            let _ = self.remove();
        }
    }
}

fn win32(device: &str, source: Win32Error) -> DeviceError {
    DeviceError::Win32 {
        device: device.into(),
        source,
    }
}

fn open_for_dac(device: &str) -> Result<OwnedHandle, DeviceError> {
    let wide = to_wide(device).map_err(|e| DeviceError::Invalid {
        device: device.into(),
        reason: e.to_string(),
    })?;
    // SAFETY: `wide` is NUL-terminated; no security attributes or template; on success we own
    // the returned handle.
    let handle = unsafe {
        CreateFileW(
            wide.as_ptr(),
            READ_CONTROL | WRITE_DAC,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            std::ptr::null(),
            OPEN_EXISTING,
            0,
            std::ptr::null_mut(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        return Err(win32(device, Win32Error::last("CreateFileW")));
    }
    // SAFETY: `handle` is a valid handle owned by nobody else.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle) })
}

fn read(device: &str, handle: &OwnedHandle) -> Result<SecurityDescriptor, DeviceError> {
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `handle` was opened with READ_CONTROL; only the whole descriptor is requested, which
    // the system LocalAllocs into `sd`.
    let code = unsafe {
        GetSecurityInfo(
            handle.as_raw_handle(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if code != ERROR_SUCCESS {
        return Err(win32(
            device,
            Win32Error::from_code("GetSecurityInfo", code),
        ));
    }
    // SAFETY: `sd` was LocalAlloc'd by GetSecurityInfo and is owned by nobody else.
    let sd = unsafe { RawSecurityDescriptor::from_raw(sd) };
    let sddl = sd
        .to_sddl(DACL_SECURITY_INFORMATION)
        .map_err(|e| win32(device, e))?;
    SecurityDescriptor::parse(&sddl).map_err(|e| DeviceError::Invalid {
        device: device.into(),
        reason: format!("{e} (SDDL `{sddl}`)"),
    })
}

fn write(device: &str, handle: &OwnedHandle, sd: &SecurityDescriptor) -> Result<(), DeviceError> {
    let acl = sd.dacl.clone().unwrap_or_default();
    let dacl = ModelDacl::new(&acl, sd.protected).map_err(|e| DeviceError::Invalid {
        device: device.into(),
        reason: e.to_string(),
    })?;
    // SAFETY: `handle` was opened with WRITE_DAC; `dacl` is a valid ACL alive for the call; only
    // the DACL is set.
    let code = unsafe {
        SetSecurityInfo(
            handle.as_raw_handle(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            dacl.as_ptr(),
            std::ptr::null(),
        )
    };
    if code != ERROR_SUCCESS {
        return Err(win32(
            device,
            Win32Error::from_code("SetSecurityInfo", code),
        ));
    }
    Ok(())
}
