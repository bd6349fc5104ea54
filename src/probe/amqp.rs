//! `amqp://[USER:PASSWORD@]HOST[:5672][/VHOST]` and `amqps://…[:5671]` (TLS): AMQP 0-9-1
//! (RabbitMQ). Ready when the handshake reaches `connection.open-ok` on the virtual host; the
//! connection is then closed with `connection.close`, so the broker logs a clean close.
//!
//! The virtual host is the path: none, `/` or `//` (Celery's spelling) is `/`; `/%2F` is `/`
//! too; `/app` is `app`. With no user, `guest:guest` (every client's default).
//!
//! What each answer means:
//! - `open-ok` → ready;
//! - `connection.close` 403 ACCESS_REFUSED (wrong user or password, or no access to the vhost),
//!   530 NOT_ALLOWED (the vhost does not exist) → permanent;
//! - `connection.close` 320 CONNECTION_FORCED (shutting down), 541 INTERNAL_ERROR, any other code,
//!   a reset or refused connection (booting) → not ready;
//! - the server answering with another AMQP version's header → permanent ("speaks AMQP 1.0").

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::net::limit::Limited;
use crate::net::tls::Tls;
use crate::net::{Endpoint, Io};
use crate::params::{self, Params};
use crate::probe::text;
use crate::redact::Secret;
use crate::uri::{self, Uri};
use crate::verdict::Verdict;

/// RabbitMQ's connection.start is about 500 bytes; frames past this are refused.
const MAX_FRAME: usize = 128 * 1024;
const BUDGET: usize = 512 * 1024;
const OPTIONS: &[&str] = &["ca", "insecure"];

const FRAME_METHOD: u8 = 1;
const FRAME_HEARTBEAT: u8 = 8;
const FRAME_END: u8 = 0xCE;

#[derive(Debug)]
pub struct AmqpProbe {
    endpoint: Endpoint,
    tls: Option<Tls>,
    user: String,
    password: Secret,
    vhost: String,
}

/// The query parameters of RabbitMQ's AMQP URI specification and its clients.
const CLIENT_PARAMETERS: &[&str] = &[
    "heartbeat",
    "connection_timeout",
    "channel_max",
    "frame_max",
    "auth_mechanism",
    "verify",
    "fail_if_no_peer_cert",
    "cacertfile",
    "certfile",
    "keyfile",
    "server_name_indication",
];

/// A method frame's class, method and arguments.
pub(crate) struct Method {
    class: u16,
    method: u16,
    args: Vec<u8>,
}

impl AmqpProbe {
    pub fn from_uri(u: &Uri) -> Result<Self, String> {
        let tls_scheme = u.scheme == "amqps";
        let mut opts = Params::fragment(&u.options);
        let tls = Tls::from_options(&mut opts, tls_scheme, "amqps", &[])?;
        opts.finish(&u.scheme, OPTIONS)?;
        // RabbitMQ's URI parameters (its "URI query parameters" guide; what Celery, Kombu and
        // pika URLs carry) are client settings: they do not change what "ready" means, so they
        // are taken and left unused. Anything else is a mistake and named.
        let mut q = Params::query(&u.query);
        for key in CLIENT_PARAMETERS {
            q.take_all(key);
        }
        q.finish(&u.scheme, CLIENT_PARAMETERS)?;
        let password = params::password(u, None)?;
        let (user, password) = match (&u.user, password) {
            (Some(user), Some(p)) => (user.clone(), p),
            (None, None) => ("guest".to_string(), Secret::well_known("guest")),
            _ => {
                return Err(
                    "an AMQP user needs a password: amqp://USER:PASSWORD@rabbitmq:5672/vhost"
                        .into(),
                )
            }
        };
        let vhost = match u.path.as_str() {
            "" | "/" | "//" => "/".to_string(),
            p => uri::decode_text(&p[1..]).map_err(|e| e.to_string())?,
        };
        if vhost.len() > 255 {
            return Err("the virtual host name is longer than 255 bytes".into());
        }
        let (host, port) = super::tcp_endpoint(u)?;
        Ok(AmqpProbe {
            endpoint: Endpoint::Tcp(host, port),
            tls,
            user,
            password,
            vhost,
        })
    }

