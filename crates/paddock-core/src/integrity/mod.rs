//! Sandbox integrity: nothing a sandboxed command writes may run, or loosen anything, outside
//! the sandbox later.
//!
//! Two layers. Before the run, `discover` lists every control path inside the writable roots
//! (repositories' hooks and configs at any depth, what those configs name, Paddock's own files,
//! shell start-up files); the spec hands the existing ones to the backend to keep read-only
//! (mounts on Linux, deny ACEs on Windows) and keeps the missing ones as *watched*. After the
//! run, once every sandboxed process has ended, `check_after_run` removes whatever appeared at a
//! watched path and checks every repository that did not exist before (a `git init`, a clone, a
//! planted bare repository): one whose config holds anything but the plain keys a fresh
//! repository has, or whose hooks are not samples, is renamed aside so git no longer finds it.
//! Every revert is reported. What this does not cover is listed in docs/linux.md ("Integrity").

pub mod discover;
pub mod fsguard;
pub mod gitconfig;
pub mod keep_guard;
pub mod pending;
mod pending_names;
#[cfg(all(test, target_os = "linux"))]
mod reused_walk_tests;
pub mod roots_watch;
#[cfg(all(test, target_os = "linux"))]
mod walk_limits_tests;
#[cfg(all(test, target_os = "linux"))]
mod watched_walk_tests;

use crate::spec::SandboxSpec;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The suffix of a repository renamed aside after the run.
pub const QUARANTINE_SUFFIX: &str = ".paddock-quarantine";

/// What the after-run check did about one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum IntegrityAction {
    /// Created during the run at a watched path; removed.
    Removed,
    /// A repository made during the run that git would trust; renamed to `moved_to`.
    Quarantined { moved_to: PathBuf },
    /// Should have been reverted but could not be: the user must look at it.
    NotReverted { error: String },
}

/// One revert (or failed revert) of the after-run check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrityEvent {
    pub path: PathBuf,
    #[serde(flatten)]
    pub action: IntegrityAction,
    /// Why the path is not trusted.
    pub reason: String,
}

impl IntegrityEvent {
    /// One line for stderr: what happened, where, why, and what to do.
    pub fn describe(&self) -> String {
        match &self.action {
            IntegrityAction::Removed => format!(
                "removed {}, created by the command ({})",
                self.path.display(),
                self.reason
            ),
            IntegrityAction::Quarantined { moved_to } => format!(
                "moved {} to {}: {}; inspect it and rename it back if you trust it",
                self.path.display(),
                moved_to.display(),
                self.reason
            ),
            IntegrityAction::NotReverted { error } => format!(
                "could NOT revert {} ({}): {error}; inspect it before using git or Paddock here",
                self.path.display(),
                self.reason
            ),
        }
    }
}

/// Checks the writable roots of `spec` after every sandboxed process has ended, reverting what
/// the command planted (see the module documentation). Never follows a link planted in the
/// roots; a path it cannot revert is reported as `NotReverted`, never ignored.
pub fn check_after_run(spec: &SandboxSpec) -> Vec<IntegrityEvent> {
    check_after_run_watched(spec, None)
}

/// [`check_after_run`] for a run whose pre-walk set `watch` (`SandboxSpec::from_policy_watched`):
/// the search for planted repositories lists again only what changed during the run (see
/// `roots_watch`), falling back to the full walk whenever the watches cannot tell.
pub fn check_after_run_watched(
    spec: &SandboxSpec,
    watch: Option<&mut roots_watch::RootsWatch>,
) -> Vec<IntegrityEvent> {
    check(spec, watch, true)
}

/// The check again for a run whose check did not complete (a blind spot, a failed revert):
/// the search for repositories made since that run's start, without removing what is now at
/// its watched paths, which that check handled and which the user may have made since (a hook
/// they installed).
pub fn check_again(spec: &SandboxSpec) -> Vec<IntegrityEvent> {
    check(spec, None, false)
}

