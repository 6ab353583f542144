//! The level-1 Windows backend end to end: check and plan (pure planner), journal and apply the
//! ACEs (pure orchestration over the NTFS store), make and verify the restricted token, grant the
//! run SID the null device, console and window station, create the private desktop, and start
//! the command in its job. The returned process undoes the run's per-run entries when dropped.
//!
//! Guarantees: nothing starts unless every security layer is in place (token verified by
//! read-back, ACEs journaled and read back, desktop created); any failure after the ACEs were
//! applied takes them back before returning; the report lists each layer as really applied,
//! including compatibility grants that could not be made.

use super::acl::NtfsAclStore;
use super::desktop::{DesktopError, PrivateDesktop};
use super::device::{DeviceGrant, WINDOW_STATION_SANDBOX};
use super::launch::{Cleanup, Containment, LaunchError, TreeEnd, start};
use super::token::{RestrictedToken, TokenError};
use crate::acl::{Ace, AceFlags};
use crate::error::WindowsError;
use crate::mask::AccessMask;
use crate::plan::{self, TargetedGrant, WindowsPlan};
use crate::run_acls::{self, ActiveRun};
use crate::sid_registry::SidRegistry;
use crate::store::AclStore;
use paddock_core::SandboxSpec;
use paddock_core::policy::WindowsLevel;
use paddock_core::report::{EnforcementReport, Gap, Layer, LayerReport, LayerStatus, Protection};
use paddock_core::spec::CommandSpec;
use paddock_runner::windows::JobLimits;
use paddock_runner::{SandboxedProcess, StdioMode};
use std::ffi::OsString;
use std::path::Path;

/// Why the Windows backend did not start the command. Every variant means exit 125.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Windows(#[from] WindowsError),
    #[error("cannot make the sandbox token: {0}")]
    Token(#[from] TokenError),
    #[error("cannot create the sandbox's private desktop: {0}")]
    Desktop(#[from] DesktopError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error("cannot read this process's own token to model it: {0}")]
    CallerToken(paddock_win32::Win32Error),
    #[error(
        "{cause}; taking the run's ACL entries back failed too ({undo}); the next paddock run \
         undoes them from the journal"
    )]
    RollbackFailed {
        cause: Box<ApplyError>,
        undo: WindowsError,
    },
}

/// Plans, applies and starts `cmd` under `spec` at `level`.
pub fn prepare(
    spec: &SandboxSpec,
    cmd: &CommandSpec,
    level: WindowsLevel,
    stdio: StdioMode,
) -> Result<(Box<dyn SandboxedProcess>, EnforcementReport), ApplyError> {
    let registry = SidRegistry::open_default()?;
    prepare_with(
        spec,
        cmd,
        level,
        stdio,
        Box::new(NtfsAclStore::new()),
        registry,
    )
}

/// `prepare` over a given ACL store and SID registry (tests use the in-memory store).
pub fn prepare_with(
    spec: &SandboxSpec,
    cmd: &CommandSpec,
    level: WindowsLevel,
    stdio: StdioMode,
    mut store: Box<dyn AclStore + Send>,
    mut registry: SidRegistry,
) -> Result<(Box<dyn SandboxedProcess>, EnforcementReport), ApplyError> {
    let planning = tracing::debug_span!("plan").entered();
    let mut plan = plan::plan(spec, level, store.as_ref(), &mut registry)?;
    plan.token.deny_only = super::sid::level_one_deny_only().map_err(TokenError::from)?;
    drop(planning);
    let active = tracing::debug_span!("run_acls").in_scope(|| {
        run_acls::apply(&plan, store.as_mut(), &registry).inspect_err(|_| {
            remove_private_temp(&plan.private_temp, &plan.run_id);
        })
    })?;
    let contained = tracing::debug_span!("contain").in_scope(|| contain(&plan, stdio));
    let (containment, grants, layers) = match contained {
        Ok(c) => c,
        Err(cause) => {
            remove_private_temp(&plan.private_temp, &plan.run_id);
            return Err(match active.finish(store.as_mut()) {
                Ok(()) => cause,
                Err(undo) => ApplyError::RollbackFailed {
                    cause: Box::new(cause),
                    undo,
                },
            });
        }
    };
    let mut report = plan.report();
    report.layers.retain(|l| l.name != Layer::RestrictedToken);
    report.layers.splice(0..0, layers);
    let temp = plan.private_temp.clone();
    let cleanup: Cleanup = Box::new(move |end| finish_run(active, store, grants, &temp, end));
    let cmd = with_private_temp(cmd, &plan.private_temp);
    let process = tracing::debug_span!("start")
        .in_scope(|| start(&cmd, containment, stdio, Some(cleanup)))?;
    Ok((process, report))
}

