//! Development driver for the Linux backend without the CLI:
//! `sandbox_run [read-only|workspace-write] [off|on] WORKSPACE PROGRAM [ARGS...]`.
//! Uses the built-in default policy; prints the enforcement report to stderr as JSON.

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("sandbox_run drives the Linux backend and only runs on Linux");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
fn main() {
    paddock_linux::maybe_run_init();
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: sandbox_run MODE NETWORK WORKSPACE PROGRAM [ARGS...]");
        std::process::exit(2);
    }
    let mut policy = paddock_core::config::default_policy();
    policy.mode = args[0].to_str().unwrap().parse().unwrap();
    policy.network = match args[1].to_str() {
        Some("on") => paddock_core::Network::On,
        _ => paddock_core::Network::Off,
    };
    let ws = std::path::PathBuf::from(&args[2]);
    let spec = paddock_core::SandboxSpec::from_policy(&policy, &ws).unwrap();
    let cmd = paddock_core::spec::CommandSpec {
        program: args[3].clone().into(),
        args: args[4..].to_vec(),
        cwd: spec.workspace.clone(),
        env: std::env::vars_os().collect(),
    };
    let (child, report) = match paddock_linux::prepare(
        &spec,
        &cmd,
        &policy.limits,
        paddock_runner::StdioMode::Inherit,
        &Default::default(),
    ) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("paddock: {e}");
            std::process::exit(125);
        }
    };
    if std::env::var_os("SANDBOX_RUN_REPORT").is_some() {
        eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    }
    let opts = paddock_runner::RunOptions {
        stdio: paddock_runner::StdioMode::Inherit,
        timeout: Some(std::time::Duration::from_secs(60)),
        output_cap: 1 << 20,
        forward_signals: true,
        ..paddock_runner::RunOptions::default()
    };
    let outcome = paddock_runner::run(child, &opts).unwrap();
    std::process::exit(outcome.status.shell_code());
}
