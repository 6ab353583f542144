//! Network attacks through the real `paddock` binary on Linux: with `--network off` the sandboxed
//! command tries to reach listeners this test starts on the host (TCP v4/v6, UDP, bash
//! `/dev/tcp`, raw ICMP, unix sockets by path and abstract name) and each listener must see
//! nothing; socketpairs, unix sockets inside the workspace and `--network on` must keep working,
//! and the `--json` report must claim the network restrictions exactly when they apply.
//!
//! Probes are Perl scripts (`/usr/bin/perl` with its core `Socket` module) run from a file, so
//! that the command rules do not pre-empt the sandbox: they print `ran`, then exit 4 when the
//! socket cannot be created, 3 when it cannot reach its peer, 0 on success.

#![cfg(target_os = "linux")]

mod linux_support;
use paddock_core::{Capability, EnforcementReport, Gap, LandlockFeature, Layer, Protection};
use std::io::{ErrorKind, Read};
use std::net::{Ipv6Addr, TcpListener, UdpSocket};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Exit code of a probe whose socket could not be created.
const NO_SOCKET: i32 = 4;
/// Exit code of a probe whose socket could not reach its peer.
const NO_PEER: i32 = 3;

/// One test's directories, all outside /tmp (the sandbox gets a private /tmp): the workspace,
/// the probe scripts (outside the workspace), and Paddock's own config and state.
struct Sandbox {
    _root: tempfile::TempDir,
    ws: PathBuf,
    scripts: PathBuf,
    config: PathBuf,
    state: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let root = linux_support::test_dir();
        let base = root.path().canonicalize().unwrap();
        let sb = Sandbox {
            ws: base.join("ws"),
            scripts: base.join("scripts"),
            config: base.join("config"),
            state: base.join("state"),
            _root: root,
        };
        for d in [&sb.ws, &sb.scripts, &sb.config, &sb.state] {
            std::fs::create_dir_all(d).unwrap();
        }
        sb
    }

    /// `paddock run --mode workspace-write --network NETWORK --cwd WS -- INTERPRETER FILE ARGS`
    /// where FILE holds `script`.
    fn run(&self, network: &str, interpreter: &str, script: &str, args: &[&str]) -> Output {
        let file = self.scripts.join("probe");
        std::fs::write(&file, script).unwrap();
        Command::new(env!("CARGO_BIN_EXE_paddock"))
            .args([
                "run",
                "--mode",
                "workspace-write",
                "--network",
                network,
                "--cwd",
            ])
            .arg(&self.ws)
            .args(["--", interpreter])
            .arg(&file)
            .args(args)
            .env("PADDOCK_CONFIG_DIR", &self.config)
            .env("PADDOCK_STATE_DIR", &self.state)
            .output()
            .expect("paddock starts")
    }

    fn perl(&self, network: &str, script: &str, args: &[&str]) -> Output {
        let program = format!("use Socket; $| = 1; print \"ran\\n\"; {script}");
        self.run(network, "/usr/bin/perl", &program, args)
    }
}

/// Asserts the sandbox really ran the probe and the probe failed with one of `codes`.
fn assert_refused(out: &Output, codes: &[i32]) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("ran"),
        "the probe did not run (paddock refused?): {:?}\n{stderr}",
        out.status
    );
    let code = out.status.code();
    assert!(
        code.is_some_and(|c| codes.contains(&c)),
        "the attack was not refused: exit {code:?}, expected one of {codes:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
}

fn assert_succeeded(out: &Output) {
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ran"),
        "legitimate work failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_no_tcp_connection(listener: &TcpListener) {
    listener.set_nonblocking(true).unwrap();
    let got = listener.accept();
    assert!(
        matches!(&got, Err(e) if e.kind() == ErrorKind::WouldBlock),
        "the host listener received a connection from the sandbox: {got:?}"
    );
}

fn assert_no_unix_connection(listener: &UnixListener) {
    listener.set_nonblocking(true).unwrap();
    let got = listener.accept();
    assert!(
        matches!(&got, Err(e) if e.kind() == ErrorKind::WouldBlock),
        "the host unix listener received a connection from the sandbox: {got:?}"
    );
}

