//! Attacks on Windows level 2, for real Windows as administrator only (Wine stubs accounts,
//! logon, LSA and WFP): each test tries to cross a boundary and must fail, next to the
//! legitimate work that must succeed. Every test runs `setup` first (idempotent) under one lock.
//! Run by the elevated Windows CI job with `--ignored`; `scripts/windows-smoke-elevated.ps1`
//! covers the same ground through the `paddock` binary.
#![cfg(windows)]

use paddock_core::policy::{Mode, Network};
use paddock_core::spec::{CommandSpec, DenyReadPath, PathKind};
use paddock_core::{NetworkLog, SandboxSpec};
use paddock_runner::{ExitInfo, Outcome, RunOptions, StdioMode, run};
use paddock_windows::apply::long_path::strip_verbatim;
use paddock_windows::apply::shell::{Env, KnownShell, find_shell};
use paddock_windows_elevated::setup_plan::{GROUP_NAME, OFFLINE_ACCOUNT, ONLINE_ACCOUNT};
use paddock_windows_elevated::win::{self, SetupOptions, SetupResult, accounts};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

static MACHINE: Mutex<()> = Mutex::new(());

fn set_up() {
    // SAFETY: every test takes MACHINE first, so no other thread reads the environment here.
    unsafe {
        std::env::set_var(
            "PADDOCK_RUNNER_EXE",
            env!("CARGO_BIN_EXE_paddock-elevated-runner"),
        )
    };
    match win::setup(&SetupOptions::default()).unwrap() {
        SetupResult::Done(_) => {}
        SetupResult::Elevated { .. } => panic!("the test must run elevated"),
    }
}

fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = strip_verbatim(&std::fs::canonicalize(dir.path()).unwrap());
    (dir, path)
}

fn spec(ws: &Path, network: Network, deny_read: Vec<DenyReadPath>) -> SandboxSpec {
    SandboxSpec {
        mode: Mode::WorkspaceWrite,
        workspace: ws.to_path_buf(),
        writable_roots: vec![ws.to_path_buf()],
        protected: Vec::new(),
        deny_read,
        network,
        allow_unenforced: BTreeSet::new(),
        windows_level: Default::default(),
        watched: Vec::new(),
        repos: Vec::new(),
    }
}

fn sandboxed(spec: &SandboxSpec, script: &str) -> Outcome {
    sandboxed_logged(spec, script, &NetworkLog::default())
}

fn sandboxed_logged(spec: &SandboxSpec, script: &str, log: &NetworkLog) -> Outcome {
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let cmd = CommandSpec {
        program: find_shell(KnownShell::Cmd, Env(&env)).unwrap(),
        args: vec!["/d".into(), "/c".into(), script.into()],
        cwd: spec.workspace.clone(),
        env,
    };
    let (process, report) = win::prepare_elevated(spec, &cmd, StdioMode::Capture, log).unwrap();
    assert_eq!(report.backend, "windows-elevated");
    let opts = RunOptions {
        stdio: StdioMode::Capture,
        timeout: Some(Duration::from_secs(60)),
        ..RunOptions::default()
    };
    run(process, &opts).unwrap()
}

fn powershell_connect(port: u16) -> String {
    format!(
        "powershell -NoProfile -Command \"try {{ (New-Object Net.Sockets.TcpClient).Connect(\
         '127.0.0.1', {port}); exit 0 }} catch {{ exit 3 }}\""
    )
}

#[test]
#[ignore = "real Windows, elevated"]
fn offline_account_cannot_connect_to_a_loopback_listener() {
    let _m = MACHINE.lock().unwrap();
    set_up();
    let (_d, ws) = workspace();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = sandboxed(
        &spec(&ws, Network::Off, Vec::new()),
        &powershell_connect(port),
    );
    assert_eq!(
        out.status,
        ExitInfo::Code(3),
        "the fence let a connect through"
    );
}

