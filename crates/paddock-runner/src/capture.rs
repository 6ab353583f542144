//! Pumps that drain the command's captured pipes, keeping at most `cap` bytes per stream and
//! counting the rest, so a chatty command never blocks on a full pipe for longer than `run`'s
//! first tick and never grows our memory past the cap. On Unix one pump polls both pipes
//! ([`ChildStdio::pipes`]), on a thread from `run`'s first tick on, or on the caller's thread
//! in `finish` for a command that ended before; other readers get a pump thread each.

use crate::{Captured, ChildStdio};
use std::io::Read;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One stream's buffer, shared with its pump thread so that a pump that never reaches end of
/// file (a pipe held open by a process outside the tree) still yields what it read.
type Shared = Arc<Mutex<Captured>>;

/// The pumps of one command.
pub(crate) struct Pumps {
    streams: Vec<Shared>,
    done: mpsc::Receiver<()>,
    running: usize,
    /// Unix pipes not handed to a pump yet (see [`Pumps::new`]), the sender their pump will
    /// report its end on (held only until then: a pump that dies without a word disconnects
    /// the channel, which ends `finish`'s wait), and their cap.
    #[cfg(unix)]
    pipes: Vec<(std::fs::File, Shared)>,
    #[cfg(unix)]
    tx: Option<mpsc::Sender<()>>,
    #[cfg(unix)]
    cap: u64,
}

impl Pumps {
    /// The pumps of `stdio`: for the pipes of [`ChildStdio::pipes`], one pump polling both,
    /// started only by [`Pumps::start_pipes`] (a command that ends first has its output read
    /// by [`Pumps::finish`] on the caller's thread, with no thread woken: the pipes hold what
    /// it wrote; the caller starts the pump once they fill, see [`Pumps::filling`]); other
    /// captured streams get a pump each, started now; inherited stdio gets none.
    pub(crate) fn new(stdio: ChildStdio, cap: u64) -> std::io::Result<Pumps> {
        let (tx, done) = mpsc::channel();
        let mut streams = Vec::new();
        let mut running = 0;
        #[cfg(unix)]
        if stdio.pipes.iter().any(Option::is_some) {
            let shared: [Shared; 2] = Default::default();
            let pipes: Vec<_> = stdio
                .pipes
                .into_iter()
                .zip(shared.iter().cloned())
                .filter_map(|(pipe, buf)| pipe.map(|p| (p, buf)))
                .collect();
            return Ok(Pumps {
                streams: shared.into(),
                done,
                running: 0,
                pipes,
                tx: Some(tx),
                cap,
            });
        }
        for reader in [stdio.stdout, stdio.stderr] {
            let shared: Shared = Arc::default();
            if let Some(reader) = reader {
                let (buf, tx) = (shared.clone(), tx.clone());
                running += 1;
                crate::workers::run(Box::new(move || {
                    pump(reader, &buf, cap);
                    let _ = tx.send(());
                }))?;
            }
            streams.push(shared);
        }
        Ok(Pumps {
            streams,
            done,
            running,
            #[cfg(unix)]
            pipes: Vec::new(),
            #[cfg(unix)]
            tx: None,
            #[cfg(unix)]
            cap,
        })
    }

    /// Whether there are pipes no pump has taken yet.
    pub(crate) fn pipes_pending(&self) -> bool {
        #[cfg(unix)]
        return !self.pipes.is_empty();
        #[cfg(not(unix))]
        false
    }

    /// Whether pipes no pump has taken yet hold a quarter of what they can hold, or more (or
    /// their fill cannot be read): a command writing that much may soon wait for a reader.
    pub(crate) fn filling(&self) -> bool {
        #[cfg(unix)]
        return self.pipes.iter().any(|(pipe, _)| filling(pipe));
        #[cfg(not(unix))]
        false
    }

