//! What a command line really runs: an argv is split into the simple commands it executes, looking
//! through `bash -c`, `cmd /c`, PowerShell `-Command` scripts and wrappers such as `env` or `xargs`.
//!
//! The guarantee: every simple command the parsers can see is listed, and anything they cannot
//! see through (eval, computed command names, encoded scripts, parse errors, writes outside the
//! writable roots) is listed as an `Uncertainty`, which the judge turns into `prompt`, never `allow`.

pub mod bash;
pub mod cmd;
pub mod names;
pub mod powershell;
mod wrappers;

use crate::context::Context;
use serde::Serialize;

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

/// Something the parsers could not see through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Uncertainty {
    pub reason: String,
    /// The part of the script it is about.
    pub snippet: String,
}

/// Everything a command line runs, as far as the parsers can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Parsed {
    pub commands: Vec<SimpleCommand>,
    pub uncertain: Vec<Uncertainty>,
}

/// Scripts nested deeper than this (`bash -c "bash -c ..."`) are not followed.
const MAX_DEPTH: usize = 8;
/// More simple commands than this in one line are not judged one by one.
const MAX_COMMANDS: usize = 512;

/// Collects simple commands from the parsers and looks through shells and wrappers.
pub struct Collector<'a> {
    pub ctx: &'a Context,
    pub out: Parsed,
}

impl<'a> Collector<'a> {
    pub fn new(ctx: &'a Context) -> Collector<'a> {
        Collector {
            ctx,
            out: Parsed::default(),
        }
    }

    pub fn uncertain(&mut self, reason: impl Into<String>, snippet: impl Into<String>) {
        let u = Uncertainty {
            reason: reason.into(),
            snippet: snippet.into(),
        };
        if !self.out.uncertain.contains(&u) {
            self.out.uncertain.push(u);
        }
    }

    /// Checks a redirection that writes to `target`.
    pub fn write_redirect(&mut self, target: &Word, snippet: &str) {
        if target.dynamic {
            self.uncertain(
                "output redirected to a file whose name is computed at run time",
                snippet,
            );
        } else if !self.ctx.write_target_allowed(&target.text) {
            self.uncertain(
                format!(
                    "output redirected to `{}`, outside the writable roots",
                    target.text
                ),
                snippet,
            );
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
        match key.as_str() {
            "eval" => self.uncertain("`eval` runs a string built at run time", snippet.clone()),
            "source" | "." => self.uncertain(
                "`source` / `.` runs a script file inside this shell",
                snippet.clone(),
            ),
            "invoke-expression" | "iex" if is_pwsh => self.uncertain(
                "`Invoke-Expression` runs a string built at run time",
                snippet.clone(),
            ),
            _ => {}
        }
        let args: Vec<Word> = cmd.words[1..].to_vec();
        match wrappers::look_through(&key, &args, cmd.shell) {
            wrappers::Inner::None => {}
            wrappers::Inner::Uncertain(reason) => self.uncertain(reason, snippet.clone()),
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
                cmd::parse(self, &line, delayed, depth + 1);
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
        match shell {
            Shell::Bash | Shell::Direct => bash::parse(self, text, depth),
            Shell::Cmd => cmd::parse(self, text, false, depth),
            Shell::PowerShell => powershell::parse(self, text, depth),
        }
    }
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
            (&["env", "A=1", "-u", "B", "make", "x"], &["make x"]),
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

    #[test]
    fn deep_nesting_is_uncertain_not_ignored() {
        let mut words = vec!["nohup"; 12];
        words.extend(["rm", "-rf", "/"]);
        let p = parse_argv(&argv(&words), &ctx());
        assert!(p.uncertain.iter().any(|u| u.reason.contains("nested")));
    }
}
