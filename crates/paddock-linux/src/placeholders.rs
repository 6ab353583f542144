//! Placeholders for protected paths that do not exist yet. A mount can only pin an existing
//! name, so the supervisor creates the missing name (and its missing parents) on the host before
//! the sandbox starts; the init then binds it read-only and the command cannot create, replace
//! or remove it. Placeholders stay after the run (removing one would unmount it in concurrent
//! runs). What is created is `paddock_core::spec::placeholder_kind`'s choice, shared with the
//! Windows backend: an empty `.git` directory in a workspace without a repository (git treats
//! it as no repository), empty `hooks`/`.paddock` directories, empty `config` files.

use crate::plan::{LinuxError, PlanPath};
use paddock_core::spec::{PathKind, ProtectedPath, placeholder_kind};
use std::path::Path;

/// Turns the spec's protected paths into plan entries, creating a placeholder for each missing
/// one. A `Missing` entry whose name turns out to exist now (created since the spec was made)
/// is taken as it is.
pub fn materialize(protected: &[ProtectedPath]) -> Result<Vec<PlanPath>, LinuxError> {
    let mut out = Vec::with_capacity(protected.len());
    for p in protected {
        let kind = match p.kind {
            PathKind::Missing => create(&p.path)?,
            k => k,
        };
        out.push(PlanPath {
            path: p.path.clone(),
            kind,
        });
    }
    Ok(out)
}

fn create(path: &Path) -> Result<PathKind, LinuxError> {
    let err = |source| LinuxError::Placeholder {
        path: path.to_path_buf(),
        source,
    };
    if let Ok(m) = std::fs::symlink_metadata(path) {
        return Ok(if m.is_dir() {
            PathKind::Dir
        } else {
            PathKind::File
        });
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let kind = placeholder_kind(path);
    let made = match kind {
        PathKind::Dir => std::fs::create_dir(path),
        _ => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map(drop),
    };
    match made {
        Ok(()) => Ok(kind),
        // Someone created it between our check and now: use what is there.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let m = std::fs::symlink_metadata(path).map_err(err)?;
            Ok(if m.is_dir() {
                PathKind::Dir
            } else {
                PathKind::File
            })
        }
        Err(e) => Err(err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing(p: &Path) -> ProtectedPath {
        ProtectedPath {
            path: p.to_path_buf(),
            kind: PathKind::Missing,
            reason: "test".into(),
        }
    }

    #[test]
    fn git_config_and_paddock_toml_become_files_hooks_and_dot_paddock_directories() {
        assert_eq!(
            placeholder_kind(Path::new("/w/.git/config")),
            PathKind::File
        );
        assert_eq!(
            placeholder_kind(Path::new("/w/paddock.toml")),
            PathKind::File
        );
        assert_eq!(placeholder_kind(Path::new("/w/.git/hooks")), PathKind::Dir);
        assert_eq!(placeholder_kind(Path::new("/w/.paddock")), PathKind::Dir);
    }

    #[test]
    fn missing_hooks_in_a_missing_git_dir_are_created_with_their_parent() {
        let ws = tempfile::tempdir().unwrap();
        let hooks = ws.path().join(".git/hooks");
        let plan = materialize(&[missing(&hooks)]).unwrap();
        assert!(hooks.is_dir());
        assert_eq!(plan[0].kind, PathKind::Dir);
    }

    #[test]
    fn a_missing_entry_that_exists_now_is_taken_as_it_is() {
        let ws = tempfile::tempdir().unwrap();
        let cfg = ws.path().join("paddock.toml");
        std::fs::create_dir(&cfg).unwrap();
        assert_eq!(
            materialize(&[missing(&cfg)]).unwrap()[0].kind,
            PathKind::Dir
        );
    }
}
