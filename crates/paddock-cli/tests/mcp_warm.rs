//! The warm path of `paddock mcp` (issue 12): the resident server keeps a spare sandbox built
//! for the base policy and starts the next command in it. Driven by a real MCP client (rmcp's)
//! over the binary's stdin/stdout. What it pins down: every command still gets a fresh sandbox
//! (own /tmp, own pid namespace); a write outside the roots is refused on the warm path as on
//! the cold one; a repository planted by one call is quarantined before the next runs; a secret
//! that appeared on the host after the spare was built is not readable through the spare; a
//! narrowing call builds its own sandbox and is narrowed; a cancelled run is killed; a program
//! that cannot be executed in the spare is reported as in a sandbox built for it; many calls
//! leave no process or descriptor behind (the tidying held until each reply is done).

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::{SECRET, World};
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientRequest, Request};
use rmcp::service::{PeerRequestOptions, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Starts `paddock mcp` in `w` (its workspace, config and state) and connects a plain client.
async fn connect(w: &World) -> RunningService<RoleClient, ()> {
    connect_logging(w, None).await
}

/// [`connect`], with the server's debug log (`PADDOCK_LOG`) written to `log`.
async fn connect_logging(
    w: &World,
    log: Option<&std::path::Path>,
) -> RunningService<RoleClient, ()> {
    connect_with(w, log, None).await
}

/// [`connect_logging`], with the server's `PATH` set to `path`.
async fn connect_with(
    w: &World,
    log: Option<&std::path::Path>,
    path: Option<std::ffi::OsString>,
) -> RunningService<RoleClient, ()> {
    connect_with_pid(w, log, path).await.0
}

/// [`connect_with`], also giving the server's process id.
async fn connect_with_pid(
    w: &World,
    log: Option<&std::path::Path>,
    path: Option<std::ffi::OsString>,
) -> (RunningService<RoleClient, ()>, u32) {
    let base = w.ws.parent().unwrap().to_path_buf();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_paddock"));
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    cmd.arg("mcp")
        .current_dir(&w.ws)
        .env("HOME", &w.home)
        .env("PADDOCK_CONFIG_DIR", base.join("config"))
        .env("PADDOCK_STATE_DIR", base.join("state"))
        .env_remove("PADDOCK_MCP_SPARES")
        .env_remove("PADDOCK_SESSION");
    if log.is_some() {
        cmd.env("PADDOCK_LOG", "paddock_core=debug,paddock_mcp=debug");
    }
    let mut builder = TokioChildProcess::builder(cmd);
    if let Some(log) = log {
        builder = builder.stderr(std::fs::File::create(log).unwrap());
    }
    let (transport, _) = builder.spawn().expect("start paddock mcp");
    let pid = transport.id().expect("the server's pid");
    (().serve(transport).await.expect("MCP initialize"), pid)
}

/// The server's child processes (by state letter, `Z` for one not reaped) and its number of
/// open descriptors.
fn children_and_descriptors(server: u32) -> (Vec<String>, usize) {
    let mut children = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{server}/task"))
        .unwrap()
        .flatten()
    {
        let Ok(list) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for child in list.split_whitespace() {
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) {
                // The state is the field after the command's closing parenthesis.
                let state = stat.rsplit_once(") ").map_or("?", |(_, r)| &r[..1]);
                children.push(format!("{child} {state}"));
            }
        }
    }
    let fds = std::fs::read_dir(format!("/proc/{server}/fd"))
        .unwrap()
        .count();
    (children, fds)
}

async fn run(c: &RunningService<RoleClient, ()>, args: Value) -> Value {
    let params =
        CallToolRequestParams::new("run").with_arguments(args.as_object().unwrap().clone());
    let r: CallToolResult = c.call_tool(params).await.expect("tools/call");
    r.structured_content.expect("structured content")
}

