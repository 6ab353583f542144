//! The in-sandbox init: Paddock's own executable started by the supervisor straight into new
//! user, mount, pid, ipc, uts (and network) namespaces as
//! `paddock __paddock-linux-init PLAN_FD STATUS_FD RESULT_FD [COMMAND_FD]`, single-threaded,
//! with the caller's ids already mapped. It moves the plan to fd 3, the status channel to fd 4,
//! the result channel to fd 5 (and a command channel to fd 6) and closes every other
//! descriptor above 2.
//!
//! With a command channel (a *waiting* sandbox, see `waiting`) pid 1 builds and confines the
//! sandbox, says `Ready`, then blocks until the supervisor writes the command (a
//! `command_frame`) on that channel; the plan's own command is ignored. A channel closed without
//! a command ends pid 1 without running anything.
//!
//! It is *pid 1* of the new pid namespace: it brings loopback up, builds the filesystem view
//! (its set-up threads, see `helper`, reset its signal dispositions, make the network namespace
//! and unmount the host's old root meanwhile), drops every privilege, applies Landlock and
//! seccomp (it first starts the broker thread, see `seccomp::unix_connect`), starts the
//! *command* (a `vfork`-like spawn, `sys::spawn`) and reaps until the command ends, then
//! writes how it ended (exit code or signal) on the result channel and exits, which kills
//! whatever the command left behind. Pid 1 cannot die by a signal it sends itself, so the
//! supervisor reports the command's end from the result channel.
//! Any setup failure is reported on the status channel and ends pid 1 with 125; the command
//! never runs unconfined.

mod helper;
mod network;
mod old_root;
mod privileges;
mod view;

use crate::plan::{LinuxError, LinuxPlan, PlanCommand};
use crate::result_channel;
use crate::status::{self, InitMessage, Stage};
use crate::sys::{self, Ended};
use paddock_core::{Layer, LayerReport, LayerStatus, Protection};
use std::borrow::Cow;
use std::ffi::{CString, OsStr};
use std::io::Write;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::mpsc::Receiver;

/// argv[1] that turns Paddock's executable into the init.
pub const INIT_MARKER: &str = "__paddock-linux-init";
/// The descriptor the plan is read from (closed once read).
const PLAN_FD: RawFd = 3;
/// The descriptor of the status channel (close-on-exec in the command).
const STATUS_FD: RawFd = 4;
/// The descriptor of the result channel (close-on-exec in the command).
const RESULT_FD: RawFd = 5;
/// The descriptor of the command channel of a waiting sandbox (closed once read).
const COMMAND_FD: RawFd = 6;
/// Paddock's exit code for "the sandbox could not be built".
const SETUP_FAILED: i32 = 125;

/// Runs the init and never returns when argv[1] is the init marker; returns at once otherwise.
/// Call it first thing in `main`, before any thread is started.
pub fn maybe_run_init() {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(OsStr::new(INIT_MARKER)) {
        return;
    }
    let mut number = || args.next().and_then(|a| a.to_str()?.parse::<RawFd>().ok());
    // Without a status channel nothing can be said.
    let (Some(plan_fd), Some(status_fd), Some(result_fd)) = (number(), number(), number()) else {
        sys::exit_now(SETUP_FAILED)
    };
    run_init(plan_fd, status_fd, result_fd, number(), None)
}

