//! Programs that run other programs: shells given a script (`bash -c`, `cmd /c`, `pwsh -Command`)
//! and wrappers (`env`, `nohup`, `nice`, `time`, `timeout`, `stdbuf`, `command`, `exec`,
//! `builtin`, `xargs`, `sudo`, `doas`, `busybox`, `find -exec`). Finds the inner commands or
//! script, or says why it cannot (a shell reading its script from standard input, for one).

use super::{Shell, Word};

/// What a program runs inside itself.
pub enum Inner {
    /// Not a shell or wrapper (or one with nothing inside, like an interactive shell).
    None,
    Uncertain(String),
    Command(Vec<Word>),
    /// Several inner commands (`find -exec a ; -exec b ;`).
    Commands(Vec<Vec<Word>>),
    Bash(String),
    Cmd {
        line: String,
        delayed: bool,
    },
    PowerShell(String),
}

const POSIX_SHELLS: &[&str] = &["bash", "sh", "zsh", "dash", "ksh", "mksh", "ash", "rbash"];

pub fn look_through(key: &str, args: &[Word], shell: Shell) -> Inner {
    match key {
        k if POSIX_SHELLS.contains(&k) => posix_shell(args),
        "fish" | "csh" | "tcsh" | "nu" | "elvish" | "xonsh" => {
            if args.iter().any(|a| a.text.starts_with('-')) {
                Inner::Uncertain(format!("`{key}` scripts are not analysed"))
            } else {
                Inner::None
            }
        }
        "cmd" => cmd_shell(args),
        "powershell" | "pwsh" => powershell(key, args),
        "env" if shell != Shell::PowerShell && shell != Shell::Cmd => env(args),
        "nohup" | "builtin" => inner_from(args, 0),
        "nice" => skip_options(args, &["-n", "--adjustment"], false),
        "time" => skip_options(args, &["-f", "--format", "-o", "--output"], false),
        "stdbuf" => skip_options(args, &["-i", "-o", "-e"], false),
        "timeout" => skip_options(args, &["-s", "--signal", "-k", "--kill-after"], true),
        "command" => {
            if args.iter().any(|a| a.text == "-v" || a.text == "-V") {
                Inner::None
            } else {
                skip_options(args, &[], false)
            }
        }
        "exec" => skip_options(args, &["-a"], false),
        "xargs" => xargs(args),
        "sudo" | "doas" | "run0" | "pkexec" => skip_options(
            args,
            &[
                "-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group",
            ],
            false,
        ),
        "busybox" => inner_from(args, 0),
        "find" => find_exec(args),
        _ => Inner::None,
    }
}

fn inner_from(args: &[Word], start: usize) -> Inner {
    if start >= args.len() {
        Inner::None
    } else {
        Inner::Command(args[start..].to_vec())
    }
}

/// Skips `-x` flags (and the values of `with_value` options); with `then_operand`, also one
/// operand (timeout's duration). The rest is the inner command.
fn skip_options(args: &[Word], with_value: &[&str], then_operand: bool) -> Inner {
    let mut i = 0;
    while i < args.len() {
        let t = &args[i].text;
        if args[i].dynamic {
            return Inner::Uncertain(format!(
                "wrapper option `{t}` is computed at run time, so the inner command is unknown"
            ));
        }
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        if with_value.contains(&t.as_str()) {
            i += 1;
        }
        i += 1;
    }
    if then_operand {
        i += 1;
    }
    inner_from(args, i)
}

fn env(args: &[Word]) -> Inner {
    let mut i = 0;
    while i < args.len() {
        let t = &args[i].text;
        if args[i].dynamic {
            return Inner::Uncertain(format!(
                "`env` argument `{t}` is computed at run time, so the inner command is unknown"
            ));
        }
        if t == "-S" || t.starts_with("--split-string") || (t.starts_with("-S") && t.len() > 2) {
            return Inner::Uncertain("`env -S` splits a string into a command at run time".into());
        }
        if t == "--" {
            i += 1;
            break;
        }
        if t == "-u" || t == "--unset" || t == "-C" || t == "--chdir" {
            i += 2;
            continue;
        }
        if t.starts_with('-') || t.contains('=') {
            i += 1;
            continue;
        }
        break;
    }
    inner_from(args, i)
}

/// The commands of `find`'s `-exec`, `-execdir`, `-ok` and `-okdir` (each up to `;` or `+`);
/// `{}` stands for a found path, known only at run time.
fn find_exec(args: &[Word]) -> Inner {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if matches!(
            args[i].text.as_str(),
            "-exec" | "-execdir" | "-ok" | "-okdir"
        ) {
            let mut words = Vec::new();
            i += 1;
            while i < args.len() && args[i].text != ";" && args[i].text != "+" {
                let w = &args[i];
                words.push(if w.text.contains("{}") {
                    Word::dynamic(w.text.clone())
                } else {
                    w.clone()
                });
                i += 1;
            }
            if !words.is_empty() {
                out.push(words);
            }
        }
        i += 1;
    }
    if out.is_empty() {
        Inner::None
    } else {
        Inner::Commands(out)
    }
}

