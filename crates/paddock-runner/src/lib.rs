//! The process runner every backend uses: stdio pass-through or capture with a size cap, a
//! timeout that ends the whole process tree, Ctrl-C/SIGTERM/SIGHUP forwarding, and exit-status
//! mapping.
//!
//! Backends do not wait for processes themselves: they start the sandboxed tree through
//! `unix::spawn` or `windows::spawn` (or their own [`SandboxedProcess`]) and hand it to [`run`],
//! which owns the tree's lifetime. A backend whose own containment ends the tree with its first
//! process (the Linux backend's pid namespace, spawned by paddock-linux on top of
//! `unix::lifetime`) spares the end of every run a search of `/proc` for escaped processes.
//! Whatever way `run` returns, the tree is gone: a command that exits leaves nothing behind, a timeout or an interrupt ends every process of the tree. The
//! containment object (process group plus child-subreaper on plain Unix, a pid namespace in the
//! Linux backend, a job object on Windows) is what makes "every process of the tree" reliable.
//!
//! ```no_run
//! # #[cfg(unix)] fn demo() -> std::io::Result<()> {
//! use paddock_runner::{RunOptions, StdioMode, run, unix};
//! let mut cmd = std::process::Command::new("sh");
//! cmd.args(["-c", "echo hi"]);
//! let opts = RunOptions { stdio: StdioMode::Capture, ..RunOptions::default() };
//! let outcome = run(unix::spawn(cmd, opts.stdio)?, &opts)?;
//! assert_eq!(outcome.stdout.data, b"hi\n");
//! # Ok(()) }
//! ```

mod capture;
pub mod cmdline;
pub mod envblock;
mod exit;
mod signals;
#[cfg(unix)]
pub mod unix;
#[cfg(windows)]
pub mod windows;
pub mod workers;

pub use exit::ExitInfo;

use std::io::{self, Read};
use std::time::{Duration, Instant};

/// How the command's standard streams are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdioMode {
    /// The command shares the caller's stdin, stdout and stderr.
    Inherit,
    /// stdout and stderr are captured through pipes; stdin is the null device.
    Capture,
}

/// What `run` does around the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    pub stdio: StdioMode,
    /// Wall-clock limit; when reached the whole tree is killed and `Outcome::timed_out` is set.
    pub timeout: Option<Duration>,
    /// With `Capture`: at most this many bytes are kept *per stream*; the rest is read and
    /// counted but dropped, so the command never waits on a full pipe for long (a few
    /// milliseconds at most, until `run` sees the pipes fill and starts their pump).
    pub output_cap: u64,
    /// Forward SIGINT/SIGTERM/SIGHUP (Ctrl-C/Ctrl-Break/close on Windows) received by this process
    /// to the tree once, then kill the tree after `interrupt_grace`. A second signal kills at once.
    /// (An interactive Unix tree owns the terminal: Ctrl-C typed there reaches it directly.)
    pub forward_signals: bool,
    /// How long an interrupted tree may take to exit on its own before it is killed.
    pub interrupt_grace: Duration,
    /// Set from another thread to end the run (an MCP client's cancellation): `run` notices it
    /// within one tick, kills the whole tree and reports the run as interrupted.
    pub cancel: Option<CancelFlag>,
    /// Called around the rest of the wait when the command has not ended within its first
    /// tick (see [`HandOff`]); `None` waits in place.
    pub hand_off: Option<HandOff>,
}

/// What a caller that runs commands on an async runtime's own thread wraps around a wait that
/// may last (tokio's `block_in_place`, which lets the runtime go on on another thread): a
/// command that ends within its first tick (20 ms) never gets there, so its whole run, from
/// the request to the reply, stays on one thread with no hand-over to another and back.
/// The function must call the closure it is given, once, on the calling thread.
#[derive(Clone)]
pub struct HandOff(std::sync::Arc<Around>);

/// The caller's function: called with the wait, which it must call.
type Around = dyn Fn(&mut dyn FnMut()) + Send + Sync;

