//! One thread, started on first use, for the work that ends a run but that its result need not
//! wait for: closing a spare's namespaces (`namespace_hold`) and reaping a pid 1 that said
//! nothing of the sandbox is left (`pid1_process`). Jobs run in order; when the thread cannot
//! be started, a job runs in place (slower, same result). In a one-shot `paddock run` the
//! process may exit before a job ran: the kernel then closes the descriptors and the init
//! reaps the orphaned pid 1.

use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

/// Runs `job` on the background thread.
pub fn later(job: Job) {
    static THREAD: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    let thread = THREAD.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("paddock-after-run".into())
            .spawn(move || rx.into_iter().for_each(|job| job()))
            .ok()
            .map(|_| Mutex::new(tx))
    });
    let sent = match thread {
        Some(tx) => tx.lock().unwrap_or_else(|e| e.into_inner()).send(job),
        None => Err(mpsc::SendError(job)),
    };
    if let Err(mpsc::SendError(job)) = sent {
        job();
    }
}
