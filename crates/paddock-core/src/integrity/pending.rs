//! Makes the after-run check crash-safe: before a sandboxed command starts, the spec it runs
//! under is written to `<state>/integrity-pending/` and locked by the supervisor; the record is
//! marked done once the check has run (its first byte becomes [`DONE`]; an empty file is done
//! too) and the file is reused by the next run, see `FreeRecords`. A record that is not done
//! and whose lock can be taken belongs to a Paddock that died (SIGKILL, power loss) before
//! checking, and the next run checks for it first.
//!
//! The lock is an OS file lock held for the life of the supervisor process (released by the
//! kernel when it dies), so a slow run is never mistaken for a dead one. The record is not
//! fsynced: after a power loss it may be missing, and what the command planted is then only
//! caught if it is at a path the next run watches or protects.

use super::pending_names::{self, Held, Listing};
use super::{IntegrityEvent, check_after_run};
use crate::files::{Location, read_regular_file};
use crate::spec::SandboxSpec;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The folder of pending checks inside the state directory.
pub const PENDING_DIR: &str = "integrity-pending";
/// A pending record larger than this is not read back (a spec is a few KiB).
const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;
/// The first byte of a record whose check has run. A record is JSON (`{` first), so this byte
/// makes what follows it no record; marking a record done writes this one byte instead of
/// truncating the file (a truncation frees the file's block and journals it on ext4: measured
/// 20-30 us a run against 4-8 us, and the next record then allocates the block again).
const DONE: u8 = b'-';
/// The first byte of a record whose check ran but did not complete: checked again, its
/// repositories only, by a later run (`Pending::check_again_later`, `recover`).
const AGAIN: u8 = b'*';

/// A check that must run after the command: drop it only through `finish`.
pub struct Pending {
    file: File,
    path: PathBuf,
    dir: PathBuf,
    /// The file's length: the longest record written to it.
    len: u64,
    /// The record's place among this process's held records (`pending_names`).
    held: Held,
}

/// Records `spec` as pending in `state_dir` and locks the record for this process. The record
/// file is a free one of this process when it has one (see [`FreeRecords`]), else a new one.
pub fn begin(state_dir: &Path, spec: &SandboxSpec) -> std::io::Result<Pending> {
    let _span = tracing::debug_span!("pending_record").entered();
    let dir = state_dir.join(PENDING_DIR);
    let (file, path, len) = match FreeRecords::take(&dir) {
        Some(free) => free,
        None => {
            let (file, path) = new_record(&dir)?;
            (file, path, 0)
        }
    };
    let held = Held::new(&dir, &path);
    let mut pending = Pending {
        file,
        path,
        dir,
        len,
        held,
    };
    pending.write(spec)?;
    Ok(pending)
}

/// A new, empty record file in `dir`, locked for this process.
fn new_record(dir: &Path) -> std::io::Result<(File, PathBuf)> {
    create_private_dir(dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    // Made under a name `recover` ignores and locked before it gets its `.json` name: a
    // `recover` in another process must never take it for a record left empty by a dead run.
    let name = format!("{}-{nanos}", std::process::id());
    let (making, path) = (
        dir.join(format!("{name}.new")),
        dir.join(format!("{name}.json")),
    );
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&making)?;
    let named = file.lock().and_then(|()| std::fs::rename(&making, &path));
    if let Err(e) = named {
        let _ = std::fs::remove_file(&making);
        return Err(e);
    }
    Ok((file, path))
}

