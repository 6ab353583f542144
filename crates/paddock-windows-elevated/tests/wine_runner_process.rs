//! The broker/runner plumbing across two real processes, as far as Wine shows it: the runner
//! binary connects to the broker's pipe, the broker accepts only that process id, the handshake
//! and launch request cross, and the runner refuses (fail closed) when the fence probe reaches a
//! listener. Also the account launch: a logon that cannot succeed must come back as an error
//! with its fix, never as a process running as the caller.
#![cfg(windows)]

use paddock_windows::access::Privilege;
use paddock_windows::acl::Acl;
use paddock_windows::apply::sid::current_user_sid;
use paddock_windows::plan::TokenPlan;
use paddock_windows::sid::Sid;
use paddock_windows_elevated::ElevatedError;
use paddock_windows_elevated::protocol::{
    LaunchRequest, Message, ProbeRequest, check_hello, read_message, write_message,
};
use paddock_windows_elevated::win::logon_launch::{RunnerStdio, start_runner};
use paddock_windows_elevated::win::pipe::{PipeServer, fresh_name, pipe_sddl};
use paddock_windows_elevated::win::runner::RUNNER_FLAG;
use std::path::PathBuf;
use std::time::Duration;

const RUNNER: &str = env!("CARGO_BIN_EXE_paddock-elevated-runner");

fn token_plan() -> TokenPlan {
    let run = Sid::synthetic().unwrap();
    TokenPlan {
        write_restricted: true,
        disable_max_privilege: true,
        lua_token: true,
        restricting_sids: vec![run.clone()],
        run_sid: run,
        deny_only: Vec::new(),
        retained_privileges: vec![Privilege::ChangeNotify],
        default_dacl: Acl::new(Vec::new()),
    }
}

#[test]
fn runner_process_connects_proves_the_nonce_and_refuses_when_the_probe_leaks() {
    let me = current_user_sid().unwrap();
    let name = fresh_name().unwrap();
    let server = PipeServer::create(&name, &pipe_sddl(&me, &me)).unwrap();
    let nonce = [0x42u8; 16];
    let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let mut child = std::process::Command::new(RUNNER)
        .args([RUNNER_FLAG, &name, &hex])
        .spawn()
        .unwrap();
    let mut conn = server.accept(child.id(), Duration::from_secs(30)).unwrap();
    check_hello(read_message(&mut conn).unwrap(), &nonce).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let temp = std::env::temp_dir();
    let mut req = LaunchRequest::new(
        PathBuf::from(r"C:\Windows\System32\cmd.exe"),
        &["/c".into(), "exit 0".into()],
        temp.clone(),
        &[],
        token_plan(),
        temp,
    )
    .unwrap();
    req.probe = Some(ProbeRequest {
        loopback_port: port,
        outside: "192.0.2.1:9".into(),
        proxy_port: None,
    });
    write_message(&mut conn, &Message::Launch(Box::new(req))).unwrap();
    assert_eq!(
        read_message(&mut conn).unwrap(),
        Some(Message::Leaked {
            target: format!("127.0.0.1:{port}")
        })
    );
    assert_eq!(child.wait().unwrap().code(), Some(125));
}

#[test]
fn a_runner_run_by_hand_explains_itself_and_does_nothing() {
    let out = std::process::Command::new(RUNNER).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sandbox runner"));
}

#[test]
fn a_logon_that_cannot_succeed_is_an_error_not_a_process() {
    let mut stdio = RunnerStdio::new(true).unwrap();
    let line = format!("\"{RUNNER}\"");
    match start_runner(
        "PaddockNoSuchAccount",
        "not-the-password",
        std::path::Path::new(RUNNER),
        &line,
        &mut stdio,
    ) {
        Err(ElevatedError::Logon { failure, .. }) => assert_eq!(failure.code(), 1326),
        Err(other) => {
            assert!(
                paddock_windows::apply::wine::running_under_wine(),
                "real Windows must report a failed logon as a logon error: {other}"
            );
            // Still an error and no process; the exact logon code is checked on real Windows.
            println!("under Wine, which stubs CreateProcessWithLogonW: {other}");
        }
        Ok(runner) => {
            assert!(
                paddock_windows::apply::wine::running_under_wine(),
                "real Windows started a process for a nonexistent account"
            );
            runner.job.terminate().unwrap();
            paddock_core::testing::skip(&format!(
                "Wine ignores CreateProcessWithLogonW credentials (started pid {})",
                runner.pid
            ));
        }
    }
}
