//! Attacks on the process boundary: signalling, tracing or inspecting the caller's processes,
//! outliving the run or its timeout, leaking descriptors, regaining privileges, and reading
//! secrets from the environment.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A host process the sandbox should not be able to touch; killed on drop.
struct HostProcess(Child);

impl HostProcess {
    fn start(env_secret: &str) -> HostProcess {
        let child = Command::new("sleep")
            .arg("60")
            .env("HOST_ONLY_SECRET", env_secret)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        HostProcess(child)
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
    fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn cannot_kill_the_callers_processes() {
    let w = World::new();
    let mut host = HostProcess::start("x");
    let out = w.run(&format!(
        "kill -9 {0}; kill -9 -1; kill -TERM {0}; echo after",
        host.pid()
    ));
    assert_ran(&out);
    assert!(host.alive(), "the sandbox killed a host process");
}

#[test]
fn cannot_ptrace_the_callers_processes() {
    let w = World::new();
    let host = HostProcess::start("x");
    let script = format!(
        "python3 -c \"import ctypes; libc = ctypes.CDLL(None, use_errno=True); \
         print('attach', libc.ptrace(16, {pid}, 0, 0), ctypes.get_errno())\"",
        pid = host.pid()
    );
    let out = w.run(&script);
    assert_ok(&out);
    assert!(
        stdout(&out).starts_with("attach -1"),
        "ptrace attach succeeded: {}",
        stdout(&out)
    );
}

#[test]
fn cannot_read_the_environ_of_the_callers_processes() {
    let w = World::new();
    let host = HostProcess::start(SECRET);
    let out = w.run(&format!(
        "cat /proc/{}/environ; cat /proc/*/environ | tr '\\0' '\\n'; true",
        host.pid()
    ));
    assert_ran(&out);
    assert!(!stdout(&out).contains(SECRET));
}

#[test]
fn only_the_sandboxs_own_processes_are_visible() {
    let w = World::new();
    let _host = HostProcess::start("x");
    let out = w.run("ls -d /proc/[0-9]* | wc -l");
    assert_ok(&out);
    let n: u32 = stdout(&out).trim().parse().unwrap();
    assert!(n <= 4, "{n} processes visible in the sandbox");
}

#[test]
fn daemonized_process_does_not_outlive_the_run() {
    let w = World::new();
    let tag = format!("{}.4242", std::process::id() % 1000 + 300);
    let out = w.run(&format!(
        "setsid sh -c 'sleep {tag}; touch $WS/late' >/dev/null 2>&1 < /dev/null & \
         nohup sleep {tag} >/dev/null 2>&1 & (sleep {tag} &) ; echo started"
    ));
    assert_ok(&out);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        host_processes_matching(&format!("sleep {tag}")),
        Vec::<u32>::new()
    );
}

#[test]
fn command_is_killed_at_the_timeout_with_its_daemons() {
    let w = World::new();
    let tag = format!("{}.4343", std::process::id() % 1000 + 300);
    let start = Instant::now();
    let out = w.run_with(
        "workspace-write",
        &["--timeout", "1"],
        &format!("setsid sleep {tag} & trap '' TERM INT; sleep {tag}"),
    );
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "the timeout did not end the run"
    );
    assert_eq!(out.status.code(), Some(124), "stderr: {}", stderr(&out));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        host_processes_matching(&format!("sleep {tag}")),
        Vec::<u32>::new()
    );
}

#[test]
fn many_forked_processes_are_all_gone_after_the_run() {
    let w = World::new();
    let tag = format!("{}.4444", std::process::id() % 1000 + 300);
    let out = w.run(&format!(
        "for i in $(seq 100); do sleep {tag} & done; echo forked"
    ));
    assert_ok(&out);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        host_processes_matching(&format!("sleep {tag}")),
        Vec::<u32>::new()
    );
}

#[test]
fn no_descriptor_beyond_stdio_reaches_the_command() {
    let w = World::new();
    let out = w.run(
        "python3 -c \"import os; print(sorted(int(f) for f in os.listdir('/proc/self/fd')))\"",
    );
    assert_ok(&out);
    // 3 is listdir's own directory descriptor.
    assert_eq!(stdout(&out).trim(), "[0, 1, 2, 3]");
}

