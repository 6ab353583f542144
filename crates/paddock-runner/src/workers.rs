//! Worker threads kept for the next job instead of exiting: the capture pumps (two per
//! command) and the work that ends a run but that its result need not wait for (a backend's
//! `drop_later`: closing a spare's namespaces, reaping a Linux pid 1 that said nothing is
//! left). A resident front end (`paddock mcp`) then starts no thread per command (measured:
//! about 0.05 ms of a warm call for the pumps alone). At most four idle threads are kept; a
//! job that never finishes (a pipe held open outside the tree) keeps its thread.

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

/// Drops `value` on a worker, off the caller's path: for values whose drop is the slow end of
/// a run (descriptors whose closing tears namespaces down, a process handle whose drop kills
/// and reaps). Without a worker it is dropped here, which does the same, only slower.
pub fn drop_later<T: Send + 'static>(value: T) {
    // On an error the job, and with it `value`, has been dropped already.
    let _ = run(Box::new(move || drop(value)));
}
