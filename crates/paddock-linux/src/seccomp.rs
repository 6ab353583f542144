//! Seccomp, the syscall layer: sets `no_new_privs`, then refuses the syscalls that reach kernel
//! attack surface or could undo the other layers, modes with the setuid or setgid bit (such a
//! file would keep the bit on the host), and, when the network is off, every socket family but
//! `AF_UNIX`. Applied last, just before `execve`; it cannot be lifted afterwards.
//!
//! What a filter cannot do: it sees syscall arguments, never the memory they point to, so it
//! cannot tell which path a unix socket `connect(2)` names. With the network off, `connect` is
//! therefore handed to a broker thread of pid 1 (`unix_connect`) that allows socket files
//! beneath the writable paths only; the mount view hides the host sockets `/proc/net/unix`
//! lists (see `host_unix_sockets`) in every mode, and Landlock ABI 9 refuses such connects too;
//! abstract sockets are stopped by the network namespace and Landlock's ABI 6 scoping.
//! `socketpair` and sockets created inside the sandbox keep working.

mod filters;
mod host_unix_sockets;
mod notify_filter;
mod program;
pub mod unix_connect;
pub mod write_observer;

pub use filters::DENIED;
pub use host_unix_sockets::{host_unix_socket_ids, host_unix_sockets, parse_proc_net_unix};

use crate::plan::{LinuxError, LinuxPlan};
use paddock_core::report::{Layer, LayerReport, LayerStatus, Protection};
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};
use thiserror::Error;

/// What the seccomp layer must enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeccompRequest {
    /// Only `AF_UNIX` sockets may be created.
    pub network_off: bool,
    /// With `network_off`: `AF_INET` and `AF_INET6` too (the empty namespace's loopback, where
    /// only Paddock's proxy listens with an allow-list; with the network off the connect broker
    /// refuses and records every IP connect).
    pub inet_loopback: bool,
    /// The broker's part (pid 1's listener answers its calls); `None` for none.
    pub notify: Option<notify_filter::Notify>,
}

/// The installed layer: its report, and the broker's listener when it has a part.
pub struct Enforced {
    pub report: LayerReport,
    pub listener: Option<OwnedFd>,
    /// Why the kernel refused the broker's part when it was asked for observation only (the
    /// program was installed without it).
    pub observer_refused: Option<std::io::Error>,
}

/// Why the seccomp layer could not be applied.
#[derive(Debug, Error)]
pub enum SeccompError {
    #[error(
        "seccomp filters are only built for x86_64 and aarch64, not {arch}; Paddock refuses to \
         run unfiltered on this architecture"
    )]
    UnsupportedArch { arch: &'static str },
    #[error(
        "the kernel refused the seccomp program: {source}; Paddock needs a kernel built with \
         CONFIG_SECCOMP_FILTER and no outer filter forbidding seccomp(2)"
    )]
    Install { source: std::io::Error },
    #[error(
        "the kernel refused the connect-broker program (SECCOMP_RET_USER_NOTIF needs Linux \
         5.5): {source}"
    )]
    Broker { source: std::io::Error },
    #[error("cannot set no_new_privs: {source}")]
    SetNoNewPrivs { source: std::io::Error },
    #[error("no_new_privs is not set after installing the filters; Paddock refuses to run")]
    NoNewPrivs,
}

/// What pid 1 asks for under the default policy (network off): the EPERM, clone3 and socket
/// parts, and the broker's part with the connect broker and the write observer.
const DEFAULT_REQUEST: SeccompRequest = SeccompRequest {
    network_off: true,
    inet_loopback: true,
    notify: Some(notify_filter::Notify {
        connect: true,
        writes: true,
    }),
};

