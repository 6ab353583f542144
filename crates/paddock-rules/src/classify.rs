//! The built-in list of routine read-only commands, used when no rule matches a command.
//!
//! A command is "safe" only when its program is a bare name or an absolute path (never `./x`),
//! every argument is known before it runs (except for `echo`-like commands) and the argument
//! checks below find no option that writes, deletes or runs another program.

use crate::parse::names::{is_relative_path, program_key};
use crate::parse::{Shell, SimpleCommand, getopt, specs};

/// Why a command counts as routine and read-only, or `None` when it is unknown.
pub fn classify(cmd: &SimpleCommand) -> Option<&'static str> {
    let first = cmd.words.first()?;
    if first.dynamic || is_relative_path(&first.text) {
        return None;
    }
    let key = program_key(&first.text);
    if cmd.words[1..]
        .iter()
        .any(|w| crate::parse::is_unc(&w.text, cmd.shell))
    {
        return None;
    }
    if cmd.wrapper {
        match key.as_str() {
            // `-exec` commands are judged on their own; `find`'s other options still count.
            "find" => {}
            // Wrappers that only run what they are given (judged on its own).
            "env" | "nice" | "timeout" | "stdbuf" | "setsid" | "xargs" | "parallel" | "watch"
            | "command" | "exec" | "builtin" | "busybox" | "bash" | "sh" | "zsh" | "dash"
            | "ksh" | "mksh" | "ash" | "cmd" | "powershell" | "pwsh" => {
                return Some("runs the commands listed with it, each judged on its own");
            }
            // Changing privileges or root is never routine; others write files of their own
            // (`flock`'s lock, `script`'s typescript, `time -o`, `nohup.out`).
            _ => return None,
        }
    }
    // cmd runs `NAME.bat` / `NAME.exe` from the current directory before searching PATH, so a
    // bare external program name may be a file the workspace holds; only builtins are safe.
    if cmd.shell == Shell::Cmd
        && !first.text.contains(['\\', '/'])
        && !CMD_BUILTINS.contains(&key.as_str())
    {
        return None;
    }
    let key = if cmd.shell == Shell::PowerShell {
        crate::parse::powershell::names_of(&key)
            .into_iter()
            .find(|n| n.contains('-'))
            .unwrap_or(key)
    } else {
        key
    };
    let args: Vec<&str> = cmd.words[1..].iter().map(|w| w.text.as_str()).collect();
    if ECHO_LIKE.contains(&key.as_str()) {
        return Some("prints its arguments");
    }
    if !cmd.is_static() {
        return None;
    }
    let ci = |a: &str, opts: &[&str]| opts.iter().any(|o| a.eq_ignore_ascii_case(o));
    match key.as_str() {
        "ls" | "cat" | "head" | "tail" | "wc" | "pwd" | "true" | "false" | "which" | "whoami"
        | "id" | "uname" | "basename" | "dirname" | "realpath" | "readlink" | "stat" | "file"
        | "du" | "df" | "nl" | "vol" | "test" | "[" | "read" | "exit" | ":" | "sleep" | "seq"
        | "jq" | "cut" | "tr" | "diff" | "cmp" | "comm" | "column" | "printenv" | "groups"
        | "md5sum" | "sha1sum" | "sha256sum" | "b2sum" | "ver" | "where" | "dir" | "type"
        | "more" | "findstr" | "grep" | "egrep" | "fgrep" | "less" | "get-childitem"
        | "get-content" | "select-string" | "get-location" | "get-item" | "test-path"
        | "resolve-path" | "split-path" | "join-path" | "get-command" | "get-help"
        | "measure-object" | "select-object" | "where-object" | "format-table" | "format-list"
        | "out-string" | "get-date" | "get-filehash" | "get-process" | "convertto-json"
        | "convertfrom-json" | "sort-object" | "get-itemproperty" => {
            Some("a routine read-only command")
        }
        "date" => getopt_ok(cmd, &specs::DATE, &["-s"]).then_some("prints the date"),
        "hostname" => args.is_empty().then_some("prints the host name"),
        "sort" => getopt_ok(cmd, &specs::SORT, &["-o", "--compress-program"])
            .then_some("sorts to standard output"),
        "uniq" => {
            let p = getopt::parse(&specs::UNIQ, &cmd.words[1..]);
            (p.problem.is_none() && p.operands.len() <= 1).then_some("filters to standard output")
        }
        "tree" => (!args.iter().any(|a| {
            (a.starts_with('-') && !a.starts_with("--") && a.contains('o'))
                || a.starts_with("--fromfile")
        }))
        .then_some("lists a directory tree"),
        "rg" => (!args
            .iter()
            .any(|a| a.starts_with("--pre") || *a == "--search-zip" || *a == "-z"))
        .then_some("searches files"),
        "find" => {
            const RUNS_OR_WRITES: &[&str] = &[
                "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf",
                "-fls",
            ];
            let judged_apart: &[&str] = if cmd.wrapper {
                &["-exec", "-execdir", "-ok", "-okdir"]
            } else {
                &[]
            };
            (!args
                .iter()
                .any(|a| RUNS_OR_WRITES.contains(a) && !judged_apart.contains(a)))
            .then_some("finds files without deleting or writing anything")
        }
        "fd" | "fdfind" => (!args
            .iter()
            .any(|a| ci(a, &["-x", "--exec", "-X", "--exec-batch"]) || a.starts_with("--exec")))
        .then_some("finds files without running anything"),
        "sed" => sed_is_read_only(cmd).then_some("prints edited text without writing files"),
        "git" => git_is_read_only(&args),
        "cd" | "set-location" => Some("changes the shell's directory"),
        _ => None,
    }
}

