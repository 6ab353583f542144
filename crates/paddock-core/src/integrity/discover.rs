//! Finds, before a run, everything inside the writable roots that git, Paddock or the user's shell
//! would read as configuration or run later: every repository's control files (at any depth),
//! the files and commands their configs name, Paddock's own config and state, shell start-up
//! files. Walks are bounded and never follow a symlink.

use super::gitconfig;
use super::roots_watch::RootsWatch;
use crate::files::{Location, read_regular_file};
use crate::paths;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The most directory entries one walk of the writable roots reads; a larger tree is refused
/// (the run would otherwise go unchecked).
pub const MAX_WALK_ENTRIES: usize = 1_000_000;
/// How deep a walk descends below a root; a deeper directory is refused (a repository there
/// would go unchecked).
pub const MAX_WALK_DEPTH: usize = 128;
/// How many `include.path` levels are followed.
const MAX_INCLUDE_DEPTH: usize = 8;
/// How many git directories one run tracks (modules and worktrees included).
pub const MAX_GIT_DIRS: usize = 4096;

/// Control files inside every git directory, besides `modules/` and `worktrees/` (whose new
/// entries are checked as new repositories after the run).
pub const GIT_CONTROL_FILES: &[(&str, &str)] = &[
    (
        "config",
        "git config can run code (core.fsmonitor, hooksPath, filters, aliases)",
    ),
    ("config.worktree", "per-worktree git config can run code"),
    (
        "commondir",
        "commondir points git at another config and hooks",
    ),
    ("hooks", "git hooks run code"),
    (
        "info",
        "git info/ (attributes select filters, exclude, sparse-checkout)",
    ),
    (
        "objects/info/alternates",
        "alternates make git read objects from elsewhere",
    ),
    (
        "objects/info/http-alternates",
        "alternates make git read objects from elsewhere",
    ),
];

/// Shell and session start-up files, relative to the home directory: protected when a writable
/// root contains them.
pub const HOME_CONTROL_FILES: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".zlogout",
    ".config/fish",
    ".config/autostart",
    ".config/systemd",
    ".config/environment.d",
    ".config/git",
    ".gitconfig",
    ".ssh",
    ".pam_environment",
    ".xprofile",
    ".xinitrc",
    ".xsessionrc",
    ".local/share/systemd",
    ".config/powershell",
    // PowerShell's profiles on Windows (a root may be `Documents`, which is not refused there).
    "Documents/PowerShell",
    "Documents/WindowsPowerShell",
    "OneDrive/Documents/PowerShell",
    "OneDrive/Documents/WindowsPowerShell",
];

/// One repository found in a writable root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Repo {
    /// The git directory (`X/.git`, a gitfile's target, a bare directory, `modules/NAME`).
    pub git_dir: PathBuf,
    /// Where git runs commands for it: the directory holding `.git`, or the git dir when bare.
    pub work_tree: PathBuf,
    /// The `.git` entry (directory or gitfile) that makes `work_tree` a repository, if any.
    pub dot_git: Option<PathBuf>,
}

/// A path that must not change during the run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub path: PathBuf,
    pub reason: String,
}

/// Why the writable roots could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    #[error(
        "{root} holds more than {limit} entries, too many to check for planted git repositories; \
         use a smaller workspace or writable root"
    )]
    TooLarge { root: PathBuf, limit: usize },
    #[error(
        "{path} lies {limit} directories below its writable root and holds more, too deep to \
         check for planted git repositories; flatten or remove it"
    )]
    TooDeep { path: PathBuf, limit: usize },
    #[error(
        "{path} can be entered but not listed, so a git repository inside it could not be \
         checked; give its owner read permission (chmod u+r) or remove it"
    )]
    Unlistable { path: PathBuf },
    #[error(
        "{path} is yours but can neither be listed nor entered, so a git repository inside it \
         could not be checked (a chmod would make it reachable again); restore its \
         permissions (chmod u+rwx) or remove it"
    )]
    Unreachable { path: PathBuf },
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
}

impl WalkError {
    /// A directory the walk could not look into (too deep, unlistable, unreadable), as opposed
    /// to a tree too large to walk at all: after a run the walk notes it and goes on.
    pub fn is_blind_spot(&self) -> bool {
        !matches!(self, WalkError::TooLarge { .. })
    }

    /// The directory the walk could not look into, or the root too large to walk.
    pub fn path(&self) -> &Path {
        match self {
            WalkError::TooLarge { root, .. } => root,
            WalkError::TooDeep { path, .. }
            | WalkError::Unlistable { path }
            | WalkError::Unreachable { path }
            | WalkError::Unreadable { path, .. } => path,
        }
    }
}

/// What git reads in a directory to take it for a git directory: `HEAD` and `objects` (or a
/// `commondir`). Looked at without following links at the entries themselves.
pub fn looks_like_git_dir(dir: &Path) -> bool {
    git_dir_looked_at(dir).unwrap_or(false)
}

/// Every repository under `roots`: `.git` directories and files, bare-looking directories,
/// and the `modules/` and `worktrees/` entries of each git dir. Never follows a symlink.
pub fn find_repos(roots: &[PathBuf]) -> Result<Vec<Repo>, WalkError> {
    find_repos_watched(roots, None)
}

