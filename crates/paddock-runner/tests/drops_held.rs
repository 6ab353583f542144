//! A resident front end (`paddock mcp`) holds `drop_later`'s values until it has sent its reply.
//! In a binary of its own: the setting is process-wide and never undone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits up to 5 s for `drops` to reach `n`.
fn dropped(drops: &AtomicUsize, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    while drops.load(Ordering::SeqCst) < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    drops.load(Ordering::SeqCst)
}

#[test]
fn held_values_are_dropped_once_released_and_never_pile_up() {
    paddock_runner::workers::hold_drops();
    let drops = Arc::new(AtomicUsize::new(0));
    paddock_runner::workers::drop_later(Counted(drops.clone()));
    paddock_runner::workers::drop_later(Counted(drops.clone()));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "held until the reply is out"
    );
    paddock_runner::workers::release_held_drops();
    assert_eq!(dropped(&drops, 2), 2, "dropped on a worker once released");

    // A front end that stops releasing: the values are dropped anyway, 16 at a time.
    for _ in 0..16 {
        paddock_runner::workers::drop_later(Counted(drops.clone()));
    }
    assert_eq!(dropped(&drops, 18), 18, "released when too many are held");
    paddock_runner::workers::release_held_drops();
    assert_eq!(dropped(&drops, 18), 18);
}
