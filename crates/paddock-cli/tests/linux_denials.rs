//! Denial reports through the real binary (issue 12 part 4): a failed run says why in one
//! `paddock: ` line on stderr and in `--json`'s `denials`. The timeout names its limit and where
//! it was set; with the network off a connect to an IP and a DNS lookup (curl, getent) are
//! reported with the address, the port and the DNS flag, as the connect broker saw them; a write
//! to /etc or $HOME is reported with its path as pid 1's write observer saw the attempt
//! (`source = observed`, relative paths resolved against the command's directory, also from a
//! vfork child and from many threads), while writes inside the workspace report nothing and
//! stay fast; a read of a deny-read secret is reported with its path as a guess from the
//! command's stderr (which the report says: reads are not observed).

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::{World, stderr};
use serde_json::Value;
use std::process::Output;

fn report(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {}", stderr(o)))
}

/// The report's denials of one kind.
fn denials(report: &Value, kind: &str) -> Vec<Value> {
    report["denials"]
        .as_array()
        .unwrap_or_else(|| panic!("no denials array: {report}"))
        .iter()
        .filter(|d| d["kind"] == kind)
        .cloned()
        .collect()
}

/// Whether `program` runs in a sandbox of `w` (it is installed and starts there).
fn usable(w: &World, program: &str, probe: &str) -> bool {
    let o = w.run(&format!("command -v {program} >/dev/null && {probe}"));
    if o.status.success() {
        return true;
    }
    paddock_core::testing::skip(&format!("{program} is not usable here: {}", stderr(&o)));
    false
}

#[test]
fn a_timeout_prints_one_line_with_the_limit_and_where_it_was_set() {
    let w = World::new();
    let o = w.run_with("workspace-write", &["--timeout", "1"], "sleep 5");
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("paddock: ")).collect();
    assert_eq!(
        lines,
        [
            "paddock: timed out after 1s (timeout = 1s from command line); raise it with \
          --timeout or `timeout` in the config"
        ],
        "{err}"
    );
    w.write_user_config("timeout = 1.5\n");
    let o = w.run_with("workspace-write", &["--json"], "sleep 5");
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    let r = report(&o);
    let t = denials(&r, "timeout");
    assert_eq!(t.len(), 1, "{r}");
    assert_eq!(t[0]["limit_ms"], 1500, "{r}");
    let set_by = t[0]["set_by"].as_str().unwrap();
    assert!(
        set_by.starts_with("user config ") && set_by.ends_with("config.toml"),
        "{r}"
    );
    assert!(
        r["denial_summary"]
            .as_str()
            .unwrap()
            .contains("timed out after 1.5s"),
        "{r}"
    );
    assert!(
        stderr(&o).contains("paddock: timed out after 1.5s"),
        "{}",
        stderr(&o)
    );
}

/// Connects to 192.0.2.1:443 (TEST-NET-1: never routed; the broker refuses it before any packet).
const PY_CONNECT: &str =
    "python3 -c 'import socket; socket.create_connection((\"192.0.2.1\", 443), timeout=5)'";

#[test]
fn a_connect_to_an_ip_with_the_network_off_is_reported_with_its_address() {
    let w = World::new();
    if !usable(&w, "python3", "python3 -c 'import socket'") {
        return;
    }
    let o = w.run_with("workspace-write", &["--json"], PY_CONNECT);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = report(&o);
    let net = denials(&r, "network-refused");
    assert_eq!(net.len(), 1, "{r}");
    assert_eq!(net[0]["address"], "192.0.2.1", "{r}");
    assert_eq!(net[0]["port"], 443, "{r}");
    assert_eq!(net[0]["dns"], false, "{r}");
    let theirs = r["stderr"].as_str().unwrap_or("");
    assert!(
        theirs.contains("Network is unreachable"),
        "the connect stays refused: {theirs}"
    );
    let err = stderr(&o);
    assert!(
        err.contains("paddock: network is off: connection to 192.0.2.1:443 refused"),
        "{err}"
    );
    // Without --json the line is printed too (the broker's report needs no captured output).
    let plain = w.run(PY_CONNECT);
    assert!(
        stderr(&plain).contains("paddock: network is off: connection to 192.0.2.1:443 refused"),
        "{}",
        stderr(&plain)
    );
}

