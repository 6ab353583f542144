//! The proxy against real servers on 127.0.0.1 (never another address): allowed hosts are
//! reached, unlisted names and IP literals are refused with 403, a wildcard cannot reach a
//! loopback address, names are resolved once, and every decision is recorded.

mod common;

use common::start;
use paddock_proxy::{ProxyHandle, Resolver};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A server on 127.0.0.1 that answers every connection with `hello from PATH` (plain HTTP)
/// or, after a first line `echo`, echoes what it gets (for CONNECT tunnels).
fn origin() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                let mut s = s;
                if line == "echo\n" {
                    let mut rest = String::new();
                    r.read_line(&mut rest).unwrap();
                    s.write_all(rest.as_bytes()).unwrap();
                    return;
                }
                let path = line.split(' ').nth(1).unwrap_or("").to_string();
                let body = format!("hello from {path}");
                write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            });
        }
    });
    addr
}

fn exchange(proxy: &ProxyHandle, request: &str) -> String {
    let mut s = TcpStream::connect(proxy.local_addr().unwrap()).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn a_listed_ip_is_reached_over_plain_http_and_recorded() {
    let o = origin();
    let (p, log) = start(&["127.0.0.1"], None, None);
    let reply = exchange(
        &p,
        &format!(
            "GET http://127.0.0.1:{}/x HTTP/1.1\r\nHost: a\r\n\r\n",
            o.port()
        ),
    );
    assert!(reply.ends_with("hello from /x"), "{reply}");
    let events = log.take();
    assert_eq!(events.len(), 1);
    assert!(events[0].allowed && events[0].kind == "http", "{events:?}");
    assert_eq!(events[0].address.as_deref(), Some(o.to_string().as_str()));
}

#[test]
fn a_connect_tunnel_to_a_listed_ip_carries_bytes_both_ways() {
    let o = origin();
    let (p, log) = start(&["127.0.0.1"], None, None);
    let reply = exchange(
        &p,
        &format!(
            "CONNECT 127.0.0.1:{} HTTP/1.1\r\n\r\necho\nping\n",
            o.port()
        ),
    );
    assert_eq!(reply, "HTTP/1.1 200 Connection established\r\n\r\nping\n");
    assert!(log.take()[0].allowed);
}

#[test]
fn an_unlisted_host_is_refused_with_403_and_recorded() {
    let o = origin();
    let (p, log) = start(&["127.0.0.1"], None, None);
    let reply = exchange(
        &p,
        &format!("GET http://localhost:{}/ HTTP/1.1\r\n\r\n", o.port()),
    );
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
    assert!(
        reply.contains("not in the allow-list; add it to network.allow"),
        "{reply}"
    );
    let events = log.take();
    assert!(
        !events[0].allowed && events[0].host == "localhost",
        "{events:?}"
    );
}

#[test]
fn connect_to_an_unlisted_ip_literal_is_refused_even_when_a_name_for_it_is_listed() {
    let o = origin();
    let (p, log) = start(&["localhost"], None, None);
    let reply = exchange(
        &p,
        &format!("CONNECT 127.0.0.1:{} HTTP/1.1\r\n\r\n", o.port()),
    );
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
    assert!(reply.contains("IP address not in"), "{reply}");
    let e = &log.take()[0];
    assert!(!e.allowed && e.kind == "connect");
}

#[test]
fn a_name_listed_exactly_may_resolve_to_loopback() {
    let o = origin();
    let (p, log) = start(&["localhost"], None, None);
    let reply = exchange(
        &p,
        &format!("GET http://localhost:{}/ok HTTP/1.1\r\n\r\n", o.port()),
    );
    // `localhost` may resolve to ::1 first, where nothing listens: the next address is tried.
    assert!(reply.ends_with("hello from /ok"), "{reply}");
    assert!(log.take()[0].allowed);
}

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

#[test]
fn a_wildcard_match_resolving_to_loopback_is_refused() {
    let o = origin();
    let calls = Arc::new(AtomicUsize::new(0));
    let (p, log) = start(
        &["*.example.test"],
        Some(fixed(vec![vec!["127.0.0.1"]], calls)),
        None,
    );
    let reply = exchange(
        &p,
        &format!("CONNECT api.example.test:{} HTTP/1.1\r\n\r\n", o.port()),
    );
    assert!(reply.starts_with("HTTP/1.1 403"), "{reply}");
    assert!(reply.contains("non-public address 127.0.0.1"), "{reply}");
    let e = &log.take()[0];
    assert_eq!(e.address.as_deref(), Some("127.0.0.1"));
}

#[test]
fn names_are_resolved_once_and_the_checked_address_is_the_one_connected() {
    // A rebinding resolver: the first answer is 127.0.0.1 (where the origin listens), every
    // later one 127.0.0.2 (where nothing does). A proxy that resolved again to connect would
    // fail with 502; this one connects where it checked.
    let o = origin();
    let calls = Arc::new(AtomicUsize::new(0));
    let (p, log) = start(
        &["rebind.test"],
        Some(fixed(
            vec![vec!["127.0.0.1"], vec!["127.0.0.2"]],
            calls.clone(),
        )),
        None,
    );
    let reply = exchange(
        &p,
        &format!("GET http://rebind.test:{}/r HTTP/1.1\r\n\r\n", o.port()),
    );
    assert!(reply.ends_with("hello from /r"), "{reply}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(log.take()[0].allowed);
}

/// On every OS (Windows wakes the accept loop with a connection of its own, which must not be
/// served or recorded).
#[test]
fn dropping_the_handle_stops_accepting() {
    let (p, log) = start(&["127.0.0.1"], None, None);
    let addr = p.local_addr().unwrap();
    drop(p);
    assert!(TcpStream::connect(addr).is_err());
    assert!(log.take().is_empty());
}
