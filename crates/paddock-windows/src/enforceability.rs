//! Level-1 honesty: which parts of a spec the unelevated backend cannot enforce, and whether
//! the user accepted each gap through `allow_unenforced`.
//!
//! Guarantees: a spec asking for network off or deny-read paths is refused at level 1 unless
//! the matching capability is in `allow_unenforced`, in which case it is returned so that the
//! run report lists it as not enforced; a network allow-list is refused at level 1 whatever
//! `allow_unenforced` says (nothing would hold the command to the proxy; level 2 enforces it).
//! Nothing is silently dropped.

use crate::error::WindowsError;
use paddock_core::SandboxSpec;
use paddock_core::policy::{Capability, Mode, Network, WindowsLevel};

/// The capabilities the run will *not* enforce (all accepted by the user), or the refusal.
pub fn check_enforceable(
    spec: &SandboxSpec,
    level: WindowsLevel,
) -> Result<Vec<Capability>, WindowsError> {
    if spec.mode == Mode::FullAccess {
        return Ok(Vec::new());
    }
    if level == WindowsLevel::Elevated {
        return Err(WindowsError::ElevatedUnavailable);
    }
    let mut missing = Vec::new();
    match spec.network {
        Network::On => {}
        Network::Off => missing.push(Capability::Network),
        Network::Allowlist(_) => return Err(WindowsError::AllowlistUnsupported),
    }
    if !spec.deny_read.is_empty() {
        missing.push(Capability::DenyRead);
    }
    let refused: Vec<Capability> = missing
        .iter()
        .copied()
        .filter(|c| !spec.allow_unenforced.contains(c))
        .collect();
    if !refused.is_empty() {
        return Err(WindowsError::Unenforceable {
            capabilities: refused,
        });
    }
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_core::spec::{DenyReadPath, PathKind};
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    fn spec(network: Network, deny_read: bool, allow: &[Capability]) -> SandboxSpec {
        SandboxSpec {
            mode: Mode::WorkspaceWrite,
            workspace: PathBuf::from(r"C:\repo"),
            writable_roots: vec![PathBuf::from(r"C:\repo")],
            protected: Vec::new(),
            deny_read: if deny_read {
                vec![DenyReadPath {
                    path: PathBuf::from(r"C:\Users\me\.ssh"),
                    kind: PathKind::Dir,
                }]
            } else {
                Vec::new()
            },
            network,
            allow_unenforced: allow.iter().copied().collect::<BTreeSet<_>>(),
            windows_level: Default::default(),
            watched: Vec::new(),
            repos: Vec::new(),
        }
    }

    #[test]
    fn network_off_is_refused_at_level_one_naming_setup_and_elevated() {
        let err = check_enforceable(&spec(Network::Off, false, &[]), WindowsLevel::Unelevated)
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("windows.level = \"elevated\""), "{msg}");
        assert!(msg.contains("paddock setup"), "{msg}");
        assert!(msg.contains("allow_unenforced = [\"network\"]"), "{msg}");
    }

    #[test]
    fn deny_read_is_refused_at_level_one() {
        let err =
            check_enforceable(&spec(Network::On, true, &[]), WindowsLevel::Unelevated).unwrap_err();
        assert!(
            matches!(err, WindowsError::Unenforceable { ref capabilities } if capabilities == &[Capability::DenyRead])
        );
    }

    #[test]
    fn accepted_gaps_are_returned_as_not_enforced() {
        let s = spec(
            Network::Off,
            true,
            &[Capability::Network, Capability::DenyRead],
        );
        let gaps = check_enforceable(&s, WindowsLevel::Unelevated).unwrap();
        assert_eq!(gaps, [Capability::Network, Capability::DenyRead]);
    }

    #[test]
    fn accepting_one_gap_does_not_accept_the_other() {
        let s = spec(Network::Off, true, &[Capability::Network]);
        let err = check_enforceable(&s, WindowsLevel::Unelevated).unwrap_err();
        assert!(
            matches!(err, WindowsError::Unenforceable { ref capabilities } if capabilities == &[Capability::DenyRead])
        );
    }

    #[test]
    fn network_on_without_secrets_is_fully_enforceable() {
        let gaps = check_enforceable(&spec(Network::On, false, &[]), WindowsLevel::Unelevated);
        assert_eq!(gaps.unwrap(), []);
    }

    #[test]
    fn allowlist_and_elevated_are_refused() {
        let s = spec(
            Network::Allowlist(vec!["example.com".into()]),
            false,
            &[Capability::Network],
        );
        let err = check_enforceable(&s, WindowsLevel::Unelevated).unwrap_err();
        assert!(
            matches!(err, WindowsError::AllowlistUnsupported),
            "accepting the network gap does not admit an allow-list at level 1: {err}"
        );
        let msg = err.to_string();
        assert!(msg.contains("level 1 has no network fence"), "{msg}");
        assert!(msg.contains("windows.level = \"elevated\""), "{msg}");
        let s = spec(Network::On, false, &[]);
        assert!(matches!(
            check_enforceable(&s, WindowsLevel::Elevated),
            Err(WindowsError::ElevatedUnavailable)
        ));
    }
}
