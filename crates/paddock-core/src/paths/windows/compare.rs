//! Compares parsed Windows paths the way NTFS compares names: case-insensitively through its
//! upcase table, approximated here by Unicode simple upper-casing. The answer is three-valued so
//! that granting and protecting can each fail closed.

use super::parse::{Anchor, Volume, WinPath, parse};
use super::short_names::looks_like_short_name;

/// Where a path lies relative to a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Certainly the root or inside it.
    Beneath,
    /// Certainly outside it.
    NotBeneath,
    /// The strings cannot decide: a relative path, an opaque volume, a UNC alias, an unexpanded
    /// short name, a name NTFS may or may not fold equal, or a maybe-device.
    Unknown,
}

/// Upper-cases one char the way NTFS's upcase table does for the names it certainly folds: a
/// BMP char whose simple upper case is one BMP char that lower-cases back to it.
fn fold_strict(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None)
            if (c as u32) <= 0xFFFF
                && (u as u32) <= 0xFFFF
                && (u == c || u.to_lowercase().eq(std::iter::once(c))) =>
        {
            u
        }
        _ => c,
    }
}

/// Any single-char simple upper case: folds more names together than NTFS may (`ſ` and `s`).
fn fold_loose(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn eq_by(a: &str, b: &str, fold: fn(char) -> char) -> bool {
    a.chars().count() == b.chars().count() && a.chars().map(fold).eq(b.chars().map(fold))
}

/// True when NTFS certainly treats `a` and `b` as the same name.
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    eq_by(a, b, fold_strict)
}

fn volume_relation(p: &Volume, root: &Volume) -> Relation {
    match (p, root) {
        (Volume::Drive(a), Volume::Drive(b)) if a == b => Relation::Beneath,
        (Volume::Drive(_), Volume::Drive(_)) => Relation::NotBeneath,
        (
            Volume::Unc { server, share },
            Volume::Unc {
                server: rs,
                share: rsh,
            },
        ) => {
            if eq_ignore_case(server, rs) && eq_ignore_case(share, rsh) {
                Relation::Beneath
            } else {
                // Another name for the same host, or two shares of one folder.
                Relation::Unknown
            }
        }
        // A mapped drive is a share; `\\host\C$` may be this machine's C:.
        (Volume::Drive(_), Volume::Unc { .. }) | (Volume::Unc { .. }, Volume::Drive(_)) => {
            Relation::Unknown
        }
        (Volume::Device(_), Volume::Drive(_) | Volume::Unc { .. }) => Relation::NotBeneath,
        (Volume::Device(a), Volume::Device(b)) if a == b => Relation::Beneath,
        (Volume::Device(_), Volume::Device(_)) => Relation::NotBeneath,
        (Volume::Drive(_) | Volume::Unc { .. }, Volume::Device(_)) => Relation::NotBeneath,
        (Volume::Opaque(_), _) | (_, Volume::Opaque(_)) => Relation::Unknown,
    }
}

/// Where `p` lies relative to `root`, both parsed (and ideally resolved and short-name
/// expanded).
pub fn relation(p: &WinPath, root: &WinPath) -> Relation {
    let (Anchor::Volume(pv), Anchor::Volume(rv)) = (&p.anchor, &root.anchor) else {
        return Relation::Unknown;
    };
    let volumes = volume_relation(pv, rv);
    if volumes != Relation::Beneath {
        return volumes;
    }
    if p.components.len() < root.components.len() {
        return Relation::NotBeneath;
    }
    let mut certain = true;
    for (a, b) in p.components.iter().zip(&root.components) {
        if eq_ignore_case(a, b) {
            continue;
        }
        if eq_by(a, b, fold_loose) || looks_like_short_name(a) || looks_like_short_name(b) {
            certain = false;
        } else {
            return Relation::NotBeneath;
        }
    }
    if !certain || p.maybe_device {
        return Relation::Unknown;
    }
    Relation::Beneath
}

fn relation_of_strings(p: &str, root: &str) -> Relation {
    match (parse(p), parse(root)) {
        (Ok(p), Ok(root)) => relation(&p, &root),
        _ => Relation::Unknown,
    }
}

/// True only when `p` is certainly `root` or inside it: use it before granting access. Both
/// should be absolute; a relative or unparsable path is never certainly beneath.
pub fn is_beneath(p: &str, root: &str) -> bool {
    relation_of_strings(p, root) == Relation::Beneath
}

/// False only when `p` is certainly outside `root`: use it to decide that a path is protected
/// or read-denied, so that an undecidable spelling stays protected.
pub fn may_be_beneath(p: &str, root: &str) -> bool {
    relation_of_strings(p, root) != Relation::NotBeneath
}