/// The init proper, given its pipes (and a waiting sandbox's command channel): either in a
/// freshly executed Paddock (`maybe_run_init`) or in the supervisor's fork-like copy made
/// straight into the namespaces, which saves starting a program (see
/// `NamespacedCommand::run_here`). Either way it starts single-threaded and ends with `_exit`,
/// never returning. A forked init may have its plan already (`preplanned`, in its copy of the
/// supervisor's memory): an empty message on the plan channel then says to use it.
pub(crate) fn run_init(
    plan_fd: RawFd,
    status_fd: RawFd,
    result_fd: RawFd,
    command_fd: Option<RawFd>,
    preplanned: Option<&LinuxPlan>,
) -> ! {
    // Take the pipes, drop whatever else was inherited, leave the caller's directory.
    let last = if command_fd.is_some() {
        COMMAND_FD
    } else {
        RESULT_FD
    };
    if sys::dup2(plan_fd, PLAN_FD).is_err()
        || sys::dup2(status_fd, STATUS_FD).is_err()
        || sys::dup2(result_fd, RESULT_FD).is_err()
        || command_fd.is_some_and(|fd| sys::dup2(fd, COMMAND_FD).is_err())
        || sys::close_from(last as u32 + 1).is_err()
    {
        sys::exit_now(SETUP_FAILED)
    }
    let command_channel = match command_fd.map(|_| sys::adopt_fd(COMMAND_FD)) {
        None => None,
        Some(Ok(fd)) => Some(fd),
        Some(Err(_)) => sys::exit_now(SETUP_FAILED),
    };
    let (Ok(status), Ok(result)) = (sys::adopt_fd(STATUS_FD), sys::adopt_fd(RESULT_FD)) else {
        sys::exit_now(SETUP_FAILED)
    };
    if let Err(e) = std::env::set_current_dir("/") {
        fail(&status, Stage::Setup, &syscall("chdir", "/")(e))
    }
    // While the supervisor makes the plan (or, in a waiting sandbox, until a command comes).
    crate::seccomp::prepare();
    let (plan, plan_channel) = match read_plan(preplanned) {
        Ok(p) => p,
        Err(e) => fail(&status, Stage::Setup, &e),
    };
    // First, so that the kernel makes the namespace while this thread builds the view.
    let threads = match SetupThreads::start(plan.network_in_init) {
        Ok(t) => t,
        Err(e) => fail(&status, Stage::Setup, &e),
    };
    let namespaces = namespaces_layer(&plan, &status);
    if let Err(e) = crate::proxy_bridge::hand_over_listener(plan.proxy_port, plan_channel) {
        fail(&status, Stage::Setup, &e)
    }
    pid1(&plan, status, result, command_channel, threads, namespaces)
}

/// Pid 1's set-up threads (see `helper`): one that first puts every signal disposition of pid 1
/// in a known state (the command's spawn relies on it) and then unmounts the old root once the
/// view is entered (`old_root`), and, when pid 1 makes the network namespace, one making it.
struct SetupThreads {
    unmount: helper::Helper,
    signals: Receiver<std::io::Result<()>>,
    network: Option<network::Pending>,
}

impl SetupThreads {
    fn start(network_in_init: bool) -> Result<SetupThreads, LinuxError> {
        let network = match network_in_init {
            true => Some(network::start(helper::Helper::start("paddock-netns")?)),
            false => None,
        };
        let unmount = helper::Helper::start("paddock-unmount")?;
        let signals = unmount.run(|| sys::reset_signal_dispositions(IGNORED_SIGNAL));
        Ok(SetupThreads {
            unmount,
            signals,
            network,
        })
    }
}

/// The one signal pid 1 ignores (as a Rust program does, for its writes to closed pipes); every
/// other disposition is the default (`sys::reset_signal_dispositions`).
const IGNORED_SIGNAL: libc::c_int = libc::SIGPIPE;

/// Reports `err` on the status channel and ends the process with 125.
fn fail(status: &OwnedFd, stage: Stage, err: &LinuxError) -> ! {
    let errno = match err {
        LinuxError::Syscall { source, .. } => source.raw_os_error(),
        _ => None,
    };
    let _ = status::send(
        status,
        &InitMessage::Failed {
            stage: reported_stage(stage, err),
            message: err.to_string(),
            errno,
        },
    );
    sys::exit_now(SETUP_FAILED)
}

/// The view opens each path of its plan (protected paths, roots, deny-read paths) with
/// `openat2`, and only there: a path it finds gone was moved or removed since the plan was made.
fn reported_stage(stage: Stage, err: &LinuxError) -> Stage {
    match err {
        LinuxError::Syscall {
            call: "openat2",
            source,
            ..
        } if stage == Stage::Setup && source.raw_os_error() == Some(libc::ENOENT) => {
            Stage::Outdated
        }
        _ => stage,
    }
}

fn syscall(call: &'static str, target: &str) -> impl FnOnce(std::io::Error) -> LinuxError {
    let target = target.to_string();
    move |source| LinuxError::Syscall {
        call,
        target,
        source,
    }
}