impl HandOff {
    pub fn new(around: impl Fn(&mut dyn FnMut()) + Send + Sync + 'static) -> HandOff {
        HandOff(std::sync::Arc::new(around))
    }

    /// Runs `wait` inside the caller's function and returns its result. Should that function
    /// not call it, `wait` runs in place.
    pub fn around<T>(&self, wait: impl FnOnce() -> T) -> T {
        let mut wait = Some(wait);
        let mut out = None;
        (self.0)(&mut || {
            if let Some(w) = wait.take() {
                out = Some(w());
            }
        });
        match (out, wait) {
            (Some(out), _) => out,
            (None, Some(w)) => w(),
            (None, None) => unreachable!("the wait ran but left no result"),
        }
    }

    /// Runs `wait` inside `hand_off` when there is one ([`HandOff::around`]), else in place.
    pub fn around_if<T>(hand_off: Option<&HandOff>, wait: impl FnOnce() -> T) -> T {
        match hand_off {
            Some(h) => h.around(wait),
            None => wait(),
        }
    }
}

impl std::fmt::Debug for HandOff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandOff")
    }
}

/// Two hand-offs are equal when they are the same function.
impl PartialEq for HandOff {
    fn eq(&self, other: &HandOff) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for HandOff {}

/// A flag another thread sets to cancel a run (see `RunOptions::cancel`). The same mechanism
/// on every platform: the run loop checks it at each tick and ends the tree with
/// `SandboxedProcess::kill_tree` (the pid namespace's init on Linux, the job object on
/// Windows, the broker's run at Windows level 2).
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl CancelFlag {
    pub fn new() -> CancelFlag {
        CancelFlag::default()
    }

    /// Cancels the run; idempotent.
    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Two flags are equal when they are the same flag.
impl PartialEq for CancelFlag {
    fn eq(&self, other: &CancelFlag) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CancelFlag {}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            stdio: StdioMode::Inherit,
            timeout: None,
            output_cap: 1 << 20,
            forward_signals: false,
            interrupt_grace: Duration::from_secs(2),
            cancel: None,
            hand_off: None,
        }
    }
}

/// One captured stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// Every byte the command wrote to the stream, kept or not.
    pub bytes: u64,
    /// The first `output_cap` bytes.
    pub data: Vec<u8>,
    /// True when `bytes` exceeded the cap (or the stream could not be drained to its end).
    pub truncated: bool,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: ExitInfo,
    pub duration: Duration,
    /// The timeout was reached and the tree was killed.
    pub timed_out: bool,
    /// A forwarded signal (Ctrl-C, SIGTERM, SIGHUP) ended the run.
    pub interrupted: bool,
    /// Empty unless `StdioMode::Capture`.
    pub stdout: Captured,
    pub stderr: Captured,
    /// What the backend saw the sandbox refuse (see [`SandboxedProcess::take_denials`]).
    pub denials: Vec<paddock_core::Denial>,
}

/// A polite request to stop, forwarded to the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT; Ctrl-C (sent as Ctrl-Break to the tree's console group) on Windows.
    Interrupt,
    /// SIGTERM; console close, logoff or shutdown on Windows.
    Terminate,
    /// SIGHUP (Unix only).
    Hangup,
}

/// The read ends of the command's captured streams: as readers, or on Unix as pipes
/// ([`ChildStdio::pipes`]); none with `StdioMode::Inherit`.
#[derive(Default)]
pub struct ChildStdio {
    pub stdout: Option<Box<dyn Read + Send>>,
    pub stderr: Option<Box<dyn Read + Send>>,
    /// Unix: the streams as pipes ([`ChildStdio::pipes`]), drained by one pump that polls
    /// both instead of a pump per stream.
    #[cfg(unix)]
    pipes: [Option<std::fs::File>; 2],
}

#[cfg(unix)]
impl ChildStdio {
    /// The read ends of the command's stdout and stderr pipes. One pump drains both (`poll`):
    /// on a thread once the command has filled a quarter of a pipe or run past `run`'s first
    /// tick, else on `run`'s own thread after the command ended, so a quick command with
    /// little output wakes no thread for its capture.
    pub fn pipes(
        stdout: Option<std::os::fd::OwnedFd>,
        stderr: Option<std::os::fd::OwnedFd>,
    ) -> ChildStdio {
        ChildStdio {
            pipes: [stdout.map(Into::into), stderr.map(Into::into)],
            ..ChildStdio::default()
        }
    }
}

