//! `paddock scan-host`: locations anyone can write (so a write-restricted sandbox, or any other
//! account, can plant files there), each with why it matters and how to fix it.

use crate::output;

pub fn run(json: bool) -> i32 {
    let findings = scan();
    if json {
        output::json(&findings);
        return 0;
    }
    if findings.is_empty() {
        println!("No world-writable locations found on PATH or in the scanned system folders.");
    }
    for f in &findings {
        println!("- {f}");
    }
    0
}

#[cfg(unix)]
fn scan() -> Vec<paddock_core::host_scan::Finding> {
    paddock_core::host_scan::scan_system()
}

#[cfg(windows)]
fn scan() -> Vec<paddock_core::host_scan::Finding> {
    use paddock_windows::apply::host_scan;
    let env: Vec<_> = std::env::vars_os().collect();
    let report = host_scan::scan_host(paddock_windows::apply::shell::Env(&env));
    let mut out: Vec<paddock_core::host_scan::Finding> = report
        .findings
        .into_iter()
        .map(|f| paddock_core::host_scan::Finding {
            path: f.path,
            who: format!("{} ({})", f.principal, f.rights.join(", ")),
            why: f.why.to_string(),
            fix: f.fix,
        })
        .collect();
    out.extend(
        report
            .unreadable
            .into_iter()
            .map(|u| paddock_core::host_scan::Finding {
                path: u.path,
                who: "unknown (its permissions could not be read)".into(),
                why: u.reason,
                fix: "run `paddock scan-host` from an account that can read this folder's permissions"
                    .into(),
            }),
    );
    out
}
