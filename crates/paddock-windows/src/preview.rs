//! A plan judged as if it were applied, without applying it: `preview` copies from a store the
//! entries a question needs (the paths asked about, every path the plan touches, and all their
//! ancestors) into an in-memory `FakeAclStore` and there creates and adds exactly what
//! `run_acls::apply` would. `explain_planned` answers `paddock explain` with it.
//!
//! Guarantees: the base store is only read (the plan is never applied, the journal, ledger and
//! shared counts are never touched); copied descriptors stay as read except where the plan
//! changes them; an ACE the path already carries is not added again (as `apply` does), so
//! inherited entries are recomputed, by `acl::inherited_aces`, only below a folder that gains an
//! inheritable ACE (a root's first grant, a protected folder's deny).

use crate::access::TokenModel;
use crate::error::WindowsError;
use crate::explain::{Operation, Verdict, explain};
use crate::plan::WindowsPlan;
use crate::sid::Sid;
use crate::store::{AclStore, FakeAclStore};
use crate::winpath;
use paddock_core::SandboxSpec;
use paddock_core::policy::Network;
use std::path::{Path, PathBuf};

/// The ACLs around `asked` and the plan's paths as they would be once `plan` is applied; new
/// objects are owned by `creator` (the caller, as on NTFS).
pub fn preview(
    base: &dyn AclStore,
    plan: &WindowsPlan,
    creator: &Sid,
    asked: &[&Path],
) -> Result<FakeAclStore, WindowsError> {
    let mut view = FakeAclStore::new(creator.clone());
    let wanted = asked
        .iter()
        .map(|p| p.to_path_buf())
        .chain(plan.aces.iter().map(|a| a.path.clone()));
    for path in wanted {
        copy_with_ancestors(base, &mut view, &path)?;
    }
    for planned in &plan.aces {
        if winpath::same(&planned.path, &plan.private_temp) {
            create_dir_all(&mut view, &planned.path)?;
        }
        let present = view
            .read(&planned.path)?
            .dacl
            .is_some_and(|d| d.explicit().any(|a| *a == planned.ace));
        if !present {
            view.add_explicit(&planned.path, std::slice::from_ref(&planned.ace))?;
        }
    }
    Ok(view)
}

/// Would the sandbox token of `plan` (made from `caller`) be allowed `op` on `path`, with the
/// ACLs of `base` as the plan would leave them? The verdict names the deciding ACEs.
pub fn explain_planned(
    base: &dyn AclStore,
    plan: &WindowsPlan,
    caller: &TokenModel,
    path: &Path,
    op: Operation,
) -> Result<Verdict, WindowsError> {
    let folder = winpath::parent(path);
    let mut asked = vec![path];
    asked.extend(folder.as_deref());
    let view = preview(base, plan, &caller.user, &asked)?;
    explain(&view, &plan.token.model(caller), path, op)
}

/// `spec` reduced to what decides file writes at level 1, for `explain`: network and deny-read
/// settings (which level 1 refuses unless accepted, and never enforces) change nothing in the
/// file plan, so they are left out and `explain` answers even for a spec a run would refuse.
pub fn file_access_spec(spec: &SandboxSpec) -> SandboxSpec {
    SandboxSpec {
        network: Network::On,
        deny_read: Vec::new(),
        ..spec.clone()
    }
}

/// Copies `path` and every existing ancestor of it from `base`, top-down (what does not exist
/// the plan may create).
fn copy_with_ancestors(
    base: &dyn AclStore,
    view: &mut FakeAclStore,
    path: &Path,
) -> Result<(), WindowsError> {
    let mut chain = vec![path.to_path_buf()];
    while let Some(parent) = winpath::parent(chain.last().expect("never empty")) {
        chain.push(parent);
    }
    for entry in chain.iter().rev() {
        if view.exists(entry)? {
            continue;
        }
        if let Some(kind) = base.kind(entry)? {
            view.insert(entry, kind, base.read(entry)?);
        }
    }
    Ok(())
}

