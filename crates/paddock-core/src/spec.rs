//! The concrete sandbox spec: the policy with every path made absolute and resolved, protected
//! paths expanded (including a `.git` file's `gitdir:` target, worktrees and submodules), ready
//! for a backend to enforce. Backends take a `SandboxSpec`, never a raw `Policy`.

use crate::error::SpecError;
use crate::integrity::{
    self,
    discover::Control,
    roots_watch::{RootsWatch, WatchPlan},
};
use crate::looked_at;
use crate::lookup_watch::LookupWatch;
use crate::paths;
use crate::policy::{Capability, Mode, Network, Policy, WindowsLevel};
use crate::roots::HostRoots;
use crate::spec_memo::{self, SpecMemo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How a spec finds the repositories in its writable roots (the pre-walk).
type RepoFinder<'a> =
    &'a mut dyn FnMut(
        &[PathBuf],
    )
        -> Result<Vec<integrity::discover::Repo>, integrity::discover::WalkError>;

/// What exists at a protected path when the spec was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathKind {
    File,
    Dir,
    /// Does not exist yet: the backend must stop it from being created.
    Missing,
}

/// A path inside a writable root that must stay read-only, with why it is protected. It exists
/// when the spec is made (`File` or `Dir`); a missing one is *watched* instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedPath {
    pub path: PathBuf,
    pub kind: PathKind,
    pub reason: String,
}

/// A control path inside a writable root that did not exist when the spec was made: nothing is
/// created for it (a backend can only keep existing names read-only); whatever appears there
/// during the run is removed after it (`integrity::check_after_run`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedPath {
    pub path: PathBuf,
    pub reason: String,
}

/// A path the command may not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenyReadPath {
    pub path: PathBuf,
    pub kind: PathKind,
}

/// Everything a backend must enforce, with absolute resolved paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxSpec {
    pub mode: Mode,
    /// The workspace (the command's default cwd), resolved.
    pub workspace: PathBuf,
    /// Writable roots, resolved; the workspace first in workspace-write; empty in read-only.
    pub writable_roots: Vec<PathBuf>,
    /// Read-only holes inside writable roots (existing paths only).
    pub protected: Vec<ProtectedPath>,
    /// Control paths missing at start, checked and removed after the run.
    #[serde(default)]
    pub watched: Vec<WatchedPath>,
    /// The git directories inside the writable roots before the run; any other found after it
    /// is a new repository and is checked (`integrity`).
    #[serde(default)]
    pub repos: Vec<PathBuf>,
    /// Secrets; only those that exist or whose parent exists are listed.
    pub deny_read: Vec<DenyReadPath>,
    pub network: Network,
    pub allow_unenforced: BTreeSet<Capability>,
    /// The Windows enforcement level (`[windows] level`); other backends ignore it.
    #[serde(default)]
    pub windows_level: WindowsLevel,
}

/// Names protected inside every writable root by default: Paddock's own project config. Git's
/// control files are found per repository (`integrity::discover`).
pub const DEFAULT_PROTECTED: &[&str] = &["paddock.toml", ".paddock"];

impl SandboxSpec {
    /// Builds the spec for `policy` with `workspace` as the workspace root.
    pub fn from_policy(policy: &Policy, workspace: &Path) -> Result<SandboxSpec, SpecError> {
        SandboxSpec::from_policy_on(policy, workspace, &HostRoots::from_env())
    }

    /// `from_policy` with the host's home and system directories given (see `roots`): a
    /// writable root (the workspace first) that `host` refuses is an error.
    pub fn from_policy_on(
        policy: &Policy,
        workspace: &Path,
        host: &HostRoots,
    ) -> Result<SandboxSpec, SpecError> {
        SandboxSpec::from_policy_with(policy, workspace, host, &mut |roots| {
            integrity::discover::find_repos(roots)
        })
    }

    /// `from_policy` for a run: the pre-walk of the writable roots also sets the watches that
    /// let the after-run check list again only what changed
    /// (`integrity::check_after_run_watched`). The watches are `None` when there is no
    /// writable root or the system has none. With [`WatchPlan::Kept`], watches kept by a
    /// resident front end from an earlier run make the pre-walk list again only what changed
    /// since they were set (`discover::find_repos_again`), and are returned; when they cannot
    /// tell they are dropped and the roots walked afresh.
    pub fn from_policy_watched(
        policy: &Policy,
        workspace: &Path,
        plan: WatchPlan,
    ) -> Result<(SandboxSpec, Option<RootsWatch>), SpecError> {
        SandboxSpec::from_policy_kept(policy, workspace, plan, &mut None, false)
    }

