//! Keeps a spare sandbox's namespaces alive past its pid 1, so that tearing them down is not
//! on the path between the command's end and the run's result (`paddock mcp`'s warm path).
//!
//! When the last process of a mount namespace exits, the kernel unmounts the namespace's
//! tree and waits for an expedited RCU grace period (`namespace_unlock` ->
//! `synchronize_rcu_expedited`) *before* the exiting process closes its descriptors: measured
//! at 0.3-0.4 ms on the 2-core test VM, during which the capture pipes stay open and the
//! supervisor cannot report; the network and ipc namespaces are torn down by kernel workers
//! queued at the same moment, which compete with the supervisor for the CPU. The supervisor
//! instead opens `/proc/PID/ns/{mnt,net,ipc}` of the init right after the clone (before the
//! plan is written, so while the init is still dumpable and blocked on its plan) and hands the
//! descriptors, once the run is over, to a worker thread (`paddock_runner::workers::drop_later`;
//! in `paddock mcp` once the run's reply is out), which closes them and pays for the teardown. Only for waiting sandboxes: a one-shot `paddock run` would pay the
//! same teardown in its own exit, after three more opens and a thread.
//!
//! Guarantees: nothing about the sandbox changes; every process of it has ended when the
//! runner reports (pid 1's end still kills the pid namespace). The namespace's mounts (binds of
//! host directories, the private `/tmp`) live a little longer, without any process in them: no
//! process can enter the namespace through this descriptor, which only this process holds.
//! When the namespace cannot be opened, the run goes on without the hold (it is only faster
//! with it).

use std::fs::File;
use std::os::fd::OwnedFd;

/// The namespaces held: the mount namespace (its teardown waits for the grace period), and
/// the network and ipc namespaces, whose teardown the kernel queues to a worker at the
/// init's exit, a worker that then competes with the supervisor for the CPU.
const HELD: [&str; 3] = ["mnt", "net", "ipc"];

/// Open references to a sandbox's namespaces.
pub struct NamespaceHold(Vec<OwnedFd>);

impl NamespaceHold {
    /// Opens the namespaces of process `pid` (the init, not yet reaped) when `wanted`; one
    /// that cannot be opened is not held, and that is no error.
    pub fn open(pid: u32, wanted: bool) -> NamespaceHold {
        if !wanted {
            return NamespaceHold(Vec::new());
        }
        let open = |ns| {
            File::open(format!("/proc/{pid}/ns/{ns}"))
                .ok()
                .map(OwnedFd::from)
        };
        NamespaceHold(HELD.iter().filter_map(open).collect())
    }

    /// How many namespaces are held.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.0.len()
    }
}

impl Drop for NamespaceHold {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            paddock_runner::workers::drop_later(std::mem::take(&mut self.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Descriptors of this process that refer to its own namespace `ns`.
    fn own_ns_fds(ns: &str) -> usize {
        let own = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .flatten()
            .filter(|e| std::fs::read_link(e.path()).is_ok_and(|l| l == own))
            .count()
    }

    #[test]
    fn the_namespaces_are_held_then_closed_off_the_callers_path() {
        let hold = NamespaceHold::open(std::process::id(), true);
        assert_eq!(hold.held(), HELD.len());
        assert_eq!(own_ns_fds("mnt"), 1);
        drop(hold);
        let deadline = Instant::now() + Duration::from_secs(5);
        while own_ns_fds("mnt") + own_ns_fds("ipc") > 0 {
            assert!(
                Instant::now() < deadline,
                "the closer thread never closed them"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn nothing_is_held_unless_wanted_or_when_the_process_is_gone() {
        assert_eq!(NamespaceHold::open(std::process::id(), false).held(), 0);
        assert_eq!(NamespaceHold::open(u32::MAX, true).held(), 0);
    }
}
