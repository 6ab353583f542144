//! Reading one rules file: `[[rule]]` tables (in `<config_dir>/rules.toml`, `paddock.toml` or
//! `.paddock/rules.toml`), checked at load time, examples included.
//!
//! A broken file is refused whole with file, line and column; a rule whose example does not
//! behave as stated is refused naming the rule and the example. Nothing is guessed. A semantic
//! error names the line of the value at fault (an example, an argument), from `toml::Spanned`.

use super::{ArgPattern, Rule, RuleOrigin, RuleSource, normalise_program};
use crate::decision::Decision;
use crate::error::RulesError;
use crate::parse::{Shell, SimpleCommand, Word};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    program: toml::Spanned<OneOrMany>,
    #[serde(default)]
    args: Vec<toml::Spanned<OneOrMany>>,
    decision: Decision,
    justification: Option<String>,
    #[serde(default)]
    options: Vec<toml::Spanned<OneOrMany>>,
    #[serde(default)]
    operands: Vec<toml::Spanned<OneOrMany>>,
    #[serde(default)]
    network: bool,
    #[serde(default)]
    examples_match: Vec<toml::Spanned<String>>,
    #[serde(default)]
    examples_not_match: Vec<toml::Spanned<String>>,
    /// Written by "always allow": see `Rule::amendment`.
    #[serde(default)]
    amendment: bool,
}

/// `<config_dir>/rules.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    #[serde(default)]
    trusted_projects: Vec<PathBuf>,
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

/// `paddock.toml`: the other keys belong to the policy config, which checks them.
#[derive(Debug, Deserialize)]
struct ProjectConfig {
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

/// `.paddock/rules.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectRules {
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

/// What kind of file is being read (decides which keys it may hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `<config_dir>/rules.toml`: rules and `trusted_projects`.
    User,
    /// `paddock.toml`: rules among the policy settings.
    ProjectConfig,
    /// `.paddock/rules.toml`: rules only.
    ProjectRules,
}

/// One file's rules (and, for the user file, its trusted projects).
#[derive(Debug, Clone, Default)]
pub struct LoadedFile {
    pub rules: Vec<Rule>,
    pub trusted_projects: Vec<PathBuf>,
}

/// Parses and checks one rules file's text.
pub fn parse(path: &Path, text: &str, kind: FileKind) -> Result<LoadedFile, RulesError> {
    let parse_err = |e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map(|s| LineIndex::new(text).line_col(text, s.start))
            .unwrap_or((1, 1));
        RulesError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    };
    let (raw, trusted) = match kind {
        FileKind::User => {
            let f: UserFile = toml::from_str(text).map_err(parse_err)?;
            (f.rule, f.trusted_projects)
        }
        FileKind::ProjectConfig => {
            let f: ProjectConfig = toml::from_str(text).map_err(parse_err)?;
            (f.rule, Vec::new())
        }
        FileKind::ProjectRules => {
            let f: ProjectRules = toml::from_str(text).map_err(parse_err)?;
            (f.rule, Vec::new())
        }
    };
    let source = if kind == FileKind::User {
        RuleSource::User
    } else {
        RuleSource::Project
    };
    let lines = LineIndex::new(text);
    let line_at = |offset: usize| lines.line(offset);
    let mut rules = Vec::new();
    for (i, spanned) in raw.into_iter().enumerate() {
        let line = line_at(spanned.span().start);
        let origin = RuleOrigin {
            source,
            path: path.to_path_buf(),
            index: i + 1,
            line,
        };
        rules.push(build(spanned.into_inner(), origin, kind, &line_at)?);
    }
    Ok(LoadedFile {
        rules,
        trusted_projects: trusted,
    })
}

