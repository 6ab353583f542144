//! `paddock setup [--uninstall]`: Windows level 2's one-time setup (sandbox accounts, their
//! group, the network fence), self-elevating through one UAC prompt. Other systems need none.

use crate::args::SetupArgs;
use crate::output;

#[cfg(windows)]
pub fn run(a: SetupArgs) -> i32 {
    use paddock::exit;
    use paddock_windows_elevated::win::{self, SetupOptions, SetupResult};
    let mut brokers = Vec::new();
    for s in &a.for_user {
        match paddock_windows::sid::Sid::parse(s) {
            Ok(sid) => brokers.push(sid),
            Err(e) => return output::fail(format!("--for-user {s}: {e}"), exit::BAD_CONFIG),
        }
    }
    let relaunch = if a.uninstall {
        "setup --uninstall"
    } else {
        "setup"
    };
    let opts = SetupOptions {
        brokers,
        relaunch_args: Some(relaunch.into()),
    };
    let shown = if a.uninstall {
        win::uninstall(&opts).map(|r| match r {
            SetupResult::Done(o) => {
                for line in &o.removed {
                    println!("removed: {line}");
                }
                println!("{} kept ACE(s) removed", o.aces_removed);
                0
            }
            SetupResult::Elevated { exit_code } => i32::try_from(exit_code).unwrap_or(1),
        })
    } else {
        win::setup(&opts).map(|r| match r {
            SetupResult::Done(o) => {
                for step in &o.steps {
                    println!("done: {step}");
                }
                0
            }
            SetupResult::Elevated { exit_code } => i32::try_from(exit_code).unwrap_or(1),
        })
    };
    match shown {
        Ok(code) => code,
        Err(e) => output::fail(e, exit::SANDBOX_UNAVAILABLE),
    }
}

#[cfg(not(windows))]
pub fn run(a: SetupArgs) -> i32 {
    if !a.for_user.is_empty() {
        return output::fail(
            "--for-user names Windows accounts; it has no meaning here",
            paddock::exit::BAD_CONFIG,
        );
    }
    let what = if a.uninstall { "uninstall" } else { "set up" };
    println!(
        "Nothing to {what} on {}: `paddock setup` creates Windows level 2's sandbox accounts; \
         this OS's backend needs no setup (see `paddock status`).",
        std::env::consts::OS
    );
    0
}
