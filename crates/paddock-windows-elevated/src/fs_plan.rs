//! The level-2 file-system plan: the level-1 plan (root SIDs, write-restricted token, protected
//! paths, private temp) plus ACEs for the sandbox group, so that a sandbox account reads only
//! what is granted: writable roots and the workspace, the user's tool folders, system locations
//! (through BUILTIN\Users as on any machine), and never credential stores or deny-read paths.
//!
//! Guarantees: every ACE goes through the level-1 journal and ledger (`run_acls::apply`,
//! `grants::forget_all`), so level 2 is reversible exactly like level 1; credential stores that
//! exist get kept explicit deny ACEs for the group, policy deny-read paths per-run ones; tool
//! folders are granted narrowly (e.g. `.cargo\bin`, never `.cargo` with its credentials file);
//! no ACE is ever planned on a registry hive file (`NTUSER.DAT`, `UsrClass.dat`), a drive root
//! or a profile root.

use crate::errors::ElevatedError;
use crate::network::ProxyReport;
use crate::setup_plan::{Role, SetupRecord};
use paddock_core::SandboxSpec;
use paddock_core::policy::{Mode, Network, WindowsLevel};
use paddock_core::report::{EnforcementReport, Gap, Layer, LayerReport, LayerStatus, Protection};
use paddock_core::spec::PathKind;
use paddock_windows::acl::{Ace, AceFlags};
use paddock_windows::mask::AccessMask;
use paddock_windows::plan::{HostDirs, Lifetime, PlannedAce, WindowsPlan, plan_with};
use paddock_windows::sid::Sid;
use paddock_windows::sid_registry::SidRegistry;
use paddock_windows::store::{AclStore, EntryKind};
use paddock_windows::{WindowsError, winpath};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The read rights a deny ACE takes away (reading data, EAs, and listing / executing).
/// Attributes and SYNCHRONIZE stay: denying them breaks tools without protecting content.
pub const DENY_READ: AccessMask = AccessMask(
    AccessMask::FILE_READ_DATA.bits()
        | AccessMask::FILE_READ_EA.bits()
        | AccessMask::FILE_EXECUTE.bits(),
);

/// An outside address the offline account must not reach (Cloudflare DNS over TCP/443), probed
/// at every level-2 start.
pub const PROBE_OUTSIDE: &str = "1.1.1.1:443";

/// Read and execute: what a tool folder grant gives.
pub const READ_EXECUTE: AccessMask =
    AccessMask(AccessMask::FILE_GENERIC_READ.bits() | AccessMask::FILE_GENERIC_EXECUTE.bits());

/// The real user's folders level 2 reasons about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileDirs {
    /// `%USERPROFILE%`
    pub profile: PathBuf,
    /// `%APPDATA%`
    pub appdata: PathBuf,
    /// `%LOCALAPPDATA%`
    pub local_appdata: PathBuf,
}

impl ProfileDirs {
    /// From `USERPROFILE`, `APPDATA` and `LOCALAPPDATA` (the defaults below the profile when the
    /// last two are unset); `None` without `USERPROFILE`.
    pub fn from_env() -> Option<ProfileDirs> {
        let var = |n: &str| {
            std::env::var_os(n)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let profile = var("USERPROFILE")?;
        Some(ProfileDirs {
            appdata: var("APPDATA").unwrap_or_else(|| winpath::join(&profile, r"AppData\Roaming")),
            local_appdata: var("LOCALAPPDATA")
                .unwrap_or_else(|| winpath::join(&profile, r"AppData\Local")),
            profile,
        })
    }

    /// Tool folders the sandbox accounts may read and run from.
    pub fn tool_dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for rel in [
            r".cargo\bin",
            r".cargo\registry",
            r".cargo\git",
            r".cargo\config.toml",
            r".rustup\toolchains",
            r".rustup\settings.toml",
            r"go\bin",
            r"go\pkg",
            r".nuget\packages",
        ] {
            out.push(winpath::join(&self.profile, rel));
        }
        for rel in [r"npm", r"pip\pip.ini", r"NuGet\NuGet.Config"] {
            out.push(winpath::join(&self.appdata, rel));
        }
        for rel in [r"Programs", r"npm-cache", r"pip\cache", r"go-build"] {
            out.push(winpath::join(&self.local_appdata, rel));
        }
        out
    }

