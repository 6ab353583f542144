//! Tests of the OS-facing path functions with real temp dirs and symlinks: each boundary is
//! attacked through a link, and ordinary paths on the right side must still resolve normally.

use super::*;

#[test]
fn normalize_lexically_clamps_at_root_and_keeps_leading_parents() {
    assert_eq!(
        normalize_lexically(Path::new("/a/./b/../../..")),
        Path::new("/")
    );
    assert_eq!(
        normalize_lexically(Path::new("a/../../b")),
        Path::new("../b")
    );
    assert_eq!(
        normalize_lexically(Path::new("../../b")),
        Path::new("../../b")
    );
    assert_eq!(
        normalize_lexically(Path::new("/a/b/./c/")),
        Path::new("/a/b/c")
    );
}

#[test]
fn expand_tilde_replaces_only_a_leading_tilde() {
    let home = Path::new("/home/u");
    assert_eq!(
        expand_tilde(Path::new("~/.ssh"), Some(home)),
        Path::new("/home/u/.ssh")
    );
    assert_eq!(
        expand_tilde(Path::new("~"), Some(home)),
        Path::new("/home/u")
    );
    assert_eq!(expand_tilde(Path::new("a/~"), Some(home)), Path::new("a/~"));
    assert_eq!(
        expand_tilde(Path::new("~x/y"), Some(home)),
        Path::new("~x/y")
    );
    assert_eq!(expand_tilde(Path::new("~/y"), None), Path::new("~/y"));
}

#[cfg(unix)]
mod unix {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A canonical temp dir with `ws/` (holding `.git/hooks` and `src/`) and `outside/`.
    struct Tree {
        _dir: tempfile::TempDir,
        root: PathBuf,
    }

    impl Tree {
        fn new() -> Tree {
            let dir = tempfile::tempdir().unwrap();
            let root = std::fs::canonicalize(dir.path()).unwrap();
            for d in ["ws/.git/hooks", "ws/src", "outside/sub"] {
                std::fs::create_dir_all(root.join(d)).unwrap();
            }
            std::fs::write(root.join("ws/src/main.rs"), "fn main() {}").unwrap();
            Tree { _dir: dir, root }
        }
        fn ws(&self) -> PathBuf {
            self.root.join("ws")
        }
        fn p(&self, rel: &str) -> PathBuf {
            self.root.join(rel)
        }
    }

    #[test]
    fn resolve_keeps_ordinary_workspace_paths() {
        let t = Tree::new();
        let r = resolve(&t.ws(), Path::new("src/./main.rs")).unwrap();
        assert_eq!(r, t.p("ws/src/main.rs"));
        let r = resolve(&t.ws(), Path::new("src/new/deeper/file")).unwrap();
        assert_eq!(r, t.p("ws/src/new/deeper/file"));
        assert!(is_beneath(&r, &t.ws()));
        assert!(!may_be_beneath(&r, &t.p("ws/.git/hooks")));
    }

    #[test]
    fn resolve_applies_dotdot_after_following_the_symlink_as_the_kernel_does() {
        let t = Tree::new();
        symlink(t.p("outside/sub"), t.p("ws/link")).unwrap();
        // Lexically `ws/link/../escape` is `ws/escape`; the kernel opens `outside/escape`.
        let r = resolve(&t.ws(), Path::new("link/../escape")).unwrap();
        assert_eq!(r, t.p("outside/escape"));
        assert!(!is_beneath(&r, &t.ws()));
    }

    #[test]
    fn resolve_follows_a_symlink_into_a_protected_directory() {
        let t = Tree::new();
        symlink(t.p("ws/.git/hooks"), t.p("ws/src/innocent")).unwrap();
        let r = resolve(&t.ws(), Path::new("src/innocent/pre-commit")).unwrap();
        assert_eq!(r, t.p("ws/.git/hooks/pre-commit"));
        assert!(may_be_beneath(&r, &t.p("ws/.git/hooks")));
    }

    #[test]
    fn resolve_follows_relative_symlink_chains_out_of_the_workspace() {
        let t = Tree::new();
        symlink("b", t.p("ws/a")).unwrap();
        symlink("../outside/sub", t.p("ws/b")).unwrap();
        let r = resolve(&t.ws(), Path::new("a/file")).unwrap();
        assert_eq!(r, t.p("outside/sub/file"));
    }

