//! The BPF programs of Paddock's seccomp layer, compiled with seccompiler for the build's
//! architecture (x86_64 or aarch64; any other syscall ABI kills the process).
//!
//! Seccomp filters answer with one action each, so the layer is a stack of small programs, each
//! allowing everything but its own syscalls: kernel attack surface and sandbox escapes (EPERM),
//! `clone3` (ENOSYS, because its flags sit behind a pointer the filter cannot read, so libc
//! falls back to `clone`), non-unix sockets when the network is off (EAFNOSUPPORT, so tools fail
//! fast) and, on x86_64, every x32 syscall (their numbers would dodge the per-number rules).

use super::SeccompError;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};
use std::collections::BTreeMap;

/// `open_tree_attr(2)` (Linux 6.15); the same number on every architecture, not yet in libc.
const SYS_OPEN_TREE_ATTR: i64 = 467;
/// `fchmodat2(2)` (Linux 6.6); the same number on every architecture.
const SYS_FCHMODAT2: i64 = 452;

/// Syscalls refused outright with EPERM: debugging other processes, kernel keyrings, eBPF and
/// perf, io_uring (its I/O never passes through seccomp), mounts and namespaces (they would undo
/// the mount view), kernel loading and `userfaultfd` (a classic exploit primitive).
pub const DENIED: &[(&str, i64)] = &[
    ("ptrace", libc::SYS_ptrace),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("pidfd_getfd", libc::SYS_pidfd_getfd),
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("io_uring_setup", libc::SYS_io_uring_setup),
    ("io_uring_enter", libc::SYS_io_uring_enter),
    ("io_uring_register", libc::SYS_io_uring_register),
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("move_mount", libc::SYS_move_mount),
    ("open_tree", libc::SYS_open_tree),
    ("open_tree_attr", SYS_OPEN_TREE_ATTR),
    ("fsopen", libc::SYS_fsopen),
    ("fsmount", libc::SYS_fsmount),
    ("fsconfig", libc::SYS_fsconfig),
    ("fspick", libc::SYS_fspick),
    ("mount_setattr", libc::SYS_mount_setattr),
    ("unshare", libc::SYS_unshare),
    ("setns", libc::SYS_setns),
    ("kexec_load", libc::SYS_kexec_load),
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
];

/// `clone(2)` flags that create namespaces: refused so the sandbox cannot build a fresh user
/// namespace (and with it capabilities) or any other namespace.
const NAMESPACE_FLAGS: &[libc::c_int] = &[
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWNS,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWCGROUP,
];

/// Terminal ioctls that inject input into, or drive, a terminal the sandbox shares with its
/// caller.
const TERMINAL_IOCTLS: &[libc::c_ulong] = &[
    libc::TIOCSTI as libc::c_ulong,
    libc::TIOCLINUX as libc::c_ulong,
];

/// The setuid and setgid mode bits. A file the sandbox marks setuid keeps the bit on the host
/// (mount flags such as `nosuid` belong to the sandbox's mount, not to the file), so a root
/// caller's sandbox could leave a setuid-root program behind for any local user.
const SETID_BITS: [u64; 2] = [libc::S_ISUID as u64, libc::S_ISGID as u64];

/// Syscalls whose mode argument can set the setuid or setgid bit, with that argument's index:
/// chmod and mknod (a regular file made by mknod keeps `S_ISUID`) in every form.
const MODE_SYSCALLS: &[(i64, u8)] = &[
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_chmod, 1),
    (libc::SYS_fchmod, 1),
    (libc::SYS_fchmodat, 2),
    (SYS_FCHMODAT2, 2),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_mknod, 1),
    (libc::SYS_mknodat, 2),
];

/// Syscalls that create a file with a mode, with the index of their flags argument (`None`:
/// the call always creates) and of their mode argument. The kernel keeps `S_ISUID` in the mode
/// of `open(O_CREAT)` (verified: only the first write clears it).
const CREATE_SYSCALLS: &[(i64, Option<u8>, u8)] = &[
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_open, Some(1), 2),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_creat, None, 1),
    (libc::SYS_openat, Some(2), 3),
];

/// Open flags that create a file: `O_CREAT`, and `O_TMPFILE`'s own bit (`__O_TMPFILE`).
const CREATE_FLAGS: [u64; 2] = [
    libc::O_CREAT as u64,
    (libc::O_TMPFILE & !libc::O_DIRECTORY) as u64,
];

