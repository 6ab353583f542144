//! The server's stdout, which tells the spare keeper when a reply has been written out, so
//! that the next spare sandbox is built after the run's result is on its way to the client
//! rather than competing with it for the CPU (see `paddock::warm::ReplyCounter`), and lets the
//! tidying held during the run (`paddock::tidies_after_replies`) go at the same moment.

use paddock::warm::ReplyCounter;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;

/// An `AsyncWrite` that bumps `replies` after each completed flush (rmcp flushes once per
/// message).
pub struct ReplyWriter<W> {
    inner: W,
    replies: Option<Arc<ReplyCounter>>,
}

impl<W> ReplyWriter<W> {
    pub fn new(inner: W, replies: Option<Arc<ReplyCounter>>) -> Self {
        ReplyWriter { inner, replies }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for ReplyWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let done = Pin::new(&mut this.inner).poll_flush(cx);
        if let (Poll::Ready(Ok(())), Some(replies)) = (&done, &this.replies) {
            replies.sent();
        }
        // Out, or failed: either way the tidying held during the run waits no longer.
        if done.is_ready() {
            paddock::reply_sent();
        }
        done
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(flavor = "current_thread")]
    async fn each_completed_flush_counts_as_a_reply() {
        let replies = Arc::new(ReplyCounter::default());
        let mut out = ReplyWriter::new(Vec::<u8>::new(), Some(replies.clone()));
        out.write_all(b"{\"id\":1}\n").await.unwrap();
        assert_eq!(replies.count(), 0, "written, not yet flushed");
        out.flush().await.unwrap();
        assert_eq!(replies.count(), 1);
        out.write_all(b"{\"id\":2}\n").await.unwrap();
        out.flush().await.unwrap();
        assert_eq!(replies.count(), 2);
        assert_eq!(out.inner, b"{\"id\":1}\n{\"id\":2}\n");
    }
}
