//! The sandbox's filesystem view, built by pid 1 of the new namespaces and entered with
//! `pivot_root`: the host's `/` recursively bound read-only, nosuid and nodev; writable roots
//! bound read-write; protected paths bound read-only on top, with their parents pinned (bound
//! onto themselves) so they cannot be renamed away; deny-read paths covered by empty, mode-000,
//! read-only mounts; private tmpfs for /tmp, /var/tmp and /dev/shm; a minimal /dev; a fresh /proc.
//!
//! Every host object is captured as a detached mount (`open_tree`) before anything is covered,
//! and every mount target is opened without following symlinks, so nothing here can be
//! redirected by a symlink planted in a writable root. The host's old root is gone from the
//! namespace before `build` returns (see `old_root`).

use super::helper::Helper;
use super::old_root;
use crate::plan::{DEV_NODES, LinuxError, LinuxPlan, PRIVATE_TMPFS, PlanPath};
use crate::sys::{self, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};
use paddock_core::paths::is_beneath;
use paddock_core::spec::PathKind;
use paddock_core::{Layer, LayerReport, LayerStatus, Protection};
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

const READ_ONLY: u64 = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
const WRITABLE: u64 = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

fn syscall(call: &'static str, target: &Path) -> impl FnOnce(io::Error) -> LinuxError {
    let target = target.display().to_string();
    move |source| LinuxError::Syscall {
        call,
        target,
        source,
    }
}

fn cstr(p: &Path) -> Result<std::ffi::CString, LinuxError> {
    sys::cstr(p).map_err(syscall("path", p))
}

/// A host object captured as a detached mount, to be attached at `target` in the new view.
struct Capture {
    target: PathBuf,
    tree: OwnedFd,
}

/// Clones the mount tree at `path` (host view) and sets `attrs` on every mount of the copy.
fn capture(path: &Path, attrs: u64) -> Result<Capture, LinuxError> {
    let fd = sys::open_nofollow(path).map_err(syscall("openat2", path))?;
    let tree = sys::clone_tree(fd.as_fd()).map_err(syscall("open_tree", path))?;
    sys::set_tree_attrs(tree.as_fd(), attrs, 0).map_err(syscall("mount_setattr", path))?;
    Ok(Capture {
        target: path.to_path_buf(),
        tree,
    })
}

/// Attaches a captured tree at its target, which must exist in the new view.
fn attach(c: &Capture) -> Result<(), LinuxError> {
    let target = sys::open_nofollow(&c.target).map_err(syscall("openat2", &c.target))?;
    sys::move_mount(c.tree.as_fd(), target.as_fd()).map_err(syscall("move_mount", &c.target))
}

/// True when `p` lies in a private tmpfs of the view and not in a writable root bound there:
/// the host object is invisible in the sandbox already.
fn hidden_by_private_tmpfs(p: &Path, plan: &LinuxPlan) -> bool {
    PRIVATE_TMPFS.iter().any(|t| is_beneath(p, Path::new(t)))
        && !plan.writable_roots.iter().any(|r| is_beneath(p, r))
}

fn depth(p: &Path) -> usize {
    p.components().count()
}

/// The directories strictly between each protected path and its (innermost) writable root:
/// pinned so that renaming or removing a protected path's parent fails with EBUSY.
fn pins(plan: &LinuxPlan) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for p in &plan.protected {
        let Some(root) = plan
            .writable_roots
            .iter()
            .filter(|r| is_beneath(&p.path, r) && p.path != **r)
            .max_by_key(|r| depth(r))
        else {
            continue;
        };
        let mut a = p.path.parent();
        while let Some(dir) = a {
            if dir == root.as_path() || !is_beneath(dir, root) {
                break;
            }
            if !out.iter().any(|o| o == dir) {
                out.push(dir.to_path_buf());
            }
            a = dir.parent();
        }
    }
    out.sort_by_key(|p| depth(p));
    out
}

fn sorted_by_depth(v: &[PlanPath]) -> Vec<&PlanPath> {
    let mut out: Vec<&PlanPath> = v.iter().collect();
    out.sort_by_key(|p| depth(&p.path));
    out
}

