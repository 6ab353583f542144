//! Property tests of the three parsers (bash, cmd, PowerShell) through the judge: on random input
//! and on input nested 100,000 levels deep they never panic, never overflow a small thread stack,
//! stay within a memory bound, and finish in bounded time; what they cannot analyse asks.
//!
//! The random inputs come from a seeded generator, so a failure names a reproducible seed.

use paddock_rules::context::Context;
use paddock_rules::judge::{Verdict, judge};
use paddock_rules::rules::engine::Engine;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Counts the bytes allocated now and the peak since the last reset.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The stack the judge gets in these tests: far below the 8 MiB of a main thread, so a
/// recursion that grows with the input's depth fails here.
const STACK: usize = 1 << 20;
/// Peak extra memory one judgement may use.
const MEMORY: usize = 64 << 20;
/// Time one judgement may take (debug build, shared machine: generous).
const TIME: Duration = Duration::from_secs(20);

/// xorshift64*: small, seeded, good enough to spread inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn argv(shell: &str, script: &str) -> Vec<String> {
    let mut a: Vec<String> = match shell {
        "bash" => vec!["bash".into(), "-c".into()],
        "cmd" => vec!["cmd".into(), "/c".into()],
        _ => vec!["pwsh".into(), "-Command".into()],
    };
    a.push(script.to_string());
    a
}

/// Judges `script` in `shell` on a small stack; returns the verdict, the time and peak memory.
fn judge_bounded(shell: &'static str, script: String) -> (Verdict, Duration, usize) {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let engine = Engine::empty();
            let ctx = Context::new("/w", vec!["/w".into()]);
            let a = argv(shell, &script);
            let base = CURRENT.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let start = Instant::now();
            let j = judge(&engine, &a, &ctx);
            let took = start.elapsed();
            let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
            (j.verdict, took, peak)
        })
        .expect("spawn")
        .join()
        .unwrap_or_else(|_| panic!("the judge panicked on {shell} input"))
}

const BASH_ALPHABET: &[&str] = &[
    "$(", ")", "`", "'", "\"", "{", "}", "[", "]", "[[", "]]", "((", "))", "$((", "${", "<", ">",
    ">>", "<<", "<<<", "|", "||", "&", "&&", ";", ";;", "!", " ", " ", " ", "\n", "\t", "=", "#",
    "~", "*", "?", "\\", "ls", "rm", "-rf", "x", "a[", "@P", "eval", "case", "esac", "if", "fi",
    "then", "do", "done", "for", "in", "export", "PATH=", "<(", "EOF", "é", "\u{0}",
];
const CMD_ALPHABET: &[&str] = &[
    "^", "\"", "%", "!", "&", "&&", "|", "||", "(", ")", "<", ">", ">>", "2>&1", " ", " ", "\n",
    ",", ";", "=", "@", "dir", "del", "/s", "x", "%X%", "if", "for", "call", "\\\\h\\s", "é",
];
const PS_ALPHABET: &[&str] = &[
    "$(",
    ")",
    "@(",
    "(",
    "{",
    "}",
    "[",
    "]",
    "'",
    "\"",
    "`",
    "@'\n",
    "\n'@",
    "@\"\n",
    "\n\"@",
    "|",
    "||",
    "&&",
    "&",
    ";",
    " ",
    " ",
    "\n",
    "#",
    "<#",
    "#>",
    ">",
    "2>&1",
    ".",
    "::",
    "=",
    "$x",
    "$env:PATH",
    "Get-Item",
    "rm",
    "-Recurse",
    "iex",
    "[IO.File]",
    "\u{2018}",
    "\u{201C}",
    "\u{2013}",
    "1",
    "é",
];

fn random_script(rng: &mut Rng, alphabet: &[&str]) -> String {
    let len = rng.below(120);
    (0..len)
        .map(|_| alphabet[rng.below(alphabet.len())])
        .collect()
}

