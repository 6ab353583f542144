//! Paddock's Linux backend: runs a command in fresh user, mount, pid, ipc, uts (and, with the
//! network off, network) namespaces over a read-only view of the host, with Landlock and seccomp
//! as second layers. Everything is built by Paddock's own executable re-run as a single-threaded
//! init; no setuid helper, no bubblewrap.

#![cfg(target_os = "linux")]

pub mod landlock;
pub mod plan;
pub mod seccomp;

pub use plan::{LinuxError, LinuxPlan, PlanCommand, PlanPath};