/// Runs a script file (the command rules would refuse some of these as `sh -c` before any
/// sandbox is built; these tests are about the sandbox).
async fn script(c: &RunningService<RoleClient, ()>, w: &World, name: &str, text: &str) -> Value {
    let path = w.ws.join(name);
    std::fs::write(&path, text).unwrap();
    run(c, json!({ "argv": ["sh", path] })).await
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// True when git runs here; otherwise reports the skip (a failure under `PADDOCK_REQUIRE_ALL=1`).
fn have_git() -> bool {
    let ok = std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_ok();
    if !ok {
        paddock_core::testing::skip("git is not installed");
    }
    ok
}

/// The host's unix sockets are one list for every server of this binary: a test that binds
/// one makes every spare built before it unusable, so those tests run alone (`sockets_alone`)
/// and the others, which count on their spares, share (`sockets_shared`).
static HOST_SOCKETS: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn sockets_shared() -> std::sync::RwLockReadGuard<'static, ()> {
    HOST_SOCKETS.read().unwrap_or_else(|e| e.into_inner())
}

fn sockets_alone() -> std::sync::RwLockWriteGuard<'static, ()> {
    HOST_SOCKETS.write().unwrap_or_else(|e| e.into_inner())
}

fn stdout(v: &Value) -> &str {
    v["stdout"].as_str().unwrap_or_default()
}

#[test]
fn each_warm_call_gets_a_fresh_sandbox() {
    let _sockets = sockets_shared();
    let w = World::new();
    rt().block_on(async {
        let c = connect(&w).await;
        let (mut namespaces, mut pids) = (Vec::new(), Vec::new());
        for i in 0..4 {
            let v = script(
                &c,
                &w,
                "fresh.sh",
                "cat /tmp/left-behind 2>/dev/null; echo call > /tmp/left-behind; \
                 readlink /proc/self/ns/pid; echo pid=$$\n",
            )
            .await;
            assert_eq!(v["exit_code"], 0, "{v}");
            assert_eq!(v["warm"], true, "call {i} did not use the spare: {v}");
            let out = stdout(&v);
            assert!(
                !out.contains("call"),
                "call {i} saw /tmp of an earlier call: {out}"
            );
            let mut lines = out.lines();
            namespaces.push(lines.next().unwrap().to_owned());
            pids.push(lines.next().unwrap().to_owned());
        }
        // The shell gets the same small pid every time: each is in a new pid namespace, where
        // the init is pid 1 (in a shared one the pids would grow from call to call).
        assert!(pids.iter().all(|p| p == &pids[0]), "{pids:?}");
        let first: u32 = pids[0].trim_start_matches("pid=").parse().unwrap();
        assert!(first < 10, "{pids:?}");
        // Namespace inode numbers are recycled once a namespace is gone, so they are not
        // compared between calls; each is not the host's.
        let host = std::fs::read_link("/proc/self/ns/pid").unwrap();
        assert!(
            namespaces.iter().all(|n| n != host.to_str().unwrap()),
            "{namespaces:?}"
        );
        c.cancel().await.unwrap();
    });
}

/// The server holds the tidying of each finished sandbox (reaping its pid 1, closing its
/// namespaces) until the call's reply is out (`paddock::tidies_after_replies`): many calls
/// later, nothing of them is left, neither a child not reaped nor a descriptor.
/// A warm call of a quick command is answered on the server's thread that read it, with no
/// hand-over to another thread; a command that runs past the first tick (20 ms) lets the
/// runtime go on elsewhere while it waits, and its reply still comes.
#[test]
fn only_a_call_that_waits_hands_the_runtime_on() {
    let _sockets = sockets_shared();
    let w = World::new();
    let log = w.outside.join("server.log");
    let handed_on = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("the runtime goes on on another thread")
            .count()
    };
    rt().block_on(async {
        let c = connect_logging(&w, Some(&log)).await;
        // The first call may wait for the spare built at start; on a loaded machine a later
        // one may too, or `true` may outlast a tick: one quick call of five is enough.
        let mut quick = false;
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let before = handed_on();
            let v = run(&c, json!({ "argv": ["true"] })).await;
            assert_eq!(
                (v["exit_code"].clone(), v["warm"].clone()),
                (json!(0), json!(true)),
                "{v}"
            );
            quick |= handed_on() == before;
        }
        assert!(quick, "every warm call of `true` handed the runtime on");
        let before = handed_on();
        let v = run(&c, json!({ "argv": ["sleep", "0.2"] })).await;
        assert_eq!(v["exit_code"], 0, "{v}");
        assert!(
            handed_on() > before,
            "a 200 ms command held the runtime's thread"
        );
        c.cancel().await.unwrap();
    });
}

