//! The command-rules gate in front of a run: decide (rules, classifier, approval), record the
//! decision in the audit log, run, record the outcome.
//!
//! Guarantees: a command the rules forbid or nobody approved never starts; every decision is
//! written to the audit log *before* the command starts, and a log that cannot be written stops
//! the run (exit 125) rather than letting it go unrecorded. Prompts go through the caller's
//! `Approver`, so each front end (terminal, MCP, IDE) asks its own way.
//!
//! With `approval = "on-failure"` a failed sandboxed run that the sandbox reports a denial for
//! (or, failing that, whose output looks like one: a heuristic, see `on_failure`) leads to a
//! second request, to rerun once outside the sandbox; both runs and both decisions are audited.

use crate::command::{Prepared, SandboxCommand};
use crate::error::PaddockError;
use paddock_core::policy::ApprovalMode;
use paddock_core::report::{OnFailureReport, RunReport};
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

/// What an escalation will run, exactly, shown in its prompt: the program as resolved with the
/// caller's PATH, the arguments and the directory; or why it cannot run.
pub fn escalation_summary(prepared: &Result<Prepared, PaddockError>) -> String {
    match prepared {
        Ok(p) => {
            let argv: Vec<String> = std::iter::once(p.command.program.as_os_str())
                .chain(p.command.args.iter().map(|a| a.as_os_str()))
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            format!(
                "OUTSIDE the sandbox, with your full rights and your own environment (no \
                 project settings), runs exactly: {} (in {})",
                paddock_rules::shlex::join(&argv),
                p.command.cwd.display()
            )
        }
        Err(e) => format!("OUTSIDE the sandbox; it cannot start: {e}"),
    }
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
        network: None,
        denials: Vec::new(),
        denial_summary: None,
    };
    record_decision(audit, &record)?;
    let result = audit_network(cmd, audit, &record).run();
    record_outcome(audit, record, &result);
    result
}

/// Appends the record of a decision before the command starts; a log that cannot be written
/// stops the run (the command must not run unrecorded).
fn record_decision(audit: Option<&AuditLog>, record: &Record) -> Result<(), PaddockError> {
    let Some(log) = audit else { return Ok(()) };
    let _span = tracing::debug_span!("audit_write", what = "decision").entered();
    log.append(record).map_err(|e| {
        PaddockError::state(
            format!(
                "cannot write the audit log {}: {e}; fix its permissions or set PADDOCK_STATE_DIR",
                log.path().display()
            ),
            Some(Box::new(e)),
        )
    })
}

/// `cmd` with an observer that appends a line to the audit log for each decision of the network
/// allow-list proxy, as it is made (a line that cannot be written is reported, not fatal: the
/// run's decision is on record and the run report lists every connection).
fn audit_network(cmd: &SandboxCommand, audit: Option<&AuditLog>, run: &Record) -> SandboxCommand {
    let mut cmd = cmd.clone();
    if let Some(log) = audit {
        let (log, run) = (log.clone(), run.clone());
        cmd.on_network_event(move |event| {
            if let Err(e) = log.append(&Record::network_event(&run, event)) {
                eprintln!(
                    "paddock: warning: cannot append a network decision to the audit log: {e}"
                );
            }
        });
    }
    cmd
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
    let _span = tracing::debug_span!("audit_write", what = "outcome").entered();
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
    // An escalation is prepared before asking, with the caller's environment and PATH, and run
    // exactly as prepared: the prompt shows the program that will run, not a name.
    let escalated = gate.escalate.then(|| cmd.prepare_escalation());
    let summary = match &escalated {
        Some(e) => escalation_summary(e),
        None => sandbox_summary(cmd, false),
    };
    let policy = cmd.current_policy();
    // The judge asks less inside the sandbox than outside it: tell it which it is.
    let ctx = Context::new(&cwd, writable)
        .with_summary(summary)
        .with_policy(policy);
    let ctx = if gate.escalate {
        ctx.with_sandbox(false, true)
    } else {
        ctx
    };
    let judging = tracing::debug_span!("rules_judge").entered();
    let decision = if gate.escalate {
        let mut d = approval::decide_escalation(
            gate.engine,
            &argv,
            &ctx,
            "requested by the caller",
            policy.approval,
            gate.approver,
        );
        // The audit log and the report keep what was shown: the program as resolved.
        if d.run {
            d.how = format!("{}; shown: {}", d.how, ctx.sandbox_summary);
        }
        d
    } else {
        approval::decide(gate.engine, &argv, &ctx, policy.approval, gate.approver)
    };
    drop(judging);
    tracing::debug!(verdict = ?decision.judgement.verdict, run = decision.run, "judged");
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
    let on_failure = !gate.escalate && policy.approval == ApprovalMode::OnFailure;
    // On-failure needs the output to look for denials: capture it, and hand it on afterwards
    // when the caller did not ask for capture.
    let mut first = audit_network(cmd, gate.audit, &record);
    if on_failure {
        first.capture_output(true);
    }
    let result = match escalated {
        Some(e) => e.and_then(|p| cmd.run_prepared(&p)),
        None => prepared.and_then(|p| first.run_prepared(&p)),
    };
    let result = result.map(|mut report| {
        report.decision = decision_json;
        report
    });
    record_outcome(gate.audit, record, &result);
    let Ok(report) = result else {
        return GatedRun { decision, result };
    };
    if !on_failure {
        return GatedRun {
            decision,
            result: Ok(report),
        };
    }
    if !cmd.captures_output() {
        pass_on_output(&report);
    }
    let denied = crate::on_failure::evidence(&report, policy);
    if denied.lines.is_empty() {
        return GatedRun {
            decision,
            result: Ok(report),
        };
    }
    let result = rerun_outside(cmd, &argv, &ctx, gate, report, denied);
    GatedRun { decision, result }
}

