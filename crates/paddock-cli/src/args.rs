//! The command line, declared with clap. Every subcommand's `--help` is complete.

use clap::{Args, Parser, Subcommand};
use paddock_core::Mode;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "paddock",
    version,
    about = "Run an AI coding agent's shell commands in a sandbox",
    long_about = "Paddock runs a command so that it can work inside the project while it cannot \
touch the rest of the machine, cannot reach the network unless allowed and cannot outlive its \
time. Exit codes: the command's own; 124 timeout; 125 sandbox unavailable or policy not \
enforceable; 126 not executable; 127 not found; 130 interrupted; 76 not approved; 77 forbidden \
by a rule; 78 invalid config, flag or path (one line; under --json also a JSON error); 74 a \
success whose own output could not be written (a full disk)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command in the sandbox.
    Run(RunArgs),
    /// Show the effective policy.
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// Show what this machine's backend can enforce.
    Status(StatusArgs),
    /// Explain a decision: `explain PATH` (can the sandbox read/write it?) or `explain -- CMD...`.
    Explain(ExplainArgs),
    /// Scan this host for locations that stay writable to everyone (and so to the sandbox) and
    /// say how to fix them (`audit` is the old name, kept as an alias).
    #[command(visible_alias = "audit")]
    ScanHost {
        #[arg(long)]
        json: bool,
    },
    /// Check command-rules files.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Show the audit log of decisions and runs.
    Log(LogArgs),
    /// Windows level 2: create (or repair) the sandbox accounts and network fence, once, with one
    /// UAC prompt; `--uninstall` removes them and every ACE Paddock kept.
    Setup(SetupArgs),
    /// List or forget the ACL grants Windows keeps between runs.
    Grants {
        #[command(subcommand)]
        action: GrantsAction,
    },
    /// Serve the Model Context Protocol on stdin/stdout (tools: run, explain_path,
    /// explain_command, policy, status). Add to an MCP client as
    /// `{"command": "paddock", "args": ["mcp"]}`; policy flags apply to every call.
    Mcp(McpArgs),
}

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Remove the accounts, group, filters, stored secrets and every kept ACE.
    #[arg(long)]
    pub uninstall: bool,
    /// SID of a user who may run level-2 commands (repeatable; default: you). Passed along by
    /// the UAC relaunch.
    #[arg(long = "for-user", value_name = "SID")]
    pub for_user: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum GrantsAction {
    /// List kept grants.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove every kept grant of ROOT and its synthetic SID.
    Forget { root: PathBuf },
}

