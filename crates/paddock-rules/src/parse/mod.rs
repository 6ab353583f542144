//! What a command line really runs: an argv is split into the simple commands it executes, looking
//! through `bash -c`, `cmd /c`, PowerShell `-Command` scripts and wrappers such as `env` or `xargs`.
//!
//! The guarantee: every simple command the parsers can see is listed, and anything they cannot
//! see through (eval, computed command names, encoded scripts, parse errors, writes outside the
//! writable roots) is listed as an `Uncertainty`, which the judge turns into `prompt`, never `allow`.

pub mod bash;
pub mod cmd;
pub mod getopt;
pub mod names;
pub mod powershell;
pub mod specs;
mod wrappers;

use crate::context::Context;
use serde::Serialize;

/// Variables whose assignment changes which program runs, what it loads or which
/// configuration it reads (so a command under them is not known safe).
pub fn sensitive_variable(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "PATH",
        "HOME",
        "BASH_ENV",
        "ENV",
        "IFS",
        "PS4",
        "SHELL",
        "SHELLOPTS",
        "BASHOPTS",
        "PROMPT_COMMAND",
        "CDPATH",
        "LESSOPEN",
        "LESSCLOSE",
        "PAGER",
        "MANPAGER",
        "EDITOR",
        "VISUAL",
        "BROWSER",
        "TERMINFO",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "PERL5OPT",
        "PERL5LIB",
        "RUBYOPT",
        "RUBYLIB",
        "SSH_ASKPASS",
        "TMPDIR",
        "ZDOTDIR",
        "INPUTRC",
    ];
    const PREFIXES: &[&str] = &[
        "LD_",
        "DYLD_",
        "GIT_",
        "XDG_",
        "PYTHON",
        "NODE_",
        "NPM_CONFIG_",
        "CARGO_",
        "RUSTC",
        "RUSTFLAGS",
        "BASH_FUNC_",
        "SUDO_",
        "GCONV_",
        "MALLOC_",
    ];
    let upper = name.to_ascii_uppercase();
    EXACT.contains(&upper.as_str())
        || PREFIXES.iter().any(|p| upper.starts_with(p))
        || upper.ends_with("PAGER")
        || upper.ends_with("EDITOR")
}

/// Which language a simple command was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shell {
    /// The argv itself, as handed to Paddock.
    Direct,
    Bash,
    Cmd,
    PowerShell,
}

/// One word of a command. `dynamic` words are only known at run time (variables, globs,
/// substitutions); `text` is then their source text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Word {
    pub text: String,
    pub dynamic: bool,
}

impl Word {
    pub fn lit(text: impl Into<String>) -> Word {
        Word {
            text: text.into(),
            dynamic: false,
        }
    }
    pub fn dynamic(text: impl Into<String>) -> Word {
        Word {
            text: text.into(),
            dynamic: true,
        }
    }
}

/// One command the line runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimpleCommand {
    pub words: Vec<Word>,
    pub shell: Shell,
    /// A shell or wrapper (`bash -c`, `env`, `xargs`) whose inner commands are listed separately.
    pub wrapper: bool,
}

impl SimpleCommand {
    pub fn new(words: Vec<Word>, shell: Shell) -> SimpleCommand {
        SimpleCommand {
            words,
            shell,
            wrapper: false,
        }
    }

    /// The argv as text (dynamic words show their source).
    pub fn argv(&self) -> Vec<String> {
        self.words.iter().map(|w| w.text.clone()).collect()
    }

    /// The normalised names the program is known by (basename, lower case, no `.exe`; for
    /// PowerShell also the cmdlet an alias stands for, and its other aliases).
    pub fn names(&self) -> Vec<String> {
        let Some(first) = self.words.first() else {
            return Vec::new();
        };
        let key = names::program_key(&first.text);
        if self.shell == Shell::PowerShell {
            return powershell::names_of(&key);
        }
        vec![key]
    }

    /// True when every word is known before the command runs.
    pub fn is_static(&self) -> bool {
        self.words.iter().all(|w| !w.dynamic)
    }
}

/// How much an uncertainty matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UncertaintyKind {
    /// It may hide which commands run (eval, a computed command name, an encoded script, a
    /// parse error): a forbid rule could be dodged, so it asks, inside the sandbox too.
    Hidden,
    /// It changes what a known program does (`PATH=...`, `source`, a program's own code
    /// option) but hides no command from the rules: the line is not known safe, and the
    /// sandbox contains it (asks only outside the sandbox).
    Contained,
}

