//! `paddock mcp`: a Model Context Protocol server on stdio (official Rust SDK, rmcp) so an agent
//! runs its commands through one resident Paddock process. Tools: `run`, `explain_path`,
//! `explain_command`, `policy`, `status`.
//!
//! Guarantees: every `run` goes through the same command-rules gate, audit log and sandbox as
//! `paddock run`; a call can only tighten the user's effective policy (see `narrow`); a command
//! needing approval runs only after the client's user approved it through elicitation, and
//! without elicitation the call returns `needs_approval` and nothing runs.
//!
//! Warm path: while idle the server keeps one spare sandbox built for the base policy
//! (`paddock::warm`); a `run` without `policy` narrowing starts its command in it when it still
//! fits, else builds its own. Either way each command gets a fresh sandbox. A cancelled `run`
//! (`notifications/cancelled`) has its sandbox killed.

pub mod approve;
mod kept_load;
pub mod narrow;
mod reply_writer;

use approve::ElicitApprover;
use narrow::Narrowing;
use paddock::cancel::CancelHandle;
use paddock::core::config::{self, CliOverrides, ConfigPaths, EffectivePolicy};
use paddock::rules::approval::{Approver, NoApprover};
use paddock::rules::audit::AuditLog;
use paddock::rules::context::Context;
use paddock::rules::rules::engine::{Engine, RulePaths};
use paddock::rules::session::{Session, SessionId};
use paddock::warm::SpareKeeper;
use paddock::{Gate, PaddockError, SandboxCommand, run_gated};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ProgressNotificationParam, ServerCapabilities};
use rmcp::service::RequestContext;
use rmcp::{
    ErrorData, Peer, RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Produces the `status` tool's answer for an effective policy (the CLI's `paddock status --json`).
pub type StatusFn = dyn Fn(&EffectivePolicy, &Path) -> Value + Send + Sync;

/// How the server loads the policy: the same layers as the CLI, fixed at start.
pub struct ServerConfig {
    /// The workspace root (`paddock.toml` is looked up here; relative `cwd`s resolve here).
    pub workspace: PathBuf,
    /// `--config FILE`, read in place of the user file.
    pub config: Option<PathBuf>,
    /// Flags given to `paddock mcp` (the highest config layer, as for `paddock run`).
    pub overrides: CliOverrides,
    pub status: Box<StatusFn>,
}

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the MCP session failed: {0}; check that the client speaks MCP over stdio")]
    Session(String),
}

/// Serves MCP on stdin/stdout until the client closes the connection.
pub fn serve_stdio(cfg: ServerConfig) -> Result<(), McpError> {
    // One worker: a run's short work and a quick command's wait stay on the thread that read
    // its request, so its reply goes out with no hand-over to another thread and back; a wait
    // that lasts lets the runtime go on on another thread meanwhile (`Away`).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(McpError::Runtime)?;
    // Each reply releases the tidying held during its run (`reply_writer`).
    paddock::tidies_after_replies();
    let served = rt.block_on(async move {
        let mut server = PaddockServer::new(cfg);
        server.keep_spares();
        // Pipes (the usual case) are driven by the runtime's reactor, not the blocking pool:
        // one thread hand-off less per message each way.
        let (stdin, stdout) = rmcp::transport::stdio_pipes();
        let stdout =
            reply_writer::ReplyWriter::new(stdout, server.spares.as_ref().map(|k| k.replies()));
        let service = server
            .serve((stdin, stdout))
            .await
            .map_err(|e| McpError::Session(e.to_string()))?;
        service
            .waiting()
            .await
            .map_err(|e| McpError::Session(e.to_string()))?;
        Ok(())
    });
    paddock::reply_sent();
    served
}

/// The server: the config and the tool router. Each call loads the policy and the rules afresh,
/// so edits to the config or rules files apply to the next call.
#[derive(Clone)]
pub struct PaddockServer {
    cfg: Arc<ServerConfig>,
    /// Builds the spare sandbox the next `run` may use (`None`: every run builds its own).
    spares: Option<Arc<SpareKeeper>>,
    /// The audit log every call appends to: one for the server, so that its lock and log files
    /// stay open between calls (each append still checks they are the files at their paths).
    /// `None` when there is no state directory: every run is then refused, as `paddock run`
    /// refuses.
    audit: Option<AuditLog>,
    /// The watches of the writable roots kept between runs, so that a run's pre-walk lists
    /// again only what changed since the previous run (`paddock::WalkKeeper`). `None` with
    /// `PADDOCK_MCP_KEEP_WATCHES=0`: every run walks its roots afresh, as `paddock run` does.
    walks: Option<paddock::WalkKeeper>,
    /// The policy and rules of the last `run`, used again while their files are unchanged.
    loads: Arc<kept_load::KeptLoad>,
    tool_router: ToolRouter<Self>,
}