#[test]
fn many_warm_calls_leave_no_process_or_descriptor_behind() {
    let _sockets = sockets_shared();
    let w = World::new();
    rt().block_on(async {
        let (c, server) = connect_with_pid(&w, None, None).await;
        let settled = || async {
            // The last reply releases what its run held; its worker and the next spare's
            // build take a moment (longer on a loaded machine: up to 5 s).
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let now = children_and_descriptors(server);
                if now.0.iter().all(|c| !c.ends_with(" Z")) && now.0.len() <= 1
                    || Instant::now() > deadline
                {
                    return now;
                }
            }
        };
        for _ in 0..10 {
            let v = run(&c, json!({ "argv": ["true"] })).await;
            assert_eq!(
                (v["exit_code"].clone(), v["warm"].clone()),
                (json!(0), json!(true)),
                "{v}"
            );
        }
        let (_, before) = settled().await;
        for _ in 0..30 {
            let v = run(&c, json!({ "argv": ["true"] })).await;
            assert_eq!(v["exit_code"], 0, "{v}");
        }
        let (children, after) = settled().await;
        assert!(
            children.iter().all(|c| !c.ends_with(" Z")) && children.len() <= 1,
            "only the next spare's pid 1 is left, reaped sandboxes are gone: {children:?}"
        );
        assert!(
            after <= before + 2,
            "descriptors grew from {before} to {after} over 30 calls"
        );
        c.cancel().await.unwrap();
    });
}

#[test]
fn a_write_outside_the_roots_is_refused_on_the_warm_path_as_on_the_cold() {
    let _sockets = sockets_shared();
    let w = World::new();
    let victim = w.outside.join("victim");
    rt().block_on(async {
        let c = connect(&w).await;
        let attack = format!("echo pwned > '{}'\n", victim.display());
        let warm = script(&c, &w, "attack.sh", &attack).await;
        assert_eq!(warm["warm"], true, "{warm}");
        // The same attack with a narrowing that changes nothing it relies on: the cold path.
        let path = w.ws.join("attack.sh");
        let cold = run(
            &c,
            json!({ "argv": ["sh", path], "policy": { "network": "off" } }),
        )
        .await;
        assert_eq!(cold["warm"], false, "{cold}");
        for v in [&warm, &cold] {
            assert_ne!(v["exit_code"], 0, "the write outside succeeded: {v}");
            // The spare's pid 1 observes write attempts as a sandbox built for the call does.
            assert_eq!(
                v["denials"],
                json!([{
                    "kind": "write-outside-roots",
                    "path": victim.to_str().unwrap(),
                    "source": "observed"
                }]),
                "{v}"
            );
        }
        assert_eq!(warm["exit_code"], cold["exit_code"]);
        assert_eq!(warm["stderr"], cold["stderr"]);
        // The legitimate write inside the workspace works warm.
        let ok = script(&c, &w, "ok.sh", "echo ok > inside\n").await;
        assert_eq!(
            (ok["exit_code"].clone(), ok["warm"].clone()),
            (json!(0), json!(true)),
            "{ok}"
        );
        c.cancel().await.unwrap();
    });
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "orig");
    assert_eq!(
        std::fs::read_to_string(w.ws.join("inside")).unwrap(),
        "ok\n"
    );
}

