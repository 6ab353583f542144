//! Parses a Windows path string into its anchor (drive, share, device, …) and normalised
//! components, the way Win32 does before a path reaches NTFS: `/` becomes `\`, separators
//! collapse, `.` and `..` go (never above the root), trailing dots and spaces are trimmed, streams
//! are split off and DOS device names become devices. Verbatim (`\\?\`, `\??\`) paths skip all of
//! it but the stream split, as Win32 does.

use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;

/// How the path was spelled; decides which normalisation Win32 applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixKind {
    /// `foo\bar`: relative to the current directory.
    Relative,
    /// `\foo`: relative to the root of the current drive.
    Rooted,
    /// `C:foo`: relative to drive C's current directory.
    DriveRelative,
    /// `C:\foo`.
    Drive,
    /// `\\server\share\foo`.
    Unc,
    /// `\\?\C:\foo`: verbatim, not normalised by Win32.
    VerbatimDrive,
    /// `\\?\UNC\server\share\foo`: verbatim.
    VerbatimUnc,
    /// Any other `\\?\` path (`\\?\Volume{…}\`, `\\?\GLOBALROOT\…`): verbatim.
    Verbatim,
    /// `\\.\…` (or `//?/…`): the device namespace, normalised like an ordinary path.
    Device,
    /// `\??\…`: the NT object manager's DOS-devices directory, passed through verbatim.
    Nt,
}

impl PrefixKind {
    /// True for spellings Win32 passes to NT untouched.
    pub fn is_verbatim(self) -> bool {
        matches!(
            self,
            PrefixKind::VerbatimDrive
                | PrefixKind::VerbatimUnc
                | PrefixKind::Verbatim
                | PrefixKind::Nt
        )
    }
}

/// What an absolute path's root designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Volume {
    /// A drive letter, upper-cased: `C:\`.
    Drive(char),
    /// A share `\\server\share`, as written.
    Unc { server: String, share: String },
    /// A device that holds no files: `NUL`, `CON`, `COM1`, `\\.\pipe\…`, `\\.\mailslot\…`.
    Device(String),
    /// A namespace a string cannot map to a drive or share (`\\?\Volume{…}`, `\\?\GLOBALROOT`,
    /// a raw volume `\\.\C:`, `\\.\PhysicalDrive0`): it may alias any file.
    Opaque(String),
}

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// The current directory.
    CurrentDir,
    /// The root of the current directory's drive or share (`\foo`).
    CurrentRoot,
    /// The current directory of a drive (`C:foo`).
    DriveCurrentDir(char),
    /// An absolute root.
    Volume(Volume),
}

/// A parsed, normalised Windows path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinPath {
    pub kind: PrefixKind,
    pub anchor: Anchor,
    /// Normalised names below the anchor, streams removed. Relative paths keep leading `..`.
    pub components: Vec<String>,
    /// The alternate data stream of the last component, as written after its first `:`
    /// (`hooks:evil` gives `evil`, `f::$DATA` gives `:$DATA`).
    pub stream: Option<String>,
    /// The last component is a DOS device name with an extension (`NUL.txt`, `COM1.log`), which
    /// Windows versions disagree about: a device on some, a file on others.
    pub maybe_device: bool,
}

/// A path this module refuses to interpret, because guessing could place it wrongly.
#[derive(Debug, Error)]
pub enum WinPathError {
    #[error("`{0}` is an empty path; give a file or directory")]
    Empty(String),
    #[error("`{0}` is a UNC path without a server and share; write it as \\\\server\\share\\…")]
    IncompleteUnc(String),
    #[error(
        "`{0}` climbs with `..` above its device root, which Win32 may resolve into another \
         volume; write the target path directly"
    )]
    ParentAboveDeviceRoot(String),
    #[error(
        "`{0}` is verbatim (\\\\?\\ or \\??\\) and contains a `.` or `..` component, which NT \
         does not resolve; write the path without them"
    )]
    VerbatimDotComponent(String),
    #[error(
        "cannot resolve `{path}`: the current directory `{cwd}` is not an absolute drive or UNC \
         path; pass an absolute current directory"
    )]
    CwdNotAbsolute { path: String, cwd: String },
    #[error("cannot expand the 8.3 short name `{component}` in `{path}`: {source}")]
    ShortName {
        path: String,
        component: String,
        source: std::io::Error,
    },
}

impl WinPath {
    /// True when the path names a drive, share, device or opaque volume (not a current
    /// directory).
    pub fn is_absolute(&self) -> bool {
        matches!(self.anchor, Anchor::Volume(_))
    }

