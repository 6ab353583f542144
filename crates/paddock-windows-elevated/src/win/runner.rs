//! The runner: this same executable started as a sandbox account by the broker. It proves
//! itself on the pipe (the broker's nonce), runs the fence probe when asked (impersonating the
//! target's restricted token), makes the
//! write-restricted token from its own token, and starts the target on a private desktop in
//! its own job, relaying Ctrl-C, kill and the exit code over the pipe.
//!
//! Guarantees: nothing starts if the probe leaks, the token cannot be made and verified, or the
//! desktop cannot be created (fail closed, `Refused` with the reason); when the pipe breaks (the
//! broker died) the target's tree is killed; the target never sees the real user's profile
//! folders: `USERPROFILE`, `HOME`, `APPDATA`, `LOCALAPPDATA` are the sandbox account's own.

use super::pipe;
use crate::errors::ElevatedError;
use crate::protocol::{
    LaunchRequest, Message, PROTOCOL_VERSION, ProbeRequest, Signal, read_message, write_message,
};
use paddock_core::spec::CommandSpec;
use paddock_runner::windows::JobLimits;
use paddock_runner::{Interrupt, StdioMode};
use paddock_win32::Win32Error;
use paddock_windows::acl::{Ace, AceFlags};
use paddock_windows::apply::desktop::PrivateDesktop;
use paddock_windows::apply::device::{DeviceGrant, WINDOW_STATION_SANDBOX};
use paddock_windows::apply::launch::{Containment, start};
use paddock_windows::apply::token::RestrictedToken;
use paddock_windows::mask::AccessMask;
use std::ffi::OsString;
use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::sync::mpsc;
use std::time::Duration;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Security::{ImpersonateLoggedOnUser, RevertToSelf};

/// The first argument that turns this executable into the runner.
pub const RUNNER_FLAG: &str = "--paddock-elevated-runner";

/// Variables the target gets from the sandbox account's own environment, never the broker's.
const ACCOUNT_VARS: &[&str] = &[
    "USERPROFILE",
    "HOMEDRIVE",
    "HOMEPATH",
    "APPDATA",
    "LOCALAPPDATA",
    "USERNAME",
    "USERDOMAIN",
];

/// Call first thing in `main`: when this process was started as the runner, runs it and exits;
/// otherwise returns at once.
pub fn runner_main_if_requested() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).and_then(|a| a.to_str()) != Some(RUNNER_FLAG) {
        return;
    }
    let code = match runner_main(&args[2..]) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("paddock (sandbox runner): {e}");
            125
        }
    };
    std::process::exit(code as i32);
}

fn parse_nonce(hex: &str) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    if hex.len() != 32 {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Connects, answers the broker, and runs one target; returns the target's exit code.
fn runner_main(args: &[OsString]) -> Result<u32, ElevatedError> {
    let usage = || ElevatedError::State(format!("usage: {RUNNER_FLAG} <pipe> <nonce>"));
    let name = args.first().and_then(|a| a.to_str()).ok_or_else(usage)?;
    let nonce = args
        .get(1)
        .and_then(|a| a.to_str())
        .and_then(parse_nonce)
        .ok_or_else(usage)?;
    let mut conn = pipe::connect(name).map_err(|e| ElevatedError::State(format!("{name}: {e}")))?;
    write_message(
        &mut conn,
        &Message::Hello {
            version: PROTOCOL_VERSION,
            nonce,
        },
    )?;
    let req = match read_message(&mut conn)? {
        Some(Message::Launch(req)) => req,
        _ => return Err(crate::protocol::ProtocolError::Unexpected("non-launch request").into()),
    };
    match launch(&req) {
        Ok(launched) => {
            for what in &launched.gaps {
                write_message(&mut conn, &Message::Gap { what: what.clone() })?;
            }
            let code = supervise(launched.process, conn);
            for g in launched.grants {
                let _ = g.revoke();
            }
            code
        }
        Err(e) => {
            let reply = match e {
                ElevatedError::FenceLeaked { target } => Message::Leaked { target },
                other => Message::Refused {
                    message: other.to_string(),
                },
            };
            write_message(&mut conn, &reply)?;
            Ok(125)
        }
    }
}

/// The first operation of `probe` that succeeds, if any: a connect to the broker's loopback
/// port, a connect outside, then a listen on a loopback port of the system's choosing (the
/// fence blocks `listen` for the offline account, so an accepted listen is a leak: the command
/// could serve inbound connections).
pub fn probe_leak(probe: &ProbeRequest) -> Option<String> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], probe.loopback_port));
    if TcpStream::connect_timeout(&loopback, Duration::from_secs(2)).is_ok() {
        return Some(loopback.to_string());
    }
    if let Ok(outside) = probe.outside.parse::<SocketAddr>()
        && TcpStream::connect_timeout(&outside, Duration::from_secs(3)).is_ok()
    {
        return Some(outside.to_string());
    }
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .ok()
        .map(|l| match l.local_addr() {
            Ok(a) => format!("listen on {a}"),
            Err(_) => "listen on 127.0.0.1".into(),
        })
}

