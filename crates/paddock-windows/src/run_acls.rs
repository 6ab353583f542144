//! Carrying a `WindowsPlan` out through an `AclStore`, and undoing it: pure orchestration over
//! the journal, the grant ledger and the shared per-run ACEs (`windows/shared.json`), all under
//! one lock file (`windows/acl.lock`). Each live run holds `windows/runs/<id>.lock`; a run
//! whose lock is free is dead, and the next `apply` (or `recover`) undoes its per-run ACEs.
//!
//! Guarantees: every ACE change is journaled and fsynced before it is made; a run whose process
//! tree outlived its kill is `hold`: its per-run ACEs stay, and recovery takes them back only
//! once every surviving process it recorded is gone; a per-run ACE
//! already applied for a concurrent run is shared (reference counted by run id) and removed
//! only when the last run using it finishes or is recovered; a failed `apply` undoes its own
//! per-run changes, and if even that fails the journal lets `recover` finish the job.

use crate::ace_list::{AceEntry, AceList};
use crate::acl::Ace;
use crate::error::WindowsError;
use crate::grants::{Ledger, ensure_kept};
use crate::journal::{Journal, JournalEntry, JournalOp, ProcessStamp};
use crate::plan::{Lifetime, PlannedAce, WindowsPlan};
use crate::sid_registry::{SidRegistry, StateLock};
use crate::store::AclStore;
use crate::winpath;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

/// A per-run ACE and the live runs using it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedAce {
    pub path: PathBuf,
    pub ace: Ace,
    pub runs: Vec<String>,
}

impl AceEntry for SharedAce {
    const FILE: &'static str = "shared.json";
    fn path(&self) -> &Path {
        &self.path
    }
    fn ace(&self) -> &Ace {
        &self.ace
    }
}

/// The reference counts of per-run ACEs (`windows/shared.json`).
pub type SharedAces = AceList<SharedAce>;

/// A run whose plan is applied. Call `finish` when the command has ended; dropping it instead
/// leaves its per-run ACEs for the next `recover`.
#[derive(Debug)]
pub struct ActiveRun {
    run_id: String,
    windows_dir: PathBuf,
    lock: File,
    recovered: Vec<String>,
}

impl ActiveRun {
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Dead runs whose per-run ACEs `apply` undid first; their private temp folders
    /// (`SidRegistry::private_temp`) can be deleted.
    pub fn recovered(&self) -> &[String] {
        &self.recovered
    }

    /// Undoes this run's per-run ACEs (those no other live run shares).
    pub fn finish(self, store: &mut dyn AclStore) -> Result<(), WindowsError> {
        {
            let _acl = StateLock::acquire(&self.windows_dir.join("acl.lock"))?;
            release_locked(&self.run_id, store, &self.windows_dir)?;
            Journal::at(&self.windows_dir).compact()?;
        }
        let lock_path = run_lock_path(&self.windows_dir, &self.run_id);
        let _ = self.lock.unlock();
        drop(self.lock);
        let _ = fs::remove_file(lock_path);
        Ok(())
    }
}

impl ActiveRun {
    /// The run's tree outlived its kill: keeps every per-run ACE (the denies go on protecting
    /// what the survivors could otherwise write), journals the survivors, and frees the run, so
    /// that the recovery of a later start releases it once none of `survivors` exists.
    pub fn hold(self, survivors: &[ProcessStamp]) -> Result<(), WindowsError> {
        {
            let _acl = StateLock::acquire(&self.windows_dir.join("acl.lock"))?;
            Journal::at(&self.windows_dir).append(&JournalEntry::held(&self.run_id, survivors))?;
        }
        let lock_path = run_lock_path(&self.windows_dir, &self.run_id);
        let _ = self.lock.unlock();
        drop(self.lock);
        let _ = fs::remove_file(lock_path);
        Ok(())
    }
}

