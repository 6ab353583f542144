//! `PADDOCK_LOG=debug`: each setup step of a run is printed with its time on Paddock's stderr,
//! never into the command's own (captured) output; without the variable stderr carries only
//! what the command wrote.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::*;

const SCRIPT: &str = "echo out; echo err >&2";

#[test]
fn paddock_log_debug_shows_each_setup_step_with_its_time() {
    let w = World::new();
    let out = w
        .command("workspace-write", &[], SCRIPT)
        .env("PADDOCK_LOG", "debug")
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(stdout(&out), "out\n");
    let err = stderr(&out);
    let timed = |name: &str| {
        err.lines()
            .any(|l| l.contains(name) && (l.contains("time.busy=") || l.contains("elapsed=")))
    };
    for step in [
        "config_load",
        "rules_load",
        "pending_recover",
        "integrity_prewalk",
        "spec_resolve",
        "rules_judge",
        "audit_write",
        "pending_record",
        "namespaces",
        "init_setup",
        "step=\"mounts\"",
        "step=\"privileges\"",
        "step=\"landlock\"",
        "step=\"seccomp\"",
        "backend_launch",
        "wait",
        "after_run_check",
    ] {
        assert!(timed(step), "no timed `{step}` line in:\n{err}");
    }
    assert!(err.lines().any(|l| l == "err"), "{err}");
}

#[test]
fn without_paddock_log_stderr_holds_only_the_commands_output() {
    let w = World::new();
    let out = w
        .command("workspace-write", &[], SCRIPT)
        .env_remove("PADDOCK_LOG")
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(stderr(&out), "err\n");
}

#[test]
fn debug_lines_never_enter_the_captured_output() {
    let w = World::new();
    let out = w
        .command("workspace-write", &["--json"], SCRIPT)
        .env("PADDOCK_LOG", "debug")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    assert_eq!(report["stdout"], "out\n", "{report}");
    assert_eq!(report["stderr"], "err\n", "{report}");
    assert!(stderr(&out).contains("init_setup"), "{}", stderr(&out));
}
