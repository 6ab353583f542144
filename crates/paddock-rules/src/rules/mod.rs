//! Command rules: a program (or alternatives) and an argument prefix, with a decision.
//!
//! A rule matches a simple command when one of its program names equals one of the command's
//! names (basename, lower case, no `.exe`) and each argument pattern matches the argument at
//! the same position. Arguments only known at run time "may match": for `prompt` and `forbid`
//! rules that is enough to ask; an `allow` rule never matches them.

pub mod builtin;
pub mod engine;
pub mod file;

use crate::decision::Decision;
use crate::parse::names::{is_relative_path, program_key};
use crate::parse::{Shell, SimpleCommand, Word, getopt};
use serde::Serialize;
use std::path::PathBuf;

/// One argument pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArgPattern {
    /// `"*"`: any one argument.
    Any,
    /// A literal token.
    Literal(String),
    /// `["a", "b"]`: any of these literal tokens (`*` is literal here).
    OneOf(Vec<String>),
}

impl ArgPattern {
    fn matches(&self, arg: &str, fold_case: bool) -> bool {
        let eq = |lit: &String| {
            if fold_case {
                lit.eq_ignore_ascii_case(arg) || lit.to_lowercase() == arg.to_lowercase()
            } else {
                lit == arg
            }
        };
        match self {
            ArgPattern::Any => true,
            ArgPattern::Literal(l) => eq(l),
            ArgPattern::OneOf(ls) => ls.iter().any(eq),
        }
    }

    /// The pattern as written in a rules file.
    pub fn display(&self) -> String {
        match self {
            ArgPattern::Any => "*".into(),
            ArgPattern::Literal(l) => crate::shlex::quote(l),
            ArgPattern::OneOf(ls) => format!("[{}]", ls.join("|")),
        }
    }
}

/// Which file a rule came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleSource {
    User,
    Project,
    /// Paddock's own list of destructive and outbound actions (`rules/builtin.toml`).
    Builtin,
}

/// Where a rule is written: for messages, explain and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleOrigin {
    pub source: RuleSource,
    pub path: PathBuf,
    /// 1-based position of the rule in its file.
    pub index: usize,
    pub line: usize,
}

impl std::fmt::Display for RuleOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rule {} ({}:{})",
            self.index,
            self.path.display(),
            self.line
        )
    }
}

/// One loaded rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Normalised program names (any of them matches).
    pub programs: Vec<String>,
    pub args: Vec<ArgPattern>,
    pub decision: Decision,
    pub justification: Option<String>,
    pub origin: RuleOrigin,
    /// Why the rule is not applied (an allow rule from an untrusted project), if it is not.
    pub inactive: Option<String>,
    /// Written by "always allow" (`amendment = true`, user file only): an allow rule for an
    /// exact word prefix that outranks the `prompt` rules that prefix itself triggers (see
    /// `Engine::matching`). Matched word by word: git's global options are not skipped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub amendment: bool,
    /// Options that must all be present (each entry: any of its alternatives), read as the
    /// program reads them (see `option_present`). Only on prompt and forbid rules.
    pub options: Vec<Vec<String>>,
    /// Operands that must all be present (each entry: any of its alternatives; literal, or
    /// `glob:PATTERN` with `*` wildcards). Only on prompt and forbid rules.
    pub operands: Vec<Vec<String>>,
    /// The rule applies only when the command can reach the network.
    pub network: bool,
}

/// How a rule relates to a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    No,
    Yes,
    /// Matches unless an argument only known at run time differs.
    Maybe,
}

impl Rule {
    /// Matches this rule against one simple command.
    pub fn matches(&self, cmd: &SimpleCommand) -> Match {
        let Some(first) = cmd.words.first() else {
            return Match::No;
        };
        if first.dynamic {
            return Match::No;
        }
        if self.decision == Decision::Allow && is_relative_path(&first.text) {
            return Match::No;
        }
        let names = cmd.names();
        if !self.programs.iter().any(|p| names.contains(p)) {
            return Match::No;
        }
        let fold = matches!(cmd.shell, Shell::PowerShell | Shell::Cmd);
        let args = match names.first().map(String::as_str) {
            Some("git") if !self.amendment => skip_git_global_options(&cmd.words[1..]),
            _ => &cmd.words[1..],
        };
        let mut result = Match::Yes;
        for (i, pat) in self.args.iter().enumerate() {
            let Some(word) = args.get(i) else {
                return Match::No;
            };
            if word.dynamic {
                if pat != &ArgPattern::Any {
                    result = Match::Maybe;
                }
            } else if !pat.matches(&word.text, fold) {
                return Match::No;
            }
        }
        if result == Match::Maybe && self.decision == Decision::Allow {
            return Match::No;
        }
        let rest = &args[self.args.len().min(args.len())..];
        let program = names.first().map(String::as_str).unwrap_or("");
        for alternatives in &self.options {
            match alternatives
                .iter()
                .map(|o| option_present(o, rest, program, cmd.shell))
                .max_by_key(|m| match m {
                    Match::No => 0,
                    Match::Maybe => 1,
                    Match::Yes => 2,
                }) {
                Some(Match::Yes) => {}
                Some(Match::Maybe) => result = Match::Maybe,
                _ => return Match::No,
            }
        }
        for alternatives in &self.operands {
            match operand_present(alternatives, rest, program, cmd.shell) {
                Match::Yes => {}
                Match::Maybe => result = Match::Maybe,
                Match::No => return Match::No,
            }
        }
        result
    }

