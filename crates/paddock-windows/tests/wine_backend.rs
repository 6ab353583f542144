//! `prepare`, the backend's entry point, on a real workspace. Under Wine the NTFS store refuses
//! the first grant (Wine keeps no ACLs), so the backend must refuse to run and leave no per-run
//! entry behind; everywhere, a policy the level cannot enforce is refused before anything is
//! touched. One test per process state (PADDOCK_STATE_DIR is process-wide), run in sequence.
#![cfg(windows)]

use paddock_core::SandboxSpec;
use paddock_core::policy::{Capability, Mode, Network, WindowsLevel};
use paddock_core::spec::CommandSpec;
use paddock_runner::StdioMode;
use paddock_windows::apply::backend::{ApplyError, prepare};
use paddock_windows::apply::long_path::strip_verbatim;
use paddock_windows::apply::shell::{Env, KnownShell, find_shell};
use paddock_windows::apply::wine::running_under_wine;
use paddock_windows::error::WindowsError;
use paddock_windows::journal::{Journal, JournalOp};
use paddock_windows::plan::Lifetime;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

fn spec(workspace: &Path, network: Network, allow: &[Capability]) -> SandboxSpec {
    SandboxSpec {
        mode: Mode::WorkspaceWrite,
        workspace: workspace.to_path_buf(),
        writable_roots: vec![workspace.to_path_buf()],
        protected: Vec::new(),
        deny_read: Vec::new(),
        network,
        allow_unenforced: allow.iter().copied().collect::<BTreeSet<_>>(),
        windows_level: Default::default(),
        watched: Vec::new(),
        repos: Vec::new(),
    }
}

fn cmd(cwd: &Path) -> CommandSpec {
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    CommandSpec {
        program: find_shell(KnownShell::Cmd, Env(&env)).unwrap(),
        args: vec!["/c".into(), "echo hi".into()],
        cwd: cwd.to_path_buf(),
        env,
    }
}

fn real(dir: &tempfile::TempDir) -> PathBuf {
    strip_verbatim(&std::fs::canonicalize(dir.path()).unwrap())
}

#[test]
fn backend_refuses_unenforceable_policy_and_acl_less_workspace() {
    let state = tempfile::tempdir().unwrap();
    let ws_dir = tempfile::tempdir().unwrap();
    let ws = real(&ws_dir);
    // SAFETY: this binary has a single test, so no other thread reads the environment.
    unsafe { std::env::set_var("PADDOCK_STATE_DIR", state.path()) };

    let refused = prepare(
        &spec(&ws, Network::Off, &[]),
        &cmd(&ws),
        WindowsLevel::Unelevated,
        StdioMode::Capture,
    );
    assert!(
        matches!(
            refused,
            Err(ApplyError::Windows(WindowsError::Unenforceable { .. }))
        ),
        "network off at level 1 must be refused unless accepted"
    );
    assert!(
        std::fs::read_dir(&ws).unwrap().next().is_none(),
        "nothing may be touched"
    );

    let result = prepare(
        &spec(&ws, Network::On, &[]),
        &cmd(&ws),
        WindowsLevel::Unelevated,
        StdioMode::Capture,
    );
    if !running_under_wine() {
        paddock_core::testing::skip(
            "the ACL-less refusal is Wine's; real Windows runs are in windows_real_backend",
        );
        return;
    }
    let err = match result {
        Ok(_) => panic!("Wine stores no ACLs: the backend must not run the command"),
        Err(e) => e,
    };
    assert!(err.to_string().contains("does not keep ACLs"), "{err}");
    let windows_dir = state.path().join("windows");
    let journal = Journal::at(&windows_dir);
    assert!(
        journal.path().exists(),
        "the refused run must have been journaled and compacted"
    );
    let pending: Vec<_> = journal
        .read()
        .unwrap()
        .into_iter()
        .filter(|l| l.op == JournalOp::Add && l.lifetime == Some(Lifetime::PerRun))
        .collect();
    assert!(
        pending.is_empty(),
        "per-run entries left unreleased: {pending:?}"
    );
    let temps = std::fs::read_dir(windows_dir.join("tmp"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(
        temps, 0,
        "the refused run's private temp folder must be gone"
    );
}
