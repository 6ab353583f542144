//! Model-backed tests of the planner: each plan is applied to a fake Windows machine and judged
//! by the access-check model with the token its `TokenPlan` creates, attack by attack.

use super::*;
use crate::access::access_check;
use crate::explain::{Operation, explain};
use crate::testworld::*;
use paddock_core::spec::PathKind;

#[test]
fn workspace_write_allows_creating_writing_and_deleting_inside_the_root() {
    let mut w = world();
    let (_, t, _run) = applied(&mut w, &workspace_spec());
    assert!(can(
        &w,
        &t,
        r"C:\Users\me\repo\src\main.rs",
        Operation::Write
    ));
    assert!(can(
        &w,
        &t,
        r"C:\Users\me\repo\src\new.rs",
        Operation::CreateFile
    ));
    assert!(can(
        &w,
        &t,
        r"C:\Users\me\repo\target",
        Operation::CreateDir
    ));
    assert!(can(
        &w,
        &t,
        r"C:\Users\me\repo\src\main.rs",
        Operation::Delete
    ));
    assert!(
        can(
            &w,
            &t,
            r"C:\Users\me\repo\.git\objects\ab",
            Operation::CreateDir
        ),
        "commits must work"
    );
    w.store
        .create_file(&p(r"C:\Users\me\repo\src\gen.rs"))
        .unwrap();
    assert!(
        can(&w, &t, r"C:\Users\me\repo\src\gen.rs", Operation::Write),
        "files the sandbox creates stay writable"
    );
}

#[test]
fn workspace_write_denies_write_to_home_and_outside_the_roots() {
    let mut w = world();
    let (_, t, _run) = applied(&mut w, &workspace_spec());
    for (path, op) in [
        (r"C:\Users\me\NTUSER.DAT", Operation::Write),
        (r"C:\Users\me\.bashrc", Operation::CreateFile),
        (r"C:\Users\me\other\notes.txt", Operation::Write),
        (r"C:\Users\me\.ssh\id_ed25519", Operation::Write),
        (
            r"C:\Users\me\AppData\Local\Temp\x.ps1",
            Operation::CreateFile,
        ),
        (r"C:\evil", Operation::CreateDir),
    ] {
        assert!(!can(&w, &t, path, op), "{op:?} {path} allowed");
    }
}

#[test]
fn the_user_keeps_full_access_to_everything_the_plan_touches() {
    let mut w = world();
    let (_, _, _run) = applied(&mut w, &workspace_spec());
    let user = caller();
    for path in [
        r"C:\Users\me\repo\.git\hooks\pre-commit",
        r"C:\Users\me\repo\.git\config",
        r"C:\Users\me\repo\src\main.rs",
    ] {
        assert!(can(&w, &user, path, Operation::Write), "{path}");
        assert!(can(&w, &user, path, Operation::Delete), "{path}");
    }
}

#[test]
fn protected_hooks_cannot_be_written_created_deleted_or_renamed_away() {
    let mut w = world();
    let (_, t, _run) = applied(&mut w, &workspace_spec());
    for (path, op) in [
        (r"C:\Users\me\repo\.git\hooks\pre-commit", Operation::Write),
        (
            r"C:\Users\me\repo\.git\hooks\post-checkout",
            Operation::CreateFile,
        ),
        (r"C:\Users\me\repo\.git\hooks\pre-commit", Operation::Delete),
        (r"C:\Users\me\repo\.git\hooks", Operation::Delete),
        (r"C:\Users\me\repo\.git", Operation::Delete),
        (r"C:\Users\me\repo\.git\hooks\sub", Operation::CreateDir),
    ] {
        assert!(!can(&w, &t, path, op), "{op:?} {path} allowed");
    }
    let attrs = access_check(
        &t,
        &w.store.read(&p(r"C:\Users\me\repo\.git\hooks")).unwrap(),
        crate::mask::AccessMask::WRITE_DAC,
    );
    assert!(
        !attrs.allowed(),
        "the sandbox cannot rewrite the hooks folder's DACL"
    );
}

