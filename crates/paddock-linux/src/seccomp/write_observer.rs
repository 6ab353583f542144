//! The observer of write attempts: which files a command tried to create, change or remove
//! outside the writable paths (or on a protected path inside them), so that a failed run's
//! report names them as seen (`source = observed`) instead of guessing from its stderr.
//!
//! How: the broker's seccomp program (`notify_filter`) hands pid 1's broker thread the calls of
//! `WRITE_CALLS`; `open`/`openat` only when their flags ask for writing (`WRITE_FLAGS`, a
//! register the filter can test), so reads never leave the kernel. The broker reads the path
//! from the caller's memory, opens its parent directory as the caller names it (its working
//! directory or directory descriptor, through `/proc/PID/cwd` and `/proc/PID/fd/N`; pid 1
//! shares the sandbox's mount view) and takes that directory's real path. A path outside the
//! writable paths, or beneath a protected or deny-read path, is recorded once, unless the call
//! would fail anyway for another reason (creating what exists, removing what does not, a
//! missing parent). Then it ALWAYS answers "continue": the kernel runs the call as made.
//!
//! Observation only. `SECCOMP_USER_NOTIF_FLAG_CONTINUE` is not a security decision (the caller
//! can change the path in its memory, or a symlink, after the broker looked), and none is made
//! here: the read-only mounts and Landlock refuse the write whatever the broker saw; the broker
//! only names it. A program that wants to hide its attempts can (another thread rewriting the
//! path, `PR_SET_DUMPABLE` 0), and then the report says less, never more, than the walls did.
//! Not observed: reads (deny-read hits stay guesses from stderr), metadata calls (chmod, chown,
//! utimes, xattrs), writes under `/dev` and `/proc` (device nodes, `/dev/stdout`, procfs files:
//! the legitimate writes outside the roots), a final symlink component (its own path is
//! judged, not its target).

use crate::result_channel::Recorder;
use crate::sys;
use paddock_core::Denial;
use paddock_core::denial::DenialSource;
use paddock_core::paths::is_beneath;
use std::collections::HashSet;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Open flags that ask for writing: what the filter hands to the broker.
pub const WRITE_FLAGS: u32 = (libc::O_WRONLY
    | libc::O_RDWR
    | libc::O_CREAT
    | libc::O_TRUNC
    | (libc::O_TMPFILE & !libc::O_DIRECTORY)) as u32;

/// Where an open call's flags are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flags {
    /// In this argument: the filter tests it.
    Arg(u8),
    /// In the `struct open_how` this argument points to (`openat2`): every call reaches the
    /// broker, which reads the flags.
    How(u8),
    /// `creat(2)`: always `O_CREAT | O_WRONLY | O_TRUNC`.
    Creat,
}

/// A path argument: the argument of its directory descriptor (`None`: the working directory)
/// and of the path itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathArg {
    pub dirfd: Option<u8>,
    pub path: u8,
}

/// What the call needs of its path to get as far as the write check, in the kernel's order
/// (`mnt_want_write`, which gives `EROFS` on the read-only mounts, comes before the lookup of
/// the last component in unlink, rmdir and rename, after it in open and the creating calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// It opens or truncates what is there: an absent path fails with `ENOENT` first.
    Existing,
    /// It creates (mkdir, mknod, symlink, link, `O_CREAT|O_EXCL`): a present path fails with
    /// `EEXIST` first.
    Absent,
    /// Only the parent must exist (an open that may create, unlink, rmdir, rename).
    Parent,
}

/// One observed call.
#[derive(Debug, Clone, Copy)]
pub struct WriteCall {
    pub nr: i64,
    pub name: &'static str,
    /// The path written, and for a rename the second one.
    pub paths: [Option<(PathArg, Needs)>; 2],
    /// For opens: where the flags are.
    pub flags: Option<Flags>,
}

const fn at(dirfd: u8, path: u8) -> PathArg {
    PathArg {
        dirfd: Some(dirfd),
        path,
    }
}

const fn cwd(path: u8) -> PathArg {
    PathArg { dirfd: None, path }
}

