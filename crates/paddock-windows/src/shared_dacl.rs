//! Adding and removing one ACE on a DACL that other runs edit at the same time (the window
//! station, the console, `\\.\NUL`): read, change, write and read back, all under one lock
//! shared by every Paddock process, so that two runs never write back a DACL without the
//! other's ACE.
//!
//! Guarantees: every read-modify-write holds the lock from the read to the read-back; a lock that
//! cannot be taken is an error before anything is read; nothing but the one ACE changes.

use crate::acl::{Ace, SecurityDescriptor};

/// An object whose DACL is edited (a device handle, a window station, or a fake in the tests).
pub trait DaclObject {
    type Error;
    fn read(&self) -> Result<SecurityDescriptor, Self::Error>;
    fn write(&self, sd: &SecurityDescriptor) -> Result<(), Self::Error>;
}

/// The lock every editor of shared device DACLs takes (a named mutex on Windows). The guard
/// releases it on drop.
pub trait EditLock {
    type Guard;
    type Error;
    fn acquire(&self) -> Result<Self::Guard, Self::Error>;
}

/// Why an ACE could not be added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError<O, L> {
    /// The lock could not be taken.
    Lock(L),
    /// Reading or writing the DACL failed.
    Object(O),
    /// The DACL is NULL (everyone has every right): nothing to add.
    NullDacl,
    /// The write was accepted but the ACE is not in the DACL read back.
    NotStored,
}

/// Adds `ace` (as an explicit entry, canonical position) under `lock`, and reads it back.
pub fn add_ace<O: DaclObject, L: EditLock>(
    object: &O,
    lock: &L,
    ace: &Ace,
) -> Result<(), EditError<O::Error, L::Error>> {
    let _guard = lock.acquire().map_err(EditError::Lock)?;
    let mut sd = object.read().map_err(EditError::Object)?;
    let Some(acl) = sd.dacl.as_mut() else {
        return Err(EditError::NullDacl);
    };
    if !acl.aces.contains(ace) {
        acl.insert_explicit(ace.clone());
        object.write(&sd).map_err(EditError::Object)?;
    }
    let stored = object.read().map_err(EditError::Object)?;
    if !stored.dacl.is_some_and(|d| d.aces.contains(ace)) {
        return Err(EditError::NotStored);
    }
    Ok(())
}

