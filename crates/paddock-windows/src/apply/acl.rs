//! `AclStore` for real files: reads a security descriptor in binary form (walking its ACEs, no
//! SDDL text in between) into the pure model, edits only the explicit ACEs in the model, and writes back just the DACL.
//!
//! Guarantees: owner, group and SACL are never written; when an inheritable ACE changes, an
//! unprotected DACL is written as its explicit ACEs only, so Windows recomputes the inherited part
//! from the parent and propagates to children exactly as `SetNamedSecurityInfoW` documents; when
//! only non-inheritable ACEs change (per-run denies on a root), the DACL is written in place on
//! that one object (`SetKernelObjectSecurity`), so no tree is walked; a call that changes nothing
//! writes nothing; every write is read back and a DACL that did not stick is an error (file
//! systems without ACLs, Wine); a path that is or passes through a link (symlink, junction) is
//! refused rather than followed, and nothing is created below a link; a NULL DACL is refused
//! rather than made restrictive; every path is used in its `\\?\` form, so long paths work.

use super::long_path::{strip_verbatim, verbatim};
use super::owned_acl::{DescriptorModel, ModelDacl, RawSecurityDescriptor};
use crate::acl::{Ace, AceFlags, Acl, SecurityDescriptor};
use crate::journal::ProcessStamp;
use crate::store::{AclStore, EntryKind, StoreError};
use paddock_win32::Win32Error;
use paddock_win32::fs::open_no_follow;
use paddock_win32::sddl::{SecurityTarget, write_security};
use std::os::windows::io::AsHandle;
use std::path::{Path, PathBuf};
use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND};
use windows_sys::Win32::Security::Authorization::SE_FILE_OBJECT;
use windows_sys::Win32::Security::{
    DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, UNPROTECTED_DACL_SECURITY_INFORMATION,
};
use windows_sys::Win32::Storage::FileSystem::{READ_CONTROL, WRITE_DAC};

/// The NTFS (and ReFS, SMB) implementation of `AclStore`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NtfsAclStore;

impl NtfsAclStore {
    pub fn new() -> NtfsAclStore {
        NtfsAclStore
    }

    /// Applies `edit` to the DACL of `path` and writes it back when it changed.
    fn edit(&self, path: &Path, edit: impl FnOnce(&mut Acl)) -> Result<(), StoreError> {
        refuse_links(path)?;
        let current = self.read(path)?;
        let Some(mut acl) = current.dacl.clone() else {
            return Err(StoreError::Invalid {
                path: path.to_path_buf(),
                reason: "it has a NULL DACL (everyone has full access); adding an entry would \
                         lock everyone else out. Give it a real DACL first (icacls /reset)"
                    .into(),
            });
        };
        edit(&mut acl);
        if Some(&acl) == current.dacl.as_ref() {
            return Ok(());
        }
        // Changing only non-inheritable entries leaves every child as it is, so the DACL is
        // written in place without the tree walk SetNamedSecurityInfoW would make.
        let old = current.dacl.as_ref().map(inheritable).unwrap_or_default();
        if inheritable(&acl) == old {
            write_dacl_in_place(path, &acl, current.protected)?;
        } else {
            write_dacl(path, &acl, current.protected)?;
        }
        self.verify_written(path, &acl, current.protected)
    }

    /// Reads the DACL back and checks the explicit part (all of it when protected) is what was
    /// written: a file system that accepts `SetNamedSecurityInfoW` but stores nothing (FAT32,
    /// exFAT, some network shares, Wine) must not pass for an enforced grant.
    fn verify_written(&self, path: &Path, wanted: &Acl, protected: bool) -> Result<(), StoreError> {
        let read = self.read(path)?;
        if read.protected != protected {
            return Err(StoreError::Invalid {
                path: path.to_path_buf(),
                reason: format!(
                    "its DACL protection changed from {protected} to {} while Paddock edited it; \
                     check `icacls` on it and retry",
                    read.protected
                ),
            });
        }
        let stored = read.dacl.unwrap_or_default();
        let same = if protected {
            stored.aces == wanted.aces
        } else {
            stored.explicit().eq(wanted.explicit())
        };
        if same {
            return Ok(());
        }
        Err(StoreError::Invalid {
            path: path.to_path_buf(),
            reason: format!(
                "the DACL written was not the DACL stored (wrote {}, read back {}); the file \
                 system or environment does not keep ACLs (FAT32, exFAT, some network shares, \
                 Wine). Put the workspace on NTFS or ReFS",
                sddl_of(wanted),
                sddl_of(&stored)
            ),
        })
    }
}

/// The explicit ACEs a child inherits from (object or container inherit).
fn inheritable(acl: &Acl) -> Vec<Ace> {
    let inherit = AceFlags::OBJECT_INHERIT.union(AceFlags::CONTAINER_INHERIT);
    acl.explicit()
        .filter(|a| a.flags.0 & inherit.0 != 0)
        .cloned()
        .collect()
}

fn sddl_of(acl: &Acl) -> String {
    acl.aces.iter().map(Ace::to_sddl).collect()
}

impl AclStore for NtfsAclStore {
    fn process_alive(&self, stamp: &ProcessStamp) -> Result<bool, StoreError> {
        Ok(super::process::alive(stamp))
    }

    fn read(&self, path: &Path) -> Result<SecurityDescriptor, StoreError> {
        read_descriptor(path)
    }

    fn add_explicit(&mut self, path: &Path, aces: &[Ace]) -> Result<(), StoreError> {
        self.edit(path, |acl| {
            for ace in aces {
                acl.insert_explicit(ace.clone());
            }
        })
    }

