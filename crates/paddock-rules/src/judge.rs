//! Judging a command line: parse it into simple commands, match every one against the rules
//! (strictest wins), fall back to the classifier, and combine.
//!
//! The combination never loosens: `Forbid` anywhere forbids the line, anything uncertain makes
//! it at least `Prompt`, and the line is `Allow` only when every command is allowed or known safe.

use crate::context::Context;
use crate::decision::Decision;
use crate::parse::{self, Parsed, Shell, Uncertainty, UncertaintyKind};
use crate::rules::engine::Engine;
use crate::rules::{Match, Rule};
use serde::Serialize;

/// What the rules say about a command or a whole line, before approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// An allow rule, or a known-safe command.
    Allow,
    /// No rule matches and the command is not known to be safe: the approval mode decides.
    Unknown,
    Prompt,
    Forbid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Unknown => "unknown",
            Verdict::Prompt => "prompt",
            Verdict::Forbid => "forbid",
        }
    }
}

impl From<Decision> for Verdict {
    fn from(d: Decision) -> Verdict {
        match d {
            Decision::Allow => Verdict::Allow,
            Decision::Prompt => Verdict::Prompt,
            Decision::Forbid => Verdict::Forbid,
        }
    }
}

/// A rule that decided, in the form explain and the audit log show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    pub origin: String,
    pub pattern: String,
    pub decision: Decision,
    pub justification: Option<String>,
}

impl RuleRef {
    fn of(r: &Rule) -> RuleRef {
        RuleRef {
            origin: r.origin.to_string(),
            pattern: r.pattern(),
            decision: r.decision,
            justification: r.justification.clone(),
        }
    }
}

/// The verdict on one simple command, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandVerdict {
    pub argv: Vec<String>,
    pub shell: Shell,
    pub wrapper: bool,
    pub verdict: Verdict,
    /// The strictest matching rule, if a rule decided.
    pub rule: Option<RuleRef>,
    pub reason: String,
    /// Allow rules that match but are not applied (untrusted project).
    pub ignored_rules: Vec<String>,
}

/// The verdict on a whole command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Judgement {
    pub argv: Vec<String>,
    pub verdict: Verdict,
    pub commands: Vec<CommandVerdict>,
    pub uncertain: Vec<Uncertainty>,
}

impl Judgement {
    /// The reason for the line's verdict: the command (or uncertainty) that set it.
    pub fn reason(&self) -> String {
        let show = |c: &CommandVerdict| format!("`{}`: {}", crate::shlex::join(&c.argv), c.reason);
        let show_u = |u: &Uncertainty| format!("{} (`{}`)", u.reason, u.snippet);
        let same = |c: &&CommandVerdict| c.verdict == self.verdict;
        if self.verdict >= Verdict::Prompt
            && let Some(c) = self.commands.iter().find(same)
        {
            return show(c);
        }
        if self.verdict == Verdict::Unknown
            && let Some(c) = self.commands.iter().filter(|c| !c.wrapper).find(same)
        {
            return show(c);
        }
        let hidden = self
            .uncertain
            .iter()
            .find(|u| u.kind == UncertaintyKind::Hidden);
        if self.verdict >= Verdict::Unknown
            && let Some(u) = hidden.or(self.uncertain.first())
        {
            return show_u(u);
        }
        if self.verdict == Verdict::Prompt
            && let Some(c) = self.commands.iter().find(|c| c.verdict == Verdict::Unknown)
        {
            return format!(
                "{}; outside a sandbox (full-access mode) it must be approved",
                show(c)
            );
        }
        match self.commands.iter().filter(|c| !c.wrapper).find(same) {
            Some(c) => show(c),
            None => "nothing to run".into(),
        }
    }

    /// The rule that set the line's verdict, if one did.
    pub fn deciding_rule(&self) -> Option<&RuleRef> {
        self.commands
            .iter()
            .filter(|c| c.verdict == self.verdict)
            .find_map(|c| c.rule.as_ref())
    }
}