/// Removes the explicit `ace` from `path`, journaling the previous descriptor first so that a
/// crash in between is undone exactly. Returns false (and changes nothing) when `path` is gone.
pub(crate) fn journaled_remove(
    store: &mut dyn AclStore,
    journal: &Journal,
    run_id: &str,
    path: &Path,
    ace: &Ace,
    lifetime: Lifetime,
) -> Result<bool, WindowsError> {
    if !store.exists(path)? {
        return Ok(false);
    }
    let before = store.read(path)?.to_sddl();
    journal.append(&JournalEntry::change(
        run_id,
        JournalOp::Remove,
        path,
        ace,
        before,
        lifetime,
    ))?;
    store.remove_explicit(path, std::slice::from_ref(ace))?;
    Ok(true)
}

fn run_lock_path(windows_dir: &Path, run_id: &str) -> PathBuf {
    windows_dir.join("runs").join(format!("{run_id}.lock"))
}

/// Applies `plan`: recovers dead runs, ensures kept grants, adds per-run ACEs (creating the
/// private temp folder, the only thing it creates). On error, undoes this run's per-run ACEs.
pub fn apply(
    plan: &WindowsPlan,
    store: &mut dyn AclStore,
    registry: &SidRegistry,
) -> Result<ActiveRun, WindowsError> {
    let wd = registry.windows_dir().to_path_buf();
    let runs = wd.join("runs");
    fs::create_dir_all(&runs).map_err(|e| WindowsError::state(&runs, e))?;
    let lock_path = run_lock_path(&wd, &plan.run_id);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| WindowsError::state(&lock_path, e))?;
    lock.lock()
        .map_err(|e| WindowsError::state(&lock_path, e))?;
    let _acl = StateLock::acquire(&wd.join("acl.lock"))?;
    let recovered = recover_locked(store, &wd)?;
    let run = ActiveRun {
        run_id: plan.run_id.clone(),
        windows_dir: wd.clone(),
        lock,
        recovered,
    };
    match apply_locked(plan, store, &wd) {
        Ok(()) => Ok(run),
        Err(e) => {
            if release_locked(&plan.run_id, store, &wd).is_ok() {
                let _ = Journal::at(&wd).compact();
            }
            Err(e)
        }
    }
}

fn apply_locked(
    plan: &WindowsPlan,
    store: &mut dyn AclStore,
    wd: &Path,
) -> Result<(), WindowsError> {
    let journal = Journal::at(wd);
    let mut ledger = Ledger::load(wd)?;
    let mut shared = SharedAces::load(wd)?;
    for planned in &plan.aces {
        match planned.lifetime {
            Lifetime::Kept => {
                let sid = plan
                    .roots
                    .iter()
                    .find(|(r, _)| planned.root.as_ref().is_some_and(|pr| winpath::same(pr, r)))
                    .map(|(_, s)| s.clone())
                    .unwrap_or_else(|| planned.ace.sid.clone());
                ensure_kept(store, &mut ledger, &journal, &plan.run_id, planned, &sid)?;
            }
            Lifetime::PerRun => {
                if winpath::same(&planned.path, &plan.private_temp) {
                    create_dir_all(store, &planned.path)?;
                }
                acquire_shared(store, &journal, &mut shared, &plan.run_id, planned)?;
            }
        }
    }
    Ok(())
}

fn create_dir_all(store: &mut dyn AclStore, dir: &Path) -> Result<(), WindowsError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir.to_path_buf());
    while let Some(d) = cur {
        if store.exists(&d)? {
            break;
        }
        cur = winpath::parent(&d);
        missing.push(d);
    }
    for d in missing.into_iter().rev() {
        store.create_dir(&d)?;
    }
    Ok(())
}