/// Policy flags shared by `run`, `policy show`, `status` and `explain`.
#[derive(Debug, Args, Clone, Default)]
pub struct PolicyArgs {
    /// read-only | workspace-write | full-access.
    #[arg(long, value_name = "MODE")]
    pub mode: Option<Mode>,
    /// Extra writable root (workspace-write); repeatable.
    #[arg(long = "writable", value_name = "DIR")]
    pub writable: Vec<PathBuf>,
    /// Extra path the command may not read; repeatable.
    #[arg(long = "deny-read", value_name = "PATH")]
    pub deny_read: Vec<PathBuf>,
    /// on | off.
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
    pub network: Option<String>,
    /// Timeout: seconds (30, 2.5) or with a unit (90s, 5m, 2h); 0: none.
    #[arg(long, value_name = "SECS", value_parser = paddock_core::duration::parse)]
    pub timeout: Option<Duration>,
    /// Toolchain recipe, repeatable: rust, node, python, go, dotnet, java (its download caches
    /// become writable, its registries join a network allow-list), or auto (detect them from
    /// the workspace root).
    #[arg(long = "recipe", value_name = "NAME")]
    pub recipe: Vec<paddock_core::recipes::RecipeName>,
    /// Resource limit, repeatable: processes=N, memory=SIZE, tmpfs=SIZE (each private /tmp,
    /// /var/tmp, /dev/shm), file_size=SIZE; SIZE like 2GiB, 512M; `none` lifts a limit. One set
    /// here is explicit: Paddock refuses to run when it cannot enforce it.
    #[arg(long = "limit", value_name = "KIND=VALUE")]
    pub limit: Vec<String>,
    /// Working directory of the command (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Workspace root (default: the working directory).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Read this config file instead of the user config file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Print one JSON report at the end (output is captured into it).
    #[arg(long)]
    pub json: bool,
    /// Ask to run this one command OUTSIDE the sandbox. Always asks a person (never remembered);
    /// refused without a terminal or with `approval = "never"`.
    #[arg(long)]
    pub escalate: bool,
    /// Skip the command rules and approvals (the sandbox still applies and the run is still
    /// audited): for harnesses that judge commands themselves, and for testing the sandbox.
    #[arg(long, conflicts_with = "escalate")]
    pub no_rules: bool,
    /// The session this run belongs to: "allow for this session" answers are remembered under
    /// this id (in the state directory, 12 hours) and honoured by later runs that pass it.
    /// Without one (or with an empty one), "allow for this session" is not offered.
    #[arg(long, env = "PADDOCK_SESSION", value_name = "ID")]
    pub session: Option<String>,
    /// The program and its arguments, after `--`.
    #[arg(required = true, trailing_var_arg = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Print the effective policy and where each value came from.
    Show {
        #[command(flatten)]
        policy: PolicyArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Ask about writing PATH (default: both reading and writing).
    #[arg(long, conflicts_with = "command")]
    pub write: bool,
    /// Ask about reading PATH.
    #[arg(long, conflicts_with = "command")]
    pub read: bool,
    #[arg(long)]
    pub json: bool,
    /// The path: could the sandbox read or write it, and which setting decides.
    #[arg(
        value_name = "PATH",
        required_unless_present = "command",
        conflicts_with = "command"
    )]
    pub path: Option<OsString>,
    /// After `--`: the command line whose command-rules decision to explain (one word or more).
    #[arg(last = true, num_args = 1.., value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// Validate a rules file (syntax and every example).
    Check { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only entries newer than this: seconds, or a number with a unit (e.g. 90s, 15m, 2h, 7d).
    #[arg(long, value_name = "AGE", value_parser = paddock_core::duration::parse)]
    pub since: Option<Duration>,
    /// Only the last N entries (after --since).
    #[arg(short = 'n', long = "tail", value_name = "N", value_parser = parse_count)]
    pub tail: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

/// A count of log entries for `--tail`.
fn parse_count(s: &str) -> Result<usize, String> {
    s.parse()
        .map_err(|_| "expected a whole number of entries (e.g. 20)".to_string())
}

/// Parses `argv` (program name first). `paddock run ...` is parsed by the `run` subcommand's
/// parser alone, so the other subcommands' argument trees (most of clap's start-up, about
/// 0.1 ms of every run) are not built; anything that parser does not accept (a bad flag,
/// `--help`, no command) goes to the whole parser, whose answer or message is the one given.
pub fn parse(argv: &[OsString]) -> Result<Command, clap::Error> {
    if argv.get(1).is_some_and(|a| a == "run")
        && let Some(run) = parse_run_alone(&argv[1..])
    {
        return Ok(Command::Run(run));
    }
    Cli::try_parse_from(argv).map(|cli| cli.command)
}

/// `run ARGS...` with `run`'s own parser; `None` when it does not accept them.
fn parse_run_alone(argv: &[OsString]) -> Option<RunArgs> {
    use clap::FromArgMatches;
    let matches = RunArgs::augment_args(clap::Command::new("run"))
        .try_get_matches_from(argv)
        .ok()?;
    RunArgs::from_arg_matches(&matches).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        std::iter::once("paddock")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn run_parsed_alone_is_what_the_whole_parser_gives() {
        for words in [
            &["run", "--", "true"][..],
            &["run", "true"],
            &[
                "run",
                "--mode",
                "workspace-write",
                "--network",
                "off",
                "--",
                "true",
            ],
            &[
                "run",
                "--json",
                "--timeout",
                "5s",
                "--",
                "sh",
                "-c",
                "echo --json",
            ],
            &[
                "run",
                "--no-rules",
                "--writable",
                "/tmp",
                "--deny-read",
                "~/.ssh",
                "ls",
                "-la",
            ],
            &["run", "--session", "s1", "--escalate", "--", "git", "push"],
            &["run", "--config", "x.toml", "--", "cargo", "--version"],
        ] {
            let a = argv(words);
            let alone = parse_run_alone(&a[1..]).map(Command::Run);
            assert!(alone.is_some(), "{words:?}");
            let whole = Cli::try_parse_from(&a).map(|c| c.command);
            assert_eq!(
                format!("{alone:?}"),
                format!("{:?}", whole.ok()),
                "{words:?}"
            );
        }
    }

    #[test]
    fn what_run_alone_refuses_gets_the_whole_parsers_error() {
        for words in [
            &["run"][..],
            &["run", "--help"],
            &["run", "--bogus", "--", "true"],
            &["run", "--timeout", "abc", "--", "true"],
            &["run", "--escalate", "--no-rules", "--", "true"],
        ] {
            let a = argv(words);
            let whole = Cli::try_parse_from(&a).map(|c| c.command).unwrap_err();
            let got = parse(&a).unwrap_err();
            assert_eq!(got.kind(), whole.kind(), "{words:?}");
            assert_eq!(got.to_string(), whole.to_string(), "{words:?}");
        }
    }
}
