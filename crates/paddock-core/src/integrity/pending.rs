//! Makes the after-run check crash-safe: before a sandboxed command starts, the spec it runs
//! under is written to `<state>/integrity-pending/` and locked by the supervisor; the file is
//! removed once the check has run. A file whose lock can be taken belongs to a Paddock that
//! died (SIGKILL, power loss) before checking, and the next run checks for it first.
//!
//! The lock is an OS file lock held for the life of the supervisor process (released by the
//! kernel when it dies), so a slow run is never mistaken for a dead one. The record is not
//! fsynced: after a power loss it may be missing, and what the command planted is then only
//! caught if it is at a path the next run watches or protects.

use super::{IntegrityEvent, check_after_run};
use crate::files::{Location, read_regular_file};
use crate::spec::SandboxSpec;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The folder of pending checks inside the state directory.
pub const PENDING_DIR: &str = "integrity-pending";
/// A pending record larger than this is not read back (a spec is a few KiB).
const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;

/// A check that must run after the command: drop it only through `finish`.
pub struct Pending {
    file: File,
    path: PathBuf,
    /// Where the record file goes back to after `finish`, for a resident front end.
    slots: Option<Arc<PendingSlots>>,
}

/// Records `spec` as pending in `state_dir` and locks the record for this process.
pub fn begin(state_dir: &Path, spec: &SandboxSpec) -> std::io::Result<Pending> {
    let _span = tracing::debug_span!("pending_record").entered();
    let (file, path) = new_record(&state_dir.join(PENDING_DIR))?;
    let mut pending = Pending {
        file,
        path,
        slots: None,
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
    let path = dir.join(format!("{}-{nanos}.json", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    file.lock()?;
    Ok((file, path))
}

impl Pending {
    /// Writes `spec` as the whole record. Written, not fsynced: the record must outlive the
    /// supervisor (killed, crashed), which the page cache guarantees; an fsync would cost about
    /// 0.4 ms per run for the power-loss case. A record cut short (the supervisor died while
    /// writing it) does not parse and is dropped: its command had not started.
    fn write(&mut self, spec: &SandboxSpec) -> std::io::Result<()> {
        let json = serde_json::to_vec(spec).map_err(std::io::Error::other)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&json)?;
        self.file.set_len(json.len() as u64)
    }

    /// The check has run: the record goes (a slot's file is emptied and kept for the next run).
    pub fn finish(self) {
        match self.slots {
            Some(slots) if self.file.set_len(0).is_ok() => slots.put_back(self.file, self.path),
            _ => {
                let _ = std::fs::remove_file(&self.path);
                drop(self.file);
            }
        }
    }
}

impl std::fmt::Debug for PendingSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSlots")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Record files kept open and locked by a resident front end (`paddock mcp`) and reused run
/// after run: a run rewrites one instead of creating a file, and empties it instead of
/// removing it (creating and removing a file cost about 0.1 ms of a warm call on ext4). An
/// empty record means nothing is pending: `recover` drops it once its lock is free (the front
/// end ended). Concurrent runs take different files.
pub struct PendingSlots {
    dir: PathBuf,
    free: Mutex<Vec<(File, PathBuf)>>,
}

impl PendingSlots {
    /// Slots for the pending records of `state_dir`.
    pub fn new(state_dir: &Path) -> Arc<PendingSlots> {
        Arc::new(PendingSlots {
            dir: state_dir.join(PENDING_DIR),
            free: Mutex::new(Vec::new()),
        })
    }

    /// Whether these slots hold the records of `state_dir`.
    pub fn serves(&self, state_dir: &Path) -> bool {
        self.dir == state_dir.join(PENDING_DIR)
    }

    /// Records `spec` as pending in a free slot (a new file when none is free).
    pub fn begin(self: &Arc<Self>, spec: &SandboxSpec) -> std::io::Result<Pending> {
        let _span = tracing::debug_span!("pending_record").entered();
        let free = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let (file, path) = match free {
            Some(slot) => slot,
            None => new_record(&self.dir)?,
        };
        let mut pending = Pending {
            file,
            path,
            slots: Some(self.clone()),
        };
        pending.write(spec)?;
        Ok(pending)
    }

    fn put_back(&self, file: File, path: PathBuf) {
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((file, path));
    }
}

/// Creates the state directory (0700 on Unix) when it is missing.
pub fn ensure_state_dir(state_dir: &Path) -> std::io::Result<()> {
    create_private_dir(state_dir)
}

/// Runs the checks that a dead Paddock left pending in `state_dir` and returns what they
/// reverted; records still locked by a live run are left alone.
pub fn recover(state_dir: &Path) -> Vec<IntegrityEvent> {
    let _span = tracing::debug_span!("pending_recover").entered();
    let mut events = Vec::new();
    let Ok(entries) = std::fs::read_dir(state_dir.join(PENDING_DIR)) else {
        return events;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
        else {
            continue;
        };
        if file.try_lock().is_err() {
            continue;
        }
        let spec: Option<SandboxSpec> =
            read_regular_file(&path, Location::NoFinalLink, MAX_RECORD_BYTES)
                .ok()
                .flatten()
                .and_then(|b| serde_json::from_slice(&b).ok());
        // A torn record (the supervisor died while writing it) is dropped: its command never
        // started, since the record is complete before the launch.
        if let Some(spec) = spec {
            for mut ev in check_after_run(&spec) {
                ev.reason = format!("{} (left by a run that ended before its check)", ev.reason);
                events.push(ev);
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    events
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
        drop(pending.file);
        let events = recover(&state);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(!ws.join(".git/hooks").exists());
        assert!(events[0].reason.contains("ended before its check"));
        assert_eq!(recover(&state), vec![], "the record is gone");
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
            std::fs::read_dir(state.join(PENDING_DIR))
                .unwrap()
                .next()
                .is_none()
        );
    }

    #[test]
    fn a_slot_is_rewritten_and_emptied_not_created_and_removed() {
        let (_d, _ws, state, spec) = setup();
        let slots = PendingSlots::new(&state);
        assert!(slots.serves(&state));
        let first = slots.begin(&spec).unwrap();
        let path = first.path.clone();
        let recorded: SandboxSpec = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(recorded, spec);
        first.finish();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"",
            "finished: nothing pending"
        );
        let second = slots.begin(&spec).unwrap();
        assert_eq!(second.path, path, "the same file is used again");
        second.finish();
        let files = std::fs::read_dir(state.join(PENDING_DIR)).unwrap().count();
        assert_eq!(files, 1);
    }

    #[test]
    fn a_slot_left_by_a_dead_server_is_checked_and_an_idle_one_dropped() {
        let (_d, ws, state, spec) = setup();
        let slots = PendingSlots::new(&state);
        let idle = slots.begin(&spec).unwrap();
        idle.finish();
        // A live server's slots are left alone, idle or not.
        let busy = slots.begin(&spec).unwrap();
        std::fs::create_dir(ws.join(".git/hooks")).unwrap();
        assert_eq!(recover(&state), vec![]);
        assert!(ws.join(".git/hooks").exists());
        // The server dies mid-run: both locks go with it.
        drop(busy);
        drop(slots);
        let events = recover(&state);
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(!ws.join(".git/hooks").exists());
        assert_eq!(
            std::fs::read_dir(state.join(PENDING_DIR)).unwrap().count(),
            0,
            "the checked record and the empty one are gone"
        );
    }
}