    /// Credential stores: explicit deny ACEs for the sandbox group wherever they exist.
    pub fn credential_stores(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for rel in [
            ".ssh",
            ".aws",
            ".azure",
            ".kube",
            ".docker",
            ".gnupg",
            r".config\gh",
            ".git-credentials",
            ".netrc",
            "_netrc",
            ".npmrc",
            r".cargo\credentials.toml",
            r".cargo\credentials",
            r".nuget\NuGet\NuGet.Config",
        ] {
            out.push(winpath::join(&self.profile, rel));
        }
        for rel in [
            r"GitHub CLI",
            r"Microsoft\Credentials",
            r"Microsoft\Protect",
            r"Microsoft\Vault",
            r"Microsoft\SystemCertificates",
            r"Mozilla\Firefox\Profiles",
            r"gcloud",
        ] {
            out.push(winpath::join(&self.appdata, rel));
        }
        for rel in [
            r"Microsoft\Credentials",
            r"Microsoft\Vault",
            r"Google\Chrome\User Data",
            r"Microsoft\Edge\User Data",
            r"BraveSoftware\Brave-Browser\User Data",
            r"Mozilla\Firefox\Profiles",
        ] {
            out.push(winpath::join(&self.local_appdata, rel));
        }
        out
    }
}

/// A path the plan left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// Everything a level-2 run applies on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElevatedFsPlan {
    /// The level-1 plan with the level-2 ACEs appended (apply it with `run_acls::apply`).
    pub windows: WindowsPlan,
    /// The sandbox group every level-2 ACE names.
    pub group: Sid,
    pub read_grants: Vec<PathBuf>,
    pub denied: Vec<PathBuf>,
    pub skipped: Vec<Skipped>,
}

/// True for a registry hive file, which must never get an ACE (Codex #31140).
pub fn is_registry_hive(p: &Path) -> bool {
    winpath::file_name(p).is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        n.starts_with("ntuser.") || n.starts_with("usrclass.")
    })
}

fn flags_for(kind: EntryKind) -> AceFlags {
    match kind {
        EntryKind::Dir => AceFlags::OICI,
        EntryKind::File => AceFlags::NONE,
    }
}

fn planned(
    path: &Path,
    ace: Ace,
    lifetime: Lifetime,
    root: Option<&Path>,
    why: &str,
) -> PlannedAce {
    PlannedAce {
        path: path.to_path_buf(),
        ace,
        lifetime,
        root: root.map(Path::to_path_buf),
        reason: why.to_string(),
    }
}

