//! POSIX shell scripts (`bash -c`, `sh -c`, ...) parsed with tree-sitter-bash: every `command`
//! node becomes a simple command, wherever it sits (pipelines, lists, subshells, `$(..)`,
//! backticks, `<(..)`, function bodies, loops).
//!
//! Words are evaluated only as far as the shell would without running anything: quotes and
//! escapes are removed; expansions, globs and substitutions make a word `dynamic`.

use super::{Collector, Shell, SimpleCommand, Word};
use tree_sitter::{Node, Parser};

/// Variables whose assignment changes which program runs or what it loads.
fn sensitive_variable(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "PATH",
        "BASH_ENV",
        "ENV",
        "IFS",
        "PS4",
        "SHELLOPTS",
        "BASHOPTS",
        "PROMPT_COMMAND",
        "LESSOPEN",
        "PAGER",
        "EDITOR",
        "PYTHONPATH",
        "PYTHONSTARTUP",
        "NODE_OPTIONS",
        "PERL5OPT",
        "RUBYOPT",
    ];
    EXACT.contains(&name)
        || name.starts_with("LD_")
        || name.starts_with("DYLD_")
        || name.starts_with("GIT_")
}

/// Builtins that turn a string into code later, or change what a later name runs.
fn code_from_string_builtin(name: &str) -> Option<&'static str> {
    match name {
        "alias" => Some("`alias` changes what later command names run"),
        "trap" => Some("`trap` runs a string as code when a signal arrives"),
        "enable" => Some("`enable` can load builtins from a shared library"),
        _ => None,
    }
}

/// Parses `text` and adds what it runs to `col`.
pub fn parse(col: &mut Collector<'_>, text: &str, depth: usize) {
    let mut parser = Parser::new();
    if parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .is_err()
    {
        col.uncertain("the shell grammar could not be loaded", text);
        return;
    }
    let Some(tree) = parser.parse(text, None) else {
        col.uncertain("the shell script could not be parsed", text);
        return;
    };
    let root = tree.root_node();
    if root.has_error() {
        col.uncertain(
            "the shell script has a syntax error, so what it runs is uncertain",
            text,
        );
    }
    let mut walker = Walker {
        col,
        src: text.as_bytes(),
        depth,
    };
    walker.walk(root);
}

struct Walker<'c, 'a, 's> {
    col: &'c mut Collector<'a>,
    src: &'s [u8],
    depth: usize,
}