/// Builds the view and enters it. Returns the layer report. Must run in pid 1 of a fresh pid
/// namespace, inside a fresh mount namespace owned by our user namespace.
pub fn build(plan: &LinuxPlan, helper: &Helper) -> Result<LayerReport, LinuxError> {
    let root_path = Path::new("/");
    sys::mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None)
        .map_err(syscall("mount(MS_PRIVATE)", root_path))?;

    // 1. Capture every host object before anything is covered.
    let root = capture(root_path, READ_ONLY)?;
    let mut writable: Vec<&PathBuf> = plan.writable_roots.iter().collect();
    writable.sort_by_key(|p| depth(p));
    let writable = writable
        .into_iter()
        .map(|p| capture(p, WRITABLE))
        .collect::<Result<Vec<_>, _>>()?;
    let pins = pins(plan)
        .iter()
        .map(|p| capture(p, WRITABLE))
        .collect::<Result<Vec<_>, _>>()?;
    let protected = sorted_by_depth(&plan.protected)
        .into_iter()
        .filter(|p| plan.writable_roots.iter().any(|r| is_beneath(&p.path, r)))
        .map(|p| capture(&p.path, READ_ONLY))
        .collect::<Result<Vec<_>, _>>()?;
    let dev_attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
    let devices = DEV_NODES
        .iter()
        .map(|n| Path::new("/dev").join(n))
        .filter(|p| p.exists())
        .map(|p| capture(&p, dev_attrs))
        .collect::<Result<Vec<_>, _>>()?;

    // 2. Enter the read-only copy of `/`: stack it on the old root, then pivot_root with the
    // old root parked on /sys while a set-up thread unmounts it (`old_root`).
    let host_root = sys::open_nofollow(root_path).map_err(syscall("openat2", root_path))?;
    sys::move_mount(root.tree.as_fd(), host_root.as_fd())
        .map_err(syscall("move_mount", root_path))?;
    drop(host_root);
    sys::fchdir(root.tree.as_fd()).map_err(syscall("fchdir", root_path))?;
    let detaching = old_root::pivot(plan, helper)?;
    std::env::set_current_dir("/").map_err(syscall("chdir", root_path))?;

    // 3. Fresh kernel filesystems and private scratch space.
    mount_fs(
        c"proc",
        Path::new("/proc"),
        c"proc",
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
    )?;
    let tmpfs_data = tmpfs_options(plan)?;
    build_dev(&devices, &tmpfs_data)?;
    let tmpfs_flags = libc::MS_NOSUID | libc::MS_NODEV;
    let mut private = Vec::new();
    for dir in PRIVATE_TMPFS
        .iter()
        .filter(|d| **d != "/dev/shm")
        .map(Path::new)
    {
        // A missing or symlinked /var/tmp is left alone: it then names nothing of the host's.
        let is_dir = std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir());
        if is_dir {
            mount_fs(c"tmpfs", dir, c"tmpfs", tmpfs_flags, Some(&tmpfs_data))?;
            private.push(dir.display().to_string());
        }
    }

    // 4. Writable roots, pins, protected paths, in that order (outermost first in each).
    for c in &writable {
        ensure_dir_mount_point(&c.target)?;
        attach(c)?;
    }
    for c in pins.iter().chain(&protected) {
        attach(c)?;
    }

    // 5. Deny-read paths: hidden under empty, unreadable, read-only mounts. Then /dev, where
    // the empty file they are bound from was made, becomes read-only.
    let hidden = hide_deny_read(plan)?;
    sys::mount(
        None,
        c"/dev",
        None,
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC,
        None,
    )
    .map_err(syscall("mount(remount /dev read-only)", Path::new("/dev")))?;

    // 6. Nothing of the host's old root may be left when the view is done.
    if let Some(d) = detaching {
        d.confirm()?;
    }
    let detail = format!(
        "read-only recursive bind of / (nosuid, nodev); {} writable root(s) bound read-write; \
         {} protected path(s) bound read-only with {} parent(s) pinned; {} deny-read path(s) \
         hidden; private tmpfs on {} and /dev/shm; minimal /dev; fresh /proc",
        writable.len(),
        protected.len(),
        pins.len(),
        hidden,
        private.join(", "),
    );
    Ok(
        LayerReport::new(Layer::MountView, LayerStatus::Enforced, detail).enforcing([
            Protection::Writes,
            Protection::ProtectedPaths,
            Protection::DenyRead,
            Protection::UnixSockets,
        ]),
    )
}

