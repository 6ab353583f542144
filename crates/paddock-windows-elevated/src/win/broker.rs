//! The broker: `paddock run` at level 2, as the real user. Picks the account by the network
//! policy, applies the level-2 file plan (journaled), starts the runner as that account in a
//! kill-on-close job, talks to it over the authenticated pipe, and hands the facade a
//! `SandboxedProcess` whose exit code, timeout kill and Ctrl-C reach across.
//!
//! Guarantees: it refuses before anything starts when setup is missing or outdated, an
//! allow-list's proxy cannot hold a port of the fence's hole, the runner is not the process it
//! started, or the runner refuses (fence probe leaked, proxy unreachable, token or desktop
//! unavailable); per-run ACEs are taken back when the process is dropped, and on every refusal
//! after they were applied. An allow-list runs as the offline account with the run's proxy in
//! `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY`; the proxy records every decision in the run's
//! `NetworkLog` and stops once the runner's job is empty.

use super::logon_launch::{RunnerProcess, RunnerStdio, start_runner};
use super::ownership;
use super::pipe::{PipeServer, fresh_name, pipe_sddl};
use super::proxy::{self, RunProxy};
use super::runner::RUNNER_FLAG;
use super::system;
use crate::errors::ElevatedError;
use crate::fs_plan::{self, PROBE_OUTSIDE, ProfileDirs};
use crate::network;
use crate::protocol::{
    LaunchRequest, Message, ProbeRequest, Signal, check_hello, read_message, write_message,
};
use crate::setup_plan::{Role, SETUP_VERSION, SetupRecord};
use paddock_core::policy::Network;
use paddock_core::report::{EnforcementReport, Gap, Layer, LayerReport, LayerStatus};
use paddock_core::spec::CommandSpec;
use paddock_core::{NetworkLog, SandboxSpec};
use paddock_proxy::ProxyHandle;
use paddock_runner::{ChildStdio, ExitInfo, Interrupt, SandboxedProcess, StdioMode};
use paddock_win32::Win32Error;
use paddock_windows::apply::acl::NtfsAclStore;
use paddock_windows::apply::launch::TreeEnd;
use paddock_windows::apply::sid::{OwnedSid, current_user_sid};
use paddock_windows::plan::HostDirs;
use paddock_windows::run_acls::{self, ActiveRun};
use paddock_windows::sid_registry::SidRegistry;
use std::fs::File;
use std::io;
use std::os::windows::io::AsRawHandle;
use std::time::Duration;
use windows_sys::Win32::Foundation::WAIT_OBJECT_0;
use windows_sys::Win32::Security::CheckTokenMembership;
use windows_sys::Win32::System::Threading::{GetExitCodeProcess, WaitForSingleObject};

/// How long the runner may take to log on, load its profile and connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

fn state(e: impl std::fmt::Display) -> ElevatedError {
    ElevatedError::State(e.to_string())
}

/// The executable started as the runner: `PADDOCK_RUNNER_EXE` when set (tests, packagers who
/// ship the runner separately), otherwise this program, which must call
/// `runner_main_if_requested` first thing in `main`.
pub fn runner_exe() -> Result<std::path::PathBuf, ElevatedError> {
    match std::env::var_os("PADDOCK_RUNNER_EXE").filter(|v| !v.is_empty()) {
        Some(p) => Ok(p.into()),
        None => std::env::current_exe().map_err(state),
    }
}

/// The setup record, or the refusal that names `paddock setup`.
pub fn current_setup() -> Result<SetupRecord, ElevatedError> {
    let rec = system::read_record()
        .map_err(state)?
        .ok_or(ElevatedError::NotSetUp)?;
    if rec.version < SETUP_VERSION {
        return Err(ElevatedError::SetupOutdated {
            found: rec.version,
            wanted: SETUP_VERSION,
        });
    }
    Ok(rec)
}

