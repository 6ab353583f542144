//! Approvals: who may let a command run that the rules do not allow outright, and `decide`, the
//! single place that turns a judgement, the approval mode and an answer into "run" or "refuse".
//!
//! Fail closed: a forbidden command never runs; with `approval = never` or without a terminal a
//! command needing approval is refused. Every answer is exactly as broad as the request showed:
//! "allow for this session" covers this argv in this directory and sandbox for the session named
//! in the request (not offered without one); "always allow" writes exactly the prefix shown.
//! Running outside the sandbox (escalation, or the on-failure rerun) is its own request and is
//! never remembered. The terminal front end lives in the CLI; others pass their own `Approver`.

use crate::context::Context;
use crate::judge::{Judgement, Verdict, judge};
use crate::parse::names::{is_relative_path, program_key};
use crate::rules::engine::Engine;
use paddock_core::policy::ApprovalMode;
use serde::Serialize;
use std::path::PathBuf;

/// What is being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestKind {
    /// Run this command inside the sandbox.
    Command,
    /// Run this command outside the sandbox, with the caller's full rights.
    Escalation,
    /// The command failed in the sandbox, apparently on a denial (`ApprovalRequest::denied`):
    /// run it again outside the sandbox, once.
    Rerun,
}

/// "Allow for this session", when it is offered: which session and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionOffer {
    pub id: String,
    /// RFC 3339 UTC: when an approval given now expires.
    pub until: String,
}

/// Everything an approver shows before answering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRequest {
    pub kind: RequestKind,
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// The rule or the reason that needs approval.
    pub reason: String,
    /// What the sandbox will and will not allow (from the caller).
    pub sandbox_summary: String,
    /// The exact prefix "always allow" would add as a rule; `None` when not offered.
    pub prefix: Option<Vec<String>>,
    /// The session "allow for this session" would remember the command in; `None` when not
    /// offered (no session).
    pub session: Option<SessionOffer>,
    /// For `Rerun`: the output lines taken as the sandbox's denials (a heuristic).
    pub denied: Vec<String>,
}

/// An approver's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "answer", content = "prefix")]
pub enum ApprovalAnswer {
    RunOnce,
    /// Only when `ApprovalRequest::session` is offered.
    AllowForSession,
    /// Must be exactly `ApprovalRequest::prefix`.
    AllowPrefixForever(Vec<String>),
    Deny,
}

/// Someone (or something) that answers approval requests.
pub trait Approver {
    fn ask(&mut self, req: &ApprovalRequest) -> ApprovalAnswer;
    /// False when nobody can be asked (no terminal): requests are then refused without asking.
    fn available(&self) -> bool {
        true
    }
}

/// For runs without a terminal: nobody can approve, so everything needing approval is refused.
pub struct NoApprover;

impl Approver for NoApprover {
    fn ask(&mut self, _req: &ApprovalRequest) -> ApprovalAnswer {
        ApprovalAnswer::Deny
    }
    fn available(&self) -> bool {
        false
    }
}

/// Who let the command run (or stopped it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovedBy {
    /// An allow rule or the safe-command classifier.
    Rules,
    /// No rule matched and the approval mode lets unknown commands run in the sandbox.
    Mode,
    /// An earlier "allow for this session".
    Session,
    /// The person asked just now.
    User,
    /// Refused.
    Nobody,
}

/// The final outcome for one command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FinalDecision {
    pub run: bool,
    pub escalation: bool,
    pub approved_by: ApprovedBy,
    /// How, in words: the rule, the answer, or why it was refused.
    pub how: String,
    pub answer: Option<ApprovalAnswer>,
    pub judgement: Judgement,
}

impl FinalDecision {
    fn new(judgement: Judgement, run: bool, by: ApprovedBy, how: String) -> FinalDecision {
        FinalDecision {
            run,
            escalation: false,
            approved_by: by,
            how,
            answer: None,
            judgement,
        }
    }
}

