//! Paddock's ACEs through the real Win32 conversions: every mask Paddock writes goes into a
//! binary ACL through `ConvertStringSecurityDescriptorToSecurityDescriptorW`, comes out as the
//! text `ConvertSecurityDescriptorToStringSecurityDescriptorW` prints (bit mnemonics such as
//! `DCLCRPDTCRSDWDWO`), and must read back to the same mask both through that text and through
//! the binary walker; and a DACL set on a kernel object is read back through `GetSecurityInfo`.
#![cfg(windows)]

use paddock_windows::acl::{Ace, AceFlags, Acl, SecurityDescriptor, windows_rights_text};
use paddock_windows::apply::owned_acl::{DescriptorModel, ModelDacl, RawSecurityDescriptor};
use paddock_windows::mask::AccessMask;
use paddock_windows::sid::Sid;
use std::os::windows::io::{AsHandle, FromRawHandle, OwnedHandle};
use windows_sys::Win32::Security::Authorization::SE_KERNEL_OBJECT;
use windows_sys::Win32::Security::{DACL_SECURITY_INFORMATION, SECURITY_ATTRIBUTES};
use windows_sys::Win32::System::Threading::CreateMutexW;

/// The masks Paddock writes: per-run deny-write (0xd0156), FILE_DELETE_CHILD deny (0x40),
/// level-2 deny-read (0x29), window station (0x20133), the root grant, read/write grants and
/// the desktop and token DACL rights.
const PADDOCK_MASKS: &[u32] = &[
    0xd0156, 0x40, 0x29, 0x20133, 0x1301bf, 0x12019f, 0x1f01ff, 0x1200a9, 0x10000000, 0x1ff, 0x1cf,
    0x120089,
];

fn synthetic() -> Sid {
    Sid::parse("S-1-5-21-1111111111-2222222222-3333333333-444444444").unwrap()
}

#[test]
fn every_paddock_mask_survives_the_real_string_conversions() {
    for &bits in PADDOCK_MASKS {
        let mask = AccessMask(bits);
        let acl = Acl::new(vec![
            Ace::deny(synthetic(), mask, AceFlags::OICI),
            Ace::allow(Sid::local_system(), mask, AceFlags::NONE),
        ]);
        let binary = ModelDacl::new(&acl, false).unwrap();
        assert_eq!(binary.to_model().unwrap(), acl, "binary walk of {bits:#x}");
        let printed = binary.to_sddl().unwrap();
        let parsed = SecurityDescriptor::parse(&printed)
            .unwrap_or_else(|e| panic!("{bits:#x}: Windows printed `{printed}`: {e}"));
        assert_eq!(parsed.dacl.unwrap(), acl, "`{printed}`");
        let expected = windows_rights_text(mask);
        assert!(
            printed.contains(&format!(";{expected};")),
            "{bits:#x}: Windows printed `{printed}`, Paddock's model of it says `{expected}`"
        );
    }
}

#[test]
fn a_dacl_set_on_a_kernel_object_reads_back_through_get_security_info() {
    let acl = Acl::new(vec![
        Ace::deny(synthetic(), AccessMask::ALL_WRITE, AceFlags::NONE),
        Ace::allow(synthetic(), AccessMask(0x20133), AceFlags::NONE),
        Ace::allow(Sid::local_system(), AccessMask(0x1f0001), AceFlags::NONE),
    ]);
    let dacl = ModelDacl::new(&acl, false).unwrap();
    let attributes = SECURITY_ATTRIBUTES {
        nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: dacl.descriptor().as_ptr(),
        bInheritHandle: 0,
    };
    // SAFETY: `attributes` and the descriptor it points at live for the call; an unnamed mutex;
    // on success we own the returned handle.
    let raw = unsafe { CreateMutexW(&attributes, 0, std::ptr::null()) };
    assert!(!raw.is_null(), "CreateMutexW failed");
    // SAFETY: `raw` is a valid handle owned by nobody else.
    let mutex = unsafe { OwnedHandle::from_raw_handle(raw) };
    let read = RawSecurityDescriptor::of_handle(
        mutex.as_handle(),
        SE_KERNEL_OBJECT,
        DACL_SECURITY_INFORMATION,
    )
    .unwrap()
    .to_model()
    .unwrap();
    assert_eq!(read.dacl.unwrap(), acl);
}
