//! `explain_path` and `caller_token_model` on a real file system. Under Wine (which keeps no
//! ACLs of its own but answers the reads) the token model and the read-only contract are
//! checked; on real Windows the ignored test also checks the verdicts against the ACLs on disk.
//! One process-wide state directory (PADDOCK_STATE_DIR), set once.
#![cfg(windows)]

use paddock_core::SandboxSpec;
use paddock_core::policy::{Mode, Network, WindowsLevel};
use paddock_core::spec::{PathKind, ProtectedPath, WatchedPath};
use paddock_windows::access::GroupState;
use paddock_windows::apply::acl::NtfsAclStore;
use paddock_windows::apply::explain::{caller_token_model, explain_path};
use paddock_windows::apply::long_path::strip_verbatim;
use paddock_windows::apply::sid::current_user_sid;
use paddock_windows::explain::Operation;
use paddock_windows::sid::Sid;
use paddock_windows::store::AclStore;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static STATE: OnceLock<PathBuf> = OnceLock::new();

/// Paddock's state folder for this binary, set once before any test reads the environment.
fn state() -> &'static Path {
    STATE.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("paddock-explain-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // SAFETY: runs once, before any test of this binary reads the environment (every test
        // calls this first and `OnceLock` blocks them until it is done).
        unsafe { std::env::set_var("PADDOCK_STATE_DIR", &dir) };
        dir
    })
}

fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ws = strip_verbatim(&std::fs::canonicalize(dir.path()).unwrap());
    std::fs::create_dir_all(ws.join(r".git\hooks")).unwrap();
    std::fs::create_dir_all(ws.join("src")).unwrap();
    (dir, ws)
}

fn spec(ws: &Path) -> SandboxSpec {
    SandboxSpec {
        mode: Mode::WorkspaceWrite,
        workspace: ws.to_path_buf(),
        writable_roots: vec![ws.to_path_buf()],
        protected: vec![ProtectedPath {
            path: ws.join(r".git\hooks"),
            kind: PathKind::Dir,
            reason: "git hooks run code".into(),
        }],
        deny_read: Vec::new(),
        network: Network::On,
        allow_unenforced: BTreeSet::new(),
        windows_level: Default::default(),
        watched: vec![WatchedPath {
            path: ws.join("paddock.toml"),
            reason: "the policy".into(),
        }],
        repos: Vec::new(),
    }
}

#[test]
fn caller_token_model_reads_user_groups_and_their_states() {
    let t = caller_token_model().unwrap();
    assert_eq!(t.user, current_user_sid().unwrap());
    assert_eq!(t.user_state, GroupState::Enabled);
    assert!(
        t.groups
            .iter()
            .any(|g| g.sid == Sid::everyone() && g.state == GroupState::Enabled),
        "{:?}",
        t.groups
    );
    assert!(t.restricting.is_empty());
}

#[test]
fn explain_path_applies_nothing_and_records_no_sid() {
    let (_dir, ws) = workspace();
    let store = NtfsAclStore::new();
    let hooks_before = store.read(&ws.join(r".git\hooks")).unwrap();
    let root_before = store.read(&ws).unwrap();
    let verdict = explain_path(
        &spec(&ws),
        WindowsLevel::Unelevated,
        &ws.join(r".git\hooks\pre-commit"),
        Operation::CreateFile,
    )
    .unwrap();
    println!("{verdict}");
    assert_eq!(store.read(&ws.join(r".git\hooks")).unwrap(), hooks_before);
    assert_eq!(store.read(&ws).unwrap(), root_before);
    assert!(
        !ws.join("paddock.toml").exists(),
        "a watched path was created"
    );
    assert!(
        !state().join(r"windows\sids.json").exists(),
        "explain saved a root SID"
    );
    assert!(!state().join(r"windows\journal.jsonl").exists());
}

#[test]
#[ignore = "real Windows only: Wine keeps no ACLs, so its verdicts prove nothing"]
fn explain_path_names_the_hooks_deny_and_allows_work_inside() {
    let (_dir, ws) = workspace();
    let s = spec(&ws);
    let hook = explain_path(
        &s,
        WindowsLevel::Unelevated,
        &ws.join(r".git\hooks\pre-commit"),
        Operation::CreateFile,
    )
    .unwrap();
    assert!(!hook.allowed, "{hook}");
    assert!(
        hook.to_string().contains("(D;OICI;0xd0156;;;S-1-5-21-"),
        "{hook}"
    );
    let inside = explain_path(
        &s,
        WindowsLevel::Unelevated,
        &ws.join(r"src\main.rs"),
        Operation::CreateFile,
    )
    .unwrap();
    assert!(inside.allowed, "{inside}");
    let profile = PathBuf::from(std::env::var_os("USERPROFILE").unwrap());
    let home = explain_path(
        &s,
        WindowsLevel::Unelevated,
        &profile.join("paddock-explain.txt"),
        Operation::CreateFile,
    )
    .unwrap();
    assert!(!home.allowed, "{home}");
    assert!(
        home.to_string()
            .contains("restricting SIDs: nothing grants")
    );
}
