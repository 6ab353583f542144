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
    let text = crate::sys::read_net_unix()?;
    Ok(parse_proc_net_unix(&text)
        .into_iter()
        .filter(|p| !keep.iter().any(|k| is_beneath(p, k)))
        .filter(|p| is_socket(p))
        .collect())
}

/// Each host socket that a connect or a send could reach by a path outside `keep` (bound to an
/// absolute path and not connected: listening stream sockets, bound datagram sockets), as its
/// path and its inode number, sorted and unique. A socket bound again at a known path (a
/// daemon restarted: its unlink also removes the mount that hid the old one) has another
/// inode, so a waiting sandbox compares these identities, not paths (`WaitingSandbox::
/// is_current`). No `lstat`: a new identity is enough to say no.
pub fn host_unix_socket_ids(keep: &[PathBuf]) -> std::io::Result<Vec<(PathBuf, u64)>> {
    let text = crate::sys::read_net_unix()?;
    let mut ids: Vec<(PathBuf, u64)> = text
        .lines()
        .skip(1)
        .filter_map(reachable_id)
        .filter(|(p, _)| !keep.iter().any(|k| is_beneath(p, k)))
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The absolute socket paths named in the text of `/proc/net/unix`, sorted and unique;
/// abstract (`@name`) and unbound sockets, and relative paths, are left out.
pub fn parse_proc_net_unix(text: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = text
        .lines()
        .skip(1)
        .filter_map(|l| fields(l).map(|f| f.path))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The columns of one line that matter here.
struct Fields {
    /// `St`: 03 is a connected socket (an accepted connection shows its listener's path).
    state: u32,
    inode: u64,
    path: PathBuf,
}

/// The columns `Num RefCount Protocol Flags Type St Inode Path` of one line; `None` for a line
/// without an absolute path. The path is everything after the single space that follows the
/// inode, so that paths containing spaces survive.
fn fields(line: &str) -> Option<Fields> {
    let mut rest = line.trim_start();
    let mut cols = Vec::with_capacity(7);
    for _ in 0..7 {
        let end = rest.find(' ')?;
        cols.push(&rest[..end]);
        rest = rest[end..].trim_start_matches(' ');
    }
    // The inode column is right-aligned and followed by exactly one space before the path, but
    // the loop above also ate the path's leading spaces: an absolute path starts with '/'.
    if !rest.starts_with('/') {
        return None;
    }
    Some(Fields {
        state: u32::from_str_radix(cols[5], 16).ok()?,
        inode: cols[6].parse().ok()?,
        path: PathBuf::from(rest),
    })
}

/// A line's socket as [`host_unix_socket_ids`] counts it.
fn reachable_id(line: &str) -> Option<(PathBuf, u64)> {
    const SS_CONNECTED: u32 = 3;
    fields(line)
        .filter(|f| f.state != SS_CONNECTED)
        .map(|f| (f.path, f.inode))
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
    fn identities_leave_connected_sockets_out() {
        let text = format!(
            "{SAMPLE}0000000000000000: 00000003 00000000 00000000 0001 03 777 /run/docker.sock\n"
        );
        let ids: Vec<(PathBuf, u64)> = text.lines().skip(1).filter_map(reachable_id).collect();
        assert_eq!(
            ids,
            [
                (PathBuf::from("/run/docker.sock"), 21519),
                (PathBuf::from("/run/user/1000/my agent.sock"), 99999),
                (PathBuf::from("/run/docker.sock"), 12345),
            ]
        );
    }

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
    }

    #[test]
    fn a_socket_bound_again_at_its_path_has_another_identity_and_connections_do_not_count() {
        let outside = tempfile::tempdir().unwrap();
        let kept = tempfile::tempdir().unwrap();
        let path = outside.path().join("daemon.sock");
        // Only this test's directory is looked at: other tests may bind sockets meanwhile.
        let mine = || -> Vec<(PathBuf, u64)> {
            host_unix_socket_ids(&[kept.path().to_path_buf()])
                .unwrap()
                .into_iter()
                .filter(|(p, _)| p.starts_with(outside.path()))
                .collect()
        };
        let first = UnixListener::bind(&path).unwrap();
        let before = mine();
        assert_eq!(before.len(), 1, "{before:?}");
        // A connection accepted by the listener shows its path too, connected: not counted.
        let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let _accepted = first.accept().unwrap();
        assert_eq!(mine(), before, "a connection is not a new socket");
        // The daemon restarts: same path, another socket.
        drop(first);
        std::fs::remove_file(&path).unwrap();
        let _again = UnixListener::bind(&path).unwrap();
        let after = mine();
        assert_eq!(after.len(), 1, "{after:?}");
        assert_eq!(after[0].0, before[0].0);
        assert_ne!(
            after[0].1, before[0].1,
            "the same identity for a new socket"
        );
        let own = kept.path().join("own.sock");
        let _own = UnixListener::bind(&own).unwrap();
        assert!(
            !host_unix_socket_ids(&[kept.path().to_path_buf()])
                .unwrap()
                .iter()
                .any(|(p, _)| p == &own)
        );
    }
}
