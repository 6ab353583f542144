//! What must still hold for the watches of the writable roots (`roots_watch`: a run's own, and
//! those `paddock mcp` keeps between runs) to be believed: inotify reports only changes made
//! through this kernel's file system layer to the inodes it watches, so the watches are
//! believed only while
//!
//! - **no mount changed** in this process's mount namespace since they were set (a mount over a
//!   watched directory, or an unmount that uncovers what was below a mount point, changes what a
//!   path shows without an event): the mount table is polled (`/proc/thread-self/mountinfo`
//!   reports a change as `POLLPRI`);
//! - **each root is still the directory walked** (same device and inode: a parent of the root
//!   renamed and the path made again leaves the watches on the old tree without an event);
//! - **every root is on a local file system** (ext2/3/4, XFS, Btrfs, tmpfs, F2FS, bcachefs;
//!   not ZFS, whose rollback changes files in place without an event) **and no mount point
//!   lies below a root**: on NFS, SMB, 9p (WSL's `/mnt/c`), virtiofs (Docker Desktop, Lima) or
//!   FUSE, a change made from the other side, or by the file system's own daemon, makes no
//!   event here.
//!
//! Checked when the queue is made and each time the watches are read; any doubt, or a system
//! without these files, says no (the roots are walked afresh).

use std::path::{Path, PathBuf};

/// The facts a set of kept watches relies on, taken before its first listing.
pub struct KeepGuard {
    #[cfg(target_os = "linux")]
    mounts: std::fs::File,
    roots: Vec<(PathBuf, (u64, u64))>,
    local: bool,
    /// A check found the facts changed (the mount table's poll reports a change once).
    failed: bool,
}

impl KeepGuard {
    /// Takes the facts for `roots`; `None` where they cannot be taken.
    pub fn take(roots: &[PathBuf]) -> Option<KeepGuard> {
        #[cfg(target_os = "linux")]
        {
            // Opened first: a mount change from here on is reported by `poll`.
            let (mounts, table) = mount_table()?;
            let mut ids = Vec::new();
            for r in roots {
                ids.push((r.clone(), dev_ino(r)?));
            }
            let local = roots.iter().all(|r| sys::is_local_fs(r))
                && !mount_points(&table)
                    .iter()
                    .any(|m| roots.iter().any(|r| m.starts_with(r) && m != r));
            Some(KeepGuard {
                mounts,
                roots: ids,
                local,
                failed: false,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = roots;
            None
        }
    }

    /// Whether the watches may be used again for `roots`: the same roots, still the same
    /// directories, all local, and no mount changed since [`KeepGuard::take`]. Once it says no,
    /// it always does.
    pub fn holds(&mut self, roots: &[PathBuf]) -> bool {
        if self.failed || !self.local || self.roots.len() != roots.len() {
            self.failed = true;
            return false;
        }
        let same_roots = self
            .roots
            .iter()
            .zip(roots)
            .all(|((path, id), r)| path == r && dev_ino(r) == Some(*id));
        #[cfg(target_os = "linux")]
        let mounts_same = !sys::mounts_changed(&self.mounts);
        #[cfg(not(target_os = "linux"))]
        let mounts_same = false;
        self.failed = !(same_roots && mounts_same);
        !self.failed
    }

    /// Whether the roots were found on local file systems with no mount point below them.
    pub fn local(&self) -> bool {
        self.local
    }
}

/// The mount table, opened for [`sys::mounts_changed`] to report any change made from now on,
/// and its text: this thread's table (a test may have a mount namespace of its own),
/// `/proc/self` before Linux 3.17, which has no `thread-self`.
#[cfg(target_os = "linux")]
pub(crate) fn mount_table() -> Option<(std::fs::File, String)> {
    let path = ["/proc/thread-self/mountinfo", "/proc/self/mountinfo"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    // Read through the descriptor that is polled later (reading does not clear a change: only
    // `poll` does).
    let mut mounts = std::fs::File::open(path).ok()?;
    let mut table = String::new();
    std::io::Read::read_to_string(&mut mounts, &mut table).ok()?;
    Some((mounts, table))
}

/// The device and inode of `p` (links followed, as the walk starts at the root's target, and
/// as opening a folder does).
pub(super) fn dev_ino(p: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = p;
        None
    }
}

#[cfg(target_os = "linux")]
/// The mount points of a `mountinfo` table (the fifth field, with the kernel's octal escapes of
/// space, tab, newline and backslash undone).
fn mount_points(table: &str) -> Vec<PathBuf> {
    table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape_octal(field)))
        .collect()
}

