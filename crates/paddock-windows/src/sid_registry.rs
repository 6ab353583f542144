//! The SID registry: one synthetic SID per writable root, created from the CSPRNG on first use,
//! persisted in Paddock's state directory (`windows/sids.json`) and never shared between roots.
//!
//! Guarantees: reads and updates happen under an exclusive lock file, so two Paddock processes
//! asking for the same new root get the same SID; the file is replaced atomically (write, fsync,
//! rename); a SID leaves the registry only through `remove` (called by `grants::forget`).

use crate::error::WindowsError;
use crate::sid::Sid;
use crate::winpath;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

/// One root and its SID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootSid {
    pub root: PathBuf,
    pub sid: Sid,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RegistryFile {
    roots: Vec<RootSid>,
}

/// The persistent root -> SID map.
#[derive(Debug)]
pub struct SidRegistry {
    dir: PathBuf,
    state_dir: PathBuf,
    /// `sid_for_root` does not persist new SIDs (see `preview`).
    preview: bool,
}

/// An exclusive lock on a file in the state directory, released on drop.
pub(crate) struct StateLock {
    file: File,
}

impl StateLock {
    pub(crate) fn acquire(path: &Path) -> Result<StateLock, WindowsError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| WindowsError::state(path, e))?;
        file.lock().map_err(|e| WindowsError::state(path, e))?;
        Ok(StateLock { file })
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Replaces `path` with `bytes`: on Windows through `paddock_win32::fs::write_atomically` (a
/// new temporary file, FlushFileBuffers, MoveFileExW with write-through); elsewhere (the tests
/// of the planner) write, fsync, rename.
#[cfg(windows)]
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WindowsError> {
    paddock_win32::fs::write_atomically(path, bytes, None)
        .map_err(|e| WindowsError::state(&e.path, e.source))
}

#[cfg(not(windows))]
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WindowsError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| WindowsError::state(&tmp, e))?;
    f.write_all(bytes)
        .map_err(|e| WindowsError::state(&tmp, e))?;
    f.sync_all().map_err(|e| WindowsError::state(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| WindowsError::state(path, e))
}

impl SidRegistry {
    /// Opens (creating the folder) the registry under `state_dir/windows`.
    pub fn open(state_dir: &Path) -> Result<SidRegistry, WindowsError> {
        let dir = state_dir.join("windows");
        fs::create_dir_all(&dir).map_err(|e| WindowsError::state(&dir, e))?;
        Ok(SidRegistry {
            dir,
            state_dir: state_dir.to_path_buf(),
            preview: false,
        })
    }

    /// This registry for planning without changing anything (`paddock explain`): a root
    /// without a SID gets a fresh one that is not saved, so nothing on disk names it.
    pub fn preview(self) -> SidRegistry {
        SidRegistry {
            preview: true,
            ..self
        }
    }

    /// Opens the registry in `paddock_core::state::state_dir()`.
    pub fn open_default() -> Result<SidRegistry, WindowsError> {
        let dir = paddock_core::state::state_dir().ok_or(WindowsError::NoStateDir)?;
        SidRegistry::open(&dir)
    }

    /// Paddock's state directory this registry lives in.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The `windows` folder inside the state directory (journal, ledger, locks).
    pub fn windows_dir(&self) -> &Path {
        &self.dir
    }

    /// The private temp folder of run `run_id` (`windows\tmp\<run id>`).
    pub fn private_temp(&self, run_id: &str) -> PathBuf {
        self.dir.join("tmp").join(run_id)
    }

    fn file(&self) -> PathBuf {
        self.dir.join("sids.json")
    }

    fn lock(&self) -> Result<StateLock, WindowsError> {
        StateLock::acquire(&self.dir.join("sids.lock"))
    }

