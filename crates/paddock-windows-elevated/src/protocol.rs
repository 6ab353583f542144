//! The broker <-> runner control channel over the named pipe: length-prefixed frames
//! `[tag: u8][len: u32 little-endian][payload]`, one message each. It carries the handshake,
//! the launch request, Ctrl-C / kill and the exit code; the command's stdio does not go through
//! it but through the standard handles the broker hands the runner, which the command inherits
//! (raw bytes, no framing, consoles keep working).
//!
//! Guarantees: `read_message` never allocates more than `MAX_PAYLOAD` for a frame, returns
//! `Ok(None)` only at a clean end of stream (between frames), and rejects an unknown tag, an
//! oversized or truncated frame and a malformed payload with a typed error, never a panic.

use paddock_windows::plan::TokenPlan;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use thiserror::Error;

/// Protocol version carried in `Hello`; broker and runner refuse each other on a mismatch.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest payload of one frame (a launch request with a large environment fits).
pub const MAX_PAYLOAD: usize = 1 << 20;

/// A polite stop request forwarded across (Ctrl-C / close).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    Interrupt,
    Terminate,
}

/// What the runner starts: the target under the write-restricted token of the sandbox account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchRequest {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// A verbatim command line (cmd.exe spelling), when the broker built one.
    pub command_line: Option<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    /// The write-restricted token the runner makes from its own (the sandbox account's) token.
    pub token: TokenPlan,
    /// The run's private temp folder (`TEMP` / `TMP` of the target).
    pub private_temp: PathBuf,
    /// Fence probe to run as the sandbox account before the target starts.
    pub probe: Option<ProbeRequest>,
}

/// What the runner must fail to reach before it starts anything (network = "off" or an
/// allow-list), and, with an allow-list, the proxy port it must reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeRequest {
    /// A loopback port the broker listens on, outside the fence's hole.
    pub loopback_port: u16,
    /// An outside address (`ip:port`).
    pub outside: String,
    /// The allow-list proxy's port on 127.0.0.1, which the sandbox must reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_port: Option<u16>,
}

impl LaunchRequest {
    /// Converts OS strings, refusing ones that are not Unicode (they cannot cross the pipe
    /// losslessly, and a lossy program path could start the wrong program).
    pub fn new(
        program: PathBuf,
        args: &[OsString],
        cwd: PathBuf,
        env: &[(OsString, OsString)],
        token: TokenPlan,
        private_temp: PathBuf,
    ) -> Result<LaunchRequest, ProtocolError> {
        let text = |s: &OsString| {
            s.to_str()
                .map(str::to_string)
                .ok_or_else(|| ProtocolError::NotUnicode(s.to_string_lossy().into_owned()))
        };
        Ok(LaunchRequest {
            program,
            args: args.iter().map(text).collect::<Result<_, _>>()?,
            command_line: None,
            cwd,
            env: env
                .iter()
                .map(|(k, v)| Ok((text(k)?, text(v)?)))
                .collect::<Result<_, ProtocolError>>()?,
            token,
            private_temp,
            probe: None,
        })
    }
}

/// How the target ended, as the runner saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitReport {
    /// The target's exit code (`GetExitCodeProcess`).
    pub code: u32,
}

/// One message on the pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// First message each way: version and the broker's nonce (the runner echoes it).
    Hello {
        version: u32,
        nonce: [u8; 16],
    },
    Launch(Box<LaunchRequest>),
    /// The target started with this process id.
    Started {
        pid: u32,
    },
    Signal(Signal),
    /// End the whole tree now (timeout, second Ctrl-C).
    Kill,
    Exit(ExitReport),
    /// The runner refuses to start the target (fail closed), with the reason.
    Refused {
        message: String,
    },
    /// The fence probe reached `target`: nothing was started.
    Leaked {
        target: String,
    },
    /// A compatibility grant the runner could not make (before `Started`); security is
    /// unaffected, the report lists it.
    Gap {
        what: String,
    },
}

