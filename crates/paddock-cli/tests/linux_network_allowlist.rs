//! The network allow-list through the real `paddock` binary on Linux: the sandbox keeps its
//! empty network namespace and reaches hosts only through Paddock's proxy (HTTP_PROXY and
//! friends point at it). Servers are started by the test on 127.0.0.1 only; the sandboxed
//! command uses curl. Listed hosts are reached (plain HTTP and CONNECT), unlisted ones and
//! unlisted IP literals get 403 and never see a connection, a direct connect without the proxy
//! fails, SOCKS5 through `ALL_PROXY` is held to the same list, the `--json` report records
//! every decision, the audit log gets a line for each, and stderr a note per refusal.

#![cfg(target_os = "linux")]

mod linux_support;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// An HTTP server on 127.0.0.1 answering `hello from PATH`, counting its connections.
struct Origin {
    port: u16,
    hits: Arc<AtomicUsize>,
}

fn origin() -> Origin {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let path = line.split(' ').nth(1).unwrap_or("").to_string();
            let body = format!("hello from {path}");
            let mut s = s;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Origin { port, hits }
}

struct Sandbox {
    _root: tempfile::TempDir,
    ws: PathBuf,
    config: PathBuf,
    state: PathBuf,
    scripts: PathBuf,
}

impl Sandbox {
    /// A world whose user config says `network = { allow = ALLOW }`.
    fn new(allow: &[&str]) -> Sandbox {
        let root = linux_support::test_dir();
        let base = root.path().canonicalize().unwrap();
        let sb = Sandbox {
            ws: base.join("ws"),
            config: base.join("config"),
            state: base.join("state"),
            scripts: base.join("scripts"),
            _root: root,
        };
        for d in [&sb.ws, &sb.config, &sb.state, &sb.scripts] {
            std::fs::create_dir_all(d).unwrap();
        }
        let list: Vec<String> = allow.iter().map(|a| format!("\"{a}\"")).collect();
        std::fs::write(
            sb.config.join("config.toml"),
            format!("network = {{ allow = [{}] }}\n", list.join(", ")),
        )
        .unwrap();
        sb
    }

    /// `paddock run --json --mode workspace-write --cwd WS -- sh FILE` where FILE is `script`.
    fn run(&self, script: &str) -> (Output, serde_json::Value) {
        let out = self.run_with(&["--json"], script);
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("no JSON report ({e}): {}", linux_support::stderr(&out)));
        (out, report)
    }

    /// `paddock run EXTRA --mode workspace-write --cwd WS -- sh FILE` where FILE is `script`.
    fn run_with(&self, extra: &[&str], script: &str) -> Output {
        let file = self.scripts.join("probe.sh");
        std::fs::write(&file, script).unwrap();
        Command::new(env!("CARGO_BIN_EXE_paddock"))
            .arg("run")
            .args(extra)
            .args(["--mode", "workspace-write", "--cwd"])
            .arg(&self.ws)
            .args(["--", "sh"])
            .arg(&file)
            .env("PADDOCK_CONFIG_DIR", &self.config)
            .env("PADDOCK_STATE_DIR", &self.state)
            .output()
            .expect("paddock starts")
    }

    /// The audit log's records, oldest first.
    fn audit(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.state.join("audit.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
            .collect()
    }
}

fn curl() -> Option<&'static Path> {
    let p = Path::new("/usr/bin/curl");
    if p.exists() {
        Some(p)
    } else {
        paddock_core::testing::skip("/usr/bin/curl is missing");
        None
    }
}

fn stdout_of(report: &serde_json::Value) -> String {
    report["stdout"].as_str().unwrap_or("").to_string()
}