/// Reads the plan; the channel stays open for the proxy port's hand-over (`proxy_bridge`).
fn read_plan(preplanned: Option<&LinuxPlan>) -> Result<(Cow<'_, LinuxPlan>, OwnedFd), LinuxError> {
    let fd = sys::adopt_fd(PLAN_FD).map_err(syscall("read plan", "fd 3"))?;
    let bytes = crate::proxy_bridge::read_plan(&fd).map_err(syscall("read plan", "fd 3"))?;
    Ok((plan_from(&bytes, preplanned)?, fd))
}

/// The plan a message stands for: the one encoded in it, or, when it is empty, the one this
/// init already has (an init without one fails: it never runs unplanned).
fn plan_from<'a>(
    bytes: &[u8],
    preplanned: Option<&'a LinuxPlan>,
) -> Result<Cow<'a, LinuxPlan>, LinuxError> {
    match (bytes.is_empty(), preplanned) {
        (false, _) => Ok(Cow::Owned(LinuxPlan::from_bytes(bytes)?)),
        (true, Some(plan)) => Ok(Cow::Borrowed(plan)),
        (true, None) => Err(LinuxError::Setup {
            message: "the supervisor sent an empty plan to an init that has none; this is a \
                      Paddock bug, please report it"
                .into(),
        }),
    }
}

/// Brings loopback up when the network is off, and says what the namespaces layer is.
fn namespaces_layer(plan: &LinuxPlan, status: &OwnedFd) -> LayerReport {
    let mut names = "user, mount, pid, ipc, uts".to_string();
    if plan.network_off {
        // A namespace pid 1 makes itself gets its loopback up on the thread that makes it.
        if !plan.network_in_init
            && let Err(e) = sys::interface_up(c"lo")
        {
            fail(
                status,
                Stage::Setup,
                &syscall("ioctl(SIOCSIFFLAGS)", "lo")(e),
            );
        }
        names.push_str(", network (loopback only)");
    }
    let mut layer = LayerReport::new(
        Layer::Namespaces,
        LayerStatus::Enforced,
        format!(
            "{names}; uid {} and gid {} mapped to themselves, setgroups denied",
            plan.uid, plan.gid
        ),
    )
    .enforcing([Protection::ProcessTree]);
    if plan.network_off {
        layer.enforces.push(Protection::Network);
    }
    layer
}

/// Pid 1 of the new pid namespace: builds the sandbox, runs the command (the plan's, or the
/// one that arrives on `command_channel`), reaps, reports.
fn pid1(
    plan: &LinuxPlan,
    status: OwnedFd,
    result: OwnedFd,
    command_channel: Option<OwnedFd>,
    threads: SetupThreads,
    namespaces: LayerReport,
) -> ! {
    if sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong).is_err() {
        sys::exit_now(SETUP_FAILED);
    }
    let (layers, timings) = match confine(plan, &result, threads) {
        Ok(l) => l,
        Err(e) => fail(&status, Stage::Setup, &e),
    };
    // Not dumpable: the command (same uid, same empty capabilities) cannot open pid 1's
    // descriptors or memory through /proc/1. Reset by the command's own execve.
    if let Err(e) = sys::prctl(libc::PR_SET_DUMPABLE, 0) {
        fail(
            &status,
            Stage::Setup,
            &syscall("prctl(PR_SET_DUMPABLE)", "pid 1")(e),
        );
    }
    // Every report in one write: the supervisor wakes once, not once per message, while this
    // process is on its way to the command (measured: 0.15-0.2 ms of a run on 2 cores).
    let mut done: Vec<InitMessage> = std::iter::once(namespaces)
        .chain(layers)
        .map(InitMessage::Layer)
        .collect();
    done.extend([InitMessage::Timings(timings), InitMessage::Ready]);
    let _ = status::send_all(&status, &done);
    let waited;
    let cmd = match command_channel {
        None => &plan.command,
        Some(channel) => match read_command_readied(channel) {
            Some(c) => {
                waited = c;
                &waited
            }
            // The supervisor dropped the sandbox unused: nothing runs.
            None => sys::exit_now(0),
        },
    };
    let command = match spawn_command(cmd, &status) {
        Ok(pid) => pid,
        Err(ended) => {
            let _ = std::fs::File::from(result).write_all(&result_channel::ended_frame(ended));
            sys::exit_now(0)
        }
    };
    drop(status);
    // Reap every orphan until the command itself ends; its end is the sandbox's end.
    let ended = loop {
        match sys::wait_any() {
            Ok((pid, how)) if pid == command => break how,
            Ok(_) => continue,
            Err(_) => sys::exit_now(SETUP_FAILED),
        }
    };
    let mut frames = result_channel::ended_frame(ended);
    // When the command left nothing running, say so with the standard streams closed: the
    // supervisor can then end the run without waiting for this process's own exit (the
    // teardown of a copy of the supervisor's address space and of the pid namespace).
    if sys::no_children_left() && (0..3).all(|fd| sys::close(fd).is_ok()) {
        frames.extend(result_channel::tree_empty_frame());
    }
    let _ = std::fs::File::from(result).write_all(&frames);
    sys::exit_now(0)
}

