//! Environment scrubbing: which of the caller's variables the sandboxed command sees.
//!
//! Start from all, a core set, or none of the caller's variables; drop names matching a deny
//! pattern (`*KEY*`, `*TOKEN*`, ... case-insensitive) unless an allow pattern keeps them; then
//! apply explicit `set` values. The result is deterministic (sorted by name) and reports what
//! was dropped so the run report can say so. Values are never inspected, only names.

use crate::policy::{EnvInherit, EnvPolicy};
use std::ffi::{OsStr, OsString};

/// Variables kept by `inherit = "core"` (matched case-insensitively).
pub const CORE_VARS: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TERM",
    "COLORTERM",
    "TZ",
    "TMPDIR",
    "PWD",
    "EDITOR",
    "PAGER",
    "NO_COLOR",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "GOPATH",
    "GOROOT",
    "JAVA_HOME",
    "VIRTUAL_ENV",
    "NODE_PATH",
    // Windows' system variables, without which most programs fail.
    "SYSTEMROOT",
    "SYSTEMDRIVE",
    "WINDIR",
    "COMSPEC",
    "PATHEXT",
    "TEMP",
    "TMP",
    "USERPROFILE",
    "USERNAME",
    "USERDOMAIN",
    "APPDATA",
    "LOCALAPPDATA",
    "PROGRAMDATA",
    "PROGRAMFILES",
    "PROGRAMFILES(X86)",
    "PROGRAMW6432",
    "COMMONPROGRAMFILES",
    "NUMBER_OF_PROCESSORS",
    "PROCESSOR_ARCHITECTURE",
    "OS",
    "PSMODULEPATH",
];

/// The scrubbed environment and the names that were dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScrubbedEnv {
    pub vars: Vec<(OsString, OsString)>,
    pub dropped: Vec<String>,
}

/// Case-insensitive glob match with `*` as the only wildcard.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    // Names and patterns are ASCII in practice; there, comparing bytes case-insensitively is
    // the same as comparing the upper-cased characters, without two allocations per call (the
    // filter calls this for every variable and pattern on every run).
    if pattern.is_ascii() && name.is_ascii() {
        let (p, n) = (pattern.as_bytes(), name.as_bytes());
        // Most patterns have no star or one at an end, and most names fail them on length or
        // on their first bytes: decided here without the general loop.
        let stars = p.iter().filter(|&&c| c == b'*').count();
        if stars == 0 {
            return p.eq_ignore_ascii_case(n);
        }
        if n.len() < p.len() - stars {
            return false;
        }
        if stars == 1 && p[p.len() - 1] == b'*' {
            return n[..p.len() - 1].eq_ignore_ascii_case(&p[..p.len() - 1]);
        }
        if stars == 1 && p[0] == b'*' {
            return n[n.len() - (p.len() - 1)..].eq_ignore_ascii_case(&p[1..]);
        }
        return glob_match_by(p, n, |a, b| a.eq_ignore_ascii_case(b));
    }
    let p: Vec<char> = pattern.to_uppercase().chars().collect();
    let n: Vec<char> = name.to_uppercase().chars().collect();
    glob_match_by(&p, &n, |a, b| a == b)
}

