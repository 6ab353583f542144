//! The `paddock` binary's contract, end to end: exit codes (the command's own, 124, 127, 76, 77,
//! 78), the JSON report, the audit log, config layering and refusal of broken or loosening
//! config, and `explain`. Sandbox attacks live in the `linux_*` suites; the Windows build's
//! contract under Wine is in `cli_windows.rs`.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Env {
    _dir: tempfile::TempDir,
    ws: PathBuf,
    config: PathBuf,
    state: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let ws = base.join("ws");
        let config = base.join("config");
        let state = base.join("state");
        for d in [&ws, &config, &state] {
            std::fs::create_dir_all(d).unwrap();
        }
        Env {
            _dir: dir,
            ws,
            config,
            state,
        }
    }

    /// `paddock ARGS` with this env's config and state dirs, no terminal to ask (new session),
    /// stdin empty.
    fn paddock(&self, args: &[&str]) -> Output {
        let mut cmd = if Path::new("/usr/bin/setsid").exists() {
            let mut c = Command::new("/usr/bin/setsid");
            c.args(["-w", env!("CARGO_BIN_EXE_paddock")]);
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_paddock"))
        };
        cmd.args(args)
            .current_dir(&self.ws)
            .env("PADDOCK_CONFIG_DIR", &self.config)
            .env("PADDOCK_STATE_DIR", &self.state)
            .stdin(std::process::Stdio::null());
        cmd.output().unwrap()
    }

    fn audit_lines(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.state.join("audit.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn full_access_exits_with_the_commands_own_code() {
    let env = Env::new();
    let o = env.paddock(&["run", "--mode", "full-access", "--", "sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn timeout_exits_124_and_leaves_nothing_running() {
    let env = Env::new();
    let marker = format!("{}.{}", 29, std::process::id());
    let start = Instant::now();
    let script = format!("sleep {marker} & sleep {marker}");
    let o = env.paddock(&[
        "run",
        "--mode",
        "full-access",
        "--timeout",
        "1",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    std::thread::sleep(Duration::from_millis(200));
    let survivors: Vec<_> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(&marker))
        .collect();
    assert!(survivors.is_empty(), "processes outlived the timeout");
}

#[test]
fn missing_program_exits_127_with_one_line() {
    let env = Env::new();
    // Without a sandbox an unknown program asks first: skip the rules to reach the lookup.
    let o = env.paddock(&[
        "run",
        "--mode",
        "full-access",
        "--no-rules",
        "--",
        "no-such-program-xyz",
    ]);
    assert_eq!(o.status.code(), Some(127));
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("no-such-program-xyz") && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn missing_working_directory_exits_78_naming_it() {
    let env = Env::new();
    let o = env.paddock(&["run", "--cwd", "/no/such/dir", "--", "true"]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert!(stderr(&o).contains("/no/such/dir"));
}

#[test]
fn broken_config_exits_78_with_file_and_line() {
    let env = Env::new();
    std::fs::write(
        env.config.join("config.toml"),
        "mode = \"workspace-write\"\nnetwork = \"maybe\"\n",
    )
    .unwrap();
    let o = env.paddock(&["run", "--", "true"]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert!(stderr(&o).contains("config.toml:2:"), "{}", stderr(&o));
}

#[test]
fn untrusted_project_file_cannot_switch_to_full_access() {
    let env = Env::new();
    std::fs::write(env.ws.join("paddock.toml"), "mode = \"full-access\"\n").unwrap();
    let o = env.paddock(&["run", "--", "true"]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert!(stderr(&o).contains("trusted_projects"), "{}", stderr(&o));
}

#[test]
fn forbidden_command_exits_77_with_the_justification_and_never_runs() {
    let env = Env::new();
    std::fs::write(
        env.config.join("rules.toml"),
        "[[rule]]\nprogram = \"touch\"\ndecision = \"forbid\"\njustification = \"use the editor instead\"\nexamples_match = [\"touch a\"]\n",
    )
    .unwrap();
    let o = env.paddock(&["run", "--mode", "full-access", "--", "touch", "made"]);
    assert_eq!(o.status.code(), Some(77), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("use the editor instead"),
        "{}",
        stderr(&o)
    );
    assert!(!env.ws.join("made").exists());
    let log = env.audit_lines();
    assert_eq!(log.last().unwrap()["decision"], "forbid");
    assert_eq!(log.last().unwrap()["ran"], false);
}

#[test]
fn prompt_without_a_terminal_fails_closed_with_76() {
    let env = Env::new();
    let o = env.paddock(&[
        "run",
        "--mode",
        "full-access",
        "--",
        "sh",
        "-c",
        "echo x > /tmp/paddock-never-written",
    ]);
    assert_eq!(o.status.code(), Some(76), "{}", stderr(&o));
    assert!(stderr(&o).contains("no terminal"), "{}", stderr(&o));
}

#[test]
fn escalation_without_a_terminal_is_refused() {
    let env = Env::new();
    let o = env.paddock(&["run", "--escalate", "--", "true"]);
    assert_eq!(o.status.code(), Some(76), "{}", stderr(&o));
}

#[test]
fn json_report_and_audit_log_record_the_run() {
    let env = Env::new();
    let o = env.paddock(&[
        "run",
        "--mode",
        "full-access",
        "--json",
        "--",
        "sh",
        "-c",
        "echo out; exit 5",
    ]);
    assert_eq!(o.status.code(), Some(5));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["exit_code"], 5);
    assert_eq!(report["stdout"], "out\n");
    assert_eq!(report["enforcement"]["unconfined"], true);
    assert!(report["decision"]["judgement"].is_object(), "{report}");
    let log = env.audit_lines();
    assert_eq!(
        log.len(),
        2,
        "decision before the run, outcome after: {log:?}"
    );
    assert_eq!(log[0]["exit_code"], serde_json::Value::Null);
    assert_eq!(log[1]["exit_code"], 5);
    assert!(
        log[1]["policy_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[cfg(target_os = "linux")]
#[test]
fn workspace_write_report_names_the_linux_layers() {
    let env = Env::new();
    let o = env.paddock(&["run", "--no-rules", "--json", "--", "true"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["enforcement"]["backend"], "linux");
    assert_eq!(report["enforcement"]["unconfined"], false);
    let layers: Vec<&str> = report["enforcement"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert!(layers.iter().any(|l| l.contains("landlock")), "{layers:?}");
    assert!(layers.iter().any(|l| l.contains("seccomp")), "{layers:?}");
    assert_eq!(env.audit_lines()[0]["decision"], "unchecked");
}

#[test]
fn policy_show_names_where_each_value_came_from() {
    let env = Env::new();
    std::fs::write(env.config.join("config.toml"), "timeout = 42\n").unwrap();
    let o = env.paddock(&["policy", "show", "--json", "--network", "on"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["policy"]["timeout"], 42.0);
    assert_eq!(v["sources"]["timeout"][0]["layer"], "user");
    assert_eq!(v["sources"]["network"][0]["layer"], "cli");
    assert_eq!(v["sources"]["mode"][0]["layer"], "default");
}

#[test]
fn explain_path_names_the_deciding_setting() {
    let env = Env::new();
    for d in [".git/hooks", ".git/objects", ".git/refs"] {
        std::fs::create_dir_all(env.ws.join(d)).unwrap();
    }
    std::fs::write(env.ws.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let o = env.paddock(&["explain", "--json", ".git/hooks/pre-commit"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["write"]["allowed"], false);
    assert!(
        v["write"]["decided_by"]
            .as_str()
            .unwrap()
            .contains("protected path"),
        "{v}"
    );
    let o = env.paddock(&["explain", "--json", "src/main.rs"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["write"]["allowed"], true);
}

#[test]
fn explain_command_reports_the_rule() {
    let env = Env::new();
    std::fs::write(
        env.config.join("rules.toml"),
        "[[rule]]\nprogram = \"git\"\nargs = [\"push\"]\ndecision = \"prompt\"\njustification = \"pushes leave the machine\"\n",
    )
    .unwrap();
    let o = env.paddock(&[
        "explain",
        "--",
        "bash",
        "-c",
        "git status && git push origin main",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("decision: prompt"), "{text}");
    assert!(text.contains("pushes leave the machine"), "{text}");
}

#[test]
fn rules_check_refuses_a_rule_whose_example_fails() {
    let env = Env::new();
    let file = env.ws.join("rules.toml");
    std::fs::write(
        &file,
        "[[rule]]\nprogram = \"rm\"\ndecision = \"forbid\"\nexamples_match = [\"ls -la\"]\n",
    )
    .unwrap();
    let o = env.paddock(&["rules", "check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert!(stderr(&o).contains("ls -la"), "{}", stderr(&o));
}

#[cfg(target_os = "linux")]
#[test]
fn status_reports_the_layers_a_trial_run_really_enforced() {
    let env = Env::new();
    let o = env.paddock(&["status", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let layers = v["trial_run"]["layers"]
        .as_array()
        .expect("a trial run report");
    assert!(
        layers
            .iter()
            .any(|l| l["name"] == "seccomp" && l["status"] == "enforced"),
        "{v}"
    );
    assert_eq!(v["verdict"], "ready");
}

#[test]
fn explain_path_then_flag_is_a_path_question() {
    // The README's order: `paddock explain PATH --write`.
    let env = Env::new();
    for d in [".git/hooks", ".git/objects", ".git/refs"] {
        std::fs::create_dir_all(env.ws.join(d)).unwrap();
    }
    std::fs::write(env.ws.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let o = env.paddock(&["explain", ".git/hooks/pre-commit", "--write", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["write"]["allowed"], false, "{v}");
    let o = env.paddock(&["explain", "src/main.rs", "--read"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("read:") && !text.contains("write:"), "{text}");
}

#[test]
fn explain_dash_dash_one_word_is_a_command_question() {
    let env = Env::new();
    std::fs::write(
        env.config.join("rules.toml"),
        "[[rule]]\nprogram = \"make\"\ndecision = \"forbid\"\njustification = \"use the build tool\"\n",
    )
    .unwrap();
    let o = env.paddock(&["explain", "--json", "--", "make"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verdict"], "forbid", "{v}");
    let o = env.paddock(&["explain", "--", "git", "status", "--short"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("command: git status --short"), "{text}");
}

#[test]
fn explain_refuses_a_path_and_a_command_together() {
    let env = Env::new();
    let o = env.paddock(&["explain", "src", "--", "make"]);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = env.paddock(&["explain", "--write", "--", "make"]);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn explain_into_a_closed_pipe_does_not_panic() {
    // `paddock explain ... | head` where the reader has gone: stdout is a pipe nobody reads.
    let env = Env::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    for args in [
        &["explain", "--", "git", "status"][..],
        &["explain", "--json", "--", "git", "status"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_paddock"))
            .args(args)
            .current_dir(&env.ws)
            .env("PADDOCK_CONFIG_DIR", &env.config)
            .env("PADDOCK_STATE_DIR", &env.state)
            .stdin(std::process::Stdio::null())
            .stdout(writer.try_clone().unwrap())
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}