/// With an allow-list: the sandbox must reach its proxy on 127.0.0.1:`port` (the fence's hole).
/// The connection is closed at once; the proxy reads nothing from it and records nothing.
pub fn probe_proxy(port: u16) -> Result<(), ElevatedError> {
    let target = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&target, Duration::from_secs(2))
        .map(drop)
        .map_err(|e| ElevatedError::ProxyUnreachable {
            target: target.to_string(),
            reason: e.to_string(),
        })
}

/// `probe_leak`, then (no leak, an allow-list) `probe_proxy`, on a thread impersonating `token`
/// (the target's restricted token), so the probe sees the fence exactly as the target will: a
/// filter that did not match restricted tokens shows up here as a leak, and the run is refused.
fn probe_as(token: &OwnedHandle, probe: &ProbeRequest) -> Result<Option<String>, ElevatedError> {
    let raw = token.as_raw_handle() as usize;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: impersonates a valid token (a restricted copy of this process's own)
                // on this thread only; reverted below before the thread ends.
                if unsafe { ImpersonateLoggedOnUser(raw as HANDLE) } == 0 {
                    let e = Win32Error::last("ImpersonateLoggedOnUser");
                    return Err(ElevatedError::ProbeFailed(e.to_string()));
                }
                let leak = probe_leak(probe);
                let reached = match probe.proxy_port {
                    Some(port) if leak.is_none() => probe_proxy(port),
                    _ => Ok(()),
                };
                // SAFETY: ends this thread's impersonation.
                unsafe { RevertToSelf() };
                reached.map(|()| leak)
            })
            .join()
            .map_err(|_| ElevatedError::ProbeFailed("the probe thread panicked".into()))?
    })
}

/// What `launch` started, and the compatibility grants to take back when it ends.
struct Launched {
    process: Box<dyn paddock_runner::SandboxedProcess>,
    grants: Vec<DeviceGrant>,
    gaps: Vec<String>,
}

/// `\\.\NUL` and the window station for the run SID, as level 1 grants them: without them
/// tools that open `NUL` or start a GUI subsystem fail. Compatibility only: a grant that cannot
/// be made is reported, not fatal.
fn compat_grants(run_sid: &paddock_windows::sid::Sid) -> (Vec<DeviceGrant>, Vec<String>) {
    let mut grants = Vec::new();
    let mut gaps = Vec::new();
    let rw = AccessMask::FILE_GENERIC_READ | AccessMask::FILE_GENERIC_WRITE;
    match DeviceGrant::add(r"\\.\NUL", &Ace::allow(run_sid.clone(), rw, AceFlags::NONE)) {
        Ok(g) => grants.push(g),
        Err(e) => gaps.push(format!("null device: {e}")),
    }
    let station = Ace::allow(
        run_sid.clone(),
        AccessMask(WINDOW_STATION_SANDBOX),
        AceFlags::NONE,
    );
    match DeviceGrant::add_to_window_station(&station) {
        Ok(g) => grants.push(g),
        Err(e) => gaps.push(format!("window station: {e}")),
    }
    (grants, gaps)
}

