//! Integration tests of the Windows spawn and `run` (run under Wine on Linux CI, and on real
//! Windows): exit codes, pipes, the environment block, command-line quoting round trips, and
//! the job object ending the whole tree on timeout and when its handle closes.
#![cfg(windows)]

use paddock_runner::windows::{WinLaunch, spawn};
use paddock_runner::{ExitInfo, Outcome, RunOptions, StdioMode, cmdline, run};
use std::ffi::OsString;
use std::os::windows::ffi::OsStringExt;
use std::path::PathBuf;
use std::time::Duration;
use windows_sys::Win32::Foundation::{CloseHandle, WAIT_OBJECT_0};
use windows_sys::Win32::System::Threading::{OpenProcess, WaitForSingleObject};

/// The probe's path; a cross-built test under Wine gets a Unix path, which Wine maps on `Z:`.
fn probe() -> String {
    let p = env!("CARGO_BIN_EXE_paddock-runner-probe");
    match p.strip_prefix('/') {
        Some(rest) => format!(r"Z:\{}", rest.replace('/', r"\")),
        None => p.to_string(),
    }
}

fn capture() -> RunOptions {
    RunOptions {
        stdio: StdioMode::Capture,
        ..RunOptions::default()
    }
}

fn cmd_exe() -> PathBuf {
    let root = std::env::var_os("SystemRoot").unwrap_or_else(|| r"C:\windows".into());
    PathBuf::from(root).join(r"system32\cmd.exe")
}

fn launch(program: impl Into<PathBuf>, args: &[&str]) -> WinLaunch {
    WinLaunch::new(
        program,
        args.iter().map(OsString::from).collect(),
        std::env::current_dir().unwrap(),
        std::env::vars_os().collect(),
    )
}

fn cmd_script(script: &str) -> WinLaunch {
    let mut l = launch(cmd_exe(), &[]);
    let wide = |s: &std::ffi::OsStr| -> Vec<u16> {
        use std::os::windows::ffi::OsStrExt;
        s.encode_wide().collect()
    };
    let line = cmdline::cmd_exe_script_line(&wide(cmd_exe().as_os_str()), &wide(script.as_ref()));
    l.command_line = Some(OsString::from_wide(&line.unwrap()));
    l
}

fn go(l: WinLaunch, opts: &RunOptions) -> Outcome {
    run(spawn(l, opts.stdio).unwrap(), opts).unwrap()
}

fn decode_hex_lines(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| {
            let bytes: Vec<u8> = (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                .collect();
            String::from_utf8(bytes).unwrap()
        })
        .collect()
}

/// True while the process `pid` runs.
fn pid_alive(pid: u32) -> bool {
    const SYNCHRONIZE: u32 = 0x0010_0000;
    // SAFETY: opens a handle for waiting only; closed below.
    let h = unsafe { OpenProcess(SYNCHRONIZE, 0, pid) };
    if h.is_null() {
        return false;
    }
    // SAFETY: `h` is the handle just opened.
    let alive = unsafe { WaitForSingleObject(h, 0) } != WAIT_OBJECT_0;
    // SAFETY: closes the handle opened above.
    unsafe { CloseHandle(h) };
    alive
}

/// The pid that `probe tree` printed.
fn grandchild_of(out: &Outcome) -> u32 {
    String::from_utf8_lossy(&out.stdout.data)
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn cmd_exit_code_is_reported() {
    let out = go(cmd_script("exit 3"), &capture());
    assert_eq!(out.status, ExitInfo::Code(3));
}

#[test]
fn captured_stdout_comes_through_the_pipe() {
    let out = go(cmd_script("echo hello"), &capture());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout.data).trim_end(),
        "hello"
    );
    assert_eq!(out.status, ExitInfo::Code(0));
}

#[test]
fn capture_cap_truncates_and_counts_on_windows() {
    let opts = RunOptions {
        output_cap: 10,
        ..capture()
    };
    let out = go(cmd_script("echo 0123456789abcdefghij"), &opts);
    assert_eq!(out.stdout.data, b"0123456789");
    assert!(out.stdout.truncated && out.stdout.bytes > 10);
}

#[test]
fn the_environment_block_reaches_the_child() {
    let mut l = launch(probe(), &["env", "paddock_probe_var"]);
    l.env = vec![
        ("PADDOCK_PROBE_VAR".into(), "first".into()),
        ("Paddock_Probe_Var".into(), "value é".into()),
        (
            "SystemRoot".into(),
            std::env::var_os("SystemRoot").unwrap_or_default(),
        ),
    ];
    let out = go(l, &capture());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout.data).trim_end(),
        "value é"
    );
}

