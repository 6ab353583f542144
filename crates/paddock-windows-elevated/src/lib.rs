//! Paddock's Windows level 2: two hidden local sandbox accounts created once by `paddock setup`,
//! a WFP network fence for the offline one, read confinement through ACEs for the sandbox group,
//! and a broker/runner pair that starts commands as those accounts.
//!
//! Pure parts (every OS, tested on Linux): [`setup_plan`] (desired machine state, reconcile,
//! rollback, uninstall against a [`setup_plan::SystemState`]), [`filters`] (WFP specs and an
//! arbitration model), [`fs_plan`] (level-2 ACEs judged by the level-1 access model),
//! [`network`] (the account, proxy variables and proxy port of a run),
//! [`protocol`] (broker/runner control frames), [`errors`] (step codes, UAC and logon errors
//! with fixes). The `cfg(windows)` part in `win` carries them out with Win32.
//!
//! # The API the front end (the `paddock` facade) wires (Windows only; every `ElevatedError` is a refusal, exit 125)
//!
//! - `win::runner_main_if_requested()`: first thing in `main` (the runner is `paddock.exe`
//!   started by the broker as a sandbox account with `--paddock-elevated-runner`).
//! - `win::prepare_elevated(spec, cmd, stdio, network_log) -> Result<(Box<dyn
//!   SandboxedProcess>, EnforcementReport), ElevatedError>` for `windows.level = "elevated"`
//!   (with an allow-list, the proxy's decisions go to `network_log`); hand the process to
//!   `paddock_runner::run`.
//! - `win::setup(&SetupOptions)` / `win::uninstall(&SetupOptions)` ->
//!   `Result<SetupResult<_>, ElevatedError>` for `paddock setup [--uninstall]`, with
//!   `SetupOptions { brokers: <each --for-user SID>, relaunch_args: Some("setup".into()) }`.
//! - `win::status() -> ElevatedStatus` (serializable) for `paddock status`.

pub mod errors;
pub mod filters;
pub mod fs_plan;
pub mod network;
pub mod protocol;
pub mod setup_plan;

#[cfg(windows)]
pub mod win;

pub use errors::{ElevatedError, LogonFailure, SetupStep, SystemError};
