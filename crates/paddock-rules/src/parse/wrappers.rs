//! Programs that run other programs: shells given a script (`bash -c`, `cmd /c`, `pwsh -Command`)
//! and wrappers (`env`, `nohup`, `nice`, `time`, `timeout`, `stdbuf`, `setsid`, `flock`, `watch`,
//! `script -c`, `su -c`, `sudo`, `doas`, `chroot`, `ionice`, `xargs`, `parallel`, `command`,
//! `exec`, `builtin`, `busybox`, `find -exec`). Their options are read as getopt reads them
//! (`specs`), so a value-taking option never hides the inner command and a flag never swallows
//! it. Finds the inner commands or script, or says why it cannot.

use super::getopt::{self, Spec};
use super::{Shell, Word, specs};

/// What a program runs inside itself.
pub enum Inner {
    /// Not a shell or wrapper (or one with nothing inside).
    None,
    Uncertain(String),
    /// A shell or interpreter reading its commands from standard input or a terminal: what it
    /// runs is not analysed. Given directly (`paddock run -- bash`) that is an interactive
    /// session the sandbox contains; inside a script (`... | sh`) it is code hidden from the rules.
    Interactive(String),
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

/// Finds what `key args...` runs. `notes` receives reasons the command is not known safe though
/// nothing is hidden (an `env` assignment of `PATH`, a shell's startup file).
pub fn look_through(key: &str, args: &[Word], shell: Shell, notes: &mut Vec<String>) -> Inner {
    match key {
        k if POSIX_SHELLS.contains(&k) => posix_shell(args, notes),
        "fish" | "csh" | "tcsh" | "nu" | "elvish" | "xonsh" => {
            if args.iter().any(|a| a.text.starts_with('-')) {
                Inner::Uncertain(format!("`{key}` scripts are not analysed"))
            } else {
                Inner::None
            }
        }
        "cmd" => cmd_shell(args),
        "powershell" | "pwsh" => powershell(key, args),
        "env" if shell != Shell::PowerShell && shell != Shell::Cmd => env(args, notes),
        "builtin" => inner_from(args, 0),
        "nohup" | "setsid" | "stdbuf" | "time" => wrapped(key, args, spec(key), 0),
        "nice" => {
            // The obsolete `nice -5 cmd` form.
            let legacy = args.first().is_some_and(|a| {
                let t = a.text.trim_start_matches('-');
                a.text.starts_with('-') && !t.is_empty() && t.chars().all(|c| c.is_ascii_digit())
            });
            if legacy {
                wrapped(key, &args[1..], spec(key), 0)
            } else {
                wrapped(key, args, spec(key), 0)
            }
        }
        "timeout" => wrapped(key, args, spec(key), 1),
        "chroot" => wrapped(key, args, spec(key), 1),
        "ionice" => {
            let p = getopt::parse(spec(key), args);
            if p.has("-p") || p.has("-P") || p.has("-u") {
                Inner::None
            } else {
                wrapped(key, args, spec(key), 0)
            }
        }
        "command" => {
            if args.iter().any(|a| a.text == "-v" || a.text == "-V") {
                Inner::None
            } else {
                skip_flags(args)
            }
        }
        "exec" => {
            let mut i = 0;
            while let Some(a) = args.get(i) {
                match a.text.as_str() {
                    "-a" => i += 2,
                    "-c" | "-l" | "-cl" | "-lc" => i += 1,
                    "--" => {
                        i += 1;
                        break;
                    }
                    _ => break,
                }
            }
            inner_from(args, i)
        }
        "xargs" => xargs(args),
        "parallel" => parallel(args),
        "sudo" => sudo(args),
        "doas" | "run0" | "pkexec" => wrapped(key, args, &specs::DOAS, 0),
        "su" => {
            let p = getopt::parse(&specs::SU, args);
            if let Some(problem) = &p.problem {
                return Inner::Uncertain(format!("`su`: {problem}, so what it runs is unknown"));
            }
            match p.value("-c").or(p.value("--session-command")) {
                Some(w) if w.dynamic => static_script(w, "su"),
                Some(w) => Inner::Bash(w.text.clone()),
                None => Inner::None,
            }
        }
        "script" => {
            let p = getopt::parse(&specs::SCRIPT, args);
            if let Some(problem) = &p.problem {
                return Inner::Uncertain(format!(
                    "`script`: {problem}, so what it runs is unknown"
                ));
            }
            match p.value("-c") {
                Some(w) if w.dynamic => static_script(w, "script"),
                Some(w) => Inner::Bash(w.text.clone()),
                None => Inner::None,
            }
        }
        "flock" => flock(args),
        "watch" => {
            let p = getopt::parse(&specs::WATCH, args);
            if let Some(problem) = &p.problem {
                return Inner::Uncertain(format!("`watch`: {problem}, so what it runs is unknown"));
            }
            let rest = &args[p.rest..];
            if rest.is_empty() {
                Inner::None
            } else if p.has("-x") {
                Inner::Command(rest.to_vec())
            } else if rest.iter().any(|w| w.dynamic) {
                static_script(&Word::dynamic(join(rest)), "watch")
            } else {
                // watch runs its arguments joined by spaces with `sh -c`.
                Inner::Bash(join(rest))
            }
        }
        "busybox" => inner_from(args, 0),
        "find" => find_exec(args),
        _ => Inner::None,
    }
}

fn spec(key: &str) -> &'static Spec {
    specs::for_program(key).unwrap_or(&specs::NOHUP)
}

