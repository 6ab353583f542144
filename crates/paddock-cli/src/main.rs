//! The `paddock` command: a thin front end that parses flags, loads the layered config and calls
//! the `paddock` library. No sandboxing logic lives here.

mod args;
mod commands;
mod output;
mod terminal;
mod usage;

use clap::Parser;

fn main() {
    // The backend may re-execute this binary as a helper (the Linux sandbox init, the Windows
    // level-2 command runner); that must happen before anything else runs (no threads, no
    // allocations we rely on).
    paddock::backend::current().run_helper_if_requested();

    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let code = match args::Cli::try_parse_from(&argv) {
        Ok(cli) => commands::dispatch(cli.command),
        Err(err) => usage::report(&err, &argv),
    };
    std::process::exit(code);
}
