//! UTF-16 strings for Win32 calls: NUL-terminated buffers built from Rust strings and paths
//! (without a lossy detour through UTF-8), and Rust strings read back from the NUL-terminated
//! buffers the system returns.
//!
//! Guarantees: a string with an interior NUL is refused, never cut short (the OS would silently
//! stop at it and act on another name than the one asked for).

use crate::Win32Error;
use std::ffi::OsStr;
use std::os::windows::ffi::OsStrExt;
use windows_sys::Win32::Foundation::{ERROR_INVALID_PARAMETER, LocalFree};

/// A string passed to Win32 contained a NUL character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` contains a NUL character, which Windows would silently cut the string at")]
pub struct InteriorNul {
    /// The string, lossily converted for display.
    pub text: String,
}

impl InteriorNul {
    /// The refusal as the failure of `api`, which was never called with the string
    /// (`ERROR_INVALID_PARAMETER`).
    pub fn for_api(self, api: &'static str) -> Win32Error {
        Win32Error::new(api, ERROR_INVALID_PARAMETER, self.to_string())
    }
}

/// `s` as a NUL-terminated UTF-16 buffer; an interior NUL is refused.
pub fn to_wide(s: impl AsRef<OsStr>) -> Result<Vec<u16>, InteriorNul> {
    let s = s.as_ref();
    let mut wide: Vec<u16> = s.encode_wide().collect();
    if wide.contains(&0) {
        return Err(InteriorNul {
            text: s.to_string_lossy().into_owned(),
        });
    }
    wide.push(0);
    Ok(wide)
}

/// The UTF-16 text before the first NUL of `buffer` (all of it when there is none).
pub fn until_nul(buffer: &[u16]) -> &[u16] {
    let end = buffer.iter().position(|&c| c == 0).unwrap_or(buffer.len());
    &buffer[..end]
}

/// Reads a NUL-terminated UTF-16 string (a `PWSTR` the system filled in or allocated);
/// unpaired surrogates become U+FFFD.
///
/// # Safety
/// `ptr` must be null or point at a readable NUL-terminated UTF-16 string.
pub unsafe fn read_pwstr(ptr: *const u16) -> String {
    if ptr.is_null() {
        return String::new();
    }
    let mut len = 0usize;
    // SAFETY: the caller guarantees a NUL terminator, so every unit up to it is readable.
    while unsafe { *ptr.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: the `len` units before the terminator were just read one by one.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Reads a NUL-terminated UTF-16 string the system allocated with `LocalAlloc` (SID and SDDL
/// conversions), then frees it.
///
/// # Safety
/// `ptr` must be null or a `LocalAlloc`'d NUL-terminated UTF-16 string nobody else frees.
pub(crate) unsafe fn take_local_pwstr(ptr: *mut u16) -> String {
    // SAFETY: the caller guarantees a readable NUL-terminated string (or null).
    let text = unsafe { read_pwstr(ptr) };
    if !ptr.is_null() {
        // SAFETY: `ptr` was LocalAlloc'd and is owned by this call; freed once here.
        unsafe { LocalFree(ptr.cast()) };
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::windows::ffi::OsStringExt;

    #[test]
    fn wide_string_is_nul_terminated() {
        assert_eq!(
            to_wide("ab").unwrap(),
            vec![u16::from(b'a'), u16::from(b'b'), 0]
        );
    }

    #[test]
    fn interior_nul_is_refused_not_cut_short() {
        let e = to_wide("paddock\0evil").unwrap_err();
        assert!(e.to_string().contains("NUL"), "{e}");
        let w = e.for_api("LookupAccountNameW");
        assert_eq!(w.code, ERROR_INVALID_PARAMETER);
        assert_eq!(w.api, "LookupAccountNameW");
    }

    #[test]
    fn unpaired_surrogate_in_a_path_survives_the_conversion() {
        // A file name Windows allows but UTF-8 cannot hold: a lossy conversion would name
        // another file.
        let name = OsString::from_wide(&[u16::from(b'a'), 0xD800, u16::from(b'b')]);
        assert_eq!(
            to_wide(&name).unwrap(),
            vec![u16::from(b'a'), 0xD800, u16::from(b'b'), 0]
        );
    }

    #[test]
    fn read_back_stops_at_nul() {
        let buffer = to_wide("hello").unwrap();
        // SAFETY: `buffer` is NUL-terminated.
        assert_eq!(unsafe { read_pwstr(buffer.as_ptr()) }, "hello");
        assert_eq!(until_nul(&buffer), &buffer[..5]);
        // SAFETY: null is allowed.
        assert_eq!(unsafe { read_pwstr(std::ptr::null()) }, "");
    }
}
