//! Which directories of the writable roots gained or lost an entry during a run, so that the
//! after-run check lists again only those instead of walking every root (Linux: inotify).
//!
//! The pre-walk (`discover::find_repos_watched`) puts a watch on each directory before it
//! lists it, and notes each listed directory's inode and every `.git` entry it saw. After the
//! run, `discover::find_repos_after` reads the events: a directory with an entry created,
//! removed or renamed is listed again, a subdirectory the pre-walk did not list (new, moved in,
//! or another directory at a known name) is walked whole, and every `.git` entry seen before is
//! looked at again (its content can change without an event in its directory). Events come from
//! the kernel's file system layer, per inode, whatever mount or namespace the change came
//! through, and are queued before the call that made them returns: once every sandboxed
//! process has ended, the queue holds every change.
//!
//! Fails closed to the full walk: a directory that could not be watched, more directories than
//! [`MAX_WATCHES`], a queue that overflowed, an unreadable queue, or a system without inotify
//! all make `changes` answer `None`.
//!
//! A resident front end (`paddock mcp`) keeps the watches after a run's check and hands them to
//! the next run, whose pre-walk is then `discover::find_repos_again`: the events of the run
//! and of the time between runs add up in the watches (`changes` reads the queue and keeps
//! what it read), so each later walk lists again what changed since the watches were set, and
//! finds every repository `find_repos` would. The front end drops the watches and walks afresh
//! once that is no longer small ([`RootsWatch::worth_keeping`]).
//!
//! Watches kept between runs are used again only while what they rely on holds (`keep_guard`:
//! no mount changed, the roots are the directories walked, all on local file systems).
//!
//! For one run, small trees are not watched: a queue costs more to make and close than listing
//! a few directories again (measured on a warm `paddock mcp` call in an empty workspace: 0.1
//! ms), so the queue is made once the pre-walk has listed [`MIN_DIRS`] directories, and those
//! are watched then. Watching a directory after listing it is sound there because that
//! pre-walk ends before its own command starts and nothing else of Paddock's runs. Watches
//! meant to be kept ([`WatchPlan::Kept`]) are made before the first listing: a resident server
//! may run another command at the same time, which could change a directory between its
//! listing and its watch.
//!
//! A run never holds more than an eighth of the user's inotify watches
//! (`fs.inotify.max_user_watches`, shared with editors and file watchers), and at most
//! [`MAX_WATCHES`]; past that the full walk decides.

use super::keep_guard::KeepGuard;
use crate::spec::innermost_root;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// How a run's pre-walk watches the writable roots.
// One per run, moved once: boxing the watches would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum WatchPlan {
    /// For the run's own after-run check (`paddock run`): watched past [`MIN_DIRS`]
    /// directories, dropped after the check.
    OneRun,
    /// For a resident front end that keeps the watches between runs (`paddock mcp`): those kept
    /// from an earlier run if any (used when they can still tell), else new ones, made before
    /// the first listing.
    Kept(Option<RootsWatch>),
}

/// The most directories one run watches (each watch pins an inode in the kernel); a larger
/// tree is checked by the full walk after the run.
pub const MAX_WATCHES: usize = 16 * 1024;
/// Below this many directories the after-run check walks every root (see the module docs).
pub const MIN_DIRS: usize = 128;

