//! The allow-list proxy of a level-2 run: Paddock's proxy (`paddock_proxy`) in the broker, on
//! 127.0.0.1 at the first port of the fence's hole (the setup record's proxy range) that it can
//! hold exclusively, serving only the run's own credential (a fresh random token, which goes
//! to the command in the proxy URLs of its environment).
//!
//! Guarantees: the port is bound with `SO_EXCLUSIVEADDRUSE` before `bind`, so the bind fails
//! when any other socket holds that port on 127.0.0.1 or on the wildcard address, and no other
//! socket can bind it afterwards, not even with `SO_REUSEADDR`, while the run holds it: a
//! connect of the sandbox to 127.0.0.1:PORT reaches this proxy and nothing else. The socket is
//! not inheritable. The proxy stops accepting when the `RunProxy` is dropped.

use crate::errors::ElevatedError;
use crate::filters::PortRange;
use crate::network::{ProxyPort, ProxyReport, first_free_port};
use paddock_core::NetworkLog;
use paddock_proxy::{AllowList, Credential, Proxy, ProxyHandle};
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::os::windows::io::{FromRawSocket, RawSocket};
use std::sync::Once;
use windows_sys::Win32::Networking::WinSock::{
    AF_INET, IN_ADDR, IN_ADDR_0, INVALID_SOCKET, IPPROTO_TCP, SO_EXCLUSIVEADDRUSE, SOCK_STREAM,
    SOCKADDR, SOCKADDR_IN, SOCKET, SOCKET_ERROR, SOL_SOCKET, WSA_FLAG_NO_HANDLE_INHERIT,
    WSA_FLAG_OVERLAPPED, WSADATA, WSAGetLastError, WSASocketW, WSAStartup, bind, closesocket,
    listen, setsockopt,
};

/// The backlog of the proxy's listening socket (std's own for `TcpListener::bind`).
const BACKLOG: i32 = 128;

/// A running allow-list proxy and where it listens.
pub struct RunProxy {
    pub handle: ProxyHandle,
    pub port: u16,
    /// The only credential the proxy serves: the command's proxy variables carry it.
    pub credential: Credential,
    /// The other ports of the hole that another program (or another run's proxy) held when
    /// the proxy started, with why their bind failed: the sandbox can connect to those too.
    pub taken: Vec<(u16, String)>,
    /// How many entries the allow-list has.
    pub entries: usize,
}

impl RunProxy {
    /// What the run report says about this proxy.
    pub fn report(&self) -> ProxyReport {
        ProxyReport {
            port: self.port,
            entries: self.entries,
            taken: self.taken.iter().map(|(p, _)| *p).collect(),
        }
    }
}

/// Starts the proxy for `allow` on the first port of `range` it can hold exclusively,
/// recording every decision in `log` and serving only a fresh random credential; refuses when
/// `allow` has a bad entry, the OS random source fails or no port is free.
pub fn start(
    range: PortRange,
    allow: &[String],
    log: &NetworkLog,
) -> Result<RunProxy, ElevatedError> {
    let list = AllowList::parse(allow)?;
    let credential = Credential::random().map_err(|e| ElevatedError::State(e.to_string()))?;
    let ProxyPort {
        listener,
        port,
        mut taken,
    } = first_free_port(range, bind_exclusive)?;
    // The ports after ours, for the report: each is bound for a moment and let go (a run
    // starting at the same time that finds one busy just takes the next).
    for other in port.saturating_add(1)..=range.high {
        if let Err(e) = bind_exclusive(other) {
            taken.push((other, e.to_string()));
        }
    }
    let handle = Proxy::new(list, log.clone())
        .with_credential(credential.clone())
        .serve(listener)
        .map_err(|e| ElevatedError::ProxyStart {
            port,
            reason: e.to_string(),
        })?;
    Ok(RunProxy {
        handle,
        port,
        credential,
        taken,
        entries: allow.len(),
    })
}

fn wsa_error() -> io::Error {
    // SAFETY: reads this thread's last Winsock error; no arguments.
    io::Error::from_raw_os_error(unsafe { WSAGetLastError() })
}

/// Winsock for this process (std starts it only on its own first socket call).
fn startup() -> io::Result<()> {
    static START: Once = Once::new();
    let mut rc = 0;
    START.call_once(|| {
        // SAFETY: an all-zero WSADATA is a valid out-buffer; WSAStartup fills it. Winsock stays
        // started for the process's life (std never calls WSACleanup either while it runs).
        let mut data: WSADATA = unsafe { std::mem::zeroed() };
        // SAFETY: requests Winsock 2.2 with a valid out-pointer.
        rc = unsafe { WSAStartup(0x0202, &mut data) };
    });
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// A closed-on-drop socket, until it is handed to std.
struct Socket(SOCKET);

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: closes a socket this value owns and nothing else uses.
        unsafe { closesocket(self.0) };
    }
}

