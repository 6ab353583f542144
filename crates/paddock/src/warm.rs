//! Spare sandboxes for a resident front end (`paddock mcp`): while idle, a keeper thread builds
//! the next sandbox for the base policy (Linux: `paddock_linux::prepare_waiting`), so that a
//! call only hands it the command. Every command still gets a sandbox of its own: a spare is
//! taken out of its slot by one run and never returned.
//!
//! Staleness, fail closed: a run uses a spare only when the spec it computes at that moment
//! (the integrity walk included) equals the spare's, the resource limits are the same and no
//! unix socket appeared on the host since the spare was built; otherwise the spare is dropped
//! (its pid 1 killed, nothing ran) and the run builds its sandbox as usual. The after-run check
//! and its pending record belong to the run, not to the spare.

use crate::backend::{self, WaitingSandbox};
use crate::command::WalkKeeper;
use crate::error::PaddockError;
use paddock_core::{Policy, SandboxSpec};
use paddock_runner::HandOff;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A sandbox built for a policy and waiting for its command.
pub struct Spare {
    sandbox: Box<dyn WaitingSandbox>,
    limits: paddock_core::policy::Limits,
    built: Instant,
}

impl std::fmt::Debug for Spare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spare")
            .field("age", &self.built.elapsed())
            .finish_non_exhaustive()
    }
}

/// Whether this build's backend makes spares at all (Linux only).
pub fn supported() -> bool {
    backend::current().builds_spares()
}

/// Builds a spare for `policy` in `workspace`. `Ok(None)` when the policy gets no spare
/// (full-access, a network allow-list, or a backend without spares). With `walks`, the spec's
/// pre-walk starts from the watches it holds and gives them back (see `WalkKeeper`).
pub fn build(
    policy: &Policy,
    workspace: &Path,
    walks: Option<&WalkKeeper>,
) -> Result<Option<Spare>, PaddockError> {
    if policy.mode == paddock_core::Mode::FullAccess
        || matches!(policy.network, paddock_core::Network::Allowlist(_))
    {
        return Ok(None);
    }
    let spec = match walks {
        Some(keeper) => {
            let (spec, watch) = keeper.spec(policy, workspace, true)?;
            if let Some(w) = watch {
                keeper.give_back(w);
            }
            spec
        }
        None => SandboxSpec::from_policy(policy, workspace)?,
    };
    let Some(sandbox) = backend::current().prepare_spare(&spec, &policy.limits)? else {
        return Ok(None);
    };
    Ok(Some(Spare {
        sandbox,
        limits: policy.limits.clone(),
        built: Instant::now(),
    }))
}

impl Spare {
    /// Whether a run with `spec` and `policy` may use this spare (see the module docs).
    pub fn fits(&self, spec: &SandboxSpec, policy: &Policy) -> bool {
        self.sandbox.spec() == spec && self.limits == policy.limits && self.sandbox.is_current()
    }

    /// Starts `cmd` in the spare.
    pub(crate) fn start(
        self,
        cmd: &paddock_core::spec::CommandSpec,
    ) -> Result<crate::backend::Launched, PaddockError> {
        self.sandbox.start(cmd)
    }
}

enum State {
    Empty,
    Building,
    Ready(Box<Spare>),
}

/// Where the keeper puts the spare and runs take it.
pub struct SpareSlot {
    state: Mutex<State>,
    changed: Condvar,
    /// A refill claimed but not yet handed to the keeper (see [`SpareKeeper::refill_after_reply`]).
    deferred: Arc<Deferred>,
}

/// How long a run waits for a spare being built before it builds its own sandbox.
const WAIT_FOR_BUILD: Duration = Duration::from_secs(2);

impl SpareSlot {
    fn new(deferred: Arc<Deferred>) -> SpareSlot {
        SpareSlot {
            state: Mutex::new(State::Empty),
            changed: Condvar::new(),
            deferred,
        }
    }

    /// Takes the spare, waiting for one being built (it is nearer done than a new sandbox). A
    /// refill still waiting for a reply is started now: this run wants it first. The wait, when
    /// there is one, runs inside `hand_off` (see `SandboxCommand::hand_off`).
    pub fn take(&self, hand_off: Option<&HandOff>) -> Option<Spare> {
        {
            // Seen not being built and taken under one lock: a refill claimed in between would
            // leave this run waiting for a build whose wake-up waits for a reply.
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if !matches!(*state, State::Building) {
                return take_out(&mut state);
            }
        }
        // Not under the state's lock: a refill takes the deferred wake's lock, then the state's.
        self.deferred.hand_over();
        HandOff::around_if(hand_off, || self.wait_and_take())
    }

