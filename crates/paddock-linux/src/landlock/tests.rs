//! Attacks on the Landlock layer, each run in a child process that applies the ruleset first,
//! and the legitimate work on the right side of each boundary.

use super::*;
use crate::plan::PlanCommand;
use crate::seccomp::child_probe::{self, io_outcome, outcome, report};
use paddock_core::Mode;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::path::Path;

const ENTRY: &str = "landlock::tests::probe_child";

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the parent test"))
}

fn restrict(writable: Vec<PathBuf>, network_off: bool) -> LayerReport {
    let report = enforce(&LandlockRequest {
        writable,
        network_off,
        tcp_connect_port: None,
        may_degrade: false,
    })
    .expect("Landlock applies");
    child_probe::report("status", format!("{:?}", report.status));
    report
}

fn truncate(path: &Path) -> String {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a live NUL-terminated path.
    outcome(unsafe { libc::truncate(c.as_ptr(), 0) }.into())
}

fn mkfifo(path: &Path) -> String {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a live NUL-terminated path.
    outcome(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }.into())
}

fn kill(pid: libc::pid_t) -> String {
    // SAFETY: kill(2) takes two integers.
    outcome(unsafe { libc::kill(pid, libc::SIGTERM) }.into())
}

fn probe_fs() {
    let inside = PathBuf::from(var("PADDOCK_TEST_INSIDE"));
    let outside = PathBuf::from(var("PADDOCK_TEST_OUTSIDE"));
    let existing = outside.join("existing.txt");
    restrict(vec![inside.clone()], false);
    report(
        "write-inside",
        io_outcome(fs::write(inside.join("new.txt"), "x")),
    );
    report("mkdir-inside", io_outcome(fs::create_dir(inside.join("d"))));
    report(
        "rename-inside",
        io_outcome(fs::rename(
            inside.join("new.txt"),
            inside.join("d/moved.txt"),
        )),
    );
    report("truncate-inside", truncate(&inside.join("d/moved.txt")));
    report(
        "remove-inside",
        io_outcome(fs::remove_file(inside.join("d/moved.txt"))),
    );
    report("read-outside", io_outcome(fs::read(&existing)));
    report(
        "write-outside",
        io_outcome(fs::write(outside.join("new.txt"), "x")),
    );
    report(
        "append-outside",
        io_outcome(fs::OpenOptions::new().append(true).open(&existing)),
    );
    report("truncate-outside", truncate(&existing));
    report(
        "mkdir-outside",
        io_outcome(fs::create_dir(outside.join("d"))),
    );
    report("remove-outside", io_outcome(fs::remove_file(&existing)));
    report(
        "symlink-outside",
        io_outcome(std::os::unix::fs::symlink("/etc", outside.join("l"))),
    );
    report("mkfifo-outside", mkfifo(&outside.join("fifo")));
    report(
        "hardlink-into-root",
        io_outcome(fs::hard_link(&existing, inside.join("link"))),
    );
    report("rename-out-of-root", {
        fs::write(inside.join("escape.txt"), "x").unwrap();
        io_outcome(fs::rename(
            inside.join("escape.txt"),
            outside.join("escape.txt"),
        ))
    });
    report(
        "dev-null",
        io_outcome(
            fs::File::create("/dev/null").and_then(|mut f| std::io::Write::write_all(&mut f, b"x")),
        ),
    );
}

fn probe_net() {
    let port: u16 = var("PADDOCK_TEST_PORT").parse().unwrap();
    let network_off = var("PADDOCK_TEST_NETWORK") == "off";
    report(
        "control.connect",
        io_outcome(TcpStream::connect(("127.0.0.1", port))),
    );
    restrict(Vec::new(), network_off);
    report(
        "connect",
        io_outcome(TcpStream::connect(("127.0.0.1", port))),
    );
    report("bind", io_outcome(TcpListener::bind("127.0.0.1:0")));
}