/// The prefix "always allow" may offer: the one command needing approval, exactly as shown.
fn offered_prefix(j: &Judgement) -> Option<Vec<String>> {
    if !j.uncertain.is_empty() {
        return None;
    }
    let needing: Vec<_> = j
        .commands
        .iter()
        .filter(|c| !c.wrapper && c.verdict >= Verdict::Unknown)
        .collect();
    let [c] = needing.as_slice() else {
        return None;
    };
    let first = c.argv.first()?;
    if c.verdict == Verdict::Forbid || is_relative_path(first) {
        return None;
    }
    let mut prefix = c.argv.clone();
    prefix[0] = program_key(first);
    Some(prefix)
}

/// Decides whether `argv` runs (inside the sandbox), asking `approver` when needed.
pub fn decide(
    engine: &mut Engine,
    argv: &[String],
    ctx: &Context,
    mode: ApprovalMode,
    approver: &mut dyn Approver,
) -> FinalDecision {
    let j = judge(engine, argv, ctx);
    let reason = j.reason();
    match j.verdict {
        Verdict::Forbid => {
            return FinalDecision::new(
                j,
                false,
                ApprovedBy::Nobody,
                format!("forbidden: {reason}"),
            );
        }
        Verdict::Allow => return FinalDecision::new(j, true, ApprovedBy::Rules, reason),
        Verdict::Unknown if mode != ApprovalMode::Always => {
            let how = format!(
                "{reason}; runs inside the sandbox without asking (approval = {})",
                mode_name(mode)
            );
            return FinalDecision::new(j, true, ApprovedBy::Mode, how);
        }
        Verdict::Unknown | Verdict::Prompt => {}
    }
    if engine
        .session()
        .is_some_and(|s| s.allows(argv, &ctx.cwd, &ctx.sandbox_summary))
    {
        return FinalDecision::new(
            j,
            true,
            ApprovedBy::Session,
            format!(
                "allowed earlier in session `{}`",
                engine.session().map_or("", |s| s.id())
            ),
        );
    }
    if mode == ApprovalMode::Never {
        let how = format!(
            "refused: needs approval ({reason}) and approval = never; add a rule or change the approval mode"
        );
        return FinalDecision::new(j, false, ApprovedBy::Nobody, how);
    }
    if !approver.available() {
        let how = format!(
            "refused: needs approval ({reason}) and no terminal is available to ask; run it from a terminal or add a rule"
        );
        return FinalDecision::new(j, false, ApprovedBy::Nobody, how);
    }
    let req = ApprovalRequest {
        kind: RequestKind::Command,
        argv: argv.to_vec(),
        cwd: ctx.cwd.clone(),
        reason: reason.clone(),
        sandbox_summary: ctx.sandbox_summary.clone(),
        prefix: offered_prefix(&j),
        session: engine.session().map(|s| SessionOffer {
            id: s.id().to_string(),
            until: crate::audit::rfc3339(crate::session::Session::expiry_from_now()),
        }),
        denied: Vec::new(),
    };
    let answer = approver.ask(&req);
    let mut out = match &answer {
        ApprovalAnswer::RunOnce => {
            FinalDecision::new(j, true, ApprovedBy::User, "approved once".into())
        }
        ApprovalAnswer::AllowForSession => match engine.session_mut() {
            Some(session) => {
                let how = match session.allow(argv, &ctx.cwd, &ctx.sandbox_summary) {
                    Ok(()) => format!("approved for session `{}`", session.id()),
                    Err(e) => format!(
                        "approved once; the session approval could not be saved: {e}"
                    ),
                };
                FinalDecision::new(j, true, ApprovedBy::User, how)
            }
            None => FinalDecision::new(
                j,
                false,
                ApprovedBy::Nobody,
                "refused: the approver answered \"allow for this session\", which was not offered (no session)".into(),
            ),
        },
        ApprovalAnswer::AllowPrefixForever(p) if req.prefix.as_ref() == Some(p) => {
            let shown = crate::shlex::join(p);
            let note = format!(
                "always allow `{shown}`: approved at {}",
                crate::audit::rfc3339(std::time::SystemTime::now())
            );
            let how = match engine.allow_prefix_forever(p, &note) {
                Ok(()) => format!(
                    "approved; commands starting with `{shown}` are now allowed by a rule in {}",
                    engine
                        .user_file()
                        .map_or(String::new(), |f| f.display().to_string())
                ),
                Err(e) => format!("approved once; the rule could not be saved: {e}"),
            };
            FinalDecision::new(j, true, ApprovedBy::User, how)
        }
        ApprovalAnswer::AllowPrefixForever(p) => FinalDecision::new(
            j,
            false,
            ApprovedBy::Nobody,
            format!(
                "refused: the approver asked to always allow `{}`, which is not the prefix shown",
                crate::shlex::join(p)
            ),
        ),
        ApprovalAnswer::Deny => {
            FinalDecision::new(j, false, ApprovedBy::Nobody, "denied by the user".into())
        }
    };
    out.answer = Some(answer);
    out
}