fn launch(req: &LaunchRequest) -> Result<Launched, ElevatedError> {
    if let Some(p) = &req.probe {
        let probe_token = RestrictedToken::create(&req.token)
            .map_err(|e| ElevatedError::ProbeFailed(format!("sandbox token: {e}")))?
            .into_handle();
        if let Some(target) = probe_as(&probe_token, p)? {
            return Err(ElevatedError::FenceLeaked { target });
        }
    }
    let token = RestrictedToken::create(&req.token)
        .and_then(|t| t.verify().map(|()| t))
        .map_err(|e| ElevatedError::State(format!("sandbox token: {e}")))?;
    let desktop = PrivateDesktop::create(std::slice::from_ref(&req.token.run_sid))
        .map_err(|e| ElevatedError::State(format!("private desktop: {e}")))?;
    let mut env: Vec<(OsString, OsString)> = req
        .env
        .iter()
        .filter(|(k, _)| {
            !ACCOUNT_VARS.iter().any(|v| k.eq_ignore_ascii_case(v))
                && !["HOME", "TEMP", "TMP"]
                    .iter()
                    .any(|v| k.eq_ignore_ascii_case(v))
        })
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    for var in ACCOUNT_VARS {
        if let Some(v) = std::env::var_os(var) {
            env.push((var.into(), v));
        }
    }
    if let Some(profile) = std::env::var_os("USERPROFILE") {
        env.push(("HOME".into(), profile));
    }
    for var in ["TEMP", "TMP"] {
        env.push((var.into(), req.private_temp.clone().into_os_string()));
    }
    let cmd = CommandSpec {
        program: req.program.clone(),
        args: req.args.iter().map(OsString::from).collect(),
        cwd: req.cwd.clone(),
        env,
    };
    let containment = Containment {
        token,
        desktop: Some(desktop),
        limits: JobLimits::default(),
        keep_powershell_profile: false,
    };
    let (grants, gaps) = compat_grants(&req.token.run_sid);
    let process = start(&cmd, containment, StdioMode::Inherit, None)
        .map_err(|e| ElevatedError::State(e.to_string()))?;
    Ok(Launched {
        process,
        grants,
        gaps,
    })
}