    /// [`SandboxSpec::from_policy_watched`] answered from `memo` when it can be (see
    /// `spec_memo`: nothing the memo was made from changed, and the pre-walk, done as usual,
    /// finds the same repositories). With `refresh` (a spare sandbox's build, off a run's
    /// path) a memo that cannot be used is made again, by computing the spec twice around new
    /// watches; without, the memo is only used, and dropped once it can no longer be.
    pub fn from_policy_kept(
        policy: &Policy,
        workspace: &Path,
        plan: WatchPlan,
        memo: &mut Option<SpecMemo>,
        refresh: bool,
    ) -> Result<(SandboxSpec, Option<RootsWatch>), SpecError> {
        let _span = tracing::debug_span!("spec_resolve").entered();
        let mut out = None;
        let (keeping, previous) = match plan {
            WatchPlan::OneRun => (false, None),
            WatchPlan::Kept(previous) => (true, previous),
        };
        let mut previous = previous.filter(|_| policy.mode == Mode::WorkspaceWrite);
        // The pre-walk; its own watches answer for what it looks at.
        let mut find = |roots: &Roots| {
            let _walk = tracing::debug_span!("integrity_prewalk").entered();
            looked_at::unrecorded(|| {
                if let Some(mut w) = previous.take() {
                    match integrity::discover::find_repos_again(&roots.writable, &mut w) {
                        Ok(Some(found)) => {
                            tracing::debug!(
                                relisted = w.relisted(),
                                "pre-walk: from the previous run's watches"
                            );
                            out = Some(w);
                            return Ok(found);
                        }
                        // The watches cannot tell, or the changes could not be listed: the
                        // fresh walk below decides (and reports its own error).
                        Ok(None) | Err(_) => integrity::roots_watch::close_later(w),
                    }
                }
                out = match (policy.mode, keeping) {
                    (Mode::WorkspaceWrite, true) => RootsWatch::for_keeping(),
                    (Mode::WorkspaceWrite, false) => RootsWatch::new(),
                    _ => None,
                };
                integrity::discover::find_repos_watched(&roots.writable, out.as_mut())
            })
            .map_err(|e| SpecError::Resolve {
                path: roots.ws.clone(),
                reason: e.to_string(),
            })
        };
        let inputs = spec_memo::Inputs::now(policy, workspace);
        if let Some(m) = memo.as_mut()
            && let Some(roots) = m.roots_for(&inputs).cloned()
        {
            let found = find(&roots)?;
            if let Some(spec) = m.spec_for(&found) {
                tracing::debug!("spec: from the memo");
                return Ok((spec, out));
            }
            if !refresh {
                return Ok((SandboxSpec::with_repos(policy, &roots, found)?, out));
            }
        }
        // The memo cannot be used (once it cannot, it never can again): the caller drops it,
        // off the run's path (closing its watches takes time), or it is made again here.
        if !refresh || !LookupWatch::available() {
            let roots = Roots::of(policy, workspace, &HostRoots::from_env())?;
            let found = find(&roots)?;
            return Ok((SandboxSpec::with_repos(policy, &roots, found)?, out));
        }
        // The host's directories are resolved (links followed): looked at, so recorded too.
        let (made, looks) = looked_at::record(|| {
            let roots = Roots::of(policy, workspace, &HostRoots::from_env())?;
            let found = find(&roots)?;
            let spec = SandboxSpec::with_repos(policy, &roots, found.clone())?;
            Ok::<_, SpecError>((roots, found, spec))
        });
        let (roots, found, spec) = made?;
        let again = || {
            let roots = Roots::of(policy, workspace, &HostRoots::from_env()).ok()?;
            let spec = SandboxSpec::with_repos(policy, &roots, found.clone()).ok()?;
            Some((roots, spec))
        };
        *memo = LookupWatch::around((Some((roots, spec.clone())), looks), again)
            .and_then(|(made, watch)| Some(SpecMemo::new(inputs, found.clone(), made?, watch)));
        Ok((spec, out))
    }

    fn from_policy_with(
        policy: &Policy,
        workspace: &Path,
        host: &HostRoots,
        find_repos: RepoFinder<'_>,
    ) -> Result<SandboxSpec, SpecError> {
        let _span = tracing::debug_span!("spec_resolve").entered();
        let roots = Roots::of(policy, workspace, host)?;
        let found = find_repos(&roots.writable).map_err(|e| SpecError::Resolve {
            path: roots.ws.clone(),
            reason: e.to_string(),
        })?;
        SandboxSpec::with_repos(policy, &roots, found)
    }

    /// The rest of the spec once the roots are known and their repositories `found`.
    fn with_repos(
        policy: &Policy,
        roots: &Roots,
        found: Vec<integrity::discover::Repo>,
    ) -> Result<SandboxSpec, SpecError> {
        let Roots {
            ws,
            home,
            writable: writable_roots,
        } = roots;
        let mut protected = Vec::new();
        let mut watched: Vec<WatchedPath> = Vec::new();
        let walk = tracing::debug_span!("control_paths").entered();
        let own_dirs: Vec<PathBuf> = [crate::state::config_dir(), crate::state::state_dir()]
            .into_iter()
            .flatten()
            .collect();
        // One cache of resolved ancestors for the candidates (they share `~` and the git dirs)
        // and the deny-read entries below.
        let mut resolver = SharedPrefixResolver::default();
        let mut controls = integrity::discover::control_paths(
            writable_roots,
            &found,
            home.as_deref(),
            &own_dirs,
            policy.protect_whole_git,
            &mut |p: &Path| resolver.resolve(Path::new("/"), p).ok().map(|(r, _)| r),
        );
        for root in writable_roots {
            project_controls(root, policy, &mut controls);
        }
        for p in &policy.protected_paths {
            let expanded = paths::expand_tilde(p, home.as_deref());
            if expanded.is_absolute() {
                controls.push(Control {
                    path: expanded,
                    reason: "protected_paths entry".into(),
                });
            }
        }
        for c in controls {
            // A missing path with no link on its way (most of them: names absent from the top
            // of a root) is answered by the shared cache, which lists a directory asked about
            // often once instead of resolving each name component by component.
            if resolver.surely_missing(&c.path) {
                if !watched.iter().any(|w| w.path == c.path) {
                    watched.push(WatchedPath {
                        path: c.path,
                        reason: c.reason,
                    });
                }
                continue;
            }
            let Some(root) = innermost_root(writable_roots, &c.path) else {
                // Reached only through a link from outside the roots: protect what it names.
                push_protected(&mut protected, &mut watched, ws, &c.path, &c.reason)?;
                continue;
            };
            push_protected(&mut protected, &mut watched, root, &c.path, &c.reason)?;
        }
        drop(walk);
        let repos = found.into_iter().map(|r| r.git_dir).collect();
        let mut deny_read = Vec::new();
        for p in &policy.deny_read {
            let expanded = paths::expand_tilde(p, home.as_deref());
            let (resolved, kind) =
                resolver
                    .resolve(ws, &expanded)
                    .map_err(|e| SpecError::Resolve {
                        path: p.clone(),
                        reason: format!("{e}; fix or remove this deny_read entry"),
                    })?;
            // A missing secret whose parent is missing too can only appear if something creates
            // the parent: that needs a writable root above it, so only then is it listed.
            let creatable = resolved.parent().is_some_and(|d| resolver.exists(d))
                || writable_roots
                    .iter()
                    .any(|r| paths::may_be_beneath(&resolved, r));
            if kind == PathKind::Missing && !creatable {
                continue;
            }
            // Backends hide only what exists. A missing entry inside a writable root could be
            // created by the command and read back, so an entry the user asked for is refused
            // there; the built-in list, most of which any machine lacks, stays best effort.
            if kind == PathKind::Missing
                && !is_default_deny_read(p)
                && let Some(root) = writable_roots
                    .iter()
                    .find(|r| paths::may_be_beneath(&resolved, r))
            {
                return Err(SpecError::DenyReadMissing {
                    path: resolved,
                    root: root.clone(),
                });
            }
            if !deny_read.iter().any(|d: &DenyReadPath| d.path == resolved) {
                deny_read.push(DenyReadPath {
                    path: resolved,
                    kind,
                });
            }
        }
        Ok(SandboxSpec {
            mode: policy.mode,
            workspace: ws.clone(),
            writable_roots: writable_roots.clone(),
            protected,
            watched,
            repos,
            deny_read,
            network: policy.network.clone(),
            allow_unenforced: policy.allow_unenforced.clone(),
            windows_level: policy.windows_level,
        })
    }