/// `run`'s arguments.
#[derive(Debug, Deserialize, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// The program and its arguments (exactly one of `argv` and `script`).
    pub argv: Option<Vec<String>>,
    /// A shell script, run by `sh -c` (Unix) or `cmd.exe /d /s /c` (Windows).
    pub script: Option<String>,
    /// Working directory; relative to the workspace (default: the workspace).
    pub cwd: Option<String>,
    /// Wall-clock limit in seconds; may only shorten the effective timeout.
    pub timeout_secs: Option<f64>,
    /// Per-call tightening of the policy; anything that loosens it is refused.
    pub policy: Option<Narrowing>,
    /// Session id: "allow for this session" answers are remembered under it.
    pub session: Option<String>,
}

/// `explain_path`'s arguments.
#[derive(Debug, Deserialize, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub struct ExplainPathParams {
    /// The path; relative paths are relative to the workspace.
    pub path: String,
    /// "read", "write", or absent for both.
    pub access: Option<String>,
}

/// `explain_command`'s arguments.
#[derive(Debug, Deserialize, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub struct ExplainCommandParams {
    /// The command line, one word per element.
    pub argv: Vec<String>,
    /// Working directory; relative to the workspace (default: the workspace).
    pub cwd: Option<String>,
}

/// A tool-level error: the call was understood but refused or could not be done.
fn refused(message: impl Into<String>, exit_code: i32) -> CallToolResult {
    let message = message.into();
    let text = format!("paddock: {message}");
    structured_with_text(
        json!({
            "error": message,
            "exit_code": exit_code,
        }),
        text,
        true,
    )
}

fn structured(value: Value) -> CallToolResult {
    CallToolResult::structured(value)
}

/// A result with `value` as its structured content and `text` as its text content. rmcp's own
/// constructors print the whole value as the text first (a run's report is a few KiB of JSON,
/// printed on every call only to be replaced).
fn structured_with_text(value: Value, text: String, is_error: bool) -> CallToolResult {
    let mut r = if is_error {
        CallToolResult::structured_error(Value::Null)
    } else {
        CallToolResult::structured(Value::Null)
    };
    r.structured_content = Some(value);
    r.content = vec![ContentBlock::text(text)];
    r
}

#[tool_router]
impl PaddockServer {
    pub fn new(cfg: ServerConfig) -> Self {
        PaddockServer {
            cfg: Arc::new(cfg),
            spares: None,
            audit: AuditLog::open_default().ok(),
            walks: (std::env::var_os("PADDOCK_MCP_KEEP_WATCHES").is_none_or(|v| v != "0"))
                .then(paddock::WalkKeeper::new),
            loads: Arc::default(),
            tool_router: Self::tool_router(),
        }
    }

    /// Starts keeping a spare sandbox for the base policy (the warm path), unless
    /// `PADDOCK_MCP_SPARES=0` (each run then builds its own sandbox, as `paddock run` does).
    pub fn keep_spares(&mut self) {
        if !paddock::warm::supported()
            || std::env::var_os("PADDOCK_MCP_SPARES").is_some_and(|v| v == "0")
        {
            return;
        }
        let cfg = self.cfg.clone();
        let base = Box::new(move || {
            let mut paths = ConfigPaths::for_workspace(&cfg.workspace);
            paths.explicit = cfg.config.clone();
            let eff = config::load(&paths, &cfg.overrides).ok()?;
            Some((eff.policy, cfg.workspace.clone()))
        });
        self.spares = SpareKeeper::start(base, self.walks.clone())
            .ok()
            .map(Arc::new);
    }

    fn load(&self) -> Result<EffectivePolicy, PaddockError> {
        load_policy(&self.cfg)
    }