/// The watches of one run's pre-walk.
pub struct RootsWatch {
    /// Made once [`MIN_DIRS`] directories were listed (`None` before).
    #[cfg(target_os = "linux")]
    queue: Option<sys::Inotify>,
    /// Directories listed before the queue was made, watched when it is.
    #[cfg(target_os = "linux")]
    early: Vec<(PathBuf, u64)>,
    #[cfg(target_os = "linux")]
    min_dirs: usize,
    /// Watch descriptor -> the directory it watches.
    #[cfg(target_os = "linux")]
    watched: HashMap<i32, PathBuf>,
    /// Every directory the pre-walk listed -> its inode number and watch descriptor.
    listed: HashMap<PathBuf, (u64, i32)>,
    /// Every `.git` entry the pre-walk saw (directory, file or link).
    dot_gits: Vec<PathBuf>,
    /// Every directory the pre-walk found to be a bare repository, with its inode number.
    bare: Vec<(PathBuf, u64)>,
    /// The roots the pre-walk walked.
    roots: Vec<PathBuf>,
    /// The watches can tell: every listed directory got a watch of its own, and the queue has
    /// neither overflowed nor failed to be read, and what they rely on still holds.
    complete: bool,
    /// Watches that reported an entry made, removed or renamed, since they were set.
    #[cfg(target_os = "linux")]
    touched: BTreeSet<i32>,
    /// Watches whose directory was removed or moved, since they were set.
    #[cfg(target_os = "linux")]
    gone: BTreeSet<i32>,
    /// How many directories the last walk from these watches listed again.
    relisted: usize,
    /// How many entries the pre-walk read.
    entries: usize,
    /// Made to be kept between runs ([`RootsWatch::for_keeping`]).
    keep: bool,
    /// What kept watches rely on, taken before the first listing (for watches made to be kept).
    guard: Option<KeepGuard>,
}

impl std::fmt::Debug for RootsWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootsWatch")
            .field("directories", &self.listed.len())
            .field("complete", &self.complete)
            .finish_non_exhaustive()
    }
}

/// What changed during the run, as far as the walk is concerned.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Listed directories, still in place, that gained or lost an entry.
    pub changed: BTreeSet<PathBuf>,
}

impl RootsWatch {
    /// A new, empty set of watches; `None` where the system has none (the full walk is used).
    pub fn new() -> Option<RootsWatch> {
        RootsWatch::with_min_dirs(MIN_DIRS)
    }