/// A program and its parts' names.
type Assembled = (Vec<libc::sock_filter>, Vec<&'static str>);

/// The program for `DEFAULT_REQUEST`, assembled ahead by `prepare`.
static PREPARED: std::sync::OnceLock<Option<Assembled>> = std::sync::OnceLock::new();

/// Assembles the default policy's program ahead: pid 1 calls it while it waits for its plan,
/// which the supervisor builds meanwhile on the other CPU, so that `enforce` finds the
/// program made when the plan asks for that policy (another policy's is assembled then).
pub fn prepare() {
    let _ = PREPARED.get_or_init(|| assembled(&DEFAULT_REQUEST).ok());
}

/// The program for `req`, from `prepare` when it made it.
fn program_for(req: &SeccompRequest) -> Result<Assembled, SeccompError> {
    if *req == DEFAULT_REQUEST
        && let Some(Some(made)) = PREPARED.get()
    {
        return Ok(made.clone());
    }
    assembled(req)
}

fn assembled(req: &SeccompRequest) -> Result<Assembled, SeccompError> {
    let arch = filters::target_arch()?;
    let mut parts = filters::parts(req.network_off, req.inet_loopback);
    parts.extend(req.notify.map(notify_filter::part));
    let names = parts.iter().map(|p| p.name).collect();
    Ok((program::assemble(arch, &parts), names))
}

/// Applies the plan's seccomp layer (socket families restricted when `plan.network_off`).
/// Call once, after Landlock and right before `execve`. It also starts pid 1's broker (see
/// `unix_connect`): a thread of this process, started before the filters so that they do not
/// bind it, which serves the listener of the program's broker part: with the network off the unix
/// `connect` broker, and in every mode the observer of write attempts (`write_observer`). A
/// kernel without user notification (before 5.5) fails the run when the network is off (the
/// connect broker is a wall) and only loses the observation otherwise (the report says so).
pub fn apply_seccomp(plan: &LinuxPlan, result: &OwnedFd) -> Result<LayerReport, LinuxError> {
    let failed = |reason: String| LinuxError::Seccomp { reason };
    let refuse_inet = plan.network_off && plan.proxy_port.is_none();
    let recorder = crate::sys::dup_at_least(result.as_fd(), 3)
        .map(crate::result_channel::Recorder::new)
        .map_err(|e| failed(format!("cannot give the broker the result channel: {e}")))?;
    let protected = plan
        .protected
        .iter()
        .chain(&plan.deny_read)
        .map(|p| p.path.clone())
        .collect();
    let rules = unix_connect::BrokerRules {
        writable: plan.writable_dirs(),
        refuse_inet,
        recorder,
        writes: Some(write_observer::WriteRules::new(
            plan.writable_dirs(),
            protected,
        )),
    };
    let broker = unix_connect::Broker::start(rules)
        .map_err(|e| failed(format!("cannot start the broker thread: {e}")))?;
    // IP sockets may be made (in the empty namespace): the broker refuses and records their
    // connects, so the report can name the address a tool tried.
    let enforced = enforce(&SeccompRequest {
        network_off: plan.network_off,
        inet_loopback: plan.network_off,
        notify: Some(notify_filter::Notify {
            connect: plan.network_off,
            writes: true,
        }),
    })
    .map_err(|e| failed(e.to_string()))?;
    let mut report = enforced.report;
    let Some(listener) = enforced.listener else {
        // The broker thread ends when its sender is dropped.
        drop(broker);
        if let Some(e) = enforced.observer_refused {
            report.detail.push_str(&format!(
                "; write attempts not observed (the kernel refused a user-notification \
                 program: {e}): denial reports guess writes from stderr"
            ));
        }
        return Ok(report);
    };
    broker.serve(listener).map_err(|e| failed(e.to_string()))?;
    if plan.network_off {
        report.enforces.push(Protection::UnixSockets);
        report.detail.push_str(
            "; connect() brokered by pid 1: unix socket files only beneath the writable paths \
             (EACCES elsewhere)",
        );
    }
    if refuse_inet {
        report.detail.push_str(
            "; every IPv4/IPv6 connect() and addressed sendto() refused by the broker \
             (ENETUNREACH) and recorded for the run report",
        );
    }
    report.detail.push_str(
        "; write attempts (open for writing, create, remove, rename, truncate) observed by pid 1 \
         for the denial report, always continued (observation only)",
    );
    Ok(report)
}

/// Sets `no_new_privs` and installs the layer as one program on the calling thread
/// (inherited by what it executes; see `program`). Call once, single-threaded but for
/// the broker thread, after Landlock and right before `execve`. With `req.notify`, the
/// broker's part is in the program and its listener is returned; when the kernel refuses that
/// part, the run fails if it carries the connect broker (a wall) and otherwise goes on without
/// it (`observer_refused` says why).
pub fn enforce(req: &SeccompRequest) -> Result<Enforced, SeccompError> {
    let arch = filters::target_arch()?;
    crate::sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1)
        .map_err(|source| SeccompError::SetNoNewPrivs { source })?;
    let mut listener = None;
    let mut observer_refused = None;
    let mut names = Vec::new();
    if let Some(n) = req.notify {
        let (program, with_broker) = program_for(req)?;
        match install(&program, true) {
            Ok(fd) => {
                listener = fd;
                names = with_broker;
            }
            Err(source) if n.connect => return Err(SeccompError::Broker { source }),
            Err(e) => observer_refused = Some(e),
        }
    }
    if listener.is_none() {
        let (program, without) = program_for(&SeccompRequest {
            notify: None,
            ..*req
        })?;
        install(&program, false).map_err(|source| SeccompError::Install { source })?;
        names = without;
    }
    if !no_new_privs()? {
        return Err(SeccompError::NoNewPrivs);
    }
    let mut detail = format!(
        "no_new_privs set; one program ({} behind a binary search on the syscall number{}) for \
         {}: {} syscalls refused with EPERM (ptrace, process_vm_*, keyrings, bpf, perf, \
         io_uring, mount API, unshare/setns, kexec, modules, userfaultfd, open_by_handle_at), \
         clone with namespace flags, TIOCSTI/TIOCLINUX, personality changes, setuid/setgid \
         bits in chmod/mknod/open(O_CREAT) modes; clone3 answers ENOSYS",
        names.join(", "),
        if arch == program::Arch::X86_64 {
            ", x32 numbers refused"
        } else {
            ""
        },
        std::env::consts::ARCH,
        DENIED.len()
    );
    if req.network_off && req.inet_loopback {
        detail.push_str(
            "; socket()/socketpair() only for AF_UNIX, AF_INET and AF_INET6 (EAFNOSUPPORT \
             otherwise; IP sockets reach only the empty namespace's loopback)",
        );
    } else if req.network_off {
        detail.push_str("; socket()/socketpair() only for AF_UNIX (EAFNOSUPPORT otherwise)");
    }
    let mut report = LayerReport::new(Layer::Seccomp, LayerStatus::Enforced, detail)
        .enforcing([Protection::Syscalls, Protection::Privileges]);
    if req.network_off {
        report.enforces.push(Protection::Network);
    }
    Ok(Enforced {
        report,
        listener,
        observer_refused,
    })
}

