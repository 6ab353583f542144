//! `paddock mcp`: the MCP server on stdio (crate `paddock-mcp`). The policy flags and files are
//! read the same way as for `paddock run`; the workspace is fixed when the server starts.

use crate::args::{McpArgs, PolicyArgs};
use crate::output;
use paddock_mcp::{ServerConfig, serve_stdio};

pub fn run(a: McpArgs) -> i32 {
    // Check the flags and the config once, so that a bad setup fails at start, not per call.
    if let Err(err) = super::load_policy(&a.policy) {
        return output::fail(&err, err.exit_code());
    }
    let (overrides, workspace) = match super::overrides(&a.policy).and_then(|o| {
        let (_, workspace) = super::dirs(&a.policy)?;
        Ok((o, workspace))
    }) {
        Ok(v) => v,
        Err(err) => return output::fail(&err, err.exit_code()),
    };
    let flags = a.policy.clone();
    let status = move |eff: &paddock_core::config::EffectivePolicy, ws: &std::path::Path| {
        let here = PolicyArgs {
            cwd: Some(ws.to_path_buf()),
            workspace: Some(ws.to_path_buf()),
            ..flags.clone()
        };
        super::status::report(&here, eff)
    };
    let cfg = ServerConfig {
        workspace,
        config: a.policy.config.clone(),
        overrides,
        status: Box::new(status),
    };
    match serve_stdio(cfg) {
        Ok(()) => 0,
        Err(err) => output::fail(err, paddock::exit::SANDBOX_UNAVAILABLE),
    }
}