fn join(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn inner_from(args: &[Word], start: usize) -> Inner {
    if start >= args.len() {
        Inner::None
    } else {
        Inner::Command(args[start..].to_vec())
    }
}

/// A wrapper whose options follow `spec`, then `operands` operands (timeout's duration), then
/// the inner command.
fn wrapped(key: &str, args: &[Word], spec: &Spec, operands: usize) -> Inner {
    let p = getopt::parse(spec, args);
    if let Some(problem) = &p.problem {
        return Inner::Uncertain(format!(
            "`{key}`: {problem}, so the inner command is unknown"
        ));
    }
    if args[p.rest..].iter().take(operands).any(|w| w.dynamic) {
        return Inner::Uncertain(format!(
            "`{key}` operand computed at run time, so the inner command is unknown"
        ));
    }
    inner_from(args, p.rest + operands)
}

/// `command [-p] cmd...`: skips plain flags.
fn skip_flags(args: &[Word]) -> Inner {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a.dynamic {
            return Inner::Uncertain(format!(
                "wrapper option `{}` is computed at run time, so the inner command is unknown",
                a.text
            ));
        }
        if a.text == "--" {
            i += 1;
            break;
        }
        if !a.text.starts_with('-') || a.text == "-" {
            break;
        }
        i += 1;
    }
    inner_from(args, i)
}

fn sudo(args: &[Word]) -> Inner {
    let p = getopt::parse(&specs::SUDO, args);
    if let Some(problem) = &p.problem {
        return Inner::Uncertain(format!(
            "`sudo`: {problem}, so the inner command is unknown"
        ));
    }
    if p.has("-e") {
        return Inner::None;
    }
    // With `-i` or `-s` the command runs through the target user's shell, its words escaped:
    // still the same words.
    inner_from(args, p.rest)
}

fn flock(args: &[Word]) -> Inner {
    let p = getopt::parse(&specs::FLOCK, args);
    if let Some(problem) = &p.problem {
        return Inner::Uncertain(format!(
            "`flock`: {problem}, so the inner command is unknown"
        ));
    }
    let script = |w: &Word| {
        if w.dynamic {
            static_script(w, "flock")
        } else {
            Inner::Bash(w.text.clone())
        }
    };
    if let Some(w) = p.value("-c") {
        return script(w);
    }
    // `flock FILE -c CMD` or `flock FILE CMD ARGS...` (or `flock FD`: nothing to run).
    let after = p.rest + 1;
    match args.get(after).map(|w| w.text.as_str()) {
        Some("-c" | "--command") => match args.get(after + 1) {
            Some(w) => script(w),
            None => Inner::None,
        },
        Some(t) if t.starts_with("--command=") => {
            let w = &args[after];
            script(&Word {
                text: t["--command=".len()..].to_string(),
                dynamic: w.dynamic,
            })
        }
        _ => inner_from(args, after),
    }
}

fn env(args: &[Word], notes: &mut Vec<String>) -> Inner {
    let p = getopt::parse(&specs::ENV, args);
    if p.has("-S") {
        return Inner::Uncertain("`env -S` splits a string into a command at run time".into());
    }
    if let Some(problem) = &p.problem {
        return Inner::Uncertain(format!("`env`: {problem}, so the inner command is unknown"));
    }
    let mut i = p.rest;
    while let Some(w) = args.get(i) {
        let Some((name, _)) = w.text.split_once('=') else {
            break;
        };
        if name.is_empty() || name.starts_with('-') {
            break;
        }
        if w.dynamic && !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Inner::Uncertain(format!(
                "`env` argument `{}` is computed at run time, so the inner command is unknown",
                w.text
            ));
        }
        if super::sensitive_variable(name) {
            notes.push(format!(
                "`env` sets `{name}`, which changes which programs run or what they load"
            ));
        }
        i += 1;
    }
    if let Some(w) = args.get(i)
        && w.dynamic
    {
        return Inner::Uncertain(format!(
            "`env` argument `{}` is computed at run time, so the inner command is unknown",
            w.text
        ));
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
    let p = getopt::parse(&specs::XARGS, args);
    if let Some(problem) = &p.problem {
        return Inner::Uncertain(format!(
            "`xargs`: {problem}, so the inner command is unknown"
        ));
    }
    let replace = match (p.value("-I"), p.opts.iter().find(|o| o.name == "-i")) {
        (Some(w), _) => Some(w.text.clone()),
        (None, Some(o)) => Some(o.value.as_ref().map_or("{}".into(), |w| w.text.clone())),
        (None, None) => None,
    };
    let mut words = if p.rest < args.len() {
        args[p.rest..].to_vec()
    } else {
        vec![Word::lit("echo")]
    };
    match replace {
        Some(r) if !r.is_empty() => {
            // Each word holding the replace string becomes an input line at run time.
            for w in words.iter_mut().skip(1) {
                if w.text.contains(&r) {
                    w.dynamic = true;
                }
            }
            if words[0].text.contains(&r) {
                words[0].dynamic = true;
            }
        }
        _ => words.push(Word::dynamic("{stdin}")),
    }
    Inner::Command(words)
}

