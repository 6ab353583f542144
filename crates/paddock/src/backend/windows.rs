//! The Windows adapter: level 1 (`paddock_windows`: restricted token, ACL grants, job object,
//! private desktop) and level 2 (`paddock_windows_elevated`: sandbox accounts, the network
//! fence) behind the `Backend` trait. The level comes from the spec (`[windows] level`). Errors
//! keep their type as the source of the `PaddockError` they become.

use super::{Backend, BackendStatus, Forgotten, Launched, Requirement, SetupOutcome, SetupRequest};
use crate::error::PaddockError;
use crate::explain::{Access, Explanation};
use paddock_core::host_scan::Finding;
use paddock_core::policy::Limits;
use paddock_core::spec::CommandSpec;
use paddock_core::{EnforcementReport, Mode, NetworkLog, SandboxSpec, WindowsLevel};
use paddock_runner::StdioMode;
use paddock_windows::apply::ApplyError;
use paddock_windows::apply::launch::LaunchError;
use paddock_windows::explain::Operation;
use paddock_windows_elevated::win::{self as elevated, SetupOptions, SetupResult};
use std::path::Path;

pub struct Windows;

pub static BACKEND: Windows = Windows;

const LEVEL_1: &str = "write-restricted token, per-root SIDs, ACL grants, job object, private \
                       desktop; reads and network are not restricted at this level";

