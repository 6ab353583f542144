//! Thin, safe wrappers over the Linux system calls the backend needs (namespaces, the new mount
//! API, pivot_root, capabilities, fork/exec). Every `unsafe` block of the crate outside the
//! Landlock/seccomp layers lives here, but for the supervisor's `pre_exec` hook (which only
//! calls `dup2` from here) and the `clone` into new namespaces with its vfork child
//! (`namespaced`); each wrapper returns `io::Result` with the raw errno.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `struct mount_attr` of `<linux/mount.h>` (`MOUNT_ATTR_SIZE_VER0`).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;

const OPEN_TREE_CLONE: libc::c_uint = 0x1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn check_int(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A path as a C string; interior NULs cannot occur in a real path and are refused.
pub fn cstr(p: impl AsRef<OsStr>) -> io::Result<CString> {
    CString::new(p.as_ref().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: callers pass a descriptor the kernel just returned to us and nobody else owns.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

/// Copies up to `buf.len()` bytes at `addr` in process `pid`'s memory into `buf`, in one
/// `process_vm_readv` (stopping where the mapping ends); returns how many were copied. Needs
/// the same right over `pid` as opening `/proc/PID/mem`; a process that is not dumpable gives
/// `EPERM`.
pub fn read_process_memory(pid: u32, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: process_vm_readv writes at most `buf.len()` bytes into `buf` (the one local
    // iovec) and only reads the other process's memory.
    let n = unsafe { libc::process_vm_readv(pid as libc::pid_t, &local, 1, &remote, 1, 0) };
    check(n as libc::c_long).map(|n| n as usize)
}

pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes flags only.
    check_int(unsafe { libc::unshare(flags) }).map(drop)
}

/// mount(2); `None` arguments are passed as NULL.
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is NULL or a NUL-terminated string that outlives the call.
    let ret = unsafe {
        libc::mount(
            ptr(source),
            target.as_ptr(),
            ptr(fstype),
            flags,
            ptr(data).cast(),
        )
    };
    check_int(ret).map(drop)
}

/// Opens `path` as an `O_PATH` descriptor, refusing any symlink (or /proc magic link) on the
/// way: the paths Paddock mounts on are resolved already, so a symlink means tampering.
pub fn open_nofollow(path: &Path) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: open_how is plain data; zeroed is a valid value before we fill it.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    // SAFETY: `c` is NUL-terminated and `how` is a valid open_how of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    check(ret).map(owned)
}

/// A detached recursive copy of the mount tree at `fd` (`open_tree(OPEN_TREE_CLONE)`).
pub fn clone_tree(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let flags = OPEN_TREE_CLONE
        | libc::O_CLOEXEC as libc::c_uint
        | libc::AT_EMPTY_PATH as libc::c_uint
        | libc::AT_RECURSIVE as libc::c_uint;
    // SAFETY: an empty path with AT_EMPTY_PATH names `fd` itself.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), c"".as_ptr(), flags) };
    check(ret).map(owned)
}

/// Sets (and clears) mount attributes on every mount of the tree at `fd`.
pub fn set_tree_attrs(fd: BorrowedFd<'_>, set: u64, clear: u64) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint;
    // SAFETY: `attr` is a valid mount_attr of the size passed; the empty path names `fd`.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(ret).map(drop)
}

/// Attaches the detached mount `from` on top of the object `to` refers to.
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: both paths are empty strings naming the descriptors themselves.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    check(ret).map(drop)
}

pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> io::Result<()> {
    // SAFETY: both arguments are NUL-terminated strings.
    let ret = unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) };
    check(ret).map(drop)
}

pub fn umount_detach(target: &CStr) -> io::Result<()> {
    // SAFETY: `target` is NUL-terminated.
    check_int(unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) }).map(drop)
}

/// The id of the mount `path` lies on (the topmost one at a mount point), without following
/// a final symlink (`statx` with `STATX_MNT_ID`, Linux 5.8).
pub fn mount_id(path: &CStr) -> io::Result<u64> {
    // SAFETY: statx is plain data; zeroed is a valid value before the kernel fills it.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `st` is a statx record the kernel may write.
    check_int(unsafe {
        libc::statx(
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT,
            libc::STATX_MNT_ID,
            &mut st,
        )
    })?;
    if st.stx_mask & libc::STATX_MNT_ID == 0 {
        return Err(io::Error::from_raw_os_error(libc::ENOSYS));
    }
    Ok(st.stx_mnt_id)
}

