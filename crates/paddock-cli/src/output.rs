//! Printing: one-line errors on stderr, JSON on stdout. Errors often quote argv or paths, so
//! they go through `paddock_core::text::escape`, and JSON through `escape_json`: no control or
//! bidi character reaches the terminal.

use serde::Serialize;

/// Prints `paddock: <message>` on stderr as a single line (line breaks become spaces, other
/// control characters visible escapes) and returns `code`.
pub fn fail(message: impl std::fmt::Display, code: i32) -> i32 {
    let text = message.to_string().replace(['\n', '\r'], " ");
    eprintln!("paddock: {}", paddock_core::text::escape(&text));
    code
}

/// Prints `value` as pretty JSON on stdout.
pub fn json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => text(&format!("{}\n", paddock_core::text::escape_json(&s))),
        Err(e) => eprintln!("paddock: cannot encode JSON: {e}"),
    }
}

/// `value` as one line of JSON, escaped like `json`.
pub fn json_line(value: &impl Serialize) -> Result<String, serde_json::Error> {
    serde_json::to_string(value).map(|s| paddock_core::text::escape_json(&s).into_owned())
}

/// `println!` through [`text`]: a reader that went away ends the output quietly (`paddock log |
/// head`) instead of panicking on the broken pipe.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::text(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// Set once a write to stdout failed for another reason than a reader gone away: nothing more
/// is written, and [`exit_code`] turns a success into [`OUTPUT_LOST`].
static LOST: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The exit code of a command that succeeded but whose output could not be written (a full
/// disk, a file system gone read-only): sysexits' `EX_IOERR`.
pub const OUTPUT_LOST: i32 = 74;

/// Writes `s` to stdout. A reader that went away (`paddock explain ... | head`) ends the output
/// quietly instead of panicking on the broken pipe. Another write error (`paddock log --json >
/// full-disk/file`) is reported once, on one line, and the rest of the output is dropped.
pub fn text(s: &str) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if LOST.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            if !LOST.swap(true, Ordering::Relaxed) {
                fail(
                    format_args!(
                        "cannot write to standard output: {e}; free space or send the output elsewhere"
                    ),
                    OUTPUT_LOST,
                );
            }
        }
    }
}

/// `code`, unless it is a success whose output was lost: then [`OUTPUT_LOST`], so that a script
/// does not take a truncated report or log for a whole one. A failure keeps its own code (the
/// command's, or Paddock's).
pub fn exit_code(code: i32) -> i32 {
    if code == 0 && LOST.load(std::sync::atomic::Ordering::Relaxed) {
        OUTPUT_LOST
    } else {
        code
    }
}