/// Refuses unless this process's token holds the brokers group enabled: only then can it read
/// the passwords, and the refusal names the fix instead of an "access denied" on the file.
fn require_broker(rec: &SetupRecord) -> Result<(), ElevatedError> {
    let not_a_broker = || ElevatedError::NotABroker {
        group: crate::setup_plan::BROKERS_GROUP_NAME.into(),
    };
    let group = rec.brokers_group_sid.as_ref().ok_or_else(not_a_broker)?;
    let psid = OwnedSid::new(group).map_err(state)?;
    let mut member = 0;
    // SAFETY: a null token checks this thread's effective token; `psid` is a valid SID alive
    // for the call; `member` receives the answer.
    if unsafe { CheckTokenMembership(std::ptr::null_mut(), psid.as_psid(), &mut member) } == 0 {
        return Err(state(Win32Error::last("CheckTokenMembership")));
    }
    if member == 0 {
        return Err(not_a_broker());
    }
    Ok(())
}

/// Plans, applies and starts `cmd` under `spec` at Windows level 2; with a network
/// allow-list, the proxy's decisions go to `log`.
pub fn prepare_elevated(
    spec: &SandboxSpec,
    cmd: &CommandSpec,
    stdio: StdioMode,
    log: &NetworkLog,
) -> Result<(Box<dyn SandboxedProcess>, EnforcementReport), ElevatedError> {
    let rec = current_setup()?;
    let role = network::role_for(&spec.network);
    let (account, _, account_sid) = rec
        .accounts
        .iter()
        .find(|(_, r, _)| *r == role)
        .cloned()
        .ok_or(ElevatedError::NotSetUp)?;
    if fs_plan::is_windows_apps_alias(&cmd.program) {
        return Err(ElevatedError::Logon {
            account,
            failure: crate::errors::LogonFailure::NoLogonSession,
        });
    }
    require_broker(&rec)?;
    let password = system::read_secret(&account)
        .map_err(state)?
        .ok_or(ElevatedError::NotSetUp)?;
    // The allow-list proxy starts before anything is applied: when it cannot hold a port of
    // the hole there is nothing to undo.
    let proxy: Option<RunProxy> = match &spec.network {
        Network::Allowlist(allow) => Some(proxy::start(rec.proxy_ports, allow, log)?),
        Network::On | Network::Off => None,
    };
    let proxy_port = proxy.as_ref().map(|p| p.port);
    let mut registry = SidRegistry::open_default()?;
    let mut store = NtfsAclStore::new();
    let host = HostDirs::from_env(registry.state_dir());
    let profile = ProfileDirs::from_env()
        .ok_or_else(|| state("USERPROFILE is not set; Paddock cannot find your profile"))?;
    let exe = runner_exe()?;
    let plan = fs_plan::plan(
        spec,
        &store,
        &mut registry,
        &host,
        &profile,
        &rec.group_sid,
        &exe,
    )?;
    let active = run_acls::apply(&plan.windows, &mut store, &registry)?;
    let broker_sid = current_user_sid().map_err(state)?;
    let sandbox_sids: Vec<_> = rec.accounts.iter().map(|(_, _, s)| s.clone()).collect();
    let reown = fs_plan::git_dirs_to_reown(spec);
    let owner = broker_sid.clone();
    let undo = move |active: ActiveRun, end: TreeEnd| {
        if let TreeEnd::Survived(survivors) = end {
            // Processes of the sandbox account still exist: the denies stay, the journal says
            // so, and a later run's recovery takes them back once the survivors are gone.
            let ids: Vec<u32> = survivors.iter().map(|s| s.pid).collect();
            eprintln!(
                "paddock: run {}: processes {ids:?} outlived the kill; its ACL entries stay until \
                 they are gone",
                active.run_id()
            );
            if let Err(e) = active.hold(&survivors) {
                eprintln!("paddock: recording the surviving processes failed ({e})");
            }
            return;
        }
        let mut store = NtfsAclStore::new();
        let _ = active.finish(&mut store);
        for dir in &reown {
            let _ = ownership::reown_if_sandbox_owned(dir, &owner, &sandbox_sids);
        }
    };
    let started = (|| {
        let name = fresh_name()?;
        let server = PipeServer::create(&name, &pipe_sddl(&broker_sid, &account_sid))?;
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(state)?;
        let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let line = format!("\"{}\" {RUNNER_FLAG} {name} {hex}", exe.display());
        let mut stdio_ends = RunnerStdio::new(stdio == StdioMode::Capture)?;
        let runner = start_runner(&account, password.expose(), &exe, &line, &mut stdio_ends)?;
        let mut conn = server.accept(runner.pid, CONNECT_TIMEOUT)?;
        check_hello(read_message(&mut conn)?, &nonce)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(state)?;
        let mut req = LaunchRequest::new(
            cmd.program.clone(),
            &cmd.args,
            cmd.cwd.clone(),
            &network::launch_env(spec, cmd, proxy.as_ref().map(|p| (p.port, &p.credential))),
            plan.windows.token.clone(),
            plan.windows.private_temp.clone(),
        )?;
        if role == Role::Offline {
            req.probe = Some(ProbeRequest {
                loopback_port: listener.local_addr().map_err(state)?.port(),
                outside: PROBE_OUTSIDE.into(),
                proxy_port,
            });
        }
        write_message(&mut conn, &Message::Launch(Box::new(req)))?;
        let probed = role == Role::Offline;
        let mut gaps = Vec::new();
        let mut reply = read_message(&mut conn)?;
        while let Some(Message::Gap { what }) = reply {
            gaps.push(what);
            reply = read_message(&mut conn)?;
        }
        match reply {
            Some(Message::Started { .. }) => {
                if probed {
                    record_probe(&registry, &account, None, proxy.as_ref());
                }
                Ok((runner, conn, stdio_ends, gaps))
            }
            Some(Message::Leaked { target }) => {
                record_probe(&registry, &account, Some(&target), proxy.as_ref());
                Err(ElevatedError::FenceLeaked { target })
            }
            Some(Message::Refused { message }) => Err(ElevatedError::State(format!(
                "the sandbox runner refused to start the command: {message}"
            ))),
            _ => Err(crate::protocol::ProtocolError::Unexpected("reply to launch").into()),
        }
    })();
    let (runner, conn, stdio_ends, gaps) = match started {
        Ok(s) => s,
        Err(e) => {
            undo(active, TreeEnd::Gone);
            return Err(e);
        }
    };
    let proxy_report = proxy.as_ref().map(RunProxy::report);
    let mut report = fs_plan::report(&rec, role, &account, &plan, proxy_report.as_ref());
    for gap in gaps {
        report.layers.push(
            LayerReport::new(
                Layer::CompatGrant,
                LayerStatus::NotEnforced,
                format!("{gap}; programs that need it may fail. Security is unaffected"),
            )
            .lacking([Gap::Compatibility]),
        );
    }
    let process = BrokeredProcess {
        runner,
        conn,
        stdout: stdio_ends.stdout,
        stderr: stdio_ends.stderr,
        cleanup: Some(Box::new(move |end| undo(active, end))),
        _proxy: proxy.map(|p| p.handle),
    };
    Ok((Box::new(process), report))
}

