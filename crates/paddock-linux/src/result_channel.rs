//! The result channel from pid 1 to the supervisor: a pipe of small frames, each written with
//! one `write(2)` of at most `PIPE_BUF` bytes (so frames from pid 1's two threads never
//! interleave): how the command ended, and what the broker refused (connects) or observed
//! (write attempts, see `seccomp::write_observer`) while it ran.
//!
//! The broker's frames are written as they happen, so a run killed at its timeout still
//! reports them; at most `MAX_DENIAL_FRAMES` are written, and never one that could block (the
//! supervisor reads the pipe only once pid 1 has ended).

use crate::sys::Ended;
use paddock_core::Denial;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

const ENDED_CODE: u8 = 0;
const ENDED_SIGNAL: u8 = 1;
const DENIAL: u8 = 2;
const DROPPED: u8 = 3;
const TREE_EMPTY: u8 = 4;

/// Denial frames one run writes at most; later refusals are summed up as one "dropped" frame.
pub const MAX_DENIAL_FRAMES: usize = 64;
/// A denial frame's payload is at most this (a unix path is at most 108 bytes; a longer file
/// path is counted as dropped), well under `PIPE_BUF`.
const MAX_PAYLOAD: usize = 2048;

fn frame(tag: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len().min(usize::from(u16::MAX)) as u16;
    let mut out = Vec::with_capacity(3 + payload.len());
    out.push(tag);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&payload[..usize::from(len)]);
    out
}

/// The frame that says how the command ended.
pub fn ended_frame(e: Ended) -> Vec<u8> {
    let (tag, value) = match e {
        Ended::Code(c) => (ENDED_CODE, c),
        Ended::Signal(s) => (ENDED_SIGNAL, s),
    };
    frame(tag, &value.to_le_bytes())
}

/// The frame that says no process but pid 1 is left in the sandbox and pid 1 has closed its
/// standard streams: the run is over before pid 1's own exit (see `Pid1Process`).
pub fn tree_empty_frame() -> Vec<u8> {
    frame(TREE_EMPTY, &[])
}

/// What the supervisor read: how the command ended (if pid 1 said so) and the denials, merged
/// (the same address, port or socket path counted once with the number of attempts; the same
/// observed write kept once).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Received {
    pub ended: Option<Ended>,
    /// Pid 1 said nothing but itself is left (`tree_empty_frame`).
    pub tree_empty: bool,
    pub denials: Vec<Denial>,
}

/// Decodes every frame of `b`; a torn or unknown frame ends the decoding.
pub fn decode(b: &[u8]) -> Received {
    let mut out = Received::default();
    let mut dropped = false;
    let mut rest = b;
    while rest.len() >= 3 {
        let tag = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]]));
        let Some(payload) = rest.get(3..3 + len) else {
            break;
        };
        rest = &rest[3 + len..];
        let value = || payload.try_into().ok().map(i32::from_le_bytes);
        match tag {
            ENDED_CODE => out.ended = value().map(Ended::Code),
            ENDED_SIGNAL => out.ended = value().map(Ended::Signal),
            DENIAL => {
                if let Ok(d) = serde_json::from_slice::<Denial>(payload) {
                    merge(&mut out.denials, d);
                }
            }
            DROPPED => dropped = true,
            TREE_EMPTY => out.tree_empty = true,
            _ => break,
        }
    }
    if dropped {
        out.denials.push(Denial::Dropped);
    }
    out
}

/// Adds `d`, counting a repeat of the same address and port, or path, on the first one.
fn merge(all: &mut Vec<Denial>, d: Denial) {
    for seen in all.iter_mut() {
        match (seen, &d) {
            (
                Denial::NetworkRefused {
                    address: a,
                    port: p,
                    count,
                    ..
                },
                Denial::NetworkRefused {
                    address: b,
                    port: q,
                    ..
                },
            ) if a == b && p == q => {
                *count = count.saturating_add(1);
                return;
            }
            (
                Denial::UnixSocketRefused { path: a, count },
                Denial::UnixSocketRefused { path: b, .. },
            ) if a == b => {
                *count = count.saturating_add(1);
                return;
            }
            (seen, d) if seen == d => return,
            _ => {}
        }
    }
    all.push(d);
}

