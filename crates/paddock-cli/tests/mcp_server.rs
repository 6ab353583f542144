//! `paddock mcp` driven by a real MCP client (rmcp's, over the child's stdin/stdout): one
//! resident server per test, many calls. What it pins down (issue 12): the tools are listed; a
//! run returns its output and exit code as structured content; the sandbox still confines a run
//! started through MCP; a call cannot loosen the user's policy; a command the rules want
//! approved returns `needs_approval` (and does not run) when the client cannot be asked, and runs
//! when the client approves through elicitation; explain_path sees protected `.git/hooks`; a
//! timeout is reported as such; long runs send progress.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::World;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientRequest, ElicitRequestParams, ElicitResult,
    ElicitationAction, ProgressNotificationParam, Request,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RequestContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A client that records progress notifications and, when `answer` is set, declares
/// elicitation support and answers every approval form with it.
#[derive(Clone, Default)]
struct Client {
    answer: Option<&'static str>,
    progress: Arc<Mutex<Vec<f64>>>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for Client {
    fn get_info(&self) -> rmcp::model::ClientConfig {
        let mut info = rmcp::model::ClientConfig::default();
        if self.answer.is_some() {
            info.capabilities.elicitation = Some(Default::default());
        }
        info
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params.progress);
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _ctx: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = &request {
            self.asked.lock().unwrap().push(message.clone());
        }
        let mut r = ElicitResult::new(ElicitationAction::Accept);
        r.content = Some(json!({ "decision": self.answer.unwrap_or("deny") }));
        Ok(r)
    }
}

/// A world with `rules` as the user rules file.
fn world(rules: &str) -> World {
    let w = World::new();
    let base = w.ws.parent().unwrap();
    std::fs::write(base.join("config/rules.toml"), rules).unwrap();
    w
}

/// Starts `paddock mcp` in `w` (its workspace, config and state) and connects `client`.
async fn connect(w: &World, client: Client) -> RunningService<RoleClient, Client> {
    let base = w.ws.parent().unwrap().to_path_buf();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_paddock"));
    cmd.arg("mcp")
        .current_dir(&w.ws)
        .env("HOME", &w.home)
        .env("PADDOCK_CONFIG_DIR", base.join("config"))
        .env("PADDOCK_STATE_DIR", base.join("state"))
        .env_remove("PADDOCK_SESSION");
    let transport = TokioChildProcess::new(cmd).expect("start paddock mcp");
    client.serve(transport).await.expect("MCP initialize")
}

async fn call(
    c: &RunningService<RoleClient, Client>,
    tool: &'static str,
    args: Value,
) -> CallToolResult {
    let params = CallToolRequestParams::new(tool).with_arguments(args.as_object().unwrap().clone());
    c.call_tool(params).await.expect("tools/call")
}

fn out(r: &CallToolResult) -> &Value {
    r.structured_content.as_ref().expect("structured content")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn lists_the_tools_and_runs_a_command_with_its_output() {
    let w = world("");
    rt().block_on(async {
        let c = connect(&w, Client::default()).await;
        let info = c.peer_info().expect("server info");
        assert_eq!(info.server_info.as_ref().unwrap().name, "paddock");
        let tools: Vec<String> = c
            .list_all_tools()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        for t in ["run", "explain_path", "explain_command", "policy", "status"] {
            assert!(tools.iter().any(|n| n == t), "{t} missing from {tools:?}");
        }
        // Many calls over one resident server.
        for _ in 0..3 {
            let r = call(&c, "run", json!({ "argv": ["echo", "hi"] })).await;
            let v = out(&r);
            assert_eq!(r.is_error, Some(false), "{v}");
            assert_eq!(v["exit_code"], 0, "{v}");
            assert_eq!(v["stdout"], "hi\n", "{v}");
            assert_eq!(v["needs_approval"], false);
            assert!(v["decision"]["run"].as_bool().unwrap(), "{v}");
            assert_eq!(v["enforcement"]["backend"], "linux", "{v}");
            assert!(v["integrity"].is_array(), "{v}");
        }
        let r = call(
            &c,
            "run",
            json!({ "script": "echo out; echo err >&2; exit 3" }),
        )
        .await;
        let v = out(&r);
        assert_eq!(
            (
                v["exit_code"].clone(),
                v["stdout"].clone(),
                v["stderr"].clone()
            ),
            (json!(3), json!("out\n"), json!("err\n")),
            "{v}"
        );
        let p = call(&c, "policy", json!({})).await;
        assert_eq!(out(&p)["policy"]["mode"], "workspace-write", "{}", out(&p));
        let s = call(&c, "status", json!({})).await;
        assert_eq!(out(&s)["os"], "linux", "{}", out(&s));
        c.cancel().await.unwrap();
    });
}

#[test]
fn a_run_through_mcp_is_still_confined_to_the_workspace() {
    let w = world("");
    let victim = w.outside.join("victim");
    rt().block_on(async {
        let c = connect(&w, Client::default()).await;
        // Through a script file: the command rules would refuse `sh -c` with the redirection
        // before the sandbox is built, and this test is about the sandbox.
        let script = w.ws.join("attack.sh");
        std::fs::write(&script, format!("echo pwned > '{}'\n", victim.display())).unwrap();
        let r = call(&c, "run", json!({ "argv": ["sh", script] })).await;
        let v = out(&r);
        assert_ne!(v["exit_code"], 0, "the write outside succeeded: {v}");
        assert!(
            v["stderr"].as_str().unwrap_or_default().contains("victim"),
            "{v}"
        );
        // The legitimate write inside the workspace works.
        let r = call(
            &c,
            "run",
            json!({ "argv": ["sh", "-c", "echo ok > inside"] }),
        )
        .await;
        assert_eq!(out(&r)["exit_code"], 0, "{}", out(&r));
        c.cancel().await.unwrap();
    });
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "orig");
    assert_eq!(
        std::fs::read_to_string(w.ws.join("inside")).unwrap(),
        "ok\n"
    );
}

