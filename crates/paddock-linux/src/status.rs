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
    let mut line = serde_json::to_vec(msg).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut file = std::fs::File::from(pipe.try_clone()?);
    file.write_all(&line)
}

/// Reads messages until end-of-file. A line that does not parse is reported as a failure.
pub fn receive_all(pipe: OwnedFd) -> io::Result<Vec<InitMessage>> {
    let mut text = Vec::new();
    std::fs::File::from(pipe).read_to_end(&mut text)?;
    Ok(text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l).unwrap_or_else(|e| InitMessage::Failed {
                stage: Stage::Setup,
                message: format!("unreadable message from the sandbox init: {e}"),
                errno: None,
            })
        })
        .collect())
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