/// A malformed or unexpected frame.
#[derive(Debug, Error)]
pub enum ProtocolError {
    #[error("pipe I/O failed: {0}")]
    Io(#[from] io::Error),
    #[error("unknown frame tag {0:#04x}; broker and runner are from different Paddock builds")]
    UnknownTag(u8),
    #[error("frame of {len} bytes exceeds the {max}-byte limit", max = MAX_PAYLOAD)]
    TooLarge { len: usize },
    #[error("the stream ended inside a frame ({got} of {want} bytes)")]
    Truncated { got: usize, want: usize },
    #[error("malformed {what} frame: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("`{0}` is not valid Unicode and cannot be passed to the sandbox account's runner")]
    NotUnicode(String),
    #[error("protocol version {theirs} on the other end, {ours} here; use one Paddock build")]
    Version { ours: u32, theirs: u32 },
    #[error("the runner did not echo the broker's nonce; refusing an unknown client")]
    Nonce,
    #[error("unexpected {0} message")]
    Unexpected(&'static str),
}

const T_HELLO: u8 = 1;
const T_LAUNCH: u8 = 2;
const T_STARTED: u8 = 3;
const T_SIGNAL: u8 = 4;
const T_KILL: u8 = 5;
const T_EXIT: u8 = 6;
const T_REFUSED: u8 = 7;
const T_LEAKED: u8 = 8;
const T_GAP: u8 = 9;

fn fixed<const N: usize>(p: &[u8], what: &'static str) -> Result<[u8; N], ProtocolError> {
    p.try_into().map_err(|_| ProtocolError::Malformed {
        what,
        reason: format!("{} bytes instead of {N}", p.len()),
    })
}

impl Message {
    fn encode(&self) -> Result<(u8, Vec<u8>), ProtocolError> {
        Ok(match self {
            Message::Hello { version, nonce } => {
                let mut p = version.to_le_bytes().to_vec();
                p.extend_from_slice(nonce);
                (T_HELLO, p)
            }
            Message::Launch(req) => (
                T_LAUNCH,
                serde_json::to_vec(req).map_err(|e| ProtocolError::Malformed {
                    what: "launch",
                    reason: e.to_string(),
                })?,
            ),
            Message::Started { pid } => (T_STARTED, pid.to_le_bytes().to_vec()),
            Message::Signal(s) => (
                T_SIGNAL,
                vec![match s {
                    Signal::Interrupt => 0,
                    Signal::Terminate => 1,
                }],
            ),
            Message::Kill => (T_KILL, Vec::new()),
            Message::Exit(e) => (T_EXIT, e.code.to_le_bytes().to_vec()),
            Message::Refused { message } => (T_REFUSED, message.as_bytes().to_vec()),
            Message::Leaked { target } => (T_LEAKED, target.as_bytes().to_vec()),
            Message::Gap { what } => (T_GAP, what.as_bytes().to_vec()),
        })
    }

    fn decode(tag: u8, p: Vec<u8>) -> Result<Message, ProtocolError> {
        Ok(match tag {
            T_HELLO => {
                let b: [u8; 20] = fixed(&p, "hello")?;
                let mut nonce = [0u8; 16];
                nonce.copy_from_slice(&b[4..]);
                Message::Hello {
                    version: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                    nonce,
                }
            }
            T_LAUNCH => Message::Launch(Box::new(serde_json::from_slice(&p).map_err(|e| {
                ProtocolError::Malformed {
                    what: "launch",
                    reason: e.to_string(),
                }
            })?)),
            T_STARTED => Message::Started {
                pid: u32::from_le_bytes(fixed(&p, "started")?),
            },
            T_SIGNAL => Message::Signal(match fixed::<1>(&p, "signal")?[0] {
                0 => Signal::Interrupt,
                1 => Signal::Terminate,
                other => {
                    return Err(ProtocolError::Malformed {
                        what: "signal",
                        reason: format!("unknown signal {other}"),
                    });
                }
            }),
            T_KILL if p.is_empty() => Message::Kill,
            T_KILL => {
                return Err(ProtocolError::Malformed {
                    what: "kill",
                    reason: "unexpected payload".into(),
                });
            }
            T_EXIT => Message::Exit(ExitReport {
                code: u32::from_le_bytes(fixed(&p, "exit")?),
            }),
            T_REFUSED => Message::Refused {
                message: String::from_utf8(p).map_err(|e| ProtocolError::Malformed {
                    what: "refused",
                    reason: e.to_string(),
                })?,
            },
            T_LEAKED => Message::Leaked {
                target: String::from_utf8(p).map_err(|e| ProtocolError::Malformed {
                    what: "leaked",
                    reason: e.to_string(),
                })?,
            },
            T_GAP => Message::Gap {
                what: String::from_utf8(p).map_err(|e| ProtocolError::Malformed {
                    what: "gap",
                    reason: e.to_string(),
                })?,
            },
            other => return Err(ProtocolError::UnknownTag(other)),
        })
    }
}

/// Writes one message as one frame (a single `write_all` of header and payload).
pub fn write_message(w: &mut impl Write, msg: &Message) -> Result<(), ProtocolError> {
    let (tag, payload) = msg.encode()?;
    if payload.len() > MAX_PAYLOAD {
        return Err(ProtocolError::TooLarge { len: payload.len() });
    }
    let mut frame = Vec::with_capacity(payload.len() + 5);
    frame.push(tag);
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&payload);
    w.write_all(&frame)?;
    w.flush()?;
    Ok(())
}

/// Reads one message; `Ok(None)` at a clean end of stream before a frame starts.
pub fn read_message(r: &mut impl Read) -> Result<Option<Message>, ProtocolError> {
    let mut header = [0u8; 5];
    let got = read_full(r, &mut header)?;
    if got == 0 {
        return Ok(None);
    }
    if got < header.len() {
        return Err(ProtocolError::Truncated {
            got,
            want: header.len(),
        });
    }
    let tag = header[0];
    let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if !(T_HELLO..=T_GAP).contains(&tag) {
        return Err(ProtocolError::UnknownTag(tag));
    }
    if len > MAX_PAYLOAD {
        return Err(ProtocolError::TooLarge { len });
    }
    let mut payload = vec![0u8; len];
    let got = read_full(r, &mut payload)?;
    if got < len {
        return Err(ProtocolError::Truncated { got, want: len });
    }
    Message::decode(tag, payload).map(Some)
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => break,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Checks the peer's `Hello`: same version, and (for the broker) its own nonce echoed.
pub fn check_hello(msg: Option<Message>, nonce: &[u8; 16]) -> Result<(), ProtocolError> {
    match msg {
        Some(Message::Hello { version, .. }) if version != PROTOCOL_VERSION => {
            Err(ProtocolError::Version {
                ours: PROTOCOL_VERSION,
                theirs: version,
            })
        }
        Some(Message::Hello { nonce: got, .. }) if got == *nonce => Ok(()),
        Some(Message::Hello { .. }) => Err(ProtocolError::Nonce),
        Some(_) => Err(ProtocolError::Unexpected("non-hello first")),
        None => Err(ProtocolError::Unexpected("end of stream before hello")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_windows::access::Privilege;
    use paddock_windows::acl::Acl;
    use paddock_windows::sid::Sid;

    fn token() -> TokenPlan {
        let run = Sid::parse("S-1-5-21-1-2-3-4").unwrap();
        TokenPlan {
            write_restricted: true,
            disable_max_privilege: true,
            lua_token: true,
            restricting_sids: vec![run.clone()],
            run_sid: run,
            deny_only: Vec::new(),
            retained_privileges: vec![Privilege::ChangeNotify],
            default_dacl: Acl::new(Vec::new()),
        }
    }

    fn samples() -> Vec<Message> {
        vec![
            Message::Hello {
                version: PROTOCOL_VERSION,
                nonce: [7; 16],
            },
            Message::Launch(Box::new(LaunchRequest {
                program: PathBuf::from(r"C:\Windows\System32\cmd.exe"),
                args: vec!["/c".into(), "echo ü".into()],
                command_line: Some("cmd.exe /d /c \"echo hi\"".into()),
                cwd: PathBuf::from(r"C:\repo"),
                env: vec![("PATH".into(), r"C:\Windows".into())],
                token: token(),
                private_temp: PathBuf::from(r"C:\state\tmp\run"),
                probe: Some(ProbeRequest {
                    loopback_port: 50123,
                    outside: "1.1.1.1:443".into(),
                    proxy_port: Some(47801),
                }),
            })),
            Message::Started { pid: 4242 },
            Message::Signal(Signal::Interrupt),
            Message::Signal(Signal::Terminate),
            Message::Kill,
            Message::Exit(ExitReport { code: 0xC000_013A }),
            Message::Refused {
                message: "no desktop".into(),
            },
            Message::Leaked {
                target: "127.0.0.1:50123".into(),
            },
            Message::Gap {
                what: r"\\.\NUL: access denied".into(),
            },
        ]
    }

    #[test]
    fn every_message_round_trips_through_a_byte_stream() {
        let mut buf = Vec::new();
        for m in samples() {
            write_message(&mut buf, &m).unwrap();
        }
        let mut r = buf.as_slice();
        for m in samples() {
            assert_eq!(read_message(&mut r).unwrap(), Some(m));
        }
        assert_eq!(read_message(&mut r).unwrap(), None);
    }

    #[test]
    fn an_unknown_tag_is_rejected() {
        let frame = [0x7f, 0, 0, 0, 0];
        assert!(matches!(
            read_message(&mut frame.as_slice()),
            Err(ProtocolError::UnknownTag(0x7f))
        ));
    }

    #[test]
    fn an_oversized_length_is_rejected_before_allocating() {
        let mut frame = vec![T_REFUSED];
        frame.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            read_message(&mut frame.as_slice()),
            Err(ProtocolError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_truncated_header_or_payload_is_rejected() {
        assert!(matches!(
            read_message(&mut [T_EXIT, 4, 0].as_slice()),
            Err(ProtocolError::Truncated { got: 3, want: 5 })
        ));
        assert!(matches!(
            read_message(&mut [T_EXIT, 4, 0, 0, 0, 1, 2].as_slice()),
            Err(ProtocolError::Truncated { got: 2, want: 4 })
        ));
    }

    #[test]
    fn malformed_payloads_are_rejected_with_their_frame_named() {
        let cases: &[(&[u8], &str)] = &[
            (&[T_HELLO, 1, 0, 0, 0, 9], "hello"),
            (&[T_LAUNCH, 2, 0, 0, 0, b'{', b'x'], "launch"),
            (&[T_STARTED, 1, 0, 0, 0, 9], "started"),
            (&[T_EXIT, 2, 0, 0, 0, 9, 9], "exit"),
            (&[T_SIGNAL, 1, 0, 0, 0, 5], "signal"),
            (&[T_KILL, 1, 0, 0, 0, 5], "kill"),
            (&[T_REFUSED, 1, 0, 0, 0, 0xff], "refused"),
        ];
        for (bytes, what) in cases {
            match read_message(&mut &bytes[..]) {
                Err(ProtocolError::Malformed { what: w, .. }) => assert_eq!(w, *what),
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn hello_with_another_version_or_nonce_is_refused() {
        let nonce = [1; 16];
        assert!(
            check_hello(
                Some(Message::Hello {
                    version: PROTOCOL_VERSION,
                    nonce
                }),
                &nonce
            )
            .is_ok()
        );
        assert!(matches!(
            check_hello(Some(Message::Hello { version: 99, nonce }), &nonce),
            Err(ProtocolError::Version { theirs: 99, .. })
        ));
        assert!(matches!(
            check_hello(
                Some(Message::Hello {
                    version: PROTOCOL_VERSION,
                    nonce: [2; 16]
                }),
                &nonce
            ),
            Err(ProtocolError::Nonce)
        ));
        assert!(check_hello(Some(Message::Kill), &nonce).is_err());
        assert!(check_hello(None, &nonce).is_err());
    }

    #[test]
    fn non_unicode_arguments_are_refused_not_mangled() {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let bad = OsString::from_vec(vec![0x66, 0xff]);
            assert!(matches!(
                LaunchRequest::new(
                    PathBuf::from("/bin/x"),
                    &[bad],
                    PathBuf::from("/"),
                    &[],
                    token(),
                    PathBuf::from("/tmp")
                ),
                Err(ProtocolError::NotUnicode(_))
            ));
        }
        #[cfg(windows)]
        {
            use std::os::windows::ffi::OsStringExt;
            let bad = OsString::from_wide(&[0x66, 0xD800]);
            assert!(matches!(
                LaunchRequest::new(
                    PathBuf::from(r"C:\x"),
                    &[bad],
                    PathBuf::from(r"C:\"),
                    &[],
                    token(),
                    PathBuf::from(r"C:\t")
                ),
                Err(ProtocolError::NotUnicode(_))
            ));
        }
    }
}
