//! The network fence as data: Paddock's persistent WFP sublayer and the filters in it (block
//! every connect of the offline account at `FWPM_LAYER_ALE_AUTH_CONNECT_V4/V6`, permit loopback
//! connects to the proxy port range only; block its every listen and every inbound accept at
//! `FWPM_LAYER_ALE_AUTH_LISTEN_V4/V6` and `FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4/V6`), with stable
//! GUIDs, plus a model of how WFP arbitrates inside the sublayer so the spec can be judged by
//! tests.
//!
//! Guarantees: `fence` is deterministic (same account and ports, same spec, same GUIDs), so
//! setup can compare what is installed with what is wanted and reconcile; the account is
//! matched through `FWPM_CONDITION_ALE_USER_ID` with a security descriptor granting
//! `FWP_ACTRL_MATCH_FILTER` to its SID, judged here by the level-1 access model.

use paddock_windows::access::{TokenModel, access_check};
use paddock_windows::acl::{Ace, AceFlags, Acl, SecurityDescriptor};
use paddock_windows::mask::AccessMask;
use paddock_windows::sid::Sid;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A GUID as WFP stores it (`GUID { Data1, Data2, Data3, Data4 }`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid {
    pub data1: u32,
    pub data2: u16,
    pub data3: u16,
    pub data4: [u8; 8],
}

impl Guid {
    /// From the 128-bit big-endian reading of `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    pub const fn from_u128(v: u128) -> Guid {
        let b = v.to_be_bytes();
        Guid {
            data1: (v >> 96) as u32,
            data2: (v >> 80) as u16,
            data3: (v >> 64) as u16,
            data4: [b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]],
        }
    }

    pub fn to_u128(self) -> u128 {
        let mut v =
            (self.data1 as u128) << 96 | (self.data2 as u128) << 80 | (self.data3 as u128) << 64;
        for (i, b) in self.data4.iter().enumerate() {
            v |= (*b as u128) << (56 - 8 * i);
        }
        v
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.to_u128();
        write!(
            f,
            "{{{:08x}-{:04x}-{:04x}-{:04x}-{:012x}}}",
            v >> 96,
            (v >> 80) & 0xffff,
            (v >> 64) & 0xffff,
            (v >> 48) & 0xffff,
            v & 0xffff_ffff_ffff
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Guid {
    type Err = String;
    fn from_str(s: &str) -> Result<Guid, String> {
        let bad = || format!("`{s}` is not a GUID like {{6d1e2a3b-0000-4000-8000-000000000000}}");
        let inner = s
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(s);
        let parts: Vec<&str> = inner.split('-').collect();
        let lens = [8, 4, 4, 4, 12];
        if parts.len() != 5
            || parts
                .iter()
                .zip(lens)
                .any(|(p, l)| p.len() != l || !p.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(bad());
        }
        let v = u128::from_str_radix(&parts.concat(), 16).map_err(|_| bad())?;
        Ok(Guid::from_u128(v))
    }
}

impl Serialize for Guid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Guid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Guid, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Paddock's persistent sublayer.
pub const SUBLAYER_KEY: Guid = Guid::from_u128(0x42736f7e_bfc8_496f_a1c4_8d41466b7d7f);
/// Block every IPv4 connect of the offline account.
pub const BLOCK_V4_KEY: Guid = Guid::from_u128(0x006b1e76_d138_453f_921c_691423e43c01);
/// Block every IPv6 connect of the offline account.
pub const BLOCK_V6_KEY: Guid = Guid::from_u128(0x018fe53a_b6c4_4ea2_bd0f_a2e54298ecbf);
/// Permit the offline account's loopback IPv4 connects to the proxy port range.
pub const PROXY_V4_KEY: Guid = Guid::from_u128(0xdc475c89_6318_4d16_a9d4_3e4c99fa890e);
/// Permit the offline account's loopback IPv6 connects to the proxy port range.
pub const PROXY_V6_KEY: Guid = Guid::from_u128(0x554f440c_1a5f_411d_8c96_37c09a94abc0);
/// Block every IPv4 listen of the offline account.
pub const LISTEN_V4_KEY: Guid = Guid::from_u128(0x3c5d7f1a_9e2b_4c8d_b1a6_0f4e2d9c7b31);
/// Block every IPv6 listen of the offline account.
pub const LISTEN_V6_KEY: Guid = Guid::from_u128(0x7a1e4b9c_2d6f_4e83_9c5a_b8d0f3e6a142);
/// Block every inbound IPv4 connection the offline account would accept.
pub const ACCEPT_V4_KEY: Guid = Guid::from_u128(0xc2f8a6d4_5b1e_47a9_8e3d_6a9b0c4f2e53);
/// Block every inbound IPv6 connection the offline account would accept.
pub const ACCEPT_V6_KEY: Guid = Guid::from_u128(0x9e4b2c7a_f1d3_4a56_a7c8_2e5f9b1d0c64);

/// Every filter key any version of the fence used: uninstall and reinstall delete them all, so
/// a fence recorded by an older setup (fewer filters) leaves nothing behind.
pub const ALL_FILTER_KEYS: [Guid; 8] = [
    BLOCK_V4_KEY,
    BLOCK_V6_KEY,
    PROXY_V4_KEY,
    PROXY_V6_KEY,
    LISTEN_V4_KEY,
    LISTEN_V6_KEY,
    ACCEPT_V4_KEY,
    ACCEPT_V6_KEY,
];

/// The loopback ports a Windows allow-list proxy would listen on (not wired yet: Windows
/// refuses allow-lists, see docs/windows.md); the only loopback hole in the offline fence.
pub const DEFAULT_PROXY_PORTS: PortRange = PortRange {
    low: 47_800,
    high: 47_809,
};

/// `FWP_ACTRL_MATCH_FILTER`: the right a user-ID condition's descriptor grants to match.
pub const FWP_ACTRL_MATCH_FILTER: u32 = 0x1;

/// The ALE layers the fence uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// `FWPM_LAYER_ALE_AUTH_CONNECT_V4`
    AleAuthConnectV4,
    /// `FWPM_LAYER_ALE_AUTH_CONNECT_V6`
    AleAuthConnectV6,
    /// `FWPM_LAYER_ALE_AUTH_LISTEN_V4`
    AleAuthListenV4,
    /// `FWPM_LAYER_ALE_AUTH_LISTEN_V6`
    AleAuthListenV6,
    /// `FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4`
    AleAuthRecvAcceptV4,
    /// `FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6`
    AleAuthRecvAcceptV6,
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub low: u16,
    pub high: u16,
}

/// One filter condition (all conditions of a filter must match).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "field")]
pub enum Condition {
    /// `FWPM_CONDITION_ALE_USER_ID` `FWP_MATCH_EQUAL` a descriptor (SDDL) granting
    /// `FWP_ACTRL_MATCH_FILTER` to the account.
    UserId { sddl: String },
    /// `FWPM_CONDITION_FLAGS` with `FWP_CONDITION_FLAG_IS_LOOPBACK` set.
    IsLoopback,
    /// `FWPM_CONDITION_IP_REMOTE_PORT` in the range.
    RemotePort { range: PortRange },
}

/// What a matching filter does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Block,
    Permit,
}

