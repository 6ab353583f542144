//! `cmd /c` lines split into simple commands by a small tokenizer that follows cmd's quoting:
//! `^` escapes the next character outside quotes, `"` toggles quoting, and `&`, `&&`, `||`, `|`,
//! parentheses and newlines separate commands.
//!
//! `%VAR%` (and `!VAR!` with `/v:on`) is expanded by cmd before it parses, so a word holding one
//! is dynamic; in the command position it makes the line uncertain. `if` and `for` are not analysed.

use super::{Collector, Shell, SimpleCommand, Word};

#[derive(Default)]
struct Builder {
    words: Vec<Word>,
    cur: String,
    cur_dynamic: bool,
    in_word: bool,
    /// A redirection waiting for its target: true when it writes.
    pending: Option<bool>,
    snippet: String,
}

/// Parses one cmd line and adds what it runs to `col`.
pub fn parse(col: &mut Collector<'_>, line: &str, delayed: bool, depth: usize) {
    let chars: Vec<char> = line.chars().collect();
    let mut b = Builder::default();
    let mut in_quotes = false;
    let mut groups = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        b.snippet.push(c);
        if let Some(len) = variable_len(&chars[i..], delayed) {
            b.cur.extend(&chars[i..i + len]);
            b.snippet.extend(&chars[i + 1..i + len]);
            b.cur_dynamic = true;
            b.in_word = true;
            i += len;
            continue;
        }
        if in_quotes {
            if c == '"' {
                in_quotes = false;
            } else {
                b.cur.push(c);
            }
            i += 1;
            continue;
        }
        match c {
            '^' => {
                if let Some(&n) = chars.get(i + 1) {
                    if n != '\n' {
                        b.cur.push(n);
                        b.in_word = true;
                    }
                    b.snippet.push(n);
                }
                i += 2;
                continue;
            }
            '"' => {
                in_quotes = true;
                b.in_word = true;
            }
            ' ' | '\t' | '\r' => b.flush(col),
            // cmd also ends the command name at `,`, `;` and `=` (`del,x` runs `del x`).
            ',' | ';' | '=' if b.words.is_empty() && b.pending.is_none() => b.flush(col),
            '\n' => finish(col, &mut b, depth),
            '&' | '|' => {
                if chars.get(i + 1) == Some(&c) {
                    i += 1;
                }
                finish(col, &mut b, depth);
            }
            '(' if b.words.is_empty() && !b.in_word => {
                groups += 1;
                finish(col, &mut b, depth);
            }
            ')' if groups > 0 => {
                groups -= 1;
                finish(col, &mut b, depth);
            }
            '<' | '>' => {
                let fd_prefix = b.in_word && b.cur.chars().all(|d| d.is_ascii_digit());
                if fd_prefix {
                    b.cur.clear();
                    b.in_word = false;
                    b.cur_dynamic = false;
                } else {
                    b.flush(col);
                }
                if chars.get(i + 1) == Some(&'>') {
                    i += 1;
                }
                if chars.get(i + 1) == Some(&'&') {
                    // `2>&1`: a handle, not a file.
                    i += 2;
                    while chars.get(i).is_some_and(|d| d.is_ascii_digit()) {
                        i += 1;
                    }
                    continue;
                }
                b.pending = Some(c == '>');
            }
            _ => {
                b.cur.push(c);
                b.in_word = true;
            }
        }
        i += 1;
    }
    if in_quotes {
        col.uncertain("cmd line with an unterminated quote", line);
    }
    finish(col, &mut b, depth);
}

/// Length of a `%NAME%` (or `!NAME!` with delayed expansion) reference starting at `s[0]`.
fn variable_len(s: &[char], delayed: bool) -> Option<usize> {
    let mark = s[0];
    if mark != '%' && !(delayed && mark == '!') {
        return None;
    }
    let end = s[1..].iter().position(|&c| c == mark)?;
    let name = &s[1..1 + end];
    let valid = !name.is_empty()
        && name
            .iter()
            .all(|c| !c.is_whitespace() && !matches!(c, '&' | '|' | '<' | '>' | '"'));
    valid.then_some(end + 2)
}

impl Builder {
    fn flush(&mut self, col: &mut Collector<'_>) {
        if !self.in_word {
            return;
        }
        let word = Word {
            text: std::mem::take(&mut self.cur),
            dynamic: self.cur_dynamic,
        };
        self.in_word = false;
        self.cur_dynamic = false;
        match self.pending.take() {
            Some(true) => col.write_redirect(&word, self.snippet.trim()),
            Some(false) => {}
            None => self.words.push(word),
        }
    }
}