    /// Takes the spare, waiting up to `WAIT_FOR_BUILD` for one being built.
    fn wait_and_take(&self) -> Option<Spare> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + WAIT_FOR_BUILD;
        while matches!(*state, State::Building) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        take_out(&mut state)
    }

    fn set(&self, s: State) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = s;
        self.changed.notify_all();
    }

    /// Marks the slot as being filled, unless it already holds or awaits a spare.
    fn claim(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*state, State::Empty) {
            *state = State::Building;
            true
        } else {
            false
        }
    }
}

/// The spare of a slot not being built, leaving it empty.
fn take_out(state: &mut State) -> Option<Spare> {
    match std::mem::replace(state, State::Empty) {
        State::Ready(spare) => Some(*spare),
        _ => None,
    }
}

/// One run's access to the slot: the run takes at most one spare and says whether it did.
#[derive(Clone)]
pub struct SpareTicket {
    slot: Arc<SpareSlot>,
    used: Arc<AtomicBool>,
}

impl std::fmt::Debug for SpareTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpareTicket")
            .field("used", &self.was_used())
            .finish_non_exhaustive()
    }
}

impl SpareTicket {
    /// Whether the run started its command in a spare.
    pub fn was_used(&self) -> bool {
        self.used.load(Ordering::SeqCst)
    }

    pub(crate) fn take(&self, hand_off: Option<&HandOff>) -> Option<Spare> {
        self.slot.take(hand_off)
    }

    pub(crate) fn mark_used(&self) {
        self.used.store(true, Ordering::SeqCst);
    }
}

/// What the keeper builds for: the base policy and workspace as they are now, or `None` for
/// no spare (the config cannot be read, say).
pub type BaseFn = dyn Fn() -> Option<(Policy, PathBuf)> + Send + 'static;

/// A refill claimed but not handed to the keeper yet: the wake-up that starts the build, held
/// until the front end has sent its next reply or a run wants the spare, whichever comes
/// first. Nobody else is woken meanwhile.
#[derive(Default)]
struct Deferred(Mutex<Option<mpsc::Sender<()>>>);

impl Deferred {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Sender<()>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the keeper for the refill held, if one is.
    fn hand_over(&self) {
        let held = self.lock().take();
        if let Some(wake) = held {
            let _ = wake.send(());
        }
    }
}

/// Counts the replies a resident front end has sent; each one hands the keeper the refill held
/// since the last run (see [`SpareKeeper::refill_after_reply`]).
#[derive(Default)]
pub struct ReplyCounter {
    sent: Mutex<u64>,
    deferred: Arc<Deferred>,
}

impl ReplyCounter {
    /// Says that a reply has been written out (for `paddock mcp`: after each flush of stdout).
    pub fn sent(&self) {
        *self.sent.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.deferred.hand_over();
    }