/// Each step's name and time in microseconds (`InitMessage::Timings`).
type StepTimes = Vec<(String, u64)>;

/// Every layer, in order: the view (with the tmpfs sizes), the pid namespace's `pid_max`, the
/// privilege drop, the resource limits, Landlock, seccomp. The limits layer itself is reported by the supervisor, which
/// knows about the cgroup too. With the layers, each step's time.
fn confine(
    plan: &LinuxPlan,
    result: &OwnedFd,
    threads: SetupThreads,
) -> Result<(Vec<LayerReport>, StepTimes), LinuxError> {
    let mut times = Vec::new();
    let view = timed(&mut times, "mounts", || view::build(plan, &threads.unmount))?;
    // Before the privilege drop, which would take away the right to join it.
    if let Some(network) = threads.network {
        timed(&mut times, "network", || network.join())?;
    }
    // The unmount thread ends once its job is done (see `old_root`).
    drop(threads.unmount);
    threads
        .signals
        .recv()
        .map_err(|_| LinuxError::Setup {
            message: "pid 1's signal dispositions were not reset by its set-up thread".into(),
        })?
        .map_err(syscall("rt_sigaction", "pid 1"))?;
    if let Some(max) = plan.limits.pid_max {
        // Needs CAP_SYS_ADMIN in the namespace's owner, so before the privilege drop; the
        // fresh /proc of the view is the new pid namespace's.
        std::fs::write("/proc/sys/kernel/pid_max", max.to_string())
            .map_err(syscall("write", "/proc/sys/kernel/pid_max"))?;
    }
    let privileges = timed(&mut times, "privileges", privileges::drop_all)?;
    set_rlimits(plan)?;
    let landlock = timed(&mut times, "landlock", || {
        crate::landlock::apply_landlock(plan)
    })?;
    let seccomp = timed(&mut times, "seccomp", || {
        crate::seccomp::apply_seccomp(plan, result)
    })?;
    Ok((vec![view, privileges, landlock, seccomp], times))
}

/// Runs `step`, noting its time under `name`.
fn timed<T>(times: &mut StepTimes, name: &str, step: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let out = step();
    let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    times.push((name.to_string(), micros));
    out
}

/// `RLIMIT_NPROC` and `RLIMIT_FSIZE`, soft and hard, after the privilege drop: nothing in the
/// sandbox can raise them again.
fn set_rlimits(plan: &LinuxPlan) -> Result<(), LinuxError> {
    for (resource, value, name) in [
        (
            libc::RLIMIT_NPROC,
            plan.limits.nproc,
            "setrlimit(RLIMIT_NPROC)",
        ),
        (
            libc::RLIMIT_FSIZE,
            plan.limits.fsize,
            "setrlimit(RLIMIT_FSIZE)",
        ),
    ] {
        if let Some(value) = value {
            sys::set_rlimit(resource, value).map_err(syscall(name, "pid 1"))?;
        }
    }
    Ok(())
}

/// A waiting sandbox's command (one `command_frame`), or `None` when the supervisor closed the
/// channel without one (or wrote something that is not a frame).
fn read_command(channel: OwnedFd) -> Option<PlanCommand> {
    crate::command_frame::read(std::fs::File::from(channel))
}

/// [`read_command`], with the spawn's stack touched while the sandbox waits, not once the
/// command came (`sys::ready_spawn_stack`).
fn read_command_readied(channel: OwnedFd) -> Option<PlanCommand> {
    sys::ready_spawn_stack();
    read_command(channel)
}

