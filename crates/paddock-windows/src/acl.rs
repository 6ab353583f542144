//! ACEs, ACLs and security descriptors as values, their canonical order, inheritance from a
//! parent, and the subset of SDDL Paddock reads and writes (`O:`, `G:`, `D:` with allow/deny ACEs).
//!
//! Guarantees: `SecurityDescriptor::parse(sd.to_sddl()) == sd`; anything outside the subset
//! (object ACEs, conditional ACEs, audit flags) is a parse error, never silently dropped; a
//! SACL section (`S:`) is skipped because Paddock never reads or writes SACLs.

use crate::mask::AccessMask;
use crate::sid::Sid;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// SDDL the backend cannot use.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SddlError {
    #[error("SDDL `{text}`: {reason}")]
    Invalid { text: String, reason: String },
}

fn invalid(text: &str, reason: impl Into<String>) -> SddlError {
    SddlError::Invalid {
        text: text.to_string(),
        reason: reason.into(),
    }
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AceKind {
    Allow,
    Deny,
}

/// ACE inheritance flags (`OBJECT_INHERIT_ACE` ... `INHERITED_ACE`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AceFlags(pub u8);

impl AceFlags {
    pub const NONE: AceFlags = AceFlags(0);
    /// OI: files below inherit it.
    pub const OBJECT_INHERIT: AceFlags = AceFlags(0x01);
    /// CI: directories below inherit it.
    pub const CONTAINER_INHERIT: AceFlags = AceFlags(0x02);
    /// NP: inherited by direct children only.
    pub const NO_PROPAGATE: AceFlags = AceFlags(0x04);
    /// IO: does not apply to the object it sits on.
    pub const INHERIT_ONLY: AceFlags = AceFlags(0x08);
    /// ID: was inherited from a parent.
    pub const INHERITED: AceFlags = AceFlags(0x10);
    /// OI | CI: the usual "this folder, subfolders and files".
    pub const OICI: AceFlags = AceFlags(0x03);

    pub const fn contains(self, other: AceFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn union(self, other: AceFlags) -> AceFlags {
        AceFlags(self.0 | other.0)
    }
    pub const fn without(self, other: AceFlags) -> AceFlags {
        AceFlags(self.0 & !other.0)
    }
}

impl fmt::Debug for AceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", flags_to_sddl(*self))
    }
}

/// One access-control entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ace {
    pub kind: AceKind,
    pub sid: Sid,
    pub mask: AccessMask,
    pub flags: AceFlags,
}

impl Ace {
    pub fn allow(sid: Sid, mask: AccessMask, flags: AceFlags) -> Ace {
        Ace {
            kind: AceKind::Allow,
            sid,
            mask,
            flags,
        }
    }
    pub fn deny(sid: Sid, mask: AccessMask, flags: AceFlags) -> Ace {
        Ace {
            kind: AceKind::Deny,
            sid,
            mask,
            flags,
        }
    }
    pub fn is_inherited(&self) -> bool {
        self.flags.contains(AceFlags::INHERITED)
    }
    /// True when the ACE takes part in access checks on the object it sits on.
    pub fn is_effective(&self) -> bool {
        !self.flags.contains(AceFlags::INHERIT_ONLY)
    }
    /// This ACE as an SDDL ACE string, e.g. `(A;OICI;0x1301bf;;;S-1-5-21-1-2-3-4)`.
    pub fn to_sddl(&self) -> String {
        let kind = match self.kind {
            AceKind::Allow => "A",
            AceKind::Deny => "D",
        };
        format!(
            "({kind};{};0x{:x};;;{})",
            flags_to_sddl(self.flags),
            self.mask.bits(),
            self.sid
        )
    }
}

/// A discretionary ACL: ACEs in the order AccessCheck walks them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Acl {
    pub aces: Vec<Ace>,
}

impl Acl {
    pub fn new(aces: Vec<Ace>) -> Acl {
        Acl { aces }
    }

    /// Windows' canonical order: explicit deny, explicit allow, then inherited ACEs in the order
    /// they were inherited (parent's denies before allows, nearer ancestors first).
    pub fn canonicalize(&mut self) {
        let (inherited, explicit): (Vec<Ace>, Vec<Ace>) =
            self.aces.drain(..).partition(Ace::is_inherited);
        let (deny, allow): (Vec<Ace>, Vec<Ace>) =
            explicit.into_iter().partition(|a| a.kind == AceKind::Deny);
        self.aces = deny.into_iter().chain(allow).chain(inherited).collect();
    }

