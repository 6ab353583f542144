//! The Windows-path adapter the planner and the fake store go through. Relations that decide
//! security come from `paddock_core::paths::windows` (which knows UNC, `\\?\`, streams, short
//! names and devices, and says when it cannot tell); the lexical helpers here (`key`, `parent`,
//! `join`) name paths the planner itself built. All work on Windows path text on every OS.
//!
//! Guarantees: `may_be_beneath` is false only when the core is certain `p` is outside `root`
//! (use it to refuse and to protect); `key` is the store's comparison form; `is_beneath`
//! compares whole components of `key`s, never string prefixes.

use paddock_core::paths::windows as core_win;
use std::path::{Path, PathBuf};

/// False only when `p` is certainly outside `root` (the core's fail-closed relation).
pub fn may_be_beneath(p: &Path, root: &Path) -> bool {
    core_win::may_be_beneath(&p.to_string_lossy(), &root.to_string_lossy())
}

/// Why `p` cannot be a writable root by its spelling alone (not absolute, a drive or share
/// root, a device or a volume the core cannot place), or `None`.
pub fn unusable_as_root(p: &Path) -> Option<String> {
    let parsed = match core_win::parse(&p.to_string_lossy()) {
        Ok(w) => w,
        Err(e) => return Some(e.to_string()),
    };
    match parsed.volume() {
        None => Some("it is not an absolute Windows path".into()),
        Some(core_win::Volume::Device(_)) => Some("it is a device, not a folder".into()),
        Some(core_win::Volume::Opaque(_)) => {
            Some(r"its volume cannot be placed (\\?\Volume or raw device); use a drive path".into())
        }
        Some(_) if parsed.components.is_empty() => {
            Some("it is a drive or share root; a grant there reaches the whole volume".into())
        }
        Some(_) if parsed.stream.is_some() => Some("it names an alternate data stream".into()),
        Some(_) => None,
    }
}

/// Normalised comparison form: backslashes, no trailing separator (except a drive root `c:\`),
/// lower case.
pub fn key(p: &Path) -> String {
    let text = p.to_string_lossy().replace('/', "\\");
    let mut t = text.as_str();
    while t.len() > 1 && t.ends_with('\\') && !is_drive_root(t) {
        t = &t[..t.len() - 1];
    }
    t.to_lowercase()
}

fn is_drive_root(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\'
}

/// True when `p` is `root` or lies beneath it.
pub fn is_beneath(p: &Path, root: &Path) -> bool {
    let (p, r) = (key(p), key(root));
    if p == r {
        return true;
    }
    let prefix = if r.ends_with('\\') {
        r
    } else {
        format!("{r}\\")
    };
    p.starts_with(&prefix)
}

/// True when both name the same place.
pub fn same(a: &Path, b: &Path) -> bool {
    key(a) == key(b)
}

/// The parent directory, or `None` for a drive root, a UNC share root or a bare name.
pub fn parent(p: &Path) -> Option<PathBuf> {
    let text = p.to_string_lossy().replace('/', "\\");
    let trimmed = text.trim_end_matches('\\');
    let cut = trimmed.rfind('\\')?;
    let head = &trimmed[..cut];
    if head.is_empty() || (head.ends_with('\\') && !head.trim_start_matches('\\').contains('\\')) {
        return None;
    }
    let drive = head.strip_prefix("\\\\?\\").unwrap_or(head);
    if drive.len() == 2 && drive.as_bytes()[1] == b':' {
        // `C:` and `\\?\C:` name the volume, not its root directory.
        return Some(PathBuf::from(format!("{head}\\")));
    }
    if head.starts_with("\\\\") && head[2..].find('\\').is_none() {
        return None;
    }
    Some(PathBuf::from(head))
}

/// The last component.
pub fn file_name(p: &Path) -> Option<String> {
    let text = p.to_string_lossy().replace('/', "\\");
    let trimmed = text.trim_end_matches('\\');
    let name = &trimmed[trimmed.rfind('\\').map_or(0, |i| i + 1)..];
    (!name.is_empty() && !name.ends_with(':')).then(|| name.to_string())
}

/// The last component as Windows resolves it when opening or starting it, lower-cased: the
/// file system drops trailing dots and spaces (`x.bat.` and `x.bat ` are `x.bat`) and `::$DATA`
/// names the file's own data stream. What decides how a program is started (a batch file goes
/// through cmd.exe) must look at this name, not at the text as typed.
pub fn effective_file_name(p: &Path) -> Option<String> {
    let name = file_name(p)?.to_ascii_lowercase();
    let name = name.strip_suffix("::$data").unwrap_or(&name);
    let name = name.trim_end_matches(['.', ' ']);
    (!name.is_empty()).then(|| name.to_string())
}

