//! The rules of Paddock's seccomp layer, as parts of one program (`program::assemble`) for
//! the build's architecture (x86_64 or aarch64; any other syscall ABI kills the process):
//! kernel attack surface and sandbox escapes (EPERM), `clone3` (ENOSYS, because its flags sit
//! behind a pointer the filter cannot read, so libc falls back to `clone`), non-unix sockets
//! when the network is off (EAFNOSUPPORT, so tools fail fast) and, on x86_64, every x32
//! syscall (the assembler's prefix: their numbers would dodge the per-number rules). The
//! broker's part (`notify_filter`) comes last.

use super::SeccompError;
use super::program::{Arch, Cond, Part, Rule, Syscall, errno};

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
const SETID_BITS: [u32; 2] = [libc::S_ISUID, libc::S_ISGID];

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

/// The architecture the program checks against.
pub fn target_arch() -> Result<Arch, SeccompError> {
    match std::env::consts::ARCH {
        "x86_64" => Ok(Arch::X86_64),
        "aarch64" => Ok(Arch::Aarch64),
        other => Err(SeccompError::UnsupportedArch { arch: other }),
    }
}

/// The parts of the layer for this policy, in the order their rules are tried (the broker's
/// part, `notify_filter::part`, goes last).
pub fn parts(network_off: bool, inet_loopback: bool) -> Vec<Part> {
    let mut parts = vec![
        Part {
            name: "deny-list",
            action: errno(libc::EPERM),
            syscalls: deny_syscalls(),
        },
        Part {
            name: "clone3",
            action: errno(libc::ENOSYS),
            syscalls: vec![Syscall::always(libc::SYS_clone3)],
        },
    ];
    if network_off {
        let (name, families): (_, &[libc::c_int]) = if inet_loopback {
            (
                "unix-and-inet-sockets-only",
                &[libc::AF_UNIX, libc::AF_INET, libc::AF_INET6],
            )
        } else {
            ("unix-sockets-only", &[libc::AF_UNIX])
        };
        parts.push(Part {
            name,
            action: errno(libc::EAFNOSUPPORT),
            syscalls: socket_syscalls(families),
        });
    }
    parts
}

/// The setuid and setgid bits as one mask.
const SETID_MASK: u32 = SETID_BITS[0] | SETID_BITS[1];

fn deny_syscalls() -> Vec<Syscall> {
    let mut v: Vec<Syscall> = DENIED.iter().map(|&(_, nr)| Syscall::always(nr)).collect();
    // clone(flags, ...): the namespace flags all sit in the low word of the first argument.
    let namespaces = NAMESPACE_FLAGS
        .iter()
        .fold(0u32, |m, &f| m | f.unsigned_abs());
    v.push(Syscall::when(
        libc::SYS_clone,
        vec![vec![Cond::AnySet {
            arg: 0,
            mask: namespaces,
        }]],
    ));
    // ioctl(fd, request, ...): the kernel reads the request as a 32-bit value.
    v.push(Syscall::when(
        libc::SYS_ioctl,
        TERMINAL_IOCTLS
            .iter()
            .map(|&r| {
                vec![Cond::Eq {
                    arg: 1,
                    value: r as u32,
                }]
            })
            .collect(),
    ));
    // chmod/mknod/open(O_CREAT) with S_ISUID or S_ISGID: the kernel reads a mode_t from the
    // low bits.
    for &(nr, mode) in MODE_SYSCALLS {
        v.push(Syscall::when(
            nr,
            vec![vec![Cond::AnySet {
                arg: mode,
                mask: SETID_MASK,
            }]],
        ));
    }
    let create = CREATE_FLAGS.iter().fold(0u32, |m, &f| m | f as u32);
    for &(nr, flags, mode) in CREATE_SYSCALLS {
        let mut rule: Rule = Vec::new();
        if let Some(flags) = flags {
            rule.push(Cond::AnySet {
                arg: flags,
                mask: create,
            });
        }
        rule.push(Cond::AnySet {
            arg: mode,
            mask: SETID_MASK,
        });
        v.push(Syscall::when(nr, vec![rule]));
    }
    v.push(Syscall::when(
        libc::SYS_personality,
        vec![
            ALLOWED_PERSONALITIES
                .iter()
                .map(|&p| Cond::Ne {
                    arg: 0,
                    value: p as u32,
                })
                .collect(),
        ],
    ));
    v
}

