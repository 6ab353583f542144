//! Which Landlock ABI the running kernel offers, asked directly of the kernel.
//!
//! The answer decides which rights Paddock requests: exactly those the kernel supports, so that
//! the ruleset can be built with the crate's hard-requirement mode and nothing is dropped silently.

use paddock_core::report::{Gap, LandlockFeature};
use std::io;

/// `LANDLOCK_CREATE_RULESET_VERSION` from `<linux/landlock.h>`.
const CREATE_RULESET_VERSION: libc::c_uint = 1;

/// Landlock support of the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelLandlock {
    /// Landlock works; the kernel's ABI version (1 = Linux 5.13, 4 = 6.7, 6 = 6.12, 7 = 6.15).
    Available(i32),
    /// Built into the kernel but not enabled at boot (`EOPNOTSUPP`).
    NotEnabled,
    /// Not built into the kernel, or hidden by a seccomp filter (`ENOSYS` or another error).
    NotImplemented,
}

impl KernelLandlock {
    /// Why Landlock cannot be used, when it cannot, in words a user can act on.
    pub fn unavailable_reason(self) -> Option<&'static str> {
        match self {
            KernelLandlock::Available(_) => None,
            KernelLandlock::NotEnabled => Some(
                "the kernel has Landlock but it is not enabled: add `landlock` to the `lsm=` boot parameter",
            ),
            KernelLandlock::NotImplemented => Some(
                "the kernel has no Landlock (needs Linux 5.13 or later built with CONFIG_SECURITY_LANDLOCK)",
            ),
        }
    }

    /// The parts of Paddock's Landlock design this kernel cannot carry, each with the ABI it
    /// needs (empty when Landlock is unavailable altogether: see `unavailable_reason`). The
    /// same list (`LandlockFeature::ALL`) makes the run's report.
    pub fn missing(self) -> Vec<Gap> {
        match self {
            KernelLandlock::Available(abi) => LandlockFeature::ALL
                .into_iter()
                .filter(|f| abi < f.abi())
                .map(|feature| Gap::LandlockAbi {
                    feature,
                    have: abi,
                    want: feature.abi(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Asks the kernel which Landlock ABI it implements.
pub fn kernel_landlock() -> KernelLandlock {
    // SAFETY: landlock_create_ruleset with a NULL attribute, size 0 and the VERSION flag only
    // returns the ABI version (or an error); it reads no memory and creates no file descriptor.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    if version > 0 {
        return KernelLandlock::Available(i32::try_from(version).unwrap_or(i32::MAX));
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::EOPNOTSUPP) => KernelLandlock::NotEnabled,
        _ => KernelLandlock::NotImplemented,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_reasons_name_the_fix() {
        assert!(
            KernelLandlock::NotEnabled
                .unavailable_reason()
                .unwrap()
                .contains("lsm=")
        );
        assert!(
            KernelLandlock::NotImplemented
                .unavailable_reason()
                .unwrap()
                .contains("5.13")
        );
        assert_eq!(KernelLandlock::Available(7).unavailable_reason(), None);
    }

    #[test]
    fn an_older_abi_names_each_missing_part_and_a_current_one_none() {
        let at4 = KernelLandlock::Available(4).missing();
        assert_eq!(at4.len(), 3, "{at4:?}");
        assert_eq!(
            at4[0],
            Gap::LandlockAbi {
                feature: LandlockFeature::DeviceIoctl,
                have: 4,
                want: 5
            }
        );
        assert!(KernelLandlock::Available(9).missing().is_empty());
        assert!(KernelLandlock::NotEnabled.missing().is_empty());
    }
}