/// Commands that only print their arguments, whatever they expand to.
const ECHO_LIKE: &[&str] = &["echo", "printf", "write-output", "write-host"];

/// cmd's built-in commands (never looked up as files).
const CMD_BUILTINS: &[&str] = &[
    "dir", "type", "echo", "ver", "vol", "cd", "chdir", "cls", "title", "rem", "path",
];

/// True when the options read as getopt reads them hold no problem and none of `refused`.
fn getopt_ok(cmd: &SimpleCommand, spec: &getopt::Spec, refused: &[&str]) -> bool {
    let p = getopt::parse(spec, &cmd.words[1..]);
    p.problem.is_none() && !refused.iter().any(|r| p.has(r))
}

/// `sed` with no in-place edit, no script file and scripts made only of print/delete/substitute
/// commands without the `e` (execute) or `w` (write) flags; options read as getopt reads them
/// (`--expression=...`, `--fi=...` for `--file`).
fn sed_is_read_only(cmd: &SimpleCommand) -> bool {
    let p = getopt::parse(&specs::SED, &cmd.words[1..]);
    if p.problem.is_some() || p.has("-i") || p.has("-f") {
        return false;
    }
    let mut scripts: Vec<&str> = p
        .opts
        .iter()
        .filter(|o| o.name == "-e")
        .filter_map(|o| o.value.as_ref().map(|w| w.text.as_str()))
        .collect();
    if scripts.is_empty() {
        match p.operands.first() {
            Some(w) => scripts.push(w.text.as_str()),
            None => return false,
        }
    }
    scripts.iter().all(|s| sed_script_is_read_only(s))
}

fn sed_script_is_read_only(script: &str) -> bool {
    script
        .split([';', '\n'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .all(|c| {
            let body = c.trim_start_matches(|ch: char| ch.is_ascii_digit() || ",$".contains(ch));
            match body {
                "p" | "d" | "q" | "=" | "" => true,
                s if s.starts_with('s') => substitute_is_read_only(s),
                _ => false,
            }
        })
}

/// `s/re/repl/flags` with flags from `g`, `i`, `I`, `p` and digits only.
fn substitute_is_read_only(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next();
    let Some(delim) = chars.next() else {
        return false;
    };
    if delim == '\\' || delim == '\n' || delim.is_alphanumeric() {
        return false;
    }
    let rest: String = chars.collect();
    let mut parts = 0;
    let mut escaped = false;
    let mut flags = None;
    for (i, c) in rest.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
        } else if c == delim {
            parts += 1;
            if parts == 2 {
                flags = Some(&rest[i + c.len_utf8()..]);
                break;
            }
        }
    }
    flags.is_some_and(|f| f.chars().all(|c| "giIp".contains(c) || c.is_ascii_digit()))
}