/// Something the parsers could not see through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Uncertainty {
    pub reason: String,
    /// The part of the script it is about.
    pub snippet: String,
    pub kind: UncertaintyKind,
}

/// Everything a command line runs, as far as the parsers can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Parsed {
    pub commands: Vec<SimpleCommand>,
    pub uncertain: Vec<Uncertainty>,
}

/// Scripts nested deeper than this (`bash -c "bash -c ..."`) are not followed.
const MAX_DEPTH: usize = 8;
/// Brackets, substitutions and blocks nested deeper than this inside one script are not parsed
/// (the line asks): keeps the parsers' stack and memory bounded on hostile input.
pub const MAX_NESTING: usize = 64;
/// Scripts longer than this (bytes) are not parsed (the line asks).
pub const MAX_SCRIPT: usize = 256 * 1024;
/// More simple commands than this in one line are not judged one by one.
const MAX_COMMANDS: usize = 512;

/// Collects simple commands from the parsers and looks through shells and wrappers.
pub struct Collector<'a> {
    pub ctx: &'a Context,
    pub out: Parsed,
    /// After `cd DIR` in a script: `Some(Some(dir))`, or `Some(None)` when the directory is
    /// only known at run time. Relative redirections are judged against it.
    pub cwd_shift: Option<Option<std::path::PathBuf>>,
}