/// An exec that fails in the spare (the program is found on the host, its interpreter is not)
/// comes back as the program's error (127, "not found"), as from a sandbox built for the call,
/// not as a run that exited 127; the next call gets a new spare.
#[test]
fn an_exec_that_fails_in_the_spare_is_reported_as_in_a_sandbox_built_for_it() {
    let _sockets = sockets_shared();
    use std::os::unix::fs::PermissionsExt;
    let w = World::new();
    // Found and executable on the host; its interpreter does not exist, so execve says ENOENT.
    let tool = w.ws.join("tool");
    std::fs::write(&tool, "#!/no/such/interpreter\n").unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    rt().block_on(async {
        let c = connect(&w).await;
        let warm = run(&c, json!({ "argv": [tool] })).await;
        assert_eq!(warm["warm"], true, "{warm}");
        let cold = run(
            &c,
            json!({ "argv": [tool], "policy": { "network": "off" } }),
        )
        .await;
        assert_eq!(cold["warm"], false, "{cold}");
        for v in [&warm, &cold] {
            assert_eq!(v["exit_code"], 127, "{v}");
            let error = v["error"].as_str().unwrap_or_default();
            assert!(error.contains("not found") && error.contains("tool"), "{v}");
        }
        // The next call gets a new spare and runs.
        let ok = run(&c, json!({ "argv": ["true"] })).await;
        assert_eq!(
            (ok["exit_code"].clone(), ok["warm"].clone()),
            (json!(0), json!(true)),
            "{ok}"
        );
        c.cancel().await.unwrap();
    });
}

#[test]
fn a_repository_planted_by_one_call_is_quarantined_before_the_next_runs() {
    let _sockets = sockets_shared();
    if !have_git() {
        return;
    }
    let w = World::new();
    rt().block_on(async {
        let c = connect(&w).await;
        let plant = script(
            &c,
            &w,
            "plant.sh",
            "git init -q planted && git -C planted config core.fsmonitor 'touch /pwned'\n",
        )
        .await;
        assert_eq!(plant["exit_code"], 0, "{plant}");
        assert_eq!(plant["warm"], true, "{plant}");
        let events = plant["integrity"].as_array().unwrap();
        assert!(
            events.iter().any(|e| e["action"] == "quarantined"),
            "{plant}"
        );
        let next = script(
            &c,
            &w,
            "look.sh",
            "test -e planted/.git && echo present || echo gone\n",
        )
        .await;
        assert_eq!(next["warm"], true, "{next}");
        assert_eq!(stdout(&next), "gone\n", "{next}");
        c.cancel().await.unwrap();
    });
}

#[test]
fn a_secret_that_appeared_after_the_spare_was_built_is_not_read_through_it() {
    let _sockets = sockets_shared();
    let w = World::new();
    let npmrc = w.home.join(".npmrc");
    assert!(!npmrc.exists());
    rt().block_on(async {
        let c = connect(&w).await;
        // This call's spare is used; the next spare is built when it ends, before the secret.
        let v = run(&c, json!({ "argv": ["true"] })).await;
        assert_eq!(v["warm"], true, "{v}");
        std::thread::sleep(Duration::from_millis(300));
        std::fs::write(&npmrc, SECRET).unwrap();
        let v = run(&c, json!({ "argv": ["cat", npmrc] })).await;
        assert!(!stdout(&v).contains(SECRET), "the secret leaked: {v}");
        assert_ne!(v["exit_code"], 0, "{v}");
        assert_eq!(v["warm"], false, "a stale spare was used: {v}");
        // The next spare is built with the secret in the spec again.
        let v = run(&c, json!({ "argv": ["cat", npmrc] })).await;
        assert!(!stdout(&v).contains(SECRET), "the secret leaked: {v}");
        assert_eq!(v["warm"], true, "{v}");
        c.cancel().await.unwrap();
    });
}