/// Removes the explicit `ace` under `lock`; a DACL without it is left unwritten.
pub fn remove_ace<O: DaclObject, L: EditLock>(
    object: &O,
    lock: &L,
    ace: &Ace,
) -> Result<(), EditError<O::Error, L::Error>> {
    let _guard = lock.acquire().map_err(EditError::Lock)?;
    let mut sd = object.read().map_err(EditError::Object)?;
    if let Some(acl) = sd.dacl.as_mut()
        && acl.remove_explicit(ace)
    {
        object.write(&sd).map_err(EditError::Object)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{AceFlags, Acl};
    use crate::mask::AccessMask;
    use crate::sid::Sid;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    /// A device DACL shared by threads. The first two reads wait for each other (up to half a
    /// second), as two runs starting together would: unlocked, both read the same DACL before
    /// either writes; locked, the second read cannot start until the first edit is done.
    #[derive(Clone)]
    struct SharedDevice(Arc<(Mutex<(SecurityDescriptor, u32)>, Condvar)>);

    impl SharedDevice {
        fn new(sd: SecurityDescriptor) -> SharedDevice {
            SharedDevice(Arc::new((Mutex::new((sd, 0)), Condvar::new())))
        }
    }

    impl DaclObject for SharedDevice {
        type Error = ();
        fn read(&self) -> Result<SecurityDescriptor, ()> {
            let (state, turn) = &*self.0;
            let mut s = state.lock().unwrap();
            let sd = s.0.clone();
            s.1 += 1;
            if s.1 <= 2 {
                turn.notify_all();
                let _ = turn
                    .wait_timeout_while(s, Duration::from_millis(500), |s| s.1 < 2)
                    .unwrap();
            }
            Ok(sd)
        }
        fn write(&self, sd: &SecurityDescriptor) -> Result<(), ()> {
            self.0.0.lock().unwrap().0 = sd.clone();
            Ok(())
        }
    }

    /// One lock shared by every editor, as the named mutex is machine-wide.
    #[derive(Default)]
    struct SharedLock(Arc<AtomicBool>);

    struct Held(Arc<AtomicBool>);

    impl Drop for Held {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Release);
        }
    }

    impl EditLock for SharedLock {
        type Guard = Held;
        type Error = ();
        fn acquire(&self) -> Result<Held, ()> {
            while self
                .0
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(Held(Arc::clone(&self.0)))
        }
    }

    /// No lock at all: what the device grants did before.
    struct NoLock;

    impl EditLock for NoLock {
        type Guard = ();
        type Error = ();
        fn acquire(&self) -> Result<(), ()> {
            Ok(())
        }
    }

    struct Refused;

    impl EditLock for Refused {
        type Guard = ();
        type Error = &'static str;
        fn acquire(&self) -> Result<(), &'static str> {
            Err("held elsewhere")
        }
    }

    fn station() -> SharedDevice {
        SharedDevice::new(SecurityDescriptor {
            dacl: Some(Acl::new(vec![Ace::allow(
                Sid::local_system(),
                AccessMask(0x37f),
                AceFlags::NONE,
            )])),
            ..SecurityDescriptor::default()
        })
    }

    fn run_ace(n: u32) -> Ace {
        Ace::allow(
            Sid::new(5, &[21, 1, 2, 3, n]).unwrap(),
            AccessMask(0x20133),
            AceFlags::NONE,
        )
    }

    /// Two runs add their ACE at the same time; returns how many ACEs survived.
    fn concurrent_adds<L: EditLock + Send + Sync + 'static>(lock: L) -> usize
    where
        L::Error: std::fmt::Debug,
    {
        let device = station();
        let lock = Arc::new(lock);
        let threads: Vec<_> = (1..=2)
            .map(|n| {
                let (device, lock) = (device.clone(), Arc::clone(&lock));
                std::thread::spawn(move || {
                    let _ = add_ace(&device, lock.as_ref(), &run_ace(n));
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let sd = device.read().unwrap();
        (1..=2)
            .filter(|n| sd.dacl.as_ref().unwrap().aces.contains(&run_ace(*n)))
            .count()
    }

    #[test]
    fn two_runs_editing_the_window_station_at_once_keep_both_aces() {
        assert_eq!(concurrent_adds(SharedLock::default()), 2);
    }

    #[test]
    fn without_the_lock_one_run_loses_its_ace() {
        // The race the lock closes, shown on the same fake: both read before either writes.
        assert_eq!(concurrent_adds(NoLock), 1);
    }

    #[test]
    fn remove_takes_back_only_its_own_ace_and_a_held_lock_changes_nothing() {
        let device = station();
        let lock = SharedLock::default();
        add_ace(&device, &lock, &run_ace(1)).unwrap();
        add_ace(&device, &lock, &run_ace(2)).unwrap();
        remove_ace(&device, &lock, &run_ace(1)).unwrap();
        let aces = device.read().unwrap().dacl.unwrap().aces;
        assert_eq!(aces.len(), 2);
        assert!(aces.contains(&run_ace(2)));
        let before = device.read().unwrap();
        assert_eq!(
            add_ace(&device, &Refused, &run_ace(3)),
            Err(EditError::Lock("held elsewhere"))
        );
        assert_eq!(device.read().unwrap(), before);
        let null = SharedDevice::new(SecurityDescriptor::default());
        assert_eq!(add_ace(&null, &lock, &run_ace(1)), Err(EditError::NullDacl));
    }
}