/// The `*`-only glob match over any symbols, with `eq` deciding when two are the same.
fn glob_match_by<T: Copy + PartialEq + From<u8>>(
    p: &[T],
    n: &[T],
    eq: impl Fn(&T, &T) -> bool,
) -> bool {
    let star_sym = T::from(b'*');
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && p[pi] != star_sym && eq(&p[pi], &n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == star_sym {
            star = Some(pi);
            pi += 1;
            mark = ni;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == star_sym)
}

fn matches_any(patterns: &[impl AsRef<str>], name: &str) -> bool {
    patterns.iter().any(|p| glob_match(p.as_ref(), name))
}

/// Applies `policy` to `caller` (usually `std::env::vars_os()`).
pub fn scrub(
    caller: impl IntoIterator<Item = (OsString, OsString)>,
    policy: &EnvPolicy,
) -> ScrubbedEnv {
    let mut out = ScrubbedEnv::default();
    for (name, value) in caller {
        let Some(n) = name.to_str() else {
            out.dropped.push(name.to_string_lossy().into_owned());
            continue;
        };
        let allowed = matches_any(&policy.allow, n);
        let inherited = match policy.inherit {
            EnvInherit::All => true,
            EnvInherit::Core => matches_any(CORE_VARS, n),
            EnvInherit::None => false,
        };
        if allowed || (inherited && !matches_any(&policy.deny, n)) {
            out.vars.push((name, value));
        } else if inherited {
            out.dropped.push(n.to_string());
        }
    }
    for (k, v) in &policy.set {
        out.vars
            .retain(|(n, _)| !n.eq_ignore_ascii_case(OsStr::new(k)));
        out.vars.push((k.into(), v.into()));
    }
    out.vars.sort_by(|(a, _), (b, _)| cmp_names(a, b));
    out.dropped.sort();
    out
}

/// The last scrub's inputs and result, for a process that scrubs the same environment under the
/// same policy again and again (`paddock mcp`, one scrub per command): matching every variable
/// against every pattern is done again only when the environment or the policy's `env` differs
/// from the last call's. The result is the one [`scrub`] gives for the same inputs.
#[derive(Debug, Default)]
pub struct ScrubMemo(std::sync::Mutex<Option<LastScrub>>);

/// One scrub's inputs and result.
#[derive(Debug)]
struct LastScrub {
    caller: Vec<(OsString, OsString)>,
    policy: EnvPolicy,
    out: ScrubbedEnv,
}

impl ScrubMemo {
    /// [`scrub`] of `caller` under `policy`, from the last call's result when both are the same.
    pub fn scrub(&self, caller: Vec<(OsString, OsString)>, policy: &EnvPolicy) -> ScrubbedEnv {
        let mut last = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = &*last
            && l.caller == caller
            && l.policy == *policy
        {
            return l.out.clone();
        }
        let out = scrub(caller.clone(), policy);
        *last = Some(LastScrub {
            caller,
            policy: policy.clone(),
            out: out.clone(),
        });
        out
    }
}

/// The order of variable names in a scrubbed environment: their bytes upper-cased (ASCII),
/// compared without allocating (sorting by an upper-cased copy allocated two per comparison).
pub fn cmp_names(a: &OsStr, b: &OsStr) -> std::cmp::Ordering {
    a.as_encoded_bytes()
        .iter()
        .map(u8::to_ascii_uppercase)
        .cmp(b.as_encoded_bytes().iter().map(u8::to_ascii_uppercase))
}

/// Sets or replaces `name` in `vars` (case-insensitive on Windows-style names).
pub fn set_var(vars: &mut Vec<(OsString, OsString)>, name: &str, value: impl Into<OsString>) {
    vars.retain(|(n, _)| !n.eq_ignore_ascii_case(OsStr::new(name)));
    vars.push((name.into(), value.into()));
    vars.sort_by(|(a, _), (b, _)| cmp_names(a, b));
}

/// The value of `name` in `vars`.
pub fn get_var<'a>(vars: &'a [(OsString, OsString)], name: &str) -> Option<&'a OsStr> {
    vars.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(OsStr::new(name)))
        .map(|(_, v)| v.as_os_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_policy;

    fn caller(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    fn names(s: &ScrubbedEnv) -> Vec<String> {
        s.vars
            .iter()
            .map(|(n, _)| n.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn name_order_is_that_of_the_upper_cased_names() {
        let names = [
            "path", "PATH_X", "Path", "a", "B", "_x", "lc_all", "LC_", "", "z\u{e9}",
        ];
        for a in names {
            for b in names {
                let (a, b) = (OsStr::new(a), OsStr::new(b));
                assert_eq!(
                    cmp_names(a, b),
                    a.to_ascii_uppercase().cmp(&b.to_ascii_uppercase()),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn glob_ascii_path_agrees_with_upper_casing_characters() {
        // The ASCII fast path must decide exactly as the character path does.
        let names = [
            "GITHUB_TOKEN",
            "github_token",
            "Path",
            "LC_ALL",
            "x",
            "",
            "AKEYB",
            "KE",
        ];
        let patterns = [
            "*TOKEN*", "*token", "path", "LC_*", "*", "", "*KEY*", "K*E*Y", "**",
        ];
        for p in patterns {
            for n in names {
                let p_chars: Vec<char> = p.to_uppercase().chars().collect();
                let n_chars: Vec<char> = n.to_uppercase().chars().collect();
                assert_eq!(
                    glob_match(p, n),
                    glob_match_by(&p_chars, &n_chars, |a, b| a == b),
                    "{p} vs {n}"
                );
            }
        }
        // Non-ASCII names keep Unicode upper-casing: the long s upper-cases to `S`.
        assert!(glob_match("*SECRET*", "\u{17f}ecret"));
        assert!(!glob_match("*SECRET*", "\u{17f}ecre"));
    }

    #[test]
    fn the_memo_scrubs_again_when_the_environment_or_the_policy_differs() {
        let memo = ScrubMemo::default();
        let mut policy = default_policy().env;
        let first = caller(&[("PATH", "/bin"), ("GITHUB_TOKEN", "t")]);
        assert_eq!(
            memo.scrub(first.clone(), &policy),
            scrub(first.clone(), &policy)
        );
        assert_eq!(
            memo.scrub(first.clone(), &policy),
            scrub(first.clone(), &policy)
        );
        let other = caller(&[
            ("PATH", "/bin"),
            ("GITHUB_TOKEN", "t"),
            ("OPENAI_API_KEY", "k"),
        ]);
        let got = memo.scrub(other.clone(), &policy);
        assert_eq!(got, scrub(other.clone(), &policy));
        assert!(got.dropped.iter().any(|d| d == "OPENAI_API_KEY"), "{got:?}");
        policy.allow.push("GITHUB_TOKEN".into());
        let got = memo.scrub(other.clone(), &policy);
        assert_eq!(got, scrub(other, &policy));
        assert!(got.vars.iter().any(|(n, _)| n == "GITHUB_TOKEN"), "{got:?}");
    }

    /// The shortcuts for patterns without a star or with one at an end answer as the general
    /// loop does, over every pattern and name made of a few symbols.
    #[test]
    fn the_glob_shortcuts_agree_with_the_general_match() {
        let words = |max: usize| {
            let mut all = vec![String::new()];
            for len in 1..=max {
                let mut next = Vec::new();
                for w in all.iter().filter(|w| w.len() == len - 1) {
                    for c in ['a', 'B', '*', '_'] {
                        next.push(format!("{w}{c}"));
                    }
                }
                all.extend(next);
            }
            all
        };
        let (patterns, names) = (words(4), words(5));
        let mut compared = 0;
        for p in &patterns {
            for n in names.iter().filter(|n| !n.contains('*')) {
                let general =
                    glob_match_by(p.as_bytes(), n.as_bytes(), |a, b| a.eq_ignore_ascii_case(b));
                assert_eq!(glob_match(p, n), general, "{p:?} vs {n:?}");
                compared += 1;
            }
        }
        assert!(compared > 10_000, "{compared}");
    }

    #[test]
    fn glob_matches_case_insensitively_with_stars() {
        for (p, n, want) in [
            ("*KEY*", "aws_access_key_id", true),
            ("*KEY*", "KEY", true),
            ("*TOKEN*", "GITHUB_TOKEN", true),
            ("*_PAT", "GH_PAT", true),
            ("*_PAT", "GH_PATH", false),
            ("LC_*", "LC_ALL", true),
            ("PATH", "Path", true),
            ("PATH", "PATHEXT", false),
            ("*", "", true),
            ("A*B*C", "AxxBxxC", true),
            ("A*B*C", "AxxBxx", false),
        ] {
            assert_eq!(glob_match(p, n), want, "{p} vs {n}");
        }
    }

    #[test]
    fn default_policy_drops_secret_looking_names() {
        let env = caller(&[
            ("PATH", "/bin"),
            ("GITHUB_TOKEN", "t"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("OPENAI_API_KEY", "k"),
            ("DB_PASSWORD", "p"),
            ("AZURE_CREDENTIALS", "c"),
            ("SSH_AUTH_SOCK", "/tmp/agent"),
            ("LANG", "C.UTF-8"),
        ]);
        let s = scrub(env, &default_policy().env);
        assert_eq!(names(&s), vec!["LANG", "PATH"]);
        assert_eq!(s.dropped.len(), 6);
    }

    #[test]
    fn allow_list_keeps_a_denied_name() {
        let mut policy = default_policy().env;
        policy.allow.push("GITHUB_TOKEN".into());
        let s = scrub(
            caller(&[("GITHUB_TOKEN", "t"), ("NPM_TOKEN", "n")]),
            &policy,
        );
        assert_eq!(names(&s), vec!["GITHUB_TOKEN"]);
        assert_eq!(s.dropped, vec!["NPM_TOKEN"]);
    }

    #[test]
    fn core_inherit_keeps_only_the_core_set() {
        let mut policy = default_policy().env;
        policy.inherit = EnvInherit::Core;
        let s = scrub(
            caller(&[("PATH", "/bin"), ("LC_ALL", "C"), ("MY_APP_MODE", "x")]),
            &policy,
        );
        assert_eq!(names(&s), vec!["LC_ALL", "PATH"]);
    }

    #[test]
    fn inherit_none_passes_only_set_and_allowed() {
        let mut policy = default_policy().env;
        policy.inherit = EnvInherit::None;
        policy.allow.push("KEEP".into());
        policy.set.insert("FOO".into(), "bar".into());
        let s = scrub(caller(&[("PATH", "/bin"), ("KEEP", "1")]), &policy);
        assert_eq!(names(&s), vec!["FOO", "KEEP"]);
    }

    #[test]
    fn set_overrides_an_inherited_value() {
        let mut policy = default_policy().env;
        policy.set.insert("PATH".into(), "/sandbox/bin".into());
        let s = scrub(caller(&[("PATH", "/bin")]), &policy);
        assert_eq!(get_var(&s.vars, "PATH"), Some(OsStr::new("/sandbox/bin")));
        assert_eq!(s.vars.len(), 1);
    }
}
