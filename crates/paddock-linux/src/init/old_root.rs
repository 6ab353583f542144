//! The host's root after `pivot_root`, unmounted by a set-up thread so that pid 1 does not wait
//! for the kernel.
//!
//! `umount2(MNT_DETACH)` of the old root takes it out of the namespace at once, then waits for
//! an expedited RCU grace period before it returns: measured 0.6-0.7 ms of a 4-5 ms run on a
//! 2-core VM, the largest single step of the view (bubblewrap waits for the same). Pid 1
//! instead pivots with the old root put on `/sys` of the new root, a directory of the read-only
//! copy that no later step of the view mounts on or resolves a path through, and its unmount
//! thread (`helper`, started before the view) takes it away from there while pid 1 goes on
//! with /proc, /dev, the tmpfs and the writable roots.
//!
//! What it guarantees: the view is not finished, so nothing of the command runs, until the old
//! root is confirmed gone: the topmost mount on `/sys` is again the view's own, the one that
//! was there before the pivot (mount ids from `statx`). If it still is at that point, pid 1 waits for the unmount's result; a failed
//! unmount fails the sandbox. The thread does nothing but the unmount and ends with the grace
//! period, possibly after the command started: until then it holds pid 1's capabilities in the
//! sandbox's user namespace, but pid 1 is not dumpable and the command holds no capability, so
//! nothing the command runs can reach it.
//!
//! When `/sys` cannot serve (it is not a directory, or a path of the plan lies under it, which
//! a later mount would resolve through the parked root), the old root is stacked on `/` and
//! unmounted in place, waiting, as bubblewrap does.

use super::helper::Helper;
use crate::plan::{LinuxError, LinuxPlan};
use crate::sys;
use paddock_core::paths::is_beneath;
use std::ffi::CStr;
use std::path::Path;
use std::sync::mpsc::Receiver;

/// How often `Detaching::confirm` looks whether the old root is gone while it waits.
const CONFIRM_POLL: std::time::Duration = std::time::Duration::from_micros(20);

/// Where the old root is parked while it is unmounted.
const PARKING: &str = "/sys";
const PARKING_C: &CStr = c"/sys";

fn syscall(call: &'static str) -> impl FnOnce(std::io::Error) -> LinuxError {
    move |source| LinuxError::Syscall {
        call,
        target: "/ (the old root)".into(),
        source,
    }
}

/// An old root being unmounted by the set-up thread.
pub(super) struct Detaching {
    /// The id of the view's own mount on `/sys`, under the old root until it is detached.
    beneath: u64,
    /// The unmount's result, once it returned (after the grace period).
    unmounted: Receiver<std::io::Result<()>>,
}

/// Whether no path the view mounts on after the pivot lies at or under `/sys`.
fn parking_is_free(plan: &LinuxPlan) -> bool {
    let parking = Path::new(PARKING);
    let mut paths = plan
        .writable_roots
        .iter()
        .chain(plan.protected.iter().map(|p| &p.path))
        .chain(plan.deny_read.iter().map(|p| &p.path));
    !paths.any(|p| is_beneath(p, parking))
}

/// Makes the current directory (the new root, stacked on the old one) the root of the mount
/// namespace and starts taking the old root away. Returns `None` when the old root was
/// unmounted in place (see the module docs); otherwise `Detaching::confirm` must be called
/// before the view is used.
pub(super) fn pivot(plan: &LinuxPlan, helper: &Helper) -> Result<Option<Detaching>, LinuxError> {
    let parkable = parking_is_free(plan)
        && std::fs::symlink_metadata(PARKING).is_ok_and(|m| m.file_type().is_dir());
    if !parkable {
        sys::pivot_root(c".", c".").map_err(syscall("pivot_root"))?;
        sys::umount_detach(c".").map_err(syscall("umount2(old root)"))?;
        return Ok(None);
    }
    // Relative to the current directory: the new root's /sys, and what is mounted there.
    let beneath = sys::mount_id(c"sys").map_err(syscall("statx(/sys)"))?;
    sys::pivot_root(c".", c"sys").map_err(syscall("pivot_root"))?;
    let old = sys::mount_id(PARKING_C).map_err(syscall("statx(/sys)"))?;
    if old == beneath {
        return Err(LinuxError::Setup {
            message: "pivot_root did not put the old root on /sys; the sandbox is not built".into(),
        });
    }
    let unmounted = helper.run(|| sys::umount_detach(PARKING_C));
    Ok(Some(Detaching { beneath, unmounted }))
}

impl Detaching {
    /// Returns once the old root is no longer mounted in the view; fails the sandbox when it
    /// could not be unmounted.
    ///
    /// It looks again every [`CONFIRM_POLL`] rather than waiting for the unmount's result: the
    /// old root is detached at the start of the thread's `umount2`, which then sleeps through
    /// the grace period before it returns. While pid 1 sleeps between looks, its CPU is free
    /// for that thread, which otherwise may wait for one (measured: in one run out of five the
    /// unmount started only once pid 1 was here, and pid 1 then waited 0.1-0.4 ms more for
    /// the grace period).
    pub(super) fn confirm(self) -> Result<(), LinuxError> {
        loop {
            if self.gone()? {
                // The thread only has the kernel's grace period left: it ends on its own.
                return Ok(());
            }
            match self.unmounted.recv_timeout(CONFIRM_POLL) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(LinuxError::Setup {
                        message: "the thread unmounting the old root ended without doing it".into(),
                    });
                }
                Ok(result) => {
                    result.map_err(syscall("umount2(old root)"))?;
                    break;
                }
            }
        }
        if self.gone()? {
            Ok(())
        } else {
            Err(LinuxError::Setup {
                message: "the host's root is still mounted on /sys of the sandbox after its \
                          unmount; the sandbox is not built"
                    .into(),
            })
        }
    }

    /// Whether /sys shows again exactly the mount it showed before the pivot (a live mount
    /// all along, so its id cannot have been reused).
    fn gone(&self) -> Result<bool, LinuxError> {
        let top = sys::mount_id(PARKING_C).map_err(syscall("statx(/sys)"))?;
        Ok(top == self.beneath)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlanPath;
    use paddock_core::spec::PathKind;
    use std::path::PathBuf;

    fn plan_with(roots: &[&str], deny_read: &[&str]) -> LinuxPlan {
        let mut plan = crate::plan::tests::sample();
        plan.writable_roots = roots.iter().map(PathBuf::from).collect();
        plan.protected = Vec::new();
        plan.deny_read = deny_read
            .iter()
            .map(|p| PlanPath {
                path: PathBuf::from(p),
                kind: PathKind::File,
            })
            .collect();
        plan
    }

    #[test]
    fn the_old_root_is_parked_on_sys_only_when_no_path_of_the_plan_lies_there() {
        assert!(parking_is_free(&plan_with(
            &["/home/u/ws"],
            &["/home/u/.ssh"]
        )));
        // `/system` only shares a prefix with `/sys`.
        assert!(parking_is_free(&plan_with(&["/system/ws"], &[])));
        assert!(!parking_is_free(&plan_with(&["/sys/fs/x"], &[])));
        assert!(!parking_is_free(&plan_with(
            &["/w"],
            &["/sys/kernel/secret"]
        )));
        assert!(!parking_is_free(&plan_with(&["/w"], &["/sys"])));
    }
}
