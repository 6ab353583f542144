//! Attacks on the user's terminal. A run that is not interactive (stdin is not a terminal in
//! Paddock's foreground) must not reach the terminal's input: `/dev/tty` must not open (a
//! session without a controlling terminal), `tcsetpgrp` must not take the foreground, and what
//! the user types must not be readable through any descriptor. An interactive run keeps the
//! terminal, and its modes, `O_NONBLOCK` and foreground are put back afterwards.
//!
//! Every test runs Paddock under a real pseudo-terminal (Python's `pty.fork`, which makes it
//! the controlling terminal of a new session), so that there is a terminal to steal.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::*;
use std::path::Path;
use std::process::Command;

/// Runs argv[3:] as the session leader of a new pseudo-terminal, with stdin /dev/null when
/// argv[1] is "null" (else the terminal); once the file argv[2] exists (or at once for "-"),
/// types "typed-secret" on the terminal; prints what the terminal showed and the exit code.
const UNDER_PTY: &str = r#"
import os, pty, sys, time
stdin, ready, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, master = pty.fork()
if pid == 0:
    if stdin == "null":
        os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
    os.execvp(argv[0], argv)
deadline = time.time() + 20
while ready != "-" and not os.path.exists(ready) and time.time() < deadline:
    time.sleep(0.02)
os.write(master, b"typed-secret\n")
shown = b""
while True:
    try:
        d = os.read(master, 4096)
    except OSError:
        break
    if not d:
        break
    shown += d
_, status = os.waitpid(pid, 0)
sys.stdout.write(shown.decode(errors="replace"))
print("exit", os.waitstatus_to_exitcode(status))
"#;

/// The attacker: tries to open `/dev/tty`, take its foreground and read it, and to read the
/// terminal through stdin, stdout, stderr and reopened copies of them; writes what happened to
/// `report` in the workspace and creates `ready` when it starts reading.
const ATTACK: &str = r#"
python3 - <<'PY'
import os, signal, select, time
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
signal.signal(signal.SIGTTIN, signal.SIG_IGN)
rep = open("report", "w")
def note(*a):
    print(*a, file=rep, flush=True)
fds = [0, 1, 2]
try:
    tty = os.open("/dev/tty", os.O_RDWR)
    note("tty-open ok")
    fds.append(tty)
    try:
        os.tcsetpgrp(tty, os.getpgrp())
        note("tcsetpgrp ok")
    except OSError as e:
        note("tcsetpgrp", e.errno)
except OSError as e:
    note("tty-open", e.errno)
for fd in (0, 1, 2):
    try:
        fds.append(os.open(f"/proc/self/fd/{fd}", os.O_RDWR))
        note("reopen", fd, "ok")
    except OSError as e:
        note("reopen", fd, e.errno)
open("ready", "w").close()
got = b""
end = time.time() + 3
while time.time() < end and b"typed" not in got:
    for fd in fds:
        try:
            if select.select([fd], [], [], 0.05)[0]:
                got += os.read(fd, 100)
        except OSError:
            pass
note("got", got)
PY
"#;

fn python3() -> bool {
    Command::new("python3")
        .arg("-c")
        .arg("import pty")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `cmd` under a new pseudo-terminal (see `UNDER_PTY`); returns what the terminal showed.
fn under_pty(cmd: &Command, stdin: &str, ready: &Path) -> String {
    let mut wrapper = Command::new("python3");
    wrapper
        .arg("-c")
        .arg(UNDER_PTY)
        .arg(stdin)
        .arg(ready)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            wrapper.env(k, v);
        }
    }
    let out = wrapper.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

fn assert_terminal_out_of_reach(w: &World, shown: &str) {
    assert!(shown.ends_with("exit 0\n"), "{shown}");
    let report = std::fs::read_to_string(w.ws.join("report")).unwrap();
    assert!(
        report.contains(&format!("tty-open {}", libc_enxio())),
        "/dev/tty opened in a non-interactive run:\n{report}"
    );
    assert!(!report.contains("tcsetpgrp ok"), "{report}");
    assert!(
        !report.contains("typed-secret"),
        "the sandbox read what the user typed:\n{report}"
    );
}

