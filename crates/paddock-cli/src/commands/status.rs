//! `paddock status`: what this machine's backend can enforce, and what a run under the effective
//! policy would get. It says what is *enforced*, not what is asked for.

use crate::args::{PolicyArgs, StatusArgs};
use crate::output;
use paddock_core::config::EffectivePolicy;
use serde_json::json;

pub fn run(a: StatusArgs) -> i32 {
    let eff = match super::load_policy(&a.policy) {
        Ok(e) => e,
        Err(err) => return output::fail(&err, err.exit_code()),
    };
    let report = report(&a.policy, &eff);
    let verdict = report["verdict"].as_str().unwrap_or_default().to_owned();
    if a.json {
        output::json(&report);
    } else {
        println!("Paddock status ({})", std::env::consts::OS);
        println!(
            "  effective mode: {}, network: {:?}",
            eff.policy.mode.as_str(),
            eff.policy.network
        );
        if let Some(obj) = report["backend"].as_object() {
            for (k, v) in obj {
                println!("  {k}: {v}");
            }
        }
        match &report["trial_run"] {
            serde_json::Value::Object(t) if t.contains_key("error") => {
                println!(
                    "  trial run: refused: {}",
                    t["error"].as_str().unwrap_or_default()
                );
            }
            t => {
                println!("  trial run (a no-op under the effective policy), enforced layers:");
                for l in t["layers"].as_array().into_iter().flatten() {
                    println!(
                        "    {:<22} {:<13} {}",
                        l["name"].as_str().unwrap_or_default(),
                        l["status"].as_str().unwrap_or_default(),
                        l["detail"].as_str().unwrap_or_default()
                    );
                }
            }
        }
        println!("  verdict: {verdict}");
    }
    0
}

/// The status report as JSON (`paddock status --json`, and the MCP `status` tool).
pub fn report(a: &PolicyArgs, eff: &EffectivePolicy) -> serde_json::Value {
    let backend = backend_status();
    let trial = trial_run(a, &eff.policy);
    let verdict = match backend.get("problems").and_then(|p| p.as_array()) {
        Some(p) if !p.is_empty() && eff.policy.mode != paddock_core::Mode::FullAccess => {
            "sandbox unavailable: `paddock run` will refuse (exit 125) until the problems are fixed"
        }
        _ => "ready",
    };
    json!({
        "os": std::env::consts::OS,
        "mode": eff.policy.mode.as_str(),
        "network": eff.policy.network,
        "backend": backend,
        "trial_run": trial,
        "state_dir": paddock_core::state::state_dir(),
        "verdict": verdict,
    })
}

/// Runs a no-op command under the effective policy and returns what was really enforced (the
/// enforcement report), or why the sandbox refused: the answer a real run would get.
fn trial_run(a: &PolicyArgs, policy: &paddock_core::Policy) -> serde_json::Value {
    let (program, args): (&str, &[&str]) = if cfg!(windows) {
        ("cmd.exe", &["/c", "exit 0"])
    } else {
        ("true", &[])
    };
    let dirs = super::dirs(a);
    let result = dirs.and_then(|(cwd, workspace)| {
        let mut cmd = paddock::SandboxCommand::new(program);
        cmd.args(args)
            .cwd(cwd)
            .workspace(workspace)
            .policy(policy.clone())
            .capture_output(true);
        cmd.run()
    });
    match result {
        Ok(r) => serde_json::to_value(&r.enforcement).unwrap_or_default(),
        Err(e) => json!({ "error": e.to_string(), "exit_code": e.exit_code() }),
    }
}

#[cfg(target_os = "linux")]
fn backend_status() -> serde_json::Value {
    use paddock_linux::Availability;
    let k = paddock_linux::probe();
    let avail = |a: &Availability| match a {
        Availability::Available => json!("available"),
        Availability::Unavailable { reason, fix } => json!({ "unavailable": reason, "fix": fix }),
    };
    json!({
        "name": "linux",
        "user_namespaces": avail(&k.user_namespaces),
        "mount_api": avail(&k.mount_api),
        "landlock_abi": match k.landlock {
            paddock_linux::landlock::KernelLandlock::Available(abi) => Some(abi),
            _ => None,
        },
        "landlock": match k.landlock.unavailable_reason() {
            Some(reason) => json!({ "unavailable": reason }),
            None => json!({ "missing": k.landlock.missing() }),
        },
        "seccomp": k.seccomp,
        "problems": k.problems(),
    })
}

#[cfg(windows)]
fn backend_status() -> serde_json::Value {
    let here = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."));
    let probe = paddock_windows::apply::probe::probe(&here);
    json!({
        "name": "windows",
        "level_1": "write-restricted token, per-root SIDs, ACL grants, job object, private desktop; reads and network are not restricted at this level",
        "level_2": paddock_windows_elevated::win::status(),
        "probe": probe,
        "problems": probe.problems,
    })
}

#[cfg(not(any(target_os = "linux", windows)))]
fn backend_status() -> serde_json::Value {
    json!({
        "name": "none",
        "problems": [format!("no sandbox backend for {}: only --mode full-access runs", std::env::consts::OS)],
    })
}
