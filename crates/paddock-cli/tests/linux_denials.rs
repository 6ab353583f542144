//! Denial reports through the real binary (issue 12 part 4): a failed run says why in one
//! `paddock: ` line on stderr and in `--json`'s `denials`. The timeout names its limit and where
//! it was set; with the network off a connect to an IP and a DNS lookup (curl, getent) are
//! reported with the address, the port and the DNS flag, as the connect broker saw them; a write
//! to /etc or $HOME and a read of a deny-read secret are reported with their paths, as guesses
//! from the command's stderr (which the report says).

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

#[test]
fn writes_to_etc_and_home_are_reported_with_their_paths_as_guesses() {
    let w = World::new();
    let o = w.run_with(
        "workspace-write",
        &["--json"],
        "touch /etc/paddock-denial-probe\necho x > \"$HOME/.paddock-denial-probe\"\n",
    );
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = report(&o);
    let writes = denials(&r, "write-outside-roots");
    let paths: Vec<&str> = writes.iter().map(|d| d["path"].as_str().unwrap()).collect();
    let home = w.home.join(".paddock-denial-probe");
    assert_eq!(
        paths,
        ["/etc/paddock-denial-probe", home.to_str().unwrap()],
        "{r}"
    );
    assert!(writes.iter().all(|d| d["source"] == "stderr-guess"), "{r}");
    let err = stderr(&o);
    assert!(
        err.contains(
            "paddock: write to /etc/paddock-denial-probe outside the writable roots refused (a \
             guess from its stderr)"
        ),
        "{err}"
    );
    assert!(!home.exists());
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