    /// True when `p` (absolute, resolved) is inside a writable root and not protected.
    pub fn is_writable(&self, p: &Path) -> bool {
        self.writable_roots.iter().any(|r| paths::is_beneath(p, r))
            && !self
                .protected
                .iter()
                .map(|pp| &pp.path)
                .chain(self.watched.iter().map(|w| &w.path))
                .any(|pp| paths::may_be_beneath(p, pp))
    }

    /// The deny-read entry that covers `p`, if any.
    pub fn denied_read(&self, p: &Path) -> Option<&DenyReadPath> {
        self.deny_read
            .iter()
            .find(|d| paths::may_be_beneath(p, &d.path))
    }
}

/// True for an entry of the built-in deny-read list (as written, `~/...`).
fn is_default_deny_read(p: &Path) -> bool {
    let defaults = if cfg!(windows) {
        crate::config::DEFAULT_DENY_READ_WINDOWS
    } else {
        crate::config::DEFAULT_DENY_READ_UNIX
    };
    defaults.iter().any(|d| p == Path::new(d))
}

/// Resolves many paths that share ancestors (the default secrets under `~`) with one `lstat` per
/// distinct component, instead of walking each from `/` as `paths::resolve` does. A component that
/// is a symlink, a path with `.` or `..`, or any path on Windows goes to `paths::resolve`, so the
/// answer is the same as `paths::resolve` followed by `kind_of` (a test checks it).
///
/// The cache is keyed by the path's bytes (a `Path`'s own hash walks its components, which cost
/// more than the `lstat` saved); two spellings of one path only miss each other.
///
/// A directory asked about for more than [`LIST_AFTER`] of its children (`~`, with its 40-odd
/// shell start-up files, tool configs and secrets, most of which a machine lacks) is listed
/// once instead: a name it lacks (even ignoring case, so that a file system folding case is
/// answered as a lookup there would be; only among ASCII names) is missing, and a name it holds
/// as a file or directory is that, without an `lstat` each (the entry's type comes with the
/// listing); links, entries of unknown type and every other name are looked at one by one. A listing is a snapshot like the `lstat`s it
/// replaces. Measured: 30-odd fewer system calls per run for the default policy's home.
struct SharedPrefixResolver {
    known: std::collections::HashMap<std::ffi::OsString, (PathBuf, PathKind)>,
    /// Children asked about so far, per directory, and the directory's listing once made
    /// (`None`: it could not be made, or the directory is too large to be worth it).
    listings: std::collections::HashMap<PathBuf, Listing>,
}

/// After this many of a directory's children were looked at one by one, the directory is listed.
const LIST_AFTER: usize = 3;
/// A directory with more entries than this is not listed (its children are looked at one by one).
const LIST_AT_MOST: usize = 2048;

enum Listing {
    Asked(usize),
    Listed(Option<DirListing>),
}

/// One directory's entries (also used by the after-run check, `integrity::check`).
pub(crate) struct DirListing {
    /// Each name with its kind (`None` for a link or an entry of unknown type).
    names: std::collections::HashMap<std::ffi::OsString, Option<PathKind>>,
    /// The names with ASCII letters lower-cased, when every name is ASCII (`None` otherwise).
    folded: Option<std::collections::HashSet<Vec<u8>>>,
}

/// What a listing says of one name.
enum Listed {
    /// No listing: look.
    Ask,
    Missing,
    Is(PathKind),
}

impl Default for SharedPrefixResolver {
    fn default() -> Self {
        SharedPrefixResolver {
            known: std::collections::HashMap::with_capacity(256),
            listings: std::collections::HashMap::new(),
        }
    }
}

