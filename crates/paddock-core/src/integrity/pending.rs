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
use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder of pending checks inside the state directory.
pub const PENDING_DIR: &str = "integrity-pending";
/// A pending record larger than this is not read back (a spec is a few KiB).
const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;

/// A check that must run after the command: drop it only through `finish`.
pub struct Pending {
    file: File,
    path: PathBuf,
}

/// Records `spec` as pending in `state_dir` and locks the record for this process.
pub fn begin(state_dir: &Path, spec: &SandboxSpec) -> std::io::Result<Pending> {
    let _span = tracing::debug_span!("pending_record").entered();
    let dir = state_dir.join(PENDING_DIR);
    create_private_dir(&dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let path = dir.join(format!("{}-{nanos}.json", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    file.lock()?;
    let json = serde_json::to_vec(spec).map_err(std::io::Error::other)?;
    // Written, not fsynced: the record must outlive the supervisor (killed, crashed), which the
    // page cache guarantees; an fsync would cost about 0.4 ms per run for the power-loss case.
    file.write_all(&json)?;
    Ok(Pending { file, path })
}

impl Pending {
    /// The check has run: the record goes.
    pub fn finish(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
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
}
