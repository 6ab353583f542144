//! Reading small files the supervisor must not be tricked by, the one way every such file is
//! read: Paddock's config and rules files (UTF-8, [`read_config_file`]) and the files of git and
//! of the after-run check (any bytes, [`read_regular_file`]).
//!
//! Guarantees: only a regular file is ever read (a directory, FIFO, socket or device is refused
//! before it is opened, and again after, on the open handle); nothing blocks (opened with
//! `O_NONBLOCK`); at most the given bound is read (`MAX_CONFIG_BYTES` for config), also when the
//! file grows while read; a file inside a workspace is reached
//! without following any link from the workspace down (`openat` with `O_NOFOLLOW` on each
//! component), because whoever wrote the repository or ran in the sandbox chose those names;
//! a `NoFinalLink` file is never a link itself (`O_NOFOLLOW`).
//! Files of the user's own (config dir, `--config FILE`) may be links: dotfile managers make them.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// The largest config or rules file Paddock reads (1 MiB).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Where a file lives, which decides whether links on the way are followed.
#[derive(Debug, Clone, Copy)]
pub enum Location<'a> {
    /// A file of the user's own (user config, user rules, `--config FILE`): links are followed,
    /// but they must end at a regular file.
    User,
    /// A file beneath this directory (the workspace), written by whoever wrote the repository:
    /// neither the file nor any directory between the root and it may be a link.
    Beneath(&'a Path),
    /// A file whose directories the caller has already vetted (a git dir's files, a pending
    /// record): the file itself must not be a link.
    NoFinalLink,
}

/// Why a config or rules file was not read. Each message names the file and the fix.
#[derive(Debug, Error)]
pub enum FileError {
    #[error(
        "{path} is a {kind}, not a regular file; Paddock reads config only from regular files: \
         remove it or replace it with a regular file"
    )]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error(
        "{path}: {link} is a symbolic link inside the workspace; a project's config must be a \
         regular file in the workspace itself (a link can lead to a device, a pipe or a file \
         outside): replace the link with a copy of its target"
    )]
    Link { path: PathBuf, link: PathBuf },
    #[error(
        "{path} is larger than {limit} bytes; a config file that large is a mistake or an \
         attack: shorten it"
    )]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path} is not UTF-8 text; save it as UTF-8")]
    NotUtf8 { path: PathBuf },
    #[error("cannot read {path}: {source}; fix its permissions or remove it")]
    Io { path: PathBuf, source: io::Error },
}

/// Reads the config or rules file at `path` as UTF-8 text of at most `MAX_CONFIG_BYTES`:
/// `Ok(None)` when it (or a directory on its way) does not exist. See the module documentation
/// for what is refused.
pub fn read_config_file(path: &Path, location: Location<'_>) -> Result<Option<String>, FileError> {
    let Some(bytes) = read_regular_file(path, location, MAX_CONFIG_BYTES)? else {
        return Ok(None);
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| FileError::NotUtf8 {
            path: path.to_path_buf(),
        })
}

/// Reads the regular file at `path`, at most `max` bytes of anything: `Ok(None)` when it (or a
/// directory on its way) does not exist. Links are refused as `location` says.
pub fn read_regular_file(
    path: &Path,
    location: Location<'_>,
    max: u64,
) -> Result<Option<Vec<u8>>, FileError> {
    let read = read_regular_file_unnoted(path, location, max);
    crate::looked_at::content(path, read.as_ref().ok().and_then(|b| b.as_deref()));
    read
}

fn read_regular_file_unnoted(
    path: &Path,
    location: Location<'_>,
    max: u64,
) -> Result<Option<Vec<u8>>, FileError> {
    let file = match location {
        Location::User => open_user(path)?,
        Location::Beneath(root) => {
            let rel = path.strip_prefix(root).map_err(|_| FileError::Io {
                path: path.to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("not beneath {}", root.display()),
                ),
            })?;
            open_beneath(root, rel, path)?
        }
        Location::NoFinalLink => open_no_final_link(path)?,
    };
    let Some(file) = file else { return Ok(None) };
    read_capped(file, path, max).map(Some)
}

