//! Starting commands through the real apply layer: restricted token from a plan, private
//! desktop, the runner's job, captured pipes, exit codes, timeout killing the tree, and the
//! cleanup guard. Wine runs this plumbing (it does not enforce the token; enforcement is the
//! smoke script's job on real Windows).
#![cfg(windows)]

use paddock_core::spec::CommandSpec;
use paddock_runner::windows::JobLimits;
use paddock_runner::{ExitInfo, RunOptions, StdioMode, run};
use paddock_windows::access::Privilege;
use paddock_windows::acl::{Ace, AceFlags, Acl};
use paddock_windows::apply::desktop::PrivateDesktop;
use paddock_windows::apply::launch::{Cleanup, Containment, TreeEnd, start};
use paddock_windows::apply::shell::{Env, KnownShell, find_shell};
use paddock_windows::apply::token::RestrictedToken;
use paddock_windows::mask::AccessMask;
use paddock_windows::plan::TokenPlan;
use paddock_windows::sid::Sid;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn token_plan() -> TokenPlan {
    let run_sid = Sid::synthetic().unwrap();
    TokenPlan {
        write_restricted: true,
        disable_max_privilege: true,
        lua_token: true,
        restricting_sids: vec![Sid::synthetic().unwrap(), run_sid.clone()],
        run_sid: run_sid.clone(),
        deny_only: Vec::new(),
        retained_privileges: vec![Privilege::ChangeNotify],
        default_dacl: Acl::new(vec![
            Ace::allow(Sid::owner_rights(), AccessMask::GENERIC_ALL, AceFlags::NONE),
            Ace::allow(Sid::local_system(), AccessMask::GENERIC_ALL, AceFlags::NONE),
            Ace::allow(run_sid, AccessMask::GENERIC_ALL, AceFlags::NONE),
        ]),
    }
}

fn containment() -> Containment {
    let plan = token_plan();
    Containment {
        token: RestrictedToken::create(&plan).unwrap(),
        desktop: Some(PrivateDesktop::create(std::slice::from_ref(&plan.run_sid)).unwrap()),
        limits: JobLimits::default(),
        keep_powershell_profile: false,
    }
}

fn cmd(script: &str) -> CommandSpec {
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    CommandSpec {
        program: find_shell(KnownShell::Cmd, Env(&env)).unwrap(),
        args: vec!["/c".into(), script.into()],
        cwd: std::env::temp_dir(),
        env,
    }
}

fn counter() -> (Arc<AtomicUsize>, Cleanup) {
    let n = Arc::new(AtomicUsize::new(0));
    let c = n.clone();
    (
        n,
        Box::new(move |end| {
            assert_eq!(end, TreeEnd::Gone, "the job emptied before the cleanup ran");
            c.fetch_add(1, Ordering::SeqCst);
        }),
    )
}

fn capture(timeout: Option<Duration>) -> RunOptions {
    RunOptions {
        stdio: StdioMode::Capture,
        timeout,
        ..RunOptions::default()
    }
}

#[test]
fn sandboxed_cmd_output_and_exit_code_come_back_and_cleanup_runs_once() {
    let (runs, cleanup) = counter();
    let child = start(
        &cmd("echo sandboxed& exit 7"),
        containment(),
        StdioMode::Capture,
        Some(cleanup),
    )
    .unwrap();
    let outcome = run(child, &capture(Some(Duration::from_secs(60)))).unwrap();
    assert_eq!(outcome.status, ExitInfo::Code(7));
    assert_eq!(
        String::from_utf8_lossy(&outcome.stdout.data).trim(),
        "sandboxed"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn timeout_kills_the_sandboxed_tree_and_cleanup_runs() {
    let (runs, cleanup) = counter();
    let child = start(
        &cmd("ping -n 60 127.0.0.1 > NUL"),
        containment(),
        StdioMode::Capture,
        Some(cleanup),
    )
    .unwrap();
    let began = Instant::now();
    let outcome = run(child, &capture(Some(Duration::from_secs(2)))).unwrap();
    assert!(outcome.timed_out);
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn failed_start_runs_cleanup_at_once() {
    let (runs, cleanup) = counter();
    let mut missing = cmd("x");
    missing.program = PathBuf::from(r"C:\no\such\program.exe");
    assert!(start(&missing, containment(), StdioMode::Capture, Some(cleanup)).is_err());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn batch_file_arguments_reach_it_literally_not_as_cmd_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let bat = dir.path().join("echo-args.bat");
    std::fs::write(&bat, "@echo off\r\necho \"[%~1]\"\r\n").unwrap();
    let marker = dir.path().join("injected.txt");
    let mut spec = cmd("unused");
    spec.program = bat;
    // No space or quote, so plain argv quoting would leave `&` and `>` bare for cmd to run.
    let arg = format!("a&echo.>{}", marker.display());
    assert!(!arg.contains(' '), "temp path with a space: {arg}");
    spec.args = vec![arg.into()];
    let child = start(&spec, containment(), StdioMode::Capture, None).unwrap();
    let outcome = run(child, &capture(Some(Duration::from_secs(60)))).unwrap();
    assert!(!marker.exists(), "the argument ran as a cmd command");
    assert!(
        String::from_utf8_lossy(&outcome.stdout.data).contains("[a&echo.>"),
        "{outcome:?}"
    );
}