fn probe_abstract() {
    let host = SocketAddr::from_abstract_name(var("PADDOCK_TEST_ABSTRACT").as_bytes()).unwrap();
    report(
        "control.connect-host",
        io_outcome(UnixStream::connect_addr(&host)),
    );
    restrict(Vec::new(), true);
    report("connect-host", io_outcome(UnixStream::connect_addr(&host)));
    let own_name = format!("paddock-own-{}", std::process::id());
    let own = SocketAddr::from_abstract_name(own_name.as_bytes()).unwrap();
    match UnixListener::bind_addr(&own) {
        Ok(_listener) => {
            report("listen-own", "ok");
            report("connect-own", io_outcome(UnixStream::connect_addr(&own)));
        }
        Err(e) => report("listen-own", io_outcome::<()>(Err(e))),
    }
    report("socketpair", io_outcome(UnixStream::pair()));
}

fn probe_signal() {
    let victim: libc::pid_t = var("PADDOCK_TEST_VICTIM").parse().unwrap();
    restrict(Vec::new(), false);
    report("kill-outside", kill(victim));
    let mut own = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    report("kill-own-child", kill(own.id() as libc::pid_t));
    own.wait().unwrap();
}

fn probe_plan() {
    let inside = PathBuf::from(var("PADDOCK_TEST_INSIDE"));
    let plan = LinuxPlan {
        mode: Mode::WorkspaceWrite,
        writable_roots: vec![inside.clone()],
        protected: Vec::new(),
        deny_read: Vec::new(),
        network_off: true,
        proxy_port: None,
        network_in_init: false,
        command: PlanCommand {
            program: "/bin/true".into(),
            args: Vec::new(),
            cwd: inside.clone(),
            env: Vec::new(),
        },
        uid: 0,
        gid: 0,
        limits: Default::default(),
    };
    let layer = apply_landlock(&plan).expect("apply_landlock succeeds");
    report("status", format!("{:?}", layer.status));
    report(
        "detail-names-abi",
        layer.detail.starts_with("ABI ").to_string(),
    );
    report("write-root", io_outcome(fs::write(inside.join("f"), "x")));
    let tmp = tempfile::NamedTempFile::new_in("/tmp");
    report("write-tmp", io_outcome(tmp));
    let etc = Path::new("/etc/paddock-landlock-probe");
    report("write-etc", io_outcome(fs::write(etc, "x")));
    let _ = fs::remove_file(etc);
}

/// RNDGETENTCNT on `/dev/urandom`: a driver ioctl on a device the sandbox may only read.
fn urandom_ioctl() -> String {
    const RNDGETENTCNT: libc::c_ulong = 0x8004_5200;
    let dev = fs::File::open("/dev/urandom").unwrap();
    let mut count: libc::c_int = 0;
    // SAFETY: RNDGETENTCNT writes one int into `count`, a live local; `dev` is open.
    outcome(
        unsafe {
            libc::ioctl(
                std::os::fd::AsRawFd::as_raw_fd(&dev),
                RNDGETENTCNT,
                &mut count,
            )
        }
        .into(),
    )
}

fn probe_ioctl() {
    report("control.urandom-ioctl", urandom_ioctl());
    restrict(Vec::new(), false);
    report("urandom-ioctl", urandom_ioctl());
}

#[test]
#[ignore = "helper: run in a child process by the Landlock tests"]
fn probe_child() {
    match var(child_probe::PROBE_ENV).as_str() {
        "fs" => probe_fs(),
        "net" => probe_net(),
        "abstract" => probe_abstract(),
        "signal" => probe_signal(),
        "plan" => probe_plan(),
        "ioctl" => probe_ioctl(),
        other => panic!("unknown probe {other}"),
    }
}

fn fs_probe() -> BTreeMap<String, String> {
    let inside = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("existing.txt"), "secret-free content").unwrap();
    let r = child_probe::run(
        ENTRY,
        "fs",
        &[
            ("PADDOCK_TEST_INSIDE", inside.path().display().to_string()),
            ("PADDOCK_TEST_OUTSIDE", outside.path().display().to_string()),
        ],
    );
    assert_eq!(
        fs::read_to_string(outside.path().join("existing.txt")).unwrap(),
        "secret-free content"
    );
    assert!(!outside.path().join("new.txt").exists());
    r
}

