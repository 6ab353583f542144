//! ACLs in binary form, converted exactly from and to the pure model's `Acl` through SDDL (file
//! and device DACLs, the token's default DACL, the private desktop), and the system-allocated
//! security descriptors they live in, freed with `LocalFree` on drop.
//!
//! Guarantees: a model ACL is converted ACE for ACE in its given order, nothing merged, reordered
//! or dropped; what Windows cannot take is an error, never a partial ACL.

use super::error::Win32Error;
use super::wide::{read_pwstr, to_wide};
use crate::acl::{Acl, SecurityDescriptor};
use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl, InitializeSecurityDescriptor,
    PSECURITY_DESCRIPTOR, SECURITY_DESCRIPTOR, SetSecurityDescriptorDacl,
};
use windows_sys::Win32::System::SystemServices::SECURITY_DESCRIPTOR_REVISION;

/// A security descriptor the system allocated (`GetNamedSecurityInfoW`,
/// `ConvertStringSecurityDescriptorToSecurityDescriptorW`), freed on drop.
#[derive(Debug)]
pub struct RawSecurityDescriptor(PSECURITY_DESCRIPTOR);

impl RawSecurityDescriptor {
    /// Takes ownership of a descriptor the system allocated with `LocalAlloc`.
    ///
    /// # Safety
    /// `sd` must be a LocalAlloc'd security descriptor that nobody else frees.
    pub(crate) unsafe fn from_raw(sd: PSECURITY_DESCRIPTOR) -> RawSecurityDescriptor {
        RawSecurityDescriptor(sd)
    }

    /// The pointer to pass to Win32; valid while `self` lives.
    pub fn as_ptr(&self) -> PSECURITY_DESCRIPTOR {
        self.0
    }
}

impl RawSecurityDescriptor {
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
        // SAFETY: the conversion returned a NUL-terminated string.
        let sddl = unsafe { read_pwstr(text) };
        // SAFETY: `text` was LocalAlloc'd by the conversion and is freed once here.
        unsafe { LocalFree(text.cast()) };
        Ok(sddl)
    }
}

impl Drop for RawSecurityDescriptor {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the descriptor was LocalAlloc'd by the system and is freed only here.
            unsafe { LocalFree(self.0) };
        }
    }
}

/// A model `Acl` in binary form, inside the descriptor SDDL conversion produced.
#[derive(Debug)]
pub struct ModelDacl {
    /// Owns the memory `dacl` points into.
    sd: RawSecurityDescriptor,
    dacl: *mut ACL,
}

impl ModelDacl {
    /// Converts `acl` (its ACEs in order; `protected` adds SDDL's `P`, which only matters to
    /// the descriptor, not the ACL).
    pub fn new(acl: &Acl, protected: bool) -> Result<ModelDacl, ModelDaclError> {
        ModelDacl::with_control(acl, protected, false)
    }

