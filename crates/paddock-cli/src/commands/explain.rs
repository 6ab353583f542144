//! `paddock explain PATH` (could the sandbox read or write it, and which setting decides) and
//! `paddock explain -- COMMAND...` (the command-rules decision and its reason).

use crate::args::ExplainArgs;
use crate::output;
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
    let target = Path::new(path);
    #[cfg(windows)]
    if spec.mode != paddock_core::Mode::FullAccess {
        return explain_windows(&spec, eff.policy.windows_level, target, &a);
    }
    let e = match paddock::explain::explain_path(&spec, target) {
        Ok(e) => e,
        Err(err) => {
            return output::fail(
                format!(
                    "cannot resolve {}: {err}",
                    paddock_core::text::escape_path(target)
                ),
                paddock::exit::BAD_CONFIG,
            );
        }
    };
    if a.json {
        output::json(&e);
        return 0;
    }
    println!("{}", paddock_core::text::escape_path(&e.path));
    let both = !a.read && !a.write;
    let word = |allowed: bool| if allowed { "allowed" } else { "DENIED" };
    if a.read || both {
        println!(
            "  read:  {:<8} ({})",
            word(e.read.allowed),
            paddock_core::text::escape(&e.read.decided_by)
        );
    }
    if a.write || both {
        println!(
            "  write: {:<8} ({})",
            word(e.write.allowed),
            paddock_core::text::escape(&e.write.decided_by)
        );
    }
    0
}

/// On Windows the ACLs on disk decide: plan the run without applying it and ask the model of
/// the access check, with the caller's real token restricted as the run would restrict it.
#[cfg(windows)]
fn explain_windows(
    spec: &paddock_core::SandboxSpec,
    level: paddock_core::WindowsLevel,
    target: &Path,
    a: &ExplainArgs,
) -> i32 {
    use paddock_windows::explain::Operation;
    let ops: Vec<Operation> = match (a.read, a.write) {
        (true, false) => vec![Operation::Read],
        (false, true) => vec![Operation::Write],
        _ => vec![Operation::Read, Operation::Write],
    };
    let target = match paddock_core::paths::resolve(&spec.workspace, target) {
        Ok(t) => t,
        Err(e) => {
            return output::fail(
                format!(
                    "cannot resolve {}: {e}",
                    paddock_core::text::escape_path(target)
                ),
                paddock::exit::BAD_CONFIG,
            );
        }
    };
    // The ACLs can only protect what exists: a missing control path is checked after the run.
    if let Some(w) = spec
        .watched
        .iter()
        .find(|w| paddock_core::paths::is_beneath(&target, &w.path))
    {
        eprintln!(
            "paddock: note: {} is watched ({}): the ACLs let the command create it, and \
             whatever it creates there is removed after the run",
            w.path.display(),
            w.reason
        );
    }
    let mut verdicts = Vec::new();
    for op in ops {
        match paddock_windows::apply::explain::explain_path(spec, level, &target, op) {
            Ok(v) => verdicts.push(v),
            Err(e) => return output::fail(e, paddock::exit::SANDBOX_UNAVAILABLE),
        }
    }
    if a.json {
        output::json(&verdicts);
    } else {
        for v in &verdicts {
            println!("{v}");
        }
    }
    0
}
