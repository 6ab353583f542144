//! Paddock's Linux backend: runs a command in fresh user, mount, pid, ipc, uts (and, with the
//! network off, network) namespaces over a read-only view of the host, with Landlock and seccomp
//! as second layers. Everything is built by a single-threaded init: a fork-like copy of the
//! supervisor, or Paddock's own executable re-run when the supervisor has threads; no setuid
//! helper, no bubblewrap.
//!
//! Wiring (for the front end):
//! - call [`maybe_run_init`] first thing in `main`, before any thread starts;
//! - [`prepare`] starts a command in the sandbox and returns the running tree for
//!   `paddock_runner::run` plus the enforcement report; every error means exit 125, except
//!   [`LinuxError::Exec`] (126, 127 for a missing program);
//! - [`prepare_waiting`] builds a sandbox ahead of its command (a resident server's spare);
//!   [`WaitingSandbox::start`] hands it the command;
//! - [`probe`] says what the kernel allows, for `paddock status`.

#![cfg(target_os = "linux")]

mod cgroup;
mod command_frame;
mod init;
pub mod landlock;
mod limits;
mod namespace_hold;
mod namespaced;
mod pid1_process;
pub mod plan;
mod probe;
mod proxy_bridge;
mod result_channel;
pub mod seccomp;
mod status;
mod supervisor;
mod sys;
mod waiting;

pub use init::{INIT_MARKER, maybe_run_init};
pub use plan::{LinuxError, LinuxPlan, PlanCommand, PlanLimits, PlanPath};
pub use probe::{Availability, KernelSupport, probe};
pub use proxy_bridge::PROXY_PORT;
pub use supervisor::{plan_for, prepare, prepare_with};
pub use sys::standard_start;
pub use waiting::{WaitingSandbox, prepare_waiting};
