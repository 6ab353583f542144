//! The ACEs that carve read-only holes (protected paths) out of a writable root for the root's
//! SID. Nothing is created: a protected path exists when the spec is made (a missing control
//! path is *watched* by the core and removed after the run, `paddock_core::integrity`), and a
//! `Missing` one or one that vanished since is refused, never created with the caller's rights.
//!
//! Guarantees, for protected path P in root R with SID S: a deny of every write right on P
//! (inherited by everything below a directory P); a DELETE deny for S and a FILE_DELETE_CHILD
//! deny for Everyone on every directory from P's parent up to R (and on a directory P; R's own
//! DELETE deny is the kept one `plan` gives every root), so that neither P nor any folder holding
//! it can be deleted or renamed away and replaced. Everyone, because a write-restricted token's
//! FILE_DELETE_CHILD is judged by the user's own rights; the user loses nothing while the run
//! lasts, as deleting through DELETE on a child still works. These ACEs are per-run (reference
//! counted between concurrent runs), so a run with fewer protections never strips another's.

use super::{Lifetime, PlannedAce};
use crate::acl::{Ace, AceFlags};
use crate::error::WindowsError;
use crate::mask::AccessMask;
use crate::sid::Sid;
use crate::store::{AclStore, EntryKind};
use crate::winpath;
use paddock_core::spec::{PathKind, ProtectedPath};
use std::path::Path;

/// What the protected path `p` is on disk now. Refuses a path the spec lists as missing
/// (`ProtectedMissing`) or that no longer exists (`ProtectedVanished`): a deny needs an object
/// to sit on, and creating one would be a write with the caller's rights where a command may
/// have shaped the path.
pub(super) fn existing_kind(
    p: &ProtectedPath,
    store: &dyn AclStore,
) -> Result<EntryKind, WindowsError> {
    if p.kind == PathKind::Missing {
        return Err(WindowsError::ProtectedMissing {
            path: p.path.clone(),
        });
    }
    store
        .kind(&p.path)?
        .ok_or_else(|| WindowsError::ProtectedVanished {
            path: p.path.clone(),
        })
}

/// Appends the ACEs protecting `p` (an existing `kind`, see `existing_kind`) inside `root` for
/// `sid`.
pub(super) fn protect(
    root: &Path,
    sid: &Sid,
    p: &ProtectedPath,
    kind: EntryKind,
    aces: &mut Vec<PlannedAce>,
) {
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
        return;
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
