//! Windows command lines, as UTF-16: quoting an argv so that `CommandLineToArgvW` and the C
//! runtime give the program exactly those arguments back, and building `cmd.exe /c` lines in
//! which none of cmd's metacharacters (`^ & | < > ( ) % ! "`) takes effect unless the caller
//! hands cmd a script on purpose. Pure code: compiled and tested on every OS.

/// Why a command line cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdLineError {
    #[error("argument {index} contains a NUL character, which a Windows command line cannot hold")]
    Nul { index: usize },
    #[error(
        "the program path contains a double quote; Windows paths cannot, so pass the real path"
    )]
    QuoteInProgram,
    #[error(
        "argument {index} contains a line break, which would end cmd.exe's command early; \
         pass the text in a file or an environment variable instead"
    )]
    LineBreakForCmd { index: usize },
    #[error(
        "the program path for cmd.exe contains `%` or `!`, which cmd would expand; \
         run it from a path without them"
    )]
    ExpansionInProgramForCmd,
    #[error(
        "argument {index} contains `%`, which cmd.exe may expand however it is escaped; \
         run the program directly instead of through cmd.exe to pass it literally"
    )]
    PercentForCmd { index: usize },
}

const QUOTE: u16 = b'"' as u16;
const BACKSLASH: u16 = b'\\' as u16;
const SPACE: u16 = b' ' as u16;
const CARET: u16 = b'^' as u16;

fn is_line_break(c: u16) -> bool {
    c == u16::from(b'\n') || c == u16::from(b'\r')
}

/// The metacharacters cmd.exe acts on outside quotes (and `%`, `!` even inside).
fn is_cmd_meta(c: u16) -> bool {
    c < 0x80 && b"^&|<>()%!\"".contains(&(c as u8))
}

/// Appends the program path (argv[0]), always quoted: argv[0] is parsed without backslash
/// escapes, so the only forbidden character is the quote itself.
fn push_program(out: &mut Vec<u16>, program: &[u16]) -> Result<(), CmdLineError> {
    if program.contains(&QUOTE) {
        return Err(CmdLineError::QuoteInProgram);
    }
    if program.contains(&0) {
        return Err(CmdLineError::Nul { index: 0 });
    }
    out.push(QUOTE);
    out.extend_from_slice(program);
    out.push(QUOTE);
    Ok(())
}

/// Appends one argument quoted for `CommandLineToArgvW` / the C runtime: left bare when it has
/// no whitespace or quote, else wrapped in quotes with `"` escaped as `\"` and the backslashes
/// before a quote (or before the closing quote) doubled.
pub fn push_arg(out: &mut Vec<u16>, arg: &[u16]) {
    let needs_quotes = arg.is_empty()
        || arg
            .iter()
            .any(|&c| c == SPACE || c == QUOTE || c == 9 || c == 10 || c == 11);
    if !needs_quotes {
        out.extend_from_slice(arg);
        return;
    }
    out.push(QUOTE);
    let mut backslashes = 0usize;
    for &c in arg {
        if c == BACKSLASH {
            backslashes += 1;
            continue;
        }
        if c == QUOTE {
            // 2n+1 backslashes then the quote: n literal backslashes and a literal quote.
            out.extend(std::iter::repeat_n(BACKSLASH, 2 * backslashes + 1));
        } else {
            out.extend(std::iter::repeat_n(BACKSLASH, backslashes));
        }
        backslashes = 0;
        out.push(c);
    }
    // Doubled so that the closing quote stays a quote.
    out.extend(std::iter::repeat_n(BACKSLASH, 2 * backslashes));
    out.push(QUOTE);
}

/// `"program" arg1 arg2 ...`, each argument quoted by [`push_arg`].
pub fn argv_line<A: AsRef<[u16]>>(program: &[u16], args: &[A]) -> Result<Vec<u16>, CmdLineError> {
    let mut out = Vec::new();
    push_program(&mut out, program)?;
    for (i, arg) in args.iter().enumerate() {
        let arg = arg.as_ref();
        if arg.contains(&0) {
            return Err(CmdLineError::Nul { index: i + 1 });
        }
        out.push(SPACE);
        push_arg(&mut out, arg);
    }
    Ok(out)
}

