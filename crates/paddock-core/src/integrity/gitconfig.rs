//! A small reader of git's config format, enough to answer two questions: which files and
//! commands does a config make git read or run (so they can be protected), and does a config
//! that a sandboxed command wrote contain anything but the plain keys `git init` / `git clone`
//! write (so it can be quarantined)?
//!
//! It reads the syntax git documents (sections, `[section "sub"]`, `[section.sub]`, quoted values
//! with escapes, `#`/`;` comments, `\` line continuations, valueless booleans). A line it cannot
//! read is an error in strict mode; in lenient mode it is skipped.

use crate::files::{FileError, Location, read_regular_file};
use std::path::Path;

/// One `section.subsection.key = value` entry; section and key lower-cased as git compares them,
/// the subsection kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub section: String,
    pub subsection: Option<String>,
    pub key: String,
    /// `None` for a valueless boolean (`[core] bare`).
    pub value: Option<String>,
}

impl Entry {
    /// `section.key` with the subsection left out: what the allow-lists match on.
    pub fn name(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }
}

/// Why a config could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct ParseError {
    pub line: usize,
    pub what: &'static str,
}

/// Reads a config file of at most `MAX_CONFIG_BYTES`; `Ok(None)` when it does not exist.
/// Never follows a symlink at the file itself and refuses anything but a regular file.
/// Bytes that are not UTF-8 are read lossily, as git itself accepts them.
pub fn read_file(path: &Path) -> Result<Option<String>, FileError> {
    let bytes = read_regular_file(path, Location::NoFinalLink, MAX_CONFIG_BYTES)?;
    Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// Configs larger than this are not read (git configs are a few KiB).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Parses `text`. `strict`: any unreadable line is an error; otherwise it is skipped.
pub fn parse(text: &str, strict: bool) -> Result<Vec<Entry>, ParseError> {
    let mut out = Vec::new();
    let mut section: Option<(String, Option<String>)> = None;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let mut line = lines[i].to_string();
        i += 1;
        // A value may continue on the next line after a trailing backslash (outside quotes; a
        // backslash inside quotes before the newline is the same continuation for git).
        while line.ends_with('\\') && !line.ends_with("\\\\") && i < lines.len() {
            line.pop();
            line.push_str(lines[i]);
            i += 1;
        }
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        let fail = |what| ParseError { line: lineno, what };
        if let Some(rest) = t.strip_prefix('[') {
            match parse_section_header(rest) {
                Some((sec, sub, tail)) => {
                    section = Some((sec, sub));
                    // git allows `[core] bare = true` on the header line.
                    let tail = tail.trim();
                    if !tail.is_empty() && !tail.starts_with('#') && !tail.starts_with(';') {
                        match parse_key_value(tail) {
                            Some((k, v)) => push(&mut out, &section, k, v),
                            None if strict => return Err(fail("unreadable text after a section")),
                            None => {}
                        }
                    }
                }
                None if strict => return Err(fail("unreadable section header")),
                None => section = None,
            }
            continue;
        }
        match (parse_key_value(t), &section) {
            (Some((k, v)), Some(_)) => push(&mut out, &section, k, v),
            (Some(_), None) if strict => return Err(fail("a key outside any section")),
            (None, _) if strict => return Err(fail("unreadable line")),
            _ => {}
        }
    }
    Ok(out)
}

fn push(
    out: &mut Vec<Entry>,
    section: &Option<(String, Option<String>)>,
    key: String,
    value: Option<String>,
) {
    if let Some((s, sub)) = section {
        out.push(Entry {
            section: s.clone(),
            subsection: sub.clone(),
            key,
            value,
        });
    }
}

/// `section "sub"]rest` or `section.sub]rest` (after the `[`).
fn parse_section_header(rest: &str) -> Option<(String, Option<String>, &str)> {
    let name_end = rest.find([']', ' ', '\t', '"'])?;
    let name = &rest[..name_end];
    let after = rest[name_end..].trim_start();
    if let Some(tail) = after.strip_prefix(']') {
        // `[section]` or the old `[section.sub]` form.
        if !valid_name(name, true) {
            return None;
        }
        return Some(match name.split_once('.') {
            Some((s, sub)) => (s.to_ascii_lowercase(), Some(sub.to_ascii_lowercase()), tail),
            None => (name.to_ascii_lowercase(), None, tail),
        });
    }
    let quoted = after.strip_prefix('"')?;
    let mut sub = String::new();
    let mut chars = quoted.char_indices();
    while let Some((idx, c)) = chars.next() {
        match c {
            '\\' => sub.push(chars.next()?.1),
            '"' => {
                let tail = quoted[idx + 1..].trim_start().strip_prefix(']')?;
                if !valid_name(name, false) {
                    return None;
                }
                return Some((name.to_ascii_lowercase(), Some(sub), tail));
            }
            '\n' | '\0' => return None,
            c => sub.push(c),
        }
    }
    None
}