/// Plans a level-2 run of `spec` for accounts in the sandbox `group`; `runner` is the
/// executable the sandbox account starts as the runner (it gets a read grant of its own).
pub fn plan(
    spec: &SandboxSpec,
    store: &dyn AclStore,
    registry: &mut SidRegistry,
    host: &HostDirs,
    profile: &ProfileDirs,
    group: &Sid,
    runner: &Path,
) -> Result<ElevatedFsPlan, ElevatedError> {
    if spec.mode == Mode::FullAccess {
        return Err(WindowsError::FullAccess.into());
    }
    // Level 1 plans writes; network and read denial are level 2's own, so they are taken out of
    // the spec handed to it (they are not dropped: the fence, the allow-list proxy and the
    // denies below enforce them).
    let write_spec = SandboxSpec {
        network: Network::On,
        deny_read: Vec::new(),
        allow_unenforced: BTreeSet::new(),
        windows_level: WindowsLevel::Unelevated,
        watched: Vec::new(),
        repos: Vec::new(),
        ..spec.clone()
    };
    let mut windows = plan_with(&write_spec, WindowsLevel::Unelevated, store, registry, host)?;
    let mut extra = Vec::new();
    let mut read_grants = Vec::new();
    let mut denied = Vec::new();
    let mut skipped = Vec::new();

    let modify = AccessMask::MODIFY_WITHOUT_DELETE_CHILD;
    for (root, _) in &windows.roots {
        extra.push(planned(
            root,
            Ace::allow(group.clone(), modify, AceFlags::OICI),
            Lifetime::Kept,
            Some(root),
            "writable root, for the sandbox group (Modify without FILE_DELETE_CHILD)",
        ));
    }
    if !windows
        .roots
        .iter()
        .any(|(r, _)| winpath::same(r, &spec.workspace))
    {
        extra.push(planned(
            &spec.workspace,
            Ace::allow(group.clone(), READ_EXECUTE, AceFlags::OICI),
            Lifetime::Kept,
            Some(&spec.workspace),
            "workspace, readable by the sandbox group",
        ));
    }
    if store.kind(runner).map_err(WindowsError::from)? == Some(EntryKind::File) {
        extra.push(planned(
            runner,
            Ace::allow(group.clone(), READ_EXECUTE, AceFlags::NONE),
            Lifetime::Kept,
            None,
            "Paddock's runner executable, started as the sandbox account",
        ));
    }
    for dir in profile.tool_dirs() {
        match store.kind(&dir).map_err(WindowsError::from)? {
            Some(kind) if !is_registry_hive(&dir) => {
                extra.push(planned(
                    &dir,
                    Ace::allow(group.clone(), READ_EXECUTE, flags_for(kind)),
                    Lifetime::Kept,
                    None,
                    "tool folder, readable by the sandbox group",
                ));
                read_grants.push(dir);
            }
            _ => {}
        }
    }
    let mut deny = |path: &Path,
                    lifetime,
                    why: &str,
                    extra: &mut Vec<PlannedAce>,
                    skipped: &mut Vec<Skipped>| {
        if is_registry_hive(path) {
            skipped.push(Skipped {
                path: path.to_path_buf(),
                reason: "a registry hive never gets an ACE; the profile's own DACL keeps it \
                         from the sandbox accounts"
                    .into(),
            });
            return Ok(());
        }
        match store.kind(path).map_err(WindowsError::from)? {
            Some(kind) => {
                extra.push(planned(
                    path,
                    Ace::deny(group.clone(), DENY_READ, flags_for(kind)),
                    lifetime,
                    None,
                    why,
                ));
                denied.push(path.to_path_buf());
            }
            None => skipped.push(Skipped {
                path: path.to_path_buf(),
                reason: "does not exist; it inherits its folder's ACL when created".into(),
            }),
        }
        Ok::<(), ElevatedError>(())
    };
    for cred in profile.credential_stores() {
        let why = "credential store, denied to the sandbox group";
        deny(&cred, Lifetime::Kept, why, &mut extra, &mut skipped)?;
    }
    for d in &spec.deny_read {
        if d.kind == PathKind::Missing && store.kind(&d.path).map_err(WindowsError::from)?.is_none()
        {
            skipped.push(Skipped {
                path: d.path.clone(),
                reason: "deny-read path does not exist yet".into(),
            });
            continue;
        }
        deny(
            &d.path,
            Lifetime::PerRun,
            "policy deny_read",
            &mut extra,
            &mut skipped,
        )?;
    }
    extra.push(planned(
        &windows.private_temp,
        Ace::allow(group.clone(), modify, AceFlags::OICI),
        Lifetime::PerRun,
        None,
        "the run's private temp directory, for the sandbox group",
    ));
    // Denies first (as level 1 orders them), then grants.
    let (denies, grants): (Vec<_>, Vec<_>) = extra
        .into_iter()
        .partition(|p| p.ace.kind == paddock_windows::acl::AceKind::Deny);
    let private_temp_pos = windows
        .aces
        .iter()
        .position(|a| winpath::same(&a.path, &windows.private_temp))
        .unwrap_or(windows.aces.len());
    let tail = windows.aces.split_off(private_temp_pos);
    windows.aces.extend(denies);
    windows.aces.extend(tail);
    windows.aces.extend(grants);
    windows.not_enforced = Vec::new();
    Ok(ElevatedFsPlan {
        windows,
        group: group.clone(),
        read_grants,
        denied,
        skipped,
    })
}

