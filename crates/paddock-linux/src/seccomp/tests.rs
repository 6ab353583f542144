//! Attacks on the seccomp layer, each run in a child process that installs the filters first,
//! and the legitimate work that must keep working under them.

use super::child_probe::{self, io_outcome, outcome, report};
use super::{DENIED, SeccompRequest, enforce};
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;

const ENTRY: &str = "seccomp::tests::probe_child";
const NETWORK_ENV: &str = "PADDOCK_TEST_NETWORK";

/// Syscalls whose probe (all arguments -1) never answers EPERM without the filter, even
/// unprivileged: their EPERM under the filter can only come from the filter.
const UNPRIVILEGED_CONTROLS: &[&str] = &[
    "unshare",
    "setns",
    "process_vm_readv",
    "pidfd_getfd",
    "io_uring_enter",
];

fn probe(name: &str, network: &str) -> BTreeMap<String, String> {
    child_probe::run(ENTRY, name, &[(NETWORK_ENV, network.to_string())])
}

/// # Safety
/// Each argument must be an integer the syscall treats as a value, or a pointer/descriptor it
/// rejects before touching memory (-1), or a pointer to live memory of the size it expects.
unsafe fn raw(nr: libc::c_long, a: [usize; 6]) -> libc::c_long {
    // SAFETY: the caller vouches for every argument (see above).
    unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) }
}

const BAD: usize = usize::MAX;

fn all_bad(nr: libc::c_long) -> String {
    // SAFETY: every argument is -1: no valid pointer, descriptor or pid; the kernel rejects
    // them before reading or writing any memory.
    outcome(unsafe { raw(nr, [BAD; 6]) })
}

/// clone(2) without CLONE_VM behaves like fork; the child leaves at once with `_exit`.
fn clone_with(flags: libc::c_int) -> String {
    // SAFETY: a NULL stack and no CLONE_VM give the child a copy of this address space; it only
    // calls the async-signal-safe `_exit`.
    let pid = unsafe {
        raw(
            libc::SYS_clone,
            [(flags | libc::SIGCHLD) as usize, 0, 0, 0, 0, 0],
        )
    };
    if pid == 0 {
        // SAFETY: `_exit` ends the cloned child without running any destructor or atexit hook.
        unsafe { libc::_exit(0) }
    }
    let result = outcome(pid);
    if pid > 0 {
        let mut status = 0;
        // SAFETY: waits for the child just created; `status` is a live local.
        unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
    }
    result
}

fn ioctl(fd: i32, request: u64) -> String {
    let mut byte = b'x';
    // SAFETY: TIOCSTI/TIOCLINUX/FIONREAD read or write at most an int at the pointer, which is
    // a live local of at least one byte for TIOCSTI and TIOCLINUX; FIONREAD gets an int below.
    outcome(unsafe {
        raw(
            libc::SYS_ioctl,
            [
                fd as usize,
                request as usize,
                (&raw mut byte) as usize,
                0,
                0,
                0,
            ],
        )
    })
}

fn socket(domain: u64, ty: i32, proto: i32) -> String {
    // SAFETY: socket(2) takes three integers.
    let fd = unsafe {
        raw(
            libc::SYS_socket,
            [domain as usize, ty as usize, proto as usize, 0, 0, 0],
        )
    };
    let result = outcome(fd);
    if fd >= 0 {
        // SAFETY: closes the descriptor just created.
        unsafe { libc::close(fd as i32) };
    }
    result
}