/// One persistent filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterSpec {
    pub key: Guid,
    pub name: String,
    pub layer: Layer,
    pub action: Action,
    /// `FWP_UINT8` weight inside the sublayer: the highest matching filter decides.
    pub weight: u8,
    pub conditions: Vec<Condition>,
}

/// The sublayer holding Paddock's filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SublayerSpec {
    pub key: Guid,
    pub name: String,
    pub weight: u16,
}

/// Everything the fence installs, in one WFP transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceSpec {
    pub sublayer: SublayerSpec,
    pub filters: Vec<FilterSpec>,
}

/// The descriptor the user-ID condition carries: SYSTEM owns it; `account` may match.
pub fn user_descriptor(account: &Sid) -> SecurityDescriptor {
    SecurityDescriptor {
        owner: Some(Sid::local_system()),
        group: Some(Sid::local_system()),
        dacl: Some(Acl::new(vec![Ace::allow(
            account.clone(),
            AccessMask(FWP_ACTRL_MATCH_FILTER),
            AceFlags::NONE,
        )])),
        protected: false,
    }
}

/// The filter keys install and uninstall delete before anything else: every key any version of
/// the fence used, then any other key `spec` holds (a fence recorded by an older or newer
/// Paddock leaves nothing behind).
pub fn keys_to_delete(spec: &FenceSpec) -> Vec<Guid> {
    let mut keys = ALL_FILTER_KEYS.to_vec();
    for f in &spec.filters {
        if !keys.contains(&f.key) {
            keys.push(f.key);
        }
    }
    keys
}