impl Pending {
    /// Writes `spec` as the whole record. Written, not fsynced: the record must outlive the
    /// supervisor (killed, crashed), which the page cache guarantees; an fsync would cost about
    /// 0.4 ms per run for the power-loss case.
    ///
    /// The file is new (empty) or holds a done record (first byte [`DONE`]). The JSON's first
    /// byte is written last, over the `DONE`, so a record cut short (the supervisor died while
    /// writing it) is still done, and its command had not started. What an older, longer record
    /// left beyond the new one is overwritten with spaces, which JSON ignores after the value:
    /// the file is never truncated.
    fn write(&mut self, spec: &SandboxSpec) -> std::io::Result<()> {
        let mut json = serde_json::to_vec(spec).map_err(std::io::Error::other)?;
        let Some(&first) = json.first().filter(|&&b| b != DONE) else {
            return Err(std::io::Error::other("a spec that is not a JSON object"));
        };
        let end = json.len() as u64;
        json.resize(json.len().max(self.len as usize), b' ');
        json[0] = DONE;
        write_at(&self.file, &json, 0)?;
        self.len = self.len.max(end);
        write_at(&self.file, &[first], 0)
    }

    /// Leaves the record to be checked again by a later run (`recover`), repositories only
    /// (`check_again`): the check ran but did not complete. Marked by its first byte
    /// ([`AGAIN`]); the lock goes with `self`.
    pub fn check_again_later(self) {
        let _ = write_at(&self.file, &[AGAIN], 0);
    }

