//! The seccomp layer as data (parts of rules on syscall numbers and the low words of their
//! arguments) and the assembler that turns it into the one classic BPF program the kernel
//! runs.
//!
//! Why Paddock assembles the program itself: seccompiler, which built the parts until
//! 2026-12-05, compares the syscall number with each rule's in turn and checks the
//! architecture in every part; building its chains in each sandbox's pid 1 took about 0.15 ms,
//! and the kernel's check of the 700 instructions about 0.15 ms more, on every start.
//! seccompiler stays the reference: `filters::tests` compile the same rules with it, stack them
//! as the kernel would, and compare the answers with this program's on every syscall number.
//!
//! The program: the architecture first (any other kills the process), on x86_64 every x32
//! number refused with EPERM (x32 shares the x86_64 audit architecture; its numbers would
//! dodge the per-number rules), then a binary search on the syscall number. A call no part has
//! rules for is allowed after a handful of comparisons. One with rules jumps to its block,
//! where the parts' rules for it are tried in the parts' order: the first part whose rule
//! holds answers with its action, and when none holds the call is allowed. That is the answer
//! the kernel gives when the parts are installed as separate filters, as long as the earlier
//! parts' actions rank at least as high in seccomp's precedence as the later ones' where their
//! rules overlap (an errno before the broker's notification).

use libc::sock_filter;
use std::collections::BTreeMap;

/// A test on one syscall argument: on its low 32 bits (what the kernel reads of the flags,
/// modes, requests and families tested), or on all 64 (`NonZero`, an address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cond {
    /// Some bit of `mask` is set.
    AnySet {
        arg: u8,
        mask: u32,
    },
    Eq {
        arg: u8,
        value: u32,
    },
    Ne {
        arg: u8,
        value: u32,
    },
    /// The 64-bit argument is not zero.
    NonZero {
        arg: u8,
    },
}

/// Conditions that must all hold; none: always holds.
pub type Rule = Vec<Cond>;

/// A syscall and the rules of a part for it: the part answers when any rule holds.
#[derive(Debug, Clone)]
pub struct Syscall {
    pub nr: u32,
    pub rules: Vec<Rule>,
}

impl Syscall {
    /// Answered whatever its arguments.
    pub fn always(nr: i64) -> Syscall {
        Syscall::when(nr, vec![Vec::new()])
    }

    pub fn when(nr: i64, rules: Vec<Rule>) -> Syscall {
        Syscall {
            nr: u32::try_from(nr).expect("syscall numbers are small and positive"),
            rules,
        }
    }
}

/// One part of the layer: what it answers (`SECCOMP_RET_*`) for the calls its rules hold for.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: &'static str,
    pub action: u32,
    pub syscalls: Vec<Syscall>,
}

/// The answer of an errno part.
pub const fn errno(e: libc::c_int) -> u32 {
    libc::SECCOMP_RET_ERRNO | (e as u32 & libc::SECCOMP_RET_DATA)
}

pub const BPF_LD_W_ABS: u16 = 0x20;
pub const BPF_JA: u16 = 0x05;
pub const BPF_JEQ_K: u16 = 0x15;
pub const BPF_JGE_K: u16 = 0x35;
pub const BPF_JSET_K: u16 = 0x45;
pub const BPF_RET_K: u16 = 0x06;
/// Offsets in `struct seccomp_data`.
pub const DATA_NR: u32 = 0;
pub const DATA_ARCH: u32 = 4;
/// `AUDIT_ARCH_X86_64` and `AUDIT_ARCH_AARCH64` from `<linux/audit.h>`.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// x32 syscalls are x86_64 syscalls with this bit set in their number.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Offset in `struct seccomp_data` of the low word of argument `i` (little-endian targets).
const fn arg_lo(i: u8) -> u32 {
    16 + 8 * i as u32
}

