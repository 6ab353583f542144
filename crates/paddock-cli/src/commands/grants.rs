//! `paddock grants list` and `paddock grants forget ROOT`: the ACL grants the Windows backend
//! keeps between runs (a root is granted once, verified per run, removed only here or by
//! `paddock setup --uninstall`). Linux keeps no grants: there is nothing to list or forget.

use crate::args::GrantsAction;
use crate::output;
use paddock::exit;
use paddock_windows::grants::Ledger;
use paddock_windows::sid_registry::SidRegistry;

pub fn run(action: GrantsAction) -> i32 {
    let Some(state) = paddock_core::state::state_dir() else {
        return output::fail(
            "no state directory: set PADDOCK_STATE_DIR",
            exit::BAD_CONFIG,
        );
    };
    match action {
        GrantsAction::List { json } => {
            let ledger = match Ledger::load(&state.join("windows")) {
                Ok(l) => l,
                Err(e) => return output::fail(e, exit::SANDBOX_UNAVAILABLE),
            };
            if json {
                output::json(&ledger.entries);
            } else if ledger.entries.is_empty() {
                println!("No kept grants.");
            } else {
                for g in &ledger.entries {
                    println!("{}  {}  {}", g.root.display(), g.sid, g.path.display());
                }
            }
            0
        }
        GrantsAction::Forget { root } => forget(&state, &root),
    }
}

#[cfg(windows)]
fn forget(state: &std::path::Path, root: &std::path::Path) -> i32 {
    let mut registry = match SidRegistry::open(state) {
        Ok(r) => r,
        Err(e) => return output::fail(e, exit::SANDBOX_UNAVAILABLE),
    };
    let mut store = paddock_windows::apply::acl::NtfsAclStore::new();
    match paddock_windows::grants::forget(root, &mut store, &mut registry) {
        Ok(f) => {
            println!(
                "{}: removed {} kept ACE(s) and its SID",
                f.root.display(),
                f.aces_removed
            );
            0
        }
        Err(e) => output::fail(e, exit::SANDBOX_UNAVAILABLE),
    }
}

#[cfg(not(windows))]
fn forget(state: &std::path::Path, root: &std::path::Path) -> i32 {
    // The pure registry still answers whether the root is known (e.g. state copied from Windows).
    match SidRegistry::open(state).and_then(|r| r.lookup(root)) {
        Ok(None) => {
            println!("{}: no kept grants (this OS keeps none)", root.display());
            0
        }
        Ok(Some(_)) => output::fail(
            "kept grants are removed on Windows, where their ACEs are: run `paddock grants forget` there",
            exit::SANDBOX_UNAVAILABLE,
        ),
        Err(e) => output::fail(e, exit::SANDBOX_UNAVAILABLE),
    }
}
