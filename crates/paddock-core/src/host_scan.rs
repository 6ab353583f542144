//! The host scan (`paddock scan-host`): locations that anyone can write: a sandbox that confines the command's own writes
//! still runs programs found there, and a backend that leaves them writable lets the command
//! plant files there. `Finding` is OS-neutral; this file holds the Unix scan (PATH entries and a
//! depth-limited walk of the file system, from std metadata mode bits only).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// One location someone other than its owner can write, with why it matters and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub path: PathBuf,
    /// Who can write it ("any user (mode 0777)", "Everyone: Modify").
    pub who: String,
    /// Why that is a risk, and how large ("lower risk" for sticky shared temp directories).
    pub why: String,
    /// What to do about it, as a command or a step.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: writable by {}. {} Fix: {}",
            self.path.display(),
            self.who,
            self.why,
            self.fix
        )
    }
}

#[cfg(unix)]
pub use self::unix::{TreeScan, scan_path_var, scan_system, scan_tree};

#[cfg(unix)]
mod unix {
    use super::Finding;
    use std::ffi::OsStr;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    const WORLD_WRITE: u32 = 0o002;
    const STICKY: u32 = 0o1000;

    /// A depth-limited walk of one tree for world-writable directories. Symlinks are neither
    /// followed nor reported (their targets are reached by the walk where they lie).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TreeScan {
        pub root: PathBuf,
        /// Directory levels below `root` to examine (`root` itself is level 0).
        pub max_depth: usize,
        /// Trees not entered (virtual file systems whose modes say nothing about storage).
        pub skip: Vec<PathBuf>,
    }

    impl TreeScan {
        /// `/` to depth 3, skipping `/proc`, `/sys` and `/dev`.
        pub fn system() -> TreeScan {
            TreeScan {
                root: PathBuf::from("/"),
                max_depth: 3,
                skip: ["/proc", "/sys", "/dev"].map(PathBuf::from).to_vec(),
            }
        }
    }

    fn mode_of(p: &Path) -> Option<u32> {
        std::fs::metadata(p).ok().map(|m| m.permissions().mode())
    }

    fn world_writable_dir(p: &Path, mode: u32) -> Option<Finding> {
        if mode & WORLD_WRITE == 0 {
            return None;
        }
        let octal = format!("{:04o}", mode & 0o7777);
        Some(if mode & STICKY != 0 {
            Finding {
                path: p.to_path_buf(),
                who: format!("any user (mode {octal}, sticky)"),
                why: "Lower risk: a shared directory where anyone can create files but only \
                      owners can delete or rename them; a sandboxed command left able to write \
                      here can still leave files for others to read or run."
                    .into(),
                fix: format!(
                    "usually intended (shared temp); keep it off PATH and out of writable roots, \
                     or `chmod o-w {}` if it should not be shared",
                    p.display()
                ),
            }
        } else {
            Finding {
                path: p.to_path_buf(),
                who: format!("any user (mode {octal})"),
                why: "Anyone can create, replace, delete or rename files here, including files \
                      another program later reads or runs."
                    .into(),
                fix: format!("chmod o-w {}", p.display()),
            }
        })
    }

    /// World-writable directories in `t.root`'s tree, parents before children.
    pub fn scan_tree(t: &TreeScan) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut stack = vec![(t.root.clone(), 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            if t.skip.iter().any(|s| dir.starts_with(s)) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&dir) else {
                continue;
            };
            if !meta.is_dir() {
                continue;
            }
            if let Some(f) = world_writable_dir(&dir, meta.permissions().mode()) {
                out.push(f);
            }
            if depth >= t.max_depth {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut children: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|ft| ft.is_dir()))
                .map(|e| e.path())
                .collect();
            children.sort();
            stack.extend(children.into_iter().rev().map(|c| (c, depth + 1)));
        }
        out
    }

    /// Findings for the entries of a `PATH` value: a directory anyone can add programs to (sticky
    /// or not), one whose parent lets anyone rename it away, one that does not exist under a
    /// directory anyone can create it in, and empty or relative entries (the current
    /// directory, which is the sandbox's writable workspace).
    pub fn scan_path_var(path_var: &OsStr) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        for entry in std::env::split_paths(path_var) {
            let finding = path_entry_finding(&entry);
            if let Some(f) = finding
                && !out.iter().any(|o| o.path == f.path)
            {
                out.push(f);
            }
        }
        out
    }

    fn path_entry_finding(entry: &Path) -> Option<Finding> {
        if !entry.is_absolute() {
            return Some(Finding {
                path: entry.to_path_buf(),
                who: "whoever controls the current directory (in a sandbox: the command itself)"
                    .into(),
                why: "An empty or relative PATH entry makes the shell run programs from the \
                      current directory, which a sandboxed command can write."
                    .into(),
                fix: "remove the empty or relative entry from PATH (look for `::`, a leading or \
                      trailing `:`, or `.`)"
                    .into(),
            });
        }
        if let Some(mode) = mode_of(entry) {
            if mode & WORLD_WRITE != 0 {
                let octal = format!("{:04o}", mode & 0o7777);
                return Some(Finding {
                    path: entry.to_path_buf(),
                    who: format!("any user (mode {octal})"),
                    why: "A PATH directory anyone can add files to: a planted program named like \
                          a real command runs with the rights of whoever types it. The sticky \
                          bit does not prevent adding files."
                        .into(),
                    fix: format!("chmod o-w {} or remove it from PATH", entry.display()),
                });
            }
            return entry.ancestors().skip(1).find_map(|a| {
                let m = mode_of(a)?;
                (m & WORLD_WRITE != 0 && m & STICKY == 0).then(|| Finding {
                    path: entry.to_path_buf(),
                    who: format!(
                        "any user, through its parent {} (mode {:04o})",
                        a.display(),
                        m & 0o7777
                    ),
                    why: "A PATH directory inside a directory anyone can write without the \
                          sticky bit: anyone can rename it away and put their own in its place."
                        .into(),
                    fix: format!("chmod o-w {} or remove the entry from PATH", a.display()),
                })
            });
        }
        let existing = entry.ancestors().skip(1).find(|a| a.exists())?;
        let m = mode_of(existing)?;
        (m & WORLD_WRITE != 0).then(|| Finding {
            path: entry.to_path_buf(),
            who: format!(
                "any user, who can create it in {} (mode {:04o})",
                existing.display(),
                m & 0o7777
            ),
            why: "A PATH entry that does not exist yet, under a directory anyone can create it \
                  in: whoever creates it first decides what runs."
                .into(),
            fix: format!(
                "create {} owned by you with mode 0755, or remove it from PATH",
                entry.display()
            ),
        })
    }

    /// The PATH of this process and `TreeScan::system()`, PATH findings first, each path once.
    pub fn scan_system() -> Vec<Finding> {
        let mut out = std::env::var_os("PATH")
            .map(|p| scan_path_var(&p))
            .unwrap_or_default();
        for f in scan_tree(&TreeScan::system()) {
            if !out.iter().any(|o| o.path == f.path) {
                out.push(f);
            }
        }
        out
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn mkdir(p: &Path, mode: u32) {
        std::fs::create_dir_all(p).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn tree(root: &Path, max_depth: usize) -> TreeScan {
        TreeScan {
            root: root.to_path_buf(),
            max_depth,
            skip: Vec::new(),
        }
    }

    fn paths(findings: &[Finding]) -> Vec<&Path> {
        findings.iter().map(|f| f.path.as_path()).collect()
    }

    #[test]
    fn scan_tree_reports_world_writable_directories_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        mkdir(&root.join("open"), 0o777);
        mkdir(&root.join("private"), 0o755);
        mkdir(&root.join("group"), 0o775);
        let found = scan_tree(&tree(root, 2));
        assert_eq!(paths(&found), [root.join("open").as_path()]);
        assert!(found[0].who.contains("0777"), "{}", found[0]);
        assert_eq!(
            found[0].fix,
            format!("chmod o-w {}", root.join("open").display())
        );
    }

    #[test]
    fn scan_tree_lists_sticky_directories_as_lower_risk() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        mkdir(&shared, 0o1777);
        let found = scan_tree(&tree(dir.path(), 1));
        assert_eq!(paths(&found), [shared.as_path()]);
        assert!(found[0].why.starts_with("Lower risk"), "{}", found[0]);
        assert!(found[0].who.contains("sticky"), "{}", found[0]);
    }

    #[test]
    fn scan_tree_stops_at_the_depth_limit() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        mkdir(&root.join("a/b/deep"), 0o755);
        mkdir(&root.join("a/b/deep"), 0o777);
        mkdir(&root.join("a/shallow"), 0o777);
        let found = scan_tree(&tree(root, 2));
        assert_eq!(paths(&found), [root.join("a/shallow").as_path()]);
        let found = scan_tree(&tree(root, 3));
        assert_eq!(
            paths(&found),
            [
                root.join("a/b/deep").as_path(),
                root.join("a/shallow").as_path()
            ]
        );
    }

    #[test]
    fn scan_tree_skips_the_skip_list_and_does_not_follow_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        mkdir(&root.join("virtual/open"), 0o777);
        mkdir(&root.join("elsewhere/open"), 0o777);
        mkdir(&root.join("scanned"), 0o755);
        std::os::unix::fs::symlink(root.join("elsewhere"), root.join("scanned/link")).unwrap();
        let mut t = tree(&root.join("scanned"), 3);
        let found = scan_tree(&t);
        assert!(found.is_empty(), "{found:?}");
        t.root = root.to_path_buf();
        t.skip = vec![root.join("virtual")];
        let found = scan_tree(&t);
        assert_eq!(paths(&found), [root.join("elsewhere/open").as_path()]);
    }

    #[test]
    fn scan_path_var_flags_every_way_to_plant_a_program_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        mkdir(&root.join("safe/bin"), 0o755);
        mkdir(&root.join("open-bin"), 0o777);
        mkdir(&root.join("sticky-bin"), 0o1777);
        mkdir(&root.join("renamable"), 0o777);
        mkdir(&root.join("renamable/bin"), 0o755);
        mkdir(&root.join("creatable"), 0o1777);
        let entries = [
            root.join("safe/bin"),
            root.join("open-bin"),
            root.join("sticky-bin"),
            root.join("renamable/bin"),
            root.join("creatable/missing/bin"),
            PathBuf::from(""),
            PathBuf::from("rel/bin"),
        ];
        let var: OsString = std::env::join_paths(&entries).unwrap();
        let found = scan_path_var(&var);
        assert_eq!(
            paths(&found),
            entries[1..]
                .iter()
                .map(PathBuf::as_path)
                .collect::<Vec<_>>()
        );
        assert!(found[2].who.contains("parent"), "{}", found[2]);
        assert!(found[3].fix.contains("0755"), "{}", found[3]);
        assert!(found[4].why.contains("current directory"), "{}", found[4]);
    }

    #[test]
    fn scan_path_var_accepts_a_path_of_private_directories() {
        let dir = tempfile::tempdir().unwrap();
        mkdir(&dir.path().join("bin"), 0o755);
        mkdir(&dir.path().join("sbin"), 0o700);
        let var = std::env::join_paths([dir.path().join("bin"), dir.path().join("sbin")]).unwrap();
        assert!(scan_path_var(&var).is_empty());
    }

    #[test]
    fn scan_system_skips_proc_sys_and_dev() {
        let found = scan_system();
        for f in &found {
            assert!(
                !["/proc", "/sys", "/dev"]
                    .iter()
                    .any(|s| f.path.starts_with(s)),
                "{f}"
            );
        }
    }
}