/// Replaces parallel's replacement strings (`{}`, `{.}`, `{/}`, `{#}`, `{1}`, ...) by a shell
/// variable, so the parsed script shows a value only known at run time.
fn replace_placeholders(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if close <= 4 && !after[..close].contains(char::is_whitespace) => {
                out.push_str(&rest[..open]);
                out.push_str("${PARALLEL_INPUT}");
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// GNU parallel: the command words before `:::` run through a shell, `{}` and friends replaced by
/// the inputs; without a command it reads whole command lines from its input.
fn parallel(args: &[Word]) -> Inner {
    let p = getopt::parse(&specs::PARALLEL, args);
    if let Some(problem) = &p.problem {
        return Inner::Uncertain(format!("`parallel`: {problem}, so what it runs is unknown"));
    }
    let rest: Vec<Word> = args[p.rest..]
        .iter()
        .take_while(|w| !w.text.starts_with(":::"))
        .cloned()
        .collect();
    if rest.is_empty() {
        return Inner::Uncertain(
            "`parallel` without a command runs the lines of its input as commands".into(),
        );
    }
    if rest.iter().any(|w| w.dynamic) {
        return static_script(&Word::dynamic(join(&rest)), "parallel");
    }
    // Each job gets an input in place of `{}` (or `{.}`, `{/}`, ...), appended when the command
    // names none: a value only known at run time.
    let placeholder = |t: &str| t.contains('{') && t.contains('}');
    let has_placeholder = rest.iter().any(|w| placeholder(&w.text));
    if p.has("-q") {
        let mut words: Vec<Word> = rest
            .into_iter()
            .map(|w| {
                if placeholder(&w.text) {
                    Word::dynamic(w.text)
                } else {
                    w
                }
            })
            .collect();
        if !has_placeholder {
            words.push(Word::dynamic("{}"));
        }
        return Inner::Command(words);
    }
    let mut script = String::new();
    for w in &rest {
        if !script.is_empty() {
            script.push(' ');
        }
        script.push_str(&replace_placeholders(&w.text));
    }
    if !has_placeholder {
        script.push_str(" ${PARALLEL_INPUT}");
    }
    Inner::Bash(script)
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

fn posix_shell(args: &[Word], notes: &mut Vec<String>) -> Inner {
    let mut has_c = false;
    let mut interactive = false;
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
        if let Some(long) = t.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or(long);
            if ["rcfile", "init-file"].iter().any(|n| n.starts_with(name)) && !name.is_empty() {
                notes.push(format!(
                    "`--{name}` makes the shell run a startup file first"
                ));
                if !long.contains('=') {
                    i += 1;
                }
            }
            i += 1;
            continue;
        }
        if (t.starts_with('-') || t.starts_with('+')) && t.len() > 1 {
            let flags = &t[1..];
            if flags.contains('c') {
                has_c = true;
            }
            if flags.contains('i') && t.starts_with('-') {
                interactive = true;
            }
            // `-o NAME` / `-O NAME` take a value each.
            i += 1 + flags.chars().filter(|c| *c == 'o' || *c == 'O').count();
            continue;
        }
        break;
    }
    if interactive {
        notes.push("`-i` makes the shell interactive: it runs its startup files first".into());
    }
    if !has_c {
        let informational = args
            .iter()
            .any(|a| a.text == "--version" || a.text == "--help");
        let reads_stdin = args[..i.min(args.len())]
            .iter()
            .any(|a| a.text.starts_with('-') && !a.text.starts_with("--") && a.text.contains('s'))
            || i >= args.len();
        if reads_stdin && !informational {
            return Inner::Interactive(
                "the shell reads its commands from standard input, which is not analysed".into(),
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
    Inner::Interactive(
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
    Inner::Interactive(
        "PowerShell without -Command or -File reads commands from standard input, which is not analysed"
            .into(),
    )
}

fn ps_command(rest: &[Word]) -> Inner {
    if rest.iter().any(|w| w.dynamic) {
        return static_script(&Word::dynamic("<script>"), "PowerShell");
    }
    if rest.len() == 1 && rest[0].text == "-" {
        return Inner::Interactive("PowerShell reads its script from standard input".into());
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