pub fn fchdir(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fchdir takes a descriptor we borrow for the call.
    check_int(unsafe { libc::fchdir(fd.as_raw_fd()) }).map(drop)
}

/// Creates a pipe whose both ends are close-on-exec: (read end, write end).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    check_int(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok((owned(fds[0] as libc::c_long), owned(fds[1] as libc::c_long)))
}

/// A close-on-exec duplicate of `fd` numbered at least `min`.
pub fn dup_at_least(fd: BorrowedFd<'_>, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor we borrow.
    let ret = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) };
    check_int(ret).map(|fd| owned(fd as libc::c_long))
}

/// `dup2(from, to)`: async-signal-safe, used between fork and exec. The new descriptor is
/// inheritable across exec.
pub fn dup2(from: RawFd, to: RawFd) -> io::Result<()> {
    // SAFETY: dup2 only manipulates the descriptor table.
    check_int(unsafe { libc::dup2(from, to) }).map(drop)
}

/// Takes ownership of an inherited descriptor number, after checking that it is open.
pub fn adopt_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD only queries the descriptor.
    check_int(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: the descriptor is open and was handed to this process to own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Closes every descriptor from `first` up.
pub fn close_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range with no flags closes descriptors this process owns from `first` up;
    // the callers own no object wrapping one of them.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) };
    check(ret).map(drop)
}

/// Marks every descriptor from `first` on close-on-exec (close_range(CLOSE_RANGE_CLOEXEC)).
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range only changes descriptor flags.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    check(ret).map(drop)
}

/// What `fork` returned in this process.
pub enum Forked {
    Parent(libc::pid_t),
    Child,
}

/// fork(2). Called from Paddock's init, which is single-threaded (a freshly exec'd process
/// that has started no thread), so its children may use any function; and from the probe,
/// whose child makes raw system calls only and exits.
pub fn fork() -> io::Result<Forked> {
    // SAFETY: either the caller is single-threaded (the child inherits a consistent heap and
    // locks) or the child only makes async-signal-safe calls before `_exit`.
    let pid = check_int(unsafe { libc::fork() })?;
    Ok(if pid == 0 {
        Forked::Child
    } else {
        Forked::Parent(pid)
    })
}

/// How a waited-for process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Code(i32),
    Signal(i32),
}

/// Waits for any child; returns its pid and how it ended. Retries on EINTR.
pub fn wait_any() -> io::Result<(libc::pid_t, Ended)> {
    wait_for(-1)
}

/// Sets or clears `O_NONBLOCK` on `fd`.
fn set_flag_nonblock(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor the caller owns, with plain integer arguments.
    let flags = check_int(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    check_int(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) }).map(drop)
}

/// Makes reads of `fd` return at once when nothing is there.
pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    set_flag_nonblock(fd, true)
}

/// Makes reads of `fd` wait again.
pub fn set_blocking(fd: RawFd) -> io::Result<()> {
    set_flag_nonblock(fd, false)
}

/// Closes descriptor `fd` of this process; one that is not open counts as closed.
pub fn close(fd: RawFd) -> io::Result<()> {
    // SAFETY: closes a raw descriptor number; no Rust object owns 0-2 in pid 1 past this point.
    if unsafe { libc::close(fd) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EBADF) {
        return Ok(());
    }
    Err(err)
}

/// Whether this process has no child left, reaping the ones that have ended without waiting
/// for the others (pid 1: no child means no other process in its pid namespace).
pub fn no_children_left() -> bool {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer; WNOHANG never blocks.
        let ret = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        match ret {
            0 => return false,
            r if r > 0 => continue,
            _ => return io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD),
        }
    }
}

/// Waits for `pid` (or any child when -1); retries on EINTR; skips stops.
pub fn wait_for(pid: libc::pid_t) -> io::Result<(libc::pid_t, Ended)> {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer.
        let ret = unsafe { libc::waitpid(pid, &mut status, 0) };
        if ret < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if libc::WIFEXITED(status) {
            return Ok((ret, Ended::Code(libc::WEXITSTATUS(status))));
        }
        if libc::WIFSIGNALED(status) {
            return Ok((ret, Ended::Signal(libc::WTERMSIG(status))));
        }
    }
}