    /// Hands the pipes to a pump thread, when they have not been yet.
    pub(crate) fn start_pipes(&mut self) -> std::io::Result<()> {
        #[cfg(unix)]
        if !self.pipes.is_empty()
            && let Some(tx) = self.tx.take()
        {
            let (pipes, cap) = (std::mem::take(&mut self.pipes), self.cap);
            crate::workers::run(Box::new(move || {
                poll_pump(pipes, cap, None);
                let _ = tx.send(());
            }))?;
            self.running += 1;
        }
        Ok(())
    }

    /// Waits at most `limit` for the pumps to reach end of file (pipes no pump took are read
    /// here) and returns (stdout, stderr). A stream still open after `limit` is returned as
    /// read so far and marked truncated.
    pub(crate) fn finish(self, limit: Duration) -> (Captured, Captured) {
        let deadline = Instant::now() + limit;
        #[cfg(unix)]
        let mut complete = {
            let left = poll_pump(self.pipes, self.cap, Some(deadline));
            let complete = left.is_empty();
            // Held open past the limit (by a process outside the tree): drained on a worker, as
            // a pump started earlier would go on doing, so that its writer is not cut off.
            if !complete {
                let _ = crate::workers::run(Box::new(move || {
                    poll_pump(left, 0, None);
                }));
            }
            complete
        };
        #[cfg(not(unix))]
        let mut complete = true;
        let mut finished = 0;
        while finished < self.running {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.done.recv_timeout(left) {
                Ok(()) => finished += 1,
                Err(_) => break,
            }
        }
        complete &= finished == self.running;
        let mut out = self.streams.into_iter().map(|s| {
            let mut c = std::mem::take(&mut *s.lock().unwrap_or_else(|e| e.into_inner()));
            c.truncated |= !complete && c.bytes > 0;
            c
        });
        let stdout = out.next().unwrap_or_default();
        let stderr = out.next().unwrap_or_default();
        (stdout, stderr)
    }
}

fn pump(mut reader: Box<dyn Read + Send>, buf: &Shared, cap: u64) {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // A broken pipe (Windows reports the writer's end that way) is end of file.
            Err(_) => return,
        };
        keep_read(buf, &chunk[..n], cap);
    }
}

/// Adds `read` to the stream's buffer up to `cap` bytes, counting all of it.
fn keep_read(buf: &Shared, read: &[u8], cap: u64) {
    let n = read.len();
    let mut c = buf.lock().unwrap_or_else(|e| e.into_inner());
    let room = cap.saturating_sub(c.data.len() as u64);
    let keep = (n as u64).min(room) as usize;
    c.data.extend_from_slice(&read[..keep]);
    c.bytes += n as u64;
    if keep < n {
        c.truncated = true;
    }
}

/// Whether `pipe` holds a quarter of its capacity or more (`FIONREAD`, `F_GETPIPE_SZ`); true
/// when either cannot be read.
#[cfg(unix)]
fn filling(pipe: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    let fd = pipe.as_raw_fd();
    let mut held: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the valid pointer it is given.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut held) } < 0 {
        return true;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: F_GETPIPE_SZ takes no argument and only reads the descriptor's pipe.
    let size = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
    #[cfg(not(target_os = "linux"))]
    let size: libc::c_int = 16 * 1024;
    size <= 0 || held >= size / 4
}

