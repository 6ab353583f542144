//! The command-rules gate in front of a run: decide (rules, classifier, approval), record the
//! decision in the audit log, run, record the outcome.
//!
//! Guarantees: a command the rules forbid or nobody approved never starts; every decision is
//! written to the audit log *before* the command starts, and a log that cannot be written stops
//! the run (exit 125) rather than letting it go unrecorded. Prompts go through the caller's
//! `Approver`, so each front end (terminal, MCP, IDE) asks its own way.

use crate::command::SandboxCommand;
use crate::error::PaddockError;
use paddock_core::report::RunReport;
use paddock_rules::approval::{self, Approver, FinalDecision};
use paddock_rules::audit::{AuditLog, Record};
use paddock_rules::context::Context;
use paddock_rules::rules::engine::Engine;

/// What the gate needs besides the command.
pub struct Gate<'a> {
    pub engine: &'a mut Engine,
    pub approver: &'a mut dyn Approver,
    /// `None` disables auditing (tests, or a front end that audits itself).
    pub audit: Option<&'a AuditLog>,
    /// The caller asks to run this command outside the sandbox: always asked, never remembered.
    pub escalate: bool,
}

/// The result of a gated run: the decision and, when the command ran or failed to start, the
/// report (its `decision` field holds the decision as JSON).
pub struct GatedRun {
    pub decision: FinalDecision,
    pub result: Result<RunReport, PaddockError>,
}

/// A short description of what the sandbox allows, shown in prompts.
pub fn sandbox_summary(cmd: &SandboxCommand, escalate: bool) -> String {
    if escalate {
        return "OUTSIDE the sandbox: the command runs with your full rights".into();
    }
    let p = cmd.current_policy();
    let net = match &p.network {
        paddock_core::Network::Off => "no network",
        paddock_core::Network::On => "network on",
        paddock_core::Network::Allowlist(_) => "network allowlist",
    };
    match p.mode {
        paddock_core::Mode::FullAccess => "full-access mode: no sandbox".into(),
        paddock_core::Mode::ReadOnly => {
            format!("read-only: reads all but secrets, writes nothing; {net}")
        }
        paddock_core::Mode::WorkspaceWrite => format!(
            "workspace-write: writes only inside the workspace and writable roots, not .git hooks or config; secrets unreadable; {net}"
        ),
    }
}

/// Runs `cmd` without consulting the rules (the sandbox still applies), recording that the rules
/// were skipped. Fails closed like `run_gated` when the log cannot be written.
pub fn run_unchecked(
    cmd: &SandboxCommand,
    audit: Option<&AuditLog>,
) -> Result<RunReport, PaddockError> {
    let record = Record {
        time: paddock_rules::audit::rfc3339(std::time::SystemTime::now()),
        argv: cmd.argv_lossy(),
        cwd: cmd.cwd_or_current().display().to_string(),
        policy_digest: paddock_rules::audit::policy_digest(cmd.current_policy()),
        rule: None,
        decision: "unchecked".into(),
        ran: true,
        escalation: false,
        approved_by: paddock_rules::approval::ApprovedBy::Mode,
        how: "command rules skipped by the caller (--no-rules); the sandbox applies".into(),
        backend: None,
        enforcement: None,
        exit_code: None,
        duration_ms: None,
        timed_out: false,
        integrity: Vec::new(),
    };
    record_decision(audit, &record)?;
    let result = cmd.run();
    record_outcome(audit, record, &result);
    result
}

/// Appends the record of a decision before the command starts; a log that cannot be written
/// stops the run (the command must not run unrecorded).
fn record_decision(audit: Option<&AuditLog>, record: &Record) -> Result<(), PaddockError> {
    let Some(log) = audit else { return Ok(()) };
    log.append(record).map_err(|e| {
        PaddockError::Setup(format!(
            "cannot write the audit log {}: {e}; fix its permissions or set PADDOCK_STATE_DIR",
            log.path().display()
        ))
    })
}

/// Appends the outcome of a run whose decision is already on record: a failure here is
/// reported, not fatal (the command has already run).
fn record_outcome(
    audit: Option<&AuditLog>,
    record: Record,
    result: &Result<RunReport, PaddockError>,
) {
    let Some(log) = audit else { return };
    let done = match result {
        Ok(report) => record.with_run(report),
        Err(e) => record.with_run(&crate::command::failure_report(e)),
    };
    if let Err(e) = log.append(&done) {
        eprintln!("paddock: warning: cannot append the run's outcome to the audit log: {e}");
    }
}

/// Decides, audits and (when allowed) runs `cmd`.
pub fn run_gated(cmd: &SandboxCommand, gate: Gate<'_>) -> GatedRun {
    let argv = cmd.argv_lossy();
    let prepared = cmd.prepare();
    let (cwd, writable) = match &prepared {
        Ok(p) => (p.command.cwd.clone(), p.spec.writable_roots.clone()),
        Err(_) => (cmd.cwd_or_current(), Vec::new()),
    };
    let ctx = Context::new(&cwd, writable).with_summary(sandbox_summary(cmd, gate.escalate));
    let policy = cmd.current_policy();
    let decision = if gate.escalate {
        approval::decide_escalation(
            gate.engine,
            &argv,
            &ctx,
            "requested by the caller",
            policy.approval,
            gate.approver,
        )
    } else {
        approval::decide(gate.engine, &argv, &ctx, policy.approval, gate.approver)
    };
    let decision_json = serde_json::to_value(&decision).ok();
    let record = Record::new(&decision, &cwd, policy);
    if let Err(err) = record_decision(gate.audit, &record) {
        return GatedRun {
            decision,
            result: Err(err),
        };
    }
    if !decision.run {
        let err = if decision.judgement.verdict == paddock_rules::judge::Verdict::Forbid {
            PaddockError::Forbidden(decision.how.clone())
        } else {
            PaddockError::NotApproved(decision.how.clone())
        };
        return GatedRun {
            decision,
            result: Err(err),
        };
    }
    let result = prepared.and_then(|p| {
        if gate.escalate {
            let mut unconfined = cmd.clone();
            let mut pol = policy.clone();
            pol.mode = paddock_core::Mode::FullAccess;
            unconfined.policy(pol);
            let p = unconfined.prepare()?;
            unconfined.run_prepared(&p)
        } else {
            cmd.run_prepared(&p)
        }
    });
    let result = result.map(|mut report| {
        report.decision = decision_json;
        report
    });
    record_outcome(gate.audit, record, &result);
    GatedRun { decision, result }
}
