//! The after-run search that lists again only what changed (`discover::find_repos_after` with
//! the pre-walk's `RootsWatch`) against the full walk it replaces: each test changes a tree the
//! way a command could, and the watched search must find every repository the full walk finds
//! that the pre-walk did not know. Plus its fallbacks.

use super::discover::{find_repos, find_repos_after, find_repos_watched};
use super::roots_watch::RootsWatch;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// A tree: `root/{a/b/c, d/e, f}` with a few files, inside a temporary directory that also
/// holds `outside/` (same file system, not a root).
fn tree() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(d.path()).unwrap().join("root");
    for dir in ["a/b/c", "d/e", "f"] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    for file in ["a/x.txt", "a/b/c/y.txt", "d/z.txt"] {
        fs::write(root.join(file), "data").unwrap();
    }
    fs::create_dir_all(d.path().join("outside")).unwrap();
    (d, root)
}

/// The pre-walk: the git dirs it found, and its watches.
fn prewalk(root: &Path) -> (Vec<PathBuf>, RootsWatch) {
    // Watched from the first directory on (the default leaves small trees to the full walk).
    let mut watch = RootsWatch::with_min_dirs(0).expect("inotify");
    let repos = find_repos_watched(&[root.to_path_buf()], Some(&mut watch)).unwrap();
    (repos.into_iter().map(|r| r.git_dir).collect(), watch)
}

/// The repositories each search finds after the run that the pre-walk did not know:
/// (watched, full).
fn new_repos(
    root: &Path,
    known: &[PathBuf],
    mut watch: RootsWatch,
) -> (BTreeSet<PathBuf>, BTreeSet<PathBuf>) {
    let unknown = |repos: Vec<super::discover::Repo>| -> BTreeSet<PathBuf> {
        repos
            .into_iter()
            .map(|r| r.git_dir)
            .filter(|g| !known.contains(g))
            .collect()
    };
    let roots = [root.to_path_buf()];
    let watched = unknown(find_repos_after(&roots, known, Some(&mut watch)).unwrap().0);
    let full = unknown(find_repos(&roots).unwrap());
    (watched, full)
}

/// Makes more events in the watched directory `dir` than the kernel queues
/// (`max_queued_events`, 16384 by default): the queue overflows.
pub(super) fn overflow_the_queue(dir: &Path) {
    let limit: usize = fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(16384);
    for i in 0..=limit {
        fs::write(dir.join(format!("file{i}")), "").unwrap();
    }
}

/// A minimal repository at `dir/.git`.
fn plant_repo(dir: &Path) {
    let git = dir.join(".git");
    fs::create_dir_all(git.join("objects")).unwrap();
    fs::create_dir_all(git.join("hooks")).unwrap();
    fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    fs::write(git.join("hooks/pre-commit"), "#!/bin/sh\necho planted\n").unwrap();
}

/// Asserts that the watched search found `want` and everything the full walk found.
fn assert_found(watched: &BTreeSet<PathBuf>, full: &BTreeSet<PathBuf>, want: &Path) {
    assert!(
        full.contains(want),
        "the full walk finds {want:?}: {full:?}"
    );
    assert!(
        watched.is_superset(full),
        "watched {watched:?} misses some of {full:?}"
    );
}

#[test]
fn an_unchanged_tree_has_no_new_repository_and_a_known_one_is_not_new() {
    let (_d, root) = tree();
    plant_repo(&root.join("d"));
    let (known, watch) = prewalk(&root);
    assert_eq!(known, vec![root.join("d/.git")]);
    let (watched, full) = new_repos(&root, &known, watch);
    assert!(
        watched.is_empty() && full.is_empty(),
        "{watched:?} {full:?}"
    );
}

#[test]
fn a_repository_planted_deep_in_an_existing_directory_is_found() {
    let (_d, root) = tree();
    let (known, watch) = prewalk(&root);
    plant_repo(&root.join("a/b/c"));
    let (watched, full) = new_repos(&root, &known, watch);
    assert_found(&watched, &full, &root.join("a/b/c/.git"));
}

