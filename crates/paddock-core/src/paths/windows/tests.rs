//! Table-driven tests of the Windows path logic: every spelling of a path must get the same
//! answer to "is it beneath this root", and undecidable spellings must stay undecided.

use super::*;
use std::collections::BTreeMap;
use std::io;

/// (input, normalised display, kind)
const PARSE: &[(&str, &str, PrefixKind)] = &[
    (r"C:\ws\src", r"C:\ws\src", PrefixKind::Drive),
    (r"c:\ws\src", r"C:\ws\src", PrefixKind::Drive),
    ("C:/ws/src", r"C:\ws\src", PrefixKind::Drive),
    (r"C:\\ws\\\src\", r"C:\ws\src", PrefixKind::Drive),
    (r"C:\ws\.\src\.", r"C:\ws\src", PrefixKind::Drive),
    (r"C:\ws\a\..\src", r"C:\ws\src", PrefixKind::Drive),
    (r"C:\..\..\ws", r"C:\ws", PrefixKind::Drive),
    (r"C:\ws\..\..\..", r"C:\", PrefixKind::Drive),
    (r"C:\ws\file.txt.", r"C:\ws\file.txt", PrefixKind::Drive),
    (r"C:\ws\file.txt . .", r"C:\ws\file.txt", PrefixKind::Drive),
    (r"C:\ws.\src", r"C:\ws\src", PrefixKind::Drive),
    (r"C:\ws..\src", r"C:\ws.\src", PrefixKind::Drive),
    (r"C:\ws \src", r"C:\ws \src", PrefixKind::Drive),
    (r"C:\ws\...\x", r"C:\ws\...\x", PrefixKind::Drive),
    (r"C:\ws\hooks:evil", r"C:\ws\hooks:evil", PrefixKind::Drive),
    (r"C:\ws\f::$DATA", r"C:\ws\f::$DATA", PrefixKind::Drive),
    (r"C:ws\src", r"C:ws\src", PrefixKind::DriveRelative),
    (r"C:..\x", r"C:..\x", PrefixKind::DriveRelative),
    (r"\ws\src", r"\ws\src", PrefixKind::Rooted),
    (r"\..\ws", r"\ws", PrefixKind::Rooted),
    (r"ws\src", r"ws\src", PrefixKind::Relative),
    (r"..\..\ws", r"..\..\ws", PrefixKind::Relative),
    (r"a\..\..\ws", r"..\ws", PrefixKind::Relative),
    (
        r"\\server\share\dir",
        r"\\server\share\dir",
        PrefixKind::Unc,
    ),
    ("//server/share/dir", r"\\server\share\dir", PrefixKind::Unc),
    (
        r"\\server\share\..\..\dir",
        r"\\server\share\dir",
        PrefixKind::Unc,
    ),
    (
        r"\\?\C:\ws\src",
        r"\\?\C:\ws\src",
        PrefixKind::VerbatimDrive,
    ),
    (
        r"\\?\c:\ws\src.",
        r"\\?\C:\ws\src.",
        PrefixKind::VerbatimDrive,
    ),
    (
        r"\\?\C:\ws\src \",
        r"\\?\C:\ws\src ",
        PrefixKind::VerbatimDrive,
    ),
    (
        r"\\?\C:\ws\NUL",
        r"\\?\C:\ws\NUL",
        PrefixKind::VerbatimDrive,
    ),
    (
        r"\\?\UNC\server\share\d",
        r"\\?\UNC\server\share\d",
        PrefixKind::VerbatimUnc,
    ),
    (
        r"\\?\Volume{1234}\ws",
        r"\\?\Volume{1234}\ws",
        PrefixKind::Verbatim,
    ),
    (
        r"\\?\GLOBALROOT\Device\HarddiskVolume3\ws",
        r"\\?\GLOBALROOT\Device\HarddiskVolume3\ws",
        PrefixKind::Verbatim,
    ),
    (r"\\.\C:\ws\..\src", r"C:\src", PrefixKind::Device),
    (
        r"\\.\UNC\server\share\d",
        r"\\server\share\d",
        PrefixKind::Device,
    ),
    ("//?/C:/ws/../src", r"C:\src", PrefixKind::Device),
    (r"\\.\pipe\foo", r"\\.\PIPE", PrefixKind::Device),
    (r"\\.\C:", r"\\?\C:", PrefixKind::Device),
    (r"\??\C:\ws\src", r"\\?\C:\ws\src", PrefixKind::Nt),
    (r"C:\ws\NUL", r"\\.\NUL", PrefixKind::Drive),
    (r"C:\ws\nul.", r"\\.\NUL", PrefixKind::Drive),
    (r"C:\ws\Con:", r"\\.\CON", PrefixKind::Drive),
    (r"C:\ws\COM1 ", r"\\.\COM1", PrefixKind::Drive),
    (r"C:\ws\LPT¹", r"\\.\LPT¹", PrefixKind::Drive),
    ("CONOUT$", r"\\.\CONOUT$", PrefixKind::Relative),
    (r"C:\ws\NUL.txt", r"C:\ws\NUL.txt", PrefixKind::Drive),
    (r"C:\ws\CON\x", r"C:\ws\CON\x", PrefixKind::Drive),
    (r"C:\ws\COM10", r"C:\ws\COM10", PrefixKind::Drive),
];

#[test]
fn parse_normalises_every_spelling_as_win32_does() {
    for (input, display, kind) in PARSE {
        let p = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(p.to_string(), *display, "display of {input}");
        assert_eq!(p.kind, *kind, "kind of {input}");
    }
}

#[test]
fn parse_splits_streams_off_the_name() {
    let p = parse(r"C:\ws\.git\hooks:evil").unwrap();
    assert_eq!(p.components, ["ws", ".git", "hooks"].map(String::from));
    assert_eq!(p.stream.as_deref(), Some("evil"));
    let p = parse(r"C:\ws\f::$DATA").unwrap();
    assert_eq!(p.components.last().map(String::as_str), Some("f"));
    assert_eq!(p.stream.as_deref(), Some(":$DATA"));
    let p = parse(r"\\?\C:\ws\f:s").unwrap();
    assert_eq!(p.stream.as_deref(), Some("s"));
}

#[test]
fn parse_marks_device_names_with_extension_as_maybe_devices() {
    assert!(parse(r"C:\ws\NUL.txt").unwrap().maybe_device);
    assert!(parse(r"C:\ws\com1.tar.gz").unwrap().maybe_device);
    assert!(parse(r"\\server\share\NUL").unwrap().maybe_device);
    assert!(parse(r"C:\ws\NUL\").unwrap().maybe_device);
    assert!(!parse(r"C:\ws\NULL.txt").unwrap().maybe_device);
    assert!(!parse(r"\\?\C:\ws\NUL.txt").unwrap().maybe_device);
}

#[test]
fn parse_refuses_what_it_cannot_place() {
    for input in [
        "",
        r"\\server",
        r"\\",
        r"\\.\C:\..\D:\x",
        r"\\.\UNC\server",
        r"\\?\C:\ws\..\x",
        r"\??\C:\.\x",
    ] {
        assert!(parse(input).is_err(), "{input} should be refused");
    }
}

use Relation::{Beneath, NotBeneath, Unknown};

/// (path, root, relation)
const RELATION: &[(&str, &str, Relation)] = &[
    (r"C:\ws", r"C:\ws", Beneath),
    (r"C:\ws\src\main.rs", r"C:\ws", Beneath),
    (r"c:\WS\Src", r"C:\ws", Beneath),
    ("C:/ws/src", r"C:\ws", Beneath),
    (r"C:\ws\..\ws\src", r"C:\ws", Beneath),
    (r"C:\ws.\src", r"C:\ws", Beneath),
    (r"C:\ws. . \", r"C:\ws", NotBeneath),
    (r"C:\ws. .", r"C:\ws", Beneath),
    (r"\\?\C:\ws\src", r"C:\ws", Beneath),
    (r"\\.\C:\ws\src", r"C:\ws", Beneath),
    (r"\??\C:\ws\src", r"C:\ws", Beneath),
    (r"C:\ws\src", r"\\?\C:\ws", Beneath),
    (r"C:\wsx", r"C:\ws", NotBeneath),
    (r"C:\w", r"C:\ws", NotBeneath),
    (r"C:\ws\..\other", r"C:\ws", NotBeneath),
    (r"C:\ws\..\..\..\Windows", r"C:\ws", NotBeneath),
    (r"D:\ws", r"C:\ws", NotBeneath),
    (r"\\?\C:\ws.\src", r"C:\ws", NotBeneath),
    (r"\\?\C:\ws \src", r"C:\ws", NotBeneath),
    (r"C:\ws \src", r"C:\ws", NotBeneath),
    (r"C:\ws\.git\hooks\pre-commit", r"C:\ws\.git\hooks", Beneath),
    (r"C:\ws\.git\hooks:evil", r"C:\ws\.git\hooks", Beneath),
    (
        r"C:\ws\.git\hooks::$INDEX_ALLOCATION",
        r"C:\ws\.git\hooks",
        Beneath,
    ),
    (r"C:\ws\.git\config::$DATA", r"C:\ws\.git\config", Beneath),
    (r"C:\ws\.GIT\HOOKS\x", r"C:\ws\.git\hooks", Beneath),
    (
        r"C:\ws\.git\hooks::$INDEX_ALLOCATION\evil",
        r"C:\ws\.git\hooks",
        Beneath,
    ),
    (r"C:\ws\.git:x\hooks\evil", r"C:\ws\.git\hooks", Beneath),
    (r"C:\ws\.git\hooks:evil.", r"C:\ws\.git\hooks", Beneath),
    (r"\\?\C:\ws\.git\hooks.", r"C:\ws\.git\hooks", NotBeneath),
    (r"\\?\C:\ws\.git\hooks:evil", r"C:\ws\.git\hooks", Beneath),
    (r"\\.\C:\ws\.git\hooks.\x", r"C:\ws\.git\hooks", Beneath),
    (r"/ws/.git/hooks", r"C:\ws\.git\hooks", Unknown),
    (r"C:\ws\.git.\hooks.", r"C:\ws\.git\hooks", Beneath),
    (r"C:\ws\.git\hooks . \x", r"C:\ws\.git\hooks", NotBeneath),
    (r"C:\ws\.git\hooks.\x", r"C:\ws\.git\hooks", Beneath),
    (r"C:\ws\.git\hooksx", r"C:\ws\.git\hooks", NotBeneath),
    (r"C:\ws\.git\hook", r"C:\ws\.git\hooks", NotBeneath),
    (r"C:\ws\.git", r"C:\ws\.git\hooks", NotBeneath),
    (r"C:\ws\GIT~1\hooks", r"C:\ws\.git\hooks", Unknown),
    (r"C:\ws\.git\HOOKS~1\x", r"C:\ws\.git\hooks", Unknown),
    (r"C:\ws\src\GIT~1", r"C:\ws", Beneath),
    (r"C:\ws\.git\hooks\NUL", r"C:\ws\.git\hooks", NotBeneath),
    (r"C:\ws\NUL", r"C:\ws", NotBeneath),
    (r"C:\ws\NUL.txt", r"C:\ws", Unknown),
    (r"C:\ws\.git\hooks\aux.sh", r"C:\ws\.git\hooks", Unknown),
    (r"\\.\pipe\ws", r"C:\ws", NotBeneath),
    (r"\\?\Volume{1234}\ws", r"C:\ws", Unknown),
    (
        r"\\?\GLOBALROOT\Device\HarddiskVolume3\ws",
        r"C:\ws",
        Unknown,
    ),
    (r"\\.\C:", r"C:\ws", Unknown),
    (r"\\.\PhysicalDrive0", r"C:\ws", Unknown),
    (r"\\localhost\C$\ws\src", r"C:\ws", Unknown),
    (r"\\?\UNC\127.0.0.1\c$\ws", r"C:\ws", Unknown),
    (r"Z:\ws", r"\\server\share\ws", Unknown),
    (r"\\server\share\ws\x", r"\\server\share\ws", Beneath),
    (r"\\SERVER\Share\WS\x", r"\\server\share\ws", Beneath),
    (r"\\?\UNC\server\share\ws\x", r"\\server\share\ws", Beneath),
    (r"\\.\UNC\server\share\ws\x", r"\\server\share\ws", Beneath),
    (
        r"\\server\share\..\other\ws",
        r"\\server\share\ws",
        NotBeneath,
    ),
    (r"\\server\share\other", r"\\server\share\ws", NotBeneath),
    (r"\\other\share\ws", r"\\server\share\ws", Unknown),
    (r"ws\src", r"C:\ws", Unknown),
    (r"\ws\src", r"C:\ws", Unknown),
    (r"C:ws", r"C:\ws", Unknown),
    (r"C:\ÄRGER\x", r"C:\ärger", Beneath),
    (r"C:\ΣΟΦΊΑ\x", r"C:\σοφία", Beneath),
    (r"C:\ws\STRAẞE", r"C:\ws\straße", NotBeneath),
    (r"C:\wſ\x", r"C:\ws", Unknown),
    (r"C:\ws\x", r"C:\wſ", Unknown),
    (r"C:\K\x", "C:\\\u{212A}", NotBeneath),
    (r"C:\ws\STRASSE", r"C:\ws\straße", NotBeneath),
];

#[test]
fn relation_gives_one_answer_for_every_spelling() {
    for (p, root, want) in RELATION {
        let got = relation(&parse(p).unwrap(), &parse(root).unwrap());
        assert_eq!(got, *want, "relation of {p} to {root}");
        assert_eq!(
            is_beneath(p, root),
            *want == Beneath,
            "is_beneath({p}, {root})"
        );
        assert_eq!(
            may_be_beneath(p, root),
            *want != NotBeneath,
            "may_be_beneath({p}, {root})"
        );
    }
}

#[test]
fn unparsable_paths_are_never_granted_and_always_protected() {
    assert!(!is_beneath(
        r"\\.\C:\..\C:\ws\.git\hooks",
        r"C:\ws\.git\hooks"
    ));
    assert!(may_be_beneath(
        r"\\.\C:\..\C:\ws\.git\hooks",
        r"C:\ws\.git\hooks"
    ));
    assert!(may_be_beneath(
        r"\\?\C:\ws\..\ws\.git\hooks",
        r"C:\ws\.git\hooks"
    ));
}

#[test]
fn eq_ignore_case_folds_what_ntfs_certainly_folds() {
    assert!(eq_ignore_case("Hooks", "HOOKS"));
    assert!(eq_ignore_case("ärger", "ÄRGER"));
    assert!(!eq_ignore_case("ſ", "S"));
    assert!(!eq_ignore_case("straße", "STRASSE"));
    assert!(!eq_ignore_case("\u{10428}", "\u{10400}"));
}

/// Per-drive current directories, as `=D:` entries of an environment block hold them.
type DriveCwds = &'static [(char, &'static str)];

/// (path, cwd, drive cwds, resolved)
const RESOLVE: &[(&str, &str, DriveCwds, &str)] = &[
    (r"src\main.rs", r"C:\ws", &[], r"C:\ws\src\main.rs"),
    (r"..\other", r"C:\ws", &[], r"C:\other"),
    (r"..\..\..\x", r"C:\ws", &[], r"C:\x"),
    (r"\Windows", r"C:\ws", &[], r"C:\Windows"),
    (r"\x", r"\\server\share\ws", &[], r"\\server\share\x"),
    (r"..\..\x", r"\\server\share\ws", &[], r"\\server\share\x"),
    (r"C:src", r"C:\ws", &[], r"C:\ws\src"),
    (r"D:src", r"C:\ws", &[('D', r"D:\data")], r"D:\data\src"),
    (r"d:src", r"C:\ws", &[], r"D:\src"),
    (r"D:..\..", r"C:\ws", &[('d', r"D:\data\x")], r"D:\"),
    (r"D:src", r"C:\ws", &[('D', r"E:\wrong")], r"D:\src"),
    (r"E:\abs", r"C:\ws", &[], r"E:\abs"),
    (r"NUL", r"C:\ws", &[], r"\\.\NUL"),
    (r".git\hooks:evil", r"C:\ws", &[], r"C:\ws\.git\hooks:evil"),
    (r"src\", r"\\?\C:\ws", &[], r"\\?\C:\ws\src"),
];

#[test]
fn resolve_applies_current_and_drive_directories() {
    for (p, cwd, drives, want) in RESOLVE {
        let mut dirs = CurrentDirs::new(cwd);
        for (letter, dir) in *drives {
            dirs = dirs.with_drive(*letter, dir);
        }
        let got = resolve(p, &dirs).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(got.to_string(), *want, "resolve {p} in {cwd}");
    }
}

#[test]
fn resolve_refuses_a_relative_current_directory() {
    let err = resolve("x", &CurrentDirs::new(r"ws")).unwrap_err();
    assert!(matches!(err, WinPathError::CwdNotAbsolute { .. }), "{err}");
    assert!(resolve("x", &CurrentDirs::new(r"\\?\Volume{1}\ws")).is_err());
}

const SHORT_NAMES: &[(&str, bool)] = &[
    ("GIT~1", true),
    ("git~1", true),
    ("PROGRA~1", true),
    ("PROGR~12", true),
    ("HOOKS~1.SAM", true),
    ("AB12~1.C", true),
    ("~1", false),
    ("GIT~", false),
    ("GIT~X", false),
    ("TOOLONGNA~1", false),
    ("GIT~1.TOOL", false),
    ("GIT~1.", false),
    (".git", false),
    ("hooks", false),
];

#[test]
fn looks_like_short_name_matches_only_8_3_aliases() {
    for (name, want) in SHORT_NAMES {
        assert_eq!(looks_like_short_name(name), *want, "{name}");
    }
}

/// A directory tree with short names, standing in for `GetLongPathNameW`.
struct FakeVolume {
    /// (parent, short name) upper-cased -> long name
    entries: BTreeMap<(String, String), String>,
    fail: bool,
}

impl FakeVolume {
    fn new(entries: &[(&str, &str, &str)]) -> Self {
        FakeVolume {
            entries: entries
                .iter()
                .map(|(dir, short, long)| {
                    ((dir.to_uppercase(), short.to_uppercase()), long.to_string())
                })
                .collect(),
            fail: false,
        }
    }
}

impl ShortNameExpander for FakeVolume {
    fn long_name(&self, parent: &WinPath, component: &str) -> io::Result<Option<String>> {
        if self.fail {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "access denied",
            ));
        }
        let key = (parent.to_string().to_uppercase(), component.to_uppercase());
        Ok(self.entries.get(&key).cloned())
    }
}

fn tree() -> FakeVolume {
    FakeVolume::new(&[
        (r"C:\ws", "GIT~1", ".git"),
        (r"C:\ws\.git", "HOOKS~1", "hooks"),
        (r"C:\", "PROGRA~1", "Program Files"),
    ])
}

#[test]
fn short_names_expand_before_comparison() {
    let x = tree();
    for (input, want) in [
        (
            r"C:\ws\GIT~1\hooks\pre-commit",
            r"C:\ws\.git\hooks\pre-commit",
        ),
        (r"c:\WS\git~1\HOOKS~1", r"C:\WS\.git\hooks"),
        (r"C:\PROGRA~1\x", r"C:\Program Files\x"),
        (r"C:\ws\NEW~1\GIT~1", r"C:\ws\NEW~1\GIT~1"),
        (r"C:\ws\src", r"C:\ws\src"),
    ] {
        let got = expand_short_names(&parse(input).unwrap(), &x).unwrap();
        assert_eq!(got.to_string(), want, "{input}");
    }
    let hooks = parse(r"C:\ws\.git\hooks").unwrap();
    let p = expand_short_names(&parse(r"C:\ws\GIT~1\hooks:evil").unwrap(), &x).unwrap();
    assert_eq!(relation(&p, &hooks), Relation::Beneath, "{p:?}");
}

#[test]
fn short_name_lookup_failure_is_an_error_not_a_guess() {
    let mut x = tree();
    x.fail = true;
    let err = expand_short_names(&parse(r"C:\ws\GIT~1\hooks").unwrap(), &x).unwrap_err();
    assert!(matches!(err, WinPathError::ShortName { .. }), "{err}");
    let unchanged = expand_short_names(&parse(r"C:\ws\src").unwrap(), &x).unwrap();
    assert_eq!(unchanged.to_string(), r"C:\ws\src");
}