pub fn prctl(option: libc::c_int, arg: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: the prctl options used here take integer arguments only.
    check_int(unsafe {
        libc::prctl(
            option,
            arg,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    })
}

/// Empties the effective, permitted and inheritable capability sets of this thread.
pub fn clear_capabilities() -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: header and the two data elements have the layout capset(2) expects for v3.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) };
    check(ret).map(drop)
}

/// The text of `/proc/net/unix`, read through a descriptor kept open for the life of the
/// process into a buffer kept with it, big enough for the whole table in the usual case (every
/// read of a seq_file walks the kernel's table again from the start, about 8 µs each for the
/// socket table, so a small first read would cost one walk more). A resident front end reads
/// it on every call, and the open (a lookup through `/proc/self/net`) and a new zeroed 64 KiB
/// buffer cost more than the read (measured on a warm `paddock mcp` call: about half of the
/// check). Each read starts at offset 0, which makes the kernel walk the table again. The
/// table is that of the network namespace the process had when it first read it (the
/// supervisor never changes its own; pid 1 and the command never read it).
pub fn read_net_unix() -> io::Result<String> {
    use std::os::unix::fs::FileExt;
    static KEPT: std::sync::Mutex<Option<(std::fs::File, Vec<u8>)>> = std::sync::Mutex::new(None);
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if kept.is_none() {
        *kept = Some((std::fs::File::open("/proc/net/unix")?, vec![0u8; 64 << 10]));
    }
    let Some((file, bytes)) = kept.as_mut() else {
        unreachable!("set above")
    };
    let mut len = 0;
    loop {
        if len == bytes.len() {
            bytes.resize(len * 2, 0);
        }
        match file.read_at(&mut bytes[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(bytes[..len].to_vec())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The highest capability number the kernel knows.
pub fn last_capability() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// The type of `setrlimit`'s resource argument: glibc's enum, musl's int.
#[cfg(target_env = "gnu")]
pub type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
pub type RlimitResource = libc::c_int;

/// Sets both the soft and the hard limit of `resource` to `value` (lowering a hard limit needs
/// no privilege; raising it again does).
pub fn set_rlimit(resource: RlimitResource, value: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: setrlimit reads one initialised rlimit.
    check_int(unsafe { libc::setrlimit(resource, &lim) }).map(drop)
}

pub fn getuid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

pub fn getgid() -> u32 {
    // SAFETY: getgid cannot fail.
    unsafe { libc::getgid() }
}

/// Ends the process at once, without running destructors or flushing stdio.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is always safe to call.
    unsafe { libc::_exit(code) }
}

/// The part of the standard library's start-up that a binary starting at its own C `main`
/// (`#![no_main]`) must still do: each of the standard descriptors 0, 1 and 2 that is closed
/// is opened on `/dev/null`, so that no file opened later takes its number (a closed stdout
/// would otherwise make the next file opened Paddock's stdout), and SIGPIPE is ignored, so
/// that a write to a closed pipe fails with `EPIPE` instead of ending the process. What it
/// leaves out of that start-up: the main thread's stack-overflow handler (an overflow of the
/// main thread then ends the process with SIGSEGV, without the message) and the main thread's
/// name. Aborts when a closed descriptor cannot be replaced, as the standard library does.
///
/// In a statically linked Paddock it also keeps host name lookups to glibc's built-in sources
/// (see `built_in_host_lookups`). It limits glibc's allocator to one arena: otherwise each thread that allocates maps an
/// arena of its own (a 64-128 MiB reservation, then trimmed), and a sandboxed run starts two or
/// three short-lived threads in pid 1 (network namespace, old root's unmount, broker). Paddock's
/// threads allocate little, and glibc's per-thread cache (tcache) still serves most of that
/// without the arena's lock. Measured: 7 system calls and 2-6 page faults fewer per sandboxed
/// run, 0.09 ms less in one paced A/B of 400 runs (near the noise).
pub fn standard_start() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of three pollfd for the call's duration; timeout 0.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    for p in fds {
        let closed = if polled >= 0 {
            p.revents & libc::POLLNVAL != 0
        } else {
            // SAFETY: F_GETFD on any number is harmless; it fails with EBADF when closed.
            let flags = unsafe { libc::fcntl(p.fd, libc::F_GETFD) };
            flags < 0
        };
        if !closed {
            continue;
        }
        // SAFETY: a constant NUL-terminated path; the lowest free number is the closed one.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if fd != p.fd {
            std::process::abort();
        }
    }
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread runs.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    built_in_host_lookups();
}