    #[test]
    fn resolve_follows_a_dangling_symlink_to_where_a_write_would_land() {
        let t = Tree::new();
        symlink(t.p("outside/not-yet/dir"), t.p("ws/dangling")).unwrap();
        let r = resolve(&t.ws(), Path::new("dangling/file")).unwrap();
        assert_eq!(r, t.p("outside/not-yet/dir/file"));
        symlink("../outside/created-later", t.p("ws/rel-dangling")).unwrap();
        let r = resolve(&t.ws(), Path::new("rel-dangling")).unwrap();
        assert_eq!(r, t.p("outside/created-later"));
    }

    #[test]
    fn resolve_follows_a_symlink_reached_by_climbing_out_of_a_missing_directory() {
        let t = Tree::new();
        symlink(t.p("outside"), t.p("ws/link")).unwrap();
        let r = resolve(&t.ws(), Path::new("missing/../link/x")).unwrap();
        assert_eq!(r, t.p("outside/x"));
    }

    #[test]
    fn resolve_reports_symlink_loops_instead_of_recursing() {
        let t = Tree::new();
        symlink("b", t.p("ws/a")).unwrap();
        symlink("a", t.p("ws/b")).unwrap();
        symlink("self", t.p("ws/self")).unwrap();
        for p in ["a", "a/x", "self/x"] {
            let err = resolve(&t.ws(), Path::new(p)).unwrap_err();
            let inner = err.get_ref().and_then(|e| e.downcast_ref::<ResolveError>());
            assert!(
                matches!(inner, Some(ResolveError::SymlinkLoop { .. })),
                "{p}: {err}"
            );
        }
    }

    #[test]
    fn resolve_accepts_long_symlink_chains_below_the_kernel_limit() {
        let t = Tree::new();
        symlink(t.p("outside"), t.p("ws/l0")).unwrap();
        for i in 1..30 {
            symlink(format!("l{}", i - 1), t.p(&format!("ws/l{i}"))).unwrap();
        }
        assert_eq!(
            resolve(&t.ws(), Path::new("l29/f")).unwrap(),
            t.p("outside/f")
        );
    }

    #[test]
    fn resolve_clamps_dotdot_at_the_root() {
        let r = resolve(Path::new("/"), Path::new("../../..")).unwrap();
        assert_eq!(r, Path::new("/"));
    }

