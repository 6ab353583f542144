//! "Allow for this session": approvals remembered for one session, named by an id the caller
//! passes (`paddock run --session ID`, `PADDOCK_SESSION`, or a library/MCP front end), kept in
//! `<state dir>/sessions/<id>.json` so they outlive one `paddock run`.
//!
//! Guarantees: an entry covers exactly the argv, working directory and sandbox shown when it was
//! approved, and expires `TTL` after approval; a session keeps at most `MAX_ENTRIES` (the oldest
//! go first) and at most `MAX_SESSIONS` files are kept; files are 0600 in a 0700 directory,
//! replaced atomically under a lock, and read only when they are regular files of bounded size.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// How long a session approval lasts.
pub const TTL: Duration = Duration::from_secs(12 * 3600);
/// Approvals kept per session.
pub const MAX_ENTRIES: usize = 256;
/// Session files kept in the state directory.
pub const MAX_SESSIONS: usize = 64;
/// Largest session file read.
const MAX_BYTES: u64 = 1 << 20;
/// Longest session id.
const MAX_ID: usize = 64;

#[derive(Debug, Error)]
pub enum SessionError {
    #[error(
        "session id `{0}` is not valid: use 1 to 64 letters, digits, `-`, `_` or `.`, not starting with `.`"
    )]
    BadId(String),
    #[error("no state directory for sessions (set HOME, LOCALAPPDATA or PADDOCK_STATE_DIR)")]
    NoStateDir,
    #[error(
        "session file {path}: cannot {op}: {source}; check that the state directory is yours and writable"
    )]
    Io {
        path: PathBuf,
        op: &'static str,
        source: std::io::Error,
    },
    #[error("session file {path} is {problem}; remove it to start the session afresh")]
    Refused { path: PathBuf, problem: String },
}

