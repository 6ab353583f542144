//! Appends audit records to the log in the directory given as the first argument, forever or
//! COUNT times. The crash-safety test (`tests/audit_crash.rs`) runs it concurrently and kills it
//! in the middle of its writes.

use paddock_core::policy::ApprovalMode;
use paddock_rules::approval::{NoApprover, decide};
use paddock_rules::audit::{AuditLog, Record};
use paddock_rules::context::Context;
use paddock_rules::rules::engine::Engine;
use std::path::Path;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: audit_stress DIR [COUNT]");
    let count: u64 = std::env::args()
        .nth(2)
        .map_or(u64::MAX, |c| c.parse().expect("COUNT is a number"));
    let log = AuditLog::in_dir(&dir).with_rotation(u64::MAX, 1);
    let policy = paddock_core::config::default_policy();
    let ctx = Context::new("/w", vec!["/w".into()]);
    let mut engine = Engine::empty();
    // Large records make a torn write more likely if the writer were not atomic.
    let big = "x".repeat(16 * 1024);
    for i in 0..count {
        let argv = vec!["echo".to_string(), i.to_string(), big.clone()];
        let d = decide(
            &mut engine,
            &argv,
            &ctx,
            ApprovalMode::OnRisk,
            &mut NoApprover,
        );
        log.append(&Record::new(&d, Path::new("/w"), &policy))
            .expect("append");
    }
}
