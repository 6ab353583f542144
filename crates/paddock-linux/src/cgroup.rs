//! A cgroup of its own for one run, for the limits rlimits cannot express: processes for a
//! uid-0 caller (the kernel exempts uid 0 from `RLIMIT_NPROC`) and the sandbox's memory. Made
//! beneath the supervisor's own cgroup, in cgroup v2 when that cgroup delegates the
//! controllers (`cgroup.subtree_control`), else in the cgroup v1 hierarchy of each controller;
//! removed when the run ends. The sandbox cannot leave it or change its limits: `/sys/fs/cgroup`
//! is read-only in its view and it holds no capability.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What the cgroup must limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupLimits {
    /// `pids.max`.
    pub pids: Option<u64>,
    /// `memory.max` (v2) or `memory.limit_in_bytes` (v1), swap included where it can be.
    pub memory: Option<u64>,
}

/// One run's cgroup: one directory in cgroup v2, or one per controller in cgroup v1.
#[derive(Debug)]
pub struct Cgroup {
    dirs: Vec<PathBuf>,
    /// "cgroup v2" or "cgroup v1", for the report.
    pub version: &'static str,
}

impl Cgroup {
    /// Creates the run's cgroup with `want`'s limits; the error says why none could be made.
    pub fn create(want: CgroupLimits) -> Result<Cgroup, String> {
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "paddock-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let v2 = match v2_parent(&own, want) {
            Ok(parent) => {
                let mut cg = Cgroup {
                    dirs: Vec::new(),
                    version: "cgroup v2",
                };
                let dir = parent.join(&name);
                mkdir(&dir)?;
                cg.dirs.push(dir.clone());
                if let Some(n) = want.pids {
                    write(&dir.join("pids.max"), n)?;
                }
                if let Some(n) = want.memory {
                    write(&dir.join("memory.max"), n)?;
                    // No swap beyond the limit, where the kernel has swap accounting.
                    let _ = write(&dir.join("memory.swap.max"), 0);
                }
                return Ok(cg);
            }
            Err(reason) => reason,
        };
        let mut cg = Cgroup {
            dirs: Vec::new(),
            version: "cgroup v1",
        };
        let mut wanted = Vec::new();
        if let Some(n) = want.pids {
            wanted.push(("pids", vec![("pids.max", n)]));
        }
        if let Some(n) = want.memory {
            wanted.push((
                "memory",
                vec![
                    ("memory.limit_in_bytes", n),
                    ("memory.memsw.limit_in_bytes", n),
                ],
            ));
        }
        for (controller, files) in wanted {
            let parent = v1_parent(&own, controller).map_err(|v1| format!("{v2}; {v1}"))?;
            let dir = parent.join(&name);
            mkdir(&dir).map_err(|v1| format!("{v2}; {v1}"))?;
            cg.dirs.push(dir.clone());
            for (i, (file, n)) in files.into_iter().enumerate() {
                // memsw exists only with swap accounting: the first file is required.
                let written = write(&dir.join(file), n);
                if i == 0 {
                    written?;
                }
            }
        }
        Ok(cg)
    }

    /// Moves `pid` (and so everything it starts later) into the cgroup.
    pub fn add(&self, pid: u32) -> Result<(), String> {
        for dir in &self.dirs {
            write(&dir.join("cgroup.procs"), u64::from(pid))?;
        }
        Ok(())
    }

    /// Removes the cgroup once its processes are gone (they may take a moment to leave).
    pub fn remove(&mut self) {
        for dir in self.dirs.drain(..) {
            for _ in 0..100 {
                match std::fs::remove_dir(&dir) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    _ => break,
                }
            }
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The supervisor's cgroup v2 directory, if it delegates every controller `want` needs.
fn v2_parent(own: &str, want: CgroupLimits) -> Result<PathBuf, String> {
    let path = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or("no cgroup v2 hierarchy")?;
    let mount = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(Path::new)
        .find(|m| m.join("cgroup.controllers").exists())
        .ok_or("no cgroup v2 mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified")?;
    let parent = mount.join(path.trim_start_matches('/'));
    let control = parent.join("cgroup.subtree_control");
    let delegated = std::fs::read_to_string(&control).unwrap_or_default();
    let needed = [("pids", want.pids), ("memory", want.memory)];
    for (controller, limit) in needed {
        if limit.is_some() && !delegated.split_whitespace().any(|c| c == controller) {
            return Err(format!(
                "cgroup v2: {} does not enable `{controller}` for child cgroups (run Paddock in a \
                 delegated cgroup, e.g. `systemd-run --user --scope -p Delegate=yes`)",
                control.display()
            ));
        }
    }
    Ok(parent)
}

/// The supervisor's cgroup v1 directory for `controller`.
fn v1_parent(own: &str, controller: &str) -> Result<PathBuf, String> {
    own.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, list, path) = (parts.next()?, parts.next()?, parts.next()?);
            list.split(',').any(|c| c == controller).then(|| {
                Path::new("/sys/fs/cgroup")
                    .join(list)
                    .join(path.trim_start_matches('/'))
            })
        })
        .find(|dir| dir.is_dir())
        .ok_or_else(|| format!("cgroup v1: no `{controller}` hierarchy under /sys/fs/cgroup"))
}

fn mkdir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir(dir).map_err(|e| format!("cannot create cgroup {}: {e}", dir.display()))
}

fn write(file: &Path, value: u64) -> Result<(), String> {
    std::fs::write(file, value.to_string())
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_v1_hierarchy_is_named() {
        let missing = v1_parent("3:pids:/nowhere-paddock-test\n", "nosuchcontroller");
        assert!(
            missing
                .unwrap_err()
                .contains("no `nosuchcontroller` hierarchy")
        );
    }

    #[test]
    fn a_v2_cgroup_without_delegated_controllers_is_refused_with_the_fix() {
        if !Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
            && !Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists()
        {
            paddock_core::testing::skip("no cgroup v2 mounted here");
            return;
        }
        let want = CgroupLimits {
            pids: Some(10),
            memory: None,
        };
        // A path whose subtree_control cannot exist: nothing is delegated there.
        let err = v2_parent("0::/paddock-no-such-cgroup\n", want).unwrap_err();
        assert!(err.contains("Delegate=yes"), "{err}");
    }
}
