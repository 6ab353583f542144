//! Approvals through MCP elicitation: the gate's `Approver` asks the client's user with a form
//! (run once / allow for this session / deny). Fail closed: a declined, cancelled, malformed or
//! failed elicitation is a denial, and a failure is remembered so the call can say so.

use paddock::rules::approval::{ApprovalAnswer, ApprovalRequest, Approver, RequestKind};
use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema};
use rmcp::{Peer, RoleServer};
use serde_json::json;

/// Asks through `peer`; called on a runtime thread, it waits for the answer inside `away`
/// (which lets the runtime behind `handle` go on meanwhile: see `Away` in the server).
pub struct ElicitApprover {
    peer: Peer<RoleServer>,
    handle: tokio::runtime::Handle,
    away: paddock::HandOff,
    failure: Option<String>,
}

impl ElicitApprover {
    pub fn new(
        peer: Peer<RoleServer>,
        handle: tokio::runtime::Handle,
        away: paddock::HandOff,
    ) -> Self {
        ElicitApprover {
            peer,
            handle,
            away,
            failure: None,
        }
    }

    /// Why asking failed (the client could not be asked), if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure.clone()
    }
}

/// The question shown to the user.
fn message(req: &ApprovalRequest) -> String {
    let what = match req.kind {
        RequestKind::Command => "Run this command in the Paddock sandbox?",
        RequestKind::Escalation => "Run this command OUTSIDE the sandbox, with your full rights?",
        RequestKind::Rerun => {
            "The command failed in the sandbox, apparently on a denial. Run it again OUTSIDE the \
             sandbox, once?"
        }
    };
    let mut m = format!(
        "{what}\n  command: {}\n  in: {}\n  why asked: {}\n  sandbox: {}",
        paddock::core::text::escape(&req.argv.join(" ")),
        paddock::core::text::escape_path(&req.cwd),
        paddock::core::text::escape(&req.reason),
        req.sandbox_summary
    );
    for d in &req.denied {
        m.push_str("\n  denied: ");
        m.push_str(&paddock::core::text::escape(d));
    }
    m
}

impl Approver for ElicitApprover {
    fn ask(&mut self, req: &ApprovalRequest) -> ApprovalAnswer {
        let mut choices = vec!["run-once"];
        // "Allow for this session" only when offered, and never outside the sandbox.
        if req.session.is_some() && req.kind == RequestKind::Command {
            choices.push("allow-for-session");
        }
        choices.push("deny");
        let schema = json!({
            "type": "object",
            "properties": {
                "decision": {
                    "type": "string",
                    "title": "Decision",
                    "enum": choices,
                }
            },
            "required": ["decision"],
        });
        let schema = match schema
            .as_object()
            .cloned()
            .map(ElicitationSchema::from_json_schema)
        {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                self.failure = Some(format!("cannot build the approval form: {e}"));
                return ApprovalAnswer::Deny;
            }
            None => return ApprovalAnswer::Deny,
        };
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: message(req),
            requested_schema: schema,
        };
        let result = self
            .away
            .around(|| self.handle.block_on(self.peer.create_elicitation(params)));
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                self.failure = Some(e.to_string());
                return ApprovalAnswer::Deny;
            }
        };
        if result.action != ElicitationAction::Accept {
            return ApprovalAnswer::Deny;
        }
        let decision = result
            .content
            .as_ref()
            .and_then(|c| c.get("decision"))
            .and_then(|d| d.as_str());
        match decision {
            Some("run-once") => ApprovalAnswer::RunOnce,
            Some("allow-for-session") if choices.contains(&"allow-for-session") => {
                ApprovalAnswer::AllowForSession
            }
            _ => ApprovalAnswer::Deny,
        }
    }
}
