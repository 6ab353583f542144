//! The unix socket files host processes are bound to, read from `/proc/net/unix`, for the mount
//! view to hide (bind an empty file over each). Neither seccomp nor Landlock below ABI 9 can see
//! which path a `connect(2)` names, and a read-only mount does not stop it.
//!
//! `/proc/net/unix` lists the sockets of the reader's network namespace: read it in the
//! supervisor, before the sandbox gets its own network namespace. Known gaps: sockets bound
//! later, bound in another network namespace, bound by a relative path or renamed after `bind`.

use paddock_core::paths::is_beneath;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// Absolute, existing unix socket files the host's processes are bound to, excluding those
/// beneath `keep` (the writable roots, whose sockets the command may use), sorted and unique.
pub fn host_unix_sockets(keep: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    host_unix_sockets_besides(keep, &[])
}

/// [`host_unix_sockets`] without those in `known` (sorted), which are taken as they are: a
/// waiting sandbox asks only whether a socket it does not hide appeared, so the ones it hides
/// need no `lstat`.
pub fn host_unix_sockets_besides(
    keep: &[PathBuf],
    known: &[PathBuf],
) -> std::io::Result<Vec<PathBuf>> {
    let text = crate::sys::read_net_unix()?;
    Ok(parse_proc_net_unix(&text)
        .into_iter()
        .filter(|p| !keep.iter().any(|k| is_beneath(p, k)))
        .filter(|p| known.binary_search(p).is_err())
        .filter(|p| is_socket(p))
        .collect())
}

/// The absolute socket paths named in the text of `/proc/net/unix`, sorted and unique;
/// abstract (`@name`) and unbound sockets, and relative paths, are left out.
pub fn parse_proc_net_unix(text: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = text.lines().skip(1).filter_map(path_field).collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The eighth column (`Num RefCount Protocol Flags Type St Inode Path`): everything after the
/// single space that follows the inode, so that paths containing spaces survive.
fn path_field(line: &str) -> Option<PathBuf> {
    let mut rest = line.trim_start();
    for _ in 0..7 {
        let end = rest.find(' ')?;
        rest = rest[end..].trim_start_matches(' ');
    }
    // The inode column is right-aligned and followed by exactly one space before the path, but
    // the loop above also ate the path's leading spaces: an absolute path starts with '/'.
    rest.starts_with('/').then(|| PathBuf::from(rest))
}

fn is_socket(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    const SAMPLE: &str = "Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 21519 /run/docker.sock
0000000000000000: 00000002 00000000 00010000 0001 01  8822 @/tmp/.X11-unix/X0
0000000000000000: 00000003 00000000 00000000 0001 03  1058
0000000000000000: 00000002 00000000 00010000 0001 01 99999 /run/user/1000/my agent.sock
0000000000000000: 00000002 00000000 00000000 0002 01 12345 /run/docker.sock
0000000000000000: 00000002 00000000 00010000 0001 01 12346 relative.sock
";

    #[test]
    fn parser_keeps_absolute_paths_including_spaces_and_drops_abstract_and_unbound() {
        assert_eq!(
            parse_proc_net_unix(SAMPLE),
            vec![
                PathBuf::from("/run/docker.sock"),
                PathBuf::from("/run/user/1000/my agent.sock")
            ]
        );
    }

    #[test]
    fn a_listener_started_by_the_host_is_listed_and_one_beneath_a_kept_root_is_not() {
        let outside = tempfile::tempdir().unwrap();
        let kept = tempfile::tempdir().unwrap();
        let host_sock = outside.path().join("host.sock");
        let own_sock = kept.path().join("own.sock");
        let _host = UnixListener::bind(&host_sock).unwrap();
        let _own = UnixListener::bind(&own_sock).unwrap();
        let found = host_unix_sockets(&[kept.path().to_path_buf()]).unwrap();
        assert!(found.contains(&host_sock), "{found:?}");
        assert!(!found.contains(&own_sock), "{found:?}");
        // Those known already are left out; a new one is listed (other tests may bind
        // sockets meanwhile: only this test's directory is looked at).
        let kept_roots = [kept.path().to_path_buf()];
        let mine = |v: Vec<PathBuf>| -> Vec<PathBuf> {
            v.into_iter()
                .filter(|p| p.starts_with(outside.path()))
                .collect()
        };
        let besides = || host_unix_sockets_besides(&kept_roots, &found).unwrap();
        assert_eq!(mine(besides()), [] as [PathBuf; 0]);
        let new_sock = outside.path().join("new.sock");
        let _new = UnixListener::bind(&new_sock).unwrap();
        assert_eq!(mine(besides()), [new_sock]);
    }
}
