//! Paddock: run an AI coding agent's shell commands in a sandbox.
//!
//! This crate is the library front: `SandboxCommand` is a builder in the spirit of
//! `std::process::Command` that takes a `Policy` (see `paddock_core::config` for the layered
//! config), picks this OS's backend (Linux namespaces + Landlock + seccomp, or Windows
//! restricted tokens + ACLs + job objects), and returns a `RunReport` saying what ran and what
//! was really enforced. It fails closed: what cannot be enforced is refused with exit code 125.

pub mod backend;
pub mod cancel;
pub mod command;
pub mod error;
pub mod exit;
pub mod explain;
pub mod gate;
pub mod on_failure;
pub mod resolve;
pub mod status;
pub mod warm;

pub use backend::Backend;
pub use command::{Prepared, SandboxCommand, WalkKeeper, failure_report};
pub use error::PaddockError;
pub use gate::{Gate, GatedRun, run_gated, run_unchecked};
pub use paddock_core as core;
pub use paddock_core::{Policy, RunReport};
pub use paddock_rules as rules;
pub use paddock_runner::HandOff;

/// Tells the library that this process exits once its run is over (a one-shot front end such
/// as `paddock run`, never a resident one): work that only tidies up after a run may then be
/// left to the process's exit (see `paddock_runner::workers::leave_drops_to_exit`).
pub fn exits_after_run() {
    paddock_runner::workers::leave_drops_to_exit();
}

/// Tells the library that this process is a resident front end that calls
/// [`reply_sent`] after each reply: work that only tidies up after a run (killing and reaping
/// a finished sandbox, closing its namespaces) is then held until the reply is out, instead of
/// competing with it (see `paddock_runner::workers::hold_drops`).
pub fn tidies_after_replies() {
    paddock_runner::workers::hold_drops();
}

/// A reply has been sent: the tidying held since the last one is done now, on a worker.
pub fn reply_sent() {
    paddock_runner::workers::release_held_drops();
}
