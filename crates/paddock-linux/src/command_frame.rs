//! The command of a waiting sandbox (`waiting`) on its way to pid 1: one length-prefixed frame
//! of length-prefixed byte strings, written in one `write` and read by pid 1 in two `read`s
//! (the length, then the body) without waiting for the channel to close and without a JSON
//! parser. The bytes are the command's own (no UTF-8 or escaping): a NUL byte survives the
//! trip and is refused where the command is started, as for a command in a plan.
//!
//! Layout, integers little-endian: `u32` body length, then the body: version `1` (`u8`), the
//! program, the working directory, `u32` argument count and the arguments, `u32` variable
//! count and each variable as name then value; every string is a `u32` length and its bytes.
//! A frame that is cut short, too long, of another version or with bytes left over decodes to
//! nothing, and pid 1 then runs nothing.

use crate::plan::PlanCommand;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

const VERSION: u8 = 1;
/// Frames above this are refused unread (the kernel's own limit on a command line and its
/// environment is far below).
pub const MAX_FRAME: usize = 64 << 20;

/// The frame for `cmd`.
pub fn encode(cmd: &PlanCommand) -> Vec<u8> {
    let strings = cmd.args.len() + 2 * cmd.env.len() + 2;
    let text: usize = cmd.args.iter().map(|a| a.len()).sum::<usize>()
        + cmd
            .env
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
        + cmd.program.as_os_str().len()
        + cmd.cwd.as_os_str().len();
    let mut out = Vec::with_capacity(4 + 1 + 8 + 4 * strings + text);
    out.extend_from_slice(&[0; 4]);
    out.push(VERSION);
    put(&mut out, cmd.program.as_os_str());
    put(&mut out, cmd.cwd.as_os_str());
    put_len(&mut out, cmd.args.len());
    for a in &cmd.args {
        put(&mut out, a);
    }
    put_len(&mut out, cmd.env.len());
    for (k, v) in &cmd.env {
        put(&mut out, k);
        put(&mut out, v);
    }
    let body = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
    out[..4].copy_from_slice(&body.to_le_bytes());
    out
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put(out: &mut Vec<u8>, s: &OsStr) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// Reads one frame from `from` and decodes it: `None` when the channel closed without a
/// frame (the sandbox was dropped unused) or the frame is not a valid one.
pub fn read(mut from: impl Read) -> Option<PlanCommand> {
    let mut len = [0u8; 4];
    from.read_exact(&mut len).ok()?;
    let len = usize::try_from(u32::from_le_bytes(len)).ok()?;
    if len > MAX_FRAME {
        return None;
    }
    let mut body = vec![0u8; len];
    from.read_exact(&mut body).ok()?;
    decode(&body)
}

/// The command in a frame's body (without its length prefix).
pub fn decode(body: &[u8]) -> Option<PlanCommand> {
    let mut r = Reader(body);
    if r.take(1)? != [VERSION] {
        return None;
    }
    let program = PathBuf::from(r.string()?);
    let cwd = PathBuf::from(r.string()?);
    let args = (0..r.count()?)
        .map(|_| r.string())
        .collect::<Option<Vec<_>>>()?;
    let env = (0..r.count()?)
        .map(|_| Some((r.string()?, r.string()?)))
        .collect::<Option<Vec<_>>>()?;
    r.0.is_empty().then_some(PlanCommand {
        program,
        args,
        cwd,
        env,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn count(&mut self) -> Option<usize> {
        let bytes: [u8; 4] = self.take(4)?.try_into().ok()?;
        let n = usize::try_from(u32::from_le_bytes(bytes)).ok()?;
        // Every item takes at least its 4-byte length: a count the rest cannot hold is a lie,
        // refused before anything is reserved for it.
        (n <= self.0.len() / 4).then_some(n)
    }

    fn string(&mut self) -> Option<OsString> {
        let bytes: [u8; 4] = self.take(4)?.try_into().ok()?;
        let n = usize::try_from(u32::from_le_bytes(bytes)).ok()?;
        Some(OsString::from_vec(self.take(n)?.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PlanCommand {
        PlanCommand {
            program: "/usr/bin/env".into(),
            args: vec![
                "-0".into(),
                "".into(),
                OsString::from_vec(b"a\0b\xff".to_vec()),
            ],
            cwd: "/home/me/project with space".into(),
            env: vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("EMPTY".into(), "".into()),
                (
                    OsString::from_vec(b"K\xfe".to_vec()),
                    OsString::from_vec(b"=v\n".to_vec()),
                ),
            ],
        }
    }

    #[test]
    fn a_command_comes_back_byte_for_byte() {
        let cmd = sample();
        let frame = encode(&cmd);
        assert_eq!(read(&frame[..]), Some(cmd.clone()));
        let bare = PlanCommand {
            args: vec![],
            env: vec![],
            ..cmd
        };
        assert_eq!(read(&encode(&bare)[..]), Some(bare));
    }

    #[test]
    fn a_frame_cut_short_or_padded_or_of_another_version_is_refused() {
        let frame = encode(&sample());
        for cut in 0..frame.len() {
            assert_eq!(read(&frame[..cut]), None, "cut at {cut}");
        }
        // One byte more in the body than the strings account for.
        let mut padded = frame.clone();
        padded.push(0);
        let len = u32::from_le_bytes(padded[..4].try_into().unwrap()) + 1;
        padded[..4].copy_from_slice(&len.to_le_bytes());
        assert_eq!(read(&padded[..]), None);
        let mut other = frame.clone();
        other[4] = VERSION + 1;
        assert_eq!(read(&other[..]), None);
        // Nothing written at all: the sandbox was dropped unused.
        assert_eq!(read(&b""[..]), None);
    }

    #[test]
    fn lengths_that_the_frame_cannot_hold_are_refused_without_allocating() {
        let mut huge = (u32::try_from(MAX_FRAME).unwrap() + 1)
            .to_le_bytes()
            .to_vec();
        huge.push(VERSION);
        assert_eq!(read(&huge[..]), None);
        // A count of four billion arguments in a body of a few bytes.
        let mut body = vec![VERSION];
        for s in ["/p", "/"] {
            body.extend_from_slice(&u32::try_from(s.len()).unwrap().to_le_bytes());
            body.extend_from_slice(s.as_bytes());
        }
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&body), None);
    }
}
