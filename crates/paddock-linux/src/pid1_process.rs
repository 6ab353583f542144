//! The running sandbox as the runner sees it: the init (pid 1 of the sandbox's pid namespace)
//! wrapped so that its end reads as the command's. Pid 1 writes how the command ended on the
//! result channel; a pid 1 that wrote nothing (killed by the timeout or a signal from outside,
//! or a failed set-up) is reported as it ended. What the connect broker refused comes on the same
//! channel (see `result_channel`). The run's cgroup, if it has one, is removed
//! once the tree is gone.

use crate::cgroup::Cgroup;
use crate::namespace_hold::NamespaceHold;
use crate::result_channel;
use crate::sys::Ended;
use paddock_runner::{ChildStdio, ExitInfo, Interrupt, SandboxedProcess, SignalWatch};
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::time::Duration;

/// The init's process plus the read end of its result channel.
pub struct Pid1Process {
    init: Box<dyn SandboxedProcess>,
    result: Option<OwnedFd>,
    ended: Option<ExitInfo>,
    denials: Vec<paddock_core::Denial>,
    cgroup: Option<Cgroup>,
    /// The sandbox's namespaces, closed off the run's path when this is dropped.
    _namespaces: NamespaceHold,
}

impl Pid1Process {
    /// With `hold_namespaces` (a resident front end's spare), the init's namespaces are held
    /// from now on and closed off the run's path (see `namespace_hold`); a one-shot front end
    /// gains nothing from it, since its own exit would then pay for the teardown.
    pub fn new(
        init: Box<dyn SandboxedProcess>,
        result: OwnedFd,
        hold_namespaces: bool,
    ) -> Pid1Process {
        let namespaces = NamespaceHold::open(init.id(), hold_namespaces);
        Pid1Process {
            _namespaces: namespaces,
            init,
            result: Some(result),
            ended: None,
            denials: Vec::new(),
            cgroup: None,
        }
    }

    /// The run's cgroup, removed after `kill_tree`.
    pub fn set_cgroup(&mut self, cgroup: Cgroup) {
        self.cgroup = Some(cgroup);
    }

    /// The command's end once the init has ended. The result channel is at end of file then:
    /// its only writer was pid 1 (the command and its descendants never inherit it).
    fn command_end(&mut self, init_end: Option<ExitInfo>) -> Option<ExitInfo> {
        let init_end = init_end?;
        if self.ended.is_none() {
            let mut bytes = Vec::new();
            if let Some(fd) = self.result.take() {
                let _ = std::fs::File::from(fd).read_to_end(&mut bytes);
            }
            let received = result_channel::decode(&bytes);
            self.denials = received.denials;
            self.ended = Some(match received.ended {
                Some(Ended::Code(c)) => ExitInfo::Code(c),
                Some(Ended::Signal(s)) => ExitInfo::Signal(s),
                None => init_end,
            });
        }
        self.ended
    }
}

impl SandboxedProcess for Pid1Process {
    fn take_stdio(&mut self) -> ChildStdio {
        self.init.take_stdio()
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitInfo>> {
        let end = self.init.try_wait()?;
        Ok(self.command_end(end))
    }

    fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>> {
        let end = self.init.wait_timeout(d)?;
        Ok(self.command_end(end))
    }

    fn signal_tree(&mut self, sig: Interrupt) -> io::Result<()> {
        self.init.signal_tree(sig)
    }

    fn kill_tree(&mut self) -> io::Result<()> {
        self.init.kill_tree()?;
        if let Some(mut cgroup) = self.cgroup.take() {
            cgroup.remove();
        }
        Ok(())
    }

    fn id(&self) -> u32 {
        self.init.id()
    }

    fn take_signal_watch(&mut self) -> Option<SignalWatch> {
        self.init.take_signal_watch()
    }

    fn take_denials(&mut self) -> Vec<paddock_core::Denial> {
        std::mem::take(&mut self.denials)
    }
}
