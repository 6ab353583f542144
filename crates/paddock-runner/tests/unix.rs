//! Integration tests of the plain Unix spawn and `run`: exit mapping, capture, timeout and
//! interrupt killing the whole tree (including a `setsid` double-forked daemon), no leaked
//! descriptors, stdin pass-through.
#![cfg(unix)]

use paddock_runner::{ExitInfo, RunOptions, StdioMode, run, unix};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROBE: &str = env!("CARGO_BIN_EXE_paddock-runner-probe");

mod common;
use common::*;

#[test]
fn exit_code_is_reported() {
    let out = sh("exit 3", &capture());
    assert_eq!(out.status, ExitInfo::Code(3));
    assert!(!out.timed_out && !out.interrupted);
}

#[test]
fn death_by_signal_maps_to_128_plus_signal() {
    let out = sh("kill -TERM $$", &capture());
    assert_eq!(out.status, ExitInfo::Signal(libc::SIGTERM));
    assert_eq!(out.status.shell_code(), 143);
}

#[test]
fn capture_keeps_stdout_and_stderr_apart() {
    let out = sh("printf out; printf err >&2", &capture());
    assert_eq!(out.stdout.data, b"out");
    assert_eq!(out.stderr.data, b"err");
    assert_eq!((out.stdout.bytes, out.stderr.bytes), (3, 3));
}

#[test]
fn capture_cap_truncates_and_reports_the_full_size() {
    let opts = RunOptions {
        output_cap: 1000,
        ..capture()
    };
    let out = sh("head -c 300000 /dev/zero", &opts);
    assert_eq!(out.status, ExitInfo::Code(0));
    assert_eq!(out.stdout.bytes, 300_000);
    assert_eq!(out.stdout.data.len(), 1000);
    assert!(out.stdout.truncated);
    assert!(!out.stderr.truncated);
}

