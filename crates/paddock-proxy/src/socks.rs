//! The SOCKS5 side of the proxy (RFC 1928), as far as an allow-list needs: no authentication,
//! or, when the proxy has a credential, username/password (RFC 1929) and nothing else;
//! `CONNECT` only, the target as a domain name (resolved by the proxy: `socks5h` semantics) or
//! an IP address (allowed only when listed, like any IP literal). `BIND`, `UDP ASSOCIATE`,
//! other methods and malformed requests get the protocol's refusal and are not recorded.

use crate::Credential;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use thiserror::Error;

/// The first byte of every SOCKS5 message from a client.
pub const VERSION: u8 = 5;

const NO_AUTH: u8 = 0x00;
const USER_PASSWORD: u8 = 0x02;
/// The version byte of the username/password subnegotiation, and its two status codes.
const USER_PASSWORD_VERSION: u8 = 1;
const AUTH_SUCCEEDED: u8 = 0;
const AUTH_FAILED: u8 = 1;
const NO_ACCEPTABLE_METHOD: u8 = 0xff;
const CMD_CONNECT: u8 = 1;
const ATYP_IPV4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_IPV6: u8 = 4;

/// The reply codes the proxy sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Succeeded = 0,
    GeneralFailure = 1,
    /// "connection not allowed by ruleset": the allow-list refused the target.
    NotAllowed = 2,
    HostUnreachable = 4,
    CommandNotSupported = 7,
    AddressTypeNotSupported = 8,
}

/// Why a SOCKS exchange ended before a target was known; `answer` is what the client is told
/// (`None`: nothing, the stream is gone).
#[derive(Debug, Error)]
pub enum SocksError {
    #[error("cannot read the SOCKS5 request: {0}")]
    Read(#[from] io::Error),
    #[error("the client offers no SOCKS5 method without authentication")]
    NoMethod,
    #[error("the client offers no SOCKS5 username/password authentication")]
    NoPassword,
    #[error("the SOCKS5 username/password subnegotiation has version {0}, not 1")]
    AuthVersion(u8),
    #[error("the SOCKS5 username or password is not the proxy's credential")]
    WrongCredential,
    #[error("not a SOCKS5 request (version {0})")]
    Version(u8),
    #[error("SOCKS5 command {0} is not supported; only CONNECT is")]
    Command(u8),
    #[error("SOCKS5 address type {0} is not supported")]
    AddressType(u8),
    #[error("the SOCKS5 domain name is not UTF-8")]
    Name,
}

impl SocksError {
    /// The bytes that end the exchange for this error: the method negotiation's "no acceptable
    /// method", the subnegotiation's failure status, or a reply to the request.
    fn answer(&self) -> Option<Vec<u8>> {
        let reply = match self {
            SocksError::Read(_) => return None,
            SocksError::NoMethod | SocksError::NoPassword => {
                return Some(vec![VERSION, NO_ACCEPTABLE_METHOD]);
            }
            SocksError::AuthVersion(_) | SocksError::WrongCredential => {
                return Some(vec![USER_PASSWORD_VERSION, AUTH_FAILED]);
            }
            SocksError::Version(_) | SocksError::Name => Reply::GeneralFailure,
            SocksError::Command(_) => Reply::CommandNotSupported,
            SocksError::AddressType(_) => Reply::AddressTypeNotSupported,
        };
        Some(reply_bytes(reply))
    }
}

/// A CONNECT request: the host as the client named it (a name, or an IP address written out)
/// and the port.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

/// Negotiates "no authentication" (without `credential`) or username/password with exactly
/// `credential`, then reads the CONNECT request. On a protocol error or a refused credential
/// `before_answer` sees the error first (the proxy records the refusal there, so that the
/// record exists once the client has its answer), then the client is told (when the protocol
/// has a way to) and the exchange is over.
pub fn handshake<S: Read + Write>(
    client: &mut S,
    credential: Option<&Credential>,
    before_answer: impl FnOnce(&SocksError),
) -> Result<Target, SocksError> {
    let result = negotiate(client, credential).and_then(|()| request(client));
    if let Err(e) = &result {
        before_answer(e);
        if let Some(answer) = e.answer() {
            let _ = client.write_all(&answer);
        }
    }
    result
}

fn negotiate<S: Read + Write>(
    client: &mut S,
    credential: Option<&Credential>,
) -> Result<(), SocksError> {
    let [version, count] = read_array(client)?;
    if version != VERSION {
        return Err(SocksError::Version(version));
    }
    let mut methods = vec![0u8; usize::from(count)];
    client.read_exact(&mut methods)?;
    let (method, missing) = match credential {
        None => (NO_AUTH, SocksError::NoMethod),
        Some(_) => (USER_PASSWORD, SocksError::NoPassword),
    };
    if !methods.contains(&method) {
        return Err(missing);
    }
    client.write_all(&[VERSION, method])?;
    match credential {
        Some(c) => authenticate(client, c),
        None => Ok(()),
    }
}

/// The RFC 1929 subnegotiation: `VER ULEN UNAME PLEN PASSWD`, answered `VER STATUS`. On a
/// failure the status is non-zero and the exchange ends, as the RFC requires.
fn authenticate<S: Read + Write>(
    client: &mut S,
    credential: &Credential,
) -> Result<(), SocksError> {
    let [version, user_len] = read_array(client)?;
    if version != USER_PASSWORD_VERSION {
        return Err(SocksError::AuthVersion(version));
    }
    let mut user = vec![0u8; usize::from(user_len)];
    client.read_exact(&mut user)?;
    let [password_len] = read_array(client)?;
    let mut password = vec![0u8; usize::from(password_len)];
    client.read_exact(&mut password)?;
    if !credential.accepts_user_password(&user, &password) {
        return Err(SocksError::WrongCredential);
    }
    client.write_all(&[USER_PASSWORD_VERSION, AUTH_SUCCEEDED])?;
    Ok(())
}

fn request<S: Read>(client: &mut S) -> Result<Target, SocksError> {
    let [version, command, _reserved, atyp] = read_array(client)?;
    if version != VERSION {
        return Err(SocksError::Version(version));
    }
    // The address is read whatever the command, so that the reply is not sent mid-request.
    let host = match atyp {
        ATYP_IPV4 => Ipv4Addr::from(read_array::<4, _>(client)?).to_string(),
        ATYP_IPV6 => Ipv6Addr::from(read_array::<16, _>(client)?).to_string(),
        ATYP_DOMAIN => {
            let [len] = read_array(client)?;
            let mut name = vec![0u8; usize::from(len)];
            client.read_exact(&mut name)?;
            String::from_utf8(name).map_err(|_| SocksError::Name)?
        }
        other => return Err(SocksError::AddressType(other)),
    };
    let port = u16::from_be_bytes(read_array(client)?);
    if command != CMD_CONNECT {
        return Err(SocksError::Command(command));
    }
    Ok(Target { host, port })
}

fn read_array<const N: usize, S: Read>(client: &mut S) -> io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    client.read_exact(&mut buf)?;
    Ok(buf)
}

