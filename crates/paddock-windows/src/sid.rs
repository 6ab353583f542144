//! Security identifiers as plain values: parse and format `S-1-...`, the well-known SIDs the
//! backend reasons about, and synthetic per-root SIDs drawn from the OS CSPRNG.
//!
//! Guarantees: `Sid::parse(s.to_string()) == s` for every valid SID; a synthetic SID is never a
//! well-known SID and carries 128 bits from `getrandom` (never a userland PRNG).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Largest identifier authority (48 bits) and number of sub-authorities Windows accepts.
const MAX_AUTHORITY: u64 = (1 << 48) - 1;
const MAX_SUB_AUTHORITIES: usize = 15;

/// NT authority (`S-1-5-...`).
const NT_AUTHORITY: u64 = 5;
/// `S-1-5-21-...`: the shape of machine and domain account SIDs, and of Paddock's synthetic SIDs.
const NT_NON_UNIQUE: u32 = 21;
/// Mandatory label authority (`S-1-16-<level>`).
const MANDATORY_LABEL_AUTHORITY: u64 = 16;

/// A SID that cannot be used.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SidError {
    #[error("`{text}` is not a SID: {reason}; a SID looks like S-1-5-21-1-2-3-1001")]
    Parse { text: String, reason: &'static str },
    #[error(
        "the OS random generator failed ({message}); Paddock refuses to make a synthetic SID \
         from anything weaker"
    )]
    Random { message: String },
}

/// A Windows security identifier: revision 1, a 48-bit identifier authority and 1 to 15
/// sub-authorities.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid {
    authority: u64,
    subs: Vec<u32>,
}

impl Sid {
    /// Builds a SID; `authority` must fit 48 bits and `subs` hold 1 to 15 values.
    pub fn new(authority: u64, subs: &[u32]) -> Result<Sid, SidError> {
        let text = || format!("S-1-{authority}-{subs:?}");
        if authority > MAX_AUTHORITY {
            return Err(SidError::Parse {
                text: text(),
                reason: "authority exceeds 48 bits",
            });
        }
        if subs.is_empty() || subs.len() > MAX_SUB_AUTHORITIES {
            return Err(SidError::Parse {
                text: text(),
                reason: "needs 1 to 15 sub-authorities",
            });
        }
        Ok(Sid {
            authority,
            subs: subs.to_vec(),
        })
    }