fn finish(col: &mut Collector<'_>, b: &mut Builder, depth: usize) {
    b.flush(col);
    let mut words = std::mem::take(&mut b.words);
    let snippet = std::mem::take(&mut b.snippet);
    if let Some(first) = words.first_mut()
        && let Some(rest) = first.text.strip_prefix('@')
    {
        first.text = rest.to_string();
        if first.text.is_empty() {
            words.remove(0);
        }
    }
    while words
        .first()
        .is_some_and(|w| w.text.eq_ignore_ascii_case("call"))
    {
        words.remove(0);
    }
    let Some(first) = words.first() else {
        return;
    };
    let lower = first.text.to_ascii_lowercase();
    if lower == "if" || lower == "for" {
        col.uncertain(
            format!("cmd `{lower}` statements are not analysed"),
            snippet.trim(),
        );
        return;
    }
    if first.dynamic {
        col.uncertain(
            format!(
                "cmd expands `{}` (a %VAR% reference) in the command position, so the program is unknown",
                first.text
            ),
            snippet.trim(),
        );
    }
    col.command(SimpleCommand::new(words, Shell::Cmd), depth);
}

#[cfg(test)]
mod tests {
    use crate::context::Context;
    use crate::parse::tests::leaves;
    use crate::parse::{Collector, Parsed};

    fn parse(line: &str, delayed: bool) -> Parsed {
        // Outside a sandbox, so that redirections are judged.
        let ctx = Context::new(r"C:\ws", vec![r"C:\ws".into()]).with_sandbox(false, true);
        let mut col = Collector::new(&ctx);
        super::parse(&mut col, line, delayed, 0);
        col.out
    }

    #[test]
    fn cmd_lines_split_on_operators_outside_quotes_and_escapes() {
        let cases: &[(&str, &[&str])] = &[
            ("dir", &["dir"]),
            ("dir & del x", &["dir", "del x"]),
            ("a && b || c | d", &["a", "b", "c", "d"]),
            ("echo a^&b", &["echo a&b"]),
            ("echo \"a & b\" & ver", &["echo a & b", "ver"]),
            (
                "\"C:\\Program Files\\Git\\cmd\\git.exe\" status",
                &["C:\\Program Files\\Git\\cmd\\git.exe status"],
            ),
            ("(dir & del x)", &["dir", "del x"]),
            ("@echo off & call build.bat", &["echo off", "build.bat"]),
            ("echo %PATH%", &["echo %PATH%"]),
        ];
        for (line, want) in cases {
            let p = parse(line, false);
            assert_eq!(&leaves(&p), want, "{line}");
            assert!(p.uncertain.is_empty(), "{line}: {:?}", p.uncertain);
        }
    }

    #[test]
    fn variable_expansion_makes_words_dynamic() {
        let p = parse("del %TARGET%", false);
        assert!(!p.commands[0].is_static());
        let p = parse("del !T!", true);
        assert!(!p.commands[0].is_static());
        let p = parse("del !T!", false);
        assert!(p.commands[0].is_static());
    }

    #[test]
    fn risky_cmd_lines_are_uncertain() {
        let cases: &[(&str, &str)] = &[
            ("%COMSPEC% /c del x", "%VAR%"),
            (
                "echo x > C:\\Windows\\evil.txt",
                "outside the writable roots",
            ),
            ("echo x >> ..\\up.txt", "outside the writable roots"),
            ("echo x > %TEMP%\\x", "computed at run time"),
            ("if exist x del x", "not analysed"),
            ("for %i in (*) do del %i", "not analysed"),
            ("echo \"unterminated", "unterminated"),
        ];
        for (line, reason) in cases {
            let p = parse(line, false);
            assert!(
                p.uncertain.iter().any(|u| u.reason.contains(reason)),
                "{line}: expected `{reason}` in {:?}",
                p.uncertain
            );
        }
    }

    #[test]
    fn redirections_inside_the_workspace_or_to_nul_are_fine() {
        for line in [
            "dir > out.txt",
            "dir 2>&1",
            "dir 2> nul",
            "dir >> C:\\ws\\log.txt",
        ] {
            let p = parse(line, false);
            assert!(p.uncertain.is_empty(), "{line}: {:?}", p.uncertain);
            assert_eq!(leaves(&p), ["dir"], "{line}");
        }
    }
}
