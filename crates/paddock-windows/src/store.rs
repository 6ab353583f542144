//! The seam between planning and Win32: `AclStore` reads security descriptors and adds or
//! removes individual explicit ACEs, never replacing a whole descriptor. `FakeAclStore` is an
//! in-memory file tree with Windows' inheritance propagation and fault injection, for tests.
//!
//! Guarantees of every implementation: `add_explicit` inserts each ACE that is not already
//! present (exact equality) in canonical position and propagates inheritable ones to existing
//! children like `SetNamedSecurityInfoW`; `remove_explicit` removes exact matches only and
//! propagates the removal; both leave every other ACE, the owner and the protection untouched.
//! A change of non-inheritable ACEs only must not walk the tree (use `SetFileSecurityW`, not the
//! propagating `Set(Named)SecurityInfoW`): per-run denies on a root would otherwise cost a walk
//! of the whole workspace at every run.

use crate::acl::{Ace, AceFlags, Acl, SecurityDescriptor, inherited_aces};
use crate::journal::ProcessStamp;
use crate::sid::Sid;
use crate::winpath;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// What exists at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// A store operation that failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("{path}: {api} failed with Win32 error {code}: {message}")]
    Os {
        path: PathBuf,
        api: &'static str,
        code: u32,
        message: String,
    },
    #[error("{path}: the security descriptor cannot be used: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("{path}: injected fault at mutating call #{call} ({op})")]
    Injected {
        path: PathBuf,
        call: usize,
        op: &'static str,
    },
}

/// Reads and edits file-system security descriptors one explicit ACE at a time.
pub trait AclStore {
    /// The owner, group, DACL (with inherited ACEs, in stored order) and protection of `path`.
    fn read(&self, path: &Path) -> Result<SecurityDescriptor, StoreError>;
    /// Adds `aces` as explicit entries (skipping exact duplicates) and propagates them.
    fn add_explicit(&mut self, path: &Path, aces: &[Ace]) -> Result<(), StoreError>;
    /// Removes explicit entries equal to `aces` (absent ones are fine) and propagates.
    fn remove_explicit(&mut self, path: &Path, aces: &[Ace]) -> Result<(), StoreError>;
    /// What is at `path`, or `None` when nothing is.
    fn kind(&self, path: &Path) -> Result<Option<EntryKind>, StoreError>;
    /// Creates a directory (its parent must exist); it inherits from its parent.
    fn create_dir(&mut self, path: &Path) -> Result<(), StoreError>;
    /// Creates an empty file (its parent must exist); it inherits from its parent.
    fn create_file(&mut self, path: &Path) -> Result<(), StoreError>;

    fn exists(&self, path: &Path) -> Result<bool, StoreError> {
        Ok(self.kind(path)?.is_some())
    }

    /// True while the process `stamp` names (a survivor of a killed run) still exists. Recovery
    /// keeps a held run's per-run ACEs while this is true; without a way to tell, a store says
    /// true, which keeps them.
    fn process_alive(&self, _stamp: &ProcessStamp) -> Result<bool, StoreError> {
        Ok(true)
    }
}

#[derive(Debug, Clone)]
struct Node {
    path: PathBuf,
    kind: EntryKind,
    sd: SecurityDescriptor,
}

/// An in-memory file tree that behaves like NTFS for ACL purposes.
#[derive(Debug, Clone)]
pub struct FakeAclStore {
    nodes: BTreeMap<String, Node>,
    creator: Sid,
    mutations: usize,
    fail_at: Option<usize>,
    fail_after: bool,
    fail_late: bool,
    rewrites: usize,
    /// The processes the fake machine runs (for `process_alive`).
    live: BTreeSet<ProcessStamp>,
}

impl FakeAclStore {
    /// An empty tree whose new objects are owned by `creator` (the user running Paddock).
    pub fn new(creator: Sid) -> FakeAclStore {
        FakeAclStore {
            nodes: BTreeMap::new(),
            creator,
            mutations: 0,
            fail_at: None,
            fail_after: false,
            fail_late: false,
            rewrites: 0,
            live: BTreeSet::new(),
        }
    }

