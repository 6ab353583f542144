//! POSIX shell scripts (`bash -c`, `sh -c`, ...) parsed with tree-sitter-bash: every `command`
//! node becomes a simple command, wherever it sits (pipelines, lists, subshells, `$(..)`,
//! backticks, `<(..)`, function bodies, loops).
//!
//! Words are evaluated only as far as the shell would without running anything: quotes and
//! escapes are removed; expansions, globs and substitutions make a word `dynamic`.

use super::{Collector, Shell, SimpleCommand, Word, sensitive_variable};
use tree_sitter::{Node, Parser};

/// Builtins that turn a string into code later, or change what a later name runs.
fn code_from_string_builtin(name: &str) -> Option<&'static str> {
    match name {
        "alias" => Some("`alias` changes what later command names run"),
        "trap" => Some("`trap` runs a string as code when a signal arrives"),
        "enable" => Some("`enable` can load builtins from a shared library"),
        _ => None,
    }
}

/// Shell variables that always hold a number (safe in arithmetic).
const NUMERIC_SPECIALS: &[&str] = &[
    "RANDOM",
    "SECONDS",
    "LINENO",
    "BASHPID",
    "PPID",
    "UID",
    "EUID",
    "SHLVL",
    "COLUMNS",
    "LINES",
    "OPTIND",
    "#",
    "?",
    "$",
    "!",
    "SRANDOM",
    "EPOCHSECONDS",
];

/// Most `|` and `&` characters a script may hold to be parsed (see `parse`).
const MAX_OPERATORS: usize = 4096;

/// Comparison operators of `[[ ]]` that evaluate both sides as arithmetic.
const ARITH_TESTS: &[&str] = &["-eq", "-ne", "-lt", "-le", "-gt", "-ge"];

/// Parses `text` and adds what it runs to `col`.
pub fn parse(col: &mut Collector<'_>, text: &str, depth: usize) {
    // tree-sitter-bash takes time quadratic in the length of a pipeline or `&&` chain: a script
    // with this many operators is not parsed (the line asks).
    let operators = text.bytes().filter(|b| *b == b'|' || *b == b'&').count();
    if operators > MAX_OPERATORS {
        col.uncertain(
            format!(
                "the script has more than {MAX_OPERATORS} `|` and `&` operators and is not analysed"
            ),
            text,
        );
        return;
    }
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
        numeric: Vec::new(),
        not_numeric: Vec::new(),
    };
    walker.collect_numeric(root, 0, false);
    walker.walk(root, 0, false);
}

struct Walker<'c, 'a, 's> {
    col: &'c mut Collector<'a>,
    src: &'s [u8],
    depth: usize,
    /// Variables this script only ever sets to plain numbers or plain words.
    numeric: Vec<String>,
    /// Variables this script sets to something else (a substitution, a subscript, input).
    not_numeric: Vec<String>,
}