impl SharedPrefixResolver {
    fn resolve(&mut self, base: &Path, p: &Path) -> std::io::Result<(PathBuf, PathKind)> {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        };
        let plain = abs.components().all(|c| {
            matches!(
                c,
                std::path::Component::RootDir | std::path::Component::Normal(_)
            )
        });
        if !plain || cfg!(windows) {
            let r = paths::resolve(base, p)?;
            let k = kind_of(&r);
            return Ok((r, k));
        }
        self.walk(&abs)
    }

    /// Whether `p` (absolute, plain) is missing with no link on its way, as a successful listing
    /// of its parent or an `lstat` failing with "no such file" or "not a directory" says. Not
    /// when the answer came from a look that failed otherwise (a directory that cannot be
    /// searched answers every name as missing to the cache, but a protected path may be there).
    fn surely_missing(&mut self, p: &Path) -> bool {
        if !matches!(self.resolve(Path::new("/"), p), Ok((r, PathKind::Missing)) if r == p) {
            return false;
        }
        let (Some(parent), Some(name)) = (p.parent(), p.file_name()) else {
            return false;
        };
        if let Some(Listing::Listed(Some(listing))) = self.listings.get(parent)
            && listing.answers_missing(name)
        {
            return true;
        }
        match std::fs::symlink_metadata(p) {
            Ok(_) => false,
            Err(e) => matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ),
        }
    }

    /// Whether `p` (absolute) exists, from the cache where possible.
    fn exists(&mut self, p: &Path) -> bool {
        self.resolve(Path::new("/"), p)
            .is_ok_and(|(_, k)| k != PathKind::Missing)
    }

    fn walk(&mut self, abs: &Path) -> std::io::Result<(PathBuf, PathKind)> {
        if let Some(hit) = self.known.get(abs.as_os_str()) {
            return Ok(hit.clone());
        }
        let out = match (abs.parent(), abs.file_name()) {
            (Some(parent), Some(name)) => {
                let (dir, dir_kind) = self.walk(parent)?;
                let candidate = dir.join(name);
                if dir_kind != PathKind::Dir {
                    (candidate, PathKind::Missing)
                } else {
                    crate::looked_at::entry(&candidate);
                    match self.listed(&dir, name) {
                        Listed::Missing => (candidate, PathKind::Missing),
                        Listed::Is(kind) => (candidate, kind),
                        Listed::Ask => match std::fs::symlink_metadata(&candidate) {
                            Ok(m) if m.file_type().is_symlink() => {
                                let r = paths::resolve(Path::new("/"), &candidate)?;
                                let k = kind_of(&r);
                                (r, k)
                            }
                            Ok(m) if m.is_dir() => (candidate, PathKind::Dir),
                            Ok(_) => (candidate, PathKind::File),
                            Err(_) => (candidate, PathKind::Missing),
                        },
                    }
                }
            }
            _ => (abs.to_path_buf(), PathKind::Dir),
        };
        self.known.insert(abs.as_os_str().to_owned(), out.clone());
        Ok(out)
    }

    /// What `dir`'s listing says of `name`, listing `dir` once enough of its children were
    /// asked about (see the type's docs).
    fn listed(&mut self, dir: &Path, name: &std::ffi::OsStr) -> Listed {
        let entry = self
            .listings
            .entry(dir.to_path_buf())
            .or_insert(Listing::Asked(0));
        if let Listing::Asked(n) = entry {
            if *n < LIST_AFTER {
                *n += 1;
                return Listed::Ask;
            }
            *entry = Listing::Listed(list_directory(dir));
        }
        let Listing::Listed(Some(listing)) = entry else {
            return Listed::Ask;
        };
        match listing.names.get(name) {
            Some(Some(kind)) => Listed::Is(*kind),
            Some(None) => Listed::Ask,
            None if listing.answers_missing(name) => Listed::Missing,
            None => Listed::Ask,
        }
    }
}

impl DirListing {
    /// Whether the listing says that looking up `name` finds nothing. A file system that folds
    /// case (ext4 or f2fs casefold, vfat, CIFS) finds `.SSH` when asked for `.ssh`: a name is
    /// missing only if no entry matches it even ignoring case, and only when every name is
    /// ASCII (Unicode folding has more ways for two names to meet, such as the Kelvin sign and
    /// `k`).
    pub(crate) fn answers_missing(&self, name: &std::ffi::OsStr) -> bool {
        match (&self.folded, name.to_str()) {
            (Some(folded), Some(n)) => {
                n.is_ascii() && !folded.contains(&n.to_ascii_lowercase().into_bytes())
            }
            _ => false,
        }
    }
}

/// `dir`'s entries with their kinds, or `None` when it cannot be listed or holds more than
/// [`LIST_AT_MOST`] entries.
pub(crate) fn list_directory(dir: &Path) -> Option<DirListing> {
    let mut names = std::collections::HashMap::new();
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        if names.len() == LIST_AT_MOST {
            return None;
        }
        // The type comes with the listing on most file systems; where it does not, or for a
        // link, the name is looked at one by one.
        let kind = entry.file_type().ok().and_then(|t| {
            if t.is_dir() {
                Some(PathKind::Dir)
            } else if t.is_symlink() {
                None
            } else {
                Some(PathKind::File)
            }
        });
        names.insert(entry.file_name(), kind);
    }
    let folded = names
        .keys()
        .map(|n| n.to_str().filter(|n| n.is_ascii()))
        .map(|n| n.map(|n| n.to_ascii_lowercase().into_bytes()))
        .collect();
    Some(DirListing { names, folded })
}

fn kind_of(p: &Path) -> PathKind {
    crate::looked_at::entry(p);
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => PathKind::Dir,
        Ok(_) => PathKind::File,
        Err(_) => PathKind::Missing,
    }
}