/// Writes a captured run's output to this process's stdout and stderr.
fn pass_on_output(report: &RunReport) {
    use std::io::Write;
    if let Some(out) = &report.stdout {
        let _ = std::io::stdout().write_all(out.as_bytes());
        let _ = std::io::stdout().flush();
    }
    if let Some(err) = &report.stderr {
        let _ = std::io::stderr().write_all(err.as_bytes());
    }
}

/// On-failure: asks to rerun `cmd` outside the sandbox after `failed` (whose output held
/// `denied`), audits the decision and, when approved, the rerun. Not approved: the failed run's
/// report with Paddock's "not approved" exit code and the reason.
fn rerun_outside(
    cmd: &SandboxCommand,
    argv: &[String],
    ctx: &Context,
    gate: Gate<'_>,
    mut failed: RunReport,
    denied: crate::on_failure::Evidence,
) -> Result<RunReport, PaddockError> {
    let why = if denied.heuristic {
        format!(
            "it failed in the sandbox (exit {}) and its output suggests the sandbox denied it; \
             this is a heuristic on the output, not a report from the sandbox",
            failed.exit_code
        )
    } else {
        format!(
            "it failed in the sandbox (exit {}) and the sandbox refused it: {}",
            failed.exit_code,
            denied.lines.first().map_or("", String::as_str)
        )
    };
    // Like an escalation: prepared before asking (the caller's environment and PATH), shown
    // exactly, run as prepared.
    let unconfined = cmd.prepare_escalation();
    let mut outside_ctx = ctx.clone();
    outside_ctx.sandbox_summary = escalation_summary(&unconfined);
    let d = approval::decide_rerun(
        gate.engine,
        argv,
        &outside_ctx,
        &why,
        denied.lines.clone(),
        gate.approver,
    );
    let record = Record::new(&d, &ctx.cwd, cmd.current_policy());
    record_decision(gate.audit, &record)?;
    let mut info = OnFailureReport {
        heuristic: denied.heuristic,
        denied: denied.lines,
        denials: failed.denials.clone(),
        sandboxed_exit_code: failed.exit_code,
        rerun: d.run,
        how: d.how.clone(),
    };
    if !d.run {
        let kind = if info.heuristic {
            "on what looks like a denial (heuristic"
        } else {
            "on a denial (the sandbox's report"
        };
        let err = PaddockError::NotApproved(format!(
            "the command failed in the sandbox (exit {}) {kind}: {}); rerunning it outside the \
             sandbox: {}",
            info.sandboxed_exit_code,
            info.denied.first().map_or("", String::as_str),
            d.how
        ));
        failed.exit_code = err.exit_code();
        failed.error = Some(err.to_string());
        failed.on_failure = Some(info);
        return Ok(failed);
    }
    let result = unconfined
        .and_then(|p| cmd.run_prepared(&p))
        .map(|mut report| {
            report.decision = serde_json::to_value(&d).ok();
            report
        });
    record_outcome(gate.audit, record, &result);
    let mut report = result?;
    info.rerun = true;
    report.on_failure = Some(info);
    Ok(report)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use paddock_rules::approval::{ApprovalAnswer, ApprovalRequest};
    use std::os::unix::fs::PermissionsExt;

    /// Answers "run once" and keeps what it was shown.
    struct Yes(Vec<ApprovalRequest>);

    impl Approver for Yes {
        fn ask(&mut self, req: &ApprovalRequest) -> ApprovalAnswer {
            self.0.push(req.clone());
            ApprovalAnswer::RunOnce
        }
    }

    /// A trusted project's `env.set` (PATH pointing at a planted `sh`, and a variable) is the
    /// sandbox's business only: an escalation runs the caller's `sh`, found with the caller's
    /// PATH, in the caller's environment, and the prompt names that program.
    #[test]
    fn escalation_runs_with_the_callers_path_and_environment_and_shows_the_program() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().canonicalize().unwrap();
        let evil = ws.join("evil-bin");
        std::fs::create_dir(&evil).unwrap();
        let fake = evil.join("sh");
        std::fs::write(&fake, "#!/bin/false\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut policy = paddock_core::config::default_policy();
        policy.project_trusted = true;
        policy
            .env
            .set
            .insert("PATH".into(), evil.display().to_string());
        policy
            .env
            .set
            .insert("PADDOCK_PROJECT_VAR".into(), "from-project".into());
        let mut cmd = SandboxCommand::new("sh");
        cmd.args(["-c", "echo \"${PADDOCK_PROJECT_VAR:-unset}\" > seen"])
            .cwd(&ws)
            .policy(policy);
        let callers_sh = crate::resolve::resolve_program(
            std::ffi::OsStr::new("sh"),
            &ws,
            &std::env::vars_os().collect::<Vec<_>>(),
        )
        .unwrap();
        assert_ne!(callers_sh, fake);
        let mut engine = Engine::empty();
        let mut yes = Yes(Vec::new());
        let run = run_gated(
            &cmd,
            Gate {
                engine: &mut engine,
                approver: &mut yes,
                audit: None,
                escalate: true,
            },
        );
        let report = run.result.expect("the escalation ran");
        assert_eq!(report.exit_code, 0, "{report:?}");
        assert!(report.enforcement.unconfined);
        assert_eq!(
            std::fs::read_to_string(ws.join("seen")).unwrap(),
            "unset\n",
            "the project's variable reached the unconfined command"
        );
        let how = report.decision.as_ref().unwrap()["how"].as_str().unwrap();
        assert!(how.contains(&callers_sh.display().to_string()), "{how}");
        let shown = &yes.0[0].sandbox_summary;
        assert!(
            shown.contains(&format!("{} -c", callers_sh.display())) && !shown.contains("evil"),
            "{shown}"
        );
    }
}