/// In a statically linked Paddock (no program interpreter: `AT_BASE` is 0), host name lookups
/// (the allow-list proxy's `getaddrinfo`) use only the sources built into glibc, `files` and
/// `dns`, whatever `/etc/nsswitch.conf` says; user and group lookups (none in Paddock's code,
/// but the standard library's `home_dir` is linked into debug builds) only `files`. A static glibc would otherwise load the other
/// modules it names (mdns, resolve, myhostname, sss) with `dlopen`, which works only with the
/// very glibc Paddock was linked against and may fail or crash once the host's glibc is
/// upgraded. Lost in a static build: names that only those modules know (`.local` names, the
/// machine's own name without an `/etc/hosts` line); DNS servers named in `/etc/resolv.conf`,
/// systemd-resolved's stub included, still answer. A dynamically linked Paddock is left alone.
fn built_in_host_lookups() {
    unsafe extern "C" {
        /// glibc's override of one database's sources (`nss/nsswitch.c`, GLIBC_2.0).
        fn __nss_configure_lookup(
            dbname: *const libc::c_char,
            service_line: *const libc::c_char,
        ) -> libc::c_int;
    }
    // SAFETY: getauxval reads the process's auxiliary vector; no pointer is involved.
    let statically_linked = unsafe { libc::getauxval(libc::AT_BASE) } == 0;
    if statically_linked {
        for (database, sources) in [
            (c"hosts", c"files dns"),
            (c"passwd", c"files"),
            (c"group", c"files"),
        ] {
            // SAFETY: constant NUL-terminated strings; called before any other thread runs.
            unsafe { __nss_configure_lookup(database.as_ptr(), sources.as_ptr()) };
        }
    }
}

/// The kernel's `struct sigaction` on x86_64 and aarch64 (the only targets of the seccomp
/// layer), for `rt_sigaction` without glibc, which refuses its internal signals 32 and 33.
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// Signals 1 to 64 (`_NSIG - 1` on x86_64 and aarch64).
const SIGNALS: std::ops::RangeInclusive<libc::c_int> = 1..=64;

/// Sets the disposition of every signal of this process to its default, but `ignored`'s,
/// which is ignored. Afterwards the dispositions are known without asking the kernel, so that
/// `spawn`'s child resets only `ignored`. Glibc's internal signals 32 and 33 (by raw
/// `rt_sigaction`: glibc's wrapper refuses them) are only taken from ignored to default: a
/// process started ignoring them would pass that on, while a handler glibc installed there is
/// its own (for set*id calls across threads) and is reset by `execve` anyway.
pub fn reset_signal_dispositions(ignored: libc::c_int) -> io::Result<()> {
    for sig in SIGNALS.filter(|s| *s != libc::SIGKILL && *s != libc::SIGSTOP) {
        let glibc_internal = sig == 32 || sig == 33;
        if glibc_internal && rt_sigaction(sig, None)?.handler != libc::SIG_IGN {
            continue;
        }
        let handler = if sig == ignored {
            libc::SIG_IGN
        } else {
            libc::SIG_DFL
        };
        rt_sigaction(sig, Some(handler))?;
    }
    Ok(())
}

/// `rt_sigaction(sig)` without glibc: sets `handler` (SIG_DFL or SIG_IGN, no flags, empty
/// mask) when given, and returns the disposition before the call.
fn rt_sigaction(
    sig: libc::c_int,
    handler: Option<libc::sighandler_t>,
) -> io::Result<KernelSigaction> {
    let act = handler.map(|handler| KernelSigaction {
        handler,
        flags: 0,
        restorer: 0,
        mask: 0,
    });
    let mut old = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    let act_ptr = act
        .as_ref()
        .map_or(std::ptr::null(), |a| a as *const KernelSigaction);
    // SAFETY: rt_sigaction reads at most one kernel sigaction and writes one, each of the size
    // of its 8-byte mask; SIG_DFL and SIG_IGN need no restorer.
    check(unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            act_ptr,
            &mut old as *mut KernelSigaction,
            std::mem::size_of::<u64>(),
        )
    })?;
    Ok(old)
}

