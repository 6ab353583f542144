//! `paddock status`: what this machine's backend can enforce, and what a run under the effective
//! policy would get. It says what is *enforced*, not what is asked for.

use crate::args::StatusArgs;
use crate::output;
use serde_json::json;

pub fn run(a: StatusArgs) -> i32 {
    let eff = match super::load_policy(&a.policy) {
        Ok(e) => e,
        Err(err) => return output::fail(&err, err.exit_code()),
    };
    let backend = backend_status();
    let verdict = match backend.get("problems").and_then(|p| p.as_array()) {
        Some(p) if !p.is_empty() && eff.policy.mode != paddock_core::Mode::FullAccess => {
            "sandbox unavailable: `paddock run` will refuse (exit 125) until the problems are fixed"
        }
        _ => "ready",
    };
    let report = json!({
        "os": std::env::consts::OS,
        "mode": eff.policy.mode.as_str(),
        "network": eff.policy.network,
        "backend": backend,
        "state_dir": paddock_core::state::state_dir(),
        "verdict": verdict,
    });
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
        println!("  verdict: {verdict}");
    }
    0
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
        "landlock_abi": k.landlock_abi,
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
