//! Per-call policy narrowing for the MCP `run` tool: a call may make the user's effective policy
//! stricter (read-only, network off, more deny-read paths, a shorter timeout) and never looser.
//! Anything that would loosen it is refused with the reason; nothing is silently clamped.

use paddock::core::{Mode, Network, Policy};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// What one call asks to tighten. Unknown fields (e.g. `writable`) are refused by the decoder.
#[derive(Debug, Default, Clone, Deserialize, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub struct Narrowing {
    /// "read-only", "workspace-write" or "full-access"; must not be looser than the effective mode.
    pub mode: Option<String>,
    /// "off" (always allowed) or "on" (only when the effective policy already has network on).
    pub network: Option<String>,
    /// Extra paths the command may not read (added to the effective deny-read list).
    #[serde(default)]
    pub deny_read: Vec<String>,
}

/// Strictness rank of a mode: a lower rank confines more.
fn rank(mode: Mode) -> u8 {
    match mode {
        Mode::ReadOnly => 0,
        Mode::WorkspaceWrite => 1,
        Mode::FullAccess => 2,
    }
}

/// Applies `n` and the call's `timeout_secs` to `policy`, or says why it would loosen it.
pub fn apply(policy: &mut Policy, n: &Narrowing, timeout_secs: Option<f64>) -> Result<(), String> {
    if let Some(m) = &n.mode {
        let mode: Mode = m.parse()?;
        if rank(mode) > rank(policy.mode) {
            return Err(format!(
                "mode `{}` is looser than the effective mode `{}`: a call may only tighten the policy",
                mode.as_str(),
                policy.mode.as_str()
            ));
        }
        policy.mode = mode;
    }
    match n.network.as_deref() {
        None => {}
        Some("off") => policy.network = Network::Off,
        Some("on") if policy.network == Network::On => {}
        Some("on") => {
            return Err(format!(
                "network `on` is looser than the effective network setting ({}): a call may only \
                 tighten the policy",
                network_name(&policy.network)
            ));
        }
        Some(other) => return Err(format!("network `{other}`: use \"off\" (or \"on\")")),
    }
    for p in &n.deny_read {
        if p.is_empty() {
            return Err("deny_read: an empty path; give the path the command may not read".into());
        }
        policy.deny_read.push(PathBuf::from(p));
    }
    if let Some(t) = timeout_secs {
        if !t.is_finite() || t <= 0.0 {
            return Err(format!(
                "timeout_secs `{t}` is not a number of seconds > 0 (no limit would loosen the policy)"
            ));
        }
        let asked = Duration::from_secs_f64(t);
        match policy.timeout {
            Some(limit) if asked > limit => {
                return Err(format!(
                    "timeout_secs {t} is longer than the effective timeout of {} s: a call may \
                     only shorten it",
                    limit.as_secs_f64()
                ));
            }
            _ => policy.timeout = Some(asked),
        }
    }
    Ok(())
}

fn network_name(n: &Network) -> &'static str {
    match n {
        Network::Off => "off",
        Network::On => "on",
        Network::Allowlist(_) => "allow-list",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Policy {
        let mut p = paddock::core::config::default_policy();
        p.mode = Mode::WorkspaceWrite;
        p.network = Network::Off;
        p.timeout = Some(Duration::from_secs(60));
        p
    }

    #[test]
    fn tightening_is_applied() {
        let mut p = base();
        let n = Narrowing {
            mode: Some("read-only".into()),
            network: Some("off".into()),
            deny_read: vec!["/secret".into()],
        };
        apply(&mut p, &n, Some(5.0)).unwrap();
        assert_eq!(p.mode, Mode::ReadOnly);
        assert!(p.deny_read.contains(&PathBuf::from("/secret")));
        assert_eq!(p.timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn loosening_is_refused_with_the_reason() {
        let n = Narrowing {
            mode: Some("full-access".into()),
            ..Narrowing::default()
        };
        let err = apply(&mut base(), &n, None).unwrap_err();
        assert!(err.contains("looser"), "{err}");
        let n = Narrowing {
            network: Some("on".into()),
            ..Narrowing::default()
        };
        assert!(
            apply(&mut base(), &n, None)
                .unwrap_err()
                .contains("network")
        );
        let err = apply(&mut base(), &Narrowing::default(), Some(120.0)).unwrap_err();
        assert!(err.contains("longer"), "{err}");
        assert!(apply(&mut base(), &Narrowing::default(), Some(0.0)).is_err());
    }
}