/// True for a Microsoft Store execution alias (`...\Microsoft\WindowsApps\tool.exe`): it runs
/// only in the signed-in user's own session, so a sandbox account cannot start it (error 1312).
pub fn is_windows_apps_alias(program: &Path) -> bool {
    winpath::key(program).contains(r"\microsoft\windowsapps\")
}

/// The folders whose owner git checks for the real user after a run: each writable root's
/// `.git`. When the sandbox created it (`git init`), the broker gives it back to the user.
pub fn git_dirs_to_reown(spec: &SandboxSpec) -> Vec<PathBuf> {
    spec.writable_roots
        .iter()
        .map(|r| winpath::join(r, ".git"))
        .collect()
}

/// Environment for git inside the sandbox: every writable root and the workspace as
/// `safe.directory` (the sandbox account does not own the repository), through
/// `GIT_CONFIG_COUNT` / `GIT_CONFIG_KEY_n` / `GIT_CONFIG_VALUE_n`, so no config file is written.
pub fn git_safe_directory_env(spec: &SandboxSpec) -> Vec<(OsString, OsString)> {
    let mut dirs: Vec<String> = Vec::new();
    for p in std::iter::once(&spec.workspace).chain(spec.writable_roots.iter()) {
        let text = p.to_string_lossy().replace('\\', "/");
        if !dirs.contains(&text) {
            dirs.push(text);
        }
    }
    let mut env = vec![(
        OsString::from("GIT_CONFIG_COUNT"),
        OsString::from(dirs.len().to_string()),
    )];
    for (i, d) in dirs.iter().enumerate() {
        env.push((
            OsString::from(format!("GIT_CONFIG_KEY_{i}")),
            OsString::from("safe.directory"),
        ));
        env.push((
            OsString::from(format!("GIT_CONFIG_VALUE_{i}")),
            OsString::from(d),
        ));
    }
    env
}

/// The enforcement report of a level-2 run: what the account, token, read confinement, jobs
/// and (for the offline account) the network fence enforce. Built here, from the plan, so that
/// it is tested on every OS.
pub fn report(
    rec: &SetupRecord,
    role: Role,
    account: &str,
    plan: &ElevatedFsPlan,
    proxy: Option<&ProxyReport>,
) -> EnforcementReport {
    let mut layers = vec![
        LayerReport::new(
            Layer::SandboxAccount,
            LayerStatus::Enforced,
            format!(
                "runs as {account} (setup version {}), its own profile loaded",
                rec.version
            ),
        )
        .enforcing([Protection::Privileges]),
        LayerReport::new(
            Layer::RestrictedToken,
            LayerStatus::Enforced,
            format!(
                "write-restricted token of {account}, {} restricting SID(s), verified by the runner",
                plan.windows.token.restricting_sids.len()
            ),
        )
        .enforcing([Protection::Writes, Protection::ProtectedPaths]),
        LayerReport::new(
            Layer::ReadConfinement,
            LayerStatus::Enforced,
            format!(
                "{} reads only granted folders: {} tool folder grant(s), {} deny ACE(s) on \
                 credential stores and deny-read paths",
                rec.group,
                plan.read_grants.len(),
                plan.denied.len()
            ),
        )
        .enforcing([Protection::Reads, Protection::DenyRead]),
        LayerReport::new(
            Layer::JobObject,
            LayerStatus::Enforced,
            "runner and command in kill-on-close jobs; the command on a private desktop",
        )
        .enforcing([Protection::ProcessTree, Protection::Desktop]),
    ];
    let (low, high) = (rec.proxy_ports.low, rec.proxy_ports.high);
    layers.push(match (role, proxy) {
        (Role::Offline, None) => LayerReport::new(
            Layer::NetworkFence,
            LayerStatus::Enforced,
            format!(
                "WFP blocks every connect of {account} except loopback ports {low}-{high}; probed \
                 at start (loopback and {PROBE_OUTSIDE} blocked). Residuals: DNS through \
                 Dnscache, SMB through the redirector, and any program of this machine \
                 listening on 127.0.0.1:{low}-{high}"
            ),
        )
        .enforcing([Protection::Network, Protection::TcpConnect])
        .lacking([Gap::DnsClient, Gap::SmbRedirector, Gap::LoopbackProxyRange]),
        (Role::Offline, Some(p)) => LayerReport::new(
            Layer::NetworkFence,
            LayerStatus::Enforced,
            format!(
                "network allow-list ({} entr{}): WFP blocks every connect of {account} except \
                 loopback ports {low}-{high}; Paddock's proxy holds 127.0.0.1:{} exclusively \
                 and HTTP_PROXY, HTTPS_PROXY and ALL_PROXY point at it; probed at start (the \
                 proxy reached, another loopback port and {PROBE_OUTSIDE} blocked). Residuals: \
                 DNS through Dnscache, SMB through the redirector, and any program of this \
                 machine listening on another port of {low}-{high}{}",
                p.entries,
                if p.entries == 1 { "y" } else { "ies" },
                p.port,
                if p.taken.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (held by another program at start: {})",
                        p.taken
                            .iter()
                            .map(u16::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
        )
        .enforcing([Protection::Network, Protection::TcpConnect])
        .lacking([Gap::DnsClient, Gap::SmbRedirector, Gap::LoopbackProxyRange]),
        (Role::Online, _) => LayerReport::new(
            Layer::Network,
            LayerStatus::NotEnforced,
            "network = \"on\": the online sandbox account is not fenced. Schannel TLS \
             (System32 curl, Invoke-WebRequest, .NET HttpClient, winget) fails under the \
             restricted token; git and other OpenSSL-based tools work",
        ),
    });
    EnforcementReport {
        backend: "windows-elevated".into(),
        unconfined: false,
        layers,
        not_enforced: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_core::spec::{DenyReadPath, ProtectedPath};
    use paddock_windows::access::{TokenModel, access_check, child_descriptor};
    use paddock_windows::grants;
    use paddock_windows::run_acls;
    use paddock_windows::testworld::{ME, World, has, host, p, world};

    const OFFLINE: &str = "S-1-5-21-1004336348-1177238915-682003330-1010";
    const GROUP: &str = "S-1-5-21-1004336348-1177238915-682003330-1009";

    fn sid(s: &str) -> Sid {
        Sid::parse(s).unwrap()
    }

    fn runner() -> PathBuf {
        p(r"C:\Users\me\AppData\Local\paddock-bin\paddock.exe")
    }

    fn profile() -> ProfileDirs {
        ProfileDirs {
            profile: p(r"C:\Users\me"),
            appdata: p(r"C:\Users\me\AppData\Roaming"),
            local_appdata: p(r"C:\Users\me\AppData\Local"),
        }
    }

    fn spec(mode: Mode) -> SandboxSpec {
        let repo = p(r"C:\Users\me\repo");
        SandboxSpec {
            mode,
            workspace: repo.clone(),
            writable_roots: if mode == Mode::WorkspaceWrite {
                vec![repo]
            } else {
                Vec::new()
            },
            protected: vec![
                ProtectedPath {
                    path: p(r"C:\Users\me\repo\.git\hooks"),
                    kind: PathKind::Dir,
                    reason: "test".into(),
                },
                ProtectedPath {
                    path: p(r"C:\Users\me\repo\.git\config"),
                    kind: PathKind::File,
                    reason: "test".into(),
                },
            ],
            deny_read: vec![DenyReadPath {
                path: p(r"C:\Users\me\repo\.env"),
                kind: PathKind::File,
            }],
            network: Network::Off,
            allow_unenforced: BTreeSet::new(),
            windows_level: Default::default(),
            watched: Vec::new(),
            repos: Vec::new(),
        }
    }

    /// Plans `spec` in world `w` on host `h` for the test profile, group and runner.
    fn plan_in(
        w: &mut World,
        h: &HostDirs,
        spec: &SandboxSpec,
    ) -> Result<ElevatedFsPlan, ElevatedError> {
        plan(
            spec,
            &w.store,
            &mut w.registry,
            h,
            &profile(),
            &sid(GROUP),
            &runner(),
        )
    }

    /// The sandbox account's own token, before restriction.
    fn account_token() -> TokenModel {
        TokenModel::user(
            sid(OFFLINE),
            &[
                sid(GROUP),
                Sid::builtin_users(),
                Sid::authenticated_users(),
                Sid::everyone(),
            ],
        )
    }

    /// Plans and applies `mode` in a fresh world; returns the world, plan and target token.
    fn applied(mode: Mode) -> (World, ElevatedFsPlan, TokenModel) {
        let mut w = world();
        let h = host();
        let plan = plan_in(&mut w, &h, &spec(mode)).unwrap();
        let run = run_acls::apply(&plan.windows, &mut w.store, &w.registry).unwrap();
        std::mem::forget(run);
        let token = plan.windows.token.model(&account_token());
        (w, plan, token)
    }

    const READ: AccessMask = AccessMask::FILE_GENERIC_READ;
    const WRITE: AccessMask = AccessMask::FILE_GENERIC_WRITE;

    #[test]
    fn sandbox_account_cannot_read_ssh_keys_or_windows_credentials() {
        let (w, _, t) = applied(Mode::WorkspaceWrite);
        assert!(!has(&w, &t, r"C:\Users\me\.ssh\id_ed25519", READ));
        assert!(!has(
            &w,
            &t,
            r"C:\Users\me\.ssh",
            AccessMask::FILE_READ_DATA
        ));
        assert!(!has(
            &w,
            &t,
            r"C:\Users\me\AppData\Roaming\Microsoft\Credentials\blob",
            READ
        ));
    }

    #[test]
    fn ssh_keys_stay_denied_even_if_the_profile_were_granted() {
        let (mut w, _, t) = applied(Mode::WorkspaceWrite);
        w.store
            .add_explicit(
                &p(r"C:\Users\me"),
                &[Ace::allow(sid(GROUP), READ, AceFlags::OICI)],
            )
            .unwrap();
        assert!(
            has(&w, &t, r"C:\Users\me\other\notes.txt", READ),
            "grant took effect"
        );
        assert!(
            !has(&w, &t, r"C:\Users\me\.ssh\id_ed25519", READ),
            "explicit deny wins"
        );
    }

    #[test]
    fn sandbox_account_reads_and_runs_tools_and_system_files() {
        let (w, plan, t) = applied(Mode::WorkspaceWrite);
        for f in [
            r"C:\Users\me\.cargo\bin\cargo.exe",
            r"C:\Users\me\AppData\Local\Programs\tool\tool.exe",
            r"C:\Windows\System32\cmd.exe",
        ] {
            assert!(has(&w, &t, f, READ_EXECUTE), "{f}");
        }
        assert!(plan.read_grants.contains(&p(r"C:\Users\me\.cargo\bin")));
    }

    #[test]
    fn sandbox_account_runs_the_runner_but_not_its_neighbours() {
        let (mut w, _, t) = applied(Mode::WorkspaceWrite);
        w.store
            .create_file(&p(r"C:\Users\me\AppData\Local\paddock-bin\other.txt"))
            .unwrap();
        assert!(has(
            &w,
            &t,
            r"C:\Users\me\AppData\Local\paddock-bin\paddock.exe",
            READ_EXECUTE
        ));
        assert!(!has(
            &w,
            &t,
            r"C:\Users\me\AppData\Local\paddock-bin\other.txt",
            READ
        ));
    }

    #[test]
    fn cargo_credentials_beside_a_granted_tool_folder_stay_unreadable() {
        let (w, plan, t) = applied(Mode::WorkspaceWrite);
        assert!(!has(&w, &t, r"C:\Users\me\.cargo\credentials.toml", READ));
        assert!(!plan.read_grants.contains(&p(r"C:\Users\me\.cargo")));
    }

    #[test]
    fn the_rest_of_the_profile_is_unreadable_for_the_sandbox_account() {
        let (w, _, t) = applied(Mode::WorkspaceWrite);
        assert!(!has(&w, &t, r"C:\Users\me\other\notes.txt", READ));
        assert!(!has(&w, &t, r"C:\Users\me\NTUSER.DAT", READ));
    }

    #[test]
    fn sandbox_account_writes_the_workspace_but_not_hooks_config_or_outside() {
        let (w, _, t) = applied(Mode::WorkspaceWrite);
        assert!(has(&w, &t, r"C:\Users\me\repo\src\main.rs", WRITE | READ));
        assert!(!has(
            &w,
            &t,
            r"C:\Users\me\repo\.git\hooks\pre-commit",
            WRITE
        ));
        assert!(!has(&w, &t, r"C:\Users\me\repo\.git\config", WRITE));
        assert!(!has(&w, &t, r"C:\Users\me\other\notes.txt", WRITE));
        assert!(!has(&w, &t, r"C:\Windows\System32\cmd.exe", WRITE));
    }

    #[test]
    fn read_only_mode_reads_the_workspace_and_writes_nothing() {
        let (w, _, t) = applied(Mode::ReadOnly);
        assert!(has(&w, &t, r"C:\Users\me\repo\src\main.rs", READ));
        assert!(!has(&w, &t, r"C:\Users\me\repo\src\main.rs", WRITE));
    }

    #[test]
    fn policy_deny_read_inside_the_workspace_beats_the_root_grant() {
        let (w, plan, t) = applied(Mode::WorkspaceWrite);
        assert!(!has(&w, &t, r"C:\Users\me\repo\.env", READ));
        assert!(plan.denied.contains(&p(r"C:\Users\me\repo\.env")));
    }

    #[test]
    fn a_registry_hive_never_gets_an_ace_even_when_listed_in_deny_read() {
        let mut w = world();
        let h = host();
        let mut s = spec(Mode::WorkspaceWrite);
        s.deny_read.push(DenyReadPath {
            path: p(r"C:\Users\me\NTUSER.DAT"),
            kind: PathKind::File,
        });
        let plan = plan_in(&mut w, &h, &s).unwrap();
        assert!(plan.windows.aces.iter().all(|a| !is_registry_hive(&a.path)));
        assert!(plan.skipped.iter().any(|k| is_registry_hive(&k.path)));
        let run = run_acls::apply(&plan.windows, &mut w.store, &w.registry).unwrap();
        run.finish(&mut w.store).unwrap();
    }

    fn setup_record() -> SetupRecord {
        SetupRecord {
            version: crate::setup_plan::SETUP_VERSION,
            group: "PaddockSandbox".into(),
            group_sid: sid(GROUP),
            brokers_group_sid: None,
            accounts: vec![("PaddockOffline".into(), Role::Offline, sid(OFFLINE))],
            proxy_ports: crate::filters::DEFAULT_PROXY_PORTS,
        }
    }

    #[test]
    fn level_two_reports_network_and_deny_read_as_enforced() {
        // The spec asks for network off and a deny-read file, which level 1 refuses.
        let (w, plan, t) = applied(Mode::WorkspaceWrite);
        assert!(!has(&w, &t, r"C:\Users\me\repo\.env", READ));
        let offline = report(
            &setup_record(),
            Role::Offline,
            "PaddockOffline",
            &plan,
            None,
        );
        assert!(offline.not_enforced.is_empty(), "{offline:?}");
        assert!(!offline.unconfined);
        let layer = |name: &str| {
            offline
                .layers
                .iter()
                .find(|l| l.name == name)
                .unwrap_or_else(|| panic!("no {name} layer in {offline:?}"))
        };
        assert_eq!(layer("network-fence").status, LayerStatus::Enforced);
        assert!(
            offline.enforces(paddock_core::Capability::Network),
            "{offline:?}"
        );
        assert!(offline.enforces(Protection::TcpConnect), "{offline:?}");
        assert!(
            offline.enforces(paddock_core::Capability::DenyRead),
            "{offline:?}"
        );
        assert!(offline.gaps().any(|g| *g == Gap::DnsClient), "{offline:?}");
        let reads = layer("read-confinement");
        assert_eq!(reads.status, LayerStatus::Enforced);
        assert!(
            plan.denied.contains(&p(r"C:\Users\me\repo\.env")),
            "{:?}",
            plan.denied
        );
        assert!(
            reads
                .detail
                .contains(&format!("{} deny ACE(s)", plan.denied.len())),
            "{reads:?}"
        );
        assert!(
            offline
                .layers
                .iter()
                .all(|l| l.status == LayerStatus::Enforced),
            "{offline:?}"
        );
        // The online account is not fenced, and the report says so.
        let online = report(&setup_record(), Role::Online, "PaddockOnline", &plan, None);
        assert!(
            online
                .layers
                .iter()
                .any(|l| l.name == "network" && l.status == LayerStatus::NotEnforced),
            "{online:?}"
        );
        assert!(
            !online.enforces(paddock_core::Capability::Network),
            "{online:?}"
        );
        assert!(
            online.enforces(paddock_core::Capability::DenyRead),
            "{online:?}"
        );
    }

    #[test]
    fn everything_level_two_applied_is_removed_by_finish_and_forget_all() {
        let mut w = world();
        let before = w.store.snapshot();
        let h = host();
        let plan = plan_in(&mut w, &h, &spec(Mode::WorkspaceWrite)).unwrap();
        let run = run_acls::apply(&plan.windows, &mut w.store, &w.registry).unwrap();
        assert_ne!(w.store.snapshot(), before);
        run.finish(&mut w.store).unwrap();
        grants::forget_all(&mut w.store, &mut w.registry).unwrap();
        // What remains is Paddock's own state folder (run temp dirs); every ACE on the user's
        // files is gone and nothing was created among them.
        let state = winpath::key(w.registry.windows_dir());
        let mut after = w.store.snapshot();
        after.retain(|k, _| !k.starts_with(&format!("{state}\\")));
        assert_eq!(after, before);
    }

    #[test]
    fn files_the_sandbox_creates_in_the_workspace_stay_usable_by_the_real_user() {
        let (w, _, _) = applied(Mode::WorkspaceWrite);
        let parent = w.store.read(&p(r"C:\Users\me\repo\src")).unwrap();
        let created = child_descriptor(&parent, Vec::new(), false, &sid(OFFLINE));
        let me = TokenModel::user(sid(ME), &[Sid::builtin_users(), Sid::everyone()]);
        assert!(
            access_check(
                &me,
                &created,
                READ | WRITE | AccessMask::DELETE | AccessMask::WRITE_OWNER
            )
            .allowed()
        );
    }

    #[test]
    fn a_control_file_the_sandbox_account_plants_stays_removable_by_the_real_user() {
        // A missing control path carries no deny: the command may create `.git\info\attributes`
        // (a new `.git\info`), owned by the sandbox account. The after-run check removes it with
        // the real user's rights, so the account must not be able to lock the user out of it.
        let (w, _, t) = applied(Mode::WorkspaceWrite);
        let git = w.store.read(&p(r"C:\Users\me\repo\.git")).unwrap();
        assert!(
            access_check(&t, &git, AccessMask::FILE_APPEND_DATA).allowed(),
            "the account can create the missing .git\\info"
        );
        let info = child_descriptor(&git, Vec::new(), true, &sid(OFFLINE));
        let planted = child_descriptor(&info, Vec::new(), false, &sid(OFFLINE));
        for d in [&info, &planted] {
            for mask in [AccessMask::WRITE_DAC, AccessMask::WRITE_OWNER] {
                assert!(
                    !access_check(&t, d, mask).allowed(),
                    "the owning account gets {mask:?} and could shut the user out"
                );
            }
        }
        let me = TokenModel::user(sid(ME), &[Sid::builtin_users(), Sid::everyone()]);
        for d in [&planted, &info] {
            assert!(access_check(&me, d, AccessMask::DELETE | READ).allowed());
        }
        assert!(
            access_check(&me, &info, AccessMask::FILE_READ_DATA).allowed(),
            "the user lists it to remove its contents"
        );
    }

    #[test]
    fn sandbox_git_trusts_the_workspace_through_config_env() {
        let env = git_safe_directory_env(&spec(Mode::WorkspaceWrite));
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(get("GIT_CONFIG_COUNT").as_deref(), Some("1"));
        assert_eq!(get("GIT_CONFIG_KEY_0").as_deref(), Some("safe.directory"));
        assert_eq!(
            get("GIT_CONFIG_VALUE_0").as_deref(),
            Some("C:/Users/me/repo")
        );
    }

    #[test]
    fn the_git_dir_of_each_writable_root_is_given_back_after_a_run() {
        let dirs = git_dirs_to_reown(&spec(Mode::WorkspaceWrite));
        assert_eq!(dirs, vec![p(r"C:\Users\me\repo\.git")]);
        assert!(git_dirs_to_reown(&spec(Mode::ReadOnly)).is_empty());
    }

    #[test]
    fn store_execution_aliases_are_recognised() {
        assert!(is_windows_apps_alias(&p(
            r"C:\Users\me\AppData\Local\Microsoft\WindowsApps\python.exe"
        )));
        assert!(!is_windows_apps_alias(&p(r"C:\Python312\python.exe")));
    }

    #[test]
    fn a_missing_protected_path_is_refused_and_nothing_is_created_for_it() {
        let mut w = world();
        let before = w.store.snapshot();
        let h = host();
        let mut s = spec(Mode::WorkspaceWrite);
        s.protected.push(ProtectedPath {
            path: p(r"C:\Users\me\repo\.git\info"),
            kind: PathKind::Missing,
            reason: "test".into(),
        });
        let err = plan_in(&mut w, &h, &s).unwrap_err();
        assert!(
            matches!(
                err,
                ElevatedError::Windows(WindowsError::ProtectedMissing { .. })
            ),
            "{err}"
        );
        assert_eq!(w.store.snapshot(), before);
    }

    #[test]
    fn an_allow_list_plans_exactly_like_network_off_and_full_access_is_refused() {
        let mut w = world();
        let h = host();
        let off = plan_in(&mut w, &h, &spec(Mode::WorkspaceWrite)).unwrap();
        let mut s = spec(Mode::WorkspaceWrite);
        s.network = Network::Allowlist(vec!["example.com".into()]);
        let allow = plan_in(&mut w, &h, &s).unwrap();
        // The run's own SID and temp folder differ between any two plans; nothing else does.
        assert_eq!(
            allow.windows.roots, off.windows.roots,
            "the allow-list changes no file rule"
        );
        assert_eq!(allow.denied, off.denied);
        assert_eq!(allow.read_grants, off.read_grants);
        assert_eq!(allow.windows.aces.len(), off.windows.aces.len());
        assert!(plan_in(&mut w, &h, &spec(Mode::FullAccess)).is_err());
    }

    #[test]
    fn an_allow_list_report_names_the_proxy_port_and_the_ports_other_programs_held() {
        let (_, plan, _) = applied(Mode::WorkspaceWrite);
        let proxy = ProxyReport {
            port: 47802,
            entries: 2,
            taken: vec![47800, 47801],
        };
        let r = report(
            &setup_record(),
            Role::Offline,
            "PaddockOffline",
            &plan,
            Some(&proxy),
        );
        let fence = r
            .layers
            .iter()
            .find(|l| l.name == "network-fence")
            .unwrap_or_else(|| panic!("no fence layer in {r:?}"));
        assert_eq!(fence.status, LayerStatus::Enforced);
        for want in [
            "network allow-list (2 entries)",
            "127.0.0.1:47802",
            "held by another program at start: 47800, 47801",
        ] {
            assert!(fence.detail.contains(want), "{want}: {fence:?}");
        }
        assert!(r.enforces(paddock_core::Capability::Network), "{r:?}");
        assert!(r.gaps().any(|g| *g == Gap::LoopbackProxyRange), "{r:?}");
    }
}