#[test]
fn a_root_caller_holds_no_capability_in_the_sandbox() {
    let w = World::new();
    let out = w.run(
        "grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status; \
         mount -t tmpfs none \"$WS\" 2>/dev/null; echo mount=$?; \
         unshare -r true 2>/dev/null; echo unshare=$?; \
         chroot / true 2>/dev/null; echo chroot=$?",
    );
    assert_ok(&out);
    let text = stdout(&out);
    let caps: Vec<&str> = text.lines().filter(|l| l.starts_with("Cap")).collect();
    assert_eq!(
        caps.len(),
        4,
        "CapEff, CapPrm, CapBnd and CapAmb must be read: {text}"
    );
    for line in caps {
        assert!(line.ends_with("0000000000000000"), "{line}");
    }
    // Each tool must have run (not 126/127) and been refused (not 0).
    for tool in ["mount", "unshare", "chroot"] {
        let code = text
            .lines()
            .find_map(|l| l.strip_prefix(tool)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no exit status for {tool}: {text}"));
        assert!(
            !matches!(code, "0" | "126" | "127"),
            "{tool} exited {code}: it must run and be refused\n{text}"
        );
    }
}

#[test]
fn environment_secrets_are_scrubbed() {
    let w = World::new();
    let out = Command::new(env!("CARGO_BIN_EXE_paddock"))
        .args([
            "run",
            "--mode",
            "workspace-write",
            "--network",
            "off",
            "--cwd",
        ])
        .arg(&w.ws)
        .args(["--", "env"])
        .env("MY_API_TOKEN", SECRET)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("PADDOCK_CONFIG_DIR", w.ws.join("no-config"))
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(!stdout(&out).contains(SECRET));
    assert!(stdout(&out).contains("TMPDIR=/tmp"));
}

#[test]
fn control_a_host_process_is_killable_in_full_access_mode() {
    let w = World::new();
    let mut host = HostProcess::start("x");
    let out = w.run_with("full-access", &[], &format!("kill -9 {}", host.pid()));
    assert_ok(&out);
    std::thread::sleep(Duration::from_millis(100));
    assert!(!host.alive());
}

#[test]
fn killing_paddock_itself_ends_the_whole_sandbox() {
    let w = World::new();
    let tag = format!("{}.4545", std::process::id() % 1000 + 300);
    let mut paddock = w
        .command(
            "workspace-write",
            &[],
            &format!("setsid sleep {tag} & sleep {tag}"),
        )
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while host_processes_matching(&format!("sleep {tag}")).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the sandboxed command never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    paddock.kill().unwrap();
    paddock.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        host_processes_matching(&format!("sleep {tag}")),
        Vec::<u32>::new()
    );
}

#[test]
fn the_sandboxs_own_init_cannot_be_inspected_or_signalled() {
    let w = World::new();
    let out = w.run(
        "for f in /proc/1/fd/*; do readlink $f >/dev/null 2>&1 && echo FD-OPENABLE; \
         echo forged 2>/dev/null > $f && echo FD-WRITABLE; done; \
         cat /proc/1/environ 2>/dev/null && echo ENV-VISIBLE; kill -9 1; kill -STOP 1; echo alive",
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), "alive\n", "{}", stderr(&out));
}

/// Pid 1 is a fork-like copy of the supervisor (no second start of Paddock), so its memory holds
/// the supervisor's whole environment, secrets the command's environment filter removes
/// included. The command still cannot read that memory: /proc/1/mem, environ and maps stay
/// closed (pid 1 is not dumpable).
#[test]
fn the_supervisors_secrets_in_pid_1s_memory_stay_unreadable() {
    let w = World::new();
    let out = w
        .command(
            "workspace-write",
            &[],
            "[ -n \"$PADDOCK_TEST_API_TOKEN\" ] && echo ENV-PASSED; \
             (exec 3</proc/1/mem) 2>/dev/null && echo MEM-OPENABLE; \
             cat /proc/1/maps >/dev/null 2>&1 && echo MAPS-READABLE; \
             grep -a -q s3cr3t-value /proc/1/environ 2>/dev/null && echo SECRET-READ; \
             echo done",
        )
        .env("PADDOCK_TEST_API_TOKEN", "s3cr3t-value")
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(stdout(&out), "done\n", "{}", stderr(&out));
}

/// Signals Paddock itself was started ignoring (SIGHUP, and 34, which the generic child set-up
/// does not reset) are not passed on: the command starts with no signal ignored or blocked
/// (pid 1 resets every disposition at its start and spawns the command with only SIGPIPE to
/// reset, `sys::spawn`).
#[test]
fn signals_ignored_by_paddocks_caller_are_not_ignored_in_the_command() {
    use std::os::unix::process::CommandExt;
    let w = World::new();
    let mut cmd = w.command(
        "workspace-write",
        &[],
        "grep -E '^Sig(Ign|Blk):' /proc/self/status",
    );
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            libc::signal(34, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_ran(&out);
    let text = stdout(&out);
    for line in ["SigIgn:", "SigBlk:"] {
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .unwrap_or_else(|| panic!("no {line} in {text}"));
        assert!(value.trim().chars().all(|c| c == '0'), "{line}{value}");
    }
}
