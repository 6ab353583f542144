//! Watches on everything a computation looked at (`looked_at`), to tell a resident front end
//! that a value it computed from the file system may be used again: [`LookupWatch::unchanged`]
//! says yes only while nothing the computation looked at can have changed.
//!
//! What is watched, per look (Linux, inotify):
//!
//! - every directory in which a name was looked up on the way to the path, links followed as
//!   the kernel follows them, with the names looked up there: an entry of one of those names
//!   made, removed, renamed or with its attributes changed changes what the path names (a
//!   missing path stops at the directory where the first missing name would be); events for
//!   other names in that directory do not count, so a busy directory on the way (`/tmp`, the
//!   home directory) does not spoil the watches (except in a directory that folds case, where
//!   a name made can be found by a lookup of another: there every name counts);
//! - for a listing, the directory itself, every name counting; for a file's bytes, the file
//!   itself (written, attributes changed, removed or moved: a file that cannot be watched
//!   because it cannot be read is answered for by its directory's watch, which reports the
//!   change of mode that would make it readable);
//! - and the bytes read are kept and read again on each use: a write through a shared memory
//!   mapping changes a file without any inotify event.
//!
//! Believed only while the mount table has not changed since the watches were set (a mount
//! changes what a path names without an event) and only when every watched directory and file
//! is on a local file system (`keep_guard`: on NFS, SMB, 9p, virtiofs or FUSE a change from
//! the other side makes no event). An event that counts, an event on a watched directory or
//! file itself, an overflow of the queue, a failure to read it, or bytes that differ make it
//! say no, for good.
//!
//! The value is computed twice around the watches ([`LookupWatch::around`]): once to know
//! what to watch, then again once the watches are set; both must agree, look at the same paths
//! and read the same bytes, and those looks must still lead to the directories watched, or
//! there is no watch (a change between the first computation and the watches, a link changed
//! among them, would otherwise go unseen). What a computation looks at without noting it is not watched: the
//! memo that uses this (`spec_memo`) is held against fresh computations in its tests.
//!
//! Elsewhere than Linux there are no watches: `around` answers `None`, and the value is
//! computed every time.

use crate::looked_at::Look;
use std::collections::BTreeSet;

/// The most watches one set holds; a computation that looked at more is not kept.
pub const MAX_LOOKUP_WATCHES: usize = 512;

/// When to try making watches again where they keep failing (a root file system that is an
/// overlay, as in a container, a home on NFS, a directory on the way that cannot be read):
/// after `n` failures in a row the next `2^n - 1` chances (at most 63) are let pass, so that a
/// resident front end does not compute twice and derive watches for nothing on every call.
/// Shared by threads; a race only shifts a try by one chance.
#[derive(Debug, Default)]
pub struct Attempts {
    failures: std::sync::atomic::AtomicU32,
    passed: std::sync::atomic::AtomicU32,
}

impl Attempts {
    /// Whether to try now.
    pub fn try_now(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let wait = (1u32 << self.failures.load(Relaxed).min(6)) - 1;
        if self.passed.load(Relaxed) >= wait {
            self.passed.store(0, Relaxed);
            true
        } else {
            self.passed.fetch_add(1, Relaxed);
            false
        }
    }

    /// Records how a try went.
    pub fn tried(&self, made: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        if made {
            self.failures.store(0, Relaxed);
        } else {
            let _ = self
                .failures
                .fetch_update(Relaxed, Relaxed, |f| Some(f.saturating_add(1)));
        }
        self.passed.store(0, Relaxed);
    }
}

/// Watches on what a computation looked at (see the module docs).
pub struct LookupWatch {
    #[cfg(target_os = "linux")]
    queue: crate::integrity::roots_watch::sys::Inotify,
    #[cfg(target_os = "linux")]
    mounts: std::fs::File,
    /// What each watch answers for (`linux::Relevant`).
    #[cfg(target_os = "linux")]
    relevant: linux::Relevant,
    /// The files whose bytes were read, opened (no link followed) once the watches were set,
    /// with those bytes: read again on each use through the descriptor (one `pread`), since a
    /// write through a shared memory mapping makes no inotify event. A file replaced since is
    /// an event of its directory's watch.
    #[cfg(target_os = "linux")]
    contents: Vec<(std::fs::File, Vec<u8>)>,
    /// Nothing was seen to change so far.
    intact: bool,
}