fn to_cstrings<'a>(items: impl Iterator<Item = &'a OsStr>) -> Result<Vec<CString>, LinuxError> {
    items
        .map(|s| {
            sys::cstr(s).map_err(|e| LinuxError::Plan {
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Starts the command `vfork`-like (no copy of pid 1's page tables): pid 1 first enters
/// the command's directory and marks every descriptor but 0-2 close-on-exec, so that the
/// command starts there with only its stdio and default signal handling. Returns the command's
/// pid, or, after reporting why it could not start, how pid 1 should say the command ended
/// (126, 127 for a missing program, 125 for a failed set-up).
fn spawn_command(cmd: &PlanCommand, status: &OwnedFd) -> Result<libc::pid_t, Ended> {
    let report = |stage: Stage, e: &LinuxError| {
        let errno = match e {
            LinuxError::Syscall { source, .. } | LinuxError::Exec { source, .. } => {
                source.raw_os_error()
            }
            _ => None,
        };
        let _ = status::send(
            status,
            &InitMessage::Failed {
                stage,
                message: e.to_string(),
                errno,
            },
        );
    };
    let prepared = std::env::set_current_dir(&cmd.cwd)
        .map_err(syscall("chdir", &cmd.cwd.display().to_string()))
        .and_then(|()| sys::cloexec_from(3).map_err(syscall("close_range", "3..")));
    if let Err(e) = prepared {
        report(Stage::Setup, &e);
        return Err(Ended::Code(SETUP_FAILED));
    }
    let program = sys::cstr(&cmd.program);
    let argv = to_cstrings(
        std::iter::once(cmd.program.as_os_str()).chain(cmd.args.iter().map(|a| a.as_os_str())),
    );
    let env: Vec<Vec<u8>> = cmd
        .env
        .iter()
        .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
        .collect();
    let envp = to_cstrings(env.iter().map(|e| OsStr::from_bytes(e)));
    let (Ok(program), Ok(argv), Ok(envp)) = (program, argv, envp) else {
        let e = LinuxError::Plan {
            reason: "a NUL byte in the command".into(),
        };
        report(Stage::Exec, &e);
        return Err(Ended::Code(126));
    };
    sys::spawn(&program, &argv, &envp, IGNORED_SIGNAL).map_err(|source| {
        let missing = source.raw_os_error() == Some(libc::ENOENT);
        let e = LinuxError::Exec {
            program: cmd.program.clone(),
            source,
        };
        report(Stage::Exec, &e);
        Ended::Code(if missing { 127 } else { 126 })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the view's opening of a plan path that is gone says the plan is outdated: another
    /// missing path (the command's directory) or another error of `openat2` does not.
    #[test]
    fn only_a_plan_path_gone_reads_as_an_outdated_plan() {
        let err = |call, errno| LinuxError::Syscall {
            call,
            target: "/ws/.git".into(),
            source: std::io::Error::from_raw_os_error(errno),
        };
        let gone = err("openat2", libc::ENOENT);
        assert_eq!(reported_stage(Stage::Setup, &gone), Stage::Outdated);
        let chdir = err("chdir", libc::ENOENT);
        assert_eq!(reported_stage(Stage::Setup, &chdir), Stage::Setup);
        let denied = err("openat2", libc::EACCES);
        assert_eq!(reported_stage(Stage::Setup, &denied), Stage::Setup);
        assert_eq!(reported_stage(Stage::Exec, &gone), Stage::Exec);
    }

    #[test]
    fn an_empty_message_means_the_plan_the_init_has_and_none_is_an_error() {
        let plan = crate::plan::tests::sample();
        let sent = plan.to_bytes().unwrap();
        assert!(matches!(plan_from(&[], Some(&plan)), Ok(Cow::Borrowed(p)) if *p == plan));
        assert!(matches!(plan_from(&sent, None), Ok(Cow::Owned(p)) if p == plan));
        // A message wins over a plan in memory: an executed init never has one, a forked one
        // is sent the plan whenever the supervisor did not know it forked.
        let mut other = plan.clone();
        other.network_off = !other.network_off;
        assert!(matches!(plan_from(&sent, Some(&other)), Ok(Cow::Owned(p)) if p == plan));
        let err = plan_from(&[], None).unwrap_err().to_string();
        assert!(err.contains("empty plan"), "{err}");
    }
}
