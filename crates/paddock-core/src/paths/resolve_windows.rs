//! Resolves a Windows path as `CreateFileW` will see it: Win32 first normalises the string
//! lexically (so `link\..` is the link's parent, unlike Unix); NT then follows each symlink or
//! junction to its target (at most 40), and `canonicalize` finally settles mount points, 8.3
//! names and case in the longest existing prefix. Dangling links are followed to their target text.

use super::{ResolveError, normalize_lexically};
use std::io;
use std::path::{Component, Path, PathBuf};

/// Links followed before giving up with a loop error.
const MAX_LINKS: usize = 40;

/// Resolves the absolute path `abs`.
pub(super) fn resolve_absolute(abs: &Path) -> io::Result<PathBuf> {
    let linked = follow_links(abs)?;
    canonicalize_existing_prefix(&linked)
}

/// Replaces every symlink or junction in the existing part of `abs` by its target.
fn follow_links(abs: &Path) -> io::Result<PathBuf> {
    let mut current = normalize_lexically(abs);
    let mut links = 0;
    'restart: loop {
        let comps: Vec<Component> = current.components().collect();
        let mut prefix = PathBuf::new();
        for (i, c) in comps.iter().enumerate() {
            prefix.push(c);
            if !matches!(c, Component::Normal(_)) {
                continue;
            }
            match std::fs::symlink_metadata(&prefix) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(ResolveError::SymlinkLoop {
                            path: abs.to_path_buf(),
                            link: prefix,
                        }
                        .into_io());
                    }
                    let target = std::fs::read_link(&prefix).map_err(|source| {
                        ResolveError::Unreadable {
                            path: prefix.clone(),
                            source,
                        }
                        .into_io()
                    })?;
                    let mut joined = prefix.parent().unwrap_or(&prefix).join(target);
                    for rest in &comps[i + 1..] {
                        joined.push(rest);
                    }
                    current = normalize_lexically(&joined);
                    continue 'restart;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
                Err(source) => {
                    return Err(ResolveError::Unreadable {
                        path: prefix,
                        source,
                    }
                    .into_io());
                }
            }
        }
        return Ok(current);
    }
}

/// `canonicalize` of the longest existing prefix of the link-free `p`, with the rest appended.
fn canonicalize_existing_prefix(p: &Path) -> io::Result<PathBuf> {
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    loop {
        match std::fs::canonicalize(&existing) {
            Ok(mut out) => {
                for part in rest.iter().rev() {
                    out.push(part);
                }
                return Ok(out);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        rest.push(name.to_os_string());
                        existing = parent.to_path_buf();
                    }
                    _ => return Err(e),
                }
            }
            Err(source) => {
                return Err(ResolveError::Unreadable {
                    path: existing,
                    source,
                }
                .into_io());
            }
        }
    }
}
