//! Sandbox account passwords at rest: DPAPI (`CryptProtectData`, machine scope, with Paddock's
//! own entropy), in files under `%ProgramData%\Paddock\secrets` whose ACL the system layer sets.
//!
//! Guarantees: the plaintext never reaches disk; `unprotect(protect(x)) == x`; a blob made with
//! other entropy is refused.

use crate::errors::SystemError;
use paddock_win32::Win32Error;
use windows_sys::Win32::Foundation::{HLOCAL, LocalFree};
use windows_sys::Win32::Security::Cryptography::{
    CRYPT_INTEGER_BLOB, CRYPTPROTECT_LOCAL_MACHINE, CRYPTPROTECT_UI_FORBIDDEN, CryptProtectData,
    CryptUnprotectData,
};

/// Mixed into every blob: a blob is only usable by Paddock's code, not by any DPAPI caller.
const ENTROPY: &[u8] = b"paddock/windows-elevated/sandbox-account-secret/v1";

fn blob(data: &[u8]) -> CRYPT_INTEGER_BLOB {
    CRYPT_INTEGER_BLOB {
        cbData: data.len() as u32,
        pbData: data.as_ptr().cast_mut(),
    }
}

fn take(out: CRYPT_INTEGER_BLOB) -> Vec<u8> {
    // SAFETY: DPAPI filled `out` with a LocalAlloc'd buffer of `cbData` bytes; it is copied and
    // freed once.
    unsafe {
        let v = std::slice::from_raw_parts(out.pbData, out.cbData as usize).to_vec();
        LocalFree(out.pbData as HLOCAL);
        v
    }
}

pub fn protect(plain: &[u8]) -> Result<Vec<u8>, SystemError> {
    let (input, entropy) = (blob(plain), blob(ENTROPY));
    let mut out = CRYPT_INTEGER_BLOB::default();
    // SAFETY: input blobs point at live slices; `out` receives a LocalAlloc'd buffer.
    let ok = unsafe {
        CryptProtectData(
            &input,
            std::ptr::null(),
            &entropy,
            std::ptr::null(),
            std::ptr::null(),
            CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN,
            &mut out,
        )
    };
    if ok == 0 {
        return Err(Win32Error::last("CryptProtectData").into());
    }
    Ok(take(out))
}

pub fn unprotect(sealed: &[u8]) -> Result<Vec<u8>, SystemError> {
    let (input, entropy) = (blob(sealed), blob(ENTROPY));
    let mut out = CRYPT_INTEGER_BLOB::default();
    // SAFETY: input blobs point at live slices; `out` receives a LocalAlloc'd buffer.
    let ok = unsafe {
        CryptUnprotectData(
            &input,
            std::ptr::null_mut(),
            &entropy,
            std::ptr::null(),
            std::ptr::null(),
            CRYPTPROTECT_UI_FORBIDDEN,
            &mut out,
        )
    };
    if ok == 0 {
        return Err(Win32Error::last("CryptUnprotectData").into());
    }
    Ok(take(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protected_secret_round_trips_and_is_not_plaintext() {
        let secret = b"Xy7!correct-horse-battery-staple-0123456";
        let sealed = match protect(secret) {
            Ok(s) => s,
            Err(e) if paddock_windows::apply::wine::running_under_wine() => {
                paddock_core::testing::skip(&format!("Wine's DPAPI failed ({e})"));
                return;
            }
            Err(e) => panic!("{e}"),
        };
        assert!(!sealed.windows(secret.len()).any(|w| w == secret));
        assert_eq!(unprotect(&sealed).unwrap(), secret);
    }

    #[test]
    fn a_tampered_blob_is_refused() {
        let mut sealed = match protect(b"secret") {
            Ok(sealed) => sealed,
            Err(e) => {
                paddock_core::testing::skip(&format!("DPAPI unavailable ({e})"));
                return;
            }
        };
        let n = sealed.len();
        sealed[n - 1] ^= 0xff;
        assert!(unprotect(&sealed).is_err());
    }
}