/// An HTTP server on the host's 127.0.0.1 (outside the fence's hole) answering every request
/// with `hello from paddock-origin`.
fn origin() -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = "hello from paddock-origin";
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
#[ignore = "real Windows, elevated"]
fn an_allow_list_reaches_listed_hosts_through_the_proxy_only() {
    let _m = MACHINE.lock().unwrap();
    set_up();
    let (_d, ws) = workspace();
    let port = origin();
    let s = spec(
        &ws,
        Network::Allowlist(vec!["127.0.0.1".into()]),
        Vec::new(),
    );
    // NO_PROXY lists 127.0.0.1; drop it so curl goes through the proxy named by HTTP_PROXY.
    let curl = "set NO_PROXY=&& curl.exe -s -S --max-time 20 -x %HTTP_PROXY%";
    let log = NetworkLog::default();
    let out = sandboxed_logged(&s, &format!("{curl} http://127.0.0.1:{port}/listed"), &log);
    let text = String::from_utf8_lossy(&out.stdout.data);
    assert_eq!(out.status, ExitInfo::Code(0), "{text}");
    assert!(text.contains("hello from paddock-origin"), "{text}");
    let events = log.take();
    assert!(
        events.iter().any(|e| e.allowed && e.port == port),
        "{events:?}"
    );
    let out = sandboxed_logged(
        &s,
        &format!("{curl} -w code=%{{http_code}} http://unlisted.invalid/x"),
        &log,
    );
    let text = String::from_utf8_lossy(&out.stdout.data);
    assert!(text.contains("code=403"), "{text}");
    let events = log.take();
    assert!(
        events
            .iter()
            .any(|e| !e.allowed && e.host == "unlisted.invalid"),
        "{events:?}"
    );
    // The proxy's port without the run's token (what another run's command would try;
    // `%HTTP_PROXY:*@=%` is the URL after its userinfo): 407, recorded, the origin unreached.
    let out = sandboxed_logged(
        &s,
        &format!(
            "set NO_PROXY=&& curl.exe -s -S --max-time 20 -w code=%{{http_code}} \
             -x http://%HTTP_PROXY:*@=% http://127.0.0.1:{port}/stolen"
        ),
        &log,
    );
    let text = String::from_utf8_lossy(&out.stdout.data);
    assert!(text.contains("code=407"), "{text}");
    let events = log.take();
    assert!(
        events
            .iter()
            .any(|e| !e.allowed && e.reason.starts_with("no proxy credential")),
        "{events:?}"
    );
    // Without the proxy: the origin directly (a loopback port outside the hole), and outside.
    let out = sandboxed(&s, &powershell_connect(port));
    assert_eq!(
        out.status,
        ExitInfo::Code(3),
        "a direct loopback connect went through"
    );
    let out = sandboxed(
        &s,
        "powershell -NoProfile -Command \"try { (New-Object Net.Sockets.TcpClient).Connect(\
         '1.1.1.1', 443); exit 0 } catch { exit 3 }\"",
    );
    assert_eq!(
        out.status,
        ExitInfo::Code(3),
        "a direct outside connect went through"
    );
}

#[test]
#[ignore = "real Windows, elevated"]
fn online_account_reaches_a_loopback_listener() {
    let _m = MACHINE.lock().unwrap();
    set_up();
    let (_d, ws) = workspace();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = sandboxed(
        &spec(&ws, Network::On, Vec::new()),
        &powershell_connect(port),
    );
    assert_eq!(out.status, ExitInfo::Code(0));
}

#[test]
#[ignore = "real Windows, elevated"]
fn sandbox_account_cannot_read_ssh_keys_but_writes_the_workspace() {
    let _m = MACHINE.lock().unwrap();
    set_up();
    let (_d, ws) = workspace();
    let profile = PathBuf::from(std::env::var_os("USERPROFILE").unwrap());
    let ssh = profile.join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    let key = ssh.join("paddock_test_key");
    std::fs::write(&key, "SECRET-KEY").unwrap();
    let out = sandboxed(
        &spec(&ws, Network::Off, Vec::new()),
        &format!("type \"{}\" & echo made> made.txt", key.display()),
    );
    assert!(!String::from_utf8_lossy(&out.stdout.data).contains("SECRET-KEY"));
    assert_eq!(
        std::fs::read_to_string(ws.join("made.txt")).unwrap().trim(),
        "made"
    );
    std::fs::remove_file(&key).unwrap();
}

#[test]
#[ignore = "real Windows, elevated"]
fn a_deny_read_file_in_the_workspace_is_unreadable_for_the_sandbox() {
    let _m = MACHINE.lock().unwrap();
    set_up();
    let (_d, ws) = workspace();
    std::fs::write(ws.join(".env"), "TOKEN=hunter2").unwrap();
    std::fs::write(ws.join("README"), "public").unwrap();
    let deny = vec![DenyReadPath {
        path: ws.join(".env"),
        kind: PathKind::File,
    }];
    let out = sandboxed(&spec(&ws, Network::Off, deny), "type .env & type README");
    let text = String::from_utf8_lossy(&out.stdout.data);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("public"), "{text}");
}

#[test]
#[ignore = "real Windows, elevated"]
fn uninstall_leaves_no_account_group_filter_record_or_ace_behind() {
    let _m = MACHINE.lock().unwrap();
    set_up();
    let (_d, ws) = workspace();
    sandboxed(&spec(&ws, Network::Off, Vec::new()), "echo hi");
    assert_eq!(win::status().fence_installed, Some(true));
    match win::uninstall(&SetupOptions::default()).unwrap() {
        SetupResult::Done(out) => assert!(out.aces_removed > 0),
        SetupResult::Elevated { .. } => panic!("the test must run elevated"),
    }
    for name in [OFFLINE_ACCOUNT, ONLINE_ACCOUNT, GROUP_NAME] {
        assert_eq!(accounts::lookup_sid(name).unwrap(), None, "{name}");
    }
    let st = win::status();
    assert!(st.record.is_none());
    assert_eq!(st.kept_grants, 0);
    let engine = win::wfp::Engine::open().unwrap();
    let any_sid = paddock_windows::sid::Sid::everyone();
    let keys = paddock_windows_elevated::filters::fence(
        &any_sid,
        paddock_windows_elevated::filters::DEFAULT_PROXY_PORTS,
    );
    for f in &keys.filters {
        let one = paddock_windows_elevated::filters::FenceSpec {
            sublayer: keys.sublayer.clone(),
            filters: vec![f.clone()],
        };
        assert!(
            !engine.present(&one).unwrap(),
            "filter {} left behind",
            f.key
        );
    }
}
