//! `paddock grants list` and `paddock grants forget ROOT`: the ACL grants the Windows backend
//! keeps between runs (a root is granted once, verified per run, removed only here or by
//! `paddock setup --uninstall`). Linux keeps no grants: there is nothing to list or forget.

use crate::args::GrantsAction;
use crate::output;
use crate::output::outln;
use paddock::exit;

pub fn run(action: GrantsAction) -> i32 {
    let Some(state) = paddock_core::state::state_dir() else {
        return output::fail(
            "no state directory: set PADDOCK_STATE_DIR",
            exit::BAD_CONFIG,
        );
    };
    match action {
        GrantsAction::List { json } => {
            let entries = match paddock::backend::kept_grants(&state) {
                Ok(l) => l,
                Err(e) => return output::fail(&e, e.exit_code()),
            };
            if json {
                output::json(&entries);
            } else if entries.is_empty() {
                outln!("No kept grants.");
            } else {
                for g in &entries {
                    outln!("{}  {}  {}", g.root.display(), g.sid, g.path.display());
                }
            }
            0
        }
        GrantsAction::Forget { root } => {
            match paddock::backend::current().forget_grants(&state, &root) {
                Ok(f) if f.sid_removed || f.aces_removed > 0 => {
                    outln!(
                        "{}: removed {} kept ACE(s) and its SID",
                        f.root.display(),
                        f.aces_removed
                    );
                    0
                }
                Ok(f) => {
                    outln!("{}: no kept grants", f.root.display());
                    0
                }
                Err(e) => output::fail(&e, e.exit_code()),
            }
        }
    }
}
