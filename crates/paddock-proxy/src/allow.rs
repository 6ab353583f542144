//! The allow-list: which hosts the proxy may connect to, and which addresses a name may resolve
//! to. Entries are exact names, `*.suffix` (subdomains only, not the suffix itself) and IP
//! literals; matching is case-insensitive and ignores a trailing dot.

use std::net::IpAddr;
use thiserror::Error;

/// An allow-list entry that cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AllowListError {
    #[error(
        "network allow-list entry `{entry}` is not a host name, `*.suffix` or IP address; \
         write hosts without scheme, port or path (e.g. \"crates.io\", \"*.npmjs.org\")"
    )]
    Invalid { entry: String },
}

/// How a host matched the allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The name (or IP literal) is listed as such: any address it resolves to is accepted.
    Exact(String),
    /// Matched by `*.suffix`: addresses in loopback, private, link-local and other non-public
    /// ranges are refused (a wildcard must not let a DNS answer reach the host's own services).
    Wildcard(String),
}

/// The parsed `network = { allow = [...] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    exact: Vec<String>,
    suffixes: Vec<String>,
    ips: Vec<IpAddr>,
}

fn normalize(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// An IP literal as written in a URL or CONNECT target (`[::1]` or `::1`, `127.0.0.1`).
pub fn ip_literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

impl AllowList {
    /// Parses the entries; one bad entry refuses the whole list.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, AllowListError> {
        let mut list = AllowList::default();
        for raw in entries {
            let entry = raw.as_ref().trim();
            let invalid = || AllowListError::Invalid {
                entry: raw.as_ref().to_string(),
            };
            if let Some(ip) = ip_literal(entry) {
                list.ips.push(ip);
            } else if let Some(suffix) = entry.strip_prefix("*.") {
                let suffix = normalize(suffix);
                if !valid_name(&suffix) {
                    return Err(invalid());
                }
                list.suffixes.push(suffix);
            } else {
                let name = normalize(entry);
                if !valid_name(&name) {
                    return Err(invalid());
                }
                list.exact.push(name);
            }
        }
        Ok(list)
    }

    /// Whether `host` (a name or an IP literal, as the client sent it) is listed, and how.
    pub fn matches(&self, host: &str) -> Option<Match> {
        if let Some(ip) = ip_literal(host) {
            return self.ips.contains(&ip).then(|| Match::Exact(ip.to_string()));
        }
        let host = normalize(host);
        if !valid_name(&host) {
            return None;
        }
        if self.exact.contains(&host) {
            return Some(Match::Exact(host));
        }
        self.suffixes
            .iter()
            .find(|s| {
                host.len() > s.len() + 1
                    && host.ends_with(s.as_str())
                    && host.as_bytes()[host.len() - s.len() - 1] == b'.'
            })
            .map(|s| Match::Wildcard(format!("*.{s}")))
    }
}

/// Whether `ip` is outside the public internet: loopback, private (RFC 1918, ULA), link-local,
/// shared (CGNAT), unspecified, multicast, broadcast, documentation or IPv4-mapped forms of them.
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_non_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(entries).unwrap()
    }

    #[test]
    fn exact_names_match_case_insensitively_and_without_trailing_dot() {
        let l = list(&["crates.io"]);
        assert!(matches!(l.matches("Crates.IO."), Some(Match::Exact(_))));
        assert_eq!(l.matches("static.crates.io"), None);
        assert_eq!(l.matches("evilcrates.io"), None);
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let l = list(&["*.npmjs.org"]);
        assert!(matches!(
            l.matches("registry.npmjs.org"),
            Some(Match::Wildcard(_))
        ));
        assert!(l.matches("a.b.npmjs.org").is_some());
        assert_eq!(l.matches("npmjs.org"), None);
        assert_eq!(l.matches("evilnpmjs.org"), None);
        assert_eq!(l.matches("npmjs.org.evil.com"), None);
    }

    #[test]
    fn ip_literals_match_only_when_listed_as_such() {
        let l = list(&["127.0.0.1", "*.0.0.1", "::1"]);
        assert!(l.matches("127.0.0.1").is_some());
        assert!(l.matches("[::1]").is_some());
        assert_eq!(
            l.matches("10.0.0.1"),
            None,
            "a wildcard never matches an IP"
        );
        assert_eq!(list(&["localhost"]).matches("127.0.0.1"), None);
    }

    #[test]
    fn entries_with_scheme_port_or_path_are_refused() {
        for bad in [
            "https://crates.io",
            "crates.io:443",
            "crates.io/x",
            "",
            "*.",
        ] {
            assert!(AllowList::parse(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn non_public_ranges_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_non_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "151.101.0.1", "2a04:4e42::1"] {
            assert!(!is_non_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