impl Walker<'_, '_, '_> {
    fn text(&self, node: Node) -> String {
        node.utf8_text(self.src).unwrap_or("").to_string()
    }

    fn walk(&mut self, node: Node) {
        match node.kind() {
            "command" => self.command(node),
            "file_redirect" => self.file_redirect(node),
            "heredoc_redirect" => self.heredoc(node),
            "variable_assignment" => self.assignment(node),
            _ => {}
        }
        for i in 0..node.child_count() {
            if let Some(child) = node.child(i) {
                self.walk(child);
            }
        }
    }

    fn command(&mut self, node: Node) {
        let Some(name) = node.child_by_field_name("name") else {
            return;
        };
        let mut words = vec![self.word(name)];
        let mut cursor = node.walk();
        for arg in node.children_by_field_name("argument", &mut cursor) {
            words.push(self.word(arg));
        }
        if !words[0].dynamic
            && let Some(reason) = code_from_string_builtin(&words[0].text)
        {
            self.col.uncertain(reason, self.text(node));
        }
        self.col
            .command(SimpleCommand::new(words, Shell::Bash), self.depth);
    }

    fn assignment(&mut self, node: Node) {
        let name = node
            .child_by_field_name("name")
            .map(|n| self.text(n))
            .unwrap_or_default();
        if sensitive_variable(&name) {
            self.col.uncertain(
                format!("assigning `{name}` changes which programs run or what they load"),
                self.text(node),
            );
        }
    }

    fn file_redirect(&mut self, node: Node) {
        let mut op = String::new();
        for i in 0..node.child_count() {
            if let Some(c) = node.child(i)
                && !c.is_named()
            {
                op = c.kind().to_string();
                break;
            }
        }
        let Some(dest) = node.child_by_field_name("destination") else {
            return;
        };
        let target = self.word(dest);
        let snippet = self.text(node);
        match op.as_str() {
            "<" => {}
            ">&" | "<&" | ">&-" | "<&-" => {
                let fd = !target.dynamic
                    && (target.text == "-" || target.text.chars().all(|c| c.is_ascii_digit()));
                if !fd && op.starts_with('>') {
                    self.col.write_redirect(&target, &snippet);
                }
            }
            _ => self.col.write_redirect(&target, &snippet),
        }
    }

    fn heredoc(&mut self, node: Node) {
        for i in 0..node.child_count() {
            let Some(c) = node.child(i) else { continue };
            if c.kind() == "heredoc_body" && has_expansion(c) {
                self.col.uncertain(
                    "here-document with substitutions: its text is only known at run time",
                    self.text(node),
                );
            }
        }
    }

    /// The value of a word as the shell would see it before running anything.
    fn word(&self, node: Node) -> Word {
        let text = self.text(node);
        match node.kind() {
            "command_name" => match node.named_child(0) {
                Some(inner) => self.word(inner),
                None => Word::dynamic(text),
            },
            "word" => {
                let brace = text.contains('{') && (text.contains(',') || text.contains(".."));
                if brace || text.contains(['*', '?', '[']) {
                    Word::dynamic(text)
                } else {
                    Word::lit(unescape_bare(&text))
                }
            }
            "number" => Word::lit(text),
            "raw_string" => Word::lit(text.trim_start_matches('\'').trim_end_matches('\'')),
            "ansi_c_string" => {
                if text.contains('\\') {
                    Word::dynamic(text)
                } else {
                    Word::lit(&text[2..text.len().saturating_sub(1).max(2)])
                }
            }
            "string" | "translated_string" => self.double_quoted(node, text),
            "concatenation" => {
                let mut out = Word::lit("");
                for i in 0..node.named_child_count() as u32 {
                    if let Some(part) = node.named_child(i) {
                        let w = self.word(part);
                        out.dynamic |= w.dynamic;
                        out.text.push_str(&w.text);
                    }
                }
                let brace = text.contains('{') && (text.contains(',') || text.contains(".."));
                if out.dynamic || brace {
                    out.text = text;
                    out.dynamic = true;
                }
                out
            }
            _ => Word::dynamic(text),
        }
    }

    fn double_quoted(&self, node: Node, text: String) -> Word {
        let mut out = String::new();
        for i in 0..node.named_child_count() as u32 {
            let Some(part) = node.named_child(i) else {
                continue;
            };
            if part.kind() == "string_content" {
                out.push_str(&unescape_double(&self.text(part)));
            } else {
                return Word::dynamic(text);
            }
        }
        Word::lit(out)
    }
}

fn has_expansion(node: Node) -> bool {
    if matches!(
        node.kind(),
        "expansion" | "simple_expansion" | "command_substitution" | "arithmetic_expansion"
    ) {
        return true;
    }
    (0..node.child_count()).any(|i| node.child(i).is_some_and(has_expansion))
}