#[test]
fn a_call_cannot_loosen_the_policy() {
    let w = world("");
    let config = w.ws.parent().unwrap().join("config/config.toml");
    std::fs::write(config, "timeout = 60\n").unwrap();
    let marker = w.ws.join("marker");
    rt().block_on(async {
        let c = connect(&w, Client::default()).await;
        let touch = json!(["touch", marker]);
        for (narrowing, timeout, word) in [
            (json!({ "mode": "full-access" }), None::<f64>, "looser"),
            (json!({ "network": "on" }), None, "network"),
            (json!({}), Some(120.0), "longer"),
        ] {
            let mut args = json!({ "argv": touch, "policy": narrowing });
            if let Some(t) = timeout {
                args["timeout_secs"] = json!(t);
            }
            let r = call(&c, "run", args).await;
            assert_eq!(r.is_error, Some(true), "{:?}", r);
            let err = out(&r)["error"].as_str().unwrap().to_owned();
            assert!(err.contains(word), "{err}");
        }
        // A field that would widen (an extra writable root) is not a narrowing at all.
        let r = c
            .call_tool(
                CallToolRequestParams::new("run").with_arguments(
                    json!({ "argv": touch, "policy": { "writable": ["/"] } })
                        .as_object()
                        .unwrap()
                        .clone(),
                ),
            )
            .await;
        let refused = match r {
            Err(e) => e.to_string().contains("writable"),
            Ok(r) => r.is_error == Some(true),
        };
        assert!(refused, "an extra writable root was accepted");
        assert!(!marker.exists(), "a refused call ran its command");
        // Tightening is accepted: read-only refuses the write the same command makes.
        let r = call(
            &c,
            "run",
            json!({ "argv": touch, "policy": { "mode": "read-only", "network": "off" } }),
        )
        .await;
        assert_ne!(out(&r)["exit_code"], 0, "{}", out(&r));
        assert!(!marker.exists(), "read-only narrowing not applied");
        let r = call(&c, "run", json!({ "argv": touch })).await;
        assert_eq!(out(&r)["exit_code"], 0, "{}", out(&r));
        c.cancel().await.unwrap();
    });
    assert!(marker.exists());
}

const TOUCH_PROMPT: &str = "[[rule]]\nprogram = \"touch\"\ndecision = \"prompt\"\n";

#[test]
fn needs_approval_without_elicitation_and_runs_when_the_client_approves() {
    let w = world(TOUCH_PROMPT);
    let marker = w.ws.join("marker");
    rt().block_on(async {
        let c = connect(&w, Client::default()).await;
        let r = call(&c, "run", json!({ "argv": ["touch", marker] })).await;
        let v = out(&r);
        assert_eq!(v["needs_approval"], true, "{v}");
        assert_ne!(
            r.is_error,
            Some(true),
            "needs_approval is not an error: {v}"
        );
        assert!(v["reason"].as_str().unwrap().contains("elicitation"), "{v}");
        c.cancel().await.unwrap();
    });
    assert!(!marker.exists(), "ran without approval");
    rt().block_on(async {
        let client = Client {
            answer: Some("run-once"),
            ..Client::default()
        };
        let asked = client.asked.clone();
        let c = connect(&w, client).await;
        let r = call(&c, "run", json!({ "argv": ["touch", marker] })).await;
        let v = out(&r);
        assert_eq!(v["exit_code"], 0, "{v}");
        assert_eq!(v["decision"]["approved_by"], "user", "{v}");
        assert!(
            asked.lock().unwrap()[0].contains("touch"),
            "{:?}",
            asked.lock().unwrap()
        );
        c.cancel().await.unwrap();
    });
    assert!(
        marker.exists(),
        "approved through elicitation but did not run"
    );
    // A client that denies: nothing runs, and it is not "needs approval" (someone said no).
    std::fs::remove_file(&marker).unwrap();
    rt().block_on(async {
        let client = Client {
            answer: Some("deny"),
            ..Client::default()
        };
        let c = connect(&w, client).await;
        let r = call(&c, "run", json!({ "argv": ["touch", marker] })).await;
        let v = out(&r);
        assert_eq!(v["needs_approval"], false, "{v}");
        assert_eq!(v["exit_code"], 76, "{v}");
        c.cancel().await.unwrap();
    });
    assert!(!marker.exists(), "ran although the client denied");
}

