//! Paddock's policy layer for commands: rules files, parsers that find what a command line
//! really runs, a classifier of routine read-only commands, approvals, the audit log, explain.
//!
//! How a front end uses it (`paddock run`):
//!
//! ```text
//! let mut engine = Engine::load(&RulePaths::for_workspace(&workspace))?;   // rules files
//! let ctx = Context::from_spec(&spec, &cwd).with_summary(summary);          // where it may write
//! engine.set_session(Session::open_default(SessionId::parse(&id)?)?);       // optional
//! let mut approver: Box<dyn Approver> = /* the front end's: a terminal, an MCP client */;
//! let d = decide(&mut engine, &argv, &ctx, policy.approval, approver.as_mut());
//! let log = AuditLog::open_default()?;
//! if !d.run { log.append(&Record::new(&d, &cwd, &policy))?; /* refuse: exit 125, d.how */ }
//! // ... run in the sandbox, then:
//! log.append(&Record::new(&d, &cwd, &policy).with_run(&run_report))?;
//! ```
//!
//! What it is and is not: the rules decide which commands may start and who approved them; they
//! are not the security boundary, the sandbox is. The parsers see through shells (`bash -c`,
//! `cmd /c`, PowerShell `-Command`), wrappers (`env`, `xargs`, `sudo`, `find -exec`, ...) and
//! quoting, and anything they cannot see through is `prompt`. They cannot see what an
//! interpreter does with its own code (`python -c`, `node -e`, a script file, a Makefile): such
//! programs are `unknown` unless a rule names them, and then only the sandbox limits them.

pub mod approval;
pub mod audit;
pub mod classify;
pub mod context;
pub mod decision;
pub mod error;
pub mod explain;
pub mod judge;
pub mod parse;
pub mod rules;
pub mod session;
pub mod shlex;

pub use approval::{
    ApprovalAnswer, ApprovalRequest, ApprovedBy, Approver, FinalDecision, NoApprover, RequestKind,
    SessionOffer, decide, decide_escalation, decide_rerun,
};
pub use audit::{AuditLog, Record, read_log};
pub use context::Context;
pub use decision::Decision;
pub use error::RulesError;
pub use explain::{Explanation, explain};
pub use judge::{Judgement, Verdict, judge};
pub use rules::engine::{Engine, RulePaths};
pub use session::{Session, SessionId};