    /// True when no explicit ACE follows an inherited one and no explicit deny follows an
    /// explicit allow.
    pub fn is_canonical(&self) -> bool {
        let mut c = self.clone();
        c.canonicalize();
        c == *self
    }

    /// Inserts `ace` where Windows' tools put a new explicit entry: a deny after the explicit
    /// denies, an allow after the explicit allows. Does nothing if an equal ACE is present.
    pub fn insert_explicit(&mut self, ace: Ace) {
        if self.aces.contains(&ace) {
            return;
        }
        let explicit_denies = self
            .aces
            .iter()
            .take_while(|a| !a.is_inherited() && a.kind == AceKind::Deny)
            .count();
        let explicit = self.aces.iter().take_while(|a| !a.is_inherited()).count();
        let at = match ace.kind {
            AceKind::Deny => explicit_denies,
            AceKind::Allow => explicit,
        };
        self.aces.insert(at, ace);
    }

    /// Removes every explicit ACE equal to `ace`; returns whether one was there.
    pub fn remove_explicit(&mut self, ace: &Ace) -> bool {
        let before = self.aces.len();
        self.aces.retain(|a| a.is_inherited() || a != ace);
        before != self.aces.len()
    }

    /// The explicit (non-inherited) ACEs.
    pub fn explicit(&self) -> impl Iterator<Item = &Ace> {
        self.aces.iter().filter(|a| !a.is_inherited())
    }
}

/// What a new or existing child inherits from its parent's DACL (the rules of "ACE
/// Inheritance Rules" in the Win32 docs): files take OI entries, directories CI entries (and
/// OI-only entries as inherit-only, for the files below), NP stops propagation after one level,
/// CREATOR OWNER becomes `child_owner` in the effective copy. Every result is marked INHERITED.
pub fn inherited_aces(parent: &Acl, child_is_dir: bool, child_owner: &Sid) -> Vec<Ace> {
    let mut out = Vec::new();
    for ace in &parent.aces {
        let oi = ace.flags.contains(AceFlags::OBJECT_INHERIT);
        let ci = ace.flags.contains(AceFlags::CONTAINER_INHERIT);
        let np = ace.flags.contains(AceFlags::NO_PROPAGATE);
        let base = AceFlags::INHERITED;
        let creator = ace.sid == Sid::creator_owner();
        let effective = |out: &mut Vec<Ace>| {
            if creator {
                out.push(Ace {
                    sid: child_owner.clone(),
                    mask: ace.mask.map_generic(),
                    flags: base,
                    kind: ace.kind,
                });
            } else {
                out.push(Ace {
                    flags: base,
                    ..ace.clone()
                });
            }
        };
        if !child_is_dir {
            if oi {
                effective(&mut out);
            }
            continue;
        }
        match (ci, oi, np) {
            (true, _, true) => effective(&mut out),
            (true, _, false) => {
                let keep = ace
                    .flags
                    .without(AceFlags::INHERIT_ONLY)
                    .without(AceFlags::INHERITED)
                    .union(base);
                if creator {
                    effective(&mut out);
                    out.push(Ace {
                        flags: keep.union(AceFlags::INHERIT_ONLY),
                        ..ace.clone()
                    });
                } else {
                    out.push(Ace {
                        flags: keep,
                        ..ace.clone()
                    });
                }
            }
            (false, true, false) => out.push(Ace {
                flags: AceFlags::OBJECT_INHERIT
                    .union(AceFlags::INHERIT_ONLY)
                    .union(base),
                ..ace.clone()
            }),
            _ => {}
        }
    }
    out
}

/// A security descriptor: owner, group and DACL (`None` is a NULL DACL, which grants everyone
/// everything; `Some(empty)` grants nothing). `protected` blocks inheritance from the parent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecurityDescriptor {
    pub owner: Option<Sid>,
    pub group: Option<Sid>,
    pub dacl: Option<Acl>,
    pub protected: bool,
}