#[test]
fn curl_and_getent_with_the_network_off_are_reported_as_dns_lookups() {
    let w = World::new();
    for (program, command) in [
        ("curl", "curl -sS --max-time 10 http://example.com/"),
        ("getent", "getent hosts example.com"),
    ] {
        if !usable(&w, program, "true") {
            continue;
        }
        let o = w.run_with("workspace-write", &["--json"], command);
        assert_ne!(o.status.code(), Some(0), "{program}: {}", stderr(&o));
        let r = report(&o);
        let net = denials(&r, "network-refused");
        assert!(
            !net.is_empty() && net.iter().all(|d| d["dns"] == true && d["port"] == 53),
            "{program}: {r}"
        );
        assert!(
            net[0]["address"].as_str().is_some_and(|a| !a.is_empty()),
            "{r}"
        );
        assert!(
            stderr(&o).contains("paddock: network is off: DNS lookup to "),
            "{program}: {}",
            stderr(&o)
        );
    }
}

/// The paths of the report's observed writes outside the roots, in order.
fn observed_writes(r: &Value) -> Vec<String> {
    let writes = denials(r, "write-outside-roots");
    assert!(
        writes.iter().all(|d| d["source"] == "observed"),
        "every write is an observation: {r}"
    );
    writes
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn writes_to_etc_and_home_are_reported_with_their_paths_as_observed() {
    let w = World::new();
    // Silent: the command prints nothing a stderr guess could read.
    let o = w.run_with(
        "workspace-write",
        &["--json"],
        "touch /etc/paddock-denial-probe 2>/dev/null\n\
         echo x 2>/dev/null > \"$HOME/.paddock-denial-probe\"\nexit 1\n",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = report(&o);
    let home = w.home.join(".paddock-denial-probe");
    assert_eq!(
        observed_writes(&r),
        ["/etc/paddock-denial-probe", home.to_str().unwrap()],
        "{r}"
    );
    let err = stderr(&o);
    let line = err
        .lines()
        .find(|l| l.starts_with("paddock: "))
        .unwrap_or_else(|| panic!("no report line: {err}"));
    assert!(
        line.starts_with(
            "paddock: write to /etc/paddock-denial-probe outside the writable roots refused; add \
             a root with --writable; write to "
        ) && line.contains(home.to_str().unwrap())
            && !line.contains("guess"),
        "{err}"
    );
    assert!(!home.exists() && !std::path::Path::new("/etc/paddock-denial-probe").exists());
    // With the network on too (the observer does not depend on the connect broker), and the
    // observation replaces the guess the error message would give.
    let o = network_on(w.command(
        "workspace-write",
        &["--json"],
        "touch /etc/paddock-denial-probe\n",
    ))
    .output()
    .unwrap();
    let r = report(&o);
    assert_ne!(o.status.code(), Some(0), "{r}");
    assert!(
        r["stderr"]
            .as_str()
            .unwrap()
            .contains("Read-only file system"),
        "{r}"
    );
    assert_eq!(observed_writes(&r), ["/etc/paddock-denial-probe"], "{r}");
}

/// `cmd` (a `World` command, which turns the network off) with the network on instead.
fn network_on(cmd: std::process::Command) -> std::process::Command {
    let mut on = std::process::Command::new(cmd.get_program());
    let mut previous = None;
    for a in cmd.get_args() {
        let network = previous.is_some_and(|p: &std::ffi::OsStr| p == "--network");
        on.arg(if network { "on".as_ref() } else { a });
        previous = Some(a);
    }
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            on.env(k, v);
        }
    }
    on
}