/// `"cmd.exe" /d /v:off /s /c " "program" args... "`: cmd runs `argv[0]` with exactly `argv[1..]`
/// and interprets nothing. Each argument is quoted by [`push_arg`], then every cmd
/// metacharacter in it (quotes included) is escaped with `^`, so cmd never enters a quoted
/// region and removes exactly the carets we added. `%` is refused: percent expansion happens
/// before caret removal, and cmd implementations disagree on what stops it. `/d` skips
/// AutoRun commands from the registry, `/v:off` disables `!` expansion.
/// Caveat: a batch file run this way re-expands `%1` etc. by its own rules.
pub fn cmd_exe_argv_line<A: AsRef<[u16]>>(
    cmd_exe: &[u16],
    argv: &[A],
) -> Result<Vec<u16>, CmdLineError> {
    let mut out = cmd_prefix(cmd_exe)?;
    for (i, arg) in argv.iter().enumerate() {
        let arg = arg.as_ref();
        if arg.contains(&0) {
            return Err(CmdLineError::Nul { index: i + 1 });
        }
        if arg.iter().any(|&c| is_line_break(c)) {
            return Err(CmdLineError::LineBreakForCmd { index: i + 1 });
        }
        if i > 0 {
            out.push(SPACE);
            if arg.contains(&u16::from(b'%')) {
                return Err(CmdLineError::PercentForCmd { index: i + 1 });
            }
        }
        if i == 0 {
            if arg
                .iter()
                .any(|&c| c == u16::from(b'%') || c == u16::from(b'!'))
            {
                return Err(CmdLineError::ExpansionInProgramForCmd);
            }
            push_program(&mut out, arg)?;
            continue;
        }
        let mut quoted = Vec::new();
        push_arg(&mut quoted, arg);
        for c in quoted {
            if is_cmd_meta(c) {
                out.push(CARET);
            }
            out.push(c);
        }
    }
    out.push(QUOTE);
    Ok(out)
}

/// `"cmd.exe" /d /v:off /s /c "script"`: cmd interprets `script` as a command line, with all
/// its metacharacters, on purpose (the caller asked for a shell). Line breaks are refused
/// because cmd would silently drop everything after the first one.
pub fn cmd_exe_script_line(cmd_exe: &[u16], script: &[u16]) -> Result<Vec<u16>, CmdLineError> {
    if script.contains(&0) {
        return Err(CmdLineError::Nul { index: 1 });
    }
    if script.iter().any(|&c| is_line_break(c)) {
        return Err(CmdLineError::LineBreakForCmd { index: 1 });
    }
    let mut out = cmd_prefix(cmd_exe)?;
    out.extend_from_slice(script);
    out.push(QUOTE);
    Ok(out)
}