/// The kind of a non-regular file, for messages.
fn kind_name(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "socket";
        }
        if ft.is_char_device() {
            return "character device";
        }
        if ft.is_block_device() {
            return "block device";
        }
    }
    if ft.is_dir() {
        "directory"
    } else if ft.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Refuses `meta` unless it is a regular file.
fn require_regular(path: &Path, meta: &std::fs::Metadata) -> Result<(), FileError> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(FileError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_name(meta.file_type()),
        })
    }
}

fn read_capped(file: File, path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    let meta = file.metadata().map_err(io_err(path))?;
    require_regular(path, &meta)?;
    let too_large = || FileError::TooLarge {
        path: path.to_path_buf(),
        limit: max,
    };
    if meta.len() > max {
        return Err(too_large());
    }
    // The size can change after fstat: read one byte more than allowed to notice.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err(path))?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Opens `path` when it is a regular file and not a link (checked before the open, since opening
/// some devices has effects, and by the open itself: `O_NOFOLLOW`, or a reparse point opened as
/// itself on Windows and checked on the handle).
pub(crate) fn open_no_final_link(path: &Path) -> Result<Option<File>, FileError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => require_regular(path, &meta)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        opts.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
    }
    let file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // Replaced by a link since the check.
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(FileError::NotRegular {
                path: path.to_path_buf(),
                kind: "symbolic link",
            });
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let meta = file.metadata().map_err(io_err(path))?;
    if meta.file_type().is_symlink() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            kind: "symbolic link",
        });
    }
    Ok(Some(file))
}

/// Opens a reparse point (a symlink, a junction) as itself instead of following it.
#[cfg(windows)]
const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;

/// Opens a user file, following links, only when it is a regular file.
fn open_user(path: &Path) -> Result<Option<File>, FileError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    // Checked before opening: opening some devices has effects (a watchdog, a tape rewind).
    require_regular(path, &meta)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    match opts.open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// The components of `rel`, which must all be plain names.
fn plain_names<'p>(rel: &'p Path, path: &Path) -> Result<Vec<&'p std::ffi::OsStr>, FileError> {
    rel.components()
        .map(|c| match c {
            Component::Normal(n) => Ok(n),
            _ => Err(FileError::Io {
                path: path.to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the path beneath the workspace must be plain names",
                ),
            }),
        })
        .collect()
}

#[cfg(unix)]
fn open_beneath(root: &Path, rel: &Path, path: &Path) -> Result<Option<File>, FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let names = plain_names(rel, path)?;
    let Some((last, dirs)) = names.split_last() else {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            kind: "directory",
        });
    };
    let mut dir = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(root)
    {
        Ok(d) => d,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut walked = root.to_path_buf();
    for name in dirs {
        walked.push(name);
        match sys::stat_at(&dir, name) {
            Ok(st) if st.is_symlink() => {
                return Err(FileError::Link {
                    path: path.to_path_buf(),
                    link: walked,
                });
            }
            // Not a directory (a file named `.paddock`): there is no file beneath it.
            Ok(st) if !st.is_dir() => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(path)(e)),
        }
        dir = match sys::open_at(&dir, name, libc::O_DIRECTORY) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            // Replaced by a link or a file since the check: refuse rather than guess.
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(FileError::Link {
                    path: path.to_path_buf(),
                    link: walked,
                });
            }
            Err(e) => return Err(io_err(path)(e)),
        };
    }
    match sys::stat_at(&dir, last) {
        Ok(st) if st.is_symlink() => {
            return Err(FileError::Link {
                path: path.to_path_buf(),
                link: path.to_path_buf(),
            });
        }
        Ok(st) if !st.is_file() => {
            return Err(FileError::NotRegular {
                path: path.to_path_buf(),
                kind: st.name(),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    }
    match sys::open_at(&dir, last, libc::O_NONBLOCK | libc::O_NOCTTY) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(FileError::Link {
            path: path.to_path_buf(),
            link: path.to_path_buf(),
        }),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// On Windows each component is checked with `symlink_metadata` (links and junctions refused),
/// then the file is opened without following a reparse point, and the handle checked again. A
/// directory swapped for a junction between the check and the open is not caught here.
#[cfg(windows)]
fn open_beneath(root: &Path, rel: &Path, path: &Path) -> Result<Option<File>, FileError> {
    use std::os::windows::fs::OpenOptionsExt;
    let names = plain_names(rel, path)?;
    let mut walked = root.to_path_buf();
    for (i, name) in names.iter().enumerate() {
        walked.push(name);
        match std::fs::symlink_metadata(&walked) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(FileError::Link {
                    path: path.to_path_buf(),
                    link: walked,
                });
            }
            Ok(m) if i + 1 < names.len() && !m.is_dir() => return Ok(None),
            Ok(m) if i + 1 == names.len() => require_regular(path, &m)?,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(path)(e)),
        }
    }
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    if file
        .metadata()
        .map_err(io_err(path))?
        .file_type()
        .is_symlink()
    {
        return Err(FileError::Link {
            path: path.to_path_buf(),
            link: path.to_path_buf(),
        });
    }
    Ok(Some(file))
}

