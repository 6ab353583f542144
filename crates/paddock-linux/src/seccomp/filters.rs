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
            bpf: dispatched(arch, deny_rules()?, libc::EPERM)?,
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

/// `compile`, with a binary search on the syscall number in front (see [`with_dispatch`]).
fn dispatched(
    arch: TargetArch,
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    errno: libc::c_int,
) -> Result<BpfProgram, SeccompError> {
    let numbers: Vec<u32> = rules
        .keys()
        .filter_map(|&nr| u32::try_from(nr).ok())
        .collect();
    if numbers.len() != rules.len() {
        return Err(SeccompError::compile("a syscall number out of range"));
    }
    Ok(with_dispatch(
        audit_arch(arch),
        &numbers,
        compile(arch, rules, errno)?,
    ))
}

/// The `AUDIT_ARCH_*` value seccompiler's programs check for `arch`.
fn audit_arch(arch: TargetArch) -> u32 {
    match arch {
        TargetArch::aarch64 => AUDIT_ARCH_AARCH64,
        _ => AUDIT_ARCH_X86_64,
    }
}

/// Puts a binary search on the syscall number in front of `chain`, a seccompiler program
/// whose action for a syscall without a rule is Allow and whose rules are for `numbers`
/// (sorted): a syscall with no rule is allowed after about log2(n) comparisons; one with a rule,
/// and any call of another architecture, goes to `chain` unchanged, which decides as before.
/// So the decision is the same for every call, and cheaper: seccompiler compares the number
/// with each rule's in turn, and the kernel, which runs the program over every syscall number
/// when the filter is installed (to cache what is always allowed), spent about 0.2 ms on the
/// 431-instruction deny-list in each sandbox's start.
fn with_dispatch(arch: u32, numbers: &[u32], chain: BpfProgram) -> BpfProgram {
    let mut prefix = vec![
        ins(BPF_LD_W_ABS, 0, 0, DATA_ARCH),
        ins(BPF_JEQ_K, 1, 0, arch),
        ins(BPF_JA, 0, 0, TO_CHAIN),
        ins(BPF_LD_W_ABS, 0, 0, DATA_NR),
    ];
    prefix.extend(search(numbers));
    // Every jump to the chain lands right after the prefix.
    let start = prefix.len();
    for (pc, i) in prefix.iter_mut().enumerate() {
        if i.code == BPF_JA && i.k == TO_CHAIN {
            i.k = (start - pc - 1) as u32;
        }
    }
    prefix.extend(chain);
    prefix
}