fn events(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["network"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_listed_ip_is_reached_through_the_proxy_by_plain_http_and_connect() {
    let Some(_) = curl() else { return };
    let o = origin();
    let sb = Sandbox::new(&["127.0.0.1"]);
    // NO_PROXY keeps 127.0.0.1 direct (the sandbox's own loopback); drop it to test the proxy.
    let (out, report) = sb.run(&format!(
        "unset NO_PROXY no_proxy\n\
         curl -sS --fail http://127.0.0.1:{p}/plain; echo\n\
         curl -sS --fail -p http://127.0.0.1:{p}/tunnel; echo\n",
        p = o.port
    ));
    linux_support::assert_ok(&out);
    assert_eq!(
        stdout_of(&report),
        "hello from /plain\nhello from /tunnel\n",
        "{report}"
    );
    assert_eq!(o.hits.load(Ordering::SeqCst), 2);
    let ev = events(&report);
    assert_eq!(ev.len(), 2, "{report}");
    assert_eq!(ev[0]["kind"], "http");
    assert_eq!(ev[1]["kind"], "connect");
    assert!(ev.iter().all(|e| e["allowed"] == true), "{report}");
    let layers = report["enforcement"]["layers"].to_string();
    assert!(
        layers.contains("AF_INET6"),
        "seccomp names the families: {layers}"
    );
}

#[test]
fn socks5_through_all_proxy_reaches_a_listed_ip_and_not_an_unlisted_name() {
    let Some(_) = curl() else { return };
    let o = origin();
    let sb = Sandbox::new(&["127.0.0.1"]);
    let (out, report) = sb.run(&format!(
        "echo \"$ALL_PROXY\"\n\
         unset NO_PROXY no_proxy\n\
         curl -sS --fail -x \"$ALL_PROXY\" http://127.0.0.1:{p}/socks; echo\n\
         curl -sS -x \"$ALL_PROXY\" http://localhost:{p}/ && echo reached\n\
         true\n",
        p = o.port
    ));
    linux_support::assert_ok(&out);
    assert_eq!(
        stdout_of(&report),
        "socks5h://127.0.0.1:47800\nhello from /socks\n",
        "{report}"
    );
    assert_eq!(o.hits.load(Ordering::SeqCst), 1);
    let ev = events(&report);
    assert_eq!(ev.len(), 2, "{report}");
    assert!(ev.iter().all(|e| e["kind"] == "socks5"), "{report}");
    assert_eq!(
        (&ev[0]["allowed"], &ev[1]["allowed"]),
        (&true.into(), &false.into())
    );
    assert_eq!(
        ev[1]["host"], "localhost",
        "the name went to the proxy: {report}"
    );
}

#[test]
fn an_unlisted_host_gets_403_and_the_origin_sees_nothing() {
    let Some(_) = curl() else { return };
    let o = origin();
    let sb = Sandbox::new(&["127.0.0.1"]);
    let (out, report) = sb.run(&format!(
        "unset NO_PROXY no_proxy\n\
         curl -s -o /dev/null -w '%{{http_code}}' http://localhost:{}/\n",
        o.port
    ));
    linux_support::assert_ran(&out);
    assert_eq!(stdout_of(&report), "403", "{report}");
    assert_eq!(o.hits.load(Ordering::SeqCst), 0);
    let ev = events(&report);
    assert_eq!(ev.len(), 1, "{report}");
    assert_eq!(ev[0]["host"], "localhost");
    assert_eq!(ev[0]["allowed"], false);
    // Under --json the refusal is in the report, not on stderr.
    let stderr = linux_support::stderr(&out);
    assert!(!stderr.contains("paddock: network:"), "{stderr}");
}

#[test]
fn each_decision_is_an_audit_line_and_a_refusal_a_note_on_stderr() {
    let Some(_) = curl() else { return };
    let o = origin();
    let sb = Sandbox::new(&["127.0.0.1"]);
    let out = sb.run_with(
        &[],
        &format!(
            "unset NO_PROXY no_proxy\n\
             curl -sS --fail http://127.0.0.1:{p}/ok; echo\n\
             curl -s -o /dev/null -w '%{{http_connect}}\\n' -p http://evil.example:{p}/ || true\n",
            p = o.port
        ),
    );
    linux_support::assert_ok(&out);
    assert_eq!(linux_support::stdout(&out), "hello from /ok\n403\n");
    let notes: Vec<String> = linux_support::stderr(&out)
        .lines()
        .filter(|l| l.starts_with("paddock: network:"))
        .map(str::to_string)
        .collect();
    assert_eq!(
        notes,
        [format!(
            "paddock: network: refused CONNECT evil.example:{} (not in the allow-list; add it \
             to network.allow)",
            o.port
        )],
        "one note, for the refusal only"
    );
    // The run's decision, one line per proxy decision in the order made, then the outcome.
    let records = sb.audit();
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["decision"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds.len(), 4, "{records:#?}");
    assert_eq!(&kinds[1..3], ["network", "network"], "{records:#?}");
    let (allowed, refused) = (&records[1]["network"], &records[2]["network"]);
    assert_eq!(
        (&allowed["kind"], &allowed["host"], &allowed["allowed"]),
        (&"http".into(), &"127.0.0.1".into(), &true.into()),
        "{records:#?}"
    );
    assert_eq!(
        (&refused["kind"], &refused["host"], &refused["allowed"]),
        (&"connect".into(), &"evil.example".into(), &false.into()),
        "{records:#?}"
    );
    assert!(
        records[1..3]
            .iter()
            .all(|r| r["argv"] == records[0]["argv"]),
        "each line names the command: {records:#?}"
    );
    assert_eq!(records[3]["exit_code"], 0, "{records:#?}");
    // `paddock log` shows them.
    let log = Command::new(env!("CARGO_BIN_EXE_paddock"))
        .arg("log")
        .env("PADDOCK_CONFIG_DIR", &sb.config)
        .env("PADDOCK_STATE_DIR", &sb.state)
        .output()
        .unwrap();
    let shown = linux_support::stdout(&log);
    assert!(
        shown.contains(&format!("refused CONNECT evil.example:{}", o.port)),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("allowed HTTP 127.0.0.1:{} (127.0.0.1:", o.port)),
        "{shown}"
    );
}

#[test]
fn connect_to_an_unlisted_ip_literal_is_refused() {
    let Some(_) = curl() else { return };
    let o = origin();
    let sb = Sandbox::new(&["localhost"]);
    let (out, report) = sb.run(&format!(
        "unset NO_PROXY no_proxy\ncurl -sS --fail -p http://127.0.0.1:{}/ && echo reached\n",
        o.port
    ));
    linux_support::assert_ran(&out);
    assert!(!stdout_of(&report).contains("reached"), "{report}");
    assert_eq!(o.hits.load(Ordering::SeqCst), 0);
    let ev = events(&report);
    assert_eq!(ev[0]["kind"], "connect");
    assert_eq!(ev[0]["allowed"], false, "{report}");
}

#[test]
fn a_host_name_with_terminal_escapes_reaches_stderr_escaped() {
    let sb = Sandbox::new(&["127.0.0.1"]);
    // A raw CONNECT whose host sets the terminal's title (ESC ] 0 ; ... BEL).
    let out = sb.run_with(
        &[],
        "exec /usr/bin/perl -e 'use Socket; socket(my $s, PF_INET, SOCK_STREAM, 0) or die;\n\
         connect($s, pack_sockaddr_in(47800, inet_aton(\"127.0.0.1\"))) or die \"$!\";\n\
         syswrite($s, \"CONNECT evil\\x1b]0;pwned\\x07.example:443 HTTP/1.1\\r\\n\\r\\n\");\n\
         sysread($s, my $r, 12); print $r;'\n",
    );
    linux_support::assert_ok(&out);
    assert_eq!(linux_support::stdout(&out), "HTTP/1.1 403");
    let stderr = linux_support::stderr(&out);
    assert!(
        stderr.contains("refused CONNECT evil\\x1b]0;pwned\\x07.example:443"),
        "{stderr}"
    );
    assert!(!stderr.contains(['\x1b', '\x07']), "{stderr:?}");
}

#[test]
fn a_direct_connect_without_the_proxy_fails() {
    let Some(_) = curl() else { return };
    let o = origin();
    let sb = Sandbox::new(&["127.0.0.1"]);
    let (out, report) = sb.run(&format!(
        "curl -sS --noproxy '*' --max-time 5 http://127.0.0.1:{}/ && echo reached\n",
        o.port
    ));
    linux_support::assert_ran(&out);
    assert!(!stdout_of(&report).contains("reached"), "{report}");
    assert_eq!(o.hits.load(Ordering::SeqCst), 0);
    assert!(events(&report).is_empty(), "{report}");
}

#[test]
fn a_malformed_allow_list_entry_is_refused_before_anything_runs() {
    let sb = Sandbox::new(&["https://crates.io"]);
    let (out, report) = sb.run("echo ran\n");
    assert!(!linux_support::stdout(&out).contains("ran\n"));
    assert!(
        report["error"]
            .as_str()
            .unwrap_or("")
            .contains("https://crates.io"),
        "{report}"
    );
}

#[test]
fn tcp_connect_to_any_port_but_the_proxy_is_denied_by_landlock_and_bind_too() {
    let sb = Sandbox::new(&["127.0.0.1"]);
    // Inside the sandbox's own namespace: 47801 has no listener (ECONNREFUSED without
    // Landlock), 47800 is the proxy; Landlock must refuse the first with EACCES.
    let (out, report) = sb.run(
        "exec /usr/bin/perl -e 'use Socket; $|=1;\n\
         for my $p (47801, 47800) { socket(my $s, PF_INET, SOCK_STREAM, 0) or die;\n\
         print \"$p:\", (connect($s, pack_sockaddr_in($p, inet_aton(\"127.0.0.1\"))) ? 0 : $!+0), \"\\n\"; }\n\
         socket(my $l, PF_INET, SOCK_STREAM, 0) or die;\n\
         print \"bind:\", (bind($l, pack_sockaddr_in(0, inet_aton(\"127.0.0.1\"))) ? 0 : $!+0), \"\\n\";'\n",
    );
    linux_support::assert_ran(&out);
    let layers = report["enforcement"]["layers"].to_string();
    if !layers.contains("TCP bind and connect denied (ABI 4)") {
        paddock_core::testing::skip(&format!(
            "Landlock below ABI 4 here, no TCP rules: {layers}"
        ));
        return;
    }
    assert_eq!(
        stdout_of(&report),
        format!("47801:{EACCES}\n47800:0\nbind:{EACCES}\n"),
        "{report}"
    );
}

#[test]
fn sockets_other_than_unix_and_inet_stay_refused_in_allow_list_mode() {
    let sb = Sandbox::new(&["127.0.0.1"]);
    // AF_NETLINK (16) and AF_PACKET (17): seccomp answers EAFNOSUPPORT (97).
    let (out, report) = sb.run(
        "exec /usr/bin/perl -e 'use Socket; $|=1;\n\
         for my $f (16, 17) { print \"$f:\", (socket(my $s, $f, SOCK_RAW, 0) ? 0 : $!+0), \"\\n\"; }'\n",
    );
    linux_support::assert_ran(&out);
    assert_eq!(stdout_of(&report), "16:97\n17:97\n", "{report}");
}

/// The errno Landlock answers a denied TCP connect or bind with.
const EACCES: i32 = 13;

/// A statically linked Paddock resolves a listed name with glibc's built-in `files` and `dns`
/// sources only (`sys::built_in_host_lookups`), whatever `/etc/nsswitch.conf` names: here a
/// module that does not exist, which a static glibc would try to `dlopen` (and, after an
/// upgrade of the host's glibc, a module of another glibc) and then find nothing. Run in a
/// private mount namespace where that nsswitch.conf is bound over the host's; `localhost`
/// comes from `/etc/hosts`.
#[test]
fn a_static_paddock_resolves_a_listed_name_without_the_nss_modules_nsswitch_names() {
    let Some(_) = curl() else { return };
    if !linux_support::running_as_root() || !Path::new("/usr/bin/unshare").exists() {
        paddock_core::testing::skip("needs root and unshare(1) to bind a test nsswitch.conf");
        return;
    }
    let binary = std::fs::read(env!("CARGO_BIN_EXE_paddock")).unwrap();
    if linux_support::elf_type_and_interpreter(&binary).1 {
        paddock_core::testing::skip(
            "this paddock is dynamically linked; NSS modules load as usual",
        );
        return;
    }
    let o = origin();
    let sb = Sandbox::new(&["localhost"]);
    let nsswitch = sb.scripts.join("nsswitch.conf");
    std::fs::write(&nsswitch, "hosts: paddocktestnosuchmodule\n").unwrap();
    let probe = sb.scripts.join("probe.sh");
    std::fs::write(
        &probe,
        format!(
            "unset NO_PROXY no_proxy\ncurl -sS http://localhost:{}/static-nss\n",
            o.port
        ),
    )
    .unwrap();
    let out = Command::new("/usr/bin/unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg("mount --bind \"$1\" /etc/nsswitch.conf && shift && exec \"$@\"")
        .arg("sh")
        .arg(&nsswitch)
        .arg(env!("CARGO_BIN_EXE_paddock"))
        .args(["run", "--json", "--mode", "workspace-write", "--cwd"])
        .arg(&sb.ws)
        .args(["--", "sh"])
        .arg(&probe)
        .env("PADDOCK_CONFIG_DIR", &sb.config)
        .env("PADDOCK_STATE_DIR", &sb.state)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {}", linux_support::stderr(&out)));
    assert_eq!(stdout_of(&report), "hello from /static-nss", "{report}");
    assert_eq!(o.hits.load(Ordering::SeqCst), 1);
}