    fn load(&self) -> Result<RegistryFile, WindowsError> {
        let path = self.file();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| WindowsError::state(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RegistryFile::default()),
            Err(e) => Err(WindowsError::state(&path, e)),
        }
    }

    fn save(&self, reg: &RegistryFile) -> Result<(), WindowsError> {
        let bytes =
            serde_json::to_vec_pretty(reg).map_err(|e| WindowsError::state(&self.file(), e))?;
        write_atomically(&self.file(), &bytes)
    }

    /// The SID of `root`, created and persisted if the root has none yet.
    pub fn sid_for_root(&mut self, root: &Path) -> Result<Sid, WindowsError> {
        let _lock = self.lock()?;
        let mut reg = self.load()?;
        if let Some(e) = reg.roots.iter().find(|e| winpath::same(&e.root, root)) {
            return Ok(e.sid.clone());
        }
        let sid = loop {
            let candidate = Sid::synthetic()?;
            if !reg.roots.iter().any(|e| e.sid == candidate) {
                break candidate;
            }
        };
        if self.preview {
            return Ok(sid);
        }
        reg.roots.push(RootSid {
            root: root.to_path_buf(),
            sid: sid.clone(),
        });
        self.save(&reg)?;
        Ok(sid)
    }

    /// The SID of `root`, if it has one.
    pub fn lookup(&self, root: &Path) -> Result<Option<Sid>, WindowsError> {
        let _lock = self.lock()?;
        Ok(self
            .load()?
            .roots
            .into_iter()
            .find(|e| winpath::same(&e.root, root))
            .map(|e| e.sid))
    }

    /// Every root with a SID.
    pub fn entries(&self) -> Result<Vec<RootSid>, WindowsError> {
        let _lock = self.lock()?;
        Ok(self.load()?.roots)
    }

    /// Drops `root`'s SID (after its grants were removed); returns it.
    pub fn remove(&mut self, root: &Path) -> Result<Option<Sid>, WindowsError> {
        let _lock = self.lock()?;
        let mut reg = self.load()?;
        let pos = reg.roots.iter().position(|e| winpath::same(&e.root, root));
        let removed = pos.map(|i| reg.roots.remove(i).sid);
        if removed.is_some() {
            self.save(&reg)?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_root_gets_its_own_persistent_sid() {
        let tmp = tempfile::tempdir().unwrap();
        let mut reg = SidRegistry::open(tmp.path()).unwrap();
        let a = reg.sid_for_root(Path::new(r"C:\repo")).unwrap();
        let b = reg.sid_for_root(Path::new(r"C:\other")).unwrap();
        assert_ne!(a, b);
        assert!(a.has_synthetic_shape());
        let again = SidRegistry::open(tmp.path()).unwrap();
        assert_eq!(
            again.lookup(Path::new(r"c:\REPO\")).unwrap(),
            Some(a.clone())
        );
        let mut reg2 = again;
        assert_eq!(reg2.sid_for_root(Path::new(r"C:\repo")).unwrap(), a);
    }

    #[test]
    fn concurrent_first_use_of_a_root_yields_one_sid() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let mut reg = SidRegistry::open(&dir).unwrap();
                    reg.sid_for_root(Path::new(r"C:\repo")).unwrap()
                })
            })
            .collect();
        let sids: Vec<Sid> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(sids.windows(2).all(|w| w[0] == w[1]), "{sids:?}");
        assert_eq!(SidRegistry::open(&dir).unwrap().entries().unwrap().len(), 1);
    }

    #[test]
    fn removed_root_gets_a_fresh_sid_next_time() {
        let tmp = tempfile::tempdir().unwrap();
        let mut reg = SidRegistry::open(tmp.path()).unwrap();
        let a = reg.sid_for_root(Path::new(r"C:\repo")).unwrap();
        assert_eq!(reg.remove(Path::new(r"C:\repo")).unwrap(), Some(a.clone()));
        assert_eq!(reg.remove(Path::new(r"C:\repo")).unwrap(), None);
        assert_ne!(reg.sid_for_root(Path::new(r"C:\repo")).unwrap(), a);
    }

    #[test]
    fn a_preview_registry_reuses_known_sids_and_saves_no_new_one() {
        let tmp = tempfile::tempdir().unwrap();
        let mut reg = SidRegistry::open(tmp.path()).unwrap();
        let a = reg.sid_for_root(Path::new(r"C:\repo")).unwrap();
        let mut preview = reg.preview();
        assert_eq!(preview.sid_for_root(Path::new(r"C:\repo")).unwrap(), a);
        let fresh = preview.sid_for_root(Path::new(r"C:\other")).unwrap();
        assert!(fresh.has_synthetic_shape());
        assert_eq!(preview.lookup(Path::new(r"C:\other")).unwrap(), None);
        assert_eq!(preview.entries().unwrap().len(), 1);
    }

    #[test]
    fn corrupt_registry_is_an_error_not_a_fresh_start() {
        let tmp = tempfile::tempdir().unwrap();
        let mut reg = SidRegistry::open(tmp.path()).unwrap();
        fs::write(tmp.path().join("windows/sids.json"), b"{not json").unwrap();
        assert!(matches!(
            reg.sid_for_root(Path::new(r"C:\repo")),
            Err(WindowsError::State { .. })
        ));
    }
}