    /// False for a network-only rule when the command cannot reach the network.
    pub fn applies(&self, network: bool) -> bool {
        network || !self.network
    }

    /// The rule as a short pattern: `git push *`, `rm ... -r ... [.|~]`.
    pub fn pattern(&self) -> String {
        let mut out = if self.programs.len() == 1 {
            self.programs[0].clone()
        } else {
            format!("[{}]", self.programs.join("|"))
        };
        for a in &self.args {
            out.push(' ');
            out.push_str(&a.display());
        }
        for group in self.options.iter().chain(&self.operands) {
            out.push_str(" ... ");
            if group.len() == 1 {
                out.push_str(&group[0]);
            } else {
                out.push_str(&format!("[{}]", group.join("|")));
            }
        }
        if self.network {
            out.push_str(" (network on)");
        }
        out
    }

    /// An amendment's prefix as the command it was approved for (`None` for other rules).
    pub fn amendment_prefix(&self, shell: Shell) -> Option<SimpleCommand> {
        if !self.amendment {
            return None;
        }
        let mut words = vec![crate::parse::Word::lit(self.programs.first()?.clone())];
        for a in &self.args {
            words.push(crate::parse::Word::lit(match a {
                ArgPattern::Literal(l) => l.clone(),
                ArgPattern::OneOf(ls) if ls.len() == 1 => ls[0].clone(),
                _ => return None,
            }));
        }
        Some(SimpleCommand::new(words, shell))
    }

    /// A one-line description for explain and approval prompts.
    pub fn describe(&self) -> String {
        let mut s = format!("{} `{}` -> {}", self.origin, self.pattern(), self.decision);
        if let Some(j) = &self.justification {
            s.push_str(&format!(" ({j})"));
        }
        s
    }
}

/// git's options before the subcommand (`git -C dir -c k=v --no-pager push`): rules on
/// `git push` must match however many of them come first.
fn skip_git_global_options(args: &[crate::parse::Word]) -> &[crate::parse::Word] {
    const WITH_VALUE: &[&str] = &[
        "-C",
        "-c",
        "--git-dir",
        "--work-tree",
        "--namespace",
        "--exec-path",
        "--super-prefix",
        "--config-env",
        "--list-cmds",
        "--attr-source",
    ];
    let mut i = 0;
    while let Some(w) = args.get(i) {
        if w.dynamic || !w.text.starts_with('-') || w.text == "-" {
            break;
        }
        i += if WITH_VALUE.contains(&w.text.as_str()) {
            2
        } else {
            1
        };
    }
    &args[i.min(args.len())..]
}

fn rank(m: Match) -> u8 {
    match m {
        Match::No => 0,
        Match::Maybe => 1,
        Match::Yes => 2,
    }
}

/// A word only known at run time that may stand for any option or operand (`$FLAGS`).
fn may_be_anything(w: &Word) -> bool {
    w.dynamic
        && w.text
            .trim_start_matches(['"', '\''])
            .starts_with(['$', '`'])
}