/// The fence for the offline account `offline`, with a loopback hole for `proxy` ports.
pub fn fence(offline: &Sid, proxy: PortRange) -> FenceSpec {
    let user = Condition::UserId {
        sddl: user_descriptor(offline).to_sddl(),
    };
    let block = |key, layer, what: &str| FilterSpec {
        key,
        name: format!("Paddock: block offline sandbox account ({what})"),
        layer,
        action: Action::Block,
        weight: 1,
        conditions: vec![user.clone()],
    };
    let proxy_hole = |key, layer, v: &str| FilterSpec {
        key,
        name: format!("Paddock: offline account may reach the loopback proxy ({v})"),
        layer,
        action: Action::Permit,
        weight: 10,
        conditions: vec![
            user.clone(),
            Condition::IsLoopback,
            Condition::RemotePort { range: proxy },
        ],
    };
    FenceSpec {
        sublayer: SublayerSpec {
            key: SUBLAYER_KEY,
            name: "Paddock sandbox network fence".into(),
            weight: 0x8000,
        },
        filters: vec![
            block(BLOCK_V4_KEY, Layer::AleAuthConnectV4, "IPv4"),
            block(BLOCK_V6_KEY, Layer::AleAuthConnectV6, "IPv6"),
            proxy_hole(PROXY_V4_KEY, Layer::AleAuthConnectV4, "IPv4"),
            proxy_hole(PROXY_V6_KEY, Layer::AleAuthConnectV6, "IPv6"),
            block(LISTEN_V4_KEY, Layer::AleAuthListenV4, "IPv4 listen"),
            block(LISTEN_V6_KEY, Layer::AleAuthListenV6, "IPv6 listen"),
            block(ACCEPT_V4_KEY, Layer::AleAuthRecvAcceptV4, "IPv4 inbound"),
            block(ACCEPT_V6_KEY, Layer::AleAuthRecvAcceptV6, "IPv6 inbound"),
        ],
    }
}

/// What a socket does, and so which ALE layer classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// An outbound connect (`ALE_AUTH_CONNECT`).
    Connect,
    /// `listen()` on a TCP socket (`ALE_AUTH_LISTEN`).
    Listen,
    /// Accepting an inbound connection or first inbound datagram (`ALE_AUTH_RECV_ACCEPT`).
    Accept,
}

/// One socket operation, as the ALE layers classify it.
#[derive(Debug, Clone)]
pub struct Connect {
    /// The token of the socket's process (or of the thread it impersonates).
    pub token: TokenModel,
    pub op: Op,
    pub v6: bool,
    pub loopback: bool,
    /// The remote port (for a listen, unused).
    pub remote_port: u16,
}

impl Condition {
    fn matches(&self, c: &Connect) -> bool {
        match self {
            Condition::UserId { sddl } => SecurityDescriptor::parse(sddl).is_ok_and(|sd| {
                access_check(&c.token, &sd, AccessMask(FWP_ACTRL_MATCH_FILTER)).allowed()
            }),
            Condition::IsLoopback => c.loopback,
            Condition::RemotePort { range } => (range.low..=range.high).contains(&c.remote_port),
        }
    }
}

