//! A proxy with a per-run credential against a server on 127.0.0.1: the attacks are another
//! run's command (no credential, or its own run's token) using this run's proxy; every one is
//! refused (407, or SOCKS5's refusal) before the allow-list is even consulted, the origin sees
//! no connection, and the refusal is recorded without the token. The run's own command, with
//! the credential, gets through over plain HTTP, CONNECT and SOCKS5, and the credential is
//! never forwarded upstream. The last tests use curl with the URLs of `proxy_env`.

mod common;

use common::start;
use paddock_core::NetworkLog;
use paddock_proxy::{Credential, ProxyHandle};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const TOKEN: &str = "00112233445566778899aabbccddeeff";
/// Another run's token.
const OTHER: &str = "ffeeddccbbaa99887766554433221100";

/// The credential of the run whose proxy is under test.
fn this_run() -> Option<Credential> {
    Some(Credential::from_token(TOKEN).unwrap())
}

/// An HTTP server on 127.0.0.1 answering each request with its own head as the body (so a
/// test sees what reached the origin), counting its connections.
fn origin() -> (SocketAddr, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    head.len()
                );
                let _ = s.write_all(&head);
            });
        }
    });
    (addr, hits)
}

fn connect(proxy: &ProxyHandle) -> TcpStream {
    let s = TcpStream::connect(proxy.local_addr().unwrap()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn exchange(proxy: &ProxyHandle, request: &str) -> String {
    let mut s = connect(proxy);
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn auth(token: &str) -> String {
    format!(
        "Proxy-Authorization: {}\r\n",
        Credential::from_token(token).unwrap().header_value()
    )
}

/// The one event recorded, checked to be a refusal for the credential that names no token.
fn refused_for_credential(log: &NetworkLog, kind: &str, reason: &str) {
    let e = log.take();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].kind, kind, "{e:?}");
    assert!(!e[0].allowed, "{e:?}");
    assert!(e[0].reason.starts_with(reason), "{e:?}");
    let shown = format!("{e:?}");
    assert!(!shown.contains(TOKEN) && !shown.contains(OTHER), "{shown}");
}

fn assert_407(reply: &str) {
    assert!(
        reply.starts_with("HTTP/1.1 407 Proxy Authentication Required\r\n"),
        "{reply}"
    );
    assert!(
        reply.contains("\r\nProxy-Authenticate: Basic realm=\"paddock\"\r\n"),
        "{reply}"
    );
}

#[test]
fn plain_http_without_the_credential_gets_407_and_is_recorded() {
    let (o, hits) = origin();
    let (p, log) = start(&["127.0.0.1"], None, this_run());
    let reply = exchange(
        &p,
        &format!(
            "GET http://127.0.0.1:{}/x HTTP/1.1\r\nHost: a\r\n\r\n",
            o.port()
        ),
    );
    assert_407(&reply);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the origin saw a connection"
    );
    refused_for_credential(&log, "http", "no proxy credential");
}

#[test]
fn connect_without_the_credential_gets_407_and_is_recorded() {
    let (o, hits) = origin();
    let (p, log) = start(&["127.0.0.1"], None, this_run());
    let reply = exchange(
        &p,
        &format!("CONNECT 127.0.0.1:{} HTTP/1.1\r\n\r\n", o.port()),
    );
    assert_407(&reply);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    refused_for_credential(&log, "connect", "no proxy credential");
}