const TRICKY: &[&str] = &[
    "",
    "plain",
    "two words",
    r"trailing\",
    r"C:\Program Files\x\",
    r#"say "hi""#,
    r#"a\\"b"#,
    "unicode é 日本",
    "%PATH% !x! ^ & | < > ( )",
];

#[test]
fn argv_round_trips_through_the_command_line() {
    let out = go(launch(probe(), &[&["args"], TRICKY].concat()), &capture());
    assert_eq!(decode_hex_lines(&out.stdout.data), TRICKY);
}

#[test]
fn cmd_exe_passes_metacharacters_through_literally() {
    let probe = probe();
    let literal: Vec<&str> = TRICKY
        .iter()
        .copied()
        .filter(|a| !a.contains('%'))
        .collect();
    let argv: Vec<Vec<u16>> = [
        &[probe.as_str(), "args"],
        &literal[..],
        &["& exit 7", "> owned.txt"],
    ]
    .concat()
    .iter()
    .map(|a| a.encode_utf16().collect())
    .collect();
    let cmd: Vec<u16> = cmd_exe().to_string_lossy().encode_utf16().collect();
    let mut l = launch(cmd_exe(), &[]);
    l.command_line = Some(OsString::from_wide(
        &cmdline::cmd_exe_argv_line(&cmd, &argv).unwrap(),
    ));
    let out = go(l, &capture());
    assert_eq!(out.status, ExitInfo::Code(0));
    let want: Vec<&str> = [&literal[..], &["& exit 7", "> owned.txt"]].concat();
    assert_eq!(decode_hex_lines(&out.stdout.data), want);
}

#[test]
fn timeout_kills_the_whole_job_tree() {
    let opts = RunOptions {
        timeout: Some(Duration::from_millis(1500)),
        ..capture()
    };
    let out = go(launch(probe(), &["tree", "60000"]), &opts);
    assert!(out.timed_out);
    let grandchild = grandchild_of(&out);
    assert!(
        !pid_alive(grandchild),
        "grandchild {grandchild} survived the timeout"
    );
}

#[test]
fn a_cancelled_run_ends_the_whole_job_tree_and_reports_it_interrupted() {
    let cancel = paddock_runner::CancelFlag::new();
    let opts = RunOptions {
        cancel: Some(cancel.clone()),
        ..capture()
    };
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        cancel.cancel();
    });
    let start = std::time::Instant::now();
    let out = go(launch(probe(), &["tree", "60000"]), &opts);
    canceller.join().unwrap();
    assert!(out.interrupted, "{out:?}");
    assert!(!out.timed_out);
    assert!(start.elapsed() < Duration::from_secs(30));
    let grandchild = grandchild_of(&out);
    assert!(
        !pid_alive(grandchild),
        "grandchild {grandchild} survived the cancellation"
    );
}

#[test]
fn an_uncancelled_flag_changes_nothing_on_windows() {
    let opts = RunOptions {
        cancel: Some(paddock_runner::CancelFlag::new()),
        ..capture()
    };
    let out = go(cmd_script("exit 3"), &opts);
    assert!(!out.interrupted);
    assert_eq!(out.status, ExitInfo::Code(3));
}

