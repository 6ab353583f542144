//! Finding and killing every process of a tree started by `spawn`.
//!
//! The tree is the process group led by the first process, plus (on Linux) every descendant of
//! it and of the group, plus orphans reparented to this process (a child subreaper) that carry
//! the tree's marker variable or its group id. A process that leaves the group *and* drops the
//! marker from its environment *and* is orphaned before `kill_tree` runs is not found: the plain
//! Unix spawn is best effort against hostile code; a pid namespace (Linux backend) is not, and
//! a tree it contains is killed by its group and first process alone (`kill_group_and_leader`,
//! `await_empty_group`).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the tree a process belongs to.
pub const MARKER_VAR: &str = "PADDOCK_TREE";

/// A marker unique to one tree of this process.
pub(super) fn new_marker() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Makes this process a child subreaper, once (Linux); elsewhere orphans go to init.
pub fn become_subreaper() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        static DONE: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
        let errno = *DONE.get_or_init(|| {
            // SAFETY: prctl with integer arguments only.
            let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
            if rc == 0 {
                0
            } else {
                io::Error::last_os_error().raw_os_error().unwrap_or(-1)
            }
        });
        if errno != 0 {
            return Err(io::Error::from_raw_os_error(errno));
        }
    }
    Ok(())
}

/// Sends `signo` to the group led by `leader`; a group already gone is not an error.
pub fn signal_group(leader: libc::pid_t, signo: libc::c_int) -> io::Result<()> {
    // SAFETY: kill with a negative pid signals a process group; no memory is involved.
    if unsafe { libc::kill(-leader, signo) } != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            return Err(err);
        }
    }
    Ok(())
}

