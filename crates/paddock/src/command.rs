//! `SandboxCommand`: a builder in the spirit of `std::process::Command` (program, args, cwd, env,
//! policy, timeout, stdio) that runs a command under a Paddock policy and returns the run report.
//!
//! The order of work is fixed and fail-closed: build the concrete spec from the policy, scrub the
//! environment, resolve the program (127/126 before any sandbox is built), let the backend set up
//! and start the command, then let the runner own its lifetime (timeout, signals, capture).

use crate::backend;
use crate::error::PaddockError;
use crate::exit;
use crate::resolve::resolve_program;
use paddock_core::denial::{Denial, DenialSource, GuessContext};
use paddock_core::integrity::roots_watch::{RootsWatch, WatchPlan};
use paddock_core::report::RunReport;
use paddock_core::spec::CommandSpec;
use paddock_core::spec_memo::SpecMemo;
use paddock_core::{EnforcementReport, NetworkEvent, NetworkObserver, Policy, SandboxSpec};
use paddock_runner::{ExitInfo, HandOff, RunOptions, StdioMode};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A command to run in the sandbox.
#[derive(Debug, Clone)]
pub struct SandboxCommand {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    workspace: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    policy: Policy,
    capture: bool,
    forward_signals: bool,
    network_observers: Vec<NetworkObserver>,
    /// Where the policy's timeout came from, for the timeout's denial report.
    timeout_set_by: Option<String>,
    /// A resident front end's spare sandbox, used when it fits (see `warm`).
    spare: Option<crate::warm::SpareTicket>,
    /// A resident front end's watches of the writable roots, kept between runs.
    walks: Option<WalkKeeper>,
    cancel: Option<crate::cancel::CancelHandle>,
    /// Wrapped around the waits that may last (see [`SandboxCommand::hand_off`]).
    hand_off: Option<HandOff>,
}

/// The spec and command a run would use, computed without starting anything.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub spec: SandboxSpec,
    pub command: CommandSpec,
    /// Environment variable names dropped by scrubbing.
    pub dropped_env: Vec<String>,
    /// What the checks left pending by an earlier, killed Paddock reverted before this spec was
    /// made (`integrity::pending::recover`).
    pub recovered: Vec<paddock_core::integrity::IntegrityEvent>,
    /// The watches the spec's pre-walk set on the writable roots, for this run's after-run
    /// check (taken by the first run of this `Prepared`; a clone's run walks in full).
    pub roots_watch: WalkKeeper,
}

/// A place for one set of watches of the writable roots (`integrity::roots_watch`), shared by
/// its clones. A [`Prepared`] holds its pre-walk's, taken by the run that checks after
/// itself. A resident front end (`paddock mcp`) keeps one between runs, so that each run's
/// pre-walk lists again only what changed since the previous one
/// (`integrity::discover::find_repos_again`): a run takes the watches for its pre-walk and
/// gives them back after its after-run check, when its process tree was confirmed ended and
/// they are still worth keeping (`RootsWatch::worth_keeping`); a run that finds none walks
/// afresh. The front end's keeper also holds the spec's memo (`paddock_core::spec_memo`): made
/// again by each spare sandbox's build, used by runs while nothing it was made from changed;
/// the programs found along `PATH` (`resolve::KeptPrograms`); and the last scrubbed
/// environment (`paddock_core::env::ScrubMemo`).
#[derive(Clone, Default)]
pub struct WalkKeeper {
    watch: Arc<Mutex<Option<RootsWatch>>>,
    memo: Arc<Mutex<Option<SpecMemo>>>,
    /// Programs found along `PATH`, kept while their lookups still hold.
    programs: Arc<crate::resolve::KeptPrograms>,
    /// The last scrubbed environment, used again while the environment and the policy's
    /// `env` are the same.
    scrubbed: Arc<paddock_core::env::ScrubMemo>,
    /// When the spec's memo is made again after failing (`lookup_watch::Attempts`).
    memo_attempts: Arc<paddock_core::lookup_watch::Attempts>,
}