    fn remove_explicit(&mut self, path: &Path, aces: &[Ace]) -> Result<(), StoreError> {
        if !self.exists(path)? {
            return Ok(());
        }
        self.edit(path, |acl| {
            for ace in aces {
                acl.remove_explicit(ace);
            }
        })
    }

    fn kind(&self, path: &Path) -> Result<Option<EntryKind>, StoreError> {
        let long = to_verbatim(path)?;
        match std::fs::symlink_metadata(&long) {
            Ok(m) if m.is_dir() => Ok(Some(EntryKind::Dir)),
            Ok(_) => Ok(Some(EntryKind::File)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(path, "GetFileAttributesExW", &e)),
        }
    }

    fn create_dir(&mut self, path: &Path) -> Result<(), StoreError> {
        let long = to_verbatim(path)?;
        refuse_links_above(path)?;
        std::fs::create_dir(&long).map_err(|e| io_error(path, "CreateDirectoryW", &e))
    }

    fn create_file(&mut self, path: &Path) -> Result<(), StoreError> {
        let long = to_verbatim(path)?;
        refuse_links_above(path)?;
        std::fs::File::create_new(&long)
            .map(drop)
            .map_err(|e| io_error(path, "CreateFileW", &e))
    }
}

fn to_verbatim(path: &Path) -> Result<PathBuf, StoreError> {
    verbatim(path).map_err(|e| StoreError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn io_error(path: &Path, api: &'static str, e: &std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::NotFound {
        return StoreError::NotFound {
            path: path.to_path_buf(),
        };
    }
    let code = e.raw_os_error().map_or(0, |c| c as u32);
    let w = Win32Error::from_code(api, code);
    StoreError::Os {
        path: path.to_path_buf(),
        api,
        code,
        message: w.message,
    }
}

fn os_error(path: &Path, e: Win32Error) -> StoreError {
    if e.code == ERROR_FILE_NOT_FOUND || e.code == ERROR_PATH_NOT_FOUND {
        return StoreError::NotFound {
            path: path.to_path_buf(),
        };
    }
    StoreError::Os {
        path: path.to_path_buf(),
        api: e.api,
        code: e.code,
        message: e.message,
    }
}

/// Refuses a path that is, or passes through, a symlink or junction (a name-surrogate reparse
/// point): an ACL change would land on whatever it points at. Short (8.3) names are not links
/// and pass.
fn refuse_links(path: &Path) -> Result<(), StoreError> {
    let long = to_verbatim(path)?;
    for prefix in long.ancestors() {
        let meta = std::fs::symlink_metadata(prefix)
            .map_err(|e| io_error(path, "GetFileAttributesExW", &e))?;
        if meta.file_type().is_symlink() {
            return Err(StoreError::Invalid {
                path: path.to_path_buf(),
                reason: format!(
                    "{} is a symlink or junction; Paddock does not change ACLs through links. \
                     Remove the link or name its target",
                    strip_verbatim(prefix).display()
                ),
            });
        }
    }
    Ok(())
}

/// Refuses to create `path` when a folder above it is a link: a command that planted a junction
/// in the workspace (`.git` -> elsewhere) must not get Paddock to create files where it points.
fn refuse_links_above(path: &Path) -> Result<(), StoreError> {
    match path.parent() {
        Some(parent) if parent.parent().is_some() => refuse_links(parent),
        _ => Ok(()),
    }
}

/// The owner, group and DACL of `path`.
fn read_descriptor(path: &Path) -> Result<SecurityDescriptor, StoreError> {
    let info = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    let sd = RawSecurityDescriptor::of_path(to_verbatim(path)?, SE_FILE_OBJECT, info)
        .map_err(|e| os_error(path, e))?;
    sd.to_model().map_err(|e| StoreError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Writes `acl` (explicit and inherited ACEs as read) as the DACL of `path` itself through
/// `SetKernelObjectSecurity`, which touches no other file. Only valid when no inheritable ACE
/// changed. The file is opened without following a link at `path`.
fn write_dacl_in_place(path: &Path, acl: &Acl, protected: bool) -> Result<(), StoreError> {
    let invalid = |reason: String| StoreError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let dacl = ModelDacl::with_control(acl, protected, true).map_err(|e| invalid(e.to_string()))?;
    let file = open_no_follow(to_verbatim(path)?, READ_CONTROL | WRITE_DAC)
        .map_err(|e| os_error(path, e))?;
    // Only the DACL (with its protected and auto-inherited bits) is set.
    let target = SecurityTarget::InPlace {
        handle: file.as_handle(),
    };
    write_security(target, dacl.descriptor(), DACL_SECURITY_INFORMATION)
        .map_err(|e| os_error(path, e))
}

/// Writes `acl` as the DACL of `path`. Unprotected: only the explicit ACEs are passed and Windows
/// re-inherits from the parent. Protected: every ACE is kept as it is.
fn write_dacl(path: &Path, acl: &Acl, protected: bool) -> Result<(), StoreError> {
    let invalid = |reason: String| StoreError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let written = if protected {
        acl.clone()
    } else {
        Acl::new(acl.explicit().cloned().collect())
    };
    let dacl = ModelDacl::new(&written, protected).map_err(|e| invalid(e.to_string()))?;
    let long = to_verbatim(path)?;
    let protection = if protected {
        PROTECTED_DACL_SECURITY_INFORMATION
    } else {
        UNPROTECTED_DACL_SECURITY_INFORMATION
    };
    // Owner, group and SACL are not requested, so they are left untouched.
    let target = SecurityTarget::Named {
        path: long.as_os_str(),
        kind: SE_FILE_OBJECT,
    };
    write_security(
        target,
        dacl.descriptor(),
        DACL_SECURITY_INFORMATION | protection,
    )
    .map_err(|e| os_error(path, e))
}