impl<'a> Collector<'a> {
    pub fn new(ctx: &'a Context) -> Collector<'a> {
        Collector {
            ctx,
            out: Parsed::default(),
            cwd_shift: None,
        }
    }

    /// True once more commands were found than are judged one by one: parsers stop walking.
    pub fn saturated(&self) -> bool {
        self.out.commands.len() >= MAX_COMMANDS
    }

    /// The directory the script is in at this point, if known.
    pub fn current_cwd(&self) -> Option<std::path::PathBuf> {
        match &self.cwd_shift {
            None => Some(self.ctx.cwd.clone()),
            Some(shifted) => shifted.clone(),
        }
    }

    /// Records something that may hide what runs: the line asks, inside the sandbox too.
    pub fn uncertain(&mut self, reason: impl Into<String>, snippet: impl Into<String>) {
        self.note(UncertaintyKind::Hidden, reason.into(), snippet.into());
    }

    /// Records something that keeps the line from being known safe but that the sandbox
    /// contains: unknown inside the sandbox, asks outside it.
    pub fn contained(&mut self, reason: impl Into<String>, snippet: impl Into<String>) {
        self.note(UncertaintyKind::Contained, reason.into(), snippet.into());
    }

    fn note(&mut self, kind: UncertaintyKind, reason: String, mut snippet: String) {
        if self.out.uncertain.len() >= MAX_COMMANDS {
            return;
        }
        if snippet.len() > 200 {
            let mut cut = 200;
            while !snippet.is_char_boundary(cut) {
                cut -= 1;
            }
            snippet.truncate(cut);
            snippet.push_str("...");
        }
        let u = Uncertainty {
            reason,
            snippet,
            kind,
        };
        if !self.out.uncertain.contains(&u) {
            self.out.uncertain.push(u);
        }
    }

    /// Checks a redirection that writes to `target`. Inside the sandbox no redirection needs
    /// approval: `/tmp` is private to the run and a write outside the writable roots fails.
    pub fn write_redirect(&mut self, target: &Word, snippet: &str) {
        if is_unc(&target.text, Shell::PowerShell) {
            self.uncertain(
                format!(
                    "output redirected to the UNC path `{}`: Windows connects to that host, which no sandbox stops",
                    target.text
                ),
                snippet,
            );
            return;
        }
        if self.ctx.sandboxed {
            return;
        }
        if target.dynamic {
            self.uncertain(
                "output redirected to a file whose name is computed at run time",
                snippet,
            );
        } else if !self.write_allowed(&target.text) {
            self.uncertain(
                format!(
                    "output redirected to `{}`, outside the writable roots",
                    target.text
                ),
                snippet,
            );
        }
    }

    fn write_allowed(&self, target: &str) -> bool {
        match &self.cwd_shift {
            None => self.ctx.write_target_allowed(target),
            Some(Some(dir)) => {
                let mut ctx = self.ctx.clone();
                ctx.cwd = dir.clone();
                ctx.write_target_allowed(target)
            }
            // After `cd $X` only absolute targets (and devices) can be placed.
            Some(None) => {
                let absolute =
                    target.starts_with(['/', '\\']) || target.as_bytes().get(1) == Some(&b':');
                (absolute || Context::is_device(target)) && self.ctx.write_target_allowed(target)
            }
        }
    }

    /// Adds one simple command (and, through shells and wrappers, the commands inside it).
    pub fn command(&mut self, mut cmd: SimpleCommand, depth: usize) {
        if cmd.words.is_empty() {
            return;
        }
        if self.out.commands.len() >= MAX_COMMANDS {
            self.uncertain(
                format!("more than {MAX_COMMANDS} commands in one line"),
                crate::shlex::join(&cmd.argv()),
            );
            return;
        }
        let snippet = crate::shlex::join(&cmd.argv());
        if depth > MAX_DEPTH {
            self.uncertain(
                format!("scripts nested more than {MAX_DEPTH} levels deep are not analysed"),
                snippet,
            );
            return;
        }
        let first = cmd.words[0].clone();
        if first.dynamic {
            self.uncertain(
                format!("the command name `{}` is computed at run time", first.text),
                snippet.clone(),
            );
        }
        let key = names::program_key(&first.text);
        let is_pwsh = cmd.shell == Shell::PowerShell;
        if let Some(unc) = cmd.words.iter().find(|w| is_unc(&w.text, cmd.shell)) {
            self.uncertain(
                format!(
                    "`{}` is a UNC path: Windows connects to that host and may send your credentials, which no sandbox stops",
                    unc.text
                ),
                snippet.clone(),
            );
        }
        match key.as_str() {
            "eval" => self.uncertain("`eval` runs a string built at run time", snippet.clone()),
            // Like `bash script.sh`: the script's commands are not analysed, the sandbox
            // contains them; its name must be known, though.
            "source" | "." if cmd.words.get(1).is_some_and(|w| !w.dynamic) => self.contained(
                "`source` / `.` runs a script file inside this shell",
                snippet.clone(),
            ),
            "source" | "." => self.uncertain(
                "`source` / `.` runs a script file whose name is computed at run time",
                snippet.clone(),
            ),
            "invoke-expression" | "iex" if is_pwsh => self.uncertain(
                "`Invoke-Expression` runs a string built at run time",
                snippet.clone(),
            ),
            _ => {}
        }
        if key == "git" && git_defines_alias(&cmd.words[1..]) {
            self.uncertain(
                "`git -c alias.NAME=...` defines a subcommand on the command line, hiding what runs",
                snippet.clone(),
            );
        }
        let args: Vec<Word> = cmd.words[1..].to_vec();
        let mut notes = Vec::new();
        let inner = wrappers::look_through(&key, &args, cmd.shell, &mut notes);
        for note in notes {
            self.contained(note, snippet.clone());
        }
        match inner {
            wrappers::Inner::None => {}
            wrappers::Inner::Uncertain(reason) => self.uncertain(reason, snippet.clone()),
            wrappers::Inner::Interactive(reason) if cmd.shell == Shell::Direct => {
                self.contained(reason, snippet.clone())
            }
            wrappers::Inner::Interactive(reason) => self.uncertain(reason, snippet.clone()),
            wrappers::Inner::Command(words) => {
                cmd.wrapper = true;
                let shell = cmd.shell;
                self.out.commands.push(cmd);
                self.command(SimpleCommand::new(words, shell), depth + 1);
                return;
            }
            wrappers::Inner::Commands(list) => {
                cmd.wrapper = true;
                let shell = cmd.shell;
                self.out.commands.push(cmd);
                for words in list {
                    self.command(SimpleCommand::new(words, shell), depth + 1);
                }
                return;
            }
            wrappers::Inner::Bash(script) => {
                cmd.wrapper = true;
                self.out.commands.push(cmd);
                self.script(Shell::Bash, &script, depth + 1);
                return;
            }
            wrappers::Inner::Cmd { line, delayed } => {
                cmd.wrapper = true;
                self.out.commands.push(cmd);
                if line.len() > MAX_SCRIPT {
                    self.uncertain("the cmd line is too long to analyse", snippet);
                } else {
                    cmd::parse(self, &line, delayed, depth + 1);
                }
                return;
            }
            wrappers::Inner::PowerShell(script) => {
                cmd.wrapper = true;
                self.out.commands.push(cmd);
                self.script(Shell::PowerShell, &script, depth + 1);
                return;
            }
        }
        self.out.commands.push(cmd);
    }

    /// Parses a script text of `shell` and adds what it runs.
    pub fn script(&mut self, shell: Shell, text: &str, depth: usize) {
        if !text.is_ascii() && text.chars().any(|c| c == '\u{0}') {
            self.uncertain("the script contains NUL characters", text.to_string());
            return;
        }
        if text.len() > MAX_SCRIPT {
            self.uncertain(
                format!(
                    "the script is longer than {} KiB and is not analysed",
                    MAX_SCRIPT / 1024
                ),
                text.to_string(),
            );
            return;
        }
        if nesting(text) > MAX_NESTING {
            self.uncertain(
                format!("the script nests brackets or substitutions more than {MAX_NESTING} deep and is not analysed"),
                text.to_string(),
            );
            return;
        }
        match shell {
            Shell::Bash | Shell::Direct => bash::parse(self, text, depth),
            Shell::Cmd => cmd::parse(self, text, false, depth),
            Shell::PowerShell => powershell::parse(self, text, depth),
        }
    }
}

/// True when git's options before the subcommand set an `alias.*` key (`-c alias.p=push`,
/// `--config-env=alias.p=VAR`), or set any key from a value known only at run time.
fn git_defines_alias(args: &[Word]) -> bool {
    let mut i = 0;
    while let Some(w) = args.get(i) {
        let t = w.text.as_str();
        if !t.starts_with('-') {
            return false;
        }
        let value = if t == "-c" || t == "--config-env" {
            i += 1;
            args.get(i)
        } else if let Some(v) = t.strip_prefix("--config-env=").or(t.strip_prefix("-c")) {
            if v.is_empty() {
                None
            } else {
                return v.to_ascii_lowercase().starts_with("alias.") || w.dynamic;
            }
        } else {
            None
        };
        if let Some(v) = value
            && (v.dynamic || v.text.to_ascii_lowercase().starts_with("alias."))
        {
            return true;
        }
        if matches!(
            t,
            "-C" | "--git-dir" | "--work-tree" | "--namespace" | "--exec-path"
        ) {
            i += 1;
        }
        i += 1;
    }
    false
}

/// A Windows network path (`\\host\share`, and `//host/share` in cmd and PowerShell); not the
/// local device namespaces `\\?\` and `\\.\`.
pub fn is_unc(text: &str, shell: Shell) -> bool {
    let t = text.trim_matches(['"', '\'']);
    let t = t
        .split_once(':')
        .filter(|(k, _)| k.starts_with('-'))
        .map_or(t, |(_, v)| v);
    let slashes = t.starts_with("\\\\")
        || (matches!(shell, Shell::Cmd | Shell::PowerShell) && t.starts_with("//"));
    slashes && !matches!(t.get(2..3), Some("?" | "." | "\\" | "/") | None)
}

/// The deepest nesting of brackets in `text`, quotes ignored: an upper bound on how deep any of
/// the three parsers would recurse (closers without an opener count nothing).
pub fn nesting(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '(' | '{' | '[' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Splits `argv` into the simple commands it runs.
pub fn parse_argv(argv: &[String], ctx: &Context) -> Parsed {
    let mut col = Collector::new(ctx);
    let words = argv.iter().map(|a| Word::lit(a.clone())).collect();
    col.command(SimpleCommand::new(words, Shell::Direct), 0);
    col.out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ctx() -> Context {
        Context::new("/work/ws", vec!["/work/ws".into()])
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    /// The argv of each non-wrapper command.
    pub(crate) fn leaves(p: &Parsed) -> Vec<String> {
        p.commands
            .iter()
            .filter(|c| !c.wrapper)
            .map(|c| c.argv().join(" "))
            .collect()
    }

    #[test]
    fn direct_argv_is_one_command() {
        let p = parse_argv(&argv(&["git", "status"]), &ctx());
        assert_eq!(leaves(&p), ["git status"]);
        assert!(p.uncertain.is_empty());
    }

    #[test]
    fn shells_and_wrappers_are_looked_through() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["bash", "-c", "ls && rm -rf x"], &["ls", "rm -rf x"]),
            (&["/bin/sh", "-ec", "echo hi"], &["echo hi"]),
            (
                &["bash", "-lc", "git status | head"],
                &["git status", "head"],
            ),
            (&["zsh", "-c", "pwd"], &["pwd"]),
            (&["env", "-u", "B", "A=1", "make", "x"], &["make x"]),
            (&["nohup", "nice", "-n", "5", "rm", "f"], &["rm f"]),
            (&["timeout", "-s", "KILL", "10", "curl", "x"], &["curl x"]),
            (&["xargs", "-0", "-n", "1", "rm"], &["rm {stdin}"]),
            (
                &["bash", "-c", "bash -c 'sh -c \"rm -rf /\"'"],
                &["rm -rf /"],
            ),
            (&["cmd", "/c", "dir && del x"], &["dir", "del x"]),
            (&["cmd.exe", "/S", "/C", "\"git status\""], &["git status"]),
            (
                &[
                    "powershell",
                    "-NoProfile",
                    "-Command",
                    "Get-ChildItem; rm x",
                ],
                &["Get-ChildItem", "rm x"],
            ),
            (&["pwsh", "-c", "Get-Date"], &["Get-Date"]),
            (&["sudo", "-u", "root", "rm", "-rf", "/"], &["rm -rf /"]),
            (&["busybox", "rm", "-rf", "/"], &["rm -rf /"]),
            (
                &[
                    "find", ".", "-name", "x", "-exec", "rm", "-rf", "{}", ";", "-execdir",
                    "chmod", "+x", "{}", "+",
                ],
                &["rm -rf {}", "chmod +x {}"],
            ),
            (&["bash", "script.sh"], &["bash script.sh"]),
            (&["bash", "--version"], &["bash --version"]),
            (&["pwsh", "-File", "x.ps1"], &["pwsh -File x.ps1"]),
        ];
        for (input, want) in cases {
            let p = parse_argv(&argv(input), &ctx());
            assert_eq!(&leaves(&p), want, "{input:?}: {:?}", p.uncertain);
            assert!(p.uncertain.is_empty(), "{input:?}: {:?}", p.uncertain);
        }
    }

