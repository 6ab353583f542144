//! The one Win32 error type of the apply layer is the runner's (`paddock_runner::windows`): which
//! API failed, its code and the system's message. Re-exported here so every wrapper in this layer
//! and the level-2 crate name it from one place.

pub use paddock_runner::windows::{Win32Error, system_message};
