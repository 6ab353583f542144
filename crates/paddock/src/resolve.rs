//! Finds the program a command names, in the sandbox's own PATH, before anything is set up, so
//! "not found" (127) and "not executable" (126) are reported as such and never confused with a
//! sandbox failure or the command's own exit code.

use crate::error::PaddockError;
use paddock_core::looked_at;
use paddock_core::lookup_watch::LookupWatch;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Programs found by [`resolve_program`], kept by a resident front end (`paddock mcp`) while
/// nothing their lookup looked at changed (`paddock_core::lookup_watch`: the `PATH` entries
/// tried before the one that has it, its own entry and mode, the directories on the way). A
/// lookup that found nothing is never kept. The watches are made off the call's path, by a
/// worker, after the first lookup of a program.
#[derive(Default)]
pub(crate) struct KeptPrograms {
    kept: Mutex<Vec<KeptProgram>>,
    attempts: paddock_core::lookup_watch::Attempts,
}

/// The most programs kept; the oldest goes first. Each holds an inotify instance of its own,
/// and a user has 128 by default (`fs.inotify.max_user_instances`), shared with editors and
/// file watchers: a server holds at most this many plus three (the spec's memo, the policy and
/// rules, the writable roots' watches).
const MAX_KEPT_PROGRAMS: usize = 8;

struct KeptProgram {
    key: ProgramKey,
    found: PathBuf,
    watch: LookupWatch,
}

/// What a lookup depends on besides the file system.
#[derive(Clone, PartialEq)]
struct ProgramKey {
    program: OsString,
    cwd: PathBuf,
    path: Option<OsString>,
    pathext: Option<OsString>,
}

impl ProgramKey {
    /// The environment the lookup reads (`PATH`, `PATHEXT`).
    fn env(&self) -> Vec<(OsString, OsString)> {
        [("PATH", &self.path), ("PATHEXT", &self.pathext)]
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (OsString::from(k), v)))
            .collect()
    }
}

impl KeptPrograms {
    /// [`resolve_program`], answered from a kept lookup when nothing it looked at changed.
    pub(crate) fn resolve(
        self: &Arc<Self>,
        program: &OsStr,
        cwd: &Path,
        env: &[(OsString, OsString)],
    ) -> Result<PathBuf, PaddockError> {
        let var = |k| paddock_core::env::get_var(env, k).map(OsStr::to_os_string);
        let key = ProgramKey {
            program: program.to_os_string(),
            cwd: cwd.to_path_buf(),
            path: var("PATH"),
            pathext: var("PATHEXT"),
        };
        {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = kept.iter().position(|k| k.key == key) {
                if kept[i].watch.unchanged() {
                    return Ok(kept[i].found.clone());
                }
                paddock_runner::workers::drop_later(kept.remove(i));
            }
        }
        if !LookupWatch::available() || !self.attempts.try_now() {
            return resolve_program(program, cwd, env);
        }
        let (found, looks) = looked_at::record(|| resolve_program(program, cwd, env));
        let found = found?;
        let first = found.clone();
        let me = Arc::clone(self);
        let _ = paddock_runner::workers::run(Box::new(move || {
            let env = key.env();
            let again = || resolve_program(&key.program, &key.cwd, &env).ok();
            let made = LookupWatch::around((Some(first), looks), again);
            me.attempts.tried(made.is_some());
            if let Some((Some(found), watch)) = made {
                me.keep(KeptProgram { key, found, watch });
            }
        }));
        Ok(found)
    }

    fn keep(&self, program: KeptProgram) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = kept.iter().position(|k| k.key == program.key) {
            paddock_runner::workers::drop_later(kept.remove(i));
        }
        if kept.len() >= MAX_KEPT_PROGRAMS {
            paddock_runner::workers::drop_later(kept.remove(0));
        }
        kept.push(program);
    }
}

/// Resolves `program` against `cwd` (when it contains a separator) or the `PATH` in `env`.
pub fn resolve_program(
    program: &OsStr,
    cwd: &Path,
    env: &[(OsString, OsString)],
) -> Result<PathBuf, PaddockError> {
    let p = Path::new(program);
    let has_sep = p.components().count() > 1 || p.is_absolute();
    let exts = executable_extensions(env);
    if has_sep {
        let candidate = if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        };
        return with_extensions(&candidate, &exts)
            .ok_or_else(|| PaddockError::NotFound {
                program: program.to_string_lossy().into(),
            })
            .and_then(check_executable);
    }
    let path_var = paddock_core::env::get_var(env, "PATH").unwrap_or_default();
    for dir in std::env::split_paths(path_var) {
        let dir = if dir.is_absolute() {
            dir
        } else {
            cwd.join(dir)
        };
        if let Some(found) = with_extensions(&dir.join(p), &exts)
            && check_executable(found.clone()).is_ok()
        {
            return Ok(found);
        }
    }
    Err(PaddockError::NotFound {
        program: program.to_string_lossy().into(),
    })
}

