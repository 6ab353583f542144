//! The Win32 side of level 2: accounts, registry, DPAPI, the WFP fence, the broker pipe.
//! Every `unsafe` block sits in a thin wrapper here with its `// SAFETY:` reason.

pub mod accounts;
pub mod dpapi;
pub mod ffi;
pub mod pipe;
pub mod registry;
pub mod wfp;