/// ENXIO: "no such device or address", what opening /dev/tty without a controlling terminal
/// gives.
fn libc_enxio() -> i32 {
    6
}

#[test]
fn a_non_interactive_run_cannot_open_steal_or_read_the_terminal() {
    if !python3() {
        paddock_core::testing::skip("python3 with the pty module is needed to make a terminal");
        return;
    }
    let w = World::new();
    let cmd = w.command("workspace-write", &[], ATTACK);
    let shown = under_pty(&cmd, "null", &w.ws.join("ready"));
    assert_terminal_out_of_reach(&w, &shown);
}

#[test]
fn a_non_interactive_run_by_an_unprivileged_caller_cannot_read_the_terminal() {
    if !python3() {
        paddock_core::testing::skip("python3 with the pty module is needed to make a terminal");
        return;
    }
    let w = World::new();
    let Some(cmd) = w.command_as_nobody("workspace-write", &[], ATTACK) else {
        return;
    };
    let shown = under_pty(&cmd, "null", &w.ws.join("ready"));
    assert_terminal_out_of_reach(&w, &shown);
}

#[test]
fn a_non_interactive_run_still_writes_to_the_terminal_as_a_terminal() {
    if !python3() {
        paddock_core::testing::skip("python3 with the pty module is needed to make a terminal");
        return;
    }
    let w = World::new();
    let cmd = w.command(
        "workspace-write",
        &[],
        "[ -t 1 ] && echo stdout-is-a-terminal; echo to-stderr >&2",
    );
    let shown = under_pty(&cmd, "null", Path::new("-"));
    assert!(shown.contains("stdout-is-a-terminal"), "{shown}");
    assert!(shown.contains("to-stderr"), "{shown}");
}

#[test]
fn an_interactive_run_reads_the_terminal_and_its_state_is_restored_afterwards() {
    if !python3() {
        paddock_core::testing::skip("python3 with the pty module is needed to make a terminal");
        return;
    }
    let w = World::new();
    // The command reads a line, then leaves the terminal raw, without echo and non-blocking.
    let cmd = w.command(
        "workspace-write",
        &[],
        "read line; echo \"got:$line\" > answer; stty raw -echo; \
         python3 -c 'import fcntl, os; fcntl.fcntl(0, fcntl.F_SETFL, \
         fcntl.fcntl(0, fcntl.F_GETFL) | os.O_NONBLOCK)'",
    );
    let state = "stty -g; python3 -c 'import fcntl, os; \
                 print(\"nonblock\", bool(fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK))'";
    let script = format!(
        "({state}) > \"$1/before\"; shift; \"$@\"; echo \"paddock-exit $?\"; \
         ({state}) > \"$WS/../after\""
    );
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(w.ws.parent().unwrap())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            shell.env(k, v);
        }
    }
    // Typing waits for the terminal state to be saved by the wrapper.
    let before_file = w.ws.parent().unwrap().join("before");
    let shown = under_pty(&shell, "tty", &before_file);
    assert!(shown.contains("paddock-exit 0"), "{shown}");
    let answer = std::fs::read_to_string(w.ws.join("answer")).unwrap();
    assert_eq!(answer, "got:typed-secret\n");
    let before = std::fs::read_to_string(&before_file).unwrap();
    let after = std::fs::read_to_string(w.ws.parent().unwrap().join("after")).unwrap();
    assert!(before.contains("nonblock False"), "{before}");
    assert_eq!(after, before, "the terminal's state was not restored");
}

#[test]
fn an_unprivileged_callers_output_reaches_a_terminal_it_cannot_reopen() {
    if !python3() {
        paddock_core::testing::skip("python3 with the pty module is needed to make a terminal");
        return;
    }
    let w = World::new();
    // The terminal belongs to root: nobody cannot open it again, so its output goes through a
    // pipe that Paddock copies to the terminal; all of it must arrive, the last line included.
    let Some(cmd) = w.command_as_nobody("workspace-write", &[], "seq 1 3000; echo last-line >&2")
    else {
        return;
    };
    let shown = under_pty(&cmd, "null", Path::new("-"));
    assert!(
        shown.contains("\n3000\r\n") || shown.contains("\n3000\n"),
        "{shown}"
    );
    assert!(shown.contains("last-line"), "{shown}");
}
