//! `grpc://HOST:PORT` (HTTP/2 without TLS, "h2c") and `grpcs://HOST:PORT` (TLS, ALPN `h2`): the
//! standard health service, `grpc.health.v1.Health/Check`, for the whole server or for
//! `#service=NAME`.
//!
//! What each answer means:
//! - `SERVING` → ready;
//! - `NOT_SERVING`, `UNKNOWN`, `SERVICE_UNKNOWN`, gRPC status NOT_FOUND (5, the service is not
//!   registered yet) or UNAVAILABLE (14) → not ready;
//! - gRPC status UNIMPLEMENTED (12: the server has no health service) → permanent, with a hint;
//!   UNAUTHENTICATED (16), PERMISSION_DENIED (7) → permanent;
//! - an HTTP/2 error, a non-gRPC answer, another protocol → not ready.
//!
//! Bounds: response headers at most 16 KiB, the message at most 64 KiB, the whole attempt at most
//! 256 KiB read; the HTTP/2 connection is driven inside the attempt (no task outlives it).

use bytes::{Buf, Bytes};
use http::{Request, Response};

use crate::net::limit::Limited;
use crate::net::tls::Tls;
use crate::net::Endpoint;
use crate::params::Params;
use crate::uri::{Host, Uri};
use crate::verdict::Verdict;

const MAX_HEADERS: u32 = 16 * 1024;
const MAX_MESSAGE: usize = 64 * 1024;
const BUDGET: usize = 256 * 1024;
const OPTIONS: &[&str] = &["service", "ca", "insecure"];
const PATH: &str = "/grpc.health.v1.Health/Check";

#[derive(Debug)]
pub struct GrpcProbe {
    endpoint: Endpoint,
    host: Host,
    port: u16,
    tls: Option<Tls>,
    service: String,
}

impl GrpcProbe {
    pub fn from_uri(u: &Uri) -> Result<Self, String> {
        let tls_scheme = u.scheme == "grpcs";
        let mut opts = Params::fragment(&u.options);
        let service = opts.take("service").unwrap_or_default();
        let tls = Tls::from_options(&mut opts, tls_scheme, "grpcs", &[b"h2"])?;
        opts.finish(&u.scheme, OPTIONS)?;
        Params::query(&u.query).finish(&u.scheme, &[])?;
        if u.user.is_some() || u.password.is_some() {
            return Err("grpc targets take no user or password".into());
        }
        if !u.path.is_empty() && u.path != "/" {
            return Err(format!(
                "a {} target has no path; name the service with #service=: {}://api:50051#service=app.v1.Orders",
                u.scheme, u.scheme
            ));
        }
        let host = u.host.clone().ok_or("the host is missing")?;
        let port = u.port.ok_or(format!(
            "the port is missing: gRPC has no standard port ({}://api:50051)",
            u.scheme
        ))?;
        Ok(GrpcProbe {
            endpoint: Endpoint::Tcp(host.clone(), port),
            host,
            port,
            tls,
            service,
        })
    }

    /// What the probe will do, for `--explain`.
    pub fn explain(&self) -> Vec<String> {
        vec![
            format!(
                "grpc.health.v1.Health/Check on {} answers SERVING for {}",
                self.endpoint,
                if self.service.is_empty() {
                    "the whole server".to_string()
                } else {
                    format!("service {}", self.service)
                }
            ),
            Tls::describe(self.tls.as_ref()),
        ]
    }

    /// The warning to show at start, if TLS verification is off.
    pub fn warning(&self) -> Option<String> {
        self.tls.as_ref().and_then(Tls::warning)
    }

    fn what(&self) -> String {
        if self.service.is_empty() {
            "the server".to_string()
        } else {
            format!("service {}", self.service)
        }
    }

