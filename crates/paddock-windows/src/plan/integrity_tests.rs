//! Issue 9 on the Windows plan, judged by the access-check model: in a workspace with every kind
//! of git control file (a nested repository, a linked worktree's `.git` file, its gitdir with
//! `commondir` and `config.worktree`, `info/`, a `core.hooksPath` folder) and Paddock's config
//! folder inside the root, the sandbox token can neither change, delete, rename nor replace an
//! existing control path or any folder holding one, nothing is created for a missing one
//! (watched: removed after the run, which needs the user, not the sandbox, to be able to delete
//! it), and git's everyday writes (index, objects, refs, logs) stay allowed.

use super::*;
use crate::explain::Operation;
use crate::testworld::*;
use paddock_core::integrity::discover::GIT_CONTROL_FILES;
use paddock_core::spec::{PathKind, ProtectedPath, WatchedPath};

const DIRS: &[&str] = &[
    r"C:\Users\me\repo\.git\info",
    r"C:\Users\me\repo\.git\refs",
    r"C:\Users\me\repo\.git\refs\heads",
    r"C:\Users\me\repo\.git\logs",
    r"C:\Users\me\repo\.git\objects\ab",
    r"C:\Users\me\repo\.git\objects\info",
    r"C:\Users\me\repo\.git\worktrees",
    r"C:\Users\me\repo\.git\worktrees\feature",
    r"C:\Users\me\repo\.husky",
    r"C:\Users\me\repo\vendor",
    r"C:\Users\me\repo\vendor\lib",
    r"C:\Users\me\repo\vendor\lib\.git",
    r"C:\Users\me\repo\vendor\lib\.git\objects",
    r"C:\Users\me\repo\vendor\lib\.git\refs",
    r"C:\Users\me\repo\wt",
    r"C:\Users\me\repo\wt\feature",
    r"C:\Users\me\repo\wt\feature\src",
    r"C:\Users\me\repo\.config",
    r"C:\Users\me\repo\.config\paddock",
];

const FILES: &[&str] = &[
    r"C:\Users\me\repo\.git\HEAD",
    r"C:\Users\me\repo\.git\index",
    r"C:\Users\me\repo\.git\config.worktree",
    r"C:\Users\me\repo\.git\info\exclude",
    r"C:\Users\me\repo\.git\refs\heads\main",
    r"C:\Users\me\repo\.git\logs\HEAD",
    r"C:\Users\me\repo\.git\objects\ab\cdef0123",
    r"C:\Users\me\repo\.git\worktrees\feature\HEAD",
    r"C:\Users\me\repo\.git\worktrees\feature\commondir",
    r"C:\Users\me\repo\.git\worktrees\feature\gitdir",
    r"C:\Users\me\repo\.git\worktrees\feature\index",
    r"C:\Users\me\repo\.git\worktrees\feature\config.worktree",
    r"C:\Users\me\repo\.husky\pre-commit",
    r"C:\Users\me\repo\vendor\lib\.git\HEAD",
    r"C:\Users\me\repo\vendor\lib\.git\config",
    r"C:\Users\me\repo\vendor\lib\.git\index",
    r"C:\Users\me\repo\vendor\lib\lib.c",
    r"C:\Users\me\repo\wt\feature\.git",
    r"C:\Users\me\repo\wt\feature\src\lib.rs",
    r"C:\Users\me\repo\.config\paddock\config.toml",
    r"C:\Users\me\repo\.config\paddock\rules.toml",
    r"C:\Users\me\repo\paddock.toml",
];

/// The git directories `discover::find_repos` reports for this tree, and the common dir each
/// shares (the worktree's `commondir` names `..\..`).
const GIT_DIRS: &[(&str, Option<&str>)] = &[
    (r"C:\Users\me\repo\.git", None),
    (
        r"C:\Users\me\repo\.git\worktrees\feature",
        Some(r"C:\Users\me\repo\.git"),
    ),
    (r"C:\Users\me\repo\vendor\lib\.git", None),
];

