//! Watches on everything a computation looked at (`looked_at`), to tell a resident front end
//! that a value it computed from the file system may be used again: [`LookupWatch::unchanged`]
//! says yes only while nothing the computation looked at can have changed.
//!
//! What is watched, per look (Linux, inotify):
//!
//! - every directory in which a name was looked up on the way to the path, links followed as
//!   the kernel follows them (an entry made, removed, renamed or with its attributes changed
//!   there changes what the path names; a missing path stops at the directory where the first
//!   missing name would be);
//! - for a listing, the directory itself; for a file's bytes, the file itself (written,
//!   attributes changed, removed or moved: a file that cannot be watched because it cannot be
//!   read is answered for by its directory's watch, which reports the change of mode that would
//!   make it readable).
//!
//! Believed only while the mount table has not changed since the watches were set (a mount
//! changes what a path names without an event) and only when every watched directory and file
//! is on a local file system (`keep_guard`: on NFS, SMB, 9p, virtiofs or FUSE a change from
//! the other side makes no event). Any event at all, an overflow of the queue or a failure to
//! read it makes it say no, for good.
//!
//! The value is computed twice around the watches ([`LookupWatch::around`]): once to know
//! what to watch, then again once the watches are set; both must agree, and look at the same
//! paths, or there is no watch (a change between the first computation and the watches would
//! otherwise go unseen). What a computation looks at without noting it is not watched: the
//! memo that uses this (`spec_memo`) is held against fresh computations in its tests.
//!
//! Elsewhere than Linux there are no watches: `around` answers `None`, and the value is
//! computed every time.

use crate::looked_at::Look;
use std::collections::BTreeSet;

/// The most watches one set holds; a computation that looked at more is not kept.
pub const MAX_LOOKUP_WATCHES: usize = 512;

/// Watches on what a computation looked at (see the module docs).
pub struct LookupWatch {
    #[cfg(target_os = "linux")]
    queue: crate::integrity::roots_watch::sys::Inotify,
    #[cfg(target_os = "linux")]
    mounts: std::fs::File,
    watches: usize,
    /// Nothing was seen to change so far.
    intact: bool,
}

impl std::fmt::Debug for LookupWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupWatch")
            .field("watches", &self.watches)
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
            let (queue, watches) = linux::watch(&targets)?;
            let (value2, looks2) = crate::looked_at::record(again);
            if looks2 != looks || value2 != value {
                return None;
            }
            let mut watch = LookupWatch {
                queue,
                mounts,
                watches,
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
                let quiet = self.queue.drain().is_ok_and(|events| events.is_empty());
                self.intact =
                    quiet && !crate::integrity::keep_guard::sys::mounts_changed(&self.mounts);
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
        self.watches
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::MAX_LOOKUP_WATCHES;
    use crate::integrity::keep_guard::sys::is_local_fs;
    use crate::integrity::roots_watch::sys::Inotify;
    use crate::looked_at::Look;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    /// The directories and files to watch for `looks`.
    #[derive(Debug, Default, PartialEq, Eq)]
    pub struct Targets {
        pub dirs: BTreeSet<PathBuf>,
        pub files: BTreeSet<PathBuf>,
    }

    /// What to watch for `looks`; `None` when a path cannot be followed (a link loop, a
    /// directory that cannot be searched, a `/proc` object link) or there would be too many.
    pub fn targets(looks: &BTreeSet<Look>) -> Option<Targets> {
        let mut t = Targets::default();
        for look in looks {
            let (Look::Entry(p) | Look::Listing(p) | Look::Content(p)) = look;
            let resolved = crate::paths::resolve_looking_in(p, &mut |dir: &Path| {
                if !t.dirs.contains(dir) {
                    t.dirs.insert(dir.to_path_buf());
                }
            })
            .ok()?;
            let Ok(meta) = std::fs::symlink_metadata(&resolved) else {
                continue; // missing: the directory where it would be is watched
            };
            match look {
                Look::Listing(_) if meta.is_dir() => {
                    t.dirs.insert(resolved);
                }
                Look::Content(_) if !meta.is_dir() => {
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

    /// A queue watching `t`, and how many watches it holds; `None` when a directory cannot be
    /// watched or something watched is not on a local file system.
    pub fn watch(t: &Targets) -> Option<(Inotify, usize)> {
        let queue = Inotify::new().ok()?;
        let mut n = 0;
        for dir in &t.dirs {
            if !is_local_fs(dir) {
                return None;
            }
            queue.add_dir(dir).ok()?;
            n += 1;
        }
        for file in &t.files {
            if !is_local_fs(file) {
                return None;
            }
            match queue.add_file(file) {
                Ok(_) => n += 1,
                // Unreadable: its bytes were not read either, and the mode change that would
                // make them readable is reported by its directory's watch.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
                Err(_) => return None,
            }
        }
        Some((queue, n))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn links_are_followed_to_every_directory_a_lookup_goes_through() {
            let d = tempfile::tempdir().unwrap();
            let b = std::fs::canonicalize(d.path()).unwrap();
            std::fs::create_dir_all(b.join("real/sub")).unwrap();
            std::fs::create_dir_all(b.join("other")).unwrap();
            std::os::unix::fs::symlink(b.join("real"), b.join("other/link")).unwrap();
            std::fs::write(b.join("real/sub/file"), "x").unwrap();
            let looks = BTreeSet::from([
                Look::Content(b.join("other/link/sub/file")),
                Look::Entry(b.join("other/missing/deeper/x")),
                Look::Listing(b.join("real/sub")),
            ]);
            let t = targets(&looks).unwrap();
            for dir in [
                b.join("other"),
                b.join("real"),
                b.join("real/sub"),
                b.clone(),
            ] {
                assert!(
                    t.dirs.contains(&dir),
                    "{} not watched: {t:?}",
                    dir.display()
                );
            }
            assert!(t.dirs.contains(Path::new("/")));
            assert!(!t.dirs.contains(&b.join("other/missing")), "{t:?}");
            assert_eq!(t.files, BTreeSet::from([b.join("real/sub/file")]));
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// What a small computation sees: whether `secret` exists and the bytes of `config`.
    fn look(secret: &Path, config: &Path) -> (bool, Option<Vec<u8>>) {
        crate::looked_at::entry(secret);
        crate::looked_at::content(config);
        (secret.exists(), std::fs::read(config).ok())
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
        let changes: [(&str, Change); 6] = [
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
            ("something else made in the home directory", |b| {
                std::fs::write(b.join("home/unrelated"), "").unwrap()
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
        // A file elsewhere (not in a directory looked into), and a read of what is watched,
        // change nothing.
        let (_d, b) = base();
        let mut w = watched(&b).unwrap();
        std::fs::write(b.join("other/x"), "").unwrap();
        let _ = std::fs::read(b.join("home/cfg")).unwrap();
        assert!(w.unchanged(), "a change outside what was looked at");
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
