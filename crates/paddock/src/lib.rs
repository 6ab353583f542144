//! Paddock: run an AI coding agent's shell commands in a sandbox.
//!
//! This crate is the library front: `SandboxCommand` is a builder in the spirit of
//! `std::process::Command` that takes a `Policy` (see `paddock_core::config` for the layered
//! config), picks this OS's backend (Linux namespaces + Landlock + seccomp, or Windows
//! restricted tokens + ACLs + job objects), and returns a `RunReport` saying what ran and what
//! was really enforced. It fails closed: what cannot be enforced is refused with exit code 125.

pub mod backend;
pub mod cancel;
pub mod command;
pub mod error;
pub mod exit;
pub mod explain;
pub mod gate;
pub mod on_failure;
pub mod resolve;
pub mod status;
pub mod warm;

pub use backend::Backend;
pub use command::{Prepared, SandboxCommand, WalkKeeper, failure_report};
pub use error::PaddockError;
pub use gate::{Gate, GatedRun, run_gated, run_unchecked};
pub use paddock_core as core;
pub use paddock_core::{Policy, RunReport};
pub use paddock_rules as rules;
pub use paddock_runner::HandOff;

/// What a front end whose binary starts at its own C `main` (`no_main`, see [`entry_point!`])
/// needs of the standard library's skipped start-up: standard descriptors that are closed opened
/// on `/dev/null`, SIGPIPE ignored; and the allocator limited to one arena (see
/// `paddock_linux::standard_start`). Call it first, before anything else.
#[cfg(target_os = "linux")]
pub fn standard_start() {
    paddock_linux::standard_start();
}

/// Defines a front end's entry point around `$run`, a `fn() -> i32` that returns the exit code
/// (or ends the process itself). On Linux with glibc the binary starts at its own C `main`, so
/// the crate root must carry `#![cfg_attr(all(target_os = "linux", target_env = "gnu",
/// not(test)), no_main)]` (Rust takes that attribute only there): the standard library's
/// start-up would install a stack-overflow handler for the main thread and read
/// `/proc/self/maps` to find its guard page, about 0.15 ms and 20 page faults in every `paddock
/// run` on a 2-core VM (docs/linux.md, "Start-up, eighth round"). That `main` calls
/// [`standard_start`] first, and a panic that reaches it ends the process with 101 as after the
/// standard start-up (the panic hook has printed it), instead of unwinding out of a C function.
/// The arguments still reach `std::env::args_os` (glibc hands them to the standard library
/// before `main`). What is lost: the main thread's stack-overflow message (an overflow ends the
/// process with SIGSEGV) and its name in panic messages. Elsewhere, and in the crate's unit
/// tests, it is an ordinary `fn main`.
#[macro_export]
macro_rules! entry_point {
    ($run:path) => {
        // SAFETY: the process's C entry point, called once by the C runtime with its arguments
        // (not read here: the standard library has them from glibc); no other symbol is `main`.
        #[cfg(all(target_os = "linux", target_env = "gnu", not(test)))]
        #[unsafe(no_mangle)]
        extern "C" fn main(
            _argc: ::std::ffi::c_int,
            _argv: *const *const ::std::ffi::c_char,
        ) -> ::std::ffi::c_int {
            $crate::standard_start();
            ::std::panic::catch_unwind($run).unwrap_or(101)
        }

        #[cfg(not(all(target_os = "linux", target_env = "gnu", not(test))))]
        fn main() {
            ::std::process::exit($run());
        }
    };
}

/// Tells the library that this process exits once its run is over (a one-shot front end such
/// as `paddock run`, never a resident one): work that only tidies up after a run may then be
/// left to the process's exit (see `paddock_runner::workers::leave_drops_to_exit`).
pub fn exits_after_run() {
    paddock_runner::workers::leave_drops_to_exit();
}

/// Tells the library that this process is a resident front end that calls
/// [`reply_sent`] after each reply: work that only tidies up after a run (killing and reaping
/// a finished sandbox, closing its namespaces) is then held until the reply is out, instead of
/// competing with it (see `paddock_runner::workers::hold_drops`).
pub fn tidies_after_replies() {
    paddock_runner::workers::hold_drops();
}

/// A reply has been sent: the tidying held since the last one is done now, on a worker.
pub fn reply_sent() {
    paddock_runner::workers::release_held_drops();
}