/// A command that ends within the first tick has its output read after its end (no pump was
/// needed); one that writes more than its pipes hold gets a pump once they fill, and ends;
/// both keep each stream to the cap and count all of it.
#[test]
fn output_is_whole_whether_or_not_the_command_outlasts_its_pipes() {
    let opts = RunOptions {
        output_cap: 100,
        ..capture()
    };
    let out = sh("printf out; head -c 5000 /dev/zero >&2", &opts);
    assert_eq!(out.status, ExitInfo::Code(0));
    assert_eq!(
        (out.stdout.data.as_slice(), out.stdout.truncated),
        (&b"out"[..], false)
    );
    assert_eq!(
        (
            out.stderr.bytes,
            out.stderr.data.len(),
            out.stderr.truncated
        ),
        (5000, 100, true)
    );
    // Far more than a pipe holds (64 KiB), on both streams: it ends only because a pump
    // drains them.
    let started = Instant::now();
    let out = sh(
        "head -c 400000 /dev/zero; head -c 300000 /dev/zero >&2; printf end",
        &opts,
    );
    assert_eq!(out.status, ExitInfo::Code(0));
    assert_eq!((out.stdout.bytes, out.stderr.bytes), (400_003, 300_000));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn capture_gives_the_command_an_empty_stdin() {
    let out = sh("cat; echo done", &capture());
    assert_eq!(out.stdout.data, b"done\n");
}

#[test]
fn inherit_mode_passes_stdin_and_stdout_through() {
    let mut harness = Command::new(PROBE)
        .args(["harness", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    harness
        .stdin
        .take()
        .unwrap()
        .write_all(b"through the runner\n")
        .unwrap();
    let mut text = String::new();
    harness
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(harness.wait().unwrap().success());
    assert!(
        text.starts_with("through the runner\ninterrupted=false"),
        "{text}"
    );
}

#[test]
fn timeout_kills_the_command_and_reports_it() {
    let opts = RunOptions {
        timeout: Some(Duration::from_millis(300)),
        ..capture()
    };
    let start = Instant::now();
    let out = sh("sleep 300", &opts);
    assert!(out.timed_out);
    assert_eq!(out.status, ExitInfo::Signal(libc::SIGKILL));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[cfg(target_os = "linux")]
#[test]
fn a_cancelled_run_ends_its_whole_tree_and_reports_it_interrupted() {
    let t = tag("cancel-tree");
    let cancel = paddock_runner::CancelFlag::new();
    let opts = RunOptions {
        cancel: Some(cancel.clone()),
        ..capture()
    };
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            cancel.cancel();
        })
    };
    let start = Instant::now();
    let out = sh_tagged(
        "sleep 300 & setsid sh -c 'sleep 300 &'; sleep 300",
        &t,
        &opts,
    );
    canceller.join().unwrap();
    assert!(out.interrupted, "{out:?}");
    assert!(!out.timed_out);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(tagged_alive(&t), Vec::<String>::new());
}

#[test]
fn a_run_cancelled_before_it_starts_waiting_is_ended_at_once() {
    let cancel = paddock_runner::CancelFlag::new();
    cancel.cancel();
    let opts = RunOptions {
        cancel: Some(cancel),
        ..capture()
    };
    let start = Instant::now();
    let out = sh("sleep 300", &opts);
    assert!(out.interrupted);
    assert_eq!(out.status, ExitInfo::Signal(libc::SIGKILL));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn an_uncancelled_flag_changes_nothing() {
    let opts = RunOptions {
        cancel: Some(paddock_runner::CancelFlag::new()),
        ..capture()
    };
    let out = sh("echo done; exit 4", &opts);
    assert!(!out.interrupted);
    assert_eq!(out.status, ExitInfo::Code(4));
    assert_eq!(out.stdout.data, b"done\n");
}

#[cfg(target_os = "linux")]
#[test]
fn timeout_kills_a_setsid_double_forked_daemon_and_leaves_nothing_running() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("daemon.pid");
    let t = tag("timeout-daemon");
    let script = format!(
        "setsid sh -c 'sleep 300 & echo $! > {}'; sleep 300 & sleep 300",
        pidfile.display()
    );
    let opts = RunOptions {
        timeout: Some(Duration::from_millis(1500)),
        ..capture()
    };
    let out = sh_tagged(&script, &t, &opts);
    assert!(out.timed_out);
    let daemon: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!pid_alive(daemon), "the setsid daemon {daemon} survived");
    assert_eq!(tagged_alive(&t), Vec::<String>::new());
}

#[cfg(target_os = "linux")]
#[test]
fn a_daemon_holding_the_output_pipe_does_not_hang_the_run() {
    let start = Instant::now();
    let out = sh("setsid sh -c 'sleep 300' & echo started", &capture());
    assert_eq!(out.stdout.data, b"started\n");
    // Drained to end of file (the daemon was killed), not given up on after the drain limit.
    assert!(!out.stdout.truncated);
    assert!(start.elapsed() < Duration::from_millis(1500));
}

#[cfg(target_os = "linux")]
#[test]
fn unrelated_children_of_the_caller_are_not_killed() {
    let mut bystander = Command::new("sleep").arg("300").spawn().unwrap();
    let out = sh("sleep 300 & exit 0", &capture());
    assert_eq!(out.status, ExitInfo::Code(0));
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "a process outside the tree was killed"
    );
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn a_setsid_daemon_whose_name_is_not_utf8_is_still_found_and_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("daemon.pid");
    let script = format!(
        "d={dir}; n=$(printf 'z\\377'); cp \"$(command -v sleep)\" \"$d/$n\"; \
         setsid \"$d/$n\" 300 & echo $! > {pid}; sleep 0.2; exit 0",
        dir = dir.path().display(),
        pid = pidfile.display()
    );
    let out = sh(&script, &capture());
    assert_eq!(out.status, ExitInfo::Code(0), "{out:?}");
    let daemon: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!pid_alive(daemon), "the daemon {daemon} survived");
}