#[test]
fn random_input_never_panics_and_stays_bounded() {
    for (shell, alphabet) in [
        ("bash", BASH_ALPHABET),
        ("cmd", CMD_ALPHABET),
        ("pwsh", PS_ALPHABET),
    ] {
        let seed = 0x9E37_79B9_7F4A_7C15u64 ^ shell.len() as u64;
        let mut rng = Rng(seed);
        let batch: Vec<String> = (0..600)
            .map(|_| random_script(&mut rng, alphabet))
            .collect();
        let (out, took, peak) = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || {
                let engine = Engine::empty();
                let ctx = Context::new("/w", vec!["/w".into()]);
                let base = CURRENT.load(Ordering::Relaxed);
                PEAK.store(base, Ordering::Relaxed);
                let start = Instant::now();
                let mut worst = (Duration::ZERO, String::new());
                for script in &batch {
                    let t = Instant::now();
                    let _ = judge(&engine, &argv(shell, script), &ctx);
                    if t.elapsed() > worst.0 {
                        worst = (t.elapsed(), script.clone());
                    }
                }
                let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
                (worst, start.elapsed(), peak)
            })
            .expect("spawn")
            .join()
            .unwrap_or_else(|_| {
                panic!("the judge panicked on random {shell} input (seed {seed:#x})")
            });
        println!(
            "{shell}: 600 random scripts in {took:?}, slowest {:?}, peak {} KiB",
            out.0,
            peak / 1024
        );
        assert!(out.0 < TIME, "{shell}: {:?} on {:?}", out.0, out.1);
        assert!(peak < MEMORY, "{shell}: peak {peak} bytes");
    }
}

/// Deeply nested inputs of every bracket kind each parser recurses on.
fn deep_inputs(depth: usize) -> Vec<(&'static str, &'static str, String)> {
    let wrap = |open: &str, mid: &str, close: &str| {
        format!("{}{mid}{}", open.repeat(depth), close.repeat(depth))
    };
    vec![
        ("bash", "$(", format!("echo {}", wrap("$(", "ls", ")"))),
        ("bash", "(", wrap("(", "ls", ")")),
        ("bash", "{", wrap("{ ", "ls; ", "}; ")),
        ("bash", "$((", format!("echo {}", wrap("$((", "1", "))"))),
        ("bash", "${", format!("echo {}", wrap("${x:-", "y", "}"))),
        (
            "bash",
            "\"$(",
            format!("echo {}", wrap("\"$(", "ls", ")\"")),
        ),
        ("bash", "&&", vec!["true"; depth].join(" && ")),
        (
            "bash",
            "+",
            format!("echo $(({}))", vec!["1"; depth].join("+")),
        ),
        ("bash", "|", vec!["cat"; depth].join(" | ")),
        ("pwsh", "{", wrap("{", "", "}")),
        ("pwsh", "$(", wrap("$(", "Get-Date", ")")),
        ("pwsh", "@(", wrap("@(", "1", ")")),
        ("pwsh", "[", wrap("[", "int", "]")),
        (
            "pwsh",
            "\"$(",
            format!("Write-Output {}", wrap("\"$(", "1", ")\"")),
        ),
        (
            "pwsh",
            "return",
            format!("{}Get-Date", "return ".repeat(depth)),
        ),
        ("pwsh", "=", format!("{}1", "$a = ".repeat(depth))),
        ("cmd", "(", wrap("(", "dir", ")")),
        ("cmd", "&", vec!["dir"; depth].join(" & ")),
    ]
}

#[test]
fn deep_nesting_asks_within_a_small_stack_bounded_memory_and_time() {
    for depth in [70, 8_000, 100_000] {
        for (shell, kind, script) in deep_inputs(depth) {
            let len = script.len();
            let (verdict, took, peak) = judge_bounded(shell, script);
            println!(
                "{shell} {kind:>6} x{depth:>6} ({len:>7} bytes): {verdict:?} in {took:?}, peak {} KiB",
                peak / 1024
            );
            assert!(took < TIME, "{shell} `{kind}` x{depth}: {took:?}");
            assert!(
                peak < MEMORY,
                "{shell} `{kind}` x{depth}: peak {peak} bytes"
            );
            // cmd's parser is a loop: its deep groups are still judged, and `dir` is safe.
            let judged_anyway =
                shell == "cmd" || matches!(kind, "&&" | "|" | "&" | "+" | "return" | "=");
            if !judged_anyway {
                assert!(
                    verdict >= Verdict::Prompt,
                    "{shell} `{kind}` x{depth}: {verdict:?}, must ask"
                );
            }
        }
    }
}
