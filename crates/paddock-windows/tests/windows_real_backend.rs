//! Attacks on the level-1 sandbox through `prepare`, for real Windows only (Wine enforces neither
//! tokens nor ACLs): each test tries to cross a boundary and must fail, and does the legitimate
//! work next to it, which must succeed. Run by the Windows CI job with `--ignored`.
#![cfg(windows)]

use paddock_core::SandboxSpec;
use paddock_core::policy::{Mode, Network, WindowsLevel};
use paddock_core::spec::{CommandSpec, PathKind, ProtectedPath};
use paddock_runner::{ExitInfo, Outcome, RunOptions, StdioMode, run};
use paddock_windows::acl::AceKind;
use paddock_windows::apply::acl::NtfsAclStore;
use paddock_windows::apply::backend::prepare;
use paddock_windows::apply::long_path::strip_verbatim;
use paddock_windows::apply::shell::{Env, KnownShell, find_shell};
use paddock_windows::mask::AccessMask;
use paddock_windows::sid_registry::SidRegistry;
use paddock_windows::store::AclStore;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

static STATE: Once = Once::new();

/// Points Paddock's state at a folder of its own, once for the whole binary.
fn isolated_state() {
    STATE.call_once(|| {
        let dir = std::env::temp_dir().join(format!("paddock-real-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // SAFETY: runs once, before any test of this binary reads the environment (every test
        // calls this first and `Once` blocks them until it is done).
        unsafe { std::env::set_var("PADDOCK_STATE_DIR", &dir) };
    });
}

fn real_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = strip_verbatim(&std::fs::canonicalize(dir.path()).unwrap());
    (dir, path)
}

fn spec(ws: &Path, protected: Vec<ProtectedPath>) -> SandboxSpec {
    SandboxSpec {
        mode: Mode::WorkspaceWrite,
        workspace: ws.to_path_buf(),
        writable_roots: vec![ws.to_path_buf()],
        protected,
        deny_read: Vec::new(),
        network: Network::On,
        allow_unenforced: BTreeSet::new(),
        windows_level: Default::default(),
        watched: Vec::new(),
        repos: Vec::new(),
    }
}

fn sandboxed(spec: &SandboxSpec, script: &str, timeout: Duration) -> Outcome {
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let cmd = CommandSpec {
        program: find_shell(KnownShell::Cmd, Env(&env)).unwrap(),
        args: vec!["/c".into(), script.into()],
        cwd: spec.workspace.clone(),
        env,
    };
    let (child, report) =
        prepare(spec, &cmd, WindowsLevel::Unelevated, StdioMode::Capture).unwrap();
    assert!(report.layers.iter().any(|l| l.name == "restricted-token"));
    let opts = RunOptions {
        stdio: StdioMode::Capture,
        timeout: Some(timeout),
        ..RunOptions::default()
    };
    run(child, &opts).unwrap()
}

fn hooks(ws: &Path) -> ProtectedPath {
    ProtectedPath {
        path: ws.join(r".git\hooks"),
        kind: PathKind::Dir,
        reason: "git hooks run code".into(),
    }
}

#[test]
#[ignore = "real Windows only: Wine enforces neither restricted tokens nor ACLs"]
fn workspace_write_allows_inside_and_denies_outside() {
    isolated_state();
    let (_w, ws) = real_dir();
    let (_o, outside) = real_dir();
    let script = format!(
        r#"echo in> "{}\in.txt" & echo out> "{}\out.txt""#,
        ws.display(),
        outside.display()
    );
    sandboxed(&spec(&ws, Vec::new()), &script, Duration::from_secs(60));
    assert!(
        ws.join("in.txt").exists(),
        "legitimate write inside the workspace failed"
    );
    assert!(
        !outside.join("out.txt").exists(),
        "the sandbox wrote outside its workspace"
    );
}

#[test]
#[ignore = "real Windows only: Wine enforces neither restricted tokens nor ACLs"]
fn workspace_write_denies_write_to_home() {
    isolated_state();
    let (_w, ws) = real_dir();
    let home = PathBuf::from(std::env::var_os("USERPROFILE").unwrap());
    let target = home.join(format!("paddock-escape-{}.txt", std::process::id()));
    let outcome = sandboxed(
        &spec(&ws, Vec::new()),
        &format!(r#"echo escaped> "{}""#, target.display()),
        Duration::from_secs(60),
    );
    let escaped = target.exists();
    let _ = std::fs::remove_file(&target);
    assert!(!escaped, "the sandbox wrote into the user's profile");
    assert_ne!(outcome.status, ExitInfo::Code(0));
}

#[test]
#[ignore = "real Windows only: Wine enforces neither restricted tokens nor ACLs"]
fn protected_git_hooks_stay_read_only_under_any_spelling() {
    isolated_state();
    let (_w, ws) = real_dir();
    std::fs::create_dir_all(ws.join(r".git\hooks")).unwrap();
    let attempts = [
        r".git\hooks\pre-commit",
        r".GiT\HOOKS\pre-commit",
        r".git\hooks.\pre-commit",
        r".git\hooks\pre-commit:evil",
    ];
    let mut script = String::from("echo ok> src.txt");
    for a in attempts {
        script.push_str(&format!(r#" & echo hook> "{}\{a}""#, ws.display()));
    }
    script.push_str(r#" & rd /s /q .git\hooks & ren .git\hooks gone & ren .git git-moved"#);
    sandboxed(
        &spec(&ws, vec![hooks(&ws)]),
        &script,
        Duration::from_secs(60),
    );
    assert!(
        ws.join("src.txt").exists(),
        "legitimate write next to .git failed"
    );
    assert!(
        ws.join(r".git\hooks").is_dir(),
        ".git\\hooks was removed or renamed"
    );
    assert!(
        !ws.join(r".git\hooks\pre-commit").exists(),
        "a hook was planted"
    );
}

#[test]
#[ignore = "real Windows only: Wine enforces neither restricted tokens nor ACLs"]
fn kept_grant_survives_two_runs_without_a_second_change_and_per_run_entries_go() {
    isolated_state();
    let (_w, ws) = real_dir();
    let store = NtfsAclStore::new();
    let s = spec(&ws, vec![hooks(&ws)]);
    std::fs::create_dir_all(ws.join(r".git\hooks")).unwrap();
    sandboxed(&s, "echo one> one.txt", Duration::from_secs(60));
    let after_first = store.read(&ws).unwrap();
    let hooks_after_first = store.read(&ws.join(r".git\hooks")).unwrap();
    sandboxed(&s, "echo two> two.txt", Duration::from_secs(60));
    assert!(ws.join("two.txt").exists());
    assert_eq!(
        store.read(&ws).unwrap(),
        after_first,
        "the kept grant was rewritten by run two"
    );
    assert_eq!(
        store.read(&ws.join(r".git\hooks")).unwrap(),
        hooks_after_first
    );
    let root_sid = SidRegistry::open_default()
        .unwrap()
        .lookup(&ws)
        .unwrap()
        .unwrap();
    let explicit: Vec<_> = after_first.dacl.unwrap().explicit().cloned().collect();
    let mine: Vec<_> = explicit
        .iter()
        .filter(|a| a.sid == root_sid)
        .map(|a| (a.kind, a.mask))
        .collect();
    assert_eq!(
        mine,
        [
            (AceKind::Deny, AccessMask::DELETE),
            (AceKind::Allow, AccessMask::MODIFY_WITHOUT_DELETE_CHILD)
        ],
        "only the kept DELETE deny and grant stay between runs: {explicit:?}"
    );
}

#[test]
#[ignore = "real Windows only: Wine enforces neither restricted tokens nor ACLs"]
fn timeout_kills_the_tree_before_it_can_write_later() {
    isolated_state();
    let (_w, ws) = real_dir();
    let outcome = sandboxed(
        &spec(&ws, Vec::new()),
        "ping -n 6 127.0.0.1 > NUL & echo late> late.txt",
        Duration::from_secs(1),
    );
    assert!(outcome.timed_out);
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        !ws.join("late.txt").exists(),
        "a process of the tree outlived the timeout"
    );
}

#[test]
#[ignore = "real Windows only: Wine enforces neither restricted tokens nor ACLs"]
fn sandboxed_output_and_exit_code_pass_through() {
    isolated_state();
    let (_w, ws) = real_dir();
    let outcome = sandboxed(
        &spec(&ws, Vec::new()),
        "echo hello& exit 5",
        Duration::from_secs(60),
    );
    assert_eq!(outcome.status, ExitInfo::Code(5));
    assert_eq!(
        String::from_utf8_lossy(&outcome.stdout.data).trim(),
        "hello"
    );
}

#[test]
#[ignore = "real Windows only: Wine has no PowerShell and enforces no tokens"]
fn powershell_starts_under_the_token_and_writes_only_inside() {
    isolated_state();
    let (_w, ws) = real_dir();
    let (_o, outside) = real_dir();
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let script = format!(
        "Set-Content -Path ps.txt -Value ok; Set-Content -Path '{}' -Value escaped",
        outside.join("ps-out.txt").display()
    );
    let cmd = CommandSpec {
        program: find_shell(KnownShell::WindowsPowerShell, Env(&env)).unwrap(),
        args: vec!["-Command".into(), script.into()],
        cwd: ws.clone(),
        env,
    };
    let (child, _) = prepare(
        &spec(&ws, Vec::new()),
        &cmd,
        WindowsLevel::Unelevated,
        StdioMode::Capture,
    )
    .unwrap();
    let opts = RunOptions {
        stdio: StdioMode::Capture,
        timeout: Some(Duration::from_secs(120)),
        ..RunOptions::default()
    };
    let outcome = run(child, &opts).unwrap();
    let stderr = String::from_utf8_lossy(&outcome.stderr.data);
    assert_ne!(
        outcome.status,
        ExitInfo::Code(0xC000_0142_u32 as i32),
        "PowerShell died in DLL init (STATUS_DLL_INIT_FAILED): {stderr}"
    );
    assert!(
        ws.join("ps.txt").exists(),
        "PowerShell could not write inside: {stderr}"
    );
    assert!(
        !outside.join("ps-out.txt").exists(),
        "PowerShell wrote outside the workspace"
    );
}