fn acquire_shared(
    store: &mut dyn AclStore,
    journal: &Journal,
    shared: &mut SharedAces,
    run_id: &str,
    planned: &PlannedAce,
) -> Result<(), WindowsError> {
    let sd = store.read(&planned.path)?;
    journal.append(&JournalEntry::change(
        run_id,
        JournalOp::Add,
        &planned.path,
        &planned.ace,
        sd.to_sddl(),
        Lifetime::PerRun,
    ))?;
    let present = sd
        .dacl
        .as_ref()
        .is_some_and(|d| d.explicit().any(|a| *a == planned.ace));
    if !present {
        store.add_explicit(&planned.path, std::slice::from_ref(&planned.ace))?;
    }
    match shared.find(&planned.path, &planned.ace) {
        Some(i) if !shared.entries[i].runs.iter().any(|r| r == run_id) => {
            shared.entries[i].runs.push(run_id.to_string())
        }
        Some(_) => {}
        None => shared.entries.push(SharedAce {
            path: planned.path.clone(),
            ace: planned.ace.clone(),
            runs: vec![run_id.to_string()],
        }),
    }
    shared.save()
}

/// Undoes `run_id`'s per-run ACEs: drops the run from every shared entry, removes entries no
/// run uses any more, and removes ACEs the run journaled but never recorded as shared (it died
/// in between) unless a live run shares them. Also removes each kept ACE whose `Add` has no
/// `Applied` line (it failed or died part-way), restoring the descriptor it replaced. Ends with
/// a `Released` journal line.
fn release_locked(run_id: &str, store: &mut dyn AclStore, wd: &Path) -> Result<(), WindowsError> {
    let journal = Journal::at(wd);
    let mut shared = SharedAces::load(wd)?;
    let mut to_remove: Vec<(PathBuf, Ace)> = Vec::new();
    for e in &mut shared.entries {
        if let Some(pos) = e.runs.iter().position(|r| r == run_id) {
            e.runs.remove(pos);
            if e.runs.is_empty() {
                to_remove.push((e.path.clone(), e.ace.clone()));
            }
        }
    }
    let entries = journal.read()?;
    let mut unfinished_kept: Vec<(PathBuf, Ace)> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if entry.run_id != run_id
            || entry.op != JournalOp::Add
            || entry.lifetime != Some(Lifetime::Kept)
        {
            continue;
        }
        let applied = entries[i + 1..].iter().any(|later| {
            later.run_id == run_id
                && later.op == JournalOp::Applied
                && later.ace == entry.ace
                && later
                    .path
                    .as_deref()
                    .zip(entry.path.as_deref())
                    .is_some_and(|(a, b)| winpath::same(a, b))
        });
        if let (false, Some(path), Some(ace)) = (applied, &entry.path, &entry.ace) {
            unfinished_kept.push((path.clone(), ace.clone()));
        }
    }
    for (path, ace) in &unfinished_kept {
        journaled_remove(store, &journal, run_id, path, ace, Lifetime::Kept)?;
    }
    for entry in entries {
        if entry.run_id != run_id
            || entry.op != JournalOp::Add
            || entry.lifetime != Some(Lifetime::PerRun)
        {
            continue;
        }
        let (Some(path), Some(ace)) = (entry.path, entry.ace) else {
            continue;
        };
        let shared_by_others = shared
            .find(&path, &ace)
            .is_some_and(|i| !shared.entries[i].runs.is_empty());
        if !shared_by_others
            && !to_remove
                .iter()
                .any(|(p, a)| *a == ace && winpath::same(p, &path))
        {
            to_remove.push((path, ace));
        }
    }
    for (path, ace) in &to_remove {
        journaled_remove(store, &journal, run_id, path, ace, Lifetime::PerRun)?;
        if let Some(i) = shared.find(path, ace) {
            shared.entries.remove(i);
        }
        shared.save()?;
    }
    shared.save()?;
    journal.append(&JournalEntry::released(run_id))
}

/// Undoes the per-run ACEs of every dead run (journaled, not released, run lock free). The
/// caller holds `acl.lock`. Returns the dead run ids (their private temp folders can go).
pub(crate) fn recover_locked(
    store: &mut dyn AclStore,
    wd: &Path,
) -> Result<Vec<String>, WindowsError> {
    let journal = Journal::at(wd);
    journal.repair()?;
    let entries = journal.read()?;
    let mut pending: Vec<String> = Vec::new();
    for e in &entries {
        if e.run_id == "forget" {
            continue;
        }
        let released = entries
            .iter()
            .any(|r| r.run_id == e.run_id && r.op == JournalOp::Released);
        if !released && !pending.contains(&e.run_id) {
            pending.push(e.run_id.clone());
        }
    }
    let mut dead = Vec::new();
    for run_id in pending {
        if is_alive(wd, &run_id)? || has_live_survivors(store, &entries, &run_id)? {
            continue;
        }
        release_locked(&run_id, store, wd)?;
        let _ = fs::remove_file(run_lock_path(wd, &run_id));
        dead.push(run_id);
    }
    journal.compact()?;
    Ok(dead)
}

