//! Where the walk of the writable roots cannot see, it refuses instead of passing over it: a
//! directory that can be entered but not listed, a directory deeper than the walk goes. Both
//! walks (the full one and the one from kept watches) give the same answer.

use super::discover::{
    MAX_WALK_DEPTH, WalkError, find_repos, find_repos_after, find_repos_again, find_repos_watched,
};
use super::roots_watch::RootsWatch;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn plant_repo(dir: &Path) {
    fs::create_dir_all(dir.join(".git/objects")).unwrap();
    fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
}

fn root() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(d.path()).unwrap().join("root");
    fs::create_dir(&root).unwrap();
    (d, root)
}

/// Runs `f` on a thread without the capabilities that let root pass directory permissions
/// (`CAP_DAC_OVERRIDE`, `CAP_DAC_READ_SEARCH`), as a user's Paddock runs; capabilities are
/// per thread, so the rest of the test process keeps them.
fn as_plain_user<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    // linux/capability.h
    const CAP_DAC_OVERRIDE: u32 = 1;
    const CAP_DAC_READ_SEARCH: u32 = 2;
    std::thread::spawn(move || {
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Default, Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        let mut header = Header {
            version: 0x2008_0522,
            pid: 0,
        };
        let mut data = [Data::default(); 2];
        // SAFETY: capget/capset with a version-3 header and two data structs, as the kernel
        // expects; they read and change this thread's capabilities only.
        unsafe {
            assert_eq!(
                libc::syscall(
                    libc::SYS_capget,
                    &mut header as *mut Header,
                    data.as_mut_ptr()
                ),
                0
            );
            data[0].effective &= !((1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH));
            assert_eq!(
                libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()),
                0
            );
        }
        f()
    })
    .join()
    .unwrap()
}

#[test]
fn a_directory_that_can_be_entered_but_not_listed_is_refused() {
    // git run in d/evil finds d/evil/.git through a directory it cannot list (mode 311).
    let (_d, root) = root();
    let d = root.join("d");
    plant_repo(&d.join("evil"));
    fs::set_permissions(&d, fs::Permissions::from_mode(0o311)).unwrap();
    let roots = vec![root.clone()];
    let got = as_plain_user(move || find_repos(&roots));
    assert!(
        matches!(&got, Err(WalkError::Unlistable { path }) if *path == d),
        "{got:?}"
    );
    fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(find_repos(std::slice::from_ref(&root)).unwrap().len(), 1);
}

#[test]
fn a_directory_below_the_depth_limit_is_refused_by_both_walks() {
    let (_d, root) = root();
    let mut watch = RootsWatch::for_keeping().expect("inotify");
    let roots = [root.clone()];
    find_repos_watched(&roots, Some(&mut watch)).unwrap();
    // A chain exactly as deep as the walk goes is fine; one more level is not.
    let mut deep = root.clone();
    for _ in 0..MAX_WALK_DEPTH {
        deep.push("d");
    }
    fs::create_dir_all(&deep).unwrap();
    assert!(find_repos(&roots).is_ok());
    assert!(find_repos_again(&roots, &mut watch).unwrap().is_some());
    plant_repo(&deep.join("evil"));
    let full = find_repos(&roots);
    assert!(
        matches!(&full, Err(WalkError::TooDeep { limit, .. }) if *limit == MAX_WALK_DEPTH),
        "{full:?}"
    );
    assert!(
        find_repos_again(&roots, &mut watch).unwrap().is_none(),
        "the kept watches leave it to the full walk, which refuses"
    );
}