/// Listens on 127.0.0.1:`port` with `SO_EXCLUSIVEADDRUSE` set before the bind, on a socket
/// child processes do not inherit. Fails with `AddrInUse` or `PermissionDenied` (`WSAEACCES`)
/// when another socket holds the port.
pub fn bind_exclusive(port: u16) -> io::Result<TcpListener> {
    bind_loopback(port, SO_EXCLUSIVEADDRUSE)
}

/// Listens on 127.0.0.1:`port` with the socket option `option` (`SO_EXCLUSIVEADDRUSE`, or in
/// tests the `SO_REUSEADDR` an attacker would use) set to 1 before the bind.
fn bind_loopback(port: u16, option: i32) -> io::Result<TcpListener> {
    startup()?;
    // SAFETY: creates a new TCP socket; no pointers are passed (no protocol info).
    let raw = unsafe {
        WSASocketW(
            i32::from(AF_INET),
            SOCK_STREAM,
            IPPROTO_TCP,
            std::ptr::null(),
            0,
            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    if raw == INVALID_SOCKET {
        return Err(wsa_error());
    }
    let socket = Socket(raw);
    let on: i32 = 1;
    // SAFETY: `on` is a live i32 and its size is passed; the socket is ours.
    let rc = unsafe {
        setsockopt(
            socket.0,
            SOL_SOCKET,
            option,
            (&raw const on).cast(),
            size_of::<i32>() as i32,
        )
    };
    if rc == SOCKET_ERROR {
        return Err(wsa_error());
    }
    let addr = SOCKADDR_IN {
        sin_family: AF_INET,
        sin_port: port.to_be(),
        sin_addr: IN_ADDR {
            S_un: IN_ADDR_0 {
                S_addr: u32::from(Ipv4Addr::LOCALHOST).to_be(),
            },
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `addr` is a complete SOCKADDR_IN alive for the call, its size passed.
    let rc = unsafe {
        bind(
            socket.0,
            (&raw const addr).cast::<SOCKADDR>(),
            size_of::<SOCKADDR_IN>() as i32,
        )
    };
    if rc == SOCKET_ERROR {
        return Err(wsa_error());
    }
    // SAFETY: listens on the bound socket we own.
    if unsafe { listen(socket.0, BACKLOG) } == SOCKET_ERROR {
        return Err(wsa_error());
    }
    let raw = socket.0;
    std::mem::forget(socket);
    // SAFETY: `raw` is a valid listening socket whose ownership passes to the listener (the
    // guard that would close it was forgotten just above).
    Ok(unsafe { TcpListener::from_raw_socket(raw as RawSocket) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    /// A range of `n` consecutive loopback ports that were all free a moment ago (the tests
    /// cannot use the fence's own range: another run or test may hold it).
    fn free_range(n: u16) -> PortRange {
        for _ in 0..50 {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            let low = probe.local_addr().unwrap().port();
            drop(probe);
            if low > u16::MAX - n {
                continue;
            }
            let held: Vec<_> = (low..low + n)
                .map(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)))
                .collect();
            if held.iter().all(Result::is_ok) {
                return PortRange {
                    low,
                    high: low + n - 1,
                };
            }
        }
        panic!("no run of {n} free loopback ports");
    }

    #[test]
    fn the_proxy_starts_on_the_first_free_port_and_records_what_it_refuses() {
        let range = free_range(3);
        let log = NetworkLog::default();
        let proxy = start(range, &["example.invalid".into()], &log).unwrap();
        assert_eq!(proxy.port, range.low);
        assert!(proxy.taken.is_empty());
        assert_eq!(
            proxy.handle.local_addr().unwrap(),
            SocketAddr::from((Ipv4Addr::LOCALHOST, range.low))
        );
        // An unlisted host through the proxy, with the run's credential: refused with 403, and
        // the decision recorded.
        let head = connect_head(&proxy, "unlisted.example", Some(&proxy.credential));
        assert_eq!(&head, b"HTTP/1.1 403");
        let events = log.take();
        assert!(
            events
                .iter()
                .any(|e| e.host == "unlisted.example" && e.port == 443 && !e.allowed),
            "{events:?}"
        );
    }

    /// The first 12 bytes of the proxy's answer to `CONNECT host:443`, sent with `credential`
    /// when given.
    fn connect_head(proxy: &RunProxy, host: &str, credential: Option<&Credential>) -> [u8; 12] {
        let mut c = TcpStream::connect((Ipv4Addr::LOCALHOST, proxy.port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let auth = credential
            .map(|c| format!("Proxy-Authorization: {}\r\n", c.header_value()))
            .unwrap_or_default();
        write!(
            c,
            "CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n{auth}\r\n"
        )
        .unwrap();
        let mut head = [0u8; 12];
        c.read_exact(&mut head).unwrap();
        head
    }

    /// The hole is shared by every level-2 run: the command of another run (no credential, or
    /// its own run's) reaches this port but not this run's allow-list.
    #[test]
    fn another_runs_command_is_refused_by_this_runs_proxy_without_its_credential() {
        let range = free_range(2);
        let log = NetworkLog::default();
        let mine = start(range, &["mine.example".into()], &log).unwrap();
        let other = start(range, &["example.com".into()], &NetworkLog::default()).unwrap();
        assert_ne!(
            mine.credential, other.credential,
            "each run has its own token"
        );
        for credential in [None, Some(&other.credential)] {
            assert_eq!(
                &connect_head(&mine, "mine.example", credential),
                b"HTTP/1.1 407",
                "a host of this run's list, without this run's credential"
            );
        }
        let events = log.take();
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(
            events
                .iter()
                .all(|e| !e.allowed && e.reason.contains("proxy credential")),
            "{events:?}"
        );
        let vars = crate::network::proxy_vars(mine.port, &mine.credential);
        assert!(
            vars.iter()
                .any(|(k, v)| k == "HTTP_PROXY" && v.contains(mine.credential.token())),
            "{vars:?}"
        );
    }

    #[test]
    fn a_port_in_use_falls_through_to_the_next_and_every_held_port_is_named() {
        let range = free_range(3);
        let squatter = TcpListener::bind((Ipv4Addr::LOCALHOST, range.low)).unwrap();
        let squatter_after = TcpListener::bind((Ipv4Addr::LOCALHOST, range.high)).unwrap();
        let proxy = start(range, &["example.com".into()], &NetworkLog::default()).unwrap();
        assert_eq!(proxy.port, range.low + 1);
        assert_eq!(
            proxy.taken.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            [range.low, range.high],
            "the report names every other holder of a port of the hole"
        );
        drop((squatter, squatter_after));
    }

    #[test]
    fn a_port_another_program_holds_on_the_wildcard_address_is_not_shared() {
        let range = free_range(2);
        let squatter = TcpListener::bind((Ipv4Addr::UNSPECIFIED, range.low)).unwrap();
        let proxy = start(range, &["example.com".into()], &NetworkLog::default()).unwrap();
        assert_eq!(
            proxy.port, range.high,
            "the wildcard holder's port was taken"
        );
        drop(squatter);
    }

    #[test]
    fn every_port_taken_refuses_naming_the_range() {
        let range = free_range(3);
        let squatters: Vec<_> = (range.low..=range.high)
            .map(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).unwrap())
            .collect();
        let err = match start(range, &["example.com".into()], &NetworkLog::default()) {
            Ok(p) => panic!(
                "the proxy started on {} although every port was held",
                p.port
            ),
            Err(e) => e,
        };
        assert!(
            matches!(err, ElevatedError::ProxyPortsTaken { low, high, .. }
                if low == range.low && high == range.high),
            "{err}"
        );
        drop(squatters);
    }

    #[test]
    fn a_bad_allow_list_entry_refuses_before_any_port_is_bound() {
        let range = free_range(1);
        let err = start(range, &["https://x/".into()], &NetworkLog::default())
            .err()
            .expect("a URL is not an allow-list entry");
        assert!(matches!(err, ElevatedError::AllowList(_)), "{err}");
        // The port is still free.
        TcpListener::bind((Ipv4Addr::LOCALHOST, range.low)).unwrap();
    }

    /// On real Windows, `SO_REUSEADDR` lets a second socket bind a port another socket
    /// listens on unless that one set `SO_EXCLUSIVEADDRUSE`. Under Wine (Linux sockets) the
    /// hijack fails anyway, so there this only checks the plain binds.
    #[test]
    fn nobody_binds_the_proxy_port_while_the_run_holds_it_not_even_with_so_reuseaddr() {
        use windows_sys::Win32::Networking::WinSock::SO_REUSEADDR;
        let range = free_range(1);
        let listener = bind_exclusive(range.low).unwrap();
        for addr in [Ipv4Addr::LOCALHOST, Ipv4Addr::UNSPECIFIED] {
            assert!(
                TcpListener::bind((addr, range.low)).is_err(),
                "a second socket bound {addr}:{} next to the run's proxy",
                range.low
            );
        }
        assert!(
            bind_loopback(range.low, SO_REUSEADDR).is_err(),
            "a SO_REUSEADDR socket took over the run's proxy port"
        );
        drop(listener);
    }
}