    /// [`RootsWatch::new`] that makes its queue once `min_dirs` directories were listed (0:
    /// at once; the tests use it to watch small trees).
    pub fn with_min_dirs(min_dirs: usize) -> Option<RootsWatch> {
        #[cfg(target_os = "linux")]
        {
            Some(RootsWatch {
                queue: None,
                early: Vec::new(),
                min_dirs,
                watched: HashMap::new(),
                listed: HashMap::new(),
                dot_gits: Vec::new(),
                bare: Vec::new(),
                roots: Vec::new(),
                complete: true,
                touched: BTreeSet::new(),
                gone: BTreeSet::new(),
                relisted: 0,
                entries: 0,
                keep: false,
                guard: None,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = min_dirs;
            None
        }
    }

    /// Watches to be kept between runs: the queue is made before the first listing, and what
    /// kept watches rely on is noted then (see the module docs).
    pub fn for_keeping() -> Option<RootsWatch> {
        let mut w = RootsWatch::with_min_dirs(0)?;
        w.keep = true;
        Some(w)
    }

    /// Watches `dir` (inode `ino`), about to be listed. Called before the listing: an entry
    /// made between the two is then both listed and reported, never neither. Until the queue
    /// is made (see the module docs) the directory is only noted.
    pub fn before_listing(&mut self, dir: &Path, ino: u64) {
        if !self.complete {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            // The user's limit is read once the queue is made (reading it costs a `paddock run`
            // in a small tree more than its watches would).
            let limit = if self.queue.is_some() {
                max_watches()
            } else {
                MAX_WATCHES
            };
            if self.listed.len() + self.early.len() >= limit {
                self.give_up();
                return;
            }
            if self.queue.is_none() {
                self.early.push((dir.to_path_buf(), ino));
                if self.early.len() <= self.min_dirs {
                    return;
                }
                // Watches answer only for what inotify can see (`keep_guard`): taken with the
                // queue, before the first watch, and checked each time they are read.
                match (KeepGuard::take(&self.roots), sys::Inotify::new()) {
                    (Some(guard), Ok(q)) if guard.local() => {
                        self.guard = Some(guard);
                        self.queue = Some(q);
                    }
                    _ => {
                        self.give_up();
                        return;
                    }
                }
                for (dir, ino) in std::mem::take(&mut self.early) {
                    self.watch(&dir, ino);
                }
                return;
            }
            self.watch(dir, ino);
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (dir, ino);
            self.complete = false;
        }
    }

    #[cfg(target_os = "linux")]
    fn watch(&mut self, dir: &Path, ino: u64) {
        let Some(queue) = &self.queue else { return };
        match queue.add_dir(dir) {
            // One directory under two names (a bind mount in a root) shares one watch: its
            // events could not be told apart, so the full walk decides.
            Ok(wd) if !self.watched.contains_key(&wd) => {
                self.watched.insert(wd, dir.to_path_buf());
                self.listed.insert(dir.to_path_buf(), (ino, wd));
            }
            _ => self.give_up(),
        }
    }

    /// The watches cannot tell any more: the queue is closed (off the caller's path when it
    /// holds watches) and every later answer is the full walk's.
    fn give_up(&mut self) {
        self.complete = false;
        #[cfg(target_os = "linux")]
        if let Some(queue) = self.queue.take() {
            if self.watched.is_empty() {
                drop(queue);
            } else {
                queue.close_later();
            }
            self.watched.clear();
        }
    }

    /// How many directories are watched.
    pub fn watched_dirs(&self) -> usize {
        self.listed.len()
    }

    /// Notes a `.git` entry the pre-walk saw.
    pub fn saw_dot_git(&mut self, path: &Path) {
        self.dot_gits.push(path.to_path_buf());
    }

    /// The `.git` entries the pre-walk saw.
    pub fn dot_gits(&self) -> &[PathBuf] {
        &self.dot_gits
    }

    /// Notes a directory the pre-walk found to be a bare repository (inode `ino`).
    pub fn saw_bare(&mut self, dir: &Path, ino: u64) {
        self.bare.push((dir.to_path_buf(), ino));
    }

    /// The bare repositories the pre-walk found, with their inode numbers.
    pub fn bare_dirs(&self) -> &[(PathBuf, u64)] {
        &self.bare
    }

    /// Notes the roots the pre-walk walks (before it lists anything).
    pub fn set_roots(&mut self, roots: &[PathBuf]) {
        self.roots = roots.to_vec();
    }

    /// Notes how many entries the pre-walk read.
    pub fn set_entries(&mut self, entries: usize) {
        self.entries = entries;
    }

    /// How many entries the pre-walk read.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// How many directories `dir` lies below its root (the innermost root holding it).
    pub fn depth_of(&self, dir: &Path) -> usize {
        innermost_root(&self.roots, dir)
            .map_or(0, |r| dir.components().count() - r.components().count())
    }

    /// Whether these watches, kept since an earlier walk, may answer for `roots` now: made to
    /// be kept, for the same roots (what they rely on is checked by [`RootsWatch::changes`]).
    pub fn may_reuse(&self, roots: &[PathBuf]) -> bool {
        self.keep && self.roots == roots
    }

    /// True when `dir` and each of its parents up to its root were listed by the pre-walk and
    /// none of them was removed or moved since: its path still names the directory the
    /// pre-walk listed there, reached through the same directories (no link put in between).
    pub fn path_intact(&self, dir: &Path, gone: &BTreeSet<i32>) -> bool {
        let Some(root) = innermost_root(&self.roots, dir) else {
            return false;
        };
        dir.ancestors()
            .take_while(|a| a.starts_with(root))
            .all(|a| self.listed.get(a).is_some_and(|(_, wd)| !gone.contains(wd)))
    }

    /// How many directories the last walk from these watches listed again.
    pub fn relisted(&self) -> usize {
        self.relisted
    }

    /// Notes how many directories a walk from these watches listed again.
    pub fn note_relisted(&mut self, dirs: usize) {
        self.relisted = dirs;
    }

    /// Whether a front end should keep these watches for its next run: made to be kept, on
    /// local file systems (`keep_guard`), they still tell what changed, and the last walk from
    /// them listed again at most a quarter of the directories the pre-walk listed (at least
    /// [`MIN_DIRS`]; past that a fresh walk costs about as much and resets what has to be
    /// listed again).
    pub fn worth_keeping(&self) -> bool {
        #[cfg(target_os = "linux")]
        let has_queue = self.queue.is_some();
        #[cfg(not(target_os = "linux"))]
        let has_queue = false;
        has_queue
            && self.keep
            && self.complete
            && self.guard.as_ref().is_some_and(KeepGuard::local)
            && self.relisted <= (self.listed.len() / 4).max(MIN_DIRS)
    }

    /// True when `dir` was listed by the pre-walk with inode `ino` and its watch saw it neither
    /// removed nor moved: its own events then say whether it changed.
    pub fn still_known(&self, dir: &Path, ino: u64, gone: &BTreeSet<i32>) -> bool {
        self.listed
            .get(dir)
            .is_some_and(|&(known, wd)| known == ino && !gone.contains(&wd))
    }

    /// Reads what happened since the watches were set (the events read by earlier calls
    /// included: they add up). `None` (use the full walk) for a tree too small to be watched,
    /// or when a directory went unwatched or the queue overflowed or could not be read.
    pub fn changes(&mut self) -> Option<(Changes, BTreeSet<i32>)> {
        if !self.complete {
            return None;
        }
        if !self.guard.as_mut().is_some_and(|g| g.holds(&self.roots)) {
            self.give_up();
            return None;
        }
        #[cfg(target_os = "linux")]
        {
            let Ok(events) = self.queue.as_mut()?.drain() else {
                self.give_up();
                return None;
            };
            for ev in events {
                if ev.mask & libc::IN_Q_OVERFLOW != 0 {
                    self.give_up();
                    return None;
                }
                if ev.mask & (libc::IN_DELETE_SELF | libc::IN_MOVE_SELF | libc::IN_IGNORED) != 0 {
                    self.gone.insert(ev.wd);
                } else {
                    self.touched.insert(ev.wd);
                }
            }
            let changed = self
                .touched
                .iter()
                .filter(|wd| !self.gone.contains(wd))
                .filter_map(|wd| self.watched.get(wd).cloned())
                .collect();
            Some((Changes { changed }, self.gone.clone()))
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }
}

#[cfg(target_os = "linux")]
/// The most directories one run watches: [`MAX_WATCHES`], or an eighth of the user's inotify
/// watches when that is less.
fn max_watches() -> usize {
    MAX_WATCHES.min(user_watch_limit() / 8)
}

#[cfg(target_os = "linux")]
/// The user's inotify watch limit (`fs.inotify.max_user_watches`; 8,192, the old default,
/// when it cannot be read).
fn user_watch_limit() -> usize {
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(8192)
    })
}

/// Drops `watch` off the caller's path when it holds watches (closing the queue removes one
/// watch per directory: about 8 us each, 16 ms for 2,000 directories), else at once.
pub fn close_later(watch: RootsWatch) {
    if watch.watched_dirs() > 0 {
        std::thread::spawn(move || drop(watch));
    }
}

#[cfg(target_os = "linux")]
pub(crate) mod sys {
    //! The inotify calls: a non-blocking queue, a directory or file watch, and reading the
    //! events.

