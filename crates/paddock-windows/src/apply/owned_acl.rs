//! ACLs in binary form, converted exactly from and to the pure model's `Acl` (file and device
//! DACLs, the token's default DACL, the private desktop), and the system-allocated security
//! descriptors they live in, freed with `LocalFree` on drop.
//!
//! Guarantees: a model ACL is written through SDDL with hex masks and full SIDs (which Windows
//! parses exactly) and read back by walking the binary ACL (`acl_binary`), never by parsing the
//! text Windows prints; converted ACE for ACE in its given order, nothing merged, reordered or
//! dropped; what cannot be represented is an error, never a partial ACL.

use crate::acl::{Acl, SecurityDescriptor};
use crate::acl_binary::{acl_from_bytes, acl_size, sid_from_bytes};
use crate::sid::Sid;
use paddock_win32::Win32Error;
pub use paddock_win32::sddl::SecurityDescriptor as RawSecurityDescriptor;
use windows_sys::Win32::Security::{
    ACL, DACL_SECURITY_INFORMATION, GetLengthSid, GetSecurityDescriptorControl,
    GetSecurityDescriptorDacl, GetSecurityDescriptorGroup, GetSecurityDescriptorOwner, IsValidAcl,
    IsValidSid, PSID, SE_DACL_PROTECTED,
};

/// The model's view of a system-allocated descriptor ([`RawSecurityDescriptor`], from
/// paddock-win32): its owner and its owner, group and DACL as model values.
pub trait DescriptorModel {
    /// The owner, when the descriptor holds one (read with OWNER_SECURITY_INFORMATION).
    fn owner(&self) -> Result<Option<Sid>, ModelDaclError>;
    /// Owner, group (when the descriptor holds them), DACL and its protection, read from the
    /// binary descriptor. A descriptor without a DACL is an error (ask for
    /// DACL_SECURITY_INFORMATION); a NULL DACL is `dacl: None`.
    fn to_model(&self) -> Result<SecurityDescriptor, ModelDaclError>;
}

impl DescriptorModel for RawSecurityDescriptor {
    fn owner(&self) -> Result<Option<Sid>, ModelDaclError> {
        let owner = self.owner_ptr().map_err(|source| ModelDaclError::Convert {
            sddl: String::new(),
            source,
        })?;
        // SAFETY: `owner` is null or points into `self`, alive for the call.
        unsafe { sid_to_model(owner) }
    }

    fn to_model(&self) -> Result<SecurityDescriptor, ModelDaclError> {
        let win = |source| ModelDaclError::Convert {
            sddl: String::new(),
            source,
        };
        let sd = self.as_ptr();
        let mut control: u16 = 0;
        let mut revision: u32 = 0;
        // SAFETY: `sd` is a valid descriptor; both out-pointers are writable locals.
        if unsafe { GetSecurityDescriptorControl(sd, &mut control, &mut revision) } == 0 {
            return Err(win(Win32Error::last("GetSecurityDescriptorControl")));
        }
        let mut owner: PSID = std::ptr::null_mut();
        let mut group: PSID = std::ptr::null_mut();
        let mut defaulted = 0;
        // SAFETY: as above; the returned SIDs point into `self`, alive during the reads below.
        if unsafe { GetSecurityDescriptorOwner(sd, &mut owner, &mut defaulted) } == 0 {
            return Err(win(Win32Error::last("GetSecurityDescriptorOwner")));
        }
        // SAFETY: as above.
        if unsafe { GetSecurityDescriptorGroup(sd, &mut group, &mut defaulted) } == 0 {
            return Err(win(Win32Error::last("GetSecurityDescriptorGroup")));
        }
        let mut present = 0;
        let mut dacl: *mut ACL = std::ptr::null_mut();
        // SAFETY: as above; `dacl` points into `self`.
        if unsafe { GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted) } == 0 {
            return Err(win(Win32Error::last("GetSecurityDescriptorDacl")));
        }
        if present == 0 {
            return Err(ModelDaclError::Binary {
                reason: "the descriptor holds no DACL; read it with DACL_SECURITY_INFORMATION"
                    .into(),
            });
        }
        // SAFETY: owner, group and DACL are null or point into `self`, which outlives the calls.
        let (owner, group, dacl) = unsafe {
            (
                sid_to_model(owner)?,
                sid_to_model(group)?,
                if dacl.is_null() {
                    None
                } else {
                    Some(acl_to_model(dacl)?)
                },
            )
        };
        Ok(SecurityDescriptor {
            owner,
            group,
            dacl,
            protected: control & SE_DACL_PROTECTED != 0,
        })
    }
}