    /// Starts (`true`) or ends (`false`) the process `stamp` on the fake machine.
    pub fn set_process_alive(&mut self, stamp: ProcessStamp, alive: bool) {
        if alive {
            self.live.insert(stamp);
        } else {
            self.live.remove(&stamp);
        }
    }

    /// Puts an entry with exactly `sd` at `path` (test setup; not a mutating call).
    pub fn insert(&mut self, path: &Path, kind: EntryKind, sd: SecurityDescriptor) {
        self.nodes.insert(
            winpath::key(path),
            Node {
                path: path.to_path_buf(),
                kind,
                sd,
            },
        );
    }

    /// Makes the `n`-th mutating call from now (0-based) fail with `StoreError::Injected`.
    pub fn fail_at(&mut self, n: usize) {
        self.fail_at = Some(self.mutations + n);
        self.fail_after = false;
        self.fail_late = false;
    }

    /// Makes the `n`-th mutating call from now make its change and then fail, like a write that
    /// stopped propagating part-way or did not read back as written.
    pub fn fail_late_at(&mut self, n: usize) {
        self.fail_at(n);
        self.fail_late = true;
    }

    /// Makes every mutating call from the `n`-th from now on fail, as if the process had died
    /// there: nothing it tries afterwards (its own rollback included) reaches the disk.
    pub fn fail_from(&mut self, n: usize) {
        self.fail_at = Some(self.mutations + n);
        self.fail_after = true;
        self.fail_late = false;
    }

    /// Stops injecting faults.
    pub fn heal(&mut self) {
        self.fail_at = None;
    }

    /// Mutating calls made so far (add, remove, create), including the failed one.
    pub fn mutations(&self) -> usize {
        self.mutations
    }

    /// Descendant ACLs rewritten by propagation so far (the cost Codex paid per command).
    pub fn rewrites(&self) -> usize {
        self.rewrites
    }

