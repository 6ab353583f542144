//! `paddock run`: consult the command rules, then run one command under the effective policy.

use crate::args::RunArgs;
use crate::output;
use crate::terminal::TerminalApprover;
use paddock::rules::approval::{Approver, NoApprover};
use paddock::rules::audit::AuditLog;
use paddock::rules::rules::engine::{Engine, RulePaths};
use paddock::rules::session::{Session, SessionId};
use paddock::{
    Gate, PaddockError, RunReport, SandboxCommand, failure_report, run_gated, run_unchecked,
};
use paddock_core::text::escape;

pub fn run(a: RunArgs) -> i32 {
    // One run, then this process exits: what only tidies up after the run is left to the exit.
    paddock::exits_after_run();
    let json = a.json;
    let result = gated(&a);
    match result {
        Ok(report) => {
            for event in &report.integrity {
                eprintln!("paddock: integrity: {}", event.describe());
            }
            // An on-failure refusal below names the denial in its own one line.
            let refused = report.on_failure.as_ref().is_some_and(|f| !f.rerun);
            if let (Some(line), false) = (&report.denial_summary, refused) {
                eprintln!("paddock: {line}");
            }
            if json {
                output::json(&report);
            }
            // On-failure: the run failed in the sandbox and the rerun was not approved.
            match (&report.on_failure, &report.error) {
                (Some(f), Some(err)) if !f.rerun => output::fail(err, report.exit_code),
                _ => report.exit_code,
            }
        }
        Err(err) => {
            if json {
                output::json(&failure_report(&err));
            }
            output::fail(&err, err.exit_code())
        }
    }
}

fn gated(a: &RunArgs) -> Result<RunReport, PaddockError> {
    if a.command[0].is_empty() {
        return Err(PaddockError::Config(paddock_core::ConfigError::Value {
            origin: "the command".into(),
            message: "the program name is empty; give the program after `--` \
                      (e.g. paddock run -- cargo test)"
                .into(),
        }));
    }
    let eff = super::load_policy(&a.policy)?;
    let (cwd, workspace) = super::dirs(&a.policy)?;
    super::note_resolved_workspace(&workspace, &eff);
    let mut engine = load_rules(&workspace, eff.policy.project_trusted)?;
    // An empty PADDOCK_SESSION means no session, like an unset one.
    if let Some(id) = a.session.as_deref().filter(|s| !s.is_empty()) {
        let bad = |e: paddock::rules::session::SessionError| {
            PaddockError::Config(paddock_core::ConfigError::Value {
                origin: "--session / PADDOCK_SESSION".into(),
                message: e.to_string(),
            })
        };
        let id = SessionId::parse(id).map_err(bad)?;
        engine.set_session(Session::open_default(id).map_err(bad)?);
    }
    let timeout_set_by = eff
        .sources
        .get("timeout")
        .and_then(|s| s.last())
        .map(ToString::to_string);
    let mut cmd = SandboxCommand::new(&a.command[0]);
    if let Some(source) = timeout_set_by {
        cmd.timeout_set_by(source);
    }
    cmd.args(&a.command[1..])
        .cwd(cwd)
        .workspace(workspace)
        .policy(eff.policy)
        .capture_output(a.json)
        .forward_signals(true);
    if !a.json {
        // Under --json the refusals are in the report's `network` list instead.
        cmd.on_network_event(|event| {
            if !event.allowed {
                eprintln!("{}", refusal_note(event));
            }
        });
    }
    let audit = AuditLog::open_default().map_err(|e| {
        PaddockError::state(
            format!(
                "cannot open the audit log: {e}; set PADDOCK_STATE_DIR to a writable directory"
            ),
            Some(Box::new(e)),
        )
    })?;
    if a.no_rules {
        return run_unchecked(&cmd, Some(&audit));
    }
    let mut terminal;
    let mut none = NoApprover;
    let approver: &mut dyn Approver = match TerminalApprover::open() {
        Ok(t) => {
            terminal = t;
            &mut terminal
        }
        Err(_) => &mut none,
    };
    let gate = Gate {
        engine: &mut engine,
        approver,
        audit: Some(&audit),
        escalate: a.escalate,
    };
    run_gated(&cmd, gate).result
}

/// Loads the user's and the project's rules files.
pub fn load_rules(
    workspace: &std::path::Path,
    project_trusted: bool,
) -> Result<Engine, PaddockError> {
    let mut paths = RulePaths::for_workspace(workspace);
    paths.project_trusted = project_trusted;
    Engine::load(&paths).map_err(|e| {
        PaddockError::Config(paddock_core::ConfigError::Value {
            origin: "rules".into(),
            message: e.to_string(),
        })
    })
}

/// The one line a refused connection gets on stderr; the host and reason come from the
/// sandboxed command's request and are escaped.
fn refusal_note(event: &paddock_core::NetworkEvent) -> String {
    format!(
        "paddock: network: refused {} ({})",
        escape(&event.request()),
        escape(&event.reason)
    )
}