/// `git branch` options that only change how the list looks.
const BRANCH_LIST_FLAGS: &[&str] = &[
    "-a",
    "-r",
    "-v",
    "-vv",
    "--all",
    "--remotes",
    "--show-current",
    "--verbose",
    "--no-color",
    "--color",
];
/// `git branch` options under which a plain word is a pattern or a commit, not a new branch.
const BRANCH_LIST_MODES: &[&str] = &["-l", "--list", "--contains", "--merged", "--no-merged"];

/// `git branch` / `git tag` that only list: every option is a listing option, and plain words
/// are allowed only when a list mode makes them patterns (else they would create a ref).
fn lists_only(rest: &[&str], flags: &[&str], modes: &[&str]) -> bool {
    let listing = rest.iter().any(|a| modes.contains(a));
    rest.iter()
        .all(|a| flags.contains(a) || modes.contains(a) || (listing && !a.starts_with('-')))
}

/// git options before the subcommand that change nothing but output.
const GIT_GLOBAL_OK: &[&str] = &[
    "--no-pager",
    "-P",
    "--no-optional-locks",
    "--literal-pathspecs",
    "--glob-pathspecs",
    "--noglob-pathspecs",
    "--icase-pathspecs",
    "--no-replace-objects",
    "--no-advice",
];

/// Long options (any unique abbreviation of them) that make a read-only subcommand write a
/// file, run a program or reach the network.
const GIT_RUNS_OR_WRITES: &[&str] = &[
    "output",
    "ext-diff",
    "textconv",
    "exec",
    "open-files-in-pager",
    "upload-pack",
    "receive-pack",
    "output-directory",
];

