//! Resource exhaustion from the sandbox: a fork bomb is stopped at the process limit, the private
//! tmpfs fill up at their size, files stop at the file-size limit, memory at the memory limit,
//! as root (pid_max or a cgroup) and as an unprivileged caller (RLIMIT_NPROC); a limit that
//! cannot be enforced is refused unless accepted; ordinary parallel work stays fine.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::*;

/// Forks children that sleep until 400 exist or a fork fails; prints how many were made.
const FORK_BOMB: &str = r#"
python3 - <<'PY'
import os, time
made = 0
try:
    for _ in range(400):
        if os.fork() == 0:
            time.sleep(20)
            os._exit(0)
        made += 1
except OSError as e:
    print("fork failed:", e.errno)
print("made", made)
PY
"#;

fn made(out: &std::process::Output) -> usize {
    stdout(out)
        .lines()
        .find_map(|l| l.strip_prefix("made "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count: {}{}", stdout(out), stderr(out)))
}

fn assert_bomb_stopped(out: &std::process::Output, limit: usize) {
    assert_ran(out);
    let n = made(out);
    assert!(
        stdout(out).contains("fork failed: 11"),
        "the fork bomb was not stopped (made {n}): {}",
        stderr(out)
    );
    assert!(n < limit, "made {n} processes with a limit of {limit}");
    assert!(n >= limit / 2, "only {n} processes with a limit of {limit}");
}

#[test]
fn a_fork_bomb_is_stopped_at_the_process_limit() {
    let w = World::new();
    // As root: the sandbox pid namespace's pid_max (Linux 6.14+) or a cgroup; else RLIMIT_NPROC.
    let out = w.run_with("workspace-write", &["--limit", "processes=300"], FORK_BOMB);
    assert_bomb_stopped(&out, 300);
}

#[test]
fn a_small_process_limit_is_enforced_too() {
    // Below pid_max's minimum: a root caller needs a cgroup for this one.
    let w = World::new();
    let out = w.run_with("workspace-write", &["--limit", "processes=40"], FORK_BOMB);
    if running_as_root() && out.status.code() == Some(125) {
        assert!(
            stderr(&out).contains("allow_unenforced"),
            "{}",
            stderr(&out)
        );
        paddock_core::testing::skip(&format!(
            "no cgroup with the pids controller here: {}",
            stderr(&out)
        ));
        return;
    }
    assert_bomb_stopped(&out, 40);
}

#[test]
fn an_unprivileged_callers_fork_bomb_is_stopped_at_the_process_limit() {
    let w = World::new();
    let Some(out) = w.run_as_nobody("workspace-write", &["--limit", "processes=40"], FORK_BOMB)
    else {
        return;
    };
    assert_bomb_stopped(&out, 40);
}

#[test]
fn the_private_tmpfs_fill_up_at_their_size() {
    let w = World::new();
    let out = w.run_with(
        "workspace-write",
        &["--limit", "tmpfs=16MiB"],
        "for d in /tmp /var/tmp /dev/shm; do \
           dd if=/dev/zero of=$d/fill bs=1M count=64 2>&1 | grep -o 'No space left on device'; \
           echo \"$d $(($(stat -c %s $d/fill) / 1048576))\"; \
         done",
    );
    assert_ran(&out);
    let text = stdout(&out);
    assert_eq!(
        text.matches("No space left on device").count(),
        3,
        "{text}{}",
        stderr(&out)
    );
    for d in ["/tmp", "/var/tmp", "/dev/shm"] {
        assert!(text.contains(&format!("{d} 16\n")), "{d}: {text}");
    }
}

#[test]
fn the_default_tmpfs_size_is_bounded() {
    let w = World::new();
    let out = w.run("df -B1 --output=size /tmp /var/tmp /dev/shm | tail -n 3");
    assert_ok(&out);
    for line in stdout(&out).lines() {
        assert_eq!(line.trim(), (2u64 << 30).to_string(), "{}", stdout(&out));
    }
}

#[test]
fn files_stop_at_the_file_size_limit() {
    let w = World::new();
    let out = w.run_with(
        "workspace-write",
        &["--limit", "file_size=1MiB"],
        "trap '' XFSZ; dd if=/dev/zero of=big bs=1M count=4 2>&1 | grep -o 'File too large'; \
         stat -c %s big",
    );
    assert_ran(&out);
    assert_eq!(
        stdout(&out),
        "File too large\n1048576\n",
        "{}",
        stderr(&out)
    );
}

/// Allocates 512 MiB in 16 MiB steps, touching every page; prints how far it got.
const MEMORY_HOG: &str = r#"
python3 - <<'PY'
chunks = []
for i in range(32):
    chunks.append(bytearray(16 << 20))
    print("allocated", (i + 1) * 16, flush=True)
PY
echo after $?
"#;

#[test]
fn memory_stops_at_the_memory_limit_or_the_run_is_refused() {
    let w = World::new();
    let out = w.run_with("workspace-write", &["--limit", "memory=128MiB"], MEMORY_HOG);
    if out.status.code() == Some(125) {
        // No cgroup with the memory controller: an explicit limit is refused, with the fix.
        assert!(
            stderr(&out).contains("memory 128MiB: not enforced"),
            "{}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("allow_unenforced"),
            "{}",
            stderr(&out)
        );
        assert!(!stdout(&out).contains("allocated"), "the command ran");
        paddock_core::testing::skip("memory is not enforceable here (refused as it must be)");
        return;
    }
    assert_ran(&out);
    let text = stdout(&out);
    assert!(
        !text.contains("allocated 512"),
        "512 MiB under a 128 MiB limit: {text}"
    );
    assert!(text.contains("allocated 16"), "{text}");
}

#[test]
fn an_unenforceable_limit_is_refused_unless_accepted_and_then_reported() {
    let w = World::new();
    // No cgroup for nobody on a host without a delegated cgroup v2: memory cannot be enforced.
    let Some(refused) = w.run_as_nobody("workspace-write", &["--limit", "memory=1GiB"], "echo ran")
    else {
        return;
    };
    if refused.status.success() {
        paddock_core::testing::skip("this host delegates a memory cgroup to unprivileged users");
        return;
    }
    assert_eq!(refused.status.code(), Some(125), "{}", stderr(&refused));
    assert!(!stdout(&refused).contains("ran"));
    assert!(
        stderr(&refused).contains("allow_unenforced"),
        "{}",
        stderr(&refused)
    );
    w.write_user_config("allow_unenforced = [\"limits\"]\n");
    let accepted = w
        .run_as_nobody(
            "workspace-write",
            &["--json", "--limit", "memory=1GiB"],
            "echo ran",
        )
        .unwrap();
    assert_ok(&accepted);
    let report: serde_json::Value = serde_json::from_slice(&accepted.stdout).unwrap();
    let enforcement = &report["enforcement"];
    assert_eq!(enforcement["not_enforced"], serde_json::json!(["limits"]));
    let limits = enforcement["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "limits")
        .unwrap();
    assert_eq!(limits["status"], "partial");
    assert!(
        limits["detail"]
            .as_str()
            .unwrap()
            .contains("memory 1GiB: not enforced"),
        "{limits}"
    );
}

#[test]
fn parallel_work_under_the_default_limits_still_runs() {
    let w = World::new();
    let out = w.run(
        "for i in $(seq 64); do (echo $i > f$i; sleep 0.2) & done; wait; ls f* | wc -l; \
         dd if=/dev/zero of=/tmp/scratch bs=1M count=100 2>/dev/null && echo tmp-ok",
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), "64\ntmp-ok\n");
}

#[test]
fn policy_show_lists_the_limits_and_where_they_came_from() {
    let w = World::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paddock"))
        .args(["policy", "show", "--limit", "memory=2GiB", "--cwd"])
        .arg(&w.ws)
        .env("PADDOCK_CONFIG_DIR", w.ws.join("no-config"))
        .output()
        .unwrap();
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("limits.processes   = 4096   [default]"),
        "{text}"
    );
    assert!(
        text.contains("limits.memory      = 2147483648   [command line]"),
        "{text}"
    );
}