impl std::fmt::Debug for LookupWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupWatch")
            .field("watches", &self.watches())
            .field("intact", &self.intact)
            .finish_non_exhaustive()
    }
}

impl LookupWatch {
    /// Whether this system has such watches at all (Linux): elsewhere [`LookupWatch::around`]
    /// always answers `None`, so a caller need not record or compute twice.
    pub const fn available() -> bool {
        cfg!(target_os = "linux")
    }

    /// `first` (a value and what computing it looked at, from `looked_at::record`) with
    /// watches that answer for it from now on: watches are set on what it looked at, `again`
    /// computes it once more, and both must agree. `None` when they do not, when something
    /// cannot be watched (see the module docs), or elsewhere than Linux.
    pub fn around<T: PartialEq>(
        first: (T, BTreeSet<Look>),
        again: impl FnOnce() -> T,
    ) -> Option<(T, LookupWatch)> {
        #[cfg(target_os = "linux")]
        {
            let (value, looks) = first;
            let (mounts, _) = crate::integrity::keep_guard::mount_table()?;
            let targets = linux::targets(&looks)?;
            let (queue, relevant) = linux::watch(&targets)?;
            let (value2, looks2) = crate::looked_at::record(again);
            // The same value from the same looks (the bytes read included), and the looks
            // still lead to the directories watched: a link changed between the first
            // computation and the watches could otherwise leave them on the old target.
            if looks2 != looks || value2 != value || linux::targets(&looks2)? != targets {
                return None;
            }
            let mut watch = LookupWatch {
                queue,
                mounts,
                relevant,
                contents: linux::open_contents(targets.contents)?,
                intact: true,
            };
            watch.unchanged().then_some((value, watch))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (first, again);
            None
        }
    }