#[cfg(test)]
mod sandbox_judge_tests {
    use super::*;
    use paddock_rules::approval::NoApprover;

    /// A line nested deeper than the parsers follow (it crashed the judge once, leaving no
    /// record) is refused without a terminal, and the refusal is on record before anything runs.
    #[test]
    fn refusal_of_a_deeply_nested_line_is_audited() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::in_dir(dir.path().join("state"));
        let deep = format!("echo {}{}", "$(".repeat(8000), ")".repeat(8000));
        let mut cmd = SandboxCommand::new("bash");
        cmd.arg("-c")
            .arg(deep)
            .workspace(dir.path())
            .cwd(dir.path());
        let mut engine = Engine::empty();
        let mut approver = NoApprover;
        let gated = run_gated(
            &cmd,
            Gate {
                engine: &mut engine,
                approver: &mut approver,
                audit: Some(&log),
                escalate: false,
            },
        );
        assert!(!gated.decision.run, "{}", gated.decision.how);
        assert!(matches!(gated.result, Err(PaddockError::NotApproved(_))));
        let records = log.read(None).unwrap().records;
        assert_eq!(records.len(), 1, "one record: the refusal");
        assert!(!records[0].ran);
        assert!(records[0].how.contains("nest"), "{}", records[0].how);
    }

    /// Inside the sandbox a redirection out of the workspace needs no approval (the sandbox
    /// blocks the write); with `full-access` the same line asks, and without a terminal it is
    /// refused and audited. (The target directory does not exist, so even a broken gate writes
    /// nothing.)
    #[test]
    fn the_judge_is_told_whether_the_command_runs_in_the_sandbox() {
        let line = "echo x > /nonexistent-paddock-test/x";
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::in_dir(dir.path().join("state"));
        let mut engine = Engine::empty();
        let mut approver = NoApprover;
        let mut cmd = SandboxCommand::new("bash");
        cmd.arg("-c")
            .arg(line)
            .workspace(dir.path())
            .cwd(dir.path());
        let mut policy = paddock_core::config::default_policy();
        policy.mode = paddock_core::Mode::FullAccess;
        cmd.policy(policy);
        let gated = run_gated(
            &cmd,
            Gate {
                engine: &mut engine,
                approver: &mut approver,
                audit: Some(&log),
                escalate: false,
            },
        );
        assert!(!gated.decision.run, "{}", gated.decision.how);
        assert_eq!(log.read(None).unwrap().records.len(), 1);
        // The same judgement with the default (sandboxed) policy allows the line.
        let ctx = Context::new(dir.path(), vec![dir.path().to_path_buf()])
            .with_policy(&paddock_core::config::default_policy());
        let argv: Vec<String> = ["bash", "-c", line].iter().map(|s| s.to_string()).collect();
        let j = paddock_rules::judge::judge(&engine, &argv, &ctx);
        assert_eq!(
            j.verdict,
            paddock_rules::judge::Verdict::Allow,
            "{}",
            j.reason()
        );
    }
}