#[cfg(target_os = "linux")]
fn unescape_octal(field: &str) -> std::ffi::OsString {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStringExt::from_vec(out)
    }
    #[cfg(not(unix))]
    {
        String::from_utf8_lossy(&out).into_owned().into()
    }
}

#[cfg(target_os = "linux")]
pub(crate) mod sys {
    //! `statfs` for the file system type and `poll` on the mount table.

    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    /// File systems whose every change goes through this kernel (see the module docs).
    const LOCAL: &[u32] = &[
        0xEF53,      // ext2, ext3, ext4
        0x5846_5342, // XFS
        0x9123_683E, // Btrfs
        0x0102_1994, // tmpfs
        0xF2F5_2010, // F2FS
        // Not ZFS: `zfs rollback` and `zfs receive -F` change a mounted dataset's files in
        // place, with no event and no change to the mount table.
        0xCA45_1A4E, // bcachefs
    ];

    /// True when `p` is on one of the [`LOCAL`] file systems.
    pub fn is_local_fs(p: &Path) -> bool {
        let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: `c` is a NUL-terminated path that outlives the call and `st` is a writable
        // statfs the kernel fills.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
            return false;
        }
        // The magic numbers are 32-bit; `f_type` is a signed word (sign-extended on 32-bit).
        #[allow(clippy::unnecessary_cast)]
        let kind = st.f_type as u32;
        LOCAL.contains(&kind)
    }

    /// `FS_CASEFOLD_FL` (linux/fs.h): a directory whose names are looked up without regard to
    /// case (`chattr +F` on ext4, F2FS, tmpfs).
    const FS_CASEFOLD_FL: libc::c_long = 0x4000_0000;
    /// `FS_ENCRYPT_FL`: an fscrypt directory, whose names a lookup finds or not as its key is
    /// added or removed, with no event.
    const FS_ENCRYPT_FL: libc::c_long = 0x800;

    /// Whether the directory `dir` may be encrypted (fscrypt) and whether it may match names
    /// without regard to case (a lookup of one name can then find an entry of another), from
    /// one read of its flags; both when they cannot be read.
    pub fn name_traits(dir: &Path) -> (bool, bool) {
        match dir_flags(dir) {
            Some(f) => (f & FS_ENCRYPT_FL != 0, f & FS_CASEFOLD_FL != 0),
            None => (true, true),
        }
    }

    /// The inode flags of the directory `dir` (0 on a file system without them); `None` when
    /// they cannot be read.
    fn dir_flags(dir: &Path) -> Option<libc::c_long> {
        use std::os::unix::fs::OpenOptionsExt;
        let Ok(d) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(dir)
        else {
            return None;
        };
        let mut flags: libc::c_long = 0;
        // SAFETY: FS_IOC_GETFLAGS writes one long into `flags`, which outlives the call, for
        // the directory descriptor `d` keeps open.
        let r = unsafe { libc::ioctl(d.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
        if r != 0 {
            // A file system without these flags has neither case folding nor encryption.
            let e = std::io::Error::last_os_error().raw_os_error();
            return matches!(e, Some(libc::ENOTTY | libc::EINVAL | libc::EOPNOTSUPP)).then_some(0);
        }
        Some(flags)
    }

    /// True when the mount table `mounts` was opened on changed since (or the poll failed).
    pub fn mounts_changed(mounts: &std::fs::File) -> bool {
        let mut fd = libc::pollfd {
            fd: mounts.as_raw_fd(),
            events: libc::POLLPRI,
            revents: 0,
        };
        // SAFETY: one valid pollfd for a descriptor `mounts` keeps open; no wait.
        let n = unsafe { libc::poll(&mut fd, 1, 0) };
        n != 0 && (n < 0 || fd.revents & (libc::POLLPRI | libc::POLLERR) != 0)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn an_ordinary_directory_does_not_fold_case_and_a_missing_one_may() {
        let d = tempfile::tempdir().unwrap();
        // The flags as lsattr shows them (its first field; the path may hold any letter).
        let flags = std::process::Command::new("lsattr")
            .args(["-d", &d.path().display().to_string()])
            .output()
            .map(|o| {
                let out = String::from_utf8_lossy(&o.stdout).into_owned();
                out.split_whitespace().next().unwrap_or_default().to_owned()
            })
            .unwrap_or_default();
        let folds = flags.contains('F');
        assert_eq!(sys::name_traits(d.path()).1, folds);
        assert!(sys::name_traits(&d.path().join("missing")).1);
        let encrypted = flags.contains('E');
        assert_eq!(sys::name_traits(d.path()).0, encrypted);
        assert!(sys::name_traits(&d.path().join("missing")).0);
    }

    #[test]
    fn mount_points_are_read_with_their_escapes_undone() {
        let table = "36 35 98:0 / /mnt/my\\040disk rw,noatime master:1 - ext3 /dev/root rw\n\
                     37 35 98:0 /x /srv rw - tmpfs t rw\n";
        assert_eq!(
            mount_points(table),
            [PathBuf::from("/mnt/my disk"), PathBuf::from("/srv")]
        );
    }

    #[test]
    fn a_root_made_again_at_its_path_is_not_the_walked_one() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let roots = [root.clone()];
        let mut guard = KeepGuard::take(&roots).unwrap();
        if !guard.local() {
            crate::testing::skip("the test directory is not on a local file system");
            return;
        }
        assert!(guard.holds(&roots));
        let mut other = KeepGuard::take(&roots).unwrap();
        assert!(!other.holds(&[d.path().to_path_buf()]), "other roots");
        assert!(!other.holds(&roots), "once it said no, it says no");
        std::fs::rename(&root, d.path().join("old")).unwrap();
        std::fs::create_dir(&root).unwrap();
        assert!(!guard.holds(&roots), "the root was replaced");
    }

    #[test]
    fn a_mount_change_is_seen() {
        // A mount in a mount namespace of this thread's own, so nothing leaks to the machine.
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        let ok = std::thread::spawn(move || {
            // SAFETY: unshare and mount with valid arguments; they affect this thread only
            // (a new mount namespace, whose mounts are made private first).
            unsafe {
                if libc::unshare(libc::CLONE_NEWNS) != 0 {
                    return None;
                }
                let none = c"none".as_ptr();
                if libc::mount(
                    none,
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
                {
                    return None;
                }
            }
            let roots = [root.clone()];
            let mut guard = KeepGuard::take(&roots)?;
            if !guard.local() {
                return None;
            }
            let before = guard.holds(&roots);
            let sub = CString::new(root.join("sub").as_os_str().as_bytes()).unwrap();
            // SAFETY: as above.
            let mounted = unsafe {
                libc::mount(
                    c"tmpfs".as_ptr(),
                    sub.as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    std::ptr::null(),
                )
            };
            if mounted != 0 {
                return None;
            }
            Some((before, guard.holds(&roots)))
        })
        .join()
        .unwrap();
        match ok {
            Some((before, after)) => {
                assert!(before, "nothing changed yet");
                assert!(!after, "a mount below a root went unseen");
            }
            None => crate::testing::skip(
                "no mount namespace of its own for this thread (root), or a temporary directory \
                 not on a local file system",
            ),
        }
    }
}
