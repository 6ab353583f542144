//! Cancelling a run from another thread (an MCP client's `notifications/cancelled`): a run
//! cancelled before its launch never starts; a started one is ended by the runner's
//! loop, which checks the flag at each tick (20 ms) and kills the whole tree through the
//! backend (Linux: the pid namespace's init; Windows: the job object, or the broker's run at
//! level 2), and reports `interrupted`. The same code on every platform.

use paddock_runner::CancelFlag;

/// Shared between the run and whoever may cancel it.
#[derive(Clone, Default, Debug)]
pub struct CancelHandle(CancelFlag);

impl CancelHandle {
    pub fn new() -> CancelHandle {
        CancelHandle::default()
    }

    /// Cancels the run: ends it if it is running, keeps it from starting otherwise.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    /// The flag the runner's loop watches.
    pub(crate) fn flag(&self) -> CancelFlag {
        self.0.clone()
    }
}
