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
use crate::error::PaddockError;
use paddock_core::{Policy, SandboxSpec};
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
/// (full-access, a network allow-list, or a backend without spares).
pub fn build(policy: &Policy, workspace: &Path) -> Result<Option<Spare>, PaddockError> {
    if policy.mode == paddock_core::Mode::FullAccess
        || matches!(policy.network, paddock_core::Network::Allowlist(_))
    {
        return Ok(None);
    }
    let spec = SandboxSpec::from_policy(policy, workspace)?;
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
}

/// How long a run waits for a spare being built before it builds its own sandbox.
const WAIT_FOR_BUILD: Duration = Duration::from_secs(2);

impl SpareSlot {
    fn new() -> SpareSlot {
        SpareSlot {
            state: Mutex::new(State::Empty),
            changed: Condvar::new(),
        }
    }

    /// Takes the spare, waiting for one being built (it is nearer done than a new sandbox).
    pub fn take(&self) -> Option<Spare> {
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
        match std::mem::replace(&mut *state, State::Empty) {
            State::Ready(spare) => Some(*spare),
            _ => None,
        }
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

    pub(crate) fn take(&self) -> Option<Spare> {
        self.slot.take()
    }

    pub(crate) fn mark_used(&self) {
        self.used.store(true, Ordering::SeqCst);
    }
}

/// What the keeper builds for: the base policy and workspace as they are now, or `None` for
/// no spare (the config cannot be read, say).
pub type BaseFn = dyn Fn() -> Option<(Policy, PathBuf)> + Send + 'static;

/// The keeper: a thread that fills the slot when asked. The thread lives as long as the keeper
/// (on Linux a spare's pid 1 dies with the thread that started it, so the builder must not be
/// a pool thread that may exit).
pub struct SpareKeeper {
    slot: Arc<SpareSlot>,
    wake: Mutex<mpsc::Sender<()>>,
}

impl SpareKeeper {
    /// Starts the keeper; the first spare is built at once.
    pub fn start(base: Box<BaseFn>) -> std::io::Result<SpareKeeper> {
        let slot = Arc::new(SpareSlot::new());
        let (tx, rx) = mpsc::channel::<()>();
        let filled = slot.clone();
        std::thread::Builder::new()
            .name("paddock-spare".into())
            .spawn(move || {
                // Each wake-up comes with the slot claimed (`Building`) by `refill`.
                while rx.recv().is_ok() {
                    let spare = base().and_then(|(policy, ws)| build(&policy, &ws).ok().flatten());
                    filled.set(spare.map_or(State::Empty, |s| State::Ready(Box::new(s))));
                }
                // The keeper is gone: drop the spare (its pid 1 ends without running anything).
                filled.set(State::Empty);
            })?;
        let keeper = SpareKeeper {
            slot,
            wake: Mutex::new(tx),
        };
        keeper.refill();
        Ok(keeper)
    }

    /// Asks for a spare if the slot is empty (after a run took the last one). The slot is
    /// marked as being filled at once, so a run that follows waits for this spare.
    pub fn refill(&self) {
        if self.slot.claim() {
            let _ = self.wake.lock().unwrap_or_else(|e| e.into_inner()).send(());
        }
    }

    /// A ticket for one run.
    pub fn ticket(&self) -> SpareTicket {
        SpareTicket {
            slot: self.slot.clone(),
            used: Arc::new(AtomicBool::new(false)),
        }
    }
}