#[test]
fn waiting_returns_when_the_command_exits_not_at_the_timeout() {
    let mut cmd = Command::new("sleep");
    cmd.arg("0.2");
    let mut child = unix::spawn(cmd, StdioMode::Capture).unwrap();
    let start = Instant::now();
    let status = child.wait_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(status, Some(ExitInfo::Code(0)));
    assert!(start.elapsed() < Duration::from_secs(10));
    child.kill_tree().unwrap();
}

/// Opens /dev/null without close-on-exec, as careless code elsewhere in a process might.
#[cfg(target_os = "linux")]
fn leaky_fd() -> i32 {
    // SAFETY: open with a NUL-terminated literal path.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
    assert!(fd > 2);
    fd
}

#[cfg(target_os = "linux")]
fn child_fds(keep: &[i32]) -> Vec<i32> {
    let mut cmd = Command::new(PROBE);
    cmd.arg("fds");
    let out = run(
        unix::spawn_keeping_fds(cmd, StdioMode::Capture, keep).unwrap(),
        &capture(),
    )
    .unwrap();
    String::from_utf8(out.stdout.data)
        .unwrap()
        .lines()
        // The probe's own handle on /proc/self/fd while it lists it.
        .filter(|l| !l.ends_with("/fd"))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn no_descriptor_beyond_stdio_leaks_into_the_child() {
    let fd = leaky_fd();
    let fds = child_fds(&[]);
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(fd) };
    assert_eq!(fds, vec![0, 1, 2]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_descriptor_asked_for_reaches_the_child() {
    let fd = leaky_fd();
    let fds = child_fds(&[fd]);
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(fd) };
    assert!(fds.contains(&fd), "{fds:?}");
}

#[test]
fn a_signal_between_the_spawn_and_run_reaches_the_tree_instead_of_ending_paddock() {
    let out = Command::new(PROBE)
        .args(["harness", "--sigint-before-run", "--", "sleep", "30"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("interrupted=true"),
        "{:?} {report}",
        out.status
    );
}

/// Starts the probe harness on `script`, waits for the script's first line ("ready" after the
/// pid of anything it wants checked), sends `signal` to the harness and returns (pids, report).
fn interrupt_harness(script: &str, signal: i32, grace_ms: &str) -> (Vec<i32>, String) {
    let mut harness = Command::new(PROBE)
        .args(["harness", "--grace-ms", grace_ms, "--", "sh", "-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(harness.stdout.take().unwrap()).lines();
    let mut pids = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line == "ready" {
            break;
        }
        pids.push(line.parse().unwrap());
    }
    // SAFETY: signals the harness we started.
    assert_eq!(unsafe { libc::kill(harness.id() as i32, signal) }, 0);
    let report = lines.map(Result::unwrap).collect::<Vec<_>>().join("\n");
    harness.wait().unwrap();
    (pids, report)
}

#[test]
fn sigint_to_paddock_is_forwarded_to_the_command() {
    // The sleep gives the harness time to install its handler after spawning.
    let (_, report) = interrupt_harness(
        "sleep 0.3; echo ready; exec sleep 300",
        libc::SIGINT,
        "5000",
    );
    assert!(report.contains("interrupted=true"), "{report}");
    assert!(report.contains("code=130"), "{report}");
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_ends_a_tree_that_ignores_it_after_the_grace() {
    let script = "trap '' TERM INT; sleep 300 & echo $!; sleep 0.3; echo ready; wait";
    let start = Instant::now();
    let (pids, report) = interrupt_harness(script, libc::SIGTERM, "300");
    assert!(report.contains("interrupted=true"), "{report}");
    assert!(report.contains("code=137"), "{report}");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(!pid_alive(pids[0]), "the ignoring grandchild survived");
}

/// Runs the shell command `inner` inside a pseudo-terminal (util-linux `script`), typing
/// `input` into it; returns what the terminal showed, or `None` when nothing ended in 10 s.
#[cfg(target_os = "linux")]
fn in_terminal(inner: &str, input: &[u8]) -> Option<String> {
    let mut term = Command::new("script")
        .args(["-qec", inner, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = term.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    let mut stdout = term.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let got = rx.recv_timeout(Duration::from_secs(10)).ok();
    let _ = term.kill();
    let _ = term.wait();
    drop(stdin);
    got
}

/// True when util-linux `script` (for a pseudo-terminal) runs; otherwise reports the skip, which
/// fails under `PADDOCK_REQUIRE_ALL=1` (CI installs it).
#[cfg(target_os = "linux")]
fn have_script() -> bool {
    let ok = Command::new("script").arg("--version").output().is_ok();
    if !ok {
        paddock_core::testing::skip(
            "util-linux `script` is not installed (needed for a pseudo-terminal)",
        );
    }
    ok
}

#[cfg(target_os = "linux")]
#[test]
fn an_interactive_command_can_read_the_terminal() {
    if !have_script() {
        return;
    }
    let inner = format!("{PROBE} harness -- sh -c 'read line; echo got:$line'");
    let shown = in_terminal(&inner, b"typed\n");
    let shown = shown.expect("the command stopped or hung reading the terminal");
    assert!(shown.contains("got:typed"), "{shown}");
}

#[cfg(target_os = "linux")]
#[test]
fn the_terminal_is_given_back_after_an_interactive_run() {
    if !have_script() {
        return;
    }
    let inner = format!("{PROBE} harness -- true; read line; echo after:$line");
    let shown = in_terminal(&inner, b"typed\n");
    let shown = shown.expect("the caller could not read its terminal after the run");
    assert!(shown.contains("after:typed"), "{shown}");
}

#[cfg(target_os = "linux")]
#[test]
fn the_terminal_is_given_back_when_the_program_cannot_be_executed() {
    if !have_script() {
        return;
    }
    let inner = format!("{PROBE} harness -- /nonexistent/program; read line; echo after:$line");
    let shown = in_terminal(&inner, b"typed\n");
    let shown = shown.expect("the caller could not read its terminal after the failed spawn");
    assert!(
        shown.contains("spawn failed") && shown.contains("after:typed"),
        "{shown}"
    );
}

/// A run's wait past its first tick runs inside the caller's hand-off, on the calling thread;
/// a command that ends within the first tick never gets there. The timeout still applies
/// inside the hand-off.
#[test]
fn only_a_wait_past_the_first_tick_is_handed_off() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let caller = std::thread::current().id();
    let opts = RunOptions {
        hand_off: Some(paddock_runner::HandOff::new(move |wait| {
            assert_eq!(std::thread::current().id(), caller);
            counted.fetch_add(1, Ordering::SeqCst);
            wait();
        })),
        ..capture()
    };
    // A loaded machine may take more than a tick to start `sh`: one quick run of ten is
    // enough to show the wait was not handed off.
    let quick = (0..10).any(|_| {
        let before = calls.load(Ordering::SeqCst);
        let out = sh("exit 4", &opts);
        assert_eq!(out.status, ExitInfo::Code(4));
        calls.load(Ordering::SeqCst) == before
    });
    assert!(
        quick,
        "every run that ended within the first tick was handed off"
    );
    calls.store(0, Ordering::SeqCst);

    let out = sh("sleep 0.2; printf late; exit 5", &opts);
    assert_eq!(
        (out.status, out.stdout.data.as_slice()),
        (ExitInfo::Code(5), &b"late"[..])
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the longer wait was handed off once"
    );

    let opts = RunOptions {
        timeout: Some(Duration::from_millis(100)),
        ..opts
    };
    let started = Instant::now();
    let out = sh("sleep 30", &opts);
    assert!(out.timed_out && started.elapsed() < Duration::from_secs(10));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A hand-off that never calls the wait it is given does not lose the run: it waits in place.
#[test]
fn a_hand_off_that_does_not_wait_leaves_the_wait_in_place() {
    let opts = RunOptions {
        hand_off: Some(paddock_runner::HandOff::new(|_| {})),
        ..capture()
    };
    let out = sh("sleep 0.1; exit 6", &opts);
    assert_eq!(out.status, ExitInfo::Code(6));
}
