//! The state files that list ACEs Paddock placed on paths (`windows/grants.json`, the kept-grant
//! ledger; `windows/shared.json`, the reference counts of per-run ACEs): one JSON list each,
//! loaded, searched by path and ACE, and saved the same way.
//!
//! Guarantees: a missing file is an empty list; a save replaces the whole file atomically and
//! durably (`sid_registry::write_atomically`); paths match as Windows compares them (`winpath`).

use crate::acl::Ace;
use crate::error::WindowsError;
use crate::sid_registry::write_atomically;
use crate::winpath;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs;
use std::path::{Path, PathBuf};

/// An entry that names one explicit ACE on one path, stored in the file `FILE` of the
/// state directory's `windows` folder.
pub trait AceEntry: Serialize + DeserializeOwned {
    /// The file name, e.g. `grants.json`.
    const FILE: &'static str;
    fn path(&self) -> &Path;
    fn ace(&self) -> &Ace;
}

/// The entries of one such file, in their stored order.
#[derive(Debug)]
pub struct AceList<T> {
    file: PathBuf,
    pub entries: Vec<T>,
}

impl<T: AceEntry> AceList<T> {
    /// Loads the list from the `windows` folder `windows_dir` (empty when the file is absent).
    pub fn load(windows_dir: &Path) -> Result<AceList<T>, WindowsError> {
        let file = windows_dir.join(T::FILE);
        let entries = match fs::read(&file) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| WindowsError::state(&file, e))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(WindowsError::state(&file, e)),
        };
        Ok(AceList { file, entries })
    }

    /// Replaces the file with the entries as one JSON list.
    pub(crate) fn save(&self) -> Result<(), WindowsError> {
        let bytes = serde_json::to_vec_pretty(&self.entries)
            .map_err(|e| WindowsError::state(&self.file, e))?;
        write_atomically(&self.file, &bytes)
    }

    /// The index of the entry for exactly `ace` on `path`.
    pub(crate) fn find(&self, path: &Path, ace: &Ace) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.ace() == ace && winpath::same(e.path(), path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::AceFlags;
    use crate::grants::{KeptGrant, Ledger};
    use crate::mask::AccessMask;
    use crate::run_acls::SharedAces;
    use crate::sid::Sid;

    #[test]
    fn a_missing_file_is_empty_and_a_saved_entry_is_found_as_windows_compares_paths() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::load(dir.path()).unwrap();
        assert!(ledger.entries.is_empty());
        let sid = Sid::parse("S-1-5-21-1-2-3-4").unwrap();
        let ace = Ace::allow(sid.clone(), AccessMask(0x1301bf), AceFlags::OICI);
        ledger.entries.push(KeptGrant {
            root: r"C:\Users\me\repo".into(),
            sid: sid.clone(),
            path: r"C:\Users\me\repo".into(),
            ace: ace.clone(),
        });
        ledger.save().unwrap();
        let back = Ledger::load(dir.path()).unwrap();
        assert_eq!(back.entries, ledger.entries);
        assert_eq!(back.find(Path::new("c:/users/ME/repo"), &ace), Some(0));
        let other = Ace::deny(sid, AccessMask(0x1301bf), AceFlags::OICI);
        assert_eq!(back.find(Path::new(r"C:\Users\me\repo"), &other), None);
        // The other list lives in its own file.
        assert!(SharedAces::load(dir.path()).unwrap().entries.is_empty());
    }
}