#[test]
fn landlock_denies_every_kind_of_write_outside_the_writable_roots() {
    let r = fs_probe();
    for key in [
        "write-outside",
        "append-outside",
        "truncate-outside",
        "mkdir-outside",
        "remove-outside",
        "symlink-outside",
        "mkfifo-outside",
    ] {
        assert_eq!(r[key], "EACCES", "{key}: {r:?}");
    }
}

#[test]
fn landlock_refuses_a_hard_link_that_would_make_an_outside_file_writable() {
    let r = fs_probe();
    assert_eq!(r["hardlink-into-root"], "EXDEV", "{r:?}");
    assert_ne!(r["rename-out-of-root"], "ok", "{r:?}");
}

#[test]
fn landlock_allows_reads_everywhere_and_all_writes_inside_the_roots() {
    let r = fs_probe();
    assert_eq!(r["status"], "Enforced");
    for key in [
        "read-outside",
        "write-inside",
        "mkdir-inside",
        "rename-inside",
        "truncate-inside",
        "remove-inside",
        "dev-null",
    ] {
        assert_eq!(r[key], "ok", "{key}: {r:?}");
    }
}

#[test]
fn landlock_refuses_driver_ioctls_on_devices_the_sandbox_may_only_read() {
    let r = child_probe::run(ENTRY, "ioctl", &[]);
    assert_eq!(r["control.urandom-ioctl"], "ok");
    assert_eq!(r["urandom-ioctl"], "EACCES");
}

fn net_probe(network: &str) -> BTreeMap<String, String> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    child_probe::run(
        ENTRY,
        "net",
        &[
            ("PADDOCK_TEST_PORT", port.to_string()),
            ("PADDOCK_TEST_NETWORK", network.to_string()),
        ],
    )
}

#[test]
fn landlock_denies_tcp_connect_and_bind_when_the_network_is_off() {
    let r = net_probe("off");
    assert_eq!(r["control.connect"], "ok");
    assert_eq!(r["connect"], "EACCES");
    assert_eq!(r["bind"], "EACCES");
}

#[test]
fn landlock_leaves_tcp_alone_when_the_network_is_on() {
    let r = net_probe("on");
    assert_eq!(r["connect"], "ok");
    assert_eq!(r["bind"], "ok");
}