    /// The check has run: the record is marked done (nothing pending) and its file kept,
    /// locked, for this process's next run; removed when this process keeps enough free files.
    pub fn finish(mut self) {
        // Kept free, or removed below: either way nothing is left for `recover` to check (a
        // record whose done mark and removal both failed holds a check that already ran).
        self.held.kept();
        if write_at(&self.file, &[DONE], 0).is_ok() {
            FreeRecords::put(&self.dir, self.file, self.path, self.len);
        } else {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The record files this process holds locked and empty, ready for its next run: a run
/// rewrites one instead of creating a file, and empties it instead of removing it (creating
/// and removing a file cost about 0.1 ms per run on ext4, most of it in the inode's eviction).
/// An empty record means nothing is pending. `recover` adopts the empty records left by
/// processes that ended, up to [`MAX_FREE`] per folder, and removes the rest; concurrent runs of
/// one process (`paddock mcp`) take different files.
struct FreeRecords;

/// How many free record files a process keeps per pending folder.
const MAX_FREE: usize = 4;

/// Per free file: its folder, the file, its path and its length.
type FreeList = Vec<(PathBuf, File, PathBuf, u64)>;

impl FreeRecords {
    fn list() -> std::sync::MutexGuard<'static, FreeList> {
        static FREE: Mutex<FreeList> = Mutex::new(Vec::new());
        FREE.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `path` is one of this process's free records.
    fn holds(path: &Path) -> bool {
        Self::list().iter().any(|(_, _, p, _)| p == path)
    }

    fn take(dir: &Path) -> Option<(File, PathBuf, u64)> {
        let mut list = Self::list();
        let i = list.iter().position(|(d, ..)| d == dir)?;
        let (_, file, path, len) = list.swap_remove(i);
        Some((file, path, len))
    }

    /// Keeps `file` (locked, done) for a later run, or removes it when enough are kept.
    fn put(dir: &Path, file: File, path: PathBuf, len: u64) {
        let mut list = Self::list();
        if list.iter().filter(|(d, ..)| d == dir).count() < MAX_FREE {
            list.push((dir.to_path_buf(), file, path, len));
        } else {
            drop(list);
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Runs the checks that a dead Paddock left pending in `state_dir` and returns what they
/// reverted; records still locked by a live run (or held free by a live process) are left
/// alone. Records that are done are adopted as this process's free records.
///
/// This process's own records are not opened, and in a process that calls this again and again
/// (`paddock mcp`) the folder is listed again only when a record was named, renamed or removed
/// in it since the last listing (see `pending_names`).
pub fn recover(state_dir: &Path) -> Vec<IntegrityEvent> {
    let _span = tracing::debug_span!("pending_recover").entered();
    let mut events = Vec::new();
    let dir = state_dir.join(PENDING_DIR);
    let (mut records, listing) = match Listing::unchanged(&dir) {
        Some((records, listing)) => (records, Some(listing)),
        None => {
            let listing = Listing::before_listing(&dir);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return events;
            };
            #[cfg(test)]
            tests::LISTINGS.with(|n| n.set(n.get() + 1));
            let records = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            (records, listing)
        }
    };
    // This process's own records (free, or taken by a run in progress, perhaps by another
    // thread since the kept listing was made) are not opened.
    records.retain(|p| !FreeRecords::holds(p) && !pending_names::in_flight(p));
    let again: Vec<PathBuf> = records
        .into_iter()
        .filter(|path| !recover_one(&dir, path, &mut events))
        .collect();
    if let Some(listing) = listing {
        listing.keep(again);
    }
    events
}

/// Checks the record at `path` when no live process holds it; `true` when it is done with
/// (adopted as a free record of this process, removed, or gone), `false` when a later
/// `recover` must look at it again (held by a live process, unreadable, left for a check again).
fn recover_one(dir: &Path, path: &Path, events: &mut Vec<IntegrityEvent>) -> bool {
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => return e.kind() == std::io::ErrorKind::NotFound,
    };
    if file.try_lock().is_err() {
        return false;
    }
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return false;
    };
    let bytes = if len == 0 {
        None
    } else {
        read_regular_file(path, Location::NoFinalLink, MAX_RECORD_BYTES)
            .ok()
            .flatten()
    };
    let done = bytes
        .as_ref()
        .is_none_or(|b| b.first().is_none_or(|&f| f == DONE));
    if !done {
        // A record left for a check again (`check_again_later`) reads as JSON once its
        // first byte is the brace again.
        let again = bytes.as_ref().is_some_and(|b| b.first() == Some(&AGAIN));
        let spec: Option<SandboxSpec> = bytes.and_then(|mut b| {
            if again {
                b[0] = b'{';
            }
            serde_json::from_slice(&b).ok()
        });
        // A torn record (the supervisor died while writing it) is dropped: its command
        // never started, since the record is complete before the launch.
        if let Some(spec) = spec {
            let checked = if again {
                super::check_again(&spec)
            } else {
                check_after_run(&spec)
            };
            let unfinished = super::first_undone(&checked).is_some();
            let why = if again {
                "left by a run whose check could not complete"
            } else {
                "left by a run that ended before its check"
            };
            for mut ev in checked {
                ev.reason = format!("{} ({why})", ev.reason);
                events.push(ev);
            }
            // Not done yet: the record stays for the next run to check again (its
            // repositories only, from now on).
            if unfinished {
                let _ = write_at(&file, &[AGAIN], 0);
                return false;
            }
        }
    }
    // A done record is adopted as it is; one that was checked (or torn) is marked done.
    if done || write_at(&file, &[DONE], 0).is_ok() {
        FreeRecords::put(dir, file, path.to_path_buf(), len);
    } else {
        let _ = std::fs::remove_file(path);
    }
    true
}

/// Writes all of `buf` at `offset` of `file` (the file's cursor is not used).
fn write_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_write(
                file,
                &buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// Creates the state directory (0700 on Unix) when it is missing.
pub fn ensure_state_dir(state_dir: &Path) -> std::io::Result<()> {
    // One `stat` when it is there already, as it is for every run but the first, instead of a
    // `mkdir` failing with EEXIST (it locks the parent directory) and a `stat` after it.
    if std::fs::metadata(state_dir).is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    create_private_dir(state_dir)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_policy;

    thread_local! {
        /// How many times `recover` listed a pending folder on this thread.
        pub(super) static LISTINGS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }

    fn listings() -> u32 {
        LISTINGS.with(std::cell::Cell::get)
    }

    /// Writes `bytes` as a new record in `dir` the way a Paddock process names one: made under
    /// another name, then renamed.
    fn name_record(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let making = dir.join(format!("{name}.new"));
        std::fs::write(&making, bytes).unwrap();
        let path = dir.join(format!("{name}.json"));
        std::fs::rename(&making, &path).unwrap();
        path
    }

    /// A run of this process that finished: the folder holds one free record of it.
    fn one_finished_run(state: &Path, spec: &SandboxSpec) {
        begin(state, spec).unwrap().finish();
    }

    #[test]
    fn a_lock_let_go_without_a_change_of_names_is_seen_by_the_next_recover() {
        let (_d, ws, state, spec) = setup();
        one_finished_run(&state, &spec);
        // Another live process's run: its record, locked by a descriptor of its own.
        let path = name_record(
            &state.join(PENDING_DIR),
            "77-1",
            &serde_json::to_vec(&spec).unwrap(),
        );
        let other = File::open(&path).unwrap();
        other.lock().unwrap();
        std::fs::create_dir(ws.join(".git/hooks")).unwrap();
        std::fs::write(ws.join(".git/hooks/pre-commit"), "evil").unwrap();
        assert_eq!(recover(&state), vec![], "a live run's record is left alone");
        // The second listing of a folder in a process sets the watch.
        assert_eq!(recover(&state), vec![]);
        let listed = listings();
        assert_eq!(recover(&state), vec![]);
        // This process's next runs rewrite their free record: no name changes.
        one_finished_run(&state, &spec);
        // The other process dies: its lock goes, and no name in the folder changes.
        drop(other);
        let events = recover(&state);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(!ws.join(".git/hooks").exists());
        if cfg!(target_os = "linux") {
            assert_eq!(
                listings(),
                listed,
                "seen from the kept listing, without listing the folder again"
            );
        }
        assert_eq!(recover(&state), vec![], "adopted, nothing left");
    }

    /// A one-shot process (`paddock run`) recovers once: it must not hold a watch, whose queue
    /// would delay its exit (see `pending_names`).
    #[test]
    fn only_a_second_recover_keeps_a_watch() {
        let (_d, _ws, state, spec) = setup();
        one_finished_run(&state, &spec);
        let dir = state.join(PENDING_DIR);
        assert_eq!(recover(&state), vec![]);
        assert!(
            Listing::unchanged(&dir).is_none(),
            "no watch after one listing"
        );
        assert_eq!(recover(&state), vec![]);
        if cfg!(target_os = "linux") {
            let (_, listing) = Listing::unchanged(&dir).expect("a watch after the second");
            listing.keep(Vec::new());
        }
    }

    /// Runs of this process on several threads (each taking, rewriting and finishing records,
    /// and recovering before it) while dead runs' records keep appearing: every planted hook
    /// is reverted, by one thread or another, and nothing is left pending once they are done.
    #[test]
    fn concurrent_runs_and_recoveries_leave_no_dead_runs_record_unchecked() {
        let (_d, ws, state, spec) = setup();
        let dir = state.join(PENDING_DIR);
        let body = serde_json::to_vec(&spec).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for i in 0..40 {
                        recover(&state);
                        let run = begin(&state, &spec).unwrap();
                        if i % 7 == 3 {
                            run.check_again_later();
                        } else {
                            run.finish();
                        }
                    }
                });
            }
            for n in 0..20 {
                // A recovery on another thread may revert an earlier plant between the two
                // calls: plant again until it is there.
                let hook = ws.join(".git/hooks/post-checkout");
                while std::fs::create_dir_all(ws.join(".git/hooks"))
                    .and_then(|()| std::fs::write(&hook, "evil"))
                    .is_err()
                {}
                name_record(&dir, &format!("9{n}-1"), &body);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        recover(&state);
        assert!(
            !ws.join(".git/hooks").exists(),
            "a dead run's record was never checked"
        );
        let left: Vec<_> = records(&state).into_iter().filter(|(_, p)| *p).collect();
        assert_eq!(left, vec![], "records still pending");
    }

    #[test]
    fn a_record_named_after_the_last_listing_is_seen() {
        let (_d, ws, state, spec) = setup();
        one_finished_run(&state, &spec);
        assert_eq!(recover(&state), vec![]);
        assert_eq!(recover(&state), vec![]);
        // A process that died before its check, after this process last listed the folder.
        name_record(
            &state.join(PENDING_DIR),
            "78-1",
            &serde_json::to_vec(&spec).unwrap(),
        );
        std::fs::create_dir(ws.join(".git/hooks")).unwrap();
        assert_eq!(recover(&state).len(), 1);
        assert!(!ws.join(".git/hooks").exists());
    }

    #[test]
    fn a_check_this_process_left_for_later_is_seen_by_its_next_recover() {
        let (_d, _ws, state, spec) = setup();
        one_finished_run(&state, &spec);
        assert_eq!(recover(&state), vec![]);
        assert_eq!(recover(&state), vec![]);
        // The next run takes the free record (no name changes) and leaves its check for later.
        let run = begin(&state, &spec).unwrap();
        let path = run.path.clone();
        run.check_again_later();
        assert_eq!(std::fs::read(&path).unwrap()[0], AGAIN);
        assert_eq!(recover(&state), vec![]);
        assert_eq!(
            std::fs::read(&path).unwrap()[0],
            DONE,
            "checked again and marked done"
        );
    }

    #[test]
    fn a_pending_folder_replaced_under_its_path_is_listed_again() {
        let (d, ws, state, spec) = setup();
        one_finished_run(&state, &spec);
        assert_eq!(recover(&state), vec![]);
        assert_eq!(recover(&state), vec![]);
        // The state directory is moved away and another one put in its place, holding the
        // record of a dead run: nothing changed in the watched folder itself.
        std::fs::rename(&state, d.path().join("state-old")).unwrap();
        name_record(
            &state.join(PENDING_DIR),
            "79-1",
            &serde_json::to_vec(&spec).unwrap(),
        );
        std::fs::create_dir(ws.join(".git/hooks")).unwrap();
        assert_eq!(recover(&state).len(), 1);
        assert!(!ws.join(".git/hooks").exists());
    }

    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf, SandboxSpec) {
        let d = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(d.path()).unwrap();
        let ws = base.join("ws");
        let state = base.join("state");
        for sub in [".git/objects", ".git/refs"] {
            std::fs::create_dir_all(ws.join(sub)).unwrap();
        }
        std::fs::write(ws.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        let mut p = default_policy();
        p.deny_read.clear();
        let spec = SandboxSpec::from_policy(&p, &ws).unwrap();
        (d, ws, state, spec)
    }

    #[test]
    fn a_check_left_by_a_dead_run_is_done_by_the_next_one() {
        let (_d, ws, state, spec) = setup();
        let pending = begin(&state, &spec).unwrap();
        std::fs::create_dir(ws.join(".git/hooks")).unwrap();
        std::fs::write(ws.join(".git/hooks/post-checkout"), "evil").unwrap();
        // The supervisor dies: its lock goes with it (here: the file is closed, not removed).
        drop(pending);
        let events = recover(&state);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(!ws.join(".git/hooks").exists());
        assert!(events[0].reason.contains("ended before its check"));
        assert_eq!(recover(&state), vec![], "the record is gone");
    }

    /// The record files in the pending folder and whether each holds a record.
    fn records(state: &Path) -> Vec<(PathBuf, bool)> {
        let mut v: Vec<_> = std::fs::read_dir(state.join(PENDING_DIR))
            .unwrap()
            .flatten()
            .map(|e| {
                let bytes = std::fs::read(e.path()).unwrap();
                (e.path(), bytes.first().is_some_and(|&b| b != DONE))
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_live_runs_record_is_left_alone() {
        let (_d, ws, state, spec) = setup();
        let pending = begin(&state, &spec).unwrap();
        std::fs::create_dir(ws.join(".git/hooks")).unwrap();
        // Another process's view: the lock is held (flock locks are per open file description).
        assert_eq!(recover(&state), vec![]);
        assert!(
            ws.join(".git/hooks").exists(),
            "a running command is not cut short"
        );
        pending.finish();
        assert!(
            records(&state).iter().all(|(_, pending)| !pending),
            "nothing pending once the check ran"
        );
    }

    #[test]
    fn a_record_file_is_rewritten_and_marked_done_not_created_truncated_or_removed() {
        let (_d, _ws, state, spec) = setup();
        let first = begin(&state, &spec).unwrap();
        let path = first.path.clone();
        let recorded: SandboxSpec = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(recorded, spec);
        first.finish();
        let left = std::fs::read(&path).unwrap();
        assert_eq!(left[0], DONE, "finished: nothing pending");
        assert!(
            serde_json::from_slice::<SandboxSpec>(&left).is_err(),
            "a done record does not parse"
        );
        let mut smaller = spec.clone();
        smaller.protected.clear();
        let second = begin(&state, &smaller).unwrap();
        assert_eq!(second.path, path, "the same file is used again");
        let recorded: SandboxSpec = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(recorded, smaller, "nothing of the longer record is left");
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            serde_json::to_vec(&spec).unwrap().len() as u64,
            "the file keeps its length (spaces after the shorter record)"
        );
        second.finish();
        assert_eq!(records(&state), vec![(path, false)]);
    }

    #[test]
    fn a_record_whose_first_byte_was_not_written_yet_is_done() {
        // The supervisor died between writing a record's body and its first byte: its command
        // had not started, so the next run checks nothing for it and reuses the file.
        let (_d, ws, state, spec) = setup();
        let dir = state.join(PENDING_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        let mut body = serde_json::to_vec(&spec).unwrap();
        body[0] = DONE;
        std::fs::write(dir.join("1-1.json"), &body).unwrap();
        std::fs::create_dir(ws.join(".git/hooks")).unwrap();
        assert_eq!(recover(&state), vec![]);
        assert!(ws.join(".git/hooks").exists(), "nothing was checked");
        // The same bytes with the first one written are a pending record of a dead run.
        body[0] = b'{';
        std::fs::write(dir.join("1-1.json"), &body).unwrap();
        // This process adopted the file: a run of it takes it, and dies before its check.
        let run = begin(&state, &spec).unwrap();
        assert_eq!(run.path, dir.join("1-1.json"), "the adopted file is used");
        assert_eq!(std::fs::read(&run.path).unwrap(), body);
        drop(run);
        assert_eq!(recover(&state).len(), 1);
        assert!(!ws.join(".git/hooks").exists());
    }

    #[test]
    fn concurrent_runs_take_different_files_and_a_few_are_kept() {
        let (_d, _ws, state, spec) = setup();
        let runs: Vec<Pending> = (0..MAX_FREE + 2)
            .map(|_| begin(&state, &spec).unwrap())
            .collect();
        let mut paths: Vec<_> = runs.iter().map(|p| p.path.clone()).collect();
        paths.dedup();
        assert_eq!(paths.len(), MAX_FREE + 2);
        runs.into_iter().for_each(Pending::finish);
        assert_eq!(
            records(&state).len(),
            MAX_FREE,
            "the extra files are removed"
        );
    }

    #[test]
    fn records_of_a_dead_process_are_checked_or_adopted_and_torn_ones_dropped() {
        let (_d, ws, state, spec) = setup();
        let dir = state.join(PENDING_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        // A dead process's files, unlocked: one pending, one done (empty), one torn.
        std::fs::write(dir.join("1-1.json"), serde_json::to_vec(&spec).unwrap()).unwrap();
        std::fs::write(dir.join("1-2.json"), b"").unwrap();
        std::fs::write(dir.join("1-3.json"), b"{\"mode\":").unwrap();
        // A file still being made by a live process is not a record yet.
        std::fs::write(dir.join("2-1.new"), b"").unwrap();
        std::fs::create_dir(ws.join(".git/hooks")).unwrap();
        let events = recover(&state);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(!ws.join(".git/hooks").exists());
        let left = records(&state);
        assert!(left.iter().all(|(_, pending)| !pending), "{left:?}");
        assert!(left.iter().any(|(p, _)| p.ends_with("2-1.new")));
        assert_eq!(left.len(), 4, "adopted as free record files: {left:?}");
        // This process now runs in one of the adopted files.
        let run = begin(&state, &spec).unwrap();
        assert!(run.path.starts_with(&dir) && run.path.extension().unwrap() == "json");
        assert_eq!(records(&state).len(), 4);
        run.finish();
    }
}
