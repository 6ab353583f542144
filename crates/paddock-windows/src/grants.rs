//! Kept grants: the ledger of every ACE Paddock keeps on disk between runs (the inheritable
//! grant of each writable root's SID), checked each run by one ACL read per path and removed
//! only by `forget`, which also garbage-collects the root's SID.
//!
//! Guarantees: an ACE is recorded in the ledger (atomically, fsynced) BEFORE it is added, so no
//! kept ACE can exist on disk without a ledger entry that `forget` will remove; an add that did
//! not complete is taken back when its run is released (rollback or recovery); `forget` refuses
//! while a live run still uses the root.

use crate::ace_list::{AceEntry, AceList};
use crate::acl::Ace;
use crate::error::WindowsError;
use crate::journal::{Journal, JournalEntry, JournalOp};
use crate::plan::{Lifetime, PlannedAce};
use crate::run_acls::{SharedAces, journaled_remove, recover_locked};
use crate::sid::Sid;
use crate::sid_registry::{SidRegistry, StateLock};
use crate::store::AclStore;
use crate::winpath;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One kept ACE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptGrant {
    pub root: PathBuf,
    pub sid: Sid,
    pub path: PathBuf,
    pub ace: Ace,
}

impl AceEntry for KeptGrant {
    const FILE: &'static str = "grants.json";
    fn path(&self) -> &Path {
        &self.path
    }
    fn ace(&self) -> &Ace {
        &self.ace
    }
}

/// The ledger file `windows/grants.json`.
pub type Ledger = AceList<KeptGrant>;

/// Makes sure the kept ACE `planned` is recorded and present: one read; ledger first, then the
/// journal line, then the ACE, then the `Applied` line. An add that fails or dies part-way
/// (propagation stopped mid-tree, a write that did not stick) has no `Applied` line, and
/// releasing the run removes the ACE again, so the next run adds it whole; the ledger entry
/// stays, and `forget` tolerates the ACE's absence.
pub(crate) fn ensure_kept(
    store: &mut dyn AclStore,
    ledger: &mut Ledger,
    journal: &Journal,
    run_id: &str,
    planned: &PlannedAce,
    sid: &Sid,
) -> Result<(), WindowsError> {
    let sd = store.read(&planned.path)?;
    let present = sd
        .dacl
        .as_ref()
        .is_some_and(|d| d.explicit().any(|a| *a == planned.ace));
    if ledger.find(&planned.path, &planned.ace).is_none() {
        ledger.entries.push(KeptGrant {
            root: planned.root.clone().unwrap_or_else(|| planned.path.clone()),
            sid: sid.clone(),
            path: planned.path.clone(),
            ace: planned.ace.clone(),
        });
        ledger.save()?;
    }
    if !present {
        journal.append(&JournalEntry::change(
            run_id,
            JournalOp::Add,
            &planned.path,
            &planned.ace,
            sd.to_sddl(),
            Lifetime::Kept,
        ))?;
        store.add_explicit(&planned.path, std::slice::from_ref(&planned.ace))?;
        journal.append(&JournalEntry::applied(run_id, &planned.path, &planned.ace))?;
    }
    Ok(())
}

/// What `forget` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    pub root: PathBuf,
    pub sid: Option<Sid>,
    pub aces_removed: usize,
}

/// Removes every kept grant of `root` and its SID. Dead runs are recovered first; a live run
/// holding per-run ACEs of the root's SID makes it refuse.
pub fn forget(
    root: &Path,
    store: &mut dyn AclStore,
    registry: &mut SidRegistry,
) -> Result<Forgotten, WindowsError> {
    let wd = registry.windows_dir().to_path_buf();
    let _lock = StateLock::acquire(&wd.join("acl.lock"))?;
    recover_locked(store, &wd)?;
    let sid = registry.lookup(root)?;
    if let Some(sid) = &sid {
        let shared = SharedAces::load(&wd)?;
        if let Some(e) = shared
            .entries
            .iter()
            .find(|e| e.ace.sid == *sid && !e.runs.is_empty())
        {
            return Err(WindowsError::RootInUse {
                root: root.to_path_buf(),
                run_id: e.runs[0].clone(),
            });
        }
    }
    let journal = Journal::at(&wd);
    let mut ledger = Ledger::load(&wd)?;
    let mut removed = 0;
    while let Some(i) = ledger
        .entries
        .iter()
        .position(|g| winpath::same(&g.root, root))
    {
        let g = ledger.entries[i].clone();
        if journaled_remove(store, &journal, "forget", &g.path, &g.ace, Lifetime::Kept)? {
            removed += 1;
        }
        ledger.entries.remove(i);
        ledger.save()?;
    }
    journal.append(&JournalEntry::released("forget"))?;
    journal.compact()?;
    let sid = registry.remove(root)?.or(sid);
    Ok(Forgotten {
        root: root.to_path_buf(),
        sid,
        aces_removed: removed,
    })
}

/// `forget` for every root Paddock knows (uninstall).
pub fn forget_all(
    store: &mut dyn AclStore,
    registry: &mut SidRegistry,
) -> Result<Vec<Forgotten>, WindowsError> {
    let mut roots: Vec<PathBuf> = registry.entries()?.into_iter().map(|e| e.root).collect();
    for g in Ledger::load(registry.windows_dir())?.entries {
        if !roots.iter().any(|r| winpath::same(r, &g.root)) {
            roots.push(g.root);
        }
    }
    roots.iter().map(|r| forget(r, store, registry)).collect()
}
