//! The `paddock` binary's contract, end to end: exit codes (the command's own, 124, 127, 76, 77,
//! 78), the JSON report, the audit log, config layering and refusal of broken or loosening
//! config, and `explain`. Sandbox attacks live in the `linux_*` suites; the Windows build's
//! contract under Wine is in `cli_windows.rs`.
#![cfg(unix)]

#[cfg(target_os = "linux")]
mod linux_support;
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

    /// `paddock args` with its stdout on `stdout`, stderr captured.
    fn paddock_into(&self, args: &[&str], stdout: std::process::Stdio) -> Output {
        Command::new(env!("CARGO_BIN_EXE_paddock"))
            .args(args)
            .current_dir(&self.ws)
            .env("PADDOCK_CONFIG_DIR", &self.config)
            .env("PADDOCK_STATE_DIR", &self.state)
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap()
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

#[cfg(target_os = "linux")]
#[test]
fn status_json_layers_parse_into_the_typed_report() {
    use paddock_core::{EnforcementReport, Layer, LayerStatus, Protection};
    let env = Env::new();
    let o = env.paddock(&["status", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let trial: EnforcementReport =
        serde_json::from_value(v["trial_run"].clone()).expect("a typed enforcement report");
    let names: Vec<Layer> = trial.layers.iter().map(|l| l.name).collect();
    for layer in [
        Layer::Namespaces,
        Layer::MountView,
        Layer::Landlock,
        Layer::Seccomp,
    ] {
        assert!(names.contains(&layer), "{layer} missing from {names:?}");
    }
    assert_eq!(
        trial.layer(Layer::Seccomp).map(|l| l.status),
        Some(LayerStatus::Enforced)
    );
    assert!(trial.enforces(Protection::Writes), "{trial:?}");
    assert!(trial.enforces(Protection::Syscalls), "{trial:?}");
    let landlock = v["backend"]["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "landlock")
        .expect("a landlock requirement");
    assert_eq!(landlock["available"], true, "{landlock}");
}

#[cfg(target_os = "linux")]
#[test]
fn status_text_names_landlock_in_words_not_json() {
    let env = Env::new();
    let o = env.paddock(&["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("landlock ") && l.contains("ABI"))
        .unwrap_or_else(|| panic!("no landlock line in {text}"));
    assert!(!line.contains('{') && !line.contains('"'), "{line}");
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

/// Asserts Paddock's error contract: exit 78, one line on stderr starting `paddock: `.
fn assert_one_line_78(o: &Output, what: &str) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(78), "{what}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err}");
    assert!(err.starts_with("paddock: "), "{what}: {err}");
    err
}

#[test]
fn usage_errors_exit_78_with_one_line_naming_the_problem_and_the_help() {
    let env = Env::new();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["run", "--timeout", "abc", "--", "true"],
            &[
                "'abc'",
                "--timeout",
                "expected seconds",
                "`paddock run --help`",
            ],
        ),
        (
            &["run", "--bogus", "--", "true"],
            &["'--bogus'", "`paddock run --help`"],
        ),
        (
            &["run", "--"],
            &["no command given", "`paddock run --help`"],
        ),
        (&["run"], &["no command given"]),
        (&["run", "--", ""], &["program name is empty"]),
        (
            &["run", "--network", "maybe", "--", "true"],
            &["'maybe'", "on, off"],
        ),
        (
            &["status", "--jsn"],
            &["'--jsn'", "--json", "`paddock status --help`"],
        ),
        (&["frob"], &["'frob'", "`paddock --help`"]),
        (&[], &["no subcommand", "`paddock --help`"]),
        (&["log", "-n", "x"], &["--tail", "whole number"]),
    ];
    for (args, wants) in cases {
        let o = env.paddock(args);
        let err = assert_one_line_78(&o, &format!("{args:?}"));
        for want in *wants {
            assert!(err.contains(want), "{args:?}: missing {want:?} in {err}");
        }
        assert!(
            o.stdout.is_empty(),
            "{args:?}: no --json, nothing on stdout"
        );
    }
}

#[test]
fn usage_error_under_json_prints_a_json_error_object() {
    let env = Env::new();
    let o = env.paddock(&["run", "--json", "--timeout", "abc", "--", "true"]);
    let err = assert_one_line_78(&o, "run --json --timeout abc");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["exit_code"], 78, "{v}");
    assert_eq!(
        v["error"].as_str().unwrap(),
        err.trim_end().trim_start_matches("paddock: ")
    );
    let o = env.paddock(&["status", "--json", "--mode", "yolo"]);
    assert_one_line_78(&o, "status --json --mode yolo");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert!(v["error"].as_str().unwrap().contains("yolo"), "{v}");
}

#[test]
fn help_and_version_still_exit_0() {
    let env = Env::new();
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["--version"],
        &["help", "log"],
    ] {
        let o = env.paddock(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn bad_config_timeouts_exit_78_instead_of_panicking_or_meaning_none() {
    for bad in ["1e20", "-1", "nan", "inf", "\"soon\""] {
        let env = Env::new();
        std::fs::write(env.config.join("config.toml"), format!("timeout = {bad}\n")).unwrap();
        let o = env.paddock(&["run", "--mode", "full-access", "--", "true"]);
        let err = assert_one_line_78(&o, bad);
        assert!(err.contains("config.toml:1:"), "{bad}: {err}");
        assert!(err.contains("expected seconds"), "{bad}: {err}");
    }
}

#[test]
fn bad_cli_timeouts_exit_78() {
    let env = Env::new();
    for bad in ["1e20", "-1", "NaN", "inf", ""] {
        let o = env.paddock(&[
            "run",
            "--mode",
            "full-access",
            "--timeout",
            bad,
            "--",
            "true",
        ]);
        assert_one_line_78(&o, bad);
    }
}

#[test]
fn timeouts_take_seconds_and_units_from_cli_and_config() {
    let env = Env::new();
    std::fs::write(env.config.join("config.toml"), "timeout = \"2m\"\n").unwrap();
    let o = env.paddock(&["policy", "show", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["policy"]["timeout"], 120.0, "{v}");
    for (flag, secs) in [("5m", 300.0), ("2.5", 2.5), ("1h 30m", 5400.0)] {
        let o = env.paddock(&["policy", "show", "--json", "--timeout", flag]);
        assert_eq!(o.status.code(), Some(0), "{flag}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["policy"]["timeout"], secs, "{flag}");
    }
}

#[test]
fn unknown_network_value_in_a_config_names_the_allowed_values() {
    let env = Env::new();
    std::fs::write(env.config.join("config.toml"), "network = \"maybe\"\n").unwrap();
    let o = env.paddock(&["run", "--", "true"]);
    let err = assert_one_line_78(&o, "network = maybe");
    assert!(err.contains("\"on\", \"off\""), "{err}");
    assert!(!err.contains("NetworkSetting"), "{err}");
}

#[test]
fn a_file_given_as_cwd_is_reported_as_not_a_directory() {
    let env = Env::new();
    let file = env.ws.join("notes.txt");
    std::fs::write(&file, "x").unwrap();
    let o = env.paddock(&["run", "--cwd", file.to_str().unwrap(), "--", "true"]);
    let err = assert_one_line_78(&o, "--cwd FILE");
    assert!(
        err.contains("not a directory") && err.contains("--cwd"),
        "{err}"
    );
    assert!(!err.contains("does not exist"), "{err}");
}

#[test]
fn deny_read_of_a_missing_path_the_command_could_create_is_refused() {
    let env = Env::new();
    let secret = env.ws.join("secret");
    let o = env.paddock(&[
        "run",
        "--no-rules",
        "--deny-read",
        secret.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "echo x > secret; cat secret",
    ]);
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains('x'),
        "read it back"
    );
    let err = assert_one_line_78(&o, "--deny-read missing");
    assert!(err.contains("create it before the run"), "{err}");
    assert!(!secret.exists(), "the command must not have run");
}

#[test]
fn log_tail_shows_only_the_last_entries() {
    let env = Env::new();
    for n in ["1", "2", "3"] {
        let o = env.paddock(&[
            "run",
            "--mode",
            "full-access",
            "--",
            "sh",
            "-c",
            &format!("exit {n}"),
        ]);
        assert_eq!(o.status.code(), Some(n.parse().unwrap()), "{}", stderr(&o));
    }
    let o = env.paddock(&["log", "--json", "-n", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[1]["exit_code"], 3, "the newest last: {lines:?}");
    assert_eq!(lines[0]["argv"][2], "exit 3", "{lines:?}");
    let o = env.paddock(&["log", "--tail", "0"]);
    assert!(o.stdout.is_empty());
    let o = env.paddock(&["log", "--json"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 6);
}

#[test]
fn a_bad_log_line_is_skipped_with_a_warning_not_a_crash() {
    let env = Env::new();
    let o = env.paddock(&["run", "--mode", "full-access", "--", "true"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let log = env.state.join("audit.jsonl");
    let good = std::fs::read_to_string(&log).unwrap();
    let mut bad: serde_json::Value = serde_json::from_str(good.lines().next().unwrap()).unwrap();
    bad["time"] = "2026-01-01T00:00:00.ééZ".into();
    std::fs::write(&log, format!("{bad}\nnot json\n{good}")).unwrap();
    let o = env.paddock(&["log", "--since", "1h", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 2);
    let err = stderr(&o);
    assert!(
        err.contains("audit.jsonl:1:") && err.contains("skipped"),
        "{err}"
    );
    assert!(err.contains("audit.jsonl:2:"), "{err}");
}

/// The ordinary build (`cargo build`, `cargo install`) is a static-pie binary when the C
/// compiler has a static glibc: build.rs links it so, and then no dynamic loader runs at each
/// start (0.2-0.4 ms a run measured). Such an executable has no interpreter (`PT_INTERP`) among
/// its program headers, and is position-independent (`ET_DYN`, so ASLR is kept). Without a
/// static glibc the binary stays dynamic but must not need `libgcc_s` (build.rs links the
/// compiler's static unwinder instead).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_linux_binary_is_static_pie_or_at_least_free_of_libgcc_s() {
    // build.rs asks `cc`, the compiler rustc links with.
    let has = |file: &str| {
        Command::new("cc")
            .arg(format!("-print-file-name={file}"))
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .is_some_and(|p| p.is_absolute() && p.is_file())
    };
    let binary = std::fs::read(env!("CARGO_BIN_EXE_paddock")).unwrap();
    let (e_type, interp) = linux_support::elf_type_and_interpreter(&binary);
    assert_eq!(e_type, 3, "paddock is not position-independent (ET_DYN)");
    if std::env::var_os("PADDOCK_DYNAMIC_GLIBC").is_none()
        && ["libc.a", "libm.a", "libgcc.a", "libgcc_eh.a", "rcrt1.o"]
            .iter()
            .all(|f| has(f))
    {
        assert!(
            !interp,
            "paddock has a dynamic loader although a static glibc is at hand"
        );
        // glibc marks each function that needs its shared libraries at run time in a static
        // binary with a `.gnu.warning.NAME` section: only getaddrinfo and what it brings, and
        // getpwuid_r (the standard library's home_dir, linked into debug builds), whose
        // databases a static Paddock keeps to glibc's built-in sources at start
        // (`sys::built_in_host_lookups`), may be there.
        let allowed = [
            "getaddrinfo",
            "gethostbyname2_r",
            "getservbyname_r",
            "dlopen",
            "dlmopen",
            "getpwuid_r",
        ];
        let marker = b".gnu.warning.";
        let needing: Vec<String> = binary
            .windows(marker.len())
            .enumerate()
            .filter(|(_, w)| *w == marker)
            .map(|(at, _)| {
                let name = &binary[at + marker.len()..];
                let end = name
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                    .unwrap_or(name.len());
                String::from_utf8_lossy(&name[..end]).into_owned()
            })
            .filter(|n| !n.is_empty() && !allowed.contains(&n.as_str()))
            .collect();
        assert!(
            needing.is_empty(),
            "the static paddock calls {needing:?}, which need glibc's shared libraries at run time"
        );
        return;
    }
    // Without a static glibc the binary is dynamic (slower to start, docs/linux.md): CI, which
    // installs one, must not pass on that fallback.
    assert!(
        std::env::var_os("PADDOCK_DYNAMIC_GLIBC").is_some() || !paddock_core::testing::required(),
        "paddock is dynamically linked: install a static glibc (libc6-dev, glibc-static) and gcc"
    );
    if !has("libgcc_eh.a") {
        paddock_core::testing::skip(
            "the C compiler has no libgcc_eh.a, so build.rs keeps libgcc_s (install gcc)",
        );
        return;
    }
    let needle = b"libgcc_s.so.1";
    assert!(
        !binary.windows(needle.len()).any(|w| w == needle),
        "paddock still names libgcc_s.so.1 as a library it needs"
    );
}

/// A reader that went away (`paddock log | head`) ends Paddock's output quietly: exit 0, no
/// panic message. The pipe's read end is closed before Paddock starts, so every write fails.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let env = Env::new();
    let o = env.paddock(&["run", "--mode", "full-access", "--", "true"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for args in [&["log"][..], &["log", "--json"], &["status"], &["policy"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = env.paddock_into(args, writer.into());
        assert!(
            !stderr(&o).contains("panicked"),
            "paddock {args:?}: {}",
            stderr(&o)
        );
        assert!(
            o.status.code().is_some(),
            "paddock {args:?}: {:?}",
            o.status
        );
    }
}

/// Output that cannot be written for another reason (`/dev/full`: a full disk) is reported on
/// one line, however many lines were to be written, and a success becomes exit 74, so that a
/// script does not take a truncated report for a whole one; a failure keeps its own code.
#[cfg(target_os = "linux")]
#[test]
fn output_that_cannot_be_written_is_one_line_and_exit_74() {
    let env = Env::new();
    let o = env.paddock(&["run", "--mode", "full-access", "--", "true"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cases: [(&[&str], i32); 5] = [
        (&["log"], 74),
        (&["status"], 74),
        (
            &["run", "--json", "--mode", "full-access", "--", "true"],
            74,
        ),
        (
            &["run", "--json", "--mode", "full-access", "--", "false"],
            1,
        ),
        // Paddock's own output is empty: the command's failed write is its own business.
        (&["run", "--mode", "full-access", "--", "true"], 0),
    ];
    for (args, code) in cases {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = env.paddock_into(args, full.into());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "paddock {args:?}: {err}");
        let lines = err.matches("cannot write to standard output").count();
        assert_eq!(lines, usize::from(code != 0), "paddock {args:?}: {err}");
        assert!(!err.contains("panicked"), "paddock {args:?}: {err}");
    }
}

/// Paddock started with its stdout closed opens `/dev/null` in its place before anything else
/// (on Linux with glibc its own `main` does what the standard library's start-up would): the
/// command's output goes there, its writes succeed, and no file Paddock opened (the audit log,
/// a pending record) took the number and received the output. Without it the command's `echo`
/// failed with an I/O error.
#[cfg(target_os = "linux")]
#[test]
fn a_closed_stdout_is_dev_null_for_paddock_and_the_command() {
    let env = Env::new();
    for mode in ["full-access", "workspace-write"] {
        // Printed joined, named in two halves: the audit log's copy of argv does not hold it.
        let (head, tail) = (format!("marker-{mode}"), format!("-{}", std::process::id()));
        let marker = format!("{head}{tail}");
        let o = Command::new("sh")
            .args([
                "-c",
                "exec \"$0\" \"$@\" >&-",
                env!("CARGO_BIN_EXE_paddock"),
            ])
            .args([
                "run", "--mode", mode, "--", "printf", "%s%s\\n", &head, &tail,
            ])
            .current_dir(&env.ws)
            .env("PADDOCK_CONFIG_DIR", &env.config)
            .env("PADDOCK_STATE_DIR", &env.state)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{mode}: {}", stderr(&o));
        assert!(stderr(&o).is_empty(), "{mode}: {}", stderr(&o));
        for dir in [&env.state, &env.config, &env.ws] {
            for entry in walk(dir) {
                let text = std::fs::read(&entry).unwrap_or_default();
                assert!(
                    !String::from_utf8_lossy(&text).contains(&marker),
                    "{mode}: the command's output landed in {}",
                    entry.display()
                );
            }
        }
        // Every record of the audit log still parses (`audit_lines` unwraps each).
        assert!(!env.audit_lines().is_empty());
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
