//! The seam's contract, on the backend of the machine running the tests.

use super::*;
use std::error::Error;

/// A backend error with a cause below it, as the OS crates' errors have.
#[derive(Debug, thiserror::Error)]
#[error("the kernel refused it")]
struct Refused {
    #[source]
    cause: std::io::Error,
}

#[test]
fn a_backend_failure_keeps_its_typed_source_chain() {
    let err = PaddockError::backend(
        "test",
        Refused {
            cause: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        },
    );
    assert_eq!(err.exit_code(), crate::exit::SANDBOX_UNAVAILABLE);
    assert_eq!(
        err.to_string(),
        "sandbox setup failed: the kernel refused it"
    );
    let source = err.source().expect("the backend's error is the source");
    assert!(source.downcast_ref::<Refused>().is_some(), "{source:?}");
    let cause = source
        .source()
        .expect("the chain goes on below the backend's error");
    assert!(cause.downcast_ref::<std::io::Error>().is_some());
}

fn allow_list_spec(level: paddock_core::WindowsLevel) -> SandboxSpec {
    let ws = std::env::temp_dir();
    SandboxSpec {
        mode: Mode::WorkspaceWrite,
        workspace: ws.clone(),
        writable_roots: vec![ws],
        protected: Vec::new(),
        deny_read: Vec::new(),
        network: Network::Allowlist(vec!["crates.io".into()]),
        allow_unenforced: [paddock_core::Capability::Network].into_iter().collect(),
        windows_level: level,
        watched: Vec::new(),
        repos: Vec::new(),
    }
}

/// The level travels in the spec: on Windows an allow-list passes the portable check at level 2
/// only (level 1 refuses it, naming level 2, even with the network gap accepted); on Linux the
/// level means nothing and both pass. A bad entry is refused everywhere.
#[test]
fn an_allow_list_passes_the_portable_check_where_a_fence_holds_it_to_the_proxy() {
    use paddock_core::WindowsLevel;
    let level_2 = check_portable(&allow_list_spec(WindowsLevel::Elevated));
    let level_1 = check_portable(&allow_list_spec(WindowsLevel::Unelevated));
    if cfg!(any(windows, target_os = "linux")) {
        assert!(level_2.is_ok(), "{level_2:?}");
    }
    if cfg!(windows) {
        let err = level_1.expect_err("level 1 has no fence");
        assert!(
            matches!(err, PaddockError::Unenforceable { ref what, .. } if what == "network allowlist"),
            "{err}"
        );
        let msg = err.to_string();
        assert!(msg.contains("level 1 has no network fence"), "{msg}");
        assert!(msg.contains("windows.level = \"elevated\""), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    } else if cfg!(target_os = "linux") {
        assert!(level_1.is_ok(), "{level_1:?}");
    }
    let mut bad = allow_list_spec(WindowsLevel::Elevated);
    bad.network = Network::Allowlist(vec!["https://crates.io/".into()]);
    assert!(check_portable(&bad).is_err());
}