fn create_dir_all(view: &mut FakeAclStore, dir: &Path) -> Result<(), WindowsError> {
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut cur = Some(dir.to_path_buf());
    while let Some(d) = cur {
        if view.exists(&d)? {
            break;
        }
        cur = winpath::parent(&d);
        missing.push(d);
    }
    for d in missing.into_iter().rev() {
        view.create_dir(&d)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_acls::apply;
    use crate::testworld::*;

    const CASES: [(&str, Operation); 9] = [
        (r"C:\Users\me\repo\src\main.rs", Operation::Write),
        (r"C:\Users\me\repo\src\new.rs", Operation::CreateFile),
        (r"C:\Users\me\repo\.git\hooks\pre-commit", Operation::Write),
        (
            r"C:\Users\me\repo\.git\hooks\post-merge",
            Operation::CreateFile,
        ),
        (r"C:\Users\me\repo\.git\hooks", Operation::Delete),
        (r"C:\Users\me\repo\paddock.toml", Operation::Write),
        (r"C:\Users\me\repo", Operation::Delete),
        (r"C:\Users\me\NTUSER.DAT", Operation::Write),
        (r"C:\Users\me\.ssh\id_ed25519", Operation::Read),
    ];

    #[test]
    fn explaining_a_plan_changes_nothing_in_the_store() {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        let before = w.store.snapshot();
        let mutations = w.store.mutations();
        for (path, op) in CASES {
            explain_planned(&w.store, &plan, &caller(), &p(path), op).unwrap();
        }
        assert_eq!(w.store.snapshot(), before);
        assert_eq!(w.store.mutations(), mutations);
        assert!(!exists(&w, &p(r"C:\Users\me\repo\paddock.toml")));
    }

    #[test]
    fn a_plan_explained_before_it_is_applied_gives_the_verdicts_of_the_applied_run() {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        let previewed: Vec<Verdict> = CASES
            .iter()
            .map(|(path, op)| explain_planned(&w.store, &plan, &caller(), &p(path), *op).unwrap())
            .collect();
        let _run = apply(&plan, &mut w.store, &w.registry).unwrap();
        let token = plan.token.model(&caller());
        for ((path, op), seen) in CASES.iter().zip(previewed) {
            let applied = explain(&w.store, &token, &p(path), *op).unwrap();
            assert_eq!(seen, applied, "{op:?} {path}");
        }
    }

    #[test]
    fn explain_says_creating_a_hook_is_denied_by_the_deny_on_git_hooks() {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        let v = explain_planned(
            &w.store,
            &plan,
            &caller(),
            &p(r"C:\Users\me\repo\.git\hooks\post-checkout"),
            Operation::CreateFile,
        )
        .unwrap();
        assert!(!v.allowed);
        let text = v.to_string();
        assert!(
            text.contains(r"fail on C:\Users\me\repo\.git\hooks: granted []"),
            "{text}"
        );
        assert!(
            text.contains("restricting SIDs: ACE #0 (D;OICI;0xd0156;;;S-1-5-21-"),
            "the deny decides:\n{text}"
        );
    }

    #[test]
    fn a_network_off_spec_is_explained_with_the_file_plan_of_its_run() {
        let mut w = world();
        let mut spec = workspace_spec();
        spec.network = Network::Off;
        let refused = crate::plan::plan_with(
            &spec,
            paddock_core::policy::WindowsLevel::Unelevated,
            &w.store,
            &mut w.registry,
            &crate::testworld::host(),
        );
        assert!(refused.is_err(), "a run of it is refused");
        let plan = plan_in(&mut w, &file_access_spec(&spec));
        let v = explain_planned(
            &w.store,
            &plan,
            &caller(),
            &p(r"C:\Users\me\repo\.git\hooks\pre-commit"),
            Operation::Write,
        )
        .unwrap();
        assert!(!v.allowed, "{v}");
    }

    #[test]
    fn explain_counts_a_first_runs_root_grant_as_applied() {
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        let v = explain_planned(
            &w.store,
            &plan,
            &caller(),
            &p(r"C:\Users\me\repo\src\main.rs"),
            Operation::Write,
        )
        .unwrap();
        assert!(v.allowed, "{v}");
        assert!(
            v.to_string()
                .contains("restricting SIDs: ACE #0 (A;ID;0x1301bf;;;S-1-5-21-"),
            "{v}"
        );
        let on_disk = explain(
            &w.store,
            &plan.token.model(&caller()),
            &p(r"C:\Users\me\repo\src\main.rs"),
            Operation::Write,
        )
        .unwrap();
        assert!(!on_disk.allowed, "the grant is not on the base store");
    }
}