#[test]
fn git_config_cannot_be_replaced_by_rename_over_it() {
    let mut w = world();
    let (_, t, _run) = applied(&mut w, &workspace_spec());
    assert!(!can(
        &w,
        &t,
        r"C:\Users\me\repo\.git\config",
        Operation::Write
    ));
    assert!(
        !can(&w, &t, r"C:\Users\me\repo\.git\config", Operation::Delete),
        "rename-over needs DELETE on the target"
    );
    assert!(
        can(
            &w,
            &t,
            r"C:\Users\me\repo\.git\config.lock",
            Operation::CreateFile
        ),
        "git may still write its lock files"
    );
}

#[test]
fn a_missing_protected_path_is_refused_never_created() {
    // Item 6 of issue 9: pre-creating a missing protected path with the caller's rights (and
    // the folders above it) wrote wherever the spec pointed. The core now lists missing control
    // paths as watched; a `Missing` one that still reaches the planner is refused.
    let mut w = world();
    let mut spec = workspace_spec();
    spec.protected.push(protected(
        r"C:\Users\me\repo\sub\.git\hooks",
        PathKind::Missing,
    ));
    let before = w.store.snapshot();
    let mutations = w.store.mutations();
    let err = plan_with(
        &spec,
        WindowsLevel::Unelevated,
        &w.store,
        &mut w.registry,
        &host(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, WindowsError::ProtectedMissing { path } if *path == p(r"C:\Users\me\repo\sub\.git\hooks")),
        "{err}"
    );
    assert!(err.to_string().contains("creates nothing"), "{err}");
    assert_eq!(w.store.snapshot(), before);
    assert_eq!(w.store.mutations(), mutations);
    assert!(!exists(&w, &p(r"C:\Users\me\repo\sub")));
    assert!(
        w.registry.entries().unwrap().is_empty(),
        "no SID minted for a refused run"
    );
}

#[test]
fn a_protected_path_that_vanished_before_planning_is_refused() {
    let mut w = world();
    let mut spec = workspace_spec();
    spec.protected
        .push(protected(r"C:\Users\me\repo\.git\info", PathKind::Dir));
    let err = plan_with(
        &spec,
        WindowsLevel::Unelevated,
        &w.store,
        &mut w.registry,
        &host(),
    )
    .unwrap_err();
    assert!(
        matches!(err, WindowsError::ProtectedVanished { .. }),
        "{err}"
    );
    assert!(!exists(&w, &p(r"C:\Users\me\repo\.git\info")));
}

#[test]
fn watched_paths_get_no_ace_and_nothing_is_created_for_them() {
    let mut w = world();
    let spec = workspace_spec();
    let before: Vec<_> = w.store.paths();
    let (plan, t, _run) = applied(&mut w, &spec);
    let commondir = p(r"C:\Users\me\repo\.git\commondir");
    assert!(spec.watched.iter().any(|x| x.path == commondir));
    assert!(
        plan.aces
            .iter()
            .all(|a| !winpath::same(&a.path, &commondir))
    );
    let state = winpath::key(w.registry.windows_dir());
    let created: Vec<_> = w
        .store
        .paths()
        .into_iter()
        .filter(|x| !before.contains(x) && !winpath::key(x).starts_with(&state))
        .collect();
    assert!(created.is_empty(), "created on the host: {created:?}");
    assert!(
        can(
            &w,
            &t,
            r"C:\Users\me\repo\.git\commondir",
            Operation::CreateFile
        ),
        "a watched path is left to the after-run check, not denied"
    );
}