const TCP4_CONNECT: &str = r#"socket(my $s, AF_INET, SOCK_STREAM, 0) or do { warn "socket: $!"; exit 4 };
connect($s, pack_sockaddr_in($ARGV[0], inet_aton("127.0.0.1"))) or do { warn "connect: $!"; exit 3 };
exit 0;"#;

#[test]
fn tcp_v4_connect_to_a_host_loopback_listener_is_refused() {
    let sb = Sandbox::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let out = sb.perl("off", TCP4_CONNECT, &[&port]);
    assert_refused(&out, &[NO_SOCKET, NO_PEER]);
    assert_no_tcp_connection(&listener);
}

#[test]
fn tcp_v6_connect_to_a_host_loopback_listener_is_refused() {
    let sb = Sandbox::new();
    let listener = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).expect("the host has ::1");
    let port = listener.local_addr().unwrap().port().to_string();
    let script = r#"socket(my $s, AF_INET6, SOCK_STREAM, 0) or do { warn "socket: $!"; exit 4 };
connect($s, pack_sockaddr_in6($ARGV[0], Socket::inet_pton(AF_INET6, "::1"))) or do { warn "connect: $!"; exit 3 };
exit 0;"#;
    let out = sb.perl("off", script, &[&port]);
    assert_refused(&out, &[NO_SOCKET, NO_PEER]);
    assert_no_tcp_connection(&listener);
}

#[test]
fn udp_send_to_a_host_loopback_socket_is_refused() {
    let sb = Sandbox::new();
    let host = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port().to_string();
    let script = r#"socket(my $s, AF_INET, SOCK_DGRAM, 0) or do { warn "socket: $!"; exit 4 };
send($s, "leak", 0, pack_sockaddr_in($ARGV[0], inet_aton("127.0.0.1"))) or do { warn "send: $!"; exit 3 };
exit 0;"#;
    let out = sb.perl("off", script, &[&port]);
    assert_refused(&out, &[NO_SOCKET, NO_PEER]);
    host.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 16];
    let got = host.recv(&mut buf);
    assert!(
        matches!(&got, Err(e) if e.kind() == ErrorKind::WouldBlock),
        "the host UDP socket received a datagram from the sandbox: {got:?}"
    );
}

#[test]
fn bash_dev_tcp_connect_to_a_host_loopback_listener_is_refused() {
    let sb = Sandbox::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!("echo ran\nexec 3<>/dev/tcp/127.0.0.1/{port} || exit 3\necho leak >&3\n");
    let out = sb.run("off", "/bin/bash", &script, &[]);
    assert_refused(&out, &[NO_PEER]);
    assert_no_tcp_connection(&listener);
}

#[test]
fn raw_icmp_socket_is_refused() {
    let sb = Sandbox::new();
    let script = r#"socket(my $s, AF_INET, SOCK_RAW, 1) or do { warn "socket: $!"; exit 4 };
exit 0;"#;
    let out = sb.perl("off", script, &[]);
    assert_refused(&out, &[NO_SOCKET]);
}

const UNIX_CONNECT: &str = r#"socket(my $s, AF_UNIX, SOCK_STREAM, 0) or do { warn "socket: $!"; exit 4 };
connect($s, pack_sockaddr_un($ARGV[0])) or do { warn "connect: $!"; exit 3 };
exit 0;"#;