/// One running sandboxed process tree: its first process and everything it starts.
pub trait SandboxedProcess: Send {
    /// The captured streams; called once by `run`, later calls return `None`s.
    fn take_stdio(&mut self) -> ChildStdio;
    /// The first process's exit status, if it has exited.
    fn try_wait(&mut self) -> io::Result<Option<ExitInfo>>;
    /// Waits at most `d` for the first process to exit.
    fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>>;
    /// Politely asks the whole tree to stop (SIGINT/SIGTERM/SIGHUP to the group, Ctrl-Break).
    fn signal_tree(&mut self, sig: Interrupt) -> io::Result<()>;
    /// Ends every process of the tree. Idempotent; returns once they are all gone or reaped as
    /// far as the containment can tell.
    fn kill_tree(&mut self) -> io::Result<()>;
    /// The first process's id.
    fn id(&self) -> u32;
    /// Signals recorded from before the spawn on, for `run` to forward: a signal that arrives
    /// after the command has started but before `run` has begun then reaches the tree instead
    /// of ending Paddock. `None` (the default): `run` installs its handlers itself.
    fn take_signal_watch(&mut self) -> Option<SignalWatch> {
        None
    }
    /// What the sandbox refused during the run and recorded (Linux: the connect broker's
    /// refusals), read once the tree has ended. Default: nothing is recorded.
    fn take_denials(&mut self) -> Vec<paddock_core::Denial> {
        Vec::new()
    }
}

/// Signal handlers installed at a spawn, handed to `run` (see
/// [`SandboxedProcess::take_signal_watch`]). Dropping it puts the previous handlers back and
/// forgets what it recorded.
pub struct SignalWatch(signals::Watch);

impl SignalWatch {
    /// Installs the handlers now; signals from here on are forwarded by the `run` it reaches.
    pub fn install() -> io::Result<SignalWatch> {
        signals::Watch::install().map(SignalWatch)
    }
}

/// How often the run loop wakes to check the timeout and forwarded signals.
const TICK: Duration = Duration::from_millis(20);

/// How often the first tick looks at captured pipes that have no pump yet (see
/// `Waiting::first_tick`).
const SLICE: Duration = Duration::from_millis(2);

/// The run loop's state between ticks.
struct Waiting<'a> {
    deadline: Option<Instant>,
    watch: Option<&'a signals::Watch>,
    opts: &'a RunOptions,
    timed_out: bool,
    interrupted: bool,
    kill_at: Option<Instant>,
    cancelled: bool,
}

impl Waiting<'_> {
    /// Waits one tick for the first process's end, then acts on forwarded signals, the
    /// timeout and a cancellation.
    fn tick(&mut self, child: &mut dyn SandboxedProcess) -> io::Result<Option<ExitInfo>> {
        if let Some(status) = child.wait_timeout(TICK)? {
            return Ok(Some(status));
        }
        self.act(child)?;
        Ok(None)
    }

    /// The first tick. While the captured pipes have no pump (`capture::Pumps::new`) it is
    /// waited in slices, and the pump is started as soon as the pipes fill: a command writing
    /// more than they hold waits at most a slice for a reader, and one that ends first with
    /// little output has it read after its end, with no thread woken.
    fn first_tick(
        &mut self,
        child: &mut dyn SandboxedProcess,
        pumps: &mut capture::Pumps,
    ) -> io::Result<Option<ExitInfo>> {
        let end = Instant::now() + TICK;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let slice = if pumps.pipes_pending() {
                left.min(SLICE)
            } else {
                left
            };
            if let Some(status) = child.wait_timeout(slice)? {
                return Ok(Some(status));
            }
            if Instant::now() >= end {
                break;
            }
            if pumps.filling() {
                pumps.start_pipes()?;
            }
        }
        self.act(child)?;
        Ok(None)
    }

    /// Acts on forwarded signals, the timeout and a cancellation.
    fn act(&mut self, child: &mut dyn SandboxedProcess) -> io::Result<()> {
        let now = Instant::now();
        if let Some(sig) = self.watch.and_then(signals::Watch::take) {
            if self.interrupted {
                child.kill_tree()?;
            } else {
                self.interrupted = true;
                // The tree may already be on its way out; the grace kill below still applies.
                let _ = child.signal_tree(sig);
                self.kill_at = Some(now + self.opts.interrupt_grace);
            }
        }
        if self.kill_at.is_some_and(|t| now >= t) {
            child.kill_tree()?;
        }
        if !self.timed_out && self.deadline.is_some_and(|d| now >= d) {
            self.timed_out = true;
            child.kill_tree()?;
        }
        if !self.cancelled
            && self
                .opts
                .cancel
                .as_ref()
                .is_some_and(CancelFlag::is_cancelled)
        {
            self.cancelled = true;
            self.interrupted = true;
            child.kill_tree()?;
        }
        Ok(())
    }
}

