//! Crash safety of the audit log: writers killed in the middle of many appends leave only
//! complete, parseable lines (one `write` per record on an `O_APPEND` file).

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
    Command::new(bin).arg(dir).spawn().unwrap()
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
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    // The only line allowed to be incomplete is a last one without its newline.
    if lines.last().is_some_and(|l| !l.ends_with('\n')) {
        lines.pop();
    }
    assert!(lines.len() > 100, "only {} lines", lines.len());
    for (i, line) in lines.iter().enumerate() {
        let rec: Record = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {} does not parse: {e}", i + 1));
        assert_eq!(rec.argv[2].len(), 16 * 1024);
    }
    assert_eq!(log.read(None).unwrap().len(), lines.len());
}
