//! A resident front end's pre-walk from the watches of an earlier walk
//! (`discover::find_repos_again`) against the full walk it replaces: after any sequence of
//! changes, made in one go or spread over several runs, it must find exactly the repositories
//! `find_repos` finds (a repository it misses would be taken for planted after the run and its
//! control files left unprotected during it; one it adds that is not there would let a
//! repository made at that place during the run pass for known).

use super::discover::{Repo, find_repos, find_repos_again, find_repos_watched};
use super::roots_watch::RootsWatch;
use super::watched_walk_tests::overflow_the_queue;
use crate::testing::Rng;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// `root/{a/b/c, d/e, f}` and `outside/` (same file system, not a root).
fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(d.path()).unwrap();
    let root = base.join("root");
    for dir in ["a/b/c", "d/e", "f"] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    fs::create_dir_all(base.join("outside")).unwrap();
    (d, root, base.join("outside"))
}

/// The watches of a walk of `root`, made to be kept.
fn watches(root: &Path) -> RootsWatch {
    let mut watch = RootsWatch::for_keeping().expect("inotify");
    find_repos_watched(&[root.to_path_buf()], Some(&mut watch)).unwrap();
    watch
}

fn set(repos: Vec<Repo>) -> BTreeSet<Repo> {
    repos.into_iter().collect()
}

/// `find_repos_again` from `watch`, checked against the full walk; `None` when the watches
/// could not tell.
fn again_checked(root: &Path, watch: &mut RootsWatch) -> Option<BTreeSet<Repo>> {
    let roots = [root.to_path_buf()];
    let again = find_repos_again(&roots, watch).unwrap().map(set)?;
    let full = set(find_repos(&roots).unwrap());
    assert_eq!(
        again, full,
        "the walk from the watches differs from the full walk"
    );
    Some(again)
}

fn git_dirs(repos: &BTreeSet<Repo>) -> BTreeSet<PathBuf> {
    repos.iter().map(|r| r.git_dir.clone()).collect()
}

fn plant_repo(dir: &Path) {
    try_plant_repo(dir).unwrap();
}

/// `plant_repo` that may fail (a `.git` file already there, say).
fn try_plant_repo(dir: &Path) -> std::io::Result<()> {
    let git = dir.join(".git");
    fs::create_dir_all(git.join("objects"))?;
    fs::write(git.join("HEAD"), "ref: refs/heads/main\n")
}

fn make_bare(dir: &Path) {
    try_make_bare(dir).unwrap();
}

fn try_make_bare(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir.join("objects"))?;
    fs::write(dir.join("HEAD"), "ref: refs/heads/main\n")
}

#[test]
fn repositories_made_and_removed_between_runs_add_up_in_the_watches() {
    let (_d, root, _) = tree();
    let mut watch = watches(&root);
    assert!(again_checked(&root, &mut watch).unwrap().is_empty());
    plant_repo(&root.join("a/b"));
    let first = again_checked(&root, &mut watch).unwrap();
    assert_eq!(git_dirs(&first), BTreeSet::from([root.join("a/b/.git")]));
    // A second change, read by a later call: the first one is still accounted for.
    make_bare(&root.join("d/e"));
    let second = again_checked(&root, &mut watch).unwrap();
    assert_eq!(
        git_dirs(&second),
        BTreeSet::from([root.join("a/b/.git"), root.join("d/e")])
    );
    fs::remove_dir_all(root.join("a/b/.git")).unwrap();
    let third = again_checked(&root, &mut watch).unwrap();
    assert_eq!(git_dirs(&third), BTreeSet::from([root.join("d/e")]));
}

#[test]
fn a_repository_below_a_moved_directory_is_found_at_its_new_place_only() {
    let (_d, root, _) = tree();
    plant_repo(&root.join("a/b/c"));
    make_bare(&root.join("d/e"));
    let mut watch = watches(&root);
    fs::rename(root.join("a"), root.join("f/a2")).unwrap();
    fs::rename(root.join("d"), root.join("d2")).unwrap();
    let found = again_checked(&root, &mut watch).unwrap();
    assert_eq!(
        git_dirs(&found),
        BTreeSet::from([root.join("f/a2/b/c/.git"), root.join("d2/e")])
    );
}

