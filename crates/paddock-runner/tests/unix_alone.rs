//! The end of a tree when the test process has no other child: the case where `kill_tree` may
//! skip the walk of the process table (`tree::linux::ended_alone`). One test in its own binary,
//! so that no other test's children are around to send every end down the walk.
#![cfg(target_os = "linux")]

use paddock_runner::ExitInfo;

mod common;
use common::*;

/// Runs `script`, which exits 0, and checks that nothing it started is still alive.
fn nothing_left_by(name: &str, script: &str) {
    let t = tag(name);
    let out = sh_tagged(script, &t, &capture());
    assert_eq!(out.status, ExitInfo::Code(0));
    assert_eq!(tagged_alive(&t), Vec::<String>::new(), "{script}");
}

#[test]
fn a_command_that_exits_leaves_no_background_process_behind() {
    // Nothing left behind: the end is quick and right.
    for _ in 0..3 {
        assert_eq!(sh("exit 5", &capture()).status, ExitInfo::Code(5));
    }
    // The leader ends with processes below it (one in its group, one `setsid`'d whose
    // parent ended): they are children of this process now, so the walk runs and kills them.
    nothing_left_by(
        "exit-leftovers",
        "sleep 300 & setsid sh -c 'sleep 300 &' ; exit 0",
    );
    // A grandchild that left the group while its parent still lives is found too.
    nothing_left_by(
        "exit-nested",
        "sh -c 'setsid sleep 300 & sleep 300' & sleep 0.2; exit 0",
    );
}
