//! `paddock explain PATH` (could the sandbox read or write it, and which setting decides) and
//! `paddock explain -- COMMAND...` (the command-rules decision and its reason).

use crate::args::ExplainArgs;
use crate::output;
use crate::output::outln;
use paddock::explain::{Access, Explanation};
use std::path::Path;

pub fn run(a: ExplainArgs) -> i32 {
    let eff = match super::load_policy(&a.policy) {
        Ok(e) => e,
        Err(err) => return output::fail(&err, err.exit_code()),
    };
    let (cwd, workspace) = match super::dirs(&a.policy) {
        Ok(d) => d,
        Err(err) => return output::fail(&err, err.exit_code()),
    };
    let Some(path) = a.path.as_deref().filter(|_| a.command.is_empty()) else {
        return super::rules::explain_command(&a.command, &cwd, &workspace, &eff, a.json);
    };
    let spec = match paddock_core::SandboxSpec::from_policy(&eff.policy, &workspace) {
        Ok(s) => s,
        Err(err) => {
            let err = paddock::PaddockError::from(err);
            return output::fail(&err, err.exit_code());
        }
    };
    let ops = match (a.read, a.write) {
        (true, false) => vec![Access::Read],
        (false, true) => vec![Access::Write],
        _ => vec![Access::Read, Access::Write],
    };
    let explained = match paddock::backend::current().explain_path(&spec, Path::new(path), &ops) {
        Ok(e) => e,
        Err(err) => return output::fail(&err, err.exit_code()),
    };
    match explained {
        Explanation::Spec(e) => print_spec(&e, &ops, a.json),
        Explanation::AccessCheck { verdicts, notes } => {
            for note in notes {
                eprintln!("paddock: note: {note}");
            }
            if a.json {
                output::json(&verdicts);
            } else {
                for v in &verdicts {
                    outln!("{v}");
                }
            }
        }
    }
    0
}

/// The spec's answer: read and write with the setting that decides each.
fn print_spec(e: &paddock::explain::PathExplanation, ops: &[Access], json: bool) {
    if json {
        output::json(e);
        return;
    }
    outln!("{}", paddock_core::text::escape_path(&e.path));
    let word = |allowed: bool| if allowed { "allowed" } else { "DENIED" };
    if ops.contains(&Access::Read) {
        outln!(
            "  read:  {:<8} ({})",
            word(e.read.allowed),
            paddock_core::text::escape(&e.read.decided_by)
        );
    }
    if ops.contains(&Access::Write) {
        outln!(
            "  write: {:<8} ({})",
            word(e.write.allowed),
            paddock_core::text::escape(&e.write.decided_by)
        );
    }
}
