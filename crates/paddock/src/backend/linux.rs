//! The Linux adapter: `paddock_linux` (namespaces, Landlock, seccomp, the allow-list proxy)
//! behind the `Backend` trait. Its errors keep their type (`LinuxError`) as the source of the
//! `PaddockError` they become.

use super::{Backend, BackendStatus, Launched, Requirement, WaitingSandbox};
use crate::error::PaddockError;
use paddock_core::host_scan::Finding;
use paddock_core::policy::Limits;
use paddock_core::spec::CommandSpec;
use paddock_core::{EnforcementReport, NetworkLog, SandboxSpec};
use paddock_linux::landlock::KernelLandlock;
use paddock_linux::{Availability, LinuxError};
use paddock_runner::StdioMode;

pub struct Linux;

pub static BACKEND: Linux = Linux;

impl Backend for Linux {
    fn name(&self) -> &'static str {
        "linux"
    }

    fn run_helper_if_requested(&self) {
        paddock_linux::maybe_run_init();
    }

    fn probe(&self) -> BackendStatus {
        let k = paddock_linux::probe();
        let from = |name: &str, a: &Availability, what: &str| match a {
            Availability::Available => Requirement {
                name: name.into(),
                available: true,
                detail: what.into(),
                fix: None,
                missing: Vec::new(),
            },
            Availability::Unavailable { reason, fix } => Requirement {
                name: name.into(),
                available: false,
                detail: reason.clone(),
                fix: Some(fix.clone()),
                missing: Vec::new(),
            },
        };
        let landlock = match k.landlock {
            KernelLandlock::Available(abi) => Requirement {
                name: "landlock".into(),
                available: true,
                detail: format!("ABI {abi}"),
                fix: None,
                missing: k.landlock.missing(),
            },
            other => Requirement {
                name: "landlock".into(),
                available: false,
                detail: other.unavailable_reason().unwrap_or_default().into(),
                fix: None,
                missing: Vec::new(),
            },
        };
        let seccomp = Requirement {
            name: "seccomp".into(),
            available: k.seccomp,
            detail: if k.seccomp {
                "filter mode".into()
            } else {
                "unavailable".into()
            },
            fix: (!k.seccomp).then(|| "use a kernel built with CONFIG_SECCOMP_FILTER".into()),
            missing: Vec::new(),
        };
        BackendStatus {
            name: self.name(),
            requirements: vec![
                from(
                    "user namespaces",
                    &k.user_namespaces,
                    "unprivileged user namespaces with mounts",
                ),
                from(
                    "mount API",
                    &k.mount_api,
                    "open_tree, move_mount, mount_setattr",
                ),
                landlock,
                seccomp,
            ],
            problems: k.problems(),
            details: None,
        }
    }

    fn supports_allowlist(&self, _spec: &SandboxSpec) -> bool {
        true
    }

    fn launch(
        &self,
        spec: &SandboxSpec,
        cmd: &CommandSpec,
        limits: &Limits,
        stdio: StdioMode,
        log: &NetworkLog,
    ) -> Result<Launched, PaddockError> {
        paddock_linux::prepare(spec, cmd, limits, stdio, log).map_err(from_linux)
    }

    fn launch_unconfined(
        &self,
        cmd: &CommandSpec,
        stdio: StdioMode,
    ) -> Result<Launched, PaddockError> {
        let child = paddock_runner::unix::spawn_unconfined(cmd, stdio)?;
        Ok((child, EnforcementReport::unconfined()))
    }

    fn builds_spares(&self) -> bool {
        true
    }

    fn prepare_spare(
        &self,
        spec: &SandboxSpec,
        limits: &Limits,
    ) -> Result<Option<Box<dyn WaitingSandbox>>, PaddockError> {
        let exe = std::env::current_exe()?;
        let waiting = paddock_linux::prepare_waiting(&exe, spec, limits).map_err(from_linux)?;
        Ok(Some(Box::new(waiting)))
    }

    fn scan_host(&self) -> Vec<Finding> {
        paddock_core::host_scan::scan_system()
    }
}

/// A missing or unexecutable program keeps its own exit code (127, 126); every other failure
/// is the backend's, with the `LinuxError` as its source (125).
pub(crate) fn from_linux(e: LinuxError) -> PaddockError {
    match e {
        LinuxError::Exec { program, source } if source.kind() == std::io::ErrorKind::NotFound => {
            PaddockError::NotFound {
                program: program.display().to_string(),
            }
        }
        LinuxError::Exec { program, source } => PaddockError::NotExecutable {
            path: program,
            reason: source.to_string(),
        },
        other => PaddockError::backend("linux", other),
    }
}

impl WaitingSandbox for paddock_linux::WaitingSandbox {
    fn spec(&self) -> &SandboxSpec {
        paddock_linux::WaitingSandbox::spec(self)
    }

    fn is_current(&self) -> bool {
        paddock_linux::WaitingSandbox::is_current(self)
    }

    fn start(self: Box<Self>, cmd: &CommandSpec) -> Result<Launched, PaddockError> {
        paddock_linux::WaitingSandbox::start(*self, cmd).map_err(from_linux)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn a_linux_setup_failure_is_the_source_of_the_paddock_error() {
        let err = from_linux(LinuxError::Syscall {
            call: "mount",
            target: "/".into(),
            source: std::io::Error::from_raw_os_error(1),
        });
        assert!(
            matches!(
                err,
                PaddockError::Backend {
                    backend: "linux",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.exit_code(), crate::exit::SANDBOX_UNAVAILABLE);
        assert!(err.to_string().contains("mount(/) failed"), "{err}");
        let linux = err
            .source()
            .and_then(|s| s.downcast_ref::<LinuxError>())
            .expect("the LinuxError itself is the source");
        let io = linux
            .source()
            .and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(io.and_then(|e| e.raw_os_error()), Some(1));
    }

    #[test]
    fn a_missing_program_keeps_exit_127() {
        let err = from_linux(LinuxError::Exec {
            program: "/nowhere/x".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
        assert_eq!(err.exit_code(), crate::exit::NOT_FOUND);
    }
}
