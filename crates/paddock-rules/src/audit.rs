//! The audit log: one JSON line per decided command in `<state_dir>/audit.jsonl`, append-only.
//!
//! Each record is written with ONE `write` of a complete line to a file opened with `O_APPEND`
//! (owner-only, mode 0600 on Unix), while holding `audit.lock`, so writers never interleave. A
//! writer killed mid-write leaves at most one torn line, which the next writer ends before its
//! own record and every reader skips. The file is rotated to `audit.jsonl.1 .. .N` past a size
//! limit.

use crate::approval::{ApprovedBy, FinalDecision};
use paddock_core::policy::Policy;
use paddock_core::report::{EnforcementReport, NetworkEvent, RunReport};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use thiserror::Error;

/// The log's file name inside the state directory.
pub const FILE_NAME: &str = "audit.jsonl";
/// The lock file writers take turns on.
const LOCK_NAME: &str = "audit.lock";

#[derive(Debug, Error)]
pub enum AuditError {
    #[error("no state directory for the audit log (set HOME, LOCALAPPDATA or PADDOCK_STATE_DIR)")]
    NoStateDir,
    #[error("audit log {path}: cannot {op}: {source}; check that the state directory is writable")]
    Io {
        path: PathBuf,
        op: &'static str,
        source: std::io::Error,
    },
    #[error("audit record cannot be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub argv: Vec<String>,
    pub cwd: String,
    /// `sha256:<hex>` of the effective policy as JSON.
    pub policy_digest: String,
    /// The rule that decided, if one did.
    pub rule: Option<String>,
    /// The rules' verdict: allow, unknown, prompt or forbid.
    pub decision: String,
    pub ran: bool,
    pub escalation: bool,
    pub approved_by: ApprovedBy,
    pub how: String,
    pub backend: Option<String>,
    pub enforcement: Option<EnforcementReport>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    pub timed_out: bool,
    /// What the after-run integrity check reverted (see `paddock_core::integrity`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrity: Vec<paddock_core::integrity::IntegrityEvent>,
    /// A line for one decision of the network allow-list proxy (`decision` is then `network`),
    /// written as the proxy decides, between the run's decision and its outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkEvent>,
    /// What the sandbox refused, or the limit that ended the run (`RunReport::denials`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denials: Vec<paddock_core::Denial>,
    /// `denials` in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denial_summary: Option<String>,
}

impl Record {
    /// A record of `decision` for a command in `cwd` under `policy` (before it runs).
    pub fn new(decision: &FinalDecision, cwd: &Path, policy: &Policy) -> Record {
        let j = &decision.judgement;
        Record {
            time: rfc3339(SystemTime::now()),
            argv: j.argv.clone(),
            cwd: cwd.display().to_string(),
            policy_digest: policy_digest(policy),
            rule: j
                .deciding_rule()
                .map(|r| format!("{} `{}` -> {}", r.origin, r.pattern, r.decision)),
            decision: j.verdict.as_str().to_string(),
            ran: decision.run,
            escalation: decision.escalation,
            approved_by: decision.approved_by,
            how: decision.how.clone(),
            backend: None,
            enforcement: None,
            exit_code: None,
            duration_ms: None,
            timed_out: false,
            integrity: Vec::new(),
            denials: Vec::new(),
            denial_summary: None,
            network: None,
        }
    }

    /// The line for one decision of the allow-list proxy during the run `run` records: the
    /// command's argv, directory and policy, the decision now, and `how` in one line.
    pub fn network_event(run: &Record, event: &NetworkEvent) -> Record {
        let verdict = if event.allowed { "allowed" } else { "refused" };
        let address = event
            .address
            .as_deref()
            .map_or(String::new(), |a| format!(" ({a})"));
        Record {
            time: rfc3339(SystemTime::now()),
            decision: "network".into(),
            how: format!("{verdict} {}{address}: {}", event.request(), event.reason),
            backend: None,
            enforcement: None,
            exit_code: None,
            duration_ms: None,
            timed_out: false,
            integrity: Vec::new(),
            network: Some(event.clone()),
            ..run.clone()
        }
    }

    /// Adds what happened when the command ran.
    pub fn with_run(mut self, report: &RunReport) -> Record {
        self.backend = Some(report.enforcement.backend.clone());
        self.enforcement = Some(report.enforcement.clone());
        self.exit_code = Some(report.exit_code);
        self.duration_ms = Some(report.duration_ms);
        self.timed_out = report.timed_out;
        self.integrity = report.integrity.clone();
        self.denials = report.denials.clone();
        self.denial_summary = report.denial_summary.clone();
        self
    }
}