/// [`find_repos`], watching each directory it lists with `watch` (see `roots_watch`), so that
/// the check after the run can use [`find_repos_after`].
pub fn find_repos_watched(
    roots: &[PathBuf],
    watch: Option<&mut RootsWatch>,
) -> Result<Vec<Repo>, WalkError> {
    walk_roots(roots, watch, None)
}

/// Walks every root (the entry limit holds per root), watching with `watch`. With `blind` (the
/// check after a run), what it cannot look into is noted there, a root too large to walk
/// included, and the walk goes on: what it found elsewhere is still checked.
fn walk_roots(
    roots: &[PathBuf],
    mut watch: Option<&mut RootsWatch>,
    mut blind: Option<&mut Vec<WalkError>>,
) -> Result<Vec<Repo>, WalkError> {
    let mut repos = BTreeSet::new();
    if let Some(w) = watch.as_deref_mut() {
        w.set_roots(roots);
    }
    let mut entries = 0;
    for root in roots {
        let mut seen = 0;
        let walked = walk_root(
            root,
            0,
            &mut seen,
            &mut repos,
            watch.as_deref_mut(),
            blind.as_deref_mut(),
        );
        if let Err(e) = walked {
            match blind.as_deref_mut() {
                Some(b) => b.push(e),
                None => return Err(e),
            }
        }
        entries += seen;
    }
    if let Some(w) = watch {
        w.set_entries(entries);
    }
    Ok(with_inner_git_dirs(repos.into_iter().collect(), &[]))
}

/// The repositories under `roots` now, exactly as [`find_repos`] would find them, from the
/// watches an earlier walk of the same roots set and the events they have gathered since (see
/// `roots_watch`): a resident front end's next pre-walk. Lists again what changed since the
/// watches were set, walks whole what was not listed then, and looks again at every `.git`
/// entry and bare repository found then whose path is intact. `Ok(None)` when the watches
/// cannot tell (other roots, an overflow, a directory not watched, a root moved): walk afresh.
pub fn find_repos_again(
    roots: &[PathBuf],
    watch: &mut RootsWatch,
) -> Result<Option<Vec<Repo>>, WalkError> {
    if !watch.may_reuse(roots) {
        return Ok(None);
    }
    let Some(Relisted { mut repos, gone }) = relist_changed(watch, None)? else {
        return Ok(None);
    };
    if !roots.iter().all(|r| watch.path_intact(r, &gone)) {
        return Ok(None);
    }
    // A bare repository found then is looked at again where its path is intact.
    for (dir, ino) in watch.bare_dirs() {
        if watch.path_intact(dir, &gone)
            && watch.still_known(dir, *ino, &gone)
            && looks_like_git_dir(dir)
        {
            repos.insert(Repo {
                git_dir: dir.clone(),
                work_tree: dir.clone(),
                dot_git: None,
            });
        }
    }
    Ok(Some(with_inner_git_dirs(repos.into_iter().collect(), &[])))
}

/// The repositories under `roots` after a run whose pre-walk set `watch`, as [`find_repos`]
/// would find them, or more: the directories that gained or lost an entry during the run are
/// listed again, what the pre-walk did not list below them is walked whole, every `.git`
/// entry the pre-walk saw is looked at again, and the `modules/` and `worktrees/` of every
/// repository, `known` (the pre-walk's git dirs) included, are searched as `find_repos` does.
/// A repository in an unchanged directory that the pre-walk found is not returned unless it is
/// in `known`'s inner folders; the after-run check skips known repositories anyway. Without
/// usable watches (see `RootsWatch::changes`) this is `find_repos`.
pub fn find_repos_after(
    roots: &[PathBuf],
    known: &[PathBuf],
    watch: Option<&mut RootsWatch>,
) -> Result<(Vec<Repo>, Vec<WalkError>), WalkError> {
    let mut blind = Vec::new();
    let relisted = match watch {
        Some(w) => relist_changed(w, Some(&mut blind))?,
        None => None,
    };
    let Some(relisted) = relisted else {
        blind.clear();
        let repos = walk_roots(roots, None, Some(&mut blind))?;
        return Ok((repos, blind));
    };
    let repos = with_inner_git_dirs(relisted.repos.into_iter().collect(), known);
    Ok((repos, blind))
}

/// What [`relist_changed`] found.
struct Relisted {
    repos: BTreeSet<Repo>,
    /// The watches whose directory was removed or moved.
    gone: BTreeSet<i32>,
}

