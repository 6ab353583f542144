//! What the proxy's integration tests share: a proxy on 127.0.0.1 with its decision log, and
//! curl at `/usr/bin/curl` (a missing curl goes through `paddock_core::testing::skip`, which
//! fails the test where CI requires every tool).

#![allow(dead_code)] // each test file uses its part

use paddock_core::NetworkLog;
use paddock_proxy::{AllowList, Credential, Proxy, ProxyHandle, Resolver};
use std::net::TcpListener;
use std::process::Command;

/// Serves a proxy for `allow` on a free port of 127.0.0.1, with `resolver` instead of the
/// system's and requiring `credential` when given; returns it with its decision log.
pub fn start(
    allow: &[&str],
    resolver: Option<Resolver>,
    credential: Option<Credential>,
) -> (ProxyHandle, NetworkLog) {
    let log = NetworkLog::default();
    let mut proxy = Proxy::new(AllowList::parse(allow).unwrap(), log.clone());
    if let Some(r) = resolver {
        proxy = proxy.with_resolver(r);
    }
    if let Some(c) = credential {
        proxy = proxy.with_credential(c);
    }
    let handle = proxy
        .serve(TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    (handle, log)
}

/// A command for `/usr/bin/curl`, or `None` (after `skip`) when it is missing.
pub fn curl_command() -> Option<Command> {
    if !std::path::Path::new("/usr/bin/curl").exists() {
        paddock_core::testing::skip("/usr/bin/curl is missing");
        return None;
    }
    Some(Command::new("/usr/bin/curl"))
}
