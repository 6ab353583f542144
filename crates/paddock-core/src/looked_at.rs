//! What a computation looked at on the file system, noted by the functions that look
//! (`paths::resolve`, the spec's `lstat`s, `files::read_regular_file`, the hooks listing), so
//! that `lookup_watch` can watch all of it and say when any of it may have changed.
//!
//! Noting is off unless the current thread is inside [`record`]; then each look is kept with
//! its path made absolute against the current directory. It guarantees nothing by itself: a
//! look made by a function that does not note it is missed, which is why the spec's memo is
//! held against a fresh computation after random changes in its tests.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One look at the file system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Look {
    /// Whether `path` exists, what it is or where a link there points (`lstat`, `stat`,
    /// `readlink`): depends on every directory its lookup goes through.
    Entry(PathBuf),
    /// The names in the directory `path`.
    Listing(PathBuf),
    /// The mode of the file `path` (whether it may be executed): a `chmod` through another
    /// hard link changes it with no event in `path`'s directory, so the file itself is watched.
    Mode(PathBuf),
    /// The bytes of the file `path`, as read (`None`: missing or unreadable). They are kept
    /// because a write through a shared memory mapping changes them without any inotify event:
    /// `lookup_watch` reads them again before a kept value is used.
    Content(PathBuf, Option<Vec<u8>>),
}

thread_local! {
    static LOOKS: RefCell<Option<BTreeSet<Look>>> = const { RefCell::new(None) };
}

/// Runs `f`, returning what it looked at along with its value. A `record` inside another
/// gives its looks to the outer one too.
pub fn record<T>(f: impl FnOnce() -> T) -> (T, BTreeSet<Look>) {
    let outer = LOOKS.with(|l| l.borrow_mut().replace(BTreeSet::new()));
    let value = f();
    let seen = LOOKS.with(|l| {
        let mut l = l.borrow_mut();
        let seen = l.take().unwrap_or_default();
        *l = outer.map(|mut o| {
            o.extend(seen.iter().cloned());
            o
        });
        seen
    });
    (value, seen)
}

/// Runs `f` without noting what it looks at (a part another set of watches answers for).
pub fn unrecorded<T>(f: impl FnOnce() -> T) -> T {
    let outer = LOOKS.with(|l| l.borrow_mut().take());
    let value = f();
    LOOKS.with(|l| *l.borrow_mut() = outer);
    value
}

/// Notes that `p`'s entry was looked at.
pub fn entry(p: &Path) {
    note(p, Look::Entry);
}

/// Notes that the names in directory `p` were read.
pub fn listing(p: &Path) {
    note(p, Look::Listing);
}

/// Notes that the mode of file `p` was looked at.
pub fn mode(p: &Path) {
    note(p, Look::Mode);
}

/// Notes that the bytes of file `p` were read, and what they were (`None`: it was missing or
/// could not be read).
pub fn content(p: &Path, bytes: Option<&[u8]>) {
    note(p, |path| Look::Content(path, bytes.map(<[u8]>::to_vec)));
}

fn note(p: &Path, look: impl FnOnce(PathBuf) -> Look) {
    LOOKS.with(|l| {
        if let Some(set) = l.borrow_mut().as_mut() {
            let abs = if p.is_absolute() {
                p.to_path_buf()
            } else {
                std::env::current_dir().unwrap_or_default().join(p)
            };
            set.insert(look(abs));
        }
    });
}

// Unix paths: elsewhere `/a` is not absolute (Wine makes it `Z:/a`).
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_looks_inside_record_are_kept_and_nested_ones_reach_the_outer() {
        entry(Path::new("/before"));
        let ((), outer) = record(|| {
            entry(Path::new("/a"));
            let ((), inner) = record(|| content(Path::new("/b"), Some(b"x")));
            assert_eq!(
                inner,
                BTreeSet::from([Look::Content("/b".into(), Some(b"x".to_vec()))])
            );
            unrecorded(|| listing(Path::new("/skipped")));
            listing(Path::new("rel"));
        });
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            outer,
            BTreeSet::from([
                Look::Entry("/a".into()),
                Look::Content("/b".into(), Some(b"x".to_vec())),
                Look::Listing(cwd.join("rel")),
            ])
        );
        let ((), after) = record(|| {});
        assert!(
            after.is_empty(),
            "nothing leaks from one record to the next"
        );
    }
}