#[test]
fn a_config_or_rules_edit_between_calls_applies_to_the_next_call() {
    let _sockets = sockets_shared();
    // The server keeps the policy and rules it loaded while their files are unchanged: an edit,
    // a new file or a removal must reach the next call as if every call loaded them afresh.
    let w = World::new();
    let config = w.ws.parent().unwrap().join("config");
    let marker = w.ws.join("marker");
    rt().block_on(async {
        let c = connect(&w).await;
        let touch = json!({ "argv": ["touch", marker] });
        for _ in 0..2 {
            let v = run(&c, touch.clone()).await;
            assert_eq!(v["exit_code"], 0, "{v}");
        }
        std::fs::remove_file(&marker).unwrap();
        std::fs::write(config.join("config.toml"), "mode = \"read-only\"\n").unwrap();
        let v = run(&c, touch.clone()).await;
        assert_ne!(v["exit_code"], 0, "the new config was not applied: {v}");
        assert!(!marker.exists(), "a write in read-only mode");
        std::fs::remove_file(config.join("config.toml")).unwrap();
        let v = run(&c, touch.clone()).await;
        assert_eq!(v["exit_code"], 0, "the removed config still applied: {v}");
        std::fs::remove_file(&marker).unwrap();
        let rules = "[[rule]]\nprogram = \"touch\"\ndecision = \"forbid\"\n";
        std::fs::write(config.join("rules.toml"), rules).unwrap();
        let v = run(&c, touch.clone()).await;
        assert_ne!(v["exit_code"], 0, "the new rule was not applied: {v}");
        assert!(!marker.exists(), "a forbidden command ran");
        std::fs::write(config.join("rules.toml"), "").unwrap();
        let v = run(&c, touch).await;
        assert_eq!(v["exit_code"], 0, "the emptied rules still applied: {v}");
        c.cancel().await.unwrap();
    });
}

#[test]
fn a_program_put_earlier_in_path_between_calls_is_the_one_run() {
    let _sockets = sockets_shared();
    // The server keeps where it found a program along PATH while nothing its lookup looked at
    // changed: a program of the same name that appears in an earlier PATH directory, or a
    // program that loses its execute bit, must be seen by the next call.
    use std::os::unix::fs::PermissionsExt;
    let w = World::new();
    let (early, late) = (w.outside.join("early"), w.outside.join("late"));
    for d in [&early, &late] {
        std::fs::create_dir(d).unwrap();
    }
    let tool = |dir: &std::path::Path, says: &str| {
        let p = dir.join("paddock-test-tool");
        std::fs::write(&p, format!("#!/bin/sh\necho {says}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    tool(&late, "late");
    let path = std::env::join_paths(
        [early.clone(), late.clone()]
            .into_iter()
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    rt().block_on(async {
        let c = connect_with(&w, None, Some(path)).await;
        let call = json!({ "argv": ["paddock-test-tool"] });
        for _ in 0..3 {
            let v = run(&c, call.clone()).await;
            assert_eq!(stdout(&v), "late\n", "{v}");
        }
        let first = tool(&early, "early");
        let v = run(&c, call.clone()).await;
        assert_eq!(stdout(&v), "early\n", "a stale lookup was used: {v}");
        std::fs::set_permissions(&first, std::fs::Permissions::from_mode(0o644)).unwrap();
        let v = run(&c, call.clone()).await;
        assert_eq!(
            stdout(&v),
            "late\n",
            "a program no longer executable was run: {v}"
        );
        c.cancel().await.unwrap();
    });
}

#[test]
fn a_host_socket_bound_after_the_spare_was_built_leaves_the_spare_unused() {
    let _sockets = sockets_alone();
    // The spare's view hides the host's unix sockets that existed when it was built; one bound
    // since would be reachable through it, so the spare is dropped and the run builds its own.
    let w = World::new();
    rt().block_on(async {
        let c = connect(&w).await;
        let v = run(&c, json!({ "argv": ["true"] })).await;
        assert_eq!(v["warm"], true, "{v}");
        std::thread::sleep(Duration::from_millis(300));
        let _listener = std::os::unix::net::UnixListener::bind(w.outside.join("agent.sock"))
            .expect("bind a host socket");
        let v = run(&c, json!({ "argv": ["true"] })).await;
        assert_eq!(
            v["warm"], false,
            "a spare built before the socket was used: {v}"
        );
        let v = run(&c, json!({ "argv": ["true"] })).await;
        assert_eq!(v["warm"], true, "the next spare hides it: {v}");
        c.cancel().await.unwrap();
    });
}

#[test]
fn a_host_socket_bound_again_at_its_path_leaves_the_spare_unused() {
    let _sockets = sockets_alone();
    // A daemon that restarts unlinks its socket (which also removes the mount that hid it in
    // the spare) and binds the path again: the spare would reach the new socket.
    let w = World::new();
    let path = w.outside.join("daemon.sock");
    let first = std::os::unix::net::UnixListener::bind(&path).expect("bind a host socket");
    rt().block_on(async {
        let c = connect(&w).await;
        let v = run(&c, json!({ "argv": ["true"] })).await;
        assert_eq!(v["warm"], true, "{v}");
        std::thread::sleep(Duration::from_millis(300));
        drop(first);
        std::fs::remove_file(&path).unwrap();
        let _again = std::os::unix::net::UnixListener::bind(&path).expect("bind it again");
        let v = run(&c, json!({ "argv": ["true"] })).await;
        assert_eq!(
            v["warm"], false,
            "a spare built before the restart was used: {v}"
        );
        c.cancel().await.unwrap();
    });
}

#[test]
fn a_narrowing_call_builds_its_own_sandbox_and_is_narrowed() {
    let _sockets = sockets_shared();
    let w = World::new();
    let marker = w.ws.join("marker");
    rt().block_on(async {
        let c = connect(&w).await;
        let v = run(
            &c,
            json!({ "argv": ["touch", marker], "policy": { "mode": "read-only" } }),
        )
        .await;
        assert_eq!(v["warm"], false, "{v}");
        assert_ne!(v["exit_code"], 0, "{v}");
        assert!(!marker.exists(), "read-only narrowing not applied");
        // The spare was left for the next plain call.
        let v = run(&c, json!({ "argv": ["touch", marker] })).await;
        assert_eq!(
            (v["exit_code"].clone(), v["warm"].clone()),
            (json!(0), json!(true)),
            "{v}"
        );
        c.cancel().await.unwrap();
    });
    assert!(marker.exists());
}

/// Live processes running `sleep` with the arguments of `argv` (the sandbox starts the
/// program by its resolved path, so argv[0] may be `/usr/bin/sleep`).
fn running(argv: &[&str]) -> usize {
    let args: Vec<u8> = argv[1..]
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                let first = c.split(|b| *b == 0).next().unwrap_or_default();
                first.ends_with(argv[0].as_bytes()) && c[first.len() + 1..] == args[..]
            })
        })
        .count()
}