/// One BPF instruction.
fn ins(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// Marks a jump to the chain until the prefix's length is known.
const TO_CHAIN: u32 = u32::MAX;

/// A self-contained block (jumps only forward within itself, or to the chain) that sends the
/// number in the accumulator to the chain when it is in `numbers`, else allows the call.
fn search(numbers: &[u32]) -> Vec<sock_filter> {
    if numbers.len() <= 2 {
        let mut block = Vec::new();
        for &nr in numbers {
            block.push(ins(BPF_JEQ_K, 0, 1, nr));
            block.push(ins(BPF_JA, 0, 0, TO_CHAIN));
        }
        block.push(ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW));
        return block;
    }
    let (low, high) = numbers.split_at(numbers.len() / 2);
    let first_high = high[0];
    let (low, high) = (search(low), search(high));
    // nr >= the first of the upper half: take the jump over the lower half's block; else
    // skip that jump into the lower half.
    let mut block = vec![
        ins(BPF_JGE_K, 0, 1, first_high),
        ins(BPF_JA, 0, 0, low.len() as u32),
    ];
    block.extend(low);
    block.extend(high);
    block
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

/// `AUDIT_ARCH_X86_64` and `AUDIT_ARCH_AARCH64` from `<linux/audit.h>`.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// x32 syscalls are x86_64 syscalls with this bit set in their number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;
const BPF_JA: u16 = 0x05;
/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

/// Refuses every x32 syscall with EPERM (seccompiler's filters match syscall numbers of the
/// x86_64 table only, and the x32 table shares the x86_64 audit architecture).
fn x32_guard() -> BpfProgram {
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

#[cfg(test)]
mod dispatch_tests {
    use super::*;

    /// What a program answers for one call, and after how many instructions. Knows the
    /// instructions seccompiler and `with_dispatch` emit; panics on any other.
    fn run(prog: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
        let word = |off: u32| -> u32 {
            match off {
                0 => nr,
                4 => arch,
                8 | 12 => 0, // instruction pointer
                o if (16..64).contains(&o) => {
                    let a = args[((o - 16) / 8) as usize];
                    if (o - 16) % 8 == 0 {
                        a as u32
                    } else {
                        (a >> 32) as u32
                    }
                }
                o => panic!("load of offset {o}"),
            }
        };
        let (mut acc, mut pc, mut steps) = (0u32, 0usize, 0usize);
        loop {
            let i = &prog[pc];
            steps += 1;
            let jump = |cond: bool| if cond { i.jt as usize } else { i.jf as usize };
            pc += 1 + match i.code {
                0x20 => {
                    acc = word(i.k);
                    0
                }
                0x54 => {
                    acc &= i.k;
                    0
                }
                0x05 => i.k as usize,
                0x15 => jump(acc == i.k),
                0x25 => jump(acc > i.k),
                0x35 => jump(acc >= i.k),
                0x45 => jump(acc & i.k != 0),
                0x06 => return (i.k, steps),
                other => panic!("opcode {other:#x} at {}", pc - 1),
            };
        }
    }

    /// Argument values worth trying: the constants the programs compare with, around them,
    /// and the extremes.
    fn arg_values(prog: &[sock_filter]) -> Vec<u64> {
        let mut v: Vec<u64> = vec![0, 1, u64::MAX, 0xffff_ffff, 0xffff_ffff_0000_0000];
        for i in prog {
            let k = u64::from(i.k);
            v.extend([
                k,
                k.wrapping_add(1),
                k.wrapping_sub(1),
                k | 0x1_0000_0000,
                k | 0o7777,
            ]);
        }
        v.sort();
        v.dedup();
        v
    }

    #[test]
    fn the_dispatched_deny_list_decides_every_call_as_the_chain_alone() {
        let arch = target_arch().unwrap();
        let rules = deny_rules().unwrap();
        let chain = compile(arch, rules.clone(), libc::EPERM).unwrap();
        let fast = dispatched(arch, rules.clone(), libc::EPERM).unwrap();
        let values = arg_values(&chain);
        let arches = [audit_arch(arch), 0x4000_0003 /* i386 */, 0];
        let numbers = (0..1100)
            .chain((0..600).map(|n| n | X32_SYSCALL_BIT))
            .chain([u32::MAX]);
        let mut compared = 0;
        for nr in numbers {
            for &a in &arches {
                let ruled = rules.contains_key(&i64::from(nr));
                let sets: Vec<[u64; 6]> = if ruled {
                    values
                        .iter()
                        .flat_map(|&x| {
                            let ys = [0u64, x, u64::MAX, 0o4755, 0o2755, 0o100];
                            ys.map(|y| [x, y, y, x, 0, 0])
                        })
                        .collect()
                } else {
                    vec![[0; 6], [u64::MAX; 6]]
                };
                for args in sets {
                    let (want, _) = run(&chain, a, nr, args);
                    let (got, _) = run(&fast, a, nr, args);
                    assert_eq!(got, want, "arch {a:#x} nr {nr} args {args:x?}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 10_000, "{compared}");
    }

    #[test]
    fn a_syscall_without_a_rule_is_allowed_in_a_few_steps() {
        let arch = target_arch().unwrap();
        let rules = deny_rules().unwrap();
        let chain = compile(arch, rules.clone(), libc::EPERM).unwrap();
        let fast = dispatched(arch, rules, libc::EPERM).unwrap();
        let nr = libc::SYS_read as u32;
        let (allow, slow) = run(&chain, audit_arch(arch), nr, [0; 6]);
        let (same, quick) = run(&fast, audit_arch(arch), nr, [0; 6]);
        assert_eq!(
            (allow, same),
            (libc::SECCOMP_RET_ALLOW, libc::SECCOMP_RET_ALLOW)
        );
        assert!(
            quick <= 20 && quick * 4 < slow,
            "{quick} against {slow} steps"
        );
    }

    #[test]
    fn every_search_path_ends_in_the_chain_or_an_allow() {
        for n in 0..12u32 {
            let numbers: Vec<u32> = (0..n).map(|i| i * 3 + 1).collect();
            let chain = vec![sock_filter {
                code: BPF_RET_K,
                jt: 0,
                jf: 0,
                k: 7,
            }];
            let prog = with_dispatch(AUDIT_ARCH_X86_64, &numbers, chain);
            for nr in 0..40 {
                let (got, _) = run(&prog, AUDIT_ARCH_X86_64, nr, [0; 6]);
                let want = if numbers.contains(&nr) {
                    7
                } else {
                    libc::SECCOMP_RET_ALLOW
                };
                assert_eq!(got, want, "{numbers:?} nr {nr}");
            }
            assert_eq!(
                run(&prog, 1, 0, [0; 6]).0,
                7,
                "another architecture goes to the chain"
            );
        }
    }
}