/// `openat` and `fstatat` relative to a directory handle, never following a final link.
#[cfg(unix)]
pub(crate) mod sys {
    use std::ffi::{CString, OsStr};
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::ffi::OsStrExt;

    fn c_name(name: &OsStr) -> io::Result<CString> {
        CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
    }

    /// `openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | extra)`.
    pub fn open_at(dir: &File, name: &OsStr, extra: libc::c_int) -> io::Result<File> {
        let c = c_name(name)?;
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC | extra;
        // SAFETY: `dir` is an open descriptor for the call's duration, `c` a NUL-terminated
        // string that outlives it; openat has no other memory effects.
        let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by openat, is valid and owned by nobody else.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// `mkdirat(dir, name, mode)`: creates one directory in `dir`, never through a link.
    pub fn mkdir_at(dir: &File, name: &OsStr, mode: libc::mode_t) -> io::Result<()> {
        let c = c_name(name)?;
        // SAFETY: `dir` is open for the call's duration and `c` is NUL-terminated; mkdirat only
        // reads them.
        let ret = unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) };
        if ret != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// File type of `name` in `dir`, not following a link (`fstatat(AT_SYMLINK_NOFOLLOW)`).
    pub fn stat_at(dir: &File, name: &OsStr) -> io::Result<FileKind> {
        let c = c_name(name)?;
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `st` is writable memory of the right size for the kernel to fill, `c` is
        // NUL-terminated and `dir` is open for the call's duration.
        let ret = unsafe {
            libc::fstatat(
                dir.as_raw_fd(),
                c.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if ret != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fstatat returned 0, so it filled `st` completely.
        let st = unsafe { st.assume_init() };
        Ok(FileKind(st.st_mode & libc::S_IFMT))
    }

    /// The `S_IFMT` bits of a mode.
    #[derive(Debug, Clone, Copy)]
    pub struct FileKind(libc::mode_t);

    impl FileKind {
        pub fn is_symlink(self) -> bool {
            self.0 == libc::S_IFLNK
        }
        pub fn is_dir(self) -> bool {
            self.0 == libc::S_IFDIR
        }
        pub fn is_file(self) -> bool {
            self.0 == libc::S_IFREG
        }
        /// What it is, for messages.
        pub fn name(self) -> &'static str {
            match self.0 {
                libc::S_IFDIR => "directory",
                libc::S_IFIFO => "FIFO (named pipe)",
                libc::S_IFSOCK => "socket",
                libc::S_IFCHR => "character device",
                libc::S_IFBLK => "block device",
                libc::S_IFLNK => "symbolic link",
                _ => "special file",
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::time::{Duration, Instant};

    fn beneath(root: &Path, rel: &str) -> Result<Option<String>, FileError> {
        read_config_file(&root.join(rel), Location::Beneath(root))
    }

    fn no_final_link(path: &Path, max: u64) -> Result<Option<Vec<u8>>, FileError> {
        read_regular_file(path, Location::NoFinalLink, max)
    }

    #[test]
    fn any_bytes_are_read_within_the_bound_and_a_missing_file_is_none() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("config");
        std::fs::write(&f, b"\xff\xfe[core]").unwrap();
        assert_eq!(
            no_final_link(&f, 8).unwrap().as_deref(),
            Some(&b"\xff\xfe[core]"[..])
        );
        assert!(matches!(
            no_final_link(&f, 7),
            Err(FileError::TooLarge { limit: 7, .. })
        ));
        assert!(
            no_final_link(&d.path().join("missing"), 8)
                .unwrap()
                .is_none()
        );
        // The same bytes as config text are refused: config must be UTF-8.
        assert!(matches!(
            read_config_file(&f, Location::NoFinalLink),
            Err(FileError::NotUtf8 { .. })
        ));
    }

    #[test]
    fn a_final_link_a_fifo_and_a_directory_are_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let secret = d.path().join("secret");
        std::fs::write(&secret, b"key").unwrap();
        symlink(&secret, d.path().join("link")).unwrap();
        assert!(matches!(
            no_final_link(&d.path().join("link"), 1 << 20),
            Err(FileError::NotRegular {
                kind: "symbolic link",
                ..
            })
        ));
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let started = Instant::now();
        assert!(matches!(
            no_final_link(&fifo, 1 << 20),
            Err(FileError::NotRegular { .. })
        ));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(
            no_final_link(d.path(), 1 << 20),
            Err(FileError::NotRegular {
                kind: "directory",
                ..
            })
        ));
    }

    #[test]
    fn reads_a_regular_file_and_reports_a_missing_one_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path();
        std::fs::write(ws.join("paddock.toml"), "mode = \"read-only\"\n").unwrap();
        std::fs::create_dir(ws.join(".paddock")).unwrap();
        std::fs::write(ws.join(".paddock/rules.toml"), "# rules\n").unwrap();
        assert_eq!(
            beneath(ws, "paddock.toml").unwrap().as_deref(),
            Some("mode = \"read-only\"\n")
        );
        assert_eq!(
            beneath(ws, ".paddock/rules.toml").unwrap().as_deref(),
            Some("# rules\n")
        );
        assert!(beneath(ws, "nope.toml").unwrap().is_none());
        assert!(beneath(ws, "nodir/rules.toml").unwrap().is_none());
        assert!(
            read_config_file(&ws.join("nope.toml"), Location::User)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_directory_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("paddock.toml")).unwrap();
        for loc in [Location::Beneath(dir.path()), Location::User] {
            let err = read_config_file(&dir.path().join("paddock.toml"), loc).unwrap_err();
            assert!(
                matches!(
                    err,
                    FileError::NotRegular {
                        kind: "directory",
                        ..
                    }
                ),
                "{err}"
            );
            assert!(
                err.to_string().contains("paddock.toml is a directory"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_fifo_is_refused_at_once_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".paddock")).unwrap();
        let fifo = dir.path().join(".paddock/rules.toml");
        let ok = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(ok.success());
        let start = Instant::now();
        for loc in [Location::Beneath(dir.path()), Location::User] {
            let err = read_config_file(&fifo, loc).unwrap_err();
            assert!(matches!(err, FileError::NotRegular { .. }), "{err}");
            assert!(err.to_string().contains("FIFO"), "{err}");
        }
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn links_beneath_the_workspace_are_refused_wherever_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.toml"), "mode = \"read-only\"\n").unwrap();
        std::fs::write(outside.join("rules.toml"), "# outside\n").unwrap();
        symlink("/dev/zero", ws.join("paddock.toml")).unwrap();
        let start = Instant::now();
        let err = beneath(&ws, "paddock.toml").unwrap_err();
        assert!(matches!(err, FileError::Link { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_secs(2));
        std::fs::remove_file(ws.join("paddock.toml")).unwrap();
        symlink(outside.join("secret.toml"), ws.join("paddock.toml")).unwrap();
        assert!(matches!(
            beneath(&ws, "paddock.toml"),
            Err(FileError::Link { .. })
        ));
        // A link on the way (the `.paddock` directory) is refused too, naming it.
        symlink(&outside, ws.join(".paddock")).unwrap();
        let err = beneath(&ws, ".paddock/rules.toml").unwrap_err();
        match &err {
            FileError::Link { link, .. } => assert_eq!(link, &ws.join(".paddock")),
            other => panic!("{other}"),
        }
        // A dangling link is refused, not taken for a missing file.
        std::fs::remove_file(ws.join("paddock.toml")).unwrap();
        symlink("/no/such/file", ws.join("paddock.toml")).unwrap();
        assert!(matches!(
            beneath(&ws, "paddock.toml"),
            Err(FileError::Link { .. })
        ));
    }

    #[test]
    fn the_workspace_itself_may_be_reached_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("paddock.toml"), "x = 1\n").unwrap();
        let link = dir.path().join("link");
        symlink(&real, &link).unwrap();
        assert_eq!(
            beneath(&link, "paddock.toml").unwrap().as_deref(),
            Some("x = 1\n")
        );
    }