/// Reads a binary SID (null: none) into the model.
///
/// # Safety
/// `psid` must be null or point at memory holding a SID, alive for the call.
unsafe fn sid_to_model(psid: PSID) -> Result<Option<Sid>, ModelDaclError> {
    if psid.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller guarantees `psid` points at readable SID memory.
    if unsafe { IsValidSid(psid) } == 0 {
        return Err(ModelDaclError::Binary {
            reason: "the descriptor holds an invalid SID".into(),
        });
    }
    // SAFETY: a valid SID; its length covers exactly the bytes read below.
    let bytes =
        unsafe { std::slice::from_raw_parts(psid.cast::<u8>(), GetLengthSid(psid) as usize) };
    let (sid, _) = sid_from_bytes(bytes).map_err(|e| ModelDaclError::Binary {
        reason: e.to_string(),
    })?;
    Ok(Some(sid))
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
        if sddl.contains('\0') {
            return Err(ModelDaclError::Nul { sddl });
        }
        let sd = match RawSecurityDescriptor::from_sddl(&sddl) {
            Ok(sd) => sd,
            Err(source) => return Err(ModelDaclError::Convert { sddl, source }),
        };
        let dacl = match sd.dacl_ptr() {
            Ok(dacl) => dacl.unwrap_or(std::ptr::null_mut()),
            Err(source) => return Err(ModelDaclError::Convert { sddl, source }),
        };
        Ok(ModelDacl { sd, dacl })
    }

    /// The whole (self-relative) descriptor holding the ACL, to write with
    /// `paddock_win32::sddl::write_security`.
    pub fn descriptor(&self) -> &RawSecurityDescriptor {
        &self.sd
    }

    /// The descriptor as Windows prints it in SDDL (`ConvertSecurityDescriptorToString...`).
    pub fn to_sddl(&self) -> Result<String, Win32Error> {
        self.sd.to_sddl(DACL_SECURITY_INFORMATION)
    }

    /// The ACL as Windows built it, walked back into the model.
    pub fn to_model(&self) -> Result<Acl, ModelDaclError> {
        if self.dacl.is_null() {
            return Ok(Acl::default());
        }
        // SAFETY: `self.dacl` points into `self.sd`, alive for the call.
        unsafe { acl_to_model(self.dacl) }
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
    #[error("the ACL Windows returned cannot be read: {reason}")]
    Binary { reason: String },
}

/// Reads a binary ACL the system handed out (a token's default DACL, a descriptor's DACL) into
/// the model by walking its ACEs.
///
/// # Safety
/// `acl` must point at a valid ACL that stays alive for the duration of the call.
pub(crate) unsafe fn acl_to_model(acl: *const ACL) -> Result<Acl, ModelDaclError> {
    // SAFETY: the caller guarantees `acl` points at a readable ACL.
    if unsafe { IsValidAcl(acl) } == 0 {
        return Err(ModelDaclError::Binary {
            reason: "IsValidAcl rejected the ACL".into(),
        });
    }
    // SAFETY: a valid ACL starts with its 8-byte header.
    let header: [u8; 8] = unsafe { std::ptr::read_unaligned(acl.cast::<[u8; 8]>()) };
    // SAFETY: a valid ACL is `AclSize` bytes long, all readable while it is alive.
    let bytes = unsafe { std::slice::from_raw_parts(acl.cast::<u8>(), acl_size(&header)) };
    acl_from_bytes(bytes).map_err(|e| ModelDaclError::Binary {
        reason: e.to_string(),
    })
}
