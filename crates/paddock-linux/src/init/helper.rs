//! Pid 1's helper thread during set-up: it runs, one after the other, the steps in which the
//! kernel makes pid 1 wait without using the CPU (making the network namespace, then detaching
//! the host's old root, see `network` and `old_root`), while pid 1 builds the view.
//!
//! It is started once, before the view, so that its own start-up (a thread, its stack and its
//! allocator arena) is paid while the other core is free rather than in the middle of the
//! view. A job's result comes back on its own channel; pid 1 waits for the results it needs
//! and never for the thread itself, which may still be in the kernel's wait of its last job
//! after pid 1 has gone on (see `old_root` for why that is safe). The thread ends when pid 1
//! drops the `Helper` and its last job is done.

use crate::plan::LinuxError;
use std::sync::mpsc;

type Job = Box<dyn FnOnce() + Send>;

/// The set-up thread's queue.
pub(super) struct Helper {
    jobs: mpsc::Sender<Job>,
}

impl Helper {
    /// Starts the thread.
    pub(super) fn start(name: &str) -> Result<Helper, LinuxError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(name.into())
            .stack_size(64 * 1024)
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    job();
                }
            })
            .map_err(|source| LinuxError::Syscall {
                call: "clone (thread)",
                target: "pid 1's set-up thread".into(),
                source,
            })?;
        Ok(Helper { jobs })
    }

    /// Queues `job`; its result arrives on the returned channel. A job that could not run (the
    /// thread is gone) closes the channel without a result, which the caller treats as a
    /// failed step.
    pub(super) fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> mpsc::Receiver<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        let _ = self.jobs.send(Box::new(move || {
            let _ = tx.send(job());
        }));
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_in_order_and_each_result_comes_on_its_own_channel() {
        let helper = Helper::start("test-helper").unwrap();
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (a, b) = (order.clone(), order.clone());
        let first = helper.run(move || {
            a.lock().unwrap().push(1);
            "first"
        });
        let second = helper.run(move || {
            b.lock().unwrap().push(2);
            2
        });
        assert_eq!(second.recv().unwrap(), 2);
        assert_eq!(first.recv().unwrap(), "first");
        assert_eq!(*order.lock().unwrap(), vec![1, 2]);
    }

    #[test]
    fn a_job_that_cannot_run_closes_its_channel_without_a_result() {
        let helper = Helper::start("test-helper").unwrap();
        let panicked = helper.run(|| panic!("a job failing inside the helper"));
        assert!(panicked.recv().is_err());
        // The thread died with that job: later jobs never run and say so the same way.
        let after = helper.run(|| 1);
        assert!(after.recv().is_err());
    }
}