/// The last fence probe, kept in the state folder for `paddock status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProbeRecord {
    /// Seconds since the Unix epoch.
    pub at: u64,
    pub account: String,
    /// The address a connect reached, `None` when everything was blocked.
    pub leaked: Option<String>,
    /// With an allow-list: the proxy's address, held exclusively by the broker, that the
    /// sandbox had to reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// With an allow-list: ports of the fence's hole another program (or another run's proxy)
    /// held; the offline account can connect to whatever listens there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_ports: Vec<u16>,
}

fn probe_path(registry: &SidRegistry) -> std::path::PathBuf {
    registry.windows_dir().join("elevated-probe.json")
}

fn record_probe(
    registry: &SidRegistry,
    account: &str,
    leaked: Option<&str>,
    proxy: Option<&RunProxy>,
) {
    let rec = ProbeRecord {
        at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        account: account.to_string(),
        leaked: leaked.map(str::to_string),
        proxy: proxy.map(|p| format!("127.0.0.1:{}", p.port)),
        foreign_ports: proxy
            .map(|p| p.taken.iter().map(|(port, _)| *port).collect())
            .unwrap_or_default(),
    };
    if let Ok(bytes) = serde_json::to_vec_pretty(&rec) {
        let _ = std::fs::write(probe_path(registry), bytes);
    }
}

