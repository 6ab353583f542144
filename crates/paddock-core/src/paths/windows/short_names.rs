//! 8.3 short names (`PROGRA~1`, `GIT~1`): NTFS may give any entry a second, short name, so
//! `.git` can be spelled `GIT~1`. Paths are compared after every `~N` component has been expanded
//! to its long name by a `ShortNameExpander` (the OS one uses `GetLongPathNameW`).

use super::parse::{Anchor, WinPath, WinPathError};
use std::io;

/// Looks up the long name of a directory entry.
pub trait ShortNameExpander {
    /// The long name of the entry `component` in the directory `parent` (absolute, already
    /// long), `Ok(None)` when the directory has no such entry.
    fn long_name(&self, parent: &WinPath, component: &str) -> io::Result<Option<String>>;
}

/// True when `component` has the shape of a generated 8.3 name: a base of at most 8 chars
/// ending in `~` and digits, and an optional extension of at most 3 chars.
pub fn looks_like_short_name(component: &str) -> bool {
    let (base, ext) = match component.rsplit_once('.') {
        Some((b, e)) => (b, Some(e)),
        None => (component, None),
    };
    if base.chars().count() > 8 || ext.is_some_and(|e| e.is_empty() || e.chars().count() > 3) {
        return false;
    }
    let Some((stem, digits)) = base.rsplit_once('~') else {
        return false;
    };
    !stem.is_empty() && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// Replaces every component of the absolute `p` that looks like a short name with the long
/// name `x` reports. A component with no such entry is kept as written (it will be created under
/// that literal name), and nothing below it is looked up. A lookup error is returned: the caller
/// cannot know what the path names.
pub fn expand_short_names(p: &WinPath, x: &dyn ShortNameExpander) -> Result<WinPath, WinPathError> {
    if !matches!(p.anchor, Anchor::Volume(_)) {
        return Ok(p.clone());
    }
    let mut out = WinPath {
        components: Vec::with_capacity(p.components.len()),
        stream: None,
        maybe_device: false,
        ..p.clone()
    };
    let mut exists = true;
    for comp in &p.components {
        if exists && looks_like_short_name(comp) {
            match x.long_name(&out, comp) {
                Ok(Some(long)) => {
                    out.components.push(long);
                    continue;
                }
                Ok(None) => exists = false,
                Err(source) => {
                    return Err(WinPathError::ShortName {
                        path: p.to_string(),
                        component: comp.clone(),
                        source,
                    });
                }
            }
        }
        out.components.push(comp.clone());
    }
    out.stream = p.stream.clone();
    out.maybe_device = p.maybe_device;
    Ok(out)
}