/// `PATHEXT` on Windows (`.COM;.EXE;.BAT;.CMD` by default); nothing elsewhere.
fn executable_extensions(env: &[(OsString, OsString)]) -> Vec<String> {
    if !cfg!(windows) {
        return vec![String::new()];
    }
    let pathext = paddock_core::env::get_var(env, "PATHEXT")
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".COM;.EXE;.BAT;.CMD".into());
    let mut exts = vec![String::new()];
    exts.extend(
        pathext
            .split(';')
            .filter(|e| !e.is_empty())
            .map(str::to_ascii_lowercase),
    );
    exts
}

fn with_extensions(base: &Path, exts: &[String]) -> Option<PathBuf> {
    exts.iter().find_map(|ext| {
        let mut s = base.as_os_str().to_os_string();
        s.push(ext);
        let candidate = PathBuf::from(s);
        looked_at::entry(&candidate);
        candidate.is_file().then_some(candidate)
    })
}

fn check_executable(path: PathBuf) -> Result<PathBuf, PaddockError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        looked_at::mode(&path);
        let meta = std::fs::metadata(&path).map_err(|e| PaddockError::NotExecutable {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(PaddockError::NotExecutable {
                path,
                reason: "no execute permission".into(),
            });
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with_path(p: &Path) -> Vec<(OsString, OsString)> {
        vec![("PATH".into(), p.as_os_str().to_os_string())]
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_program_made_non_executable_through_another_hard_link_is_not_kept_found() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let (bin, other) = (base.join("bin"), base.join("other"));
        std::fs::create_dir(&bin).unwrap();
        std::fs::create_dir(&other).unwrap();
        let tool = bin.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::hard_link(&tool, other.join("alias")).unwrap();
        let env = env_with_path(&bin);
        let kept = Arc::new(KeptPrograms::default());
        assert_eq!(kept.resolve(OsStr::new("tool"), &base, &env).unwrap(), tool);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while kept.kept.lock().unwrap().is_empty() {
            if std::time::Instant::now() > deadline {
                paddock_core::testing::skip("no lookup watches here (not a local file system?)");
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // The mode changed through the other link: no event in `bin`, one on the file.
        let p = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(other.join("alias"), p).unwrap();
        assert!(
            kept.resolve(OsStr::new("tool"), &base, &env).is_err(),
            "a program no longer executable was still found"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn at_most_eight_programs_are_kept_the_oldest_going_first() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let env = env_with_path(&base);
        let kept = Arc::new(KeptPrograms::default());
        let names = |k: &KeptPrograms| -> Vec<String> {
            let list = k.kept.lock().unwrap();
            list.iter()
                .map(|p| p.key.program.to_string_lossy().into_owned())
                .collect()
        };
        for i in 0..10 {
            let p = base.join(format!("p{i}"));
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            let found = kept
                .resolve(OsStr::new(&format!("p{i}")), &base, &env)
                .unwrap();
            assert_eq!(found, p);
            // The watches are made by a worker: wait for this program's.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while !names(&kept).contains(&format!("p{i}")) {
                if std::time::Instant::now() > deadline {
                    paddock_core::testing::skip(
                        "no lookup watches here (not a local file system?)",
                    );
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        let now = names(&kept);
        assert_eq!(now.len(), MAX_KEPT_PROGRAMS, "{now:?}");
        assert!(
            !now.contains(&"p0".to_string()) && !now.contains(&"p1".to_string()),
            "{now:?}"
        );
    }

    #[test]
    fn missing_program_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve_program(
            OsStr::new("no-such-prog-xyz"),
            dir.path(),
            &env_with_path(dir.path()),
        );
        assert!(matches!(err, Err(PaddockError::NotFound { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn program_is_found_in_path_and_non_executable_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = resolve_program(
            OsStr::new("tool"),
            Path::new("/"),
            &env_with_path(dir.path()),
        );
        assert_eq!(found.unwrap(), exe);
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        let err = resolve_program(plain.as_os_str(), Path::new("/"), &[]);
        assert!(matches!(err, Err(PaddockError::NotExecutable { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn relative_program_with_separator_resolves_against_cwd() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("run.sh");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = resolve_program(OsStr::new("./run.sh"), dir.path(), &[]).unwrap();
        assert!(found.ends_with("run.sh"));
    }
}