    /// Every path in the tree.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.nodes.values().map(|n| n.path.clone()).collect()
    }

    /// The descriptor of every entry, for before/after comparisons.
    pub fn snapshot(&self) -> BTreeMap<String, SecurityDescriptor> {
        self.nodes
            .iter()
            .map(|(k, n)| (k.clone(), n.sd.clone()))
            .collect()
    }

    /// Counts a mutating call: `Err` when it must fail before changing anything, `Ok(Some)` with
    /// the error to return once it has made its change (`fail_late_at`).
    fn mutate(&mut self, path: &Path, op: &'static str) -> Result<Option<StoreError>, StoreError> {
        let call = self.mutations;
        self.mutations += 1;
        let failing = match self.fail_at {
            Some(n) if self.fail_after => call >= n,
            Some(n) => call == n,
            None => false,
        };
        if !failing {
            return Ok(None);
        }
        let err = StoreError::Injected {
            path: path.to_path_buf(),
            call,
            op,
        };
        if self.fail_late {
            Ok(Some(err))
        } else {
            Err(err)
        }
    }

    fn node_mut(&mut self, path: &Path) -> Result<&mut Node, StoreError> {
        self.nodes
            .get_mut(&winpath::key(path))
            .ok_or_else(|| StoreError::NotFound {
                path: path.to_path_buf(),
            })
    }

    /// Recomputes the inherited part of every descendant of `dir`, parents before children.
    fn propagate(&mut self, dir: &Path) {
        let k = winpath::key(dir);
        let below: Vec<String> = self
            .nodes
            .keys()
            .filter(|c| *c != &k && winpath::is_beneath(Path::new(c), dir))
            .cloned()
            .collect();
        for child in below {
            self.reinherit(&child);
            self.rewrites += 1;
        }
    }

    fn reinherit(&mut self, child_key: &str) {
        let Some(node) = self.nodes.get(child_key) else {
            return;
        };
        if node.sd.protected {
            return;
        }
        let Some(parent) = winpath::parent(&node.path) else {
            return;
        };
        let Some(parent_acl) = self
            .nodes
            .get(&winpath::key(&parent))
            .and_then(|p| p.sd.dacl.clone())
        else {
            return;
        };
        let owner = node
            .sd
            .owner
            .clone()
            .unwrap_or_else(|| self.creator.clone());
        let inherited = inherited_aces(&parent_acl, node.kind == EntryKind::Dir, &owner);
        if let Some(node) = self.nodes.get_mut(child_key)
            && let Some(acl) = node.sd.dacl.as_mut()
        {
            acl.aces.retain(|a| !a.is_inherited());
            acl.aces.extend(inherited);
        }
    }

    fn create(&mut self, path: &Path, kind: EntryKind, op: &'static str) -> Result<(), StoreError> {
        let late = self.mutate(path, op)?;
        if self.nodes.contains_key(&winpath::key(path)) {
            return Err(StoreError::Os {
                path: path.to_path_buf(),
                api: op,
                code: 183,
                message: "already exists".into(),
            });
        }
        let parent = winpath::parent(path).ok_or_else(|| StoreError::NotFound {
            path: path.to_path_buf(),
        })?;
        let parent_node = self
            .nodes
            .get(&winpath::key(&parent))
            .ok_or(StoreError::NotFound {
                path: parent.clone(),
            })?;
        if parent_node.kind != EntryKind::Dir {
            return Err(StoreError::Os {
                path: path.to_path_buf(),
                api: op,
                code: 267,
                message: "parent is not a directory".into(),
            });
        }
        let parent_acl = parent_node.sd.dacl.clone().unwrap_or_default();
        let aces = inherited_aces(&parent_acl, kind == EntryKind::Dir, &self.creator);
        let sd = SecurityDescriptor {
            owner: Some(self.creator.clone()),
            group: parent_node.sd.group.clone(),
            dacl: Some(Acl::new(aces)),
            protected: false,
        };
        self.insert(path, kind, sd);
        late.map_or(Ok(()), Err)
    }
}

fn inheritable(ace: &Ace) -> bool {
    ace.flags.contains(AceFlags::OBJECT_INHERIT) || ace.flags.contains(AceFlags::CONTAINER_INHERIT)
}

impl AclStore for FakeAclStore {
    fn process_alive(&self, stamp: &ProcessStamp) -> Result<bool, StoreError> {
        Ok(self.live.contains(stamp))
    }

    fn read(&self, path: &Path) -> Result<SecurityDescriptor, StoreError> {
        self.nodes
            .get(&winpath::key(path))
            .map(|n| n.sd.clone())
            .ok_or_else(|| StoreError::NotFound {
                path: path.to_path_buf(),
            })
    }

    fn add_explicit(&mut self, path: &Path, aces: &[Ace]) -> Result<(), StoreError> {
        let late = self.mutate(path, "add_explicit")?;
        let node = self.node_mut(path)?;
        let acl = node.sd.dacl.get_or_insert_with(Acl::default);
        for ace in aces {
            acl.insert_explicit(ace.clone());
        }
        if node.kind == EntryKind::Dir && aces.iter().any(inheritable) {
            self.propagate(path);
        }
        late.map_or(Ok(()), Err)
    }

    fn remove_explicit(&mut self, path: &Path, aces: &[Ace]) -> Result<(), StoreError> {
        let late = self.mutate(path, "remove_explicit")?;
        let node = self.node_mut(path)?;
        if let Some(acl) = node.sd.dacl.as_mut() {
            for ace in aces {
                acl.remove_explicit(ace);
            }
        }
        if node.kind == EntryKind::Dir && aces.iter().any(inheritable) {
            self.propagate(path);
        }
        late.map_or(Ok(()), Err)
    }

