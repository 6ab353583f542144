//! Paddock's allow-list proxy: HTTP CONNECT tunnels, plain HTTP forwarding and SOCKS5 CONNECT
//! (on the same port, told apart by the first byte), to hosts of the
//! `network = { allow = [...] }` list only. It resolves names itself, once, and connects to the
//! very addresses it checked (no second lookup a DNS answer could change in between); every
//! decision, allowed or refused, is recorded in a `NetworkLog`. TLS is tunnelled, not inspected.
//! With a `Credential` (a random token per run), only clients presenting it are served: HTTP
//! and CONNECT without it get 407, SOCKS5 without it the protocol's refusal, each recorded.

mod allow;
mod credential;
mod http;
mod socks;

pub use allow::{AllowList, AllowListError, Match, ip_literal, is_non_public};
pub use credential::{Credential, CredentialError};

use paddock_core::{NetworkEvent, NetworkLog};
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Turns a host name and port into addresses (the system resolver unless replaced).
pub type Resolver = Arc<dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync>;

/// How long a client may take to send its request head, and a connect to the upstream host.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The proxy's configuration: what it allows, where it records, how it resolves names.
#[derive(Clone)]
pub struct Proxy {
    allow: Arc<AllowList>,
    log: NetworkLog,
    resolve: Resolver,
    /// When set, the only credential a client is served with.
    credential: Option<Arc<Credential>>,
}

/// A running proxy; dropping it stops accepting (connections already relayed run to their end).
pub struct ProxyHandle {
    listener: TcpListener,
    /// Set before the accept loop is woken: the connection that wakes it is not served.
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What the proxy decided for one request.
struct Decision {
    addrs: Vec<SocketAddr>,
    reason: String,
}

impl Proxy {
    /// A proxy for `allow`, recording in `log`, resolving with the system resolver.
    pub fn new(allow: AllowList, log: NetworkLog) -> Proxy {
        Proxy {
            allow: Arc::new(allow),
            log,
            resolve: Arc::new(|host, port| Ok((host, port).to_socket_addrs()?.collect())),
            credential: None,
        }
    }

    /// Serves only clients that present `credential` (`Proxy-Authorization: Basic` for HTTP
    /// and CONNECT, username/password for SOCKS5); the others are refused and recorded.
    pub fn with_credential(mut self, credential: Credential) -> Proxy {
        self.credential = Some(Arc::new(credential));
        self
    }

    /// Replaces the resolver (tests use it to answer names with chosen addresses).
    pub fn with_resolver(mut self, resolve: Resolver) -> Proxy {
        self.resolve = resolve;
        self
    }

    /// Serves every connection `listener` accepts, one thread each, until the handle is dropped.
    pub fn serve(self, listener: TcpListener) -> io::Result<ProxyHandle> {
        let accepting = listener.try_clone()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("paddock-proxy".into())
            .spawn(move || {
                for client in accepting.incoming() {
                    let Ok(client) = client else { break };
                    if stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    let proxy = self.clone();
                    let _ = std::thread::Builder::new()
                        .name("paddock-proxy-conn".into())
                        .spawn(move || proxy.handle(client));
                }
            })?;
        Ok(ProxyHandle {
            listener,
            stop,
            thread: Some(thread),
        })
    }

    fn record(&self, kind: &str, host: &str, port: u16, outcome: (bool, Option<String>, &str)) {
        let (allowed, address, reason) = outcome;
        self.log.record(NetworkEvent {
            kind: kind.into(),
            host: host.into(),
            port,
            allowed,
            address,
            reason: reason.into(),
        });
    }

    /// Checks `host:port` against the list and resolves it, once.
    fn decide(&self, host: &str, port: u16) -> Result<Decision, (String, Option<String>)> {
        let Some(matched) = self.allow.matches(host) else {
            let reason = if ip_literal(host).is_some() {
                "IP address not in the allow-list; a name listed for it does not count, add \
                 the address itself to network.allow"
            } else {
                "not in the allow-list; add it to network.allow"
            };
            return Err((reason.into(), None));
        };
        if let Some(ip) = ip_literal(host) {
            return Ok(Decision {
                addrs: vec![SocketAddr::new(ip, port)],
                reason: format!("IP address {ip} listed"),
            });
        }
        let addrs = (self.resolve)(host, port)
            .map_err(|e| (format!("cannot resolve {host}: {e}"), None))?;
        let (addrs, reason) = match matched {
            Match::Exact(name) => (addrs, format!("listed as {name}")),
            Match::Wildcard(entry) => {
                let public: Vec<SocketAddr> = addrs
                    .iter()
                    .copied()
                    .filter(|a| !is_non_public(a.ip()))
                    .collect();
                if public.is_empty()
                    && let Some(first) = addrs.first()
                {
                    return Err((
                        format!(
                            "{host} matches {entry} but resolves to the non-public address {}; \
                             list the host itself to allow it",
                            first.ip()
                        ),
                        Some(first.ip().to_string()),
                    ));
                }
                (public, format!("matches {entry}"))
            }
        };
        if addrs.is_empty() {
            return Err((format!("{host} resolves to no address"), None));
        }
        Ok(Decision { addrs, reason })
    }