/// A checked session id: safe as a file name on every OS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    pub fn parse(s: &str) -> Result<SessionId, SessionError> {
        let ok = !s.is_empty()
            && s.len() <= MAX_ID
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(SessionId(s.to_string()))
        } else {
            Err(SessionError::BadId(
                paddock_core::text::escape(s).into_owned(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One approval: exactly what the person saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    argv: Vec<String>,
    cwd: String,
    sandbox: String,
    /// Seconds since the Unix epoch.
    approved_at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SessionFile {
    entries: Vec<Entry>,
}

/// One session's approvals, in memory and (unless `in_memory`) in its file.
#[derive(Debug, Clone)]
pub struct Session {
    id: SessionId,
    file: Option<PathBuf>,
    entries: Vec<Entry>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn live(e: &Entry, now: u64) -> bool {
    e.approved_at <= now && now < e.approved_at.saturating_add(TTL.as_secs())
}

impl Session {
    /// A session held by the caller's process only (a library or MCP front end that keeps one
    /// `Engine` for the session's length).
    pub fn in_memory(id: SessionId) -> Session {
        Session {
            id,
            file: None,
            entries: Vec::new(),
        }
    }

    /// The session `id` in `<state dir>/sessions`.
    pub fn open_default(id: SessionId) -> Result<Session, SessionError> {
        let dir = paddock_core::state::state_dir().ok_or(SessionError::NoStateDir)?;
        Session::open(&dir.join("sessions"), id)
    }

    /// The session `id` in `dir` (created 0700 when first written), expired entries dropped.
    pub fn open(dir: &Path, id: SessionId) -> Result<Session, SessionError> {
        let file = dir.join(format!("{}.json", id.0));
        let now = now_secs();
        let entries = read_file(&file)?
            .entries
            .into_iter()
            .filter(|e| live(e, now))
            .collect();
        Ok(Session {
            id,
            file: Some(file),
            entries,
        })
    }

    pub fn id(&self) -> &str {
        &self.id.0
    }

    /// When an approval given now would expire.
    pub fn expiry_from_now() -> SystemTime {
        SystemTime::now() + TTL
    }

    /// True when exactly this argv, in this directory and this sandbox, was approved for the
    /// session and has not expired.
    pub fn allows(&self, argv: &[String], cwd: &Path, sandbox: &str) -> bool {
        let (now, cwd) = (now_secs(), cwd.display().to_string());
        self.entries
            .iter()
            .any(|e| live(e, now) && e.argv == argv && e.cwd == cwd && e.sandbox == sandbox)
    }

    /// Remembers an approval for the session (and writes it to the session's file).
    pub fn allow(
        &mut self,
        argv: &[String],
        cwd: &Path,
        sandbox: &str,
    ) -> Result<(), SessionError> {
        let entry = Entry {
            argv: argv.to_vec(),
            cwd: cwd.display().to_string(),
            sandbox: sandbox.to_string(),
            approved_at: now_secs(),
        };
        let Some(file) = self.file.clone() else {
            push_bounded(&mut self.entries, entry);
            return Ok(());
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        let io = |op: &'static str| {
            let path = file.clone();
            move |source| SessionError::Io { path, op, source }
        };
        create_private_dir(dir).map_err(io("create its directory"))?;
        let lock = open_lock(&dir.join("sessions.lock")).map_err(io("open the lock"))?;
        lock.lock().map_err(io("lock"))?;
        // Another run of the same session may have added entries since we read the file.
        let now = now_secs();
        let mut entries: Vec<Entry> = read_file(&file)?
            .entries
            .into_iter()
            .filter(|e| live(e, now))
            .collect();
        push_bounded(&mut entries, entry);
        let text = serde_json::to_vec(&SessionFile {
            entries: entries.clone(),
        })
        .map_err(|e| SessionError::Io {
            path: file.clone(),
            op: "encode",
            source: std::io::Error::other(e),
        })?;
        let tmp = dir.join(format!(".{}.json.tmp", self.id.0));
        write_private(&tmp, &text).map_err(io("write"))?;
        std::fs::rename(&tmp, &file).map_err(io("replace"))?;
        prune(dir, &file);
        self.entries = entries;
        Ok(())
    }
}

fn push_bounded(entries: &mut Vec<Entry>, entry: Entry) {
    entries.retain(|e| (&e.argv, &e.cwd, &e.sandbox) != (&entry.argv, &entry.cwd, &entry.sandbox));
    entries.push(entry);
    if entries.len() > MAX_ENTRIES {
        let extra = entries.len() - MAX_ENTRIES;
        entries.drain(..extra);
    }
}

/// Reads a session file: missing is empty; a symlink, a non-file, an oversized or
/// group/world-writable file is refused rather than trusted.
fn read_file(file: &Path) -> Result<SessionFile, SessionError> {
    let refuse = |problem: &str| SessionError::Refused {
        path: file.to_path_buf(),
        problem: problem.to_string(),
    };
    let meta = match std::fs::symlink_metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SessionFile::default()),
        Err(source) => {
            return Err(SessionError::Io {
                path: file.to_path_buf(),
                op: "inspect",
                source,
            });
        }
    };
    if !meta.file_type().is_file() {
        return Err(refuse("not a regular file"));
    }
    if meta.len() > MAX_BYTES {
        return Err(refuse("larger than 1 MiB"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o022 != 0 {
            return Err(refuse("writable by other users"));
        }
    }
    let bytes = std::fs::read(file).map_err(|source| SessionError::Io {
        path: file.to_path_buf(),
        op: "read",
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|_| refuse("not a session file"))
}

/// Keeps at most `MAX_SESSIONS` session files and none whose approvals have all expired
/// (judged by the file's modification time; `keep` is never removed). Best effort.
fn prune(dir: &Path, keep: &Path) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(SystemTime, PathBuf)> = read
        .flatten()
        .filter(|e| e.path() != keep && e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort();
    let expired_before = SystemTime::now() - TTL;
    let over = (files.len() + 1).saturating_sub(MAX_SESSIONS);
    for (i, (modified, path)) in files.iter().enumerate() {
        if i < over || *modified < expired_before {
            let _ = std::fs::remove_file(path);
        }
    }
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
    std::fs::create_dir_all(dir)
}

fn open_lock(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let _ = std::fs::remove_file(path);
    let mut opts = std::fs::OpenOptions::new();
    opts.create_new(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    fn id(s: &str) -> SessionId {
        SessionId::parse(s).unwrap()
    }

    #[test]
    fn ids_that_could_escape_the_directory_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a\\b",
            ".hidden",
            "x\u{1b}",
            &"a".repeat(65),
        ] {
            assert!(SessionId::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["agent-1", "A_b.c", "0123456789abcdef0123456789abcdef"] {
            assert!(SessionId::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn an_approval_outlives_the_process_and_covers_exactly_what_was_shown() {
        let dir = tempfile::tempdir().unwrap();
        let push = argv(&["git", "push"]);
        let mut s = Session::open(dir.path(), id("s1")).unwrap();
        assert!(!s.allows(&push, Path::new("/w"), "box"));
        s.allow(&push, Path::new("/w"), "box").unwrap();
        let again = Session::open(dir.path(), id("s1")).unwrap();
        assert!(again.allows(&push, Path::new("/w"), "box"));
        assert!(!again.allows(&argv(&["git", "push", "-f"]), Path::new("/w"), "box"));
        assert!(!again.allows(&push, Path::new("/other"), "box"));
        assert!(!again.allows(&push, Path::new("/w"), "full-access"));
        let other = Session::open(dir.path(), id("s2")).unwrap();
        assert!(!other.allows(&push, Path::new("/w"), "box"));
    }

    #[cfg(unix)]
    #[test]
    fn session_files_are_private_and_tampered_ones_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let sessions = dir.path().join("sessions");
        let mut s = Session::open(&sessions, id("s1")).unwrap();
        s.allow(&argv(&["make"]), Path::new("/w"), "box").unwrap();
        let file = sessions.join("s1.json");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&sessions), 0o700);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(
            Session::open(&sessions, id("s1")),
            Err(SessionError::Refused { .. })
        ));
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &file).unwrap();
        assert!(Session::open(&sessions, id("s1")).is_err());
    }

    #[test]
    fn expired_approvals_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let old = Entry {
            argv: argv(&["make"]),
            cwd: "/w".into(),
            sandbox: "box".into(),
            approved_at: now_secs() - TTL.as_secs() - 1,
        };
        let text = serde_json::to_vec(&SessionFile { entries: vec![old] }).unwrap();
        std::fs::write(dir.path().join("s1.json"), text).unwrap();
        let s = Session::open(dir.path(), id("s1")).unwrap();
        assert!(!s.allows(&argv(&["make"]), Path::new("/w"), "box"));
    }

    #[test]
    fn sessions_are_bounded_in_entries_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Session::in_memory(id("m"));
        for i in 0..MAX_ENTRIES + 5 {
            s.allow(&argv(&["echo", &i.to_string()]), Path::new("/w"), "b")
                .unwrap();
        }
        assert_eq!(s.entries.len(), MAX_ENTRIES);
        assert!(!s.allows(&argv(&["echo", "0"]), Path::new("/w"), "b"));
        assert!(s.allows(&argv(&["echo", "260"]), Path::new("/w"), "b"));
        for i in 0..MAX_SESSIONS + 3 {
            let mut s = Session::open(dir.path(), id(&format!("s{i}"))).unwrap();
            s.allow(&argv(&["make"]), Path::new("/w"), "b").unwrap();
        }
        let kept = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count();
        assert!(kept <= MAX_SESSIONS, "{kept} session files kept");
    }
}
