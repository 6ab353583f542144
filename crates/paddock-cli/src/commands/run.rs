//! `paddock run`: run one command under the effective policy.

use crate::args::RunArgs;
use crate::output;
use paddock::{SandboxCommand, failure_report};

pub fn run(a: RunArgs) -> i32 {
    let json = a.json;
    let result = (|| {
        let eff = super::load_policy(&a.policy)?;
        let (cwd, workspace) = super::dirs(&a.policy)?;
        let mut cmd = SandboxCommand::new(&a.command[0]);
        cmd.args(&a.command[1..])
            .cwd(cwd)
            .workspace(workspace)
            .policy(eff.policy)
            .capture_output(json)
            .forward_signals(true);
        cmd.run()
    })();
    match result {
        Ok(report) => {
            if json {
                output::json(&report);
            }
            report.exit_code
        }
        Err(err) => {
            if json {
                output::json(&failure_report(&err));
            }
            output::fail(&err, err.exit_code())
        }
    }
}