impl SecurityDescriptor {
    /// Formats as SDDL with full SID strings (`O:S-1-..G:S-1-..D:P(A;OICI;0x1f01ff;;;S-1-5-18)`).
    pub fn to_sddl(&self) -> String {
        let mut s = String::new();
        if let Some(o) = &self.owner {
            s.push_str(&format!("O:{o}"));
        }
        if let Some(g) = &self.group {
            s.push_str(&format!("G:{g}"));
        }
        s.push_str("D:");
        if self.protected {
            s.push('P');
        }
        match &self.dacl {
            None => s.push_str("NO_ACCESS_CONTROL"),
            Some(acl) => {
                for ace in &acl.aces {
                    s.push_str(&ace.to_sddl());
                }
            }
        }
        s
    }

    /// Parses the SDDL subset described in the module doc, accepting the SID aliases and
    /// access-right mnemonics Windows itself prints.
    pub fn parse(text: &str) -> Result<SecurityDescriptor, SddlError> {
        let mut sd = SecurityDescriptor::default();
        let mut saw_dacl = false;
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (tag, body) = rest
                .split_at_checked(2)
                .ok_or_else(|| invalid(text, "truncated section"))?;
            let end = next_section(body);
            let (section, tail) = body.split_at(end);
            match tag {
                "O:" => sd.owner = Some(parse_sid(section, text)?),
                "G:" => sd.group = Some(parse_sid(section, text)?),
                "D:" => {
                    saw_dacl = true;
                    let (protected, dacl) = parse_dacl(section, text)?;
                    sd.protected = protected;
                    sd.dacl = dacl;
                }
                "S:" => {}
                other => return Err(invalid(text, format!("unknown section `{other}`"))),
            }
            rest = tail;
        }
        if !saw_dacl {
            return Err(invalid(
                text,
                "no D: section; read the descriptor with DACL_SECURITY_INFORMATION",
            ));
        }
        Ok(sd)
    }
}

impl fmt::Display for SecurityDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sddl())
    }
}

impl std::str::FromStr for SecurityDescriptor {
    type Err = SddlError;
    fn from_str(s: &str) -> Result<SecurityDescriptor, SddlError> {
        SecurityDescriptor::parse(s)
    }
}

/// Where the next `X:` section starts (outside parentheses).
fn next_section(body: &str) -> usize {
    let bytes = body.as_bytes();
    let mut depth = 0usize;
    for i in 0..bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && i >= 1 && matches!(bytes[i - 1], b'O' | b'G' | b'D' | b'S') => {
                return i - 1;
            }
            _ => {}
        }
    }
    bytes.len()
}

fn parse_dacl(section: &str, text: &str) -> Result<(bool, Option<Acl>), SddlError> {
    let open = section.find('(').unwrap_or(section.len());
    let (flags, mut aces_text) = section.split_at(open);
    let mut protected = false;
    let mut null = false;
    let mut f = flags;
    while !f.is_empty() {
        if let Some(r) = f.strip_prefix("NO_ACCESS_CONTROL") {
            null = true;
            f = r;
        } else if let Some(r) = f.strip_prefix("AI").or_else(|| f.strip_prefix("AR")) {
            f = r;
        } else if let Some(r) = f.strip_prefix('P') {
            protected = true;
            f = r;
        } else {
            return Err(invalid(text, format!("unknown DACL flags `{flags}`")));
        }
    }
    let mut aces = Vec::new();
    while let Some(r) = aces_text.strip_prefix('(') {
        let close = r.find(')').ok_or_else(|| invalid(text, "unclosed ACE"))?;
        aces.push(parse_ace(&r[..close], text)?);
        aces_text = &r[close + 1..];
    }
    if !aces_text.is_empty() {
        return Err(invalid(
            text,
            format!("unexpected `{aces_text}` after the ACEs"),
        ));
    }
    if null && !aces.is_empty() {
        return Err(invalid(text, "NO_ACCESS_CONTROL with ACEs"));
    }
    Ok((protected, if null { None } else { Some(Acl::new(aces)) }))
}

fn parse_ace(body: &str, text: &str) -> Result<Ace, SddlError> {
    let fields: Vec<&str> = body.split(';').collect();
    let [kind, flags, rights, object, inherit_object, sid] = fields[..] else {
        return Err(invalid(
            text,
            format!("ACE `({body})` does not have 6 fields"),
        ));
    };
    let kind = match kind {
        "A" => AceKind::Allow,
        "D" => AceKind::Deny,
        other => {
            return Err(invalid(
                text,
                format!("ACE type `{other}` is not supported (only A and D)"),
            ));
        }
    };
    if !object.is_empty() || !inherit_object.is_empty() {
        return Err(invalid(text, "object ACEs are not supported"));
    }
    Ok(Ace {
        kind,
        flags: parse_flags(flags, text)?,
        mask: parse_rights(rights, text)?,
        sid: parse_sid(sid, text)?,
    })
}