/// `clone(CLONE_VM | CLONE_VFORK | flags)` running `entry(arg)` on a stack of `stack_size`
/// bytes, with every signal of the calling thread blocked around the call (restored after), so
/// that no handler of this process runs in the child while it shares this memory. Returns when
/// the child has executed a program or exited. `parent_tid` is clone's parent-TID argument
/// (where `CLONE_PIDFD` stores the pidfd), or null.
///
/// # Safety
/// `entry` must only make system calls (no allocation, no lock) on memory that `arg` and
/// `parent_tid` point to, which must stay valid until this returns; it must end in `execve`
/// or `_exit`.
pub unsafe fn clone_vfork(
    entry: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    arg: *mut libc::c_void,
    flags: libc::c_int,
    stack_size: usize,
    parent_tid: *mut libc::c_int,
) -> io::Result<libc::pid_t> {
    let mut stack = vec![0u8; stack_size];
    // SAFETY: the caller's guarantees, with a stack made for this call.
    unsafe { clone_vfork_on(entry, arg, flags, &mut stack, parent_tid) }
}

/// [`clone_vfork`] on the caller's `stack`.
///
/// # Safety
/// As for [`clone_vfork`]; nothing else may use `stack` until this returns.
unsafe fn clone_vfork_on(
    entry: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    arg: *mut libc::c_void,
    flags: libc::c_int,
    stack: &mut [u8],
    parent_tid: *mut libc::c_int,
) -> io::Result<libc::pid_t> {
    // SAFETY: the top of the buffer, rounded down to 16 bytes; the stack grows down into it.
    let top = unsafe { stack.as_mut_ptr().add(stack.len()) } as usize & !15;
    // SAFETY: the masks are plain data filled by sigfillset/pthread_sigmask; the child runs
    // `entry` on `stack`, alive until clone returns (after the child's execve or exit), with
    // the caller's guarantees about `entry`, `arg` and `parent_tid`.
    let (pid, error) = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(
            entry,
            top as *mut libc::c_void,
            flags | libc::CLONE_VM | libc::CLONE_VFORK,
            arg,
            parent_tid,
        );
        let error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        (pid, error)
    };
    if pid < 0 { Err(error) } else { Ok(pid) }
}

/// The stack of [`spawn`]'s child, made once per process and used again.
static SPAWN_STACK: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
const SPAWN_STACK_SIZE: usize = 32 * 1024;

/// Makes [`spawn`]'s stack now and touches each of its pages, so that a spawn later takes no
/// page fault for it (a waiting sandbox's pid 1 calls it before the command comes: measured,
/// the faults of a new 32 KiB stack were most of its spawn's own time on a 2-core VM).
pub fn ready_spawn_stack() {
    let mut stack = SPAWN_STACK.lock().unwrap_or_else(|e| e.into_inner());
    if stack.len() < SPAWN_STACK_SIZE {
        // Ones, not zeros: the allocator may hand out fresh zero pages for zeros untouched.
        *stack = vec![1u8; SPAWN_STACK_SIZE];
    }
}

/// What `spawn`'s child needs, prepared by the parent (the child only makes system calls).
struct SpawnChild {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    reset: libc::c_int,
    /// exec's errno when it failed (0: it did not).
    errno: std::sync::atomic::AtomicI32,
}

extern "C" fn spawn_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `SpawnChild`, alive while the parent waits (CLONE_VFORK);
    // the calls are plain system calls on the values it holds.
    unsafe {
        let child = &*(arg as *const SpawnChild);
        libc::signal(child.reset, libc::SIG_DFL);
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::execve(child.program, child.argv, child.envp);
        child.errno.store(
            *libc::__errno_location(),
            std::sync::atomic::Ordering::SeqCst,
        );
        libc::_exit(127)
    }
}