/// Checks one rule; `line_at` turns a byte offset of the file into its line.
fn build(
    raw: RawRule,
    origin: RuleOrigin,
    kind: FileKind,
    line_at: &dyn Fn(usize) -> usize,
) -> Result<Rule, RulesError> {
    let invalid_at = |line: usize, message: String| RulesError::Invalid {
        path: origin.path.clone(),
        line,
        index: origin.index,
        message,
    };
    let invalid = |message: String| invalid_at(origin.line, message);
    let program_line = line_at(raw.program.span().start);
    let programs: Vec<String> = raw.program.into_inner().into_vec();
    if programs.is_empty() || programs.iter().any(|p| p.trim().is_empty()) {
        return Err(invalid_at(
            program_line,
            "`program` must be a non-empty name or a list of non-empty names".into(),
        ));
    }
    let mut args = Vec::new();
    for (k, a) in raw.args.into_iter().enumerate() {
        let line = line_at(a.span().start);
        args.push(match a.into_inner() {
            OneOrMany::One(s) if s == "*" => ArgPattern::Any,
            OneOrMany::One(s) => ArgPattern::Literal(s),
            OneOrMany::Many(v) if v.is_empty() => {
                return Err(invalid_at(
                    line,
                    format!(
                        "argument {} is an empty list of alternatives: it could never match",
                        k + 1
                    ),
                ));
            }
            OneOrMany::Many(v) => ArgPattern::OneOf(v),
        });
    }
    if raw.amendment {
        if kind != FileKind::User {
            return Err(invalid(
                "`amendment = true` belongs in your user rules file only; a project may not \
                 outrank prompt rules"
                    .into(),
            ));
        }
        let exact = args.iter().all(|a| match a {
            ArgPattern::Literal(l) => l != "*",
            ArgPattern::OneOf(v) => v.len() == 1,
            ArgPattern::Any => false,
        });
        if raw.decision != Decision::Allow || programs.len() != 1 || !exact {
            return Err(invalid(
                "an amendment is an allow rule for one program and exact words (no `*`, no \
                 alternatives); remove `amendment` to make it an ordinary rule"
                    .into(),
            ));
        }
    }
    let conditional = !raw.options.is_empty() || !raw.operands.is_empty() || raw.network;
    if conditional && raw.decision == Decision::Allow {
        return Err(invalid(
            "`options`, `operands` and `network` may only narrow prompt and forbid rules; write an allow rule with `args` instead".into(),
        ));
    }
    let groups =
        |v: Vec<toml::Spanned<OneOrMany>>, what: &str| -> Result<Vec<Vec<String>>, RulesError> {
            v.into_iter()
                .map(|g| {
                    let line = line_at(g.span().start);
                    let g = g.into_inner().into_vec();
                    if g.is_empty() || g.iter().any(|x| x.is_empty()) {
                        Err(invalid_at(
                            line,
                            format!("an entry of `{what}` is empty: it could never match"),
                        ))
                    } else {
                        Ok(g)
                    }
                })
                .collect()
        };
    let rule = Rule {
        amendment: raw.amendment,
        programs: programs.iter().map(|p| normalise_program(p)).collect(),
        args,
        decision: raw.decision,
        justification: raw.justification,
        origin: origin.clone(),
        inactive: None,
        options: groups(raw.options, "options")?,
        operands: groups(raw.operands, "operands")?,
        network: raw.network,
    };
    let example_err = |example: &toml::Spanned<String>, problem: String| RulesError::Example {
        path: origin.path.clone(),
        line: line_at(example.span().start),
        index: origin.index,
        example: example.to_string(),
        problem,
    };
    for (examples, want) in [
        (&raw.examples_match, true),
        (&raw.examples_not_match, false),
    ] {
        for ex in examples {
            let argv = crate::shlex::split(ex.get_ref()).map_err(|e| example_err(ex, e))?;
            if argv.is_empty() {
                return Err(example_err(ex, "is empty".into()));
            }
            let cmd = SimpleCommand::new(argv.into_iter().map(Word::lit).collect(), Shell::Direct);
            let matched = rule.matches(&cmd) == super::Match::Yes;
            if matched != want {
                let problem = if want {
                    format!(
                        "is listed in examples_match but `{}` does not match it",
                        rule.pattern()
                    )
                } else {
                    format!(
                        "is listed in examples_not_match but `{}` matches it",
                        rule.pattern()
                    )
                };
                return Err(example_err(ex, problem));
            }
        }
    }
    Ok(rule)
}

/// The byte offsets at which a text's lines start, so that turning an offset into a line is a
/// binary search instead of a count of the newlines before it (which made loading the built-in
/// list quadratic: a fifth of `paddock run`'s instructions).
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// The 1-based line of byte `offset`.
    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset)
    }

    /// The 1-based line and column (in characters) of byte `offset` of `text`.
    fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.line(offset);
        let start = self.starts[line - 1];
        let column = text.get(start..offset).map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }
}

