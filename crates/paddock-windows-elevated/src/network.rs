//! The network side of a level-2 run, decided without Win32 (tested on Linux): which sandbox
//! account a policy runs as, the command's environment (the proxy variables for an
//! allow-list), the proxy's port inside the fence's hole, and what the report says about it.
//!
//! Guarantees: `network = "off"` and an allow-list both run as the offline (fenced) account,
//! never the online one; an allow-list run's command gets `HTTP_PROXY`, `HTTPS_PROXY`,
//! `ALL_PROXY` and `NO_PROXY` naming the run's own proxy with the run's own credential in the
//! URLs (which the proxy requires), whatever it had before; the proxy
//! takes the first port of the hole it can bind, and when none is free the run is refused
//! with the ports and why each was refused.

use crate::errors::ElevatedError;
use crate::filters::PortRange;
use crate::fs_plan;
use crate::setup_plan::Role;
use paddock_core::SandboxSpec;
use paddock_core::policy::Network;
use paddock_core::spec::CommandSpec;
use paddock_proxy::Credential;
use std::ffi::OsString;
use std::io;
use std::net::Ipv4Addr;

/// The account a policy runs as: the fenced one for `"off"` and for an allow-list (the fence
/// leaves it only the proxy's loopback ports), the unfenced one for `"on"`.
pub fn role_for(network: &Network) -> Role {
    match network {
        Network::On => Role::Online,
        Network::Off | Network::Allowlist(_) => Role::Offline,
    }
}

/// The proxy variables an allow-list run's command gets, for the proxy on 127.0.0.1:`port`
/// that serves only `credential` (`http://paddock:TOKEN@127.0.0.1:PORT`).
/// Windows reads variable names without regard to case, so each name appears once
/// (`paddock_proxy::proxy_env` also lists the lower-case spellings, for Unix).
pub fn proxy_vars(port: u16, credential: &Credential) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for (k, v) in paddock_proxy::proxy_env(Ipv4Addr::LOCALHOST.into(), port, Some(credential)) {
        if !vars.iter().any(|(have, _)| have.eq_ignore_ascii_case(&k)) {
            vars.push((k, v));
        }
    }
    vars
}

/// The environment the broker sends the runner for `cmd`: the caller's variables without
/// git's `GIT_CONFIG_*` (replaced by `safe.directory` for the workspace and roots) and, with
/// an allow-list, without any proxy variable of the caller's (compared without regard to
/// case), then the variables of the run's proxy (its port and credential).
pub fn launch_env(
    spec: &SandboxSpec,
    cmd: &CommandSpec,
    proxy: Option<(u16, &Credential)>,
) -> Vec<(OsString, OsString)> {
    let proxy = proxy
        .map(|(port, credential)| proxy_vars(port, credential))
        .unwrap_or_default();
    let mut env: Vec<_> = cmd
        .env
        .iter()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            !k.to_ascii_uppercase().starts_with("GIT_CONFIG_")
                && !proxy.iter().any(|(p, _)| p.eq_ignore_ascii_case(&k))
        })
        .cloned()
        .collect();
    env.extend(fs_plan::git_safe_directory_env(spec));
    env.extend(proxy.into_iter().map(|(k, v)| (k.into(), v.into())));
    env
}

/// The proxy's port: the listener bound there, and the ports before it that could not be.
#[derive(Debug)]
pub struct ProxyPort<L> {
    pub listener: L,
    pub port: u16,
    /// Each port of the hole tried before `port`, with why its bind failed.
    pub taken: Vec<(u16, String)>,
}

/// Binds the first port of `range` that `bind` can take. A port in use or refused (Windows
/// answers `WSAEACCES` for a port another socket holds exclusively or that is reserved) is
/// skipped; any other failure refuses at once; so does a range with no free port, naming each
/// port and why.
pub fn first_free_port<L>(
    range: PortRange,
    mut bind: impl FnMut(u16) -> io::Result<L>,
) -> Result<ProxyPort<L>, ElevatedError> {
    let mut taken = Vec::new();
    for port in range.low..=range.high {
        match bind(port) {
            Ok(listener) => {
                return Ok(ProxyPort {
                    listener,
                    port,
                    taken,
                });
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied
                ) =>
            {
                taken.push((port, e.to_string()));
            }
            Err(e) => {
                return Err(ElevatedError::ProxyStart {
                    port,
                    reason: e.to_string(),
                });
            }
        }
    }
    Err(ElevatedError::ProxyPortsTaken {
        low: range.low,
        high: range.high,
        taken: describe_taken(&taken),
    })
}