#[test]
fn a_directory_replaced_by_a_link_is_not_followed() {
    // Outside the roots, at the same relative place, a repository and a bare one: the path the
    // watches knew now leads there through the link, and the full walk never follows a link.
    let (_d, root, outside) = tree();
    plant_repo(&root.join("a/b/c"));
    make_bare(&root.join("a/b/bare"));
    let mut watch = watches(&root);
    // A directory that changed, then got a link on its path.
    fs::write(root.join("a/b/c/new.txt"), "").unwrap();
    plant_repo(&outside.join("b/c"));
    make_bare(&outside.join("b/bare"));
    fs::rename(root.join("a"), root.join("f/moved")).unwrap();
    fs::create_dir(root.join("a")).unwrap();
    std::os::unix::fs::symlink(outside.join("b"), root.join("a/b")).unwrap();
    let found = again_checked(&root, &mut watch).unwrap();
    assert!(
        found.iter().all(|r| !r.git_dir.starts_with(root.join("a"))),
        "nothing is found through the link: {found:?}"
    );
}

#[test]
fn a_directory_that_becomes_a_bare_repository_still_has_its_repositories_below_it() {
    let (_d, root, _) = tree();
    plant_repo(&root.join("a/b/c"));
    plant_repo(&root.join("a"));
    make_bare(&root.join("a/b/c/inner"));
    let mut watch = watches(&root);
    make_bare(&root.join("a"));
    let found = again_checked(&root, &mut watch).unwrap();
    assert_eq!(
        git_dirs(&found),
        BTreeSet::from([
            root.join("a"),
            root.join("a/.git"),
            root.join("a/b/c/.git"),
            root.join("a/b/c/inner"),
        ])
    );
}

#[test]
fn watches_made_to_be_kept_watch_a_small_tree_from_its_first_directory() {
    // Made before the first listing: a resident server's other run cannot change a directory
    // between its listing and its watch. Watches for one run wait for a larger tree.
    let (_d, root, _) = tree();
    assert!(watches(&root).watched_dirs() > 0);
    let mut one_run = RootsWatch::new().unwrap();
    find_repos_watched(std::slice::from_ref(&root), Some(&mut one_run)).unwrap();
    assert_eq!(one_run.watched_dirs(), 0);
}

#[test]
fn watches_not_made_to_be_kept_are_not_used_again() {
    let (_d, root, _) = tree();
    let mut watch = RootsWatch::with_min_dirs(0).unwrap();
    find_repos_watched(std::slice::from_ref(&root), Some(&mut watch)).unwrap();
    assert!(
        find_repos_again(std::slice::from_ref(&root), &mut watch)
            .unwrap()
            .is_none()
    );
    assert!(!watch.worth_keeping());
}

#[test]
fn other_roots_or_a_moved_root_make_the_watches_useless() {
    let (_d, root, outside) = tree();
    let mut watch = watches(&root);
    let other = [root.clone(), outside.clone()];
    assert!(find_repos_again(&other, &mut watch).unwrap().is_none());
    fs::rename(&root, outside.join("root")).unwrap();
    fs::create_dir(&root).unwrap();
    assert!(
        find_repos_again(std::slice::from_ref(&root), &mut watch)
            .unwrap()
            .is_none()
    );
}

#[test]
fn an_overflow_is_remembered() {
    let (_d, root, _) = tree();
    let mut watch = watches(&root);
    overflow_the_queue(&root.join("d/e"));
    assert!(again_checked(&root, &mut watch).is_none());
    // The queue is empty again, but what it dropped is not in it: still no answer.
    assert!(again_checked(&root, &mut watch).is_none());
    assert!(!watch.worth_keeping());
}

#[test]
fn watches_that_list_again_most_of_the_tree_are_not_worth_keeping() {
    let (_d, root, _) = tree();
    for i in 0..super::roots_watch::MIN_DIRS * 2 {
        fs::create_dir(root.join(format!("f/{i}"))).unwrap();
    }
    let mut watch = watches(&root);
    again_checked(&root, &mut watch).unwrap();
    assert!(watch.worth_keeping(), "nothing changed");
    for i in 0..super::roots_watch::MIN_DIRS * 2 {
        fs::write(root.join(format!("f/{i}/new")), "").unwrap();
    }
    again_checked(&root, &mut watch).unwrap();
    assert!(
        !watch.worth_keeping(),
        "{} directories listed again of {}",
        watch.relisted(),
        watch.watched_dirs()
    );
}