    /// What the probe will do, for `--explain` (never the password).
    pub fn explain(&self) -> Vec<String> {
        vec![
            format!(
                "the AMQP 0-9-1 handshake on {} reaches open-ok on vhost {}",
                self.endpoint, self.vhost
            ),
            format!("as {} (password given)", self.user),
            Tls::describe(self.tls.as_ref()),
        ]
    }

    /// The warning to show at start, if TLS verification is off.
    pub fn warning(&self) -> Option<String> {
        self.tls.as_ref().and_then(Tls::warning)
    }

    pub async fn attempt(&self) -> Verdict {
        let stream = match self.endpoint.open(self.tls.as_ref()).await {
            Ok(s) => s,
            Err(v) => return v,
        };
        let mut stream = Limited::new(stream, BUDGET);
        crate::net::sniff::attempt(
            &self.endpoint,
            crate::net::sniff::AMQP,
            self.tls.is_some(),
            self.exchange(&mut stream),
        )
        .await
    }

    async fn exchange(&self, s: &mut Limited<Box<dyn Io>>) -> std::io::Result<Verdict> {
        s.write_all(b"AMQP\x00\x00\x09\x01").await?;
        s.flush().await?;
        let start = match read_method(s).await? {
            Ok(m) => m,
            Err(v) => return Ok(v),
        };
        if (start.class, start.method) != (10, 10) {
            return Ok(unexpected(&start, "connection.start"));
        }
        if !mechanisms(&start.args).is_some_and(|m| m.split(' ').any(|x| x == "PLAIN")) {
            return Ok(Verdict::failed(
                "the broker does not offer PLAIN authentication",
            ));
        }
        s.write_all(&method_frame(10, 11, &self.start_ok())).await?;
        s.flush().await?;
        let tune = match read_method(s).await {
            Ok(Ok(m)) => m,
            Ok(Err(v)) => return Ok(v),
            // RabbitMQ closes without a word when the client did not ask for the close method;
            // we do ask, so this is an older or other broker refusing the credentials.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(Verdict::failed(format!(
                    "the broker closed the connection after the credentials (user {}): wrong user or password?",
                    self.user
                )))
            }
            Err(e) => return Err(e),
        };
        match (tune.class, tune.method) {
            (10, 30) => {}
            (10, 50) => return Ok(self.closed(&tune.args)),
            _ => return Ok(unexpected(&tune, "connection.tune")),
        }
        // tune-ok echoes the broker's limits, with heartbeats off (we stay a few milliseconds),
        // then open on the vhost.
        let mut tune_ok = tune.args.get(..6).unwrap_or(&[0; 6]).to_vec();
        tune_ok.extend_from_slice(&[0, 0]);
        let mut open = Vec::new();
        short_str(&mut open, self.vhost.as_bytes());
        open.extend_from_slice(&[0, 0]); // reserved shortstr, reserved bit
        let mut out = method_frame(10, 31, &tune_ok);
        out.extend(method_frame(10, 40, &open));
        s.write_all(&out).await?;
        s.flush().await?;
        let answer = match read_method(s).await? {
            Ok(m) => m,
            Err(v) => return Ok(v),
        };
        match (answer.class, answer.method) {
            (10, 41) => {
                let mut close = 200u16.to_be_bytes().to_vec();
                short_str(&mut close, b"readygate: ready");
                close.extend_from_slice(&[0, 0, 0, 0]);
                s.write_all(&method_frame(10, 50, &close)).await?;
                s.flush().await?;
                // close-ok, so the broker logs a clean close; its absence changes nothing.
                let _ = read_method(s).await;
                Ok(Verdict::ready(format!("open-ok on vhost {}", self.vhost)))
            }
            (10, 50) => Ok(self.closed(&answer.args)),
            _ => Ok(unexpected(&answer, "connection.open-ok")),
        }
    }

    fn start_ok(&self) -> Vec<u8> {
        // client-properties: our name, and the capability that makes RabbitMQ say why it refuses
        // credentials (a connection.close 403) instead of closing the socket.
        let mut caps = Vec::new();
        short_str(&mut caps, b"authentication_failure_close");
        caps.extend_from_slice(b"t\x01");
        let mut props = Vec::new();
        short_str(&mut props, b"product");
        props.push(b'S');
        long_str(&mut props, b"readygate");
        short_str(&mut props, b"capabilities");
        props.push(b'F');
        long_str(&mut props, &caps);
        let mut args = Vec::new();
        long_str(&mut args, &props);
        short_str(&mut args, b"PLAIN");
        let mut response = vec![0];
        response.extend_from_slice(self.user.as_bytes());
        response.push(0);
        response.extend_from_slice(self.password.expose().as_bytes());
        long_str(&mut args, &response);
        short_str(&mut args, b"en_US");
        args
    }

    /// A `connection.close` from the broker, classified by its reply code.
    fn closed(&self, args: &[u8]) -> Verdict {
        let code = args
            .get(..2)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
        let text = args
            .get(2)
            .and_then(|&n| args.get(3..3 + n as usize))
            .map(|t| text::printable(t, 200))
            .unwrap_or_default();
        let reason = format!(
            "{text} (AMQP {code}, user {}, vhost {})",
            self.user, self.vhost
        );
        // RabbitMQ refuses a vhost or user past its connection limit with the same 530 it uses
        // for a missing vhost; only its text tells them apart. A busy broker is "not yet", as
        // MySQL's 1040 and PostgreSQL's 53300 are.
        let limit = args
            .get(2)
            .and_then(|&n| args.get(3..3 + n as usize))
            .is_some_and(|t| String::from_utf8_lossy(t).contains("connection limit"));
        match code {
            530 if limit => Verdict::costly(reason),
            403 | 530 | 402 | 406 => Verdict::failed(reason),
            _ => Verdict::costly(reason),
        }
    }
}

