//! `explain PATH`: could the sandbox read or write this path under the effective policy, and
//! which setting decides it.
//!
//! The answer is computed from the `SandboxSpec`, the same data the Linux backend turns into its
//! mount view and Landlock rules, so it names the setting (mode, writable root, protected path,
//! deny-read entry) rather than guessing. The Windows backend answers through its access-check
//! model instead (see `paddock_windows`), because there the ACLs on disk decide.

use paddock_core::spec::SandboxSpec;
use paddock_core::{Mode, paths};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What `explain PATH` asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    Read,
    Write,
}

/// A backend's answer to `explain PATH` (`--json` prints the inner value).
#[derive(Debug, Clone)]
pub enum Explanation {
    /// From the spec (Linux, and full access anywhere): read and write with the deciding setting.
    Spec(PathExplanation),
    /// From the access-check model over the ACLs on disk (Windows): one verdict per access
    /// asked, with notes for the caller (a watched path).
    AccessCheck {
        verdicts: Vec<paddock_windows::explain::Verdict>,
        notes: Vec<String>,
    },
}

/// One verdict with the setting that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub allowed: bool,
    /// The setting that decided, e.g. `deny_read entry ~/.ssh` or `protected path .git/hooks`.
    pub decided_by: String,
}

/// Read and write verdicts for one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathExplanation {
    /// The path as the OS would open it (absolute, links resolved).
    pub path: PathBuf,
    pub read: Verdict,
    pub write: Verdict,
}

fn verdict(allowed: bool, decided_by: impl Into<String>) -> Verdict {
    Verdict {
        allowed,
        decided_by: decided_by.into(),
    }
}

/// Explains `path` (relative paths are taken against the workspace).
pub fn explain_path(spec: &SandboxSpec, path: &Path) -> std::io::Result<PathExplanation> {
    let resolved = paths::resolve(&spec.workspace, path)?;
    let denied = spec.denied_read(&resolved);
    let read = match (spec.mode, denied) {
        (Mode::FullAccess, _) => verdict(true, "mode full-access: no sandbox"),
        (_, Some(d)) => verdict(false, format!("deny_read entry {}", d.path.display())),
        (_, None) => verdict(true, "reads are allowed everywhere but deny_read entries"),
    };
    let write = match spec.mode {
        Mode::FullAccess => verdict(true, "mode full-access: no sandbox"),
        Mode::ReadOnly => verdict(false, "mode read-only: no writes (but the private /tmp)"),
        Mode::WorkspaceWrite => {
            let root = spec
                .writable_roots
                .iter()
                .find(|r| paths::is_beneath(&resolved, r));
            let prot = spec
                .protected
                .iter()
                .find(|p| paths::is_beneath(&resolved, &p.path));
            let watched = spec
                .watched
                .iter()
                .find(|w| paths::is_beneath(&resolved, &w.path));
            match (root, prot, denied) {
                (_, _, Some(d)) => verdict(false, format!("deny_read entry {}", d.path.display())),
                (Some(_), Some(p), _) => verdict(
                    false,
                    format!("protected path {} ({})", p.path.display(), p.reason),
                ),
                (Some(_), None, _) if watched.is_some() => {
                    let w = watched.expect("checked by the guard");
                    verdict(
                        false,
                        format!(
                            "watched path {} ({}): whatever the command creates there is \
                             removed after the run",
                            w.path.display(),
                            w.reason
                        ),
                    )
                }
                (Some(r), None, _) => verdict(true, format!("writable root {}", r.display())),
                (None, _, _) => verdict(false, "outside every writable root"),
            }
        }
    };
    Ok(PathExplanation {
        path: resolved,
        read,
        write,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_core::config::default_policy;

    fn spec(ws: &Path, mode: Mode) -> SandboxSpec {
        let mut p = default_policy();
        p.mode = mode;
        // A missing deny-read entry inside a writable root is refused, so the secret exists.
        std::fs::create_dir_all(ws.join("secret")).unwrap();
        p.deny_read = vec![ws.join("secret")];
        SandboxSpec::from_policy(&p, ws).unwrap()
    }

    #[test]
    fn default_policy_explains_workspace_protected_outside_and_secret() {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        for d in [".git/objects", ".git/refs", ".git/hooks"] {
            std::fs::create_dir_all(ws.join(d)).unwrap();
        }
        std::fs::write(ws.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        let s = spec(&ws, Mode::WorkspaceWrite);
        let e = explain_path(&s, Path::new("src/lib.rs")).unwrap();
        assert!(e.read.allowed && e.write.allowed, "{e:?}");
        assert!(e.write.decided_by.starts_with("writable root"));
        let e = explain_path(&s, Path::new(".git/hooks/pre-commit")).unwrap();
        assert!(
            !e.write.allowed && e.write.decided_by.contains("protected path"),
            "{e:?}"
        );
        let e = explain_path(&s, Path::new(".git/config")).unwrap();
        assert!(
            !e.write.allowed && e.write.decided_by.contains("watched path"),
            "a missing config is watched: {e:?}"
        );
        let e = explain_path(&s, Path::new(".git/refs/heads/main")).unwrap();
        assert!(e.write.allowed, "commits must work: {e:?}");
        let e = explain_path(&s, Path::new("/etc/passwd")).unwrap();
        assert!(e.read.allowed && !e.write.allowed);
        assert_eq!(e.write.decided_by, "outside every writable root");
        let e = explain_path(&s, Path::new("secret/key")).unwrap();
        assert!(
            !e.read.allowed && e.read.decided_by.contains("deny_read"),
            "{e:?}"
        );
    }

    #[test]
    fn read_only_and_full_access_name_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let ws = std::fs::canonicalize(dir.path()).unwrap();
        let e = explain_path(&spec(&ws, Mode::ReadOnly), Path::new("a")).unwrap();
        assert!(!e.write.allowed && e.write.decided_by.contains("read-only"));
        let e = explain_path(&spec(&ws, Mode::FullAccess), Path::new("secret")).unwrap();
        assert!(e.read.allowed && e.write.allowed);
    }

    #[test]
    fn dotdot_escape_is_explained_as_outside() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let ws = base.join("ws");
        std::fs::create_dir_all(ws.join("sub")).unwrap();
        let s = spec(&ws, Mode::WorkspaceWrite);
        // Escapes: up and out, and up into a sibling whose name starts like the workspace's.
        for (asked, lands) in [
            ("../elsewhere", "elsewhere"),
            ("sub/../../ws-evil", "ws-evil"),
        ] {
            let e = explain_path(&s, Path::new(asked)).unwrap();
            assert_eq!(e.path, base.join(lands), "{asked}");
            assert!(!e.write.allowed, "{asked}: {e:?}");
            assert_eq!(e.write.decided_by, "outside every writable root", "{asked}");
        }
        // The same `..` that stays inside is writable, so the refusal above is about leaving.
        let e = explain_path(&s, Path::new("sub/../file")).unwrap();
        assert_eq!(e.path, ws.join("file"));
        assert!(e.write.allowed, "{e:?}");
        assert_eq!(
            e.write.decided_by,
            format!("writable root {}", ws.display())
        );
    }
}