/// Token, device grants and desktop for `plan`, with the layers they stand for.
fn contain(
    plan: &WindowsPlan,
    stdio: StdioMode,
) -> Result<(Containment, Vec<DeviceGrant>, Vec<LayerReport>), ApplyError> {
    let token = tracing::debug_span!("token").in_scope(|| {
        let token = RestrictedToken::create(&plan.token)?;
        token.verify().map(|()| token)
    })?;
    let sids: Vec<String> = token
        .restricting_sids()
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut layers = vec![LayerReport::new(
        Layer::RestrictedToken,
        LayerStatus::Enforced,
        format!(
            "CreateRestrictedToken with {}; restricting SIDs {} and the default DACL read back \
             from the kernel as planned",
            flag_names(token.flags()),
            sids.join(", ")
        ),
    )];
    let mut grants = Vec::new();
    for target in &plan.targeted {
        let (device, ace, name) = match target {
            TargetedGrant::NullDevice { path, ace } => (path.as_str(), ace, Layer::NullDevice),
            TargetedGrant::Console { ace } if stdio == StdioMode::Inherit => {
                ("CONOUT$", ace, Layer::Console)
            }
            _ => continue,
        };
        match DeviceGrant::add(device, ace) {
            Ok(grant) => {
                layers.push(LayerReport::new(
                    name,
                    LayerStatus::Enforced,
                    format!("{device} grants the run SID read/write for this run"),
                ));
                grants.push(grant);
            }
            Err(e) if name == Layer::NullDevice => layers.push(
                LayerReport::new(
                    name,
                    LayerStatus::NotEnforced,
                    format!(
                        "{e}; {device} grants write to Everyone only, never a level-1 \
                         restricting SID, and only an administrator may add the run SID: the \
                         command's own `> NUL` is denied, the null stdin Paddock opens for it \
                         works. Security is unaffected"
                    ),
                )
                .lacking([Gap::Compatibility]),
            ),
            Err(e) => layers.push(
                LayerReport::new(
                    name,
                    LayerStatus::NotEnforced,
                    format!(
                        "{e}; the command cannot open {device} itself, inherited handles still \
                         work. Security is unaffected"
                    ),
                )
                .lacking([Gap::Compatibility]),
            ),
        }
    }
    let station_ace = Ace::allow(
        plan.token.run_sid.clone(),
        AccessMask(WINDOW_STATION_SANDBOX),
        AceFlags::NONE,
    );
    match DeviceGrant::add_to_window_station(&station_ace) {
        Ok(grant) => {
            layers.push(LayerReport::new(
                Layer::WindowStation,
                LayerStatus::Enforced,
                "the window station lets the run SID connect (no clipboard, screen or desktop creation)",
            ));
            grants.push(grant);
        }
        Err(e) => layers.push(
            LayerReport::new(
                Layer::WindowStation,
                LayerStatus::NotEnforced,
                format!("{e}; programs that need the window station may fail to start"),
            )
            .lacking([Gap::Compatibility]),
        ),
    }
    let desktop = tracing::debug_span!("desktop")
        .in_scope(|| PrivateDesktop::create(std::slice::from_ref(&plan.token.run_sid)))?;
    layers.push(
        LayerReport::new(
            Layer::PrivateDesktop,
            LayerStatus::Enforced,
            format!(
                "{}: the command cannot see or drive the user's windows",
                desktop.startup_name()
            ),
        )
        .enforcing([Protection::Desktop]),
    );
    layers.push(
        LayerReport::new(
            Layer::JobObject,
            LayerStatus::Enforced,
            "in the job from creation, kill-on-close, no breakaway, UI restrictions",
        )
        .enforcing([Protection::ProcessTree]),
    );
    let containment = Containment {
        token,
        desktop: Some(desktop),
        limits: JobLimits::default(),
        keep_powershell_profile: false,
    };
    Ok((containment, grants, layers))
}

