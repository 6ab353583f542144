//! Test helper: runs a probe in a fresh child process (this test binary re-run on one ignored
//! test), so that the seccomp filters and Landlock rulesets a probe applies never reach the test
//! harness. The child prints `probe:<key>=<outcome>` lines; the parent reads them back.

use std::collections::BTreeMap;
use std::io;
use std::process::{Command, ExitStatus};

/// Names the probe a child must run; unset in the normal test run.
pub const PROBE_ENV: &str = "PADDOCK_TEST_PROBE";

/// Runs the ignored test `entry` (its full path, e.g. `seccomp::tests::probe_child`) in a child
/// with `PROBE_ENV=probe` and `env`; asserts it succeeded and returns what it printed as
/// key -> outcome.
pub fn run(entry: &str, probe: &str, env: &[(&str, String)]) -> BTreeMap<String, String> {
    let (status, results, output) = spawn(entry, probe, env);
    assert!(
        status.success(),
        "probe {probe} failed: {status:?}\n{output}"
    );
    assert!(
        !results.is_empty(),
        "probe {probe} reported nothing:\n{output}"
    );
    results
}

/// Like `run`, for probes expected to die: returns how the child ended, what it printed before,
/// and its whole output for messages.
pub fn spawn(
    entry: &str,
    probe: &str,
    env: &[(&str, String)],
) -> (ExitStatus, BTreeMap<String, String>, String) {
    let exe = std::env::current_exe().expect("the test binary's own path");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        entry,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd.env(PROBE_ENV, probe);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("re-running the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results = stdout
        .lines()
        // libtest prints `test <name> ... ` without a newline before the first line.
        .filter_map(|l| l.find("probe:").map(|i| &l[i + "probe:".len()..]))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let output = format!(
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, results, output)
}

/// Prints one result line for the parent (child side).
pub fn report(key: &str, outcome: impl AsRef<str>) {
    println!("probe:{key}={}", outcome.as_ref());
}

/// `ok`, or the errno's name (`EPERM`, ...), for a raw syscall's return value.
pub fn outcome(ret: libc::c_long) -> String {
    if ret >= 0 {
        "ok".into()
    } else {
        errno_name(io::Error::last_os_error())
    }
}

/// `ok`, or the errno's name, for an `io::Result`.
pub fn io_outcome<T>(r: io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => errno_name(e),
    }
}

fn errno_name(e: io::Error) -> String {
    let names = [
        (libc::EPERM, "EPERM"),
        (libc::EACCES, "EACCES"),
        (libc::ENOSYS, "ENOSYS"),
        (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
        (libc::EXDEV, "EXDEV"),
        (libc::ECONNREFUSED, "ECONNREFUSED"),
        (libc::ENETUNREACH, "ENETUNREACH"),
        (libc::EFAULT, "EFAULT"),
        (libc::EINVAL, "EINVAL"),
        (libc::EBADF, "EBADF"),
        (libc::ENOTTY, "ENOTTY"),
        (libc::ESRCH, "ESRCH"),
    ];
    match e.raw_os_error() {
        Some(code) => names
            .iter()
            .find(|(c, _)| *c == code)
            .map_or_else(|| format!("errno{code}"), |(_, n)| (*n).to_string()),
        None => format!("error:{e}"),
    }
}
