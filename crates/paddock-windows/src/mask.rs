//! Typed access masks for files and directories: the documented bits, the file generic mapping
//! and the named sets the planner grants or denies.
//!
//! Guarantees: values equal the Win32 constants (winnt.h); `map_generic` replaces every
//! `GENERIC_*` bit by its file mapping and leaves no generic bit behind.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// A 32-bit access mask (`ACCESS_MASK`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccessMask(pub u32);

impl AccessMask {
    pub const NONE: AccessMask = AccessMask(0);

    // File / directory specific rights (the directory name shares the bit).
    /// `FILE_READ_DATA` / `FILE_LIST_DIRECTORY`.
    pub const FILE_READ_DATA: AccessMask = AccessMask(0x0001);
    /// `FILE_WRITE_DATA` / `FILE_ADD_FILE`.
    pub const FILE_WRITE_DATA: AccessMask = AccessMask(0x0002);
    /// `FILE_APPEND_DATA` / `FILE_ADD_SUBDIRECTORY`.
    pub const FILE_APPEND_DATA: AccessMask = AccessMask(0x0004);
    pub const FILE_READ_EA: AccessMask = AccessMask(0x0008);
    pub const FILE_WRITE_EA: AccessMask = AccessMask(0x0010);
    /// `FILE_EXECUTE` / `FILE_TRAVERSE`.
    pub const FILE_EXECUTE: AccessMask = AccessMask(0x0020);
    pub const FILE_DELETE_CHILD: AccessMask = AccessMask(0x0040);
    pub const FILE_READ_ATTRIBUTES: AccessMask = AccessMask(0x0080);
    pub const FILE_WRITE_ATTRIBUTES: AccessMask = AccessMask(0x0100);

    // Standard rights.
    pub const DELETE: AccessMask = AccessMask(0x0001_0000);
    pub const READ_CONTROL: AccessMask = AccessMask(0x0002_0000);
    pub const WRITE_DAC: AccessMask = AccessMask(0x0004_0000);
    pub const WRITE_OWNER: AccessMask = AccessMask(0x0008_0000);
    pub const SYNCHRONIZE: AccessMask = AccessMask(0x0010_0000);
    pub const ACCESS_SYSTEM_SECURITY: AccessMask = AccessMask(0x0100_0000);
    pub const MAXIMUM_ALLOWED: AccessMask = AccessMask(0x0200_0000);

    // Generic rights.
    pub const GENERIC_ALL: AccessMask = AccessMask(0x1000_0000);
    pub const GENERIC_EXECUTE: AccessMask = AccessMask(0x2000_0000);
    pub const GENERIC_WRITE: AccessMask = AccessMask(0x4000_0000);
    pub const GENERIC_READ: AccessMask = AccessMask(0x8000_0000);

    /// `FILE_GENERIC_READ` = READ_CONTROL | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA
    /// | SYNCHRONIZE (0x120089).
    pub const FILE_GENERIC_READ: AccessMask = AccessMask(0x0012_0089);
    /// `FILE_GENERIC_WRITE` = READ_CONTROL | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES |
    /// FILE_WRITE_EA | FILE_APPEND_DATA | SYNCHRONIZE (0x120116).
    pub const FILE_GENERIC_WRITE: AccessMask = AccessMask(0x0012_0116);
    /// `FILE_GENERIC_EXECUTE` = READ_CONTROL | FILE_READ_ATTRIBUTES | FILE_EXECUTE |
    /// SYNCHRONIZE (0x1200A0).
    pub const FILE_GENERIC_EXECUTE: AccessMask = AccessMask(0x0012_00A0);
    /// `FILE_ALL_ACCESS` (0x1F01FF).
    pub const FILE_ALL_ACCESS: AccessMask = AccessMask(0x001F_01FF);

    /// icacls "Modify" (0x1301BF): read, write, execute and DELETE of the object itself, but
    /// neither FILE_DELETE_CHILD nor WRITE_DAC / WRITE_OWNER. The writable-root grant: without
    /// FILE_DELETE_CHILD a protected child cannot be removed through its parent.
    pub const MODIFY_WITHOUT_DELETE_CHILD: AccessMask = AccessMask(0x0013_01BF);