/// Starts `program` (no PATH search) `vfork`-like: the child borrows this process's memory on
/// a stack of its own while the calling thread waits, sets `reset`'s disposition to default
/// and its signal mask to empty, and executes the program. The caller guarantees that every
/// other signal is at its default disposition (`reset_signal_dispositions`); with that, the
/// program starts with no signal ignored, handled or blocked, as with `posix_spawn` and
/// `POSIX_SPAWN_SETSIGDEF` for all signals, without glibc's 64 `rt_sigaction` calls in the
/// child (measured: spawn-to-return 85 us against 165 us on a 2-core VM). Returns exec's error
/// (the child is reaped). The caller's directory and descriptors are inherited as they are.
pub fn spawn(
    program: &CStr,
    argv: &[CString],
    envp: &[CString],
    reset: libc::c_int,
) -> io::Result<libc::pid_t> {
    let mut args: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    args.push(std::ptr::null());
    let mut env: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    env.push(std::ptr::null());
    let child = SpawnChild {
        program: program.as_ptr(),
        argv: args.as_ptr(),
        envp: env.as_ptr(),
        reset,
        errno: std::sync::atomic::AtomicI32::new(0),
    };
    ready_spawn_stack();
    let mut stack = SPAWN_STACK.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: `spawn_child` only makes system calls on `child`, which lives until this returns,
    // and ends in execve or _exit; the locked stack is this call's alone.
    let pid = unsafe {
        clone_vfork_on(
            spawn_child,
            &child as *const SpawnChild as *mut libc::c_void,
            libc::SIGCHLD,
            &mut stack,
            std::ptr::null_mut(),
        )
    }?;
    drop(stack);
    match child.errno.load(std::sync::atomic::Ordering::SeqCst) {
        0 => Ok(pid),
        errno => {
            let _ = wait_for(pid);
            Err(io::Error::from_raw_os_error(errno))
        }
    }
}

/// Sets the `IFF_UP` flag of network interface `name` (used for `lo` in a new netns).
pub fn interface_up(name: &CStr) -> io::Result<()> {
    set_up(&inet_socket()?, name)
}

/// A datagram socket for interface ioctls, in the caller's network namespace.
fn inet_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket takes plain values.
    let sock = check_int(unsafe {
        libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)
    })?;
    Ok(owned(sock as libc::c_long))
}

/// `SIOCGSKNS` (linux/sockios.h): a descriptor of a socket's network namespace.
const SIOCGSKNS: libc::c_ulong = 0x894C;

/// Gives the calling thread a new network namespace (in the caller's user namespace), brings
/// its loopback up, and returns a descriptor of the namespace. The descriptor comes from a
/// socket made in it (`SIOCGSKNS`), not from `/proc`: no path is looked up, which matters while
/// another thread of the process is changing the mount view.
pub fn new_network_with_loopback() -> io::Result<OwnedFd> {
    unshare(libc::CLONE_NEWNET)?;
    let sock = inet_socket()?;
    set_up(&sock, c"lo")?;
    // SAFETY: SIOCGSKNS takes no argument and returns a new descriptor (or -1).
    let ns = check_int(unsafe { libc::ioctl(sock.as_raw_fd(), SIOCGSKNS as _) })?;
    Ok(owned(ns as libc::c_long))
}

/// Moves the calling thread into the namespace `fd` names, of type `nstype` (`CLONE_NEW*`).
pub fn setns(fd: BorrowedFd<'_>, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: setns takes a descriptor and flags; the kernel checks the descriptor's type.
    check_int(unsafe { libc::setns(fd.as_raw_fd(), nstype) }).map(drop)
}

/// Sets IFF_UP on interface `name` through `sock`.
fn set_up(sock: &OwnedFd, name: &CStr) -> io::Result<()> {
    // SAFETY: ifreq is plain data; zeroed is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let bytes = name.to_bytes();
    if bytes.len() >= req.ifr_name.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name too long",
        ));
    }
    for (dst, src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: `req` is a valid ifreq for SIOCGIFFLAGS on our own socket.
    check_int(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) })?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: as above, for SIOCSIFFLAGS.
    check_int(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req) }).map(drop)
}

/// Creates an empty regular file with `mode`, failing if anything exists at `path`.
pub fn create_empty_file(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map(drop)
}

/// True when the kernel has `mount_setattr` (Linux 5.12), and with it the rest of the new mount
/// API Paddock uses.
pub fn mount_setattr_exists() -> bool {
    // SAFETY: invalid arguments (fd -1, NULL attr) only make the kernel return an error.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1,
            c"".as_ptr(),
            0,
            std::ptr::null::<MountAttr>(),
            0,
        )
    };
    !(ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS))
}

