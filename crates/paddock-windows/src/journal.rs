//! The ACL journal: one JSON line per ACE change (run id, path, the descriptor before it in
//! SDDL, the ACE, op, lifetime), appended and fsynced BEFORE the change is made, so that a run
//! that dies mid-way leaves enough on disk for the next start to undo exactly its changes.
//!
//! Guarantees: `append` returns only after the line is on stable storage; a kept ACE's `Add`
//! is followed by `Applied` once the change completed, so an unfinished one can be told apart;
//! `read` returns every
//! complete line and ignores a torn last line (a crash mid-append); `append` and `repair` cut
//! such a line off first, so the next line never glues onto it and the journal stays readable;
//! `compact` keeps the lines of runs not yet released and is atomic.

use crate::acl::Ace;
use crate::error::WindowsError;
use crate::plan::Lifetime;
use crate::sid_registry::write_atomically;
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What a journal line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JournalOp {
    /// The ACE is about to be added to `path`.
    Add,
    /// The ACE is about to be removed from `path`.
    Remove,
    /// The kept `Add` of the same run, path and ACE completed. A kept `Add` without it was
    /// interrupted or failed part-way: releasing the run removes the ACE again.
    Applied,
    /// Every per-run change of the run has been undone.
    Released,
    /// The run's process tree outlived its kill: its per-run ACEs stay until every process in
    /// `survivors` is gone (recovery checks), so nothing it still runs gets the rights the
    /// denies take away.
    Held,
}

/// One process of a tree that outlived its kill: its id and creation time (FILETIME, 100 ns
/// since 1601), which together name it even after the id is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProcessStamp {
    pub pid: u32,
    pub created: u64,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub run_id: String,
    pub op: JournalOp,
    pub path: Option<PathBuf>,
    pub ace: Option<Ace>,
    /// The descriptor of `path` before the change, in SDDL.
    pub previous: Option<String>,
    pub lifetime: Option<Lifetime>,
    /// For `Held`: the processes that outlived the kill.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub survivors: Vec<ProcessStamp>,
}

impl JournalEntry {
    pub fn change(
        run_id: &str,
        op: JournalOp,
        path: &Path,
        ace: &Ace,
        previous: String,
        lifetime: Lifetime,
    ) -> JournalEntry {
        JournalEntry {
            run_id: run_id.to_string(),
            op,
            path: Some(path.to_path_buf()),
            ace: Some(ace.clone()),
            previous: Some(previous),
            lifetime: Some(lifetime),
            survivors: Vec::new(),
        }
    }

    /// `Applied` for the kept `ace` on `path`.
    pub fn applied(run_id: &str, path: &Path, ace: &Ace) -> JournalEntry {
        JournalEntry {
            run_id: run_id.to_string(),
            op: JournalOp::Applied,
            path: Some(path.to_path_buf()),
            ace: Some(ace.clone()),
            previous: None,
            lifetime: Some(Lifetime::Kept),
            survivors: Vec::new(),
        }
    }

    pub fn released(run_id: &str) -> JournalEntry {
        JournalEntry {
            run_id: run_id.to_string(),
            op: JournalOp::Released,
            path: None,
            ace: None,
            previous: None,
            lifetime: None,
            survivors: Vec::new(),
        }
    }

    /// `run_id`'s tree outlived its kill; `survivors` are the processes left.
    pub fn held(run_id: &str, survivors: &[ProcessStamp]) -> JournalEntry {
        JournalEntry {
            survivors: survivors.to_vec(),
            op: JournalOp::Held,
            ..JournalEntry::released(run_id)
        }
    }
}

