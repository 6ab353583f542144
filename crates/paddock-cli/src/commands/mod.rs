//! One module per subcommand; `dispatch` maps a parsed command to its exit code.

mod explain;
mod grants;
mod mcp;
mod policy;
mod rules;
mod run;
mod scan_host;
mod setup;
mod status;

use crate::args::{Command, PolicyArgs};
use paddock::PaddockError;
use paddock_core::Network;
use paddock_core::config::{self, CliOverrides, ConfigPaths, EffectivePolicy};
use paddock_core::policy::LimitKind;
use std::path::PathBuf;

pub fn dispatch(command: Command) -> i32 {
    match command {
        Command::Run(a) => run::run(a),
        Command::Policy { action } => policy::run(action),
        Command::Status(a) => status::run(a),
        Command::Explain(a) => explain::run(a),
        Command::ScanHost { json } => scan_host::run(json),
        Command::Rules { action } => rules::check(action),
        Command::Log(a) => rules::log(a),
        Command::Grants { action } => grants::run(action),
        Command::Setup(a) => setup::run(a),
        Command::Mcp(a) => mcp::run(a),
    }
}

/// The working directory and workspace the flags name (resolved against the current directory).
pub fn dirs(a: &PolicyArgs) -> Result<(PathBuf, PathBuf), PaddockError> {
    let here = std::env::current_dir()?;
    let cwd = a.cwd.as_ref().map_or(here.clone(), |c| here.join(c));
    let workspace = a.workspace.as_ref().map_or(cwd.clone(), |w| here.join(w));
    Ok((cwd, workspace))
}

/// Says on stderr where the workspace really is when `given` reaches it through a link (an
/// earlier run may have planted one), unless the run is refused anyway (the refusal names both).
pub fn note_resolved_workspace(given: &std::path::Path, eff: &EffectivePolicy) {
    if paddock_core::paths::normalize_lexically(given) == eff.workspace {
        return;
    }
    let refused = eff.policy.mode == paddock_core::Mode::WorkspaceWrite
        && paddock_core::roots::HostRoots::from_env()
            .refusal(&eff.workspace)
            .is_some();
    if !refused {
        eprintln!(
            "paddock: note: workspace {} resolves to {}",
            given.display(),
            eff.workspace.display()
        );
    }
}

/// Loads the layered config for the flags.
pub fn load_policy(a: &PolicyArgs) -> Result<EffectivePolicy, PaddockError> {
    let (cwd, workspace) = dirs(a)?;
    if let Some(problem) = paddock_core::paths::dir_problem(&cwd) {
        return Err(paddock_core::SpecError::WorkingDirectory {
            path: cwd,
            reason: problem.into(),
        }
        .into());
    }
    if let Some(problem) = paddock_core::paths::dir_problem(&workspace) {
        return Err(paddock_core::SpecError::Workspace {
            path: workspace,
            reason: problem.into(),
        }
        .into());
    }
    let mut paths = ConfigPaths::for_workspace(&workspace);
    paths.explicit = a.config.clone();
    Ok(config::load(&paths, &overrides(a)?)?)
}

/// The config layer the policy flags make (the highest one).
pub fn overrides(a: &PolicyArgs) -> Result<CliOverrides, PaddockError> {
    Ok(CliOverrides {
        mode: a.mode,
        writable_roots: a.writable.clone(),
        deny_read: a.deny_read.clone(),
        network: a
            .network
            .as_deref()
            .map(|n| if n == "on" { Network::On } else { Network::Off }),
        timeout: a.timeout,
        limits: a
            .limit
            .iter()
            .map(|l| parse_limit_flag(l))
            .collect::<Result<_, _>>()?,
        recipes: a.recipe.clone(),
    })
}

/// One `--limit KIND=VALUE`.
fn parse_limit_flag(flag: &str) -> Result<(LimitKind, Option<u64>), PaddockError> {
    let invalid = |message: String| paddock_core::ConfigError::Value {
        origin: "--limit".into(),
        message,
    };
    let (kind, value) = flag.split_once('=').ok_or_else(|| {
        invalid(format!(
            "`{flag}` is not KIND=VALUE; write e.g. --limit processes=512 or --limit memory=2GiB"
        ))
    })?;
    let kind: LimitKind = kind.trim().parse().map_err(invalid)?;
    let value = paddock_core::policy::parse_limit(kind, value).map_err(invalid)?;
    Ok((kind, value))
}