    /// Checks, resolves and connects to what a client asked for, recording the decision.
    fn open(&self, kind: &str, host: &str, port: u16) -> Result<TcpStream, Refusal> {
        let decision = match self.decide(host, port) {
            Ok(d) => d,
            Err((reason, address)) => {
                self.record(kind, host, port, (false, address, &reason));
                return Err(Refusal::Denied(reason));
            }
        };
        match connect_any(&decision.addrs) {
            Ok(upstream) => {
                let address = upstream.peer_addr().ok().map(|a| a.to_string());
                self.record(kind, host, port, (true, address, &decision.reason));
                Ok(upstream)
            }
            Err(e) => {
                let reason = format!("{}; connect failed: {e}", decision.reason);
                let address = decision.addrs.first().map(|a| a.ip().to_string());
                self.record(kind, host, port, (false, address, &reason));
                Err(Refusal::Failed(reason))
            }
        }
    }

    /// Serves one client: SOCKS5 when its first byte says so, HTTP otherwise.
    fn handle(&self, client: TcpStream) {
        let _ = client.set_read_timeout(Some(HEAD_TIMEOUT));
        let mut first = [0u8; 1];
        match client.peek(&mut first) {
            Ok(1) if first[0] == socks::VERSION => self.handle_socks(client),
            Ok(1) => self.handle_http(client),
            _ => {}
        }
    }

    fn handle_http(&self, mut client: TcpStream) {
        let (req, rest) = match http::read_request(&mut client) {
            Ok(r) => r,
            Err(e) => {
                let _ = http::respond(&mut client, 400, &e.to_string());
                return;
            }
        };
        if let Some(credential) = &self.credential {
            let presented: Vec<&str> = req.proxy_authorization().collect();
            if !presented.iter().any(|v| credential.accepts_header(v)) {
                let reason = if presented.is_empty() {
                    NO_CREDENTIAL_HTTP
                } else {
                    WRONG_CREDENTIAL_HTTP
                };
                self.record(req.kind(), &req.host, req.port, (false, None, reason));
                let _ = http::respond(&mut client, 407, &format!("paddock: {reason}"));
                return;
            }
        }
        let mut upstream = match self.open(req.kind(), &req.host, req.port) {
            Ok(s) => s,
            Err(Refusal::Denied(reason)) => {
                let _ = http::respond(&mut client, 403, &format!("paddock: {reason}"));
                return;
            }
            Err(Refusal::Failed(reason)) => {
                let _ = http::respond(&mut client, 502, &format!("paddock: {reason}"));
                return;
            }
        };
        let _ = client.set_read_timeout(None);
        let sent = if req.is_connect() {
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .and_then(|()| upstream.write_all(&rest))
        } else {
            upstream
                .write_all(&req.forward_head())
                .and_then(|()| upstream.write_all(&rest))
        };
        if sent.is_ok() {
            relay(client, upstream);
        }
    }

    fn handle_socks(&self, mut client: TcpStream) {
        // Recorded before the client is answered. The target comes after the credential in
        // SOCKS5: a refused client named none.
        let refused = |e: &socks::SocksError| {
            let reason = match e {
                socks::SocksError::NoPassword => NO_CREDENTIAL_SOCKS,
                socks::SocksError::WrongCredential | socks::SocksError::AuthVersion(_) => {
                    WRONG_CREDENTIAL_SOCKS
                }
                _ => return,
            };
            self.record("socks5", "", 0, (false, None, reason));
        };
        let Ok(target) = socks::handshake(&mut client, self.credential.as_deref(), refused) else {
            return;
        };
        let reply = match self.open("socks5", &target.host, target.port) {
            Ok(upstream) => {
                let _ = client.set_read_timeout(None);
                if socks::send_reply(&mut client, socks::Reply::Succeeded).is_ok() {
                    relay(client, upstream);
                }
                return;
            }
            Err(Refusal::Denied(_)) => socks::Reply::NotAllowed,
            Err(Refusal::Failed(_)) => socks::Reply::HostUnreachable,
        };
        let _ = socks::send_reply(&mut client, reply);
    }
}

/// Why a client was refused for its credential (the token itself is never written).
const NO_CREDENTIAL_HTTP: &str = "no proxy credential: the request has no Proxy-Authorization; \
     this run's proxy serves only the user and token of its HTTP_PROXY/HTTPS_PROXY URL";
const WRONG_CREDENTIAL_HTTP: &str = "wrong proxy credential: Proxy-Authorization is not this \
     run's user and token (those of its HTTP_PROXY/HTTPS_PROXY URL)";
const NO_CREDENTIAL_SOCKS: &str = "no proxy credential: the SOCKS5 client offers no \
     username/password; this run's proxy serves only the user and token of its ALL_PROXY URL";
const WRONG_CREDENTIAL_SOCKS: &str = "wrong proxy credential: the SOCKS5 username/password is \
     not this run's user and token (those of its ALL_PROXY URL)";

/// Why a client's target was not connected.
enum Refusal {
    /// The allow-list (or the resolver's answer) refused it.
    Denied(String),
    /// Allowed, but no address answered.
    Failed(String),
}

/// Connects to the first address that answers, in the resolver's order.
fn connect_any(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::AddrNotAvailable, "no address");
    for a in addrs {
        match TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Copies both ways until each side has closed its half.
fn relay(client: TcpStream, upstream: TcpStream) {
    let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let mut client = client;
        let mut upstream = upstream;
        let _ = io::copy(&mut client, &mut upstream);
        let _ = upstream.shutdown(std::net::Shutdown::Write);
    });
    let _ = io::copy(&mut u2, &mut c2);
    let _ = c2.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}

