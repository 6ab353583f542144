//! `paddock rules check FILE`, `paddock log` and `paddock explain -- COMMAND...`.

use crate::args::{LogArgs, RulesAction};
use crate::output;
use paddock::exit;
use paddock::rules::audit::read_log;
use paddock::rules::context::Context;
use paddock::rules::explain::explain;
use paddock::rules::rules::engine::Engine;
use paddock_core::config::EffectivePolicy;
use paddock_core::text::escape;
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, SystemTime};

pub fn check(action: RulesAction) -> i32 {
    let RulesAction::Check { file } = action;
    match Engine::check_file(&file) {
        Ok(rules) => {
            println!(
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
    let since = match a.since.as_deref().map(parse_age) {
        Some(Some(age)) => SystemTime::now().checked_sub(age),
        Some(None) => {
            return output::fail(
                format!(
                    "--since `{}`: give seconds or a number with s, m, h or d (e.g. 2h)",
                    a.since.unwrap_or_default()
                ),
                exit::BAD_CONFIG,
            );
        }
        None => None,
    };
    let records = match read_log(since) {
        Ok(r) => r,
        Err(e) => return output::fail(e, exit::BAD_CONFIG),
    };
    if a.json {
        for r in &records {
            match output::json_line(r) {
                Ok(line) => println!("{line}"),
                Err(e) => return output::fail(e, exit::SANDBOX_UNAVAILABLE),
            }
        }
        return 0;
    }
    for r in &records {
        let outcome = match (r.ran, r.exit_code) {
            (true, Some(c)) => format!("exit {c}"),
            (true, None) => "started".to_string(),
            (false, _) => "not run".to_string(),
        };
        // Every field may hold what the command's author wrote: escaped, argv shell-quoted.
        println!(
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

/// `90`, `90s`, `15m`, `2h`, `7d`.
fn parse_age(s: &str) -> Option<Duration> {
    let (num, unit) = match s.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        's' => n,
        'm' => n.checked_mul(60)?,
        'h' => n.checked_mul(3600)?,
        'd' => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::parse_age;
    use std::time::Duration;

    #[test]
    fn ages_parse_with_units_and_reject_garbage() {
        assert_eq!(parse_age("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_age("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_age("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_age("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_age("x"), None);
        assert_eq!(parse_age("5y"), None);
        assert_eq!(parse_age(""), None);
    }
}