/// `personality(2)` values allowed: the query, plain Linux, 32-bit Linux and the uname26 quirk
/// (as container runtimes allow). Everything else (e.g. `ADDR_NO_RANDOMIZE`,
/// `READ_IMPLIES_EXEC`) weakens exploit mitigations.
const ALLOWED_PERSONALITIES: &[u64] = &[0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// The architecture the filters check against.
pub fn target_arch() -> Result<TargetArch, SeccompError> {
    match std::env::consts::ARCH {
        "x86_64" => Ok(TargetArch::x86_64),
        "aarch64" => Ok(TargetArch::aarch64),
        other => Err(SeccompError::UnsupportedArch { arch: other }),
    }
}

/// One compiled program with the name the report and errors use.
pub struct Program {
    pub name: &'static str,
    pub bpf: BpfProgram,
}

/// Every program of the layer for this policy, in the order they are installed.
pub fn build(network_off: bool, inet_loopback: bool) -> Result<Vec<Program>, SeccompError> {
    let arch = target_arch()?;
    let mut programs = vec![
        Program {
            name: "deny-list",
            bpf: compile(arch, deny_rules()?, libc::EPERM)?,
        },
        Program {
            name: "clone3",
            bpf: compile(
                arch,
                BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
                libc::ENOSYS,
            )?,
        },
    ];
    if network_off && inet_loopback {
        programs.push(Program {
            name: "unix-and-inet-sockets-only",
            bpf: compile(
                arch,
                socket_rules(&[libc::AF_UNIX, libc::AF_INET, libc::AF_INET6])?,
                libc::EAFNOSUPPORT,
            )?,
        });
    } else if network_off {
        programs.push(Program {
            name: "unix-sockets-only",
            bpf: compile(arch, socket_rules(&[libc::AF_UNIX])?, libc::EAFNOSUPPORT)?,
        });
    }
    if arch == TargetArch::x86_64 {
        programs.push(Program {
            name: "x32-guard",
            bpf: x32_guard(),
        });
    }
    Ok(programs)
}

fn compile(
    arch: TargetArch,
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    errno: libc::c_int,
) -> Result<BpfProgram, SeccompError> {
    let errno = u32::try_from(errno).unwrap_or(libc::EPERM as u32);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno),
        arch,
    )
    .map_err(SeccompError::compile)?;
    BpfProgram::try_from(filter).map_err(SeccompError::compile)
}

fn condition(
    arg: u8,
    len: SeccompCmpArgLen,
    op: SeccompCmpOp,
    value: u64,
) -> Result<SeccompCondition, SeccompError> {
    SeccompCondition::new(arg, len, op, value).map_err(SeccompError::compile)
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, SeccompError> {
    SeccompRule::new(conditions).map_err(SeccompError::compile)
}

fn deny_rules() -> Result<BTreeMap<i64, Vec<SeccompRule>>, SeccompError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&(_, nr)| (nr, Vec::new())).collect();

    // clone(flags, ...): flags are the first argument on x86_64 and aarch64 alike.
    let clone_rules = NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            let flag = u64::from(flag.unsigned_abs());
            rule(vec![condition(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )?])
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_clone, clone_rules);

    // ioctl(fd, request, ...): the kernel reads the request as a 32-bit value, so compare only
    // the low 32 bits, or garbage in the high half would slip past.
    let ioctl_rules = TERMINAL_IOCTLS
        .iter()
        .map(|&request| {
            rule(vec![condition(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Eq,
                u64::from(request as u32),
            )?])
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_ioctl, ioctl_rules);

    // chmod/mknod/open(O_CREAT) with S_ISUID or S_ISGID. The kernel reads a mode_t from the
    // low bits and the mask looks at the two bits only, so garbage above cannot hide them.
    let has_bit = |arg: u8, bit: u64| {
        condition(
            arg,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::MaskedEq(bit),
            bit,
        )
    };
    for &(nr, mode) in MODE_SYSCALLS {
        let setid = SETID_BITS
            .iter()
            .map(|&bit| rule(vec![has_bit(mode, bit)?]))
            .collect::<Result<Vec<_>, _>>()?;
        rules.insert(nr, setid);
    }
    for &(nr, flags, mode) in CREATE_SYSCALLS {
        let mut setid = Vec::new();
        for &bit in &SETID_BITS {
            match flags {
                None => setid.push(rule(vec![has_bit(mode, bit)?])?),
                Some(flags) => {
                    for &create in &CREATE_FLAGS {
                        setid.push(rule(vec![has_bit(flags, create)?, has_bit(mode, bit)?])?);
                    }
                }
            }
        }
        rules.insert(nr, setid);
    }

    let personality = ALLOWED_PERSONALITIES
        .iter()
        .map(|&p| condition(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, p))
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_personality, vec![rule(personality)?]);
    Ok(rules)
}

/// `socket` and `socketpair` with any family but those in `allowed`.
fn socket_rules(allowed: &[libc::c_int]) -> Result<BTreeMap<i64, Vec<SeccompRule>>, SeccompError> {
    let mut rules = BTreeMap::new();
    for nr in [libc::SYS_socket, libc::SYS_socketpair] {
        let outside = allowed
            .iter()
            .map(|&f| condition(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, f as u64))
            .collect::<Result<Vec<_>, _>>()?;
        rules.insert(nr, vec![rule(outside)?]);
    }
    Ok(rules)
}

/// `AUDIT_ARCH_X86_64` from `<linux/audit.h>`.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// x32 syscalls are x86_64 syscalls with this bit set in their number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;
/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

/// Refuses every x32 syscall with EPERM (seccompiler's filters match syscall numbers of the
/// x86_64 table only, and the x32 table shares the x86_64 audit architecture).
fn x32_guard() -> BpfProgram {
    let ins = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    vec![
        ins(BPF_LD_W_ABS, 0, 0, DATA_ARCH),
        ins(BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
        ins(BPF_LD_W_ABS, 0, 0, DATA_NR),
        ins(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT),
        ins(
            BPF_RET_K,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        ),
        ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ]
}
