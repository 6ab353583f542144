//! Where a command runs and where it may write: what the parsers need to judge a redirection
//! (`> file`) as inside or outside the writable roots.
//!
//! Paths are compared after making them absolute against the cwd and normalising them; Windows
//! spellings (`C:\x`, backslashes, any case) are compared case-insensitively.

use paddock_core::paths;
use paddock_core::spec::SandboxSpec;
use std::path::{Path, PathBuf};

/// The run's working directory and writable roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub cwd: PathBuf,
    /// Directories a redirection may write into without asking (empty in read-only mode).
    pub writable_roots: Vec<PathBuf>,
    /// Read-only holes inside the writable roots (`.git/hooks`, `paddock.toml`, ...).
    pub protected: Vec<PathBuf>,
    /// What the sandbox will and will not allow, in one or two lines, shown when asking.
    pub sandbox_summary: String,
    /// The command runs inside the sandbox (any mode but `full-access`): writes outside the
    /// writable roots fail there, so they need no approval, and unknown commands are contained.
    pub sandboxed: bool,
    /// The command can reach the network (`network = on` or an allowlist, or no sandbox): pushes,
    /// uploads and publishing leave the machine, so the built-in outbound rules ask.
    pub network: bool,
}

/// Redirection targets that never write a file.
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/tty",
    "nul",
    "nul:",
    "con",
    "$null",
];

impl Context {
    pub fn new(cwd: impl Into<PathBuf>, writable_roots: Vec<PathBuf>) -> Context {
        Context {
            cwd: cwd.into(),
            writable_roots,
            protected: Vec::new(),
            sandbox_summary: String::new(),
            sandboxed: true,
            network: true,
        }
    }

    /// Sets whether the command runs inside the sandbox and whether it can reach the network.
    /// (`Context::new` assumes a sandbox with the network on: outbound actions ask.)
    pub fn with_sandbox(mut self, sandboxed: bool, network: bool) -> Context {
        self.sandboxed = sandboxed;
        self.network = network || !sandboxed;
        self
    }

    /// The sandbox flags of a run under `policy`.
    pub fn with_policy(self, policy: &paddock_core::policy::Policy) -> Context {
        let sandboxed = policy.mode != paddock_core::Mode::FullAccess;
        let network = !matches!(policy.network, paddock_core::Network::Off);
        self.with_sandbox(sandboxed, network)
    }

    /// Sets the sandbox summary shown in approval prompts.
    pub fn with_summary(mut self, summary: impl Into<String>) -> Context {
        self.sandbox_summary = summary.into();
        self
    }

    /// The context of a run in `cwd` under `spec`.
    pub fn from_spec(spec: &SandboxSpec, cwd: &Path) -> Context {
        let mut ctx = Context::new(cwd, spec.writable_roots.clone()).with_sandbox(
            spec.mode != paddock_core::Mode::FullAccess,
            !matches!(spec.network, paddock_core::Network::Off),
        );
        // Watched paths count as protected: what is written there is removed after the run.
        ctx.protected = spec
            .protected
            .iter()
            .map(|p| p.path.clone())
            .chain(spec.watched.iter().map(|w| w.path.clone()))
            .collect();
        ctx
    }

    /// True when `target` names a device such as `/dev/null` or `NUL`, not a file.
    pub fn is_device(target: &str) -> bool {
        DEVICES.contains(&target.to_ascii_lowercase().as_str())
    }

    /// True when writing to `target` (as written in the script) stays inside a writable root,
    /// outside every protected path, or goes to a device such as `/dev/null`.
    pub fn write_target_allowed(&self, target: &str) -> bool {
        if DEVICES.contains(&target.to_ascii_lowercase().as_str()) {
            return true;
        }
        if target.is_empty() || target.starts_with('~') {
            return false;
        }
        if looks_windows(target) || self.writable_roots.iter().any(|r| looks_windows_path(r)) {
            let cwd = self.cwd.display().to_string();
            let b = target.as_bytes();
            let abs = if is_windows_absolute(target) {
                target.to_string()
            } else if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
                // `C:x` is relative to drive C's own current directory, which we do not know.
                return false;
            } else if target.starts_with(['/', '\\']) {
                // Root of the current drive.
                format!("{}{}", cwd.get(..2).unwrap_or(""), target)
            } else {
                format!("{cwd}\\{target}")
            };
            let abs = windows_normal(&abs);
            let beneath = |dirs: &[PathBuf]| {
                dirs.iter().any(|r| {
                    let root = windows_normal(&r.display().to_string());
                    abs == root || abs.starts_with(&format!("{}\\", root.trim_end_matches('\\')))
                })
            };
            return beneath(&self.writable_roots) && !beneath(&self.protected);
        }
        let Ok(abs) = paths::resolve(&self.cwd, Path::new(target)) else {
            return false;
        };
        let beneath = |dirs: &[PathBuf]| {
            dirs.iter().any(|r| {
                let root = paths::resolve(Path::new("/"), r).unwrap_or_else(|_| r.clone());
                paths::is_beneath(&abs, &root)
            })
        };
        beneath(&self.writable_roots) && !beneath(&self.protected)
    }
}