/// What the watches' changes hold: the repositories in the directories that changed (listed
/// again; a subdirectory not listed by the pre-walk under that name and inode is walked whole)
/// and those the `.git` entries the pre-walk saw stand for now. A changed directory whose path
/// is no longer intact (a parent removed or moved) is skipped: whatever is at that path now is
/// below a directory walked whole. `None` when the watches cannot tell. Notes in `watch` how
/// many directories were listed.
/// With `blind`, a directory that cannot be looked into is noted there and the search goes on
/// (after a run); without, it is an error.
fn relist_changed(
    watch: &mut RootsWatch,
    mut blind: Option<&mut Vec<WalkError>>,
) -> Result<Option<Relisted>, WalkError> {
    let Some((changes, gone)) = watch.changes() else {
        return Ok(None);
    };
    let mut repos = BTreeSet::new();
    // Counted on from the pre-walk's entries (what was removed since is not taken off): past the
    // limit, the full walk decides.
    let mut seen = watch.entries();
    let mut listed = 0;
    for dir in changes.changed {
        if !watch.path_intact(&dir, &gone) {
            continue;
        }
        listed += 1;
        let depth = watch.depth_of(&dir);
        // A blind spot is noted (with `blind`) and the search goes on; the limits, without,
        // leave it to the full walk; anything else is an error.
        let subdirs = match scan_dir(&dir, &dir, &mut seen, &mut repos, &mut |_| {})
            .and_then(|s| too_deep(&dir, depth, s))
        {
            Ok(Some(subdirs)) => subdirs,
            Ok(None) => continue,
            Err(e) => match within_limits(note(e, blind.as_deref_mut()))? {
                Some(()) => continue,
                None => return Ok(None),
            },
        };
        for (sub, ino) in subdirs {
            if !watch.still_known(&sub, ino, &gone) {
                let walked = walk_root(
                    &sub,
                    depth + 1,
                    &mut seen,
                    &mut repos,
                    None,
                    blind.as_deref_mut(),
                );
                match within_limits(walked)? {
                    Some(n) => listed += n,
                    None => return Ok(None),
                }
            }
        }
    }
    // A `.git` entry seen before is looked at again where its directory's path is intact (its
    // content and a gitfile's target change without an event in that directory).
    for dot_git in watch.dot_gits() {
        let Some(work_tree) = dot_git.parent() else {
            continue;
        };
        if !watch.path_intact(work_tree, &gone) {
            continue;
        }
        let Ok(meta) = dot_git.symlink_metadata() else {
            continue;
        };
        let is_dir = meta.file_type().is_dir();
        if !is_dir || looks_like_git_dir(dot_git) {
            repos.insert(repo_for_dot_git(dot_git, work_tree, is_dir));
        }
    }
    watch.note_relisted(listed);
    Ok(Some(Relisted { repos, gone }))
}

/// `out` with the git dirs inside the `modules/` and `worktrees/` of each of its repositories
/// and of each of `more` (nested ones included).
fn with_inner_git_dirs(mut out: Vec<Repo>, more: &[PathBuf]) -> Vec<Repo> {
    for git_dir in more {
        for sub in ["modules", "worktrees"] {
            collect_inner_git_dirs(&git_dir.join(sub), &mut out, 0);
        }
    }
    let mut i = 0;
    while i < out.len() && out.len() < MAX_GIT_DIRS {
        let git_dir = out[i].git_dir.clone();
        for sub in ["modules", "worktrees"] {
            collect_inner_git_dirs(&git_dir.join(sub), &mut out, 0);
        }
        i += 1;
    }
    out
}

/// `scanned`, the listing of `dir` (`depth` directories below its root), or the error that
/// it has subdirectories the walk may not go into.
fn too_deep(
    dir: &Path,
    depth: usize,
    scanned: Option<Vec<(PathBuf, u64)>>,
) -> Result<Option<Vec<(PathBuf, u64)>>, WalkError> {
    match scanned {
        Some(subdirs) if depth >= MAX_WALK_DEPTH && !subdirs.is_empty() => {
            Err(WalkError::TooDeep {
                path: dir.to_path_buf(),
                limit: MAX_WALK_DEPTH,
            })
        }
        other => Ok(other),
    }
}

/// Notes `e` in `blind` when it is a blind spot and there is a `blind` (the walk goes on),
/// else returns it.
fn note(e: WalkError, blind: Option<&mut Vec<WalkError>>) -> Result<(), WalkError> {
    match blind {
        Some(b) if e.is_blind_spot() => {
            b.push(e);
            Ok(())
        }
        _ => Err(e),
    }
}