#[test]
fn a_repository_in_new_directories_is_found() {
    let (_d, root) = tree();
    let (known, watch) = prewalk(&root);
    fs::create_dir_all(root.join("a/b/new/deeper")).unwrap();
    plant_repo(&root.join("a/b/new/deeper"));
    let (watched, full) = new_repos(&root, &known, watch);
    assert_found(&watched, &full, &root.join("a/b/new/deeper/.git"));
}

#[test]
fn a_directory_moved_in_with_a_repository_inside_is_walked_whole() {
    let (d, root) = tree();
    let (known, watch) = prewalk(&root);
    let staged = d.path().join("outside/pkg");
    fs::create_dir_all(staged.join("sub")).unwrap();
    plant_repo(&staged.join("sub"));
    fs::rename(&staged, root.join("d/e/pkg")).unwrap();
    let (watched, full) = new_repos(&root, &known, watch);
    assert_found(&watched, &full, &root.join("d/e/pkg/sub/.git"));
}

#[test]
fn a_new_directory_at_a_known_name_is_walked_whole() {
    // `a` is moved away and another directory takes its name: the parent lists `a` again,
    // but its inode is not the one the pre-walk listed.
    let (d, root) = tree();
    let (known, watch) = prewalk(&root);
    fs::rename(root.join("a"), d.path().join("outside/old-a")).unwrap();
    let fresh = d.path().join("outside/fresh");
    fs::create_dir_all(fresh.join("b/c")).unwrap();
    plant_repo(&fresh.join("b/c"));
    fs::rename(&fresh, root.join("a")).unwrap();
    let (watched, full) = new_repos(&root, &known, watch);
    assert_found(&watched, &full, &root.join("a/b/c/.git"));
}

#[test]
fn a_known_directory_moved_deeper_is_walked_at_its_new_place() {
    let (_d, root) = tree();
    let (known, watch) = prewalk(&root);
    fs::rename(root.join("a"), root.join("f/a")).unwrap();
    plant_repo(&root.join("f/a/b/c"));
    let (watched, full) = new_repos(&root, &known, watch);
    assert_found(&watched, &full, &root.join("f/a/b/c/.git"));
}