#[test]
fn a_relative_write_from_a_directory_outside_the_roots_is_resolved_against_it() {
    let w = World::new();
    let o = w.run_with(
        "workspace-write",
        &["--json"],
        "cd \"$OUT\" && echo x > ./sub/../rel-probe\n\
         cd / && mkdir etc/paddock-rel-dir\nexit 1\n",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = report(&o);
    // First run: `$OUT/sub` does not exist, so the kernel answers ENOENT (no denial); the
    // mkdir is relative to `/`. Second run: `rel-probe` is named through a directory of the
    // workspace and `..` (resolved by the kernel, not by spelling), then the same mkdir.
    let o2 = w.run_with(
        "workspace-write",
        &["--json"],
        "mkdir -p \"$WS/sub\" && cd \"$OUT\" && echo x > \"$WS/sub/../../outside/rel-probe\"\n\
         cd / && mkdir etc/paddock-rel-dir\nexit 1\n",
    );
    let r2 = report(&o2);
    let probe = w.outside.join("rel-probe");
    assert_eq!(observed_writes(&r), ["/etc/paddock-rel-dir"], "{r}");
    assert_eq!(
        observed_writes(&r2),
        [probe.to_str().unwrap(), "/etc/paddock-rel-dir"],
        "{r2}"
    );
    assert!(!probe.exists());
}

#[test]
fn writes_inside_the_workspace_and_tmp_report_nothing_even_when_the_run_fails() {
    let w = World::new();
    // mkdir -p walks the existing directories above the workspace (EEXIST, not a denial),
    // rm -f of a missing file, a rename and writes to /dev/null and the run's own stdout.
    let o = w.run_with(
        "workspace-write",
        &["--json"],
        "mkdir -p \"$WS/a/b/c\" && echo x > \"$WS/a/b/c/f\" && mv \"$WS/a/b/c/f\" \"$WS/g\"\n\
         rm -f \"$WS/missing\" && echo y > /tmp/t && rm /tmp/t && mkdir -p /tmp/d\n\
         echo z > /dev/null && echo out > /dev/stdout && ln -s g \"$WS/l\" && : > \"$WS/l\"\n\
         exit 1\n",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = report(&o);
    assert_eq!(r["denials"], serde_json::json!([]), "{r}");
    assert_eq!(std::fs::read_to_string(w.ws.join("g")).unwrap(), "");
}

#[test]
fn a_program_that_writes_many_files_in_the_workspace_still_succeeds() {
    let w = World::new();
    let o = w.run_with(
        "workspace-write",
        &["--json"],
        "mkdir many && cd many && for i in $(seq 2000); do echo x > f$i; done\n\
         rm f1 f2 && ls | wc -l\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = report(&o);
    assert_eq!(r["stdout"].as_str().unwrap().trim(), "1998", "{r}");
    assert_eq!(r["denials"], serde_json::json!([]), "{r}");
}

/// Eight threads write 200 files each in the workspace and try /etc, while the main thread
/// receives signals without SA_RESTART (Python retries an interrupted call itself: this checks
/// that nothing hangs, not that no call is interrupted); a vfork child (glibc's posix_spawn)
/// opens a file before exec, in the workspace and in /etc.
const PY_THREADS: &str = r#"
import os, signal, sys, threading
signal.signal(signal.SIGALRM, lambda *a: None)
signal.siginterrupt(signal.SIGALRM, True)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
def work(n):
    for i in range(200):
        with open(f"w{n}-{i}", "w") as f:
            f.write("x")
        try:
            open(f"/etc/paddock-thread-{n}", "w")
        except OSError:
            pass
ts = [threading.Thread(target=work, args=(n,)) for n in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
signal.setitimer(signal.ITIMER_REAL, 0, 0)
print(len([f for f in os.listdir(".") if f.startswith("w")]))
ok = os.posix_spawn("/bin/true", ["true"], os.environ, file_actions=[
    (os.POSIX_SPAWN_OPEN, 1, "ok", os.O_WRONLY | os.O_CREAT, 0o644)])
print(os.waitpid(ok, 0)[1])
try:
    os.posix_spawn("/bin/true", ["true"], os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, "/etc/paddock-vfork-probe", os.O_WRONLY | os.O_CREAT, 0o644)])
except OSError as e:
    print(e.errno)
sys.exit(3)
"#;

#[test]
fn threads_signals_and_a_vfork_child_are_observed_without_breaking_them() {
    let w = World::new();
    if !usable(&w, "python3", "python3 -c 'import threading'") {
        return;
    }
    std::fs::write(w.ws.join("threads.py"), PY_THREADS).unwrap();
    let o = w.run_with("workspace-write", &["--json"], "python3 threads.py\n");
    let r = report(&o);
    assert_eq!(o.status.code(), Some(3), "{}: {r}", stderr(&o));
    // 1600 files, the spawn in the workspace exits 0, the one in /etc fails with EROFS.
    let lines: Vec<&str> = r["stdout"].as_str().unwrap().lines().collect();
    assert_eq!(lines, ["1600", "0", "30"], "{r}");
    let mut paths = observed_writes(&r);
    paths.sort();
    let mut expected: Vec<String> = (0..8).map(|n| format!("/etc/paddock-thread-{n}")).collect();
    expected.push("/etc/paddock-vfork-probe".into());
    expected.sort();
    assert_eq!(paths, expected, "{r}");
}

#[test]
fn a_program_that_exits_while_its_threads_wait_on_the_observer_ends_cleanly() {
    let w = World::new();
    if !usable(&w, "python3", "python3 -c 'import threading'") {
        return;
    }
    let script = "python3 -c '\nimport os, threading\n\
def spin(n):\n    i = 0\n    while True:\n        i += 1\n        open(f\"s{n}-{i % 50}\", \"w\").close()\n\
[threading.Thread(target=spin, args=(n,), daemon=True).start() for n in range(6)]\n\
import time; time.sleep(0.3); os._exit(5)'\n\
echo after\n";
    for _ in 0..3 {
        let o = w.run_with("workspace-write", &["--json", "--timeout", "20"], script);
        let r = report(&o);
        assert_eq!(r["stdout"].as_str().unwrap().trim(), "after", "{r}");
        assert_eq!(o.status.code(), Some(0), "{r}");
    }
}

#[test]
fn a_read_of_a_deny_read_secret_is_reported_with_its_path() {
    let w = World::new();
    let o = w.run_with("workspace-write", &["--json"], "cat \"$HOME/.ssh/id_rsa\"");
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = report(&o);
    assert!(
        !r["stdout"]
            .as_str()
            .unwrap_or("")
            .contains(linux_support::SECRET),
        "{r}"
    );
    let reads = denials(&r, "deny-read");
    assert_eq!(reads.len(), 1, "{r}");
    let secret = w.home.join(".ssh/id_rsa");
    assert_eq!(reads[0]["path"], secret.to_str().unwrap(), "{r}");
    assert_eq!(reads[0]["source"], "stderr-guess", "{r}");
    assert!(
        stderr(&o).contains("paddock: read of deny-read path"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_run_that_succeeds_or_fails_for_its_own_reasons_reports_no_denial() {
    let w = World::new();
    for script in ["echo fine", "echo 'tests failed' >&2; exit 1"] {
        let o = w.run_with("workspace-write", &["--json"], script);
        let r = report(&o);
        assert_eq!(r["denials"], serde_json::json!([]), "{script}: {r}");
        assert!(r.get("denial_summary").is_none(), "{r}");
        assert!(
            !stderr(&o).contains("paddock: "),
            "{script}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn a_host_unix_socket_bound_during_the_run_is_refused_and_reported_with_its_path() {
    let w = World::new();
    // Bound after the sandbox started, so the mount view cannot hide it: the broker refuses it.
    let path = w.outside.join("late.sock");
    let script = "touch \"$WS/started\"\nwhile [ ! -e \"$WS/go\" ]; do sleep 0.05; done\n\
perl -MSocket -e 'socket(my $s, AF_UNIX, SOCK_STREAM, 0) or exit 4; \
connect($s, pack_sockaddr_un($ARGV[0])) or exit 3' \"$OUT/late.sock\"\n";
    let mut cmd = w.command("workspace-write", &["--json"], script);
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !w.ws.join("started").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::fs::write(w.ws.join("go"), "").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let r = report(&o);
    let refused = denials(&r, "unix-socket-refused");
    assert_eq!(refused.len(), 1, "{r}");
    assert_eq!(refused[0]["path"], path.to_str().unwrap(), "{r}");
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "the host listener was reached");
}
