//! UTF-16 strings for Win32 calls: NUL-terminated buffers built from Rust strings and paths, and
//! Rust strings read back from NUL-terminated buffers the system returns.
//!
//! Guarantees: a string with an interior NUL is refused (the OS would silently cut it there).

use std::ffi::OsStr;
use std::os::windows::ffi::OsStrExt;

/// A string passed to Win32 contained a NUL character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` contains a NUL character, which Windows would silently cut the string at")]
pub struct InteriorNul {
    pub text: String,
}

/// `s` as a NUL-terminated UTF-16 buffer.
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

/// Reads a NUL-terminated UTF-16 string the system allocated.
///
/// # Safety
/// `ptr` must be null or point at a readable NUL-terminated UTF-16 string.
pub(crate) unsafe fn read_pwstr(ptr: *const u16) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_string_is_nul_terminated() {
        assert_eq!(
            to_wide("ab").unwrap(),
            vec![u16::from(b'a'), u16::from(b'b'), 0]
        );
    }

    #[test]
    fn interior_nul_is_refused() {
        assert!(to_wide("a\0b").is_err());
    }

    #[test]
    fn read_back_stops_at_nul() {
        let buffer = to_wide("hello").unwrap();
        // SAFETY: `buffer` is NUL-terminated.
        assert_eq!(unsafe { read_pwstr(buffer.as_ptr()) }, "hello");
        assert_eq!(until_nul(&buffer), &buffer[..5]);
    }
}
