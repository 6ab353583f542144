//! The small Windows-path adapter the planner and the fake store compare paths through:
//! case-insensitive, `/` and `\` alike, trailing separators ignored. It works on Windows path
//! text on every OS, so the planner's tests run on Linux.
//!
//! Guarantees: `key` is the one comparison form (two paths name the same place for Paddock iff
//! their keys are equal); `is_beneath` compares whole components, never string prefixes.

use std::path::{Path, PathBuf};

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
    if head.len() == 2 && head.as_bytes()[1] == b':' {
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

/// `base\rel`, with `rel`'s separators made backslashes.
pub fn join(base: &Path, rel: &str) -> PathBuf {
    let b = base.to_string_lossy().replace('/', "\\");
    let b = b.trim_end_matches('\\');
    PathBuf::from(format!(
        "{b}\\{}",
        rel.replace('/', "\\").trim_start_matches('\\')
    ))
}

/// True for a drive root (`C:\`) or a UNC share root (`\\server\share`).
pub fn is_volume_root(p: &Path) -> bool {
    let k = key(p);
    if is_drive_root(&k) || (k.len() == 2 && k.ends_with(':')) {
        return true;
    }
    if let Some(unc) = k.strip_prefix("\\\\?\\") {
        return is_drive_root(unc) || (unc.len() == 2 && unc.ends_with(':'));
    }
    k.starts_with("\\\\") && k[2..].matches('\\').count() == 1
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn volume_roots_are_recognised() {
        for root in [
            r"C:\",
            "D:",
            r"\\?\C:\",
            r"\\server\share",
            r"\\server\share\",
        ] {
            assert!(is_volume_root(&p(root)), "{root}");
        }
        for not_root in [r"C:\Users", r"\\server\share\dir"] {
            assert!(!is_volume_root(&p(not_root)), "{not_root}");
        }
    }
}
