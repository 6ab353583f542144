//! SOCKS5 through the proxy with a real client (curl's `socks5h://`, which hands the name to
//! the proxy, and `socks5://`, which sends an IP address) against servers on 127.0.0.1 only:
//! a listed name is reached and resolved by the proxy, an unlisted name, an unlisted IP address
//! and a wildcard name answered with a loopback address (DNS rebinding) are refused before the
//! origin sees a connection, and every decision is recorded as `socks5`.

#![cfg(unix)] // curl at /usr/bin is the client; the SOCKS parser itself is tested on every OS.

mod common;

use common::start;
use paddock_proxy::{ProxyHandle, Resolver};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// An HTTP server on 127.0.0.1 answering `hello from PATH`, counting its connections.
fn origin() -> (SocketAddr, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut line = String::new();
            let _ = BufReader::new(s.try_clone().unwrap()).read_line(&mut line);
            let body = format!("hello from {}", line.split(' ').nth(1).unwrap_or(""));
            let mut s = s;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, hits)
}

/// A resolver answering every name with `answers[n]` on its n-th call (the last one after).
fn fixed(answers: Vec<Vec<&'static str>>, calls: Arc<AtomicUsize>) -> Resolver {
    Arc::new(move |_host, port| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        let ips = &answers[n.min(answers.len() - 1)];
        Ok(ips
            .iter()
            .map(|ip| SocketAddr::new(ip.parse().unwrap(), port))
            .collect())
    })
}

/// `curl -x SCHEME://PROXY URL`, with no proxy variables of its own; `None` when curl is missing.
fn curl(scheme: &str, proxy: &ProxyHandle, url: &str) -> Option<Output> {
    let mut c = common::curl_command()?;
    for v in [
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        c.env_remove(v);
    }
    let out = c
        .args(["-sS", "--max-time", "10", "-x"])
        .arg(format!("{scheme}://{}", proxy.local_addr().unwrap()))
        .arg(url)
        .output()
        .unwrap();
    Some(out)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_listed_name_is_resolved_by_the_proxy_and_reached() {
    let (o, hits) = origin();
    let calls = Arc::new(AtomicUsize::new(0));
    // `origin.test` resolves nowhere but in the proxy: curl cannot have looked it up.
    let (p, log) = start(
        &["origin.test"],
        Some(fixed(vec![vec!["127.0.0.1"]], calls.clone())),
        None,
    );
    let url = format!("http://origin.test:{}/s", o.port());
    let Some(out) = curl("socks5h", &p, &url) else {
        return;
    };
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello from /s");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let e = log.take();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0].kind.as_str(), e[0].host.as_str()),
        ("socks5", "origin.test")
    );
    assert!(e[0].allowed, "{e:?}");
    assert_eq!(e[0].address.as_deref(), Some(o.to_string().as_str()));
}

#[test]
fn an_unlisted_name_is_refused_and_the_origin_sees_nothing() {
    let (o, hits) = origin();
    let calls = Arc::new(AtomicUsize::new(0));
    let (p, log) = start(
        &["origin.test"],
        Some(fixed(vec![vec!["127.0.0.1"]], calls.clone())),
        None,
    );
    let url = format!("http://evil.test:{}/", o.port());
    let Some(out) = curl("socks5h", &p, &url) else {
        return;
    };
    assert!(!out.status.success());
    // curl names the SOCKS5 reply code: 2, "connection not allowed by ruleset".
    assert!(text(&out.stderr).contains("(2)"), "{}", text(&out.stderr));
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "refused before resolving");
    let e = log.take();
    assert_eq!((e[0].host.as_str(), e[0].allowed), ("evil.test", false));
    assert!(e[0].reason.contains("network.allow"), "{e:?}");
}

#[test]
fn an_unlisted_ip_address_is_refused_whether_curl_or_the_proxy_resolves() {
    let (o, hits) = origin();
    let calls = Arc::new(AtomicUsize::new(0));
    // The name is listed and resolves to 127.0.0.1; the address itself is not listed.
    let (p, log) = start(
        &["origin.test"],
        Some(fixed(vec![vec!["127.0.0.1"]], calls)),
        None,
    );
    for scheme in ["socks5h", "socks5"] {
        let url = format!("http://127.0.0.1:{}/", o.port());
        let Some(out) = curl(scheme, &p, &url) else {
            return;
        };
        assert!(!out.status.success(), "{scheme}");
        let e = log.take();
        assert_eq!(e.len(), 1, "{scheme}: {e:?}");
        assert_eq!((e[0].host.as_str(), e[0].allowed), ("127.0.0.1", false));
        assert!(e[0].reason.starts_with("IP address not in"), "{e:?}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[test]
fn a_wildcard_name_answered_with_loopback_is_refused() {
    // DNS rebinding: whoever controls `*.rebind.test` points a name at the host's loopback.
    let (o, hits) = origin();
    let calls = Arc::new(AtomicUsize::new(0));
    let (p, log) = start(
        &["*.rebind.test"],
        Some(fixed(vec![vec!["127.0.0.1"]], calls)),
        None,
    );
    let url = format!("http://a.rebind.test:{}/", o.port());
    let Some(out) = curl("socks5h", &p, &url) else {
        return;
    };
    assert!(!out.status.success());
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    let e = log.take();
    assert!(!e[0].allowed, "{e:?}");
    assert!(
        e[0].reason.contains("non-public address 127.0.0.1"),
        "{e:?}"
    );
}

#[test]
fn a_name_is_resolved_once_and_connected_where_it_was_checked() {
    // The first answer is where the origin listens, every later one where nothing does: a
    // proxy that looked the name up again to connect would fail.
    let (o, _) = origin();
    let calls = Arc::new(AtomicUsize::new(0));
    let (p, _log) = start(
        &["rebind.test"],
        Some(fixed(
            vec![vec!["127.0.0.1"], vec!["127.0.0.2"]],
            calls.clone(),
        )),
        None,
    );
    let url = format!("http://rebind.test:{}/r", o.port());
    let Some(out) = curl("socks5h", &p, &url) else {
        return;
    };
    assert_eq!(text(&out.stdout), "hello from /r", "{}", text(&out.stderr));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