/// The last probe result recorded by a level-2 run of this user.
pub fn last_probe() -> Option<ProbeRecord> {
    let registry = SidRegistry::open_default().ok()?;
    let bytes = std::fs::read(probe_path(&registry)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

type Cleanup = Box<dyn FnOnce(TreeEnd) + Send>;

/// How long the broker waits for a terminated job to report no process.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// The runner as `paddock_runner::run` sees it.
struct BrokeredProcess {
    runner: RunnerProcess,
    conn: File,
    stdout: Option<File>,
    stderr: Option<File>,
    cleanup: Option<Cleanup>,
    /// The allow-list proxy; dropped after `Drop::drop` has emptied the job.
    _proxy: Option<ProxyHandle>,
}

impl BrokeredProcess {
    fn wait_ms(&self, ms: u32) -> io::Result<Option<ExitInfo>> {
        // SAFETY: waits on the live runner process handle.
        let rc = unsafe { WaitForSingleObject(self.runner.process.as_raw_handle(), ms) };
        if rc != WAIT_OBJECT_0 {
            return Ok(None);
        }
        let mut code = 0u32;
        // SAFETY: valid process handle and out-pointer.
        if unsafe { GetExitCodeProcess(self.runner.process.as_raw_handle(), &mut code) } == 0 {
            return Err(io::Error::other(Win32Error::last("GetExitCodeProcess")));
        }
        Ok(Some(ExitInfo::Code(code as i32)))
    }
}

impl SandboxedProcess for BrokeredProcess {
    fn take_stdio(&mut self) -> ChildStdio {
        ChildStdio {
            stdout: self
                .stdout
                .take()
                .map(|f| Box::new(f) as Box<dyn io::Read + Send>),
            stderr: self
                .stderr
                .take()
                .map(|f| Box::new(f) as Box<dyn io::Read + Send>),
        }
    }
    fn try_wait(&mut self) -> io::Result<Option<ExitInfo>> {
        self.wait_ms(0)
    }
    fn wait_timeout(&mut self, d: Duration) -> io::Result<Option<ExitInfo>> {
        self.wait_ms(d.as_millis().min(u128::from(u32::MAX - 1)) as u32)
    }
    fn signal_tree(&mut self, sig: Interrupt) -> io::Result<()> {
        let s = match sig {
            Interrupt::Interrupt => Signal::Interrupt,
            Interrupt::Terminate | Interrupt::Hangup => Signal::Terminate,
        };
        write_message(&mut self.conn, &Message::Signal(s)).map_err(io::Error::other)
    }
    /// Ends the whole tree: asks the runner to kill its command, terminates the job (runner
    /// and command, even when the runner has already exited) and waits until the job reports
    /// no process.
    fn kill_tree(&mut self) -> io::Result<()> {
        if self.wait_ms(0)?.is_none() {
            let _ = write_message(&mut self.conn, &Message::Kill);
        }
        self.runner.job.kill_and_wait(KILL_WAIT)
    }
    fn id(&self) -> u32 {
        self.runner.pid
    }
}

impl Drop for BrokeredProcess {
    fn drop(&mut self) {
        // The per-run ACEs come off only once the job is empty; survivors keep them.
        let end = TreeEnd::of(&self.runner.job.kill_and_wait(KILL_WAIT));
        if let Some(cleanup) = self.cleanup.take() {
            cleanup(end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_win32::job::{Job, JobLimits};
    use std::os::windows::io::OwnedHandle;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn runner_like(script: &str) -> RunnerProcess {
        let system_root = std::env::var("SystemRoot").unwrap_or_else(|_| r"C:\Windows".into());
        let child = std::process::Command::new(format!(r"{system_root}\System32\cmd.exe"))
            .args(["/d", "/c", script])
            .spawn()
            .unwrap();
        let pid = child.id();
        let process = OwnedHandle::from(child);
        let job = Job::create(&JobLimits::kill_on_close_only()).unwrap();
        job.assign(&process).unwrap();
        RunnerProcess { process, pid, job }
    }

    /// The broker's end and the runner's end of a connected control pipe.
    fn control_pipe() -> (File, File) {
        let me = current_user_sid().unwrap();
        let server = PipeServer::create(&fresh_name().unwrap(), &pipe_sddl(&me, &me)).unwrap();
        let name = server.name().to_string();
        let client = std::thread::spawn(move || crate::win::pipe::connect(&name).unwrap());
        let broker = server
            .accept(std::process::id(), Duration::from_secs(10))
            .unwrap();
        (broker, client.join().unwrap())
    }

    fn brokered(script: &str, cleanups: Arc<AtomicUsize>) -> (BrokeredProcess, File) {
        let (conn, runner_end) = control_pipe();
        let process = BrokeredProcess {
            runner: runner_like(script),
            conn,
            stdout: None,
            stderr: None,
            cleanup: Some(Box::new(move |end| {
                assert_eq!(end, TreeEnd::Gone);
                cleanups.fetch_add(1, Ordering::SeqCst);
            })),
            _proxy: None,
        };
        (process, runner_end)
    }

    #[test]
    fn kill_ends_what_the_runner_left_behind_even_after_the_runner_exited() {
        let (mut p, _runner_end) = brokered(
            "start /b ping -n 60 127.0.0.1 >NUL & exit 0",
            Arc::default(),
        );
        while p
            .wait_timeout(Duration::from_millis(100))
            .unwrap()
            .is_none()
        {}
        assert!(
            p.runner.job.active_processes().unwrap() >= 1,
            "the background ping is in the job"
        );
        p.kill_tree().unwrap();
        assert_eq!(
            p.runner.job.active_processes().unwrap(),
            0,
            "kill_tree returned with the job not empty"
        );
    }

    #[test]
    fn the_runner_exit_code_is_the_run_exit_code() {
        let (mut p, _runner_end) = brokered("ping -n 2 127.0.0.1 >NUL & exit 7", Arc::default());
        let status = loop {
            if let Some(s) = p.wait_timeout(Duration::from_millis(100)).unwrap() {
                break s;
            }
        };
        assert_eq!(status, ExitInfo::Code(7));
    }

    #[test]
    fn ctrl_c_crosses_the_pipe_and_kill_ends_the_runner_job() {
        let (mut p, mut runner_end) = brokered("ping -n 60 127.0.0.1 >NUL", Arc::default());
        p.signal_tree(Interrupt::Interrupt).unwrap();
        assert_eq!(
            read_message(&mut runner_end).unwrap(),
            Some(Message::Signal(Signal::Interrupt))
        );
        p.kill_tree().unwrap();
        assert_eq!(read_message(&mut runner_end).unwrap(), Some(Message::Kill));
        assert!(p.wait_timeout(Duration::from_secs(10)).unwrap().is_some());
    }

    #[test]
    fn dropping_the_run_kills_the_runner_and_cleans_up_once() {
        let cleanups = Arc::new(AtomicUsize::new(0));
        let (p, _runner_end) = brokered("ping -n 60 127.0.0.1 >NUL", cleanups.clone());
        let watch = p.runner.process.try_clone().unwrap();
        drop(p);
        assert_eq!(cleanups.load(Ordering::SeqCst), 1);
        // SAFETY: waits on a live duplicate of the runner's process handle.
        let rc = unsafe { WaitForSingleObject(watch.as_raw_handle(), 10_000) };
        assert_eq!(rc, WAIT_OBJECT_0, "the runner survived its job");
    }
}
