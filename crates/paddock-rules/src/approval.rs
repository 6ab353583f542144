//! Approvals: who may let a command run that the rules do not allow outright, and `decide`, the
//! single place that turns a judgement, the approval mode and an answer into "run" or "refuse".
//!
//! Fail closed: a forbidden command never runs; with `approval = never` or without a terminal a
//! command needing approval is refused; "always allow" writes exactly the prefix shown, never
//! broader. Running outside the sandbox (escalation) is its own request and is never remembered.

use crate::context::Context;
use crate::judge::{Judgement, Verdict, judge};
use crate::parse::names::{is_relative_path, program_key};
use crate::rules::engine::Engine;
use paddock_core::policy::ApprovalMode;
use serde::Serialize;
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// What is being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestKind {
    /// Run this command inside the sandbox.
    Command,
    /// Run this command outside the sandbox, with the caller's full rights.
    Escalation,
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
}

/// An approver's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "answer", content = "prefix")]
pub enum ApprovalAnswer {
    RunOnce,
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

/// Asks on the controlling terminal (`/dev/tty`, or `CONIN$`/`CONOUT$` on Windows), never on the
/// command's own stdin, so piped input cannot answer for the user.
pub struct TerminalApprover {
    input: Box<dyn BufRead>,
    output: Box<dyn Write>,
}

impl TerminalApprover {
    /// Opens the controlling terminal.
    pub fn open() -> std::io::Result<TerminalApprover> {
        let (inp, out) = if cfg!(windows) {
            ("CONIN$", "CONOUT$")
        } else {
            ("/dev/tty", "/dev/tty")
        };
        let input = std::fs::File::open(inp)?;
        let output = std::fs::OpenOptions::new().write(true).open(out)?;
        Ok(TerminalApprover::with_io(
            Box::new(std::io::BufReader::new(input)),
            Box::new(output),
        ))
    }

    /// An approver reading answers from `input` and writing prompts to `output`.
    pub fn with_io(input: Box<dyn BufRead>, output: Box<dyn Write>) -> TerminalApprover {
        TerminalApprover { input, output }
    }