/// The extension of `effective_file_name` (`bat` for `x.BAT. `), lower-cased.
pub fn effective_extension(p: &Path) -> Option<String> {
    let name = effective_file_name(p)?;
    let dot = name.rfind('.')?;
    Some(name[dot + 1..].to_string())
}

/// `effective_file_name` without its extension (`cmd` for `CMD.EXE.`).
pub fn effective_stem(p: &Path) -> Option<String> {
    let name = effective_file_name(p)?;
    Some(match name.rfind('.') {
        Some(0) | None => name,
        Some(dot) => name[..dot].to_string(),
    })
}

/// `base\rel`, with `rel`'s separators made backslashes.
pub fn join(base: &Path, rel: &str) -> PathBuf {
    let b = base.to_string_lossy().replace('/', "\\");
    let b = b.trim_end_matches('\\');
    PathBuf::from(format!(
        "{b}\\{}",
        rel.replace('/', "\\").trim_start_matches('\\')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_names_drop_what_windows_strips() {
        for typed in [
            r"C:\x\build.bat",
            r"C:\x\build.bat.",
            r"C:\x\build.bat ",
            r"C:\x\build.BAT. .",
            r"C:\x\build.bat::$DATA",
            "build.bat..",
        ] {
            assert_eq!(
                effective_extension(Path::new(typed)).as_deref(),
                Some("bat"),
                "{typed}"
            );
        }
        assert_eq!(
            effective_stem(Path::new(r"C:\W\CMD.EXE.")).as_deref(),
            Some("cmd")
        );
        assert_eq!(effective_stem(Path::new("pwsh")).as_deref(), Some("pwsh"));
        assert_eq!(effective_extension(Path::new(r"C:\x\bat")), None);
        assert_eq!(
            effective_extension(Path::new(r"C:\x\a.bat.exe")).as_deref(),
            Some("exe")
        );
        assert_eq!(effective_file_name(Path::new(r"C:\x\...")), None);
    }

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn comparison_ignores_case_separators_and_trailing_slash() {
        assert!(same(&p(r"C:\Users\Me\Repo\"), &p("c:/users/me/repo")));
        assert_eq!(key(&p(r"C:\")), r"c:\");
    }

    #[test]
    fn is_beneath_compares_whole_components() {
        assert!(is_beneath(&p(r"C:\repo\src\a.rs"), &p(r"C:\Repo")));
        assert!(is_beneath(&p(r"C:\repo"), &p(r"c:\repo\")));
        assert!(!is_beneath(&p(r"C:\repo2\a"), &p(r"C:\repo")));
        assert!(is_beneath(&p(r"C:\anything"), &p(r"C:\")));
    }

    #[test]
    fn parent_stops_at_volume_roots() {
        assert_eq!(parent(&p(r"C:\a\b")), Some(p(r"C:\a")));
        assert_eq!(parent(&p(r"C:\a")), Some(p(r"C:\")));
        assert_eq!(parent(&p(r"C:\")), None);
        assert_eq!(parent(&p(r"\\srv\share\dir")), Some(p(r"\\srv\share")));
        assert_eq!(parent(&p(r"\\srv\share")), None);
        assert_eq!(parent(&p(r"\\?\Z:\tmp")), Some(p(r"\\?\Z:\")));
        assert_eq!(parent(&p(r"\\?\Z:\tmp\ws")), Some(p(r"\\?\Z:\tmp")));
        assert_eq!(parent(&p(r"\\?\Z:\")), None);
    }

    #[test]
    fn names_and_joins() {
        assert_eq!(file_name(&p(r"C:\a\hooks\")).as_deref(), Some("hooks"));
        assert_eq!(file_name(&p(r"C:\")), None);
        assert_eq!(
            join(&p(r"C:\repo\"), ".git/hooks"),
            p(r"C:\repo\.git\hooks")
        );
    }

    #[test]
    fn roots_unusable_by_spelling_are_named() {
        for bad in [
            r"C:\",
            "D:",
            r"\\?\C:\",
            r"\\server\share",
            r"\\server\share\",
            r"\\?\Volume{0b1a}\x",
            "NUL",
            "rel\\x",
            r"C:\repo:ads",
        ] {
            assert!(unusable_as_root(&p(bad)).is_some(), "{bad}");
        }
        for good in [r"C:\Users", r"\\server\share\dir", r"\\?\C:\work"] {
            assert_eq!(unusable_as_root(&p(good)), None, "{good}");
        }
    }

    #[test]
    fn may_be_beneath_fails_closed_on_short_names_and_unc_aliases() {
        assert!(may_be_beneath(
            &p(r"C:\PROGRA~1\x"),
            &p(r"C:\Program Files")
        ));
        assert!(may_be_beneath(
            &p(r"\\localhost\C$\Windows"),
            &p(r"C:\Windows")
        ));
        assert!(!may_be_beneath(&p(r"C:\Users\me\repo"), &p(r"C:\Windows")));
    }
}
