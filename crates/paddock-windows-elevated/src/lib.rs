//! Paddock's Windows level 2: two hidden local sandbox accounts created once by `paddock setup`,
//! a WFP network fence for the offline one, read confinement through ACEs for the sandbox group,
//! and a broker/runner pair that starts commands as those accounts.
//!
//! Pure parts (every OS, tested on Linux): [`setup_plan`] (desired machine state, reconcile,
//! rollback, uninstall against a [`setup_plan::SystemState`]), [`filters`] (WFP specs and an
//! arbitration model), [`fs_plan`] (level-2 ACEs judged by the level-1 access model),
//! [`protocol`] (pipe framing), [`errors`] (step codes, UAC and logon errors with fixes).
//! The `cfg(windows)` part in `win` carries them out with Win32.

pub mod errors;
pub mod filters;
pub mod fs_plan;
pub mod protocol;
pub mod setup_plan;

#[cfg(windows)]
pub mod win;

pub use errors::{ElevatedError, LogonFailure, SetupStep, SystemError};