#[test]
fn closing_the_job_kills_the_tree() {
    let mut child = spawn(launch(probe(), &["tree", "60000"]), StdioMode::Capture).unwrap();
    let mut stdout = child.take_stdio().stdout.unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8];
    while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let grandchild: u32 = String::from_utf8_lossy(&line).trim().parse().unwrap();
    assert!(pid_alive(grandchild));
    drop(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pid_alive(grandchild) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !pid_alive(grandchild),
        "grandchild {grandchild} outlived the job handle"
    );
}

#[test]
fn a_handle_inheritable_in_paddock_does_not_reach_the_child() {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Foundation::{HANDLE_FLAG_INHERIT, SetHandleInformation};
    let (mut reader, writer) = std::io::pipe().unwrap();
    let raw = writer.as_raw_handle();
    // SAFETY: marks our own live pipe handle inheritable, as careless code might.
    let marked = unsafe { SetHandleInformation(raw, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT) };
    assert_ne!(marked, 0);
    let out = go(
        launch(probe(), &["write-handle", &format!("{:x}", raw as usize)]),
        &capture(),
    );
    drop(writer);
    let mut leaked = Vec::new();
    reader.read_to_end(&mut leaked).unwrap();
    assert_eq!(
        leaked, b"",
        "the child wrote through a handle it should not have"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout.data).trim(), "invalid");
}

#[test]
fn a_process_in_the_job_cannot_break_away() {
    let out = go(launch(probe(), &["breakaway"]), &capture());
    let said = String::from_utf8_lossy(&out.stdout.data).trim().to_string();
    if let Some(pid) = said.strip_prefix("escaped ") {
        // Do not leave the escapee running, then fail.
        let _ = std::process::Command::new("taskkill")
            .args(["/F", "/PID", pid])
            .output();
        panic!("a process broke away from the job: {said}");
    }
    assert_eq!(said, "refused");
}

#[test]
fn a_relative_program_is_refused() {
    let err = spawn(launch("probe.exe", &[]), StdioMode::Capture)
        .err()
        .unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

use std::io::Read;

#[test]
#[ignore = "real Windows only: Wine does not enforce job active-process limits"]
fn the_active_process_limit_stops_the_tree_from_growing() {
    let mut l = launch(probe(), &["tree", "100"]);
    l.limits.active_processes = Some(1);
    let out = go(l, &capture());
    assert_ne!(
        out.status,
        ExitInfo::Code(0),
        "the probe started a second process"
    );
}

#[test]
#[ignore = "real Windows only: needs a console to send Ctrl-Break through, which Wine in CI lacks"]
fn ctrl_break_to_paddock_is_forwarded_and_ends_the_tree() {
    use std::io::{BufRead, BufReader};
    use std::os::windows::process::CommandExt;
    use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, GenerateConsoleCtrlEvent};
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x200;
    let mut harness = std::process::Command::new(probe())
        .args([
            "harness",
            "--grace-ms",
            "300",
            "--",
            &probe(),
            "tree",
            "60000",
        ])
        .creation_flags(CREATE_NEW_PROCESS_GROUP)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(harness.stdout.take().unwrap()).lines();
    let grandchild: u32 = lines.next().unwrap().unwrap().trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: no pointers; signals the console process group the harness leads.
    if unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, harness.id()) } == 0 {
        let _ = harness.kill();
        let _ = harness.wait();
        paddock_core::testing::skip(
            "no console to send Ctrl-Break through (GenerateConsoleCtrlEvent failed)",
        );
        return;
    }
    let report: Vec<String> = lines.map(Result::unwrap).collect();
    harness.wait().unwrap();
    assert!(
        report.iter().any(|l| l.contains("interrupted=true")),
        "{report:?}"
    );
    assert!(
        !pid_alive(grandchild),
        "grandchild {grandchild} survived the interrupt"
    );
}
