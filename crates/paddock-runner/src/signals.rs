//! Receives SIGINT/SIGTERM/SIGHUP (console Ctrl-C, Ctrl-Break, close, logoff, shutdown on
//! Windows) while a run forwards signals, so that they reach the sandboxed tree instead of ending
//! Paddock and orphaning it. Handlers are installed while at least one `Watch` lives and the
//! previous dispositions are restored after the last one is dropped.

use crate::Interrupt;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// Signals received so far, and the last one (an `Interrupt` code, see `code`/`decode`).
static RECEIVED: AtomicU64 = AtomicU64::new(0);
static LAST: AtomicI32 = AtomicI32::new(0);

/// Records one received signal; async-signal-safe (two atomic stores).
fn record(code: i32) {
    LAST.store(code, Ordering::SeqCst);
    RECEIVED.fetch_add(1, Ordering::SeqCst);
}

fn decode(code: i32) -> Interrupt {
    match code {
        1 => Interrupt::Terminate,
        2 => Interrupt::Hangup,
        _ => Interrupt::Interrupt,
    }
}

/// Watches for signals from its creation on. Each signal is reported once by `take`.
pub(crate) struct Watch {
    seen: AtomicU64,
}

impl Watch {
    pub(crate) fn install() -> io::Result<Watch> {
        let mut installs = INSTALLS.lock().unwrap_or_else(|e| e.into_inner());
        if installs.count == 0 {
            installs.saved = Some(os::install()?);
        }
        installs.count += 1;
        Ok(Watch {
            seen: AtomicU64::new(RECEIVED.load(Ordering::SeqCst)),
        })
    }

    /// The last signal received since the previous call, if any arrived.
    pub(crate) fn take(&self) -> Option<Interrupt> {
        let now = RECEIVED.load(Ordering::SeqCst);
        (self.seen.swap(now, Ordering::SeqCst) != now).then(|| decode(LAST.load(Ordering::SeqCst)))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut installs = INSTALLS.lock().unwrap_or_else(|e| e.into_inner());
        installs.count -= 1;
        if installs.count == 0
            && let Some(saved) = installs.saved.take()
        {
            os::restore(saved);
        }
    }
}

struct Installs {
    count: usize,
    saved: Option<os::Saved>,
}

static INSTALLS: Mutex<Installs> = Mutex::new(Installs {
    count: 0,
    saved: None,
});

#[cfg(unix)]
mod os {
    use std::io;

    const SIGNALS: [(libc::c_int, i32); 3] =
        [(libc::SIGINT, 0), (libc::SIGTERM, 1), (libc::SIGHUP, 2)];

    /// The dispositions we replaced, to put back.
    pub(super) struct Saved(Vec<(libc::c_int, libc::sigaction)>);

    extern "C" fn on_signal(sig: libc::c_int) {
        if let Some(&(_, code)) = SIGNALS.iter().find(|(s, _)| *s == sig) {
            super::record(code);
        }
    }

    fn current(sig: libc::c_int) -> io::Result<libc::sigaction> {
        // SAFETY: a zeroed sigaction is a valid out-parameter; a null `act` only queries.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: `old` is a valid, writable sigaction.
        if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(old)
    }

    /// Installs the handler for each signal that is not ignored (a `nohup`-ed Paddock keeps
    /// ignoring SIGHUP, as a shell would).
    pub(super) fn install() -> io::Result<Saved> {
        let mut saved = Vec::new();
        for (sig, _) in SIGNALS {
            if current(sig)?.sa_sigaction == libc::SIG_IGN {
                continue;
            }
            // SAFETY: a zeroed sigaction is valid; the fields are set below.
            let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
            act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            act.sa_flags = libc::SA_RESTART;
            // SAFETY: a zeroed sigaction is a valid out-parameter.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: `act` is initialised, its handler only stores atomics (async-signal-safe);
            // `act.sa_mask` is a valid set to empty.
            let rc = unsafe {
                libc::sigemptyset(&mut act.sa_mask);
                libc::sigaction(sig, &act, &mut old)
            };
            if rc != 0 {
                let err = io::Error::last_os_error();
                restore(Saved(saved));
                return Err(err);
            }
            saved.push((sig, old));
        }
        Ok(Saved(saved))
    }

    pub(super) fn restore(saved: Saved) {
        for (sig, old) in saved.0 {
            // SAFETY: `old` is the disposition sigaction returned for this signal.
            unsafe { libc::sigaction(sig, &old, std::ptr::null_mut()) };
        }
    }
}

#[cfg(windows)]
mod os {
    use std::io;
    use windows_sys::Win32::Foundation::TRUE;
    use windows_sys::Win32::System::Console::{
        CTRL_BREAK_EVENT, CTRL_C_EVENT, SetConsoleCtrlHandler,
    };
    use windows_sys::core::BOOL;

    pub(super) struct Saved;

    unsafe extern "system" fn on_ctrl(ctrl_type: u32) -> BOOL {
        let code = if ctrl_type == CTRL_C_EVENT || ctrl_type == CTRL_BREAK_EVENT {
            0
        } else {
            1
        };
        super::record(code);
        // Handled: the run loop stops the tree. For close, logoff and shutdown Windows ends
        // this process anyway after the handler returns; the job's kill-on-close ends the tree.
        TRUE
    }

    pub(super) fn install() -> io::Result<Saved> {
        // SAFETY: `on_ctrl` is a valid handler for the life of the process.
        if unsafe { SetConsoleCtrlHandler(Some(on_ctrl), TRUE) } == 0 {
            return Err(crate::windows::Win32Error::last("SetConsoleCtrlHandler").into());
        }
        Ok(Saved)
    }

    pub(super) fn restore(_: Saved) {
        // SAFETY: removes the handler added by `install`.
        unsafe { SetConsoleCtrlHandler(Some(on_ctrl), 0) };
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_reported_once_by_each_watch() {
        let watch = Watch::install().unwrap();
        assert_eq!(watch.take(), None);
        // SAFETY: raising SIGTERM in this process runs our handler (installed above).
        unsafe { libc::raise(libc::SIGTERM) };
        assert_eq!(watch.take(), Some(Interrupt::Terminate));
        assert_eq!(watch.take(), None);
    }
}