fn kill_one(pid: libc::pid_t) {
    // SAFETY: kill with a positive pid; a pid already gone fails with ESRCH, which is fine.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Kills the group led by `leader` and the leader itself, nothing else (a contained tree). The
/// leader stays unreaped: the caller waits for it.
pub fn kill_group_and_leader(leader: libc::pid_t) {
    let _ = signal_group(leader, libc::SIGKILL);
    kill_one(leader);
}

/// Upper bound on kill rounds, so that a process table we cannot read cannot hang us.
const MAX_ROUNDS: usize = 500;

/// Once the leader is reaped: kills and waits until the group led by `leader` is empty, reaping
/// its members that were reparented to this process (a child subreaper). The group id cannot be
/// reused meanwhile: it stays reserved while any member exists.
pub fn await_empty_group(leader: libc::pid_t) -> io::Result<()> {
    for _ in 0..MAX_ROUNDS {
        reap_group_zombies(leader);
        // SAFETY: signal 0 to a process group only checks that it has members.
        if unsafe { libc::kill(-leader, 0) } != 0
            && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
        {
            return Ok(());
        }
        let _ = signal_group(leader, libc::SIGKILL);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Err(io::Error::other(format!(
        "processes of the group {leader} survived {MAX_ROUNDS} kill rounds"
    )))
}

/// Reaps every exited child of this process in the group led by `leader`.
fn reap_group_zombies(leader: libc::pid_t) {
    #[cfg(target_os = "linux")]
    loop {
        // SAFETY: a zeroed siginfo_t is a valid out-parameter.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is writable; WNOHANG never blocks; only children of ours in the group
        // are reaped, and those are members of the tree.
        let rc = unsafe {
            libc::waitid(
                libc::P_PGID,
                leader as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG,
            )
        };
        // SAFETY: waitid filled a SIGCHLD siginfo or left it zeroed.
        if rc != 0 || unsafe { info.si_pid() } == 0 {
            break;
        }
    }
    #[cfg(not(target_os = "linux"))]
    while {
        // SAFETY: WNOHANG never blocks; only children of ours in the group are reaped.
        unsafe { libc::waitpid(-leader, std::ptr::null_mut(), libc::WNOHANG) > 0 }
    } {}
}

/// Kills the tree led by `leader` (which stays unreaped: the caller waits for it).
pub(super) fn kill(leader: libc::pid_t, marker: &str) -> io::Result<()> {
    // Best effort: members we may not signal (setuid programs) are reported by the walk below.
    let _ = signal_group(leader, libc::SIGKILL);
    #[cfg(target_os = "linux")]
    let alone = linux::ended_alone(leader);
    kill_one(leader);
    #[cfg(target_os = "linux")]
    if !alone {
        linux::kill_escaped(leader, marker)?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = marker;
    Ok(())
}

/// One line of the process table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Proc {
    pub pid: libc::pid_t,
    pub ppid: libc::pid_t,
    pub pgid: libc::pid_t,
    pub zombie: bool,
}

/// Parses `/proc/<pid>/stat`: `pid (comm) state ppid pgrp ...`; comm may hold `)` and spaces.
pub(super) fn parse_stat(text: &str) -> Option<Proc> {
    let (head, tail) = text.rsplit_once(')')?;
    let pid = head.split_once(" (")?.0.trim().parse().ok()?;
    let mut fields = tail.split_ascii_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    Some(Proc {
        pid,
        ppid,
        pgid,
        zombie: state == "Z" || state == "X",
    })
}

/// The members of the tree in `table`: the leader's group and every descendant of the leader,
/// of the group and of the `adopted` orphans, except the leader itself.
pub(super) fn members(
    table: &[Proc],
    leader: libc::pid_t,
    adopted: &BTreeSet<libc::pid_t>,
) -> BTreeSet<libc::pid_t> {
    let mut children: BTreeMap<libc::pid_t, Vec<libc::pid_t>> = BTreeMap::new();
    for p in table {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut found: BTreeSet<libc::pid_t> = table
        .iter()
        .filter(|p| p.pgid == leader)
        .map(|p| p.pid)
        .collect();
    found.extend(adopted);
    found.insert(leader);
    let mut stack: Vec<libc::pid_t> = found.iter().copied().collect();
    while let Some(pid) = stack.pop() {
        for &c in children.get(&pid).map_or(&[][..], Vec::as_slice) {
            if found.insert(c) {
                stack.push(c);
            }
        }
    }
    found.remove(&leader);
    found
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{MAX_ROUNDS, Proc, kill_one, members, parse_stat};
    use std::collections::BTreeSet;
    use std::io::{self, Read};
    use std::time::Duration;

    fn table() -> io::Result<Vec<Proc>> {
        let mut out = Vec::new();
        let mut path = String::new();
        let mut buf = [0u8; 1024];
        for entry in std::fs::read_dir("/proc")? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            path.clear();
            path.push_str("/proc/");
            path.push_str(pid);
            path.push_str("/stat");
            if let Some(p) = read_stat(&path, &mut buf) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// One `/proc/<pid>/stat`, in one read when it fits `buf` (it always does in practice).
    fn read_stat(path: &str, buf: &mut [u8]) -> Option<Proc> {
        let mut file = std::fs::File::open(path).ok()?;
        let n = file.read(buf).ok()?;
        if n < buf.len() {
            return parse_stat_bytes(&buf[..n]);
        }
        let mut bytes = buf.to_vec();
        file.read_to_end(&mut bytes).ok()?;
        parse_stat_bytes(&bytes)
    }

    /// Lossy: a comm that is not UTF-8 must not hide a process from the walk. The lossy
    /// conversion is the slow path; a stat line is almost always UTF-8 (this runs once per
    /// process on the machine at the end of every unconfined run).
    fn parse_stat_bytes(bytes: &[u8]) -> Option<Proc> {
        match std::str::from_utf8(bytes) {
            Ok(text) => parse_stat(text),
            Err(_) => parse_stat(&String::from_utf8_lossy(bytes)),
        }
    }

    /// Whether the leader has ended and left nothing alive below it: it is a zombie, and no
    /// other process is a child of this one. When a process ends, its children go to the
    /// nearest subreaper (this process, or one below it that is itself a descendant), so
    /// every live descendant of an ended leader has a live chain of parents up to a child of
    /// this process. Then the walk of the whole process table, which reads one file per
    /// process on the machine, is not needed. `false` (walk) when unsure: the leader still
    /// running, another child (of any thread), or no `/proc/PID/task/TID/children`.
    pub(super) fn ended_alone(leader: libc::pid_t) -> bool {
        if !matches!(crate::unix::peek_exit(leader), Ok(Some(_))) {
            return false;
        }
        let Ok(threads) = std::fs::read_dir("/proc/self/task") else {
            return false;
        };
        for t in threads {
            let Ok(t) = t else { return false };
            let Ok(list) = std::fs::read_to_string(t.path().join("children")) else {
                return false;
            };
            if list
                .split_ascii_whitespace()
                .any(|c| c.parse::<libc::pid_t>() != Ok(leader))
            {
                return false;
            }
        }
        true
    }

    fn has_marker(pid: libc::pid_t, marker: &str) -> bool {
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            return false;
        };
        let want = format!("{}={marker}", super::MARKER_VAR);
        env.split(|&b| b == 0).any(|kv| kv == want.as_bytes())
    }

    /// Kills, round after round until none is left, every member of the tree, reaping the
    /// orphans that were reparented to us.
    pub(super) fn kill_escaped(leader: libc::pid_t, marker: &str) -> io::Result<()> {
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        let mut adopted = BTreeSet::new();
        for _ in 0..MAX_ROUNDS {
            let table = table()?;
            for p in table.iter().filter(|p| p.ppid == me && p.pid != leader) {
                if p.pgid == leader || adopted.contains(&p.pid) || has_marker(p.pid, marker) {
                    adopted.insert(p.pid);
                }
            }
            let tree = members(&table, leader, &adopted);
            let mut pending = false;
            for p in table.iter().filter(|p| tree.contains(&p.pid)) {
                if !p.zombie {
                    kill_one(p.pid);
                    pending = true;
                } else if p.ppid == me {
                    // SAFETY: reaps one of our own zombie children; WNOHANG never blocks.
                    unsafe { libc::waitpid(p.pid, std::ptr::null_mut(), libc::WNOHANG) };
                    adopted.remove(&p.pid);
                } else if tree.contains(&p.ppid) {
                    // A zombie whose parent, being killed, will hand it to us.
                    pending = true;
                }
            }
            if !pending {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Err(io::Error::other(format!(
            "processes of the tree led by pid {leader} survived {MAX_ROUNDS} kill rounds"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32, pgid: i32) -> Proc {
        Proc {
            pid,
            ppid,
            pgid,
            zombie: false,
        }
    }

    #[test]
    fn stat_with_parens_and_spaces_in_comm_parses() {
        let got = parse_stat("4242 (we ird) (x) S 17 4242 4242 0 -1 4194560").unwrap();
        assert_eq!(got, p(4242, 17, 4242));
        let z = parse_stat("7 (sh) Z 1 7 7").unwrap();
        assert!(z.zombie);
    }

    #[test]
    fn malformed_stat_is_rejected() {
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S notanumber 1"), None);
    }

    #[test]
    fn members_follow_group_descendants_and_adopted_orphans() {
        let me = 1;
        let table = [
            p(100, me, 100),  // leader
            p(101, 100, 100), // in group
            p(102, 101, 102), // setsid'd grandchild: descendant
            p(103, 102, 102), // its child
            p(200, me, 200),  // orphan adopted by marker
            p(201, 200, 200), // orphan's child
            p(300, me, 1),    // unrelated child of ours
            p(301, 1, 1),     // unrelated
        ];
        let got = members(&table, 100, &BTreeSet::from([200]));
        assert_eq!(got, BTreeSet::from([101, 102, 103, 200, 201]));
    }
}
