//! Grants on objects the sandboxed command must write to but cannot, because their DACLs name
//! Everyone or the logon session and not the run's restricting SIDs: the null device `\\.\NUL`
//! (every `> NUL`), the console (`CONOUT$`) and the caller's window station (which every process
//! connects to at start-up). Done through a handle (`GetSecurityInfo` / `SetSecurityInfo`), since
//! these are not files with a path-based descriptor.
//!
//! Guarantees: one explicit ACE is added to the object's current DACL (nothing else changes) and
//! read back; `DeviceGrant::revoke` (or drop) removes exactly that ACE. Every read-modify-write
//! holds the machine-wide mutex `Global\paddock-device-dacl-edit` (bounded wait), so concurrent
//! runs never write back a DACL without each other's ACE (`shared_dacl`). A device whose DACL the
//! caller may not change (WRITE_DAC denied, usual without administrator rights) is an error the
//! backend reports as a layer not applied, never a silent success. Device DACLs live in memory:
//! a grant left by a crash is gone at the next reboot, and the run SID it names is never reused.

use super::desktop::window_station_name;
use super::owned_acl::{DescriptorModel, ModelDacl, RawSecurityDescriptor};
use crate::acl::{Ace, AceFlags, Acl, SecurityDescriptor};
use crate::mask::AccessMask;
use crate::shared_dacl::{DaclObject, EditError, EditLock, add_ace, remove_ace};
use crate::sid::Sid;
use paddock_win32::Win32Error;
use paddock_win32::sddl::{SecurityTarget, write_security};
use paddock_win32::wide::to_wide;
use std::os::windows::io::{AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Foundation::{
    HANDLE, INVALID_HANDLE_VALUE, WAIT_ABANDONED, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Security::Authorization::{
    SE_FILE_OBJECT, SE_OBJECT_TYPE, SE_WINDOW_OBJECT,
};
use windows_sys::Win32::Security::DACL_SECURITY_INFORMATION;
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING, READ_CONTROL, WRITE_DAC,
};
use windows_sys::Win32::System::StationsAndDesktops::{
    CloseWindowStation, HWINSTA, OpenWindowStationW,
};
use windows_sys::Win32::System::Threading::{CreateMutexExW, ReleaseMutex, WaitForSingleObject};

/// Why a device grant could not be made or proven.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{device}: {source}")]
    Win32 { device: String, source: Win32Error },
    #[error("{device}: its DACL cannot be read or written as a model ACL: {reason}")]
    Invalid { device: String, reason: String },
    #[error("{device}: the ACE was accepted but is not in the DACL read back")]
    NotStored { device: String },
    #[error(
        "{device}: cannot take the lock `{LOCK_NAME}` that serialises device DACL edits: {source}; \
         another Paddock run holds it, retry when it has started"
    )]
    Lock { device: String, source: Win32Error },
}

/// The machine-wide mutex every Paddock process holds while it edits a shared device DACL.
pub const LOCK_NAME: &str = r"Global\paddock-device-dacl-edit";

/// How long an edit waits for another run's edit to finish.
const LOCK_WAIT_MS: u32 = 10_000;

/// `MUTANT_QUERY_STATE | SYNCHRONIZE`: enough to wait on and release the mutex.
const MUTEX_USE: u32 = 0x0001 | 0x0010_0000;

/// The named mutex, opened (or created, usable by every signed-in user and by SYSTEM) per edit.
struct DeviceLock;

/// The mutex, held; released and closed on drop.
struct HeldLock(OwnedHandle);

impl Drop for HeldLock {
    fn drop(&mut self) {
        // SAFETY: the mutex is owned by this thread (acquired in `DeviceLock::acquire`).
        unsafe { ReleaseMutex(self.0.as_raw_handle()) };
    }
}

impl EditLock for DeviceLock {
    type Guard = HeldLock;
    type Error = Win32Error;