    use std::ffi::CString;
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    /// What a watched directory reports: entries made, removed or renamed in it, and its own
    /// removal or move. Only directories are watched, never through a link.
    const MASK: u32 = libc::IN_ATTRIB
        | libc::IN_CREATE
        | libc::IN_DELETE
        | libc::IN_MOVED_FROM
        | libc::IN_MOVED_TO
        | libc::IN_DELETE_SELF
        | libc::IN_MOVE_SELF
        | libc::IN_ONLYDIR
        | libc::IN_DONT_FOLLOW;

    /// What a watched file reports: its bytes written, its attributes changed, its own removal
    /// or move.
    const FILE_MASK: u32 = libc::IN_MODIFY
        | libc::IN_CLOSE_WRITE
        | libc::IN_ATTRIB
        | libc::IN_DELETE_SELF
        | libc::IN_MOVE_SELF
        | libc::IN_DONT_FOLLOW;

    pub struct Inotify(std::fs::File, Vec<u8>);

    /// One event's watch descriptor, mask and name (empty for an event on the watched
    /// directory or file itself).
    pub struct Event {
        pub wd: i32,
        pub mask: u32,
        pub name: std::ffi::OsString,
    }

    impl Inotify {
        pub fn new() -> std::io::Result<Inotify> {
            // SAFETY: inotify_init1 takes flags only and returns a new descriptor or -1.
            let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: `fd` was just returned by inotify_init1 and is owned by nothing else.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            Ok(Inotify(std::fs::File::from(owned), Vec::new()))
        }