/// Every directory below `root` the full walk would list (no link, nothing inside a `.git`),
/// `root` first.
fn dirs_of(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if let Ok(entries) = fs::read_dir(&out[i]) {
            let mut subs: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name() != ".git")
                .map(|e| e.path())
                .collect();
            subs.sort();
            out.extend(subs);
        }
        i += 1;
    }
    out
}

/// One change a command or the user could make, at a place `rng` picks.
fn random_change(rng: &mut Rng, root: &Path, outside: &Path, step: usize) {
    let dirs = dirs_of(root);
    let pick = |rng: &mut Rng| dirs[rng.below(dirs.len())].clone();
    let below_root =
        |rng: &mut Rng| (dirs.len() > 1).then(|| dirs[1 + rng.below(dirs.len() - 1)].clone());
    match rng.below(12) {
        0 | 1 => fs::create_dir_all(pick(rng).join(format!("n{step}/m"))).unwrap(),
        2 => {
            let _ = try_plant_repo(&pick(rng));
        }
        3 => {
            let _ = try_make_bare(&pick(rng));
        }
        4 => {
            // A `.git` made empty, to be filled by a later change (or not).
            let _ = fs::create_dir(pick(rng).join(".git"));
        }
        5 => {
            // Fill an empty `.git`, or break a repository by removing its HEAD.
            let d = pick(rng);
            let git = d.join(".git");
            if git.join("HEAD").exists() {
                let _ = fs::remove_file(git.join("HEAD"));
            } else if git.is_dir() {
                let _ = try_plant_repo(&d);
            } else if d.join("HEAD").exists() {
                let _ = fs::remove_file(d.join("HEAD"));
            }
        }
        6 => {
            let d = pick(rng);
            if !d.join(".git").exists() {
                fs::write(d.join(".git"), format!("gitdir: ../g{step}\n")).unwrap();
            }
        }
        7 => {
            if let Some(d) = below_root(rng) {
                fs::remove_dir_all(d).unwrap();
            }
        }
        8 | 9 => {
            // Move a subtree elsewhere in the root (never into itself).
            if let Some(from) = below_root(rng) {
                let to_parent = pick(rng);
                if !to_parent.starts_with(&from) {
                    let _ = fs::rename(&from, to_parent.join(format!("r{step}")));
                }
            }
        }
        10 => {
            // A directory with repositories moved in from outside.
            let src = outside.join(format!("in{step}"));
            plant_repo(&src.join("x"));
            make_bare(&src.join("y"));
            fs::rename(&src, pick(rng).join(format!("in{step}"))).unwrap();
        }
        _ => {
            // A directory moved aside (or removed) and a link put at its name, to a copy of
            // its tree outside that holds repositories at the same places.
            if let Some(d) = below_root(rng) {
                let target = outside.join(format!("t{step}"));
                for sub in dirs_of(&d) {
                    let there = target.join(sub.strip_prefix(&d).unwrap());
                    let _ = try_plant_repo(&there);
                    let _ = try_make_bare(&there.join("bare"));
                }
                if rng.below(2) == 0 {
                    fs::rename(&d, root.join(format!("aside{step}"))).unwrap();
                } else {
                    fs::remove_dir_all(&d).unwrap();
                }
                std::os::unix::fs::symlink(&target, &d).unwrap();
            }
        }
    }
}

#[test]
fn after_random_changes_over_many_runs_the_walk_from_the_watches_is_the_full_walk() {
    let mut reused = 0;
    let mut steps = 0;
    for seed in 1..=24u64 {
        let (_d, root, outside) = tree();
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut watch = watches(&root);
        for step in 0..30 {
            // One to three changes between two walks (a run, or the time between runs).
            for k in 0..=rng.below(3) {
                random_change(&mut rng, &root, &outside, step * 4 + k);
            }
            steps += 1;
            match again_checked(&root, &mut watch) {
                Some(_) => reused += 1,
                None => watch = watches(&root),
            }
        }
    }
    // The watches answered for most steps (a moved root is the only way they cannot here).
    assert!(reused * 10 >= steps * 9, "{reused} of {steps} answered");
}