    fn prompt(&mut self, req: &ApprovalRequest) -> std::io::Result<String> {
        let o = &mut self.output;
        match req.kind {
            RequestKind::Command => writeln!(o, "paddock: approval needed")?,
            RequestKind::Escalation => {
                writeln!(o, "paddock: run OUTSIDE the sandbox?")?;
                writeln!(
                    o,
                    "  WARNING: the command would run with your full rights; no sandbox limit applies."
                )?;
            }
        }
        writeln!(o, "  command: {}", crate::shlex::join(&req.argv))?;
        writeln!(o, "  cwd:     {}", req.cwd.display())?;
        writeln!(o, "  why:     {}", req.reason)?;
        if !req.sandbox_summary.is_empty() {
            let label = match req.kind {
                RequestKind::Command => "sandbox:",
                RequestKind::Escalation => "instead of the sandbox:",
            };
            writeln!(o, "  {label} {}", req.sandbox_summary)?;
        }
        match (req.kind, &req.prefix) {
            (RequestKind::Escalation, _) => {
                write!(o, "  [y] run once unconfined  [n] deny (default) > ")?
            }
            (RequestKind::Command, Some(p)) => write!(
                o,
                "  [y] run once  [s] allow for this session  [a] always allow commands starting with `{}`  [n] deny (default) > ",
                crate::shlex::join(p)
            )?,
            (RequestKind::Command, None) => write!(
                o,
                "  [y] run once  [s] allow for this session  [n] deny (default) > "
            )?,
        }
        o.flush()?;
        let mut line = String::new();
        self.input.read_line(&mut line)?;
        Ok(line.trim().to_ascii_lowercase())
    }
}

impl Approver for TerminalApprover {
    fn ask(&mut self, req: &ApprovalRequest) -> ApprovalAnswer {
        let Ok(answer) = self.prompt(req) else {
            return ApprovalAnswer::Deny;
        };
        match (req.kind, answer.as_str()) {
            (_, "y" | "yes") => ApprovalAnswer::RunOnce,
            (RequestKind::Command, "s" | "session") => ApprovalAnswer::AllowForSession,
            (RequestKind::Command, "a" | "always") => match &req.prefix {
                Some(p) => ApprovalAnswer::AllowPrefixForever(p.clone()),
                None => ApprovalAnswer::Deny,
            },
            _ => ApprovalAnswer::Deny,
        }
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
    if engine.session_allows(argv) {
        return FinalDecision::new(
            j,
            true,
            ApprovedBy::Session,
            "allowed earlier in this session".into(),
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
    };
    let answer = approver.ask(&req);
    let mut out = match &answer {
        ApprovalAnswer::RunOnce => {
            FinalDecision::new(j, true, ApprovedBy::User, "approved once".into())
        }
        ApprovalAnswer::AllowForSession => {
            engine.allow_for_session(argv);
            FinalDecision::new(
                j,
                true,
                ApprovedBy::User,
                "approved for this session".into(),
            )
        }
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
    let j = judge(engine, argv, ctx);
    let refuse = |j: Judgement, how: String| {
        let mut d = FinalDecision::new(j, false, ApprovedBy::Nobody, how);
        d.escalation = true;
        d
    };
    if j.verdict == Verdict::Forbid {
        let how = format!("forbidden: {}", j.reason());
        return refuse(j, how);
    }
    if mode == ApprovalMode::Never {
        return refuse(
            j,
            "refused: running outside the sandbox needs approval and approval = never".into(),
        );
    }
    if !approver.available() {
        return refuse(
            j,
            "refused: running outside the sandbox needs approval and no terminal is available"
                .into(),
        );
    }
    let req = ApprovalRequest {
        kind: RequestKind::Escalation,
        argv: argv.to_vec(),
        cwd: ctx.cwd.clone(),
        reason: why.to_string(),
        sandbox_summary: ctx.sandbox_summary.clone(),
        prefix: None,
    };
    let answer = approver.ask(&req);
    let mut d = if answer == ApprovalAnswer::Deny {
        refuse(j, "escalation denied by the user".into())
    } else {
        let mut d = FinalDecision::new(
            j,
            true,
            ApprovedBy::User,
            "approved to run outside the sandbox, this once (escalations are never remembered)"
                .into(),
        );
        d.escalation = true;
        d
    };
    d.answer = Some(answer);
    d
}

fn mode_name(mode: ApprovalMode) -> &'static str {
    match mode {
        ApprovalMode::Never => "never",
        ApprovalMode::OnRisk => "on-risk",
        ApprovalMode::Always => "always",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn session_approval_covers_exactly_the_same_argv() {
        let mut e = engine();
        let mut a = Scripted::new(vec![ApprovalAnswer::AllowForSession]);
        let push = argv(&["git", "push"]);
        assert!(decide(&mut e, &push, &ctx(), ApprovalMode::OnRisk, &mut a).run);
        let again = decide(&mut e, &push, &ctx(), ApprovalMode::OnRisk, &mut a);
        assert!(again.run);
        assert_eq!(again.approved_by, ApprovedBy::Session);
        let other = decide(
            &mut e,
            &argv(&["git", "push", "--tags"]),
            &ctx(),
            ApprovalMode::OnRisk,
            &mut a,
        );
        assert!(!other.run, "a different argv is asked again (and denied)");
        assert_eq!(a.asked.len(), 2);
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
    fn escalation_is_always_asked_and_never_remembered() {
        let e = engine();
        let mut a = Scripted::new(vec![ApprovalAnswer::AllowForSession, ApprovalAnswer::Deny]);
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

    #[test]
    fn terminal_approver_reads_answers_and_shows_the_request() {
        let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        struct Sink(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let input = std::io::Cursor::new(b"s\na\nyes\n\n".to_vec());
        let mut t = TerminalApprover::with_io(Box::new(input), Box::new(Sink(out.clone())));
        let req = ApprovalRequest {
            kind: RequestKind::Command,
            argv: argv(&["git", "push"]),
            cwd: "/w".into(),
            reason: "rule 1".into(),
            sandbox_summary: "network: off".into(),
            prefix: Some(argv(&["git", "push"])),
        };
        assert_eq!(t.ask(&req), ApprovalAnswer::AllowForSession);
        assert_eq!(
            t.ask(&req),
            ApprovalAnswer::AllowPrefixForever(argv(&["git", "push"]))
        );
        assert_eq!(t.ask(&req), ApprovalAnswer::RunOnce);
        assert_eq!(t.ask(&req), ApprovalAnswer::Deny, "empty answer denies");
        assert_eq!(t.ask(&req), ApprovalAnswer::Deny, "end of input denies");
        let shown = String::from_utf8(out.borrow().clone()).unwrap();
        for part in ["git push", "/w", "rule 1", "network: off", "always allow"] {
            assert!(shown.contains(part), "{part} in {shown}");
        }
    }

    #[test]
    fn terminal_escalation_offers_only_run_once_or_deny() {
        let input = std::io::Cursor::new(b"s\n".to_vec());
        let mut t = TerminalApprover::with_io(Box::new(input), Box::new(std::io::sink()));
        let req = ApprovalRequest {
            kind: RequestKind::Escalation,
            argv: argv(&["ls"]),
            cwd: "/w".into(),
            reason: "x".into(),
            sandbox_summary: String::new(),
            prefix: None,
        };
        assert_eq!(t.ask(&req), ApprovalAnswer::Deny);
    }
}