fn check(
    spec: &SandboxSpec,
    watch: Option<&mut roots_watch::RootsWatch>,
    watched_paths: bool,
) -> Vec<IntegrityEvent> {
    let _span = tracing::debug_span!("after_run_check").entered();
    let mut events = Vec::new();
    if spec.writable_roots.is_empty() {
        return events;
    }
    let absent = AbsentByListing::new(if watched_paths { &spec.watched } else { &[] });
    for w in spec.watched.iter().filter(|_| watched_paths) {
        if absent.says_absent(&w.path) {
            continue;
        }
        let action = match w.path.symlink_metadata() {
            Ok(_) => outcome(root_of(spec, &w.path).map(|root| {
                fsguard::remove_beneath(root, &w.path)
                    .map(|done| done.then_some(IntegrityAction::Removed))
            })),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                continue;
            }
            // A directory on the way made unsearchable (`chmod 000`) hides what was planted
            // there: that is a blind spot, reported, not an absence.
            Err(e) => IntegrityAction::NotReverted {
                error: format!("cannot look at it: {e}"),
            },
        };
        events.push(IntegrityEvent {
            path: w.path.clone(),
            action,
            reason: w.reason.clone(),
        });
    }
    let (repos, blind) = match discover::find_repos_after(&spec.writable_roots, &spec.repos, watch)
    {
        Ok(found) => found,
        Err(e) => {
            events.push(IntegrityEvent {
                path: spec.workspace.clone(),
                action: IntegrityAction::NotReverted {
                    error: e.to_string(),
                },
                reason: "the writable roots could not be checked for planted repositories".into(),
            });
            return events;
        }
    };
    // A directory the search could not look into is reported, and the check is not done (see
    // [`first_undone`]); what it found elsewhere is still checked below.
    for spot in blind {
        events.push(IntegrityEvent {
            path: spot.path().to_path_buf(),
            action: IntegrityAction::NotReverted {
                error: spot.to_string(),
            },
            reason: "the check for planted repositories could not look into it".into(),
        });
    }
    for repo in repos {
        // A known repository is skipped, unless its `.git` became a link during the run.
        let relinked = repo.dot_git.as_ref().is_some_and(|d| {
            d.symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
        });
        if spec.repos.contains(&repo.git_dir) && !relinked {
            continue;
        }
        let Some(reason) = untrusted_reason(spec, &repo) else {
            continue;
        };
        let target = quarantine_target(spec, &repo);
        let action = outcome(root_of(spec, &target).map(|root| {
            fsguard::rename_aside(root, &target, QUARANTINE_SUFFIX)
                .map(|moved| moved.map(|moved_to| IntegrityAction::Quarantined { moved_to }))
        }));
        events.push(IntegrityEvent {
            path: target,
            action,
            reason: format!("a repository made during the run: {reason}"),
        });
    }
    events
}

/// The first of a check's `events` that says it could not do all it had to (a directory it
/// could not look into, a revert that failed), with its error. A check with one is not done:
/// its pending record is kept, so that the check is done again, against the same spec, by the
/// next run (`pending::recover`) until it completes, and runs are refused meanwhile. Without
/// this, what the check missed would be taken for existing by the next pre-walk.
pub fn first_undone(events: &[IntegrityEvent]) -> Option<(&IntegrityEvent, &str)> {
    events.iter().find_map(|e| match &e.action {
        IntegrityAction::NotReverted { error } => Some((e, error.as_str())),
        _ => None,
    })
}

/// The writable root `p` lies in (the innermost).
fn root_of<'a>(spec: &'a SandboxSpec, p: &Path) -> Option<&'a Path> {
    crate::spec::innermost_root(&spec.writable_roots, p)
}

/// What a revert attempt came to: done, refused (no root, or a link on the way), or failed.
fn outcome(attempt: Option<std::io::Result<Option<IntegrityAction>>>) -> IntegrityAction {
    match attempt {
        Some(Ok(Some(done))) => done,
        Some(Ok(None)) | None => IntegrityAction::NotReverted {
            error: "a link was planted on the way to it".into(),
        },
        Some(Err(e)) => IntegrityAction::NotReverted {
            error: e.to_string(),
        },
    }
}

/// Answers "nothing there" for watched paths that share a folder with at least
/// [`LIST_FROM`] others (the names at the top of a root: Paddock's files, agents' and editors'
/// config), from one listing of that folder instead of an `lstat` each. The listing is the
/// spec's (`spec::list_directory`), and answers as it does there: only when it worked, and
/// only for a name no entry matches even ignoring case, among ASCII names (a file system
/// folding case finds `.Claude` for `.claude`); every other path is looked at as before. The
/// listings are made after every sandboxed process has ended, like the looks they replace.
struct AbsentByListing {
    /// Each folder holding [`LIST_FROM`] watched paths or more, with its listing (`None`: not
    /// usable).
    folders: std::collections::HashMap<PathBuf, Option<crate::spec::DirListing>>,
}

