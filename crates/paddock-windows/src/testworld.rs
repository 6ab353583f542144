//! A typical Windows machine as a `FakeAclStore`, the one test fixture of both levels (the
//! planner's, journal's and explain's tests here, the level-2 plan's in paddock-windows-elevated
//! through the `testworld` feature): system ACLs on `C:\`, a protected profile (user, SYSTEM,
//! Administrators) with a git repo, secrets and tools in it, an Everyone-writable folder, the
//! host folders the planner guards, and the caller's token (UAC-filtered administrator).

use crate::access::{GroupState, Privilege, TokenGroup, TokenModel, access_check};
use crate::acl::SecurityDescriptor;
use crate::explain::{Operation, explain};
use crate::mask::AccessMask;
use crate::plan::{HostDirs, WindowsPlan, plan_with};
use crate::run_acls::{ActiveRun, apply};
use crate::sid::Sid;
use crate::sid_registry::SidRegistry;
use crate::store::{AclStore, EntryKind, FakeAclStore};
use paddock_core::SandboxSpec;
use paddock_core::policy::{Mode, Network, WindowsLevel};
use paddock_core::spec::{PathKind, ProtectedPath, WatchedPath};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The caller's SID.
pub const ME: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";
/// The workspace.
pub const REPO: &str = r"C:\Users\me\repo";

/// The fake machine and the Paddock state folder (a temporary directory) planned against.
pub struct World {
    pub store: FakeAclStore,
    pub registry: SidRegistry,
    pub _state: tempfile::TempDir,
}

/// The caller's SID.
pub fn me() -> Sid {
    Sid::parse(ME).unwrap()
}

/// A path from its Windows text.
pub fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

/// The descriptor `text` (SDDL) with `ME` standing for the caller's SID.
pub fn sd(text: &str) -> SecurityDescriptor {
    SecurityDescriptor::parse(&text.replace("ME", ME)).unwrap()
}

/// The machine, freshly built.
pub fn world() -> World {
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
    s.insert(
        &p(r"C:\Windows"),
        EntryKind::Dir,
        sd("O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"),
    );
    for d in [
        r"C:\Windows\System32",
        r"C:\Users\me\repo",
        r"C:\Users\me\repo\.git",
        r"C:\Users\me\repo\.git\hooks",
        r"C:\Users\me\repo\.git\objects",
        r"C:\Users\me\repo\src",
        r"C:\Users\me\other",
        r"C:\Users\me\.ssh",
        r"C:\Users\me\.cargo",
        r"C:\Users\me\.cargo\bin",
        r"C:\Users\me\AppData",
        r"C:\Users\me\AppData\Roaming",
        r"C:\Users\me\AppData\Roaming\Microsoft",
        r"C:\Users\me\AppData\Roaming\Microsoft\Credentials",
        r"C:\Users\me\AppData\Local",
        r"C:\Users\me\AppData\Local\Temp",
        r"C:\Users\me\AppData\Local\Programs",
        r"C:\Users\me\AppData\Local\Programs\tool",
        r"C:\Users\me\AppData\Local\paddock-bin",
    ] {
        s.create_dir(&p(d)).unwrap();
    }
    for f in [
        r"C:\Windows\System32\cmd.exe",
        r"C:\Users\me\repo\.git\hooks\pre-commit",
        r"C:\Users\me\repo\.git\config",
        r"C:\Users\me\repo\src\main.rs",
        r"C:\Users\me\repo\.env",
        r"C:\Users\me\other\notes.txt",
        r"C:\Users\me\.ssh\id_ed25519",
        r"C:\Users\me\.cargo\bin\cargo.exe",
        r"C:\Users\me\.cargo\credentials.toml",
        r"C:\Users\me\AppData\Roaming\Microsoft\Credentials\blob",
        r"C:\Users\me\AppData\Local\Programs\tool\tool.exe",
        r"C:\Users\me\AppData\Local\paddock-bin\paddock.exe",
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
pub fn caller() -> TokenModel {
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

/// `path` protected as `kind`.
pub fn protected(path: &str, kind: PathKind) -> ProtectedPath {
    ProtectedPath {
        path: p(path),
        kind,
        reason: "test".into(),
    }
}

/// Workspace-write in the repo, with its hooks and config protected.
pub fn workspace_spec() -> SandboxSpec {
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

/// The host folders the planner guards on this machine.
pub fn host() -> HostDirs {
    HostDirs {
        system: crate::plan::SYSTEM_DEFAULTS
            .iter()
            .map(PathBuf::from)
            .collect(),
        users: vec![PathBuf::from(r"C:\Users")],
        guarded: [
            r"C:\Users\me",
            r"C:\Users\me\AppData\Local\Temp",
            r"C:\Users\me\AppData\Roaming",
        ]
        .iter()
        .map(PathBuf::from)
        .collect(),
        state: PathBuf::from(r"C:\Users\me\AppData\Local\paddock"),
    }
}

/// The level-1 plan of `spec` on this machine.
pub fn plan_in(w: &mut World, spec: &SandboxSpec) -> WindowsPlan {
    plan_with(
        spec,
        WindowsLevel::Unelevated,
        &w.store,
        &mut w.registry,
        &host(),
    )
    .unwrap()
}

/// Plans and applies `spec` at level 1 and returns the sandbox token; the run (and its per-run
/// ACEs) lasts while the `ActiveRun` lives.
pub fn applied(w: &mut World, spec: &SandboxSpec) -> (WindowsPlan, TokenModel, ActiveRun) {
    let plan = plan_in(w, spec);
    let run = apply(&plan, &mut w.store, &w.registry).unwrap();
    let token = plan.token.model(&caller());
    (plan, token, run)
}

/// Whether `t` may do `op` on `path`, as `explain` judges it.
pub fn can(w: &World, t: &TokenModel, path: impl AsRef<Path>, op: Operation) -> bool {
    explain(&w.store, t, path.as_ref(), op).unwrap().allowed
}

/// Whether `t` is granted all of `mask` on `path` (which exists).
pub fn has(w: &World, t: &TokenModel, path: impl AsRef<Path>, mask: AccessMask) -> bool {
    access_check(t, &w.store.read(path.as_ref()).unwrap(), mask).allowed()
}

/// True when `path` exists in the fake tree.
pub fn exists(w: &World, path: &Path) -> bool {
    w.store.exists(path).unwrap()
}