/// `result`, with the entry and depth limits read as "the watches cannot tell" (`Ok(None)`): a
/// walk from the watches counts entries and depth from where it starts, and the full walk
/// decides whether the tree is really too large or too deep.
fn within_limits<T>(result: Result<T, WalkError>) -> Result<Option<T>, WalkError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(WalkError::TooLarge { .. } | WalkError::TooDeep { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Walks `root` (`depth` directories below its writable root), adding the repositories below it to
/// `repos`, counting the entries read in `seen` and watching what it lists with `watch`;
/// returns how many directories it listed. A directory it cannot look into is an error, or,
/// with `blind`, noted there (the walk goes on).
fn walk_root(
    root: &Path,
    depth: usize,
    seen: &mut usize,
    repos: &mut BTreeSet<Repo>,
    mut watch: Option<&mut RootsWatch>,
    mut blind: Option<&mut Vec<WalkError>>,
) -> Result<usize, WalkError> {
    let mut listed = 0usize;
    let root_ino = match &watch {
        Some(_) => std::fs::symlink_metadata(root).map_or(0, |m| meta_ino(&m)),
        None => 0,
    };
    let mut stack = vec![(root.to_path_buf(), depth, root_ino)];
    while let Some((dir, depth, ino)) = stack.pop() {
        if let Some(w) = watch.as_deref_mut() {
            w.before_listing(&dir, ino);
        }
        listed += 1;
        let mut saw = |found: Found<'_>| {
            if let Some(w) = watch.as_deref_mut() {
                match found {
                    Found::DotGit(p) => w.saw_dot_git(p),
                    Found::Bare => w.saw_bare(&dir, ino),
                }
            }
        };
        let subdirs = match scan_dir(&dir, root, seen, repos, &mut saw)
            .and_then(|s| too_deep(&dir, depth, s))
        {
            Ok(Some(subdirs)) => subdirs,
            Ok(None) => continue,
            Err(e) => {
                note(e, blind.as_deref_mut())?;
                continue;
            }
        };
        stack.extend(subdirs.into_iter().map(|(p, ino)| (p, depth + 1, ino)));
    }
    Ok(listed)
}

/// What a listing found that the watches note: a `.git` entry, or that the directory listed is
/// a bare repository.
enum Found<'a> {
    DotGit(&'a Path),
    Bare,
}

/// Lists `dir` (a directory under `root`, counting its entries in `seen`): records `dir` as a
/// repository when it looks like a bare one (`found` is told; its subdirectories are returned
/// as any directory's)
/// and the repositories its `.git` entries stand for (each also given to `found`), and returns its
/// other subdirectories with their inode numbers. `None` when `dir` cannot be listed because it
/// is gone or closed to the caller (git could not read it either).
fn scan_dir(
    dir: &Path,
    root: &Path,
    seen: &mut usize,
    repos: &mut BTreeSet<Repo>,
    found: &mut dyn FnMut(Found<'_>),
) -> Result<Option<Vec<(PathBuf, u64)>>, WalkError> {
    let listing = match std::fs::read_dir(dir) {
        Ok(e) => e,
        // One that can be entered but not listed (mode --x) is where git could still run a
        // repository planted inside; one the caller owns (or whose blocking parent it owns)
        // can be made reachable again with a chmod, by the caller or by a sandboxed command
        // (which runs as the caller): both are refused. One owned by someone else that the
        // caller can neither list nor enter holds nothing the caller's git could run.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            if std::fs::symlink_metadata(dir.join(".")).is_ok() {
                return Err(WalkError::Unlistable {
                    path: dir.to_path_buf(),
                });
            }
            let owned = match std::fs::symlink_metadata(dir) {
                Ok(m) => owned_by_caller(&m),
                Err(_) => dir
                    .parent()
                    .and_then(|p| std::fs::symlink_metadata(p).ok())
                    .is_some_and(|m| owned_by_caller(&m)),
            };
            return if owned {
                Err(WalkError::Unreachable {
                    path: dir.to_path_buf(),
                })
            } else {
                Ok(None)
            };
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(WalkError::Unreadable {
                path: dir.to_path_buf(),
                reason: e.to_string(),
            });
        }
    };
    // The listing answers `looks_like_git_dir` without a stat per directory.
    let mut entries = Vec::new();
    let (mut head, mut objects) = (false, false);
    let unreadable = |e: std::io::Error| WalkError::Unreadable {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    };
    for entry in listing {
        // An entry the listing could not read would be one the walk passes over.
        let entry = entry.map_err(unreadable)?;
        *seen += 1;
        if *seen > MAX_WALK_ENTRIES {
            return Err(WalkError::TooLarge {
                root: root.to_path_buf(),
                limit: MAX_WALK_ENTRIES,
            });
        }
        let name = entry.file_name();
        head |= is_git_name(&name, "HEAD");
        objects |= is_git_name(&name, "objects") || is_git_name(&name, "commondir");
        entries.push(entry);
    }
    // A bare repository is walked below like any directory: git run in a directory below it
    // takes a `.git` there first, so a repository planted inside a bare one is as live as any.
    if head && objects && dir.file_name().is_none_or(|n| !is_dot_git(n)) {
        repos.insert(Repo {
            git_dir: dir.to_path_buf(),
            work_tree: dir.to_path_buf(),
            dot_git: None,
        });
        found(Found::Bare);
    }
    let mut subdirs = Vec::new();
    for entry in entries {
        let ft = entry.file_type().map_err(unreadable)?;
        let path = entry.path();
        if is_dot_git(&entry.file_name()) {
            found(Found::DotGit(&path));
            // A `.git` directory git would not take for a repository (an empty one, say) is
            // not one yet: if the run makes it one, it is checked as a new repository. One
            // whose insides cannot be looked at is refused, not taken for empty.
            if !ft.is_dir() || git_dir_looked_at(&path)? {
                repos.insert(repo_for_dot_git(&path, dir, ft.is_dir()));
            }
            continue;
        }
        if ft.is_dir() {
            subdirs.push((path, entry_ino(&entry)));
        }
    }
    Ok(Some(subdirs))
}

/// [`looks_like_git_dir`], with an error where an entry could not be looked at (rather than
/// taking it for missing), except in someone else's directory closed to the caller.
fn git_dir_looked_at(dir: &Path) -> Result<bool, WalkError> {
    let has = |n: &str| match std::fs::symlink_metadata(dir.join(n)) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) if e.raw_os_error() == Some(NOT_A_DIRECTORY) => Ok(false),
        // Someone else's `.git` closed to the caller (a `sudo git clone` with umask 077):
        // the caller's git cannot use it, and the caller cannot open it up.
        Err(e)
            if e.kind() == std::io::ErrorKind::PermissionDenied
                && std::fs::symlink_metadata(dir).is_ok_and(|m| !owned_by_caller(&m)) =>
        {
            Ok(false)
        }
        Err(e) => Err(WalkError::Unreadable {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        }),
    };
    Ok(has("HEAD")? && (has("objects")? || has("commondir")?))
}