/// What Paddock's sublayer decides for `c`: the action of the highest-weight matching filter,
/// or `None` when none matches (other sublayers decide).
pub fn decide(spec: &FenceSpec, c: &Connect) -> Option<Action> {
    let layer = match (c.op, c.v6) {
        (Op::Connect, false) => Layer::AleAuthConnectV4,
        (Op::Connect, true) => Layer::AleAuthConnectV6,
        (Op::Listen, false) => Layer::AleAuthListenV4,
        (Op::Listen, true) => Layer::AleAuthListenV6,
        (Op::Accept, false) => Layer::AleAuthRecvAcceptV4,
        (Op::Accept, true) => Layer::AleAuthRecvAcceptV6,
    };
    spec.filters
        .iter()
        .filter(|f| f.layer == layer && f.conditions.iter().all(|k| k.matches(c)))
        .max_by_key(|f| f.weight)
        .map(|f| f.action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_windows::access::GroupState;

    fn offline() -> Sid {
        Sid::parse("S-1-5-21-111-222-333-1010").unwrap()
    }
    fn online() -> Sid {
        Sid::parse("S-1-5-21-111-222-333-1011").unwrap()
    }

    fn connect(user: Sid, v6: bool, loopback: bool, port: u16) -> Connect {
        Connect {
            token: TokenModel::user(user, &[Sid::builtin_users(), Sid::everyone()]),
            op: Op::Connect,
            v6,
            loopback,
            remote_port: port,
        }
    }

    #[test]
    fn guid_text_round_trips_and_matches_the_registry_spelling() {
        assert_eq!(
            SUBLAYER_KEY.to_string(),
            "{42736f7e-bfc8-496f-a1c4-8d41466b7d7f}"
        );
        for g in [SUBLAYER_KEY, BLOCK_V4_KEY, PROXY_V6_KEY] {
            assert_eq!(g.to_string().parse::<Guid>().unwrap(), g);
        }
        assert_eq!(SUBLAYER_KEY.data1, 0x42736f7e);
        assert_eq!(
            SUBLAYER_KEY.data4,
            [0xa1, 0xc4, 0x8d, 0x41, 0x46, 0x6b, 0x7d, 0x7f]
        );
        assert!("{42736f7e-bfc8-496f-a1c4}".parse::<Guid>().is_err());
        assert!(
            "42736f7e-bfc8-496f-a1c4-8d41466b7dzz"
                .parse::<Guid>()
                .is_err()
        );
    }

    #[test]
    fn fence_spec_round_trips_through_json() {
        let spec = fence(&offline(), DEFAULT_PROXY_PORTS);
        let text = serde_json::to_string_pretty(&spec).unwrap();
        let back: FenceSpec = serde_json::from_str(&text).unwrap();
        assert_eq!(back, spec);
        assert!(text.contains("ale-auth-connect-v6"), "{text}");
    }

    #[test]
    fn fence_is_deterministic_and_keys_are_stable() {
        let a = fence(&offline(), DEFAULT_PROXY_PORTS);
        assert_eq!(a, fence(&offline(), DEFAULT_PROXY_PORTS));
        let keys: Vec<Guid> = a.filters.iter().map(|f| f.key).collect();
        assert_eq!(keys, ALL_FILTER_KEYS);
        assert_ne!(
            a,
            fence(&online(), DEFAULT_PROXY_PORTS),
            "the account is part of the spec"
        );
    }

    #[test]
    fn offline_account_connect_to_outside_is_blocked_on_both_families() {
        let spec = fence(&offline(), DEFAULT_PROXY_PORTS);
        for v6 in [false, true] {
            assert_eq!(
                decide(&spec, &connect(offline(), v6, false, 443)),
                Some(Action::Block)
            );
        }
    }

    #[test]
    fn offline_account_loopback_outside_the_proxy_range_is_blocked() {
        let spec = fence(&offline(), DEFAULT_PROXY_PORTS);
        assert_eq!(
            decide(&spec, &connect(offline(), false, true, 8080)),
            Some(Action::Block)
        );
        assert_eq!(
            decide(&spec, &connect(offline(), false, false, 47_800)),
            Some(Action::Block),
            "the proxy ports are open on loopback only"
        );
    }

    #[test]
    fn offline_account_cannot_listen_or_accept_inbound_on_either_family() {
        let spec = fence(&offline(), DEFAULT_PROXY_PORTS);
        for op in [Op::Listen, Op::Accept] {
            for v6 in [false, true] {
                for loopback in [false, true] {
                    for port in [80, 47_800] {
                        let c = Connect {
                            op,
                            ..connect(offline(), v6, loopback, port)
                        };
                        assert_eq!(
                            decide(&spec, &c),
                            Some(Action::Block),
                            "{op:?} v6={v6} loopback={loopback} port={port}"
                        );
                    }
                }
            }
        }
        let layers: Vec<Layer> = spec
            .filters
            .iter()
            .filter(|f| f.action == Action::Block)
            .map(|f| f.layer)
            .collect();
        for l in [
            Layer::AleAuthListenV4,
            Layer::AleAuthListenV6,
            Layer::AleAuthRecvAcceptV4,
            Layer::AleAuthRecvAcceptV6,
        ] {
            assert!(layers.contains(&l), "{l:?} has no block filter");
        }
    }

    #[test]
    fn uninstall_deletes_the_inbound_filters_even_for_a_fence_recorded_without_them() {
        let mut old = fence(&offline(), DEFAULT_PROXY_PORTS);
        old.filters
            .retain(|f| matches!(f.layer, Layer::AleAuthConnectV4 | Layer::AleAuthConnectV6));
        let keys = keys_to_delete(&old);
        for k in [LISTEN_V4_KEY, LISTEN_V6_KEY, ACCEPT_V4_KEY, ACCEPT_V6_KEY] {
            assert!(keys.contains(&k), "{k} would survive uninstall");
        }
        let mut odd = old.clone();
        odd.filters[0].key = Guid::from_u128(1);
        assert!(keys_to_delete(&odd).contains(&Guid::from_u128(1)));
    }

    #[test]
    fn online_account_and_real_user_may_listen_and_accept() {
        let spec = fence(&offline(), DEFAULT_PROXY_PORTS);
        let me = Sid::parse("S-1-5-21-9-9-9-1001").unwrap();
        for who in [online(), me] {
            for op in [Op::Listen, Op::Accept] {
                let c = Connect {
                    op,
                    ..connect(who.clone(), false, false, 80)
                };
                assert_eq!(decide(&spec, &c), None);
            }
        }
    }

    #[test]
    fn offline_account_reaches_the_loopback_proxy_ports() {
        let spec = fence(&offline(), DEFAULT_PROXY_PORTS);
        for port in [47_800, 47_809] {
            for v6 in [false, true] {
                assert_eq!(
                    decide(&spec, &connect(offline(), v6, true, port)),
                    Some(Action::Permit)
                );
            }
        }
    }

    #[test]
    fn online_account_and_real_user_are_not_matched_by_the_fence() {
        let spec = fence(&offline(), DEFAULT_PROXY_PORTS);
        assert_eq!(decide(&spec, &connect(online(), false, false, 443)), None);
        let me = Sid::parse("S-1-5-21-9-9-9-1001").unwrap();
        assert_eq!(decide(&spec, &connect(me, true, false, 443)), None);
    }

    #[test]
    fn offline_restricted_token_is_still_matched() {
        let spec = fence(&offline(), DEFAULT_PROXY_PORTS);
        let mut c = connect(offline(), false, false, 443);
        c.token.restricting = vec![Sid::parse("S-1-5-21-5-6-7-8").unwrap()];
        c.token.write_restricted = true;
        assert_eq!(decide(&spec, &c), Some(Action::Block));
    }

    /// srt's documented residual, kept visible: a deny-only copy of the offline token (or an
    /// anonymous impersonation) does not match a user-SID filter. The session probe (see
    /// `probe`) and docs/windows.md carry it; this test fails if the model ever hides it.
    #[test]
    fn residual_deny_only_copy_of_the_offline_token_is_not_matched() {
        let spec = fence(&offline(), DEFAULT_PROXY_PORTS);
        let mut c = connect(offline(), false, false, 443);
        c.token.user_state = GroupState::DenyOnly;
        assert_eq!(decide(&spec, &c), None);
    }
}
