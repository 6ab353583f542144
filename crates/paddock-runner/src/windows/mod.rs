//! The Windows spawn: CreateProcessW (or CreateProcessAsUserW with a restricted token) into a
//! kill-on-close job object at creation, with an explicit list of inherited handles.

mod error;

pub use error::Win32Error;