/// `socket` and `socketpair` with any family but `allowed`.
fn socket_syscalls(allowed: &[libc::c_int]) -> Vec<Syscall> {
    [libc::SYS_socket, libc::SYS_socketpair]
        .into_iter()
        .map(|nr| {
            Syscall::when(
                nr,
                vec![
                    allowed
                        .iter()
                        .map(|&f| Cond::Ne {
                            arg: 0,
                            value: f as u32,
                        })
                        .collect(),
                ],
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! seccompiler is the reference: the same rules compiled by it, one filter per part,
    //! stacked as the kernel stacks them, must answer every call as the assembled program.

    use super::super::notify_filter::{Notify, part};
    use super::super::program::{
        AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64, BPF_JEQ_K, BPF_JGE_K, BPF_LD_W_ABS, BPF_RET_K,
        DATA_ARCH, DATA_NR, X32_SYSCALL_BIT, assemble, ins, run,
    };
    use super::*;
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    use std::collections::BTreeMap;

    fn seccompiler_arch(arch: Arch) -> TargetArch {
        match arch {
            Arch::X86_64 => TargetArch::x86_64,
            Arch::Aarch64 => TargetArch::aarch64,
        }
    }

    fn compile(
        arch: Arch,
        rules: BTreeMap<i64, Vec<SeccompRule>>,
        errno: libc::c_int,
    ) -> Vec<libc::sock_filter> {
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            seccompiler_arch(arch),
        )
        .unwrap();
        BpfProgram::try_from(filter)
            .unwrap()
            .iter()
            .map(|i| ins(i.code, i.jt, i.jf, i.k))
            .collect()
    }

    fn condition(
        arg: u8,
        len: SeccompCmpArgLen,
        op: SeccompCmpOp,
        value: u64,
    ) -> Result<SeccompCondition, seccompiler::BackendError> {
        SeccompCondition::new(arg, len, op, value)
    }

    fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, seccompiler::BackendError> {
        SeccompRule::new(conditions)
    }

    fn deny_rules() -> Result<BTreeMap<i64, Vec<SeccompRule>>, seccompiler::BackendError> {
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
                .map(u64::from)
                .iter()
                .map(|&bit| rule(vec![has_bit(mode, bit)?]))
                .collect::<Result<Vec<_>, _>>()?;
            rules.insert(nr, setid);
        }
        for &(nr, flags, mode) in CREATE_SYSCALLS {
            let mut setid = Vec::new();
            for bit in SETID_BITS.map(u64::from) {
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
    fn socket_rules(
        allowed: &[libc::c_int],
    ) -> Result<BTreeMap<i64, Vec<SeccompRule>>, seccompiler::BackendError> {
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

    /// What the kernel answers when `programs` are stacked as separate filters, installed in
    /// this order: each runs, the newest first, and the answer of the highest precedence wins
    /// (the lowest action as a signed number; on a tie, the newest filter's).
    fn stacked(programs: &[Vec<libc::sock_filter>], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let action = |r: u32| (r & 0xffff_0000) as i32;
        let mut ret = libc::SECCOMP_RET_ALLOW;
        for p in programs.iter().rev() {
            let (cur, _) = run(p, arch, nr, args);
            if action(cur) < action(ret) {
                ret = cur;
            }
        }
        ret
    }

    /// The layer as separate filters, seccompiler's but for the broker's part (whose own tests
    /// pin its answers): deny-list, clone3, sockets, the x32 guard (x86_64), the broker.
    fn reference(
        arch: Arch,
        network_off: bool,
        inet_loopback: bool,
        notify: Option<Notify>,
    ) -> Vec<Vec<libc::sock_filter>> {
        let mut programs = vec![
            compile(arch, deny_rules().unwrap(), libc::EPERM),
            compile(
                arch,
                BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
                libc::ENOSYS,
            ),
        ];
        if network_off && inet_loopback {
            programs.push(compile(
                arch,
                socket_rules(&[libc::AF_UNIX, libc::AF_INET, libc::AF_INET6]).unwrap(),
                libc::EAFNOSUPPORT,
            ));
        } else if network_off {
            programs.push(compile(
                arch,
                socket_rules(&[libc::AF_UNIX]).unwrap(),
                libc::EAFNOSUPPORT,
            ));
        }
        if arch == Arch::X86_64 {
            programs.push(vec![
                ins(BPF_LD_W_ABS, 0, 0, DATA_ARCH),
                ins(BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
                ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
                ins(BPF_LD_W_ABS, 0, 0, DATA_NR),
                ins(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT),
                ins(BPF_RET_K, 0, 0, errno(libc::EPERM)),
                ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
            ]);
        }
        if let Some(n) = notify {
            programs.push(assemble(arch, &[part(n)]));
        }
        programs
    }

    /// Argument values worth trying: the constants the programs compare with, around them,
    /// and the extremes.
    fn arg_values(prog: &[libc::sock_filter]) -> Vec<u64> {
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
    fn the_assembled_program_decides_every_call_as_seccompilers_stacked_filters() {
        let arch = target_arch().unwrap();
        let arches = [arch.audit(), 0x4000_0003 /* i386 */, 0];
        let mut compared = 0;
        for (network_off, inet_loopback) in [(false, false), (true, false), (true, true)] {
            for notify in [
                None,
                Some(Notify {
                    connect: network_off,
                    writes: true,
                }),
                Some(Notify {
                    connect: true,
                    writes: false,
                }),
            ] {
                let programs = reference(arch, network_off, inet_loopback, notify);
                let mut parts = parts(network_off, inet_loopback);
                parts.extend(notify.map(part));
                let merged = assemble(arch, &parts);
                let values = arg_values(&programs.concat());
                let ruled: Vec<u32> = parts
                    .iter()
                    .flat_map(|p| p.syscalls.iter().map(|s| s.nr))
                    .collect();
                let numbers = (0..1100)
                    .chain((0..600).map(|n| n | X32_SYSCALL_BIT))
                    .chain([u32::MAX]);
                for nr in numbers {
                    let sets: Vec<[u64; 6]> = if ruled.contains(&nr) {
                        values
                            .iter()
                            .flat_map(|&x| {
                                let ys = [0u64, x, u64::MAX, 0o4755, 0o2755, 0o100, 1 << 40];
                                ys.map(|y| [x, y, y, x, y, 0])
                            })
                            .collect()
                    } else {
                        vec![[0; 6], [u64::MAX; 6]]
                    };
                    for &a in &arches {
                        for &args in &sets {
                            let want = stacked(&programs, a, nr, args);
                            let (got, _) = run(&merged, a, nr, args);
                            assert_eq!(got, want, "arch {a:#x} nr {nr} args {args:x?}");
                            compared += 1;
                        }
                    }
                }
            }
        }
        assert!(compared > 100_000, "{compared}");
    }

    #[test]
    fn the_assembled_program_refuses_the_attacks_and_notifies_the_broker() {
        let arch = target_arch().unwrap();
        let mut parts = parts(true, true);
        parts.push(part(Notify {
            connect: true,
            writes: true,
        }));
        let p = assemble(arch, &parts);
        let eperm = errno(libc::EPERM);
        let call = |nr: i64, args: [u64; 6]| run(&p, arch.audit(), nr as u32, args).0;
        assert_eq!(call(libc::SYS_ptrace, [0; 6]), eperm);
        assert_eq!(call(libc::SYS_unshare, [0; 6]), eperm);
        assert_eq!(call(libc::SYS_clone3, [0; 6]), errno(libc::ENOSYS));
        assert_eq!(
            call(libc::SYS_socket, [libc::AF_NETLINK as u64, 0, 0, 0, 0, 0]),
            errno(libc::EAFNOSUPPORT)
        );
        // A create with the setuid bit is refused, not handed to the broker.
        let o_creat = libc::O_CREAT as u64;
        assert_eq!(call(libc::SYS_openat, [0, 0, o_creat, 0o4755, 0, 0]), eperm);
        assert_eq!(
            call(libc::SYS_openat, [0, 0, o_creat, 0o644, 0, 0]),
            libc::SECCOMP_RET_USER_NOTIF
        );
        assert_eq!(
            call(libc::SYS_connect, [0; 6]),
            libc::SECCOMP_RET_USER_NOTIF
        );
        assert_eq!(call(libc::SYS_read, [0; 6]), libc::SECCOMP_RET_ALLOW);
        assert_eq!(call(libc::SYS_openat, [0; 6]), libc::SECCOMP_RET_ALLOW);
        assert_eq!(
            run(&p, 0x4000_0003, libc::SYS_read as u32, [0; 6]).0,
            libc::SECCOMP_RET_KILL_PROCESS
        );
        if arch == Arch::X86_64 {
            assert_eq!(
                call(libc::SYS_read | i64::from(X32_SYSCALL_BIT), [0; 6]),
                eperm
            );
        }
    }

    #[test]
    fn a_syscall_without_a_rule_is_allowed_in_a_few_steps_by_a_smaller_program() {
        let arch = target_arch().unwrap();
        let chain = compile(arch, deny_rules().unwrap(), libc::EPERM);
        let mut parts = parts(true, true);
        parts.push(part(Notify {
            connect: true,
            writes: true,
        }));
        let fast = assemble(arch, &parts);
        let nr = libc::SYS_read as u32;
        let (allow, slow) = run(&chain, arch.audit(), nr, [0; 6]);
        let (same, quick) = run(&fast, arch.audit(), nr, [0; 6]);
        assert_eq!(
            (allow, same),
            (libc::SECCOMP_RET_ALLOW, libc::SECCOMP_RET_ALLOW)
        );
        assert!(
            quick <= 20 && quick * 4 < slow,
            "{quick} against {slow} steps"
        );
        // The whole layer, broker included, in fewer instructions than seccompiler's deny-list.
        assert!(
            fast.len() < chain.len(),
            "{} against {}",
            fast.len(),
            chain.len()
        );
        let _ = AUDIT_ARCH_AARCH64;
    }
}