fn valid_name(name: &str, dots: bool) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || (dots && c == '.'))
}

/// `key = value`, `key=value` or a lone `key`.
fn parse_key_value(t: &str) -> Option<(String, Option<String>)> {
    let key_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(t.len());
    let key = &t[..key_end];
    if key.is_empty() || !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let rest = t[key_end..].trim_start();
    if rest.is_empty() || rest.starts_with('#') || rest.starts_with(';') {
        return Some((key.to_ascii_lowercase(), None));
    }
    let raw = rest.strip_prefix('=')?;
    Some((key.to_ascii_lowercase(), Some(parse_value(raw)?)))
}

/// A value: leading/trailing blanks dropped, `"..."` joined, escapes `\" \\ \n \t \b` read,
/// a comment outside quotes ends it.
fn parse_value(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut in_quotes = false;
    let mut pending_space = String::new();
    let mut chars = raw.trim_start().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\\' => {
                out.push_str(&pending_space);
                pending_space.clear();
                match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'b' => {
                        out.pop();
                    }
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    _ => return None,
                }
            }
            '#' | ';' if !in_quotes => break,
            c if c.is_whitespace() && !in_quotes => pending_space.push(c),
            c => {
                out.push_str(&pending_space);
                pending_space.clear();
                out.push(c);
            }
        }
    }
    if in_quotes {
        return None;
    }
    Some(out)
}

/// Keys whose value git *reads as a file or directory*: `(section, key)`, any subsection.
pub const FILE_KEYS: &[(&str, &str)] = &[
    ("include", "path"),
    ("includeif", "path"),
    ("core", "hookspath"),
];

/// Keys whose value git *runs as a command* (the first word may be a path into the workspace).
pub const COMMAND_KEYS: &[(&str, &str)] = &[
    ("core", "fsmonitor"),
    ("core", "sshcommand"),
    ("core", "editor"),
    ("core", "pager"),
    ("core", "askpass"),
    ("core", "gitproxy"),
    ("sequence", "editor"),
    ("diff", "external"),
    ("diff", "textconv"),
    ("diff", "command"),
    ("filter", "clean"),
    ("filter", "smudge"),
    ("filter", "process"),
    ("merge", "driver"),
    ("gpg", "program"),
    ("credential", "helper"),
    ("remote", "uploadpack"),
    ("remote", "receivepack"),
    ("remote", "proxy"),
    ("http", "proxy"),
    ("pager", "log"),
    ("pager", "diff"),
    ("pager", "show"),
    ("web", "browser"),
    ("instaweb", "httpd"),
];

/// What a fresh `git init`, `git clone` or `git submodule` writes, and nothing that runs code or
/// points git at another place: a config written in the sandbox with any other key is not
/// trusted. Matched on `section.key`, any subsection.
pub const PLAIN_KEYS: &[&str] = &[
    "core.repositoryformatversion",
    "core.filemode",
    "core.bare",
    "core.logallrefupdates",
    "core.ignorecase",
    "core.precomposeunicode",
    "core.symlinks",
    "core.autocrlf",
    "core.safecrlf",
    "core.eol",
    "core.sparsecheckout",
    "core.sparsecheckoutcone",
    "core.worktree",
    "extensions.objectformat",
    "extensions.worktreeconfig",
    "extensions.refstorage",
    "init.defaultbranch",
    "remote.url",
    "remote.pushurl",
    "remote.fetch",
    "remote.push",
    "remote.tagopt",
    "remote.prune",
    "remote.promisor",
    "remote.partialclonefilter",
    "branch.remote",
    "branch.merge",
    "branch.rebase",
    "submodule.url",
    "submodule.active",
    "submodule.branch",
    "user.name",
    "user.email",
    "pull.rebase",
    "pull.ff",
    "push.default",
    "gc.auto",
    "index.version",
    "lfs.repositoryformatversion",
];

/// The values git treats as a plain setting for the few plain keys that could also name a
/// command (`submodule.*.update = !cmd` runs `cmd`); any other value of these keys is not plain.
fn value_is_plain(entry: &Entry) -> bool {
    let v = entry.value.as_deref().unwrap_or("");
    match entry.name().as_str() {
        // `remote.*.url = ext::sh -c ...` runs a command when `protocol.ext.allow` permits.
        "remote.url" | "remote.pushurl" | "submodule.url" => !v.trim_start().starts_with("ext::"),
        _ => true,
    }
}

/// The first entry in a config written by the sandbox that is not one of the plain keys a fresh
/// repository has: the reason it is not trusted.
pub fn first_untrusted(entries: &[Entry]) -> Option<&Entry> {
    entries
        .iter()
        .find(|e| !PLAIN_KEYS.contains(&e.name().as_str()) || !value_is_plain(e))
}