    /// Parses `S-1-<authority>-<sub>...`; the authority may be decimal or `0x` hex (as SDDL
    /// prints authorities of 2^32 and above).
    pub fn parse(text: &str) -> Result<Sid, SidError> {
        let err = |reason| SidError::Parse {
            text: text.to_string(),
            reason,
        };
        let rest = text
            .strip_prefix("S-1-")
            .or_else(|| text.strip_prefix("s-1-"))
            .ok_or_else(|| err("must start with S-1-"))?;
        let mut parts = rest.split('-');
        let auth_text = parts.next().ok_or_else(|| err("missing authority"))?;
        let authority = match auth_text
            .strip_prefix("0x")
            .or_else(|| auth_text.strip_prefix("0X"))
        {
            Some(hex) => u64::from_str_radix(hex, 16).map_err(|_| err("bad hex authority"))?,
            None => auth_text.parse::<u64>().map_err(|_| err("bad authority"))?,
        };
        let subs = parts
            .map(|p| {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("sub-authorities are decimal numbers"));
                }
                p.parse::<u32>()
                    .map_err(|_| err("sub-authority exceeds 32 bits"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Sid::new(authority, &subs).map_err(|_| err("authority or sub-authority count out of range"))
    }

    pub fn authority(&self) -> u64 {
        self.authority
    }

    pub fn sub_authorities(&self) -> &[u32] {
        &self.subs
    }

    fn known(authority: u64, subs: &[u32]) -> Sid {
        Sid {
            authority,
            subs: subs.to_vec(),
        }
    }

    /// Everyone, `S-1-1-0`.
    pub fn everyone() -> Sid {
        Sid::known(1, &[0])
    }
    /// CREATOR OWNER, `S-1-3-0`: replaced by the new object's owner when inherited.
    pub fn creator_owner() -> Sid {
        Sid::known(3, &[0])
    }
    /// CREATOR GROUP, `S-1-3-1`.
    pub fn creator_group() -> Sid {
        Sid::known(3, &[1])
    }
    /// OWNER RIGHTS, `S-1-3-4`: when present, replaces the owner's implicit rights.
    pub fn owner_rights() -> Sid {
        Sid::known(3, &[4])
    }
    /// Authenticated Users, `S-1-5-11`.
    pub fn authenticated_users() -> Sid {
        Sid::known(NT_AUTHORITY, &[11])
    }
    /// RESTRICTED (restricted code), `S-1-5-12`.
    pub fn restricted_code() -> Sid {
        Sid::known(NT_AUTHORITY, &[12])
    }
    /// WRITE RESTRICTED, `S-1-5-33`.
    pub fn write_restricted_code() -> Sid {
        Sid::known(NT_AUTHORITY, &[33])
    }
    /// Local SYSTEM, `S-1-5-18`.
    pub fn local_system() -> Sid {
        Sid::known(NT_AUTHORITY, &[18])
    }
    /// BUILTIN\Administrators, `S-1-5-32-544`.
    pub fn builtin_administrators() -> Sid {
        Sid::known(NT_AUTHORITY, &[32, 544])
    }
    /// BUILTIN\Users, `S-1-5-32-545`.
    pub fn builtin_users() -> Sid {
        Sid::known(NT_AUTHORITY, &[32, 545])
    }
    /// The logon-session SID `S-1-5-5-<high>-<low>`.
    pub fn logon(high: u32, low: u32) -> Sid {
        Sid::known(NT_AUTHORITY, &[5, high, low])
    }
    /// A mandatory integrity label `S-1-16-<rid>` (0x2000 medium, 0x1000 low).
    pub fn integrity_label(rid: u32) -> Sid {
        Sid::known(MANDATORY_LABEL_AUTHORITY, &[rid])
    }

    /// True for a logon-session SID (`S-1-5-5-X-Y`).
    pub fn is_logon(&self) -> bool {
        self.authority == NT_AUTHORITY && self.subs.len() == 3 && self.subs[0] == 5
    }

    /// True for a mandatory integrity label (`S-1-16-X`).
    pub fn is_integrity_label(&self) -> bool {
        self.authority == MANDATORY_LABEL_AUTHORITY && self.subs.len() == 1
    }

    /// A fresh synthetic SID for one writable root: `S-1-5-21-<r1>-<r2>-<r3>-<r4>`, the four
    /// sub-authorities drawn from the OS CSPRNG.
    ///
    /// Why this shape: restricting SIDs are matched by the ordinary DACL walk, so any SID works,
    /// but capability SIDs (`S-1-15-3-...`) get AppContainer-specific treatment in AccessCheck and
    /// are best avoided for a non-AppContainer token; an `S-1-5-21` SID is treated exactly like an
    /// account SID by every tool (`icacls` shows it as an unknown account). Machine and domain
    /// SIDs use three random 32-bit values plus a RID; ours uses four random values, so a clash
    /// with a real account needs a 2^-128 coincidence, and nobody can guess it to plant an ACE.
    pub fn synthetic() -> Result<Sid, SidError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| SidError::Random {
            message: e.to_string(),
        })?;
        let mut subs = [NT_NON_UNIQUE, 0, 0, 0, 0];
        for (i, chunk) in bytes.chunks_exact(4).enumerate() {
            subs[i + 1] = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Ok(Sid::known(NT_AUTHORITY, &subs))
    }

    /// True when this SID has the shape `synthetic` produces (`S-1-5-21-a-b-c-d`).
    pub fn has_synthetic_shape(&self) -> bool {
        self.authority == NT_AUTHORITY && self.subs.len() == 5 && self.subs[0] == NT_NON_UNIQUE
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.authority >= 1 << 32 {
            write!(f, "S-1-0x{:012X}", self.authority)?;
        } else {
            write!(f, "S-1-{}", self.authority)?;
        }
        for s in &self.subs {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({self})")
    }
}

impl FromStr for Sid {
    type Err = SidError;
    fn from_str(s: &str) -> Result<Sid, SidError> {
        Sid::parse(s)
    }
}

impl Serialize for Sid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Sid, D::Error> {
        let text = String::deserialize(d)?;
        Sid::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_sids_format_as_documented() {
        assert_eq!(Sid::everyone().to_string(), "S-1-1-0");
        assert_eq!(Sid::authenticated_users().to_string(), "S-1-5-11");
        assert_eq!(Sid::builtin_users().to_string(), "S-1-5-32-545");
        assert_eq!(Sid::builtin_administrators().to_string(), "S-1-5-32-544");
        assert_eq!(Sid::local_system().to_string(), "S-1-5-18");
        assert_eq!(Sid::creator_owner().to_string(), "S-1-3-0");
        assert_eq!(Sid::owner_rights().to_string(), "S-1-3-4");
        assert_eq!(Sid::restricted_code().to_string(), "S-1-5-12");
        assert_eq!(Sid::write_restricted_code().to_string(), "S-1-5-33");
        assert_eq!(Sid::integrity_label(0x2000).to_string(), "S-1-16-8192");
    }

    #[test]
    fn parse_and_format_round_trip() {
        for text in [
            "S-1-5-21-3623811015-3361044348-30300820-1013",
            "S-1-1-0",
            "S-1-5-5-0-123456",
        ] {
            assert_eq!(Sid::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn large_authority_uses_hex_like_sddl() {
        let sid = Sid::new(1 << 40, &[7]).unwrap();
        assert_eq!(sid.to_string(), "S-1-0x010000000000-7");
        assert_eq!(Sid::parse(&sid.to_string()).unwrap(), sid);
    }

    #[test]
    fn malformed_sids_are_rejected() {
        for bad in [
            "",
            "S-1",
            "S-1-5",
            "S-2-5-18",
            "S-1-5-x",
            "S-1-5--18",
            "S-1-5-4294967296",
            "S-1-281474976710656-1",
            "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
        ] {
            assert!(Sid::parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn logon_sid_pattern_is_recognised() {
        assert!(Sid::logon(0, 0x3e7).is_logon());
        assert!(Sid::parse("S-1-5-5-0-99").unwrap().is_logon());
        assert!(!Sid::everyone().is_logon());
        assert!(!Sid::parse("S-1-5-5-1").unwrap().is_logon());
    }

    #[test]
    fn synthetic_sids_are_distinct_and_not_well_known() {
        let a = Sid::synthetic().unwrap();
        let b = Sid::synthetic().unwrap();
        assert_ne!(a, b);
        assert!(a.has_synthetic_shape());
        for known in [
            Sid::everyone(),
            Sid::local_system(),
            Sid::builtin_users(),
            Sid::logon(0, 1),
        ] {
            assert_ne!(a, known);
            assert!(!known.has_synthetic_shape());
        }
        assert_eq!(Sid::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn serde_uses_the_string_form() {
        let sid = Sid::builtin_users();
        let json = serde_json::to_string(&sid).unwrap();
        assert_eq!(json, "\"S-1-5-32-545\"");
        assert_eq!(serde_json::from_str::<Sid>(&json).unwrap(), sid);
        assert!(serde_json::from_str::<Sid>("\"S-9\"").is_err());
    }
}
