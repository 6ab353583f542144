//! `prepare_with` over the in-memory ACL store: the real planner, journal and apply
//! orchestration, then a containment step that cannot finish (Wine cannot prove the token; on
//! Windows the workspace does not exist on disk, so the spawn fails). Either way the run must end
//! with every per-run entry taken back and only the root's kept grant left.
#![cfg(windows)]

use paddock_core::SandboxSpec;
use paddock_core::policy::{Mode, Network, WindowsLevel};
use paddock_core::spec::{CommandSpec, PathKind, ProtectedPath};
use paddock_runner::StdioMode;
use paddock_windows::acl::{Ace, AceFlags, AceKind, Acl, SecurityDescriptor};
use paddock_windows::apply::backend::{ApplyError, prepare_with};
use paddock_windows::apply::sid::current_user_sid;
use paddock_windows::apply::wine::running_under_wine;
use paddock_windows::mask::AccessMask;
use paddock_windows::sid::Sid;
use paddock_windows::sid_registry::SidRegistry;
use paddock_windows::store::{AclStore, EntryKind, FakeAclStore, StoreError};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The in-memory store, shared so the test can look at it after `prepare_with` took it.
struct Shared(Arc<Mutex<FakeAclStore>>);

impl AclStore for Shared {
    fn read(&self, path: &Path) -> Result<SecurityDescriptor, StoreError> {
        self.0.lock().unwrap().read(path)
    }
    fn add_explicit(&mut self, path: &Path, aces: &[Ace]) -> Result<(), StoreError> {
        self.0.lock().unwrap().add_explicit(path, aces)
    }
    fn remove_explicit(&mut self, path: &Path, aces: &[Ace]) -> Result<(), StoreError> {
        self.0.lock().unwrap().remove_explicit(path, aces)
    }
    fn kind(&self, path: &Path) -> Result<Option<EntryKind>, StoreError> {
        self.0.lock().unwrap().kind(path)
    }
    fn create_dir(&mut self, path: &Path) -> Result<(), StoreError> {
        self.0.lock().unwrap().create_dir(path)
    }
    fn create_file(&mut self, path: &Path) -> Result<(), StoreError> {
        self.0.lock().unwrap().create_file(path)
    }
}

fn owned_dir(user: &Sid) -> SecurityDescriptor {
    SecurityDescriptor {
        owner: Some(user.clone()),
        group: None,
        dacl: Some(Acl::new(vec![Ace::allow(
            user.clone(),
            AccessMask::FILE_ALL_ACCESS,
            AceFlags::OICI,
        )])),
        protected: true,
    }
}

#[test]
fn failed_containment_takes_back_every_per_run_entry() {
    let state = tempfile::tempdir().unwrap();
    let registry = SidRegistry::open(state.path()).unwrap();
    let user = current_user_sid().unwrap();
    let ws = PathBuf::from(r"C:\paddock-fake-store\ws");
    let mut fake = FakeAclStore::new(user.clone());
    fake.insert(&ws, EntryKind::Dir, owned_dir(&user));
    fake.create_dir(&ws.join(".git")).unwrap();
    fake.create_dir(&ws.join(r".git\hooks")).unwrap();
    fake.insert(registry.windows_dir(), EntryKind::Dir, owned_dir(&user));
    let paths_before = fake.paths();
    let shared = Arc::new(Mutex::new(fake));

    let spec = SandboxSpec {
        mode: Mode::WorkspaceWrite,
        workspace: ws.clone(),
        writable_roots: vec![ws.clone()],
        protected: vec![ProtectedPath {
            path: ws.join(r".git\hooks"),
            kind: PathKind::Dir,
            reason: "git hooks run code".into(),
        }],
        deny_read: Vec::new(),
        network: Network::On,
        allow_unenforced: BTreeSet::new(),
        windows_level: Default::default(),
        watched: Vec::new(),
        repos: Vec::new(),
    };
    let cmd = CommandSpec {
        program: PathBuf::from(r"C:\Windows\System32\cmd.exe"),
        args: vec!["/c".into(), "exit 0".into()],
        cwd: ws.clone(),
        env: std::env::vars_os().collect(),
    };
    let store = Box::new(Shared(shared.clone()));
    let result = prepare_with(
        &spec,
        &cmd,
        WindowsLevel::Unelevated,
        StdioMode::Capture,
        store,
        registry,
    );
    match result {
        Err(ApplyError::Token(e)) => assert!(running_under_wine(), "token refused on Windows: {e}"),
        Err(ApplyError::Launch(e)) => {
            assert!(!running_under_wine(), "Wine got past the token: {e}")
        }
        Err(other) => panic!("unexpected refusal: {other}"),
        Ok(_) => panic!("the command cannot start in a workspace that exists only in memory"),
    }

    let store = shared.lock().unwrap();
    let state_key = state.path().display().to_string().to_ascii_lowercase();
    for path in store.paths() {
        assert!(
            paths_before.contains(&path)
                || path
                    .display()
                    .to_string()
                    .to_ascii_lowercase()
                    .starts_with(&state_key),
            "created outside Paddock's state folder: {}",
            path.display()
        );
    }
    let root_sid = SidRegistry::open(state.path())
        .unwrap()
        .lookup(&ws)
        .unwrap()
        .unwrap();
    for (path, sd) in store.snapshot() {
        for ace in sd.dacl.iter().flat_map(|d| d.explicit()) {
            if ace.sid == user {
                continue;
            }
            assert!(
                Path::new(&path) == ws.as_path()
                    || path.eq_ignore_ascii_case(&ws.display().to_string()),
                "an entry stayed on {path}: {ace:?}"
            );
            assert_eq!(&ace.sid, &root_sid, "only the kept entries stay: {ace:?}");
            assert!(
                ace.kind == AceKind::Allow || ace.mask == AccessMask::DELETE,
                "only the kept grant and the root's DELETE deny stay: {ace:?}"
            );
        }
    }
}