    /// How many replies have been sent.
    pub fn count(&self) -> u64 {
        *self.sent.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The keeper: a thread that fills the slot when asked. The thread lives as long as the keeper
/// (on Linux a spare's pid 1 dies with the thread that started it, so the builder must not be
/// a pool thread that may exit).
pub struct SpareKeeper {
    slot: Arc<SpareSlot>,
    wake: Mutex<mpsc::Sender<()>>,
    replies: Arc<ReplyCounter>,
}

impl SpareKeeper {
    /// Starts the keeper; the first spare is built at once.
    pub fn start(base: Box<BaseFn>, walks: Option<WalkKeeper>) -> std::io::Result<SpareKeeper> {
        let deferred = Arc::new(Deferred::default());
        let slot = Arc::new(SpareSlot::new(deferred.clone()));
        let replies = Arc::new(ReplyCounter {
            sent: Mutex::new(0),
            deferred,
        });
        let (tx, rx) = mpsc::channel::<()>();
        let filled = slot.clone();
        std::thread::Builder::new()
            .name("paddock-spare".into())
            .spawn(move || {
                // Each wake-up comes with the slot claimed (`Building`).
                while rx.recv().is_ok() {
                    let spare = base().and_then(|(policy, ws)| {
                        build(&policy, &ws, walks.as_ref()).ok().flatten()
                    });
                    filled.set(spare.map_or(State::Empty, |s| State::Ready(Box::new(s))));
                }
                // The keeper is gone: drop the spare (its pid 1 ends without running anything).
                filled.set(State::Empty);
            })?;
        let keeper = SpareKeeper {
            slot,
            wake: Mutex::new(tx),
            replies,
        };
        if keeper.slot.claim() {
            keeper.send_wake();
        }
        Ok(keeper)
    }

    /// The counter the front end bumps after each reply it sends.
    pub fn replies(&self) -> Arc<ReplyCounter> {
        self.replies.clone()
    }

    /// Asks for a spare if the slot is empty (after a run took the last one), to be built once
    /// the front end has sent its next reply (the run's result), or at once when a run wants
    /// the spare before that: on a machine with few cores, building the sandbox while the reply
    /// is on its way delays the reply (measured: about 1 ms of a warm `paddock mcp` call on 2
    /// cores), and so does waking the keeper's thread before it (about 0.05 ms). The slot is
    /// marked as being filled at once, so a run that follows waits for this spare.
    pub fn refill_after_reply(&self) {
        // Claimed and held under the deferred wake's lock: a run that sees the slot being
        // filled and hands the wake over (`SpareSlot::take`) waits for it to be held.
        let mut held = self.slot.deferred.lock();
        if self.slot.claim() {
            *held = Some(self.wake.lock().unwrap_or_else(|e| e.into_inner()).clone());
        }
    }

    fn send_wake(&self) {
        let _ = self.wake.lock().unwrap_or_else(|e| e.into_inner()).send(());
    }

    /// A ticket for one run.
    pub fn ticket(&self) -> SpareTicket {
        SpareTicket {
            slot: self.slot.clone(),
            used: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Drop for SpareKeeper {
    /// A refill held for the next reply holds a sender of the keeper's channel: without it
    /// gone, the keeper's thread would never see the channel close, and would outlive its
    /// keeper (and build on a reply that comes after).
    fn drop(&mut self) {
        drop(self.slot.deferred.lock().take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A keeper whose builds only say when they start (and make no spare).
    fn keeper() -> (SpareKeeper, mpsc::Receiver<Instant>) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let base = Box::new(move || {
            let _ = tx.lock().unwrap().send(Instant::now());
            None
        });
        let keeper = SpareKeeper::start(base, None).unwrap();
        rx.recv_timeout(Duration::from_secs(5))
            .expect("the first spare is built at once");
        // The build made nothing: the slot is empty again once it is done.
        assert!(keeper.ticket().take(None).is_none());
        (keeper, rx)
    }

    #[test]
    fn a_refill_waits_for_the_reply_then_builds() {
        let (keeper, builds) = keeper();
        keeper.refill_after_reply();
        assert!(
            builds.recv_timeout(Duration::from_millis(10)).is_err(),
            "no build before the reply"
        );
        let replied = Instant::now();
        keeper.replies().sent();
        let started = builds
            .recv_timeout(Duration::from_secs(5))
            .expect("built after the reply");
        assert!(started >= replied);
    }

    #[test]
    fn a_refill_without_a_reply_is_built_when_a_run_wants_the_spare() {
        let (keeper, builds) = keeper();
        keeper.refill_after_reply();
        assert!(
            builds.recv_timeout(Duration::from_millis(50)).is_err(),
            "nothing is woken before the reply"
        );
        // The build makes no spare here: the run gets none, but only after the build ran.
        assert!(keeper.ticket().take(None).is_none());
        builds
            .recv_timeout(Duration::from_secs(5))
            .expect("built for the run that wanted it");
    }

    #[test]
    fn only_a_wait_for_a_spare_being_built_runs_inside_the_hand_off() {
        let (keeper, builds) = keeper();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let hand_off = HandOff::new(move |wait| {
            counted.fetch_add(1, Ordering::SeqCst);
            wait();
        });
        // Nothing being built: the answer is at hand, the runtime is not let go.
        assert!(keeper.ticket().take(Some(&hand_off)).is_none());
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        keeper.refill_after_reply();
        assert!(keeper.ticket().take(Some(&hand_off)).is_none());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the wait for the build was handed off"
        );
        builds
            .recv_timeout(Duration::from_secs(5))
            .expect("built for the run that wanted it");
    }

    #[test]
    fn a_keeper_dropped_with_a_refill_held_builds_nothing_more() {
        let (keeper, builds) = keeper();
        let replies = keeper.replies();
        keeper.refill_after_reply();
        drop(keeper);
        replies.sent();
        assert!(
            builds.recv_timeout(Duration::from_millis(100)).is_err(),
            "no build for a keeper that is gone"
        );
    }

    #[test]
    fn a_reply_sent_before_the_refill_does_not_count() {
        let (keeper, builds) = keeper();
        keeper.replies().sent();
        keeper.refill_after_reply();
        assert!(
            builds.recv_timeout(Duration::from_millis(10)).is_err(),
            "an earlier reply is not the one the build waits for"
        );
        keeper.replies().sent();
        builds
            .recv_timeout(Duration::from_secs(5))
            .expect("built after the next reply");
    }
}