impl Walker<'_, '_, '_> {
    fn text(&self, node: Node) -> String {
        node.utf8_text(self.src).unwrap_or("").to_string()
    }

    /// True when the tree is nested too deep to walk: the line asks instead.
    fn too_deep(&mut self, node: Node, level: usize) -> bool {
        if level > super::MAX_NESTING * 8 {
            self.col.uncertain(
                format!(
                    "the script is nested more than {} levels deep and is not analysed",
                    super::MAX_NESTING
                ),
                self.text(node),
            );
            return true;
        }
        false
    }

    /// First pass: which variables hold only plain values, so arithmetic on them runs nothing.
    fn collect_numeric(&mut self, node: Node, level: usize, in_arith: bool) {
        if level > super::MAX_NESTING * 8 {
            return;
        }
        match node.kind() {
            "variable_assignment" => {
                let name = node
                    .child_by_field_name("name")
                    .map(|n| self.text(n))
                    .unwrap_or_default();
                let plain = match node.child_by_field_name("value") {
                    None => true,
                    Some(v) => {
                        let w = self.word(v);
                        !w.dynamic && !w.text.contains(['[', '$', '`'])
                    }
                };
                self.mark(name, plain || in_arith);
            }
            "for_statement" => {
                let name = node
                    .child_by_field_name("variable")
                    .map(|n| self.text(n))
                    .unwrap_or_default();
                let mut cursor = node.walk();
                let plain = node.children_by_field_name("value", &mut cursor).all(|v| {
                    let w = self.word(v);
                    !w.dynamic && !w.text.contains(['[', '$', '`'])
                });
                self.mark(name, plain);
            }
            _ => {}
        }
        let in_arith = in_arith
            || matches!(
                node.kind(),
                "c_style_for_statement" | "arithmetic_expansion"
            );
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.collect_numeric(child, level + 1, in_arith);
        }
    }

    fn mark(&mut self, name: String, plain: bool) {
        if plain {
            self.numeric.push(name);
        } else {
            self.not_numeric.push(name);
        }
    }

    /// True when arithmetic on variable `name` cannot run code: its value is a plain word this
    /// script set, or a number the shell keeps.
    fn numeric_var(&self, name: &str) -> bool {
        NUMERIC_SPECIALS.contains(&name)
            || name.chars().all(|c| c.is_ascii_digit())
            || (self.numeric.iter().any(|n| n == name)
                && !self.not_numeric.iter().any(|n| n == name))
    }

    /// Checks an arithmetic context: every variable it reads must hold a plain value, or its
    /// value (`a[$(cmd)]`) is evaluated as an expression that may run commands.
    fn arithmetic(&mut self, node: Node) {
        let mut names = Vec::new();
        arith_names(node, self.src, &mut names, 0);
        if let Some(bad) = names.iter().find(|n| !self.numeric_var(n)) {
            self.col.uncertain(
                format!(
                    "arithmetic evaluates the value of `{bad}` as an expression, which can run commands (`a[$(cmd)]`)"
                ),
                self.text(node),
            );
        }
    }

    /// Visits `node` and everything below it; `in_test` inside `[[ ]]`.
    fn walk(&mut self, node: Node, level: usize, in_test: bool) {
        if self.too_deep(node, level) {
            return;
        }
        if self.col.saturated() {
            self.col.uncertain(
                "the script runs too many commands to judge one by one",
                self.text(node),
            );
            return;
        }
        let mut restore_cwd = None;
        match node.kind() {
            "command" => self.command(node),
            "file_redirect" => self.file_redirect(node),
            "variable_assignment" => self.assignment(node),
            "declaration_command" | "unset_command" => self.declaration(node),
            "arithmetic_expansion" => self.arithmetic(node),
            "c_style_for_statement" => {
                for field in ["initializer", "condition", "update"] {
                    let mut cursor = node.walk();
                    let parts: Vec<Node> =
                        node.children_by_field_name(field, &mut cursor).collect();
                    for part in parts {
                        self.arithmetic(part);
                    }
                }
            }
            "compound_statement" if self.text(node).starts_with("((") => self.arithmetic(node),
            "subscript" => {
                if let Some(index) = node.child_by_field_name("index") {
                    self.arithmetic(index);
                }
            }
            "binary_expression" if in_test => {
                let op = node
                    .child_by_field_name("operator")
                    .map(|o| self.text(o))
                    .unwrap_or_default();
                if ARITH_TESTS.contains(&op.as_str()) {
                    self.arithmetic(node);
                }
            }
            "expansion" => self.expansion(node),
            "subshell" | "command_substitution" | "process_substitution" | "pipeline" => {
                restore_cwd = Some(self.col.cwd_shift.clone());
            }
            _ => {}
        }
        let in_test = in_test || node.kind() == "test_command";
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.walk(child, level + 1, in_test);
        }
        if let Some(saved) = restore_cwd {
            self.col.cwd_shift = saved;
        }
    }

    /// `${x@P}` expands the value as a prompt (running its `$(...)`); `${!x}` reads the variable
    /// named by x's value, evaluating any subscript in it.
    fn expansion(&mut self, node: Node) {
        let text = self.text(node);
        let inner = text.trim_start_matches("${").trim_end_matches('}');
        if inner.ends_with("@P") {
            self.col.uncertain(
                "`${var@P}` expands the value like a prompt, running the commands in it",
                text,
            );
        } else if inner.starts_with('!')
            && !inner.ends_with("[@]")
            && !inner.ends_with("[*]")
            && !inner.ends_with('*')
            && !inner.ends_with('@')
        {
            self.col.uncertain(
                "`${!var}` reads the variable named by a value only known at run time",
                text,
            );
        }
    }

    /// `declare`/`local`/`export`/`readonly`/`typeset` with a computed name or a subscript
    /// evaluate it; `-i` makes later assignments arithmetic.
    fn declaration(&mut self, node: Node) {
        let mut cursor = node.walk();
        let children: Vec<Node> = node.named_children(&mut cursor).collect();
        for c in children {
            if c.kind() == "variable_assignment" {
                continue;
            }
            let w = self.word(c);
            if w.dynamic || (w.text.contains('[') && w.text.contains(['$', '`'])) {
                self.col.uncertain(
                    "a declaration with a computed name or subscript evaluates it as code",
                    self.text(node),
                );
            } else if w.text.starts_with('-') && w.text.contains('i') {
                self.col.contained(
                    "`declare -i` makes assignments arithmetic, evaluating their values",
                    self.text(node),
                );
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
        if !words[0].dynamic {
            self.builtin_checks(&words, node);
        }
        self.col
            .command(SimpleCommand::new(words, Shell::Bash), self.depth);
    }

    /// Builtins that take variable names (which may carry an evaluated subscript), evaluate
    /// arithmetic, or move the shell to another directory.
    fn builtin_checks(&mut self, words: &[Word], node: Node) {
        let name = words[0].text.as_str();
        let args = &words[1..];
        let evaluated_name =
            |w: &Word| w.dynamic || (w.text.contains('[') && w.text.contains(['$', '`']));
        match name {
            "let" => {
                self.arithmetic(node);
                if args
                    .iter()
                    .any(|w| w.dynamic || w.text.contains(['$', '`']))
                {
                    self.col.uncertain(
                        "`let` evaluates its arguments as arithmetic, which can run commands",
                        self.text(node),
                    );
                }
            }
            "printf" | "read" | "mapfile" | "readarray" | "unset" | "getopts" | "wait" | "test"
            | "[" => {
                // `printf -v NAME`, `read NAME`, `unset NAME`...: a name with a subscript is
                // evaluated; so is `test -v NAME`.
                let named = match name {
                    "printf" => {
                        let mut found = Vec::new();
                        for (k, w) in args.iter().enumerate() {
                            if w.text == "-v" {
                                found.extend(args.get(k + 1));
                            } else if let Some(v) = w.text.strip_prefix("-v")
                                && !v.is_empty()
                            {
                                found.push(&args[k]);
                            }
                        }
                        found
                    }
                    "test" | "[" => args
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| *k > 0 && args[k - 1].text == "-v")
                        .map(|(_, w)| w)
                        .collect(),
                    _ => args.iter().filter(|w| !w.text.starts_with('-')).collect(),
                };
                if named.iter().any(|w| evaluated_name(w)) {
                    self.col.uncertain(
                        format!("`{name}` given a variable name with a computed subscript evaluates it as code"),
                        self.text(node),
                    );
                }
                if matches!(name, "test" | "[") {
                    for (k, w) in args.iter().enumerate() {
                        if ARITH_TESTS.contains(&w.text.as_str()) {
                            for side in [k.checked_sub(1), Some(k + 1)].into_iter().flatten() {
                                if let Some(operand) = args.get(side)
                                    && operand.dynamic
                                    && !operand
                                        .text
                                        .trim_start_matches('$')
                                        .chars()
                                        .all(|c| c.is_ascii_digit())
                                {
                                    let var = operand
                                        .text
                                        .trim_start_matches("${")
                                        .trim_start_matches('$')
                                        .trim_end_matches('}')
                                        .trim_matches('"')
                                        .to_string();
                                    if !self.numeric_var(&var) {
                                        self.col.uncertain(
                                            format!("`{name} ... {}` evaluates a value as arithmetic, which can run commands", w.text),
                                            self.text(node),
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
            "cd" | "pushd" => {
                let target = args
                    .iter()
                    .find(|w| !w.text.starts_with('-') || w.text == "-");
                self.col.cwd_shift = match target {
                    Some(w) if !w.dynamic && w.text != "-" && !w.text.starts_with('~') => {
                        let base = self.col.current_cwd();
                        base.map(|b| b.join(&w.text))
                    }
                    _ => None,
                }
                .map_or(Some(None), |p| Some(Some(p)));
            }
            _ => {}
        }
    }

    fn assignment(&mut self, node: Node) {
        let name = node
            .child_by_field_name("name")
            .map(|n| self.text(n))
            .unwrap_or_default();
        if sensitive_variable(&name) {
            self.col.contained(
                format!("assigning `{name}` changes which programs run or what they load"),
                self.text(node),
            );
        }
    }

    fn file_redirect(&mut self, node: Node) {
        let mut op = String::new();
        let mut cursor = node.walk();
        if let Some(c) = node.children(&mut cursor).find(|c| !c.is_named()) {
            op = c.kind().to_string();
        }
        let Some(dest) = node.child_by_field_name("destination") else {
            return;
        };
        let target = self.word(dest);
        let snippet = self.text(node);
        let net = target.text.starts_with("/dev/tcp/") || target.text.starts_with("/dev/udp/");
        if net || (target.dynamic && target.text.contains("/dev/")) {
            // bash opens a network connection itself for these names, reading or writing.
            let reason = "redirection to /dev/tcp or /dev/udp opens a network connection";
            if self.col.ctx.network {
                self.col.uncertain(reason, snippet.clone());
            } else {
                self.col.contained(reason, snippet.clone());
            }
            return;
        }
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
                let mut cursor = node.walk();
                for part in node.named_children(&mut cursor) {
                    let w = self.word(part);
                    out.dynamic |= w.dynamic;
                    out.text.push_str(&w.text);
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
        let mut cursor = node.walk();
        for part in node.named_children(&mut cursor) {
            if part.kind() == "string_content" {
                out.push_str(&unescape_double(&self.text(part)));
            } else {
                return Word::dynamic(text);
            }
        }
        Word::lit(out)
    }
}

/// The variable names an arithmetic context reads: `$x`, `${x}` and bare names. An expression
/// nested too deep to walk reads an unknown name (so it is treated as unsafe).
fn arith_names(node: Node, src: &[u8], out: &mut Vec<String>, level: usize) {
    if level > super::MAX_NESTING * 8 {
        out.push("(an expression nested too deep to analyse)".into());
        return;
    }
    let text = |n: Node| n.utf8_text(src).unwrap_or("").to_string();
    match node.kind() {
        "variable_name" => out.push(text(node)),
        "word" => {
            let t = text(node);
            if t.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                out.push(t);
            }
        }
        "special_variable_name" => out.push(text(node)),
        "command_substitution" | "string" | "raw_string" => return,
        _ => {}
    }
    if out.len() > 256 {
        out.push("(too many names to analyse)".into());
        return;
    }
    let mut cursor = node.walk();
    for c in node.children(&mut cursor) {
        arith_names(c, src, out, level + 1);
    }
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
        // Outside a sandbox, so that redirections are judged.
        let ctx = Context::new("/work/ws", vec!["/work/ws".into()]).with_sandbox(false, true);
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
            ("cat <<EOF\n$(rm -rf ~) ${var}\nEOF\n", &["cat", "rm -rf ~"]),
            (
                "for i in 1 2; do echo $((i * 2)); done",
                &["echo $((i * 2))"],
            ),
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
            ("echo $((x))", "arithmetic"),
            ("x='a[$(id)]'; [[ $x -eq 1 ]]", "arithmetic"),
            ("echo ${x@P}", "prompt"),
            ("printf -v 'a[$(id)]' x", "subscript"),
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