/// How many watched paths must share a folder before it is listed.
const LIST_FROM: usize = 3;

impl AbsentByListing {
    fn new(watched: &[crate::spec::WatchedPath]) -> Self {
        let mut counts: std::collections::HashMap<&Path, usize> = Default::default();
        for w in watched {
            if let Some(folder) = w.path.parent() {
                *counts.entry(folder).or_default() += 1;
            }
        }
        let folders = counts
            .into_iter()
            .filter(|(_, n)| *n >= LIST_FROM)
            .map(|(f, _)| (f.to_path_buf(), crate::spec::list_directory(f)))
            .collect();
        AbsentByListing { folders }
    }

    fn says_absent(&self, path: &Path) -> bool {
        let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        matches!(self.folders.get(folder), Some(Some(listing)) if listing.answers_missing(name))
    }
}

/// What to rename so git no longer finds the repository: its `.git` entry; a git dir inside
/// another's `modules/` or `worktrees/` itself; else (a bare directory) its `HEAD`.
fn quarantine_target(spec: &SandboxSpec, repo: &discover::Repo) -> PathBuf {
    if let Some(dot_git) = &repo.dot_git {
        return dot_git.clone();
    }
    let inner = repo
        .git_dir
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == "modules" || n == "worktrees");
    if inner && root_of(spec, &repo.git_dir).is_some() {
        return repo.git_dir.clone();
    }
    repo.git_dir.join("HEAD")
}