/// Relays the broker's signals to the target until it exits; kills it if the pipe breaks.
fn supervise(
    mut process: Box<dyn paddock_runner::SandboxedProcess>,
    mut conn: File,
) -> Result<u32, ElevatedError> {
    write_message(&mut conn, &Message::Started { pid: process.id() })?;
    let mut reader = conn
        .try_clone()
        .map_err(|e| ElevatedError::State(format!("pipe: {e}")))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(Some(m)) = read_message(&mut reader) {
            if tx.send(m).is_err() {
                return;
            }
        }
    });
    let status = loop {
        if let Some(status) = process
            .wait_timeout(Duration::from_millis(20))
            .map_err(|e| ElevatedError::State(e.to_string()))?
        {
            break status;
        }
        match rx.try_recv() {
            Ok(Message::Signal(Signal::Interrupt)) => {
                let _ = process.signal_tree(Interrupt::Interrupt);
            }
            Ok(Message::Signal(Signal::Terminate)) => {
                let _ = process.signal_tree(Interrupt::Terminate);
            }
            Ok(_) | Err(mpsc::TryRecvError::Disconnected) => {
                let _ = process.kill_tree();
            }
            Err(mpsc::TryRecvError::Empty) => {}
        }
    };
    let _ = process.kill_tree();
    let code = status.shell_code() as u32;
    write_message(
        &mut conn,
        &Message::Exit(crate::protocol::ExitReport { code }),
    )?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::check_hello;
    use crate::win::pipe::{PipeServer, fresh_name, pipe_sddl};
    use paddock_windows::access::Privilege;
    use paddock_windows::acl::{Ace, AceFlags, Acl};
    use paddock_windows::apply::sid::current_user_sid;
    use paddock_windows::mask::AccessMask;
    use paddock_windows::plan::TokenPlan;
    use paddock_windows::sid::Sid;
    use std::path::PathBuf;

    fn token_plan() -> TokenPlan {
        let run = Sid::synthetic().unwrap();
        TokenPlan {
            write_restricted: true,
            disable_max_privilege: true,
            lua_token: true,
            restricting_sids: vec![run.clone()],
            run_sid: run.clone(),
            deny_only: Vec::new(),
            retained_privileges: vec![Privilege::ChangeNotify],
            default_dacl: Acl::new(vec![
                Ace::allow(Sid::owner_rights(), AccessMask::GENERIC_ALL, AceFlags::NONE),
                Ace::allow(Sid::local_system(), AccessMask::GENERIC_ALL, AceFlags::NONE),
                Ace::allow(run, AccessMask::GENERIC_ALL, AceFlags::NONE),
            ]),
        }
    }

    /// Plays the broker against `runner_main` running in a thread of this process (the pid
    /// check then expects this process); returns the runner's reply to `req` and its result.
    fn broker_round(
        probe: Option<ProbeRequest>,
    ) -> (Option<Message>, Result<u32, ElevatedError>, Option<Message>) {
        let me = current_user_sid().unwrap();
        let name = fresh_name().unwrap();
        let server = PipeServer::create(&name, &pipe_sddl(&me, &me)).unwrap();
        let nonce = [0x5a; 16];
        let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let args: Vec<OsString> = vec![name.clone().into(), hex.into()];
        let runner = std::thread::spawn(move || runner_main(&args));
        let mut conn = server
            .accept(std::process::id(), Duration::from_secs(20))
            .unwrap();
        check_hello(read_message(&mut conn).unwrap(), &nonce).unwrap();
        let system_root = std::env::var("SystemRoot").unwrap_or_else(|_| r"C:\Windows".into());
        let cmd = PathBuf::from(system_root).join(r"System32\cmd.exe");
        let temp = std::env::temp_dir();
        let mut req = LaunchRequest::new(
            cmd,
            &["/d".into(), "/c".into(), "exit 7".into()],
            temp.clone(),
            &std::env::vars_os().collect::<Vec<_>>(),
            token_plan(),
            temp,
        )
        .unwrap();
        req.probe = probe;
        write_message(&mut conn, &Message::Launch(Box::new(req))).unwrap();
        let reply = read_message(&mut conn).unwrap();
        let last = if matches!(reply, Some(Message::Started { .. })) {
            read_message(&mut conn).unwrap()
        } else {
            None
        };
        (reply, runner.join().unwrap(), last)
    }

    #[test]
    fn runner_refuses_to_start_anything_when_the_fence_probe_connects() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let probe = ProbeRequest {
            loopback_port: listener.local_addr().unwrap().port(),
            outside: "192.0.2.1:9".into(),
            proxy_port: None,
        };
        let (reply, result, _) = broker_round(Some(probe));
        let port = listener.local_addr().unwrap().port();
        assert_eq!(
            reply,
            Some(Message::Leaked {
                target: format!("127.0.0.1:{port}")
            })
        );
        assert_eq!(result.unwrap(), 125);
    }

    #[test]
    fn runner_starts_the_target_under_its_token_or_refuses_when_it_cannot_verify_it() {
        let (reply, result, last) = broker_round(None);
        match reply {
            Some(Message::Started { .. }) => {
                assert_eq!(
                    last,
                    Some(Message::Exit(crate::protocol::ExitReport { code: 7 }))
                );
                assert_eq!(result.unwrap(), 7);
            }
            Some(Message::Refused { message }) => {
                assert!(
                    paddock_windows::apply::wine::running_under_wine(),
                    "real Windows must start it: {message}"
                );
                assert!(
                    message.contains("sandbox token") || message.contains("desktop"),
                    "{message}"
                );
                // Not a skip: under Wine, which has no restricted tokens, refusing is the
                // behaviour under test; starting the target is checked on real Windows.
                println!("under Wine the runner refused, as it must: {message}");
                assert_eq!(result.unwrap(), 125);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_nonce_argument_must_be_exactly_32_hex_digits() {
        assert_eq!(
            parse_nonce("000102030405060708090a0b0c0d0e0f"),
            Some([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
        );
        assert_eq!(parse_nonce("0001"), None);
        assert_eq!(parse_nonce("zz0102030405060708090a0b0c0d0e0f"), None);
    }

    #[test]
    fn a_listen_the_fence_lets_through_counts_as_a_leak() {
        // No fence here (Linux-built Wine or a machine without `paddock setup`): nothing
        // answers the connects, so the listen is what leaks.
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let probe = ProbeRequest {
            loopback_port: port,
            outside: "192.0.2.1:9".into(),
            proxy_port: None,
        };
        let leak = probe_leak(&probe).expect("an unfenced listen must be reported");
        assert!(leak.starts_with("listen on 127.0.0.1:"), "{leak}");
    }

    #[test]
    fn a_listening_loopback_port_counts_as_a_leak() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let probe = ProbeRequest {
            loopback_port: port,
            outside: "192.0.2.1:9".into(),
            proxy_port: None,
        };
        assert_eq!(probe_leak(&probe), Some(format!("127.0.0.1:{port}")));
    }

    #[test]
    fn an_allow_list_run_is_refused_when_the_sandbox_cannot_reach_its_proxy() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        probe_proxy(port).expect("a listening proxy port is reached");
        drop(held);
        let err = probe_proxy(port).unwrap_err();
        assert!(
            matches!(err, ElevatedError::ProxyUnreachable { ref target, .. }
                if *target == format!("127.0.0.1:{port}")),
            "{err}"
        );
        assert!(err.to_string().contains("paddock setup"), "{err}");
    }
}
