//! Resolves a Unix path the way the kernel walks it: one component at a time, following each
//! symlink before the next component (so `link/..` is the parent of the link's *target*),
//! failing with `ELOOP` after 40 links, and treating `/proc` magic links as their target. The part
//! that does not exist yet is normalised lexically, as `mkdir -p` would create it.

use super::ResolveError;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// The kernel's limit on symlinks followed in one path walk (`MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// One step of the walk still to take.
enum Step {
    Root,
    Parent,
    Name(OsString),
}

fn push_front_components(queue: &mut VecDeque<Step>, p: &Path) {
    let steps: Vec<Step> = p
        .components()
        .filter_map(|c| match c {
            Component::RootDir => Some(Step::Root),
            Component::ParentDir => Some(Step::Parent),
            Component::Normal(n) => Some(Step::Name(n.to_os_string())),
            Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    for s in steps.into_iter().rev() {
        queue.push_front(s);
    }
}

/// A `/proc` magic link whose target is a kernel object, not a path (`pipe:[42]`,
/// `socket:[7]`, `anon_inode:[eventfd]`, `net:[4026531840]`).
fn is_object_link(link: &Path, target: &Path) -> bool {
    link.starts_with("/proc")
        && !target.is_absolute()
        && target.as_os_str().as_bytes().windows(2).any(|w| w == b":[")
}

/// Resolves the absolute path `abs`.
pub(super) fn resolve_absolute(abs: &Path) -> io::Result<PathBuf> {
    resolve_absolute_in(abs, &mut |_, _| {})
}

/// [`resolve_absolute`], telling `looked_in` each directory in which a name is looked up, and
/// the name (the entries that decide the result).
pub(crate) fn resolve_absolute_in(
    abs: &Path,
    looked_in: &mut dyn FnMut(&Path, &std::ffi::OsStr),
) -> io::Result<PathBuf> {
    let mut queue = VecDeque::new();
    push_front_components(&mut queue, abs);
    let mut out = PathBuf::from("/");
    // Components appended that do not exist: `..` climbs back out of them lexically.
    let mut missing = 0usize;
    let mut links = 0;
    while let Some(step) = queue.pop_front() {
        match step {
            Step::Root => {
                out = PathBuf::from("/");
                missing = 0;
            }
            Step::Parent => {
                out.pop();
                missing = missing.saturating_sub(1);
            }
            Step::Name(name) => {
                let candidate = out.join(&name);
                if missing > 0 {
                    out = candidate;
                    missing += 1;
                    continue;
                }
                looked_in(&out, &name);
                crate::looked_at::entry(&candidate);
                match std::fs::symlink_metadata(&candidate) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        links += 1;
                        if links > MAX_LINKS {
                            return Err(ResolveError::SymlinkLoop {
                                path: abs.to_path_buf(),
                                link: candidate,
                            }
                            .into_io());
                        }
                        let target = std::fs::read_link(&candidate)?;
                        if is_object_link(&candidate, &target) {
                            return Err(ResolveError::KernelObjectLink {
                                link: candidate,
                                target,
                            }
                            .into_io());
                        }
                        push_front_components(&mut queue, &target);
                    }
                    Ok(_) => out = candidate,
                    Err(e)
                        if e.kind() == io::ErrorKind::NotFound
                            || e.kind() == io::ErrorKind::NotADirectory =>
                    {
                        missing = 1;
                        out = candidate;
                    }
                    Err(source) => {
                        return Err(ResolveError::Unreadable {
                            path: candidate,
                            source,
                        }
                        .into_io());
                    }
                }
            }
        }
    }
    Ok(out)
}
