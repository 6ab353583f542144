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