/// The `CreateRestrictedToken` flags in `bits`, by name.
fn flag_names(bits: u32) -> String {
    let names = [
        (0x1, "DISABLE_MAX_PRIVILEGE"),
        (0x2, "SANDBOX_INERT"),
        (0x4, "LUA_TOKEN"),
        (0x8, "WRITE_RESTRICTED"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if set.is_empty() {
        "no flags".into()
    } else {
        set.join(" | ")
    }
}

/// `cmd` with `TEMP` and `TMP` pointing at the run's private temp folder.
fn with_private_temp(cmd: &CommandSpec, temp: &Path) -> CommandSpec {
    let mut cmd = cmd.clone();
    cmd.env.retain(|(k, _)| {
        let k = k.to_string_lossy();
        !k.eq_ignore_ascii_case("TEMP") && !k.eq_ignore_ascii_case("TMP")
    });
    for name in ["TEMP", "TMP"] {
        cmd.env
            .push((OsString::from(name), temp.as_os_str().to_os_string()));
    }
    cmd
}

/// Undoes a finished run: per-run ACEs through the journal, device grants, the private temp.
/// Failures are printed: the journal still holds the entries and the next run recovers them.
/// When processes outlived the kill, the per-run ACEs and the temp folder stay and the run is
/// held in the journal until recovery finds every survivor gone.
fn finish_run(
    active: ActiveRun,
    mut store: Box<dyn AclStore + Send>,
    grants: Vec<DeviceGrant>,
    temp: &Path,
    end: TreeEnd,
) {
    let run_id = active.run_id().to_string();
    if let TreeEnd::Survived(survivors) = end {
        let ids: Vec<u32> = survivors.iter().map(|s| s.pid).collect();
        match active.hold(&survivors) {
            Ok(()) => eprintln!(
                "paddock: run {run_id}: processes {ids:?} outlived the kill; its ACL entries stay                  until they are gone (a later paddock run takes them back)"
            ),
            Err(e) => eprintln!(
                "paddock: run {run_id}: processes {ids:?} outlived the kill and recording that                  failed ({e}); its ACL entries stay"
            ),
        }
        drop(grants);
        return;
    }
    if let Err(e) = active.finish(store.as_mut()) {
        eprintln!(
            "paddock: run {run_id}: taking back its ACL entries failed ({e}); the next run \
             recovers them from the journal"
        );
    }
    for grant in grants {
        let device = grant.device().to_string();
        if let Err(e) = grant.revoke() {
            eprintln!("paddock: run {run_id}: removing its grant on {device} failed ({e})");
        }
    }
    remove_private_temp(temp, &run_id);
}

/// Removes the run's private temp folder (links inside it are removed, not followed).
fn remove_private_temp(temp: &Path, run_id: &str) {
    if let Err(e) = std::fs::remove_dir_all(temp)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        eprintln!(
            "paddock: run {run_id}: removing its temp folder {} failed ({e})",
            temp.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_flags_are_named_in_the_report() {
        assert_eq!(
            flag_names(0xd),
            "DISABLE_MAX_PRIVILEGE | LUA_TOKEN | WRITE_RESTRICTED"
        );
        assert_eq!(flag_names(0), "no flags");
    }

    #[test]
    fn private_temp_replaces_temp_and_tmp_whatever_their_case() {
        let cmd = CommandSpec {
            program: r"C:\x.exe".into(),
            args: Vec::new(),
            cwd: r"C:\ws".into(),
            env: vec![
                ("temp".into(), r"C:\Users\me\AppData\Local\Temp".into()),
                ("Tmp".into(), r"C:\Users\me\AppData\Local\Temp".into()),
                ("PATH".into(), r"C:\Windows".into()),
            ],
        };
        let out = with_private_temp(&cmd, Path::new(r"C:\state\windows\tmp\ab12"));
        let temps: Vec<_> = out
            .env
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("TEMP") || k.eq_ignore_ascii_case("TMP"))
            .collect();
        assert_eq!(temps.len(), 2);
        assert!(temps.iter().all(|(_, v)| v == r"C:\state\windows\tmp\ab12"));
        assert!(out.env.iter().any(|(k, _)| k == "PATH"));
    }
}