/// True when `run_id` was held and a process that outlived its kill still exists.
fn has_live_survivors(
    store: &dyn AclStore,
    entries: &[JournalEntry],
    run_id: &str,
) -> Result<bool, WindowsError> {
    for e in entries
        .iter()
        .filter(|e| e.run_id == run_id && e.op == JournalOp::Held)
    {
        for stamp in &e.survivors {
            if store.process_alive(stamp)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn is_alive(wd: &Path, run_id: &str) -> Result<bool, WindowsError> {
    let path = run_lock_path(wd, run_id);
    let file = match OpenOptions::new().write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(WindowsError::state(&path, e)),
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(false)
        }
        Err(fs::TryLockError::WouldBlock) => Ok(true),
        Err(fs::TryLockError::Error(e)) => Err(WindowsError::state(&path, e)),
    }
}

/// Undoes the per-run ACEs of every dead run; returns their ids.
pub fn recover(
    store: &mut dyn AclStore,
    registry: &SidRegistry,
) -> Result<Vec<String>, WindowsError> {
    let wd = registry.windows_dir();
    let _acl = StateLock::acquire(&wd.join("acl.lock"))?;
    recover_locked(store, wd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::SecurityDescriptor;
    use crate::explain::{Operation, explain};
    use crate::grants::forget;
    use crate::store::StoreError;
    use crate::testworld::*;
    use std::collections::BTreeMap;

    fn originals(w: &World) -> BTreeMap<String, SecurityDescriptor> {
        w.store.snapshot()
    }

    /// The descriptors of the paths that existed in `before`, now.
    fn same_paths_now(
        w: &World,
        before: &BTreeMap<String, SecurityDescriptor>,
    ) -> BTreeMap<String, SecurityDescriptor> {
        w.store
            .snapshot()
            .into_iter()
            .filter(|(k, _)| before.contains_key(k))
            .collect()
    }

    fn steps_of_a_fresh_apply() -> usize {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        let before = w.store.mutations();
        let run = apply(&plan, &mut w.store, &w.registry).unwrap();
        let steps = w.store.mutations() - before;
        run.finish(&mut w.store).unwrap();
        steps
    }

    fn no_per_run_state_left(w: &World) {
        let wd = w.registry.windows_dir();
        assert!(
            SharedAces::load(wd).unwrap().entries.is_empty(),
            "shared ACEs left"
        );
        let journal = Journal::at(wd).read().unwrap();
        assert!(
            journal.iter().all(|e| e.run_id == "forget"),
            "unreleased journal lines: {journal:?}"
        );
    }

    #[test]
    fn a_failure_at_every_apply_step_is_undone_and_forget_restores_the_original_exactly() {
        let steps = steps_of_a_fresh_apply();
        assert!(steps >= 8, "apply made only {steps} mutating calls");
        for n in 0..steps {
            let mut w = world();
            let before = originals(&w);
            let plan = plan_in(&mut w, &workspace_spec());
            w.store.fail_at(n);
            let err = apply(&plan, &mut w.store, &w.registry).unwrap_err();
            assert!(
                matches!(err, WindowsError::Store(StoreError::Injected { .. })),
                "step {n}: {err}"
            );
            no_per_run_state_left(&w);
            forget(&p(REPO), &mut w.store, &mut w.registry).unwrap();
            assert_eq!(same_paths_now(&w, &before), before, "step {n}");
        }
    }

    #[test]
    fn a_kept_grant_add_that_failed_part_way_is_taken_back_and_leaves_no_journal_line() {
        let mut w = world();
        let before = originals(&w);
        let plan = plan_in(&mut w, &workspace_spec());
        let grant = plan
            .aces
            .iter()
            .position(|a| a.lifetime == Lifetime::Kept && a.ace.kind == crate::acl::AceKind::Allow)
            .unwrap();
        // Every ACE before the grant is one add.
        w.store.fail_late_at(grant);
        let err = apply(&plan, &mut w.store, &w.registry).unwrap_err();
        assert!(
            matches!(
                err,
                WindowsError::Store(StoreError::Injected {
                    op: "add_explicit",
                    ..
                })
            ),
            "{err}"
        );
        let journal = Journal::at(w.registry.windows_dir()).read().unwrap();
        assert!(journal.is_empty(), "lines left: {journal:?}");
        let now = same_paths_now(&w, &before);
        for (path, sd) in &before {
            if crate::winpath::same(Path::new(path), &p(REPO)) {
                let explicit: Vec<_> = now[path].dacl.as_ref().unwrap().explicit().collect();
                assert_eq!(
                    explicit,
                    [&plan.aces[grant - 1].ace],
                    "only the completed kept DELETE deny stays on the root"
                );
            } else {
                assert_eq!(&now[path], sd, "{path}: the propagated grant stayed");
            }
        }
        w.store.heal();
        let plan = plan_in(&mut w, &workspace_spec());
        let _run = apply(&plan, &mut w.store, &w.registry).unwrap();
        assert!(
            explain(
                &w.store,
                &plan.token.model(&caller()),
                &p(r"C:\Users\me\repo\src\main.rs"),
                Operation::Write
            )
            .unwrap()
            .allowed,
            "the next run adds the grant whole"
        );
    }

    #[test]
    fn a_run_that_died_at_every_apply_step_is_restored_by_recovery() {
        let steps = steps_of_a_fresh_apply();
        for n in 0..steps {
            let mut w = world();
            let before = originals(&w);
            let plan = plan_in(&mut w, &workspace_spec());
            w.store.fail_from(n);
            assert!(apply(&plan, &mut w.store, &w.registry).is_err());
            w.store.heal();
            recover(&mut w.store, &w.registry).unwrap();
            no_per_run_state_left(&w);
            forget(&p(REPO), &mut w.store, &mut w.registry).unwrap();
            assert_eq!(same_paths_now(&w, &before), before, "step {n}");
        }
    }

    #[test]
    fn a_run_killed_while_its_command_ran_is_undone_at_the_next_start() {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        let run = apply(&plan, &mut w.store, &w.registry).unwrap();
        let with_run = w.store.snapshot();
        drop(run);
        let dead = recover(&mut w.store, &w.registry).unwrap();
        assert_eq!(dead, std::slice::from_ref(&plan.run_id));
        no_per_run_state_left(&w);
        assert_ne!(w.store.snapshot(), with_run);
        let hooks = w.store.read(&p(r"C:\Users\me\repo\.git\hooks")).unwrap();
        assert!(
            hooks.dacl.unwrap().explicit().next().is_none(),
            "the per-run deny is gone"
        );
        let root = w.store.read(&p(REPO)).unwrap();
        let kept: Vec<_> = plan
            .aces
            .iter()
            .filter(|a| a.lifetime == Lifetime::Kept)
            .map(|a| &a.ace)
            .collect();
        assert_eq!(kept.len(), 2, "the root's DELETE deny and its grant");
        assert_eq!(
            root.dacl.unwrap().explicit().collect::<Vec<_>>(),
            kept,
            "the kept entries stay, nothing else"
        );
    }

    fn per_run_denies_on_hooks(w: &World) -> usize {
        let hooks = w.store.read(&p(r"C:\Users\me\repo\.git\hooks")).unwrap();
        hooks
            .dacl
            .unwrap()
            .explicit()
            .filter(|a| a.kind == crate::acl::AceKind::Deny)
            .count()
    }

    #[test]
    fn a_tree_that_outlived_its_kill_keeps_its_denies_until_every_survivor_is_gone() {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        let run = apply(&plan, &mut w.store, &w.registry).unwrap();
        let with_run = w.store.snapshot();
        let survivor = ProcessStamp {
            pid: 4242,
            created: 133_777_000_000_000_000,
        };
        w.store.set_process_alive(survivor, true);
        run.hold(&[survivor]).unwrap();
        assert!(w.store.snapshot() == with_run, "holding removes nothing");

        // Later starts recover around it while the survivor exists, even through a compaction.
        assert!(recover(&mut w.store, &w.registry).unwrap().is_empty());
        let next = plan_in(&mut w, &workspace_spec());
        let other = apply(&next, &mut w.store, &w.registry).unwrap();
        assert!(other.recovered().is_empty());
        other.finish(&mut w.store).unwrap();
        assert!(
            same_paths_now(&w, &with_run) == with_run,
            "the held run's ACEs are all there"
        );
        assert!(per_run_denies_on_hooks(&w) > 0);

        // The same pid reused by another process does not keep the run held.
        w.store.set_process_alive(survivor, false);
        w.store.set_process_alive(
            ProcessStamp {
                created: survivor.created + 1,
                ..survivor
            },
            true,
        );
        let dead = recover(&mut w.store, &w.registry).unwrap();
        assert_eq!(dead, std::slice::from_ref(&plan.run_id));
        no_per_run_state_left(&w);
        assert_eq!(per_run_denies_on_hooks(&w), 0);
    }

    #[test]
    fn the_next_apply_recovers_a_dead_run_and_names_it() {
        let mut w = world();
        let dead = plan_in(&mut w, &workspace_spec());
        drop(apply(&dead, &mut w.store, &w.registry).unwrap());
        let next = plan_in(&mut w, &workspace_spec());
        let run = apply(&next, &mut w.store, &w.registry).unwrap();
        assert_eq!(run.recovered(), std::slice::from_ref(&dead.run_id));
        assert_eq!(w.registry.private_temp(&dead.run_id), dead.private_temp);
        let shared = SharedAces::load(w.registry.windows_dir()).unwrap();
        assert!(
            shared
                .entries
                .iter()
                .all(|e| e.runs == [next.run_id.clone()])
        );
        run.finish(&mut w.store).unwrap();
        no_per_run_state_left(&w);
    }

    #[test]
    fn recovery_leaves_live_runs_alone() {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        let run = apply(&plan, &mut w.store, &w.registry).unwrap();
        let with_run = w.store.snapshot();
        assert!(recover(&mut w.store, &w.registry).unwrap().is_empty());
        assert_eq!(w.store.snapshot(), with_run);
        run.finish(&mut w.store).unwrap();
    }

    #[test]
    fn two_runs_share_per_run_aces_and_the_last_one_out_removes_them() {
        let mut w = world();
        let hooks = p(r"C:\Users\me\repo\.git\hooks\pre-commit");
        let plan_a = plan_in(&mut w, &workspace_spec());
        let run_a = apply(&plan_a, &mut w.store, &w.registry).unwrap();
        let plan_b = plan_in(&mut w, &workspace_spec());
        let run_b = apply(&plan_b, &mut w.store, &w.registry).unwrap();
        assert_eq!(plan_a.roots, plan_b.roots, "same root, same SID");
        let token_b = plan_b.token.model(&caller());
        run_a.finish(&mut w.store).unwrap();
        assert!(
            !explain(&w.store, &token_b, &hooks, Operation::Write)
                .unwrap()
                .allowed,
            "B still protected after A ended"
        );
        let shared = SharedAces::load(w.registry.windows_dir()).unwrap();
        assert!(
            shared
                .entries
                .iter()
                .all(|e| e.runs == [plan_b.run_id.clone()])
        );
        run_b.finish(&mut w.store).unwrap();
        no_per_run_state_left(&w);
        let dacl = w
            .store
            .read(&p(r"C:\Users\me\repo\.git\hooks"))
            .unwrap()
            .dacl
            .unwrap();
        assert!(dacl.explicit().next().is_none());
    }

    #[test]
    fn finish_then_forget_restores_every_descriptor_exactly() {
        let mut w = world();
        let before = originals(&w);
        let plan = plan_in(&mut w, &workspace_spec());
        apply(&plan, &mut w.store, &w.registry)
            .unwrap()
            .finish(&mut w.store)
            .unwrap();
        assert_ne!(
            same_paths_now(&w, &before),
            before,
            "the kept grant stays between runs"
        );
        let f = forget(&p(REPO), &mut w.store, &mut w.registry).unwrap();
        assert_eq!(f.aces_removed, 2, "the root's grant and its DELETE deny");
        assert_eq!(same_paths_now(&w, &before), before);
        assert_eq!(
            w.registry.lookup(&p(REPO)).unwrap(),
            None,
            "the SID is garbage-collected"
        );
    }

    #[test]
    fn forget_refuses_while_a_run_uses_the_root() {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        let run = apply(&plan, &mut w.store, &w.registry).unwrap();
        let err = forget(&p(REPO), &mut w.store, &mut w.registry).unwrap_err();
        assert!(matches!(err, WindowsError::RootInUse { .. }));
        run.finish(&mut w.store).unwrap();
        forget(&p(REPO), &mut w.store, &mut w.registry).unwrap();
    }

    #[test]
    fn kept_grant_is_verified_by_one_read_and_never_reapplied() {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        apply(&plan, &mut w.store, &w.registry)
            .unwrap()
            .finish(&mut w.store)
            .unwrap();
        let plan = plan_in(&mut w, &workspace_spec());
        let rewrites = w.store.rewrites();
        let run = apply(&plan, &mut w.store, &w.registry).unwrap();
        let root_rewrites = w.store.rewrites() - rewrites;
        let files_in_repo = w
            .store
            .paths()
            .iter()
            .filter(|x| crate::winpath::is_beneath(x, &p(REPO)))
            .count();
        assert!(
            root_rewrites < files_in_repo,
            "the root grant was propagated again ({root_rewrites} rewrites)"
        );
        run.finish(&mut w.store).unwrap();
    }

    #[test]
    fn a_kept_grant_removed_behind_paddocks_back_is_restored() {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        apply(&plan, &mut w.store, &w.registry)
            .unwrap()
            .finish(&mut w.store)
            .unwrap();
        let grant = plan
            .aces
            .iter()
            .find(|a| a.lifetime == Lifetime::Kept && a.ace.kind == crate::acl::AceKind::Allow)
            .unwrap()
            .ace
            .clone();
        w.store
            .remove_explicit(&p(REPO), std::slice::from_ref(&grant))
            .unwrap();
        let plan = plan_in(&mut w, &workspace_spec());
        let run = apply(&plan, &mut w.store, &w.registry).unwrap();
        let t = plan.token.model(&caller());
        assert!(
            explain(
                &w.store,
                &t,
                &p(r"C:\Users\me\repo\src\main.rs"),
                Operation::Write
            )
            .unwrap()
            .allowed
        );
        run.finish(&mut w.store).unwrap();
    }

    #[test]
    fn every_change_is_journaled_with_the_descriptor_it_replaced() {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        let hooks = p(r"C:\Users\me\repo\.git\hooks");
        let hooks_before = w.store.read(&hooks).unwrap().to_sddl();
        let _run = apply(&plan, &mut w.store, &w.registry).unwrap();
        let lines = Journal::at(w.registry.windows_dir()).read().unwrap();
        let added: Vec<_> = lines.iter().filter(|l| l.op == JournalOp::Add).collect();
        assert_eq!(added.len(), plan.aces.len());
        let first_hooks = added
            .iter()
            .find(|l| {
                l.path
                    .as_deref()
                    .is_some_and(|x| crate::winpath::same(x, &hooks))
            })
            .unwrap();
        assert_eq!(first_hooks.previous.as_deref(), Some(hooks_before.as_str()));
        assert!(lines.iter().all(|l| l.run_id == plan.run_id));
    }
}
