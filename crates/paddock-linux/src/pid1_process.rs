//! The running sandbox as the runner sees it: the init (pid 1 of the sandbox's pid namespace)
//! wrapped so that its end reads as the command's. Pid 1 writes how the command ended on the
//! result channel; a pid 1 that wrote nothing (killed by the timeout or a signal from outside,
//! or a failed set-up) is reported as it ended. What the connect broker refused comes on the same
//! channel (see `result_channel`). The run's cgroup, if it has one, is removed
//! once the tree is gone.
//!
//! Early end: when the command has ended and left no process behind, pid 1 closes its standard
//! streams and says so (`tree_empty_frame`) before its own exit, whose teardown (a copy of the
//! supervisor's address space, the broker thread, the pid namespace) took about 0.2 ms. With
//! `early_end`, the wait returns on that frame and `kill_tree` leaves the reaping of pid 1 to
//! a worker thread (`drop_later`; in `paddock mcp` once the run's reply is out): nothing of the command is left to stop, and pid 1 is Paddock's own
//! code, on its way out. Not with a cgroup (removed only once pid 1 is gone) or a terminal
//! (restored, and its copier threads joined, by the reaping itself).

use crate::cgroup::Cgroup;
use crate::namespace_hold::NamespaceHold;
use crate::result_channel;
use crate::sys::Ended;
use paddock_runner::unix::lifetime::wait_readable;
use paddock_runner::{ChildStdio, ExitInfo, Interrupt, SandboxedProcess, SignalWatch};
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// The init's process plus the read end of its result channel.
pub struct Pid1Process {
    /// `None` once handed to a worker thread for reaping.
    init: Option<Box<dyn SandboxedProcess>>,
    pid: u32,
    result: Option<std::fs::File>,
    /// What the result channel has delivered so far.
    received: Vec<u8>,
    ended: Option<ExitInfo>,
    /// The command's end came with pid 1's word that nothing else is left.
    ended_early: bool,
    early_end: bool,
    denials: Vec<paddock_core::Denial>,
    cgroup: Option<Cgroup>,
    /// The sandbox's namespaces, closed off the run's path when this is dropped.
    _namespaces: NamespaceHold,
}

impl Pid1Process {
    /// With `hold_namespaces` (a resident front end's spare), the init's namespaces are held
    /// from now on and closed off the run's path (see `namespace_hold`); a one-shot front end
    /// gains nothing from it, since its own exit would then pay for the teardown. With
    /// `early_end`, the run may end before pid 1's own exit (see the module docs); the caller
    /// says whether the tree has a terminal to give back.
    pub fn new(
        init: Box<dyn SandboxedProcess>,
        result: OwnedFd,
        hold_namespaces: bool,
        early_end: bool,
    ) -> Pid1Process {
        let pid = init.id();
        let namespaces = NamespaceHold::open(pid, hold_namespaces);
        // Read as frames arrive; the end of file still says pid 1 is gone.
        let early_end = early_end && crate::sys::set_nonblocking(result.as_raw_fd()).is_ok();
        Pid1Process {
            _namespaces: namespaces,
            init: Some(init),
            pid,
            result: Some(std::fs::File::from(result)),
            received: Vec::new(),
            ended: None,
            ended_early: false,
            early_end,
            denials: Vec::new(),
            cgroup: None,
        }
    }

    /// The run's cgroup, removed after `kill_tree`.
    pub fn set_cgroup(&mut self, cgroup: Cgroup) {
        self.cgroup = Some(cgroup);
    }