/// Drains every pipe of `pipes` into its buffer, polling them together, until each has reached
/// end of file (or failed, which ends it too), or until `deadline`. Returns the pipes not
/// drained to their end (none when all were), their buffers marked truncated when a `poll`
/// failed.
#[cfg(unix)]
fn poll_pump(
    mut pipes: Vec<(std::fs::File, Shared)>,
    cap: u64,
    deadline: Option<Instant>,
) -> Vec<(std::fs::File, Shared)> {
    use std::os::fd::AsRawFd;
    let mut chunk = [0u8; 16 * 1024];
    while !pipes.is_empty() {
        let timeout = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return pipes;
                }
                // Rounded up: a wait of 0 would spin until the deadline.
                left.as_micros()
                    .div_ceil(1000)
                    .min(libc::c_int::MAX as u128) as libc::c_int
            }
        };
        let mut fds: Vec<libc::pollfd> = pipes
            .iter()
            .map(|(pipe, _)| libc::pollfd {
                fd: pipe.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: `fds` is a valid array of `fds.len()` pollfds that lives across the call.
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) } < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            // Not drained to the end: what was read is all there is, and it says so.
            for (_, buf) in &pipes {
                buf.lock().unwrap_or_else(|e| e.into_inner()).truncated = true;
            }
            return pipes;
        }
        // Read once from each pipe that is ready; a pipe at its end (or failing) is dropped
        // (last first, so that the indices of those before it stay valid).
        for (i, pfd) in fds.iter().enumerate().rev() {
            if pfd.revents == 0 {
                continue;
            }
            let (pipe, buf) = &mut pipes[i];
            let ended = match pipe.read(&mut chunk) {
                Ok(0) => true,
                Ok(n) => {
                    keep_read(buf, &chunk[..n], cap);
                    false
                }
                Err(e) => e.kind() != std::io::ErrorKind::Interrupted,
            };
            if ended {
                pipes.remove(i);
            }
        }
    }
    pipes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::thread;

    /// The pumps of `stdio`, its pipes handed to a pump thread when `pumped`.
    fn pumps(stdio: ChildStdio, cap: u64, pumped: bool) -> Pumps {
        let mut p = Pumps::new(stdio, cap).unwrap();
        if pumped {
            p.start_pipes().unwrap();
        }
        p
    }

    fn capture(data: Vec<u8>, cap: u64) -> Captured {
        let stdio = ChildStdio {
            stdout: Some(Box::new(Cursor::new(data))),
            ..ChildStdio::default()
        };
        pumps(stdio, cap, false).finish(Duration::from_secs(5)).0
    }

    #[test]
    fn output_under_the_cap_is_kept_whole() {
        let c = capture(b"hello".to_vec(), 10);
        assert_eq!(
            c,
            Captured {
                bytes: 5,
                data: b"hello".to_vec(),
                truncated: false
            }
        );
    }

    #[test]
    fn output_over_the_cap_is_cut_and_counted() {
        let c = capture(vec![b'x'; 100_000], 1000);
        assert_eq!(c.bytes, 100_000);
        assert_eq!(c.data.len(), 1000);
        assert!(c.truncated);
    }

    #[test]
    fn zero_cap_keeps_nothing_but_counts() {
        let c = capture(b"abc".to_vec(), 0);
        assert_eq!((c.bytes, c.data.len(), c.truncated), (3, 0, true));
    }

    #[test]
    fn a_finished_pumps_thread_pumps_the_next_stream() {
        use std::sync::atomic::Ordering;
        let before = crate::workers::STARTED.load(Ordering::SeqCst);
        for i in 0..20u8 {
            assert_eq!(capture(vec![i; 3], 10).data, vec![i; 3]);
            // Let the pump's thread go back to the pool.
            thread::sleep(Duration::from_millis(5));
        }
        let started = crate::workers::STARTED.load(Ordering::SeqCst) - before;
        // Other tests of this crate start a few pumps meanwhile; a thread per pump would be 20.
        assert!(started < 12, "{started} threads for 20 sequential captures");
    }

    #[test]
    fn inherited_streams_yield_empty_captures() {
        let (o, e) = pumps(ChildStdio::default(), 10, true).finish(Duration::from_secs(1));
        assert_eq!((o, e), (Captured::default(), Captured::default()));
    }

    /// A reader that never reaches end of file, like a pipe a daemon outside the tree holds.
    struct Endless(bool);
    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if std::mem::replace(&mut self.0, true) {
                thread::sleep(Duration::from_secs(3600));
            }
            buf[0] = b'z';
            Ok(1)
        }
    }

    #[test]
    fn a_stream_that_never_closes_returns_what_was_read_marked_truncated() {
        let stdio = ChildStdio {
            stdout: Some(Box::new(Endless(false))),
            ..ChildStdio::default()
        };
        let p = pumps(stdio, 10, false);
        thread::sleep(Duration::from_millis(100));
        let (o, _) = p.finish(Duration::from_millis(200));
        assert_eq!((o.data, o.truncated), (b"z".to_vec(), true));
    }

    /// Two pipes drained by one polling pump, on a pump thread or (pipes no pump took) by
    /// `finish` on the caller's thread: a writer that fills one pipe while the other stays
    /// open and quiet is drained (no deadlock), each stream is capped and counted on its own,
    /// and the capture ends once both have reached end of file.
    #[cfg(unix)]
    #[test]
    fn one_pump_drains_both_pipes_each_with_its_own_cap() {
        both_pipes_drained(true);
        both_pipes_drained(false);
    }

    #[cfg(unix)]
    fn both_pipes_drained(pumped: bool) {
        use std::io::Write;
        let (out_r, mut out_w) = std::io::pipe().unwrap();
        let (err_r, mut err_w) = std::io::pipe().unwrap();
        let stdio = ChildStdio::pipes(Some(out_r.into()), Some(err_r.into()));
        let pumps = pumps(stdio, 1000, pumped);
        // Far more than a pipe holds (64 KiB): written only because the pump keeps reading.
        let writer = thread::spawn(move || {
            err_w.write_all(&vec![b'e'; 300_000]).unwrap();
            out_w.write_all(b"out").unwrap();
        });
        // Bounded: a pump that read one pipe to its end before the other would leave the writer
        // blocked on the full pipe, and this would return incomplete after 5 s.
        let (o, e) = pumps.finish(Duration::from_secs(5));
        assert_eq!(
            o,
            Captured {
                bytes: 3,
                data: b"out".to_vec(),
                truncated: false
            }
        );
        assert_eq!((e.bytes, e.data.len(), e.truncated), (300_000, 1000, true));
        writer.join().unwrap();
    }

    /// Pipes no pump took say they are filling once a quarter of their capacity waits in them.
    #[cfg(unix)]
    #[test]
    fn pipes_fill_at_a_quarter_of_their_capacity() {
        use std::io::Write;
        let (out_r, mut out_w) = std::io::pipe().unwrap();
        let (err_r, _err_w) = std::io::pipe().unwrap();
        let stdio = ChildStdio::pipes(Some(out_r.into()), Some(err_r.into()));
        let p = pumps(stdio, 10, false);
        assert!(p.pipes_pending() && !p.filling(), "empty pipes");
        out_w.write_all(&[b'x'; 100]).unwrap();
        assert!(!p.filling(), "100 bytes");
        out_w.write_all(&vec![b'x'; 20_000]).unwrap();
        assert!(p.filling(), "20 KB of a 64 KiB pipe");
        let mut p = p;
        p.start_pipes().unwrap();
        assert!(!p.pipes_pending() && !p.filling(), "handed to a pump");
        drop((out_w, _err_w));
        let (o, _) = p.finish(Duration::from_secs(5));
        assert_eq!((o.bytes, o.truncated), (20_100, true));
    }

    /// Pumped or read by `finish`, a pipe held open ends the capture at the limit, with what
    /// was read, marked truncated.
    #[cfg(unix)]
    #[test]
    fn a_pipe_left_open_ends_the_capture_at_the_limit_with_what_was_read() {
        use std::io::Write;
        for pumped in [true, false] {
            let (out_r, mut out_w) = std::io::pipe().unwrap();
            let (err_r, err_w) = std::io::pipe().unwrap();
            drop(err_w);
            let stdio = ChildStdio::pipes(Some(out_r.into()), Some(err_r.into()));
            let p = pumps(stdio, 10, pumped);
            out_w.write_all(b"z").unwrap();
            thread::sleep(Duration::from_millis(100));
            let started = Instant::now();
            let (o, e) = p.finish(Duration::from_millis(200));
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "pumped: {pumped}"
            );
            assert_eq!(
                (o.data, o.truncated),
                (b"z".to_vec(), true),
                "pumped: {pumped}"
            );
            assert_eq!(e, Captured::default());
            drop(out_w);
        }
    }
}