fn unexpected(m: &Method, wanted: &str) -> Verdict {
    Verdict::costly(format!(
        "expected {wanted}, the broker sent method {}.{}",
        m.class, m.method
    ))
}

/// The next method frame on channel 0 (heartbeats skipped), or the verdict for a server that is
/// not an AMQP 0-9-1 broker. The reading only; what the bytes mean is [`frame_head`] and
/// [`method`]'s.
async fn read_method<R: AsyncReadExt + Unpin>(
    s: &mut R,
) -> std::io::Result<Result<Method, Verdict>> {
    loop {
        let mut head = [0u8; 7];
        s.read_exact(&mut head).await?;
        let (kind, size) = match frame_head(&head) {
            Head::Frame { kind, size } => (kind, size),
            Head::Version => {
                let mut last = [0u8; 1];
                s.read_exact(&mut last).await?;
                return Ok(Err(other_version(&head, last[0])));
            }
            Head::Foreign(verdict) => return Ok(Err(verdict)),
        };
        let mut payload = vec![0; size + 1];
        s.read_exact(&mut payload).await?;
        match method(kind, &payload) {
            Some(Ok(m)) => return Ok(Ok(m)),
            Some(Err(verdict)) => return Ok(Err(verdict)),
            None => continue, // a heartbeat
        }
    }
}

/// What a frame's first 7 bytes announce.
pub(crate) enum Head {
    /// A method or heartbeat frame of `size` bytes (then the frame-end octet).
    Frame {
        kind: u8,
        size: usize,
    },
    /// A protocol header back: the broker speaks another version (one more byte to read).
    Version,
    Foreign(Verdict),
}

pub(crate) fn frame_head(head: &[u8; 7]) -> Head {
    if &head[..4] == b"AMQP" {
        return Head::Version;
    }
    let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]) as usize;
    if !matches!(head[0], FRAME_METHOD | FRAME_HEARTBEAT) || size > MAX_FRAME {
        return Head::Foreign(Verdict::costly(format!(
            "the server does not speak AMQP 0-9-1 (it sent \"{}\")",
            text::printable(head, 7)
        )));
    }
    Head::Frame {
        kind: head[0],
        size,
    }
}

/// The protocol header a broker of another version sends back: `AMQP`, 0, major, minor, revision
/// (AMQP 1.0 brokers send 0-1-0-0 or 3-1-0-0).
fn other_version(head: &[u8; 7], last: u8) -> Verdict {
    Verdict::failed(format!(
        "the server speaks AMQP {}.{}.{}, not 0-9-1",
        head[5], head[6], last
    ))
}