    pub async fn attempt(&self) -> Verdict {
        let stream = match self.endpoint.open(self.tls.as_ref()).await {
            Ok(s) => s,
            Err(v) => return v,
        };
        let stream = Limited::new(stream, BUDGET);
        let handshake = h2::client::Builder::new()
            .max_header_list_size(MAX_HEADERS)
            .initial_window_size(MAX_MESSAGE as u32)
            .handshake::<_, Bytes>(stream)
            .await;
        let (client, mut connection) = match handshake {
            Ok(pair) => pair,
            Err(e) => return Verdict::costly(describe(&e)),
        };
        // The connection is driven here, beside the call, and dropped with the attempt.
        let call = self.call(client);
        tokio::pin!(call);
        tokio::select! {
            verdict = &mut call => verdict,
            result = &mut connection => match result {
                // The server ended the connection before answering.
                Ok(()) => Verdict::costly("the server closed the HTTP/2 connection without an answer"),
                Err(e) => Verdict::costly(describe(&e)),
            },
        }
    }

    async fn call(&self, client: h2::client::SendRequest<Bytes>) -> Verdict {
        let mut client = match client.ready().await {
            Ok(c) => c,
            Err(e) => return Verdict::costly(describe(&e)),
        };
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let uri = format!("{scheme}://{}:{}{PATH}", self.host.to_url_form(), self.port);
        let request = Request::post(uri)
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header(
                "user-agent",
                concat!("readygate/", env!("CARGO_PKG_VERSION")),
            )
            .body(());
        let request = match request {
            Ok(r) => r,
            Err(e) => return Verdict::failed(format!("cannot build the request: {e}")),
        };
        let (response, mut body) = match client.send_request(request, false) {
            Ok(pair) => pair,
            Err(e) => return Verdict::costly(describe(&e)),
        };
        if let Err(e) = body.send_data(Bytes::from(message(&self.service)), true) {
            return Verdict::costly(describe(&e));
        }
        let response = match response.await {
            Ok(r) => r,
            Err(e) => return Verdict::costly(describe(&e)),
        };
        self.read(response).await
    }

    async fn read(&self, response: Response<h2::RecvStream>) -> Verdict {
        let (head, mut body) = response.into_parts();
        if head.status != http::StatusCode::OK {
            return Verdict::costly(format!(
                "the server answered HTTP {}, not gRPC",
                head.status.as_u16()
            ));
        }
        let grpc = head
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        if !grpc {
            return Verdict::costly("the server does not speak gRPC (no application/grpc answer)");
        }
        // Trailers-only: the status is in the headers.
        if let Some(v) = self.status(&head.headers) {
            return v;
        }
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => return Verdict::costly(describe(&e)),
            };
            let _ = body.flow_control().release_capacity(chunk.len());
            if data.len() + chunk.len() > MAX_MESSAGE + 5 {
                return Verdict::costly(format!(
                    "the health answer is larger than {} KiB",
                    MAX_MESSAGE / 1024
                ));
            }
            data.extend_from_slice(chunk.chunk());
        }
        let trailers = match body.trailers().await {
            Ok(t) => t.unwrap_or_default(),
            Err(e) => return Verdict::costly(describe(&e)),
        };
        if let Some(v) = self.status(&trailers) {
            return v;
        }
        match serving_status(&data) {
            Some(1) => Verdict::ready("SERVING".to_string()),
            Some(2) => Verdict::costly(format!("{} is NOT_SERVING", self.what())),
            Some(3) => Verdict::costly(format!("{} is SERVICE_UNKNOWN", self.what())),
            Some(_) => Verdict::costly(format!("{} reports an UNKNOWN status", self.what())),
            None => Verdict::costly("the health answer could not be read"),
        }
    }

    /// The verdict for a non-OK `grpc-status`, `None` when it is OK or absent.
    fn status(&self, headers: &http::HeaderMap) -> Option<Verdict> {
        let code: u32 = headers
            .get("grpc-status")?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let message = headers
            .get("grpc-message")
            .and_then(|v| v.to_str().ok())
            .map(|m| format!(": {}", crate::probe::text::printable(m.as_bytes(), 120)))
            .unwrap_or_default();
        Some(match code {
            0 => return None,
            12 => Verdict::failed(format!(
                "the server does not implement the gRPC health service (UNIMPLEMENTED{message}): register grpc.health.v1.Health, or use tcp://"
            )),
            5 => Verdict::costly(format!("{} is not registered with the health service (NOT_FOUND)", self.what())),
            16 => Verdict::failed(format!("UNAUTHENTICATED{message}")),
            7 => Verdict::failed(format!("PERMISSION_DENIED{message}")),
            14 => Verdict::costly(format!("UNAVAILABLE{message}")),
            n => Verdict::costly(format!("gRPC status {n}{message}")),
        })
    }
}