impl ProxyHandle {
    /// The address the proxy listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if wake_accept(&self.listener).is_ok()
            && let Some(t) = self.thread.take()
        {
            let _ = t.join();
        }
    }
}

/// Wakes the accept loop: on Unix `shutdown(2)` on a listening socket makes a blocked `accept`
/// fail (std's `TcpListener` has no such method). It works across network namespaces, where
/// the Linux backend's listener lives (the sandbox's loopback, which this process cannot reach).
#[cfg(unix)]
fn wake_accept(l: &TcpListener) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: shutdown takes a descriptor we own (borrowed from `l`) and no pointers.
    let r = unsafe { libc::shutdown(l.as_raw_fd(), libc::SHUT_RDWR) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Wakes the accept loop elsewhere (Windows: closing or shutting down a listening socket does
/// not end a blocked `accept` on a duplicate of it): one connection of our own, which the loop,
/// seeing the stop flag, does not serve.
#[cfg(not(unix))]
fn wake_accept(l: &TcpListener) -> io::Result<()> {
    let mut addr = l.local_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map(drop)
}

/// The proxy's URL with `scheme` (`http`, `socks5h`), for `HTTP_PROXY`-style variables; with
/// a credential, its user and token are the URL's userinfo (`http://paddock:TOKEN@...`: the
/// token is hex, nothing in it needs escaping), from which clients send them.
pub fn proxy_url(scheme: &str, ip: IpAddr, port: u16, credential: Option<&Credential>) -> String {
    let userinfo = credential
        .map(|c| format!("{}:{}@", credential::USER, c.token()))
        .unwrap_or_default();
    match ip {
        IpAddr::V4(v4) => format!("{scheme}://{userinfo}{v4}:{port}"),
        IpAddr::V6(v6) => format!("{scheme}://{userinfo}[{v6}]:{port}"),
    }
}

/// The environment a command needs to use the proxy at `ip:port` (with `credential`, if it
/// has one), upper and lower case, as tools differ: `HTTP_PROXY` and `HTTPS_PROXY` name it as
/// an HTTP proxy, `ALL_PROXY` as a SOCKS5 proxy that resolves names itself (`socks5h`, so no
/// client needs DNS); `NO_PROXY` keeps the sandbox's own loopback direct.
pub fn proxy_env(ip: IpAddr, port: u16, credential: Option<&Credential>) -> Vec<(String, String)> {
    let http = proxy_url("http", ip, port, credential);
    let socks = proxy_url("socks5h", ip, port, credential);
    let mut env = Vec::new();
    for (name, url) in [
        ("HTTP_PROXY", &http),
        ("HTTPS_PROXY", &http),
        ("ALL_PROXY", &socks),
    ] {
        env.push((name.to_string(), url.clone()));
        env.push((name.to_ascii_lowercase(), url.clone()));
    }
    for name in ["NO_PROXY", "no_proxy"] {
        env.push((name.to_string(), "localhost,127.0.0.1,::1".to_string()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn proxy_env_puts_the_credential_in_every_proxy_url_and_none_without_one() {
        let c = Credential::from_token("00112233445566778899aabbccddeeff").unwrap();
        let env = proxy_env(Ipv4Addr::LOCALHOST.into(), 47801, Some(&c));
        let get = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("{name} missing: {env:?}"))
        };
        let http = "http://paddock:00112233445566778899aabbccddeeff@127.0.0.1:47801";
        let socks = "socks5h://paddock:00112233445566778899aabbccddeeff@127.0.0.1:47801";
        for (name, want) in [
            ("HTTP_PROXY", http),
            ("http_proxy", http),
            ("HTTPS_PROXY", http),
            ("https_proxy", http),
            ("ALL_PROXY", socks),
            ("all_proxy", socks),
            ("NO_PROXY", "localhost,127.0.0.1,::1"),
        ] {
            assert_eq!(get(name), want, "{name}");
        }
        assert_eq!(
            proxy_url("http", Ipv6Addr::LOCALHOST.into(), 1, Some(&c)),
            "http://paddock:00112233445566778899aabbccddeeff@[::1]:1"
        );
        let plain = proxy_env(Ipv4Addr::LOCALHOST.into(), 47800, None);
        assert!(plain.iter().all(|(_, v)| !v.contains('@')), "{plain:?}");
        assert!(plain.contains(&("HTTP_PROXY".into(), "http://127.0.0.1:47800".into())));
    }
}