#[test]
fn allow_for_session_is_remembered_for_that_session_only() {
    let w = world(TOUCH_PROMPT);
    let marker = w.ws.join("marker");
    rt().block_on(async {
        let client = Client {
            answer: Some("allow-for-session"),
            ..Client::default()
        };
        let c = connect(&w, client).await;
        let r = call(
            &c,
            "run",
            json!({ "argv": ["touch", marker], "session": "agent-1" }),
        )
        .await;
        assert_eq!(out(&r)["exit_code"], 0, "{}", out(&r));
        c.cancel().await.unwrap();
        // A client without elicitation: the same session runs it, another one needs approval.
        let c = connect(&w, Client::default()).await;
        let r = call(
            &c,
            "run",
            json!({ "argv": ["touch", marker], "session": "agent-1" }),
        )
        .await;
        assert_eq!(out(&r)["decision"]["approved_by"], "session", "{}", out(&r));
        let r = call(
            &c,
            "run",
            json!({ "argv": ["touch", marker], "session": "agent-2" }),
        )
        .await;
        assert_eq!(out(&r)["needs_approval"], true, "{}", out(&r));
        c.cancel().await.unwrap();
    });
}

#[test]
fn explain_path_says_git_hooks_are_not_writable() {
    let w = world("");
    for d in [".git/hooks", ".git/objects", ".git/refs"] {
        std::fs::create_dir_all(w.ws.join(d)).unwrap();
    }
    std::fs::write(w.ws.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    rt().block_on(async {
        let c = connect(&w, Client::default()).await;
        let r = call(
            &c,
            "explain_path",
            json!({ "path": ".git/hooks/x", "access": "write" }),
        )
        .await;
        let v = out(&r);
        assert_eq!(v["write"]["allowed"], false, "{v}");
        assert!(
            v["write"]["decided_by"]
                .as_str()
                .unwrap()
                .contains("protected path"),
            "{v}"
        );
        assert!(v.get("read").is_none(), "{v}");
        let r = call(&c, "explain_path", json!({ "path": "src/main.rs" })).await;
        assert_eq!(out(&r)["write"]["allowed"], true, "{}", out(&r));
        let r = call(&c, "explain_command", json!({ "argv": ["rm", "-rf", "/"] })).await;
        assert!(r.structured_content.is_some(), "{r:?}");
        c.cancel().await.unwrap();
    });
}

#[test]
fn a_timeout_is_reported_and_long_runs_send_progress() {
    let w = world("");
    rt().block_on(async {
        let client = Client::default();
        let progress = client.progress.clone();
        let c = connect(&w, client).await;
        let params = CallToolRequestParams::new("run").with_arguments(
            json!({ "argv": ["sleep", "10"], "timeout_secs": 2.5 })
                .as_object()
                .unwrap()
                .clone(),
        );
        let handle = c
            .send_cancellable_request(
                ClientRequest::CallToolRequest(Request::new(params)),
                PeerRequestOptions::no_options(),
            )
            .await
            .unwrap();
        let response = handle.await_response().await.unwrap();
        let rmcp::model::ServerResult::CallToolResult(r) = response else {
            panic!("not a tool result: {response:?}");
        };
        let v = out(&r);
        assert_eq!(v["timed_out"], true, "{v}");
        assert_eq!(v["exit_code"], 124, "{v}");
        assert_eq!(v["denials"][0]["kind"], "timeout", "{v}");
        assert_eq!(v["denials"][0]["limit_ms"], 2500, "{v}");
        assert_eq!(
            v["denials"][0]["set_by"], "the run call's timeout_secs",
            "{v}"
        );
        let seen = progress.lock().unwrap().clone();
        assert!(!seen.is_empty(), "no progress during a 2.5 s run");
        assert!(seen.windows(2).all(|p| p[0] < p[1]), "{seen:?}");
        c.cancel().await.unwrap();
    });
}

#[test]
fn a_refused_connection_reaches_the_client_as_a_typed_denial() {
    let w = world("");
    rt().block_on(async {
        let c = connect(&w, Client::default()).await;
        let script = "perl -MSocket -e 'socket(my $s, AF_INET, SOCK_STREAM, 0) or exit 4; \
connect($s, pack_sockaddr_in(443, inet_aton(\"192.0.2.1\"))) or exit 3'";
        let r = call(&c, "run", json!({ "script": script })).await;
        let v = out(&r);
        assert_eq!(v["exit_code"], 3, "{v}");
        let d = &v["denials"][0];
        assert_eq!(d["kind"], "network-refused", "{v}");
        assert_eq!(
            (d["address"].clone(), d["port"].clone(), d["dns"].clone()),
            (json!("192.0.2.1"), json!(443), json!(false)),
            "{v}"
        );
        assert!(
            v["denial_summary"]
                .as_str()
                .unwrap()
                .contains("192.0.2.1:443"),
            "{v}"
        );
        let text = format!("{:?}", r.content);
        assert!(text.contains("paddock: network is off"), "{text}");
        c.cancel().await.unwrap();
    });
}