fn looks_windows(s: &str) -> bool {
    s.contains('\\') || is_windows_absolute(s)
}

fn looks_windows_path(p: &Path) -> bool {
    looks_windows(&p.display().to_string())
}

fn is_windows_absolute(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/'))
        || s.starts_with("\\\\")
}

/// Lower-cased, backslash-separated, `.`/`..` resolved.
fn windows_normal(s: &str) -> String {
    let s = s.replace('/', "\\").to_lowercase();
    let mut parts: Vec<&str> = Vec::new();
    for part in s.split('\\') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.len() > 1 {
                    parts.pop();
                }
            }
            p => parts.push(p),
        }
    }
    let lead = if s.starts_with("\\\\") { "\\\\" } else { "" };
    format!("{lead}{}", parts.join("\\"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets_inside_and_outside_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir(&ws).unwrap();
        let ctx = Context::new(&ws, vec![ws.clone()]);
        assert!(ctx.write_target_allowed("out.txt"));
        assert!(ctx.write_target_allowed("sub/../out.txt"));
        assert!(ctx.write_target_allowed(&ws.join("x").display().to_string()));
        assert!(ctx.write_target_allowed("/dev/null"));
        assert!(!ctx.write_target_allowed("../outside.txt"));
        assert!(!ctx.write_target_allowed("/etc/passwd"));
        assert!(!ctx.write_target_allowed("~/.bashrc"));
    }

    #[test]
    fn redirect_through_symlink_out_of_the_workspace_is_outside() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir(&ws).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path(), ws.join("up")).unwrap();
            let ctx = Context::new(&ws, vec![ws.clone()]);
            assert!(!ctx.write_target_allowed("up/evil"));
        }
    }

    #[test]
    fn windows_redirect_targets_compare_case_insensitively() {
        let ctx = Context::new(r"C:\Work\Repo", vec![PathBuf::from(r"C:\Work\Repo")]);
        assert!(ctx.write_target_allowed("out.txt"));
        assert!(ctx.write_target_allowed(r"c:\work\repo\sub\f.txt"));
        assert!(ctx.write_target_allowed("NUL"));
        assert!(!ctx.write_target_allowed(r"C:\Work\Repo2\f.txt"));
        assert!(!ctx.write_target_allowed(r"..\f.txt"));
        assert!(!ctx.write_target_allowed(r"C:\Windows\System32\evil.dll"));
        assert!(!ctx.write_target_allowed(r"\Windows\evil.dll"));
        assert!(!ctx.write_target_allowed("/etc/x"));
        assert!(!ctx.write_target_allowed("D:x"));
    }

    #[test]
    fn redirect_into_a_protected_path_of_the_spec_is_not_allowed() {
        let dir = tempfile::tempdir().unwrap();
        for d in [".git/hooks", ".git/objects", ".git/refs"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(dir.path().join("paddock.toml"), "").unwrap();
        let policy = paddock_core::config::default_policy();
        let spec = SandboxSpec::from_policy(&policy, dir.path()).unwrap();
        let ctx = Context::from_spec(&spec, &spec.workspace);
        assert!(ctx.write_target_allowed("build.log"));
        assert!(!ctx.write_target_allowed(".git/hooks/pre-commit"));
        assert!(!ctx.write_target_allowed("paddock.toml"));
        let win = Context {
            protected: vec![PathBuf::from(r"C:\Work\Repo\.git\hooks")],
            ..Context::new(r"C:\Work\Repo", vec![PathBuf::from(r"C:\Work\Repo")])
        };
        assert!(!win.write_target_allowed(r".GIT\Hooks\pre-commit"));
        assert!(win.write_target_allowed(r".git\config.bak"));
    }

    #[test]
    fn read_only_context_allows_no_file_target() {
        let ctx = Context::new("/tmp", Vec::new());
        assert!(!ctx.write_target_allowed("x"));
        assert!(ctx.write_target_allowed("/dev/null"));
    }
}