    /// True while nothing watched can have changed since the watches were set. Once it says
    /// no, it always does.
    pub fn unchanged(&mut self) -> bool {
        #[cfg(target_os = "linux")]
        {
            if self.intact {
                let quiet = self
                    .queue
                    .drain()
                    .is_ok_and(|events| !events.iter().any(|e| linux::matters(e, &self.relevant)));
                self.intact = quiet
                    && !crate::integrity::keep_guard::sys::mounts_changed(&self.mounts)
                    && self
                        .contents
                        .iter()
                        .all(|(file, bytes)| linux::same_bytes(file, bytes));
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            self.intact = false;
        }
        self.intact
    }

    /// False once [`LookupWatch::unchanged`] said no (without reading the queue again).
    pub fn intact(&self) -> bool {
        self.intact
    }

    /// How many directories and files are watched.
    pub fn watches(&self) -> usize {
        #[cfg(target_os = "linux")]
        {
            self.relevant.len()
        }
        #[cfg(not(target_os = "linux"))]
        {
            0
        }
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::MAX_LOOKUP_WATCHES;
    use crate::integrity::keep_guard::sys::{is_local_fs, name_traits};
    use crate::integrity::roots_watch::sys::Inotify;
    use crate::looked_at::Look;
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::ffi::OsString;
    use std::path::PathBuf;

    /// The directories and files to watch for `looks`, and the bytes read from those files.
    #[derive(Debug, Default, PartialEq, Eq)]
    pub struct Targets {
        /// Each directory with the names looked up in it (`None`: listed, every name counts).
        pub dirs: BTreeMap<PathBuf, Option<BTreeSet<OsString>>>,
        pub files: BTreeSet<PathBuf>,
        pub contents: Vec<(PathBuf, Vec<u8>)>,
    }

    /// What a watch descriptor answers for: the names looked up in its directory, or `None`
    /// when any event at all is a change (a listed directory, a file read).
    pub type Relevant = HashMap<i32, Option<BTreeSet<OsString>>>;

    /// True when `event` may change what was looked at (see [`Relevant`]): an overflow, an
    /// event on a watched directory or file itself, an unknown watch, or an entry looked up.
    pub fn matters(event: &crate::integrity::roots_watch::sys::Event, relevant: &Relevant) -> bool {
        if event.mask & libc::IN_Q_OVERFLOW != 0 || event.name.is_empty() {
            return true;
        }
        match relevant.get(&event.wd) {
            // A name equal but for ASCII case, or not ASCII at all, counts too: a directory
            // may fold case since the watches were set (`chattr +F` makes no event), or fold
            // it in ways only a full Unicode comparison would tell.
            Some(Some(names)) => {
                names.contains(&event.name)
                    || !event.name.is_ascii()
                    || names.iter().any(|n| {
                        n.as_encoded_bytes()
                            .eq_ignore_ascii_case(event.name.as_encoded_bytes())
                    })
            }
            Some(None) | None => true,
        }
    }

    /// The regular files `contents` names, opened as `files` opens a file it reads (no link
    /// followed, without blocking: a FIFO put there makes no reader wait), with their bytes;
    /// `None` when one cannot be opened or is not a regular file any more.
    pub fn open_contents(
        contents: Vec<(PathBuf, Vec<u8>)>,
    ) -> Option<Vec<(std::fs::File, Vec<u8>)>> {
        contents
            .into_iter()
            .map(|(path, bytes)| Some((crate::files::open_no_final_link(&path).ok()??, bytes)))
            .collect()
    }

    /// True when `file` still holds exactly `bytes` (one byte more is asked for, to see growth).
    pub fn same_bytes(file: &std::fs::File, bytes: &[u8]) -> bool {
        use std::os::unix::fs::FileExt;
        let mut now = vec![0u8; bytes.len() + 1];
        let mut len = 0;
        while len < now.len() {
            match file.read_at(&mut now[len..], len as u64) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        now[..len] == *bytes
    }

    /// What to watch for `looks`; `None` when a path cannot be followed (a link loop, a
    /// directory that cannot be searched, a `/proc` object link) or there would be too many.
    pub fn targets(looks: &BTreeSet<Look>) -> Option<Targets> {
        let mut t = Targets::default();
        for look in looks {
            let (Look::Entry(p) | Look::Listing(p) | Look::Mode(p) | Look::Content(p, _)) = look;
            let resolved = crate::paths::resolve_looking_in(p, &mut |dir, name| {
                if let Some(names) = t
                    .dirs
                    .entry(dir.to_path_buf())
                    .or_insert_with(|| Some(BTreeSet::new()))
                {
                    names.insert(name.to_os_string());
                }
            })
            .ok()?;
            let Ok(meta) = std::fs::symlink_metadata(&resolved) else {
                continue; // missing: the directory where it would be is watched
            };
            match look {
                Look::Listing(_) if meta.is_dir() => {
                    t.dirs.insert(resolved, None);
                }
                Look::Mode(_) if !meta.is_dir() => {
                    t.files.insert(resolved);
                }
                Look::Content(_, bytes) if !meta.is_dir() => {
                    if let Some(bytes) = bytes {
                        t.contents.push((resolved.clone(), bytes.clone()));
                    }
                    t.files.insert(resolved);
                }
                _ => {}
            }
            if t.dirs.len() + t.files.len() > MAX_LOOKUP_WATCHES {
                return None;
            }
        }
        Some(t)
    }

    /// A queue watching `t`, and what each of its watches answers for; `None` when a
    /// directory cannot be watched or something watched is not on a local file system.
    pub fn watch(t: &Targets) -> Option<(Inotify, Relevant)> {
        let queue = Inotify::new().ok()?;
        let mut relevant = Relevant::new();
        for (dir, names) in &t.dirs {
            // An encrypted directory's names come and go with its key, without an event.
            let (encrypted, folds_case) = name_traits(dir);
            if !is_local_fs(dir) || encrypted {
                return None;
            }
            let wd = match queue.add_dir(dir) {
                Ok(wd) => wd,
                // A lookup below a file (a `PATH` entry that is a file): nothing is found there
                // while it is a file, and its replacement is an event of its own directory.
                Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => continue,
                Err(_) => return None,
            };
            // In a directory that folds case, a name made can be found by a lookup of another
            // (`.SSH` for `.ssh`): every name counts there.
            let names = names.as_ref().filter(|_| !folds_case);
            // A directory both looked into and listed: every name counts.
            let merged = match (relevant.remove(&wd), names) {
                (Some(Some(mut had)), Some(more)) => {
                    had.extend(more.iter().cloned());
                    Some(had)
                }
                (None, names) => names.cloned(),
                _ => None,
            };
            relevant.insert(wd, merged);
        }
        for file in &t.files {
            if !is_local_fs(file) {
                return None;
            }
            match queue.add_file(file) {
                Ok(wd) => {
                    relevant.insert(wd, None);
                }
                // Unreadable: its bytes were not read either, and the mode change that would
                // make them readable is reported by its directory's watch.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
                Err(_) => return None,
            }
        }
        Some((queue, relevant))
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::path::Path;

        #[test]
        fn links_are_followed_to_every_directory_a_lookup_goes_through() {
            let d = tempfile::tempdir().unwrap();
            let b = std::fs::canonicalize(d.path()).unwrap();
            std::fs::create_dir_all(b.join("real/sub")).unwrap();
            std::fs::create_dir_all(b.join("other")).unwrap();
            std::os::unix::fs::symlink(b.join("real"), b.join("other/link")).unwrap();
            std::fs::write(b.join("real/sub/file"), "x").unwrap();
            let looks = BTreeSet::from([
                Look::Content(b.join("other/link/sub/file"), Some(b"x".to_vec())),
                Look::Entry(b.join("other/missing/deeper/x")),
                Look::Listing(b.join("real/sub")),
            ]);
            let t = targets(&looks).unwrap();
            let names = |dir: &Path| t.dirs.get(dir).cloned();
            let set = |n: &[&str]| Some(Some(n.iter().map(OsString::from).collect()));
            assert_eq!(names(&b.join("other")), set(&["link", "missing"]), "{t:?}");
            assert_eq!(names(&b), set(&["other", "real"]), "{t:?}");
            // Listed: every name counts (`sub` was also looked up in `real`).
            assert_eq!(names(&b.join("real")), set(&["sub"]), "{t:?}");
            assert_eq!(names(&b.join("real/sub")), Some(None), "{t:?}");
            assert!(t.dirs.contains_key(Path::new("/")));
            assert!(!t.dirs.contains_key(&b.join("other/missing")), "{t:?}");
            assert_eq!(t.files, BTreeSet::from([b.join("real/sub/file")]));
            assert_eq!(t.contents, [(b.join("real/sub/file"), b"x".to_vec())]);
        }

        #[test]
        fn a_link_loop_cannot_be_watched() {
            let d = tempfile::tempdir().unwrap();
            let b = std::fs::canonicalize(d.path()).unwrap();
            std::os::unix::fs::symlink(b.join("a"), b.join("b")).unwrap();
            std::os::unix::fs::symlink(b.join("b"), b.join("a")).unwrap();
            assert_eq!(targets(&BTreeSet::from([Look::Entry(b.join("a/x"))])), None);
        }
    }
}

#[cfg(test)]
mod attempt_tests {
    use super::Attempts;

    #[test]
    fn failures_in_a_row_space_the_tries_out_and_a_success_resets_them() {
        let a = Attempts::default();
        assert!(
            a.try_now() && a.try_now(),
            "no failure: every chance is a try"
        );
        let pattern = |a: &Attempts, n: usize| (0..n).map(|_| a.try_now()).collect::<Vec<_>>();
        a.tried(false);
        assert_eq!(pattern(&a, 4), [false, true, false, true]);
        a.tried(false);
        a.tried(false);
        assert_eq!(
            pattern(&a, 8),
            [false; 7].iter().copied().chain([true]).collect::<Vec<_>>()
        );
        for _ in 0..20 {
            a.tried(false);
        }
        assert_eq!(
            pattern(&a, 64).iter().filter(|t| **t).count(),
            1,
            "at most 63 let pass"
        );
        a.tried(true);
        assert!(a.try_now());
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// What a small computation sees: whether `secret` exists and the bytes of `config`.
    fn look(secret: &Path, config: &Path) -> (bool, Option<Vec<u8>>) {
        crate::looked_at::entry(secret);
        let bytes = std::fs::read(config).ok();
        crate::looked_at::content(config, bytes.as_deref());
        (secret.exists(), bytes)
    }

    fn watched(b: &Path) -> Option<LookupWatch> {
        let (secret, config) = (b.join("home/.ssh/id"), b.join("home/cfg"));
        let first = crate::looked_at::record(|| look(&secret, &config));
        LookupWatch::around(first, || look(&secret, &config)).map(|(_, w)| w)
    }

    fn base() -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let b = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(b.join("home")).unwrap();
        std::fs::create_dir_all(b.join("other")).unwrap();
        std::fs::write(b.join("home/cfg"), "a").unwrap();
        (d, b)
    }

    #[test]
    fn each_change_to_what_was_looked_at_is_seen_and_others_are_not() {
        let (_d, b) = base();
        if !crate::integrity::keep_guard::sys::is_local_fs(&b) {
            crate::testing::skip("the temporary directory is not on a local file system");
            return;
        }
        type Change = fn(&Path);
        let changes: [(&str, Change); 8] = [
            // Counted though this file system does not fold case: a directory may start to.
            ("a name equal but for case made", |b| {
                std::fs::create_dir(b.join("home/.SSH")).unwrap()
            }),
            ("a name that is not ASCII made", |b| {
                std::fs::write(b.join("home/\u{1E9E}"), "").unwrap()
            }),
            ("the missing file made", |b| {
                std::fs::create_dir(b.join("home/.ssh")).unwrap();
                std::fs::write(b.join("home/.ssh/id"), "k").unwrap();
            }),
            ("the missing parent made", |b| {
                std::fs::create_dir(b.join("home/.ssh")).unwrap()
            }),
            ("the file's bytes written", |b| {
                std::fs::write(b.join("home/cfg"), "b").unwrap()
            }),
            ("the file replaced by a rename", |b| {
                std::fs::write(b.join("home/new"), "c").unwrap();
                std::fs::rename(b.join("home/new"), b.join("home/cfg")).unwrap();
            }),
            ("the file's mode changed", |b| {
                use std::os::unix::fs::PermissionsExt;
                let p = std::fs::Permissions::from_mode(0o600);
                std::fs::set_permissions(b.join("home/cfg"), p).unwrap();
            }),
            ("an ancestor renamed", |b| {
                std::fs::rename(b.join("home"), b.join("moved")).unwrap()
            }),
        ];
        for (what, change) in changes {
            let (_d, b) = base();
            let mut w = watched(&b).expect("a local temporary directory can be watched");
            assert!(w.unchanged(), "{what}: nothing changed yet");
            change(&b);
            assert!(!w.unchanged(), "{what}: went unseen");
            assert!(!w.unchanged(), "{what}: once no, always no");
        }
        // Other names in the directories looked into, a file elsewhere, and a read of what is
        // watched change nothing.
        let (_d, b) = base();
        let mut w = watched(&b).unwrap();
        std::fs::write(b.join("home/unrelated"), "").unwrap();
        std::fs::rename(b.join("home/unrelated"), b.join("home/renamed")).unwrap();
        std::fs::write(b.join("other/x"), "").unwrap();
        let _ = std::fs::read(b.join("home/cfg")).unwrap();
        assert!(w.unchanged(), "a change outside what was looked at");
    }

    #[test]
    fn bytes_written_through_a_shared_mapping_made_before_the_watch_are_seen() {
        // inotify reports no write made through a shared mapping: the bytes read are read again.
        use std::os::fd::AsRawFd;
        let (_d, b) = base();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(b.join("home/cfg"))
            .unwrap();
        // SAFETY: a one-byte shared mapping of a file of one byte, unmapped below; the
        // descriptor may be closed once it is made.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                1,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED);
        drop(file);
        let mut w = watched(&b).expect("a local temporary directory can be watched");
        assert!(w.unchanged());
        // SAFETY: `map` is the live one-byte mapping made above.
        unsafe { *(map as *mut u8) = b'z' };
        assert_eq!(std::fs::read(b.join("home/cfg")).unwrap(), b"z");
        // Checked while the mapping lives: its end releases the file opened for writing, which
        // inotify reports (IN_CLOSE_WRITE); a process that keeps it makes no event at all.
        let seen = !w.unchanged();
        // SAFETY: the mapping made above, not used after this.
        unsafe { libc::munmap(map, 1) };
        assert!(seen, "a write through a mapping went unseen");
    }

    #[test]
    fn a_value_that_differs_between_the_two_computations_is_not_kept() {
        let (_d, b) = base();
        let (secret, config) = (b.join("home/.ssh/id"), b.join("home/cfg"));
        let first = crate::looked_at::record(|| look(&secret, &config));
        let again = || {
            std::fs::write(&config, "changed meanwhile").unwrap();
            look(&secret, &config)
        };
        assert!(LookupWatch::around(first, again).is_none());
    }
}