/// The mount options of each private tmpfs: world-writable with the sticky bit, and the plan's
/// size limit (the kernel's default is half the memory, for each mount).
fn tmpfs_options(plan: &LinuxPlan) -> Result<CString, LinuxError> {
    let data = match plan.limits.tmpfs {
        Some(size) => format!("mode=1777,size={size}"),
        None => "mode=1777".to_string(),
    };
    CString::new(data).map_err(|e| LinuxError::Plan {
        reason: e.to_string(),
    })
}

fn mount_fs(
    source: &CStr,
    target: &Path,
    fstype: &CStr,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> Result<(), LinuxError> {
    let t = cstr(target)?;
    sys::mount(Some(source), &t, Some(fstype), flags, data).map_err(syscall("mount", target))
}

/// Makes sure the directory `target` exists in the view. Only directories inside a private
/// tmpfs may be created (the rest of the view is read-only, and the targets exist there).
fn ensure_dir_mount_point(target: &Path) -> Result<(), LinuxError> {
    if std::fs::symlink_metadata(target).is_ok() {
        return Ok(());
    }
    if PRIVATE_TMPFS
        .iter()
        .any(|t| is_beneath(target, Path::new(t)))
    {
        return std::fs::create_dir_all(target).map_err(syscall("mkdir", target));
    }
    Err(syscall("stat", target)(io::Error::from_raw_os_error(
        libc::ENOENT,
    )))
}

/// A private /dev: tmpfs with the host's harmless character devices bound in, a fresh devpts
/// instance, /dev/shm as a private tmpfs, the usual /proc/self/fd links (made read-only by
/// `build` once the deny-read mounts are done).
fn build_dev(devices: &[Capture], shm_data: &CStr) -> Result<(), LinuxError> {
    let dev = Path::new("/dev");
    mount_fs(
        c"tmpfs",
        dev,
        c"tmpfs",
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some(c"mode=0755"),
    )?;
    for d in devices {
        sys::create_empty_file(&d.target, 0o644).map_err(syscall("create", &d.target))?;
        attach(d)?;
    }
    let pts = dev.join("pts");
    std::fs::create_dir(&pts).map_err(syscall("mkdir", &pts))?;
    mount_fs(
        c"devpts",
        &pts,
        c"devpts",
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some(c"newinstance,ptmxmode=0666,mode=0620"),
    )?;
    let shm = dev.join("shm");
    std::fs::create_dir(&shm).map_err(syscall("mkdir", &shm))?;
    mount_fs(
        c"tmpfs",
        &shm,
        c"tmpfs",
        libc::MS_NOSUID | libc::MS_NODEV,
        Some(shm_data),
    )?;
    for (link, to) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let l = dev.join(link);
        std::os::unix::fs::symlink(to, &l).map_err(syscall("symlink", &l))?;
    }
    Ok(())
}

/// Covers each deny-read path: an empty mode-000 read-only tmpfs over a directory, an empty
/// mode-000 file bound read-only over anything else. Returns how many were hidden.
fn hide_deny_read(plan: &LinuxPlan) -> Result<usize, LinuxError> {
    let dirs: Vec<&PathBuf> = plan
        .deny_read
        .iter()
        .filter(|d| d.kind == PathKind::Dir)
        .map(|d| &d.path)
        .collect();
    // Under a hidden directory or a private tmpfs the host object is invisible already.
    let needed: Vec<&PlanPath> = sorted_by_depth(&plan.deny_read)
        .into_iter()
        .filter(|d| d.kind != PathKind::Missing)
        .filter(|d| !hidden_by_private_tmpfs(&d.path, plan))
        .filter(|d| {
            !dirs
                .iter()
                .any(|dir| d.path != **dir && is_beneath(&d.path, dir))
        })
        .collect();
    if needed.is_empty() {
        return Ok(0);
    }
    // In the private /dev tmpfs, never on a host filesystem; removed before the command runs.
    let blank = Path::new("/dev/.paddock-deny-read");
    sys::create_empty_file(blank, 0).map_err(syscall("create", blank))?;
    let blank_fd = sys::open_nofollow(blank).map_err(syscall("openat2", blank))?;
    let result = needed.iter().try_for_each(|d| hide_one(d, &blank_fd));
    std::fs::remove_file(blank).map_err(syscall("unlink", blank))?;
    result.map(|()| needed.len())
}

