//! The ACEs that carve read-only holes (protected paths) out of a writable root for the root's
//! SID, and the protected paths to pre-create so that the sandbox cannot create them itself.
//!
//! Guarantees, for protected path P in root R with SID S: a deny of every write right on P
//! (inherited by everything below a directory P); a DELETE deny for S and a FILE_DELETE_CHILD
//! deny for Everyone on every directory from P's parent up to R (and on a directory P; R's own
//! DELETE deny is the kept one `plan` gives every root), so that
//! neither P nor any folder holding it can be deleted or renamed away and replaced. Everyone,
//! because a write-restricted token's FILE_DELETE_CHILD is judged by the user's own rights;
//! the user loses nothing while the run lasts, as deleting through DELETE on a child still works. A missing P (the core's
//! spec no longer lists any: missing control paths are watched and checked after the run) is
//! pre-created as `missing_kind` says (directories for `.git`, `hooks`, `.paddock`;
//! empty files for `config`, `paddock.toml`); missing
//! folders between R and P are pre-created as directories. These ACEs are per-run (reference
//! counted between concurrent runs), so a run with fewer protections never strips another's.

use super::{Lifetime, PlannedAce, Precreate};
use crate::acl::{Ace, AceFlags};
use crate::error::WindowsError;
use crate::mask::AccessMask;
use crate::sid::Sid;
use crate::store::{AclStore, EntryKind};
use crate::winpath;
use paddock_core::spec::ProtectedPath;
use std::path::{Path, PathBuf};

/// Appends the ACEs and pre-creations protecting `p` inside `root` for `sid`.
pub(super) fn protect(
    root: &Path,
    sid: &Sid,
    p: &ProtectedPath,
    store: &dyn AclStore,
    aces: &mut Vec<PlannedAce>,
    precreate: &mut Vec<Precreate>,
) -> Result<(), WindowsError> {
    let kind = match store.kind(&p.path)? {
        Some(k) => k,
        None => {
            plan_precreate(root, &p.path, store, precreate)?;
            missing_kind(&p.path)
        }
    };
    let flags = if kind == EntryKind::Dir {
        AceFlags::OICI
    } else {
        AceFlags::NONE
    };
    let why = format!("protected: {}", p.reason);
    push(
        aces,
        root,
        &p.path,
        Ace::deny(sid.clone(), AccessMask::ALL_WRITE, flags),
        &why,
    );
    if kind == EntryKind::Dir {
        // FILE_DELETE_CHILD is judged by the user's rights alone (see
        // `AccessMask::WRITE_RESTRICTED_CHECKED`), so only a deny that matches the user stops
        // deleting what is inside P. Everyone keeps deleting through DELETE on each child.
        let why = format!(
            "stops deleting inside {} through the folder",
            p.path.display()
        );
        push(
            aces,
            root,
            &p.path,
            Ace::deny(
                Sid::everyone(),
                AccessMask::FILE_DELETE_CHILD,
                AceFlags::CONTAINER_INHERIT,
            ),
            &why,
        );
    }
    if winpath::same(&p.path, root) {
        return Ok(());
    }
    // Every folder from P's parent up to the root: neither P (FILE_DELETE_CHILD on its folder,
    // denied to Everyone for the run) nor any folder holding it (DELETE, which renaming needs,
    // denied to the root's SID) can be moved away and replaced.
    let why = format!(
        "stops deleting or renaming {} or a folder holding it",
        p.path.display()
    );
    let mut dir = winpath::parent(&p.path);
    while let Some(d) = dir {
        if !winpath::is_beneath(&d, root) {
            break;
        }
        // The root's own DELETE deny is kept with its grant (`plan`): a per-run copy of the same
        // ACE would take the kept one with it when the run ends.
        if !winpath::same(&d, root) {
            push(
                aces,
                root,
                &d,
                Ace::deny(sid.clone(), AccessMask::DELETE, AceFlags::NONE),
                &why,
            );
        }
        push(
            aces,
            root,
            &d,
            Ace::deny(
                Sid::everyone(),
                AccessMask::FILE_DELETE_CHILD,
                AceFlags::NONE,
            ),
            &why,
        );
        if winpath::same(&d, root) {
            break;
        }
        dir = winpath::parent(&d);
    }
    Ok(())
}

/// What a missing protected path is created as (see the module doc).
pub(super) fn missing_kind(p: &Path) -> EntryKind {
    let name = winpath::file_name(p)
        .map(|n| n.to_ascii_lowercase())
        .unwrap_or_default();
    match name.as_str() {
        ".git" | "hooks" | ".paddock" => EntryKind::Dir,
        "config" | "paddock.toml" => EntryKind::File,
        n if n.len() > 1 && n[1..].contains('.') => EntryKind::File,
        _ => EntryKind::Dir,
    }
}

fn plan_precreate(
    root: &Path,
    p: &Path,
    store: &dyn AclStore,
    out: &mut Vec<Precreate>,
) -> Result<(), WindowsError> {
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut cur = winpath::parent(p);
    while let Some(d) = cur {
        if !winpath::is_beneath(&d, root) || store.exists(&d)? {
            break;
        }
        missing.push(d.clone());
        cur = winpath::parent(&d);
    }
    for d in missing.into_iter().rev() {
        if !out.iter().any(|c| winpath::same(&c.path, &d)) {
            out.push(Precreate {
                path: d,
                kind: EntryKind::Dir,
                reason: format!("folder of {}", p.display()),
            });
        }
    }
    if !out.iter().any(|c| winpath::same(&c.path, p)) {
        out.push(Precreate {
            path: p.to_path_buf(),
            kind: missing_kind(p),
            reason: "protected path that does not exist yet: created so it can carry a deny".into(),
        });
    }
    Ok(())
}

fn push(aces: &mut Vec<PlannedAce>, root: &Path, path: &Path, ace: Ace, reason: &str) {
    if aces
        .iter()
        .any(|a| a.ace == ace && winpath::same(&a.path, path))
    {
        return;
    }
    aces.push(PlannedAce {
        path: path.to_path_buf(),
        ace,
        lifetime: Lifetime::PerRun,
        root: Some(root.to_path_buf()),
        reason: reason.to_string(),
    });
}
