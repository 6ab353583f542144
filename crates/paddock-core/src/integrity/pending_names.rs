//! Which pending records `pending::recover` must look at, known between its calls in one
//! process, so that a resident front end (`paddock mcp`) does not list the pending folder and
//! try the lock of its own records before every command.
//!
//! Two things are kept:
//! - the records this process holds locked for a run in progress ([`Held`]; its free records
//!   are in `pending::FreeRecords`): nothing of them can be pending for another process's
//!   death, so `recover` skips them without opening them;
//! - on Linux, per pending folder, an inotify watch set before the folder was last listed and
//!   the records that listing left to look at again ([`Listing`]): those locked by another live
//!   process, those that could not be opened, those left for a check again. While the watch has
//!   seen no entry made, renamed or removed in the folder (nor the folder moved, removed or
//!   its attributes changed, nor an overflow) and the folder's path still names the watched
//!   directory, the names to look at are exactly those: a record can only become recoverable
//!   by a new name (another process's new record: named by a rename into the folder) or by
//!   its holder's death, which frees the lock of a name already kept here.
//!
//! A record of this process that stops being held without being kept free or removed (a check
//! left for later, or a run that ended without finishing its record) changes no name in the
//! folder: [`Held`]'s drop then forgets the folder's watch, and the next `recover` lists it.
//!
//! What this does not guarantee: anything when the process's own bookkeeping is bypassed
//! (another thread of this process writing records without `pending::begin`). Off Linux every
//! `recover` lists the folder, as before.

#[cfg(target_os = "linux")]
use super::keep_guard::dev_ino;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The records this process holds locked for runs in progress.
static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A record held locked by a run in progress of this process (see the module docs).
pub(super) struct Held {
    dir: PathBuf,
    path: PathBuf,
    kept: bool,
}

impl Held {
    pub(super) fn new(dir: &Path, path: &Path) -> Held {
        lock(&IN_FLIGHT).push(path.to_path_buf());
        Held {
            dir: dir.to_path_buf(),
            path: path.to_path_buf(),
            kept: false,
        }
    }

    /// The record is kept free by this process or removed: no name is left unlooked at.
    pub(super) fn kept(&mut self) {
        self.kept = true;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        {
            let mut held = lock(&IN_FLIGHT);
            if let Some(i) = held.iter().position(|p| *p == self.path) {
                held.swap_remove(i);
            }
        }
        if !self.kept {
            forget(&self.dir);
        }
    }
}

/// Whether `path` is a record held by a run in progress of this process.
pub(super) fn in_flight(path: &Path) -> bool {
    lock(&IN_FLIGHT).iter().any(|p| p == path)
}

/// A pending folder's watch, set before it was listed, and the records to look at again.
pub(super) struct Listing {
    dir: PathBuf,
    /// The folder's generation in [`KEPT`] when the watch was set: a listing made before a
    /// `forget` of its folder is not kept.
    epoch: u64,
    #[cfg(target_os = "linux")]
    watched: (u64, u64),
    #[cfg(target_os = "linux")]
    queue: super::roots_watch::sys::Inotify,
    again: Vec<PathBuf>,
}

/// The kept listings, one per folder at most, and per folder how many times its listing was
/// forgotten: a `recover` holding a listing taken out of here (or making one) while the
/// folder's listing is forgotten must not keep it.
struct Kept {
    listings: Vec<Listing>,
    forgotten: Vec<(PathBuf, u64)>,
    /// The folders listed once without a watch (see [`Listing::before_listing`]).
    listed_once: Vec<PathBuf>,
}

static KEPT: Mutex<Kept> = Mutex::new(Kept {
    listings: Vec::new(),
    forgotten: Vec::new(),
    listed_once: Vec::new(),
});

impl Kept {
    fn generation(&self, dir: &Path) -> u64 {
        self.forgotten
            .iter()
            .find(|(d, _)| d == dir)
            .map_or(0, |(_, n)| *n)
    }
}

