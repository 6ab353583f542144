//! `paddock setup [--uninstall]`: the backend's one-time setup (Windows level 2: sandbox
//! accounts, their group, the network fence, self-elevating through one UAC prompt). Other
//! systems need none and say so.

use crate::args::SetupArgs;
use crate::output;
use crate::output::outln;
use paddock::backend::{SetupOutcome, SetupRequest};

pub fn run(a: SetupArgs) -> i32 {
    let req = SetupRequest {
        uninstall: a.uninstall,
        for_users: a.for_user.clone(),
    };
    match paddock::backend::current().setup(&req) {
        Ok(SetupOutcome::NotNeeded) => {
            let what = if a.uninstall { "uninstall" } else { "set up" };
            outln!(
                "Nothing to {what} on {}: `paddock setup` creates Windows level 2's sandbox \
                 accounts; this OS's backend needs no setup (see `paddock status`).",
                std::env::consts::OS
            );
            0
        }
        Ok(SetupOutcome::Done(lines)) => {
            for line in &lines {
                outln!("{line}");
            }
            0
        }
        Ok(SetupOutcome::Elevated { exit_code }) => exit_code,
        Err(e) => output::fail(&e, e.exit_code()),
    }
}