/// Whether option `pattern` (`-r`, `--force`, `-X=POST`) is among `words`, read the way the
/// program reads its options: with its getopt table when Paddock has one; else short clusters
/// (`-rf`), long options and their unique abbreviations (`--forc`), attached (`=v`) or separate
/// values; PowerShell parameters by case-insensitive prefix (`-Rec`, `-Method:Post`); cmd
/// switches (`/s`, `/S/Q`).
pub fn option_present(pattern: &str, words: &[Word], program: &str, shell: Shell) -> Match {
    let (name, value) = match pattern.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (pattern, None),
    };
    let value_ok = |v: Option<&Word>| match (value, v) {
        (None, _) => Match::Yes,
        (Some(_), Some(w)) if may_be_anything(w) => Match::Maybe,
        (Some(want), Some(w)) => {
            if w.text.eq_ignore_ascii_case(want) {
                Match::Yes
            } else {
                Match::No
            }
        }
        (Some(_), None) => Match::No,
    };
    let mut best = Match::No;
    let note = |m: Match, best: &mut Match| {
        if rank(m) > rank(*best) {
            *best = m;
        }
    };
    if shell == Shell::PowerShell || shell == Shell::Cmd {
        let lname = name.to_ascii_lowercase();
        for (i, w) in words.iter().enumerate() {
            if may_be_anything(w) {
                note(Match::Maybe, &mut best);
                continue;
            }
            let t = w.text.to_ascii_lowercase();
            if shell == Shell::Cmd {
                if t.split('/').skip(1).any(|sw| format!("/{sw}") == lname) {
                    note(Match::Yes, &mut best);
                }
                continue;
            }
            let (given, attached) = match t.split_once(':') {
                Some((g, v)) => (g.to_string(), Some(v.to_string())),
                None => (t.clone(), None),
            };
            if given.len() > 1 && given.starts_with('-') && lname.starts_with(&given) {
                let v = match attached {
                    Some(a) => Some(Word::lit(a)),
                    None => words.get(i + 1).cloned(),
                };
                note(value_ok(v.as_ref()), &mut best);
            }
        }
        return best;
    }
    if let Some(spec) = crate::parse::specs::for_program(program) {
        let canonical = match name.strip_prefix("--") {
            Some(long) => spec
                .long
                .iter()
                .find(|(n, _, _)| *n == long)
                .and_then(|(_, _, s)| s.map(|c| format!("-{c}")))
                .unwrap_or_else(|| name.to_string()),
            None => name.to_string(),
        };
        let parsed = getopt::parse(spec, words);
        for o in parsed.opts.iter().filter(|o| o.name == canonical) {
            note(value_ok(o.value.as_ref()), &mut best);
        }
        if words.iter().any(may_be_anything) {
            note(Match::Maybe, &mut best);
        }
        return best;
    }
    for (i, w) in words.iter().enumerate() {
        if w.text == "--" {
            break;
        }
        if may_be_anything(w) {
            note(Match::Maybe, &mut best);
            continue;
        }
        let t = w.text.as_str();
        if let Some(long) = t.strip_prefix("--") {
            let Some(want) = name.strip_prefix("--") else {
                continue;
            };
            let (given, attached) = match long.split_once('=') {
                Some((g, v)) => (g, Some(Word::lit(v))),
                None => (long, None),
            };
            if !given.is_empty() && want.starts_with(given) {
                let v = attached.or_else(|| words.get(i + 1).cloned());
                note(value_ok(v.as_ref()), &mut best);
            }
        } else if let Some(cluster) = t.strip_prefix('-') {
            let Some(letter) = name.strip_prefix('-').filter(|n| n.chars().count() == 1) else {
                continue;
            };
            if let Some(pos) = cluster.find(letter) {
                let rest = &cluster[pos + letter.len()..];
                let v = if rest.is_empty() {
                    words.get(i + 1).cloned()
                } else {
                    Some(Word::lit(rest))
                };
                note(value_ok(v.as_ref()), &mut best);
            }
        }
    }
    best
}

/// Whether an operand (a word that is not an option) matches one of `patterns` (literal, or
/// `glob:PATTERN` where `*` matches any text; case-insensitive for cmd and PowerShell). A word
/// that is only a run-time value (`$DIR`) may match.
fn operand_present(patterns: &[String], words: &[Word], program: &str, shell: Shell) -> Match {
    let fold = matches!(shell, Shell::PowerShell | Shell::Cmd);
    let operands: Vec<Word> = match crate::parse::specs::for_program(program) {
        Some(spec) if !fold => getopt::parse(spec, words).operands,
        _ => words
            .iter()
            .filter(|w| {
                !((w.text.starts_with('-') && w.text.len() > 1)
                    || (fold && w.text.starts_with('/') && w.text.len() == 2))
            })
            .cloned()
            .collect(),
    };
    let mut best = Match::No;
    for w in &operands {
        let m = if may_be_anything(w) {
            Match::Maybe
        } else if patterns.iter().any(|p| match p.strip_prefix("glob:") {
            Some(g) => glob(g, &w.text, fold),
            None if fold => p.to_lowercase() == w.text.to_lowercase(),
            None => *p == w.text,
        }) {
            Match::Yes
        } else {
            Match::No
        };
        if rank(m) > rank(best) {
            best = m;
        }
    }
    best
}

