//! ACLs and SIDs in the binary layout Win32 hands out (`ACL`, `ACE_HEADER`, `ACCESS_ALLOWED_ACE`,
//! `SID`), walked ACE by ACE the way `GetAce` does. The apply layer reads every DACL through this
//! walker, so no SDDL text (mnemonics, machine-relative SID aliases) stands between Windows and
//! the model.
//!
//! Guarantees: `acl_from_bytes(acl_to_bytes(a)) == a`; every ACE is read with its exact type,
//! flags, mask and SID; an ACE type or flag outside the model (object, callback, audit ACEs),
//! a size that runs past the buffer, or trailing garbage in an ACE is an error, never skipped.

use crate::acl::{Ace, AceFlags, AceKind, Acl};
use crate::mask::AccessMask;
use crate::sid::Sid;
use thiserror::Error;

/// A binary ACL or SID the model cannot represent exactly.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BinaryAclError {
    #[error("binary ACL or SID cannot be read: {0}")]
    Invalid(String),
}

fn bad(reason: impl Into<String>) -> BinaryAclError {
    BinaryAclError::Invalid(reason.into())
}

/// `ACL_REVISION`: allow and deny ACEs only.
const ACL_REVISION: u8 = 2;
/// `ACL_REVISION_DS`: also allows object ACEs; Windows uses it for some DACLs holding only
/// ordinary ACEs too.
const ACL_REVISION_DS: u8 = 4;
const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
const ACCESS_DENIED_ACE_TYPE: u8 = 1;
/// OI, CI, NP, IO and ID: the flags the model knows.
const KNOWN_FLAGS: u8 = 0x1f;

fn u16_at(b: &[u8], at: usize) -> Result<u16, BinaryAclError> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| bad(format!("truncated at byte {at}")))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, BinaryAclError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| bad(format!("truncated at byte {at}")))
}

/// Reads a SID at the start of `b`; returns it and its length in bytes.
pub fn sid_from_bytes(b: &[u8]) -> Result<(Sid, usize), BinaryAclError> {
    let (&revision, rest) = b.split_first().ok_or_else(|| bad("empty SID"))?;
    if revision != 1 {
        return Err(bad(format!("SID revision {revision} (only 1 exists)")));
    }
    let count = *rest.first().ok_or_else(|| bad("truncated SID"))? as usize;
    let len = 8 + 4 * count;
    if b.len() < len {
        return Err(bad(format!(
            "SID with {count} sub-authorities needs {len} bytes, has {}",
            b.len()
        )));
    }
    let authority = b[2..8]
        .iter()
        .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
    let subs: Vec<u32> = (0..count)
        .map(|i| u32_at(b, 8 + 4 * i))
        .collect::<Result<_, _>>()?;
    let sid = Sid::new(authority, &subs).map_err(|e| bad(e.to_string()))?;
    Ok((sid, len))
}