/// Read-only git subcommands. Refused: `-c` and `--config-env` (config can name programs),
/// `-C`, `--git-dir` and `--work-tree` (another repository's config runs its fsmonitor, hooks
/// and filters), and options that write or run something (`--output`, `--ext-diff`,
/// `--textconv`, `grep -O`), long options matched as git matches them, by unique prefix.
fn git_is_read_only(args: &[&str]) -> Option<&'static str> {
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') {
        if GIT_GLOBAL_OK.contains(&args[i]) {
            i += 1;
        } else {
            return None;
        }
    }
    let sub = *args.get(i)?;
    let rest = &args[i + 1..];
    let runs_or_writes = rest.iter().take_while(|a| **a != "--").any(|a| {
        if let Some(long) = a.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or(long);
            !name.is_empty() && GIT_RUNS_OR_WRITES.iter().any(|d| d.starts_with(name))
        } else if let Some(short) = a.strip_prefix('-') {
            *a == "-o" || (sub == "grep" && short.contains('O'))
        } else {
            false
        }
    });
    if runs_or_writes {
        return None;
    }
    let read_only = match sub {
        "status" | "log" | "diff" | "show" | "rev-parse" | "ls-files" | "blame" | "describe"
        | "shortlog" | "cat-file" | "ls-tree" | "grep" | "merge-base" | "rev-list" | "name-rev"
        | "show-ref" | "count-objects" | "whatchanged" | "diff-tree" | "diff-files"
        | "diff-index" | "check-ignore" | "version" => true,
        "branch" => lists_only(rest, BRANCH_LIST_FLAGS, BRANCH_LIST_MODES),
        "tag" => lists_only(rest, &["-n"], &["-l", "--list", "--contains", "--merged"]),
        "remote" => rest.iter().all(|a| *a == "-v" || *a == "--verbose"),
        "stash" => rest.first().is_some_and(|s| *s == "list" || *s == "show"),
        "reflog" => rest.is_empty() || rest.first() == Some(&"show"),
        "config" => {
            const READS: &[&str] = &["--get", "--get-all", "--get-regexp", "--list", "-l"];
            rest.iter().any(|a| READS.contains(a))
                && rest
                    .iter()
                    .all(|a| READS.contains(a) || *a == "--show-origin" || !a.starts_with('-'))
        }
        _ => false,
    };
    read_only.then_some("a read-only git command")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Word;

    fn cmd(line: &str, shell: Shell) -> SimpleCommand {
        let words = crate::shlex::split(line)
            .unwrap()
            .into_iter()
            .map(Word::lit)
            .collect();
        SimpleCommand::new(words, shell)
    }

    #[test]
    fn routine_read_only_commands_are_safe() {
        for line in [
            "ls -la",
            "/bin/cat README.md",
            "head -n 5 x",
            "grep -rn foo src",
            "rg --json foo",
            "find . -name '*.rs' -type f",
            "sed -n 1,20p file",
            "sed -e s/a/b/g file",
            "sed 's|/usr|/opt|2' f",
            "git status",
            "git diff HEAD~1",
            "git branch",
            "git branch -a -v",
            "git branch --contains abc",
            "git rev-parse HEAD",
            "git remote -v",
            "git tag",
            "git tag -l 'v*'",
            "git branch --list 'feat*'",
            "git stash list",
            "git config --get user.name",
            "pwd",
            "echo hello",
            "true",
            "sort -u x",
            "uniq x",
            "date +%s",
            "wc -l x",
            "dir",
            "where.exe git",
            "type README.md",
            "findstr /s foo *.txt",
        ] {
            assert!(classify(&cmd(line, Shell::Direct)).is_some(), "{line}");
        }
        for line in [
            "Get-ChildItem -Recurse",
            "gci",
            "Select-String foo x",
            "cat x",
        ] {
            assert!(classify(&cmd(line, Shell::PowerShell)).is_some(), "{line}");
        }
    }

    #[test]
    fn options_that_write_delete_or_run_make_commands_unknown() {
        for line in [
            "find . -delete",
            "find . -exec rm {} ;",
            "find . -execdir sh -c x ;",
            "find . -fprint /tmp/x",
            "find . -ok rm {} ;",
            "sed -i s/a/b/ f",
            "sed --in-place s/a/b/ f",
            "sed -f script.sed f",
            "sed s/a/b/e f",
            "sed s/a/b/w.out f",
            "sed 'w /tmp/out' f",
            "sed 1e f",
            "rg --pre ./x foo",
            "git push",
            "git -c core.pager=sh log",
            "git -C sub log --oneline",
            "git --git-dir=x status",
            "git grep -O foo",
            "git grep --open-files-in-pager=x foo",
            "git show --textconv HEAD",
            "git log --ext HEAD",
            "sed '--expression=1e id' f",
            "sed --fi=x f",
            "sort --compress-program=sh x",
            "sort --compress=sh x",
            "sort -uo out x",
            "date --se=2020-01-01",
            "git branch -D main",
            "git branch newbranch",
            "git diff --output=/tmp/x",
            "git log --ext-diff",
            "git tag v1",
            "git tag -d v1",
            "git branch -m old new",
            "git remote add o url",
            "git stash",
            "git config user.name x",
            "git reflog expire --all",
            "sort -o /tmp/x y",
            "uniq in out",
            "date -s 2020-01-01",
            "hostname evil",
            "fd -x rm",
            "rm -rf x",
            "curl http://x",
            "./ls",
            "bin/git status",
        ] {
            assert!(classify(&cmd(line, Shell::Direct)).is_none(), "{line}");
        }
        for line in [
            "Remove-Item x",
            "rm x",
            "del x",
            "Set-Content x y",
            "ForEach-Object Delete",
        ] {
            assert!(classify(&cmd(line, Shell::PowerShell)).is_none(), "{line}");
        }
    }

    #[test]
    fn wrappers_are_transparent_except_privilege_changes_and_find_deletes() {
        let ctx = crate::context::Context::new("/w", vec!["/w".into()]);
        let parsed = |words: &[&str]| {
            let argv: Vec<String> = words.iter().map(|s| s.to_string()).collect();
            crate::parse::parse_argv(&argv, &ctx).commands[0].clone()
        };
        assert!(classify(&parsed(&["env", "A=1", "ls"])).is_some());
        assert!(classify(&parsed(&["find", ".", "-exec", "cat", "{}", ";"])).is_some());
        assert!(
            classify(&parsed(&[
                "find", ".", "-exec", "cat", "{}", ";", "-delete"
            ]))
            .is_none()
        );
        assert!(classify(&parsed(&["sudo", "ls"])).is_none());
        assert!(classify(&parsed(&["doas", "ls"])).is_none());
    }

    #[test]
    fn dynamic_arguments_make_commands_unknown_except_for_echo() {
        let mut c = cmd("find .", Shell::Bash);
        c.words.push(Word::dynamic("$X"));
        assert!(classify(&c).is_none());
        let mut c = cmd("echo", Shell::Bash);
        c.words.push(Word::dynamic("$HOME"));
        assert!(classify(&c).is_some());
        let c = SimpleCommand::new(vec![Word::dynamic("$CMD")], Shell::Bash);
        assert!(classify(&c).is_none());
    }
}