#[test]
fn everyone_writable_folder_stays_unwritable_because_everyone_is_not_a_restricting_sid() {
    let mut w = world();
    let (plan, t, _run) = applied(&mut w, &workspace_spec());
    assert!(
        can(&w, &caller(), r"C:\shared\tool.exe", Operation::Write),
        "the user can write there"
    );
    assert!(!can(&w, &t, r"C:\shared\tool.exe", Operation::Write));
    assert!(!can(
        &w,
        &t,
        r"C:\shared\dropper.exe",
        Operation::CreateFile
    ));
    for sid in &plan.token.restricting_sids {
        assert_ne!(*sid, Sid::everyone());
        assert_ne!(*sid, Sid::authenticated_users());
        assert!(!sid.is_logon());
        assert!(sid.has_synthetic_shape());
    }
}

#[test]
fn reads_follow_the_user_rights_at_level_one() {
    let mut w = world();
    let (_, t, _run) = applied(&mut w, &workspace_spec());
    assert!(
        can(&w, &t, r"C:\Users\me\.ssh\id_ed25519", Operation::Read),
        "level 1 does not confine reads (documented)"
    );
}

#[test]
fn read_only_mode_writes_only_its_private_temp() {
    let mut w = world();
    let mut spec = workspace_spec();
    spec.mode = Mode::ReadOnly;
    spec.writable_roots.clear();
    spec.protected.clear();
    let (plan, t, _run) = applied(&mut w, &spec);
    assert!(plan.roots.is_empty());
    assert_eq!(
        plan.token.restricting_sids,
        std::slice::from_ref(&plan.token.run_sid)
    );
    assert!(!can(
        &w,
        &t,
        r"C:\Users\me\repo\src\main.rs",
        Operation::Write
    ));
    assert!(!can(&w, &t, r"C:\Users\me\repo\x", Operation::CreateFile));
    let tmp_file = plan.private_temp.join("a.txt");
    assert!(can(&w, &t, &tmp_file, Operation::CreateFile));
}

#[test]
fn one_run_cannot_write_another_runs_private_temp_or_a_root_it_was_not_given() {
    let mut w = world();
    let mut both = workspace_spec();
    both.writable_roots.push(p(r"C:\Users\me\other"));
    let (plan_a, _, _run_a) = applied(&mut w, &both);
    let (plan_b, t_b, _run_b) = applied(&mut w, &workspace_spec());
    assert!(
        !can(&w, &t_b, r"C:\Users\me\other\notes.txt", Operation::Write),
        "kept grant of another root"
    );
    let a_tmp = plan_a.private_temp.join("x");
    assert!(!can(&w, &t_b, &a_tmp, Operation::CreateFile));
    let b_tmp = plan_b.private_temp.join("x");
    assert!(can(&w, &t_b, &b_tmp, Operation::CreateFile));
}

#[test]
fn token_keeps_only_change_notify_even_for_an_elevated_caller() {
    let mut w = world();
    let (plan, _, _run) = applied(&mut w, &workspace_spec());
    assert_eq!(plan.token.flag_bits(), 0x1 | 0x4 | 0x8);
    let mut admin = caller();
    admin
        .groups
        .iter_mut()
        .for_each(|g| g.state = crate::access::GroupState::Enabled);
    admin.privileges.extend([
        crate::access::Privilege::Restore,
        crate::access::Privilege::Backup,
        crate::access::Privilege::TakeOwnership,
    ]);
    let t = plan.token.model(&admin);
    assert_eq!(t.privileges, [crate::access::Privilege::ChangeNotify]);
    assert!(!can(&w, &t, r"C:\Users\me\NTUSER.DAT", Operation::Write));
    assert!(
        can(&w, &admin, r"C:\Users\me\NTUSER.DAT", Operation::Write),
        "the model sees what SeRestore would do"
    );
}

