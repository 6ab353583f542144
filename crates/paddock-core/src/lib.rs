//! Paddock's portable core: the policy model and its config file, path handling, environment
//! scrubbing, the concrete sandbox spec handed to backends, and the run/enforcement reports.
//!
//! Nothing here calls Win32 or Linux syscalls beyond ordinary `std::fs` reads and the
//! `openat`/`fstatat` with which `files` reads config files beneath a workspace; every OS backend
//! depends on this crate and this crate depends on none of them.

pub mod config;
pub mod denial;
pub mod duration;
pub mod env;
pub mod error;
pub mod files;
pub mod host_scan;
pub mod integrity;
pub mod looked_at;
pub mod lookup_watch;
pub mod paths;
pub mod policy;
pub mod recipes;
pub mod report;
pub mod roots;
pub mod spec;
pub mod spec_memo;
pub mod state;
pub mod testing;
pub mod text;

pub use denial::{Denial, DenialSource};
pub use error::{ConfigError, SpecError};
pub use policy::{Capability, Mode, Network, Policy, WindowsLevel};
pub use report::{
    EnforcementReport, Gap, LandlockFeature, Layer, LayerReport, LayerStatus, NetworkEvent,
    NetworkLog, NetworkObserver, Protection, RunReport,
};
pub use spec::SandboxSpec;