    #[test]
    fn resolve_of_an_absolute_path_ignores_the_base() {
        let t = Tree::new();
        let r = resolve(Path::new("/nonexistent-base"), &t.p("ws/src")).unwrap();
        assert_eq!(r, t.p("ws/src"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn resolve_treats_proc_self_root_as_its_target() {
        let t = Tree::new();
        let through = Path::new("/proc/self/root").join(t.p("ws/src").strip_prefix("/").unwrap());
        let r = resolve(Path::new("/"), &through.join("x")).unwrap();
        assert_eq!(r, t.p("ws/src/x"));
        assert!(may_be_beneath(&r, &t.ws()));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn resolve_treats_proc_fd_links_as_the_open_file() {
        use std::os::fd::AsRawFd;
        let t = Tree::new();
        let file = std::fs::File::open(t.p("ws/src/main.rs")).unwrap();
        let link = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        assert_eq!(
            resolve(Path::new("/"), &link).unwrap(),
            t.p("ws/src/main.rs")
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn resolve_refuses_proc_links_to_kernel_objects() {
        let err = resolve(Path::new("/"), Path::new("/proc/self/ns/net")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }

    #[test]
    fn is_beneath_compares_whole_components_not_string_prefixes() {
        assert!(is_beneath(Path::new("/ws/src"), Path::new("/ws")));
        assert!(is_beneath(Path::new("/ws"), Path::new("/ws")));
        assert!(!is_beneath(Path::new("/ws2/src"), Path::new("/ws")));
        assert!(!is_beneath(Path::new("/w"), Path::new("/ws")));
        assert!(!is_beneath(Path::new("/WS/src"), Path::new("/ws")));
    }

    #[test]
    fn may_be_beneath_protects_case_variants_for_case_folding_file_systems() {
        let hooks = Path::new("/ws/.git/hooks");
        assert!(may_be_beneath(
            Path::new("/ws/.GIT/Hooks/pre-commit"),
            hooks
        ));
        assert!(may_be_beneath(Path::new("/ws/.git/hooks"), hooks));
        assert!(!may_be_beneath(Path::new("/ws/.git/hooksx"), hooks));
        assert!(!may_be_beneath(Path::new("/ws/.git"), hooks));
        assert!(!may_be_beneath(Path::new("/ws/src/hooks"), hooks));
    }
}

#[cfg(windows)]
mod windows_fs {
    use super::*;

    #[test]
    fn normalize_lexically_keeps_parents_of_a_drive_relative_path() {
        assert_eq!(
            normalize_lexically(Path::new(r"C:..\x")),
            Path::new(r"C:..\x")
        );
        assert_eq!(
            normalize_lexically(Path::new(r"C:\..\x")),
            Path::new(r"C:\x")
        );
        assert_eq!(
            normalize_lexically(Path::new(r"\\srv\share\..\x")),
            Path::new(r"\\srv\share\x")
        );
    }

    #[test]
    fn resolve_keeps_ordinary_workspace_paths_on_windows() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ws\\src")).unwrap();
        let ws = std::fs::canonicalize(dir.path().join("ws")).unwrap();
        let r = resolve(&ws, Path::new("src/.\\new\\..\\file.rs")).unwrap();
        assert_eq!(r, ws.join("src").join("file.rs"));
        assert!(is_beneath(&r, &ws));
    }

    #[test]
    #[ignore = "needs real Windows with the symlink privilege: Wine reports success but creates no link"]
    fn resolve_applies_dotdot_before_links_as_win32_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("ws")).unwrap();
        std::fs::create_dir_all(root.join("outside\\sub")).unwrap();
        std::os::windows::fs::symlink_dir(root.join("outside\\sub"), root.join("ws\\link"))
            .expect("creating a directory symlink (needs Developer Mode or the privilege)");
        let r = resolve(&root.join("ws"), Path::new("link\\..\\file")).unwrap();
        assert_eq!(r, root.join("ws").join("file"));
        let r = resolve(&root.join("ws"), Path::new("link\\file")).unwrap();
        assert_eq!(r, root.join("outside").join("sub").join("file"));
    }

    #[test]
    #[ignore = "needs real Windows with the symlink privilege: Wine reports success but creates no link"]
    fn resolve_reports_link_loops_on_windows() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::os::windows::fs::symlink_dir(root.join("b"), root.join("a"))
            .expect("creating a directory symlink (needs Developer Mode or the privilege)");
        std::os::windows::fs::symlink_dir(root.join("a"), root.join("b")).unwrap();
        let err = resolve(&root, Path::new("a\\x")).unwrap_err();
        let inner = err.get_ref().and_then(|e| e.downcast_ref::<ResolveError>());
        assert!(
            matches!(inner, Some(ResolveError::SymlinkLoop { .. })),
            "{err}"
        );
    }

    #[test]
    #[ignore = "needs real Windows with the symlink privilege: Wine reports success but creates no link"]
    fn resolve_follows_a_dangling_link_on_windows() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::os::windows::fs::symlink_dir(root.join("later"), root.join("dangling"))
            .expect("creating a directory symlink (needs Developer Mode or the privilege)");
        let r = resolve(&root, Path::new("dangling\\f")).unwrap();
        assert_eq!(r, root.join("later").join("f"));
    }

    #[test]
    fn is_beneath_ignores_case_and_spelling_on_windows() {
        assert!(is_beneath(Path::new(r"C:\WS\Src"), Path::new(r"c:\ws")));
        assert!(is_beneath(Path::new(r"\\?\C:\ws\src"), Path::new(r"C:\ws")));
        assert!(!is_beneath(Path::new(r"C:\ws2"), Path::new(r"C:\ws")));
        assert!(may_be_beneath(
            Path::new(r"C:\ws\GIT~1\hooks"),
            Path::new(r"C:\ws\.git\hooks")
        ));
        assert!(!is_beneath(
            Path::new(r"C:\ws\GIT~1\hooks"),
            Path::new(r"C:\ws\.git\hooks")
        ));
    }
}