    /// Reads what the result channel has now; closes it at end of file.
    fn read_available(&mut self) {
        let Some(mut file) = self.result.as_ref() else {
            return;
        };
        let mut chunk = [0u8; 4096];
        loop {
            match file.read(&mut chunk) {
                Ok(0) => {
                    self.result = None;
                    return;
                }
                Ok(n) => self.received.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    /// Whether this run may end on pid 1's word (see the module docs).
    fn may_end_early(&self) -> bool {
        self.early_end && self.cgroup.is_none()
    }

    /// Takes the command's end from what was received, falling back to pid 1's own.
    fn settle(
        &mut self,
        received: result_channel::Received,
        init_end: Option<ExitInfo>,
    ) -> Option<ExitInfo> {
        let end = match received.ended {
            Some(Ended::Code(c)) => Some(ExitInfo::Code(c)),
            Some(Ended::Signal(s)) => Some(ExitInfo::Signal(s)),
            None => init_end,
        }?;
        self.denials = received.denials;
        self.ended = Some(end);
        self.ended
    }

    /// The command's end when pid 1 has said it and that nothing is left (early end).
    fn early(&mut self) -> Option<ExitInfo> {
        if !self.may_end_early() {
            return None;
        }
        self.read_available();
        let received = result_channel::decode(&self.received);
        if received.ended.is_some() && received.tree_empty {
            self.ended_early = true;
            return self.settle(received, None);
        }
        None
    }

    /// Waits at most `d` for the init itself to end, then takes the command's end.
    fn wait_init(&mut self, d: Duration) -> io::Result<Option<ExitInfo>> {
        let end = match &mut self.init {
            Some(init) => init.wait_timeout(d)?,
            None => return Ok(self.ended),
        };
        Ok(self.command_end(end))
    }

    /// The command's end once the init has ended. The result channel is at end of file then:
    /// its only writer was pid 1 (the command and its descendants never inherit it).
    fn command_end(&mut self, init_end: Option<ExitInfo>) -> Option<ExitInfo> {
        let init_end = init_end?;
        if self.ended.is_none() {
            if let Some(mut file) = self.result.take() {
                let _ = crate::sys::set_blocking(file.as_raw_fd());
                let _ = file.read_to_end(&mut self.received);
            }
            let received = result_channel::decode(&self.received);
            self.settle(received, Some(init_end));
        }
        self.ended
    }
}

impl SandboxedProcess for Pid1Process {
    fn take_stdio(&mut self) -> ChildStdio {
        self.init
            .as_mut()
            .map(|i| i.take_stdio())
            .unwrap_or_default()
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitInfo>> {
        if self.ended.is_some() {
            return Ok(self.ended);
        }
        if let Some(end) = self.early() {
            return Ok(Some(end));
        }
        let end = match &mut self.init {
            Some(init) => init.try_wait()?,
            None => return Ok(self.ended),
        };
        Ok(self.command_end(end))
    }

    fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>> {
        if !self.may_end_early() {
            return self.wait_init(d);
        }
        // Wake on the result channel (the end frame, or its end of file when pid 1 is gone).
        let deadline = Instant::now() + d;
        loop {
            if let Some(end) = self.try_wait()? {
                return Ok(Some(end));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match &self.result {
                Some(file) => wait_readable(file.as_fd(), left)?,
                // Pid 1's descriptors are closed: its exit is under way.
                None => return self.wait_init(left),
            }
        }
    }

    fn signal_tree(&mut self, sig: Interrupt) -> io::Result<()> {
        match &mut self.init {
            Some(init) => init.signal_tree(sig),
            None => Ok(()),
        }
    }

    fn kill_tree(&mut self) -> io::Result<()> {
        if self.ended_early {
            // Nothing of the command is left; pid 1 is reaped off the run's path (dropping the
            // init's handle kills what is left of it and reaps it).
            if let Some(init) = self.init.take() {
                paddock_runner::workers::drop_later(init);
            }
            return Ok(());
        }
        if let Some(init) = &mut self.init {
            init.kill_tree()?;
        }
        if let Some(mut cgroup) = self.cgroup.take() {
            cgroup.remove();
        }
        Ok(())
    }

    fn id(&self) -> u32 {
        self.pid
    }

    fn take_signal_watch(&mut self) -> Option<SignalWatch> {
        self.init.as_mut().and_then(|i| i.take_signal_watch())
    }

    fn take_denials(&mut self) -> Vec<paddock_core::Denial> {
        std::mem::take(&mut self.denials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A pid 1 that never finishes exiting; records whether it was reaped.
    struct Lingering(Arc<AtomicBool>);

    impl SandboxedProcess for Lingering {
        fn take_stdio(&mut self) -> ChildStdio {
            ChildStdio::default()
        }
        fn try_wait(&mut self) -> io::Result<Option<ExitInfo>> {
            Ok(None)
        }
        fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>> {
            std::thread::sleep(d);
            Ok(None)
        }
        fn signal_tree(&mut self, _: Interrupt) -> io::Result<()> {
            Ok(())
        }
        fn kill_tree(&mut self) -> io::Result<()> {
            self.0.store(true, Ordering::SeqCst);
            Ok(())
        }
        fn id(&self) -> u32 {
            u32::MAX
        }
    }

    /// As the real init's handle: dropping it kills and reaps.
    impl Drop for Lingering {
        fn drop(&mut self) {
            let _ = self.kill_tree();
        }
    }

    fn pid1(frames: &[u8], early_end: bool) -> (Pid1Process, Arc<AtomicBool>, std::fs::File) {
        let (r, w) = crate::sys::pipe().unwrap();
        let mut w = std::fs::File::from(w);
        w.write_all(frames).unwrap();
        let reaped = Arc::new(AtomicBool::new(false));
        let p = Pid1Process::new(Box::new(Lingering(reaped.clone())), r, false, early_end);
        (p, reaped, w)
    }

    #[test]
    fn the_run_ends_on_pid_1s_word_that_nothing_is_left() {
        let mut frames = result_channel::ended_frame(Ended::Code(3));
        frames.extend(result_channel::tree_empty_frame());
        let (mut p, reaped, _writer) = pid1(&frames, true);
        let t = Instant::now();
        assert_eq!(
            p.wait_timeout(Duration::from_secs(5)).unwrap(),
            Some(ExitInfo::Code(3))
        );
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "it did not wait for pid 1's exit"
        );
        p.kill_tree().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !reaped.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "pid 1 was never reaped");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn without_that_word_or_without_early_end_the_run_waits_for_pid_1() {
        let ended = result_channel::ended_frame(Ended::Code(0));
        let mut empty = ended.clone();
        empty.extend(result_channel::tree_empty_frame());
        for (frames, early) in [(&ended, true), (&empty, false)] {
            let (mut p, reaped, _writer) = pid1(frames, early);
            assert_eq!(p.wait_timeout(Duration::from_millis(100)).unwrap(), None);
            p.kill_tree().unwrap();
            assert!(reaped.load(Ordering::SeqCst), "reaped in place");
        }
    }
}