fn unix_socket_by_path_is_refused(dir: &Path) {
    let sb = Sandbox::new();
    let path = dir.join("host.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let out = sb.perl("off", UNIX_CONNECT, &[path.to_str().unwrap()]);
    assert_refused(&out, &[NO_PEER]);
    assert_no_unix_connection(&listener);
}

#[test]
fn unix_socket_file_of_a_host_listener_outside_the_workspace_is_unreachable() {
    let dir = linux_support::test_dir();
    unix_socket_by_path_is_refused(dir.path());
}

#[test]
fn unix_socket_file_of_a_host_listener_in_tmp_is_unreachable() {
    let dir = tempfile::tempdir_in("/tmp").unwrap();
    unix_socket_by_path_is_refused(dir.path());
}

#[test]
fn abstract_unix_socket_of_a_host_listener_is_unreachable() {
    let sb = Sandbox::new();
    let name = format!("paddock-test-host-{}", std::process::id());
    let listener =
        UnixListener::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
    let script = r#"socket(my $s, AF_UNIX, SOCK_STREAM, 0) or do { warn "socket: $!"; exit 4 };
connect($s, pack_sockaddr_un("\0" . $ARGV[0])) or do { warn "connect: $!"; exit 3 };
exit 0;"#;
    let out = sb.perl("off", script, &[&name]);
    assert_refused(&out, &[NO_PEER]);
    assert_no_unix_connection(&listener);
}

/// With the network off, the command's network namespace is not the host's (pid 1 makes it on a
/// thread of its own beside the view and joins it before anything runs, `init::network`), it
/// holds only loopback, and loopback is up (the all-hosts group is joined on an interface that
/// is up).
#[test]
fn the_command_runs_in_a_network_namespace_of_its_own_with_only_loopback_up() {
    let sb = Sandbox::new();
    let host = std::fs::read_link("/proc/self/ns/net").unwrap();
    let script = r#"echo ran
ns=$(readlink /proc/self/ns/net)
[ "$ns" != "$1" ] || { echo "in the host's namespace $ns" >&2; exit 3; }
ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')
[ "$ifaces" = "lo " ] || { echo "interfaces: $ifaces" >&2; exit 4; }
grep -q '[[:space:]]lo[[:space:]]' /proc/net/igmp || { echo "loopback is down" >&2; exit 5; }
"#;
    assert_succeeded(&sb.run("off", "/bin/sh", script, &[host.to_str().unwrap()]));
}

#[test]
fn socketpair_works_with_the_network_off() {
    let sb = Sandbox::new();
    let script = r#"socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or do { warn "socketpair: $!"; exit 4 };
syswrite($a, "ping") == 4 or exit 5; sysread($b, my $got, 4); $got eq "ping" or exit 6;
exit 0;"#;
    assert_succeeded(&sb.perl("off", script, &[]));
}

#[test]
fn unix_socket_server_and_client_inside_the_workspace_work_with_the_network_off() {
    let sb = Sandbox::new();
    let script = r#"my $path = "$ARGV[0]/inside.sock";
socket(my $srv, AF_UNIX, SOCK_STREAM, 0) or do { warn "socket: $!"; exit 4 };
bind($srv, pack_sockaddr_un($path)) or do { warn "bind: $!"; exit 5 };
listen($srv, 1) or exit 6;
my $pid = fork() // do { warn "fork: $!"; exit 7 };
if ($pid == 0) {
    socket(my $c, AF_UNIX, SOCK_STREAM, 0) or exit 4;
    connect($c, pack_sockaddr_un($path)) or do { warn "connect: $!"; exit 3 };
    syswrite($c, "hello");
    exit 0;
}
accept(my $conn, $srv) or exit 8;
sysread($conn, my $got, 5); waitpid($pid, 0);
$? == 0 && $got eq "hello" or do { warn "child $? got '$got'"; exit 9 };
exit 0;"#;
    let ws_path = sb.ws.to_str().unwrap().to_string();
    assert_succeeded(&sb.perl("off", script, &[&ws_path]));
}

#[test]
fn network_on_reaches_the_host_loopback_listener() {
    let sb = Sandbox::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let script = r#"socket(my $s, AF_INET, SOCK_STREAM, 0) or do { warn "socket: $!"; exit 4 };
connect($s, pack_sockaddr_in($ARGV[0], inet_aton("127.0.0.1"))) or do { warn "connect: $!"; exit 3 };
syswrite($s, "hello"); exit 0;"#;
    assert_succeeded(&sb.perl("on", script, &[&port]));
    listener.set_nonblocking(true).unwrap();
    let (mut conn, _) = listener
        .accept()
        .expect("the sandbox's connection is queued");
    conn.set_nonblocking(false).unwrap();
    let mut got = String::new();
    conn.read_to_string(&mut got).unwrap();
    assert_eq!(got, "hello");
}

/// The enforcement report of `paddock run --json`, read back into its typed form (as a harness
/// would read it).
fn enforcement(sb: &Sandbox, network: &str) -> EnforcementReport {
    let out = Command::new(env!("CARGO_BIN_EXE_paddock"))
        .args([
            "run",
            "--json",
            "--mode",
            "workspace-write",
            "--network",
            network,
            "--cwd",
        ])
        .arg(&sb.ws)
        .args(["--", "/bin/true"])
        .env("PADDOCK_CONFIG_DIR", &sb.config)
        .env("PADDOCK_STATE_DIR", &sb.state)
        .output()
        .expect("paddock starts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    serde_json::from_value(report["enforcement"].clone()).expect("a typed enforcement report")
}

/// The layers of `paddock run --json`'s enforcement report, as (name, status, detail).
fn reported_layers(sb: &Sandbox, network: &str) -> Vec<(String, String, String)> {
    enforcement(sb, network)
        .layers
        .into_iter()
        .map(|l| (l.name.as_str().into(), l.status.as_str().into(), l.detail))
        .collect()
}

fn layer<'a>(layers: &'a [(String, String, String)], name: &str) -> &'a (String, String, String) {
    layers
        .iter()
        .find(|l| l.0 == name)
        .unwrap_or_else(|| panic!("no {name} layer in {layers:?}"))
}

