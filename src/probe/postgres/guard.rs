//! A guard on the byte stream that tokio-postgres reads during a login: it follows the backend
//! messages' framing (a type byte and a 32-bit length, the "Message Formats" section of the
//! PostgreSQL manual) as the bytes pass, without buffering them.
//!
//! Why: the client library buffers a whole message before decoding it, so a server that declares a
//! 2 GiB message, or streams DataRows for ever, would make the gate grow without bound. The guard
//! fails the read ("reply too large") as soon as a message declares more than [`MAX_MESSAGE`] or
//! the login reads more than [`MAX_TOTAL`]. It also notes the authentication method the server
//! asked for, so that a password about to go out in cleartext (or as an MD5 hash) over an
//! unencrypted connection can be warned about.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The largest backend message accepted: far above any row `SELECT 1` or a readiness query returns.
pub const MAX_MESSAGE: usize = 1024 * 1024;
/// Everything one login and query may read.
pub const MAX_TOTAL: usize = 4 * 1024 * 1024;

/// AuthenticationCleartextPassword (`R` with code 3).
pub const AUTH_CLEARTEXT: u8 = 3;
/// AuthenticationMD5Password (`R` with code 5).
pub const AUTH_MD5: u8 = 5;

/// The stream, wrapped.
pub struct Guarded<S> {
    inner: S,
    total: usize,
    /// What `total` may reach: [`MAX_TOTAL`], more for a probe that reads a whole table.
    limit: usize,
    header: [u8; 5],
    header_len: usize,
    /// Body bytes of the current message still to pass.
    body_left: usize,
    /// Bytes of an `R` message's body seen so far (its first four are the method).
    auth: Option<(usize, [u8; 4])>,
    /// The password request the server made: cleartext (3), MD5 (5), or 0.
    method: Arc<AtomicU8>,
}

impl<S> std::fmt::Debug for Guarded<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guarded")
            .field("total", &self.total)
            .finish()
    }
}

impl<S> Guarded<S> {
    /// Wraps `inner`; `method` receives the authentication method the server asks for.
    pub fn new(inner: S, method: Arc<AtomicU8>) -> Self {
        Self::with_limit(inner, method, MAX_TOTAL)
    }

    /// Like [`Guarded::new`], with another bound on everything read.
    pub fn with_limit(inner: S, method: Arc<AtomicU8>, limit: usize) -> Self {
        Guarded {
            inner,
            total: 0,
            limit,
            header: [0; 5],
            header_len: 0,
            body_left: 0,
            auth: None,
            method,
        }
    }

    /// Follows the framing over newly read bytes.
    pub(crate) fn observe(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        self.total += bytes.len();
        if self.total > self.limit {
            return Err(too_large());
        }
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(bytes.len());
                if let Some((seen, code)) = &mut self.auth {
                    for &b in bytes[..n].iter().take(4usize.saturating_sub(*seen)) {
                        code[*seen] = b;
                        *seen += 1;
                    }
                    if *seen == 4 {
                        // Only the password requests are kept: the AuthenticationOk (code 0)
                        // that follows must not erase them.
                        let method = u32::from_be_bytes(*code);
                        if let Ok(m @ (AUTH_CLEARTEXT | AUTH_MD5)) = u8::try_from(method) {
                            self.method.store(m, Ordering::Relaxed);
                        }
                        self.auth = None;
                    }
                }
                self.body_left -= n;
                bytes = &bytes[n..];
                continue;
            }
            self.header[self.header_len] = bytes[0];
            self.header_len += 1;
            bytes = &bytes[1..];
            if self.header_len == 5 {
                self.header_len = 0;
                let declared = i32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]);
                let body = usize::try_from(declared)
                    .ok()
                    .and_then(|l| l.checked_sub(4))
                    .ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            "the server does not speak the PostgreSQL protocol",
                        )
                    })?;
                if body > MAX_MESSAGE {
                    return Err(too_large());
                }
                self.body_left = body;
                self.auth = (self.header[0] == b'R' && body >= 4).then_some((0, [0; 4]));
            }
        }
        Ok(())
    }
}

fn too_large() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "reply too large")
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[before..];
                Poll::Ready(this.observe(new))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
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

    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![tag];
        m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn follows_framing_across_any_split_and_notes_the_method() {
        let method = Arc::new(AtomicU8::new(0));
        let mut g = Guarded::new((), method.clone());
        let mut stream = message(b'R', &3i32.to_be_bytes());
        stream.extend(message(b'R', &0i32.to_be_bytes()));
        stream.extend(message(b'S', b"server_version\x0016\x00"));
        // Fed one byte at a time: the state machine must not care where reads end.
        for b in &stream {
            g.observe(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(method.load(Ordering::Relaxed), AUTH_CLEARTEXT);
        assert_eq!((g.header_len, g.body_left), (0, 0));
    }

    #[test]
    fn a_huge_declared_message_or_endless_rows_are_refused() {
        let mut g = Guarded::new((), Arc::default());
        let mut huge = vec![b'D'];
        huge.extend_from_slice(&i32::MAX.to_be_bytes());
        assert_eq!(g.observe(&huge).unwrap_err().to_string(), "reply too large");

        let mut g = Guarded::new((), Arc::default());
        let row = message(b'D', &[0; 1000]);
        let mut err = None;
        for _ in 0..10_000 {
            if let Err(e) = g.observe(&row) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err.unwrap().to_string(), "reply too large");
        assert!(g.total <= MAX_TOTAL + row.len());

        let mut g = Guarded::new((), Arc::default());
        let mut bad = vec![b'E'];
        bad.extend_from_slice(&2i32.to_be_bytes());
        assert!(g
            .observe(&bad)
            .unwrap_err()
            .to_string()
            .contains("PostgreSQL"));
    }
}