    /// The volume of an absolute path.
    pub fn volume(&self) -> Option<&Volume> {
        match &self.anchor {
            Anchor::Volume(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for WinPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verbatim = self.kind.is_verbatim();
        let (prefix, sep_after_prefix) = match &self.anchor {
            Anchor::CurrentDir => (String::new(), false),
            Anchor::CurrentRoot => ("\\".into(), false),
            Anchor::DriveCurrentDir(d) => (format!("{d}:"), false),
            Anchor::Volume(Volume::Drive(d)) if verbatim => (format!(r"\\?\{d}:\"), false),
            Anchor::Volume(Volume::Drive(d)) => (format!(r"{d}:\"), false),
            Anchor::Volume(Volume::Unc { server, share }) if verbatim => {
                (format!(r"\\?\UNC\{server}\{share}"), true)
            }
            Anchor::Volume(Volume::Unc { server, share }) => (format!(r"\\{server}\{share}"), true),
            Anchor::Volume(Volume::Device(name)) => (format!(r"\\.\{name}"), true),
            Anchor::Volume(Volume::Opaque(name)) => (format!(r"\\?\{name}"), true),
        };
        f.write_str(&prefix)?;
        if sep_after_prefix && !self.components.is_empty() {
            f.write_str("\\")?;
        }
        f.write_str(&self.components.join("\\"))?;
        if let Some(stream) = &self.stream {
            write!(f, ":{stream}")?;
        }
        Ok(())
    }
}

/// DOS device names, reserved in every directory (compared case-insensitively; `COM¹` and
/// friends are the superscript digits Windows also reserves).
const DOS_DEVICES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2", "LPT3",
    "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// Device-namespace entries that hold no files.
const FILELESS_DEVICES: &[&str] = &["PIPE", "MAILSLOT"];

fn is_dos_device(name: &str) -> bool {
    let upper = name.to_uppercase();
    DOS_DEVICES.contains(&upper.as_str())
}

/// Parses and normalises `s` as Win32 would before opening it.
pub fn parse(s: &str) -> Result<WinPath, WinPathError> {
    if s.is_empty() {
        return Err(WinPathError::Empty(s.into()));
    }
    if let Some(rest) = s.strip_prefix(r"\\?\") {
        return parse_verbatim(s, rest, false);
    }
    if let Some(rest) = s.strip_prefix(r"\??\") {
        return parse_verbatim(s, rest, true);
    }
    let unified = s.replace('/', "\\");
    let t = unified.as_str();
    if let Some(rest) = t.strip_prefix(r"\\.\").or_else(|| t.strip_prefix(r"\\?\")) {
        return parse_device(s, rest);
    }
    if let Some(rest) = t.strip_prefix(r"\\") {
        let mut segs = rest.split('\\').filter(|c| !c.is_empty());
        let (Some(server), Some(share)) = (segs.next(), segs.next()) else {
            return Err(WinPathError::IncompleteUnc(s.into()));
        };
        let after = skip_segments(rest, 2);
        let volume = Volume::Unc {
            server: server.into(),
            share: share.into(),
        };
        return normalize(
            s,
            PrefixKind::Unc,
            Anchor::Volume(volume),
            after,
            Clamp::AtRoot,
        );
    }
    if let Some(letter) = drive_letter(t) {
        let rest = &t[2..];
        return match rest.strip_prefix('\\') {
            Some(after) => normalize(
                s,
                PrefixKind::Drive,
                Anchor::Volume(Volume::Drive(letter)),
                after,
                Clamp::AtRoot,
            ),
            None => normalize(
                s,
                PrefixKind::DriveRelative,
                Anchor::DriveCurrentDir(letter),
                rest,
                Clamp::KeepParents,
            ),
        };
    }
    if let Some(after) = t.strip_prefix('\\') {
        return normalize(
            s,
            PrefixKind::Rooted,
            Anchor::CurrentRoot,
            after,
            Clamp::AtRoot,
        );
    }
    normalize(
        s,
        PrefixKind::Relative,
        Anchor::CurrentDir,
        t,
        Clamp::KeepParents,
    )
}

/// The upper-cased drive letter of `C:…`.
fn drive_letter(t: &str) -> Option<char> {
    let mut chars = t.chars();
    match (chars.next(), chars.next()) {
        (Some(c), Some(':')) if c.is_ascii_alphabetic() => Some(c.to_ascii_uppercase()),
        _ => None,
    }
}

/// The text after the first `n` non-empty `\`-separated segments of `rest`.
fn skip_segments(rest: &str, n: usize) -> &str {
    let mut seen = 0;
    let mut in_segment = false;
    for (i, ch) in rest.char_indices() {
        if ch == '\\' {
            if in_segment {
                seen += 1;
                in_segment = false;
                if seen == n {
                    return &rest[i..];
                }
            }
        } else {
            in_segment = true;
        }
    }
    ""
}

/// The anchor of a `\\.\`, `\\?\` or `\??\` path from its first segment, and the text after it.
fn device_anchor(rest: &str) -> Option<(Volume, &str)> {
    let first = rest.split('\\').next().unwrap_or("");
    let after = &rest[first.len()..];
    if let Some(letter) = drive_letter(first).filter(|_| first.len() == 2) {
        if after.is_empty() {
            // `\\.\C:` opens the raw volume, below every file system check.
            return Some((Volume::Opaque(format!("{letter}:")), after));
        }
        return Some((Volume::Drive(letter), after));
    }
    if first.eq_ignore_ascii_case("UNC") {
        let mut segs = after.split('\\').filter(|c| !c.is_empty());
        let (Some(server), Some(share)) = (segs.next(), segs.next()) else {
            return None;
        };
        let volume = Volume::Unc {
            server: server.into(),
            share: share.into(),
        };
        return Some((volume, skip_segments(after, 2)));
    }
    let upper = first.to_uppercase();
    if FILELESS_DEVICES.contains(&upper.as_str()) || is_dos_device(first) {
        return Some((Volume::Device(upper), after));
    }
    Some((Volume::Opaque(first.into()), after))
}

fn parse_device(s: &str, rest: &str) -> Result<WinPath, WinPathError> {
    let (volume, after) =
        device_anchor(rest).ok_or_else(|| WinPathError::IncompleteUnc(s.into()))?;
    if let Volume::Device(_) = volume {
        return Ok(device_path(PrefixKind::Device, volume));
    }
    let mut p = normalize(
        s,
        PrefixKind::Device,
        Anchor::Volume(volume),
        after,
        Clamp::Refuse,
    )?;
    // Whether Win32 maps a DOS device name inside `\\.\C:\…` is not something to bet on.
    if p.components
        .last()
        .is_some_and(|c| device_base(c).is_some())
    {
        p.maybe_device = true;
    }
    Ok(p)
}

fn parse_verbatim(s: &str, rest: &str, nt: bool) -> Result<WinPath, WinPathError> {
    let (volume, after) =
        device_anchor(rest).ok_or_else(|| WinPathError::IncompleteUnc(s.into()))?;
    let kind = match (&volume, nt) {
        (_, true) => PrefixKind::Nt,
        (Volume::Drive(_), false) => PrefixKind::VerbatimDrive,
        (Volume::Unc { .. }, false) => PrefixKind::VerbatimUnc,
        _ => PrefixKind::Verbatim,
    };
    if let Volume::Device(_) = volume {
        return Ok(device_path(kind, volume));
    }
    let mut components = Vec::new();
    let mut stream = None;
    let raw: Vec<&str> = after.split('\\').filter(|c| !c.is_empty()).collect();
    for (i, comp) in raw.iter().enumerate() {
        if *comp == "." || *comp == ".." {
            return Err(WinPathError::VerbatimDotComponent(s.into()));
        }
        let (name, st) = split_stream(comp);
        if i + 1 == raw.len() {
            stream = st.map(String::from);
        }
        if !name.is_empty() {
            components.push(name.to_string());
        }
    }
    Ok(WinPath {
        kind,
        anchor: Anchor::Volume(volume),
        components,
        stream,
        maybe_device: false,
    })
}

fn device_path(kind: PrefixKind, volume: Volume) -> WinPath {
    WinPath {
        kind,
        anchor: Anchor::Volume(volume),
        components: Vec::new(),
        stream: None,
        maybe_device: false,
    }
}

/// What `..` does at the root.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clamp {
    /// Stays at the root, as Win32 does for drive, UNC and rooted paths.
    AtRoot,
    /// Kept as a leading `..` (relative paths, resolved later against a current directory).
    KeepParents,
    /// Refused: Win32 may climb out of a device root into another volume.
    Refuse,
}

/// Splits `name:stream` at the first colon.
fn split_stream(comp: &str) -> (&str, Option<&str>) {
    match comp.split_once(':') {
        Some((name, stream)) => (name, Some(stream)),
        None => (comp, None),
    }
}

/// Win32's trimming: a component followed by a separator loses one trailing dot; the final
/// component loses every trailing dot and space. A name of dots only is left alone.
fn trim_component(comp: &str, is_last: bool) -> &str {
    if comp.chars().all(|c| c == '.') {
        return comp;
    }
    if is_last {
        comp.trim_end_matches(['.', ' '])
    } else {
        comp.strip_suffix('.').unwrap_or(comp)
    }
}

/// The DOS device a final component names: `Some((device, exact))` where `exact` is false when
/// an extension follows (`NUL.txt`).
fn device_base(name: &str) -> Option<(String, bool)> {
    let (base, has_ext) = match name.split_once('.') {
        Some((b, _)) => (b, true),
        None => (name, false),
    };
    let base = base.trim_end_matches(' ');
    is_dos_device(base).then(|| (base.to_uppercase(), !has_ext))
}

fn normalize(
    s: &str,
    kind: PrefixKind,
    anchor: Anchor,
    rest: &str,
    clamp: Clamp,
) -> Result<WinPath, WinPathError> {
    let raw: Vec<&str> = rest.split('\\').collect();
    let mut components: Vec<String> = Vec::new();
    let mut stream = None;
    let last_index = raw.len().saturating_sub(1);
    let mut last_is_name = false;
    for (i, comp) in raw.iter().enumerate() {
        if comp.is_empty() {
            continue;
        }
        let is_last = i == last_index;
        last_is_name = false;
        let trimmed = trim_component(comp, is_last);
        match trimmed {
            "" | "." => {
                if is_last {
                    stream = None;
                }
                continue;
            }
            ".." => {
                let can_pop = components.last().is_some_and(|c| c != "..");
                if can_pop {
                    components.pop();
                } else {
                    match clamp {
                        Clamp::AtRoot => {}
                        Clamp::KeepParents => components.push("..".into()),
                        Clamp::Refuse => return Err(WinPathError::ParentAboveDeviceRoot(s.into())),
                    }
                }
                continue;
            }
            _ => {}
        }
        let (name, st) = split_stream(trimmed);
        if is_last {
            stream = st.map(String::from);
            last_is_name = !name.is_empty();
        }
        if !name.is_empty() {
            components.push(name.to_string());
        }
    }
    let mut path = WinPath {
        kind,
        anchor,
        components,
        stream,
        maybe_device: false,
    };
    // Win32 maps a DOS device name in the final component of a drive, rooted or relative path
    // to the device. With an extension, after `.`/`..`, or on a share, it is version-dependent.
    if kind != PrefixKind::Device
        && let Some(last) = path.components.last()
        && let Some((device, exact)) = device_base(last)
    {
        if exact && last_is_name && kind != PrefixKind::Unc {
            return Ok(device_path(kind, Volume::Device(device)));
        }
        path.maybe_device = true;
    }
    Ok(path)
}

/// The current directory and the per-drive current directories (`=C:` in a Windows
/// environment block) that relative spellings are resolved against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentDirs {
    pub cwd: String,
    pub drive_cwds: BTreeMap<char, String>,
}

impl CurrentDirs {
    pub fn new(cwd: &str) -> Self {
        CurrentDirs {
            cwd: cwd.into(),
            drive_cwds: BTreeMap::new(),
        }
    }

    /// Sets drive `letter`'s current directory.
    pub fn with_drive(mut self, letter: char, dir: &str) -> Self {
        self.drive_cwds
            .insert(letter.to_ascii_uppercase(), dir.into());
        self
    }
}

/// Parses `p` and makes it absolute against `dirs`, as `GetFullPathNameW` does: `\foo` takes
/// the current directory's drive or share, `D:foo` takes drive D's current directory (`D:\`
/// when none is known).
pub fn resolve(p: &str, dirs: &CurrentDirs) -> Result<WinPath, WinPathError> {
    let path = parse(p)?;
    let base = match &path.anchor {
        Anchor::Volume(_) => return Ok(path),
        Anchor::CurrentDir => absolute_cwd(p, &dirs.cwd)?,
        Anchor::CurrentRoot => {
            let mut cwd = absolute_cwd(p, &dirs.cwd)?;
            cwd.components.clear();
            cwd
        }
        Anchor::DriveCurrentDir(letter) => {
            let cwd = absolute_cwd(p, &dirs.cwd)?;
            if cwd.volume() == Some(&Volume::Drive(*letter)) {
                cwd
            } else {
                match dirs.drive_cwds.get(letter) {
                    Some(dir) => {
                        let d = absolute_cwd(p, dir)?;
                        if d.volume() == Some(&Volume::Drive(*letter)) {
                            d
                        } else {
                            parse(&format!("{letter}:\\"))?
                        }
                    }
                    None => parse(&format!("{letter}:\\"))?,
                }
            }
        }
    };
    Ok(join(base, path))
}

fn absolute_cwd(p: &str, cwd: &str) -> Result<WinPath, WinPathError> {
    let parsed = parse(cwd)?;
    match parsed.volume() {
        Some(Volume::Drive(_) | Volume::Unc { .. }) => Ok(parsed),
        _ => Err(WinPathError::CwdNotAbsolute {
            path: p.into(),
            cwd: cwd.into(),
        }),
    }
}

/// Appends the components of the relative `rel` to the absolute `base`, clamping `..` at the
/// base's root.
fn join(mut base: WinPath, rel: WinPath) -> WinPath {
    for c in rel.components {
        if c == ".." {
            base.components.pop();
        } else {
            base.components.push(c);
        }
    }
    base.stream = rel.stream;
    base.maybe_device = rel.maybe_device;
    base
}
