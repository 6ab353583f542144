//! Paddock's own config as an attack surface (issue 9, items 5, 9 and 11), through the real
//! binary: a project's `paddock.toml` / `.paddock/rules.toml` that is a link to `/dev/zero` or
//! outside, a FIFO or a directory must be refused at once with exit 78 and the fix; an untrusted
//! project may not loosen timeout, approval or the environment, and even a trusted project's
//! PATH and variables never reach a command run outside the sandbox (`--escalate`, on-failure
//! reruns); a `--cwd` that a planted link turns into `$HOME` (or `--writable ~`, `--writable /`)
//! is refused. Each attack runs as the test's user and, when that is root, as nobody too; every
//! run is bounded in time and memory, so a regression fails the test instead of hanging or
//! exhausting the machine.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::{exists, stderr, stdout};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longest a refused run may take: refusing is a few syscalls, never a read of a device or a
/// wait for a FIFO's writer.
const FAST: Duration = Duration::from_secs(5);

/// Who runs Paddock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Me,
    Nobody,
}

/// The test's user, and nobody too when that is root.
fn callers() -> Vec<Caller> {
    if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        vec![Caller::Me, Caller::Nobody]
    } else {
        vec![Caller::Me]
    }
}

/// One test's world: `ws` (workspace), `home` (the caller's HOME), `outside`, `config` (the
/// user config dir) and `state`, in a directory every user can traverse.
struct T {
    _dir: tempfile::TempDir,
    base: PathBuf,
    ws: PathBuf,
    home: PathBuf,
    outside: PathBuf,
    config: PathBuf,
    state: PathBuf,
    exe: PathBuf,
    caller: Caller,
}

impl T {
    fn new(caller: Caller) -> T {
        let dir = linux_support::test_dir();
        let base = dir.path().canonicalize().unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        let t = T {
            ws: base.join("ws"),
            home: base.join("home"),
            outside: base.join("outside"),
            config: base.join("config"),
            state: base.join("state"),
            exe: base.join("paddock"),
            base,
            _dir: dir,
            caller,
        };
        for d in [&t.ws, &t.home, &t.outside, &t.config, &t.state] {
            std::fs::create_dir_all(d).unwrap();
        }
        // A copy of the binary every user can reach, wherever the checkout is.
        std::fs::copy(env!("CARGO_BIN_EXE_paddock"), &t.exe).unwrap();
        std::fs::set_permissions(&t.exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        t
    }

    /// Hands the world to nobody when nobody is the caller (call after building the files).
    fn settle(&self) {
        if self.caller != Caller::Nobody {
            return;
        }
        let ok = Command::new("chown")
            .args(["-R", "-h", "65534:65534"])
            .args([&self.ws, &self.home, &self.state, &self.config])
            .status()
            .unwrap();
        assert!(ok.success(), "chown to nobody failed");
    }

    /// `paddock ARGS` as the caller, in `ws`, in a new session without a terminal, bounded by
    /// `timeout -s KILL 20` and a 4 GiB address space.
    fn paddock(&self, args: &[&str]) -> (Output, Duration) {
        let mut cmd = match self.caller {
            Caller::Me => Command::new("setsid"),
            Caller::Nobody => {
                let mut c = Command::new("setpriv");
                c.args([
                    "--reuid",
                    "65534",
                    "--regid",
                    "65534",
                    "--clear-groups",
                    "setsid",
                ]);
                c
            }
        };
        cmd.args(["-w", "timeout", "-s", "KILL", "20", "sh", "-c"])
            .arg("ulimit -v 4194304; exec \"$@\"")
            .arg("sh")
            .arg(&self.exe)
            .args(args)
            .current_dir(&self.ws)
            .env("HOME", &self.home)
            .env("PADDOCK_CONFIG_DIR", &self.config)
            .env("PADDOCK_STATE_DIR", &self.state)
            .stdin(Stdio::null());
        let start = Instant::now();
        let out = cmd.output().unwrap();
        (out, start.elapsed())
    }

    /// Writes `marker.sh` (creates `ran` in the cwd) in `dir` and returns its path.
    fn marker_script(&self, dir: &Path) -> String {
        let script = dir.join("marker.sh");
        std::fs::write(&script, "echo ran > ran\n").unwrap();
        script.display().to_string()
    }
}

/// Asserts a refusal: exit 78, quickly, one line on stderr holding every `needle`.
fn assert_refused(out: &Output, took: Duration, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(78),
        "expected exit 78 after {took:?}; stderr: {err}"
    );
    assert!(took < FAST, "the refusal took {took:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks `{n}`: {err}");
    }
}

