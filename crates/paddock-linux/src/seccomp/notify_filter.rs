//! The one seccomp program whose calls pid 1's broker thread answers (`SECCOMP_RET_USER_NOTIF`):
//! `connect` and addressed `sendto` when the network is off (see `unix_connect`), and the
//! write-class file calls the observer watches (see `write_observer`). Everything else, and
//! every `open`/`openat` whose flags ask for reading only, is allowed inside the kernel without
//! a round trip to the broker.

use super::write_observer::{self, Flags};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// `AUDIT_ARCH_*` of the build's architecture.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;

/// Offset in `struct seccomp_data` of the low word of argument `i` (little-endian targets).
const fn arg_lo(i: u8) -> u32 {
    16 + 8 * i as u32
}

/// `sendto`'s address argument.
const SENDTO_ADDR: u8 = 4;

/// What the program hands to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notify {
    /// `connect`, and `sendto` with an address.
    pub connect: bool,
    /// The write-class calls of `write_observer::WRITE_CALLS`.
    pub writes: bool,
}

/// A jump target while the program is put together.
#[derive(Clone, Copy, PartialEq, Eq)]
enum To {
    Next,
    /// Over the next instruction.
    Skip,
    Notify,
    Allow,
    /// The block that tests the low word of argument `i` against the write flags.
    Flags(u8),
    SendtoAddr,
}

/// One instruction with symbolic jumps.
type Ins = (u16, To, To, u32);

/// Assembles the program: instructions with symbolic jumps, resolved at the end (classic BPF
/// jumps forward only, by at most 255 instructions; the program has fewer than 60).
fn program(n: Notify) -> Vec<libc::sock_filter> {
    let mut code: Vec<Ins> = vec![
        (BPF_LD_W_ABS, To::Next, To::Next, 4),
        (BPF_JEQ_K, To::Skip, To::Next, AUDIT_ARCH),
        (
            BPF_RET_K,
            To::Next,
            To::Next,
            libc::SECCOMP_RET_KILL_PROCESS,
        ),
        (BPF_LD_W_ABS, To::Next, To::Next, 0),
    ];
    if n.connect {
        code.push((BPF_JEQ_K, To::Notify, To::Next, libc::SYS_connect as u32));
        code.push((BPF_JEQ_K, To::SendtoAddr, To::Next, libc::SYS_sendto as u32));
    }
    let mut flag_args: Vec<u8> = Vec::new();
    if n.writes {
        for call in write_observer::WRITE_CALLS {
            let to = match call.flags {
                Some(Flags::Arg(i)) => {
                    if !flag_args.contains(&i) {
                        flag_args.push(i);
                    }
                    To::Flags(i)
                }
                _ => To::Notify,
            };
            code.push((BPF_JEQ_K, to, To::Next, call.nr as u32));
        }
    }
    code.push((BPF_RET_K, To::Next, To::Next, libc::SECCOMP_RET_ALLOW));
    let mut labels: Vec<(To, usize)> = Vec::new();
    if n.connect {
        labels.push((To::SendtoAddr, code.len()));
        code.extend([
            (BPF_LD_W_ABS, To::Next, To::Next, arg_lo(SENDTO_ADDR)),
            (BPF_JEQ_K, To::Next, To::Notify, 0),
            (BPF_LD_W_ABS, To::Next, To::Next, arg_lo(SENDTO_ADDR) + 4),
            (BPF_JEQ_K, To::Allow, To::Notify, 0),
        ]);
    }
    for i in flag_args {
        labels.push((To::Flags(i), code.len()));
        code.extend([
            (BPF_LD_W_ABS, To::Next, To::Next, arg_lo(i)),
            (
                BPF_JSET_K,
                To::Notify,
                To::Allow,
                write_observer::WRITE_FLAGS,
            ),
        ]);
    }
    labels.push((To::Notify, code.len()));
    code.push((BPF_RET_K, To::Next, To::Next, libc::SECCOMP_RET_USER_NOTIF));
    labels.push((To::Allow, code.len()));
    code.push((BPF_RET_K, To::Next, To::Next, libc::SECCOMP_RET_ALLOW));
    let jump = |to: To, from: usize| -> u8 {
        let target = match to {
            To::Next => from + 1,
            To::Skip => from + 2,
            label => labels
                .iter()
                .find(|(l, _)| *l == label)
                .map(|&(_, at)| at)
                .expect("every label is placed"),
        };
        u8::try_from(target - (from + 1)).expect("the broker's program fits short jumps")
    };
    code.iter()
        .enumerate()
        .map(|(i, &(code, jt, jf, k))| {
            let conditional = code == BPF_JEQ_K || code == BPF_JSET_K;
            libc::sock_filter {
                code,
                jt: if conditional { jump(jt, i) } else { 0 },
                jf: if conditional { jump(jf, i) } else { 0 },
                k,
            }
        })
        .collect()
}

