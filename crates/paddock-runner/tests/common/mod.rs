//! Helpers shared by the Unix runner suites: run `sh -c`, tag a tree, find what is left of it.
#![cfg(unix)]
// Each suite uses some of them.
#![allow(dead_code)]

use paddock_runner::{Outcome, RunOptions, StdioMode, run, unix};
use std::process::Command;

pub fn capture() -> RunOptions {
    RunOptions {
        stdio: StdioMode::Capture,
        ..RunOptions::default()
    }
}

pub fn sh(script: &str, opts: &RunOptions) -> Outcome {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script]);
    run(unix::spawn(cmd, opts.stdio).unwrap(), opts).unwrap()
}

/// A tag unique to one test, set in the command's environment to find its processes later.
pub fn tag(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

pub fn sh_tagged(script: &str, tag: &str, opts: &RunOptions) -> Outcome {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script]).env("PADDOCK_TEST_TAG", tag);
    run(unix::spawn(cmd, opts.stdio).unwrap(), opts).unwrap()
}

/// Live (non-zombie) processes whose environment carries `tag` (Linux).
#[cfg(target_os = "linux")]
pub fn tagged_alive(tag: &str) -> Vec<String> {
    let want = format!("PADDOCK_TEST_TAG={tag}");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let p = e.path();
        let Ok(env) = std::fs::read(p.join("environ")) else {
            continue;
        };
        if !env.split(|&b| b == 0).any(|kv| kv == want.as_bytes()) {
            continue;
        }
        let stat = String::from_utf8_lossy(&std::fs::read(p.join("stat")).unwrap_or_default())
            .into_owned();
        let state = stat
            .rsplit_once(')')
            .map(|(_, t)| t.trim_start().chars().next());
        if !matches!(state, Some(Some('Z' | 'X')) | None) {
            out.push(stat);
        }
    }
    out
}

pub fn pid_alive(pid: i32) -> bool {
    // Lossy: a process whose name is not UTF-8 is alive all the same.
    let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let stat = String::from_utf8_lossy(&stat);
    !matches!(
        stat.rsplit_once(')')
            .and_then(|(_, t)| t.trim_start().chars().next()),
        Some('Z')
    )
}
