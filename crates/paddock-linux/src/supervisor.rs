//! The supervisor side: turns a `SandboxSpec` and a `CommandSpec` into a `LinuxPlan`, starts
//! the init through the runner, hands it the plan and waits until the sandbox is complete (or
//! has failed) before returning the running tree to the caller.

use crate::cgroup::Cgroup;
use crate::init::INIT_MARKER;
use crate::limits::LimitsSetup;
use crate::namespaced::{NamespaceSpawnError, NamespacedCommand};
use crate::pid1_process::Pid1Process;
use crate::plan::{LinuxError, LinuxPlan, PRIVATE_TMPFS, PlanCommand, PlanPath};
use crate::proxy_bridge::{self, ProxiedProcess};
use crate::status::{self, InitMessage, Stage};
use crate::{probe, sys};
use paddock_core::paths::is_beneath;
use paddock_core::policy::{Capability, Limits};
use paddock_core::spec::{CommandSpec, PathKind};
use paddock_core::{EnforcementReport, Mode, Network, NetworkLog, SandboxSpec};
use paddock_runner::{SandboxedProcess, StdioMode};
use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Builds the plan for `spec` and `cmd`. Creates nothing on the host: a protected path exists
/// (missing control paths are watched by the core's after-run check instead).
pub fn plan_for(spec: &SandboxSpec, cmd: &CommandSpec) -> Result<LinuxPlan, LinuxError> {
    let (network_off, proxy_port) = match &spec.network {
        Network::Off => (true, None),
        Network::On => (false, None),
        Network::Allowlist(_) => (true, Some(proxy_bridge::PROXY_PORT)),
    };
    if spec.mode == Mode::FullAccess {
        return Err(LinuxError::Unsupported {
            reason: "full-access runs without a sandbox; it never reaches the Linux backend".into(),
        });
    }
    refuse_symlinked_protected_names(&spec.writable_roots)?;
    let protected = spec
        .protected
        .iter()
        .map(|p| match p.kind {
            PathKind::Missing => Err(LinuxError::Setup {
                message: format!(
                    "protected path {} is missing; the spec lists only existing ones (watched \
                     paths are checked after the run)",
                    p.path.display()
                ),
            }),
            kind => Ok(PlanPath {
                path: p.path.clone(),
                kind,
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut deny_read: Vec<PlanPath> = spec
        .deny_read
        .iter()
        .filter(|d| d.kind != PathKind::Missing)
        .map(|d| PlanPath {
            path: d.path.clone(),
            kind: d.kind,
        })
        .collect();
    // Host processes' unix sockets: a read-only mount does not stop connect(), hiding does.
    // Fail closed: without the list, no host socket would be hidden.
    let sockets =
        crate::seccomp::host_unix_sockets(&spec.writable_roots).map_err(|e| LinuxError::Setup {
            message: format!(
                "cannot list the host's unix sockets in /proc/net/unix ({e}), so they cannot be \
                 hidden from the sandbox; mount /proc or run Paddock where it is readable"
            ),
        })?;
    for s in sockets.into_iter().filter_map(|s| s.canonicalize().ok()) {
        let in_tmpfs = PRIVATE_TMPFS.iter().any(|t| is_beneath(&s, Path::new(t)));
        if !in_tmpfs && !deny_read.iter().any(|d| d.path == s) {
            deny_read.push(PlanPath {
                path: s,
                kind: PathKind::File,
            });
        }
    }
    Ok(LinuxPlan {
        mode: spec.mode,
        writable_roots: spec.writable_roots.clone(),
        protected,
        deny_read,
        network_off,
        proxy_port,
        network_in_init: false,
        command: plan_command(spec, cmd),
        uid: sys::getuid(),
        gid: sys::getgid(),
        limits: Default::default(),
    })
}

/// The command as the init executes it: `TMPDIR=/tmp` forced, and with a network allow-list
/// the proxy variables pointing at the sandbox's proxy port.
pub(crate) fn plan_command(spec: &SandboxSpec, cmd: &CommandSpec) -> PlanCommand {
    let mut env: Vec<(OsString, OsString)> = cmd
        .env
        .iter()
        .filter(|(k, _)| k != "TMPDIR")
        .cloned()
        .collect();
    env.push(("TMPDIR".into(), "/tmp".into()));
    if matches!(spec.network, Network::Allowlist(_)) {
        let names: Vec<String> = proxy_bridge::proxy_env()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        env.retain(|(k, _)| !names.iter().any(|n| k == n.as_str()));
        env.extend(
            proxy_bridge::proxy_env()
                .into_iter()
                .map(|(k, v)| (k.into(), v.into())),
        );
    }
    PlanCommand {
        program: cmd.program.clone(),
        args: cmd.args.clone(),
        cwd: cmd.cwd.clone(),
        env,
    }
}

/// Refuses to run when a default protected name (`paddock.toml`, `.paddock`) inside a writable
/// root is a symlink: the mount view pins
/// the link's target, but the link itself lives in a writable directory and could be replaced.
fn refuse_symlinked_protected_names(roots: &[PathBuf]) -> Result<(), LinuxError> {
    for root in roots {
        for name in paddock_core::spec::DEFAULT_PROTECTED {
            let mut p = root.clone();
            for part in Path::new(name).components() {
                p.push(part);
                if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(LinuxError::Unsupported {
                        reason: format!(
                            "{} is a symlink, which the sandbox could replace; replace it by the \
                             directory or file it points to",
                            p.display()
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Starts `cmd` in a sandbox enforcing `spec` and `limits` and returns the running tree (for
/// `paddock_runner::run`) with what was enforced. Returns only once the sandbox is complete and
/// the command is being executed; every error means the command did not run (exit 125), except
/// `LinuxError::Exec` (126, or 127 for a missing program).
pub fn prepare(
    spec: &SandboxSpec,
    cmd: &CommandSpec,
    limits: &Limits,
    stdio: StdioMode,
    network_log: &NetworkLog,
) -> Result<(Box<dyn SandboxedProcess>, EnforcementReport), LinuxError> {
    let exe = std::env::current_exe().map_err(|source| LinuxError::Spawn {
        exe: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    prepare_with(&exe, spec, cmd, limits, stdio, network_log)
}

/// `prepare` with an explicit init executable (one whose `main` calls `maybe_run_init` first).
/// With a network allow-list, the proxy's decisions go to `network_log`.
pub fn prepare_with(
    init_exe: &Path,
    spec: &SandboxSpec,
    cmd: &CommandSpec,
    limits: &Limits,
    stdio: StdioMode,
    network_log: &NetworkLog,
) -> Result<(Box<dyn SandboxedProcess>, EnforcementReport), LinuxError> {
    let launched = launch(init_exe, spec, Some(cmd), limits, stdio, network_log)?;
    Ok((launched.child, launched.report))
}

/// A started init: the running tree, what it reported, and for a waiting sandbox the command
/// channel and the rest of the status channel.
pub(crate) struct Launch {
    pub child: Box<dyn SandboxedProcess>,
    pub report: EnforcementReport,
    pub waiting: Option<(OwnedFd, OwnedFd)>,
}

/// The plan for `cmd` once the limits are known to be enforceable as asked.
fn checked_plan(
    spec: &SandboxSpec,
    cmd: &CommandSpec,
    limits: &Limits,
    limits_setup: &LimitsSetup,
    network_in_init: bool,
) -> Result<LinuxPlan, LinuxError> {
    limits_setup.check(limits, &spec.allow_unenforced)?;
    let mut plan = plan_for(spec, cmd)?;
    plan.limits = limits_setup.plan.clone();
    plan.network_in_init = network_in_init;
    Ok(plan)
}

/// Starts the init for `spec` and waits until the sandbox is complete. With `cmd`, the init
/// executes it and this returns once it is being executed; without, the init waits for its
/// command on a channel returned in `Launch::waiting` (command writer, status reader).
pub(crate) fn launch(
    init_exe: &Path,
    spec: &SandboxSpec,
    cmd: Option<&CommandSpec>,
    limits: &Limits,
    stdio: StdioMode,
    network_log: &NetworkLog,
) -> Result<Launch, LinuxError> {
    let mut limits_setup = LimitsSetup::decide(
        limits,
        sys::getuid(),
        crate::limits::kernel_has_pid_max_per_namespace(),
    );
    let spawn_err = |source| LinuxError::Spawn {
        exe: init_exe.to_path_buf(),
        source,
    };
    let (plan_r, plan_w) = proxy_bridge::plan_channel().map_err(spawn_err)?;
    let (status_r, status_w) = sys::pipe().map_err(spawn_err)?;
    let (result_r, result_w) = sys::pipe().map_err(spawn_err)?;
    let (command_r, command_w) = match cmd {
        Some(_) => (None, None),
        None => {
            let (r, w) = sys::pipe().map_err(spawn_err)?;
            (Some(r), Some(w))
        }
    };
    // Above the descriptors dup2 targets, so that moving one cannot overwrite another.
    let high = |fd: OwnedFd| sys::dup_at_least(fd.as_fd(), 10).map_err(spawn_err);
    let (plan_r, status_w, result_w) = (high(plan_r)?, high(status_w)?, high(result_w)?);
    let command_r = command_r.map(high).transpose()?;
    let mut kept = vec![
        plan_r.as_raw_fd(),
        status_w.as_raw_fd(),
        result_w.as_raw_fd(),
    ];
    kept.extend(command_r.as_ref().map(|fd| fd.as_raw_fd()));
    let to_c = |s: &std::ffi::OsStr| {
        sys::cstr(s).map_err(|source| LinuxError::Spawn {
            exe: init_exe.to_path_buf(),
            source,
        })
    };
    let program = to_c(init_exe.as_os_str())?;
    let mut argv = vec![program.clone(), to_c(INIT_MARKER.as_ref())?];
    for fd in &kept {
        argv.push(to_c(fd.to_string().as_ref())?);
    }
    let mut namespaces = (libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWIPC) as u64
        | libc::CLONE_NEWUTS as u64;
    // Off and allow-list alike: an empty network namespace (the proxy is the only way out).
    // With the network off and the command known, the init makes it itself, beside the view
    // (`init::network`). A waiting sandbox gets it from the clone: its namespaces are opened
    // for `namespace_hold` before the init has its plan. An allow-list's port is bound in it
    // before the view is built.
    let network_in_init = spec.network == Network::Off && cmd.is_some();
    if spec.network != Network::On && !network_in_init {
        namespaces |= libc::CLONE_NEWNET as u64;
    }
    // A run that comes with its command and needs no cgroup (whose creation, after the clone,
    // can change what the limits allow) is planned before the clone: an init forked from this
    // process finds the plan in its copy of this memory, and the channel then carries only an
    // empty message as the go-ahead, which saves encoding the plan here and decoding it there.
    let preplanned = match cmd {
        Some(c) if !limits_setup.needs_cgroup() => Some(checked_plan(
            spec,
            c,
            limits,
            &limits_setup,
            network_in_init,
        )?),
        _ => None,
    };
    // The same init without executing it again when this process is single-threaded.
    let fds = (kept[0], kept[1], kept[2], kept.get(3).copied());
    let plan_here = preplanned.as_ref();
    let run_here = move || crate::init::run_init(fds.0, fds.1, fds.2, fds.3, plan_here);
    let init = NamespacedCommand {
        program: &program,
        argv: &argv,
        envp: &[],
        namespaces,
        keep: &kept,
        run_here: Some(&run_here),
    };
    // Events stay in this process: the child between clone and exec, and the init, never log.
    let started = tracing::debug_span!("namespaces").in_scope(|| {
        crate::namespaced::spawn_in_namespaces(&init, stdio).map_err(|e| namespace_error(&e))
    })?;
    drop((plan_r, status_w, result_w, command_r));
    // The run may end on pid 1's word that nothing is left unless a terminal is involved (its
    // restoration and the output copiers belong to pid 1's reaping); see `Pid1Process`.
    let early_end = {
        use std::io::IsTerminal;
        stdio == StdioMode::Capture
            || !(std::io::stdin().is_terminal()
                || std::io::stdout().is_terminal()
                || std::io::stderr().is_terminal())
    };
    let crate::namespaced::Spawned {
        process: started,
        ran_here,
    } = started;
    let mut pid1 = Pid1Process::new(started, result_r, cmd.is_none(), early_end);
    // The cgroup and (unless it was made before the clone) the plan are made while the init
    // starts up on the other side of the pipe: the two overlap. The init is in the cgroup
    // before it has a plan, or the go-ahead for the one it has; until then it sets nothing up
    // and runs nothing.
    if limits_setup.needs_cgroup() {
        let _span = tracing::debug_span!("cgroup").entered();
        let made =
            Cgroup::create(limits_setup.cgroup).and_then(|cg| cg.add(pid1.id()).map(|()| cg));
        limits_setup.cgroup_result(made.as_ref().map_err(String::as_str));
        if let Ok(cg) = made {
            pid1.set_cgroup(cg);
        }
    }
    let mut child: Box<dyn SandboxedProcess> = Box::new(pid1);
    // A waiting sandbox's plan carries a placeholder command: the init ignores it.
    let placeholder;
    let plan_cmd = match cmd {
        Some(c) => c,
        None => {
            placeholder = CommandSpec {
                program: "/".into(),
                args: Vec::new(),
                cwd: spec.workspace.clone(),
                env: Vec::new(),
            };
            &placeholder
        }
    };
    let planned = match &preplanned {
        Some(_) if ran_here => Ok(Vec::new()),
        Some(plan) => plan.to_bytes(),
        None => checked_plan(spec, plan_cmd, limits, &limits_setup, network_in_init)
            .and_then(|p| p.to_bytes()),
    };
    let bytes = match planned {
        Ok(bytes) => bytes,
        Err(e) => {
            let _ = child.kill_tree();
            return Err(e);
        }
    };
    let allow = match &spec.network {
        Network::Allowlist(allow) => Some(allow),
        _ => None,
    };
    let (written, listener) = proxy_bridge::send_plan(plan_w, &bytes, allow.is_some());
    // From here the init builds the sandbox (its steps come as `Timings`).
    let messages = tracing::debug_span!("init_setup").in_scope(|| match cmd {
        Some(_) => status::receive_all(status_r).map(|m| (m, None)),
        None => status::receive_until_ready(&status_r).map(|m| (m, Some(status_r))),
    });
    let (messages, status_rest) = match messages {
        Ok((m, rest)) => (m, rest),
        Err(_) => (Vec::new(), None),
    };

    let mut report = EnforcementReport {
        backend: "linux".into(),
        ..Default::default()
    };
    let (ready, error) = read_messages(messages, &mut report, plan_cmd);
    let error = error.or_else(|| match written {
        _ if ready => None,
        Err(e) => Some(LinuxError::Setup {
            message: format!("the sandbox init did not take the plan: {e}"),
        }),
        Ok(()) => Some(LinuxError::Setup {
            message: "the sandbox init ended before the command started".into(),
        }),
    });
    let mut proxy = None;
    let error = error.or_else(|| match (allow, listener) {
        (Some(allow), Some(Ok(listener))) => {
            let _span = tracing::debug_span!("proxy_start").entered();
            match proxy_bridge::start_proxy(listener, allow, network_log) {
                Ok(p) => {
                    proxy = Some(p);
                    None
                }
                Err(e) => Some(e),
            }
        }
        (Some(_), Some(Err(e))) => Some(LinuxError::Setup {
            message: format!("the sandbox init did not hand over the proxy port: {e}"),
        }),
        _ => None,
    });
    if let Some(p) = proxy {
        child = Box::new(ProxiedProcess::new(child, p));
    }
    let waiting = match (command_w, status_rest) {
        (Some(w), Some(r)) => Some((w, r)),
        (None, _) => None,
        (Some(_), None) => {
            return Err(kill_on_error(
                child,
                LinuxError::Setup {
                    message: "the status channel of the waiting sandbox could not be read".into(),
                },
            ));
        }
    };
    if let Some(e) = error {
        return Err(kill_on_error(child, e));
    }
    report.layers.push(limits_setup.report());
    if limits_setup.explicit_unenforced(limits) {
        report.not_enforced.push(Capability::Limits);
    }
    Ok(Launch {
        child,
        report,
        waiting,
    })
}

/// Adds the init's layers to `report`; whether `Ready` came, and a reported failure as the
/// error for `cmd`.
pub(crate) fn read_messages(
    messages: Vec<InitMessage>,
    report: &mut EnforcementReport,
    cmd: &CommandSpec,
) -> (bool, Option<LinuxError>) {
    let mut ready = false;
    let mut failure = None;
    for msg in messages {
        match msg {
            InitMessage::Layer(l) => report.layers.push(l),
            InitMessage::Ready => ready = true,
            InitMessage::Timings(steps) => {
                for (step, micros) in steps {
                    let elapsed = Duration::from_micros(micros);
                    tracing::debug!(step, ?elapsed, "sandbox init step");
                }
            }
            InitMessage::Failed {
                stage,
                message,
                errno,
            } => failure = Some((stage, message, errno)),
        }
    }
    let error = match failure {
        Some((Stage::Exec, _, errno)) => Some(LinuxError::Exec {
            program: cmd.program.clone(),
            source: std::io::Error::from_raw_os_error(errno.unwrap_or(libc::EACCES)),
        }),
        Some((Stage::Outdated, message, _)) => Some(LinuxError::Outdated { message }),
        Some((Stage::Setup, message, _)) => Some(LinuxError::Setup { message }),
        None => None,
    };
    (ready, error)
}

/// Kills a tree whose sandbox failed and returns the error.
pub(crate) fn kill_on_error(mut child: Box<dyn SandboxedProcess>, e: LinuxError) -> LinuxError {
    let _ = child.kill_tree();
    let _ = child.wait_timeout(Duration::from_secs(1));
    e
}

/// A failed start of the init: a refused `clone3` or id map is the system forbidding user
/// namespaces, said with the diagnosis and its fix.
fn namespace_error(e: &NamespaceSpawnError) -> LinuxError {
    match e {
        NamespaceSpawnError::Clone(_) | NamespaceSpawnError::MapIds { .. } => {
            let (reason, fix) = probe::userns_diagnosis();
            LinuxError::UserNamespaces {
                reason: format!("{e}; {reason}"),
                fix,
            }
        }
        _ => LinuxError::Setup {
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_core::spec::{DenyReadPath, ProtectedPath};

    fn spec(ws: &Path, network: Network) -> SandboxSpec {
        SandboxSpec {
            mode: Mode::WorkspaceWrite,
            workspace: ws.to_path_buf(),
            writable_roots: vec![ws.to_path_buf()],
            protected: vec![ProtectedPath {
                path: ws.join(".git/hooks"),
                kind: PathKind::Dir,
                reason: "test".into(),
            }],
            watched: vec![],
            repos: vec![],
            deny_read: vec![
                DenyReadPath {
                    path: ws.join("gone"),
                    kind: PathKind::Missing,
                },
                DenyReadPath {
                    path: ws.join(".env"),
                    kind: PathKind::File,
                },
            ],
            network,
            allow_unenforced: Default::default(),
            windows_level: Default::default(),
        }
    }

    /// Pid 1's word that a path of the plan was gone reads as an outdated plan (the caller may
    /// plan again); any other set-up failure, a missing path included, as it was.
    #[test]
    fn a_plan_path_gone_during_set_up_reads_as_an_outdated_plan() {
        let ws = Path::new("/ws");
        let failed = |stage| {
            let msg = InitMessage::Failed {
                stage,
                message: "openat2(/ws/.git) failed".into(),
                errno: Some(libc::ENOENT),
            };
            let mut report = EnforcementReport::default();
            read_messages(vec![msg], &mut report, &command(ws)).1
        };
        assert!(matches!(
            failed(Stage::Outdated),
            Some(LinuxError::Outdated { message }) if message == "openat2(/ws/.git) failed"
        ));
        assert!(matches!(
            failed(Stage::Setup),
            Some(LinuxError::Setup { .. })
        ));
    }

    fn command(ws: &Path) -> CommandSpec {
        CommandSpec {
            program: "/bin/true".into(),
            args: vec![],
            cwd: ws.to_path_buf(),
            env: vec![
                ("TMPDIR".into(), "/host/tmp".into()),
                ("A".into(), "b".into()),
            ],
        }
    }

    #[test]
    fn the_plan_forces_tmpdir_and_keeps_the_rest_of_the_environment() {
        let ws = tempfile::tempdir().unwrap();
        let plan = plan_for(&spec(ws.path(), Network::Off), &command(ws.path())).unwrap();
        let env = &plan.command.env;
        assert!(env.contains(&("TMPDIR".into(), "/tmp".into())));
        assert!(!env.contains(&("TMPDIR".into(), "/host/tmp".into())));
        assert!(env.contains(&("A".into(), "b".into())));
        assert!(plan.network_off);
    }

    #[test]
    fn missing_secrets_are_left_out_and_nothing_is_created() {
        let ws = tempfile::tempdir().unwrap();
        let plan = plan_for(&spec(ws.path(), Network::On), &command(ws.path())).unwrap();
        assert_eq!(plan.protected[0].kind, PathKind::Dir);
        assert!(
            !ws.path().join(".git").exists(),
            "no placeholder on the host"
        );
        assert!(
            plan.deny_read
                .iter()
                .any(|d| d.path == ws.path().join(".env"))
        );
        assert!(
            !plan
                .deny_read
                .iter()
                .any(|d| d.path == ws.path().join("gone"))
        );
        assert!(!plan.network_off);
    }

    #[test]
    fn network_allowlists_keep_the_empty_namespace_and_point_the_command_at_the_proxy() {
        let ws = tempfile::tempdir().unwrap();
        let s = spec(ws.path(), Network::Allowlist(vec!["example.com".into()]));
        let mut cmd = command(ws.path());
        cmd.env
            .push(("https_proxy".into(), "http://elsewhere:1".into()));
        let plan = plan_for(&s, &cmd).unwrap();
        assert!(
            plan.network_off,
            "the sandbox keeps its own network namespace"
        );
        assert_eq!(plan.proxy_port, Some(proxy_bridge::PROXY_PORT));
        let http = format!("http://127.0.0.1:{}", proxy_bridge::PROXY_PORT);
        let socks = format!("socks5h://127.0.0.1:{}", proxy_bridge::PROXY_PORT);
        for (name, url) in [
            ("HTTPS_PROXY", &http),
            ("https_proxy", &http),
            ("HTTP_PROXY", &http),
            ("ALL_PROXY", &socks),
            ("all_proxy", &socks),
        ] {
            let values: Vec<_> = plan.command.env.iter().filter(|(k, _)| k == name).collect();
            assert_eq!(values.len(), 1, "{name}");
            assert_eq!(values[0].1, url.as_str(), "{name}");
        }
    }

    #[test]
    fn full_access_never_reaches_the_backend() {
        let ws = tempfile::tempdir().unwrap();
        let mut s = spec(ws.path(), Network::Off);
        s.mode = Mode::FullAccess;
        assert!(matches!(
            plan_for(&s, &command(ws.path())),
            Err(LinuxError::Unsupported { .. })
        ));
    }

    #[test]
    fn a_symlinked_default_protected_name_is_refused() {
        let ws = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/elsewhere", ws.path().join("paddock.toml")).unwrap();
        let err = plan_for(&spec(ws.path(), Network::Off), &command(ws.path())).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
    }
}