const fn one(nr: i64, name: &'static str, p: PathArg, needs: Needs) -> WriteCall {
    WriteCall {
        nr,
        name,
        paths: [Some((p, needs)), None],
        flags: None,
    }
}

const fn open(nr: i64, name: &'static str, p: PathArg, flags: Flags) -> WriteCall {
    WriteCall {
        nr,
        name,
        paths: [Some((p, Needs::Parent)), None],
        flags: Some(flags),
    }
}

const fn rename(nr: i64, name: &'static str, from: PathArg, to: PathArg) -> WriteCall {
    WriteCall {
        nr,
        name,
        paths: [Some((from, Needs::Parent)), Some((to, Needs::Parent))],
        flags: None,
    }
}

/// The observed calls: opens for writing, file and directory creation (mkdir, mknod, symlink,
/// link), removal (unlink, rmdir), rename and truncate, in every form of the architecture.
pub const WRITE_CALLS: &[WriteCall] = &[
    #[cfg(target_arch = "x86_64")]
    open(libc::SYS_open, "open", cwd(0), Flags::Arg(1)),
    #[cfg(target_arch = "x86_64")]
    open(libc::SYS_creat, "creat", cwd(0), Flags::Creat),
    open(libc::SYS_openat, "openat", at(0, 1), Flags::Arg(2)),
    open(libc::SYS_openat2, "openat2", at(0, 1), Flags::How(2)),
    #[cfg(target_arch = "x86_64")]
    one(libc::SYS_mkdir, "mkdir", cwd(0), Needs::Absent),
    one(libc::SYS_mkdirat, "mkdirat", at(0, 1), Needs::Absent),
    #[cfg(target_arch = "x86_64")]
    one(libc::SYS_mknod, "mknod", cwd(0), Needs::Absent),
    one(libc::SYS_mknodat, "mknodat", at(0, 1), Needs::Absent),
    #[cfg(target_arch = "x86_64")]
    one(libc::SYS_symlink, "symlink", cwd(1), Needs::Absent),
    one(libc::SYS_symlinkat, "symlinkat", at(1, 2), Needs::Absent),
    #[cfg(target_arch = "x86_64")]
    one(libc::SYS_link, "link", cwd(1), Needs::Absent),
    one(libc::SYS_linkat, "linkat", at(2, 3), Needs::Absent),
    #[cfg(target_arch = "x86_64")]
    one(libc::SYS_unlink, "unlink", cwd(0), Needs::Parent),
    one(libc::SYS_unlinkat, "unlinkat", at(0, 1), Needs::Parent),
    #[cfg(target_arch = "x86_64")]
    one(libc::SYS_rmdir, "rmdir", cwd(0), Needs::Parent),
    #[cfg(target_arch = "x86_64")]
    rename(libc::SYS_rename, "rename", cwd(0), cwd(1)),
    #[cfg(target_arch = "x86_64")]
    rename(libc::SYS_renameat, "renameat", at(0, 1), at(2, 3)),
    rename(libc::SYS_renameat2, "renameat2", at(0, 1), at(2, 3)),
    one(libc::SYS_truncate, "truncate", cwd(0), Needs::Existing),
];

/// The observed call of syscall number `nr`, if it is one.
pub fn call(nr: i64) -> Option<&'static WriteCall> {
    WRITE_CALLS.iter().find(|c| c.nr == nr)
}

/// Distinct paths remembered (to record each once); past it, attempts are only counted by the
/// recorder's cap.
const MAX_REMEMBERED: usize = 1024;

/// What the observer judges paths against, and what it has recorded.
pub struct WriteRules {
    /// Writes beneath these are the command's own (the writable roots and the private tmpfs).
    pub writable: Vec<PathBuf>,
    /// Read-only inside the writable paths: protected and deny-read paths.
    pub protected: Vec<PathBuf>,
    seen: HashSet<PathBuf>,
}

impl WriteRules {
    pub fn new(writable: Vec<PathBuf>, protected: Vec<PathBuf>) -> WriteRules {
        WriteRules {
            writable,
            protected,
            seen: HashSet::new(),
        }
    }