#[test]
fn an_empty_dot_git_that_becomes_a_repository_is_found() {
    // Nothing changes in the directory holding `.git`: only inside it, which the walk never
    // lists. The pre-walk's `.git` entries are looked at again.
    let (_d, root) = tree();
    fs::create_dir_all(root.join("d/e/.git")).unwrap();
    let (known, watch) = prewalk(&root);
    assert!(known.is_empty());
    fs::create_dir_all(root.join("d/e/.git/objects")).unwrap();
    fs::write(root.join("d/e/.git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let (watched, full) = new_repos(&root, &known, watch);
    assert_found(&watched, &full, &root.join("d/e/.git"));
}

#[test]
fn a_gitfile_rewritten_in_place_is_read_again() {
    // The gitfile points into a root at first, then at a git dir outside every root: nothing
    // changes in any listed directory, only the file's content.
    let (d, root) = tree();
    plant_repo(&root.join("f"));
    fs::write(
        root.join("a/.git"),
        format!("gitdir: {}\n", root.join("f/.git").display()),
    )
    .unwrap();
    let (known, watch) = prewalk(&root);
    let target = fs::canonicalize(d.path()).unwrap().join("outside/hidden");
    fs::create_dir_all(target.join("objects")).unwrap();
    fs::write(target.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    let text = format!("gitdir: {}\n", target.display());
    let old = fs::read(root.join("a/.git")).unwrap();
    let text = format!("{text:<width$}", width = old.len().max(text.len()));
    fs::OpenOptions::new()
        .write(true)
        .open(root.join("a/.git"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .unwrap();
    let (watched, full) = new_repos(&root, &known, watch);
    assert_found(&watched, &full, &target);
}

#[test]
fn a_repository_planted_below_a_bare_one_is_found() {
    // git run below a bare repository takes a `.git` there first: both walks go below it.
    let (_d, root) = tree();
    fs::create_dir_all(root.join("f/objects")).unwrap();
    fs::write(root.join("f/HEAD"), "ref: refs/heads/main\n").unwrap();
    let (known, watch) = prewalk(&root);
    assert_eq!(known, vec![root.join("f")]);
    fs::create_dir_all(root.join("f/inner")).unwrap();
    plant_repo(&root.join("f/inner"));
    let (watched, full) = new_repos(&root, &known, watch);
    assert_found(&watched, &full, &root.join("f/inner/.git"));
}

#[test]
fn a_directory_turned_into_a_bare_repository_is_found() {
    let (_d, root) = tree();
    let (known, watch) = prewalk(&root);
    fs::create_dir_all(root.join("a/b/objects")).unwrap();
    fs::write(root.join("a/b/HEAD"), "ref: refs/heads/main\n").unwrap();
    let (watched, full) = new_repos(&root, &known, watch);
    assert_found(&watched, &full, &root.join("a/b"));
}

#[test]
fn a_new_submodule_git_dir_of_a_known_repository_is_found() {
    let (_d, root) = tree();
    plant_repo(&root.join("d"));
    let (known, watch) = prewalk(&root);
    let module = root.join("d/.git/modules/evil");
    fs::create_dir_all(module.join("objects")).unwrap();
    fs::write(module.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    let (watched, full) = new_repos(&root, &known, watch);
    assert_found(&watched, &full, &module);
}

#[test]
fn an_overflowing_queue_falls_back_to_the_full_walk() {
    // More events than the kernel queues (16384 by default): what comes after the overflow is
    // lost, here the repository planted last, so the watches cannot be believed and every root
    // is walked.
    let (_d, root) = tree();
    let (known, watch) = prewalk(&root);
    overflow_the_queue(&root.join("d/e"));
    plant_repo(&root.join("a/b/c"));
    let (watched, full) = new_repos(&root, &known, watch);
    assert_found(&watched, &full, &root.join("a/b/c/.git"));
}

#[test]
fn more_directories_than_the_watch_limit_leave_the_check_to_the_full_walk() {
    let (_d, root) = tree();
    for i in 0..super::roots_watch::MAX_WATCHES {
        fs::create_dir(root.join(format!("f/{i}"))).unwrap();
    }
    let (_, mut watch) = prewalk(&root);
    assert!(watch.changes().is_none());
}

#[test]
fn a_small_tree_is_left_to_the_full_walk_and_a_large_one_watched() {
    let (_d, root) = tree();
    let mut small = RootsWatch::new().unwrap();
    find_repos_watched(std::slice::from_ref(&root), Some(&mut small)).unwrap();
    assert_eq!(small.watched_dirs(), 0);
    assert!(small.changes().is_none(), "no queue: the full walk decides");
    for i in 0..super::roots_watch::MIN_DIRS {
        fs::create_dir(root.join(format!("d/{i}"))).unwrap();
    }
    let mut large = RootsWatch::new().unwrap();
    find_repos_watched(std::slice::from_ref(&root), Some(&mut large)).unwrap();
    assert_eq!(
        large.watched_dirs(),
        super::roots_watch::MIN_DIRS + 7,
        "every directory"
    );
    plant_repo(&root.join("a/b/c"));
    let (watched, _) = large.changes().expect("watched");
    assert_eq!(watched.changed, BTreeSet::from([root.join("a/b/c")]));
}

#[test]
fn a_directory_that_could_not_be_watched_leaves_the_check_to_the_full_walk() {
    let (_d, root) = tree();
    let (_, mut watch) = prewalk(&root);
    watch.before_listing(&root.join("no-such-directory"), 0);
    assert!(watch.changes().is_none());
}