/// `*`-only glob match.
fn glob(pattern: &str, text: &str, fold: bool) -> bool {
    let (p, t) = if fold {
        (pattern.to_lowercase(), text.to_lowercase())
    } else {
        (pattern.to_string(), text.to_string())
    };
    if !p.contains('*') {
        return p == t;
    }
    let parts: Vec<&str> = p.split('*').collect();
    let mut rest = t.as_str();
    for (k, part) in parts.iter().enumerate() {
        if k == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if k == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Normalises a program name as written in a rule.
pub fn normalise_program(p: &str) -> String {
    program_key(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(programs: &[&str], args: Vec<ArgPattern>, decision: Decision) -> Rule {
        Rule {
            programs: programs.iter().map(|p| normalise_program(p)).collect(),
            args,
            decision,
            justification: None,
            amendment: false,
            origin: RuleOrigin {
                source: RuleSource::User,
                path: "rules.toml".into(),
                index: 1,
                line: 1,
            },
            inactive: None,
            options: Vec::new(),
            operands: Vec::new(),
            network: false,
        }
    }

    fn cmd(line: &str, shell: Shell) -> SimpleCommand {
        let words = crate::shlex::split(line)
            .unwrap()
            .into_iter()
            .map(Word::lit)
            .collect();
        SimpleCommand::new(words, shell)
    }

    fn lit(s: &str) -> ArgPattern {
        ArgPattern::Literal(s.into())
    }

    #[test]
    fn rule_matching_table() {
        use ArgPattern::*;
        let push = rule(&["git"], vec![lit("push")], Decision::Prompt);
        let rm = rule(
            &["rm"],
            vec![OneOf(vec!["-rf".into(), "-fr".into()]), Any],
            Decision::Forbid,
        );
        let pkg = rule(
            &["npm", "pnpm", "yarn"],
            vec![lit("install")],
            Decision::Allow,
        );
        let cases: &[(&Rule, &str, Shell, Match)] = &[
            (&push, "git push", Shell::Direct, Match::Yes),
            (&push, "git push origin main", Shell::Direct, Match::Yes),
            (&push, "/usr/bin/git push", Shell::Direct, Match::Yes),
            (&push, "GIT.EXE push", Shell::Direct, Match::Yes),
            (&push, "git pull", Shell::Direct, Match::No),
            (&push, "git", Shell::Direct, Match::No),
            (&push, "gitx push", Shell::Direct, Match::No),
            (&push, "git PUSH", Shell::Direct, Match::No),
            (&push, "git PUSH", Shell::PowerShell, Match::Yes),
            (&rm, "rm -rf /", Shell::Direct, Match::Yes),
            (&rm, "rm -fr build", Shell::Direct, Match::Yes),
            (&rm, "rm -r build", Shell::Direct, Match::No),
            (&rm, "rm -rf", Shell::Direct, Match::No),
            (&pkg, "pnpm install", Shell::Direct, Match::Yes),
            (&pkg, "yarn.exe install --frozen", Shell::Direct, Match::Yes),
            (&pkg, "./npm install", Shell::Direct, Match::No),
            (&push, "./git push", Shell::Direct, Match::Yes),
            (&push, "git -C sub push", Shell::Direct, Match::Yes),
            (
                &push,
                "git -c core.pager=cat --no-pager --git-dir=.git push",
                Shell::Direct,
                Match::Yes,
            ),
            (&push, "git -C push status", Shell::Direct, Match::No),
        ];
        for (rule, line, shell, want) in cases {
            assert_eq!(
                rule.matches(&cmd(line, *shell)),
                *want,
                "{} vs {line}",
                rule.pattern()
            );
        }
    }

    #[test]
    fn powershell_aliases_match_rules_on_other_names() {
        let r = rule(&["rm"], vec![], Decision::Forbid);
        assert_eq!(
            r.matches(&cmd("Remove-Item x", Shell::PowerShell)),
            Match::Yes
        );
        assert_eq!(r.matches(&cmd("del x", Shell::PowerShell)), Match::Yes);
        assert_eq!(r.matches(&cmd("Remove-Item x", Shell::Bash)), Match::No);
    }

    #[test]
    fn runtime_arguments_may_match_strict_rules_but_never_allow_rules() {
        let mut c = cmd("git", Shell::Bash);
        c.words.push(Word::dynamic("$SUB"));
        let forbid = rule(&["git"], vec![lit("push")], Decision::Forbid);
        let allow = rule(&["git"], vec![lit("status")], Decision::Allow);
        let any = rule(&["git"], vec![ArgPattern::Any], Decision::Allow);
        assert_eq!(forbid.matches(&c), Match::Maybe);
        assert_eq!(allow.matches(&c), Match::No);
        assert_eq!(any.matches(&c), Match::Yes);
    }
}