/// Decides whether `argv` may run outside the sandbox. Always asks (never remembered); refused
/// with `approval = never`, without a terminal, or when the rules forbid the command.
pub fn decide_escalation(
    engine: &Engine,
    argv: &[String],
    ctx: &Context,
    why: &str,
    mode: ApprovalMode,
    approver: &mut dyn Approver,
) -> FinalDecision {
    ask_outside(
        RequestKind::Escalation,
        engine,
        argv,
        ctx,
        why,
        Vec::new(),
        mode,
        approver,
    )
}

/// `approval = on-failure`: decides whether `argv`, which just failed in the sandbox with
/// output suggesting the sandbox denied something (`denied`, a heuristic), may run again outside
/// it. Asked like an escalation: never remembered, refused without a terminal or when forbidden.
pub fn decide_rerun(
    engine: &Engine,
    argv: &[String],
    ctx: &Context,
    why: &str,
    denied: Vec<String>,
    approver: &mut dyn Approver,
) -> FinalDecision {
    ask_outside(
        RequestKind::Rerun,
        engine,
        argv,
        ctx,
        why,
        denied,
        ApprovalMode::OnFailure,
        approver,
    )
}

#[allow(clippy::too_many_arguments)]
fn ask_outside(
    kind: RequestKind,
    engine: &Engine,
    argv: &[String],
    ctx: &Context,
    why: &str,
    denied: Vec<String>,
    mode: ApprovalMode,
    approver: &mut dyn Approver,
) -> FinalDecision {
    let j = judge(engine, argv, ctx);
    let refuse = |j: Judgement, how: String| {
        let mut d = FinalDecision::new(j, false, ApprovedBy::Nobody, how);
        d.escalation = true;
        d
    };
    let what = match kind {
        RequestKind::Rerun => "rerunning outside the sandbox",
        _ => "running outside the sandbox",
    };
    if j.verdict == Verdict::Forbid {
        let how = format!("forbidden: {}", j.reason());
        return refuse(j, how);
    }
    if mode == ApprovalMode::Never {
        return refuse(
            j,
            format!("refused: {what} needs approval and approval = never"),
        );
    }
    if !approver.available() {
        return refuse(
            j,
            format!("refused: {what} needs approval and no terminal is available"),
        );
    }
    let req = ApprovalRequest {
        kind,
        argv: argv.to_vec(),
        cwd: ctx.cwd.clone(),
        reason: why.to_string(),
        sandbox_summary: ctx.sandbox_summary.clone(),
        prefix: None,
        session: None,
        denied,
    };
    let answer = approver.ask(&req);
    let mut d = if answer == ApprovalAnswer::RunOnce {
        let mut d = FinalDecision::new(
            j,
            true,
            ApprovedBy::User,
            format!("approved {what}, this once (never remembered)"),
        );
        d.escalation = true;
        d
    } else {
        refuse(j, format!("{what}: denied by the user"))
    };
    d.answer = Some(answer);
    d
}