/// Judges `argv` run in `ctx` against `engine`'s rules.
pub fn judge(engine: &Engine, argv: &[String], ctx: &Context) -> Judgement {
    let parsed: Parsed = parse::parse_argv(argv, ctx);
    let mut commands = Vec::new();
    for cmd in &parsed.commands {
        commands.push(judge_command(engine, cmd, ctx));
    }
    let mut verdict = commands
        .iter()
        .map(|c| c.verdict)
        .max()
        .unwrap_or(Verdict::Prompt);
    for u in &parsed.uncertain {
        verdict = verdict.max(match u.kind {
            UncertaintyKind::Contained if ctx.sandboxed => Verdict::Unknown,
            _ => Verdict::Prompt,
        });
    }
    if !ctx.sandboxed && verdict == Verdict::Unknown {
        // Without a sandbox nothing contains an unknown command: ask.
        verdict = Verdict::Prompt;
    }
    Judgement {
        argv: argv.to_vec(),
        verdict,
        commands,
        uncertain: parsed.uncertain,
    }
}

fn judge_command(engine: &Engine, cmd: &parse::SimpleCommand, ctx: &Context) -> CommandVerdict {
    let mut matches: Vec<(&Rule, Match)> = engine
        .matching(cmd)
        .into_iter()
        .filter(|(r, _)| r.applies(ctx.network))
        .collect();
    if matches.iter().all(|(r, _)| r.amendment) && crate::rules::builtin::may_name(&cmd.names()) {
        // Paddock's built-in destructive / outbound list, overridden by any rule of the user's
        // but an "always allow" amendment, which sets aside only the built-in prompts its own
        // prefix triggers: allowing `git push origin main` does not allow `... --force`.
        matches.extend(
            crate::rules::builtin::rules()
                .iter()
                .filter(|r| r.applies(ctx.network))
                .map(|r| (r, r.matches(cmd)))
                .filter(|(_, m)| *m != Match::No)
                .filter(|(r, _)| engine.amendment_covering(r, cmd).is_none()),
        );
    }
    let ignored_rules = engine.not_applied(cmd);
    let mut out = CommandVerdict {
        argv: cmd.argv(),
        shell: cmd.shell,
        wrapper: cmd.wrapper,
        verdict: Verdict::Unknown,
        rule: None,
        reason: String::new(),
        ignored_rules,
    };
    let strictest_yes = matches
        .iter()
        .filter(|(_, m)| *m == Match::Yes)
        .max_by_key(|(r, _)| r.decision)
        .map(|(r, _)| *r);
    let strictest_maybe = matches
        .iter()
        .filter(|(_, m)| *m == Match::Maybe)
        .max_by_key(|(r, _)| r.decision)
        .map(|(r, _)| *r);
    if let Some(r) = strictest_yes {
        out.verdict = r.decision.into();
        out.rule = Some(RuleRef::of(r));
        out.reason = match (&r.justification, r.decision) {
            (Some(j), Decision::Forbid) => format!("forbidden by {}: {j}", r.describe()),
            _ => format!("{} by {}", verb(r.decision), r.describe()),
        };
    }
    if let Some(r) = strictest_maybe
        && out.verdict < Verdict::Prompt
    {
        out.verdict = Verdict::Prompt;
        out.rule = Some(RuleRef::of(r));
        out.reason = format!(
            "an argument only known at run time may match {}",
            r.describe()
        );
    }
    if out.rule.is_some() {
        return out;
    }
    match crate::classify::classify(cmd) {
        Some(why) => {
            out.verdict = Verdict::Allow;
            out.reason = format!("known safe: {why}");
        }
        None => {
            out.reason = "no rule matches and it is not a known read-only command".into();
        }
    }
    out
}