/// `47800: <why its bind failed>; 47801: <why>`, one line.
pub fn describe_taken(taken: &[(u16, String)]) -> String {
    taken
        .iter()
        .map(|(port, why)| format!("{port}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the report says about a run's allow-list proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyReport {
    pub port: u16,
    /// How many entries the allow-list has.
    pub entries: usize,
    /// Ports of the hole another program held when the run started.
    pub taken: Vec<u16>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::DEFAULT_PROXY_PORTS;
    use std::path::PathBuf;

    fn spec(network: Network) -> SandboxSpec {
        SandboxSpec {
            mode: paddock_core::Mode::WorkspaceWrite,
            workspace: PathBuf::from(r"C:\Users\me\repo"),
            writable_roots: vec![PathBuf::from(r"C:\Users\me\repo")],
            protected: Vec::new(),
            deny_read: Vec::new(),
            network,
            allow_unenforced: Default::default(),
            windows_level: paddock_core::WindowsLevel::Elevated,
            watched: Vec::new(),
            repos: Vec::new(),
        }
    }

    fn cmd(env: &[(&str, &str)]) -> CommandSpec {
        CommandSpec {
            program: PathBuf::from(r"C:\Windows\System32\curl.exe"),
            args: Vec::new(),
            cwd: PathBuf::from(r"C:\Users\me\repo"),
            env: env.iter().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }

    fn value<'a>(env: &'a [(OsString, OsString)], name: &str) -> Vec<&'a OsString> {
        env.iter()
            .filter(|(k, _)| k.to_string_lossy().eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect()
    }

    #[test]
    fn an_allow_list_runs_as_the_fenced_account_never_the_online_one() {
        let allow = Network::Allowlist(vec!["crates.io".into()]);
        assert_eq!(role_for(&allow), Role::Offline);
        assert_eq!(role_for(&Network::Off), Role::Offline);
        assert_eq!(role_for(&Network::On), Role::Online);
    }

    #[test]
    fn an_allow_list_run_gets_the_proxy_variables_of_its_own_port_over_the_callers() {
        let s = spec(Network::Allowlist(vec!["crates.io".into()]));
        let c = cmd(&[
            ("https_proxy", "http://elsewhere:1"),
            ("ALL_PROXY", "socks5://elsewhere:2"),
            ("No_Proxy", "*"),
            ("PATH", r"C:\Windows"),
        ]);
        let credential = Credential::from_token("00112233445566778899aabbccddeeff").unwrap();
        let env = launch_env(&s, &c, Some((47803, &credential)));
        let http = "http://paddock:00112233445566778899aabbccddeeff@127.0.0.1:47803";
        for (name, want) in [
            ("HTTP_PROXY", http),
            ("HTTPS_PROXY", http),
            (
                "ALL_PROXY",
                "socks5h://paddock:00112233445566778899aabbccddeeff@127.0.0.1:47803",
            ),
            ("NO_PROXY", "localhost,127.0.0.1,::1"),
        ] {
            assert_eq!(
                value(&env, name),
                [&OsString::from(want)],
                "{name}: {env:?}"
            );
        }
        assert_eq!(value(&env, "PATH"), [&OsString::from(r"C:\Windows")]);
        assert!(
            !value(&env, "GIT_CONFIG_COUNT").is_empty(),
            "safe.directory is still set"
        );
    }

    #[test]
    fn without_an_allow_list_the_callers_proxy_variables_pass_and_none_are_added() {
        let s = spec(Network::On);
        let c = cmd(&[
            ("HTTPS_PROXY", "http://corp:3128"),
            ("GIT_CONFIG_COUNT", "9"),
        ]);
        let env = launch_env(&s, &c, None);
        assert_eq!(
            value(&env, "HTTPS_PROXY"),
            [&OsString::from("http://corp:3128")]
        );
        assert!(value(&env, "ALL_PROXY").is_empty());
        assert_ne!(
            value(&env, "GIT_CONFIG_COUNT"),
            [&OsString::from("9")],
            "the caller's GIT_CONFIG_* is replaced"
        );
    }

    fn busy(port: u16) -> io::Error {
        io::Error::new(io::ErrorKind::AddrInUse, format!("{port} in use"))
    }

    #[test]
    fn the_proxy_takes_the_first_port_of_the_hole_it_can_bind() {
        let mut tried = Vec::new();
        let got = first_free_port(DEFAULT_PROXY_PORTS, |p| {
            tried.push(p);
            Ok(p)
        })
        .unwrap();
        assert_eq!((got.port, got.listener), (47800, 47800));
        assert!(got.taken.is_empty());
        assert_eq!(tried, [47800]);
    }

    #[test]
    fn a_port_in_use_or_refused_falls_through_to_the_next() {
        let got = first_free_port(DEFAULT_PROXY_PORTS, |p| match p {
            47800 => Err(busy(p)),
            47801 => Err(io::Error::from(io::ErrorKind::PermissionDenied)),
            _ => Ok(p),
        })
        .unwrap();
        assert_eq!(got.port, 47802);
        assert_eq!(
            got.taken.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            [47800, 47801]
        );
    }

    #[test]
    fn all_ten_ports_taken_refuses_in_one_line_naming_them_and_the_way_out() {
        let mut tried = 0;
        let err = first_free_port(DEFAULT_PROXY_PORTS, |p| -> io::Result<()> {
            tried += 1;
            Err(busy(p))
        })
        .unwrap_err();
        assert_eq!(tried, 10, "every port of the hole is tried");
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        assert!(msg.contains("127.0.0.1:47800-47809"), "{msg}");
        assert!(msg.contains("47809: 47809 in use"), "{msg}");
        assert!(msg.contains("netstat"), "{msg}");
        assert!(msg.contains("network = \"on\" or \"off\""), "{msg}");
    }

    #[test]
    fn a_bind_failing_for_another_reason_refuses_at_once() {
        let mut tried = 0;
        let err = first_free_port(DEFAULT_PROXY_PORTS, |_| -> io::Result<()> {
            tried += 1;
            Err(io::Error::other("network stack down"))
        })
        .unwrap_err();
        assert_eq!(tried, 1);
        assert!(
            matches!(err, ElevatedError::ProxyStart { port: 47800, .. }),
            "{err}"
        );
    }
}
