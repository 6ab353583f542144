//! Path handling shared by every backend, so that "is P beneath writable root R" and "is P
//! protected" have one answer on every OS.
//!
//! `resolve` makes a path absolute against a base and resolves symlinks (junctions on Windows)
//! in the part that exists, then normalises the rest lexically. `windows` holds the pure Windows
//! path logic (prefixes, drive letters, UNC, case folding, trailing dots and spaces, ADS) that is
//! tested on every OS.

pub mod windows;

use std::io;
use std::path::{Component, Path, PathBuf};

/// Expands a leading `~` or `~/` with `home`.
pub fn expand_tilde(p: &Path, home: Option<&Path>) -> PathBuf {
    let Some(home) = home else {
        return p.to_path_buf();
    };
    let mut comps = p.components();
    match comps.next() {
        Some(Component::Normal(first)) if first == "~" => home.join(comps.as_path()),
        _ => p.to_path_buf(),
    }
}

/// Removes `.` and resolves `..` lexically (never above the root).
pub fn normalize_lexically(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Makes `p` absolute against `base`, resolves symlinks in its longest existing prefix and
/// normalises the rest lexically. The result names what the OS would open for `p`, whether or
/// not `p` exists yet. A dangling symlink in the prefix is followed to its target text.
pub fn resolve(base: &Path, p: &Path) -> io::Result<PathBuf> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    let abs = normalize_lexically(&abs);
    let mut existing = abs.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    loop {
        match std::fs::canonicalize(existing) {
            Ok(canon) => {
                let mut out = canon;
                for part in rest.iter().rev() {
                    out.push(part);
                }
                return Ok(normalize_lexically(&out));
            }
            Err(_) => {
                if let Ok(target) = std::fs::read_link(existing) {
                    // Dangling link: follow its text so a later creation lands where we think.
                    let parent = existing.parent().unwrap_or(Path::new("/"));
                    let mut joined = parent.join(target);
                    for part in rest.iter().rev() {
                        joined.push(part);
                    }
                    return resolve(Path::new("/"), &joined);
                }
                match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        rest.push(name);
                        existing = parent;
                    }
                    _ => {
                        return Err(io::Error::new(
                            io::ErrorKind::NotFound,
                            "no existing ancestor",
                        ));
                    }
                }
            }
        }
    }
}

/// True when `p` is `root` or lies beneath it, comparing whole components. Both paths must be
/// absolute and resolved (see `resolve`). Case-sensitive; use `windows::is_beneath` for Windows
/// path strings.
pub fn is_beneath(p: &Path, root: &Path) -> bool {
    p.starts_with(root)
}
