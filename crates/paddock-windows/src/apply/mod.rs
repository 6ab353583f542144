//! The Win32 apply layer: carries out the planner's decisions with real tokens, ACLs, desktops
//! and processes. The wrappers shared with the runner and level 2 (wide strings, SIDs, SDDL
//! descriptors, handles, jobs, the Win32 error) are in paddock-win32; every `unsafe` block
//! here lives in a thin wrapper too and states why it is sound.

pub mod acl;
pub mod backend;
pub mod desktop;
pub mod device;
pub mod explain;
pub mod host_scan;
pub mod launch;
pub mod long_path;
pub mod owned_acl;
pub mod probe;
pub mod process;
pub mod shell;
pub mod sid;
pub mod token;
pub mod wine;

pub use backend::{ApplyError, prepare};
