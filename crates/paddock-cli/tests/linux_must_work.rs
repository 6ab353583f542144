//! The legitimate side of the boundary: ordinary development work inside the workspace must
//! keep working under the sandbox, and exit codes and signals must come through unchanged.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::*;

#[test]
fn create_edit_rename_delete_in_the_workspace_succeed() {
    let w = World::new();
    let out = w.run(
        "mkdir -p src/a && echo one > src/a/f && echo two >> src/a/f && mv src/a/f src/g && \
         cp src/g h && rm src/g && rmdir src/a && chmod 600 h && touch -d 2001-01-01 h && \
         ln -s h link && ln h hard && mkfifo fifo && cat link",
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), "one\ntwo\n");
    assert_eq!(
        std::fs::read_to_string(w.ws.join("hard")).unwrap(),
        "one\ntwo\n"
    );
    assert!(!exists(&w.ws.join("src/g")));
}

#[test]
fn git_status_add_commit_in_a_workspace_repo_succeed() {
    let w = World::with_repo();
    let out = w.run(
        "echo new > new.txt && git status --short && git add new.txt && \
         git -c user.name=t -c user.email=t@e commit -qm add && git log --format=%s | head -1 && \
         git checkout -qb topic && git gc -q",
    );
    assert_ok(&out);
    assert!(stdout(&out).contains("?? new.txt"));
    assert!(stdout(&out).contains("add"));
}

#[test]
fn cc_compiles_and_runs_a_program() {
    let w = World::new();
    std::fs::write(
        w.ws.join("m.c"),
        "#include <stdio.h>\nint main(void){puts(\"built\");return 0;}\n",
    )
    .unwrap();
    let out = w.run("cc -o m m.c && ./m");
    assert_ok(&out);
    assert_eq!(stdout(&out), "built\n");
}

#[test]
fn python3_runs_and_writes_in_the_workspace() {
    let w = World::new();
    let out = w.run("python3 -c \"import tempfile, pathlib; pathlib.Path('p.txt').write_text('py'); \
                     f = tempfile.NamedTemporaryFile(); print(f.name.startswith('/tmp/'))\" && cat p.txt");
    assert_ok(&out);
    assert_eq!(stdout(&out), "True\npy");
}

#[test]
fn cargo_builds_a_tiny_crate_offline() {
    let w = World::new();
    std::fs::create_dir_all(w.ws.join("tiny/src")).unwrap();
    std::fs::write(
        w.ws.join("tiny/Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        w.ws.join("tiny/src/main.rs"),
        "fn main() { println!(\"tiny ran\"); }\n",
    )
    .unwrap();
    let rustup_home = std::env::var("RUSTUP_HOME").unwrap_or_else(|_| "/root/.rustup".into());
    let out = w.run(&format!(
        "cd tiny && CARGO_HOME=$WS/.cargo-home RUSTUP_HOME={rustup_home} cargo run --offline -q"
    ));
    assert_ok(&out);
    assert_eq!(stdout(&out), "tiny ran\n");
}

#[test]
fn pipes_subprocesses_and_mktemp_work() {
    let w = World::new();
    let out = w.run("t=$(mktemp) && d=$(mktemp -d) && seq 1 1000 | sort -rn | head -1 > $t && \
                     (cat $t; echo sub) | tr a-z A-Z && echo $TMPDIR && ls -d $d >/dev/null && echo x > /dev/null");
    assert_ok(&out);
    assert_eq!(stdout(&out), "1000\nSUB\n/tmp\n");
}

#[test]
fn exit_codes_propagate() {
    let w = World::new();
    for code in [0, 1, 3, 42, 124, 125, 255] {
        let out = w.run(&format!("exit {code}"));
        assert_eq!(out.status.code(), Some(code), "stderr: {}", stderr(&out));
    }
}

#[test]
fn signals_propagate_as_128_plus_the_signal() {
    let w = World::new();
    let out = w.run("kill -TERM $$");
    assert_eq!(out.status.code(), Some(143), "stderr: {}", stderr(&out));
    let out = w.run_with("workspace-write", &["--json"], "kill -KILL $$");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["signal"], 9, "{report}");
}

