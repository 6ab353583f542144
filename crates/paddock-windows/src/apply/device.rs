//! Grants on objects the sandboxed command must write to but cannot, because their DACLs name
//! Everyone or the logon session and not the run's restricting SIDs: the null device `\\.\NUL`
//! (every `> NUL`), the console (`CONOUT$`) and the caller's window station (which every process
//! connects to at start-up). Done through a handle (`GetSecurityInfo` / `SetSecurityInfo`), since
//! these are not files with a path-based descriptor.
//!
//! Guarantees: one explicit ACE is added to the object's current DACL (nothing else changes) and
//! read back; `DeviceGrant::revoke` (or drop) removes exactly that ACE. A device whose DACL the
//! caller may not change (WRITE_DAC denied, usual without administrator rights) is an error the
//! backend reports as a layer not applied, never a silent success. Device DACLs live in memory:
//! a grant left by a crash is gone at the next reboot, and the run SID it names is never reused.

use super::desktop::window_station_name;
use super::error::Win32Error;
use super::owned_acl::{ModelDacl, handle_dacl};
use super::wide::to_wide;
use crate::acl::{Ace, SecurityDescriptor};
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::{ERROR_SUCCESS, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Security::Authorization::{
    SE_FILE_OBJECT, SE_OBJECT_TYPE, SE_WINDOW_OBJECT, SetSecurityInfo,
};
use windows_sys::Win32::Security::DACL_SECURITY_INFORMATION;
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING, READ_CONTROL, WRITE_DAC,
};
use windows_sys::Win32::System::StationsAndDesktops::{
    CloseWindowStation, HWINSTA, OpenWindowStationW,
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

/// An open object whose DACL is edited.
#[derive(Debug)]
enum Object {
    Device(OwnedHandle),
    Station(HWINSTA),
}

impl Object {
    fn raw(&self) -> HANDLE {
        match self {
            Object::Device(h) => h.as_raw_handle(),
            Object::Station(h) => *h,
        }
    }

    fn kind(&self) -> SE_OBJECT_TYPE {
        match self {
            Object::Device(_) => SE_FILE_OBJECT,
            Object::Station(_) => SE_WINDOW_OBJECT,
        }
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        if let Object::Station(h) = self {
            // SAFETY: `h` came from OpenWindowStationW and is closed only here.
            unsafe { CloseWindowStation(*h) };
        }
    }
}

// SAFETY: both kinds are kernel handles usable from any thread, closed once on drop.
unsafe impl Send for Object {}

/// One ACE added to an object's DACL, removed again by `revoke` or on drop.
#[derive(Debug)]
pub struct DeviceGrant {
    device: String,
    handle: Object,
    ace: Ace,
    revoked: bool,
}

/// Rights on the window station for the run SID: enumerate, read and write attributes and use
/// global atoms, which process start-up may ask for; no clipboard, screen reading, desktop
/// creation or logoff.
pub const WINDOW_STATION_SANDBOX: u32 = 0x0001 | 0x0002 | 0x0010 | 0x0020 | 0x0100 | 0x0002_0000;

impl DeviceGrant {
    /// Adds `ace` to the DACL of `device` (`\\.\NUL`, `CONOUT$`).
    pub fn add(device: &str, ace: &Ace) -> Result<DeviceGrant, DeviceError> {
        DeviceGrant::add_to(device, Object::Device(open_for_dac(device)?), ace)
    }

    /// Adds `ace` to the DACL of the caller's window station (normally `WinSta0`).
    pub fn add_to_window_station(ace: &Ace) -> Result<DeviceGrant, DeviceError> {
        let name = window_station_name().map_err(|e| win32("window station", e))?;
        let name = name.as_str();
        let wide = to_wide(name).map_err(|e| DeviceError::Invalid {
            device: name.into(),
            reason: e.to_string(),
        })?;
        // SAFETY: `wide` is NUL-terminated; the handle is not inheritable and is closed by
        // `Object`'s drop with CloseWindowStation.
        let station = unsafe { OpenWindowStationW(wide.as_ptr(), 0, READ_CONTROL | WRITE_DAC) };
        if station.is_null() {
            return Err(win32(name, Win32Error::last("OpenWindowStationW")));
        }
        DeviceGrant::add_to(name, Object::Station(station), ace)
    }

    fn add_to(device: &str, handle: Object, ace: &Ace) -> Result<DeviceGrant, DeviceError> {
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

fn read(device: &str, handle: &Object) -> Result<SecurityDescriptor, DeviceError> {
    // SAFETY: `handle` is open (with READ_CONTROL) and of the kind it names while borrowed.
    let sd = unsafe { handle_dacl(handle.raw(), handle.kind()) }.map_err(|e| win32(device, e))?;
    sd.to_model().map_err(|e| DeviceError::Invalid {
        device: device.into(),
        reason: e.to_string(),
    })
}

fn write(device: &str, handle: &Object, sd: &SecurityDescriptor) -> Result<(), DeviceError> {
    let acl = sd.dacl.clone().unwrap_or_default();
    let dacl = ModelDacl::new(&acl, sd.protected).map_err(|e| DeviceError::Invalid {
        device: device.into(),
        reason: e.to_string(),
    })?;
    // SAFETY: `handle` is open with WRITE_DAC; `dacl` is a valid ACL alive for the call; only
    // the DACL is set.
    let code = unsafe {
        SetSecurityInfo(
            handle.raw(),
            handle.kind(),
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
