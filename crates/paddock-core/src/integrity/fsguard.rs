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
        // std's remove_dir_all does not follow symlinks inside the tree. A tree the command
        // made unwritable or unsearchable (`chmod 500` on a folder in it) is the caller's own:
        // its folders are opened up and the removal tried once more.
        if let Err(e) = std::fs::remove_dir_all(path) {
            if e.kind() != std::io::ErrorKind::PermissionDenied || !open_up_folders(path, 0) {
                return Err(e);
            }
            std::fs::remove_dir_all(path)?;
        }
    } else {
        std::fs::remove_file(path)?;
    }
    Ok(true)
}

/// Gives the owner full rights on `dir` and every folder below it down to the walks' depth
/// limit, never following a link (Unix; elsewhere nothing to do). Returns whether anything was
/// changed.
#[cfg(unix)]
fn open_up_folders(dir: &Path, depth: usize) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    if !meta.is_dir() || meta.file_type().is_symlink() {
        return false;
    }
    let mode = meta.permissions().mode();
    let mut changed = false;
    if mode & 0o700 != 0o700 {
        changed =
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o700)).is_ok();
    }
    if depth < super::discover::MAX_WALK_DEPTH
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                changed |= open_up_folders(&entry.path(), depth + 1);
            }
        }
    }
    changed
}

#[cfg(not(unix))]
fn open_up_folders(_dir: &Path, _depth: usize) -> bool {
    false
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

    /// A planted tree with folders made unwritable and unsearchable is opened up for its
    /// removal (for a caller who is not root, `remove_dir_all` failed on it and the plant
    /// stayed); a link inside it is not followed, so a folder outside keeps its mode.
    #[cfg(unix)]
    #[test]
    fn a_locked_planted_tree_is_opened_up_without_following_links() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let plant = d.path().join(".claude");
        let outside = d.path().join("outside");
        std::fs::create_dir_all(plant.join("a/b")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(plant.join("a/b/settings.json"), "{}").unwrap();
        std::os::unix::fs::symlink(&outside, plant.join("a/link")).unwrap();
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
        let set = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        set(&outside, 0o500);
        set(&plant.join("a/b"), 0o000);
        set(&plant.join("a"), 0o500);
        assert!(open_up_folders(&plant, 0));
        assert_eq!(mode(&plant.join("a")) & 0o700, 0o700);
        assert_eq!(mode(&plant.join("a/b")) & 0o700, 0o700);
        assert_eq!(mode(&outside), 0o500);
        assert!(!open_up_folders(&plant, 0), "nothing left to change");
        assert!(remove_beneath(d.path(), &plant).unwrap());
        assert!(!plant.exists() && outside.exists());
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