/// The length-prefixed HealthCheckRequest: field 1 (`service`, a string), left out when empty.
fn message(service: &str) -> Vec<u8> {
    let mut proto = Vec::new();
    if !service.is_empty() {
        proto.push(0x0A);
        let mut n = service.len();
        while n >= 0x80 {
            proto.push((n as u8) | 0x80);
            n >>= 7;
        }
        proto.push(n as u8);
        proto.extend_from_slice(service.as_bytes());
    }
    let mut out = vec![0];
    out.extend_from_slice(&(proto.len() as u32).to_be_bytes());
    out.extend(proto);
    out
}

/// The `status` field (1, an enum) of a length-prefixed HealthCheckResponse; 0 when absent (the
/// protobuf default, UNKNOWN).
pub(crate) fn serving_status(data: &[u8]) -> Option<u64> {
    if data.len() < 5 || data[0] != 0 {
        return None;
    }
    let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
    let mut p = data.get(5..5 + len)?;
    let mut status = 0;
    while !p.is_empty() {
        let key = varint(&mut p)?;
        match key & 7 {
            0 => {
                let v = varint(&mut p)?;
                if key >> 3 == 1 {
                    status = v;
                }
            }
            2 => {
                let n = usize::try_from(varint(&mut p)?).ok()?;
                p = p.get(n..)?;
            }
            5 => p = p.get(4..)?,
            1 => p = p.get(8..)?,
            _ => return None,
        }
    }
    Some(status)
}

fn varint(p: &mut &[u8]) -> Option<u64> {
    let mut n = 0u64;
    for shift in 0..10 {
        let (&b, rest) = p.split_first()?;
        *p = rest;
        n |= u64::from(b & 0x7f) << (7 * shift);
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

fn describe(e: &h2::Error) -> String {
    if let Some(io) = e.get_io() {
        return if io.kind() == std::io::ErrorKind::InvalidData {
            io.to_string()
        } else {
            crate::os::io_reason(io)
        };
    }
    if e.is_go_away() || e.is_reset() {
        return format!("the server ended the HTTP/2 stream ({e})");
    }
    format!("the server does not speak HTTP/2 (gRPC): {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<GrpcProbe, String> {
        GrpcProbe::from_uri(&crate::uri::parse(s).map_err(|e| e.to_string())?)
    }

    #[test]
    fn messages_and_urls() {
        assert_eq!(message(""), [0, 0, 0, 0, 0]);
        assert_eq!(message("ab"), [0, 0, 0, 0, 4, 0x0A, 2, b'a', b'b']);
        assert_eq!(serving_status(&[0, 0, 0, 0, 2, 0x08, 1]), Some(1));
        assert_eq!(serving_status(&[0, 0, 0, 0, 0]), Some(0));
        assert_eq!(serving_status(&[0, 0, 0, 0, 9, 0x08]), None);
        // Truncations never panic.
        let full = [0u8, 0, 0, 0, 4, 0x12, 1, b'x', 0x08];
        for n in 0..full.len() {
            let _ = serving_status(&full[..n]);
        }
        assert_eq!(
            parse("grpc://api:50051#service=a.B").unwrap().service,
            "a.B"
        );
        assert!(parse("grpcs://api:443#insecure").unwrap().tls.is_some());
        for bad in [
            "grpc://api",
            "grpc://api:1/x",
            "grpc://u:p@api:1",
            "grpc://api:1#insecure",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