/// True when the kernel supports seccomp filters (`PR_GET_SECCOMP` answers rather than EINVAL).
pub fn seccomp_available() -> bool {
    prctl(libc::PR_GET_SECCOMP, 0).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ignores `sig` with the raw system call (glibc refuses its internal signals).
    fn ignore_raw(sig: libc::c_int) {
        rt_sigaction(sig, Some(libc::SIG_IGN)).unwrap();
    }

    #[test]
    fn a_spawned_command_starts_with_no_signal_ignored_or_blocked() {
        // In a forked, single-threaded child, as in pid 1: signals ignored (glibc's internal
        // 33 among them) and blocked before the reset that pid 1 makes at its start.
        let Forked::Parent(pid) = fork().unwrap() else {
            let check = "grep -q '^SigIgn:[[:space:]]*0*$' /proc/self/status && \
                         grep -q '^SigBlk:[[:space:]]*0*$' /proc/self/status";
            let argv = [
                c"/bin/sh".to_owned(),
                c"-c".to_owned(),
                CString::new(check).unwrap(),
            ];
            // SAFETY: these only change this child's signals.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_IGN);
                libc::signal(libc::SIGUSR2, libc::SIG_IGN);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGUSR1);
                libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            }
            ignore_raw(33);
            let code = match reset_signal_dispositions(libc::SIGPIPE)
                .and_then(|()| spawn(c"/bin/sh", &argv, &[], libc::SIGPIPE))
            {
                Ok(sh) => match wait_for(sh) {
                    Ok((_, Ended::Code(c))) => c,
                    _ => 101,
                },
                Err(_) => 102,
            };
            exit_now(code)
        };
        assert_eq!(wait_for(pid).unwrap().1, Ended::Code(0));
    }

    #[test]
    fn the_reset_leaves_only_the_one_ignored_signal() {
        let Forked::Parent(pid) = fork().unwrap() else {
            // SAFETY: only changes this child's signals.
            unsafe { libc::signal(libc::SIGUSR2, libc::SIG_IGN) };
            ignore_raw(32);
            let code = match reset_signal_dispositions(libc::SIGPIPE) {
                Ok(()) => {
                    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
                    let ignored = status
                        .lines()
                        .find_map(|l| l.strip_prefix("SigIgn:"))
                        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok());
                    // Bit `sig - 1`: SIGPIPE (13) alone.
                    if ignored == Some(1 << (libc::SIGPIPE - 1)) {
                        0
                    } else {
                        1
                    }
                }
                Err(_) => 2,
            };
            exit_now(code)
        };
        assert_eq!(wait_for(pid).unwrap().1, Ended::Code(0));
    }

    #[test]
    fn a_handler_on_glibcs_internal_signals_is_kept_by_the_reset() {
        extern "C" fn handler(_: libc::c_int) {}
        let Forked::Parent(pid) = fork().unwrap() else {
            let own = handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
            let kept = rt_sigaction(33, Some(own))
                .and_then(|_| reset_signal_dispositions(libc::SIGPIPE))
                .and_then(|()| rt_sigaction(33, None))
                .is_ok_and(|now| now.handler == own);
            exit_now(if kept { 0 } else { 1 })
        };
        assert_eq!(wait_for(pid).unwrap().1, Ended::Code(0));
    }

    #[test]
    fn a_failed_exec_leaves_no_child_behind() {
        // In a forked child that has no other child of its own.
        let Forked::Parent(pid) = fork().unwrap() else {
            let argv = [c"/nonexistent/program".to_owned()];
            let failed = spawn(c"/nonexistent/program", &argv, &[], libc::SIGPIPE).is_err();
            // SAFETY: waitpid with a null status pointer only asks for a child.
            let left = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
            let reaped =
                left == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD);
            exit_now(if failed && reaped { 0 } else { 1 })
        };
        assert_eq!(wait_for(pid).unwrap().1, Ended::Code(0));
    }

    #[test]
    fn a_program_that_cannot_be_executed_is_an_error_of_the_spawn() {
        let argv = [c"/nonexistent/program".to_owned()];
        let err = spawn(c"/nonexistent/program", &argv, &[], libc::SIGPIPE).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-executable");
        std::fs::write(&file, "data").unwrap();
        let path = cstr(&file).unwrap();
        let err = spawn(&path, std::slice::from_ref(&path), &[], libc::SIGPIPE).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EACCES));
    }
}