#[test]
fn a_cancelled_run_is_killed() {
    let _sockets = sockets_shared();
    let w = World::new();
    // A duration no other test uses, to find this very process.
    let argv = ["sleep", "30.4217"];
    rt().block_on(async {
        let c = connect(&w).await;
        for narrowing in [None, Some(json!({ "network": "off" }))] {
            let mut args = json!({ "argv": argv });
            if let Some(n) = &narrowing {
                args["policy"] = n.clone();
            }
            let params =
                CallToolRequestParams::new("run").with_arguments(args.as_object().unwrap().clone());
            let handle = c
                .send_cancellable_request(
                    ClientRequest::CallToolRequest(Request::new(params)),
                    PeerRequestOptions::no_options(),
                )
                .await
                .unwrap();
            let started = Instant::now();
            while running(&argv) == 0 {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "sleep never started"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            handle.cancel(Some("test".into())).await.unwrap();
            let cancelled = Instant::now();
            while running(&argv) != 0 {
                assert!(
                    cancelled.elapsed() < Duration::from_secs(10),
                    "the cancelled run ({narrowing:?}) is still running"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        // The server still serves.
        let v = run(&c, json!({ "argv": ["true"] })).await;
        assert_eq!(v["exit_code"], 0, "{v}");
        c.cancel().await.unwrap();
    });
}

/// A workspace with more directories than the watches' threshold (`roots_watch::MIN_DIRS`),
/// so the server keeps watches between calls.
fn world_with_deep_tree() -> World {
    let w = World::new();
    for i in 0..paddock_core::integrity::roots_watch::MIN_DIRS + 8 {
        std::fs::create_dir_all(w.ws.join(format!("vendor/pad/{i}"))).unwrap();
    }
    w
}

fn quarantined(v: &Value) -> Vec<String> {
    v["integrity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "quarantined")
        .map(|e| e["path"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_watches_kept_between_calls_see_plants_and_the_users_new_repositories() {
    let _sockets = sockets_shared();
    if !have_git() {
        return;
    }
    let w = world_with_deep_tree();
    let log = w.outside.join("server.log");
    rt().block_on(async {
        let c = connect_logging(&w, Some(&log)).await;
        // A call plants a repository deep in an existing directory: quarantined.
        let plant = script(&c, &w, "plant.sh", "git init -q vendor/pad/3 && git -C vendor/pad/3 config core.fsmonitor 'touch /pwned'\n").await;
        assert_eq!(plant["exit_code"], 0, "{plant}");
        assert!(
            quarantined(&plant)
                .iter()
                .any(|p| p.ends_with("vendor/pad/3/.git")),
            "{plant}"
        );
        // Between calls the user makes a repository of their own, deep in the tree: the next
        // call's pre-walk (from the kept watches) knows it, so it is protected during the call
        // and not taken for planted after it.
        let user_repo = w.ws.join("vendor/pad/5");
        let ok = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(&user_repo)
            .status()
            .unwrap();
        assert!(ok.success());
        let hook = user_repo.join(".git/hooks/post-checkout");
        let touch = script(
            &c,
            &w,
            "hook.sh",
            "echo 'touch /tmp/x' > vendor/pad/5/.git/hooks/post-checkout && echo wrote\n",
        )
        .await;
        assert_ne!(stdout(&touch), "wrote\n", "{touch}");
        assert!(!hook.exists(), "the user's repository was not protected");
        assert!(quarantined(&touch).is_empty(), "{touch}");
        assert!(
            user_repo.join(".git").is_dir(),
            "the user's repository was moved"
        );
        // And the call after that still catches a plant.
        let again = script(&c, &w, "plant2.sh", "git init -q vendor/pad/7 && git -C vendor/pad/7 config core.fsmonitor 'touch /pwned'\n").await;
        assert!(
            quarantined(&again)
                .iter()
                .any(|p| p.ends_with("vendor/pad/7/.git")),
            "{again}"
        );
        c.cancel().await.unwrap();
    });
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("pre-walk: from the previous run's watches"),
        "no pre-walk used the kept watches: {log}"
    );
}

#[test]
fn concurrent_calls_in_a_large_workspace_leave_no_plant_behind() {
    let _sockets = sockets_shared();
    // Calls overlap: one call's pre-walk may run while another plants, and the watches go from
    // call to call. Whatever the interleaving, every plant is quarantined by some check.
    if !have_git() {
        return;
    }
    let w = world_with_deep_tree();
    let pads = [11, 22, 33, 44];
    for (k, i) in pads.iter().enumerate() {
        std::fs::write(
            w.ws.join(format!("plant{i}.sh")),
            format!(
                "sleep 0.0{k}; git init -q vendor/pad/{i} && \
                 git -C vendor/pad/{i} config core.fsmonitor 'touch /pwned'\n"
            ),
        )
        .unwrap();
    }
    let arg = |i: i32| json!({ "argv": ["sh", w.ws.join(format!("plant{i}.sh"))] });
    rt().block_on(async {
        let c = connect(&w).await;
        for round in 0..3 {
            let (a, b, d, e) = tokio::join!(
                run(&c, arg(pads[0])),
                run(&c, arg(pads[1])),
                run(&c, arg(pads[2])),
                run(&c, arg(pads[3])),
            );
            for v in [a, b, d, e] {
                assert_eq!(v["exit_code"], 0, "round {round}: {v}");
            }
            for i in pads {
                let repo = w.ws.join(format!("vendor/pad/{i}"));
                assert!(
                    !repo.join(".git").exists(),
                    "round {round}: the plant in vendor/pad/{i} was left"
                );
                assert!(repo.join(".git.paddock-quarantine").exists());
                std::fs::remove_dir_all(repo.join(".git.paddock-quarantine")).unwrap();
            }
        }
        c.cancel().await.unwrap();
    });
}