impl WalkKeeper {
    pub fn new() -> Self {
        WalkKeeper::default()
    }

    fn holding(watch: Option<RootsWatch>) -> Self {
        WalkKeeper {
            watch: Arc::new(Mutex::new(watch)),
            ..WalkKeeper::default()
        }
    }

    pub(crate) fn take(&self) -> Option<RootsWatch> {
        self.watch.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Whether watches are kept for the next run (else its pre-walk lists every directory).
    fn holds_watch(&self) -> bool {
        self.watch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Keeps `watch` for the next run (the one kept before, from a run that ended meanwhile,
    /// is dropped), or drops it when it is no longer worth keeping.
    pub(crate) fn give_back(&self, watch: RootsWatch) {
        if !watch.worth_keeping() {
            paddock_core::integrity::roots_watch::close_later(watch);
            return;
        }
        let old = self
            .watch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(watch);
        if let Some(old) = old {
            paddock_core::integrity::roots_watch::close_later(old);
        }
    }

    /// Takes the spec's memo for one computation of the spec (a computation at the same time
    /// finds none and computes the spec in full).
    pub(crate) fn take_memo(&self) -> Option<SpecMemo> {
        self.memo.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Keeps `memo` while it can still be used; a memo replaced or spent is dropped off the
    /// caller's path (closing its watches takes time).
    pub(crate) fn give_back_memo(&self, memo: Option<SpecMemo>) {
        let Some(memo) = memo else { return };
        if !memo.usable() {
            paddock_runner::workers::drop_later(memo);
            return;
        }
        let old = self
            .memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(memo);
        if let Some(old) = old {
            paddock_runner::workers::drop_later(old);
        }
    }

    /// The spec for `policy` in `workspace` with these watches and memo (see
    /// `SandboxSpec::from_policy_kept`; `refresh` off a run's path only).
    pub(crate) fn spec(
        &self,
        policy: &Policy,
        workspace: &std::path::Path,
        refresh: bool,
    ) -> Result<(SandboxSpec, Option<RootsWatch>), paddock_core::SpecError> {
        let mut memo = self.take_memo();
        let refresh = refresh && (memo.is_some() || self.memo_attempts.try_now());
        let made = SandboxSpec::from_policy_kept(
            policy,
            workspace,
            WatchPlan::Kept(self.take()),
            &mut memo,
            refresh,
        );
        if refresh {
            self.memo_attempts
                .tried(memo.as_ref().is_some_and(SpecMemo::usable));
        }
        self.give_back_memo(memo);
        made
    }
}

impl std::fmt::Debug for WalkKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.watch.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_tuple("WalkKeeper").field(&*held).finish()
    }
}

impl SandboxCommand {
    /// A command running `program` under the built-in default policy.
    pub fn new(program: impl Into<OsString>) -> Self {
        SandboxCommand {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            workspace: None,
            env: Vec::new(),
            policy: paddock_core::config::default_policy(),
            capture: false,
            forward_signals: false,
            network_observers: Vec::new(),
            timeout_set_by: None,
            spare: None,
            walks: None,
            cancel: None,
            hand_off: None,
        }
    }

    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The working directory (default: the workspace, or the current directory).
    pub fn cwd(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.cwd = Some(dir.into());
        self
    }

    /// The workspace root (default: the working directory).
    pub fn workspace(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.workspace = Some(dir.into());
        self
    }

    /// Sets a variable after the policy's scrubbing (it is passed even if its name looks secret).
    pub fn env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn policy(&mut self, policy: Policy) -> &mut Self {
        self.policy = policy;
        self
    }

    pub fn timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.policy.timeout = timeout;
        self
    }

    /// Where the timeout was set (`command line`, `user config PATH`, ...), named by the report
    /// of a run that reaches it.
    pub fn timeout_set_by(&mut self, source: impl Into<String>) -> &mut Self {
        self.timeout_set_by = Some(source.into());
        self
    }

    /// Capture stdout/stderr into the report (stdin is then empty) instead of passing them through.
    pub fn capture_output(&mut self, capture: bool) -> &mut Self {
        self.capture = capture;
        self
    }

    /// Forward SIGINT/SIGTERM/SIGHUP (Ctrl-C on Windows) to the sandboxed tree (CLI use).
    pub fn forward_signals(&mut self, forward: bool) -> &mut Self {
        self.forward_signals = forward;
        self
    }

    /// Calls `f` with each decision of the network allow-list proxy as it is made, while the
    /// command runs (from the proxy's threads); every decision is also in the run's report.
    pub fn on_network_event(
        &mut self,
        f: impl Fn(&NetworkEvent) + Send + Sync + 'static,
    ) -> &mut Self {
        self.network_observers.push(NetworkObserver::new(f));
        self
    }

    /// Lets the run start in a spare sandbox when one fits (captured output only; see `warm`).
    pub fn spare(&mut self, ticket: crate::warm::SpareTicket) -> &mut Self {
        self.spare = Some(ticket);
        self
    }

    /// Lets the run's pre-walk start from the watches `keeper` holds and give them back after
    /// its check (see [`WalkKeeper`]).
    pub fn walk_keeper(&mut self, keeper: WalkKeeper) -> &mut Self {
        self.walks = Some(keeper);
        self
    }

    /// Lets `handle` cancel the run (see `cancel`).
    pub fn cancel_handle(&mut self, handle: crate::cancel::CancelHandle) -> &mut Self {
        self.cancel = Some(handle);
        self
    }

    /// Wraps `around` around each step of the run that may last: a pre-walk or after-run check
    /// without kept watches, building a sandbox of its own, waiting for a spare being built,
    /// and the command's run past its first tick (see `paddock_runner::HandOff`); a warm run
    /// of a quick command needs none of them. A front end that runs the command on its async
    /// runtime's thread passes a function that lets the runtime go on meanwhile; everything
    /// else in a run is short work on the thread.
    pub fn hand_off(&mut self, around: HandOff) -> &mut Self {
        self.hand_off = Some(around);
        self
    }

    /// True when the output is captured into the report (`capture_output`).
    pub fn captures_output(&self) -> bool {
        self.capture
    }

    /// The policy this command runs under.
    pub fn current_policy(&self) -> &Policy {
        &self.policy
    }

    /// Program and arguments as strings (lossy), as the rules and the audit log see them.
    pub fn argv_lossy(&self) -> Vec<String> {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    /// The working directory as given, or the current directory.
    pub fn cwd_or_current(&self) -> PathBuf {
        self.cwd
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default()
    }

    /// The working directory and workspace this command will use, resolved.
    fn dirs(&self) -> Result<(PathBuf, PathBuf), PaddockError> {
        let here = std::env::current_dir()?;
        let cwd = match &self.cwd {
            Some(c) => paddock_core::paths::resolve(&here, c).map_err(|e| {
                paddock_core::SpecError::WorkingDirectory {
                    path: c.clone(),
                    reason: e.to_string(),
                }
            })?,
            None => here.clone(),
        };
        if let Some(problem) = paddock_core::paths::dir_problem(&cwd) {
            return Err(paddock_core::SpecError::WorkingDirectory {
                path: cwd,
                reason: problem.into(),
            }
            .into());
        }
        let workspace = self.workspace.clone().unwrap_or_else(|| cwd.clone());
        Ok((cwd, workspace))
    }

    /// Computes the spec and the command without running anything.
    pub fn prepare(&self) -> Result<Prepared, PaddockError> {
        let _span = tracing::debug_span!("prepare").entered();
        let (cwd, workspace) = self.dirs()?;
        // Checks a Paddock killed mid-run could not do come first: what they remove must not
        // be taken for this run's existing control files.
        let recovered = match paddock_core::state::state_dir() {
            Some(dir) if self.policy.mode != paddock_core::Mode::FullAccess => {
                // The state dir exists before the spec is made: the supervisor writes it during
                // the run (audit log, pending check), so inside a writable root it must be
                // protected, not watched (a watched path that appears is removed after the run).
                let _ = paddock_core::integrity::pending::ensure_state_dir(&dir);
                paddock_core::integrity::pending::recover(&dir)
            }
            _ => Vec::new(),
        };
        // What an earlier check could not do (a directory it could not look into, a revert that
        // failed) stays undone: a run now would take what it missed for existing.
        if let Some((e, error)) = paddock_core::integrity::first_undone(&recovered) {
            return Err(PaddockError::state(
                format!(
                    "an earlier run's check for planted repositories could not complete at {} \
                     ({error}); fix that, then run again",
                    e.path.display()
                ),
                None,
            ));
        }
        paddock_core::recipes::create_caches(
            &self.policy,
            paddock_core::state::home_dir().as_deref(),
        )?;
        let make = || match &self.walks {
            Some(keeper) => keeper.spec(&self.policy, &workspace, false),
            None => SandboxSpec::from_policy_watched(&self.policy, &workspace, WatchPlan::OneRun),
        };
        // A pre-walk with no watches kept lists every directory of the roots (tens of ms for a
        // large tree): inside the hand-off.
        let full_walk = self.walks.as_ref().is_none_or(|k| !k.holds_watch());
        let (spec, roots_watch) =
            HandOff::around_if(self.hand_off.as_ref().filter(|_| full_walk), make)?;
        backend::check_portable(&spec)?;
        let env_span = tracing::debug_span!("env_scrub_and_program_lookup").entered();
        let mut scrubbed = match &self.walks {
            Some(keeper) => keeper
                .scrubbed
                .scrub(std::env::vars_os().collect(), &self.policy.env),
            None => paddock_core::env::scrub(std::env::vars_os(), &self.policy.env),
        };
        for (k, v) in &self.env {
            paddock_core::env::set_var(&mut scrubbed.vars, &k.to_string_lossy(), v.clone());
        }
        let program = match &self.walks {
            Some(keeper) => keeper
                .programs
                .resolve(&self.program, &cwd, &scrubbed.vars)?,
            None => resolve_program(&self.program, &cwd, &scrubbed.vars)?,
        };
        drop(env_span);
        Ok(Prepared {
            spec,
            command: CommandSpec {
                program,
                args: self.args.clone(),
                cwd,
                env: scrubbed.vars,
            },
            dropped_env: scrubbed.dropped,
            recovered,
            roots_watch: WalkKeeper::holding(roots_watch),
        })
    }

    /// The command as it would run OUTSIDE the sandbox (an approved escalation): with the
    /// caller's own environment (as Paddock inherited it, plus what `env` set on this builder),
    /// none of the policy's `env` settings (a project's could choose what runs), the program
    /// found in the caller's `PATH`, and no sandbox (`full-access`). Run it with `run_prepared`
    /// exactly as prepared, so what was shown for approval is what runs.
    pub fn prepare_escalation(&self) -> Result<Prepared, PaddockError> {
        let (cwd, workspace) = self.dirs()?;
        let mut unconfined = self.policy.clone();
        unconfined.mode = paddock_core::Mode::FullAccess;
        let spec = SandboxSpec::from_policy(&unconfined, &workspace)?;
        let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        env.sort_by(|(a, _), (b, _)| paddock_core::env::cmp_names(a, b));
        for (k, v) in &self.env {
            paddock_core::env::set_var(&mut env, &k.to_string_lossy(), v.clone());
        }
        let program = resolve_program(&self.program, &cwd, &env)?;
        Ok(Prepared {
            spec,
            command: CommandSpec {
                program,
                args: self.args.clone(),
                cwd,
                env,
            },
            dropped_env: Vec::new(),
            recovered: Vec::new(),
            roots_watch: WalkKeeper::default(),
        })
    }

    /// Runs the command and returns its report. `Err` means the command never started.
    pub fn run(&self) -> Result<RunReport, PaddockError> {
        let prepared = self.prepare()?;
        self.run_prepared(&prepared)
    }

    /// Runs an already prepared command (see `prepare`). When the backend finds the plan
    /// outdated while it builds the sandbox (a path it names was moved meanwhile, by a
    /// concurrent run's after-run check say: see `PaddockError::plan_outdated`), the command
    /// has not run: a sandboxed command is prepared again from the host as it is now (the same
    /// program, directory and roots; the protected paths as they are now) and run once more; a
    /// second such failure is the answer. What the first preparation recovered stays in the
    /// report. An unconfined run (an escalation, run exactly as prepared) never gets there.
    pub fn run_prepared(&self, prepared: &Prepared) -> Result<RunReport, PaddockError> {
        match self.run_prepared_once(prepared) {
            Err(e) if e.plan_outdated() && prepared.spec.mode != paddock_core::Mode::FullAccess => {
                tracing::debug!(error = %e, "plan outdated while the sandbox was built; planning again");
                let mut again = self.prepare()?;
                again
                    .recovered
                    .splice(0..0, prepared.recovered.iter().cloned());
                self.run_prepared_once(&again)
            }
            done => done,
        }
    }

    fn run_prepared_once(&self, prepared: &Prepared) -> Result<RunReport, PaddockError> {
        let stdio = if self.capture {
            StdioMode::Capture
        } else {
            StdioMode::Inherit
        };
        let confined = self.policy.mode != paddock_core::Mode::FullAccess
            && !prepared.spec.writable_roots.is_empty();
        // This run's check is recorded before the command starts (see `integrity::pending`).
        let pending = match (&paddock_core::state::state_dir(), confined) {
            (Some(dir), true) => Some(
                paddock_core::integrity::pending::begin(dir, &prepared.spec).map_err(|e| {
                    PaddockError::state(
                        format!(
                            "cannot record the after-run check in {}: {e}; fix its permissions \
                             or set PADDOCK_STATE_DIR to a writable directory",
                            dir.display()
                        ),
                        Some(Box::new(e)),
                    )
                })?,
            ),
            (None, true) => {
                return Err(PaddockError::state(
                    "no state directory for the after-run check (HOME is not set); set \
                     PADDOCK_STATE_DIR to a writable directory",
                    None,
                ));
            }
            (_, false) => None,
        };
        let network = paddock_core::NetworkLog::observed(self.network_observers.clone());
        let launched = if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            Err(PaddockError::Cancelled)
        } else {
            tracing::debug_span!("backend_launch", mode = prepared.spec.mode.as_str())
                .in_scope(|| self.launch(prepared, stdio, &network))
        };
        let (child, enforcement) = match launched {
            Ok(l) => l,
            Err(e) => {
                if let Some(p) = pending {
                    p.finish();
                }
                return Err(e);
            }
        };
        let opts = RunOptions {
            stdio,
            timeout: self.policy.timeout,
            output_cap: self.policy.output_cap,
            forward_signals: self.forward_signals,
            cancel: self.cancel.as_ref().map(crate::cancel::CancelHandle::flag),
            hand_off: self.hand_off.clone(),
            ..RunOptions::default()
        };
        let outcome = tracing::debug_span!("wait").in_scope(|| paddock_runner::run(child, &opts));
        let cancelled = self
            .cancel
            .as_ref()
            .is_some_and(crate::cancel::CancelHandle::is_cancelled);
        // Every sandboxed process has ended (the backend's containment guarantees it once `run`
        // returns): revert what the command planted for git, Paddock or the shell to run later.
        let mut integrity = prepared.recovered.clone();
        if let Some(p) = pending {
            // The watches answer only for a tree that has ended: else every root is walked.
            let mut watch = prepared.roots_watch.take().filter(|_| outcome.is_ok());
            // Without watches every root is walked again: inside the hand-off.
            let full_walk = watch.is_none();
            let checked = HandOff::around_if(self.hand_off.as_ref().filter(|_| full_walk), || {
                paddock_core::integrity::check_after_run_watched(&prepared.spec, watch.as_mut())
            });
            let complete = paddock_core::integrity::first_undone(&checked).is_none();
            integrity.extend(checked);
            match (watch, &self.walks) {
                (Some(w), Some(keeper)) => keeper.give_back(w),
                // Closing the queue removes one watch per directory (measured: about 8 us
                // each, 16 ms for 2,000 directories): off the run's path.
                (Some(w), None) if w.watched_dirs() > 0 => paddock_runner::workers::drop_later(w),
                _ => {}
            }
            // When the runner could not confirm the tree ended (processes outlived the kill), or
            // the check could not do all it had to, the record stays for the next run to check
            // again; its lock goes with `p`.
            match (outcome.is_ok(), complete) {
                (true, true) => p.finish(),
                (true, false) => p.check_again_later(),
                // The whole check again, watched paths included: processes may have outlived
                // the run.
                (false, _) => {}
            }
        }
        let mut outcome = outcome?;
        let seen = std::mem::take(&mut outcome.denials);
        let mut report = report_from(outcome, enforcement);
        if cancelled {
            report.interrupted = true;
            report.exit_code = exit::INTERRUPTED;
        }
        report.denials = self.denials(&report, seen, prepared);
        report.denial_summary = paddock_core::denial::summary(&report.denials);
        report.integrity = integrity;
        report.workspace = Some(prepared.spec.workspace.clone());
        report.network = network.take();
        Ok(report)
    }

    /// Starts the command: in the spare when this command has one that fits, else through the
    /// backend. A spare that does not fit is dropped, never kept for a later run.
    fn launch(
        &self,
        prepared: &Prepared,
        stdio: StdioMode,
        network: &paddock_core::NetworkLog,
    ) -> Result<backend::Launched, PaddockError> {
        if let Some(ticket) = self.spare.as_ref().filter(|_| stdio == StdioMode::Capture)
            && let Some(spare) =
                tracing::debug_span!("spare_take").in_scope(|| ticket.take(self.hand_off.as_ref()))
            && tracing::debug_span!("spare_fits")
                .in_scope(|| spare.fits(&prepared.spec, &self.policy))
        {
            match tracing::debug_span!("spare_start").in_scope(|| spare.start(&prepared.command)) {
                Ok(launched) => {
                    ticket.mark_used();
                    return Ok(launched);
                }
                // The program's own failure is the run's answer; a spare that broke while it
                // waited (its pid 1 killed) leaves the run to a sandbox of its own.
                Err(e @ (PaddockError::NotFound { .. } | PaddockError::NotExecutable { .. })) => {
                    // The spare was this call's: its command was tried there.
                    ticket.mark_used();
                    return Err(e);
                }
                Err(_) => {}
            }
        }
        // A sandbox of its own takes longer than a spare (on Windows, its grants too): it is
        // built inside the hand-off.
        HandOff::around_if(self.hand_off.as_ref(), || {
            backend::launch(
                &prepared.spec,
                &prepared.command,
                &self.policy.limits,
                stdio,
                network,
            )
        })
    }
}

impl SandboxCommand {
    /// A run's denials: the timeout with its limit, what the backend saw the sandbox refuse,
    /// and, for a failed sandboxed run, the write attempts the backend observed outside the
    /// writable roots (Linux) and guesses from its captured stderr (each marked as one). Writes
    /// the backend observed replace guessed writes; reads are only ever guessed.
    fn denials(&self, report: &RunReport, seen: Vec<Denial>, prepared: &Prepared) -> Vec<Denial> {
        let mut out = Vec::new();
        if report.timed_out {
            out.push(Denial::Timeout {
                limit_ms: self
                    .policy
                    .timeout
                    .map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
                set_by: self.timeout_set_by.clone(),
            });
        }
        let failed = report.exit_code != 0 && !report.timed_out && !report.interrupted;
        let observed_write = |d: &Denial| {
            matches!(
                d,
                Denial::WriteOutsideRoots { source, .. } | Denial::WriteProtected { source, .. }
                    if *source == DenialSource::Observed
            )
        };
        let writes_observed = seen.iter().any(observed_write);
        // A run that succeeded tried those writes and did without them: not why it failed.
        out.extend(seen.into_iter().filter(|d| failed || !observed_write(d)));
        if let (true, false, Some(stderr)) = (failed, report.enforcement.unconfined, &report.stderr)
        {
            let spec = &prepared.spec;
            let mut writable = spec.writable_roots.clone();
            if cfg!(target_os = "linux") {
                // The private tmpfs of every Linux run.
                writable.extend(["/tmp", "/var/tmp", "/dev/shm"].map(PathBuf::from));
            }
            let protected: Vec<PathBuf> = spec.protected.iter().map(|p| p.path.clone()).collect();
            let deny_read: Vec<PathBuf> = spec.deny_read.iter().map(|d| d.path.clone()).collect();
            let home = paddock_core::state::home_dir();
            let cx = GuessContext {
                writable: &writable,
                protected: &protected,
                deny_read: &deny_read,
                cwd: &prepared.command.cwd,
                home: home.as_deref(),
            };
            let guessed_write = |d: &Denial| {
                matches!(
                    d,
                    Denial::WriteOutsideRoots { .. } | Denial::WriteProtected { .. }
                )
            };
            out.extend(
                paddock_core::denial::guess_from_stderr(stderr, &cx)
                    .into_iter()
                    .filter(|d| !(writes_observed && guessed_write(d))),
            );
        }
        out
    }
}

fn report_from(o: paddock_runner::Outcome, enforcement: EnforcementReport) -> RunReport {
    let (command_exit_code, signal) = match o.status {
        ExitInfo::Code(c) => (Some(c), None),
        ExitInfo::Signal(s) => (None, Some(s)),
    };
    let exit_code = if o.timed_out {
        exit::TIMEOUT
    } else if o.interrupted {
        exit::INTERRUPTED
    } else {
        o.status.shell_code()
    };
    let text = |c: &paddock_runner::Captured| String::from_utf8_lossy(&c.data).into_owned();
    RunReport {
        exit_code,
        command_exit_code,
        signal,
        duration_ms: u64::try_from(o.duration.as_millis()).unwrap_or(u64::MAX),
        timed_out: o.timed_out,
        interrupted: o.interrupted,
        stdout_bytes: o.stdout.bytes,
        stderr_bytes: o.stderr.bytes,
        stdout: Some(text(&o.stdout)).filter(|_| o.stdout.bytes > 0 || !o.stdout.data.is_empty()),
        stderr: Some(text(&o.stderr)).filter(|_| o.stderr.bytes > 0 || !o.stderr.data.is_empty()),
        output_truncated: o.stdout.truncated || o.stderr.truncated,
        enforcement,
        workspace: None,
        decision: None,
        error: None,
        integrity: Vec::new(),
        on_failure: None,
        network: Vec::new(),
        denials: Vec::new(),
        denial_summary: None,
    }
}

/// A report for a run that never started.
pub fn failure_report(err: &PaddockError) -> RunReport {
    RunReport {
        exit_code: err.exit_code(),
        error: Some(err.to_string()),
        ..RunReport::default()
    }
}