#[test]
fn network_off_report_names_the_network_namespace_landlock_tcp_and_unix_only_sockets() {
    let layers = reported_layers(&Sandbox::new(), "off");
    let (_, _, detail) = layer(&layers, "namespaces");
    assert!(detail.contains("network (loopback only)"), "{detail}");
    let (_, status, detail) = layer(&layers, "landlock");
    assert_eq!(status, "enforced");
    assert!(detail.contains("TCP bind and connect denied"), "{detail}");
    let (_, status, detail) = layer(&layers, "seccomp");
    assert_eq!(status, "enforced");
    assert!(detail.contains("only for AF_UNIX"), "{detail}");
}

#[test]
fn network_on_report_claims_no_network_restriction() {
    let layers = reported_layers(&Sandbox::new(), "on");
    let (_, _, detail) = layer(&layers, "namespaces");
    assert!(!detail.contains("network"), "{detail}");
    let (_, _, detail) = layer(&layers, "landlock");
    assert!(!detail.contains("TCP"), "{detail}");
    let (_, _, detail) = layer(&layers, "seccomp");
    assert!(!detail.contains("AF_UNIX"), "{detail}");
}

/// Whether this kernel's Landlock lacks TCP rules (ABI below 4), as the report says it.
fn landlock_lacks_tcp(report: &EnforcementReport) -> bool {
    report.gaps().any(|g| {
        matches!(
            g,
            Gap::LandlockAbi {
                feature: LandlockFeature::TcpBindConnect,
                ..
            }
        )
    })
}

#[test]
fn a_harness_asks_the_typed_report_whether_tcp_is_denied_with_the_network_off() {
    let report = enforcement(&Sandbox::new(), "off");
    assert!(report.enforces(Capability::Network), "{report:?}");
    let landlock = report.layer(Layer::Landlock).expect("a landlock layer");
    if landlock_lacks_tcp(&report) {
        println!("SKIPPED: Landlock below ABI 4 here; the report must then not claim TCP rules");
        assert!(!report.enforces(Protection::TcpConnect), "{report:?}");
        return;
    }
    assert!(report.enforces(Protection::TcpConnect), "{report:?}");
    assert!(report.enforces(Protection::TcpBind), "{report:?}");
    assert!(landlock.enforces.contains(&Protection::TcpConnect));
}

#[test]
fn a_harness_asks_the_typed_report_whether_tcp_is_denied_with_the_network_on() {
    let report = enforcement(&Sandbox::new(), "on");
    assert!(!report.enforces(Protection::TcpConnect), "{report:?}");
    assert!(!report.enforces(Protection::TcpBind), "{report:?}");
    assert!(!report.enforces(Capability::Network), "{report:?}");
    assert!(
        !landlock_lacks_tcp(&report),
        "TCP rules are not asked for: {report:?}"
    );
    assert!(
        report.enforces(Protection::Writes),
        "the rest still holds: {report:?}"
    );
}