    /// Every right that changes an object or its directory: data, attributes, EAs, children,
    /// deletion, DACL and owner. What a deny-write ACE denies.
    pub const ALL_WRITE: AccessMask = AccessMask(
        Self::FILE_WRITE_DATA.0
            | Self::FILE_APPEND_DATA.0
            | Self::FILE_WRITE_EA.0
            | Self::FILE_WRITE_ATTRIBUTES.0
            | Self::FILE_DELETE_CHILD.0
            | Self::DELETE.0
            | Self::WRITE_DAC.0
            | Self::WRITE_OWNER.0,
    );

    /// Rights a write-restricted token checks against its restricting SIDs (see `access`).
    /// Microsoft documents only "write access". We take the object's generic write mapping
    /// (FILE_GENERIC_WRITE's write bits) plus the standard write rights DELETE, WRITE_DAC and
    /// WRITE_OWNER, and NOT FILE_DELETE_CHILD: a real-Windows measurement (a write-restricted
    /// token deleting files bottom-up in folders that grant the user full control) shows that
    /// right is judged by the user's rights alone. Assuming the narrower set keeps every claim
    /// the model makes about the sandbox pessimistic; the smoke script confirms it.
    pub const WRITE_RESTRICTED_CHECKED: AccessMask = AccessMask(
        Self::FILE_WRITE_DATA.0
            | Self::FILE_APPEND_DATA.0
            | Self::FILE_WRITE_EA.0
            | Self::FILE_WRITE_ATTRIBUTES.0
            | Self::DELETE.0
            | Self::WRITE_DAC.0
            | Self::WRITE_OWNER.0,
    );

    pub const fn bits(self) -> u32 {
        self.0
    }

    pub const fn contains(self, other: AccessMask) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn intersects(self, other: AccessMask) -> bool {
        self.0 & other.0 != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `self` without the bits of `other`.
    pub const fn without(self, other: AccessMask) -> AccessMask {
        AccessMask(self.0 & !other.0)
    }

    /// Replaces `GENERIC_*` bits by the file generic mapping (`GENERIC_MAPPING` for files).
    pub const fn map_generic(self) -> AccessMask {
        let mut out = self.0 & 0x0FFF_FFFF;
        if self.0 & Self::GENERIC_READ.0 != 0 {
            out |= Self::FILE_GENERIC_READ.0;
        }
        if self.0 & Self::GENERIC_WRITE.0 != 0 {
            out |= Self::FILE_GENERIC_WRITE.0;
        }
        if self.0 & Self::GENERIC_EXECUTE.0 != 0 {
            out |= Self::FILE_GENERIC_EXECUTE.0;
        }
        if self.0 & Self::GENERIC_ALL.0 != 0 {
            out |= Self::FILE_ALL_ACCESS.0;
        }
        AccessMask(out)
    }

    /// The symbolic names of the set bits, for reports and `explain`.
    pub fn names(self) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(bit, _)| self.contains(*bit) && !bit.is_empty())
            .map(|(_, n)| *n)
            .collect()
    }
}

const NAMES: &[(AccessMask, &str)] = &[
    (AccessMask::FILE_READ_DATA, "FILE_READ_DATA"),
    (AccessMask::FILE_WRITE_DATA, "FILE_WRITE_DATA"),
    (AccessMask::FILE_APPEND_DATA, "FILE_APPEND_DATA"),
    (AccessMask::FILE_READ_EA, "FILE_READ_EA"),
    (AccessMask::FILE_WRITE_EA, "FILE_WRITE_EA"),
    (AccessMask::FILE_EXECUTE, "FILE_EXECUTE"),
    (AccessMask::FILE_DELETE_CHILD, "FILE_DELETE_CHILD"),
    (AccessMask::FILE_READ_ATTRIBUTES, "FILE_READ_ATTRIBUTES"),
    (AccessMask::FILE_WRITE_ATTRIBUTES, "FILE_WRITE_ATTRIBUTES"),
    (AccessMask::DELETE, "DELETE"),
    (AccessMask::READ_CONTROL, "READ_CONTROL"),
    (AccessMask::WRITE_DAC, "WRITE_DAC"),
    (AccessMask::WRITE_OWNER, "WRITE_OWNER"),
    (AccessMask::SYNCHRONIZE, "SYNCHRONIZE"),
    (AccessMask::ACCESS_SYSTEM_SECURITY, "ACCESS_SYSTEM_SECURITY"),
    (AccessMask::MAXIMUM_ALLOWED, "MAXIMUM_ALLOWED"),
    (AccessMask::GENERIC_ALL, "GENERIC_ALL"),
    (AccessMask::GENERIC_EXECUTE, "GENERIC_EXECUTE"),
    (AccessMask::GENERIC_WRITE, "GENERIC_WRITE"),
    (AccessMask::GENERIC_READ, "GENERIC_READ"),
];