/// The broker's side: writes denial frames without ever blocking the broker.
pub struct Recorder {
    out: std::fs::File,
    written: usize,
    dropped: bool,
}

impl Recorder {
    pub fn new(fd: OwnedFd) -> Recorder {
        Recorder {
            out: std::fs::File::from(fd),
            written: 0,
            dropped: false,
        }
    }

    /// Writes one denial, or (past the cap, or when the pipe has no room) marks it dropped.
    pub fn record(&mut self, d: &Denial) {
        if self.written >= MAX_DENIAL_FRAMES {
            if !self.dropped {
                self.dropped = self.write(&frame(DROPPED, &[]));
            }
            return;
        }
        let Ok(payload) = serde_json::to_vec(d) else {
            return;
        };
        if payload.len() > MAX_PAYLOAD {
            if !self.dropped {
                self.dropped = self.write(&frame(DROPPED, &[]));
            }
            return;
        }
        if self.write(&frame(DENIAL, &payload)) {
            self.written += 1;
        }
    }

    /// Writes `bytes` only when the pipe has room now (a free page: more than any frame).
    fn write(&mut self, bytes: &[u8]) -> bool {
        let mut poll = libc::pollfd {
            fd: self.out.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        let ready =
            unsafe { libc::poll(&mut poll, 1, 0) } == 1 && poll.revents & libc::POLLOUT != 0;
        ready && self.out.write_all(bytes).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(port: u16) -> Denial {
        Denial::NetworkRefused {
            address: "10.0.0.1".into(),
            port,
            dns: port == 53,
            count: 1,
        }
    }

    #[test]
    fn frames_round_trip_and_repeats_are_counted() {
        let mut b = Vec::new();
        for d in [net(53), net(443), net(53)] {
            b.extend(frame(DENIAL, &serde_json::to_vec(&d).unwrap()));
        }
        b.extend(ended_frame(Ended::Signal(9)));
        let r = decode(&b);
        assert_eq!(r.ended, Some(Ended::Signal(9)));
        let mut first = net(53);
        if let Denial::NetworkRefused { count, .. } = &mut first {
            *count = 2;
        }
        assert_eq!(r.denials, [first, net(443)]);
        for e in [Ended::Code(0), Ended::Code(255)] {
            assert_eq!(decode(&ended_frame(e)).ended, Some(e));
        }
    }

    #[test]
    fn the_word_that_nothing_is_left_travels_with_the_end() {
        let mut b = ended_frame(Ended::Code(0));
        b.extend(tree_empty_frame());
        let r = decode(&b);
        assert_eq!((r.ended, r.tree_empty), (Some(Ended::Code(0)), true));
        assert!(!decode(&ended_frame(Ended::Code(0))).tree_empty);
    }

    #[test]
    fn torn_or_missing_frames_decode_to_nothing() {
        assert_eq!(decode(&[]), Received::default());
        let whole = ended_frame(Ended::Code(3));
        assert_eq!(decode(&whole[..whole.len() - 1]).ended, None);
        assert_eq!(decode(&[7, 0, 0]).ended, None);
    }

    #[test]
    fn the_recorder_stops_at_its_cap_and_says_so() {
        let (r, w) = crate::sys::pipe().unwrap();
        let mut rec = Recorder::new(w);
        for port in 0..(MAX_DENIAL_FRAMES as u16 + 10) {
            rec.record(&net(1000 + port));
        }
        drop(rec);
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::fs::File::from(r), &mut bytes).unwrap();
        let got = decode(&bytes).denials;
        assert_eq!(got.len(), MAX_DENIAL_FRAMES + 1);
        assert_eq!(got.last(), Some(&Denial::Dropped));
    }
}
