//! `--serve ADDR`: a small HTTP/1.x server for orchestrators — `/readyz` (200 when every required
//! target is ready and the command runs, else 503, with each target's state as JSON), `/livez`
//! (200 while the supervisor and its command live) and `/metrics` (Prometheus' text format).
//! Nothing else is served.
//!
//! Every bound is explicit, because the port may face anything: a request head of at most
//! [`MAX_HEAD`] bytes (more: 431), read within [`READ_TIME`] and written within [`WRITE_TIME`], one
//! request per connection, and at most [`MAX_CONNECTIONS`] connections at once. At the cap the
//! OLDEST connection is dropped for the new one: slow clients holding every slot cannot keep an
//! orchestrator's probe, which completes its request in a millisecond, from an answer.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::state::Shared;

pub const MAX_HEAD: usize = 8 * 1024;
pub const READ_TIME: Duration = Duration::from_secs(2);
pub const WRITE_TIME: Duration = Duration::from_secs(2);
pub const MAX_CONNECTIONS: usize = 128;

/// Binds at start, so that a taken port is a usage error before anything runs.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| {
        format!(
            "--serve: cannot listen on {addr}: {}",
            crate::os::io_reason(&e)
        )
    })
}

/// Accepts for ever.
pub async fn serve(listener: TcpListener, state: Shared) {
    let open: Arc<Mutex<VecDeque<(u64, tokio::task::AbortHandle)>>> = Arc::default();
    let mut next = 0u64;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // EMFILE and the like: a moment, then on (the supervisor must not end over it).
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let id = next;
        next += 1;
        let state = state.clone();
        let list = open.clone();
        let task = tokio::spawn(async move {
            answer(stream, &state).await;
            if let Ok(mut l) = list.lock() {
                l.retain(|(i, _)| *i != id);
            }
        });
        if let Ok(mut l) = open.lock() {
            l.push_back((id, task.abort_handle()));
            while l.len() > MAX_CONNECTIONS {
                if let Some((_, oldest)) = l.pop_front() {
                    oldest.abort();
                }
            }
        }
    }
}

/// One connection: one request, one answer, closed.
async fn answer(mut stream: TcpStream, state: &Shared) {
    let head = match tokio::time::timeout(READ_TIME, read_head(&mut stream)).await {
        Ok(Ok(head)) => head,
        Ok(Err(Head::TooLarge)) => {
            let _ = respond(
                &mut stream,
                431,
                "text/plain",
                "request header too large\n",
                false,
            )
            .await;
            return;
        }
        _ => return,
    };
    let (status, kind, body, head_only) = route(&head, state);
    let _ = tokio::time::timeout(
        WRITE_TIME,
        respond(&mut stream, status, kind, &body, head_only),
    )
    .await;
}

enum Head {
    TooLarge,
    Closed,
}

/// Reads up to the blank line that ends the request head.
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, Head> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| Head::Closed)?;
        if n == 0 {
            return Err(Head::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Ok(buf);
        }
        if buf.len() > MAX_HEAD {
            return Err(Head::TooLarge);
        }
    }
}

/// (status, content type, body, HEAD request) for a request head.
pub fn route(head: &[u8], state: &Shared) -> (u16, &'static str, String, bool) {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return (405, "text/plain", "only GET and HEAD\n".into(), false);
    }
    let Ok(s) = state.lock() else {
        return (500, "text/plain", "internal error\n".into(), head_only);
    };
    let (status, kind, body) = match path {
        "/readyz" => {
            let status = if s.ready() { 200 } else { 503 };
            (status, "application/json", s.readyz_json())
        }
        "/livez" => (200, "text/plain", "ok\n".to_string()),
        "/metrics" => (200, "text/plain; version=0.0.4; charset=utf-8", s.metrics()),
        _ => (
            404,
            "text/plain",
            "not found: /readyz, /livez and /metrics are served\n".to_string(),
        ),
    };
    // The final net of every output: a secret known to the gate never leaves in a body.
    (
        status,
        kind,
        crate::redact::scrub(&body).into_owned(),
        head_only,
    )
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    kind: &str,
    body: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&out).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::super::state::{Phase, State};
    use super::*;

    #[test]
    fn routes() {
        let state = State::new(vec![("db".into(), false)]);
        let get = |path: &str| route(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes(), &state);
        assert_eq!(get("/readyz").0, 503);
        {
            let mut s = state.lock().unwrap();
            s.phase = Phase::Running;
            s.record(0, &crate::verdict::Verdict::ready(None));
        }
        let (status, kind, body, _) = get("/readyz?verbose");
        assert_eq!((status, kind), (200, "application/json"));
        assert!(body.contains("\"target\":\"db\""), "{body}");
        assert_eq!(get("/livez").0, 200);
        assert_eq!(get("/metrics").0, 200);
        assert_eq!(get("/").0, 404);
        assert_eq!(get("/../etc/passwd").0, 404);
        assert_eq!(route(b"POST /readyz HTTP/1.1\r\n\r\n", &state).0, 405);
        assert_eq!(route(b"\xff\xfe\r\n\r\n", &state).0, 405);
        let (_, _, body, head_only) = route(b"HEAD /readyz HTTP/1.1\r\n\r\n", &state);
        assert!(head_only && !body.is_empty());
    }
}