const FLAG_CODES: &[(&str, AceFlags)] = &[
    ("OI", AceFlags::OBJECT_INHERIT),
    ("CI", AceFlags::CONTAINER_INHERIT),
    ("NP", AceFlags::NO_PROPAGATE),
    ("IO", AceFlags::INHERIT_ONLY),
    ("ID", AceFlags::INHERITED),
];

fn parse_flags(s: &str, text: &str) -> Result<AceFlags, SddlError> {
    let mut out = AceFlags::NONE;
    let mut rest = s;
    while !rest.is_empty() {
        let (code, tail) = rest
            .split_at_checked(2)
            .ok_or_else(|| invalid(text, format!("bad ACE flags `{s}`")))?;
        let flag = FLAG_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, f)| *f)
            .ok_or_else(|| invalid(text, format!("ACE flag `{code}` is not supported")))?;
        out = out.union(flag);
        rest = tail;
    }
    Ok(out)
}

fn flags_to_sddl(flags: AceFlags) -> String {
    FLAG_CODES
        .iter()
        .filter(|(_, f)| flags.contains(*f))
        .map(|(c, _)| *c)
        .collect()
}

/// Every access-right mnemonic SDDL defines ("ACE Strings", MS-DTYP 2.5.1.1), in the order
/// `ConvertSecurityDescriptorToStringSecurityDescriptorW` tries them for an exact match: generic,
/// standard, directory-service (the bit names Windows falls back to for any mask without a
/// composite name), file, registry key and mandatory-label rights.
const RIGHT_CODES: &[(&str, u32)] = &[
    ("GA", 0x1000_0000),
    ("GR", 0x8000_0000),
    ("GW", 0x4000_0000),
    ("GX", 0x2000_0000),
    ("RC", 0x0002_0000),
    ("SD", 0x0001_0000),
    ("WD", 0x0004_0000),
    ("WO", 0x0008_0000),
    ("RP", 0x0000_0010),
    ("WP", 0x0000_0020),
    ("CC", 0x0000_0001),
    ("DC", 0x0000_0002),
    ("LC", 0x0000_0004),
    ("SW", 0x0000_0008),
    ("LO", 0x0000_0080),
    ("DT", 0x0000_0040),
    ("CR", 0x0000_0100),
    ("FA", 0x001F_01FF),
    ("FR", 0x0012_0089),
    ("FW", 0x0012_0116),
    ("FX", 0x0012_00A0),
    ("KA", 0x000F_003F),
    ("KR", 0x0002_0019),
    ("KW", 0x0002_0006),
    ("KX", 0x0002_0019),
    ("NR", 0x0000_0002),
    ("NW", 0x0000_0001),
    ("NX", 0x0000_0004),
];

/// The single-bit mnemonics, by bit number, Windows builds a mask from when no composite name
/// matches it exactly (bits 9-15 and 20-27, SYNCHRONIZE among them, have none: such a mask is
/// printed in hex).
const BIT_CODES: [Option<&str>; 32] = {
    let mut t = [None; 32];
    let named: [(usize, &str); 17] = [
        (0, "CC"),
        (1, "DC"),
        (2, "LC"),
        (3, "SW"),
        (4, "RP"),
        (5, "WP"),
        (6, "DT"),
        (7, "LO"),
        (8, "CR"),
        (16, "SD"),
        (17, "RC"),
        (18, "WD"),
        (19, "WO"),
        (28, "GA"),
        (29, "GX"),
        (30, "GW"),
        (31, "GR"),
    ];
    let mut i = 0;
    while i < named.len() {
        t[named[i].0] = Some(named[i].1);
        i += 1;
    }
    t
};

/// `mask` as `ConvertSecurityDescriptorToStringSecurityDescriptorW` prints it: the composite
/// name on an exact match (`FA`, `KR`, `CC`), else the bit mnemonics from the lowest bit up
/// (`DCLCRPDTCRSDWDWO` for 0xd0156), else, when a bit has no mnemonic, `0x` and hex. What
/// Paddock itself writes stays hex (`Ace::to_sddl`); this is what it must be able to read.
pub fn windows_rights_text(mask: AccessMask) -> String {
    let bits = mask.bits();
    if bits == 0 {
        return String::new();
    }
    if let Some((code, _)) = RIGHT_CODES.iter().find(|(_, m)| *m == bits) {
        return (*code).to_string();
    }
    let mut out = String::new();
    for (bit, code) in BIT_CODES.iter().enumerate() {
        if bits & (1 << bit) == 0 {
            continue;
        }
        match code {
            Some(c) => out.push_str(c),
            None => return format!("0x{bits:x}"),
        }
    }
    out
}

