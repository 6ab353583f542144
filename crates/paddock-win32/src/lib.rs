//! Paddock's one Win32 layer: the small safe wrappers the runner, the Windows backend and its
//! elevated level share (wide strings, SIDs, SDDL descriptors, owned handles and pipes, job
//! objects, atomic file writes), and the one error type every Win32 failure is reported with.
//!
//! Guarantees: every `unsafe` block of these wrappers is here, each with its `// SAFETY:`
//! reason; callers get owned values that free themselves on drop. On other systems only
//! [`Win32Error`] exists (as plain data), so portable code can name a Win32 failure.

mod error;

pub use error::Win32Error;

#[cfg(windows)]
pub use error::system_message;

#[cfg(windows)]
pub mod fs;
#[cfg(windows)]
pub mod handle;
#[cfg(windows)]
pub mod job;
#[cfg(windows)]
pub mod sddl;
#[cfg(windows)]
pub mod sid;
#[cfg(windows)]
pub mod wide;