    /// What a write to `path` (real, absolute) is, if it is one the walls refuse.
    fn judge(&self, path: &Path) -> Option<Kind> {
        if ["/dev", "/proc"]
            .iter()
            .any(|p| is_beneath(path, Path::new(p)))
        {
            return None;
        }
        if !self.writable.iter().any(|w| is_beneath(path, w)) {
            return Some(Kind::OutsideRoots);
        }
        self.protected
            .iter()
            .any(|p| is_beneath(path, p))
            .then_some(Kind::Protected)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OutsideRoots,
    Protected,
}

/// A path as the caller named it: the bytes and the real path of the directory it is relative
/// to (`None` for an absolute path), taken while the caller waits.
struct Named {
    path: Vec<u8>,
    base: Option<PathBuf>,
    needs: Needs,
}

/// Looks at one notified call of `call` and records what it tries to write where the walls
/// refuse it. `valid` says whether the notification still waits (so what was read belongs to
/// its caller). Never fails: what cannot be read is not recorded. The common case, a write in
/// the workspace, costs one read of the caller's memory and, for a relative path, one
/// `readlink` of its directory (plus, when the path has a directory part, an open of it).
pub fn observe(
    req: &libc::seccomp_notif,
    call: &WriteCall,
    rules: &mut WriteRules,
    recorder: &mut Recorder,
    valid: impl Fn() -> bool,
) {
    let pid = req.pid;
    let args = req.data.args;
    let flags = match call.flags {
        None => 0,
        Some(Flags::Arg(i)) => args[usize::from(i)] as u32,
        Some(Flags::Creat) => (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u32,
        Some(Flags::How(i)) => {
            let mut b = [0u8; 8];
            if sys::read_process_memory(pid, args[usize::from(i)], &mut b).ok() != Some(b.len()) {
                return;
            }
            u64::from_ne_bytes(b) as u32
        }
    };
    if call.flags.is_some() && flags & WRITE_FLAGS == 0 {
        return;
    }
    let mut named: Vec<Named> = Vec::with_capacity(2);
    for (arg, needs) in call.paths.iter().flatten() {
        let Some(path) = read_path(pid, args[usize::from(arg.path)]) else {
            return;
        };
        let base = if path.starts_with(b"/") {
            None
        } else {
            let dir = match arg.dirfd.map(|i| args[usize::from(i)] as i32) {
                None | Some(libc::AT_FDCWD) => format!("/proc/{pid}/cwd"),
                Some(fd) if fd >= 0 => format!("/proc/{pid}/fd/{fd}"),
                Some(_) => return,
            };
            match std::fs::read_link(dir) {
                Ok(real) if real.is_absolute() => Some(real),
                _ => return,
            }
        };
        let needs = match (call.flags, *needs) {
            (Some(_), _) if flags & libc::O_CREAT as u32 == 0 => Needs::Existing,
            (Some(_), _) if flags & libc::O_EXCL as u32 != 0 => Needs::Absent,
            (_, n) => n,
        };
        named.push(Named { path, base, needs });
    }
    // A rename between two mounts fails with EXDEV before any permission check (`mv` then
    // copies, and the copy's own calls are observed).
    if let [a, b] = &named[..]
        && open_parent(a).and_then(|(d, _)| mount_id(&d))
            != open_parent(b).and_then(|(d, _)| mount_id(&d))
    {
        return;
    }
    for n in named {
        let Some((path, kind)) = locate(&n, rules) else {
            continue;
        };
        if rules.seen.contains(&path) {
            continue;
        }
        // The caller still waits: the memory and directories read were its own.
        if !valid() {
            return;
        }
        if rules.seen.len() < MAX_REMEMBERED {
            rules.seen.insert(path.clone());
        }
        let source = DenialSource::Observed;
        recorder.record(&match kind {
            Kind::OutsideRoots => Denial::WriteOutsideRoots { path, source },
            Kind::Protected => Denial::WriteProtected { path, source },
        });
    }
}

/// `n`'s directory part and last component (`None` when `n` names a directory itself: `/`,
/// `.`, `..`), trailing slashes ignored.
fn split(path: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let mut trimmed = path;
    while trimmed.len() > 1 && trimmed.ends_with(b"/") {
        trimmed = &trimmed[..trimmed.len() - 1];
    }
    if trimmed.is_empty() {
        return None;
    }
    let (parent, name): (&[u8], Option<&[u8]>) = match trimmed.iter().rposition(|&b| b == b'/') {
        _ if trimmed == b"/" => (trimmed, None),
        Some(0) => (b"/", Some(&trimmed[1..])),
        Some(i) => (&trimmed[..i], Some(&trimmed[i + 1..])),
        None => (b".", Some(trimmed)),
    };
    Some(match name {
        Some(b".") | Some(b"..") | None => (trimmed, None),
        Some(name) => (parent, Some(name)),
    })
}

/// The directory that holds what `n` names, opened as the caller's call would reach it (the
/// kernel resolves `..` and symlinks), and the name in it.
fn open_parent(n: &Named) -> Option<(OwnedFd, Option<&[u8]>)> {
    let (parent, name) = split(&n.path)?;
    let dir = match &n.base {
        None => open_path(libc::AT_FDCWD, parent, true)?,
        Some(base) => {
            let base = open_path(libc::AT_FDCWD, base.as_os_str().as_bytes(), true)?;
            open_path(base.as_raw_fd(), parent, true)?
        }
    };
    Some((dir, name))
}

/// The real path `n` names and what a write there is, when the walls refuse it and nothing
/// else would fail first.
fn locate(n: &Named, rules: &WriteRules) -> Option<(PathBuf, Kind)> {
    let (parent, name) = split(&n.path)?;
    // A plain name in the caller's directory: that directory's real path is already known.
    let (real, dir) = match (&n.base, parent, name) {
        (Some(base), b".", Some(_)) => (base.clone(), None),
        _ => {
            let (dir, _) = open_parent(n)?;
            let real =
                std::fs::read_link(format!("/proc/thread-self/fd/{}", dir.as_raw_fd())).ok()?;
            (real, Some(dir))
        }
    };
    if !real.is_absolute() {
        return None;
    }
    let path = match name {
        Some(name) => real.join(OsStr::from_bytes(name)),
        None => real.clone(),
    };
    let kind = rules.judge(&path)?;
    let exists = match name {
        None => true,
        Some(name) => {
            let dir = match dir {
                Some(d) => d,
                None => open_path(libc::AT_FDCWD, real.as_os_str().as_bytes(), true)?,
            };
            exists_at(&dir, name)
        }
    };
    let fails_first = match n.needs {
        Needs::Existing => !exists,
        Needs::Absent => exists,
        Needs::Parent => false,
    };
    (!fails_first).then_some((path, kind))
}

/// The id of the mount `dir` is on.
fn mount_id(dir: &OwnedFd) -> Option<u64> {
    // SAFETY: a zeroed statx is a valid out-parameter.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: statx with AT_EMPTY_PATH reads the empty NUL-terminated name and fills `st`.
    let ok = unsafe {
        libc::statx(
            dir.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_MNT_ID,
            &mut st,
        )
    } == 0;
    (ok && st.stx_mask & libc::STATX_MNT_ID != 0).then_some(st.stx_mnt_id)
}

/// Reads a NUL-terminated path (shorter than `PATH_MAX`) at `addr` in the caller's memory, in
/// one copy that stops where the mapping ends.
fn read_path(pid: u32, addr: u64) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    let n = sys::read_process_memory(pid, addr, &mut buf).ok()?;
    let end = buf[..n].iter().position(|&b| b == 0)?;
    buf.truncate(end);
    Some(buf)
}

/// Opens `path` relative to `dirfd` as an `O_PATH` handle (a directory when `dir`), following
/// symlinks as the caller's call would for a parent.
fn open_path(dirfd: RawFd, path: &[u8], dir: bool) -> Option<OwnedFd> {
    let c = CString::new(path).ok()?;
    let mut flags = libc::O_PATH | libc::O_CLOEXEC;
    if dir {
        flags |= libc::O_DIRECTORY;
    }
    // SAFETY: openat reads the NUL-terminated path; the result is a new descriptor or -1.
    let fd = unsafe { libc::openat(dirfd, c.as_ptr(), flags) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a new descriptor that nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Whether `name` exists in `dir` (not following a final symlink).
fn exists_at(dir: &OwnedFd, name: &[u8]) -> bool {
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: a zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstatat reads the NUL-terminated name and fills `st`.
    unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        ) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(ws: &Path) -> WriteRules {
        WriteRules::new(
            vec![ws.to_path_buf(), PathBuf::from("/tmp")],
            vec![ws.join(".git/hooks")],
        )
    }

    fn named(path: &str, base: Option<&Path>, needs: Needs) -> Named {
        Named {
            path: path.as_bytes().to_vec(),
            base: base.map(Path::to_path_buf),
            needs,
        }
    }

    #[test]
    fn writes_outside_the_writable_paths_are_located_by_their_real_path() {
        let ws = tempfile::tempdir().unwrap();
        let ws = ws.path().canonicalize().unwrap();
        let r = rules(&ws);
        let got = locate(&named("/etc/paddock-x", None, Needs::Parent), &r);
        assert_eq!(
            got,
            Some((PathBuf::from("/etc/paddock-x"), Kind::OutsideRoots))
        );
        // Relative to a directory outside: resolved against it, `..` included.
        let got = locate(
            &named("../etc/./y", Some(Path::new("/usr")), Needs::Parent),
            &r,
        );
        assert_eq!(got, Some((PathBuf::from("/etc/y"), Kind::OutsideRoots)));
        // A symlink in the workspace that leads out is judged where it leads.
        std::os::unix::fs::symlink("/etc", ws.join("out")).unwrap();
        let got = locate(&named("out/z", Some(&ws), Needs::Parent), &r);
        assert_eq!(got, Some((PathBuf::from("/etc/z"), Kind::OutsideRoots)));
    }

    #[test]
    fn writes_inside_devices_proc_and_calls_that_fail_first_are_not_recorded() {
        let ws = tempfile::tempdir().unwrap();
        let ws = ws.path().canonicalize().unwrap();
        std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
        let r = rules(&ws);
        for (path, needs) in [
            ("f", Needs::Parent),
            ("sub/../g", Needs::Parent),
            ("/dev/null", Needs::Existing),
            ("/proc/self/fd/1", Needs::Existing),
            // mkdir -p of an existing directory fails with EEXIST first.
            ("/etc", Needs::Absent),
            ("/usr/", Needs::Absent),
            // Removing or opening what is not there: ENOENT.
            ("/etc/paddock-no-such", Needs::Existing),
            // A missing parent: ENOENT.
            ("/etc/paddock-no-such/x", Needs::Parent),
        ] {
            assert_eq!(locate(&named(path, Some(&ws), needs), &r), None, "{path}");
        }
        let hooks = locate(
            &named(".git/hooks/pre-commit", Some(&ws), Needs::Parent),
            &r,
        );
        assert_eq!(
            hooks,
            Some((ws.join(".git/hooks/pre-commit"), Kind::Protected))
        );
    }

    #[test]
    fn a_path_is_read_across_a_page_boundary_and_stops_at_its_nul() {
        let mut buf = vec![0u8; 3 * 4096];
        let start = buf.as_ptr() as usize;
        let at = (4096 - start % 4096) + 4090;
        let text = b"/etc/across-the-page";
        buf[at..at + text.len()].copy_from_slice(text);
        let got = read_path(std::process::id(), (start + at) as u64);
        assert_eq!(got.as_deref(), Some(&text[..]));
        drop(buf);
    }

    #[test]
    fn every_observed_call_names_a_path_argument() {
        for c in WRITE_CALLS {
            assert!(c.paths[0].is_some(), "{}", c.name);
            assert_eq!(call(c.nr).map(|x| x.name), Some(c.name));
        }
        assert!(call(libc::SYS_read).is_none());
    }
}