/// `sid` in binary form.
pub fn sid_to_bytes(sid: &Sid) -> Vec<u8> {
    let subs = sid.sub_authorities();
    let mut out = vec![1, subs.len() as u8];
    out.extend_from_slice(&sid.authority().to_be_bytes()[2..]);
    for s in subs {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// The length `AclSize` an ACL header at the start of `b` claims (what to copy out of memory
/// the system handed out).
pub fn acl_size(header: &[u8; 8]) -> usize {
    usize::from(u16::from_le_bytes([header[2], header[3]]))
}

/// Walks the ACL at the start of `b` (at least `AclSize` bytes) into the model.
pub fn acl_from_bytes(b: &[u8]) -> Result<Acl, BinaryAclError> {
    let revision = *b.first().ok_or_else(|| bad("empty ACL"))?;
    if revision != ACL_REVISION && revision != ACL_REVISION_DS {
        return Err(bad(format!("ACL revision {revision}")));
    }
    let size = usize::from(u16_at(b, 2)?);
    let count = usize::from(u16_at(b, 4)?);
    if size < 8 || size > b.len() {
        return Err(bad(format!(
            "ACL claims {size} bytes, {} available",
            b.len()
        )));
    }
    let acl = &b[..size];
    let mut at = 8;
    let mut aces = Vec::with_capacity(count);
    for i in 0..count {
        let kind = match acl.get(at).copied() {
            Some(ACCESS_ALLOWED_ACE_TYPE) => AceKind::Allow,
            Some(ACCESS_DENIED_ACE_TYPE) => AceKind::Deny,
            Some(other) => {
                return Err(bad(format!(
                    "ACE {i} has type {other}; only access-allowed (0) and access-denied (1) \
                     ACEs are supported"
                )));
            }
            None => return Err(bad(format!("ACE {i} starts past the ACL's end"))),
        };
        let flags = *acl.get(at + 1).ok_or_else(|| bad("truncated ACE"))?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(bad(format!("ACE {i} has unsupported flags 0x{flags:02x}")));
        }
        let ace_size = usize::from(u16_at(acl, at + 2)?);
        let end = at + ace_size;
        if ace_size < 16 || end > acl.len() {
            return Err(bad(format!(
                "ACE {i} claims {ace_size} bytes at offset {at} of a {size}-byte ACL"
            )));
        }
        let mask = u32_at(acl, at + 4)?;
        let (sid, sid_len) = sid_from_bytes(&acl[at + 8..end])?;
        if acl[at + 8 + sid_len..end].iter().any(|b| *b != 0) {
            return Err(bad(format!("ACE {i} has data after its SID")));
        }
        aces.push(Ace {
            kind,
            sid,
            mask: AccessMask(mask),
            flags: AceFlags(flags),
        });
        at = end;
    }
    Ok(Acl::new(aces))
}

/// `acl` in binary form (revision 2, each ACE padded to 4 bytes), as `AddAccessAllowedAceEx`
/// and `AddAccessDeniedAceEx` would build it.
pub fn acl_to_bytes(acl: &Acl) -> Vec<u8> {
    let mut body = Vec::new();
    for ace in &acl.aces {
        let sid = sid_to_bytes(&ace.sid);
        let size = (8 + sid.len()).next_multiple_of(4);
        body.push(match ace.kind {
            AceKind::Allow => ACCESS_ALLOWED_ACE_TYPE,
            AceKind::Deny => ACCESS_DENIED_ACE_TYPE,
        });
        body.push(ace.flags.0);
        body.extend_from_slice(&(size as u16).to_le_bytes());
        body.extend_from_slice(&ace.mask.bits().to_le_bytes());
        body.extend_from_slice(&sid);
        body.resize(body.len() + size - 8 - sid.len(), 0);
    }
    let mut out = vec![ACL_REVISION, 0];
    out.extend_from_slice(&((8 + body.len()) as u16).to_le_bytes());
    out.extend_from_slice(&(acl.aces.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Acl {
        Acl::new(vec![
            Ace::deny(
                Sid::parse("S-1-5-21-1-2-3-4").unwrap(),
                AccessMask::ALL_WRITE,
                AceFlags::OICI,
            ),
            Ace::allow(Sid::everyone(), AccessMask(0x20133), AceFlags::NONE),
            Ace::allow(
                Sid::parse("S-1-5-5-0-381857").unwrap(),
                AccessMask::FILE_ALL_ACCESS,
                AceFlags::OICI.union(AceFlags::INHERITED),
            ),
            Ace::allow(
                Sid::parse("S-1-0x123456789abc-7").unwrap(),
                AccessMask::GENERIC_ALL,
                AceFlags(0x0b),
            ),
        ])
    }

    #[test]
    fn binary_acl_round_trips_with_every_mask_and_flag() {
        let acl = sample();
        assert_eq!(acl_from_bytes(&acl_to_bytes(&acl)).unwrap(), acl);
        assert_eq!(
            acl_from_bytes(&acl_to_bytes(&Acl::default())).unwrap().aces,
            []
        );
    }

    #[test]
    fn documented_layout_of_everyone_full_control_is_read() {
        // ACL rev 2, size 28, 1 ACE; ACE: allowed, OICI, size 20, FILE_ALL_ACCESS, S-1-1-0.
        let bytes = [
            2, 0, 28, 0, 1, 0, 0, 0, 0, 3, 20, 0, 0xff, 0x01, 0x1f, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0,
            0, 0, 0,
        ];
        let acl = acl_from_bytes(&bytes).unwrap();
        assert_eq!(
            acl.aces,
            [Ace::allow(
                Sid::everyone(),
                AccessMask::FILE_ALL_ACCESS,
                AceFlags::OICI
            )]
        );
        assert_eq!(acl_to_bytes(&acl), bytes);
        assert_eq!(acl_size(&bytes[..8].try_into().unwrap()), 28);
    }

    #[test]
    fn malformed_or_unsupported_binary_is_an_error_not_skipped() {
        let good = acl_to_bytes(&sample());
        let mut object_ace = good.clone();
        object_ace[8] = 5;
        let mut audit_flag = good.clone();
        audit_flag[9] |= 0x40;
        let mut too_many = good.clone();
        too_many[4] += 1;
        let mut overlong_ace = good.clone();
        overlong_ace[10] = 0xf0;
        let mut bad_revision = good.clone();
        bad_revision[0] = 9;
        let mut trailing = good.clone();
        // The first ACE's SID (S-1-5-21-1-2-3-4, 28 bytes) fills its ACE exactly; grow the ACE
        // by 4 bytes of junk by shrinking nothing else: claim 4 more bytes and put junk there.
        let first_size = usize::from(u16::from_le_bytes([good[10], good[11]]));
        trailing.splice(8 + first_size..8 + first_size, [1, 2, 3, 4]);
        trailing[10] = (first_size + 4) as u8;
        let total = trailing.len() as u16;
        trailing[2..4].copy_from_slice(&total.to_le_bytes());
        for (name, bytes) in [
            ("object ACE", object_ace),
            ("audit flag", audit_flag),
            ("count past the end", too_many),
            ("ACE past the end", overlong_ace),
            ("revision", bad_revision),
            ("data after the SID", trailing),
            ("truncated", good[..good.len() - 3].to_vec()),
        ] {
            assert!(acl_from_bytes(&bytes).is_err(), "{name} was accepted");
        }
    }

    #[test]
    fn sid_binary_form_matches_its_string_form() {
        for text in [
            "S-1-1-0",
            "S-1-5-32-544",
            "S-1-5-21-9-8-7-1001",
            "S-1-16-12288",
        ] {
            let sid = Sid::parse(text).unwrap();
            let bytes = sid_to_bytes(&sid);
            assert_eq!(sid_from_bytes(&bytes).unwrap(), (sid, bytes.len()));
        }
        assert!(sid_from_bytes(&[2, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]).is_err());
        assert!(sid_from_bytes(&[1, 2, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]).is_err());
    }
}
