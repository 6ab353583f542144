//! The Win32 side of level 2: accounts, registry, DPAPI, the WFP fence, the broker pipe.
//! Every `unsafe` block sits in a thin wrapper here with its `// SAFETY:` reason.

pub mod accounts;
pub mod broker;
pub mod dpapi;
pub mod elevation;
pub mod ffi;
pub mod logon_launch;
pub mod lsa;
pub mod machine_dir;
pub mod ownership;
pub mod pipe;
pub mod proxy;
pub mod runner;
pub mod setup;
pub mod system;
pub mod wfp;
pub mod winreg;

pub use broker::prepare_elevated;
pub use runner::runner_main_if_requested;
pub use setup::{ElevatedStatus, SetupOptions, SetupResult, setup, status, uninstall};