/// `s` as a TOML basic string in which every hidden character (`paddock_core::text`) is a
/// `\uXXXX` escape, so that the rules file shows no control or bidi character when printed.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if paddock_core::text::is_hidden(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The TOML text of an allow rule for exactly `prefix` (program then arguments), as appended to
/// the user's rules file by "always allow": an amendment (see `Rule::amendment`). Arguments are
/// written as one-element lists, where `*` is literal, so the rule is never broader than the
/// prefix.
pub fn allow_prefix_rule_text(prefix: &[String], comment: &str) -> String {
    let q = toml_string;
    let args: Vec<String> = prefix[1..].iter().map(|a| format!("[{}]", q(a))).collect();
    let comment = paddock_core::text::escape(comment);
    format!(
        "\n# {comment}\n[[rule]]\nprogram = {}\nargs = [{}]\ndecision = \"allow\"\namendment = true\nexamples_match = [{}]\n",
        q(&prefix[0]),
        args.join(", "),
        q(&crate::shlex::join(prefix)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<LoadedFile, RulesError> {
        parse(Path::new("rules.toml"), text, FileKind::User)
    }

    #[test]
    fn a_valid_file_loads_with_origins() {
        let text = r#"
trusted_projects = ["~/src/mine"]

[[rule]]
program = "git"
args = ["push"]
decision = "prompt"
examples_match = ["git push origin main"]
examples_not_match = ["git pull"]

[[rule]]
program = ["rm", "rmdir"]
args = [["-rf", "-fr"], "*"]
decision = "forbid"
justification = "use `trash` instead"
examples_match = ["rm -rf build", "rmdir -fr x"]
examples_not_match = ["rm -r x", "rm -rf"]
"#;
        let f = load(text).unwrap();
        assert_eq!(f.rules.len(), 2);
        assert_eq!(f.rules[0].origin.line, 4);
        assert_eq!(f.rules[1].origin.index, 2);
        assert_eq!(f.rules[1].origin.line, 11);
        assert_eq!(f.rules[1].pattern(), "[rm|rmdir] [-rf|-fr] *");
        assert_eq!(f.trusted_projects, [PathBuf::from("~/src/mine")]);
    }

    #[test]
    fn a_failing_example_refuses_the_file_naming_rule_and_example() {
        let text = "[[rule]]\nprogram = \"git\"\ndecision = \"allow\"\n\n[[rule]]\nprogram = \"git\"\nargs = [\"push\"]\ndecision = \"forbid\"\nexamples_match = [\"git pull\"]\n";
        let err = load(text).unwrap_err().to_string();
        assert!(err.starts_with("rules.toml:9: rule 2:"), "{err}");
        assert!(err.contains("`git pull`"), "{err}");
        let text = "[[rule]]\nprogram = \"git\"\ndecision = \"allow\"\nexamples_not_match = [\"git status\"]\n";
        let err = load(text).unwrap_err().to_string();
        assert!(
            err.contains("rule 1") && err.contains("examples_not_match"),
            "{err}"
        );
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let cases = [
            ("[[rule]]\nprogram = \"git\"\ndecision = \"maybe\"\n", 3),
            ("[[rule]]\nprogram = \"git\"\n", 1),
            (
                "[[rule]]\nprogram = \"git\"\ndecision = \"allow\"\nunknown = 1\n",
                4,
            ),
            ("[[rule]\n", 1),
            ("bogus = 1\n", 1),
        ];
        for (text, line) in cases {
            match load(text) {
                Err(RulesError::Parse { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn semantic_errors_name_the_line_of_the_value_at_fault() {
        let rule =
            |body: &str| format!("[[rule]]\nprogram = \"git\"\ndecision = \"prompt\"\n{body}");
        let cases = [
            (
                rule(
                    "examples_match = [\n  \"git push\",\n  \"git pull\",\n]\nargs = [\"push\"]\n",
                ),
                "rules.toml:6: rule 1: example `git pull`",
            ),
            (
                rule(
                    "examples_not_match = [\"git pull\",\n  \"git push -f\"]\nargs = [\"push\"]\n",
                ),
                "rules.toml:5: rule 1: example `git push -f`",
            ),
            (
                rule("args = [\n  \"push\",\n  [],\n]\n"),
                "rules.toml:6: rule 1: argument 2",
            ),
            (
                rule("operands = [\n  \"x\",\n  [\"\"],\n]\n"),
                "rules.toml:6: rule 1: an entry of `operands`",
            ),
            (
                "[[rule]]\ndecision = \"prompt\"\n\nprogram = \"\"\n".to_string(),
                "rules.toml:4: rule 1: `program`",
            ),
        ];
        for (text, want) in cases {
            let err = load(&text).unwrap_err().to_string();
            assert!(err.starts_with(want), "{text}\nwant {want}\ngot {err}");
        }
    }

    #[test]
    fn invalid_rules_are_refused() {
        for text in [
            "[[rule]]\nprogram = \"\"\ndecision = \"allow\"\n",
            "[[rule]]\nprogram = []\ndecision = \"allow\"\n",
            "[[rule]]\nprogram = \"x\"\nargs = [[]]\ndecision = \"allow\"\n",
            "[[rule]]\nprogram = \"x\"\ndecision = \"allow\"\nexamples_match = [\"x 'open\"]\n",
        ] {
            assert!(load(text).is_err(), "{text}");
        }
    }

    #[test]
    fn an_amendment_for_a_word_with_control_characters_reloads_and_stays_exact() {
        let prefix: Vec<String> = ["printf", "a\r\x1b[2Kb", "\u{202e}x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = allow_prefix_rule_text(&prefix, "always allow `x\ny`\r\x1b[2K");
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && paddock_core::text::is_hidden(c)),
            "{text:?}"
        );
        let f = load(&text).expect("the written rule loads, its example included");
        let ok = SimpleCommand::new(
            prefix.iter().cloned().map(Word::lit).collect(),
            Shell::Direct,
        );
        assert_eq!(f.rules[0].matches(&ok), super::super::Match::Yes);
        let plain = SimpleCommand::new(
            ["printf", "ab", "x"].into_iter().map(Word::lit).collect(),
            Shell::Direct,
        );
        assert_eq!(f.rules[0].matches(&plain), super::super::Match::No);
    }

    #[test]
    fn amendments_are_exact_user_allow_rules_only() {
        let ok = "[[rule]]\nprogram = \"git\"\nargs = [\"push\", [\"origin\"]]\ndecision = \"allow\"\namendment = true\n";
        assert!(load(ok).unwrap().rules[0].amendment);
        for bad in [
            "[[rule]]\nprogram = \"git\"\nargs = [\"*\"]\ndecision = \"allow\"\namendment = true\n",
            "[[rule]]\nprogram = \"git\"\nargs = [[\"a\", \"b\"]]\ndecision = \"allow\"\namendment = true\n",
            "[[rule]]\nprogram = [\"git\", \"hg\"]\ndecision = \"allow\"\namendment = true\n",
            "[[rule]]\nprogram = \"git\"\ndecision = \"prompt\"\namendment = true\n",
        ] {
            assert!(load(bad).is_err(), "{bad}");
        }
        let err = parse(Path::new(".paddock/rules.toml"), ok, FileKind::ProjectRules)
            .unwrap_err()
            .to_string();
        assert!(err.contains("user rules file only"), "{err}");
    }

    #[test]
    fn project_files_may_not_trust_projects() {
        let text = "trusted_projects = [\".\"]\n";
        assert!(
            parse(
                Path::new(".paddock/rules.toml"),
                text,
                FileKind::ProjectRules
            )
            .is_err()
        );
        let cfg = "mode = \"read-only\"\n[[rule]]\nprogram = \"x\"\ndecision = \"forbid\"\n";
        let f = parse(Path::new("paddock.toml"), cfg, FileKind::ProjectConfig).unwrap();
        assert_eq!(f.rules[0].origin.source, RuleSource::Project);
    }

    #[test]
    fn allow_prefix_rule_is_exactly_the_prefix() {
        let prefix: Vec<String> = ["git", "push", "*", "it's \"q\""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = allow_prefix_rule_text(&prefix, "approved");
        let f = load(&text).unwrap();
        let r = &f.rules[0];
        assert_eq!(r.decision, Decision::Allow);
        assert!(r.amendment);
        let ok = SimpleCommand::new(
            prefix.iter().cloned().map(Word::lit).collect(),
            Shell::Direct,
        );
        assert_eq!(r.matches(&ok), super::super::Match::Yes);
        let mut other = prefix.clone();
        other[2] = "main".into();
        let other = SimpleCommand::new(other.into_iter().map(Word::lit).collect(), Shell::Direct);
        assert_eq!(r.matches(&other), super::super::Match::No);
    }
}
