//! `paddock scan-host` (the host scan for locations anyone can write) under its name and under
//! its old name `audit`: both answer the same JSON list, so scripts written for either keep working.

use std::process::Command;

fn scan(name: &str) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_paddock"))
        .args([name, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{name}: {e}: {out:?}"))
}

#[test]
fn scan_host_and_its_old_name_audit_give_the_same_findings() {
    assert_eq!(scan("scan-host"), scan("audit"));
}

#[test]
fn the_help_names_scan_host_and_its_alias() {
    let out = Command::new(env!("CARGO_BIN_EXE_paddock"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("scan-host") && help.contains("audit"),
        "{help}"
    );
}