#[test]
fn a_directory_of_the_callers_made_unreachable_is_refused_and_one_of_someone_elses_passed_over() {
    // Mode 000 on one's own directory hides it until a chmod makes it reachable again (a
    // sandboxed command runs as the caller and can do both); someone else's is out of reach
    // for the caller's git and for the command alike.
    let (_d, root) = root();
    let d = root.join("d");
    plant_repo(&d.join("evil"));
    fs::set_permissions(&d, fs::Permissions::from_mode(0o000)).unwrap();
    let roots = vec![root.clone()];
    let got = as_plain_user(move || find_repos(&roots));
    assert!(
        matches!(&got, Err(WalkError::Unreachable { path }) if *path == d),
        "{got:?}"
    );
    fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    let c = std::ffi::CString::new(d.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: chown with a valid NUL-terminated path and plain ids.
    if unsafe { libc::chown(c.as_ptr(), 65534, 65534) } != 0 {
        crate::testing::skip("cannot give a directory to another user (needs root)");
        return;
    }
    fs::set_permissions(&d, fs::Permissions::from_mode(0o000)).unwrap();
    let roots = vec![root.clone()];
    let got = as_plain_user(move || find_repos(&roots));
    assert_eq!(got.unwrap(), vec![]);
}

#[test]
fn a_dot_git_whose_insides_cannot_be_looked_at_is_refused() {
    // Before, a `.git` whose HEAD could not be looked at was taken for an empty one.
    let (_d, root) = root();
    plant_repo(&root.join("a"));
    let git = root.join("a/.git");
    fs::set_permissions(&git, fs::Permissions::from_mode(0o000)).unwrap();
    let roots = vec![root.clone()];
    let got = as_plain_user(move || find_repos(&roots));
    assert!(
        matches!(&got, Err(WalkError::Unreadable { path, .. }) if *path == git),
        "{got:?}"
    );
    fs::set_permissions(&git, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_permission_change_between_runs_is_seen_by_the_kept_watches() {
    // A chmod makes no entry appear or go: the watches report it (IN_ATTRIB), so the walk from
    // them refuses as the full walk does instead of passing over the directory.
    let (_d, root) = root();
    let d = root.join("d");
    plant_repo(&d.join("evil"));
    let mut watch = RootsWatch::for_keeping().expect("inotify");
    let roots = vec![root.clone()];
    find_repos_watched(&roots, Some(&mut watch)).unwrap();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o311)).unwrap();
    let got = as_plain_user(move || find_repos_again(&roots, &mut watch).map(|r| r.is_some()));
    assert!(
        matches!(&got, Err(WalkError::Unlistable { path }) if *path == d),
        "{got:?}"
    );
    fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn after_a_run_the_walk_goes_on_past_what_it_cannot_see() {
    // The check after a run notes the blind spot and still finds the plant next to it.
    let (_d, root) = root();
    let mut deep = root.clone();
    for _ in 0..=MAX_WALK_DEPTH {
        deep.push("d");
    }
    fs::create_dir_all(&deep).unwrap();
    plant_repo(&root.join("evil"));
    let (repos, blind) = find_repos_after(std::slice::from_ref(&root), &[], None).unwrap();
    assert!(
        repos.iter().any(|r| r.git_dir == root.join("evil/.git")),
        "{repos:?}"
    );
    assert!(
        matches!(blind.as_slice(), [WalkError::TooDeep { .. }]),
        "{blind:?}"
    );
}

#[test]
fn someone_elses_dot_git_closed_to_the_caller_is_passed_over() {
    // A `sudo git clone` with umask 077: the caller's git cannot use it, nor can the caller
    // open it up, so it does not refuse every run.
    let (_d, root) = root();
    plant_repo(&root.join("a"));
    let git = root.join("a/.git");
    let c = std::ffi::CString::new(git.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: chown with a valid NUL-terminated path and plain ids.
    if unsafe { libc::chown(c.as_ptr(), 65534, 65534) } != 0 {
        crate::testing::skip("cannot give a directory to another user (needs root)");
        return;
    }
    fs::set_permissions(&git, fs::Permissions::from_mode(0o700)).unwrap();
    let roots = vec![root.clone()];
    let got = as_plain_user(move || find_repos(&roots));
    assert_eq!(got.unwrap(), vec![]);
}
