//! The Win32 apply layer: carries out the planner's decisions with real tokens, ACLs, desktops
//! and processes. Every `unsafe` block lives in a thin wrapper here (owned handles, SIDs, ACLs,
//! descriptors) and states why it is sound; everything above the wrappers is safe Rust.

pub mod acl;
pub mod audit;
pub mod backend;
pub mod desktop;
pub mod device;
pub mod error;
pub mod explain;
pub mod launch;
pub mod long_path;
pub mod owned_acl;
pub mod probe;
pub mod process;
pub mod shell;
pub mod sid;
pub mod token;
pub mod wide;
pub mod wine;

pub use backend::{ApplyError, prepare};