#[test]
fn landlock_scoping_refuses_a_host_abstract_socket_and_keeps_the_sandbox_own() {
    let name = format!("paddock-host-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let _host = UnixListener::bind_addr(&addr).unwrap();
    let r = child_probe::run(ENTRY, "abstract", &[("PADDOCK_TEST_ABSTRACT", name)]);
    assert_eq!(r["control.connect-host"], "ok");
    assert_eq!(r["connect-host"], "EPERM");
    assert_eq!(r["listen-own"], "ok");
    assert_eq!(r["connect-own"], "ok");
    assert_eq!(r["socketpair"], "ok");
}

#[test]
fn landlock_scoping_refuses_signals_to_processes_outside_the_sandbox() {
    let mut victim = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let r = child_probe::run(
        ENTRY,
        "signal",
        &[("PADDOCK_TEST_VICTIM", victim.id().to_string())],
    );
    let still_running = victim.try_wait().unwrap().is_none();
    victim.kill().unwrap();
    victim.wait().unwrap();
    assert_eq!(r["kill-outside"], "EPERM");
    assert!(
        still_running,
        "the victim was killed from inside the sandbox"
    );
    assert_eq!(r["kill-own-child"], "ok");
}

#[test]
fn apply_landlock_grants_the_plans_roots_and_private_tmp_and_nothing_else() {
    let inside = tempfile::tempdir().unwrap();
    let r = child_probe::run(
        ENTRY,
        "plan",
        &[("PADDOCK_TEST_INSIDE", inside.path().display().to_string())],
    );
    assert_eq!(r["status"], "Enforced");
    assert_eq!(r["detail-names-abi"], "true");
    assert_eq!(r["write-root"], "ok");
    assert_eq!(r["write-tmp"], "ok");
    assert_eq!(r["write-etc"], "EACCES");
}

#[test]
fn a_kernel_without_landlock_fails_closed_unless_degradation_was_accepted() {
    let err = start(KernelLandlock::NotEnabled, false).unwrap_err();
    assert!(matches!(err, LandlockError::Unavailable { .. }));
    assert!(err.to_string().contains("lsm="), "{err}");
    match start(KernelLandlock::NotImplemented, true).unwrap() {
        Start::Degraded(r) => assert_eq!(r.status, LayerStatus::NotEnforced),
        other => panic!("expected a degraded report, got {other:?}"),
    }
    assert_eq!(
        start(KernelLandlock::Available(7), false).unwrap(),
        Start::Apply(7)
    );
}

fn coverage(abi: i32) -> Coverage {
    Coverage {
        abi,
        writable: vec!["/w".into()],
        devices: 5,
        truncate: abi >= 3,
        ioctl_dev: abi >= 5,
        tcp_denied: abi >= 4,
        scoped: abi >= 6,
        resolve_unix: abi >= 9,
    }
}

#[test]
fn report_is_partial_and_names_what_an_old_abi_lacks() {
    let r = super::report(&coverage(4), true);
    assert_eq!(r.status, LayerStatus::Partial);
    assert!(
        r.detail
            .contains("missing: device ioctls controlled (needs ABI 5)"),
        "{}",
        r.detail
    );
    assert!(
        r.detail.contains("confined to the sandbox (needs ABI 6)"),
        "{}",
        r.detail
    );
    assert!(r.detail.contains("left to the mount view"), "{}", r.detail);
    assert!(
        r.missing.contains(&Gap::LandlockAbi {
            feature: LandlockFeature::DeviceIoctl,
            have: 4,
            want: 5
        }),
        "{:?}",
        r.missing
    );
    assert!(
        r.enforces.contains(&Protection::TcpConnect),
        "{:?}",
        r.enforces
    );
    assert!(
        !r.enforces.contains(&Protection::Scoping),
        "{:?}",
        r.enforces
    );
}

#[test]
fn report_gaps_come_from_the_same_list_as_the_kernel_probe() {
    for abi in 1..=9 {
        let r = super::report(&coverage(abi), true);
        assert_eq!(
            r.missing,
            KernelLandlock::Available(abi).missing(),
            "ABI {abi}"
        );
    }
    let r = super::report(&coverage(3), false);
    assert!(
        !r.missing.iter().any(|g| matches!(
            g,
            Gap::LandlockAbi {
                feature: LandlockFeature::TcpBindConnect,
                ..
            }
        )),
        "no TCP rules are asked for with the network on: {:?}",
        r.missing
    );
    assert!(!r.enforces.contains(&Protection::TcpConnect));
}

#[test]
fn the_proxy_port_takes_tcp_connect_out_of_what_is_denied() {
    let r = super::report(&coverage(7), true).with_proxy_port(Some(3128));
    assert!(
        !r.enforces.contains(&Protection::TcpConnect),
        "{:?}",
        r.enforces
    );
    assert!(
        r.enforces.contains(&Protection::TcpBind),
        "{:?}",
        r.enforces
    );
    assert!(r.detail.contains("port 3128 only"), "{}", r.detail);
}

#[test]
fn report_is_enforced_from_abi_6_and_says_who_guards_unix_socket_files() {
    let r = super::report(&coverage(7), true);
    assert_eq!(r.status, LayerStatus::Enforced);
    assert!(
        r.detail.contains("TCP bind and connect denied (ABI 4)"),
        "{}",
        r.detail
    );
    assert!(r.detail.contains("left to the mount view"), "{}", r.detail);
    let r9 = super::report(&coverage(9), false);
    assert!(!r9.detail.contains("TCP"), "{}", r9.detail);
    assert!(
        r9.detail.contains("only beneath writable paths (ABI 9)"),
        "{}",
        r9.detail
    );
}