/// Whether `entry` names a file git reads (`include.path`, `core.hooksPath`, ...).
pub fn is_file_key(entry: &Entry) -> bool {
    FILE_KEYS
        .iter()
        .any(|(s, k)| entry.section == *s && entry.key == *k)
}

/// Whether `entry` names a command git runs; `alias.x = !cmd` counts too.
pub fn is_command_key(entry: &Entry) -> bool {
    COMMAND_KEYS
        .iter()
        .any(|(s, k)| entry.section == *s && entry.key == *k)
        || (entry.section == "alias"
            && entry
                .value
                .as_deref()
                .is_some_and(|v| v.trim_start().starts_with('!')))
}

/// The program a command value starts with, when it is written as a path (`./x.sh`,
/// `tools/fsmon`, `/abs/x`, `~/x`): only those can point into a writable root. A bare name
/// (`less`, `cat`) is found on PATH and is not the config's to protect.
pub fn command_program(value: &str) -> Option<String> {
    let v = value.trim_start().trim_start_matches('!').trim_start();
    let first = if let Some(rest) = v.strip_prefix('"') {
        rest.split('"').next().unwrap_or("")
    } else if let Some(rest) = v.strip_prefix('\'') {
        rest.split('\'').next().unwrap_or("")
    } else {
        v.split_whitespace().next().unwrap_or("")
    };
    (first.contains('/') || first.contains('\\') || first.starts_with('~'))
        .then(|| first.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, Option<String>)> {
        parse(text, true)
            .unwrap()
            .into_iter()
            .map(|e| (e.name(), e.value))
            .collect()
    }

    #[test]
    fn reads_sections_subsections_and_values_as_git_does() {
        let text = "[core]\n\trepositoryformatversion = 0\n\tbare\n[remote \"origin\"]\n\turl = \"git@x:y.git\" # c\n[Branch.main]\nremote=origin\n";
        let got = names(text);
        assert_eq!(
            got,
            vec![
                ("core.repositoryformatversion".into(), Some("0".into())),
                ("core.bare".into(), None),
                ("remote.url".into(), Some("git@x:y.git".into())),
                ("branch.remote".into(), Some("origin".into())),
            ]
        );
        let e = parse(text, true).unwrap();
        assert_eq!(e[2].subsection.as_deref(), Some("origin"));
    }

    #[test]
    fn continuation_lines_and_escapes_are_joined() {
        let got = names("[core]\n fsmonitor = \"sh -c \\\"x\\\"\" \\\n  ; tail\n");
        assert_eq!(
            got,
            vec![("core.fsmonitor".into(), Some("sh -c \"x\"".into()))]
        );
    }

    #[test]
    fn a_key_on_the_header_line_counts() {
        assert_eq!(
            names("[core] fsmonitor = ./evil\n"),
            vec![("core.fsmonitor".into(), Some("./evil".into()))]
        );
    }

    #[test]
    fn strict_mode_rejects_what_git_would_reject() {
        for bad in [
            "key = 1\n",
            "[core\nx=1\n",
            "[core]\n=1\n",
            "[core]\nx = \"open\n",
        ] {
            assert!(parse(bad, true).is_err(), "{bad:?}");
            assert!(parse(bad, false).is_ok(), "{bad:?}");
        }
    }

    #[test]
    fn a_fresh_init_or_clone_config_is_trusted() {
        let init = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n";
        let clone = "[remote \"origin\"]\n\turl = https://example.invalid/x.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch \"main\"]\n\tremote = origin\n\tmerge = refs/heads/main\n";
        for text in [init, clone] {
            assert_eq!(first_untrusted(&parse(text, true).unwrap()), None);
        }
    }

    #[test]
    fn keys_that_run_code_or_redirect_git_are_not_trusted() {
        for text in [
            "[core]\nfsmonitor = ./x\n",
            "[core]\nhooksPath = h\n",
            "[include]\npath = ../c\n",
            "[includeIf \"gitdir:/\"]\npath = c\n",
            "[alias]\nst = !sh\n",
            "[filter \"lfs\"]\nsmudge = x\n",
            "[remote \"o\"]\nurl = ext::sh -c x\n",
            "[submodule \"s\"]\nupdate = !sh\n",
            "[core]\nsshCommand = x\n",
        ] {
            let entries = parse(text, true).unwrap();
            assert!(first_untrusted(&entries).is_some(), "{text:?}");
        }
    }

    #[test]
    fn command_values_written_as_paths_are_found() {
        assert_eq!(command_program("./hook.sh --x"), Some("./hook.sh".into()));
        assert_eq!(command_program("!tools/run a"), Some("tools/run".into()));
        assert_eq!(command_program("\"my dir/x\" a"), Some("my dir/x".into()));
        assert_eq!(command_program("less -R"), None);
    }
}