    #[test]
    fn things_that_cannot_be_seen_through_are_uncertain() {
        let cases: &[(&[&str], &str)] = &[
            (&["bash", "-c", "eval \"$X\""], "eval"),
            (&["sh", "-c", ". ./env.sh"], "source"),
            (&["bash", "-c", "source x"], "source"),
            (&["bash", "-c", "$CMD arg"], "computed at run time"),
            (&["env", "-S", "rm -rf /"], "-S"),
            (&["pwsh", "-EncodedCommand", "ZQBjAGgAbwA="], "encoded"),
            (&["powershell", "-enc", "ZQBjAGgAbwA="], "encoded"),
            (&["powershell", "-e", "ZQBjAGgAbwA="], "encoded"),
            (&["powershell", "-Command", "-"], "standard input"),
            (&["pwsh", "-c", "iex $x"], "Invoke-Expression"),
            (&["cmd", "/c", "%COMSPEC% /c del x"], "%VAR%"),
            (&["bash"], "standard input"),
            (&["sh", "-s", "arg"], "standard input"),
            (
                &["bash", "-c", "bash <<'EOF'\nrm -rf /\nEOF"],
                "standard input",
            ),
            (&["bash", "-c", "echo 'rm -rf /' | sh"], "standard input"),
            (&["cmd"], "standard input"),
            (&["powershell", "-NoProfile"], "standard input"),
        ];
        for (input, reason) in cases {
            let p = parse_argv(&argv(input), &ctx());
            assert!(
                p.uncertain.iter().any(|u| u.reason.contains(reason)),
                "{input:?}: expected `{reason}` in {:?}",
                p.uncertain
            );
        }
    }