/// Installs `program` on the calling thread (after `no_new_privs` is set); with `listener`,
/// its notifications go to the descriptor returned (close-on-exec). The command waits for the
/// broker's answer in a killable sleep once the broker has taken its call (Linux 5.19), so a
/// signal cannot make an `open` fail with `EINTR` while it is looked at; older kernels install
/// without that flag.
fn install(program: &[libc::sock_filter], listener: bool) -> std::io::Result<Option<OwnedFd>> {
    let len =
        u16::try_from(program.len()).map_err(|_| std::io::Error::from_raw_os_error(libc::E2BIG))?;
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    let flag_sets: &[libc::c_ulong] = if listener {
        &[
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
        ]
    } else {
        &[0]
    };
    let mut last = std::io::Error::from_raw_os_error(libc::EINVAL);
    for &flags in flag_sets {
        // SAFETY: seccomp(SET_MODE_FILTER) reads the program, which outlives the call; with
        // NEW_LISTENER it returns a new descriptor that nothing else owns.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if fd >= 0 {
            // SAFETY: see above; without NEW_LISTENER the call returns 0, no descriptor.
            return Ok(listener.then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) }));
        }
        last = std::io::Error::last_os_error();
        if last.raw_os_error() != Some(libc::EINVAL) {
            break;
        }
    }
    Err(last)
}

/// Whether `no_new_privs` is set on the calling thread.
fn no_new_privs() -> Result<bool, SeccompError> {
    // SAFETY: PR_GET_NO_NEW_PRIVS takes no pointer arguments and only returns 0 or 1.
    let v = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    if v < 0 {
        return Err(SeccompError::NoNewPrivs);
    }
    Ok(v == 1)
}

#[cfg(test)]
pub(crate) mod child_probe;
#[cfg(test)]
mod tests;
