//! Denial reports: why a run failed, as far as the sandbox can tell, typed and summed up in one
//! line. Each denial says how it was known: seen by the sandbox as it refused (the timeout, the
//! connect broker), observed by the sandbox as the command attempted it (Linux: write attempts,
//! `source = observed`) or guessed from the command's own error messages
//! (`source = stderr-guess`), so a reader never takes a guess for an observation.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How a denial was known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DenialSource {
    /// Seen by the sandbox as it refused the call (Linux: the seccomp broker of pid 1).
    Sandbox,
    /// Seen by the sandbox's observer as the command attempted it, with the path the kernel
    /// resolved (Linux: pid 1's seccomp broker looked at the call, then let the read-only
    /// mounts and Landlock refuse it).
    Observed,
    /// Inferred from an error message on the command's stderr naming the path: the sandbox did
    /// not see it, and the command may have printed it for its own reasons.
    StderrGuess,
}

/// One thing the sandbox refused, or the limit that ended the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Denial {
    /// The run reached its time limit and was killed (exit 124).
    Timeout {
        limit_ms: u64,
        /// Where the limit was set (`default`, `command line`, `user config PATH`, ...), when the
        /// front end knows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        set_by: Option<String>,
    },
    /// With the network off, a connection (or a datagram) to an IP address was refused.
    NetworkRefused {
        address: String,
        port: u16,
        /// Port 53: a DNS lookup.
        dns: bool,
        /// How many times this address and port were tried.
        count: u32,
    },
    /// A unix socket file outside the writable paths was refused.
    UnixSocketRefused { path: String, count: u32 },
    /// A write to a path outside the writable roots.
    WriteOutsideRoots { path: PathBuf, source: DenialSource },
    /// A write to a protected path inside a writable root (`.git/hooks`, `paddock.toml`, ...).
    WriteProtected { path: PathBuf, source: DenialSource },
    /// A read of a deny-read path.
    DenyRead { path: PathBuf, source: DenialSource },
    /// The sandbox saw more denials than it keeps per run.
    Dropped,
}

impl Denial {
    /// Whether this denial means the sandbox (not the command itself) made the run fail, as
    /// `approval = "on-failure"` reads it; a timeout is the run's own limit, not a wall a rerun
    /// outside the sandbox would remove.
    pub fn is_sandbox_wall(&self) -> bool {
        !matches!(self, Denial::Timeout { .. })
    }

    /// Whether the sandbox saw it (not a guess from the output).
    pub fn observed(&self) -> bool {
        match self {
            Denial::WriteOutsideRoots { source, .. }
            | Denial::WriteProtected { source, .. }
            | Denial::DenyRead { source, .. } => *source != DenialSource::StderrGuess,
            _ => true,
        }
    }

    /// One short clause for the summary line.
    pub fn describe(&self) -> String {
        let guess = |s: &DenialSource| match s {
            DenialSource::Sandbox | DenialSource::Observed => "",
            DenialSource::StderrGuess => " (a guess from its stderr)",
        };
        match self {
            Denial::Timeout { limit_ms, set_by } => {
                let limit = format_ms(*limit_ms);
                let from = set_by
                    .as_deref()
                    .map(|s| format!(" from {s}"))
                    .unwrap_or_default();
                format!(
                    "timed out after {limit} (timeout = {limit}{from}); raise it with --timeout \
                     or `timeout` in the config"
                )
            }
            Denial::NetworkRefused {
                address,
                port,
                dns,
                count,
            } => {
                let what = if *dns { "DNS lookup" } else { "connection" };
                format!(
                    "network is off: {what} to {} refused{}; allow it with --network on or \
                     network = {{ allow = [...] }}",
                    host_port(address, *port),
                    times(*count)
                )
            }
            Denial::UnixSocketRefused { path, count } => format!(
                "unix socket {} outside the writable paths refused{}",
                crate::text::escape(path),
                times(*count)
            ),
            Denial::WriteOutsideRoots { path, source } => format!(
                "write to {} outside the writable roots refused{}; add a root with --writable",
                crate::text::escape(&path.display().to_string()),
                guess(source)
            ),
            Denial::WriteProtected { path, source } => format!(
                "write to protected path {} refused{}",
                crate::text::escape(&path.display().to_string()),
                guess(source)
            ),
            Denial::DenyRead { path, source } => format!(
                "read of deny-read path {} refused{}",
                crate::text::escape(&path.display().to_string()),
                guess(source)
            ),
            Denial::Dropped => "more refusals than Paddock keeps per run".into(),
        }
    }
}

fn times(count: u32) -> String {
    if count > 1 {
        format!(" ({count} times)")
    } else {
        String::new()
    }
}

fn host_port(address: &str, port: u16) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

/// `30s`, `2.5s`, `1500ms`.
fn format_ms(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms >= 1000 {
        format!("{}s", ms as f64 / 1000.0)
    } else {
        format!("{ms}ms")
    }
}