impl Backend for Windows {
    fn name(&self) -> &'static str {
        "windows"
    }

    fn run_helper_if_requested(&self) {
        elevated::runner_main_if_requested();
    }

    fn probe(&self) -> BackendStatus {
        let here = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."));
        let probe = paddock_windows::apply::probe::probe(&here);
        let level_2 = elevated::status();
        let requirements = vec![
            Requirement {
                name: "level 1".into(),
                available: probe.problems.is_empty(),
                detail: LEVEL_1.into(),
                fix: None,
                missing: vec![paddock_core::Gap::Reads, paddock_core::Gap::Network],
            },
            Requirement {
                name: "level 2 setup".into(),
                available: level_2.setup_current,
                detail: "sandbox accounts, read confinement and the network fence".into(),
                fix: (!level_2.setup_current)
                    .then(|| "run `paddock setup` once (one UAC prompt)".into()),
                missing: Vec::new(),
            },
        ];
        BackendStatus {
            name: self.name(),
            requirements,
            problems: probe.problems.clone(),
            details: Some(serde_json::json!({ "probe": probe, "level_2": level_2 })),
        }
    }

    fn noop_command(&self) -> (&'static str, &'static [&'static str]) {
        ("cmd.exe", &["/c", "exit 0"])
    }

    /// Level 2 only: its fence holds the offline account to the proxy's loopback ports.
    fn supports_allowlist(&self, spec: &SandboxSpec) -> bool {
        spec.windows_level == WindowsLevel::Elevated
    }

    fn launch(
        &self,
        spec: &SandboxSpec,
        cmd: &CommandSpec,
        limits: &Limits,
        stdio: StdioMode,
        log: &NetworkLog,
    ) -> Result<Launched, PaddockError> {
        super::refuse_unenforced_limits(spec, limits)?;
        let (child, mut report) = if spec.windows_level == WindowsLevel::Elevated {
            elevated::prepare_elevated(spec, cmd, stdio, log)
                .map_err(|e| PaddockError::backend("windows-elevated", e))?
        } else {
            paddock_windows::apply::prepare(spec, cmd, spec.windows_level, stdio).map_err(|e| {
                match e {
                    ApplyError::Launch(LaunchError::Spawn { program, source })
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        PaddockError::NotFound { program }
                    }
                    other => PaddockError::backend("windows", other),
                }
            })?
        };
        super::report_unenforced_limits(limits, &mut report);
        Ok((child, report))
    }

    fn launch_unconfined(
        &self,
        cmd: &CommandSpec,
        stdio: StdioMode,
    ) -> Result<Launched, PaddockError> {
        let launch = paddock_runner::windows::WinLaunch::new(
            cmd.program.clone(),
            cmd.args.clone(),
            cmd.cwd.clone(),
            cmd.env.clone(),
        );
        let child = paddock_runner::windows::spawn(launch, stdio)?;
        Ok((child, EnforcementReport::unconfined()))
    }

    /// The ACLs on disk decide: plan the run without applying it and ask the model of the
    /// access check, with the caller's real token restricted as the run would restrict it.
    fn explain_path(
        &self,
        spec: &SandboxSpec,
        path: &Path,
        ops: &[Access],
    ) -> Result<Explanation, PaddockError> {
        if spec.mode == Mode::FullAccess {
            return crate::explain::explain_path(spec, path)
                .map(Explanation::Spec)
                .map_err(|e| PaddockError::Resolve {
                    path: path.to_path_buf(),
                    source: e,
                });
        }
        let target = paddock_core::paths::resolve(&spec.workspace, path).map_err(|e| {
            PaddockError::Resolve {
                path: path.to_path_buf(),
                source: e,
            }
        })?;
        // The ACLs can only protect what exists: a missing control path is checked after the run.
        let notes = spec
            .watched
            .iter()
            .filter(|w| paddock_core::paths::is_beneath(&target, &w.path))
            .map(|w| {
                format!(
                    "{} is watched ({}): the ACLs let the command create it, and whatever it \
                     creates there is removed after the run",
                    w.path.display(),
                    w.reason
                )
            })
            .collect();
        let mut verdicts = Vec::new();
        for op in ops {
            let op = match op {
                Access::Read => Operation::Read,
                Access::Write => Operation::Write,
            };
            let v = paddock_windows::apply::explain::explain_path(
                spec,
                spec.windows_level,
                &target,
                op,
            )
            .map_err(|e| PaddockError::backend("windows", e))?;
            verdicts.push(v);
        }
        Ok(Explanation::AccessCheck { verdicts, notes })
    }

    fn scan_host(&self) -> Vec<Finding> {
        use paddock_windows::apply::host_scan;
        let env: Vec<_> = std::env::vars_os().collect();
        let report = host_scan::scan_host(paddock_windows::apply::shell::Env(&env));
        let mut out: Vec<Finding> = report
            .findings
            .into_iter()
            .map(|f| Finding {
                path: f.path,
                who: format!("{} ({})", f.principal, f.rights.join(", ")),
                why: f.why.to_string(),
                fix: f.fix,
            })
            .collect();
        out.extend(report.unreadable.into_iter().map(|u| {
            Finding {
            path: u.path,
            who: "unknown (its permissions could not be read)".into(),
            why: u.reason,
            fix: "run `paddock scan-host` from an account that can read this folder's permissions"
                .into(),
        }
        }));
        out
    }

    fn setup(&self, req: &SetupRequest) -> Result<SetupOutcome, PaddockError> {
        let mut brokers = Vec::new();
        for s in &req.for_users {
            let sid = paddock_windows::sid::Sid::parse(s).map_err(|e| {
                paddock_core::ConfigError::Value {
                    origin: format!("--for-user {s}"),
                    message: e.to_string(),
                }
            })?;
            brokers.push(sid);
        }
        let relaunch = if req.uninstall {
            "setup --uninstall"
        } else {
            "setup"
        };
        let opts = SetupOptions {
            brokers,
            relaunch_args: Some(relaunch.into()),
        };
        let failed = |e| PaddockError::backend("windows-elevated", e);
        let elevated_code = |code: u32| SetupOutcome::Elevated {
            exit_code: i32::try_from(code).unwrap_or(1),
        };
        if req.uninstall {
            Ok(match elevated::uninstall(&opts).map_err(failed)? {
                SetupResult::Done(o) => {
                    let mut lines: Vec<String> =
                        o.removed.iter().map(|l| format!("removed: {l}")).collect();
                    lines.push(format!("{} kept ACE(s) removed", o.aces_removed));
                    SetupOutcome::Done(lines)
                }
                SetupResult::Elevated { exit_code } => elevated_code(exit_code),
            })
        } else {
            Ok(match elevated::setup(&opts).map_err(failed)? {
                SetupResult::Done(o) => {
                    SetupOutcome::Done(o.steps.iter().map(|s| format!("done: {s}")).collect())
                }
                SetupResult::Elevated { exit_code } => elevated_code(exit_code),
            })
        }
    }

    fn forget_grants(&self, state: &Path, root: &Path) -> Result<Forgotten, PaddockError> {
        let failed = |e| PaddockError::backend("windows", e);
        let mut registry =
            paddock_windows::sid_registry::SidRegistry::open(state).map_err(failed)?;
        let mut store = paddock_windows::apply::acl::NtfsAclStore::new();
        let f = paddock_windows::grants::forget(root, &mut store, &mut registry).map_err(failed)?;
        Ok(Forgotten {
            root: f.root,
            aces_removed: f.aces_removed,
            sid_removed: f.sid.is_some(),
        })
    }
}
