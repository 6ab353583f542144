//! The sandbox's network namespace made by pid 1 itself (`LinuxPlan::network_in_init`): a
//! set-up thread of pid 1 (`helper`) makes the namespace and brings loopback up as soon as pid
//! 1 has its plan, while pid 1 builds the view, and pid 1 joins it right after the view. Making a network
//! namespace costs the kernel 0.25-0.4 ms on the machines measured; inside the supervisor's
//! clone it was added to every run, beside the view it overlaps with it.
//!
//! What it guarantees: pid 1 is in the new namespace before the privilege drop (which would
//! take away the right to join it) and so before anything of the command runs, or the sandbox
//! fails to build. Joining is confirmed: the namespace pid 1 is in afterwards must be the one
//! the thread made. Until then pid 1 is in the host's namespace with only Paddock's own code
//! running, and the view does not depend on it (its `/proc` shows the reader's namespace).
//! The namespace is made on a thread of its own, so the calling thread, pid 1's main thread,
//! is the one that joins it and that the privilege drop, Landlock and seccomp then apply to.

use super::helper::Helper;
use crate::plan::LinuxError;
use crate::sys;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc::Receiver;

/// A network namespace being made on a set-up thread.
pub struct Pending(Receiver<std::io::Result<OwnedFd>>);

/// Starts making the namespace on `thread`, which ends once it is made.
pub(super) fn start(thread: Helper) -> Pending {
    Pending(thread.run(sys::new_network_with_loopback))
}

impl Pending {
    /// Waits for the namespace and moves pid 1 into it; an error fails the sandbox.
    pub fn join(self) -> Result<(), LinuxError> {
        let failed = |call: &'static str, source: std::io::Error| LinuxError::Syscall {
            call,
            target: "the sandbox's network namespace".into(),
            source,
        };
        let ns = self
            .0
            .recv()
            .map_err(|_| LinuxError::Setup {
                message: "the thread making the network namespace ended without it".into(),
            })?
            .map_err(|e| failed("unshare(CLONE_NEWNET)", e))?;
        sys::setns(ns.as_fd(), libc::CLONE_NEWNET).map_err(|e| failed("setns", e))?;
        if !is_current(ns) {
            return Err(LinuxError::Setup {
                message: "pid 1 is not in the network namespace it joined; the sandbox is not \
                          built"
                    .into(),
            });
        }
        Ok(())
    }
}

/// Whether the calling thread's network namespace is the one `ns` names (device and inode of
/// the namespace file; `/proc` is the view's own by now). Takes the descriptor: it is not
/// needed once joined.
fn is_current(ns: OwnedFd) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(joined) = std::fs::File::from(ns).metadata() else {
        return false;
    };
    std::fs::metadata("/proc/thread-self/ns/net")
        .is_ok_and(|now| (now.dev(), now.ino()) == (joined.dev(), joined.ino()))
}
