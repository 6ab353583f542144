//! A one-shot process (`paddock run`) leaves `drop_later`'s values to its exit. In a binary of
//! its own: the setting is process-wide and never undone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn values_are_dropped_on_a_worker_until_the_process_says_it_exits_after_its_run() {
    let drops = Arc::new(AtomicUsize::new(0));
    paddock_runner::workers::drop_later(Counted(drops.clone()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while drops.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped on a worker");

    paddock_runner::workers::leave_drops_to_exit();
    paddock_runner::workers::drop_later(Counted(drops.clone()));
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "left to the process's exit, not dropped"
    );
}
