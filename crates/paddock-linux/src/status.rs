//! The status channel from the in-sandbox init back to the supervisor: newline-delimited JSON
//! messages on an inherited pipe, closed by the command's `execve`. The supervisor knows the
//! sandbox is complete only when it has read `Ready` and then end-of-file.

use paddock_core::LayerReport;
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;

/// Which part of the init failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Any other part of building the sandbox.
    Setup,
    /// `execve` of the command itself.
    Exec,
    /// The view's set-up found a path of its plan gone (`ENOENT` opening it): the host changed
    /// since the plan was made (`LinuxError::Outdated`).
    Outdated,
}

/// One message of the init.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitMessage {
    /// A layer the init applied, as applied.
    Layer(LayerReport),
    /// How long each step of building the sandbox took, in microseconds, in order; the
    /// supervisor logs them (`PADDOCK_LOG=debug`): the init itself never logs.
    Timings(Vec<(String, u64)>),
    /// Every layer is in place; the command is about to be executed.
    Ready,
    /// The init gave up; the command did not run.
    Failed {
        stage: Stage,
        message: String,
        errno: Option<i32>,
    },
}

/// Writes one message; errors are ignored by callers that are about to exit anyway.
pub fn send(pipe: &OwnedFd, msg: &InitMessage) -> io::Result<()> {
    send_all(pipe, std::slice::from_ref(msg))
}

/// Writes `msgs` in order with one `write`: the supervisor wakes once for all of them, not once
/// per message (pid 1's end of set-up is on the path to the command's start).
pub fn send_all(pipe: &OwnedFd, msgs: &[InitMessage]) -> io::Result<()> {
    let mut lines = Vec::with_capacity(4 << 10);
    for msg in msgs {
        serde_json::to_writer(&mut lines, msg).map_err(io::Error::other)?;
        lines.push(b'\n');
    }
    let mut file = std::fs::File::from(pipe.try_clone()?);
    file.write_all(&lines)
}

/// Reads messages until end-of-file. A line that does not parse is reported as a failure.
pub fn receive_all(pipe: OwnedFd) -> io::Result<Vec<InitMessage>> {
    // Room for every message of a run up front: read_to_end on an empty buffer starts with
    // 32-byte reads and grows (a dozen reads of the pipe for the layers' reports).
    let mut text = Vec::with_capacity(16 << 10);
    std::fs::File::from(pipe).read_to_end(&mut text)?;
    Ok(text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(parse)
        .collect())
}

/// Reads messages until `Ready` or a failure has arrived, or end-of-file, without consuming
/// more: a waiting init says nothing after `Ready` until it gets its command.
pub fn receive_until_ready(pipe: &OwnedFd) -> io::Result<Vec<InitMessage>> {
    let mut file = std::fs::File::from(pipe.try_clone()?);
    let (mut text, mut msgs) = (Vec::new(), Vec::new());
    let mut chunk = [0u8; 4096];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        text.extend_from_slice(&chunk[..n]);
        while let Some(end) = text.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = text.drain(..=end).collect();
            let msg = parse(&line[..end]);
            let last = matches!(msg, InitMessage::Ready | InitMessage::Failed { .. });
            msgs.push(msg);
            if last {
                return Ok(msgs);
            }
        }
        if n == 0 {
            return Ok(msgs);
        }
    }
}

fn parse(line: &[u8]) -> InitMessage {
    serde_json::from_slice(line).unwrap_or_else(|e| InitMessage::Failed {
        stage: Stage::Setup,
        message: format!("unreadable message from the sandbox init: {e}"),
        errno: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddock_core::LayerStatus;

    #[test]
    fn messages_arrive_in_order_until_the_writer_closes() {
        let (r, w) = crate::sys::pipe().unwrap();
        let layer = LayerReport::new(paddock_core::Layer::MountView, LayerStatus::Enforced, "x")
            .enforcing([paddock_core::Protection::Writes]);
        send(&w, &InitMessage::Layer(layer.clone())).unwrap();
        send(&w, &InitMessage::Ready).unwrap();
        drop(w);
        assert_eq!(
            receive_all(r).unwrap(),
            vec![InitMessage::Layer(layer), InitMessage::Ready]
        );
    }

    #[test]
    fn messages_sent_together_arrive_as_sent_separately() {
        let layer = LayerReport::new(paddock_core::Layer::Seccomp, LayerStatus::Enforced, "y");
        let msgs = vec![
            InitMessage::Layer(layer),
            InitMessage::Timings(vec![("mounts".into(), 7)]),
            InitMessage::Ready,
        ];
        let (r, w) = crate::sys::pipe().unwrap();
        send_all(&w, &msgs).unwrap();
        drop(w);
        assert_eq!(receive_until_ready(&r).unwrap(), msgs);
        assert_eq!(receive_all(r).unwrap(), vec![], "nothing after Ready");
    }

    #[test]
    fn reading_until_ready_leaves_what_follows_unread() {
        let (r, w) = crate::sys::pipe().unwrap();
        send(&w, &InitMessage::Ready).unwrap();
        let first = receive_until_ready(&r).unwrap();
        assert_eq!(first, vec![InitMessage::Ready]);
        let later = InitMessage::Failed {
            stage: Stage::Exec,
            message: "x".into(),
            errno: Some(2),
        };
        send(&w, &later).unwrap();
        drop(w);
        assert_eq!(receive_all(r).unwrap(), vec![later]);
    }

    #[test]
    fn a_garbled_line_becomes_a_setup_failure() {
        let (r, w) = crate::sys::pipe().unwrap();
        std::fs::File::from(w).write_all(b"nonsense\n").unwrap();
        let msgs = receive_all(r).unwrap();
        assert!(matches!(
            msgs[0],
            InitMessage::Failed {
                stage: Stage::Setup,
                ..
            }
        ));
    }
}