/// A frame's payload and frame-end octet → the method it holds; `None` for a heartbeat.
pub(crate) fn method(kind: u8, payload: &[u8]) -> Option<Result<Method, Verdict>> {
    let Some((&FRAME_END, payload)) = payload.split_last() else {
        return Some(Err(Verdict::costly(
            "the server does not speak AMQP 0-9-1 (bad frame end)",
        )));
    };
    if kind == FRAME_HEARTBEAT {
        return None;
    }
    if payload.len() < 4 {
        return Some(Err(Verdict::costly("a method frame too short to read")));
    }
    Some(Ok(Method {
        class: u16::from_be_bytes([payload[0], payload[1]]),
        method: u16::from_be_bytes([payload[2], payload[3]]),
        args: payload[4..].to_vec(),
    }))
}

/// The `mechanisms` long string of connection.start: after the version (2 bytes) and the
/// server-properties table.
pub(crate) fn mechanisms(args: &[u8]) -> Option<String> {
    let table_len = u32::from_be_bytes(args.get(2..6)?.try_into().ok()?) as usize;
    let at = 6usize.checked_add(table_len)?;
    let len = u32::from_be_bytes(args.get(at..at + 4)?.try_into().ok()?) as usize;
    let m = args.get(at + 4..(at + 4).checked_add(len)?)?;
    Some(String::from_utf8_lossy(m).into_owned())
}

fn method_frame(class: u16, method: u16, args: &[u8]) -> Vec<u8> {
    let mut f = vec![FRAME_METHOD, 0, 0];
    f.extend_from_slice(&((args.len() + 4) as u32).to_be_bytes());
    f.extend_from_slice(&class.to_be_bytes());
    f.extend_from_slice(&method.to_be_bytes());
    f.extend_from_slice(args);
    f.push(FRAME_END);
    f
}

fn short_str(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len().min(255);
    out.push(n as u8);
    out.extend_from_slice(&s[..n]);
}

fn long_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<AmqpProbe, String> {
        AmqpProbe::from_uri(&crate::uri::parse(s).map_err(|e| e.to_string())?)
    }

    #[test]
    fn vhosts_and_users() {
        for (url, vhost) in [
            ("amqp://r", "/"),
            ("amqp://r/", "/"),
            ("amqp://u:p@r//", "/"),
            ("amqp://u:p@r/%2F", "/"),
            ("amqp://u:p@r/app", "app"),
        ] {
            assert_eq!(parse(url).unwrap().vhost, vhost, "{url}");
        }
        assert_eq!(parse("amqp://r").unwrap().user, "guest");
        assert_eq!(
            parse("amqps://r#insecure").unwrap().endpoint.to_string(),
            "r:5671"
        );
        for bad in ["amqp://u@r", "amqp://r#insecure", "amqp://r?bogus=1"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        // RabbitMQ's own URI parameters, as Celery and pika URLs carry them.
        assert!(
            parse("amqp://u:p@r/vh?heartbeat=30&connection_timeout=5000&channel_max=2").is_ok()
        );
    }

    #[tokio::test]
    async fn frames_round_trip_and_bounds() {
        let mut start = vec![0, 9];
        long_str(&mut start, b"");
        long_str(&mut start, b"AMQPLAIN PLAIN");
        long_str(&mut start, b"en_US");
        assert_eq!(mechanisms(&start).as_deref(), Some("AMQPLAIN PLAIN"));
        let frame = method_frame(10, 10, &start);
        let m = read_method(&mut &frame[..]).await.unwrap().ok().unwrap();
        assert_eq!((m.class, m.method), (10, 10));
        // A frame declaring 4 GiB is refused before anything is allocated.
        let huge = [1u8, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert!(read_method(&mut &huge[..]).await.unwrap().is_err());
        let other = b"AMQP\x00\x01\x00\x00";
        let Err(Verdict::Failed { reason }) = read_method(&mut &other[..]).await.unwrap() else {
            panic!()
        };
        assert!(reason.contains("AMQP 1.0.0"), "{reason}");
        let p = parse("amqp://u:p@r/app").unwrap();
        let mut close = 530u16.to_be_bytes().to_vec();
        short_str(&mut close, b"NOT_ALLOWED - vhost app not found");
        assert!(matches!(p.closed(&close), Verdict::Failed { .. }));
        let mut close = 320u16.to_be_bytes().to_vec();
        short_str(&mut close, b"CONNECTION_FORCED - shutdown");
        assert!(matches!(p.closed(&close), Verdict::NotReady { .. }));
    }
}
