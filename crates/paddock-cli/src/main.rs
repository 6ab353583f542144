//! The `paddock` command: a thin front end that parses flags, loads the layered config and calls
//! the `paddock` library. No sandboxing logic lives here.

mod args;
mod commands;
mod output;
mod terminal;
mod usage;

use clap::Parser;

fn main() {
    // The Linux backend re-executes this binary as its single-threaded sandbox init; that must
    // happen before anything else runs (no threads, no allocations we rely on).
    #[cfg(target_os = "linux")]
    paddock_linux::maybe_run_init();
    // Windows level 2: this binary, started as the sandbox account, is the command runner.
    #[cfg(windows)]
    paddock_windows_elevated::win::runner_main_if_requested();

    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let code = match args::Cli::try_parse_from(&argv) {
        Ok(cli) => commands::dispatch(cli.command),
        Err(err) => usage::report(&err, &argv),
    };
    std::process::exit(code);
}