/// How long `run` waits, once the tree is gone, for the capture pipes to reach end of file.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// Runs `child` to its end: pumps captured output, enforces the timeout, forwards signals, and
/// kills whatever the tree left behind once its first process exits.
///
/// When it returns `Ok`, `kill_tree` returned `Ok` after the first process exited (or, Linux,
/// after the sandbox's pid 1 said that nothing but itself is left; its own exit is then reaped
/// in the background) and `child` has been dropped (its backend cleanup done): no process of
/// the command's tree is left, as far as the containment can tell (Windows: the job, or at level 2 the runner's job that nests the
/// command's, reports no active process). The after-run integrity check relies on it. An error
/// from `kill_tree` (processes that survived the kill) is returned instead: then the tree may
/// still be running, and a check made now could be undone behind it.
///
/// Signal handlers are those the spawn installed (`take_signal_watch`, the Unix spawns), else
/// installed here: then a signal between the spawn and `run` ends Paddock the ordinary way, and
/// the tree with it where the containment follows Paddock (the kill-on-close job on Windows),
/// without `interrupted` being reported. Without `forward_signals`, handlers a spawn installed
/// are removed here and a signal they caught in between is dropped.
pub fn run(mut child: Box<dyn SandboxedProcess>, opts: &RunOptions) -> io::Result<Outcome> {
    let start = Instant::now();
    let mut pumps = capture::Pumps::new(child.take_stdio(), opts.output_cap)?;
    let early = child.take_signal_watch();
    let watch = match (opts.forward_signals, early) {
        (true, Some(SignalWatch(w))) => Some(w),
        (true, None) => Some(signals::Watch::install()?),
        (false, _) => None,
    };
    let mut waiting = Waiting {
        // A deadline past what `Instant` can hold is no deadline (library callers may pass
        // any `Duration`; the CLI and config refuse anything over 100 years).
        deadline: opts.timeout.and_then(|t| start.checked_add(t)),
        watch: watch.as_ref(),
        opts,
        timed_out: false,
        interrupted: false,
        kill_at: None,
        cancelled: false,
    };
    let status = match waiting.first_tick(&mut *child, &mut pumps)? {
        Some(status) => status,
        None => {
            // Past the first tick: a pump drains the pipes from now on.
            pumps.start_pipes()?;
            HandOff::around_if(opts.hand_off.as_ref(), || {
                loop {
                    if let Some(status) = waiting.tick(&mut *child)? {
                        break Ok::<_, io::Error>(status);
                    }
                }
            })?
        }
    };
    let (timed_out, interrupted) = (waiting.timed_out, waiting.interrupted);
    child.kill_tree()?;
    let duration = start.elapsed();
    let denials = child.take_denials();
    drop(watch);
    let (stdout, stderr) = pumps.finish(DRAIN_LIMIT);
    Ok(Outcome {
        status,
        duration,
        timed_out,
        interrupted,
        stdout,
        stderr,
        denials,
    })
}
