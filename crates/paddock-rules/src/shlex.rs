//! POSIX-shell-style splitting of one command line into words, for rule examples and for
//! showing argv back to the user. Quotes and backslashes follow `sh`; no expansion is done.
//!
//! A line with an unterminated quote or a trailing backslash is an error, never a guess.

/// Splits `line` like `sh` would split a simple command without expansions.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
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

/// Quotes `word` for display so that `split` gives it back unchanged.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%^".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
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
}
