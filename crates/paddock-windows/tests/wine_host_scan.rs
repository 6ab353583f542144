//! `paddock scan-host` on the machine it runs on: every audited folder is either checked or listed
//! as unreadable with a reason, and every finding carries a reason and an icacls fix naming the
//! folder and the principal's SID.
#![cfg(windows)]

use paddock_windows::apply::host_scan::scan_host;
use paddock_windows::apply::shell::Env;
use std::ffi::OsString;

#[test]
fn the_host_scan_checks_real_folders_and_every_finding_names_its_fix() {
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let report = scan_host(Env(&env));
    assert!(report.checked > 0, "no folder was checked: {report:?}");
    for f in &report.findings {
        assert!(!f.why.is_empty());
        assert!(f.fix.contains(&f.path.display().to_string()), "{}", f.fix);
        assert!(f.fix.contains(&format!("*{}", f.sid)), "{}", f.fix);
        assert!(!f.rights.is_empty());
    }
    for u in &report.unreadable {
        assert!(!u.reason.is_empty());
    }
}