/// A spec's workspace and writable roots, resolved (the part of the spec made before the
/// pre-walk, which walks these roots).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Roots {
    pub(crate) ws: PathBuf,
    pub(crate) home: Option<PathBuf>,
    /// The workspace first in workspace-write; empty otherwise.
    pub(crate) writable: Vec<PathBuf>,
}

impl Roots {
    /// The workspace and writable roots of `policy` in `workspace`, resolved and checked.
    fn of(policy: &Policy, workspace: &Path, host: &HostRoots) -> Result<Roots, SpecError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let ws = paths::resolve(&cwd, workspace).map_err(|e| SpecError::Workspace {
            path: workspace.to_path_buf(),
            reason: e.to_string(),
        })?;
        if let Some(problem) = paths::dir_problem(&ws) {
            return Err(SpecError::Workspace {
                path: workspace.to_path_buf(),
                reason: problem.into(),
            });
        }
        let home = crate::state::home_dir();
        let mut writable_roots = Vec::new();
        if policy.mode == Mode::WorkspaceWrite {
            if let Some(reason) = host.refusal(&ws) {
                return Err(SpecError::RefusedWorkspace {
                    given: workspace.to_path_buf(),
                    path: ws,
                    reason,
                });
            }
            writable_roots.push(ws.clone());
            for root in &policy.writable_roots {
                let expanded = paths::expand_tilde(root, home.as_deref());
                let resolved =
                    checked_root(&ws, root, &expanded, "not an existing directory", host)?;
                if !writable_roots.contains(&resolved) {
                    writable_roots.push(resolved);
                }
            }
            // A recipe's cache still missing here (`explain`, `policy show`) is created by the
            // run (`recipes::create_caches`) before the spec is made; until then it is left out.
            for cache in policy.recipes.iter().flat_map(|g| &g.caches) {
                crate::looked_at::entry(cache);
                if std::fs::symlink_metadata(cache).is_err() {
                    continue;
                }
                let resolved = checked_root(
                    &ws,
                    cache,
                    cache,
                    "a recipe cache that is not a directory",
                    host,
                )?;
                if !writable_roots.contains(&resolved) {
                    writable_roots.push(resolved);
                }
            }
        }
        Ok(Roots {
            ws,
            home,
            writable: writable_roots,
        })
    }
}

/// The innermost of `roots` that `p` lies beneath.
pub fn innermost_root<'a>(roots: &'a [PathBuf], p: &Path) -> Option<&'a Path> {
    roots
        .iter()
        .filter(|r| paths::is_beneath(p, r))
        .max_by_key(|r| r.components().count())
        .map(PathBuf::as_path)
}

/// Resolves the writable root `given` (as `expanded`) against the workspace and checks it is a
/// directory the host allows as a root.
fn checked_root(
    ws: &Path,
    given: &Path,
    expanded: &Path,
    not_dir: &str,
    host: &HostRoots,
) -> Result<PathBuf, SpecError> {
    let resolved = paths::resolve(ws, expanded).map_err(|e| SpecError::WritableRoot {
        path: given.to_path_buf(),
        reason: e.to_string(),
    })?;
    crate::looked_at::entry(&resolved);
    if !resolved.is_dir() {
        return Err(SpecError::WritableRoot {
            path: given.to_path_buf(),
            reason: not_dir.into(),
        });
    }
    if let Some(reason) = host.refusal(&resolved) {
        return Err(SpecError::RefusedRoot {
            path: resolved,
            reason,
        });
    }
    Ok(resolved)
}

/// Adds `p` (absolute, links not yet followed) as protected when it exists, as watched when
/// it does not. Refuses a path reached through a link that lies inside the writable root `base`:
/// the sandbox could replace the link and escape the protection.
fn push_protected(
    out: &mut Vec<ProtectedPath>,
    watched: &mut Vec<WatchedPath>,
    base: &Path,
    p: &Path,
    reason: &str,
) -> Result<(), SpecError> {
    let resolved = paths::resolve(base, p).map_err(|e| SpecError::Resolve {
        path: p.to_path_buf(),
        reason: format!("{e}; a protected path must resolve (remove the link loop)"),
    })?;
    if let Some(link) = replaceable_link(base, p) {
        return Err(SpecError::Resolve {
            path: p.to_path_buf(),
            reason: format!(
                "{} is a link inside a writable root, so the sandbox could replace it and \
                 escape the protection of {} ({reason}); replace the link by the real directory \
                 or file",
                link.display(),
                resolved.display()
            ),
        });
    }
    let kind = kind_of(&resolved);
    if kind == PathKind::Missing {
        if !watched.iter().any(|w| w.path == resolved) {
            watched.push(WatchedPath {
                path: resolved,
                reason: reason.into(),
            });
        }
        return Ok(());
    }
    if out.iter().any(|e| e.path == resolved) {
        return Ok(());
    }
    out.push(ProtectedPath {
        kind,
        path: resolved,
        reason: reason.into(),
    });
    Ok(())
}