fn socketpair(domain: i32) -> String {
    let mut fds = [-1i32; 2];
    // SAFETY: `fds` is a live array of two ints, as socketpair(2) expects.
    let r = unsafe { libc::socketpair(domain, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
    let result = outcome(r.into());
    for fd in fds.into_iter().filter(|&fd| fd >= 0) {
        // SAFETY: closes descriptors just created.
        unsafe { libc::close(fd) };
    }
    result
}

fn personality(p: u64) -> String {
    // SAFETY: personality(2) takes one integer.
    outcome(unsafe { raw(libc::SYS_personality, [p as usize, 0, 0, 0, 0, 0]) })
}

/// Runs `attempt` before (`control.` keys) and after the filters are installed.
fn before_and_after(network_off: bool, attempt: impl Fn(&str)) {
    attempt("control.");
    enforce(&SeccompRequest {
        network_off,
        inet_loopback: false,
        notify: None,
    })
    .expect("seccomp layer applies");
    attempt("");
}

#[test]
#[ignore = "helper: run in a child process by the seccomp tests"]
fn probe_child() {
    let probe = std::env::var(child_probe::PROBE_ENV).expect("run by child_probe::run");
    let network_off = std::env::var(NETWORK_ENV).as_deref() == Ok("off");
    match probe.as_str() {
        "deny-list" => before_and_after(network_off, |pre| {
            for (name, nr) in DENIED {
                report(&format!("{pre}{name}"), all_bad(*nr));
            }
        }),
        "clone" => {
            enforce(&SeccompRequest {
                network_off,
                inet_loopback: false,
                notify: None,
            })
            .unwrap();
            report("clone-newuser", clone_with(libc::CLONE_NEWUSER));
            report("clone-newnet", clone_with(libc::CLONE_NEWNET));
            report("clone-newns", clone_with(libc::CLONE_NEWNS));
            report("clone-plain", clone_with(0));
            report(
                "spawn",
                io_outcome(
                    std::process::Command::new("/bin/sh")
                        .arg("-c")
                        .arg("exit 0")
                        .status(),
                ),
            );
        }
        "clone3" => before_and_after(network_off, |pre| {
            // SAFETY: clone3 with a NULL argument struct and size 0 is rejected before any copy.
            report(
                &format!("{pre}clone3"),
                outcome(unsafe { raw(libc::SYS_clone3, [0; 6]) }),
            );
        }),
        "ioctl" => before_and_after(network_off, |pre| {
            let null = std::fs::File::open("/dev/null").unwrap();
            let fd = null.as_raw_fd();
            let sti = libc::TIOCSTI;
            report(&format!("{pre}tiocsti"), ioctl(fd, sti));
            report(
                &format!("{pre}tiocsti-high-bits"),
                ioctl(fd, sti | (1 << 32)),
            );
            report(&format!("{pre}tioclinux"), ioctl(fd, libc::TIOCLINUX));
            let (r, _w) = std::io::pipe().unwrap();
            let mut n: libc::c_int = 0;
            // SAFETY: FIONREAD writes one int into `n`, a live local.
            let ret = unsafe { libc::ioctl(r.as_raw_fd(), libc::FIONREAD, &mut n) };
            report(&format!("{pre}fionread"), outcome(ret.into()));
        }),
        "personality" => before_and_after(network_off, |pre| {
            report(&format!("{pre}query"), personality(0xffff_ffff));
            report(&format!("{pre}linux"), personality(0));
            report(
                &format!("{pre}no-aslr"),
                personality(libc::ADDR_NO_RANDOMIZE as u64),
            );
            report(
                &format!("{pre}no-aslr-high-bits"),
                personality(libc::ADDR_NO_RANDOMIZE as u64 | (1 << 32)),
            );
            personality(0);
        }),
        "sockets" => before_and_after(network_off, |pre| {
            let inet = libc::AF_INET as u64;
            report(&format!("{pre}inet"), socket(inet, libc::SOCK_STREAM, 0));
            report(
                &format!("{pre}inet-high-bits"),
                socket(inet | (1 << 32), libc::SOCK_STREAM, 0),
            );
            report(
                &format!("{pre}inet6"),
                socket(libc::AF_INET6 as u64, libc::SOCK_DGRAM, 0),
            );
            report(
                &format!("{pre}raw-icmp"),
                socket(inet, libc::SOCK_RAW, libc::IPPROTO_ICMP),
            );
            report(
                &format!("{pre}netlink"),
                socket(libc::AF_NETLINK as u64, libc::SOCK_RAW, 0),
            );
            report(
                &format!("{pre}packet"),
                socket(libc::AF_PACKET as u64, libc::SOCK_RAW, 0),
            );
            report(
                &format!("{pre}unix"),
                socket(libc::AF_UNIX as u64, libc::SOCK_STREAM, 0),
            );
            report(&format!("{pre}socketpair-unix"), socketpair(libc::AF_UNIX));
            report(&format!("{pre}socketpair-inet"), socketpair(libc::AF_INET));
        }),
        "x32" => before_and_after(network_off, |pre| {
            // SAFETY: getpid takes no argument; with the x32 bit it is x32's getpid or ENOSYS.
            let r = unsafe { raw(0x4000_0000 | libc::SYS_getpid, [0; 6]) };
            report(&format!("{pre}x32-getpid"), outcome(r));
        }),
        #[cfg(target_arch = "x86_64")]
        "int80" => {
            report("control.int80-getpid", int80_getpid());
            enforce(&SeccompRequest {
                network_off,
                inet_loopback: false,
                notify: None,
            })
            .unwrap();
            report("int80-getpid", int80_getpid());
        }
        "setid" => {
            let dir = std::env::var("PADDOCK_TEST_DIR").expect("a scratch directory");
            before_and_after(network_off, |pre| setid_attempts(&dir, pre));
        }
        "no-new-privs" => before_and_after(network_off, |pre| {
            let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
            let line = status
                .lines()
                .find(|l| l.starts_with("NoNewPrivs:"))
                .unwrap_or("");
            report(
                &format!("{pre}nnp"),
                line.split_whitespace().nth(1).unwrap_or("?"),
            );
        }),
        other => panic!("unknown probe {other}"),
    }
}

/// Every syscall that can give a file the setuid or setgid bit, by its own number, on files in
/// `dir` (a fresh name per attempt): each report is the call's outcome.
fn setid_attempts(dir: &str, pre: &str) {
    let name = |n: &str| std::ffi::CString::new(format!("{dir}/{pre}{n}")).unwrap();
    let file = name("file");
    std::fs::write(file.to_str().unwrap(), "x").unwrap();
    let handle = std::fs::File::open(file.to_str().unwrap()).unwrap();
    let fd = handle.as_raw_fd() as usize;
    let dir_c = std::ffi::CString::new(dir).unwrap();
    let (suid, sgid) = (
        libc::S_ISUID as usize | 0o755,
        libc::S_ISGID as usize | 0o755,
    );
    let garbage = suid | (1 << 40);
    let (at, reg) = (libc::AT_FDCWD as usize, libc::S_IFREG as usize);
    let creat = (libc::O_CREAT | libc::O_WRONLY) as usize;
    let tmpfile = (libc::O_TMPFILE | libc::O_WRONLY) as usize;
    let attempt = |what: &str, nr: libc::c_long, args: [usize; 6]| {
        // SAFETY: every pointer argument is a live NUL-terminated path; the rest are integers.
        let ret = unsafe { raw(nr, args) };
        // Read errno before any other call can change it.
        report(&format!("{pre}{what}"), outcome(ret));
    };
    let (f, d) = (file.as_ptr() as usize, dir_c.as_ptr() as usize);
    let fresh = |n: &str| name(n).into_raw() as usize;
    attempt("fchmod", libc::SYS_fchmod, [fd, suid, 0, 0, 0, 0]);
    attempt("fchmodat", libc::SYS_fchmodat, [at, f, sgid, 0, 0, 0]);
    attempt(
        "fchmodat-garbage",
        libc::SYS_fchmodat,
        [at, f, garbage, 0, 0, 0],
    );
    attempt("fchmodat2", 452, [at, f, suid, 0, 0, 0]);
    let made = fresh("made");
    attempt(
        "mknodat",
        libc::SYS_mknodat,
        [at, made, reg | suid, 0, 0, 0],
    );
    let created = fresh("created");
    attempt(
        "openat-creat",
        libc::SYS_openat,
        [at, created, creat, sgid, 0, 0],
    );
    attempt(
        "openat-tmpfile",
        libc::SYS_openat,
        [at, d, tmpfile, suid, 0, 0],
    );
    #[cfg(target_arch = "x86_64")]
    {
        attempt("chmod", libc::SYS_chmod, [f, suid, 0, 0, 0, 0]);
        attempt("creat", libc::SYS_creat, [fresh("creat"), sgid, 0, 0, 0, 0]);
        attempt(
            "open-creat",
            libc::SYS_open,
            [fresh("open"), creat, suid, 0, 0, 0],
        );
        attempt(
            "mknod",
            libc::SYS_mknod,
            [fresh("mknod"), reg | sgid, 0, 0, 0, 0],
        );
    }
    attempt("fchmod-plain", libc::SYS_fchmod, [fd, 0o644, 0, 0, 0, 0]);
}

#[test]
fn setuid_and_setgid_bits_are_refused_by_every_mode_syscall() {
    let dir = tempfile::tempdir().unwrap();
    let r = child_probe::run(
        ENTRY,
        "setid",
        &[
            (NETWORK_ENV, "on".into()),
            ("PADDOCK_TEST_DIR", dir.path().display().to_string()),
        ],
    );
    let mut all = vec![
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "mknodat",
        "openat-creat",
        "openat-tmpfile",
    ];
    if cfg!(target_arch = "x86_64") {
        all.extend(["chmod", "creat", "open-creat", "mknod"]);
    }
    for what in all {
        assert_eq!(r[&format!("control.{what}")], "ok", "{what}: {r:?}");
        assert_eq!(r[what], "EPERM", "{what}: {r:?}");
    }
    assert_eq!(r["fchmodat-garbage"], "EPERM", "{r:?}");
    assert_eq!(r["fchmod-plain"], "ok", "{r:?}");
}

#[test]
fn every_denied_syscall_answers_eperm_under_the_filter() {
    let r = probe("deny-list", "on");
    for (name, _) in DENIED {
        assert_eq!(r[*name], "EPERM", "{name} was not refused: {r:?}");
    }
    for name in UNPRIVILEGED_CONTROLS {
        assert_ne!(
            r[&format!("control.{name}")],
            "EPERM",
            "{name}'s probe is not a real control"
        );
    }
}

#[test]
fn io_uring_is_refused_because_its_io_bypasses_seccomp() {
    let r = probe("deny-list", "on");
    for name in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
        assert_eq!(r[name], "EPERM");
    }
}

#[test]
fn clone_with_namespace_flags_is_refused_and_plain_process_creation_works() {
    let r = probe("clone", "on");
    assert_eq!(r["clone-newuser"], "EPERM");
    assert_eq!(r["clone-newnet"], "EPERM");
    assert_eq!(r["clone-newns"], "EPERM");
    assert_eq!(r["clone-plain"], "ok");
    assert_eq!(
        r["spawn"], "ok",
        "spawning a program must work (clone3 falls back to clone)"
    );
}

#[test]
fn clone3_answers_enosys_so_libc_falls_back_to_clone() {
    let r = probe("clone3", "on");
    assert_ne!(r["control.clone3"], "ENOSYS");
    assert_eq!(r["clone3"], "ENOSYS");
}

#[test]
fn tiocsti_and_tioclinux_are_refused_even_with_garbage_in_the_high_bits() {
    let r = probe("ioctl", "on");
    assert_eq!(r["control.tiocsti"], "ENOTTY");
    assert_eq!(r["tiocsti"], "EPERM");
    assert_eq!(r["tiocsti-high-bits"], "EPERM");
    assert_eq!(r["tioclinux"], "EPERM");
    assert_eq!(r["fionread"], "ok", "ordinary ioctls keep working");
}

#[test]
fn personality_changes_are_refused_and_the_query_works() {
    let r = probe("personality", "on");
    assert_eq!(r["control.no-aslr"], "ok");
    assert_eq!(r["no-aslr"], "EPERM");
    assert_eq!(r["no-aslr-high-bits"], "EPERM");
    assert_eq!(r["query"], "ok");
    assert_eq!(r["linux"], "ok");
}

#[test]
fn network_off_allows_only_unix_sockets_and_fails_fast_with_eafnosupport() {
    let r = probe("sockets", "off");
    assert_eq!(r["control.inet"], "ok");
    for key in [
        "inet",
        "inet-high-bits",
        "inet6",
        "raw-icmp",
        "netlink",
        "packet",
        "socketpair-inet",
    ] {
        assert_eq!(r[key], "EAFNOSUPPORT", "{key}: {r:?}");
    }
    assert_eq!(r["unix"], "ok");
    assert_eq!(r["socketpair-unix"], "ok");
}

#[test]
fn network_on_leaves_inet_sockets_alone() {
    let r = probe("sockets", "on");
    assert_eq!(r["inet"], "ok");
    assert_eq!(r["inet6"], "ok");
    assert_eq!(r["unix"], "ok");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x32_syscalls_are_refused_so_they_cannot_dodge_the_x86_64_rules() {
    let r = probe("x32", "on");
    assert_ne!(r["control.x32-getpid"], "EPERM");
    assert_eq!(r["x32-getpid"], "EPERM");
}

/// getpid through the i386 entry point (`int 0x80`), which a 64-bit process can still use when
/// the kernel has IA-32 emulation; its syscall numbers are not the x86_64 ones.
#[cfg(target_arch = "x86_64")]
fn int80_getpid() -> String {
    let ret: i32;
    // SAFETY: i386 getpid (20) takes no argument and touches no memory; `int 0x80` clobbers
    // only eax, which is declared as an output.
    unsafe { std::arch::asm!("int 0x80", inlateout("eax") 20i32 => ret, options(nostack)) };
    if ret == i32::try_from(std::process::id()).unwrap_or(-1) {
        "ok".into()
    } else {
        format!("ret{ret}")
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn i386_syscalls_through_int_0x80_kill_the_process() {
    use std::os::unix::process::ExitStatusExt;
    let (status, r, output) = child_probe::spawn(ENTRY, "int80", &[(NETWORK_ENV, "on".into())]);
    if status.signal() == Some(libc::SIGSEGV) && !r.contains_key("control.int80-getpid") {
        eprintln!("no IA-32 emulation in this kernel: the i386 entry point does not exist");
        return;
    }
    assert_eq!(r["control.int80-getpid"], "ok", "{output}");
    assert_eq!(status.signal(), Some(libc::SIGSYS), "{output}");
    assert!(
        !r.contains_key("int80-getpid"),
        "the i386 syscall returned: {output}"
    );
}

#[test]
fn the_layer_sets_no_new_privs() {
    let r = probe("no-new-privs", "on");
    assert_eq!(r["nnp"], "1");
}

#[test]
fn the_program_prepared_ahead_is_the_default_policys_and_no_other() {
    super::prepare();
    let default = super::program_for(&super::DEFAULT_REQUEST).unwrap();
    assert!(super::PREPARED.get().is_some_and(|p| p.is_some()));
    assert_eq!(
        format!("{:?}", default.0),
        format!("{:?}", super::assembled(&super::DEFAULT_REQUEST).unwrap().0)
    );
    let other = SeccompRequest {
        network_off: false,
        inet_loopback: false,
        notify: None,
    };
    let made = super::program_for(&other).unwrap();
    assert_eq!(
        format!("{:?}", made.0),
        format!("{:?}", super::assembled(&other).unwrap().0)
    );
    assert_ne!(made.0.len(), default.0.len());
    assert!(!made.1.contains(&"broker") && default.1.contains(&"broker"));
}