/// Parses an SDDL rights field: mnemonics (any mix of those in `RIGHT_CODES`, ORed), `0x` hex,
/// octal with a leading `0`, or decimal (MS-DTYP's `ace-rights`).
fn parse_rights(s: &str, text: &str) -> Result<AccessMask, SddlError> {
    let bad = || invalid(text, format!("bad access rights `{s}`"));
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16)
            .map(AccessMask)
            .map_err(|_| bad());
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let radix = if s.len() > 1 && s.starts_with('0') {
            8
        } else {
            10
        };
        return u32::from_str_radix(s, radix)
            .map(AccessMask)
            .map_err(|_| bad());
    }
    let mut out = AccessMask::NONE;
    let mut rest = s;
    while !rest.is_empty() {
        let (code, tail) = rest.split_at_checked(2).ok_or_else(bad)?;
        out |= RIGHT_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, m)| AccessMask(*m))
            .ok_or_else(bad)?;
        rest = tail;
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// SDDL SID aliases for well-known SIDs that do not depend on the machine or domain (MS-DTYP
/// 2.5.1.1 `sid-token`). Windows prints the alias whenever a SID has one.
const SID_ALIASES: &[(&str, &str)] = &[
    ("WD", "S-1-1-0"),
    ("CO", "S-1-3-0"),
    ("CG", "S-1-3-1"),
    ("OW", "S-1-3-4"),
    ("NU", "S-1-5-2"),
    ("IU", "S-1-5-4"),
    ("SU", "S-1-5-6"),
    ("AN", "S-1-5-7"),
    ("ED", "S-1-5-9"),
    ("PS", "S-1-5-10"),
    ("AU", "S-1-5-11"),
    ("RC", "S-1-5-12"),
    ("SY", "S-1-5-18"),
    ("LS", "S-1-5-19"),
    ("NS", "S-1-5-20"),
    ("WR", "S-1-5-33"),
    ("UD", "S-1-5-84-0-0-0-0-0"),
    ("BA", "S-1-5-32-544"),
    ("BU", "S-1-5-32-545"),
    ("BG", "S-1-5-32-546"),
    ("PU", "S-1-5-32-547"),
    ("AO", "S-1-5-32-548"),
    ("SO", "S-1-5-32-549"),
    ("PO", "S-1-5-32-550"),
    ("BO", "S-1-5-32-551"),
    ("RE", "S-1-5-32-552"),
    ("RU", "S-1-5-32-554"),
    ("RD", "S-1-5-32-555"),
    ("NO", "S-1-5-32-556"),
    ("MU", "S-1-5-32-558"),
    ("LU", "S-1-5-32-559"),
    ("IS", "S-1-5-32-568"),
    ("CY", "S-1-5-32-569"),
    ("ER", "S-1-5-32-573"),
    ("CD", "S-1-5-32-574"),
    ("RA", "S-1-5-32-575"),
    ("ES", "S-1-5-32-576"),
    ("MS", "S-1-5-32-577"),
    ("HA", "S-1-5-32-578"),
    ("AA", "S-1-5-32-579"),
    ("RM", "S-1-5-32-580"),
    ("AC", "S-1-15-2-1"),
    ("LW", "S-1-16-4096"),
    ("ME", "S-1-16-8192"),
    ("MP", "S-1-16-8448"),
    ("HI", "S-1-16-12288"),
    ("SI", "S-1-16-16384"),
    ("AS", "S-1-18-1"),
    ("SS", "S-1-18-2"),
];

/// Aliases Windows prints for SIDs relative to the machine or domain (local Administrator,
/// Domain Admins, ...): their value needs the domain SID, which a string does not carry.
const DOMAIN_RELATIVE_ALIASES: &[&str] = &[
    "LA", "LG", "DA", "DG", "DU", "DC", "DD", "CA", "SA", "EA", "PA", "RS", "RO", "CN", "AP", "KA",
    "EK",
];

