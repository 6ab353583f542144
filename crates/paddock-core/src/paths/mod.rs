//! Path handling shared by every backend, so that "is P beneath writable root R" and "is P
//! protected" have one answer on every OS.
//!
//! `resolve` makes a path absolute and resolves links the way the OS will when it opens it (on
//! Unix component by component, so `link/..` is the target's parent; on Windows after Win32's
//! lexical normalisation, as Win32 does). `is_beneath` answers "certainly inside" (to grant),
//! `may_be_beneath` answers "perhaps inside" (to protect). `windows` holds the pure Windows path
//! logic (prefixes, UNC, case folding, trailing dots and spaces, streams, short names) that is
//! tested on every OS.

#[cfg(unix)]
mod resolve_unix;
#[cfg(windows)]
mod resolve_windows;
#[cfg(test)]
mod tests;
pub mod windows;

use std::io;
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// Why `resolve` could not say what a path names; carried inside the `io::Error` it returns
/// (`err.get_ref()` and downcast).
#[derive(Debug, Error)]
pub enum ResolveError {
    #[error(
        "too many levels of symbolic links resolving {path} (a loop through {link}); fix or \
         remove the link"
    )]
    SymlinkLoop { path: PathBuf, link: PathBuf },
    #[error(
        "{link} is a link to the kernel object `{target}`, not a file; name a file path instead"
    )]
    KernelObjectLink { link: PathBuf, target: PathBuf },
    #[error(
        "cannot tell whether {path} is a link: {source}; make its directory readable or name \
         another path"
    )]
    Unreadable { path: PathBuf, source: io::Error },
}

impl ResolveError {
    fn into_io(self) -> io::Error {
        let kind = match &self {
            ResolveError::SymlinkLoop { .. } => io::ErrorKind::Other,
            ResolveError::KernelObjectLink { .. } => io::ErrorKind::InvalidInput,
            ResolveError::Unreadable { source, .. } => source.kind(),
        };
        io::Error::new(kind, self)
    }
}

/// Why `p` cannot serve as a directory (`no such directory`, `not a directory`), or `None` when
/// it is one (following links, as a chdir would).
pub fn dir_problem(p: &Path) -> Option<&'static str> {
    crate::looked_at::entry(p);
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => None,
        Ok(_) => Some("not a directory"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some("no such directory"),
        Err(_) => Some("cannot be read as a directory"),
    }
}

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

/// Removes `.` and resolves `..` lexically (never above the root; a relative path keeps its
/// leading `..`). Correct for Windows strings and for paths with no symlinks; on Unix a `..`
/// after a symlink means the target's parent, which only `resolve` knows.
pub fn normalize_lexically(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                // `C:..` climbs from drive C's current directory; `\\server\share\..` stays.
                Some(Component::Prefix(_)) if out.has_root() => {}
                Some(_) | None => out.push(c),
            },
            other => out.push(other),
        }
    }
    out
}

/// Makes `p` absolute against `base` (itself made absolute against the current directory),
/// resolves every link in the part that exists as the OS would when opening `p`, and normalises
/// the rest lexically. The result names what the OS would open or create for `p`, whether or not
/// it exists yet; a dangling symlink is followed to its target text. Errors: a symlink loop
/// (`FilesystemLoop`), a directory that cannot be searched, a `/proc` link to a non-file.
pub fn resolve(base: &Path, p: &Path) -> io::Result<PathBuf> {
    let base = if base.is_absolute() {
        base.to_path_buf()
    } else {
        std::env::current_dir()?.join(base)
    };
    let abs = base.join(p);
    #[cfg(unix)]
    {
        resolve_unix::resolve_absolute(&abs)
    }
    #[cfg(windows)]
    {
        resolve_windows::resolve_absolute(&abs)
    }
}

/// [`resolve`] of the absolute path `abs`, telling `looked_in` each directory in which a name
/// is looked up on the way, and the name (the entries that decide the result).
#[cfg(unix)]
pub(crate) fn resolve_looking_in(
    abs: &Path,
    looked_in: &mut dyn FnMut(&Path, &std::ffi::OsStr),
) -> io::Result<PathBuf> {
    resolve_unix::resolve_absolute_in(abs, looked_in)
}

/// True only when `p` is certainly `root` or beneath it, comparing whole components: use it to
/// grant. Both paths must be absolute and resolved (see `resolve`). Exact on Unix; on Windows
/// case-insensitive and spelling-aware (see `windows::is_beneath`).
pub fn is_beneath(p: &Path, root: &Path) -> bool {
    #[cfg(windows)]
    if let (Some(p), Some(root)) = (p.to_str(), root.to_str()) {
        return windows::is_beneath(p, root);
    }
    p.starts_with(root)
}

/// False only when `p` is certainly outside `root`: use it for protected and deny-read paths so
/// that a doubtful spelling stays protected. On Unix it also matches case-insensitively, since a
/// case-folding file system (vfat, ntfs3, ext4 casefold, macOS) opens `.GIT/hooks` as `.git/hooks`.
pub fn may_be_beneath(p: &Path, root: &Path) -> bool {
    #[cfg(windows)]
    if let (Some(p), Some(root)) = (p.to_str(), root.to_str()) {
        return windows::may_be_beneath(p, root);
    }
    let mut pc = p.components();
    root.components().all(|r| {
        pc.next().is_some_and(|c| {
            c == r
                || matches!(
                    (c.as_os_str().to_str(), r.as_os_str().to_str()),
                    (Some(a), Some(b)) if a.to_lowercase() == b.to_lowercase()
                )
        })
    })
}
