//! The pieces of an HTTP/1.1 client on hyper that every user of it needs: a request without a
//! body, and a connection driver that ends with the attempt that started it.

use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, Incoming};

/// A request body that is empty (every request readygate sends is a GET).
#[derive(Debug)]
pub struct NoBody;

impl Body for NoBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(None)
    }
    fn is_end_stream(&self) -> bool {
        true
    }
}

/// Aborts the connection driver when the attempt ends (or is cancelled by its timeout): no task
/// outlives the attempt that spawned it.
#[derive(Debug)]
pub struct AbortOnDrop(pub tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The next chunk of data of a body, skipping trailers; `None` at its end.
pub async fn next_data(body: &mut Incoming) -> Option<Result<Bytes, hyper::Error>> {
    use hyper::body::Body as _;
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await?;
        match frame {
            Ok(frame) => match frame.into_data() {
                Ok(data) => return Some(Ok(data)),
                Err(_trailers) => continue,
            },
            Err(e) => return Some(Err(e)),
        }
    }
}