fn parse_sid(s: &str, text: &str) -> Result<Sid, SddlError> {
    if DOMAIN_RELATIVE_ALIASES.contains(&s) {
        return Err(invalid(
            text,
            format!(
                "SID alias `{s}` is relative to the machine or domain and cannot be resolved \
                 from text; read the descriptor in binary form"
            ),
        ));
    }
    let full = SID_ALIASES
        .iter()
        .find(|(a, _)| *a == s)
        .map(|(_, f)| *f)
        .unwrap_or(s);
    Sid::parse(full).map_err(|e| invalid(text, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synth() -> Sid {
        Sid::parse("S-1-5-21-1-2-3-4").unwrap()
    }

    #[test]
    fn sddl_round_trips() {
        let sd = SecurityDescriptor {
            owner: Some(Sid::parse("S-1-5-21-9-9-9-1001").unwrap()),
            group: Some(Sid::local_system()),
            dacl: Some(Acl::new(vec![
                Ace::deny(synth(), AccessMask::ALL_WRITE, AceFlags::OICI),
                Ace::allow(
                    synth(),
                    AccessMask::MODIFY_WITHOUT_DELETE_CHILD,
                    AceFlags::OICI,
                ),
                Ace::allow(
                    Sid::local_system(),
                    AccessMask::FILE_ALL_ACCESS,
                    AceFlags::OICI.union(AceFlags::INHERITED),
                ),
                Ace::allow(
                    Sid::creator_owner(),
                    AccessMask::GENERIC_ALL,
                    AceFlags(0x0b | 0x10),
                ),
            ])),
            protected: true,
        };
        let text = sd.to_sddl();
        assert!(
            text.contains(
                "D:P(D;OICI;0xd0156;;;S-1-5-21-1-2-3-4)(A;OICI;0x1301bf;;;S-1-5-21-1-2-3-4)"
            ),
            "{text}"
        );
        assert_eq!(SecurityDescriptor::parse(&text).unwrap(), sd);
    }

    #[test]
    fn windows_printed_sddl_with_aliases_parses() {
        let text = "O:S-1-5-21-1-2-3-1001G:S-1-5-21-1-2-3-513D:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)\
                    (A;OICIID;FA;;;S-1-5-21-1-2-3-1001)(A;OICIIOID;GA;;;CO)S:AI(ML;;NW;;;LW)";
        let sd = SecurityDescriptor::parse(text).unwrap();
        let acl = sd.dacl.unwrap();
        assert_eq!(acl.aces.len(), 4);
        assert_eq!(acl.aces[0].sid, Sid::local_system());
        assert_eq!(acl.aces[1].sid, Sid::builtin_administrators());
        assert_eq!(acl.aces[0].mask, AccessMask::FILE_ALL_ACCESS);
        assert!(acl.aces[3].flags.contains(AceFlags::INHERIT_ONLY));
        assert!(!sd.protected);
    }

    /// Every access mask the planner writes for a workspace run with protected paths (per-run
    /// denies, root grants, the private temp, the token's default DACL, targeted grants).
    fn planned_masks() -> Vec<AccessMask> {
        use crate::testworld::{plan_in, workspace_spec, world};
        let mut w = world();
        let plan = plan_in(&mut w, &workspace_spec());
        let mut masks: Vec<AccessMask> = plan.aces.iter().map(|a| a.ace.mask).collect();
        masks.extend(plan.token.default_dacl.aces.iter().map(|a| a.mask));
        for t in &plan.targeted {
            if let crate::plan::TargetedGrant::NullDevice { ace, .. }
            | crate::plan::TargetedGrant::Console { ace } = t
            {
                masks.push(ace.mask);
            }
        }
        masks
    }

    #[test]
    fn every_mask_paddock_writes_reads_back_as_windows_prints_it() {
        let mut masks = planned_masks();
        assert!(masks.contains(&AccessMask::ALL_WRITE), "{masks:?}");
        // The apply layer's own masks: window station (0x20133), level-2 deny-read (0x29),
        // FILE_DELETE_CHILD denies (0x40), desktop rights.
        masks.extend([0x20133, 0x29, 0x40, 0x1ff, 0x1cf].map(AccessMask));
        for mask in masks {
            let printed = windows_rights_text(mask);
            let sddl = format!("D:AI(D;;{printed};;;SY)");
            let parsed = SecurityDescriptor::parse(&sddl)
                .unwrap_or_else(|e| panic!("{mask:?} printed as {printed}: {e}"));
            assert_eq!(parsed.dacl.unwrap().aces[0].mask, mask, "{printed}");
        }
    }

    #[test]
    fn windows_prints_paddock_masks_as_bit_mnemonics() {
        assert_eq!(
            windows_rights_text(AccessMask::ALL_WRITE),
            "DCLCRPDTCRSDWDWO"
        );
        assert_eq!(windows_rights_text(AccessMask(0x40)), "DT");
        assert_eq!(windows_rights_text(AccessMask(0x29)), "CCSWWP");
        assert_eq!(windows_rights_text(AccessMask(0x20133)), "CCDCRPWPCRRC");
        assert_eq!(windows_rights_text(AccessMask::FILE_ALL_ACCESS), "FA");
        assert_eq!(windows_rights_text(AccessMask(0x20019)), "KR");
        assert_eq!(
            windows_rights_text(AccessMask::MODIFY_WITHOUT_DELETE_CHILD),
            "0x1301bf",
            "SYNCHRONIZE has no mnemonic"
        );
    }

    #[test]
    fn any_mask_round_trips_through_windows_printing() {
        let mut masks: Vec<u32> = (0..32).map(|b| 1u32 << b).collect();
        let mut x: u32 = 0x9e37_79b9;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            masks.push(x);
            // Masks made only of named bits, which print as mnemonics.
            masks.push(x & 0xF00F_01FF);
        }
        for m in masks.into_iter().filter(|m| *m != 0) {
            let printed = windows_rights_text(AccessMask(m));
            assert_eq!(
                parse_rights(&printed, &printed).unwrap(),
                AccessMask(m),
                "{printed}"
            );
        }
    }

    #[test]
    fn microsofts_example_and_every_mnemonic_parse() {
        let sd = SecurityDescriptor::parse("D:AI(D;;DCLCRPCR;;;SY)").unwrap();
        assert_eq!(sd.dacl.unwrap().aces[0].mask, AccessMask(0x116));
        for (code, value) in RIGHT_CODES {
            assert_eq!(parse_rights(code, code).unwrap(), AccessMask(*value));
        }
        assert_eq!(parse_rights("0777", "").unwrap(), AccessMask(0o777));
        assert_eq!(parse_rights("511", "").unwrap(), AccessMask(511));
        let keys = SecurityDescriptor::parse("D:(A;CI;KA;;;BA)(A;CI;KR;;;BU)(A;;KW;;;RE)").unwrap();
        assert_eq!(keys.dacl.unwrap().aces[0].mask, AccessMask(0xf003f));
    }

    #[test]
    fn domain_relative_sid_alias_is_an_error_naming_the_fix() {
        let err = SecurityDescriptor::parse("D:(A;;FA;;;LA)").unwrap_err();
        assert!(err.to_string().contains("binary form"), "{err}");
        let sd = SecurityDescriptor::parse("D:(A;;FA;;;RD)(A;;FA;;;HI)").unwrap();
        assert_eq!(
            sd.dacl.unwrap().aces[1].sid,
            Sid::parse("S-1-16-12288").unwrap()
        );
    }

    #[test]
    fn null_and_empty_dacls_are_distinct() {
        let null = SecurityDescriptor::parse("D:NO_ACCESS_CONTROL").unwrap();
        assert_eq!(null.dacl, None);
        let empty = SecurityDescriptor::parse("D:P").unwrap();
        assert_eq!(empty.dacl, Some(Acl::default()));
        assert!(empty.protected);
        assert_eq!(SecurityDescriptor::parse(&null.to_sddl()).unwrap(), null);
        assert_eq!(SecurityDescriptor::parse(&empty.to_sddl()).unwrap(), empty);
    }

    #[test]
    fn unsupported_sddl_is_an_error_not_ignored() {
        for bad in [
            "D:(OA;;CC;bf967aba-0de6-11d0-a285-00aa003049e2;;AU)",
            "D:(XA;;FA;;;WD;(Member_of {SID(BA)}))",
            "D:(A;SA;FA;;;WD)",
            "D:(A;;ZZ;;;WD)",
            "D:(A;;FA;;;S-1-nope)",
            "O:SY",
            "D:(A;;FA;;;WD",
            "D:Q(A;;FA;;;WD)",
        ] {
            assert!(SecurityDescriptor::parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn canonical_order_puts_explicit_deny_first_and_inherited_last() {
        let inherited_allow = Ace::allow(
            Sid::everyone(),
            AccessMask::FILE_GENERIC_READ,
            AceFlags::INHERITED,
        );
        let mut acl = Acl::new(vec![
            inherited_allow.clone(),
            Ace::allow(synth(), AccessMask::FILE_GENERIC_WRITE, AceFlags::NONE),
            Ace::deny(synth(), AccessMask::DELETE, AceFlags::NONE),
        ]);
        assert!(!acl.is_canonical());
        acl.canonicalize();
        assert_eq!(acl.aces[0].kind, AceKind::Deny);
        assert_eq!(acl.aces[1].kind, AceKind::Allow);
        assert_eq!(acl.aces[2], inherited_allow);
        assert!(acl.is_canonical());
    }

    #[test]
    fn insert_explicit_keeps_canonical_order_and_is_idempotent() {
        let mut acl = Acl::new(vec![Ace::allow(
            Sid::everyone(),
            AccessMask::FILE_GENERIC_READ,
            AceFlags::INHERITED,
        )]);
        let allow = Ace::allow(
            synth(),
            AccessMask::MODIFY_WITHOUT_DELETE_CHILD,
            AceFlags::OICI,
        );
        let deny = Ace::deny(synth(), AccessMask::ALL_WRITE, AceFlags::NONE);
        acl.insert_explicit(allow.clone());
        acl.insert_explicit(deny.clone());
        acl.insert_explicit(allow.clone());
        assert_eq!(acl.aces.len(), 3);
        assert_eq!(acl.aces[0], deny);
        assert_eq!(acl.aces[1], allow);
        assert!(acl.is_canonical());
        assert!(acl.remove_explicit(&allow));
        assert!(!acl.remove_explicit(&allow));
        assert_eq!(acl.aces.len(), 2);
    }

    #[test]
    fn inheritance_follows_oi_ci_np_io_rules() {
        let owner = Sid::parse("S-1-5-21-7-7-7-1001").unwrap();
        let parent = Acl::new(vec![
            Ace::allow(
                synth(),
                AccessMask::MODIFY_WITHOUT_DELETE_CHILD,
                AceFlags::OICI,
            ),
            Ace::allow(
                Sid::everyone(),
                AccessMask::FILE_GENERIC_READ,
                AceFlags::CONTAINER_INHERIT,
            ),
            Ace::allow(
                Sid::builtin_users(),
                AccessMask::FILE_GENERIC_READ,
                AceFlags::OBJECT_INHERIT,
            ),
            Ace::deny(
                Sid::local_system(),
                AccessMask::DELETE,
                AceFlags::OICI.union(AceFlags::NO_PROPAGATE),
            ),
            Ace::allow(
                Sid::creator_owner(),
                AccessMask::GENERIC_ALL,
                AceFlags::OICI.union(AceFlags::INHERIT_ONLY),
            ),
            Ace::allow(
                Sid::builtin_administrators(),
                AccessMask::FILE_ALL_ACCESS,
                AceFlags::NONE,
            ),
        ]);
        let file = inherited_aces(&parent, false, &owner);
        let sids: Vec<_> = file.iter().map(|a| a.sid.clone()).collect();
        assert_eq!(
            sids,
            [
                synth(),
                Sid::builtin_users(),
                Sid::local_system(),
                owner.clone()
            ]
        );
        assert!(file.iter().all(|a| a.flags == AceFlags::INHERITED));
        assert_eq!(file[3].mask, AccessMask::FILE_ALL_ACCESS);

        let dir = inherited_aces(&parent, true, &owner);
        assert_eq!(dir[0].flags, AceFlags::OICI.union(AceFlags::INHERITED));
        assert_eq!(
            dir[1].flags,
            AceFlags::CONTAINER_INHERIT.union(AceFlags::INHERITED)
        );
        assert_eq!(
            dir[2].flags,
            AceFlags(0x01 | 0x08 | 0x10),
            "OI-only becomes inherit-only on a dir"
        );
        assert_eq!(
            dir[3].flags,
            AceFlags::INHERITED,
            "NP stops after one level"
        );
        assert_eq!(dir[4].sid, owner, "CREATOR OWNER becomes the owner");
        assert_eq!(dir[5].sid, Sid::creator_owner());
        assert!(dir[5].flags.contains(AceFlags::INHERIT_ONLY));
        assert_eq!(dir.len(), 6, "non-inheritable ACEs stay on the parent");
    }
}
