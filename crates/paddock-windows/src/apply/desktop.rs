//! A private desktop for one sandboxed run, so the command cannot read, hook or drive the
//! windows on the user's desktop (and a `Start-Process https://...` opens nothing the user sees).
//!
//! Guarantees: the desktop has a fresh random name (128 bits from the OS CSPRNG), lives on the
//! caller's window station, grants access only to the user, SYSTEM and the run's restricting SIDs
//! (no hooks or journal rights for the latter), and is closed when the value drops.

use super::owned_acl::{ModelDacl, ModelDaclError};
use super::sid::current_user_sid;
use crate::acl::{Ace, AceFlags, Acl};
use crate::mask::AccessMask;
use crate::sid::Sid;
use paddock_win32::Win32Error;
use paddock_win32::sddl::{SecurityTarget, write_security};
use paddock_win32::wide::{to_wide, until_nul};
use std::os::windows::io::BorrowedHandle;
use windows_sys::Win32::Security::Authorization::SE_WINDOW_OBJECT;
use windows_sys::Win32::Security::DACL_SECURITY_INFORMATION;
use windows_sys::Win32::System::StationsAndDesktops::{
    CloseDesktop, CreateDesktopW, DESKTOP_CREATEMENU, DESKTOP_CREATEWINDOW, DESKTOP_DELETE,
    DESKTOP_ENUMERATE, DESKTOP_HOOKCONTROL, DESKTOP_JOURNALPLAYBACK, DESKTOP_JOURNALRECORD,
    DESKTOP_READ_CONTROL, DESKTOP_READOBJECTS, DESKTOP_SWITCHDESKTOP, DESKTOP_WRITE_DAC,
    DESKTOP_WRITE_OWNER, DESKTOP_WRITEOBJECTS, GetProcessWindowStation, GetUserObjectInformationW,
    HDESK, UOI_NAME,
};

/// Every desktop right: what the creating user keeps.
const DESKTOP_ALL: u32 = DESKTOP_READOBJECTS
    | DESKTOP_CREATEWINDOW
    | DESKTOP_CREATEMENU
    | DESKTOP_HOOKCONTROL
    | DESKTOP_JOURNALRECORD
    | DESKTOP_JOURNALPLAYBACK
    | DESKTOP_ENUMERATE
    | DESKTOP_WRITEOBJECTS
    | DESKTOP_SWITCHDESKTOP
    | DESKTOP_DELETE
    | DESKTOP_READ_CONTROL
    | DESKTOP_WRITE_DAC
    | DESKTOP_WRITE_OWNER;

/// What a sandboxed process needs to start and run console or GUI code on its own desktop.
/// Windows counts create-window and write-objects as writes, so the restricting SIDs need them.
const DESKTOP_SANDBOX: u32 = DESKTOP_READOBJECTS
    | DESKTOP_CREATEWINDOW
    | DESKTOP_CREATEMENU
    | DESKTOP_ENUMERATE
    | DESKTOP_WRITEOBJECTS
    | DESKTOP_READ_CONTROL;

/// Why the private desktop could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    #[error(transparent)]
    Win32(#[from] Win32Error),
    #[error("the OS random generator failed ({0}); Paddock will not name a desktop predictably")]
    Random(String),
    #[error("the desktop's DACL cannot be built: {0}")]
    Dacl(#[from] ModelDaclError),
}

/// A desktop created for one run; closed on drop.
#[derive(Debug)]
pub struct PrivateDesktop {
    handle: HDESK,
    name: String,
    station: String,
}

// SAFETY: a desktop handle is a kernel handle usable from any thread; CloseDesktop is called once.
unsafe impl Send for PrivateDesktop {}

impl PrivateDesktop {
    /// Creates the desktop and grants it to the user, SYSTEM and `restricting`.
    pub fn create(restricting: &[Sid]) -> Result<PrivateDesktop, DesktopError> {
        let station = window_station_name()?;
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| DesktopError::Random(e.to_string()))?;
        let name = format!("paddock-{}", u128::from_le_bytes(random));
        let wide = to_wide(&name).expect("a formatted name has no NUL");
        // SAFETY: `wide` is NUL-terminated; no device or mode (both must be null); default
        // security, replaced below; on success we own the returned handle.
        let handle = unsafe {
            CreateDesktopW(
                wide.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                0,
                DESKTOP_ALL,
                std::ptr::null(),
            )
        };
        if handle.is_null() {
            return Err(Win32Error::last("CreateDesktopW").into());
        }
        let desktop = PrivateDesktop {
            handle,
            name,
            station,
        };
        desktop.restrict_access(restricting)?;
        Ok(desktop)
    }

    /// The name for `STARTUPINFO.lpDesktop`: `<window station>\<desktop>`.
    pub fn startup_name(&self) -> String {
        format!("{}\\{}", self.station, self.name)
    }

    fn restrict_access(&self, restricting: &[Sid]) -> Result<(), DesktopError> {
        let all = AccessMask(DESKTOP_ALL);
        let mut aces = vec![
            Ace::allow(current_user_sid()?, all, AceFlags::NONE),
            Ace::allow(Sid::local_system(), all, AceFlags::NONE),
        ];
        aces.extend(
            restricting
                .iter()
                .map(|sid| Ace::allow(sid.clone(), AccessMask(DESKTOP_SANDBOX), AceFlags::NONE)),
        );
        let acl = ModelDacl::new(&Acl::new(aces), true)?;
        // SAFETY: `self.handle` is an open desktop (created with WRITE_DAC), closed only when
        // `self` drops, which the borrow cannot outlive.
        let handle = unsafe { BorrowedHandle::borrow_raw(self.handle) };
        // Only the DACL is set.
        let target = SecurityTarget::Handle {
            handle,
            kind: SE_WINDOW_OBJECT,
        };
        write_security(target, acl.descriptor(), DACL_SECURITY_INFORMATION)?;
        Ok(())
    }
}

impl Drop for PrivateDesktop {
    fn drop(&mut self) {
        // SAFETY: `self.handle` came from CreateDesktopW and is closed only here. A desktop
        // still used by a process stays alive until that process ends; closing is then harmless.
        unsafe { CloseDesktop(self.handle) };
    }
}

/// The name of the caller's window station (normally `WinSta0`).
pub(crate) fn window_station_name() -> Result<String, Win32Error> {
    // SAFETY: returns the process's window-station handle, which must not be closed.
    let station = unsafe { GetProcessWindowStation() };
    if station.is_null() {
        return Err(Win32Error::last("GetProcessWindowStation"));
    }
    let mut buffer = [0u16; 256];
    let mut needed = 0u32;
    // SAFETY: `buffer` is writable for its full size in bytes, which we pass.
    let ok = unsafe {
        GetUserObjectInformationW(
            station,
            UOI_NAME,
            buffer.as_mut_ptr().cast(),
            size_of_val(&buffer) as u32,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(Win32Error::last("GetUserObjectInformationW(UOI_NAME)"));
    }
    Ok(String::from_utf16_lossy(until_nul(&buffer)))
}
