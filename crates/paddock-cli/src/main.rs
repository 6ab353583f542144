//! The `paddock` command: a thin front end that parses flags, loads the layered config and calls
//! the `paddock` library. No sandboxing logic lives here.
//!
//! On Linux with glibc the binary starts at its own C `main`, defined by
//! `paddock::entry_point!` (which says why); Rust takes the `no_main` attribute that this needs
//! only here, at the crate root.
#![cfg_attr(all(target_os = "linux", target_env = "gnu", not(test)), no_main)]

mod args;
mod commands;
mod output;
mod terminal;
mod usage;

paddock::entry_point!(run);

/// The whole command; returns its exit code.
fn run() -> i32 {
    // The backend may re-execute this binary as a helper (the Linux sandbox init, the Windows
    // level-2 command runner); that must happen before anything else runs (no threads, no
    // allocations we rely on).
    paddock::backend::current().run_helper_if_requested();

    init_logging();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let code = match args::parse(&argv) {
        Ok(command) => commands::dispatch(command),
        Err(err) => usage::report(&err, &argv),
    };
    // `exit` flushes stdout and runs the exit handlers, as a return from `main` would.
    std::process::exit(output::exit_code(code));
}

/// `PADDOCK_LOG=debug` (any `tracing` env-filter, e.g. `paddock_linux=debug`) prints each setup
/// step and its time on stderr. Unset, no subscriber is installed: every span and event then
/// costs one relaxed atomic load, and stderr is exactly what it was.
fn init_logging() {
    use std::io::IsTerminal;
    let Some(value) = std::env::var_os("PADDOCK_LOG") else {
        return;
    };
    let filter = match tracing_subscriber::EnvFilter::try_new(value.to_string_lossy()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "paddock: warning: PADDOCK_LOG={}: {e}; logging is off (try PADDOCK_LOG=debug)",
                value.to_string_lossy()
            );
            return;
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .init();
}