/// ENOTDIR (a `.git` that is not a directory has no entries).
#[cfg(unix)]
const NOT_A_DIRECTORY: i32 = libc::ENOTDIR;
#[cfg(not(unix))]
const NOT_A_DIRECTORY: i32 = 267; // ERROR_DIRECTORY

/// True when the caller owns the file `m` describes (its effective uid).
fn owned_by_caller(m: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid takes nothing and cannot fail.
        std::os::unix::fs::MetadataExt::uid(m) == unsafe { libc::geteuid() }
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        false
    }
}

/// A directory entry's inode number as its listing gives it (0 where there is none).
fn entry_ino(entry: &std::fs::DirEntry) -> u64 {
    #[cfg(unix)]
    {
        std::os::unix::fs::DirEntryExt::ino(entry)
    }
    #[cfg(not(unix))]
    {
        let _ = entry;
        0
    }
}

/// A file's inode number (0 where there is none).
fn meta_ino(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        std::os::unix::fs::MetadataExt::ino(meta)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// True for the name of git's directory. On Windows the file system opens `.GIT` (any case) for
/// `.git`, so git for Windows takes it for the repository and the walk must too; elsewhere
/// git looks for `.git` exactly (and walks into a `.GIT` like any folder).
fn is_dot_git(name: &std::ffi::OsStr) -> bool {
    is_git_name(name, ".git")
}

/// True when a directory entry named `name` is what git opens as `wanted`: any case on Windows
/// (NTFS opens `head` for `HEAD`), exactly elsewhere.
fn is_git_name(name: &std::ffi::OsStr, wanted: &str) -> bool {
    if cfg!(windows) {
        name.to_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
    } else {
        name == wanted
    }
}

/// The repository a `.git` entry (directory, gitfile, or anything else) stands for.
fn repo_for_dot_git(dot_git: &Path, work_tree: &Path, is_dir: bool) -> Repo {
    let git_dir = if is_dir {
        dot_git.to_path_buf()
    } else {
        gitfile_target(dot_git).unwrap_or_else(|| dot_git.to_path_buf())
    };
    Repo {
        git_dir,
        work_tree: work_tree.to_path_buf(),
        dot_git: Some(dot_git.to_path_buf()),
    }
}

/// The `gitdir:` target of a gitfile, resolved against its directory; `None` for a symlink or
/// anything unreadable.
pub fn gitfile_target(dot_git: &Path) -> Option<PathBuf> {
    let bytes = read_regular_file(dot_git, Location::NoFinalLink, 64 * 1024)
        .ok()
        .flatten()?;
    let text = String::from_utf8_lossy(&bytes);
    let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
    let base = dot_git.parent()?;
    paths::resolve(base, Path::new(target)).ok()
}

/// `modules/a`, `modules/a/b` (nested submodule names), `worktrees/w`: git dirs inside a git
/// dir, found without following links.
fn collect_inner_git_dirs(dir: &Path, out: &mut Vec<Repo>, depth: usize) {
    if depth > 16 || out.len() >= MAX_GIT_DIRS {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if !ft.is_dir() {
            continue;
        }
        let p = e.path();
        if out.iter().any(|r| r.git_dir == p) {
            continue;
        }
        if looks_like_git_dir(&p) || p.join("gitdir").symlink_metadata().is_ok() {
            out.push(Repo {
                git_dir: p.clone(),
                work_tree: p,
                dot_git: None,
            });
        } else {
            collect_inner_git_dirs(&p, out, depth + 1);
        }
    }
}

/// Where the symlinks in a hooks folder point (`.git/hooks/pre-commit -> ../../scripts/x`):
/// git runs the target, so a target in a writable root must be protected too. Links are read,
/// not followed beyond one level; at most 256 entries.
fn linked_hooks(hooks: &Path) -> Vec<PathBuf> {
    // The links' targets are read too, but a link changes only by being replaced: an entry
    // made or removed in `hooks`.
    crate::looked_at::listing(hooks);
    let Ok(entries) = std::fs::read_dir(hooks) else {
        return Vec::new();
    };
    entries
        .flatten()
        .take(256)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_symlink()))
        .filter_map(|e| {
            let link = std::fs::read_link(e.path()).ok()?;
            Some(paths::normalize_lexically(&hooks.join(link)))
        })
        .collect()
}

/// The common dir a git dir shares (`commondir`), when it has one.
pub fn common_dir(git_dir: &Path) -> Option<PathBuf> {
    let bytes = read_regular_file(&git_dir.join("commondir"), Location::NoFinalLink, 64 * 1024)
        .ok()
        .flatten()?;
    let text = String::from_utf8_lossy(&bytes);
    paths::resolve(git_dir, Path::new(text.trim())).ok()
}