#[test]
fn another_runs_token_gets_407_over_plain_http_and_connect() {
    let (o, hits) = origin();
    let (p, log) = start(&["127.0.0.1"], None, this_run());
    let reply = exchange(
        &p,
        &format!(
            "GET http://127.0.0.1:{}/x HTTP/1.1\r\nHost: a\r\n{}\r\n",
            o.port(),
            auth(OTHER)
        ),
    );
    assert_407(&reply);
    refused_for_credential(&log, "http", "wrong proxy credential");
    let reply = exchange(
        &p,
        &format!(
            "CONNECT 127.0.0.1:{} HTTP/1.1\r\n{}\r\n",
            o.port(),
            auth(OTHER)
        ),
    );
    assert_407(&reply);
    refused_for_credential(&log, "connect", "wrong proxy credential");
    // `printf root:00112233445566778899aabbccddeeff | base64`: the right token, another user.
    let reply = exchange(
        &p,
        &format!(
            "CONNECT 127.0.0.1:{} HTTP/1.1\r\nProxy-Authorization: Basic \
             cm9vdDowMDExMjIzMzQ0NTU2Njc3ODg5OWFhYmJjY2RkZWVmZg==\r\n\r\n",
            o.port()
        ),
    );
    assert_407(&reply);
    refused_for_credential(&log, "connect", "wrong proxy credential");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[test]
fn the_runs_token_reaches_the_origin_over_plain_http_without_being_forwarded() {
    let (o, hits) = origin();
    let (p, log) = start(&["127.0.0.1"], None, this_run());
    let reply = exchange(
        &p,
        &format!(
            "GET http://127.0.0.1:{}/x HTTP/1.1\r\nHost: a\r\n{}\r\n",
            o.port(),
            auth(TOKEN)
        ),
    );
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    let (_, seen) = reply.split_once("\r\n\r\n").unwrap();
    assert!(seen.starts_with("GET /x HTTP/1.1\r\n"), "{seen}");
    assert!(
        !seen.to_ascii_lowercase().contains("proxy-authorization"),
        "the credential went upstream: {seen}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let e = log.take();
    assert!(e.len() == 1 && e[0].allowed && e[0].kind == "http", "{e:?}");
}

#[test]
fn the_runs_token_opens_a_connect_tunnel() {
    let (o, hits) = origin();
    let (p, log) = start(&["127.0.0.1"], None, this_run());
    let mut s = connect(&p);
    write!(
        s,
        "CONNECT 127.0.0.1:{} HTTP/1.1\r\n{}\r\nGET /t HTTP/1.1\r\nHost: a\r\n\r\n",
        o.port(),
        auth(TOKEN)
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(
        out.starts_with("HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK"),
        "{out}"
    );
    assert!(out.ends_with("GET /t HTTP/1.1\r\nHost: a\r\n\r\n"), "{out}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let e = log.take();
    assert!(
        e.len() == 1 && e[0].allowed && e[0].kind == "connect",
        "{e:?}"
    );
}

/// A SOCKS5 CONNECT to 127.0.0.1:`port` offering `methods`, with `login` when given; returns
/// everything the proxy answered (and, once connected, what the origin sent back).
fn socks(p: &ProxyHandle, methods: &[u8], login: Option<(&str, &str)>, port: u16) -> Vec<u8> {
    let mut s = connect(p);
    let mut msg = vec![5, methods.len() as u8];
    msg.extend_from_slice(methods);
    s.write_all(&msg).unwrap();
    let mut chosen = [0u8; 2];
    s.read_exact(&mut chosen).unwrap();
    let mut out = chosen.to_vec();
    if chosen[1] != 2 {
        let _ = s.read_to_end(&mut out);
        return out;
    }
    let (user, password) = login.expect("the proxy chose username/password");
    let mut msg = vec![1, user.len() as u8];
    msg.extend_from_slice(user.as_bytes());
    msg.push(password.len() as u8);
    msg.extend_from_slice(password.as_bytes());
    msg.extend_from_slice(&[5, 1, 0, 1, 127, 0, 0, 1]);
    msg.extend_from_slice(&port.to_be_bytes());
    msg.extend_from_slice(b"GET /s HTTP/1.1\r\n\r\n");
    // The request is sent with the login: a proxy that skipped the check would act on it.
    s.write_all(&msg).unwrap();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn socks5_without_username_password_is_refused_and_recorded() {
    let (o, hits) = origin();
    let (p, log) = start(&["127.0.0.1"], None, this_run());
    assert_eq!(socks(&p, &[0], None, o.port()), [5, 0xff]);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    refused_for_credential(&log, "socks5", "no proxy credential");
}

#[test]
fn socks5_with_a_wrong_user_or_password_is_refused_and_recorded() {
    let (o, hits) = origin();
    let (p, log) = start(&["127.0.0.1"], None, this_run());
    for (user, password) in [("paddock", OTHER), ("root", TOKEN), ("paddock", "")] {
        let out = socks(&p, &[0, 2], Some((user, password)), o.port());
        assert_eq!(out, [5, 2, 1, 1], "{user}:{password}");
        refused_for_credential(&log, "socks5", "wrong proxy credential");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[test]
fn socks5_with_the_runs_token_connects() {
    let (o, hits) = origin();
    let (p, log) = start(&["127.0.0.1"], None, this_run());
    let out = socks(&p, &[0, 2], Some(("paddock", TOKEN)), o.port());
    assert_eq!(
        out[..4],
        [5, 2, 1, 0],
        "username/password chosen and accepted"
    );
    assert_eq!(out[4..6], [5, 0], "CONNECT succeeded");
    let rest = String::from_utf8_lossy(&out[14..]);
    assert!(rest.starts_with("HTTP/1.1 200 OK"), "{rest}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let e = log.take();
    assert!(
        e.len() == 1 && e[0].allowed && e[0].kind == "socks5",
        "{e:?}"
    );
}

/// curl with the proxy variables of `proxy_env`, as a run's command gets them.
#[cfg(unix)]
mod curl {
    use super::*;
    use paddock_proxy::Resolver;
    use std::net::Ipv4Addr;
    use std::process::Output;

    /// curl with the proxy variables `proxy_env` gives a run with `token`, but those named in
    /// `drop`, and with `extra` arguments.
    fn curl(
        p: &ProxyHandle,
        token: &str,
        drop: &[&str],
        extra: &[&str],
        url: &str,
    ) -> Option<Output> {
        let mut cmd = common::curl_command()?;
        let c = Credential::from_token(token).unwrap();
        let port = p.local_addr().unwrap().port();
        cmd.env_clear().env("PATH", "/usr/bin:/bin");
        cmd.envs(
            paddock_proxy::proxy_env(Ipv4Addr::LOCALHOST.into(), port, Some(&c))
                .into_iter()
                .filter(|(k, _)| !drop.contains(&k.as_str())),
        );
        Some(
            cmd.args(["-sS", "--max-time", "10"])
                .args(extra)
                .arg(url)
                .output()
                .unwrap(),
        )
    }

    fn resolver() -> Resolver {
        Arc::new(|_, port| Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))]))
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn curl_with_the_runs_proxy_urls_gets_through_over_http_connect_and_socks5() {
        let (o, hits) = origin();
        let (p, log) = start(&["origin.test"], Some(resolver()), this_run());
        let url = format!("http://origin.test:{}/c", o.port());
        // http_proxy (plain HTTP), the same through a CONNECT tunnel, then ALL_PROXY alone
        // (curl prefers http_proxy to it).
        let http = ["http_proxy", "HTTP_PROXY"];
        for (drop, extra, kind) in [
            (&[][..], &[][..], "http"),
            (&[][..], &["--proxytunnel"][..], "connect"),
            (&http[..], &[][..], "socks5"),
        ] {
            let Some(out) = curl(&p, TOKEN, drop, extra, &url) else {
                return;
            };
            assert!(out.status.success(), "{kind}: {}", text(&out.stderr));
            assert!(
                text(&out.stdout).starts_with("GET /c "),
                "{kind}: {}",
                text(&out.stdout)
            );
            let e = log.take();
            assert!(e.len() == 1 && e[0].allowed && e[0].kind == kind, "{e:?}");
        }
        assert_eq!(hits.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn curl_with_another_runs_proxy_urls_is_refused() {
        let (o, hits) = origin();
        let (p, log) = start(&["origin.test"], Some(resolver()), this_run());
        let url = format!("http://origin.test:{}/c", o.port());
        let Some(out) = curl(&p, OTHER, &[], &["--fail"], &url) else {
            return;
        };
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("407"), "{}", text(&out.stderr));
        refused_for_credential(&log, "http", "wrong proxy credential");
        let Some(out) = curl(&p, OTHER, &["http_proxy", "HTTP_PROXY"], &[], &url) else {
            return;
        };
        assert!(!out.status.success(), "{}", text(&out.stdout));
        refused_for_credential(&log, "socks5", "wrong proxy credential");
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }
}
