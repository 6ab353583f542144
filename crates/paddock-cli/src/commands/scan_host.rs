//! `paddock scan-host`: locations anyone can write (so a write-restricted sandbox, or any other
//! account, can plant files there), each with why it matters and how to fix it.

use crate::output;
use crate::output::outln;

pub fn run(json: bool) -> i32 {
    let findings = paddock::backend::current().scan_host();
    if json {
        output::json(&findings);
        return 0;
    }
    if findings.is_empty() {
        outln!("No world-writable locations found on PATH or in the scanned system folders.");
    }
    for f in &findings {
        outln!("- {f}");
    }
    0
}
