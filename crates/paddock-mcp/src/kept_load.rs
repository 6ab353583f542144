//! The effective policy and the rules a `run` loads, kept between calls while nothing their
//! loading looked at changed (`paddock::core::lookup_watch`): the user's and the project's
//! config and rules files (their bytes, or their absence), the workspace and the trusted
//! projects resolved, and the workspace's names when a recipe is detected from them. An edit
//! to any of them is seen by the next call, as when every call loaded them afresh.
//!
//! What the loading reads besides the file system is the server's own: its arguments and its
//! environment (the home, config and state directories, the variables recipes read), which do
//! not change during its life. Only a load that succeeded is kept; its watches are made off the
//! call's path (on a thread of their own, once per change), by loading again around them.

use paddock::PaddockError;
use paddock::core::config::EffectivePolicy;
use paddock::core::looked_at::{self, Look};
use paddock::core::lookup_watch::LookupWatch;
use paddock::rules::rules::engine::Engine;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// A policy and the rules loaded with it.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub eff: EffectivePolicy,
    pub engine: Engine,
}

impl PartialEq for Loaded {
    fn eq(&self, other: &Loaded) -> bool {
        self.eff == other.eff && self.engine.loaded_same(&other.engine)
    }
}

/// The kept load (see the module docs).
#[derive(Default)]
pub struct KeptLoad {
    kept: Mutex<Option<(Loaded, LookupWatch)>>,
    attempts: paddock::core::lookup_watch::Attempts,
}

impl KeptLoad {
    /// The kept load, when nothing its loading looked at changed since it was kept.
    pub fn get(&self) -> Option<Loaded> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let (loaded, watch) = kept.as_mut()?;
        if watch.unchanged() {
            return Some(loaded.clone());
        }
        // Closing the watches takes time: off the call's path.
        let spent = kept.take();
        std::thread::spawn(move || drop(spent));
        None
    }

    /// Keeps `loaded`, which looked at `looks`, once `again` (the same load) agrees with it
    /// around new watches; on a thread of its own.
    pub fn keep_later(
        self: &Arc<Self>,
        loaded: Loaded,
        looks: BTreeSet<Look>,
        again: impl FnOnce() -> Option<Loaded> + Send + 'static,
    ) {
        let me = Arc::clone(self);
        std::thread::spawn(move || {
            let made = LookupWatch::around((Some(loaded), looks), again);
            me.attempts.tried(made.is_some());
            if let Some((Some(loaded), watch)) = made {
                let old = me
                    .kept
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .replace((loaded, watch));
                drop(old);
            }
        });
    }
}

/// Loads the policy and, when it loaded, the rules (`load_policy`, then `load_rules` with the
/// policy's trust in the project), noting what the loading looks at; keeps the load when both
/// loaded (see [`KeptLoad::keep_later`], with `again` loading the same way).
pub fn load_noted(
    kept: &Arc<KeptLoad>,
    load: impl Fn() -> (
        Result<EffectivePolicy, PaddockError>,
        Result<Engine, PaddockError>,
    ) + Send
    + 'static,
) -> (
    Result<EffectivePolicy, PaddockError>,
    Result<Engine, PaddockError>,
) {
    if !LookupWatch::available() || !kept.attempts.try_now() {
        return load();
    }
    let ((eff, engine), looks) = looked_at::record(&load);
    if let (Ok(e), Ok(g)) = (&eff, &engine) {
        let first = Loaded {
            eff: e.clone(),
            engine: g.clone(),
        };
        kept.keep_later(first, looks, move || match load() {
            (Ok(eff), Ok(engine)) => Some(Loaded { eff, engine }),
            _ => None,
        });
    }
    (eff, engine)
}
