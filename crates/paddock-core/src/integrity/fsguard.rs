//! File operations the supervisor makes with the caller's full rights on places a sandboxed
//! command could have shaped: they never follow a symlink planted there, never block on a FIFO or
//! device, and only act beneath a given root. (Reading such a file is `files::read_regular_file`.)
//!
//! They are called before the sandbox starts or after every sandboxed process has ended, so the
//! command cannot race them; another sandbox run started concurrently on the same root could.

use std::path::{Component, Path, PathBuf};

/// True when every component of `path` below `root` (both absolute) is a real directory or,
/// for the last one, anything but reached without a symlink on the way; false when `path` is not
/// beneath `root` or a link lies between them.
pub fn reached_without_links(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let mut cur = root.to_path_buf();
    let parts: Vec<Component> = rel.components().collect();
    for (i, part) in parts.iter().enumerate() {
        let Component::Normal(name) = part else {
            return false;
        };
        cur.push(name);
        if i + 1 == parts.len() {
            break;
        }
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() && !m.file_type().is_symlink() => {}
            _ => return false,
        }
    }
    true
}

/// Removes what is at `path` (a file, a symlink itself, or a directory tree, never following a
/// link) when it lies beneath `root` with no link on the way. Returns false when it refused.
pub fn remove_beneath(root: &Path, path: &Path) -> std::io::Result<bool> {
    if !reached_without_links(root, path) {
        return Ok(false);
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(e),
    };
    if meta.is_dir() && !meta.file_type().is_symlink() {
        // std's remove_dir_all does not follow symlinks inside the tree.
        std::fs::remove_dir_all(path)?;
    } else {
        std::fs::remove_file(path)?;
    }
    Ok(true)
}

/// Renames `path` to a free sibling name `<name><suffix>[-N]` beneath `root`, with no link on
/// the way; returns the new path, or `None` when it refused.
pub fn rename_aside(root: &Path, path: &Path, suffix: &str) -> std::io::Result<Option<PathBuf>> {
    if !reached_without_links(root, path) {
        return Ok(None);
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(None);
    };
    for n in 0..100u32 {
        let mut new_name = name.to_os_string();
        new_name.push(suffix);
        if n > 0 {
            new_name.push(format!("-{n}"));
        }
        let target = parent.join(new_name);
        if std::fs::symlink_metadata(&target).is_ok() {
            continue;
        }
        std::fs::rename(path, &target)?;
        return Ok(Some(target));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn removal_refuses_a_path_reached_through_a_symlink() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("ws");
        let outside = d.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(outside.join("hooks")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join(".git")).unwrap();
        assert!(!remove_beneath(&root, &root.join(".git/hooks")).unwrap());
        assert!(outside.join("hooks").exists());
        // The link itself can be removed: it is the last component.
        assert!(remove_beneath(&root, &root.join(".git")).unwrap());
        assert!(outside.join("hooks").exists());
        assert!(!root.join(".git").exists());
    }

    #[test]
    fn rename_aside_picks_a_free_name() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::create_dir(root.join(".git.q")).unwrap();
        let new = rename_aside(root, &root.join(".git"), ".q")
            .unwrap()
            .unwrap();
        assert_eq!(new, root.join(".git.q-1"));
    }
}
