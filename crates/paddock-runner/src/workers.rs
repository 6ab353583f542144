//! Worker threads kept for the next job instead of exiting: the capture pumps (on Unix one per
//! command whose output fills its pipes or that outlasts `run`'s first tick, one per stream
//! on Windows) and the work that ends a run but that its result need not wait for (a
//! backend's `drop_later`: closing a spare's namespaces, reaping a Linux pid 1 that said
//! nothing is left; in a resident front end held until its reply is out, see [`hold_drops`]).
//! A resident front end (`paddock mcp`) then starts no thread per command (measured: about
//! 0.05 ms of a warm call for the pumps alone). At most four idle threads are kept; a job that
//! never finishes (a pipe held open outside the tree) keeps its thread.

use std::sync::Mutex;
use std::sync::mpsc::{self, Sender};
use std::thread;

/// What a worker runs.
pub type Job = Box<dyn FnOnce() + Send>;

/// Idle threads kept at most; more finish when their job does.
const MAX_IDLE: usize = 4;

/// Threads started so far (for the tests).
#[cfg(test)]
pub(crate) static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn idle() -> std::sync::MutexGuard<'static, Vec<Sender<Job>>> {
    static IDLE: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());
    IDLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `job` on an idle worker, or on a new one. When no thread can be started the job is
/// dropped without running, and the error returned.
pub fn run(mut job: Job) -> std::io::Result<()> {
    loop {
        let Some(worker) = idle().pop() else { break };
        match worker.send(job) {
            Ok(()) => return Ok(()),
            // That thread is gone: try the next one.
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    #[cfg(test)]
    STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    thread::Builder::new()
        .name("paddock-worker".into())
        .spawn(move || {
            let (tx, rx) = mpsc::channel::<Job>();
            let mut next = Some(job);
            while let Some(job) = next.take() {
                job();
                {
                    let mut idle = idle();
                    if idle.len() >= MAX_IDLE {
                        return;
                    }
                    idle.push(tx.clone());
                }
                next = rx.recv().ok();
            }
        })
        .map(drop)
}

/// Set by a process that exits once its run is over (see [`leave_drops_to_exit`]).
static DROPS_AT_EXIT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Says that this process ends soon after its run (`paddock run`): from then on [`drop_later`]
/// leaves its values to the process's exit instead of starting a thread to drop them (about
/// 0.02 ms of a one-shot run). The exit closes their descriptors, and a child whose handle is
/// left is reaped by whoever inherits it; only values whose drop may be left to the exit are
/// given to `drop_later` (a Linux pid 1 that has said nothing is left and is exiting, a
/// spare's namespaces). Never set in a resident process, where the values would pile up.
pub fn leave_drops_to_exit() {
    DROPS_AT_EXIT.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Set by a resident front end that releases held drops after each reply (see
/// [`hold_drops`]).
static HOLD_DROPS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What [`drop_later`] holds until [`release_held_drops`].
static HELD: Mutex<Vec<Box<dyn Send>>> = Mutex::new(Vec::new());

/// Held values beyond which `drop_later` releases them at once (a front end that stopped
/// sending replies must not pile them up).
const MAX_HELD: usize = 16;

/// Says that this process (a resident front end: `paddock mcp`) calls [`release_held_drops`]
/// after each reply it sends: from then on [`drop_later`] holds its values until then instead of
/// handing each to a worker at once. Waking a worker in the middle of a run's end puts a
/// thread that only tidies up (kills and reaps a pid 1, closes namespaces) beside the one
/// finishing the reply, or before it on its CPU (measured: two such wake-ups in every warm
/// `paddock mcp` call); after the reply, each held value goes to a worker.
pub fn hold_drops() {
    HOLD_DROPS.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Drops what [`drop_later`] held, each value on a worker of its own (as `drop_later` does
/// without holding: one slow drop, a reap that waits, does not keep the others).
pub fn release_held_drops() {
    let held = std::mem::take(&mut *HELD.lock().unwrap_or_else(|e| e.into_inner()));
    for value in held {
        // On an error the job, and with it the value, has been dropped already.
        let _ = run(Box::new(move || drop(value)));
    }
}

/// Drops `value` on a worker, off the caller's path: for values whose drop is the slow end of
/// a run (descriptors whose closing tears namespaces down, a process handle whose drop kills
/// and reaps). Without a worker it is dropped here, which does the same, only slower. In a
/// process that ends after its run ([`leave_drops_to_exit`]) it is left to the exit; in one
/// that holds drops ([`hold_drops`]) it is held until the next [`release_held_drops`] (or
/// until [`MAX_HELD`] values are held).
pub fn drop_later<T: Send + 'static>(value: T) {
    if DROPS_AT_EXIT.load(std::sync::atomic::Ordering::SeqCst) {
        std::mem::forget(value);
        return;
    }
    if HOLD_DROPS.load(std::sync::atomic::Ordering::SeqCst) {
        let full = {
            let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
            held.push(Box::new(value));
            held.len() >= MAX_HELD
        };
        if full {
            release_held_drops();
        }
        return;
    }
    // On an error the job, and with it `value`, has been dropped already.
    let _ = run(Box::new(move || drop(value)));
}