/// Sends a reply. The bound address is always `0.0.0.0:0`: clients do not need it for CONNECT,
/// and the host's own address is none of the sandbox's business.
pub fn send_reply<S: Write>(client: &mut S, reply: Reply) -> io::Result<()> {
    client.write_all(&reply_bytes(reply))
}

fn reply_bytes(reply: Reply) -> Vec<u8> {
    let mut msg = vec![VERSION, reply as u8, 0, ATYP_IPV4];
    msg.extend_from_slice(&Ipv4Addr::UNSPECIFIED.octets());
    msg.extend_from_slice(&0u16.to_be_bytes());
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client's bytes in, the proxy's answer out.
    struct Script {
        input: io::Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn run(bytes: &[u8]) -> (Result<Target, SocksError>, Vec<u8>) {
        run_with(bytes, None)
    }

    fn run_with(
        bytes: &[u8],
        credential: Option<&Credential>,
    ) -> (Result<Target, SocksError>, Vec<u8>) {
        let mut s = Script {
            input: io::Cursor::new(bytes.to_vec()),
            output: Vec::new(),
        };
        (handshake(&mut s, credential, |_| {}), s.output)
    }

    const TOKEN: &str = "00112233445566778899aabbccddeeff";

    /// Offers `methods`, then (when given) sends `user`/`password`, then a CONNECT to a.b:80.
    fn with_login(methods: &[u8], login: Option<(&[u8], &[u8])>) -> Vec<u8> {
        let mut b = vec![5, methods.len() as u8];
        b.extend_from_slice(methods);
        if let Some((user, password)) = login {
            b.extend_from_slice(&[1, user.len() as u8]);
            b.extend_from_slice(user);
            b.push(password.len() as u8);
            b.extend_from_slice(password);
        }
        b.extend_from_slice(&[5, 1, 0, 3, 3]);
        b.extend_from_slice(b"a.b");
        b.extend_from_slice(&80u16.to_be_bytes());
        b
    }

    #[test]
    fn with_a_credential_a_client_offering_only_no_authentication_is_refused() {
        let c = Credential::from_token(TOKEN).unwrap();
        let (t, out) = run_with(&with_login(&[0], None), Some(&c));
        assert!(matches!(t, Err(SocksError::NoPassword)), "{t:?}");
        assert_eq!(out, [5, 0xff], "no acceptable method, and nothing else");
    }

    #[test]
    fn with_a_credential_a_wrong_user_or_password_is_refused_before_the_request() {
        let c = Credential::from_token(TOKEN).unwrap();
        for (user, password) in [
            (&b"paddock"[..], &b"ffeeddccbbaa99887766554433221100"[..]),
            (b"root", TOKEN.as_bytes()),
            (b"paddock", b""),
        ] {
            let (t, out) = run_with(&with_login(&[0, 2], Some((user, password))), Some(&c));
            assert!(matches!(t, Err(SocksError::WrongCredential)), "{t:?}");
            assert_eq!(out, [5, 2, 1, 1], "username/password chosen, then failure");
        }
    }

    /// The proxy records a refusal in `before_answer`: it must run before the refusal is
    /// written, or a client that exits on the answer can look at the log before the record.
    #[test]
    fn a_refusal_is_seen_before_its_answer_is_written() {
        use std::cell::RefCell;
        use std::rc::Rc;
        struct Shared(io::Cursor<Vec<u8>>, Rc<RefCell<Vec<u8>>>);
        impl Read for Shared {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.read(buf)
            }
        }
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.1.borrow_mut().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let c = Credential::from_token(TOKEN).unwrap();
        for (bytes, sent_before, answer) in [
            (with_login(&[0], None), &[][..], &[5u8, 0xff][..]),
            (
                with_login(&[2], Some((b"paddock", b"wrong"))),
                &[5, 2][..],
                &[1, 1][..],
            ),
        ] {
            let out = Rc::new(RefCell::new(Vec::new()));
            let mut s = Shared(io::Cursor::new(bytes), out.clone());
            let mut seen = None;
            let r = handshake(&mut s, Some(&c), |_| seen = Some(out.borrow().clone()));
            assert!(r.is_err());
            assert_eq!(seen.as_deref(), Some(sent_before));
            let mut all = sent_before.to_vec();
            all.extend_from_slice(answer);
            assert_eq!(*out.borrow(), all);
        }
    }

    #[test]
    fn with_a_credential_the_right_user_and_password_reach_the_request() {
        let c = Credential::from_token(TOKEN).unwrap();
        let (t, out) = run_with(
            &with_login(&[0, 2], Some((b"paddock", TOKEN.as_bytes()))),
            Some(&c),
        );
        assert_eq!(
            t.unwrap(),
            Target {
                host: "a.b".into(),
                port: 80
            }
        );
        assert_eq!(out, [5, 2, 1, 0]);
    }

    #[test]
    fn a_domain_connect_is_read_as_the_client_named_it() {
        let mut bytes = vec![5, 2, 2, 0, 5, 1, 0, 3, 9];
        bytes.extend_from_slice(b"crates.io");
        bytes.extend_from_slice(&443u16.to_be_bytes());
        let (target, out) = run(&bytes);
        assert_eq!(
            target.unwrap(),
            Target {
                host: "crates.io".into(),
                port: 443
            }
        );
        assert_eq!(
            out,
            [5, 0],
            "no authentication chosen, nothing else sent yet"
        );
    }

    #[test]
    fn ip_targets_are_written_out_for_the_allow_list() {
        let (t, _) = run(&[5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80]);
        assert_eq!(t.unwrap().host, "127.0.0.1");
        let mut v6 = vec![5, 1, 0, 5, 1, 0, 4];
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&[0, 80]);
        assert_eq!(run(&v6).0.unwrap().host, "::1");
    }

    #[test]
    fn authentication_only_clients_are_refused_without_a_request() {
        let (t, out) = run(&[5, 1, 2]);
        assert!(matches!(t, Err(SocksError::NoMethod)));
        assert_eq!(out, [5, 0xff]);
    }

    #[test]
    fn bind_and_udp_associate_are_refused_with_command_not_supported() {
        for cmd in [2u8, 3] {
            let (t, out) = run(&[5, 1, 0, 5, cmd, 0, 1, 127, 0, 0, 1, 0, 80]);
            assert!(matches!(t, Err(SocksError::Command(c)) if c == cmd));
            assert_eq!(out, [5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0]);
        }
    }

    #[test]
    fn unknown_address_types_and_versions_are_refused() {
        let (t, out) = run(&[5, 1, 0, 5, 1, 0, 9]);
        assert!(matches!(t, Err(SocksError::AddressType(9))));
        assert_eq!(out[2..4], [5, 8]);
        assert!(matches!(run(&[4, 1, 0]).0, Err(SocksError::Version(4))));
    }
}