    /// The effective policy and the rules for a `run`: the kept ones while their files are
    /// unchanged (`kept_load`), else loaded afresh. The rules are loaded only with a policy.
    fn load_with_rules(
        &self,
    ) -> (
        Result<EffectivePolicy, PaddockError>,
        Result<Engine, PaddockError>,
    ) {
        if let Some(l) = self.loads.get() {
            return (Ok(l.eff), Ok(l.engine));
        }
        let cfg = self.cfg.clone();
        kept_load::load_noted(&self.loads, move || {
            let eff = load_policy(&cfg);
            let engine = match &eff {
                Ok(e) => load_rules(&cfg.workspace, e.policy.project_trusted),
                Err(_) => Ok(Engine::empty()),
            };
            (eff, engine)
        })
    }

    fn dir(&self, cwd: Option<&str>) -> PathBuf {
        cwd.map_or(self.cfg.workspace.clone(), |c| self.cfg.workspace.join(c))
    }

    /// Run a command in the Paddock sandbox, through the command rules, with output captured.
    #[tool(
        name = "run",
        description = "Run a command in the Paddock sandbox (through the command rules). Give `argv` \
(array) or `script` (shell). Returns exit_code, stdout/stderr (capped), duration_ms, timed_out, \
the rules decision, the enforcement report, integrity events and `denials` (why a run failed: the \
timeout with its limit, refused connections with address, port and a DNS flag, writes outside the \
roots, deny-read hits; each with how it was known) with `denial_summary`, one line; \
`needs_approval: true` with the \
reason when the rules require an approval nobody could give. `policy` may only tighten: mode \
read-only, network off, extra deny_read; `timeout_secs` may only shorten."
    )]
    async fn run(
        &self,
        Parameters(p): Parameters<RunParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let RequestContext { ct, meta, peer, .. } = ctx;
        let argv: Vec<String> = match (&p.argv, &p.script) {
            (Some(a), None) if !a.is_empty() => a.clone(),
            (None, Some(s)) => shell(s),
            _ => {
                return Ok(refused(
                    "give exactly one of `argv` (a non-empty array) and `script` (a string)",
                    paddock::exit::BAD_CONFIG,
                ));
            }
        };
        let (eff, engine) = self.load_with_rules();
        let eff = match eff {
            Ok(e) => e,
            Err(e) => return Ok(refused(e.to_string(), e.exit_code())),
        };
        // Moved out, not cloned: `eff` is this call's own copy (only its sources are read on).
        let mut policy = eff.policy;
        if let Err(why) = narrow::apply(
            &mut policy,
            &p.policy.clone().unwrap_or_default(),
            p.timeout_secs,
        ) {
            return Ok(refused(
                format!("policy narrowing refused: {why}"),
                paddock::exit::BAD_CONFIG,
            ));
        }
        let workspace = self.cfg.workspace.clone();
        let cwd = self.dir(p.cwd.as_deref());
        let mut engine = match engine {
            Ok(e) => e,
            Err(e) => return Ok(refused(e.to_string(), e.exit_code())),
        };
        if let Some(id) = p.session.as_deref().filter(|s| !s.is_empty()) {
            let session = SessionId::parse(id).and_then(Session::open_default);
            match session {
                Ok(s) => engine.set_session(s),
                Err(e) => {
                    return Ok(refused(
                        format!("session `{id}`: {e}"),
                        paddock::exit::BAD_CONFIG,
                    ));
                }
            }
        }
        let audit = match self
            .audit
            .clone()
            .ok_or(paddock::rules::audit::AuditError::NoStateDir)
        {
            Ok(a) => a,
            Err(e) => {
                return Ok(refused(
                    format!(
                        "cannot open the audit log: {e}; set PADDOCK_STATE_DIR to a writable directory"
                    ),
                    paddock::exit::SANDBOX_UNAVAILABLE,
                ));
            }
        };
        let timeout = policy.timeout;
        let timeout_set_by = if p.timeout_secs.is_some() {
            Some("the run call's timeout_secs".to_string())
        } else {
            eff.sources
                .get("timeout")
                .and_then(|s| s.last())
                .map(ToString::to_string)
        };
        let mut cmd = SandboxCommand::new(&argv[0]);
        if let Some(source) = timeout_set_by {
            cmd.timeout_set_by(source);
        }
        cmd.args(&argv[1..])
            .cwd(cwd)
            .workspace(workspace)
            .policy(policy)
            .capture_output(true);
        if let Some(walks) = &self.walks {
            cmd.walk_keeper(walks.clone());
        }
        // A narrowed call changes the sandbox's shape: it builds its own and leaves the spare.
        let ticket = match &self.spares {
            Some(keeper) if p.policy.is_none() => Some(keeper.ticket()),
            _ => None,
        };
        if let Some(t) = &ticket {
            cmd.spare(t.clone());
        }
        let cancel = CancelHandle::new();
        cmd.cancel_handle(cancel.clone());
        let away = Arc::new(Away {
            request: ct,
            cancel,
            progress: meta
                .get_progress_token()
                .map(|t| (t, peer.clone(), timeout)),
            started: tokio::time::Instant::now(),
            watcher: std::sync::Mutex::new(None),
        });
        let hand_off = away.hand_off();
        cmd.hand_off(hand_off.clone());
        let elicit = peer
            .supported_elicitation_modes()
            .contains(&rmcp::service::ElicitationMode::Form);
        // On this thread (see `Away`). A panic is this call's failure, not the server's.
        let job = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut asker = ElicitApprover::new(peer, tokio::runtime::Handle::current(), hand_off);
            let mut none = NoApprover;
            let approver: &mut dyn Approver = if elicit { &mut asker } else { &mut none };
            let gate = Gate {
                engine: &mut engine,
                approver,
                audit: Some(&audit),
                escalate: false,
            };
            let gated = run_gated(&cmd, gate);
            (gated, asker.failure())
        }));
        away.finish().await;
        if let Some(keeper) = &self.spares {
            keeper.refill_after_reply();
        }
        let warm = ticket.is_some_and(|t| t.was_used());
        let Ok((gated, ask_failure)) = job else {
            return Ok(refused(
                "the run did not complete: it panicked (a bug in Paddock; please report it)",
                paddock::exit::SANDBOX_UNAVAILABLE,
            ));
        };
        let decision = serde_json::to_value(&gated.decision).unwrap_or(Value::Null);
        match gated.result {
            Ok(report) => {
                let mut v = serde_json::to_value(&report).unwrap_or(Value::Null);
                v["decision"] = decision;
                v["needs_approval"] = json!(false);
                v["warm"] = json!(warm);
                Ok(structured_with_text(v, summary(&report), false))
            }
            Err(err) => {
                let needs_approval = matches!(err, PaddockError::NotApproved(_))
                    && gated.decision.answer.is_none()
                    && (!elicit || ask_failure.is_some());
                let mut v = json!({
                    "exit_code": err.exit_code(),
                    "error": err.to_string(),
                    "decision": decision,
                    "needs_approval": needs_approval,
                    "warm": warm,
                });
                if needs_approval {
                    let reason = gated.decision.judgement.reason();
                    let why = match &ask_failure {
                        Some(f) => format!("{reason} (asking the client failed: {f})"),
                        None => format!(
                            "{reason} (the client does not support elicitation, so nobody could be asked)"
                        ),
                    };
                    v["reason"] = json!(why);
                    let text = format!(
                        "paddock: needs approval: {why}; nothing ran. Ask the user, then add a \
                         rule or approve it from a client with elicitation."
                    );
                    return Ok(structured_with_text(v, text, false));
                }
                Ok(structured_with_text(v, format!("paddock: {err}"), true))
            }
        }
    }

    /// Could the sandbox read or write a path, and which setting decides.
    #[tool(
        name = "explain_path",
        description = "Could a sandboxed command read or write PATH under the effective policy, and \
which setting decides. `access`: \"read\", \"write\" or absent for both."
    )]
    async fn explain_path(
        &self,
        Parameters(p): Parameters<ExplainPathParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let eff = match self.load() {
            Ok(e) => e,
            Err(e) => return Ok(refused(e.to_string(), e.exit_code())),
        };
        let spec = match paddock::core::SandboxSpec::from_policy(&eff.policy, &self.cfg.workspace) {
            Ok(s) => s,
            Err(e) => {
                let e = PaddockError::from(e);
                return Ok(refused(e.to_string(), e.exit_code()));
            }
        };
        let target = self.cfg.workspace.join(&p.path);
        let e = match paddock::explain::explain_path(&spec, &target) {
            Ok(e) => e,
            Err(err) => {
                return Ok(refused(
                    format!("cannot resolve {}: {err}", p.path),
                    paddock::exit::BAD_CONFIG,
                ));
            }
        };
        let mut v = json!({ "path": e.path, "mode": eff.policy.mode.as_str() });
        match p.access.as_deref() {
            None => {
                v["read"] = json!(e.read);
                v["write"] = json!(e.write);
            }
            Some("read") => v["read"] = json!(e.read),
            Some("write") => v["write"] = json!(e.write),
            Some(other) => {
                return Ok(refused(
                    format!("access `{other}`: use \"read\", \"write\" or leave it out"),
                    paddock::exit::BAD_CONFIG,
                ));
            }
        }
        Ok(structured(v))
    }

    /// The command-rules decision for a command line and its reason.
    #[tool(
        name = "explain_command",
        description = "The command-rules decision (allow, prompt, forbid, unknown) for a command \
line and the rule or reason behind it; nothing runs."
    )]
    async fn explain_command(
        &self,
        Parameters(p): Parameters<ExplainCommandParams>,
    ) -> Result<CallToolResult, ErrorData> {
        if p.argv.is_empty() {
            return Ok(refused(
                "argv is empty: give the command line",
                paddock::exit::BAD_CONFIG,
            ));
        }
        let eff = match self.load() {
            Ok(e) => e,
            Err(e) => return Ok(refused(e.to_string(), e.exit_code())),
        };
        let engine = match load_rules(&self.cfg.workspace, eff.policy.project_trusted) {
            Ok(e) => e,
            Err(e) => return Ok(refused(e.to_string(), e.exit_code())),
        };
        let writable = paddock::core::SandboxSpec::from_policy(&eff.policy, &self.cfg.workspace)
            .map(|s| s.writable_roots)
            .unwrap_or_default();
        let cwd = self.dir(p.cwd.as_deref());
        let e = paddock::rules::explain::explain(&engine, &p.argv, &Context::new(cwd, writable));
        let v = serde_json::to_value(&e).unwrap_or(Value::Null);
        Ok(structured_with_text(v, e.to_string(), false))
    }

    /// The effective policy and where each value came from.
    #[tool(
        name = "policy",
        description = "The effective policy and the source of every value (like `paddock policy show --json`)."
    )]
    async fn policy(&self) -> Result<CallToolResult, ErrorData> {
        match self.load() {
            Ok(eff) => Ok(structured(
                serde_json::to_value(&eff).unwrap_or(Value::Null),
            )),
            Err(e) => Ok(refused(e.to_string(), e.exit_code())),
        }
    }

    /// What this machine's backend enforces (like `paddock status --json`).
    #[tool(
        name = "status",
        description = "What this machine's sandbox backend can enforce and what a run under the \
effective policy gets (like `paddock status --json`)."
    )]
    async fn status(&self) -> Result<CallToolResult, ErrorData> {
        let eff = match self.load() {
            Ok(e) => e,
            Err(e) => return Ok(refused(e.to_string(), e.exit_code())),
        };
        let cfg = self.cfg.clone();
        let v = tokio::task::spawn_blocking(move || (cfg.status)(&eff, &cfg.workspace))
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok(structured(v))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for PaddockServer {
    fn get_info(&self) -> rmcp::model::ServerConfig {
        let mut info = rmcp::model::ServerConfig::default();
        info.capabilities = ServerCapabilities::builder().enable_tools().build();
        info.server_info = rmcp::model::Implementation::new("paddock", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "Paddock runs shell commands in a sandbox: use the `run` tool for every command. \
             Writes outside the workspace, secrets and (by default) the network are denied; \
             `explain_path` and `explain_command` say why."
                .into(),
        );
        info
    }
}

/// The argv that runs `script` in the platform's shell.
fn shell(script: &str) -> Vec<String> {
    if cfg!(windows) {
        vec![
            "cmd.exe".into(),
            "/d".into(),
            "/s".into(),
            "/c".into(),
            script.into(),
        ]
    } else {
        vec!["sh".into(), "-c".into(), script.into()]
    }
}

/// Loads the user's and the project's rules files (as `paddock run` does).
/// The effective policy for the server's workspace, config and overrides.
fn load_policy(cfg: &ServerConfig) -> Result<EffectivePolicy, PaddockError> {
    let mut paths = ConfigPaths::for_workspace(&cfg.workspace);
    paths.explicit = cfg.config.clone();
    Ok(config::load(&paths, &cfg.overrides)?)
}

fn load_rules(workspace: &Path, project_trusted: bool) -> Result<Engine, PaddockError> {
    let mut paths = RulePaths::for_workspace(workspace);
    paths.project_trusted = project_trusted;
    Engine::load(&paths).map_err(|e| {
        PaddockError::Config(paddock::core::ConfigError::Value {
            origin: "rules".into(),
            message: e.to_string(),
        })
    })
}

/// What a run's steps that may last are wrapped in (`paddock::HandOff`). The run itself,
/// gate and sandbox included, is done on the runtime's thread that read the request, which
/// saves a quick command's call two hand-overs between threads (0.06-0.12 ms a call on a
/// 2-core VM). A pre-walk or after-run check without kept watches, building a sandbox of its
/// own (a cold or narrowed call), waiting for a spare being built, the command's run past its
/// first tick (20 ms) and waiting for the client's answer to an approval let the runtime go on
/// on another thread (tokio's `block_in_place`). The first of them starts a task that watches
/// the request until the call ends: it cancels the run (its sandbox killed, the after-run
/// check still done) when the client cancels the request, and sends a progress notification
/// every second when the client gave a progress token (progress: elapsed seconds; total: the
/// timeout, when there is one). While the run holds the thread (its preparation, the gate and
/// a warm command's first 20 ms, about a millisecond for a quick command) other messages wait
/// for it: a cancellation that came meanwhile is acted on from the next hand-off on, and a
/// quick command that needs none runs to its end (MCP's cancellation is advisory).
struct Away {
    request: tokio_util::sync::CancellationToken,
    cancel: CancelHandle,
    progress: Option<(
        rmcp::model::ProgressToken,
        Peer<RoleServer>,
        Option<Duration>,
    )>,
    started: tokio::time::Instant,
    /// The task watching the request, started by the first hand-off.
    watcher: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Away {
    fn hand_off(self: &Arc<Self>) -> paddock::HandOff {
        let away = self.clone();
        paddock::HandOff::new(move |wait| away.around(wait))
    }

    fn around(self: &Arc<Self>, wait: &mut dyn FnMut()) {
        // Only a multi-threaded runtime can go on elsewhere (`block_in_place` panics on any
        // other); off one, there is nothing to let go on.
        let runtime = tokio::runtime::Handle::try_current()
            .ok()
            .filter(|r| r.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let Some(runtime) = runtime else {
            return wait();
        };
        self.watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| runtime.spawn(self.clone().watch()));
        tracing::debug!("run: the runtime goes on on another thread while this waits");
        tokio::task::block_in_place(wait);
    }

    /// Stops the watcher, if one was started. A progress notification it was sending is on its
    /// way out before this returns, so none follows the reply.
    async fn finish(&self) {
        let watcher = self
            .watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(w) = watcher {
            w.abort();
            let _ = w.await;
        }
    }

    async fn watch(self: Arc<Self>) {
        // At whole seconds of the call, which began before this watcher did.
        let elapsed = self.started.elapsed();
        let mut tick = tokio::time::interval_at(
            self.started + Duration::from_secs(elapsed.as_secs() + 1),
            Duration::from_secs(1),
        );
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let cancelled = self.request.cancelled();
        tokio::pin!(cancelled);
        loop {
            tokio::select! {
                _ = &mut cancelled, if !self.cancel.is_cancelled() => self.cancel.cancel(),
                _ = tick.tick(), if self.progress.is_some() => {
                    let Some((token, peer, timeout)) = &self.progress else { continue };
                    let elapsed = self.started.elapsed().as_secs_f64();
                    let mut note = ProgressNotificationParam::new(token.clone(), elapsed)
                        .with_message(format!("running for {elapsed:.0} s"));
                    if let Some(t) = timeout {
                        note = note.with_total(t.as_secs_f64());
                    }
                    // A client that went away gets no progress; the run goes on to its end.
                    let _ = peer.notify_progress(note).await;
                }
                else => std::future::pending::<()>().await,
            }
        }
    }
}

/// One line for the text content: how the run ended.
fn summary(r: &paddock::RunReport) -> String {
    let mut s = format!("exit {} in {} ms", r.exit_code, r.duration_ms);
    if r.timed_out {
        s.push_str(" (timed out)");
    }
    if let Some(line) = &r.denial_summary {
        s.push_str("\npaddock: ");
        s.push_str(line);
    }
    if let Some(out) = &r.stdout {
        s.push_str("\n--- stdout ---\n");
        s.push_str(out);
    }
    if let Some(err) = &r.stderr {
        s.push_str("\n--- stderr ---\n");
        s.push_str(err);
    }
    if r.output_truncated {
        s.push_str("\n(output truncated)");
    }
    for e in &r.integrity {
        s.push_str("\nintegrity: ");
        s.push_str(&e.describe());
    }
    s
}
