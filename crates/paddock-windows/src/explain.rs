//! `explain`: would this token be allowed this operation on this path, and which ACEs decided
//! it? Backs `paddock explain PATH` on Windows and the model tests of the planner.
//!
//! Guarantees: an operation is judged by the same checks NTFS makes (creating needs
//! FILE_ADD_FILE / FILE_ADD_SUBDIRECTORY on the folder; deleting needs DELETE on the object or
//! FILE_DELETE_CHILD on its folder), each through `access::access_check`, and the verdict lists
//! every check with its deciding ACEs per pass.

use crate::access::{AccessDecision, Pass, TokenModel, access_check};
use crate::acl::{Ace, AceKind};
use crate::error::WindowsError;
use crate::mask::AccessMask;
use crate::store::{AclStore, StoreError};
use crate::winpath;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A file-system operation to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// Open for reading data.
    Read,
    /// Write to an existing file, or create it when missing.
    Write,
    /// Create a file in the path's folder.
    CreateFile,
    /// Create a folder in the path's folder.
    CreateDir,
    /// Delete or rename the path away.
    Delete,
}

impl std::str::FromStr for Operation {
    type Err = String;
    fn from_str(s: &str) -> Result<Operation, String> {
        match s {
            "read" => Ok(Operation::Read),
            "write" => Ok(Operation::Write),
            "create-file" => Ok(Operation::CreateFile),
            "create-dir" => Ok(Operation::CreateDir),
            "delete" => Ok(Operation::Delete),
            other => Err(format!(
                "unknown operation `{other}`: use read, write, create-file, create-dir or delete"
            )),
        }
    }
}

/// One access check made for an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The object checked (the path or its folder).
    pub object: PathBuf,
    pub decision: AccessDecision,
}

/// The answer to "may this token do this".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub path: PathBuf,
    pub operation: Operation,
    pub allowed: bool,
    /// The checks made; for `Delete` the operation is allowed when either check passes.
    pub checks: Vec<Check>,
}

impl Verdict {
    /// The first deny ACE that refused a failing check, and the object it sits on.
    pub fn denied_by(&self) -> Option<(&Ace, &Path)> {
        if self.allowed {
            return None;
        }
        self.checks
            .iter()
            .filter(|c| !c.decision.allowed())
            .find_map(|c| {
                let d = &c.decision;
                d.restricting
                    .iter()
                    .chain(std::iter::once(&d.normal))
                    .flat_map(|pass| &pass.deciders)
                    .find(|dec| dec.ace.kind == AceKind::Deny)
                    .map(|dec| (&dec.ace, c.object.as_path()))
            })
    }

    /// A human explanation naming the deciding ACEs: the verdict (with the deny that refused
    /// it, if one did), then each check and, per pass, each ACE that granted or denied bits.
    pub fn summary(&self) -> String {
        let verdict = match (self.allowed, self.denied_by()) {
            (true, _) => "allowed".to_string(),
            (false, Some((ace, on))) => {
                format!("denied by {} on {}", ace.to_sddl(), on.display())
            }
            (false, None) => "denied: no ACE grants it (see below)".to_string(),
        };
        let mut s = format!("{:?} {}: {verdict}\n", self.operation, self.path.display());
        for c in &self.checks {
            let d = &c.decision;
            let _ = writeln!(
                s,
                "  {} on {}: granted [{}] of [{}]",
                if d.allowed() { "pass" } else { "fail" },
                c.object.display(),
                d.granted.names().join(" "),
                d.requested.names().join(" ")
            );
            for pass in std::iter::once(&d.normal).chain(d.restricting.iter()) {
                let label = match pass.pass {
                    Pass::Normal => "user and groups",
                    Pass::Restricting => "restricting SIDs",
                };
                if pass.null_dacl {
                    let _ = writeln!(s, "    {label}: NULL DACL grants everything");
                }
                let mut denied = AccessMask::NONE;
                for dec in &pass.deciders {
                    let verb = match dec.ace.kind {
                        AceKind::Allow => "grants",
                        AceKind::Deny => {
                            denied |= dec.bits;
                            "denies"
                        }
                    };
                    let _ = writeln!(
                        s,
                        "    {label}: ACE #{} {} {verb} [{}]",
                        dec.index,
                        dec.ace.to_sddl(),
                        dec.bits.names().join(" ")
                    );
                }
                let missing = d.requested.without(pass.granted).without(denied);
                let relevant = match pass.pass {
                    Pass::Normal => missing,
                    Pass::Restricting => missing & d.restricted_bits,
                };
                if !relevant.is_empty() {
                    let _ = writeln!(
                        s,
                        "    {label}: nothing grants [{}]",
                        relevant.names().join(" ")
                    );
                }
            }
        }
        s
    }
}