fn xargs(args: &[Word]) -> Inner {
    const WITH_VALUE: &[&str] = &[
        "-I", "-L", "-n", "-P", "-s", "-d", "-E", "-a", "-e", "-l", "-i",
    ];
    let mut i = 0;
    while i < args.len() {
        let t = &args[i].text;
        if !t.starts_with('-') {
            break;
        }
        if WITH_VALUE.contains(&t.as_str()) {
            i += 1;
        }
        i += 1;
    }
    let mut words = if i < args.len() {
        args[i..].to_vec()
    } else {
        vec![Word::lit("echo")]
    };
    words.push(Word::dynamic("{stdin}"));
    Inner::Command(words)
}

fn static_script(w: &Word, shell: &str) -> Inner {
    if w.dynamic {
        return Inner::Uncertain(format!(
            "the {shell} script `{}` is computed at run time",
            w.text
        ));
    }
    Inner::None
}

fn posix_shell(args: &[Word]) -> Inner {
    let mut has_c = false;
    let mut i = 0;
    while i < args.len() {
        let t = &args[i].text;
        if args[i].dynamic {
            return Inner::Uncertain(format!("shell option `{t}` is computed at run time"));
        }
        if t == "--" || t == "-" {
            i += 1;
            break;
        }
        if t.starts_with("--") {
            if t == "--rcfile" || t == "--init-file" {
                i += 1;
            }
            i += 1;
            continue;
        }
        if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
            let flags = &t[1..];
            if flags.contains('c') {
                has_c = true;
            }
            if flags.contains('o') || flags.contains('O') {
                i += 1;
            }
            i += 1;
            continue;
        }
        break;
    }
    if !has_c {
        let informational = args
            .iter()
            .any(|a| a.text == "--version" || a.text == "--help");
        let reads_stdin = args[..i]
            .iter()
            .any(|a| a.text.starts_with('-') && !a.text.starts_with("--") && a.text.contains('s'))
            || i >= args.len();
        if reads_stdin && !informational {
            return Inner::Uncertain(
                "the shell reads its script from standard input, which is not analysed".into(),
            );
        }
        return Inner::None;
    }
    match args.get(i) {
        Some(w) if w.dynamic => static_script(w, "shell"),
        Some(w) => Inner::Bash(w.text.clone()),
        None => Inner::None,
    }
}

fn cmd_shell(args: &[Word]) -> Inner {
    let mut delayed = false;
    for (i, a) in args.iter().enumerate() {
        let lower = a.text.to_ascii_lowercase();
        if lower.starts_with("/v:on") {
            delayed = true;
        }
        // `/c` and `/k` may be glued to other switches (`/s/c`) or to the command (`/cdir`).
        let pos = lower.match_indices('/').map(|(p, _)| p).find(|&p| {
            matches!(lower.as_bytes().get(p + 1), Some(b'c') | Some(b'k'))
                && lower.as_bytes().get(p + 2) != Some(&b':')
        });
        if let Some(p) = pos {
            if a.dynamic || args[i + 1..].iter().any(|w| w.dynamic) {
                return static_script(&Word::dynamic(a.text.clone()), "cmd");
            }
            let mut parts = vec![a.text[p + 2..].to_string()];
            parts.extend(args[i + 1..].iter().map(|w| w.text.clone()));
            let line = parts.join(" ").trim().to_string();
            return Inner::Cmd {
                line: strip_outer_quotes(&line),
                delayed,
            };
        }
        if !a.text.starts_with('/') {
            return Inner::None;
        }
    }
    if args.iter().any(|a| a.text == "/?") {
        return Inner::None;
    }
    Inner::Uncertain(
        "cmd without /c reads commands from standard input, which is not analysed".into(),
    )
}

/// `cmd /c "a b"` runs `a b`: cmd drops the first and the last quote of the line.
fn strip_outer_quotes(line: &str) -> String {
    if line.len() >= 2 && line.starts_with('"') && line.ends_with('"') {
        line[1..line.len() - 1].to_string()
    } else {
        line.to_string()
    }
}