/// Why a repository that appeared during the run cannot be trusted, or `None` when it holds
/// only what a fresh `git init` / `git clone` writes.
fn untrusted_reason(spec: &SandboxSpec, repo: &discover::Repo) -> Option<String> {
    if let Some(dot_git) = &repo.dot_git {
        let meta = dot_git.symlink_metadata().ok()?;
        if meta.file_type().is_symlink() {
            return Some("its `.git` is a symlink".into());
        }
        if !meta.is_dir() && discover::gitfile_target(dot_git).is_none() {
            return Some("its `.git` file cannot be read".into());
        }
    }
    // A git dir outside every writable root was not written by the sandbox.
    root_of(spec, &repo.git_dir)?;
    for name in ["config", "config.worktree"] {
        let path = repo.git_dir.join(name);
        let text = match gitconfig::read_file(&path) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(e) => return Some(format!("{name} cannot be read safely ({e})")),
        };
        match gitconfig::parse(&text, true) {
            Err(e) => return Some(format!("{name} is not a plain git config ({e})")),
            Ok(entries) => {
                if let Some(bad) = gitconfig::first_untrusted(&entries) {
                    return Some(format!(
                        "{name} sets {}, which a fresh repository does not have and which can \
                         run code or redirect git",
                        bad.name()
                    ));
                }
            }
        }
    }
    if repo.git_dir.join("commondir").symlink_metadata().is_ok() {
        match discover::common_dir(&repo.git_dir) {
            Some(c) if spec.repos.contains(&c) => {}
            _ => {
                return Some(
                    "its commondir points at a directory that was not a repository before the run"
                        .into(),
                );
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(repo.git_dir.join("hooks")) {
        for e in entries.flatten() {
            let name = e.file_name();
            if !name.to_string_lossy().ends_with(".sample") {
                return Some(format!("it has a hook {}", name.to_string_lossy()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_policy;

    fn git_dir(dir: &Path, config: &str) {
        std::fs::create_dir_all(dir.join("objects")).unwrap();
        std::fs::create_dir_all(dir.join("refs/heads")).unwrap();
        std::fs::write(dir.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(dir.join("config"), config).unwrap();
    }

    const PLAIN: &str = "[core]\n\trepositoryformatversion = 0\n\tbare = false\n";

    fn spec(ws: &Path) -> SandboxSpec {
        let mut p = default_policy();
        p.deny_read.clear();
        SandboxSpec::from_policy(&p, ws).unwrap()
    }

    fn tmp() -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = std::fs::canonicalize(d.path()).unwrap();
        (d, p)
    }

    #[test]
    fn a_hook_created_in_an_existing_repository_is_removed() {
        let (_d, ws) = tmp();
        git_dir(&ws.join(".git"), PLAIN);
        let spec = spec(&ws);
        std::fs::create_dir(ws.join(".git/hooks")).unwrap();
        std::fs::write(ws.join(".git/hooks/post-checkout"), "#!/bin/sh\nevil\n").unwrap();
        let events = check_after_run(&spec);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].action, IntegrityAction::Removed);
        assert!(!ws.join(".git/hooks").exists());
    }

    /// The names at the top of the workspace (Paddock's files, agents' and editors' config)
    /// are answered from one listing: a plant among them is still removed, every other name
    /// gives no event, and a folder with one watched path of its own (`.git/hooks` in a
    /// repository) is still looked at.
    #[test]
    fn plants_among_names_answered_by_a_listing_are_removed() {
        let (_d, ws) = tmp();
        git_dir(&ws.join(".git"), PLAIN);
        let spec = spec(&ws);
        let top = spec
            .watched
            .iter()
            .filter(|w| w.path.parent() == Some(ws.as_path()))
            .count();
        assert!(top >= LIST_FROM, "{:?}", spec.watched);
        std::fs::create_dir_all(ws.join(".claude")).unwrap();
        std::fs::write(ws.join(".claude/settings.json"), "{\"hooks\":{}}").unwrap();
        std::fs::write(ws.join(".mcp.json"), "{}").unwrap();
        std::fs::write(ws.join("unrelated.txt"), "kept").unwrap();
        std::fs::create_dir(ws.join(".git/hooks")).unwrap();
        let events = check_after_run(&spec);
        let mut removed: Vec<&Path> = events.iter().map(|e| e.path.as_path()).collect();
        removed.sort();
        let mut expected = [
            ws.join(".claude"),
            ws.join(".git/hooks"),
            ws.join(".mcp.json"),
        ];
        expected.sort();
        assert_eq!(
            removed,
            expected.iter().map(PathBuf::as_path).collect::<Vec<_>>()
        );
        assert!(events.iter().all(|e| e.action == IntegrityAction::Removed));
        assert!(ws.join("unrelated.txt").exists() && !ws.join(".claude").exists());
    }

    #[test]
    fn a_planted_commondir_is_removed() {
        let (_d, ws) = tmp();
        git_dir(&ws.join(".git"), PLAIN);
        let spec = spec(&ws);
        std::fs::write(ws.join(".git/commondir"), "../evil\n").unwrap();
        let events = check_after_run(&spec);
        assert!(events.iter().any(|e| e.path == ws.join(".git/commondir")));
        assert!(!ws.join(".git/commondir").exists());
    }

    #[test]
    fn git_init_in_a_workspace_without_a_repository_is_kept() {
        let (_d, ws) = tmp();
        let spec = spec(&ws);
        git_dir(&ws.join(".git"), PLAIN);
        std::fs::create_dir(ws.join(".git/hooks")).unwrap();
        std::fs::write(ws.join(".git/hooks/pre-commit.sample"), "#!/bin/sh\n").unwrap();
        assert_eq!(check_after_run(&spec), vec![]);
        assert!(ws.join(".git/HEAD").exists());
    }

    #[test]
    fn a_new_repository_with_an_fsmonitor_is_quarantined() {
        let (_d, ws) = tmp();
        let spec = spec(&ws);
        git_dir(&ws.join(".git"), "[core]\n\tfsmonitor = ./x.sh\n");
        let events = check_after_run(&spec);
        assert_eq!(events.len(), 1, "{events:?}");
        let IntegrityAction::Quarantined { moved_to } = &events[0].action else {
            panic!("{events:?}")
        };
        assert_eq!(moved_to, &ws.join(".git.paddock-quarantine"));
        assert!(!ws.join(".git").exists());
        assert!(
            events[0].reason.contains("core.fsmonitor"),
            "{}",
            events[0].reason
        );
    }

    #[test]
    fn a_new_repository_with_a_real_hook_is_quarantined() {
        let (_d, ws) = tmp();
        let spec = spec(&ws);
        git_dir(&ws.join("sub/dep/.git"), PLAIN);
        std::fs::create_dir(ws.join("sub/dep/.git/hooks")).unwrap();
        std::fs::write(ws.join("sub/dep/.git/hooks/post-merge"), "x").unwrap();
        let events = check_after_run(&spec);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(!ws.join("sub/dep/.git").exists());
    }

    #[test]
    fn the_workspace_root_turned_into_a_bare_repository_is_quarantined() {
        let (_d, ws) = tmp();
        let spec = spec(&ws);
        git_dir(&ws, "[core]\n\tbare = true\n\tfsmonitor = \"sh -c evil\"\n");
        let events = check_after_run(&spec);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(
            !ws.join("HEAD").exists(),
            "HEAD is renamed so git finds no repository"
        );
        assert!(!crate::integrity::discover::looks_like_git_dir(&ws));
    }

    #[test]
    fn a_new_submodule_git_dir_is_checked_too() {
        let (_d, ws) = tmp();
        git_dir(&ws.join(".git"), PLAIN);
        std::fs::create_dir(ws.join(".git/modules")).unwrap();
        let spec = spec(&ws);
        git_dir(
            &ws.join(".git/modules/lib"),
            "[core]\n\tworktree = ../../../lib\n",
        );
        assert_eq!(
            check_after_run(&spec),
            vec![],
            "what `git submodule update` writes"
        );
        let spec = SandboxSpec {
            repos: vec![ws.join(".git")],
            ..spec
        };
        git_dir(
            &ws.join(".git/modules/evil"),
            "[core]\n\thooksPath = /tmp/h\n",
        );
        let events = check_after_run(&spec);
        assert!(
            events
                .iter()
                .any(|e| e.path == ws.join(".git/modules/evil")),
            "{events:?}"
        );
        assert!(!ws.join(".git/modules/evil").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_dot_git_symlink_made_during_the_run_is_quarantined_not_followed() {
        let (_d, base) = tmp();
        let ws = base.join("ws");
        std::fs::create_dir(&ws).unwrap();
        let target = base.join("elsewhere");
        git_dir(&target, "[core]\n\tfsmonitor = x\n");
        let spec = spec(&ws);
        std::os::unix::fs::symlink(&target, ws.join(".git")).unwrap();
        let events = check_after_run(&spec);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(
            target.join("HEAD").exists(),
            "the link's target is left alone"
        );
        assert!(ws.join(".git").symlink_metadata().is_err());
    }

    #[cfg(windows)]
    #[test]
    fn a_new_repository_spelt_dot_git_in_capitals_is_quarantined_as_one_on_windows() {
        let (_d, ws) = tmp();
        let spec = spec(&ws);
        git_dir(&ws.join(".GIT"), "[core]\n\tfsmonitor = ./x.cmd\n");
        let events = check_after_run(&spec);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(
            events[0].action,
            IntegrityAction::Quarantined {
                moved_to: ws.join(".GIT.paddock-quarantine")
            },
            "the .GIT folder itself is moved, as a .git one would be"
        );
        assert!(ws.join(".GIT.paddock-quarantine/HEAD").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_known_repositorys_dot_git_replaced_by_a_link_is_quarantined() {
        let (_d, base) = tmp();
        let ws = base.join("ws");
        git_dir(&ws.join(".git"), PLAIN);
        let spec = spec(&ws);
        let target = base.join("elsewhere");
        git_dir(&target, "[core]\n\tfsmonitor = x\n");
        std::fs::rename(ws.join(".git"), base.join("old")).unwrap();
        std::os::unix::fs::symlink(&target, ws.join(".git")).unwrap();
        let events = check_after_run(&spec);
        assert!(
            events
                .iter()
                .any(|e| matches!(e.action, IntegrityAction::Quarantined { .. })),
            "{events:?}"
        );
        assert!(ws.join(".git").symlink_metadata().is_err());
    }

    #[test]
    fn read_only_mode_checks_nothing() {
        let (_d, ws) = tmp();
        let mut p = default_policy();
        p.mode = crate::Mode::ReadOnly;
        let spec = SandboxSpec::from_policy(&p, &ws).unwrap();
        git_dir(&ws.join(".git"), "[core]\n\tfsmonitor = x\n");
        assert_eq!(check_after_run(&spec), vec![]);
    }
}