/// Everything under `roots` that must not change during the run: each repository's control
/// files, what its configs (and the user's global git configs) name as files or commands,
/// Paddock's config and state (`paddock_dirs`), and the user's shell start-up files. Paths outside every root are
/// left out (the sandbox cannot write them anyway).
///
/// `resolve` gives a path with every link followed, as `paths::resolve` does (`None` when it
/// cannot be resolved); the caller may answer from a cache of the ancestors the candidates
/// share.
pub fn control_paths(
    roots: &[PathBuf],
    repos: &[Repo],
    home: Option<&Path>,
    paddock_dirs: &[PathBuf],
    whole_git: bool,
    resolve: &mut dyn FnMut(&Path) -> Option<PathBuf>,
) -> Vec<Control> {
    let mut out: Vec<Control> = Vec::new();
    // Inside a root lexically or once links are followed: either way the sandbox could write it.
    let mut inside = |p: &Path| {
        roots.iter().any(|r| paths::is_beneath(p, r)) || {
            let resolved = resolve(p).unwrap_or_else(|| p.to_path_buf());
            roots.iter().any(|r| paths::is_beneath(&resolved, r))
        }
    };
    let mut add = |out: &mut Vec<Control>, p: PathBuf, reason: String| {
        if inside(&p) && !out.iter().any(|c| c.path == p) {
            out.push(Control { path: p, reason });
        }
    };
    let global = global_configs(home);
    for repo in repos {
        let mut dirs = vec![repo.git_dir.clone()];
        if let Some(c) = common_dir(&repo.git_dir).filter(|c| *c != repo.git_dir) {
            dirs.push(c);
        }
        if let Some(dot_git) = &repo.dot_git
            && {
                crate::looked_at::entry(dot_git);
                dot_git.symlink_metadata().is_ok_and(|m| !m.is_dir())
            }
        {
            add(
                &mut out,
                dot_git.clone(),
                "`.git` file points git at its gitdir".into(),
            );
        }
        for dir in &dirs {
            if whole_git {
                add(&mut out, dir.clone(), "protect_whole_git".into());
            }
            for (name, why) in GIT_CONTROL_FILES {
                add(&mut out, dir.join(name), (*why).to_string());
            }
            for target in linked_hooks(&dir.join("hooks")) {
                add(
                    &mut out,
                    target,
                    "a git hook links to it, so git runs it".into(),
                );
            }
        }
        let mut configs: Vec<PathBuf> = dirs.iter().map(|d| d.join("config")).collect();
        configs.push(repo.git_dir.join("config.worktree"));
        for cfg in &configs {
            named_by_config(cfg, &repo.work_tree, home, 0, &mut |p, why| {
                add(&mut out, p, why)
            });
        }
        for cfg in &global {
            named_by_config(cfg, &repo.work_tree, home, 0, &mut |p, why| {
                add(&mut out, p, why)
            });
        }
    }
    for cfg in &global {
        add(
            &mut out,
            cfg.clone(),
            "your global git config can run code".into(),
        );
    }
    for dir in paddock_dirs {
        add(
            &mut out,
            dir.clone(),
            "Paddock's own config and state (rules, audit log, sessions)".into(),
        );
    }
    if let Some(home) = home {
        for name in HOME_CONTROL_FILES {
            add(
                &mut out,
                home.join(name),
                "runs when you log in or start a shell".into(),
            );
        }
    }
    out
}

/// The user's global git configs: `~/.gitconfig`, `$XDG_CONFIG_HOME/git/config`,
/// `/etc/gitconfig`.
fn global_configs(home: Option<&Path>) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(h) = home {
        v.push(h.join(".gitconfig"));
    }
    match std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        Some(x) => v.push(PathBuf::from(x).join("git/config")),
        None => {
            if let Some(h) = home {
                v.push(h.join(".config/git/config"));
            }
        }
    }
    if cfg!(unix) {
        v.push(PathBuf::from("/etc/gitconfig"));
    }
    v
}

/// Calls `found` with every file or program `config` (and the files it includes) names:
/// include targets relative to the including file, hooks and commands relative to the work tree.
fn named_by_config(
    config: &Path,
    work_tree: &Path,
    home: Option<&Path>,
    depth: usize,
    found: &mut dyn FnMut(PathBuf, String),
) {
    if depth > MAX_INCLUDE_DEPTH {
        return;
    }
    let Ok(Some(text)) = gitconfig::read_file(config) else {
        return;
    };
    let Ok(entries) = gitconfig::parse(&text, false) else {
        return;
    };
    let config_dir = config.parent().unwrap_or(Path::new("/"));
    for e in &entries {
        let Some(value) = e.value.as_deref() else {
            continue;
        };
        let why = |what: &str| {
            format!(
                "{what} named by {} ({}.{})",
                config.display(),
                e.section,
                e.key
            )
        };
        if gitconfig::is_file_key(e) {
            let base = if e.section == "core" {
                work_tree
            } else {
                config_dir
            };
            let Some(target) = resolve_value(value, base, home) else {
                continue;
            };
            if e.section != "core" {
                named_by_config(&target, work_tree, home, depth + 1, found);
            } else {
                for linked in linked_hooks(&target) {
                    found(linked, why("the target of a hook link in a hooks folder"));
                }
            }
            found(target, why("a file git reads"));
        } else if gitconfig::is_command_key(e)
            && let Some(program) = gitconfig::command_program(value)
            && let Some(target) = resolve_value(&program, work_tree, home)
        {
            found(target, why("a program git runs"));
        }
    }
}