/// `sha256:<hex>` of the policy's JSON form. The last policy's digest is kept: a resident
/// front end records the same policy call after call (its JSON and hash were about 0.01 ms of
/// each record).
pub fn policy_digest(policy: &Policy) -> String {
    static LAST: std::sync::Mutex<Option<(Policy, String)>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((p, d)) = last.as_ref()
        && p == policy
    {
        return d.clone();
    }
    let json = serde_json::to_vec(policy).unwrap_or_default();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in Sha256::digest(&json) {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    *last = Some((policy.clone(), out.clone()));
    out
}

/// The audit log in one directory.
#[derive(Debug, Clone)]
pub struct AuditLog {
    dir: PathBuf,
    max_bytes: u64,
    keep: usize,
    /// The files of this log's last append, for its next one (`Held`).
    held: std::sync::Arc<std::sync::Mutex<Option<Held>>>,
}

/// The lock and log files an append opened, kept open for the next append through the same
/// `AuditLog` (a run writes its decision, then its outcome; `paddock mcp` writes both for
/// every call). Before each use they are checked to still be the files at their paths (a
/// rotation by another process, a removed state directory), else opened again; and `end` is
/// where this process's last line ended, so that a log still that long needs no look at its
/// last byte. Unix only: elsewhere each append opens the files.
#[derive(Debug)]
struct Held {
    lock: std::fs::File,
    lock_id: FileId,
    log: std::fs::File,
    log_id: FileId,
    end: u64,
}

/// Device and inode of an open file.
type FileId = (u64, u64);

impl AuditLog {
    /// The log in `paddock_core::state::state_dir()`.
    pub fn open_default() -> Result<AuditLog, AuditError> {
        paddock_core::state::state_dir()
            .map(AuditLog::in_dir)
            .ok_or(AuditError::NoStateDir)
    }

    /// The log in `dir`, rotated at 10 MiB, keeping 5 old files.
    pub fn in_dir(dir: impl Into<PathBuf>) -> AuditLog {
        AuditLog {
            dir: dir.into(),
            max_bytes: 10 << 20,
            keep: 5,
            held: Default::default(),
        }
    }

    /// Rotates past `max_bytes`, keeping `keep` old files (at least one).
    pub fn with_rotation(mut self, max_bytes: u64, keep: usize) -> AuditLog {
        self.max_bytes = max_bytes;
        self.keep = keep.max(1);
        self
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    fn rotated(&self, n: usize) -> PathBuf {
        self.dir.join(format!("{FILE_NAME}.{n}"))
    }

    fn io(&self, op: &'static str) -> impl Fn(std::io::Error) -> AuditError + '_ {
        move |source| AuditError::Io {
            path: self.path(),
            op,
            source,
        }
    }

    /// Appends one record as one line, with one write, under the log's lock.
    pub fn append(&self, record: &Record) -> Result<(), AuditError> {
        let mut line = serde_json::to_string(record)?.into_bytes();
        line.push(b'\n');
        // Writers take turns on a separate lock file: appends from several processes are then
        // never interleaved (Wine, network file systems), rotation cannot race a write, and
        // readers are never blocked by Windows' mandatory locks on the log itself.
        let lock_path = self.dir.join(LOCK_NAME);
        let path = self.path();
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let kept = held
            .take()
            .filter(|h| current_len(h.lock_id, &lock_path).is_some());
        // The ids of the files kept from the last append are known: no stat to learn them again.
        let (lock, mut lock_id, kept_log) = match kept {
            Some(h) => (h.lock, Some(h.lock_id), Some((h.log, h.log_id, h.end))),
            // The directory is created only when it is missing: no mkdir on every append.
            None => match open_private(&lock_path, false) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    create_private_dir(&self.dir).map_err(self.io("create its directory"))?;
                    open_private(&lock_path, false)
                }
                other => other,
            }
            .map(|lock| (lock, None, None))
            .map_err(self.io("open its lock"))?,
        };
        lock.lock().map_err(self.io("lock"))?;
        // Under the lock: the log at the path now, and its length (other writers append too).
        let (mut file, mut len, mut ours, mut log_id) = match kept_log.and_then(|(log, id, end)| {
            current_len(id, &path).map(|len| (log, len, len == end, Some(id)))
        }) {
            Some(kept) => kept,
            None => {
                let (file, len) = open_private_len(&path).map_err(self.io("open"))?;
                (file, len, false, None)
            }
        };
        if len > 0 && len + line.len() as u64 > self.max_bytes {
            drop(file);
            self.rotate()?;
            (file, len) = open_private_len(&path).map_err(self.io("open"))?;
            (ours, log_id) = (false, None);
        }
        // The log still ends where this process's last line did: that line ended it cleanly.
        if len > 0 && !ours && last_byte(&file, len - 1).map_err(self.io("read"))? != b'\n' {
            // A writer died in the middle of its line: start on a fresh line, so that only the
            // torn line is lost, never this record.
            line.insert(0, b'\n');
        }
        let written = file.write(&line).map_err(self.io("write"))?;
        if written != line.len() {
            return Err(AuditError::Io {
                path,
                op: "write a whole record",
                source: std::io::Error::new(
                    std::io::ErrorKind::WriteZero,
                    format!("short write: {written} of {} bytes", line.len()),
                ),
            });
        }
        // Unlocked explicitly: the lock file stays open for the next append.
        let _ = lock.unlock();
        lock_id = lock_id.or_else(|| file_id(&lock));
        log_id = log_id.or_else(|| file_id(&file));
        if let (Some(lock_id), Some(log_id)) = (lock_id, log_id) {
            *held = Some(Held {
                lock,
                lock_id,
                log: file,
                log_id,
                end: len + written as u64,
            });
        }
        Ok(())
    }

    fn rotate(&self) -> Result<(), AuditError> {
        for n in (1..self.keep).rev() {
            let from = self.rotated(n);
            if from.exists() {
                std::fs::rename(&from, self.rotated(n + 1)).map_err(self.io("rotate"))?;
            }
        }
        std::fs::rename(self.path(), self.rotated(1)).map_err(self.io("rotate"))
    }

    /// Every complete record, oldest first (rotated files included), at or after `since`, and
    /// the lines that could not be used (torn, not a record, or, with `since`, a time that does
    /// not parse): one bad line never hides the rest.
    pub fn read(&self, since: Option<SystemTime>) -> Result<LogContents, AuditError> {
        let mut files: Vec<PathBuf> = (1..=self.keep).rev().map(|n| self.rotated(n)).collect();
        files.push(self.path());
        let mut out = LogContents::default();
        for f in files {
            let bytes = match std::fs::read(&f) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(AuditError::Io {
                        path: f,
                        op: "read",
                        source,
                    });
                }
            };
            for (n, line) in String::from_utf8_lossy(&bytes).lines().enumerate() {
                let skip = |reason: String| SkippedLine {
                    file: f.clone(),
                    line: n + 1,
                    reason,
                };
                let rec = match serde_json::from_str::<Record>(line) {
                    Ok(rec) => rec,
                    Err(e) => {
                        out.skipped
                            .push(skip(format!("not a complete record ({e})")));
                        continue;
                    }
                };
                if let Some(since) = since {
                    match parse_rfc3339(&rec.time) {
                        Some(t) if t >= since => {}
                        Some(_) => continue,
                        None => {
                            out.skipped
                                .push(skip(format!("time `{}` is not RFC 3339", rec.time)));
                            continue;
                        }
                    }
                }
                out.records.push(rec);
            }
        }
        Ok(out)
    }
}

