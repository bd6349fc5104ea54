//! A read budget under a protocol: [`Limited`] wraps any stream and fails the read that would take
//! it past `max` bytes in one attempt. The hand-written protocols (MySQL, AMQP, NATS, MQTT,
//! memcached) read through it, so a server that sends an endless banner or a frame declaring
//! gigabytes costs at most `max` bytes of memory, whatever the parser above asks for.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream that reads at most `left` more bytes.
#[derive(Debug)]
pub struct Limited<S> {
    inner: S,
    left: usize,
    max: usize,
}

impl<S> Limited<S> {
    pub fn new(inner: S, max: usize) -> Self {
        Limited {
            inner,
            left: max,
            max,
        }
    }
}

/// The error a read past the budget fails with (`InvalidData`, so probes show it as it is).
pub fn too_much(max: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the server sent more than {} KiB in one attempt",
            max / 1024
        ),
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for Limited<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.left == 0 {
            return Poll::Ready(Err(too_much(self.max)));
        }
        // Read into a window no larger than what is left, so the budget holds byte for byte.
        let room = buf.remaining().min(self.left);
        let mut window = buf.take(room);
        let before = window.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, &mut window) {
            Poll::Ready(Ok(())) => {
                let n = window.filled().len() - before;
                // SAFETY: `window` is a sub-buffer of `buf`'s unfilled part, and the inner reader
                // initialised and filled exactly `n` bytes of it.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                this.left -= n;
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Limited<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn reads_up_to_the_budget_then_fails() {
        let data = vec![7u8; 10_000];
        let mut s = Limited::new(&data[..], 4096);
        let mut got = Vec::new();
        let err = s.read_to_end(&mut got).await.unwrap_err();
        assert_eq!(got.len(), 4096);
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("more than 4 KiB"), "{err}");
        // Under the budget, end of stream is plain end of stream.
        let mut s = Limited::new(&data[..100], 4096);
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got.len(), 100);
    }
}