        /// Watches the directory `dir` (not a link to one); returns its watch descriptor.
        pub fn add_dir(&self, dir: &Path) -> std::io::Result<i32> {
            self.add(dir, MASK)
        }

        /// Watches the file `file` (not a link to one) for changes to its bytes or attributes
        /// and its own removal or move; returns its watch descriptor.
        pub fn add_file(&self, file: &Path) -> std::io::Result<i32> {
            self.add(file, FILE_MASK)
        }

        fn add(&self, path: &Path, mask: u32) -> std::io::Result<i32> {
            let c = CString::new(path.as_os_str().as_bytes())
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
            // SAFETY: the descriptor is this queue's, `c` is a valid NUL-terminated path that
            // outlives the call, and the mask is a plain value.
            let wd = unsafe {
                libc::inotify_add_watch(std::os::fd::AsRawFd::as_raw_fd(&self.0), c.as_ptr(), mask)
            };
            if wd < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(wd)
            }
        }

        /// Closes the queue on a thread of its own, off the caller's path: closing a queue that
        /// holds watches waits for the kernel's notification readers to drain (measured: up to
        /// 20 ms). Without a thread it is closed here.
        pub fn close_later(self) {
            // On an error the closure, and the queue with it, has been dropped already.
            let _ = std::thread::Builder::new()
                .name("paddock-unwatch".into())
                .spawn(move || drop(self));
        }

        /// Every event queued so far (the queue is non-blocking: stops when it is empty).
        pub fn drain(&mut self) -> std::io::Result<Vec<Event>> {
            let mut events = Vec::new();
            let buf = &mut self.1;
            buf.resize(64 * 1024, 0);
            loop {
                let n = match self.0.read(buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(events),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if n == 0 {
                    return Ok(events);
                }
                parse(&buf[..n], &mut events)?;
            }
        }
    }

    /// Splits a read of the queue into events: `wd`, `mask`, `cookie`, `len` (native-endian
    /// 32-bit fields), then `len` bytes of name.
    pub fn parse(mut bytes: &[u8], out: &mut Vec<Event>) -> std::io::Result<()> {
        let field = |b: &[u8], i: usize| {
            u32::from_ne_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
        };
        while !bytes.is_empty() {
            if bytes.len() < 16 {
                return Err(std::io::Error::other("a short inotify event"));
            }
            let len = field(bytes, 3) as usize;
            let Some(rest) = bytes.get(16 + len..) else {
                return Err(std::io::Error::other("an inotify event cut short"));
            };
            // The name is NUL-padded to its length.
            let name = &bytes[16..16 + len];
            let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
            out.push(Event {
                wd: field(bytes, 0) as i32,
                mask: field(bytes, 1),
                name: std::ffi::OsStr::from_bytes(name).to_os_string(),
            });
            bytes = rest;
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn events_are_split_by_their_name_length_and_torn_ones_refused() {
            let mut raw = Vec::new();
            for (wd, mask, name) in [
                (1i32, libc::IN_CREATE, &b"new"[..]),
                (2, libc::IN_DELETE, b""),
            ] {
                let padded = if name.is_empty() { 0 } else { 16 };
                raw.extend_from_slice(&wd.to_ne_bytes());
                raw.extend_from_slice(&mask.to_ne_bytes());
                raw.extend_from_slice(&0u32.to_ne_bytes());
                raw.extend_from_slice(&(padded as u32).to_ne_bytes());
                raw.extend_from_slice(name);
                raw.extend(std::iter::repeat_n(0u8, padded - name.len()));
            }
            let mut out = Vec::new();
            parse(&raw, &mut out).unwrap();
            let got: Vec<_> = out.iter().map(|e| (e.wd, e.mask, e.name.clone())).collect();
            assert_eq!(
                got,
                [
                    (1, libc::IN_CREATE, "new".into()),
                    (2, libc::IN_DELETE, "".into())
                ]
            );
            assert!(parse(&raw[..raw.len() - 1], &mut Vec::new()).is_err());
            assert!(parse(&raw[..20], &mut Vec::new()).is_err());
        }
    }
}
