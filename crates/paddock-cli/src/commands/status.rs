//! `paddock status`: what this machine's backend can enforce, and what a run under the effective
//! policy would get. It says what is *enforced*, not what is asked for.

use crate::args::{PolicyArgs, StatusArgs};
use crate::output;
use crate::output::outln;
use paddock::status::{StatusReport, TrialRun};
use paddock_core::config::EffectivePolicy;

pub fn run(a: StatusArgs) -> i32 {
    let eff = match super::load_policy(&a.policy) {
        Ok(e) => e,
        Err(err) => return output::fail(&err, err.exit_code()),
    };
    let report = typed(&a.policy, &eff);
    if a.json {
        output::json(&report);
        return 0;
    }
    outln!("Paddock status ({})", report.os);
    outln!(
        "  effective mode: {}, network: {:?}",
        report.mode.as_str(),
        report.network
    );
    outln!("  backend: {}", report.backend.name);
    for r in &report.backend.requirements {
        let state = if r.available { "available" } else { "MISSING" };
        outln!("    {:<16} {:<10} {}", r.name, state, r.detail);
        if let Some(fix) = &r.fix {
            outln!("    {:<16} {:<10} fix: {fix}", "", "");
        }
        for gap in &r.missing {
            outln!("    {:<16} {:<10} lacks: {gap}", "", "");
        }
    }
    for p in &report.backend.problems {
        outln!("  problem: {p}");
    }
    match &report.trial_run {
        TrialRun::Refused { error, .. } => outln!("  trial run: refused: {error}"),
        TrialRun::Ran(t) => {
            outln!("  trial run (a no-op under the effective policy), enforced layers:");
            for l in &t.layers {
                outln!(
                    "    {:<22} {:<13} {}",
                    l.name.as_str(),
                    l.status.as_str(),
                    l.detail
                );
            }
        }
    }
    outln!("  verdict: {}", report.verdict);
    0
}

fn typed(a: &PolicyArgs, eff: &EffectivePolicy) -> StatusReport {
    StatusReport::new(&eff.policy, super::dirs(a))
}

/// The status report as JSON (the MCP `status` tool).
pub fn report(a: &PolicyArgs, eff: &EffectivePolicy) -> serde_json::Value {
    serde_json::to_value(typed(a, eff)).unwrap_or_default()
}
