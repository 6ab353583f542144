//! The built-in list of routine read-only commands, used when no rule matches a command.
//!
//! A command is "safe" only when its program is a bare name or an absolute path (never `./x`),
//! every argument is known before it runs (except for `echo`-like commands) and the argument
//! checks below find no option that writes, deletes or runs another program.

use crate::parse::names::{is_relative_path, program_key};
use crate::parse::{Shell, SimpleCommand};

/// Why a command counts as routine and read-only, or `None` when it is unknown.
pub fn classify(cmd: &SimpleCommand) -> Option<&'static str> {
    let first = cmd.words.first()?;
    if first.dynamic || is_relative_path(&first.text) {
        return None;
    }
    let key = program_key(&first.text);
    if cmd.wrapper {
        match key.as_str() {
            // Changing privileges is never routine, whatever runs inside.
            "sudo" | "doas" | "run0" | "pkexec" => return None,
            // `-exec` commands are judged on their own; `find`'s other options still count.
            "find" => {}
            _ => return Some("runs the commands listed with it, each judged on its own"),
        }
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
        | "du" | "df" | "tree" | "nl" | "cut" | "tr" | "diff" | "cmp" | "comm" | "column"
        | "printenv" | "groups" | "md5sum" | "sha1sum" | "sha256sum" | "b2sum" | "ver"
        | "where" | "dir" | "type" | "more" | "findstr" | "grep" | "egrep" | "fgrep" | "less"
        | "get-childitem" | "get-content" | "select-string" | "get-location" | "get-item"
        | "test-path" | "resolve-path" | "split-path" | "join-path" | "get-command"
        | "get-help" | "measure-object" | "select-object" | "where-object" | "format-table"
        | "format-list" | "out-string" | "get-date" | "get-filehash" | "get-process"
        | "convertto-json" | "convertfrom-json" | "sort-object" | "get-itemproperty" => {
            Some("a routine read-only command")
        }
        "date" => (!args.iter().any(|a| *a == "-s" || a.starts_with("--set")))
            .then_some("prints the date"),
        "hostname" => args.is_empty().then_some("prints the host name"),
        "sort" => (!args
            .iter()
            .any(|a| a.starts_with("-o") || a.starts_with("--output")))
        .then_some("sorts to standard output"),
        "uniq" => (args.iter().filter(|a| !a.starts_with('-')).count() <= 1)
            .then_some("filters to standard output"),
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
        "sed" => sed_is_read_only(&args).then_some("prints edited text without writing files"),
        "git" => git_is_read_only(&args),
        "cd" | "set-location" => Some("changes the shell's directory"),
        _ => None,
    }
}

/// Commands that only print their arguments, whatever they expand to.
const ECHO_LIKE: &[&str] = &["echo", "printf", "write-output", "write-host"];

/// `sed` with no in-place edit, no script file and scripts made only of print/delete/substitute
/// commands without the `e` (execute) or `w` (write) flags.
fn sed_is_read_only(args: &[&str]) -> bool {
    let mut scripts = Vec::new();
    let mut i = 0;
    let mut saw_e = false;
    while i < args.len() {
        let a = args[i];
        if a.starts_with("-i")
            || a.starts_with("--in-place")
            || a == "-f"
            || a.starts_with("--file")
        {
            return false;
        }
        if a == "-e" || a == "--expression" {
            saw_e = true;
            match args.get(i + 1) {
                Some(s) => scripts.push(*s),
                None => return false,
            }
            i += 2;
            continue;
        }
        if a.starts_with('-') && a.len() > 1 {
            if a.starts_with("--") {
                i += 1;
                continue;
            }
            // Combined short flags: only n, E, r, s, u, z are read-only and take no value.
            if !a[1..].chars().all(|c| "nErsuz".contains(c)) {
                return false;
            }
            i += 1;
            continue;
        }
        if !saw_e {
            scripts.push(a);
            saw_e = true;
        }
        i += 1;
    }
    !scripts.is_empty() && scripts.iter().all(|s| sed_script_is_read_only(s))
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

/// Read-only git subcommands; `-c` and output-writing options are refused.
fn git_is_read_only(args: &[&str]) -> Option<&'static str> {
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') {
        match args[i] {
            "-C" | "--git-dir" | "--work-tree" => i += 2,
            "--no-pager" | "--no-optional-locks" | "-P" | "--bare" => i += 1,
            a if a.starts_with("--git-dir=") || a.starts_with("--work-tree=") => i += 1,
            _ => return None,
        }
    }
    let sub = *args.get(i)?;
    let rest = &args[i + 1..];
    let writes_output = rest.iter().any(|a| {
        a.starts_with("--output") || *a == "--ext-diff" || a.starts_with("--exec") || *a == "-o"
    });
    if writes_output {
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
            "git -C sub log --oneline",
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