/// The testworld machine plus the tree above.
fn integrity_world() -> World {
    let mut w = world();
    for d in DIRS {
        w.store.create_dir(&p(d)).unwrap();
    }
    for f in FILES {
        w.store.create_file(&p(f)).unwrap();
    }
    w
}

/// Adds `path` as `SandboxSpec::from_policy`'s `push_protected` does: protected with its kind
/// when it exists, watched when it does not.
fn control(w: &World, spec: &mut SandboxSpec, path: PathBuf, reason: &str) {
    let kind = match w.store.kind(&path).unwrap() {
        Some(EntryKind::Dir) => PathKind::Dir,
        Some(EntryKind::File) => PathKind::File,
        None => {
            if !spec.watched.iter().any(|x| winpath::same(&x.path, &path)) {
                spec.watched.push(WatchedPath {
                    path,
                    reason: reason.into(),
                });
            }
            return;
        }
    };
    if !spec.protected.iter().any(|x| winpath::same(&x.path, &path)) {
        spec.protected.push(ProtectedPath {
            path,
            kind,
            reason: reason.into(),
        });
    }
}

/// The spec `from_policy` makes for this tree on Windows: every git dir's control files (the
/// core's own list), the worktree's `.git` file, the `core.hooksPath` folder the main config
/// names (`.husky`, relative to each work tree), Paddock's config folder (PADDOCK_CONFIG_DIR
/// inside the workspace) and the project's `paddock.toml`.
fn integrity_spec(w: &World) -> SandboxSpec {
    let mut spec = SandboxSpec {
        protected: Vec::new(),
        watched: Vec::new(),
        repos: GIT_DIRS.iter().map(|(d, _)| p(d)).collect(),
        ..workspace_spec()
    };
    for (dir, common) in GIT_DIRS {
        for d in std::iter::once(dir).chain(common) {
            for (name, why) in GIT_CONTROL_FILES {
                control(w, &mut spec, winpath::join(&p(d), name), why);
            }
        }
    }
    let extra = [
        (
            r"C:\Users\me\repo\wt\feature\.git",
            "`.git` file points git at its gitdir",
        ),
        (r"C:\Users\me\repo\.husky", "core.hooksPath"),
        (r"C:\Users\me\repo\wt\feature\.husky", "core.hooksPath"),
        (
            r"C:\Users\me\repo\.config\paddock",
            "Paddock's own config and state",
        ),
        (r"C:\Users\me\repo\paddock.toml", "Paddock's own config"),
    ];
    for (path, why) in extra {
        control(w, &mut spec, p(path), why);
    }
    spec
}

/// Every right that changes an object or its security, one by one.
const CHANGES: [AccessMask; 7] = [
    AccessMask::FILE_WRITE_DATA,
    AccessMask::FILE_APPEND_DATA,
    AccessMask::FILE_WRITE_EA,
    AccessMask::FILE_WRITE_ATTRIBUTES,
    AccessMask::DELETE,
    AccessMask::WRITE_DAC,
    AccessMask::WRITE_OWNER,
];

#[test]
fn the_spec_covers_every_kind_of_control_path_the_issue_names() {
    let w = integrity_world();
    let spec = integrity_spec(&w);
    let protected: Vec<_> = spec
        .protected
        .iter()
        .map(|x| winpath::key(&x.path))
        .collect();
    for want in [
        r"C:\Users\me\repo\.git\config",
        r"C:\Users\me\repo\.git\config.worktree",
        r"C:\Users\me\repo\.git\hooks",
        r"C:\Users\me\repo\.git\info",
        r"C:\Users\me\repo\.git\worktrees\feature\commondir",
        r"C:\Users\me\repo\.git\worktrees\feature\config.worktree",
        r"C:\Users\me\repo\vendor\lib\.git\config",
        r"C:\Users\me\repo\wt\feature\.git",
        r"C:\Users\me\repo\.husky",
        r"C:\Users\me\repo\.config\paddock",
        r"C:\Users\me\repo\paddock.toml",
    ] {
        assert!(
            protected.contains(&winpath::key(&p(want))),
            "{want} not protected"
        );
    }
    let watched: Vec<_> = spec.watched.iter().map(|x| winpath::key(&x.path)).collect();
    for want in [
        r"C:\Users\me\repo\.git\commondir",
        r"C:\Users\me\repo\.git\objects\info\alternates",
        r"C:\Users\me\repo\.git\worktrees\feature\hooks",
        r"C:\Users\me\repo\vendor\lib\.git\hooks",
        r"C:\Users\me\repo\vendor\lib\.git\info",
        r"C:\Users\me\repo\wt\feature\.husky",
    ] {
        assert!(
            watched.contains(&winpath::key(&p(want))),
            "{want} not watched"
        );
    }
}