/// One BPF instruction.
pub fn ins(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The architecture a program is for, as the kernel names it in `seccomp_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    pub fn audit(self) -> u32 {
        match self {
            Arch::X86_64 => AUDIT_ARCH_X86_64,
            Arch::Aarch64 => AUDIT_ARCH_AARCH64,
        }
    }
}

/// The program for `parts` (see the module's documentation).
pub fn assemble(arch: Arch, parts: &[Part]) -> Vec<sock_filter> {
    let mut out = vec![
        ins(BPF_LD_W_ABS, 0, 0, DATA_ARCH),
        ins(BPF_JEQ_K, 1, 0, arch.audit()),
        ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
        ins(BPF_LD_W_ABS, 0, 0, DATA_NR),
    ];
    if arch == Arch::X86_64 {
        out.push(ins(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT));
        out.push(ins(BPF_RET_K, 0, 0, errno(libc::EPERM)));
    }
    // Every ruled number's block; numbers whose blocks are the same share one.
    let mut checks: BTreeMap<u32, Vec<(&[Rule], u32)>> = BTreeMap::new();
    for part in parts {
        for s in &part.syscalls {
            checks
                .entry(s.nr)
                .or_default()
                .push((&s.rules[..], part.action));
        }
    }
    let mut blocks: Vec<Vec<sock_filter>> = Vec::new();
    let mut entries: Vec<(u32, usize)> = Vec::new();
    for (nr, tried) in &checks {
        let code = block(tried);
        let at = match blocks.iter().position(|b| same(b, &code)) {
            Some(i) => i,
            None => {
                blocks.push(code);
                blocks.len() - 1
            }
        };
        entries.push((*nr, at));
    }
    let (search, to_block) = search(&entries);
    let base = out.len();
    out.extend(search);
    let mut starts = Vec::with_capacity(blocks.len());
    for b in blocks {
        starts.push(out.len());
        out.extend(b);
    }
    for (at, b) in to_block {
        let at = base + at;
        out[at].k = (starts[b] - at - 1) as u32;
    }
    out
}

fn same(a: &[sock_filter], b: &[sock_filter]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x.code, x.jt, x.jf, x.k) == (y.code, y.jt, y.jf, y.k))
}

/// The block of one syscall number: each part's rules in turn, then allow.
fn block(tried: &[(&[Rule], u32)]) -> Vec<sock_filter> {
    let mut out = Vec::new();
    for &(rules, action) in tried {
        for rule in rules {
            if rule.is_empty() {
                // Holds whatever the arguments: nothing after it is reached.
                out.push(ins(BPF_RET_K, 0, 0, action));
                return out;
            }
            emit_rule(rule, action, &mut out);
        }
    }
    out.push(ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW));
    out
}

/// A failed condition jumps to the instruction after the rule's `RET`.
fn emit_rule(rule: &[Cond], action: u32, out: &mut Vec<sock_filter>) {
    // Conditional jumps still to be pointed past the rule: (index, is the true branch).
    let mut fail: Vec<(usize, bool)> = Vec::new();
    let mut loaded = None;
    fn load(out: &mut Vec<sock_filter>, offset: u32, loaded: &mut Option<u32>) {
        if *loaded != Some(offset) {
            out.push(ins(BPF_LD_W_ABS, 0, 0, offset));
            *loaded = Some(offset);
        }
    }
    for &c in rule {
        match c {
            Cond::AnySet { arg, mask } => {
                load(out, arg_lo(arg), &mut loaded);
                fail.push((out.len(), false));
                out.push(ins(BPF_JSET_K, 0, 0, mask));
            }
            Cond::Eq { arg, value } => {
                load(out, arg_lo(arg), &mut loaded);
                fail.push((out.len(), false));
                out.push(ins(BPF_JEQ_K, 0, 0, value));
            }
            Cond::Ne { arg, value } => {
                load(out, arg_lo(arg), &mut loaded);
                fail.push((out.len(), true));
                out.push(ins(BPF_JEQ_K, 0, 0, value));
            }
            Cond::NonZero { arg } => {
                // Low word not zero: holds (over the high word's test); else the high word.
                out.push(ins(BPF_LD_W_ABS, 0, 0, arg_lo(arg)));
                out.push(ins(BPF_JEQ_K, 0, 2, 0));
                out.push(ins(BPF_LD_W_ABS, 0, 0, arg_lo(arg) + 4));
                fail.push((out.len(), true));
                out.push(ins(BPF_JEQ_K, 0, 0, 0));
                loaded = Some(arg_lo(arg) + 4);
            }
        }
    }
    out.push(ins(BPF_RET_K, 0, 0, action));
    let end = out.len();
    for (at, on_true) in fail {
        let jump = u8::try_from(end - at - 1).expect("a rule is shorter than 256 instructions");
        if on_true {
            out[at].jt = jump;
        } else {
            out[at].jf = jump;
        }
    }
}

/// A self-contained block that, with the syscall number in the accumulator, jumps to the
/// block `entries` names for it or allows the call when it is not listed, and the jumps still
/// to be pointed at a block (their index in the block, and the block).
fn search(entries: &[(u32, usize)]) -> (Vec<sock_filter>, Vec<(usize, usize)>) {
    let mut out = Vec::new();
    let mut to_block = Vec::new();
    if entries.len() <= 3 {
        for &(nr, b) in entries {
            out.push(ins(BPF_JEQ_K, 0, 1, nr));
            to_block.push((out.len(), b));
            out.push(ins(BPF_JA, 0, 0, 0));
        }
        out.push(ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW));
        return (out, to_block);
    }
    let (low, high) = entries.split_at(entries.len() / 2);
    let (low_code, low_jumps) = search(low);
    let (high_code, high_jumps) = search(high);
    // nr >= the first of the upper half: over the lower half's block.
    match u8::try_from(low_code.len()) {
        Ok(over) => out.push(ins(BPF_JGE_K, over, 0, high[0].0)),
        Err(_) => {
            out.push(ins(BPF_JGE_K, 0, 1, high[0].0));
            out.push(ins(BPF_JA, 0, 0, low_code.len() as u32));
        }
    }
    let at = out.len();
    to_block.extend(low_jumps.into_iter().map(|(i, b)| (at + i, b)));
    out.extend(low_code);
    let at = out.len();
    to_block.extend(high_jumps.into_iter().map(|(i, b)| (at + i, b)));
    out.extend(high_code);
    (out, to_block)
}

/// Runs a program on one call the way the kernel does (the instructions above and those
/// seccompiler emits), and counts the instructions run. For tests.
#[cfg(test)]
pub fn run(prog: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn part(name: &'static str, action: u32, syscalls: Vec<Syscall>) -> Part {
        Part {
            name,
            action,
            syscalls,
        }
    }

    #[test]
    fn every_search_path_ends_in_its_block_or_an_allow() {
        for n in 0..40u32 {
            let numbers: Vec<u32> = (0..n).map(|i| i * 3 + 1).collect();
            // Even positions answer 7, odd ones 8.
            let of = |parity: usize| {
                numbers
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % 2 == parity)
                    .map(|(_, &nr)| Syscall::always(i64::from(nr)))
                    .collect()
            };
            let parts = [part("a", 7, of(0)), part("b", 8, of(1))];
            let prog = assemble(Arch::Aarch64, &parts);
            for nr in 0..130 {
                let (got, _) = run(&prog, AUDIT_ARCH_AARCH64, nr, [0; 6]);
                let want = match numbers.iter().position(|&x| x == nr) {
                    Some(i) if i % 2 == 0 => 7,
                    Some(_) => 8,
                    None => libc::SECCOMP_RET_ALLOW,
                };
                assert_eq!(got, want, "{numbers:?} nr {nr}");
            }
            assert_eq!(
                run(&prog, AUDIT_ARCH_X86_64, 0, [0; 6]).0,
                libc::SECCOMP_RET_KILL_PROCESS,
                "another architecture is killed"
            );
        }
    }

    #[test]
    fn a_part_whose_rules_do_not_hold_hands_the_call_to_the_next() {
        let parts = [
            part(
                "a",
                1,
                vec![Syscall::when(5, vec![vec![Cond::Eq { arg: 0, value: 3 }]])],
            ),
            part("b", 9, vec![Syscall::always(5)]),
        ];
        let prog = assemble(Arch::Aarch64, &parts);
        let call = |a0: u64| run(&prog, AUDIT_ARCH_AARCH64, 5, [a0, 0, 0, 0, 0, 0]).0;
        assert_eq!(call(3), 1);
        assert_eq!(call(4), 9);
        assert_eq!(
            run(&prog, AUDIT_ARCH_AARCH64, 6, [0; 6]).0,
            libc::SECCOMP_RET_ALLOW
        );
    }

    #[test]
    fn conditions_test_what_they_say() {
        let rules = vec![
            vec![Cond::AnySet {
                arg: 1,
                mask: 0o6000,
            }],
            vec![Cond::Ne { arg: 2, value: 0 }, Cond::Ne { arg: 2, value: 8 }],
            vec![Cond::NonZero { arg: 4 }],
        ];
        let prog = assemble(
            Arch::Aarch64,
            &[part("p", 1, vec![Syscall::when(9, rules)])],
        );
        let call = |args: [u64; 6]| run(&prog, AUDIT_ARCH_AARCH64, 9, args).0;
        let allow = libc::SECCOMP_RET_ALLOW;
        assert_eq!(call([0; 6]), allow);
        assert_eq!(call([0, 0o4755, 0, 0, 0, 0]), 1);
        assert_eq!(call([0, 0o2755, 0, 0, 0, 0]), 1);
        assert_eq!(
            call([0, 0o755 | (1 << 40), 0, 0, 0, 0]),
            allow,
            "low word only"
        );
        assert_eq!(call([0, 0, 8, 0, 0, 0]), allow);
        assert_eq!(call([0, 0, 9, 0, 0, 0]), 1);
        assert_eq!(call([0, 0, 8 | (1 << 33), 0, 0, 0]), allow, "low word only");
        assert_eq!(call([0, 0, 0, 0, 1, 0]), 1);
        assert_eq!(call([0, 0, 0, 0, 1 << 40, 0]), 1, "the high word counts");
    }
}