fn verb(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allowed",
        Decision::Prompt => "needs approval",
        Decision::Forbid => "forbidden",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = r#"
[[rule]]
program = "git"
args = ["push"]
decision = "prompt"

[[rule]]
program = "git"
args = ["push", "--force"]
decision = "forbid"
justification = "use --force-with-lease"

[[rule]]
program = "git"
decision = "allow"

[[rule]]
program = "cargo"
args = [["build", "test", "check"]]
decision = "allow"

[[rule]]
program = "rm"
args = ["-rf", "/"]
decision = "forbid"
"#;

    fn ctx() -> Context {
        Context::new("/work/ws", vec!["/work/ws".into()])
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn strictest_matching_rule_wins_table() {
        let e = Engine::from_texts(Some(USER), None, false).unwrap();
        let cases: &[(&[&str], Verdict)] = &[
            (&["git", "status"], Verdict::Allow),
            (&["git", "push"], Verdict::Prompt),
            (&["git", "push", "--force", "origin"], Verdict::Forbid),
            (&["cargo", "test"], Verdict::Allow),
            (&["cargo", "publish"], Verdict::Prompt),
            (&["cargo", "fmt"], Verdict::Unknown),
            (&["ls", "-la"], Verdict::Allow),
            (&["curl", "x"], Verdict::Unknown),
            (&["bash", "-c", "git status && cargo build"], Verdict::Allow),
            (
                &["bash", "-c", "cargo build && git push --force"],
                Verdict::Forbid,
            ),
            (&["bash", "-c", "ls; curl x"], Verdict::Unknown),
            (&["bash", "-c", "git $SUB"], Verdict::Prompt),
            (&["sh", "-c", "eval ls"], Verdict::Prompt),
            (&["sh", "-c", "ls > /etc/x"], Verdict::Allow),
            (&["cmd", "/c", "git push --force"], Verdict::Forbid),
            (&["pwsh", "-c", "git status; rm -rf /"], Verdict::Forbid),
            (&["pwsh", "-enc", "AAAA"], Verdict::Prompt),
            (&[], Verdict::Prompt),
        ];
        for (input, want) in cases {
            let j = judge(&e, &argv(input), &ctx());
            assert_eq!(j.verdict, *want, "{input:?}: {}", j.reason());
        }
    }

    const RM_FORBID: &str =
        "[[rule]]\nprogram = \"rm\"\nargs = [\"-rf\", \"*\"]\ndecision = \"forbid\"\n";

    #[test]
    fn forbid_rule_cannot_be_dodged_by_quoting_wrapping_or_nesting() {
        let e = Engine::from_texts(Some(RM_FORBID), None, false).unwrap();
        let forbidden: &[&[&str]] = &[
            &["rm", "-rf", "/"],
            &["/bin/rm", "-rf", "/"],
            &["bash", "-c", "r\\m -rf /"],
            &["bash", "-c", "\"rm\" -rf /"],
            &["bash", "-c", "rm -r\"\"f /"],
            &["bash", "-c", "rm -rf $HOME"],
            &["sh", "-c", "command rm -rf /"],
            &["sh", "-c", "exec rm -rf /"],
            &["env", "X=1", "rm", "-rf", "/"],
            &["sudo", "rm", "-rf", "/"],
            &["busybox", "rm", "-rf", "/"],
            &["find", "/", "-exec", "rm", "-rf", "{}", "+"],
            &["sh", "-c", "ls | xargs rm -rf"],
            &["nice", "-n", "5", "nohup", "timeout", "5", "rm", "-rf", "/"],
            &["bash", "-c", "f(){ rm -rf /; }; f"],
            &["bash", "-lc", "true && (rm -rf / &)"],
            &["bash", "-c", "echo $(rm -rf /)"],
            &["bash", "-c", "cat <(rm -rf /)"],
            &["bash", "-c", "bash -c 'sh -c \"rm -rf /\"'"],
            &["cmd", "/c", "r^m -rf /"],
            &["CMD.EXE", "/C", "\"rm -rf /\""],
            &["pwsh", "-c", "r`m -rf /"],
            &["powershell", "-Command", "& rm -rf /"],
            &["pwsh", "-c", "Write-Output $(rm -rf /)"],
            &["bash", "-c", "cmd /c 'pwsh -c \"rm -rf /\"'"],
        ];
        for input in forbidden {
            let j = judge(&e, &argv(input), &ctx());
            assert_eq!(j.verdict, Verdict::Forbid, "{input:?}: {}", j.reason());
        }
        let asked: &[&[&str]] = &[
            &["bash", "-c", "$(echo rm) -rf /"],
            &["bash", "-c", "x=rm; $x -rf /"],
            &["bash", "-c", "eval 'rm -rf /'"],
            &["bash", "-c", "echo 'rm -rf /' | bash"],
            &["bash", "-c", "bash <<< 'rm -rf /'"],
            &["bash", "-c", "rm $FLAGS /"],
            &["pwsh", "-EncodedCommand", "cgBtACAALQByAGYAIAAvAA=="],
            &["pwsh", "-c", "iex 'rm -rf /'"],
            &["cmd", "/c", "%X% -rf /"],
        ];
        for input in asked {
            let j = judge(&e, &argv(input), &ctx());
            assert!(
                j.verdict >= Verdict::Prompt,
                "{input:?}: {:?} {}",
                j.verdict,
                j.reason()
            );
        }
    }

    #[test]
    fn forbid_rule_leaves_legitimate_neighbours_alone() {
        let e = Engine::from_texts(Some(RM_FORBID), None, false).unwrap();
        let cases: &[(&[&str], Verdict)] = &[
            (&["rm", "-r", "build"], Verdict::Unknown),
            (&["rm", "file"], Verdict::Unknown),
            (&["bash", "-c", "echo rm -rf /"], Verdict::Allow),
            (
                &["git", "commit", "-m", "rm -rf / is bad"],
                Verdict::Unknown,
            ),
            (&["bash", "-c", "grep -rn 'rm -rf' ."], Verdict::Allow),
            (&["pwsh", "-c", "Select-String 'rm -rf' x"], Verdict::Allow),
        ];
        for (input, want) in cases {
            let j = judge(&e, &argv(input), &ctx());
            assert_eq!(j.verdict, *want, "{input:?}: {}", j.reason());
        }
    }

    #[test]
    fn the_sandbox_decides_what_needs_asking() {
        let e = Engine::empty();
        let sandbox = ctx().with_sandbox(true, false);
        let online = ctx().with_sandbox(true, true);
        let full = ctx().with_sandbox(false, true);
        let cases: &[(&[&str], Verdict, Verdict, Verdict)] = &[
            // line, sandbox offline, sandbox online, full access
            (
                &["cargo", "build"],
                Verdict::Unknown,
                Verdict::Unknown,
                Verdict::Prompt,
            ),
            (&["ls"], Verdict::Allow, Verdict::Allow, Verdict::Allow),
            (
                &["bash", "-c", "ls > /etc/x"],
                Verdict::Allow,
                Verdict::Allow,
                Verdict::Prompt,
            ),
            (
                &["bash", "-c", "PATH=. ls"],
                Verdict::Unknown,
                Verdict::Unknown,
                Verdict::Prompt,
            ),
            (
                &["git", "push"],
                Verdict::Unknown,
                Verdict::Prompt,
                Verdict::Prompt,
            ),
            (
                &["git", "reset", "--hard"],
                Verdict::Prompt,
                Verdict::Prompt,
                Verdict::Prompt,
            ),
            (
                &["bash", "-c", "eval x"],
                Verdict::Prompt,
                Verdict::Prompt,
                Verdict::Prompt,
            ),
            (
                &["bash"],
                Verdict::Unknown,
                Verdict::Unknown,
                Verdict::Prompt,
            ),
        ];
        for (input, off, on, unconfined) in cases {
            for (c, want) in [(&sandbox, off), (&online, on), (&full, unconfined)] {
                let j = judge(&e, &argv(input), c);
                assert_eq!(
                    j.verdict,
                    *want,
                    "{input:?} sandboxed={} network={}: {}",
                    c.sandboxed,
                    c.network,
                    j.reason()
                );
            }
        }
    }

    #[test]
    fn builtin_list_is_overridden_by_any_user_rule() {
        let c = ctx().with_sandbox(true, true);
        let e = Engine::empty();
        let push = argv(&["git", "push", "origin", "main"]);
        let j = judge(&e, &push, &c);
        assert_eq!(j.verdict, Verdict::Prompt);
        assert_eq!(
            j.deciding_rule().map(|r| r.origin.contains("built-in")),
            Some(true),
            "{}",
            j.reason()
        );
        let allow = "[[rule]]\nprogram = \"git\"\nargs = [\"push\"]\ndecision = \"allow\"\n";
        let e = Engine::from_texts(Some(allow), None, false).unwrap();
        assert_eq!(judge(&e, &push, &c).verdict, Verdict::Allow);
        // The user's rule covers `git push`; the built-in `rm -rf .` still applies.
        assert_eq!(
            judge(&e, &argv(&["rm", "-rf", "."]), &c).verdict,
            Verdict::Prompt
        );
        // PowerShell and cmd spellings of deleting the workspace.
        for line in [
            &["pwsh", "-c", "Remove-Item -Recurse -Force ."][..],
            &["pwsh", "-c", "ri -r ~"][..],
            &["cmd", "/c", "rd /s /q ."][..],
            &["cmd", "/c", "del /s /q *"][..],
        ] {
            let j = judge(&Engine::empty(), &argv(line), &c);
            assert_eq!(j.verdict, Verdict::Prompt, "{line:?}: {}", j.reason());
        }
    }

    #[test]
    fn an_always_allow_amendment_does_not_silence_built_in_prompts_it_did_not_show() {
        let c = ctx().with_sandbox(true, true);
        let amendment = "[[rule]]\nprogram = \"git\"\nargs = [[\"push\"], [\"origin\"], [\"main\"]]\ndecision = \"allow\"\namendment = true\n";
        let e = Engine::from_texts(Some(amendment), None, false).unwrap();
        let j = judge(&e, &argv(&["git", "push", "origin", "main"]), &c);
        assert_eq!(j.verdict, Verdict::Allow, "{}", j.reason());
        let j = judge(&e, &argv(&["git", "push", "origin", "main", "--force"]), &c);
        assert_eq!(j.verdict, Verdict::Prompt, "{}", j.reason());
    }

    #[test]
    fn forbid_reason_names_the_rule_and_its_justification() {
        let e = Engine::from_texts(Some(USER), None, false).unwrap();
        let j = judge(&e, &argv(&["git", "push", "--force"]), &ctx());
        let reason = j.reason();
        assert!(
            reason.contains("rule 2") && reason.contains("--force-with-lease"),
            "{reason}"
        );
        assert_eq!(j.deciding_rule().unwrap().decision, Decision::Forbid);
    }

    #[test]
    fn untrusted_project_cannot_loosen_but_can_tighten() {
        let project_allow = "[[rule]]\nprogram = \"curl\"\ndecision = \"allow\"\n";
        let project_forbid =
            "[[rule]]\nprogram = \"git\"\nargs = [\"status\"]\ndecision = \"forbid\"\n";
        let curl = argv(&["curl", "x"]);
        let e = Engine::from_texts(Some(USER), Some(project_allow), false).unwrap();
        let j = judge(&e, &curl, &ctx());
        assert_eq!(j.verdict, Verdict::Unknown);
        assert_eq!(j.commands[0].ignored_rules.len(), 1);
        let e = Engine::from_texts(Some(USER), Some(project_allow), true).unwrap();
        assert_eq!(judge(&e, &curl, &ctx()).verdict, Verdict::Allow);
        let e = Engine::from_texts(Some(USER), Some(project_forbid), false).unwrap();
        assert_eq!(
            judge(&e, &argv(&["git", "status"]), &ctx()).verdict,
            Verdict::Forbid
        );
    }

    #[test]
    fn project_allow_cannot_override_user_prompt_even_when_trusted() {
        let project = "[[rule]]\nprogram = \"git\"\nargs = [\"push\"]\ndecision = \"allow\"\n";
        let e = Engine::from_texts(Some(USER), Some(project), true).unwrap();
        assert_eq!(
            judge(&e, &argv(&["git", "push"]), &ctx()).verdict,
            Verdict::Prompt
        );
    }
}