    /// One table per wrapper: options read as the program reads them (getopt clusters,
    /// attached values, long abbreviations, `--`), so the inner command is exactly what runs.
    #[test]
    fn wrapper_options_are_read_like_the_program_reads_them() {
        type Table<'a> = &'a [(&'a [&'a str], &'a [&'a str])];
        let cases: &[(&str, Table)] = &[
            (
                "env",
                &[
                    (&["env", "-i", "A=1", "ls"], &["ls"]),
                    (&["env", "--unset=X", "ls"], &["ls"]),
                    (&["env", "--uns", "X", "ls"], &["ls"]),
                    (&["env", "-uX", "ls"], &["ls"]),
                    (&["env", "-C", "/", "ls"], &["ls"]),
                    (&["env", "--", "ls", "-l"], &["ls -l"]),
                    (&["env", "A=1", "-u", "x"], &["-u x"]),
                ],
            ),
            (
                "nice",
                &[
                    (&["nice", "--adj", "5", "rm", "x"], &["rm x"]),
                    (&["nice", "-n5", "rm", "x"], &["rm x"]),
                    (&["nice", "-5", "rm", "x"], &["rm x"]),
                    (&["nice", "--adjustment=5", "rm", "x"], &["rm x"]),
                ],
            ),
            (
                "timeout",
                &[
                    (&["timeout", "--k", "1", "5", "rm", "x"], &["rm x"]),
                    (&["timeout", "-k1", "-sKILL", "5", "rm", "x"], &["rm x"]),
                    (&["timeout", "--preserve", "5", "rm", "x"], &["rm x"]),
                ],
            ),
            (
                "xargs",
                &[
                    (&["xargs", "-l", "rm"], &["rm {stdin}"]),
                    (&["xargs", "-L", "1", "rm"], &["rm {stdin}"]),
                    (&["xargs", "-0n1", "rm"], &["rm {stdin}"]),
                    (&["xargs", "-I{}", "cp", "{}", "d"], &["cp {} d"]),
                    (&["xargs", "--max-args=1", "rm"], &["rm {stdin}"]),
                ],
            ),
            (
                "sudo",
                &[
                    (&["sudo", "-iu", "root", "rm", "x"], &["rm x"]),
                    (&["sudo", "-u", "root", "--", "rm", "x"], &["rm x"]),
                    (&["sudo", "--user=root", "rm", "x"], &["rm x"]),
                    (&["sudo", "-E", "rm", "x"], &["rm x"]),
                ],
            ),
            (
                "setsid/stdbuf/nohup/ionice/chroot",
                &[
                    (&["setsid", "-f", "rm", "x"], &["rm x"]),
                    (&["stdbuf", "-oL", "rm", "x"], &["rm x"]),
                    (&["stdbuf", "-o", "L", "rm", "x"], &["rm x"]),
                    (&["nohup", "rm", "x"], &["rm x"]),
                    (&["ionice", "-c3", "rm", "x"], &["rm x"]),
                    (&["chroot", "/", "rm", "x"], &["rm x"]),
                    (&["time", "-p", "rm", "x"], &["rm x"]),
                ],
            ),
            (
                "flock/watch/script/su",
                &[
                    (&["flock", "/tmp/l", "rm", "x"], &["rm x"]),
                    (&["flock", "-n", "/tmp/l", "-c", "rm x"], &["rm x"]),
                    (&["flock", "-w", "5", "/tmp/l", "rm", "x"], &["rm x"]),
                    (&["watch", "-n", "5", "rm", "x"], &["rm x"]),
                    (&["watch", "-x", "rm", "x"], &["rm x"]),
                    (&["script", "-qc", "rm x", "/dev/null"], &["rm x"]),
                    (&["su", "-c", "rm x"], &["rm x"]),
                    (&["su", "root", "-c", "rm x"], &["rm x"]),
                    (&["su", "--command=rm x", "root"], &["rm x"]),
                ],
            ),
            (
                "parallel",
                &[
                    (
                        &["parallel", "-j4", "gzip", ":::", "a"],
                        &["gzip ${PARALLEL_INPUT}"],
                    ),
                    (
                        &["parallel", "rm", "{}", ":::", "a"],
                        &["rm ${PARALLEL_INPUT}"],
                    ),
                    (&["parallel", "-q", "rm", ":::", "a"], &["rm {}"]),
                ],
            ),
        ];
        for (program, table) in cases {
            for (input, want) in *table {
                let p = parse_argv(&argv(input), &ctx());
                assert_eq!(&leaves(&p), want, "{program}: {input:?}: {:?}", p.uncertain);
            }
        }
        // What getopt would reject, or a value only known at run time, is not guessed.
        for input in [
            &["nice", "--bogus", "rm", "x"][..],
            &["timeout", "--k"][..],
            &["sudo", "-Z", "rm"][..],
            &["env", "--s=rm x"][..],
            &["parallel", "--sshlogin", "h", "rm"][..],
            &["xargs", "-I{}", "sh", "-c", "{}"][..],
        ] {
            let p = parse_argv(&argv(input), &ctx());
            assert!(!p.uncertain.is_empty(), "{input:?}: {:?}", leaves(&p));
        }
    }

    #[test]
    fn deep_nesting_is_uncertain_not_ignored() {
        let mut words = vec!["nohup"; 12];
        words.extend(["rm", "-rf", "/"]);
        let p = parse_argv(&argv(&words), &ctx());
        assert!(p.uncertain.iter().any(|u| u.reason.contains("nested")));
    }
}
