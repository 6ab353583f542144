//! A typical Windows machine as a `FakeAclStore`, for the planner's, journal's and explain's
//! tests: system ACLs on `C:\`, a protected profile (user, SYSTEM, Administrators), a git repo in
//! it, an Everyone-writable folder, and the caller's token (UAC-filtered administrator).

use crate::access::{GroupState, Privilege, TokenGroup, TokenModel};
use crate::acl::SecurityDescriptor;
use crate::plan::{WindowsPlan, plan_with};
use crate::sid::Sid;
use crate::sid_registry::SidRegistry;
use crate::store::{AclStore, EntryKind, FakeAclStore};
use paddock_core::SandboxSpec;
use paddock_core::policy::{Mode, Network, WindowsLevel};
use paddock_core::spec::{PathKind, ProtectedPath, WatchedPath};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub(crate) const ME: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";
pub(crate) const REPO: &str = r"C:\Users\me\repo";

pub(crate) struct World {
    pub store: FakeAclStore,
    pub registry: SidRegistry,
    pub _state: tempfile::TempDir,
}

pub(crate) fn me() -> Sid {
    Sid::parse(ME).unwrap()
}

pub(crate) fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

fn sd(text: &str) -> SecurityDescriptor {
    SecurityDescriptor::parse(&text.replace("ME", ME)).unwrap()
}

pub(crate) fn world() -> World {
    let mut s = FakeAclStore::new(me());
    s.insert(
        &p(r"C:\"),
        EntryKind::Dir,
        sd("O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;;0x4;;;AU)(A;OICIIO;0xe0010000;;;AU)"),
    );
    s.insert(
        &p(r"C:\Users"),
        EntryKind::Dir,
        sd("O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"),
    );
    s.insert(
        &p(r"C:\Users\me"),
        EntryKind::Dir,
        sd("O:MEG:MED:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;ME)"),
    );
    s.insert(
        &p(r"C:\shared"),
        EntryKind::Dir,
        sd("O:SYG:SYD:P(A;OICI;FA;;;WD)"),
    );
    for d in [
        r"C:\Users\me\repo",
        r"C:\Users\me\repo\.git",
        r"C:\Users\me\repo\.git\hooks",
        r"C:\Users\me\repo\.git\objects",
        r"C:\Users\me\repo\src",
        r"C:\Users\me\other",
        r"C:\Users\me\.ssh",
        r"C:\Users\me\AppData",
        r"C:\Users\me\AppData\Local",
        r"C:\Users\me\AppData\Local\Temp",
    ] {
        s.create_dir(&p(d)).unwrap();
    }
    for f in [
        r"C:\Users\me\repo\.git\hooks\pre-commit",
        r"C:\Users\me\repo\.git\config",
        r"C:\Users\me\repo\src\main.rs",
        r"C:\Users\me\other\notes.txt",
        r"C:\Users\me\.ssh\id_ed25519",
        r"C:\Users\me\NTUSER.DAT",
        r"C:\shared\tool.exe",
    ] {
        s.create_file(&p(f)).unwrap();
    }
    let state = tempfile::tempdir().unwrap();
    let registry = SidRegistry::open(state.path()).unwrap();
    s.insert(
        registry.windows_dir(),
        EntryKind::Dir,
        sd("O:MEG:MED:P(A;OICI;FA;;;SY)(A;OICI;FA;;;ME)"),
    );
    World {
        store: s,
        registry,
        _state: state,
    }
}

/// The caller: a UAC-filtered administrator at medium integrity in logon session 0x5d3a1.
pub(crate) fn caller() -> TokenModel {
    let enabled = |sid: Sid| TokenGroup {
        sid,
        state: GroupState::Enabled,
    };
    TokenModel {
        user: me(),
        user_state: GroupState::Enabled,
        groups: vec![
            enabled(Sid::everyone()),
            enabled(Sid::authenticated_users()),
            enabled(Sid::builtin_users()),
            TokenGroup {
                sid: Sid::builtin_administrators(),
                state: GroupState::DenyOnly,
            },
            enabled(Sid::logon(0, 0x5d3a1)),
            enabled(Sid::integrity_label(0x2000)),
        ],
        restricting: Vec::new(),
        write_restricted: false,
        privileges: vec![Privilege::ChangeNotify],
    }
}

pub(crate) fn protected(path: &str, kind: PathKind) -> ProtectedPath {
    ProtectedPath {
        path: p(path),
        kind,
        reason: "test".into(),
    }
}

pub(crate) fn workspace_spec() -> SandboxSpec {
    SandboxSpec {
        mode: Mode::WorkspaceWrite,
        workspace: p(REPO),
        writable_roots: vec![p(REPO)],
        protected: vec![
            protected(r"C:\Users\me\repo\.git\hooks", PathKind::Dir),
            protected(r"C:\Users\me\repo\.git\config", PathKind::File),
        ],
        deny_read: Vec::new(),
        network: Network::On,
        allow_unenforced: BTreeSet::new(),
        windows_level: Default::default(),
        watched: vec![WatchedPath {
            path: p(r"C:\Users\me\repo\.git\commondir"),
            reason: "test".into(),
        }],
        repos: vec![p(r"C:\Users\me\repo\.git")],
    }
}

pub(crate) fn plan_in(w: &mut World, spec: &SandboxSpec) -> WindowsPlan {
    plan_with(
        spec,
        WindowsLevel::Unelevated,
        &w.store,
        &mut w.registry,
        &crate::plan::test_host(),
    )
    .unwrap()
}

/// True when `path` exists in the fake tree.
pub(crate) fn exists(w: &World, path: &Path) -> bool {
    w.store.exists(path).unwrap()
}
