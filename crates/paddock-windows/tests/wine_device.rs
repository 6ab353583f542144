//! Grants on the null device through the real apply layer: on Windows either the grant is made,
//! read back and removed, or (standard user without WRITE_DAC on the device) it fails with access
//! denied; under Wine, which keeps no descriptor on NUL, it fails as unreadable. Never a silent
//! success.
#![cfg(windows)]

use paddock_windows::acl::{Ace, AceFlags};
use paddock_windows::apply::device::{DeviceError, DeviceGrant};
use paddock_windows::apply::wine::running_under_wine;
use paddock_windows::mask::AccessMask;
use paddock_windows::sid::Sid;

#[test]
fn null_device_grant_is_proven_or_refused() {
    let ace = Ace::allow(
        Sid::synthetic().unwrap(),
        AccessMask::FILE_GENERIC_READ | AccessMask::FILE_GENERIC_WRITE,
        AceFlags::NONE,
    );
    match DeviceGrant::add(r"\\.\NUL", &ace) {
        Ok(grant) => {
            assert!(!running_under_wine());
            grant.revoke().unwrap();
        }
        Err(DeviceError::Invalid { reason, .. }) => {
            assert!(
                running_under_wine(),
                "real Windows returned an unreadable NUL DACL: {reason}"
            );
        }
        Err(DeviceError::Win32 { source, .. }) => {
            assert!(!running_under_wine(), "Wine: {source}");
            assert_eq!(source.code, 5, "only access denied is expected: {source}");
        }
        Err(other) => panic!("unexpected: {other}"),
    }
}

#[test]
fn window_station_grant_is_proven_or_refused() {
    let ace = Ace::allow(
        Sid::synthetic().unwrap(),
        AccessMask(paddock_windows::apply::device::WINDOW_STATION_SANDBOX),
        AceFlags::NONE,
    );
    match DeviceGrant::add_to_window_station(&ace) {
        Ok(grant) => grant.revoke().unwrap(),
        Err(DeviceError::Win32 { source, .. }) => {
            assert_eq!(source.code, 5, "only access denied is expected: {source}")
        }
        Err(DeviceError::Invalid { reason, .. }) => {
            assert!(
                running_under_wine(),
                "real Windows returned an unreadable DACL: {reason}"
            );
        }
        Err(other) => panic!("unexpected: {other}"),
    }
}
