//! The request heads the proxy understands: `CONNECT host:port` and absolute-form `http://`
//! requests. Everything else (origin-form, `https://` without CONNECT, oversized heads) is a
//! 400; a forwarded plain request is rewritten to origin-form with `Connection: close`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use thiserror::Error;

/// The largest request head read before giving up.
const MAX_HEAD: usize = 64 * 1024;

/// Why a request head was not understood.
#[derive(Debug, Error)]
pub enum HeadError {
    #[error("paddock: cannot read the request: {0}")]
    Read(#[from] io::Error),
    #[error("paddock: the request head is larger than {MAX_HEAD} bytes")]
    TooLarge,
    #[error("paddock: malformed request line")]
    RequestLine,
    #[error("paddock: only CONNECT host:port and absolute http:// requests go through this proxy")]
    Unsupported,
}

/// One parsed request head.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub host: String,
    pub port: u16,
    /// Origin-form target (`/path?query`) for plain HTTP; empty for CONNECT.
    path: String,
    version: String,
    /// Header lines as sent, without the request line.
    headers: Vec<String>,
}

impl Request {
    pub fn is_connect(&self) -> bool {
        self.method.eq_ignore_ascii_case("CONNECT")
    }

    pub fn kind(&self) -> &'static str {
        if self.is_connect() { "connect" } else { "http" }
    }

    /// The values of the request's `Proxy-Authorization` headers (never forwarded).
    pub fn proxy_authorization(&self) -> impl Iterator<Item = &str> {
        self.headers.iter().filter_map(|h| {
            let (name, value) = h.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("proxy-authorization")
                .then_some(value)
        })
    }

    /// The head sent upstream for plain HTTP: origin-form, proxy headers dropped, one request.
    pub fn forward_head(&self) -> Vec<u8> {
        let mut out = format!("{} {} {}\r\n", self.method, self.path, self.version);
        for h in &self.headers {
            let name = h.split(':').next().unwrap_or("").trim();
            let hop = [
                "proxy-connection",
                "proxy-authorization",
                "connection",
                "keep-alive",
            ];
            if !hop.iter().any(|n| name.eq_ignore_ascii_case(n)) {
                out.push_str(h);
                out.push_str("\r\n");
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        out.into_bytes()
    }
}

/// Splits `host:port` (`[v6]:port` for IPv6).
fn host_port(s: &str, default: Option<u16>) -> Option<(String, u16)> {
    if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default?,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((s.to_string(), default?)),
    }
    .filter(|(h, _)| !h.is_empty() && !h.contains(['@', '/', ' ']))
}

/// Parses a request head (without the blank line).
pub fn parse_head(head: &str) -> Result<Request, HeadError> {
    let mut lines = head.split("\r\n");
    let line = lines.next().ok_or(HeadError::RequestLine)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::RequestLine);
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() {
        return Err(HeadError::RequestLine);
    }
    let headers = lines.map(str::to_string).collect();
    let (host, port, path) = if method.eq_ignore_ascii_case("CONNECT") {
        let (h, p) = host_port(target, None).ok_or(HeadError::RequestLine)?;
        (h, p, String::new())
    } else {
        let rest = target
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("http://"))
            .map(|_| &target[7..])
            .ok_or(HeadError::Unsupported)?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let (h, p) = host_port(authority, Some(80)).ok_or(HeadError::RequestLine)?;
        let path = match path.split('#').next() {
            Some(p) if p.starts_with('/') => p.to_string(),
            Some(p) => format!("/{p}"),
            None => "/".into(),
        };
        (h, p, path)
    };
    Ok(Request {
        method: method.to_string(),
        host,
        port,
        path,
        version: version.to_string(),
        headers,
    })
}

/// Reads the head and returns it with the bytes already read past it.
pub fn read_request(client: &mut TcpStream) -> Result<(Request, Vec<u8>), HeadError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).map_err(|_| HeadError::RequestLine)?;
            let req = parse_head(head)?;
            return Ok((req, buf[end + 4..].to_vec()));
        }
        if buf.len() > MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Err(HeadError::Read(io::ErrorKind::UnexpectedEof.into()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Writes a short complete response and closes the exchange; a 407 names the `Basic` scheme
/// and the realm `paddock`.
pub fn respond(client: &mut TcpStream, code: u16, text: &str) -> io::Result<()> {
    let (status, challenge) = match code {
        400 => ("Bad Request", ""),
        403 => ("Forbidden", ""),
        407 => (
            "Proxy Authentication Required",
            "Proxy-Authenticate: Basic realm=\"paddock\"\r\n",
        ),
        _ => ("Bad Gateway", ""),
    };
    let body = format!("{text}\n");
    // One write: `write!` on the socket would send each formatted piece as its own segment,
    // and a client reading once would see only the first (`HTTP/1.1 `).
    let response = format!(
        "HTTP/1.1 {code} {status}\r\n{challenge}Content-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(response.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_targets_parse_with_ipv6_brackets() {
        let r = parse_head("CONNECT [::1]:443 HTTP/1.1\r\nHost: x").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("::1", 443));
        assert!(r.is_connect());
        assert!(
            parse_head("CONNECT crates.io HTTP/1.1").is_err(),
            "port required"
        );
    }

    #[test]
    fn absolute_http_is_rewritten_to_origin_form_without_proxy_headers() {
        let r = parse_head(
            "GET http://Example.com:8080/a?b HTTP/1.1\r\nHost: example.com\r\n\
             Proxy-Authorization: x\r\nConnection: keep-alive",
        )
        .unwrap();
        assert_eq!((r.host.as_str(), r.port), ("Example.com", 8080));
        let head = String::from_utf8(r.forward_head()).unwrap();
        assert_eq!(
            head,
            "GET /a?b HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn proxy_authorization_values_are_found_whatever_the_case_and_not_forwarded() {
        let r = parse_head(
            "CONNECT a.b:443 HTTP/1.1\r\nproxy-AUTHORIZATION: Basic abc\r\nAuthorization: x",
        )
        .unwrap();
        assert_eq!(r.proxy_authorization().collect::<Vec<_>>(), [" Basic abc"]);
        let r = parse_head("GET http://a.b/ HTTP/1.1\r\nProxy-Authorization: Basic abc").unwrap();
        assert!(!String::from_utf8(r.forward_head()).unwrap().contains("abc"));
    }

    #[test]
    fn origin_form_https_and_userinfo_are_refused() {
        assert!(matches!(
            parse_head("GET / HTTP/1.1"),
            Err(HeadError::Unsupported)
        ));
        assert!(parse_head("GET https://a.b/ HTTP/1.1").is_err());
        assert!(parse_head("GET http://u@evil.com/ HTTP/1.1").is_err());
    }
}