fn unescape_bare(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\n') | None => {}
                Some(n) => out.push(n),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unescape_double(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('"' | '\\' | '$' | '`') => out.push(chars.next().unwrap_or('\\')),
                Some('\n') => {
                    chars.next();
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::context::Context;
    use crate::parse::tests::leaves;
    use crate::parse::{Collector, Parsed};

    fn parse(script: &str) -> Parsed {
        let ctx = Context::new("/work/ws", vec!["/work/ws".into()]);
        let mut col = Collector::new(&ctx);
        super::parse(&mut col, script, 0);
        col.out
    }

    #[test]
    fn every_simple_command_of_a_script_is_found() {
        let cases: &[(&str, &[&str])] = &[
            ("ls -la", &["ls -la"]),
            ("a | b | c", &["a", "b", "c"]),
            ("a && b || c; d", &["a", "b", "c", "d"]),
            ("(cd x && make)", &["cd x", "make"]),
            ("{ a; b; }", &["a", "b"]),
            ("echo $(rm -rf x)", &["echo $(rm -rf x)", "rm -rf x"]),
            ("echo `whoami`", &["echo `whoami`", "whoami"]),
            (
                "diff <(ls a) <(ls b)",
                &["diff <(ls a) <(ls b)", "ls a", "ls b"],
            ),
            ("for f in *; do rm \"$f\"; done", &["rm \"$f\""]),
            ("if true; then curl x; fi", &["true", "curl x"]),
            ("f() { rm -rf /; }; f", &["rm -rf /", "f"]),
            ("! grep x y", &["grep x y"]),
            (
                "while read l; do echo \"$l\"; done < in",
                &["read l", "echo \"$l\""],
            ),
            ("X=1 make", &["make"]),
        ];
        for (script, want) in cases {
            let p = parse(script);
            assert_eq!(&leaves(&p), want, "{script}");
            assert!(p.uncertain.is_empty(), "{script}: {:?}", p.uncertain);
        }
    }

    #[test]
    fn quotes_and_escapes_are_removed_like_the_shell_does() {
        let cases: &[(&str, &[&str])] = &[
            ("'r'm -rf /", &["rm", "-rf", "/"]),
            ("r\"\"m x", &["rm", "x"]),
            ("\\rm x", &["rm", "x"]),
            ("echo \"a \\\"b\\\" c\"", &["echo", "a \"b\" c"]),
            ("echo 'it''s'", &["echo", "its"]),
            ("echo $'plain'", &["echo", "plain"]),
            (
                "git commit -m \"fix: a; b && c\"",
                &["git", "commit", "-m", "fix: a; b && c"],
            ),
        ];
        for (script, want) in cases {
            let p = parse(script);
            let argv = p.commands[0].argv();
            assert_eq!(&argv, want, "{script}");
            assert!(p.commands[0].is_static(), "{script}");
        }
    }

    #[test]
    fn expansions_and_globs_make_words_dynamic() {
        for script in [
            "rm $X",
            "rm ${X}",
            "rm \"$HOME\"",
            "rm *.o",
            "rm $(cat list)",
            "rm $'\\x2drf'",
            "rm {a,b}",
        ] {
            let p = parse(script);
            assert!(!p.commands[0].is_static(), "{script}");
            assert!(!p.commands[0].words[0].dynamic, "{script}");
        }
    }

    #[test]
    fn risky_constructs_are_uncertain() {
        let cases: &[(&str, &str)] = &[
            ("echo x > /etc/passwd", "outside the writable roots"),
            ("echo x >> ~/.bashrc", "outside the writable roots"),
            ("echo x &> ../up", "outside the writable roots"),
            ("echo x > \"$F\"", "computed at run time"),
            ("cat <<EOF\n$(rm -rf ~)\nEOF\n", "here-document"),
            ("PATH=/tmp/evil:$PATH ls", "PATH"),
            ("export LD_PRELOAD=/tmp/x.so", "LD_PRELOAD"),
            ("alias ls='rm -rf ~'", "alias"),
            ("trap 'rm -rf ~' EXIT", "trap"),
            ("echo 'unterminated", "syntax error"),
            ("if then fi (", "syntax error"),
            ("$(echo rm) -rf /", "computed at run time"),
        ];
        for (script, reason) in cases {
            let p = parse(script);
            assert!(
                p.uncertain.iter().any(|u| u.reason.contains(reason)),
                "{script}: expected `{reason}` in {:?}",
                p.uncertain
            );
        }
    }

    #[test]
    fn safe_redirections_are_not_uncertain() {
        for script in [
            "make > build.log 2>&1",
            "ls > /dev/null",
            "cat < /etc/hosts",
            "echo x >&2",
            "cat <<'EOF'\n$(not run)\nEOF\n",
            "cat <<EOF\nplain text\nEOF\n",
        ] {
            let p = parse(script);
            assert!(p.uncertain.is_empty(), "{script}: {:?}", p.uncertain);
        }
    }
}