#[test]
fn project_paddock_toml_linked_to_dev_zero_is_refused_at_once() {
    for caller in callers() {
        let t = T::new(caller);
        symlink("/dev/zero", t.ws.join("paddock.toml")).unwrap();
        let script = t.marker_script(&t.ws);
        t.settle();
        for args in [
            vec!["run", "--no-rules", "--", "sh", &script],
            vec!["policy", "show"],
        ] {
            let (out, took) = t.paddock(&args);
            assert_refused(
                &out,
                took,
                &["paddock.toml", "symbolic link", "replace the link"],
            );
        }
        assert!(!exists(&t.ws.join("ran")), "{caller:?}: the command ran");
    }
}

#[test]
fn project_rules_toml_as_a_fifo_is_refused_at_once() {
    for caller in callers() {
        let t = T::new(caller);
        std::fs::create_dir(t.ws.join(".paddock")).unwrap();
        let fifo = t.ws.join(".paddock/rules.toml");
        assert!(
            Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let script = t.marker_script(&t.ws);
        t.settle();
        // The rules files are read before --no-rules is honoured, and without it too.
        for args in [
            vec!["run", "--no-rules", "--", "sh", &script],
            vec!["run", "--", "sh", &script],
        ] {
            let (out, took) = t.paddock(&args);
            assert_refused(&out, took, &[".paddock/rules.toml", "FIFO", "regular file"]);
        }
        assert!(!exists(&t.ws.join("ran")), "{caller:?}: the command ran");
    }
}

#[test]
fn project_paddock_toml_as_a_directory_is_refused_with_the_fix() {
    let t = T::new(Caller::Me);
    std::fs::create_dir(t.ws.join("paddock.toml")).unwrap();
    let script = t.marker_script(&t.ws);
    let (out, took) = t.paddock(&["run", "--no-rules", "--", "sh", &script]);
    assert_refused(
        &out,
        took,
        &[
            "paddock.toml is a directory, not a regular file",
            "remove it",
        ],
    );
    assert!(!exists(&t.ws.join("ran")));
}

#[test]
fn project_config_linked_outside_the_workspace_is_refused_not_followed() {
    let t = T::new(Caller::Me);
    // Valid and tightening, so only the link itself can be the reason for a refusal.
    std::fs::write(t.outside.join("shared.toml"), "timeout = 30\n").unwrap();
    symlink(t.outside.join("shared.toml"), t.ws.join("paddock.toml")).unwrap();
    let script = t.marker_script(&t.ws);
    let (out, took) = t.paddock(&["run", "--no-rules", "--", "sh", &script]);
    assert_refused(&out, took, &["paddock.toml", "symbolic link"]);
    std::fs::remove_file(t.ws.join("paddock.toml")).unwrap();
    // A linked `.paddock` directory leads the rules file outside just the same.
    std::fs::write(t.outside.join("rules.toml"), "# outside\n").unwrap();
    symlink(&t.outside, t.ws.join(".paddock")).unwrap();
    let (out, took) = t.paddock(&["run", "--no-rules", "--", "sh", &script]);
    assert_refused(&out, took, &[".paddock", "symbolic link"]);
    assert!(!exists(&t.ws.join("ran")));
}

#[test]
fn user_config_may_be_a_link_to_a_regular_file_but_not_to_a_device() {
    let t = T::new(Caller::Me);
    std::fs::write(t.outside.join("dotfiles.toml"), "timeout = 7\n").unwrap();
    symlink(
        t.outside.join("dotfiles.toml"),
        t.config.join("config.toml"),
    )
    .unwrap();
    let (out, _) = t.paddock(&["policy", "show", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["policy"]["timeout"], 7.0);
    std::fs::remove_file(t.config.join("config.toml")).unwrap();
    symlink("/dev/zero", t.config.join("config.toml")).unwrap();
    let (out, took) = t.paddock(&["policy", "show"]);
    assert_refused(&out, took, &["config.toml", "character device"]);
}

#[test]
fn untrusted_project_cannot_loosen_timeout_approval_or_the_environment() {
    let t = T::new(Caller::Me);
    let script = t.marker_script(&t.outside);
    let cases: &[(&str, &str, &str)] = &[
        ("", "timeout = 0", "timeout = 0"),
        ("timeout = 30", "timeout = 3600", "timeout = 3600"),
        (
            "approval = \"always\"",
            "approval = \"on-risk\"",
            "approval",
        ),
        ("approval = \"never\"", "approval = \"always\"", "approval"),
        ("", "output_cap = 99999999999", "output_cap"),
        ("", "[env.set]\nPATH = \"/tmp/evil\"", "PATH"),
        ("", "[env.set]\nLD_PRELOAD = \"/tmp/evil.so\"", "LD_PRELOAD"),
        (
            "",
            "[env]\nset = { GIT_CONFIG_COUNT = \"1\" }",
            "GIT_CONFIG_COUNT",
        ),
    ];
    for (user, project, field) in cases {
        std::fs::write(t.config.join("config.toml"), format!("{user}\n")).unwrap();
        std::fs::write(t.ws.join("paddock.toml"), format!("# project\n{project}\n")).unwrap();
        let (out, took) = t.paddock(&["run", "--no-rules", "--", "/bin/sh", &script]);
        // The refused key is on the project text's last line, after the comment line.
        let at = format!("paddock.toml:{}:", 1 + project.lines().count());
        assert_refused(&out, took, &[&at, field, "trusted_projects"]);
        assert!(!exists(&t.ws.join("ran")), "{project}: the command ran");
        // The same file runs once the user trusts the project.
        std::fs::write(
            t.config.join("config.toml"),
            format!("{user}\ntrusted_projects = ['{}']\n", t.ws.display()),
        )
        .unwrap();
        let (out, _) = t.paddock(&["run", "--no-rules", "--", "/bin/sh", &script]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "trusted {project}: {}",
            stderr(&out)
        );
        std::fs::remove_file(t.ws.join("ran")).unwrap();
    }
    // Tightening stays allowed without trust.
    std::fs::write(t.config.join("config.toml"), "approval = \"on-risk\"\n").unwrap();
    std::fs::write(
        t.ws.join("paddock.toml"),
        "timeout = 30\napproval = \"always\"\noutput_cap = 1024\n[env]\ndeny = [\"FOO\"]\n",
    )
    .unwrap();
    let (out, _) = t.paddock(&["run", "--no-rules", "--", "/bin/sh", &script]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn cwd_through_a_planted_link_to_home_is_refused() {
    for caller in callers() {
        let t = T::new(caller);
        // What an earlier run could leave in the workspace: a link to the caller's home.
        symlink(&t.home, t.ws.join("planted")).unwrap();
        let script = t.marker_script(&t.outside);
        t.settle();
        let planted = t.ws.join("planted");
        let home = t.home.display().to_string();
        for cwd in [planted.display().to_string(), home.clone()] {
            let (out, took) = t.paddock(&["run", "--no-rules", "--cwd", &cwd, "--", "sh", &script]);
            assert_refused(&out, took, &[&home, "home directory", "--cwd"]);
        }
        assert!(
            !exists(&t.home.join("ran")),
            "{caller:?}: the command ran with the home as its workspace"
        );
        // The same for extra writable roots: the home (directly or through the link) and `/`.
        for root in [home.as_str(), &planted.display().to_string(), "/"] {
            let (out, took) =
                t.paddock(&["run", "--no-rules", "--writable", root, "--", "sh", &script]);
            assert_refused(&out, took, &["writable root", "is refused"]);
        }
        assert!(!exists(&t.ws.join("ran")));
        // Read-only mode writes nowhere: the home is a fine place to look around.
        let (out, _) = t.paddock(&[
            "run",
            "--no-rules",
            "--mode",
            "read-only",
            "--cwd",
            &home,
            "--",
            "true",
        ]);
        assert_eq!(out.status.code(), Some(0), "{caller:?}: {}", stderr(&out));
    }
}

#[test]
fn cwd_through_a_link_to_a_project_runs_and_reports_where_it_ran() {
    let t = T::new(Caller::Me);
    let project = t.base.join("project");
    std::fs::create_dir(&project).unwrap();
    symlink(&project, t.ws.join("proj")).unwrap();
    let script = t.marker_script(&t.outside);
    let link = t.ws.join("proj").display().to_string();
    let (out, _) = t.paddock(&[
        "run",
        "--no-rules",
        "--json",
        "--cwd",
        &link,
        "--",
        "sh",
        &script,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["workspace"], project.display().to_string());
    assert!(
        stderr(&out).contains(&format!("resolves to {}", project.display())),
        "{}",
        stderr(&out)
    );
    assert!(exists(&project.join("ran")));
    let (out, _) = t.paddock(&["policy", "show", "--json", "--cwd", &link]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["workspace"], project.display().to_string());
}

/// The first `sh` in the test's own PATH: what the caller's PATH resolves.
fn callers_sh() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("sh"))
        .find(|p| p.is_file())
        .expect("sh in PATH")
}

/// `paddock ARGS` with a terminal (a pty from `script`) whose user types `answers`; returns the
/// output and the transcript (prompts included). `None` when `script` is missing.
fn paddock_on_a_terminal(t: &T, args: &[&str], answers: &str) -> Option<(Output, String)> {
    if Command::new("script").arg("--version").output().is_err() {
        paddock_core::testing::skip(
            "`script` (util-linux) is not installed, so no terminal can be given",
        );
        return None;
    }
    let mut line = format!("exec {}", t.exe.display());
    for a in args {
        line.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
    }
    let mut child = Command::new("timeout")
        .args(["-s", "KILL", "20", "script", "-qec", &line, "/dev/null"])
        .current_dir(&t.ws)
        .env("HOME", &t.home)
        .env("OUT", &t.outside)
        .env("PADDOCK_CONFIG_DIR", &t.config)
        .env("PADDOCK_STATE_DIR", &t.state)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Typed after the prompt is up: the terminal discards nothing, the approver reads a line.
    std::thread::sleep(Duration::from_millis(500));
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let transcript = stdout(&out);
    Some((out, transcript))
}

/// A trusted project may set PATH and variables for the sandbox; an approved escalation still
/// runs the caller's program, found with the caller's PATH, in the caller's environment, and the
/// prompt names that program.
#[test]
fn escalation_runs_the_callers_program_in_the_callers_environment() {
    let t = T::new(Caller::Me);
    let evil = t.ws.join("evil-bin");
    std::fs::create_dir(&evil).unwrap();
    let marker = t.outside.join("evil-ran");
    std::fs::write(
        evil.join("sh"),
        format!("#!/bin/sh\necho x > {}\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(evil.join("sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        t.config.join("config.toml"),
        format!("trusted_projects = ['{}']\n", t.ws.display()),
    )
    .unwrap();
    std::fs::write(
        t.ws.join("paddock.toml"),
        format!(
            "[env.set]\nPATH = \"{}\"\nPADDOCK_PROJECT_VAR = \"from-project\"\n",
            evil.display()
        ),
    )
    .unwrap();
    let Some((out, transcript)) = paddock_on_a_terminal(
        &t,
        &[
            "run",
            "--escalate",
            "--",
            "sh",
            "-c",
            "echo \"${PADDOCK_PROJECT_VAR:-unset}\" > seen",
        ],
        "y\n",
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{transcript}{}", stderr(&out));
    assert!(
        transcript.contains(&format!("runs exactly: {} -c", callers_sh().display())),
        "the prompt does not show the program that runs: {transcript}"
    );
    assert!(!exists(&marker), "the project's PATH chose the program");
    assert_eq!(
        std::fs::read_to_string(t.ws.join("seen")).unwrap(),
        "unset\n",
        "the project's variable reached the unconfined command"
    );
}

/// `approval = "on-failure"`: the rerun outside the sandbox after a denial is an escalation too.
#[test]
fn on_failure_rerun_runs_in_the_callers_environment() {
    let t = T::new(Caller::Me);
    std::fs::write(
        t.config.join("config.toml"),
        format!(
            "approval = \"on-failure\"\ntrusted_projects = ['{}']\n",
            t.ws.display()
        ),
    )
    .unwrap();
    std::fs::write(
        t.ws.join("paddock.toml"),
        "[env.set]\nPADDOCK_PROJECT_VAR = \"from-project\"\n",
    )
    .unwrap();
    // Denied in the sandbox (outside the workspace), then rerun outside once approved.
    let script = t.ws.join("write-outside.sh");
    std::fs::write(
        &script,
        "echo \"${PADDOCK_PROJECT_VAR:-unset}\" > \"$OUT/seen\"\n",
    )
    .unwrap();
    let Some((out, transcript)) =
        paddock_on_a_terminal(&t, &["run", "--", "sh", "write-outside.sh"], "y\ny\n")
    else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{transcript}{}", stderr(&out));
    assert!(
        transcript.contains(&format!(
            "runs exactly: {} write-outside.sh",
            callers_sh().display()
        )),
        "{transcript}"
    );
    assert_eq!(
        std::fs::read_to_string(t.outside.join("seen")).unwrap(),
        "unset\n",
        "the project's variable reached the rerun outside the sandbox"
    );
}