#[test]
fn objects_created_under_the_default_dacl_are_usable_by_sandbox_and_user() {
    let mut w = world();
    let (plan, t, _run) = applied(&mut w, &workspace_spec());
    let pipe = crate::acl::SecurityDescriptor {
        owner: Some(me()),
        group: None,
        dacl: Some(plan.token.default_dacl.clone()),
        protected: false,
    };
    let rw = crate::mask::AccessMask::GENERIC_READ | crate::mask::AccessMask::GENERIC_WRITE;
    assert!(access_check(&t, &pipe, rw).allowed());
    assert!(access_check(&caller(), &pipe, rw).allowed());
}

#[test]
fn refused_roots_are_typed_errors() {
    let mut w = world();
    for root in [r"C:\Users\me", r"C:\", r"C:\Users\me\AppData\Local\Temp"] {
        let mut spec = workspace_spec();
        spec.writable_roots = vec![p(root)];
        let err = plan_with(
            &spec,
            WindowsLevel::Unelevated,
            &w.store,
            &mut w.registry,
            &host(),
        )
        .unwrap_err();
        assert!(
            matches!(err, WindowsError::RefusedRoot { .. }),
            "{root}: {err}"
        );
    }
    let mut spec = workspace_spec();
    spec.writable_roots.push(p(r"C:\Users\me\repo\.git\hooks"));
    let err = plan_with(
        &spec,
        WindowsLevel::Unelevated,
        &w.store,
        &mut w.registry,
        &host(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("inside the protected path"),
        "{err}"
    );
}

#[test]
fn plan_refuses_unenforceable_network_off_before_touching_anything() {
    let mut w = world();
    let mut spec = workspace_spec();
    spec.network = paddock_core::policy::Network::Off;
    let before = w.store.mutations();
    let err = plan_with(
        &spec,
        WindowsLevel::Unelevated,
        &w.store,
        &mut w.registry,
        &host(),
    )
    .unwrap_err();
    assert!(matches!(err, WindowsError::Unenforceable { .. }));
    assert_eq!(w.store.mutations(), before);
    assert!(
        w.registry.entries().unwrap().is_empty(),
        "no SID minted for a refused run"
    );
}

#[test]
fn report_lists_accepted_gaps_as_not_enforced() {
    let mut w = world();
    let mut spec = workspace_spec();
    spec.network = paddock_core::policy::Network::Off;
    spec.allow_unenforced.insert(Capability::Network);
    let plan = plan_in(&mut w, &spec);
    let report = plan.report();
    assert_eq!(report.not_enforced, [Capability::Network]);
    assert!(
        report
            .layers
            .iter()
            .any(|l| l.name == "network" && l.status == LayerStatus::NotEnforced)
    );
    assert!(!report.unconfined);
    for (layer, status) in [
        ("restricted-token", LayerStatus::Enforced),
        ("delete-confinement", LayerStatus::Partial),
        ("read-confinement", LayerStatus::NotEnforced),
    ] {
        assert!(
            report
                .layers
                .iter()
                .any(|l| l.name == layer && l.status == status),
            "{layer}"
        );
    }
}

#[test]
fn level_one_report_answers_typed_questions_without_prose() {
    use paddock_core::report::{Gap, Protection};
    let mut w = world();
    let mut spec = workspace_spec();
    spec.network = paddock_core::policy::Network::Off;
    spec.allow_unenforced.insert(Capability::Network);
    let report = plan_in(&mut w, &spec).report();
    assert!(report.enforces(Protection::Writes), "{report:?}");
    assert!(report.enforces(Protection::ProtectedPaths), "{report:?}");
    assert!(!report.enforces(Capability::Network), "{report:?}");
    assert!(!report.enforces(Protection::TcpConnect), "{report:?}");
    assert!(!report.enforces(Protection::Reads), "{report:?}");
    let gaps: Vec<&Gap> = report.gaps().collect();
    for gap in [Gap::DeleteChild, Gap::NamedPipes, Gap::Reads, Gap::Network] {
        assert!(gaps.contains(&&gap), "{gap:?} missing from {gaps:?}");
    }
}

#[test]
fn explain_names_the_deciding_ace() {
    let mut w = world();
    let (_, t, _run) = applied(&mut w, &workspace_spec());
    let v = explain(
        &w.store,
        &t,
        &p(r"C:\Users\me\repo\.git\hooks\pre-commit"),
        Operation::Write,
    )
    .unwrap();
    assert!(!v.allowed);
    let text = v.summary();
    assert!(
        text.contains("restricting SIDs: ACE #0 (D;ID;0xd0156;;;S-1-5-21-"),
        "{text}"
    );
    let v = explain(
        &w.store,
        &t,
        &p(r"C:\Users\me\NTUSER.DAT"),
        Operation::Write,
    )
    .unwrap();
    assert!(
        v.summary()
            .contains("restricting SIDs: nothing grants [FILE_WRITE_DATA]"),
        "{}",
        v.summary()
    );
}

#[test]
fn level_one_cannot_stop_deleting_files_where_the_user_holds_delete_child() {
    // The documented level-1 gap (docs/windows.md): FILE_DELETE_CHILD is not write-restricted,
    // so files in folders that grant the user full control can be deleted, never replaced.
    let mut w = world();
    let (_, t, _run) = applied(&mut w, &workspace_spec());
    assert!(can(
        &w,
        &t,
        r"C:\Users\me\other\notes.txt",
        Operation::Delete
    ));
    assert!(!can(
        &w,
        &t,
        r"C:\Users\me\other\notes.txt",
        Operation::Write
    ));
    assert!(!can(
        &w,
        &t,
        r"C:\Users\me\other\notes.txt",
        Operation::CreateFile
    ));
}

/// A workspace in a folder the user made at the top of the drive: it inherits `C:\`'s Modify
/// for Authenticated Users, so nobody but the (deny-only) Administrators holds
/// FILE_DELETE_CHILD there, and the root can only go through its own DELETE.
fn drive_workspace(w: &mut World) -> SandboxSpec {
    for d in [r"C:\src", r"C:\src\proj", r"C:\src\proj\build"] {
        w.store.create_dir(&p(d)).unwrap();
    }
    w.store.create_file(&p(r"C:\src\proj\build\out.o")).unwrap();
    SandboxSpec {
        workspace: p(r"C:\src\proj"),
        writable_roots: vec![p(r"C:\src\proj")],
        protected: Vec::new(),
        ..workspace_spec()
    }
}

#[test]
fn a_command_cannot_delete_its_emptied_root_and_put_a_junction_in_its_place() {
    let mut w = world();
    let spec = drive_workspace(&mut w);
    let (_, t, _run) = applied(&mut w, &spec);
    assert!(
        can(&w, &t, r"C:\src\proj\build\out.o", Operation::Delete),
        "files inside stay deletable"
    );
    assert!(
        can(&w, &t, r"C:\src\proj\build", Operation::Delete),
        "folders inside stay deletable"
    );
    let v = explain(&w.store, &t, &p(r"C:\src\proj"), Operation::Delete).unwrap();
    assert!(!v.allowed, "the emptied root was deleted:\n{}", v.summary());
    assert!(
        v.summary().contains("(D;;0x10000;;;S-1-5-21-"),
        "the kept DELETE deny decides:\n{}",
        v.summary()
    );
    assert!(
        !can(&w, &t, r"C:\src\proj", Operation::CreateDir),
        "nor could a junction take its name"
    );
    assert!(
        can(&w, &caller(), r"C:\src\proj", Operation::Delete),
        "the user still deletes the workspace"
    );
}

#[test]
fn in_a_profile_the_emptied_root_can_go_through_its_parent_but_never_come_back() {
    // The level-1 delete gap (docs/windows.md): the profile grants the user FILE_DELETE_CHILD,
    // which a write-restricted token does not restrict, so the kept DELETE deny is bypassed
    // through the parent; creating anything in the profile stays denied, so no link can replace
    // the root.
    let mut w = world();
    let (_, t, _run) = applied(&mut w, &workspace_spec());
    let v = explain(&w.store, &t, &p(REPO), Operation::Delete).unwrap();
    assert!(v.allowed);
    assert!(!v.checks[0].decision.allowed(), "its own DELETE is denied");
    assert!(
        v.checks[1].decision.allowed(),
        "the profile's FILE_DELETE_CHILD"
    );
    assert!(!can(&w, &t, REPO, Operation::CreateDir));
}

/// Pipes and kernel objects the command creates from the token's default DACL (`CreatePipe`,
/// Rust's std `Command` pipes, events, mutexes, semaphores): the command opens them for write,
/// another run cannot, and the agent (the user's own token) can. With the stock default DACL
/// that `CreateRestrictedToken` leaves in place, the command could not write its own pipe.
#[test]
fn objects_the_command_creates_from_the_default_dacl_are_writable_by_it_and_no_other_run() {
    let mut w = world();
    let (plan, t, _run) = applied(&mut w, &workspace_spec());
    let object = crate::ipc::from_default_dacl(&me(), &plan.token.default_dacl);
    let write = crate::ipc::open_for_write();
    let own = access_check(&t, &object, write);
    assert!(own.allowed(), "the command's own pipe: {own:?}");
    assert!(
        access_check(&caller(), &object, write).allowed(),
        "the agent reads and writes the command's pipes"
    );
    let other = plan_in(&mut w, &workspace_spec());
    let other_t = other.token.model(&caller());
    assert!(
        !access_check(&other_t, &object, write).allowed(),
        "another run cannot write this run's objects"
    );
    let stock = crate::ipc::stock_default_dacl(&me(), &Sid::logon(0, 0x5d3a1));
    let before = crate::ipc::from_default_dacl(&me(), &stock);
    assert!(
        !access_check(&t, &before, write).allowed(),
        "with the stock default DACL the restricting check has nothing to match"
    );
}

/// `CreateNamedPipeW` without a descriptor (libuv, Ninja) gets `RtlDefaultNpAcl`'s fixed DACL:
/// SYSTEM, Administrators and the token owner (the user) full control, Everyone read. No
/// restricting SID of a level-1 token is there, so the command cannot open such a pipe it made
/// for write. The fix would be a restricting SID the DACL names: the owner, which is the user
/// (every file the user can write would then be writable), or Administrators (every file both
/// the user and Administrators can write: the profile). Both are refused; this test fails if the
/// token ever gains one of them.
#[test]
fn a_named_pipe_made_without_a_descriptor_is_not_writable_at_level_one_and_why() {
    let mut w = world();
    let (plan, t, _run) = applied(&mut w, &workspace_spec());
    let pipe = crate::ipc::default_named_pipe(&me());
    let write = crate::ipc::open_for_write();
    assert!(!access_check(&t, &pipe, write).allowed());
    assert!(access_check(&caller(), &pipe, write).allowed());
    for extra in [me(), Sid::builtin_administrators()] {
        let mut widened = plan.token.clone();
        widened.restricting_sids.push(extra.clone());
        let wt = widened.model(&caller());
        assert!(
            access_check(&wt, &pipe, write).allowed(),
            "{extra} would make the pipe writable"
        );
        assert!(
            can(&w, &wt, r"C:\Users\me\.bashrc", Operation::CreateFile),
            "{extra} as a restricting SID opens the profile"
        );
    }
}

#[test]
fn the_report_says_which_pipes_work_and_which_do_not() {
    let mut w = world();
    let plan = plan_in(&mut w, &workspace_spec());
    let ipc = plan
        .report()
        .layers
        .into_iter()
        .find(|l| l.name == "ipc")
        .expect("an ipc layer");
    assert_eq!(ipc.status, LayerStatus::Partial);
    assert!(ipc.detail.contains("CreateNamedPipeW"), "{}", ipc.detail);
}