/// Installs the program on the calling thread and returns its listener (close-on-exec). Call
/// after the other filters (no_new_privs is set then). The command waits for the broker's
/// answer in a killable sleep once the broker has taken its call (Linux 5.19), so a signal
/// cannot make an `open` fail with `EINTR` while it is looked at; older kernels install
/// without that flag.
pub fn install(n: Notify) -> io::Result<OwnedFd> {
    let program = program(n);
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr().cast_mut(),
    };
    let mut last = io::Error::from_raw_os_error(libc::EINVAL);
    for flags in [
        libc::SECCOMP_FILTER_FLAG_NEW_LISTENER | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
        libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
    ] {
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
            // SAFETY: see above.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        last = io::Error::last_os_error();
        if last.raw_os_error() != Some(libc::EINVAL) {
            break;
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the program on one `seccomp_data` the way the kernel does (the subset it uses).
    fn run(prog: &[libc::sock_filter], nr: i64, args: [u64; 6]) -> u32 {
        let mut data = Vec::new();
        data.extend_from_slice(&(nr as u32).to_ne_bytes());
        data.extend_from_slice(&AUDIT_ARCH.to_ne_bytes());
        data.extend_from_slice(&0u64.to_ne_bytes());
        for a in args {
            data.extend_from_slice(&a.to_ne_bytes());
        }
        let mut acc = 0u32;
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            match i.code {
                BPF_LD_W_ABS => {
                    let k = i.k as usize;
                    acc = u32::from_ne_bytes(data[k..k + 4].try_into().unwrap());
                    pc += 1;
                }
                BPF_JEQ_K => pc += 1 + usize::from(if acc == i.k { i.jt } else { i.jf }),
                BPF_JSET_K => pc += 1 + usize::from(if acc & i.k != 0 { i.jt } else { i.jf }),
                BPF_RET_K => return i.k,
                other => panic!("unexpected instruction {other:#x}"),
            }
        }
    }

    const NOTIFY: u32 = libc::SECCOMP_RET_USER_NOTIF;
    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;

    #[test]
    fn read_only_opens_stay_in_the_kernel_and_write_opens_reach_the_broker() {
        let p = program(Notify {
            connect: false,
            writes: true,
        });
        let openat = |flags: i32| run(&p, libc::SYS_openat, [0, 0, flags as u64, 0, 0, 0]);
        assert_eq!(openat(libc::O_RDONLY | libc::O_CLOEXEC), ALLOW);
        assert_eq!(openat(libc::O_RDONLY | libc::O_DIRECTORY), ALLOW);
        for f in [
            libc::O_WRONLY,
            libc::O_RDWR,
            libc::O_CREAT,
            libc::O_TRUNC,
            libc::O_TMPFILE,
        ] {
            assert_eq!(openat(f), NOTIFY, "{f:#x}");
        }
        for nr in [libc::SYS_mkdirat, libc::SYS_unlinkat, libc::SYS_renameat2] {
            assert_eq!(run(&p, nr, [0; 6]), NOTIFY);
        }
        for nr in [libc::SYS_read, libc::SYS_write, libc::SYS_connect] {
            assert_eq!(run(&p, nr, [0; 6]), ALLOW);
        }
    }

    #[test]
    fn connect_and_addressed_sendto_reach_the_broker_when_asked() {
        let p = program(Notify {
            connect: true,
            writes: false,
        });
        assert_eq!(run(&p, libc::SYS_connect, [0; 6]), NOTIFY);
        assert_eq!(run(&p, libc::SYS_sendto, [0; 6]), ALLOW);
        assert_eq!(run(&p, libc::SYS_sendto, [0, 0, 0, 0, 1 << 40, 0]), NOTIFY);
        assert_eq!(run(&p, libc::SYS_sendto, [0, 0, 0, 0, 8, 0]), NOTIFY);
        assert_eq!(run(&p, libc::SYS_mkdirat, [0; 6]), ALLOW);
        let both = program(Notify {
            connect: true,
            writes: true,
        });
        assert_eq!(run(&both, libc::SYS_connect, [0; 6]), NOTIFY);
        assert_eq!(
            run(
                &both,
                libc::SYS_openat,
                [0, 0, libc::O_WRONLY as u64, 0, 0, 0]
            ),
            NOTIFY
        );
    }

    #[test]
    fn another_architecture_is_killed() {
        let p = program(Notify {
            connect: true,
            writes: true,
        });
        let mut data = p.clone();
        // Feed a wrong arch by flipping the comparison constant instead of the data.
        data[1].k ^= 1;
        assert_eq!(
            run(&data, libc::SYS_read, [0; 6]),
            libc::SECCOMP_RET_KILL_PROCESS
        );
    }
}
