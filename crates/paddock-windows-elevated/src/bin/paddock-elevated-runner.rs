//! A stand-alone copy of the level-2 runner, for tests and for packagers who keep it apart from
//! `paddock.exe` (point `PADDOCK_RUNNER_EXE` at it). It only ever acts as the runner the broker
//! started; run by hand it explains itself and exits.

fn main() {
    #[cfg(windows)]
    paddock_windows_elevated::win::runner_main_if_requested();
    eprintln!(
        "this is Paddock's sandbox runner; `paddock run` starts it as a sandbox account at \
         windows.level = \"elevated\""
    );
    std::process::exit(2);
}