    #[test]
    fn user_files_follow_links_to_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dotfiles-config.toml");
        std::fs::write(&target, "timeout = 5\n").unwrap();
        let link = dir.path().join("config.toml");
        symlink(&target, &link).unwrap();
        assert_eq!(
            read_config_file(&link, Location::User).unwrap().as_deref(),
            Some("timeout = 5\n")
        );
        let zero = dir.path().join("zero.toml");
        symlink("/dev/zero", &zero).unwrap();
        let err = read_config_file(&zero, Location::User).unwrap_err();
        assert!(
            matches!(
                err,
                FileError::NotRegular {
                    kind: "character device",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn files_over_the_size_cap_and_non_utf8_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("paddock.toml");
        let f = File::create(&big).unwrap();
        f.set_len(MAX_CONFIG_BYTES + 1).unwrap();
        for loc in [Location::Beneath(dir.path()), Location::User] {
            assert!(matches!(
                read_config_file(&big, loc),
                Err(FileError::TooLarge { .. })
            ));
        }
        f.set_len(MAX_CONFIG_BYTES).unwrap();
        assert!(read_config_file(&big, Location::User).is_ok());
        std::fs::write(&big, [0xff, 0xfe, b'\n']).unwrap();
        assert!(matches!(
            read_config_file(&big, Location::User),
            Err(FileError::NotUtf8 { .. })
        ));
    }
}

#[cfg(all(test, windows))]
mod windows_tests {
    use super::*;

    #[test]
    fn reads_regular_files_and_refuses_directories_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path();
        std::fs::write(ws.join("paddock.toml"), "x = 1\n").unwrap();
        let read = |rel: &str| read_config_file(&ws.join(rel), Location::Beneath(ws));
        assert_eq!(read("paddock.toml").unwrap().as_deref(), Some("x = 1\n"));
        assert!(read("missing.toml").unwrap().is_none());
        std::fs::create_dir_all(ws.join(".paddock").join("rules.toml")).unwrap();
        assert!(matches!(
            read(".paddock\\rules.toml"),
            Err(FileError::NotRegular {
                kind: "directory",
                ..
            })
        ));
        let big = File::create(ws.join("big.toml")).unwrap();
        big.set_len(MAX_CONFIG_BYTES + 1).unwrap();
        assert!(matches!(read("big.toml"), Err(FileError::TooLarge { .. })));
    }
}
