//! Unix socket files of the host, reached by `connect(2)` with the network off. A read-only
//! mount does not stop `connect`, and hiding the sockets `/proc/net/unix` lists misses those
//! listed under a path that does not exist here (bound in another mount namespace, reached here
//! through a bind mount) and those bound after the run started. Every one must stay out of
//! reach; sockets the command makes beneath its writable paths must keep working.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A unix stream server: binds argv[1], makes it connectable by anyone, and appends one line
/// to argv[2] for every connection it accepts.
const SERVER: &str = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.listen(16)
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as log:
        log.write("connected\n")
    c.close()
"#;

/// Connects to each argument in turn and prints `PATH ok` or `PATH errno N`.
const CLIENT: &str = r#"
python3 - "$@" <<'PY'
import socket, sys
for path in sys.argv[1:]:
    c = socket.socket(socket.AF_UNIX)
    try:
        c.connect(path)
        print(path, "ok")
    except OSError as e:
        print(path, "errno", e.errno)
PY
"#;

/// A host server process, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !exists(path) {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log_of(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

fn unshare_available() -> bool {
    Command::new("unshare")
        .args(["-Urm", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts `SERVER` on `alias/s.sock` in a mount namespace of its own where `alias` is a bind
/// mount of `real`: `/proc/net/unix` then lists `alias/s.sock`, which does not exist in the
/// test's namespace, while the socket file is `real/s.sock` here.
fn server_in_another_mount_namespace(real: &Path, alias: &Path, log: &Path) -> Server {
    std::fs::create_dir_all(real).unwrap();
    std::fs::create_dir_all(alias).unwrap();
    let script = format!(
        "mount --bind '{}' '{}' && exec python3 -c \"$0\" '{}' '{}'",
        real.display(),
        alias.display(),
        alias.join("s.sock").display(),
        log.display()
    );
    let flags = if running_as_root() { "-m" } else { "-Urm" };
    let child = Command::new("unshare")
        .args([flags, "--propagation", "private", "sh", "-c"])
        .arg(script)
        .arg(SERVER)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    wait_for(&real.join("s.sock"));
    let listed = std::fs::read_to_string("/proc/net/unix").unwrap();
    assert!(listed.contains(&*alias.join("s.sock").to_string_lossy()));
    server
}

fn attack_from_another_mount_namespace(as_nobody: bool) {
    if !unshare_available() {
        paddock_core::testing::skip("unshare cannot make a mount namespace here");
        return;
    }
    let w = World::new();
    let (real, alias, log) = (
        w.outside.join("real"),
        w.outside.join("alias"),
        w.outside.join("log"),
    );
    let _server = server_in_another_mount_namespace(&real, &alias, &log);
    std::os::unix::fs::symlink(real.join("s.sock"), w.ws.join("link.sock")).unwrap();
    let target = real.join("s.sock").display().to_string();
    let script = client(&[&target, "link.sock"]);
    let out = if as_nobody {
        let Some(out) = w.run_as_nobody("workspace-write", &[], &script) else {
            return;
        };
        out
    } else {
        w.run(&script)
    };
    assert_ran(&out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{target} errno")),
        "{text}{}",
        stderr(&out)
    );
    assert!(text.contains("link.sock errno"), "{text}");
    assert_eq!(
        log_of(&log),
        "",
        "the host server accepted a connection: {text}"
    );
}

/// `CLIENT` connecting to `paths`.
fn client(paths: &[&str]) -> String {
    let args: Vec<String> = paths.iter().map(|p| format!("'{p}'")).collect();
    format!("set -- {}\n{CLIENT}", args.join(" "))
}

#[test]
fn a_socket_bound_in_another_mount_namespace_is_unreachable() {
    attack_from_another_mount_namespace(false);
}

#[test]
fn a_socket_bound_in_another_mount_namespace_is_unreachable_for_an_unprivileged_caller() {
    attack_from_another_mount_namespace(true);
}

#[test]
fn a_socket_bound_after_the_run_started_is_unreachable() {
    let w = World::new();
    let late = w.outside.join("late.sock");
    let log = w.outside.join("late.log");
    // The command says it started, waits for the host's socket, then connects.
    let late_path = late.display().to_string();
    let script = format!(
        "touch started; i=0; while [ ! -S '{late_path}' ] && [ $i -lt 500 ]; do sleep 0.02; \
         i=$((i+1)); done\n{}",
        client(&[&late_path])
    );
    let child = w
        .command("workspace-write", &[], &script)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&w.ws.join("started"));
    let server = Server(
        Command::new("python3")
            .arg("-c")
            .arg(SERVER)
            .arg(&late)
            .arg(&log)
            .spawn()
            .unwrap(),
    );
    let out = child.wait_with_output().unwrap();
    drop(server);
    assert_ran(&out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{} errno", late.display())),
        "{text}"
    );
    assert_eq!(
        log_of(&log),
        "",
        "the host server accepted a connection: {text}"
    );
}

/// A server and its clients inside the sandbox: by relative and absolute path in the
/// workspace, through a symlink there, in the private /tmp, and by abstract name.
const LOCAL_SERVERS: &str = r#"
python3 - <<'PY'
import os, socket, threading
def serve(addr):
    s = socket.socket(socket.AF_UNIX)
    s.bind(addr)
    s.listen(8)
    def loop():
        while True:
            c, _ = s.accept()
            c.sendall(b"hi")
            c.close()
    threading.Thread(target=loop, daemon=True).start()
serve("ws.sock")
serve("/tmp/tmp.sock")
serve("\0paddock-abstract")
os.symlink("ws.sock", "link.sock")
for addr in ["ws.sock", os.path.abspath("ws.sock"), "link.sock", "/tmp/tmp.sock", "\0paddock-abstract"]:
    c = socket.socket(socket.AF_UNIX)
    c.connect(addr)
    print(repr(addr), c.recv(2))
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
d.bind("dgram.sock")
e = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
e.connect("dgram.sock")
e.send(b"x")
print("dgram", d.recv(1))
n = socket.socket(socket.AF_UNIX)
n.setblocking(False)
n.connect("ws.sock")
print("nonblocking connected")
PY
"#;

#[test]
fn sockets_made_inside_the_sandbox_keep_working() {
    let w = World::new();
    let out = w.run(LOCAL_SERVERS);
    assert_ok(&out);
    let text = stdout(&out);
    assert_eq!(text.matches("b'hi'").count(), 5, "{text}");
    assert!(text.contains("dgram b'x'"), "{text}");
    assert!(text.contains("nonblocking connected"), "{text}");
}