    fn acquire(&self) -> Result<HeldLock, Win32Error> {
        let everyone_may_wait = Acl::new(vec![
            Ace::allow(
                Sid::authenticated_users(),
                AccessMask(MUTEX_USE),
                AceFlags::NONE,
            ),
            Ace::allow(Sid::local_system(), AccessMask(0x1f0001), AceFlags::NONE),
        ]);
        let dacl = ModelDacl::new(&everyone_may_wait, true).map_err(|e| Win32Error {
            api: "ConvertStringSecurityDescriptorToSecurityDescriptorW",
            code: 0,
            message: e.to_string(),
        })?;
        let attributes = SECURITY_ATTRIBUTES {
            nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: dacl.descriptor().as_ptr(),
            bInheritHandle: 0,
        };
        let name = to_wide(LOCK_NAME).expect("constant has no NUL");
        // SAFETY: `attributes` and its descriptor live for the call; `name` is NUL-terminated;
        // the mutex is created not owned; on success we own the handle.
        let raw = unsafe { CreateMutexExW(&attributes, name.as_ptr(), 0, MUTEX_USE) };
        if raw.is_null() {
            return Err(Win32Error::last("CreateMutexExW"));
        }
        // SAFETY: a valid handle owned by nobody else.
        let mutex = unsafe { OwnedHandle::from_raw_handle(raw) };
        // SAFETY: `mutex` is a live handle opened with SYNCHRONIZE.
        match unsafe { WaitForSingleObject(mutex.as_raw_handle(), LOCK_WAIT_MS) } {
            // An abandoned mutex (its holder died mid-edit) is ours now; the DACL is re-read.
            WAIT_OBJECT_0 | WAIT_ABANDONED => Ok(HeldLock(mutex)),
            WAIT_TIMEOUT => Err(Win32Error::from_code("WaitForSingleObject", WAIT_TIMEOUT)),
            _ => Err(Win32Error::last("WaitForSingleObject")),
        }
    }
}

/// One object's DACL, as `shared_dacl` edits it.
struct Editable<'a> {
    device: &'a str,
    handle: &'a Object,
}

impl DaclObject for Editable<'_> {
    type Error = DeviceError;
    fn read(&self) -> Result<SecurityDescriptor, DeviceError> {
        read(self.device, self.handle)
    }
    fn write(&self, sd: &SecurityDescriptor) -> Result<(), DeviceError> {
        write(self.device, self.handle, sd)
    }
}

fn edit_error(device: &str, e: EditError<DeviceError, Win32Error>) -> DeviceError {
    match e {
        EditError::Object(e) => e,
        EditError::Lock(source) => DeviceError::Lock {
            device: device.into(),
            source,
        },
        EditError::NullDacl => DeviceError::Invalid {
            device: device.into(),
            reason: "it has a NULL DACL, which already grants everyone; nothing to add".into(),
        },
        EditError::NotStored => DeviceError::NotStored {
            device: device.into(),
        },
    }
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

    /// The handle, borrowed for one Win32 call.
    fn borrowed(&self) -> BorrowedHandle<'_> {
        // SAFETY: both kinds hold an open handle that is closed only when `self` drops, which
        // the borrow cannot outlive.
        unsafe { BorrowedHandle::borrow_raw(self.raw()) }
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
        let object = Editable {
            device,
            handle: &handle,
        };
        add_ace(&object, &DeviceLock, ace).map_err(|e| edit_error(device, e))?;
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
        let object = Editable {
            device: &self.device,
            handle: &self.handle,
        };
        remove_ace(&object, &DeviceLock, &self.ace).map_err(|e| edit_error(&self.device, e))
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
    let sd = RawSecurityDescriptor::of_handle(
        handle.borrowed(),
        handle.kind(),
        DACL_SECURITY_INFORMATION,
    )
    .map_err(|e| win32(device, e))?;
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
    // Only the DACL is set.
    let target = SecurityTarget::Handle {
        handle: handle.borrowed(),
        kind: handle.kind(),
    };
    write_security(target, dacl.descriptor(), DACL_SECURITY_INFORMATION)
        .map_err(|e| win32(device, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn the_named_mutex_admits_one_editor_at_a_time() {
        let inside = Arc::new(AtomicU32::new(0));
        let overlap = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (inside, overlap) = (Arc::clone(&inside), Arc::clone(&overlap));
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        let _held = DeviceLock.acquire().unwrap();
                        if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                            overlap.fetch_add(1, Ordering::SeqCst);
                        }
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(overlap.load(Ordering::SeqCst), 0);
    }
}
