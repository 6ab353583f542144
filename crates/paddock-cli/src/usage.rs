//! Usage errors kept to the README's contract: a bad flag, a missing command or `--timeout abc`
//! is one line on stderr naming the problem and where the help is, exit 78, and under `--json`
//! also a JSON error object on stdout. `--help` and `--version` print as clap does and exit 0.

use crate::output;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use paddock::exit;
use std::ffi::OsString;

/// Reports `err` (from parsing `argv`, program name first) and returns the exit code.
pub fn report(err: &clap::Error, argv: &[OsString]) -> i32 {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        // Printing to a closed stdout is not worth a second error.
        let _ = err.print();
        return 0;
    }
    let line = one_line(err, argv);
    if json_requested(argv) {
        if subcommand_path(argv) == "paddock run" {
            output::json(&paddock::RunReport {
                exit_code: exit::BAD_CONFIG,
                error: Some(line.clone()),
                ..paddock::RunReport::default()
            });
        } else {
            output::json(&serde_json::json!({
                "exit_code": exit::BAD_CONFIG,
                "error": line,
            }));
        }
    }
    output::fail(line, exit::BAD_CONFIG)
}

/// `--json` among the flags (before `--`, after which the words are the command's).
fn json_requested(argv: &[OsString]) -> bool {
    argv.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// The problem, then any hint clap has, then `see `paddock SUB --help``, on one line.
fn one_line(err: &clap::Error, argv: &[OsString]) -> String {
    let rendered = err.render().to_string();
    let mut problem = match (err.kind(), context(err, ContextKind::InvalidArg)) {
        (ErrorKind::ValueValidation, Some(arg)) => {
            let detail = std::error::Error::source(err)
                .map_or_else(|| "not accepted".to_string(), ToString::to_string);
            format!(
                "invalid value '{}' for {}: {detail}",
                context(err, ContextKind::InvalidValue).unwrap_or_default(),
                flag_name(&arg)
            )
        }
        (ErrorKind::InvalidValue, Some(arg)) => {
            let value = context(err, ContextKind::InvalidValue).unwrap_or_default();
            match context(err, ContextKind::ValidValue).filter(|v| !v.is_empty()) {
                _ if value.is_empty() => format!("{} needs a value", flag_name(&arg)),
                Some(valid) => format!(
                    "invalid value '{value}' for {}: expected one of: {valid}",
                    flag_name(&arg)
                ),
                None => format!("invalid value '{value}' for {}", flag_name(&arg)),
            }
        }
        (ErrorKind::MissingRequiredArgument, Some(arg)) if arg.contains("<PROGRAM>") => {
            "no command given: put the program and its arguments after `--` \
             (e.g. paddock run -- cargo test)"
                .to_string()
        }
        (ErrorKind::MissingRequiredArgument, Some(arg)) => {
            format!("missing {arg}")
        }
        (ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand, _) => {
            "no subcommand given".to_string()
        }
        _ => rendered
            .lines()
            .next()
            .unwrap_or("invalid arguments")
            .trim_start_matches("error: ")
            .to_string(),
    };
    for tip in rendered
        .lines()
        .filter_map(|l| l.trim().strip_prefix("tip: "))
    {
        problem.push_str("; ");
        problem.push_str(tip);
    }
    format!("{problem}; see `{} --help`", subcommand_path(argv))
}

/// A context value of `err` as plain text (lists joined by `, `).
fn context(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::StyledStrs(v) => Some(
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ContextValue::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `--timeout <SECS>` -> `--timeout`.
fn flag_name(arg: &str) -> &str {
    arg.split_whitespace().next().unwrap_or(arg)
}

/// The subcommand named in `argv` (`paddock run`, `paddock policy show`): the words that name
/// subcommands, walked down from the top, before `--`.
fn subcommand_path(argv: &[OsString]) -> String {
    let mut cmd = <crate::args::Cli as clap::CommandFactory>::command();
    let mut path = vec!["paddock".to_string()];
    for word in argv.iter().skip(1).take_while(|a| *a != "--") {
        let Some(word) = word.to_str() else { continue };
        let Some(sub) = cmd.find_subcommand(word).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_string());
        cmd = sub;
    }
    path.join(" ")
}