impl std::fmt::Display for Verdict {
    /// The verdict, then each check with the ACEs that decided it (`summary`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

/// Judges `op` on `path` for `token` against the ACLs in `store`.
pub fn explain(
    store: &dyn AclStore,
    token: &TokenModel,
    path: &Path,
    op: Operation,
) -> Result<Verdict, WindowsError> {
    let check = |object: &Path, requested: AccessMask| -> Result<Check, WindowsError> {
        let sd = store.read(object)?;
        Ok(Check {
            object: object.to_path_buf(),
            decision: access_check(token, &sd, requested),
        })
    };
    let folder = || {
        winpath::parent(path).ok_or_else(|| StoreError::NotFound {
            path: path.to_path_buf(),
        })
    };
    let exists = store.exists(path)?;
    let (checks, allowed) = match op {
        Operation::Read => {
            let c = check(path, AccessMask::FILE_GENERIC_READ)?;
            let ok = c.decision.allowed();
            (vec![c], ok)
        }
        Operation::Write if exists => {
            let c = check(path, AccessMask::FILE_WRITE_DATA)?;
            let ok = c.decision.allowed();
            (vec![c], ok)
        }
        Operation::Write | Operation::CreateFile => {
            let c = check(&folder()?, AccessMask::FILE_WRITE_DATA)?;
            let ok = c.decision.allowed();
            (vec![c], ok)
        }
        Operation::CreateDir => {
            let c = check(&folder()?, AccessMask::FILE_APPEND_DATA)?;
            let ok = c.decision.allowed();
            (vec![c], ok)
        }
        Operation::Delete => {
            let own = check(path, AccessMask::DELETE)?;
            let parent = check(&folder()?, AccessMask::FILE_DELETE_CHILD)?;
            let ok = own.decision.allowed() || parent.decision.allowed();
            (vec![own, parent], ok)
        }
    };
    Ok(Verdict {
        path: path.to_path_buf(),
        operation: op,
        allowed,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testworld::{caller, p, world};

    #[test]
    fn operations_parse_from_their_cli_names() {
        for (name, op) in [
            ("read", Operation::Read),
            ("write", Operation::Write),
            ("create-file", Operation::CreateFile),
            ("create-dir", Operation::CreateDir),
            ("delete", Operation::Delete),
        ] {
            assert_eq!(name.parse::<Operation>(), Ok(op));
        }
        assert!(
            "rename"
                .parse::<Operation>()
                .unwrap_err()
                .contains("create-file")
        );
    }

    #[test]
    fn delete_is_allowed_through_either_check_and_lists_both() {
        let w = world();
        let v = explain(
            &w.store,
            &caller(),
            &p(r"C:\Users\me\other\notes.txt"),
            Operation::Delete,
        )
        .unwrap();
        assert!(v.allowed);
        assert_eq!(v.checks.len(), 2);
        assert_eq!(v.checks[1].object, p(r"C:\Users\me\other"));
    }

    #[test]
    fn a_denied_verdict_names_the_deny_and_where_it_sits() {
        let mut w = world();
        let plan = crate::testworld::plan_in(&mut w, &crate::testworld::workspace_spec());
        let _run = crate::run_acls::apply(&plan, &mut w.store, &w.registry).unwrap();
        let t = plan.token.model(&caller());
        let v = explain(
            &w.store,
            &t,
            &p(r"C:\Users\me\repo\.git\hooks\post-merge"),
            Operation::CreateFile,
        )
        .unwrap();
        let (ace, on) = v.denied_by().unwrap();
        assert_eq!(ace.kind, AceKind::Deny);
        assert_eq!(on, p(r"C:\Users\me\repo\.git\hooks"));
        let first = v.summary().lines().next().unwrap().to_string();
        assert!(
            first.starts_with(r"CreateFile C:\Users\me\repo\.git\hooks\post-merge: denied by (D;OICI;0xd0156;;;S-1-5-21-"),
            "{first}"
        );
        assert!(
            first.ends_with(r"on C:\Users\me\repo\.git\hooks"),
            "{first}"
        );
        assert!(!v.summary().contains("nothing grants"), "{}", v.summary());
        let home = explain(
            &w.store,
            &t,
            &p(r"C:\Users\me\x.txt"),
            Operation::CreateFile,
        )
        .unwrap();
        assert_eq!(home.denied_by(), None);
        assert!(home.summary().contains("denied: no ACE grants it"));
    }

    #[test]
    fn explaining_a_path_whose_folder_is_missing_is_an_error() {
        let w = world();
        let err = explain(
            &w.store,
            &caller(),
            &p(r"C:\nowhere\x"),
            Operation::CreateFile,
        )
        .unwrap_err();
        assert!(
            matches!(err, WindowsError::Store(StoreError::NotFound { .. })),
            "{err}"
        );
    }
}