#[test]
fn read_only_mode_allows_reads_everywhere_but_denies_every_write() {
    let w = World::new();
    std::fs::write(w.ws.join("mine"), "readable").unwrap();
    let out = w.run_with(
        "read-only",
        &[],
        "cat mine; cat $OUT/victim; head -c0 /etc/passwd && echo etc-ok; echo pwn > mine; \
         echo pwn > new; echo pwn > $OUT/victim; echo scratch > /tmp/s && cat /tmp/s",
    );
    assert_ran(&out);
    assert_eq!(stdout(&out), "readableorigetc-ok\nscratch\n");
    assert_eq!(
        std::fs::read_to_string(w.ws.join("mine")).unwrap(),
        "readable"
    );
    assert!(!exists(&w.ws.join("new")));
    w.assert_outside_untouched();
}

#[test]
fn read_only_mode_still_hides_secrets() {
    let w = World::new();
    let out = w.run_with("read-only", &[], "cat ~/.ssh/id_rsa ~/.netrc");
    assert_ran(&out);
    assert!(!stdout(&out).contains(SECRET));
}

#[test]
fn json_report_lists_every_enforced_layer() {
    let w = World::new();
    let out = w.run_with("workspace-write", &["--json"], "true");
    assert_ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers: Vec<&str> = report["enforcement"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == "enforced")
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        layers,
        [
            "namespaces",
            "mount-view",
            "privileges",
            "landlock",
            "seccomp",
            "limits"
        ]
    );
}

#[test]
fn ctrl_c_reaches_the_command_which_can_handle_it() {
    let w = World::new();
    let mut paddock = w
        .command(
            "workspace-write",
            &[],
            "trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 0.05; done",
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(paddock.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "ready\n");
    let sent = std::process::Command::new("kill")
        .args(["-INT", &paddock.id().to_string()])
        .status();
    assert!(sent.unwrap().success());
    let status = paddock.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert_eq!(rest, "got-int\n");
    // The command's own code, or 130: Paddock reports a run ended by Ctrl-C as interrupted.
    assert!(matches!(status.code(), Some(7 | 130)), "{status:?}");
}

#[test]
fn an_unprivileged_caller_gets_the_same_sandbox() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = linux_support::test_dir();
    let base = dir.path().canonicalize().unwrap();
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (ws, outside) = (base.join("ws"), base.join("outside"));
    std::fs::create_dir(&ws).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o777)).unwrap();
    let script = format!(
        "id -u; echo ok > inside; echo pwn > {}/new; cat inside",
        outside.display()
    );
    std::fs::write(ws.join("attack.sh"), script).unwrap();
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let mut cmd = if root {
        // Run as nobody, owning the workspace, with a world-writable directory outside it.
        std::fs::create_dir(base.join("state")).unwrap();
        for d in [&ws, &base.join("state")] {
            std::os::unix::fs::chown(d, Some(65534), Some(65534)).unwrap();
        }
        // A copy of the binary nobody can reach and run, wherever the checkout is.
        let exe = base.join("paddock");
        std::fs::copy(env!("CARGO_BIN_EXE_paddock"), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(&exe);
        c
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_paddock"))
    };
    let out = cmd
        .args([
            "run",
            "--mode",
            "workspace-write",
            "--network",
            "off",
            "--cwd",
        ])
        .arg(&ws)
        .args(["--", "sh", "attack.sh"])
        // Not the workspace: a workspace that is the caller's home is refused (issue 9 item 11).
        .env("HOME", &outside)
        .env("PADDOCK_CONFIG_DIR", ws.join("no-config"))
        .env("PADDOCK_STATE_DIR", base.join("state"))
        .output()
        .unwrap();
    assert_ran(&out);
    let text = stdout(&out);
    if root {
        assert!(text.starts_with("65534\n"), "{text}");
    }
    assert!(text.ends_with("ok\n"), "{text} {}", stderr(&out));
    assert!(
        !exists(&outside.join("new")),
        "an unprivileged caller wrote outside its workspace"
    );
}