/// The first symlink (or junction) on the way from writable root `root` down to `p`, if any:
/// protection pins the link's target, but the link itself lies in writable space.
fn replaceable_link(root: &Path, p: &Path) -> Option<PathBuf> {
    let rel = p.strip_prefix(root).ok()?;
    let mut cur = root.to_path_buf();
    for part in rel.components() {
        cur.push(part);
        crate::looked_at::entry(&cur);
        match cur.symlink_metadata() {
            Ok(m) if m.file_type().is_symlink() => return Some(cur),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// Paddock's project files and the relative `protected_paths` entries inside one writable root.
/// Missing project files are watched for untrusted projects too: a file the sandbox creates
/// there could only tighten the next run, but a FIFO, folder or link planted there would make
/// every later run refuse.
fn project_controls(root: &Path, policy: &Policy, out: &mut Vec<Control>) {
    for name in DEFAULT_PROTECTED {
        out.push(Control {
            path: root.join(name),
            reason: "Paddock's own config".into(),
        });
    }
    for p in &policy.protected_paths {
        if p.is_relative() {
            let reason = if crate::config::is_default_protected_path(p) {
                "an agent's or editor's project config, which runs commands outside the \
                 sandbox (default_protected_paths = false makes it writable)"
            } else {
                "protected_paths entry"
            };
            out.push(Control {
                path: root.join(p),
                reason: reason.into(),
            });
        }
    }
}

/// The command to run, after environment scrubbing and program resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// Absolute path of the program (resolved against the sandbox's PATH by the facade).
    pub program: PathBuf,
    /// Arguments after the program (argv[1..]).
    pub args: Vec<std::ffi::OsString>,
    /// Working directory, absolute and resolved.
    pub cwd: PathBuf,
    /// The complete environment the command sees (already scrubbed).
    pub env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_policy;

    fn spec_for(ws: &Path, f: impl FnOnce(&mut Policy)) -> SandboxSpec {
        let mut p = default_policy();
        p.deny_read.clear();
        f(&mut p);
        SandboxSpec::from_policy(&p, ws).unwrap()
    }

    fn protected(spec: &SandboxSpec) -> Vec<PathBuf> {
        spec.protected.iter().map(|p| p.path.clone()).collect()
    }

    fn watched(spec: &SandboxSpec) -> Vec<PathBuf> {
        spec.watched.iter().map(|p| p.path.clone()).collect()
    }

    /// The files that make git take `dir` for a git directory.
    fn make_git_dir(dir: &Path) {
        std::fs::create_dir_all(dir.join("objects")).unwrap();
        std::fs::create_dir_all(dir.join("refs")).unwrap();
        std::fs::write(dir.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    }

    #[test]
    fn workspace_without_a_repository_creates_and_pins_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        let spec = spec_for(&ws, |_| {});
        assert!(protected(&spec).is_empty(), "{:?}", protected(&spec));
        assert!(spec.repos.is_empty());
        assert!(!ws.join(".git").exists(), "no skeleton is left on the host");
        assert!(spec.is_writable(&ws.join("src/main.rs")));
    }

    #[test]
    fn missing_git_control_files_are_watched_and_existing_ones_protected() {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        make_git_dir(&ws.join(".git"));
        std::fs::write(ws.join(".git/config"), "[core]\n\tbare = false\n").unwrap();
        let spec = spec_for(&ws, |_| {});
        assert_eq!(spec.repos, vec![ws.join(".git")]);
        assert!(protected(&spec).contains(&ws.join(".git/config")));
        for missing in [
            "hooks",
            "commondir",
            "config.worktree",
            "info",
            "objects/info/alternates",
        ] {
            assert!(
                watched(&spec).contains(&ws.join(".git").join(missing)),
                "{missing}"
            );
        }
        assert!(
            watched(&spec).contains(&ws.join("paddock.toml")),
            "a missing project file is watched, trusted or not"
        );
        assert!(spec.is_writable(&ws.join("src/main.rs")));
        assert!(
            spec.is_writable(&ws.join(".git/index")),
            "commits must work"
        );
        assert!(spec.is_writable(&ws.join(".git/refs/heads/main")));
        assert!(!spec.is_writable(&ws.join(".git/hooks/pre-commit")));
        assert!(!ws.join(".git/hooks").exists(), "nothing is created");
    }

    #[test]
    fn git_file_gitdir_target_and_common_dir_are_protected_inside_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let main_git = base.join("main/.git");
        make_git_dir(&main_git);
        std::fs::create_dir_all(main_git.join("hooks")).unwrap();
        std::fs::write(main_git.join("config"), "").unwrap();
        let wt_dir = main_git.join("worktrees/feature");
        std::fs::create_dir_all(&wt_dir).unwrap();
        std::fs::write(wt_dir.join("commondir"), "../..\n").unwrap();
        std::fs::write(wt_dir.join("HEAD"), "ref: refs/heads/feature\n").unwrap();
        let ws = base.join("feature");
        std::fs::create_dir(&ws).unwrap();
        std::fs::write(ws.join(".git"), format!("gitdir: {}\n", wt_dir.display())).unwrap();
        let spec = spec_for(&ws, |_| {});
        assert!(
            protected(&spec).contains(&ws.join(".git")),
            "the .git file itself"
        );
        assert!(
            protected(&spec).iter().all(|p| p.starts_with(&ws)),
            "outside the roots nothing needs protecting"
        );
        let spec = spec_for(&ws, |p| p.writable_roots.push(base.join("main")));
        let got = protected(&spec);
        assert!(got.contains(&wt_dir.join("commondir")));
        assert!(
            got.contains(&main_git.join("hooks")),
            "hooks of the common dir"
        );
        assert!(got.contains(&main_git.join("config")));
    }

    #[test]
    fn submodule_git_dirs_are_protected() {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        make_git_dir(&ws.join(".git"));
        let sub = ws.join(".git/modules/libs/dep");
        make_git_dir(&sub);
        std::fs::create_dir_all(sub.join("hooks")).unwrap();
        let spec = spec_for(&ws, |_| {});
        let got = protected(&spec);
        assert!(got.contains(&sub.join("hooks")), "{got:?}");
        assert!(watched(&spec).contains(&sub.join("config")));
        assert!(spec.repos.contains(&sub));
    }

    #[test]
    fn nested_repositories_are_protected_like_the_top_one() {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        let nested = ws.join("vendor/lib/.git");
        make_git_dir(&nested);
        std::fs::write(nested.join("config"), "").unwrap();
        let spec = spec_for(&ws, |_| {});
        assert!(protected(&spec).contains(&nested.join("config")));
        assert!(watched(&spec).contains(&nested.join("hooks")));
    }

    #[test]
    fn protect_whole_git_protects_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        make_git_dir(&ws.join(".git"));
        let spec = spec_for(&ws, |p| p.protect_whole_git = true);
        assert!(!spec.is_writable(&ws.join(".git/index")));
    }

    #[test]
    fn read_only_mode_has_no_writable_roots() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec_for(dir.path(), |p| p.mode = Mode::ReadOnly);
        assert!(spec.writable_roots.is_empty());
        assert!(!spec.is_writable(&spec.workspace.join("a")));
    }

    #[test]
    fn missing_workspace_and_writable_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = default_policy();
        assert!(matches!(
            SandboxSpec::from_policy(&p, &dir.path().join("nope")),
            Err(SpecError::Workspace { .. })
        ));
        let mut p = default_policy();
        p.writable_roots.push(dir.path().join("missing"));
        assert!(matches!(
            SandboxSpec::from_policy(&p, dir.path()),
            Err(SpecError::WritableRoot { .. })
        ));
    }

    #[test]
    fn deny_read_through_a_symlink_names_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(base.join("secrets")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("secrets"), base.join("link")).unwrap();
        #[cfg(unix)]
        {
            let spec = spec_for(&base, |p| p.deny_read.push(base.join("link")));
            assert!(spec.denied_read(&base.join("secrets/key")).is_some());
        }
    }

    #[cfg(unix)]
    #[test]
    fn deny_read_entry_that_cannot_resolve_is_refused_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        std::os::unix::fs::symlink(base.join("b"), base.join("a")).unwrap();
        std::os::unix::fs::symlink(base.join("a"), base.join("b")).unwrap();
        let mut p = default_policy();
        p.deny_read = vec![base.join("a")];
        let err = SandboxSpec::from_policy(&p, &base).unwrap_err();
        assert!(matches!(err, SpecError::Resolve { .. }), "{err}");
    }

    #[test]
    fn missing_deny_read_inside_a_writable_root_is_refused_and_outside_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let ws = base.join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(base.join("elsewhere")).unwrap();
        let mut p = default_policy();
        p.deny_read = vec![ws.join("secret")];
        let err = SandboxSpec::from_policy(&p, &ws).unwrap_err();
        assert!(matches!(err, SpecError::DenyReadMissing { .. }), "{err}");
        assert!(
            err.to_string().contains("create it before the run"),
            "{err}"
        );
        // Read-only: nothing can create it, so it is kept (and hidden once it exists).
        p.mode = Mode::ReadOnly;
        assert!(SandboxSpec::from_policy(&p, &ws).is_ok());
        // Outside every writable root only the host could create it: kept as before.
        let mut p = default_policy();
        p.deny_read = vec![base.join("elsewhere/secret")];
        let spec = SandboxSpec::from_policy(&p, &ws).unwrap();
        assert!(spec.denied_read(&base.join("elsewhere/secret")).is_some());
        // Once it exists it is hidden, not refused.
        std::fs::write(ws.join("secret"), "k").unwrap();
        let mut p = default_policy();
        p.deny_read = vec![ws.join("secret")];
        let spec = SandboxSpec::from_policy(&p, &ws).unwrap();
        assert_eq!(
            spec.denied_read(&ws.join("secret")).unwrap().kind,
            PathKind::File
        );
    }

    #[test]
    fn paddock_config_is_protected_when_present_or_project_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        let spec = spec_for(&ws, |p| p.project_trusted = true);
        assert!(watched(&spec).contains(&ws.join("paddock.toml")));
        std::fs::write(ws.join("paddock.toml"), "").unwrap();
        let spec = spec_for(&ws, |_| {});
        assert!(protected(&spec).contains(&ws.join("paddock.toml")));
    }

    #[cfg(unix)]
    #[test]
    fn protected_path_behind_a_link_in_the_workspace_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let ws = base.join("ws");
        make_git_dir(&ws.join(".git"));
        std::fs::create_dir_all(base.join("shared-hooks")).unwrap();
        std::os::unix::fs::symlink(base.join("shared-hooks"), ws.join(".git/hooks")).unwrap();
        let mut p = default_policy();
        p.deny_read.clear();
        let err = SandboxSpec::from_policy(&p, &ws).unwrap_err().to_string();
        assert!(err.contains("is a link inside a writable root"), "{err}");
    }

    /// Agents' and editors' config at the top of the workspace: protected when there, watched
    /// when not, with a reason that names the switch; a link there (the sandbox could swap it
    /// for a folder of its own) is refused with that switch named too; without the defaults
    /// neither is protected nor watched.
    #[test]
    fn agent_and_editor_config_is_protected_watched_or_a_link_refused() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let ws = base.join("ws");
        std::fs::create_dir_all(ws.join(".vscode")).unwrap();
        let spec = spec_for(&ws, |_| {});
        let vscode = spec.protected.iter().find(|p| p.path == ws.join(".vscode"));
        assert!(
            vscode.is_some_and(|p| p.reason.contains("default_protected_paths")),
            "{:?}",
            spec.protected
        );
        for name in [".claude", ".mcp.json", ".codex"] {
            assert!(watched(&spec).contains(&ws.join(name)), "{name}");
        }
        let spec = spec_for(&ws, |p| p.protected_paths.clear());
        assert!(!protected(&spec).contains(&ws.join(".vscode")));
        assert!(!watched(&spec).contains(&ws.join(".claude")));
        #[cfg(unix)]
        {
            std::fs::create_dir_all(base.join("shared-claude")).unwrap();
            std::os::unix::fs::symlink(base.join("shared-claude"), ws.join(".claude")).unwrap();
            let mut p = default_policy();
            p.deny_read.clear();
            let err = SandboxSpec::from_policy(&p, &ws).unwrap_err().to_string();
            assert!(
                err.contains("is a link inside a writable root")
                    && err.contains("default_protected_paths = false"),
                "{err}"
            );
        }
    }

    /// A directory asked about for many children is listed once, and what the listing answers
    /// (missing, file, directory; links looked at one by one) is what looking would have
    /// answered; a directory too large to list is looked into name by name, with the same
    /// answers.
    #[cfg(unix)]
    #[test]
    fn a_listed_directory_answers_as_looking_would() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let b = std::fs::canonicalize(dir.path()).unwrap();
        let home = b.join("home");
        let big = b.join("big");
        std::fs::create_dir_all(home.join(".config")).unwrap();
        std::fs::create_dir_all(b.join("elsewhere")).unwrap();
        std::fs::create_dir_all(&big).unwrap();
        for f in [".bashrc", ".profile", ".netrc"] {
            std::fs::write(home.join(f), "x").unwrap();
        }
        symlink(b.join("elsewhere"), home.join(".aws")).unwrap();
        symlink(home.join(".bashrc"), home.join(".zshrc")).unwrap();
        symlink(b.join("nowhere"), home.join(".npmrc")).unwrap();
        for i in 0..=LIST_AT_MOST {
            std::fs::write(big.join(format!("f{i}")), "").unwrap();
        }
        let names = [
            ".zlogin",
            ".zprofile",
            ".xinitrc",
            ".kube",
            ".bashrc",
            ".profile",
            ".netrc",
            ".config",
            ".config/gh",
            ".aws",
            ".aws/credentials",
            ".zshrc",
            ".npmrc",
            ".docker",
            ".bashrc/below",
        ];
        let mut r = SharedPrefixResolver::default();
        for parent in [&home, &big] {
            let asked = names
                .iter()
                .map(|n| parent.join(n))
                .chain((0..8).map(|i| parent.join(format!("f{i}"))));
            for p in asked {
                let want_path = paths::resolve(&b, &p).unwrap();
                let want = (want_path.clone(), kind_of(&want_path));
                assert_eq!(r.resolve(&b, &p).unwrap(), want, "{}", p.display());
            }
        }
        assert!(matches!(
            r.listings.get(&home),
            Some(Listing::Listed(Some(_)))
        ));
        assert!(matches!(r.listings.get(&big), Some(Listing::Listed(None))));
        // A name missing but for its case is looked at, not taken as missing: a file system
        // that folds case would find `.GNUPG` for `.gnupg`.
        std::fs::create_dir(home.join(".GNUPG")).unwrap();
        let mut r = SharedPrefixResolver::default();
        for n in [".a", ".b", ".c", ".d"] {
            r.resolve(&b, &home.join(n)).unwrap();
        }
        assert!(matches!(r.listed(&home, ".kube".as_ref()), Listed::Missing));
        assert!(matches!(r.listed(&home, ".gnupg".as_ref()), Listed::Ask));
        // With a name that is not ASCII in the folder, nothing is taken as missing.
        std::fs::write(home.join("\u{212a}ube"), "").unwrap();
        let mut r = SharedPrefixResolver::default();
        for n in [".a", ".b", ".c", ".d"] {
            r.resolve(&b, &home.join(n)).unwrap();
        }
        assert!(matches!(r.listed(&home, ".kube".as_ref()), Listed::Ask));
        assert!(matches!(
            r.listed(&home, ".bashrc".as_ref()),
            Listed::Is(PathKind::File)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn shared_prefix_resolver_agrees_with_paths_resolve() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let b = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(b.join("home/.config/app")).unwrap();
        std::fs::create_dir_all(b.join("elsewhere/keys")).unwrap();
        std::fs::write(b.join("home/.netrc"), "x").unwrap();
        std::fs::write(b.join("elsewhere/keys/id"), "x").unwrap();
        symlink(b.join("elsewhere/keys"), b.join("home/.ssh")).unwrap();
        symlink("../elsewhere", b.join("home/rel")).unwrap();
        symlink(b.join("nowhere/at/all"), b.join("home/dangling")).unwrap();
        symlink(b.join("home/.ssh"), b.join("home/chain")).unwrap();
        let cases = [
            "home",
            "home/.netrc",
            "home/.netrc/below",
            "home/.ssh",
            "home/.ssh/id",
            "home/.ssh/missing",
            "home/rel/keys/id",
            "home/dangling",
            "home/dangling/x",
            "home/chain/id",
            "home/.config/app",
            "home/.config/gh",
            "home/.config/gh/hosts.yml",
            "home/missing/deeper/still",
            "home/../elsewhere/keys",
            "home/./.netrc",
        ];
        let mut r = SharedPrefixResolver::default();
        for c in cases {
            let p = b.join(c);
            let want_path = paths::resolve(&b, &p).unwrap();
            let want = (want_path.clone(), kind_of(&want_path));
            assert_eq!(r.resolve(&b, &p).unwrap(), want, "{c}");
            // Second lookup comes from the cache and must agree too.
            assert_eq!(r.resolve(&b, &p).unwrap(), want, "{c} (cached)");
        }
    }
}