#[test]
fn the_sandbox_cannot_change_delete_rename_or_replace_any_existing_control_path() {
    let mut w = integrity_world();
    let spec = integrity_spec(&w);
    let (_, t, _run) = applied(&mut w, &spec);
    let root = p(REPO);
    for pp in &spec.protected {
        let path = &pp.path;
        for mask in CHANGES {
            assert!(
                !has(&w, &t, path, mask),
                "{} granted on {}",
                mask.names().join(" "),
                path.display()
            );
        }
        // Renaming it away, or renaming something over it, needs DELETE on it or
        // FILE_DELETE_CHILD on its folder: `Delete` checks both.
        assert!(
            !can(&w, &t, path, Operation::Delete),
            "{} can be deleted or renamed",
            path.display()
        );
        if pp.kind == PathKind::Dir {
            for op in [Operation::CreateFile, Operation::CreateDir] {
                let inside = path.join("planted");
                assert!(!can(&w, &t, &inside, op), "{op:?} {}", inside.display());
            }
            for child in w.store.paths() {
                if winpath::is_beneath(&child, path) && !winpath::same(&child, path) {
                    assert!(
                        !can(&w, &t, &child, Operation::Write),
                        "{}",
                        child.display()
                    );
                    assert!(
                        !can(&w, &t, &child, Operation::Delete),
                        "{}",
                        child.display()
                    );
                }
            }
        }
        // Nor can any folder holding it be moved away (and a junction put in its place).
        let mut dir = winpath::parent(path);
        while let Some(d) = dir.filter(|d| !winpath::same(d, &root)) {
            assert!(
                !can(&w, &t, &d, Operation::Delete),
                "{} (holding {}) can be renamed away",
                d.display(),
                path.display()
            );
            dir = winpath::parent(&d);
        }
    }
    assert!(
        !can(&w, &t, &root, Operation::CreateDir),
        "the root's name cannot be taken by a junction"
    );
}

#[test]
fn paddock_config_inside_a_root_is_read_only_to_the_command() {
    let mut w = integrity_world();
    let spec = integrity_spec(&w);
    let (_, t, _run) = applied(&mut w, &spec);
    for (path, op) in [
        (
            r"C:\Users\me\repo\.config\paddock\config.toml",
            Operation::Write,
        ),
        (
            r"C:\Users\me\repo\.config\paddock\rules.toml",
            Operation::Delete,
        ),
        (
            r"C:\Users\me\repo\.config\paddock\state",
            Operation::CreateDir,
        ),
        (r"C:\Users\me\repo\.config\paddock", Operation::Delete),
        (r"C:\Users\me\repo\paddock.toml", Operation::Write),
    ] {
        assert!(!can(&w, &t, p(path), op), "{op:?} {path} allowed");
    }
}