/// Drops the kept listing of `dir`: the next `recover` lists the folder.
pub(super) fn forget(dir: &Path) {
    let gone: Vec<Listing> = {
        let mut kept = lock(&KEPT);
        match kept.forgotten.iter_mut().find(|(d, _)| d == dir) {
            Some((_, n)) => *n += 1,
            None => kept.forgotten.push((dir.to_path_buf(), 1)),
        }
        let (gone, left) = std::mem::take(&mut kept.listings)
            .into_iter()
            .partition(|l| l.dir == dir);
        kept.listings = left;
        gone
    };
    gone.into_iter().for_each(close_later);
}

/// Drops `listing`, its queue off the caller's path (`Inotify::close_later`).
fn close_later(listing: Listing) {
    #[cfg(target_os = "linux")]
    listing.queue.close_later();
    #[cfg(not(target_os = "linux"))]
    drop(listing);
}

impl Listing {
    /// Takes the kept listing of `dir` when nothing changed the folder's names since it was
    /// made: the records to look at, and the listing to keep again (`keep`) afterwards. `None`:
    /// list the folder (after [`Listing::before_listing`]).
    pub(super) fn unchanged(dir: &Path) -> Option<(Vec<PathBuf>, Listing)> {
        let mut listing = {
            let mut kept = lock(&KEPT);
            let i = kept.listings.iter().position(|l| l.dir == dir)?;
            kept.listings.swap_remove(i)
        };
        if !listing.quiet() {
            close_later(listing);
            return None;
        }
        let again = std::mem::take(&mut listing.again);
        Some((again, listing))
    }

    #[cfg(target_os = "linux")]
    fn quiet(&mut self) -> bool {
        matches!(self.queue.drain(), Ok(events) if events.is_empty())
            && dev_ino(&self.dir) == Some(self.watched)
    }

    #[cfg(not(target_os = "linux"))]
    fn quiet(&mut self) -> bool {
        false
    }

    /// A watch on `dir`, to be set before the folder is listed; `None` when it cannot be set
    /// (no inotify, no such folder, the folder replaced while the watch was being set): the
    /// folder is then listed without keeping the listing. The first listing of a folder in a
    /// process sets no watch: a process that recovers once (`paddock run`) would only pay for
    /// it, at its exit (closing a queue that holds a watch waits for the kernel's notification
    /// readers to drain: measured 20 ms added to a one-shot run).
    #[cfg(target_os = "linux")]
    pub(super) fn before_listing(dir: &Path) -> Option<Listing> {
        // Only where every change goes through this kernel: a record named by another host
        // on a shared file system (NFS, SMB, FUSE, ...) makes no event here.
        if !super::keep_guard::sys::is_local_fs(dir) {
            return None;
        }
        let epoch = listed_before(dir)?;
        let queue = super::roots_watch::sys::Inotify::new().ok()?;
        let before = dev_ino(dir)?;
        queue.add_dir(dir).ok()?;
        let listing = Listing {
            dir: dir.to_path_buf(),
            epoch,
            watched: before,
            queue,
            again: Vec::new(),
        };
        if dev_ino(dir)? == before {
            Some(listing)
        } else {
            close_later(listing);
            None
        }
    }

    /// Off Linux there is no watch: the listing is never quiet (`unchanged` is always `None`).
    #[cfg(not(target_os = "linux"))]
    pub(super) fn before_listing(dir: &Path) -> Option<Listing> {
        Some(Listing {
            dir: dir.to_path_buf(),
            epoch: listed_before(dir)?,
            again: Vec::new(),
        })
    }

    /// Keeps this listing with `again`, the records the next `recover` must look at.
    pub(super) fn keep(mut self, again: Vec<PathBuf>) {
        self.again = again;
        let mut kept = lock(&KEPT);
        // Another thread's listing of the same folder, kept meanwhile, is as good as this one.
        if self.epoch == kept.generation(&self.dir)
            && !kept.listings.iter().any(|l| l.dir == self.dir)
        {
            kept.listings.push(self);
        } else {
            drop(kept);
            close_later(self);
        }
    }
}

/// The folder's generation when this process listed `dir` before; `None` (and noted) the first
/// time (see [`Listing::before_listing`]).
fn listed_before(dir: &Path) -> Option<u64> {
    let mut kept = lock(&KEPT);
    if !kept.listed_once.iter().any(|d| d == dir) {
        kept.listed_once.push(dir.to_path_buf());
        return None;
    }
    Some(kept.generation(dir))
}