    /// As `new`, and `auto_inherited` adds SDDL's `AI` (SE_DACL_AUTO_INHERITED), which a file
    /// whose inherited ACEs Windows computed carries; needed when a whole DACL, inherited ACEs
    /// included, is written back in place.
    pub fn with_control(
        acl: &Acl,
        protected: bool,
        auto_inherited: bool,
    ) -> Result<ModelDacl, ModelDaclError> {
        let control = match (protected, auto_inherited) {
            (true, true) => "D:PAI",
            (true, false) => "D:P",
            (false, true) => "D:AI",
            (false, false) => "D:",
        };
        let sddl: String = std::iter::once(control.to_string())
            .chain(acl.aces.iter().map(|a| a.to_sddl()))
            .collect();
        let wide = to_wide(&sddl).map_err(|_| ModelDaclError::Nul { sddl: sddl.clone() })?;
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `wide` is NUL-terminated; on success `sd` receives a LocalAlloc'd descriptor.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                wide.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            let source = Win32Error::last("ConvertStringSecurityDescriptorToSecurityDescriptorW");
            return Err(ModelDaclError::Convert { sddl, source });
        }
        // SAFETY: `sd` was LocalAlloc'd by the conversion and is owned by nobody else.
        let sd = unsafe { RawSecurityDescriptor::from_raw(sd) };
        let mut present = 0;
        let mut defaulted = 0;
        let mut dacl: *mut ACL = std::ptr::null_mut();
        // SAFETY: `sd` is a valid descriptor and the out-pointers are valid locals; `dacl`
        // points into `sd`, which this value keeps alive.
        if unsafe {
            GetSecurityDescriptorDacl(sd.as_ptr(), &mut present, &mut dacl, &mut defaulted)
        } == 0
        {
            let source = Win32Error::last("GetSecurityDescriptorDacl");
            return Err(ModelDaclError::Convert { sddl, source });
        }
        Ok(ModelDacl { sd, dacl })
    }

    /// The whole (self-relative) descriptor holding the ACL; valid while `self` lives.
    pub fn descriptor(&self) -> PSECURITY_DESCRIPTOR {
        self.sd.as_ptr()
    }

    /// The ACL pointer; valid while `self` lives.
    pub fn as_ptr(&self) -> *mut ACL {
        self.dacl
    }
}

/// A model ACL that Windows would not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelDaclError {
    #[error("the ACL `{sddl}` contains a NUL character")]
    Nul { sddl: String },
    #[error("Windows rejected the ACL `{sddl}`: {source}")]
    Convert { sddl: String, source: Win32Error },
    #[error("the ACL `{sddl}` Windows returned cannot be read: {reason}")]
    Parse { sddl: String, reason: String },
}

/// Reads a binary ACL the system handed out (e.g. a token's default DACL) into the model.
///
/// # Safety
/// `acl` must point at a valid ACL that stays alive for the duration of the call.
pub(crate) unsafe fn acl_to_model(acl: *const ACL) -> Result<Acl, ModelDaclError> {
    let convert = |source| ModelDaclError::Convert {
        sddl: String::new(),
        source,
    };
    // SAFETY: an all-zero SECURITY_DESCRIPTOR is a valid buffer for InitializeSecurityDescriptor.
    let mut sd: SECURITY_DESCRIPTOR = unsafe { std::mem::zeroed() };
    let psd: PSECURITY_DESCRIPTOR = (&raw mut sd).cast();
    // SAFETY: `psd` points at a writable SECURITY_DESCRIPTOR on our stack.
    if unsafe { InitializeSecurityDescriptor(psd, SECURITY_DESCRIPTOR_REVISION) } == 0 {
        return Err(convert(Win32Error::last("InitializeSecurityDescriptor")));
    }
    // SAFETY: `psd` is initialised; `acl` is valid for the call (caller's contract) and is only
    // referenced, not copied, by the absolute descriptor, which dies before this function returns.
    if unsafe { SetSecurityDescriptorDacl(psd, 1, acl, 0) } == 0 {
        return Err(convert(Win32Error::last("SetSecurityDescriptorDacl")));
    }
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: `psd` is a valid absolute descriptor; on success `text` is a LocalAlloc'd string.
    let ok = unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            psd,
            SDDL_REVISION_1,
            DACL_SECURITY_INFORMATION,
            &mut text,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(convert(Win32Error::last(
            "ConvertSecurityDescriptorToStringSecurityDescriptorW",
        )));
    }
    // SAFETY: the conversion returned a NUL-terminated string.
    let sddl = unsafe { read_pwstr(text) };
    // SAFETY: `text` was LocalAlloc'd by the conversion and is freed once here.
    unsafe { LocalFree(text.cast()) };
    match SecurityDescriptor::parse(&sddl) {
        Ok(parsed) => Ok(parsed.dacl.unwrap_or_default()),
        Err(e) => Err(ModelDaclError::Parse {
            sddl,
            reason: e.to_string(),
        }),
    }
}
