//! `paddock policy show`: the effective policy and where each value came from.

use crate::args::PolicyAction;
use crate::output;
use crate::output::outln;

pub fn run(action: PolicyAction) -> i32 {
    let PolicyAction::Show { policy, json } = action;
    let eff = match super::load_policy(&policy) {
        Ok(e) => e,
        Err(err) => return output::fail(&err, err.exit_code()),
    };
    if json {
        output::json(&eff);
        return 0;
    }
    let value = serde_json::to_value(&eff.policy).unwrap_or_default();
    outln!("Effective policy (files read: {})", files(&eff.files));
    outln!("  workspace          = {}", eff.workspace.display());
    if eff.policy.mode == paddock_core::Mode::WorkspaceWrite
        && let Some(why) = paddock_core::roots::HostRoots::from_env().refusal(&eff.workspace)
    {
        outln!("  workspace refused as a writable root: {why}");
    }
    for key in paddock_core::config::SETTINGS {
        let v = if *key == "recipes" {
            let names: Vec<&str> = eff
                .policy
                .recipes
                .iter()
                .map(|g| g.recipe.as_str())
                .collect();
            format!("{names:?}")
        } else {
            lookup(&value, key)
        };
        let sources: Vec<String> = eff
            .sources
            .get(*key)
            .into_iter()
            .flatten()
            .map(ToString::to_string)
            .collect();
        outln!("  {key:<18} = {v}   [{}]", sources.join(", "));
    }
    for g in &eff.policy.recipes {
        let from = g
            .detected_from
            .as_ref()
            .map_or(String::new(), |m| format!(", detected from {m}"));
        outln!("  recipe {} [{}{from}]", g.recipe, g.source);
        for c in &g.caches {
            let state = if eff.policy.mode != paddock_core::Mode::WorkspaceWrite {
                "not writable: mode is not workspace-write"
            } else if std::fs::symlink_metadata(c).is_ok() {
                "writable root"
            } else {
                "writable root, created before the run"
            };
            outln!("    cache {}   ({state})", c.display());
        }
        let hosts = if g.hosts_added {
            "added to the network allow-list"
        } else {
            "not added: network is not an allow-list"
        };
        outln!("    hosts {}   ({hosts})", g.hosts.join(", "));
    }
    if !eff.files.is_empty() && eff.files.iter().any(|f| f.ends_with("paddock.toml")) {
        let trust = if eff.project_trusted {
            "trusted"
        } else {
            "untrusted: may only tighten"
        };
        outln!("  project file: {trust}");
    }
    0
}

fn files(files: &[std::path::PathBuf]) -> String {
    if files.is_empty() {
        return "none, built-in defaults".into();
    }
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds `a.b` in the policy JSON (config names map onto the policy's field names).
fn lookup(value: &serde_json::Value, key: &str) -> String {
    let field = match key {
        "windows.level" => "windows_level",
        other => other,
    };
    let mut cur = value;
    for part in field.split('.') {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return "?".into(),
        }
    }
    cur.to_string()
}
