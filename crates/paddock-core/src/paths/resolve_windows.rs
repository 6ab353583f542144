//! Resolves a Windows path as `CreateFileW` will see it: Win32 first normalises the string
//! lexically (so `link\..` is the link's parent, unlike Unix), then NT follows symlinks,
//! junctions and mount points, which `canonicalize` resolves in the longest existing prefix.
//! Dangling links are followed to their target text, at most 40 times.

use super::{ResolveError, normalize_lexically};
use std::io;
use std::path::{Path, PathBuf};

/// Links followed before giving up with a loop error.
const MAX_LINKS: usize = 40;

/// Resolves the absolute path `abs`.
pub(super) fn resolve_absolute(abs: &Path) -> io::Result<PathBuf> {
    let mut current = normalize_lexically(abs);
    'links: for _ in 0..=MAX_LINKS {
        let mut existing = current.clone();
        let mut rest = Vec::new();
        loop {
            match std::fs::canonicalize(&existing) {
                Ok(mut out) => {
                    for part in rest.iter().rev() {
                        out.push(part);
                    }
                    return Ok(out);
                }
                Err(e) => {
                    if let Ok(target) = std::fs::read_link(&existing) {
                        let parent = existing.parent().unwrap_or(&existing);
                        let mut joined = parent.join(target);
                        for part in rest.iter().rev() {
                            joined.push(part);
                        }
                        current = normalize_lexically(&joined);
                        continue 'links;
                    }
                    if e.kind() != io::ErrorKind::NotFound {
                        return Err(ResolveError::Unreadable {
                            path: existing,
                            source: e,
                        }
                        .into_io());
                    }
                    match (existing.parent(), existing.file_name()) {
                        (Some(parent), Some(name)) => {
                            rest.push(name.to_os_string());
                            existing = parent.to_path_buf();
                        }
                        _ => {
                            return Err(io::Error::new(
                                io::ErrorKind::NotFound,
                                format!("no part of {} exists", abs.display()),
                            ));
                        }
                    }
                }
            }
        }
    }
    Err(ResolveError::SymlinkLoop {
        path: abs.to_path_buf(),
        link: current,
    }
    .into_io())
}