    fn kind(&self, path: &Path) -> Result<Option<EntryKind>, StoreError> {
        Ok(self.nodes.get(&winpath::key(path)).map(|n| n.kind))
    }

    fn create_dir(&mut self, path: &Path) -> Result<(), StoreError> {
        self.create(path, EntryKind::Dir, "create_dir")
    }

    fn create_file(&mut self, path: &Path) -> Result<(), StoreError> {
        self.create(path, EntryKind::File, "create_file")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::AccessMask;

    fn user() -> Sid {
        Sid::parse("S-1-5-21-1-2-3-1001").unwrap()
    }

    fn root_sd() -> SecurityDescriptor {
        SecurityDescriptor {
            owner: Some(user()),
            group: None,
            dacl: Some(Acl::new(vec![Ace::allow(
                user(),
                AccessMask::FILE_ALL_ACCESS,
                AceFlags::OICI,
            )])),
            protected: true,
        }
    }

    fn tree() -> FakeAclStore {
        let mut s = FakeAclStore::new(user());
        s.insert(Path::new(r"C:\repo"), EntryKind::Dir, root_sd());
        s.create_dir(Path::new(r"C:\repo\src")).unwrap();
        s.create_file(Path::new(r"C:\repo\src\main.rs")).unwrap();
        s
    }

    #[test]
    fn created_entries_inherit_from_their_parent() {
        let s = tree();
        let file = s.read(Path::new(r"c:\REPO\src\main.rs")).unwrap();
        let acl = file.dacl.unwrap();
        assert_eq!(
            acl.aces,
            [Ace::allow(
                user(),
                AccessMask::FILE_ALL_ACCESS,
                AceFlags::INHERITED
            )]
        );
    }

    #[test]
    fn add_and_remove_propagate_to_existing_children() {
        let mut s = tree();
        let synth = Sid::synthetic().unwrap();
        let grant = Ace::allow(
            synth.clone(),
            AccessMask::MODIFY_WITHOUT_DELETE_CHILD,
            AceFlags::OICI,
        );
        let before = s.snapshot();
        s.add_explicit(Path::new(r"C:\repo"), std::slice::from_ref(&grant))
            .unwrap();
        let file = s
            .read(Path::new(r"C:\repo\src\main.rs"))
            .unwrap()
            .dacl
            .unwrap();
        assert!(file.aces.iter().any(|a| a.sid == synth && a.is_inherited()));
        assert_eq!(s.rewrites(), 2);
        s.remove_explicit(Path::new(r"C:\repo"), &[grant]).unwrap();
        assert_eq!(s.snapshot(), before);
    }

    #[test]
    fn protected_children_do_not_inherit() {
        let mut s = tree();
        s.insert(Path::new(r"C:\repo\vault"), EntryKind::Dir, root_sd());
        let grant = Ace::allow(Sid::everyone(), AccessMask::FILE_ALL_ACCESS, AceFlags::OICI);
        s.add_explicit(Path::new(r"C:\repo"), &[grant]).unwrap();
        assert_eq!(s.read(Path::new(r"C:\repo\vault")).unwrap(), root_sd());
    }

    #[test]
    fn fault_injection_fails_exactly_the_nth_mutation() {
        let mut s = tree();
        s.fail_at(1);
        s.create_dir(Path::new(r"C:\repo\a")).unwrap();
        let err = s.create_dir(Path::new(r"C:\repo\b")).unwrap_err();
        assert!(matches!(
            err,
            StoreError::Injected {
                op: "create_dir",
                ..
            }
        ));
        assert!(!s.exists(Path::new(r"C:\repo\b")).unwrap());
        s.create_dir(Path::new(r"C:\repo\c")).unwrap();
    }

    #[test]
    fn creating_under_a_missing_parent_fails() {
        let mut s = tree();
        assert!(matches!(
            s.create_file(Path::new(r"C:\repo\nope\x")),
            Err(StoreError::NotFound { .. })
        ));
        assert!(s.create_dir(Path::new(r"C:\repo\src")).is_err());
    }
}