fn cmd_prefix(cmd_exe: &[u16]) -> Result<Vec<u16>, CmdLineError> {
    let mut out = Vec::new();
    push_program(&mut out, cmd_exe)?;
    out.extend(" /d /v:off /s /c \"".encode_utf16());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    fn line(args: &[&str]) -> String {
        let args: Vec<Vec<u16>> = args.iter().map(|a| w(a)).collect();
        String::from_utf16(&argv_line(&w(r"C:\bin\p.exe"), &args).unwrap()).unwrap()
    }

    /// The C runtime's (2008 and later) and `CommandLineToArgvW`'s rules for argv[1..], as a
    /// reference to check the quoting against.
    fn parse_args(s: &str) -> Vec<String> {
        let c: Vec<char> = s.chars().collect();
        let (mut i, mut out) = (0, Vec::new());
        loop {
            while i < c.len() && (c[i] == ' ' || c[i] == '\t') {
                i += 1;
            }
            if i >= c.len() {
                return out;
            }
            let (mut arg, mut quoted) = (String::new(), false);
            while i < c.len() && (quoted || (c[i] != ' ' && c[i] != '\t')) {
                let mut n = 0;
                while i < c.len() && c[i] == '\\' {
                    n += 1;
                    i += 1;
                }
                if i < c.len() && c[i] == '"' {
                    arg.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        arg.push('"');
                    } else if quoted && c.get(i + 1) == Some(&'"') {
                        arg.push('"');
                        i += 1;
                    } else {
                        quoted = !quoted;
                    }
                    i += 1;
                } else {
                    arg.extend(std::iter::repeat_n('\\', n));
                    if i < c.len() && (quoted || (c[i] != ' ' && c[i] != '\t')) {
                        arg.push(c[i]);
                        i += 1;
                    }
                }
            }
            out.push(arg);
        }
    }

    /// Splits off the quoted program, returning the rest of the line.
    fn after_program(s: &str) -> &str {
        let rest = s.strip_prefix('"').unwrap();
        &rest[rest.find('"').unwrap() + 1..]
    }

    const TRICKY: &[&str] = &[
        "",
        "plain",
        "two words",
        "tab\there",
        r"trailing\",
        r"trailing two\\",
        r"C:\Program Files\x\",
        r#"say "hi""#,
        r#"\"already escaped\""#,
        r#"a\\"b"#,
        r#"""#,
        "unicode é 日本 🦀",
        "%PATH% !x! ^ & | < > ( )",
        "-flag=value",
    ];

    #[test]
    fn argv_quoting_table() {
        assert_eq!(line(&["plain"]), r#""C:\bin\p.exe" plain"#);
        assert_eq!(line(&[""]), r#""C:\bin\p.exe" """#);
        assert_eq!(line(&["two words"]), r#""C:\bin\p.exe" "two words""#);
        assert_eq!(line(&[r"dir\"]), r#""C:\bin\p.exe" dir\"#);
        assert_eq!(line(&[r"my dir\"]), r#""C:\bin\p.exe" "my dir\\""#);
        assert_eq!(line(&[r#"a"b"#]), r#""C:\bin\p.exe" "a\"b""#);
        assert_eq!(line(&[r#"a\"b"#]), r#""C:\bin\p.exe" "a\\\"b""#);
        assert_eq!(line(&[r"a\b c"]), r#""C:\bin\p.exe" "a\b c""#);
    }

    #[test]
    fn argv_quoting_round_trips_through_the_runtime_rules() {
        let got = parse_args(after_program(&line(TRICKY)));
        assert_eq!(got, TRICKY);
    }

    #[test]
    fn program_with_a_quote_or_nul_is_refused() {
        let none: &[Vec<u16>] = &[];
        assert_eq!(
            argv_line(&w(r#"C:\a"b.exe"#), none),
            Err(CmdLineError::QuoteInProgram)
        );
        assert_eq!(
            argv_line(&w("a"), &[w("x\0y")]),
            Err(CmdLineError::Nul { index: 1 })
        );
    }

    /// What cmd.exe does to an argv line built by `cmd_exe_argv_line`, after `/s` strips the
    /// outer quotes: removes carets outside quotes. Panics when cmd would act on a metacharacter
    /// or expand a variable, which is the attack the escaping must stop.
    fn through_cmd(line: &str) -> String {
        let body = line.split_once(" /d /v:off /s /c \"").unwrap().1;
        let body = body.strip_suffix('"').unwrap();
        let c: Vec<char> = body.chars().collect();
        let (mut out, mut quoted, mut i) = (String::new(), false, 0);
        while i < c.len() {
            match c[i] {
                '%' => panic!("cmd would expand `%` in {line}"),
                '"' => {
                    quoted = !quoted;
                    out.push('"');
                }
                '^' if !quoted => {
                    i += 1;
                    out.push(c[i]);
                }
                ch if !quoted && "&|<>()!".contains(ch) => {
                    panic!("cmd would act on {ch} in {line}")
                }
                ch => out.push(ch),
            }
            i += 1;
        }
        assert!(!quoted, "unbalanced quotes in {line}");
        out
    }

    fn cmd_line(argv: &[&str]) -> Result<String, CmdLineError> {
        let argv: Vec<Vec<u16>> = argv.iter().map(|a| w(a)).collect();
        cmd_exe_argv_line(&w(r"C:\Windows\System32\cmd.exe"), &argv)
            .map(|l| String::from_utf16(&l).unwrap())
    }

    #[test]
    fn cmd_argv_line_table() {
        assert_eq!(
            cmd_line(&[r"C:\t\p.exe", "a&b", "(x)!"]).unwrap(),
            r#""C:\Windows\System32\cmd.exe" /d /v:off /s /c ""C:\t\p.exe" a^&b ^(x^)^!""#
        );
        assert_eq!(
            cmd_line(&["p", r#"x "y""#]).unwrap(),
            r#""C:\Windows\System32\cmd.exe" /d /v:off /s /c ""p" ^"x \^"y\^"^"""#
        );
    }

    #[test]
    fn cmd_metacharacters_in_arguments_reach_the_program_literally() {
        let mut argv = vec![r"C:\t\probe.exe"];
        argv.extend(TRICKY.iter().filter(|a| !a.contains('%')));
        argv.extend(["& calc", "| del /q *", "> out", "!PATH!", "^", "(x)"]);
        let after_cmd = through_cmd(&cmd_line(&argv).unwrap());
        assert_eq!(parse_args(after_program(&after_cmd)), &argv[1..]);
    }

    #[test]
    fn cmd_lines_refuse_percent_line_breaks_and_expanding_program_paths() {
        assert_eq!(
            cmd_line(&["p", "ok", "%PATH%"]),
            Err(CmdLineError::PercentForCmd { index: 3 })
        );
        assert_eq!(
            cmd_line(&["p", "a\nb"]),
            Err(CmdLineError::LineBreakForCmd { index: 2 })
        );
        assert_eq!(
            cmd_line(&["p", "a\rb"]),
            Err(CmdLineError::LineBreakForCmd { index: 2 })
        );
        assert_eq!(
            cmd_line(&[r"C:\%x%\p.exe"]),
            Err(CmdLineError::ExpansionInProgramForCmd)
        );
        assert_eq!(
            cmd_exe_script_line(&w("cmd.exe"), &w("echo a\r\necho b")),
            Err(CmdLineError::LineBreakForCmd { index: 1 })
        );
    }

    #[test]
    fn cmd_script_line_passes_the_script_verbatim() {
        let l = cmd_exe_script_line(&w(r"C:\W\cmd.exe"), &w("echo a & exit 3")).unwrap();
        assert_eq!(
            String::from_utf16(&l).unwrap(),
            r#""C:\W\cmd.exe" /d /v:off /s /c "echo a & exit 3""#
        );
    }
}
