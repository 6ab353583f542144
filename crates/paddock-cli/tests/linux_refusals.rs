//! Fail closed: when the kernel refuses what the sandbox needs, Paddock exits 125 with the
//! cause and the fix, and the command does not run at all.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::*;
use std::process::Command;

#[test]
fn disabled_user_namespaces_refuse_with_the_sysctl_and_the_fix() {
    let w = World::new();
    std::fs::write(w.ws.join("marker.sh"), "echo ran > ran.txt").unwrap();
    // An outer user namespace whose user.max_user_namespaces is 0: creating the sandbox's
    // namespace fails with ENOSPC, as on a host with the sysctl set to 0.
    let inner = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec {} run --mode workspace-write \
         --network off --cwd {} -- sh marker.sh",
        env!("CARGO_BIN_EXE_paddock"),
        w.ws.display()
    );
    let out = Command::new("unshare")
        .args(["-Ur", "sh", "-c", &inner])
        .env("HOME", &w.home)
        .env("PADDOCK_CONFIG_DIR", w.ws.join("no-config"))
        .env("PADDOCK_STATE_DIR", w.ws.join("state"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("user.max_user_namespaces=0") && err.contains("sysctl -w"),
        "{err}"
    );
    assert!(
        !exists(&w.ws.join("ran.txt")),
        "the command ran without a sandbox"
    );
}