/// What `AuditLog::read` found.
#[derive(Debug, Default)]
pub struct LogContents {
    pub records: Vec<Record>,
    pub skipped: Vec<SkippedLine>,
}

/// A log line that `AuditLog::read` left out, with where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for SkippedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}; line skipped",
            self.file.display(),
            self.line,
            self.reason
        )
    }
}

/// Reads the default audit log (see `AuditLog::read`).
pub fn read_log(since: Option<SystemTime>) -> Result<LogContents, AuditError> {
    AuditLog::open_default()?.read(since)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    // %LOCALAPPDATA% is owner-only by inheritance; the directory inherits that DACL.
    std::fs::create_dir_all(dir)
}

/// Opens `path` owner-only (0600 on Unix, tightening an existing file), for appending reads
/// and writes when `append`, else for writing (a lock file).
fn open_private(path: &Path, append: bool) -> std::io::Result<std::fs::File> {
    open_private_meta(path, append).map(|(file, _)| file)
}

/// Opens the log like `open_private` for appending, with its current length (one `fstat`).
fn open_private_len(path: &Path) -> std::io::Result<(std::fs::File, u64)> {
    let (file, meta) = open_private_meta(path, true)?;
    let len = match meta {
        Some(meta) => meta.len(),
        None => file.metadata()?.len(),
    };
    Ok((file, len))
}

/// `open_private`, returning the metadata it read on the way (Unix) so callers need not ask
/// again.
fn open_private_meta(
    path: &Path,
    append: bool,
) -> std::io::Result<(std::fs::File, Option<std::fs::Metadata>)> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true);
    if append {
        opts.read(true).append(true);
    } else {
        opts.write(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let file = opts.open(path)?;
        let meta = file.metadata()?;
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        Ok((file, Some(meta)))
    }
    #[cfg(not(unix))]
    {
        opts.open(path).map(|file| (file, None))
    }
}