/// How many denials a summary names before it says how many more there are.
const SUMMARY_ITEMS: usize = 3;

/// The one line that says why a run failed, or `None` when nothing was denied.
pub fn summary(denials: &[Denial]) -> Option<String> {
    let (first, rest) = (
        denials.iter().take(SUMMARY_ITEMS),
        denials.len().saturating_sub(SUMMARY_ITEMS),
    );
    let mut line = first.map(Denial::describe).collect::<Vec<_>>().join("; ");
    if line.is_empty() {
        return None;
    }
    if rest > 0 {
        line.push_str(&format!("; and {rest} more (see --json)"));
    }
    Some(line)
}

/// What the stderr guess needs to know about the sandbox.
pub struct GuessContext<'a> {
    /// Where the command may write (writable roots and the private tmpfs).
    pub writable: &'a [PathBuf],
    /// Read-only paths inside the writable roots.
    pub protected: &'a [PathBuf],
    pub deny_read: &'a [PathBuf],
    /// The command's directory, for relative paths in messages.
    pub cwd: &'a Path,
    /// For `~/` in messages.
    pub home: Option<&'a Path>,
}

/// How many guesses one run keeps.
const MAX_GUESSES: usize = 8;
/// Lines of stderr looked at.
const MAX_LINES: usize = 10_000;

/// Denials guessed from the command's stderr: a "Read-only file system" message naming a path
/// outside the writable roots (the mount view's answer to a write there) or a protected path,
/// and a "Permission denied" / "Operation not permitted" message naming a deny-read path. Every
/// result says `StderrGuess`; a path the message does not name is not guessed at.
pub fn guess_from_stderr(stderr: &str, cx: &GuessContext<'_>) -> Vec<Denial> {
    let mut out: Vec<Denial> = Vec::new();
    for line in stderr.lines().take(MAX_LINES) {
        if out.len() >= MAX_GUESSES {
            break;
        }
        let lower = line.to_lowercase();
        let read_only = lower.contains("read-only file system");
        let refused =
            lower.contains("permission denied") || lower.contains("operation not permitted");
        if !read_only && !refused {
            continue;
        }
        for candidate in path_candidates(line) {
            let Some(path) = absolute(&candidate, cx) else {
                continue;
            };
            let denial = if cx.deny_read.iter().any(|d| path.starts_with(d)) {
                Denial::DenyRead {
                    path,
                    source: DenialSource::StderrGuess,
                }
            } else if read_only && cx.protected.iter().any(|p| path.starts_with(p)) {
                Denial::WriteProtected {
                    path,
                    source: DenialSource::StderrGuess,
                }
            } else if read_only && !cx.writable.iter().any(|w| path.starts_with(w)) {
                Denial::WriteOutsideRoots {
                    path,
                    source: DenialSource::StderrGuess,
                }
            } else {
                continue;
            };
            if !out.contains(&denial) && out.len() < MAX_GUESSES {
                out.push(denial);
            }
            break;
        }
    }
    out
}