#[test]
fn git_commit_still_works_in_every_repository_and_worktree() {
    let mut w = integrity_world();
    let spec = integrity_spec(&w);
    let (_, t, _run) = applied(&mut w, &spec);
    for (path, op) in [
        (r"C:\Users\me\repo\.git\index", Operation::Write),
        (r"C:\Users\me\repo\.git\index.lock", Operation::CreateFile),
        // `index.lock` renamed over `index` needs DELETE on the old index.
        (r"C:\Users\me\repo\.git\index", Operation::Delete),
        (
            r"C:\Users\me\repo\.git\objects\ab\tmp_obj_1",
            Operation::CreateFile,
        ),
        (r"C:\Users\me\repo\.git\objects\cd", Operation::CreateDir),
        (r"C:\Users\me\repo\.git\objects\pack", Operation::CreateDir),
        (r"C:\Users\me\repo\.git\refs\heads\main", Operation::Write),
        (r"C:\Users\me\repo\.git\refs\heads\main", Operation::Delete),
        (
            r"C:\Users\me\repo\.git\refs\heads\main.lock",
            Operation::CreateFile,
        ),
        (
            r"C:\Users\me\repo\.git\refs\heads\topic",
            Operation::CreateFile,
        ),
        (r"C:\Users\me\repo\.git\HEAD", Operation::Write),
        (r"C:\Users\me\repo\.git\logs\HEAD", Operation::Write),
        (
            r"C:\Users\me\repo\.git\COMMIT_EDITMSG",
            Operation::CreateFile,
        ),
        (r"C:\Users\me\repo\.git\ORIG_HEAD", Operation::CreateFile),
        (r"C:\Users\me\repo\.git\packed-refs", Operation::CreateFile),
        (r"C:\Users\me\repo\.git\config.lock", Operation::CreateFile),
        (
            r"C:\Users\me\repo\.git\worktrees\feature\index",
            Operation::Write,
        ),
        (
            r"C:\Users\me\repo\.git\worktrees\feature\HEAD",
            Operation::Write,
        ),
        (r"C:\Users\me\repo\vendor\lib\.git\index", Operation::Write),
        (r"C:\Users\me\repo\vendor\lib\lib.c", Operation::Write),
        (r"C:\Users\me\repo\wt\feature\src\lib.rs", Operation::Write),
        (r"C:\Users\me\repo\src\main.rs", Operation::Write),
        (r"C:\Users\me\repo\src\main.rs", Operation::Delete),
    ] {
        assert!(can(&w, &t, p(path), op), "{op:?} {path} denied");
    }
}

#[test]
fn missing_control_paths_are_neither_created_nor_denied_and_the_user_can_remove_them_after() {
    let mut w = integrity_world();
    let spec = integrity_spec(&w);
    let before = w.store.paths();
    let (plan, t, run) = applied(&mut w, &spec);
    let state = winpath::key(w.registry.windows_dir());
    let created: Vec<_> = w
        .store
        .paths()
        .into_iter()
        .filter(|x| !before.contains(x) && !winpath::key(x).starts_with(&state))
        .collect();
    assert!(created.is_empty(), "created on the host: {created:?}");
    for watched in &spec.watched {
        assert!(
            plan.aces
                .iter()
                .all(|a| !winpath::same(&a.path, &watched.path)),
            "an ACE on the missing {}",
            watched.path.display()
        );
    }
    // What ACLs cannot stop (a name that does not exist yet carries no deny) the command may
    // plant: the after-run check removes it with the user's rights, so the user must be able to.
    let planted = [
        (r"C:\Users\me\repo\.git\commondir", EntryKind::File),
        (r"C:\Users\me\repo\vendor\lib\.git\hooks", EntryKind::Dir),
        (
            r"C:\Users\me\repo\vendor\lib\.git\hooks\post-checkout",
            EntryKind::File,
        ),
    ];
    for (path, kind) in planted {
        let op = match kind {
            EntryKind::File => Operation::CreateFile,
            EntryKind::Dir => Operation::CreateDir,
        };
        assert!(can(&w, &t, p(path), op), "{op:?} {path}");
        match kind {
            EntryKind::File => w.store.create_file(&p(path)).unwrap(),
            EntryKind::Dir => w.store.create_dir(&p(path)).unwrap(),
        }
    }
    let user = caller();
    for (path, _) in planted.iter().rev() {
        assert!(
            can(&w, &user, p(path), Operation::Delete),
            "the user cannot remove the planted {path} while the run's ACEs stand"
        );
    }
    run.finish(&mut w.store).unwrap();
    for (path, _) in planted.iter().rev() {
        assert!(can(&w, &user, p(path), Operation::Delete), "{path}");
    }
}