/// The identity of an open file (Unix; elsewhere none, and nothing is kept).
#[cfg(unix)]
fn file_id(file: &std::fs::File) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    file.metadata().ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &std::fs::File) -> Option<FileId> {
    None
}

/// The length of the file at `path` when it is still the file `id` names (one `stat` of the
/// path, links not followed), else `None`.
#[cfg(unix)]
fn current_len(id: FileId, path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let at_path = std::fs::symlink_metadata(path).ok()?;
    ((at_path.dev(), at_path.ino()) == id).then_some(at_path.len())
}

#[cfg(not(unix))]
fn current_len(_: FileId, _: &Path) -> Option<u64> {
    None
}

fn last_byte(file: &std::fs::File, at: u64) -> std::io::Result<u8> {
    let mut b = [0u8; 1];
    #[cfg(unix)]
    std::os::unix::fs::FileExt::read_exact_at(file, &mut b, at)?;
    #[cfg(windows)]
    {
        let n = std::os::windows::fs::FileExt::seek_read(file, &mut b, at)?;
        if n != 1 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(b[0])
}

/// `SystemTime` as RFC 3339 in UTC with milliseconds: `2026-11-24T09:03:36.123Z` (times before
/// 1970 or past jiff's range, which no clock gives, print as the epoch).
pub fn rfc3339(t: SystemTime) -> String {
    let ts = jiff::Timestamp::try_from(t).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses an RFC 3339 time (any offset, any fraction); `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    s.parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| SystemTime::try_from(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::{NoApprover, decide};
    use crate::context::Context;
    use crate::rules::engine::Engine;
    use paddock_core::policy::ApprovalMode;
    use std::time::{Duration, UNIX_EPOCH};

    fn record(argv: &[&str]) -> Record {
        let mut e = Engine::empty();
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let ctx = Context::new("/w", vec!["/w".into()]);
        let d = decide(&mut e, &argv, &ctx, ApprovalMode::OnRisk, &mut NoApprover);
        Record::new(&d, Path::new("/w"), &paddock_core::config::default_policy())
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400, "2000-02-29T00:00:00.000Z"),
            (1_795_510_923, "2026-11-24T09:02:03.000Z"),
            (4_107_542_399, "2100-02-28T23:59:59.000Z"),
        ];
        for (secs, want) in cases {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(rfc3339(t), want);
            assert_eq!(parse_rfc3339(want), Some(t));
        }
        let t = UNIX_EPOCH + Duration::from_millis(1_795_510_923_456);
        assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
        // Multi-byte text where the fraction belongs: refused, not a panic on a char boundary.
        assert_eq!(parse_rfc3339("2026-01-01T00:00:00.ééZ"), None);
        assert_eq!(parse_rfc3339("2026-01-01T00:00:00.é"), None);
    }

    #[test]
    fn policy_digest_is_sha256_of_the_policy_and_changes_with_it() {
        let p = paddock_core::config::default_policy();
        let d = policy_digest(&p);
        assert!(d.starts_with("sha256:") && d.len() == 7 + 64, "{d}");
        assert_eq!(d, policy_digest(&p.clone()));
        let mut q = p.clone();
        q.mode = paddock_core::policy::Mode::ReadOnly;
        assert_ne!(d, policy_digest(&q));
    }

    #[test]
    fn records_are_single_json_lines_with_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::in_dir(dir.path());
        let report = RunReport {
            exit_code: 3,
            duration_ms: 42,
            timed_out: true,
            enforcement: EnforcementReport::unconfined(),
            ..RunReport::default()
        };
        log.append(&record(&["echo", "multi\nline"]).with_run(&report))
            .unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        for key in [
            "time",
            "argv",
            "cwd",
            "policy_digest",
            "rule",
            "decision",
            "ran",
            "approved_by",
            "how",
            "backend",
            "enforcement",
            "exit_code",
            "duration_ms",
            "timed_out",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
        assert_eq!(v["argv"][1], "multi\nline");
        assert_eq!(v["exit_code"], 3);
        assert_eq!(v["backend"], "none");
        assert_eq!(v["decision"], "allow");
    }

    /// The program of every record the log reads back, oldest first.
    fn programs(log: &AuditLog) -> Vec<String> {
        log.read(None)
            .unwrap()
            .records
            .iter()
            .map(|r| r.argv[0].clone())
            .collect()
    }

    #[test]
    fn a_record_after_a_torn_line_starts_on_its_own_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::in_dir(dir.path());
        log.append(&record(&["first"])).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap();
        f.write_all(b"{\"time\":\"2026-").unwrap();
        log.append(&record(&["after"])).unwrap();
        assert_eq!(programs(&log), ["first", "after"]);
    }

    /// One `AuditLog` keeps its files between appends: what others do to the log in between
    /// (rotate it, remove the whole state directory) must not send a record elsewhere.
    #[test]
    fn kept_files_follow_the_log_when_it_is_rotated_or_removed_in_between() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let log = AuditLog::in_dir(&state);
        log.append(&record(&["one"])).unwrap();
        // Another process rotates and starts the new file: the kept one is now audit.jsonl.1.
        std::fs::rename(log.path(), log.rotated(1)).unwrap();
        AuditLog::in_dir(&state)
            .append(&record(&["other"]))
            .unwrap();
        log.append(&record(&["two"])).unwrap();
        let argv0 = |path: PathBuf| -> Vec<String> {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Record>(l).unwrap().argv[0].clone())
                .collect()
        };
        assert_eq!(argv0(log.path()), ["other", "two"], "the log at its path");
        assert_eq!(
            argv0(log.rotated(1)),
            ["one"],
            "the rotated file is left alone"
        );
        // The state directory is removed (lock file included) and made again by the append.
        std::fs::remove_dir_all(&state).unwrap();
        log.append(&record(&["three"])).unwrap();
        assert_eq!(programs(&log), ["three"]);
        assert!(state.join(LOCK_NAME).exists());
        assert!(!log.rotated(1).exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_missing_state_directory_is_created_owner_only_on_the_first_append() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::in_dir(dir.path().join("a/state"));
        log.append(&record(&["ls"])).unwrap();
        log.append(&record(&["pwd"])).unwrap();
        let mode = std::fs::metadata(dir.path().join("a/state"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let mode = std::fs::metadata(log.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(log.read(None).unwrap().records.len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn the_log_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::in_dir(dir.path().join("state"));
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        std::fs::write(log.path(), "").unwrap();
        std::fs::set_permissions(log.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        log.append(&record(&["ls"])).unwrap();
        let mode = std::fs::metadata(log.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn rotation_keeps_n_files_and_reading_spans_them_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let one = serde_json::to_string(&record(&["ls", "0"])).unwrap().len() as u64 + 1;
        let log = AuditLog::in_dir(dir.path()).with_rotation(one * 2, 2);
        for i in 0..7 {
            log.append(&record(&["ls", &i.to_string()])).unwrap();
        }
        assert!(dir.path().join("audit.jsonl.1").exists());
        assert!(dir.path().join("audit.jsonl.2").exists());
        assert!(!dir.path().join("audit.jsonl.3").exists());
        let got: Vec<String> = log
            .read(None)
            .unwrap()
            .records
            .iter()
            .map(|r| r.argv[1].clone())
            .collect();
        assert_eq!(
            got,
            ["2", "3", "4", "5", "6"],
            "two lines per file, two old files"
        );
    }

    #[test]
    fn reading_skips_a_torn_last_line_and_filters_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::in_dir(dir.path());
        let mut old = record(&["old"]);
        old.time = "2001-01-01T00:00:00.000Z".into();
        log.append(&old).unwrap();
        log.append(&record(&["new"])).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap();
        f.write_all(b"{\"time\":\"2026-").unwrap();
        let all = log.read(None).unwrap();
        assert_eq!(all.records.len(), 2);
        assert_eq!(all.skipped.len(), 1, "{:?}", all.skipped);
        assert_eq!(all.skipped[0].line, 3);
        let since = parse_rfc3339("2020-01-01T00:00:00Z");
        let recent = log.read(since).unwrap().records;
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].argv, ["new"]);
    }

    #[test]
    fn a_record_with_a_broken_time_is_skipped_with_its_line_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::in_dir(dir.path());
        let mut bad = record(&["bad"]);
        bad.time = "2026-01-01T00:00:00.ééZ".into();
        log.append(&bad).unwrap();
        log.append(&record(&["good"])).unwrap();
        let since = parse_rfc3339("2020-01-01T00:00:00Z");
        let got = log.read(since).unwrap();
        assert_eq!(got.records.len(), 1);
        assert_eq!(got.records[0].argv, ["good"]);
        assert_eq!(got.skipped.len(), 1);
        assert_eq!(got.skipped[0].line, 1);
        let shown = got.skipped[0].to_string();
        assert!(
            shown.contains("audit.jsonl:1:") && shown.contains("skipped"),
            "{shown}"
        );
    }
}
