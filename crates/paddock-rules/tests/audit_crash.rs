//! Crash safety of the audit log: concurrent writers killed in the middle of many appends leave
//! complete, parseable lines, plus at most one torn line per killed writer, which is never glued
//! to another record (writers take turns on a lock and start a fresh line after a torn one).

use paddock_rules::audit::{AuditLog, Record};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn stress_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let name = format!("audit_stress{}", std::env::consts::EXE_SUFFIX);
    target.join("examples").join(name)
}

fn spawn(dir: &std::path::Path) -> Child {
    let bin = stress_binary();
    assert!(
        bin.exists(),
        "{} missing: run `cargo test -p paddock-rules`, which builds the examples",
        bin.display()
    );
    // Bounded (at most ~80 MB) even if the test dies before killing it.
    Command::new(bin).arg(dir).arg("5000").spawn().unwrap()
}

#[test]
fn killed_concurrent_writers_leave_only_complete_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut children = vec![spawn(dir.path()), spawn(dir.path())];
    let log = AuditLog::in_dir(dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(log.path()).map_or(0, |m| m.len()) < 4 << 20 {
        assert!(Instant::now() < deadline, "writers made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    for c in &mut children {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    let text = std::fs::read_to_string(log.path()).unwrap();
    let mut complete = 0;
    let mut torn = 0;
    for (i, line) in text.lines().enumerate() {
        assert_eq!(
            line.matches("{\"time\":").count(),
            1,
            "line {} holds two records",
            i + 1
        );
        match serde_json::from_str::<Record>(line) {
            Ok(rec) => {
                assert_eq!(rec.argv[2].len(), 16 * 1024);
                complete += 1;
            }
            Err(_) => torn += 1,
        }
    }
    assert!(complete > 100, "only {complete} complete records");
    assert!(
        torn <= children.len(),
        "{torn} torn lines from {} writers",
        children.len()
    );
    let read = log.read(None).unwrap();
    assert_eq!(read.records.len(), complete);
    assert_eq!(read.skipped.len(), torn, "every torn line is reported");
}

#[test]
fn concurrent_writers_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let bin = stress_binary();
    let mut children: Vec<Child> = (0..3)
        .map(|_| {
            Command::new(&bin)
                .arg(dir.path())
                .arg("200")
                .spawn()
                .unwrap()
        })
        .collect();
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    let log = AuditLog::in_dir(dir.path());
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert_eq!(text.lines().count(), 600);
    let read = log.read(None).unwrap();
    assert_eq!(read.records.len(), 600);
    assert!(read.skipped.is_empty(), "{:?}", read.skipped);
}
