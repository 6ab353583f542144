//! Cancelling a run from another thread (an MCP client's `notifications/cancelled`): a
//! cancelled run that has not started never starts; a started one has its sandbox's first
//! process killed, which on Linux ends the whole pid namespace, and reports `interrupted`.
//! Other backends do not support it yet: there, cancelling only stops a run not yet started.

use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    cancelled: bool,
    #[cfg(target_os = "linux")]
    killer: Option<paddock_runner::unix::Killer>,
}

/// Shared between the run and whoever may cancel it.
#[derive(Clone, Default)]
pub struct CancelHandle(Arc<Mutex<State>>);

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelHandle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl CancelHandle {
    pub fn new() -> CancelHandle {
        CancelHandle::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cancels the run: kills it if it is running, keeps it from starting otherwise.
    pub fn cancel(&self) {
        let mut s = self.state();
        s.cancelled = true;
        #[cfg(target_os = "linux")]
        if let Some(k) = &s.killer {
            let _ = k.kill();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.state().cancelled
    }

    /// Called once the run's first process `pid` (an unreaped child) has started; kills it at
    /// once if the run was cancelled meanwhile.
    pub(crate) fn arm(&self, pid: u32) {
        let mut s = self.state();
        #[cfg(target_os = "linux")]
        {
            s.killer = paddock_runner::unix::Killer::for_child(pid).ok();
            if s.cancelled
                && let Some(k) = &s.killer
            {
                let _ = k.kill();
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (pid, &mut s);
    }

    /// Called once the run is over (before its first process is reaped or right after): the
    /// handle no longer refers to it.
    pub(crate) fn disarm(&self) {
        #[cfg(target_os = "linux")]
        {
            self.state().killer = None;
        }
    }
}
