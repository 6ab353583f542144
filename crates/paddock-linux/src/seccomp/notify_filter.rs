//! The part of the seccomp program whose calls pid 1's broker thread answers (`SECCOMP_RET_USER_NOTIF`):
//! `connect` and addressed `sendto` when the network is off (see `unix_connect`), and the
//! write-class file calls the observer watches (see `write_observer`). Everything else, and
//! every `open`/`openat` whose flags ask for reading only, is allowed inside the kernel without
//! a round trip to the broker.

use super::program::{Cond, Part, Syscall};
use super::write_observer::{self, Flags};

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

/// The broker's part of the layer's program (`program::assemble` tries it last): `connect`
/// and addressed `sendto` when asked, and the write-class calls, opens only with a write flag.
pub fn part(n: Notify) -> Part {
    let mut syscalls = Vec::new();
    if n.connect {
        syscalls.push(Syscall::always(libc::SYS_connect));
        syscalls.push(Syscall::when(
            libc::SYS_sendto,
            vec![vec![Cond::NonZero { arg: SENDTO_ADDR }]],
        ));
    }
    if n.writes {
        for call in write_observer::WRITE_CALLS {
            syscalls.push(match call.flags {
                Some(Flags::Arg(i)) => Syscall::when(
                    call.nr,
                    vec![vec![Cond::AnySet {
                        arg: i,
                        mask: write_observer::WRITE_FLAGS,
                    }]],
                ),
                _ => Syscall::always(call.nr),
            });
        }
    }
    Part {
        name: "broker",
        action: libc::SECCOMP_RET_USER_NOTIF,
        syscalls,
    }
}

#[cfg(test)]
mod tests {
    use super::super::filters::target_arch;
    use super::super::program::{assemble, run};
    use super::*;

    const NOTIFY: u32 = libc::SECCOMP_RET_USER_NOTIF;
    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;

    /// The part alone, as its own program, run on one call of this architecture.
    fn program(n: Notify) -> impl Fn(i64, [u64; 6]) -> u32 {
        let arch = target_arch().unwrap();
        let prog = assemble(arch, &[part(n)]);
        move |nr, args| run(&prog, arch.audit(), nr as u32, args).0
    }

    #[test]
    fn read_only_opens_stay_in_the_kernel_and_write_opens_reach_the_broker() {
        let p = program(Notify {
            connect: false,
            writes: true,
        });
        let openat = |flags: i32| p(libc::SYS_openat, [0, 0, flags as u64, 0, 0, 0]);
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
            assert_eq!(p(nr, [0; 6]), NOTIFY);
        }
        for nr in [libc::SYS_read, libc::SYS_write, libc::SYS_connect] {
            assert_eq!(p(nr, [0; 6]), ALLOW);
        }
    }

    #[test]
    fn connect_and_addressed_sendto_reach_the_broker_when_asked() {
        let p = program(Notify {
            connect: true,
            writes: false,
        });
        assert_eq!(p(libc::SYS_connect, [0; 6]), NOTIFY);
        assert_eq!(p(libc::SYS_sendto, [0; 6]), ALLOW);
        assert_eq!(p(libc::SYS_sendto, [0, 0, 0, 0, 1 << 40, 0]), NOTIFY);
        assert_eq!(p(libc::SYS_sendto, [0, 0, 0, 0, 8, 0]), NOTIFY);
        assert_eq!(p(libc::SYS_mkdirat, [0; 6]), ALLOW);
        let both = program(Notify {
            connect: true,
            writes: true,
        });
        assert_eq!(both(libc::SYS_connect, [0; 6]), NOTIFY);
        assert_eq!(
            both(libc::SYS_openat, [0, 0, libc::O_WRONLY as u64, 0, 0, 0]),
            NOTIFY
        );
    }
}