/// The journal file `windows/journal.jsonl` in the state directory.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    pub fn at(windows_dir: &Path) -> Journal {
        Journal {
            path: windows_dir.join("journal.jsonl"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `entry` and fsyncs (after cutting off a torn last line).
    pub fn append(&self, entry: &JournalEntry) -> Result<(), WindowsError> {
        let mut line = serde_json::to_vec(entry).map_err(|e| WindowsError::state(&self.path, e))?;
        line.push(b'\n');
        self.repair()?;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| WindowsError::state(&self.path, e))?;
        f.write_all(&line)
            .map_err(|e| WindowsError::state(&self.path, e))?;
        f.sync_all().map_err(|e| WindowsError::state(&self.path, e))
    }

    /// Truncates the file to its last complete line: a crash mid-append leaves a line without
    /// its newline, and a line appended after it would glue onto it and corrupt both.
    pub fn repair(&self) -> Result<(), WindowsError> {
        let err = |e| WindowsError::state(&self.path, e);
        let mut f = match OpenOptions::new().read(true).write(true).open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(err(e)),
        };
        let len = f.metadata().map_err(err)?.len();
        if len == 0 {
            return Ok(());
        }
        let mut last = [0u8];
        f.seek(SeekFrom::Start(len - 1)).map_err(err)?;
        f.read_exact(&mut last).map_err(err)?;
        if last[0] == b'\n' {
            return Ok(());
        }
        let mut text = Vec::new();
        f.seek(SeekFrom::Start(0)).map_err(err)?;
        f.read_to_end(&mut text).map_err(err)?;
        let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        f.set_len(keep as u64).map_err(err)?;
        f.sync_all().map_err(err)
    }

    /// Every complete entry, oldest first.
    pub fn read(&self) -> Result<Vec<JournalEntry>, WindowsError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(WindowsError::state(&self.path, e)),
        };
        let complete = match text.rfind('\n') {
            Some(i) => &text[..=i],
            None => "",
        };
        complete
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| WindowsError::state(&self.path, e)))
            .collect()
    }

    /// Rewrites the journal without the lines of released runs.
    pub fn compact(&self) -> Result<(), WindowsError> {
        let entries = self.read()?;
        let released: std::collections::BTreeSet<&str> = entries
            .iter()
            .filter(|e| e.op == JournalOp::Released)
            .map(|e| e.run_id.as_str())
            .collect();
        let mut out = Vec::new();
        for e in entries
            .iter()
            .filter(|e| !released.contains(e.run_id.as_str()))
        {
            out.extend(serde_json::to_vec(e).map_err(|err| WindowsError::state(&self.path, err))?);
            out.push(b'\n');
        }
        write_atomically(&self.path, &out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::AceFlags;
    use crate::mask::AccessMask;
    use crate::sid::Sid;

    fn entry(run: &str) -> JournalEntry {
        let ace = Ace::deny(
            Sid::parse("S-1-5-21-1-2-3-4").unwrap(),
            AccessMask::ALL_WRITE,
            AceFlags::OICI,
        );
        JournalEntry::change(
            run,
            JournalOp::Add,
            Path::new(r"C:\repo\.git\hooks"),
            &ace,
            "D:(A;;FA;;;SY)".into(),
            Lifetime::PerRun,
        )
    }

    #[test]
    fn entries_round_trip_through_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::at(tmp.path());
        assert!(j.read().unwrap().is_empty());
        j.append(&entry("a")).unwrap();
        j.append(&JournalEntry::released("a")).unwrap();
        assert_eq!(j.read().unwrap(), [entry("a"), JournalEntry::released("a")]);
    }

    #[test]
    fn held_entries_round_trip_and_older_lines_without_survivors_still_read() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::at(tmp.path());
        let held = JournalEntry::held(
            "a",
            &[ProcessStamp {
                pid: 4242,
                created: 133_000_000_000_000_000,
            }],
        );
        j.append(&held).unwrap();
        fs::OpenOptions::new()
            .append(true)
            .open(j.path())
            .unwrap()
            .write_all(
                b"{\"run_id\":\"b\",\"op\":\"released\",\"path\":null,\"ace\":null,\
                  \"previous\":null,\"lifetime\":null}\n",
            )
            .unwrap();
        assert_eq!(j.read().unwrap(), [held, JournalEntry::released("b")]);
    }

    #[test]
    fn a_torn_last_line_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::at(tmp.path());
        j.append(&entry("a")).unwrap();
        let mut f = OpenOptions::new().append(true).open(j.path()).unwrap();
        f.write_all(b"{\"run_id\":\"b\",\"op\":\"ad").unwrap();
        assert_eq!(j.read().unwrap(), [entry("a")]);
    }

    #[test]
    fn a_line_appended_after_a_torn_one_stays_readable() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::at(tmp.path());
        j.append(&entry("a")).unwrap();
        let mut f = OpenOptions::new().append(true).open(j.path()).unwrap();
        f.write_all(b"{\"run_id\":\"b\",\"op\":\"ad").unwrap();
        j.append(&entry("c")).unwrap();
        assert_eq!(j.read().unwrap(), [entry("a"), entry("c")]);
    }

    #[test]
    fn repair_cuts_a_torn_line_and_leaves_a_whole_journal_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::at(tmp.path());
        j.repair().unwrap();
        fs::write(j.path(), b"{\"torn").unwrap();
        j.repair().unwrap();
        assert_eq!(fs::read(j.path()).unwrap(), b"");
        j.append(&entry("a")).unwrap();
        let whole = fs::read(j.path()).unwrap();
        j.repair().unwrap();
        assert_eq!(fs::read(j.path()).unwrap(), whole);
    }

    #[test]
    fn a_corrupt_complete_line_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::at(tmp.path());
        fs::write(j.path(), b"garbage\n").unwrap();
        assert!(j.read().is_err());
    }

    #[test]
    fn compact_drops_released_runs_only() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::at(tmp.path());
        j.append(&entry("a")).unwrap();
        j.append(&entry("b")).unwrap();
        j.append(&JournalEntry::released("a")).unwrap();
        j.compact().unwrap();
        assert_eq!(j.read().unwrap(), [entry("b")]);
    }
}