/// The path a config value names, absolute but with links left in place (the spec resolves it
/// and refuses a link that lies in writable space).
fn resolve_value(value: &str, base: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let expanded = paths::expand_tilde(Path::new(value), home);
    Some(paths::normalize_lexically(&base.join(expanded)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `control_paths` resolving each candidate from `/`.
    fn controls_from_root(
        roots: &[PathBuf],
        repos: &[Repo],
        home: Option<&Path>,
        paddock_dirs: &[PathBuf],
        whole_git: bool,
    ) -> Vec<Control> {
        control_paths(
            roots,
            repos,
            home,
            paddock_dirs,
            whole_git,
            &mut |p: &Path| paths::resolve(Path::new("/"), p).ok(),
        )
    }

    fn git_init(dir: &Path) {
        std::fs::create_dir_all(dir.join(".git/objects")).unwrap();
        std::fs::create_dir_all(dir.join(".git/refs")).unwrap();
        std::fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(dir.join(".git/config"), "[core]\n\tbare = false\n").unwrap();
    }

    fn tmp() -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = std::fs::canonicalize(d.path()).unwrap();
        (d, p)
    }

    #[test]
    fn nested_repositories_at_any_depth_are_found() {
        let (_d, ws) = tmp();
        git_init(&ws);
        git_init(&ws.join("a/b/c/vendored"));
        let repos = find_repos(std::slice::from_ref(&ws)).unwrap();
        let dirs: Vec<_> = repos.iter().map(|r| r.git_dir.clone()).collect();
        assert!(dirs.contains(&ws.join(".git")));
        assert!(dirs.contains(&ws.join("a/b/c/vendored/.git")));
    }

    #[test]
    fn a_bare_repository_made_of_files_in_the_root_is_found() {
        let (_d, ws) = tmp();
        std::fs::write(ws.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::create_dir(ws.join("objects")).unwrap();
        std::fs::create_dir(ws.join("refs")).unwrap();
        let repos = find_repos(std::slice::from_ref(&ws)).unwrap();
        assert_eq!(repos[0].git_dir, ws);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_to_the_host_root_under_modules_is_not_walked() {
        let (_d, ws) = tmp();
        git_init(&ws);
        std::fs::create_dir(ws.join(".git/modules")).unwrap();
        std::os::unix::fs::symlink("/", ws.join(".git/modules/evil")).unwrap();
        std::os::unix::fs::symlink("/", ws.join("rootlink")).unwrap();
        let repos = find_repos(std::slice::from_ref(&ws)).unwrap();
        assert_eq!(repos.len(), 1, "{repos:?}");
    }

    #[test]
    fn control_files_include_hooks_path_includes_and_command_paths_in_the_worktree() {
        let (_d, ws) = tmp();
        git_init(&ws);
        std::fs::write(
            ws.join(".git/config"),
            "[core]\n\thooksPath = .husky\n\tfsmonitor = ./tools/fsmon.sh\n[include]\n\tpath = ../shared.gitconfig\n",
        )
        .unwrap();
        std::fs::write(
            ws.join("shared.gitconfig"),
            "[diff \"x\"]\n\ttextconv = scripts/conv\n",
        )
        .unwrap();
        let repos = find_repos(std::slice::from_ref(&ws)).unwrap();
        let ctl = controls_from_root(std::slice::from_ref(&ws), &repos, None, &[], false);
        let paths: Vec<_> = ctl.iter().map(|c| c.path.clone()).collect();
        for want in [
            ws.join(".git/hooks"),
            ws.join(".git/config"),
            ws.join(".git/commondir"),
            ws.join(".git/info"),
            ws.join(".git/objects/info/alternates"),
            ws.join(".husky"),
            ws.join("tools/fsmon.sh"),
            ws.join("shared.gitconfig"),
            ws.join("scripts/conv"),
        ] {
            assert!(
                paths.contains(&want),
                "missing {}: {paths:?}",
                want.display()
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_target_of_a_hook_symlinked_into_the_worktree_is_controlled() {
        let (_d, ws) = tmp();
        git_init(&ws);
        std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
        std::fs::create_dir_all(ws.join("scripts")).unwrap();
        std::fs::write(ws.join("scripts/pre-commit"), "#!/bin/sh\n").unwrap();
        std::os::unix::fs::symlink("../../scripts/pre-commit", ws.join(".git/hooks/pre-commit"))
            .unwrap();
        let repos = find_repos(std::slice::from_ref(&ws)).unwrap();
        let ctl = controls_from_root(std::slice::from_ref(&ws), &repos, None, &[], false);
        assert!(
            ctl.iter().any(|c| c.path == ws.join("scripts/pre-commit")),
            "{ctl:?}"
        );
    }

    #[test]
    fn paths_outside_the_roots_are_left_out() {
        let (_d, base) = tmp();
        let ws = base.join("ws");
        git_init(&ws);
        std::fs::write(ws.join(".git/config"), "[core]\n\thooksPath = /etc/hooks\n").unwrap();
        let repos = find_repos(std::slice::from_ref(&ws)).unwrap();
        let ctl = controls_from_root(std::slice::from_ref(&ws), &repos, None, &[], false);
        assert!(ctl.iter().all(|c| c.path.starts_with(&ws)), "{ctl:?}");
    }

    #[test]
    fn home_start_up_files_count_only_when_a_root_contains_home() {
        let (_d, home) = tmp();
        let ctl = controls_from_root(std::slice::from_ref(&home), &[], Some(&home), &[], false);
        assert!(ctl.iter().any(|c| c.path == home.join(".bashrc")));
        let ctl = controls_from_root(&[home.join("proj")], &[], Some(&home), &[], false);
        assert!(!ctl.iter().any(|c| c.path == home.join(".bashrc")));
    }

    /// `~/.bashrc -> proj/dotfiles/bashrc`: the sandbox can write the file the link names, so
    /// the link counts, whichever resolver the caller gives; one that cannot resolve leaves
    /// only the lexical test.
    #[cfg(unix)]
    #[test]
    fn a_home_start_up_file_linked_into_a_root_counts() {
        let (_d, home) = tmp();
        let proj = home.join("proj");
        std::fs::create_dir_all(proj.join("dotfiles")).unwrap();
        std::fs::write(proj.join("dotfiles/bashrc"), "").unwrap();
        std::os::unix::fs::symlink(proj.join("dotfiles/bashrc"), home.join(".bashrc")).unwrap();
        let roots = std::slice::from_ref(&proj);
        let ctl = controls_from_root(roots, &[], Some(&home), &[], false);
        assert!(
            ctl.iter().any(|c| c.path == home.join(".bashrc")),
            "{ctl:?}"
        );
        let mut asked = 0;
        let ctl = control_paths(roots, &[], Some(&home), &[], false, &mut |p: &Path| {
            asked += 1;
            paths::resolve(Path::new("/"), p).ok()
        });
        assert!(
            ctl.iter().any(|c| c.path == home.join(".bashrc")),
            "{ctl:?}"
        );
        assert!(asked > 0);
        let ctl = control_paths(roots, &[], Some(&home), &[], false, &mut |_| None);
        assert!(
            !ctl.iter().any(|c| c.path == home.join(".bashrc")),
            "{ctl:?}"
        );
    }

    #[test]
    fn powershell_profiles_count_when_a_root_contains_documents() {
        let (_d, home) = tmp();
        let docs = home.join("Documents");
        let ctl = controls_from_root(std::slice::from_ref(&docs), &[], Some(&home), &[], false);
        let paths: Vec<_> = ctl.iter().map(|c| c.path.clone()).collect();
        assert!(
            paths.contains(&home.join("Documents/WindowsPowerShell")),
            "{paths:?}"
        );
        assert!(
            paths.contains(&home.join("Documents/PowerShell")),
            "{paths:?}"
        );
        assert!(!paths.contains(&home.join(".bashrc")));
    }

    #[cfg(windows)]
    #[test]
    fn a_dot_git_spelt_in_another_case_is_the_repository_on_windows() {
        let (_d, ws) = tmp();
        std::fs::create_dir_all(ws.join(".GIT/objects")).unwrap();
        std::fs::create_dir_all(ws.join(".GIT/refs")).unwrap();
        std::fs::write(ws.join(".GIT/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(ws.join(".GIT/config"), "[core]\n\thooksPath = .husky\n").unwrap();
        let repos = find_repos(std::slice::from_ref(&ws)).unwrap();
        assert_eq!(repos.len(), 1, "{repos:?}");
        assert_eq!(
            repos[0].work_tree, ws,
            "git for Windows runs in the folder holding .GIT"
        );
        assert_eq!(repos[0].dot_git.as_deref(), Some(ws.join(".GIT").as_path()));
        let ctl = controls_from_root(std::slice::from_ref(&ws), &repos, None, &[], false);
        assert!(
            ctl.iter().any(|c| c.path == ws.join(".husky")),
            "core.hooksPath is relative to the work tree: {ctl:?}"
        );
    }

    #[cfg(windows)]
    #[test]
    fn a_bare_repository_spelt_in_lower_and_upper_case_is_found_on_windows() {
        // git for Windows opens `head` for HEAD and `OBJECTS` for objects: a bare repository
        // planted with those spellings is one.
        let (_d, ws) = tmp();
        std::fs::create_dir_all(ws.join("sub/OBJECTS")).unwrap();
        std::fs::write(ws.join("sub/head"), "ref: refs/heads/main\n").unwrap();
        let repos = find_repos(std::slice::from_ref(&ws)).unwrap();
        let dirs: Vec<_> = repos.iter().map(|r| r.git_dir.clone()).collect();
        assert_eq!(dirs, vec![ws.join("sub")]);
    }

    #[test]
    fn paddock_own_config_and_state_inside_a_root_are_controlled() {
        let (_d, ws) = tmp();
        let own = [ws.join("cfg"), PathBuf::from("/elsewhere/state")];
        let ctl = controls_from_root(std::slice::from_ref(&ws), &[], None, &own, false);
        let paths: Vec<_> = ctl.iter().map(|c| c.path.clone()).collect();
        assert_eq!(paths, vec![ws.join("cfg")]);
    }
}