/// PowerShell parameters, in order; a parameter may be shortened to any unique prefix.
const PS_PARAMS: &[(&str, PsParam)] = &[
    ("command", PsParam::Command),
    ("commandwithargs", PsParam::Command),
    ("configurationfile", PsParam::Value),
    ("configurationname", PsParam::Value),
    ("custompipename", PsParam::Value),
    ("encodedarguments", PsParam::Encoded),
    ("encodedcommand", PsParam::Encoded),
    ("executionpolicy", PsParam::Value),
    ("file", PsParam::File),
    ("help", PsParam::Switch),
    ("inputformat", PsParam::Value),
    ("interactive", PsParam::Switch),
    ("login", PsParam::Switch),
    ("mta", PsParam::Switch),
    ("noexit", PsParam::Switch),
    ("nologo", PsParam::Switch),
    ("noninteractive", PsParam::Switch),
    ("noprofile", PsParam::Switch),
    ("noprofileloadtime", PsParam::Switch),
    ("outputformat", PsParam::Value),
    ("psconsolefile", PsParam::Value),
    ("settingsfile", PsParam::Value),
    ("sta", PsParam::Switch),
    ("version", PsParam::Value),
    ("windowstyle", PsParam::Value),
    ("workingdirectory", PsParam::Value),
];

/// Documented short names that are not unique prefixes.
const PS_ALIASES: &[(&str, PsParam)] = &[
    ("c", PsParam::Command),
    ("cwa", PsParam::Command),
    ("e", PsParam::Encoded),
    ("ec", PsParam::Encoded),
    ("ea", PsParam::Encoded),
    ("f", PsParam::File),
    ("ep", PsParam::Value),
    ("ex", PsParam::Value),
    ("nop", PsParam::Switch),
    ("noni", PsParam::Switch),
    ("nol", PsParam::Switch),
    ("w", PsParam::Value),
    ("wd", PsParam::Value),
    ("o", PsParam::Value),
    ("of", PsParam::Value),
    ("if", PsParam::Value),
    ("v", PsParam::Value),
    ("l", PsParam::Switch),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum PsParam {
    Command,
    Encoded,
    File,
    Value,
    Switch,
}

fn ps_param(name: &str) -> Option<PsParam> {
    if let Some((_, p)) = PS_ALIASES.iter().find(|(a, _)| *a == name) {
        return Some(*p);
    }
    if let Some((_, p)) = PS_PARAMS.iter().find(|(n, _)| *n == name) {
        return Some(*p);
    }
    let matches: Vec<PsParam> = PS_PARAMS
        .iter()
        .filter(|(n, _)| n.starts_with(name))
        .map(|(_, p)| *p)
        .collect();
    if matches.contains(&PsParam::Encoded) {
        return Some(PsParam::Encoded);
    }
    match matches.as_slice() {
        [p] => Some(*p),
        [p, rest @ ..] if rest.iter().all(|q| q == p) => Some(*p),
        _ => None,
    }
}

fn powershell(key: &str, args: &[Word]) -> Inner {
    let mut i = 0;
    while i < args.len() {
        let w = &args[i];
        if w.dynamic {
            return Inner::Uncertain(format!(
                "PowerShell argument `{}` is computed at run time",
                w.text
            ));
        }
        let t = w.text.as_str();
        let name = t.trim_start_matches(['-', '/', '\u{2013}', '\u{2014}', '\u{2015}']);
        if name.len() == t.len() || name.is_empty() {
            // The first positional argument: a command in Windows PowerShell, a file in pwsh.
            return if key == "pwsh" {
                Inner::None
            } else {
                ps_command(&args[i..])
            };
        }
        let name = name.split(':').next().unwrap_or(name).to_ascii_lowercase();
        match ps_param(&name) {
            Some(PsParam::Command) => return ps_command(&args[i + 1..]),
            Some(PsParam::Encoded) => {
                return Inner::Uncertain(
                    "PowerShell `-EncodedCommand` runs an encoded script that is not analysed"
                        .into(),
                );
            }
            Some(PsParam::File) => return Inner::None,
            Some(PsParam::Value) if name.starts_with('v') => return Inner::None,
            Some(PsParam::Value) => i += 2,
            Some(PsParam::Switch) if name.starts_with('h') || name == "?" => return Inner::None,
            Some(PsParam::Switch) => i += 1,
            None => {
                return Inner::Uncertain(format!(
                    "unknown or ambiguous PowerShell parameter `{t}`"
                ));
            }
        }
    }
    Inner::Uncertain(
        "PowerShell without -Command or -File reads commands from standard input, which is not analysed"
            .into(),
    )
}

fn ps_command(rest: &[Word]) -> Inner {
    if rest.iter().any(|w| w.dynamic) {
        return static_script(&Word::dynamic("<script>"), "PowerShell");
    }
    if rest.len() == 1 && rest[0].text == "-" {
        return Inner::Uncertain("PowerShell reads its script from standard input".into());
    }
    if rest.is_empty() {
        return Inner::None;
    }
    let script = rest
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    Inner::PowerShell(script)
}