impl BitOr for AccessMask {
    type Output = AccessMask;
    fn bitor(self, rhs: AccessMask) -> AccessMask {
        AccessMask(self.0 | rhs.0)
    }
}

impl BitOrAssign for AccessMask {
    fn bitor_assign(&mut self, rhs: AccessMask) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for AccessMask {
    type Output = AccessMask;
    fn bitand(self, rhs: AccessMask) -> AccessMask {
        AccessMask(self.0 & rhs.0)
    }
}

impl Not for AccessMask {
    type Output = AccessMask;
    fn not(self) -> AccessMask {
        AccessMask(!self.0)
    }
}

impl fmt::Debug for AccessMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

impl fmt::Display for AccessMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_sets_match_winnt_h() {
        let m = AccessMask::READ_CONTROL
            | AccessMask::FILE_READ_DATA
            | AccessMask::FILE_READ_ATTRIBUTES
            | AccessMask::FILE_READ_EA
            | AccessMask::SYNCHRONIZE;
        assert_eq!(m, AccessMask::FILE_GENERIC_READ);
        let w = AccessMask::READ_CONTROL
            | AccessMask::FILE_WRITE_DATA
            | AccessMask::FILE_WRITE_ATTRIBUTES
            | AccessMask::FILE_WRITE_EA
            | AccessMask::FILE_APPEND_DATA
            | AccessMask::SYNCHRONIZE;
        assert_eq!(w, AccessMask::FILE_GENERIC_WRITE);
        assert_eq!(AccessMask::FILE_ALL_ACCESS.bits(), 0x1F01FF);
    }

    #[test]
    fn modify_grant_withholds_delete_child_and_dac() {
        let m = AccessMask::MODIFY_WITHOUT_DELETE_CHILD;
        assert!(!m.intersects(
            AccessMask::FILE_DELETE_CHILD | AccessMask::WRITE_DAC | AccessMask::WRITE_OWNER
        ));
        assert!(m.contains(
            AccessMask::FILE_GENERIC_READ | AccessMask::FILE_GENERIC_WRITE | AccessMask::DELETE
        ));
        assert!(m.contains(AccessMask::FILE_GENERIC_EXECUTE));
    }

    #[test]
    fn map_generic_leaves_no_generic_bit() {
        let all = AccessMask::GENERIC_ALL | AccessMask::GENERIC_READ;
        assert_eq!(all.map_generic(), AccessMask::FILE_ALL_ACCESS);
        assert_eq!(
            AccessMask::GENERIC_WRITE.map_generic(),
            AccessMask::FILE_GENERIC_WRITE
        );
        assert_eq!(
            (AccessMask::GENERIC_EXECUTE | AccessMask::DELETE).map_generic(),
            AccessMask::FILE_GENERIC_EXECUTE | AccessMask::DELETE
        );
    }

    #[test]
    fn all_write_covers_every_mutating_right_and_no_read_right() {
        let w = AccessMask::ALL_WRITE;
        assert!(
            w.contains(
                AccessMask::FILE_GENERIC_WRITE
                    .without(AccessMask::READ_CONTROL | AccessMask::SYNCHRONIZE)
            )
        );
        assert!(!w.intersects(AccessMask::FILE_GENERIC_READ | AccessMask::FILE_EXECUTE));
    }

    #[test]
    fn names_list_set_bits() {
        assert_eq!(
            (AccessMask::DELETE | AccessMask::FILE_READ_DATA).names(),
            ["FILE_READ_DATA", "DELETE"]
        );
    }
}
