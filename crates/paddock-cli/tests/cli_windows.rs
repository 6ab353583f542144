//! The `paddock.exe` contract on Windows, run under Wine in CI: the embedded `asInvoker`
//! manifest, exit codes through the job-object runner, and fail-closed refusal where the
//! sandbox cannot be enforced (Wine enforces neither restricted tokens nor ACLs, so every
//! sandboxed mode must be refused there, never run unconfined).
#![cfg(windows)]

use std::path::PathBuf;
use std::process::{Command, Output};

struct Env {
    _dir: tempfile::TempDir,
    ws: PathBuf,
    state: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        let state = dir.path().join("state");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(&state).unwrap();
        Env {
            _dir: dir,
            ws,
            state,
        }
    }

    fn paddock(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_paddock"))
            .args(args)
            .current_dir(&self.ws)
            .env("PADDOCK_STATE_DIR", &self.state)
            .env("PADDOCK_CONFIG_DIR", &self.state)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn paddock_exe_embeds_an_as_invoker_manifest() {
    let bytes = std::fs::read(env!("CARGO_BIN_EXE_paddock")).unwrap();
    let needle = br#"requestedExecutionLevel level="asInvoker""#;
    assert!(
        bytes.windows(needle.len()).any(|w| w == needle),
        "no asInvoker manifest in paddock.exe"
    );
}

#[test]
fn full_access_exits_with_the_commands_own_code() {
    let env = Env::new();
    let o = env.paddock(&[
        "run",
        "--mode",
        "full-access",
        "--no-rules",
        "--",
        "cmd",
        "/c",
        "exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

#[test]
fn missing_program_exits_127() {
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
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
}

#[test]
fn level_one_refuses_network_off_and_deny_read_by_default() {
    let env = Env::new();
    let o = env.paddock(&["run", "--no-rules", "--", "cmd", "/c", "echo ran > ran.txt"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(stderr(&o).contains("paddock setup"), "{}", stderr(&o));
    assert!(
        !env.ws.join("ran.txt").exists(),
        "the command ran although it was refused"
    );
}

#[test]
fn a_network_allow_list_is_refused_at_level_one_before_anything_runs_with_the_reason() {
    let env = Env::new();
    std::fs::write(
        env.state.join("config.toml"),
        "network = { allow = [\"crates.io\"] }\n\
         allow_unenforced = [\"network\", \"deny-read\"]\n\
         [windows]\nlevel = \"unelevated\"\n",
    )
    .unwrap();
    let o = env.paddock(&["run", "--no-rules", "--", "cmd", "/c", "echo ran > ran.txt"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    // One line, naming the problem and the fix.
    let err = stderr(&o);
    let refusal: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("paddock: cannot enforce network allowlist"))
        .collect();
    assert_eq!(refusal.len(), 1, "{err}");
    assert!(
        refusal[0].contains("level 1 has no network fence")
            && refusal[0].contains("windows.level = \"elevated\"")
            && refusal[0].ends_with("use network = \"on\" or \"off\""),
        "{err}"
    );
    assert!(!env.ws.join("ran.txt").exists(), "the command ran");
}

/// Level 2 admits an allow-list: the run gets past the allow-list check to the level-2
/// broker, which (without `paddock setup`, as under Wine) refuses naming the setup.
#[test]
fn a_network_allow_list_at_level_two_reaches_the_broker() {
    let env = Env::new();
    std::fs::write(
        env.state.join("config.toml"),
        "network = { allow = [\"crates.io\"] }\n[windows]\nlevel = \"elevated\"\n",
    )
    .unwrap();
    let o = env.paddock(&["run", "--no-rules", "--", "cmd", "/c", "exit 0"]);
    let err = stderr(&o);
    assert!(
        !err.contains("cannot enforce network allowlist"),
        "level 2 refused the allow-list itself: {err}"
    );
    if o.status.code() != Some(0) {
        assert_eq!(o.status.code(), Some(125), "{err}");
        assert!(err.contains("paddock setup"), "{err}");
    }
}

#[test]
fn sandboxed_mode_is_refused_where_acls_and_tokens_are_not_enforced() {
    let env = Env::new();
    std::fs::write(
        env.state.join("config.toml"),
        "allow_unenforced = [\"network\", \"deny-read\"]\n",
    )
    .unwrap();
    let o = env.paddock(&["run", "--no-rules", "--", "cmd", "/c", "echo ran > ran.txt"]);
    if o.status.code() == Some(0) {
        // Real Windows: the sandbox was built and the write inside the workspace worked.
        assert!(env.ws.join("ran.txt").exists());
    } else {
        assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
        assert!(
            !env.ws.join("ran.txt").exists(),
            "the command ran although it was refused"
        );
    }
}

#[test]
fn setup_on_an_unknown_user_sid_is_refused_with_78() {
    let env = Env::new();
    let o = env.paddock(&["setup", "--for-user", "not-a-sid"]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
}

#[test]
fn explain_names_the_deny_ace_that_protects_git_hooks_and_changes_nothing() {
    let env = Env::new();
    for d in ["objects", "refs", "hooks"] {
        std::fs::create_dir_all(env.ws.join(".git").join(d)).unwrap();
    }
    std::fs::write(env.ws.join(".git").join("HEAD"), "ref: refs/heads/main\n").unwrap();
    let o = env.paddock(&["explain", "--write", r".git\hooks\pre-commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("denied by (D;"), "{text}");
    assert!(
        !env.ws.join(".git").join("config").exists(),
        "explain must not apply the plan (nor create a missing control file)"
    );
    let o = env.paddock(&["explain", "--write", r"src\main.rs"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!text.contains("denied by"), "{text}");
}

/// The files that make git (and Paddock's discovery) take `ws\.git` for a repository.
fn git_dir(env: &Env) {
    std::fs::create_dir_all(env.ws.join(r".git\objects")).unwrap();
    std::fs::create_dir_all(env.ws.join(r".git\refs\heads")).unwrap();
    std::fs::write(env.ws.join(r".git\HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(env.ws.join(r".git\config"), "[core]\n\tbare = false\n").unwrap();
}

#[test]
fn explain_says_a_missing_hooks_folder_is_watched_and_creates_nothing() {
    // No ACE can sit on a folder that does not exist: the ACLs allow creating it, and the
    // after-run check removes it. explain must say so rather than a bare "allowed".
    let env = Env::new();
    git_dir(&env);
    let o = env.paddock(&["explain", "--write", r".git\hooks"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("denied by"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        stderr(&o).contains("is watched") && stderr(&o).contains("removed after the run"),
        "{}",
        stderr(&o)
    );
    assert!(
        !env.ws.join(r".git\hooks").exists(),
        "nothing is created for a missing control path"
    );
    let o = env.paddock(&["explain", "--write", r".git\config"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("denied by (D;"));
    assert!(!stderr(&o).contains("is watched"), "{}", stderr(&o));
}