fn mode_name(mode: ApprovalMode) -> &'static str {
    mode.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Session;

    /// Answers from a script and records every request.
    struct Scripted {
        answers: Vec<ApprovalAnswer>,
        asked: Vec<ApprovalRequest>,
    }

    impl Scripted {
        fn new(answers: Vec<ApprovalAnswer>) -> Scripted {
            Scripted {
                answers,
                asked: Vec::new(),
            }
        }
    }

    impl Approver for Scripted {
        fn ask(&mut self, req: &ApprovalRequest) -> ApprovalAnswer {
            self.asked.push(req.clone());
            if self.answers.is_empty() {
                ApprovalAnswer::Deny
            } else {
                self.answers.remove(0)
            }
        }
    }

    const RULES: &str = "[[rule]]\nprogram = \"git\"\nargs = [\"push\"]\ndecision = \"prompt\"\n\n[[rule]]\nprogram = \"rm\"\nargs = [\"-rf\"]\ndecision = \"forbid\"\njustification = \"delete with `git clean` instead\"\n";

    fn engine() -> Engine {
        Engine::from_texts(Some(RULES), None, false).unwrap()
    }

    fn ctx() -> Context {
        Context::new("/w", vec!["/w".into()]).with_summary("writes: /w only; network: off")
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn approval_mode_table() {
        use ApprovalAnswer::*;
        use ApprovalMode::*;
        /// argv, mode, scripted answers, runs?, questions asked, approved by.
        type Case = (
            &'static [&'static str],
            ApprovalMode,
            Vec<ApprovalAnswer>,
            bool,
            usize,
            ApprovedBy,
        );
        let cases: &[Case] = &[
            (&["ls"], Always, vec![], true, 0, ApprovedBy::Rules),
            (&["curl", "x"], OnRisk, vec![], true, 0, ApprovedBy::Mode),
            (&["curl", "x"], Never, vec![], true, 0, ApprovedBy::Mode),
            (&["curl", "x"], OnFailure, vec![], true, 0, ApprovedBy::Mode),
            (
                &["git", "push"],
                OnFailure,
                vec![RunOnce],
                true,
                1,
                ApprovedBy::User,
            ),
            (
                &["curl", "x"],
                Always,
                vec![RunOnce],
                true,
                1,
                ApprovedBy::User,
            ),
            (
                &["curl", "x"],
                Always,
                vec![Deny],
                false,
                1,
                ApprovedBy::Nobody,
            ),
            (
                &["git", "push"],
                OnRisk,
                vec![RunOnce],
                true,
                1,
                ApprovedBy::User,
            ),
            (
                &["git", "push"],
                OnRisk,
                vec![Deny],
                false,
                1,
                ApprovedBy::Nobody,
            ),
            (
                &["git", "push"],
                Never,
                vec![RunOnce],
                false,
                0,
                ApprovedBy::Nobody,
            ),
            (
                &["rm", "-rf", "x"],
                Always,
                vec![RunOnce],
                false,
                0,
                ApprovedBy::Nobody,
            ),
            (
                &["sh", "-c", "eval x"],
                OnRisk,
                vec![RunOnce],
                true,
                1,
                ApprovedBy::User,
            ),
        ];
        for (input, mode, answers, run, asked, by) in cases {
            let mut e = engine();
            let mut a = Scripted::new(answers.clone());
            let d = decide(&mut e, &argv(input), &ctx(), *mode, &mut a);
            assert_eq!(d.run, *run, "{input:?} {mode:?}: {}", d.how);
            assert_eq!(a.asked.len(), *asked, "{input:?} {mode:?}");
            assert_eq!(d.approved_by, *by, "{input:?} {mode:?}");
        }
    }

    #[test]
    fn forbidden_commands_say_why_and_never_ask() {
        let mut a = Scripted::new(vec![ApprovalAnswer::RunOnce]);
        let d = decide(
            &mut engine(),
            &argv(&["rm", "-rf", "/"]),
            &ctx(),
            ApprovalMode::Always,
            &mut a,
        );
        assert!(!d.run);
        assert!(d.how.contains("git clean"), "{}", d.how);
        assert!(a.asked.is_empty());
    }

    #[test]
    fn no_terminal_fails_closed() {
        let d = decide(
            &mut engine(),
            &argv(&["git", "push"]),
            &ctx(),
            ApprovalMode::OnRisk,
            &mut NoApprover,
        );
        assert!(!d.run);
        assert!(d.how.contains("no terminal"), "{}", d.how);
    }

    #[test]
    fn request_shows_command_cwd_reason_and_sandbox_summary() {
        let mut a = Scripted::new(vec![ApprovalAnswer::Deny]);
        decide(
            &mut engine(),
            &argv(&["git", "push", "origin"]),
            &ctx(),
            ApprovalMode::OnRisk,
            &mut a,
        );
        let req = &a.asked[0];
        assert_eq!(req.kind, RequestKind::Command);
        assert_eq!(req.cwd, PathBuf::from("/w"));
        assert!(req.reason.contains("rule 1"), "{}", req.reason);
        assert_eq!(req.sandbox_summary, "writes: /w only; network: off");
        assert_eq!(req.prefix, Some(argv(&["git", "push", "origin"])));
    }

    #[test]
    fn session_approval_covers_exactly_the_same_argv_cwd_and_sandbox() {
        let dir = tempfile::tempdir().unwrap();
        let sid = crate::session::SessionId::parse("agent-7").unwrap();
        let mut e = engine();
        e.set_session(Session::open(dir.path(), sid.clone()).unwrap());
        let mut a = Scripted::new(vec![ApprovalAnswer::AllowForSession]);
        let push = argv(&["git", "push"]);
        assert!(decide(&mut e, &push, &ctx(), ApprovalMode::OnRisk, &mut a).run);
        assert_eq!(a.asked[0].session.as_ref().unwrap().id, "agent-7");
        // A later `paddock run` of the same session: a fresh engine, the session reopened.
        let mut later = engine();
        later.set_session(Session::open(dir.path(), sid).unwrap());
        let again = decide(&mut later, &push, &ctx(), ApprovalMode::OnRisk, &mut a);
        assert!(again.run, "{}", again.how);
        assert_eq!(again.approved_by, ApprovedBy::Session);
        for (cmd, ctx) in [
            (argv(&["git", "push", "--tags"]), ctx()),
            (
                push.clone(),
                Context::new("/elsewhere", vec!["/elsewhere".into()])
                    .with_summary("writes: /w only; network: off"),
            ),
            (
                push.clone(),
                Context::new("/w", vec!["/w".into()]).with_summary("full-access mode: no sandbox"),
            ),
        ] {
            let other = decide(&mut later, &cmd, &ctx, ApprovalMode::OnRisk, &mut a);
            assert!(
                !other.run,
                "{cmd:?} in {:?} is asked again (and denied)",
                ctx.cwd
            );
        }
        assert_eq!(a.asked.len(), 4);
    }

    #[test]
    fn without_a_session_allow_for_session_is_not_offered_nor_accepted() {
        let mut a = Scripted::new(vec![ApprovalAnswer::AllowForSession]);
        let d = decide(
            &mut engine(),
            &argv(&["git", "push"]),
            &ctx(),
            ApprovalMode::OnRisk,
            &mut a,
        );
        assert!(a.asked[0].session.is_none());
        assert!(!d.run, "{}", d.how);
    }

    #[test]
    fn always_allow_outranks_the_prompt_rule_it_answered_but_not_forbid_or_new_risks() {
        let rules = "[[rule]]\nprogram = \"git\"\nargs = [\"push\"]\ndecision = \"prompt\"\n\n[[rule]]\nprogram = \"git\"\nargs = [\"push\", \"origin\", \"main\", \"--force\"]\ndecision = \"prompt\"\n\n[[rule]]\nprogram = \"git\"\nargs = [\"push\", \"origin\", \"main\", \"--delete\"]\ndecision = \"forbid\"\n";
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rules.toml");
        std::fs::write(&file, rules).unwrap();
        let paths = crate::rules::engine::RulePaths {
            user: Some(file.clone()),
            workspace: None,
            project_trusted: false,
        };
        let mut e = Engine::load(&paths).unwrap();
        let push = argv(&["git", "push", "origin", "main"]);
        let mut a = Scripted::new(vec![ApprovalAnswer::AllowPrefixForever(push.clone())]);
        assert!(decide(&mut e, &push, &ctx(), ApprovalMode::OnRisk, &mut a).run);
        // The next run loads the file again: the same command no longer asks.
        let mut e = Engine::load(&paths).unwrap();
        let mut none = Scripted::new(vec![]);
        let d = decide(&mut e, &push, &ctx(), ApprovalMode::OnRisk, &mut none);
        assert!(d.run, "{}", d.how);
        assert_eq!(d.approved_by, ApprovedBy::Rules);
        assert!(none.asked.is_empty());
        let more = argv(&["git", "push", "origin", "main", "-v"]);
        assert!(decide(&mut e, &more, &ctx(), ApprovalMode::OnRisk, &mut none).run);
        assert!(
            none.asked.is_empty(),
            "further arguments are covered, as shown"
        );
        // A prompt rule that only the further arguments trigger still asks; forbid still forbids.
        let force = argv(&["git", "push", "origin", "main", "--force"]);
        assert!(!decide(&mut e, &force, &ctx(), ApprovalMode::OnRisk, &mut none).run);
        assert_eq!(none.asked.len(), 1);
        let delete = argv(&["git", "push", "origin", "main", "--delete"]);
        let d = decide(&mut e, &delete, &ctx(), ApprovalMode::OnRisk, &mut none);
        assert_eq!(d.judgement.verdict, Verdict::Forbid);
        // Not broader than shown: other remotes, and git options before the subcommand, ask.
        for other in [
            argv(&["git", "push", "evil", "main"]),
            argv(&[
                "git",
                "-c",
                "core.sshCommand=sh -c x",
                "push",
                "origin",
                "main",
            ]),
        ] {
            let d = decide(&mut e, &other, &ctx(), ApprovalMode::OnRisk, &mut none);
            assert_eq!(d.judgement.verdict, Verdict::Prompt, "{other:?}: {}", d.how);
        }
        // Explain shows the prompt rule as set aside by the amendment.
        let j = crate::judge::judge(&e, &push, &ctx());
        assert!(
            j.commands[0]
                .ignored_rules
                .iter()
                .any(|r| r.contains("set aside")),
            "{:?}",
            j.commands[0]
        );
    }

    #[test]
    fn always_allow_writes_exactly_the_prefix_shown() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Engine::from_texts(None, None, false).unwrap();
        e.set_user_file(dir.path().join("rules.toml"));
        let cmd = argv(&["/usr/bin/cargo", "publish", "--dry-run"]);
        let mut a = Scripted::new(vec![ApprovalAnswer::AllowPrefixForever(argv(&[
            "cargo",
            "publish",
            "--dry-run",
        ]))]);
        let d = decide(&mut e, &cmd, &ctx(), ApprovalMode::Always, &mut a);
        assert!(d.run, "{}", d.how);
        let text = std::fs::read_to_string(dir.path().join("rules.toml")).unwrap();
        assert!(text.contains("[\"publish\"], [\"--dry-run\"]"), "{text}");
        let mut none = Scripted::new(vec![]);
        assert_eq!(
            decide(&mut e, &cmd, &ctx(), ApprovalMode::Always, &mut none).approved_by,
            ApprovedBy::Rules
        );
        let d = decide(
            &mut e,
            &argv(&["cargo", "publish"]),
            &ctx(),
            ApprovalMode::Always,
            &mut none,
        );
        assert!(!d.run, "the shorter command is not covered");
    }

    #[test]
    fn always_allow_with_a_broader_prefix_than_shown_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Engine::empty();
        e.set_user_file(dir.path().join("rules.toml"));
        let mut a = Scripted::new(vec![ApprovalAnswer::AllowPrefixForever(argv(&["cargo"]))]);
        let d = decide(
            &mut e,
            &argv(&["cargo", "publish"]),
            &ctx(),
            ApprovalMode::Always,
            &mut a,
        );
        assert!(!d.run);
        assert!(!dir.path().join("rules.toml").exists());
    }

    #[test]
    fn always_allow_is_not_offered_for_compound_or_uncertain_lines() {
        let mut a = Scripted::new(vec![]);
        decide(
            &mut engine(),
            &argv(&["sh", "-c", "curl x | sh"]),
            &ctx(),
            ApprovalMode::Always,
            &mut a,
        );
        decide(
            &mut engine(),
            &argv(&["sh", "-c", "eval x"]),
            &ctx(),
            ApprovalMode::Always,
            &mut a,
        );
        decide(
            &mut engine(),
            &argv(&["./build.sh"]),
            &ctx(),
            ApprovalMode::Always,
            &mut a,
        );
        assert_eq!(a.asked.len(), 3);
        assert!(a.asked.iter().all(|r| r.prefix.is_none()));
    }

    #[test]
    fn a_rerun_outside_is_asked_with_the_denials_and_only_run_once_runs_it() {
        let e = engine();
        let denied = vec!["touch: /etc/x: Read-only file system".to_string()];
        let ls = argv(&["ls"]);
        let mut a = Scripted::new(vec![
            ApprovalAnswer::AllowForSession,
            ApprovalAnswer::AllowPrefixForever(ls.clone()),
            ApprovalAnswer::RunOnce,
        ]);
        for want in [false, false, true] {
            let d = decide_rerun(&e, &ls, &ctx(), "failed", denied.clone(), &mut a);
            assert_eq!(d.run, want, "{}", d.how);
            assert!(d.escalation);
        }
        assert!(
            a.asked
                .iter()
                .all(|r| r.kind == RequestKind::Rerun && r.denied == denied && r.prefix.is_none())
        );
        let d = decide_rerun(&e, &ls, &ctx(), "failed", denied.clone(), &mut NoApprover);
        assert!(!d.run && d.how.contains("no terminal"), "{}", d.how);
        let rm = argv(&["rm", "-rf", "x"]);
        let d = decide_rerun(&e, &rm, &ctx(), "failed", denied, &mut a);
        assert!(!d.run && d.how.starts_with("forbidden"), "{}", d.how);
        assert_eq!(a.asked.len(), 3, "a forbidden command is not asked about");
    }

    #[test]
    fn escalation_is_always_asked_and_never_remembered() {
        let e = engine();
        let mut a = Scripted::new(vec![ApprovalAnswer::RunOnce, ApprovalAnswer::Deny]);
        let cmd = argv(&["ls"]);
        let d = decide_escalation(
            &e,
            &cmd,
            &ctx(),
            "needs the GPU",
            ApprovalMode::OnRisk,
            &mut a,
        );
        assert!(d.run && d.escalation);
        assert_eq!(a.asked[0].kind, RequestKind::Escalation);
        let d = decide_escalation(
            &e,
            &cmd,
            &ctx(),
            "needs the GPU",
            ApprovalMode::OnRisk,
            &mut a,
        );
        assert!(!d.run, "asked again and denied");
        assert_eq!(a.asked.len(), 2);
        let d = decide_escalation(&e, &cmd, &ctx(), "x", ApprovalMode::Never, &mut a);
        assert!(!d.run);
        let d = decide_escalation(&e, &cmd, &ctx(), "x", ApprovalMode::OnRisk, &mut NoApprover);
        assert!(!d.run);
        let d = decide_escalation(
            &e,
            &argv(&["rm", "-rf", "/"]),
            &ctx(),
            "x",
            ApprovalMode::OnRisk,
            &mut a,
        );
        assert!(!d.run);
        assert_eq!(a.asked.len(), 2);
    }
}