fn hide_one(d: &PlanPath, blank: &OwnedFd) -> Result<(), LinuxError> {
    let target = match sys::open_nofollow(&d.path) {
        Ok(fd) => fd,
        // Gone since the plan was made (a host socket closed): nothing left to read.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(syscall("openat2", &d.path)(e)),
    };
    let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    if d.kind == PathKind::Dir {
        let via = PathBuf::from(format!("/proc/self/fd/{}", target.as_raw_fd()));
        let t = cstr(&via)?;
        return sys::mount(
            Some(c"tmpfs"),
            &t,
            Some(c"tmpfs"),
            flags,
            Some(c"mode=000,size=4k"),
        )
        .map_err(syscall("mount(tmpfs over deny-read dir)", &d.path));
    }
    let tree = sys::clone_tree(blank.as_fd()).map_err(syscall("open_tree", &d.path))?;
    sys::set_tree_attrs(tree.as_fd(), READ_ONLY | MOUNT_ATTR_NOEXEC, 0)
        .map_err(syscall("mount_setattr", &d.path))?;
    sys::move_mount(tree.as_fd(), target.as_fd()).map_err(syscall("move_mount", &d.path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlanCommand;
    use paddock_core::Mode;

    fn plan(roots: &[&str], protected: &[&str]) -> LinuxPlan {
        LinuxPlan {
            mode: Mode::WorkspaceWrite,
            writable_roots: roots.iter().map(PathBuf::from).collect(),
            protected: protected
                .iter()
                .map(|p| PlanPath {
                    path: PathBuf::from(p),
                    kind: PathKind::Dir,
                })
                .collect(),
            deny_read: Vec::new(),
            network_off: true,
            proxy_port: None,
            network_in_init: false,
            command: PlanCommand {
                program: "/bin/true".into(),
                args: vec![],
                cwd: "/".into(),
                env: vec![],
            },
            uid: 0,
            gid: 0,
            limits: Default::default(),
        }
    }

    #[test]
    fn every_parent_between_a_protected_path_and_its_root_is_pinned_outermost_first() {
        let p = plan(&["/w"], &["/w/a/b/.git/hooks", "/w/.git/config"]);
        assert_eq!(
            pins(&p),
            vec![
                PathBuf::from("/w/a"),
                PathBuf::from("/w/.git"),
                PathBuf::from("/w/a/b"),
                PathBuf::from("/w/a/b/.git")
            ]
        );
    }

    #[test]
    fn a_protected_path_directly_in_its_root_needs_no_pin() {
        assert!(pins(&plan(&["/w"], &["/w/paddock.toml"])).is_empty());
    }

    #[test]
    fn the_innermost_writable_root_bounds_the_pins() {
        let p = plan(&["/w", "/w/sub"], &["/w/sub/.git/hooks"]);
        assert_eq!(pins(&p), vec![PathBuf::from("/w/sub/.git")]);
    }

    #[test]
    fn host_paths_in_a_private_tmpfs_are_hidden_unless_in_a_writable_root() {
        let p = plan(&["/tmp/ws"], &[]);
        assert!(hidden_by_private_tmpfs(Path::new("/tmp/other/secret"), &p));
        assert!(!hidden_by_private_tmpfs(Path::new("/tmp/ws/.env"), &p));
        assert!(!hidden_by_private_tmpfs(Path::new("/home/u/.ssh"), &p));
    }
}
