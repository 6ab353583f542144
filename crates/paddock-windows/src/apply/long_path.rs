//! Absolute paths in the `\\?\` form Win32 calls accept beyond MAX_PATH (260 characters), so a
//! deep workspace gets the same treatment as a shallow one.
//!
//! Guarantees: `C:\a` becomes `\\?\C:\a`, `\\server\share\a` becomes `\\?\UNC\server\share\a`,
//! a path already in `\\?\` or `\\.\` form is kept; `/` becomes `\` (the verbatim form does no
//! translation); a relative path is refused.

use std::path::{Path, PathBuf};

/// A path that cannot be made verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: not an absolute path; Paddock only changes ACLs of resolved absolute paths")]
pub struct NotAbsolute {
    pub path: PathBuf,
}

/// The `\\?\` form of an absolute, normalised path.
pub fn verbatim(path: &Path) -> Result<PathBuf, NotAbsolute> {
    let text = path.as_os_str().to_string_lossy().replace('/', "\\");
    if text.starts_with(r"\\?\") || text.starts_with(r"\\.\") {
        return Ok(PathBuf::from(text));
    }
    if let Some(unc) = text.strip_prefix(r"\\") {
        return Ok(PathBuf::from(format!(r"\\?\UNC\{unc}")));
    }
    let bytes = text.as_bytes();
    if bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'\\' {
        return Ok(PathBuf::from(format!(r"\\?\{text}")));
    }
    Err(NotAbsolute {
        path: path.to_path_buf(),
    })
}

/// The ordinary form of a path `std::fs::canonicalize` returned (`\\?\C:\a` -> `C:\a`).
pub fn strip_verbatim(path: &Path) -> PathBuf {
    let text = path.as_os_str().to_string_lossy();
    if let Some(unc) = text.strip_prefix(r"\\?\UNC\") {
        return PathBuf::from(format!(r"\\{unc}"));
    }
    match text.strip_prefix(r"\\?\") {
        Some(rest) => PathBuf::from(rest),
        None => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_path_gets_verbatim_prefix() {
        assert_eq!(
            verbatim(Path::new(r"C:\work\repo")).unwrap(),
            Path::new(r"\\?\C:\work\repo")
        );
        assert_eq!(
            verbatim(Path::new("C:/work/repo")).unwrap(),
            Path::new(r"\\?\C:\work\repo")
        );
    }

    #[test]
    fn unc_path_gets_verbatim_unc_prefix() {
        assert_eq!(
            verbatim(Path::new(r"\\srv\share\x")).unwrap(),
            Path::new(r"\\?\UNC\srv\share\x")
        );
    }

    #[test]
    fn verbatim_and_device_paths_are_kept() {
        assert_eq!(
            verbatim(Path::new(r"\\?\C:\x")).unwrap(),
            Path::new(r"\\?\C:\x")
        );
        assert_eq!(
            verbatim(Path::new(r"\\.\NUL")).unwrap(),
            Path::new(r"\\.\NUL")
        );
    }

    #[test]
    fn relative_paths_are_refused() {
        assert!(verbatim(Path::new(r"repo\x")).is_err());
        assert!(verbatim(Path::new(r"C:repo")).is_err());
        assert!(verbatim(Path::new(r"\repo")).is_err());
    }

    #[test]
    fn strip_verbatim_undoes_canonicalize_prefix() {
        assert_eq!(strip_verbatim(Path::new(r"\\?\C:\x")), Path::new(r"C:\x"));
        assert_eq!(
            strip_verbatim(Path::new(r"\\?\UNC\s\h\x")),
            Path::new(r"\\s\h\x")
        );
        assert_eq!(strip_verbatim(Path::new(r"C:\x")), Path::new(r"C:\x"));
    }
}