/// Path-like words of an error line, most likely first: quoted strings, then words that start
/// with `/` or `~/` (cut at the `:` that ends `tool: PATH: message`), the last one first, never
/// the `tool:` prefix that names the program (`/usr/bin/sh: 1: cannot create X: ...`).
fn path_candidates(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in [('\'', '\''), ('"', '"'), ('‘', '’'), ('`', '\'')] {
        let mut rest = line;
        while let Some(i) = rest.find(open) {
            let after = &rest[i + open.len_utf8()..];
            let Some(j) = after.find(close) else { break };
            let quoted = &after[..j];
            if !quoted.is_empty() && !quoted.contains(char::is_whitespace) {
                out.push(quoted.to_string());
            }
            rest = &after[j + close.len_utf8()..];
        }
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    for (i, word) in words.iter().enumerate().rev() {
        if i == 0 && word.ends_with(':') {
            continue;
        }
        let word = word.trim_end_matches([':', ',', ';', ')']);
        if word.starts_with('/') || word.starts_with("~/") {
            out.push(word.to_string());
        }
    }
    out
}

fn absolute(candidate: &str, cx: &GuessContext<'_>) -> Option<PathBuf> {
    let path = if let Some(rest) = candidate.strip_prefix("~/") {
        cx.home?.join(rest)
    } else if candidate.starts_with('/') {
        PathBuf::from(candidate)
    } else if candidate.contains('/') || candidate.starts_with('.') {
        cx.cwd.join(candidate)
    } else {
        return None;
    };
    Some(crate::paths::normalize_lexically(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx<'a>(
        writable: &'a [PathBuf],
        protected: &'a [PathBuf],
        deny: &'a [PathBuf],
    ) -> GuessContext<'a> {
        GuessContext {
            writable,
            protected,
            deny_read: deny,
            cwd: Path::new("/w"),
            home: Some(Path::new("/home/u")),
        }
    }

    #[test]
    fn read_only_messages_outside_the_roots_are_guessed_writes() {
        let w = [PathBuf::from("/w"), PathBuf::from("/tmp")];
        let p = [PathBuf::from("/w/.git/hooks")];
        let d = [PathBuf::from("/home/u/.ssh")];
        let c = cx(&w, &p, &d);
        let cases = [
            (
                "touch: cannot touch '/etc/x': Read-only file system",
                "/etc/x",
            ),
            (
                "bash: /home/u/.bashrc: Read-only file system",
                "/home/u/.bashrc",
            ),
            (
                "OSError: [Errno 30] Read-only file system: '/usr/lib/y'",
                "/usr/lib/y",
            ),
            (
                "mkdir: cannot create directory ‘~/z’: Read-only file system",
                "/home/u/z",
            ),
            (
                "/usr/bin/sh: 1: cannot create /home/u/.p: Read-only file system",
                "/home/u/.p",
            ),
        ];
        for (line, path) in cases {
            let got = guess_from_stderr(&format!("noise\n{line}\n"), &c);
            assert_eq!(
                got,
                [Denial::WriteOutsideRoots {
                    path: path.into(),
                    source: DenialSource::StderrGuess
                }],
                "{line}"
            );
        }
        let hooks = guess_from_stderr(
            "cp: cannot create '.git/hooks/pre-commit': Read-only file system",
            &c,
        );
        assert!(
            matches!(&hooks[..], [Denial::WriteProtected { path, .. }] if path == Path::new("/w/.git/hooks/pre-commit")),
            "{hooks:?}"
        );
    }

    #[test]
    fn permission_denied_on_a_deny_read_path_is_a_guessed_read() {
        let w = [PathBuf::from("/w")];
        let d = [PathBuf::from("/home/u/.ssh"), PathBuf::from("/w/.env")];
        let c = cx(&w, &[], &d);
        let got = guess_from_stderr(
            "cat: /home/u/.ssh/id_rsa: Permission denied\nPermissionError: [Errno 13] Permission denied: '.env'\n",
            &c,
        );
        assert_eq!(
            got,
            [
                Denial::DenyRead {
                    path: "/home/u/.ssh/id_rsa".into(),
                    source: DenialSource::StderrGuess
                },
                Denial::DenyRead {
                    path: "/w/.env".into(),
                    source: DenialSource::StderrGuess
                }
            ]
        );
    }

    #[test]
    fn no_guess_inside_the_roots_without_a_path_or_for_other_permission_errors() {
        let w = [PathBuf::from("/w")];
        let c = cx(&w, &[], &[]);
        for line in [
            "touch: cannot touch '/w/x': Read-only file system",
            "error: Read-only file system",
            "cat: /root/secret: Permission denied",
            "cannot open /etc/shadow: no such file",
        ] {
            assert!(guess_from_stderr(line, &c).is_empty(), "{line}");
        }
        let many = "touch: cannot touch '/etc/x': Read-only file system\n".repeat(50);
        assert_eq!(
            guess_from_stderr(&many, &c).len(),
            1,
            "duplicates are kept once"
        );
    }

    #[test]
    fn the_summary_is_one_line_naming_the_limit_and_the_fix() {
        let t = Denial::Timeout {
            limit_ms: 30_000,
            set_by: Some("command line".into()),
        };
        let s = summary(std::slice::from_ref(&t)).unwrap();
        assert_eq!(
            s,
            "timed out after 30s (timeout = 30s from command line); raise it with --timeout or \
             `timeout` in the config"
        );
        let n = Denial::NetworkRefused {
            address: "2001:db8::1".into(),
            port: 53,
            dns: true,
            count: 2,
        };
        assert!(
            n.describe()
                .contains("DNS lookup to [2001:db8::1]:53 refused (2 times)")
        );
        let many = vec![n.clone(); 5];
        let s = summary(&many).unwrap();
        assert!(
            !s.contains('\n') && s.ends_with("and 2 more (see --json)"),
            "{s}"
        );
        assert_eq!(summary(&[]), None);
        assert_eq!(format_ms(2500), "2.5s");
        let weird = Denial::WriteOutsideRoots {
            path: "/etc/\x1b[2Jx".into(),
            source: DenialSource::StderrGuess,
        };
        assert!(!weird.describe().contains('\x1b'), "escaped");
        assert!(weird.describe().contains("a guess"));
    }

    #[test]
    fn denials_serialize_with_their_kind_and_source() {
        for (source, name, observed) in [
            (DenialSource::StderrGuess, "stderr-guess", false),
            (DenialSource::Observed, "observed", true),
        ] {
            let d = Denial::WriteOutsideRoots {
                path: "/etc/x".into(),
                source,
            };
            let v = serde_json::to_value(&d).unwrap();
            assert_eq!(v["kind"], "write-outside-roots");
            assert_eq!(v["source"], name);
            assert_eq!(d.observed(), observed);
            assert_eq!(d.describe().contains("a guess"), !observed);
            let back: Denial = serde_json::from_value(v).unwrap();
            assert_eq!(back, d);
        }
    }
}
