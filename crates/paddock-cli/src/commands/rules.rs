//! `paddock rules check FILE`, `paddock log` and `paddock explain -- COMMAND...`.

use crate::args::{LogArgs, RulesAction};
use crate::output;
use crate::output::outln;
use paddock::exit;
use paddock::rules::audit::read_log;
use paddock::rules::context::Context;
use paddock::rules::explain::explain;
use paddock::rules::rules::engine::Engine;
use paddock_core::config::EffectivePolicy;
use paddock_core::text::escape;
use std::ffi::OsString;
use std::path::Path;
use std::time::SystemTime;

pub fn check(action: RulesAction) -> i32 {
    let RulesAction::Check { file } = action;
    match Engine::check_file(&file) {
        Ok(rules) => {
            outln!(
                "{}: {} rule(s), every example checked",
                file.display(),
                rules.len()
            );
            0
        }
        Err(e) => output::fail(e, exit::BAD_CONFIG),
    }
}

pub fn explain_command(
    target: &[OsString],
    cwd: &Path,
    workspace: &Path,
    eff: &EffectivePolicy,
    json: bool,
) -> i32 {
    let argv: Vec<String> = target
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let engine = match super::run::load_rules(workspace, eff.policy.project_trusted) {
        Ok(e) => e,
        Err(err) => return output::fail(&err, err.exit_code()),
    };
    let spec = paddock_core::SandboxSpec::from_policy(&eff.policy, workspace);
    let writable = spec.map(|s| s.writable_roots).unwrap_or_default();
    let ctx = Context::new(cwd, writable).with_policy(&eff.policy);
    let e = explain(&engine, &argv, &ctx);
    if json {
        output::json(&e);
    } else {
        output::text(&e.to_string());
    }
    0
}

pub fn log(a: LogArgs) -> i32 {
    let since = a.since.and_then(|age| SystemTime::now().checked_sub(age));
    let contents = match read_log(since) {
        Ok(c) => c,
        Err(e) => return output::fail(e, exit::BAD_CONFIG),
    };
    for skipped in &contents.skipped {
        // The reason may quote the line, which anyone who could write the log chose: escaped.
        eprintln!(
            "paddock: warning: audit log {}",
            escape(&skipped.to_string())
        );
    }
    let records = contents.records;
    let records = &records[records.len().saturating_sub(a.tail.unwrap_or(usize::MAX))..];
    if a.json {
        for r in records {
            match output::json_line(r) {
                Ok(line) => outln!("{line}"),
                Err(e) => return output::fail(e, exit::SANDBOX_UNAVAILABLE),
            }
        }
        return 0;
    }
    for r in records {
        if r.network.is_some() {
            // One decision of the allow-list proxy during the run of `argv`.
            outln!(
                "{} {:<8} {}  [{}] {}",
                escape(&r.time),
                "network",
                paddock::rules::shlex::join(&r.argv),
                escape(&r.cwd),
                escape(&r.how)
            );
            continue;
        }
        let outcome = match (r.ran, r.exit_code) {
            (true, Some(c)) => format!("exit {c}"),
            (true, None) => "started".to_string(),
            (false, _) => "not run".to_string(),
        };
        // Every field may hold what the command's author wrote: escaped, argv shell-quoted.
        outln!(
            "{} {:<8} {:<10} {}  [{}] {}",
            escape(&r.time),
            escape(&r.decision),
            outcome,
            paddock::rules::shlex::join(&r.argv),
            escape(&r.cwd),
            escape(&r.how)
        );
    }
    0
}
