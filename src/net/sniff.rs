//! "This port answers like Redis": telling that a target's port speaks another protocol, so that
//! `postgres://cache:6379` fails at once naming the mistake instead of waiting out the deadline
//! with "no answer".
//!
//! Why a second connection: a server of another protocol is often silent to our first message
//! (Redis and memcached wait for a newline that a PostgreSQL startup packet never sends). When
//! the probe's own exchange has not had a first reply after [`SNIFF_AFTER`], or it read bytes
//! that are not its protocol, one short look on a fresh connection asks: does the server speak
//! first (MySQL, NATS, SSH), and if not, what does it answer to `PING\r\n` (Redis: `+PONG`,
//! memcached: `ERROR`, an HTTP server: `HTTP/1.1 400`; PostgreSQL closes, and is then asked an
//! SSLRequest, which it answers with one byte)? A real server of our own protocol
//! answers nothing we would take for another one (PostgreSQL drops a packet with an impossible
//! length), so a slow but right server only loses the look, never its attempt.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Endpoint;
use crate::verdict::Verdict;

/// How long the probe's own exchange may be silent before the look: far above a live server's
/// first reply on any network a gate runs on, far below an attempt's timeout.
pub const SNIFF_AFTER: Duration = Duration::from_secs(1);
/// How long the look waits for a server that speaks first, then for the answer to `PING`.
const LISTEN: Duration = Duration::from_millis(300);
const ANSWER: Duration = Duration::from_millis(700);
/// Bytes the look reads: enough for any banner's first words.
const LOOK_BYTES: usize = 256;
/// Looks in flight at once. Each holds a descriptor beside its attempt's, outside the descriptor
/// limiter: thousands of silent targets must not double the gate's descriptors, so past this
/// bound an attempt goes without its look (it only loses the better reason, never its result).
const LOOKS_AT_ONCE: usize = 8;
static LOOKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(LOOKS_AT_ONCE);

/// A protocol the look can tell, and the port it usually listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    pub name: &'static str,
    pub port: u16,
}

pub const POSTGRES: Protocol = Protocol {
    name: "PostgreSQL",
    port: 5432,
};
pub const MYSQL: Protocol = Protocol {
    name: "MySQL or MariaDB",
    port: 3306,
};
pub const REDIS: Protocol = Protocol {
    name: "Redis",
    port: 6379,
};
pub const HTTP: Protocol = Protocol {
    name: "HTTP",
    port: 80,
};
pub const MEMCACHED: Protocol = Protocol {
    name: "memcached",
    port: 11211,
};
pub const AMQP: Protocol = Protocol {
    name: "AMQP (RabbitMQ)",
    port: 5672,
};
pub const NATS: Protocol = Protocol {
    name: "NATS",
    port: 4222,
};
pub const MQTT: Protocol = Protocol {
    name: "MQTT",
    port: 1883,
};
const SSH: Protocol = Protocol {
    name: "SSH",
    port: 22,
};
const TLS: Protocol = Protocol {
    name: "TLS",
    port: 443,
};

/// The protocol whose first bytes these are, if they are unmistakable.
pub fn identify(first: &[u8]) -> Option<Protocol> {
    let starts = |p: &[u8]| first.starts_with(p);
    if starts(b"HTTP/") {
        return Some(HTTP);
    }
    if starts(b"ERROR\r\n") || starts(b"CLIENT_ERROR ") || starts(b"SERVER_ERROR ") {
        return Some(MEMCACHED);
    }
    // A RESP simple string or error: `+PONG`, `-NOAUTH …`, `-ERR …`, `-DENIED …`.
    if matches!(first.first(), Some(b'+' | b'-'))
        && first.len() > 3
        && first[1..4].iter().all(u8::is_ascii_uppercase)
        && first.windows(2).any(|w| w == b"\r\n")
    {
        return Some(REDIS);
    }
    if starts(b"AMQP") {
        return Some(AMQP);
    }
    if starts(b"INFO {") {
        return Some(NATS);
    }
    if starts(b"SSH-") {
        return Some(SSH);
    }
    // A TLS record: handshake (22) or alert (21), version 3.x.
    if first.len() >= 3 && matches!(first[0], 0x15 | 0x16) && first[1] == 3 && first[2] <= 4 {
        return Some(TLS);
    }
    // A MySQL packet: 3-byte length, sequence 0, then protocol 10 (a greeting) or 0xff (an error
    // such as "Host is not allowed to connect"), the length matching what follows.
    if first.len() >= 5 && first[3] == 0 && matches!(first[4], 10 | 0xff) {
        let len = u32::from_le_bytes([first[0], first[1], first[2], 0]) as usize;
        if (5..=1024).contains(&len) && (first.len() - 4 >= len || first.len() == LOOK_BYTES) {
            return Some(MYSQL);
        }
    }
    // A PostgreSQL ErrorResponse: `E`, a length, then the severity field.
    if first.len() >= 6 && first[0] == b'E' && first[1] == 0 && first[5] == b'S' {
        return Some(POSTGRES);
    }
    None
}

/// The look on a fresh connection (see the module's comment): the protocol the port speaks, if it
/// can be told.
pub async fn look(endpoint: &Endpoint) -> Option<Protocol> {
    let _permit = LOOKS.try_acquire().ok()?;
    let mut s = endpoint.connect().await.ok()?;
    let mut buf = [0u8; LOOK_BYTES];
    let n = match tokio::time::timeout(LISTEN, s.read(&mut buf)).await {
        Ok(read) => read.ok()?,
        Err(_) => {
            s.write_all(b"PING\r\n").await.ok()?;
            let n = tokio::time::timeout(ANSWER, s.read(&mut buf))
                .await
                .ok()?
                .ok()?;
            if n == 0 {
                // Closed without a word: PostgreSQL drops a packet whose length is impossible
                // (it logs "invalid length of startup packet") and answers only its own
                // framing, so it is asked in it.
                return postgres_answers(endpoint).await.then_some(POSTGRES);
            }
            n
        }
    };
    identify(&buf[..n])
}

/// Whether the server answers an SSLRequest as PostgreSQL does: exactly one byte, `S` or `N`.
async fn postgres_answers(endpoint: &Endpoint) -> bool {
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let Ok(mut s) = endpoint.connect().await else {
        return false;
    };
    if s.write_all(&SSL_REQUEST).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 2];
    let Ok(Ok(1)) = tokio::time::timeout(ANSWER, s.read(&mut buf)).await else {
        return false;
    };
    // A second byte would mean a longer reply, not PostgreSQL's one-byte answer.
    let more = tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf[1..])).await;
    matches!(buf[0], b'S' | b'N') && !matches!(more, Ok(Ok(n)) if n > 0)
}

/// The verdict for a port that speaks `other` where `ours` was expected: permanent, since the
/// port will not learn another protocol (a wrong port in the URL, or two services swapped).
pub fn verdict(ours: Protocol, other: Protocol) -> Verdict {
    Verdict::failed(format!(
        "this port answers like {}, not {}: is the port right? ({} usually listens on {}, {} on {})",
        other.name, ours.name, ours.name, ours.port, other.name, other.port
    ))
}

/// The verdict for a reply a probe already read that is another protocol's, if it is one: the
/// look is not needed when the first line says it (`-ERR unknown command` to memcached's
/// `version` is Redis).
pub fn named(ours: Protocol, first: &[u8]) -> Option<Verdict> {
    identify(first)
        .filter(|other| *other != ours)
        .map(|other| verdict(ours, other))
}

/// A probe's whole attempt after connecting: over plain TCP through [`first_exchange`], over TLS
/// as it is (a look over plain TCP says nothing about a TLS port, whose handshake already said
/// what it speaks). Either way the result is the verdict.
pub async fn attempt(
    endpoint: &Endpoint,
    ours: Protocol,
    tls: bool,
    exchange: impl Future<Output = io::Result<Verdict>>,
) -> Verdict {
    if tls {
        return exchange
            .await
            .unwrap_or_else(|e| super::connect::io_verdict(&e));
    }
    first_exchange(endpoint, ours, exchange)
        .await
        .unwrap_or_else(|v| v)
}

/// Runs a probe's first exchange on `endpoint`; when it is silent past [`SNIFF_AFTER`], or ends
/// with bytes that are not `ours` or a close without an answer, looks once at what the port
/// speaks. Another protocol is a permanent failure naming it; anything else is the exchange's own
/// result (its I/O error as [`super::connect::io_verdict`] says it).
pub async fn first_exchange<T>(
    endpoint: &Endpoint,
    ours: Protocol,
    exchange: impl Future<Output = io::Result<T>>,
) -> Result<T, Verdict> {
    let mut exchange = std::pin::pin!(exchange);
    tokio::select! {
        done = &mut exchange => match done {
            Ok(v) => return Ok(v),
            Err(e) if matches!(e.kind(), io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof) => {
                return Err(match look(endpoint).await {
                    Some(other) if other != ours => verdict(ours, other),
                    _ => super::connect::io_verdict(&e),
                });
            }
            Err(e) => return Err(super::connect::io_verdict(&e)),
        },
        () = tokio::time::sleep(SNIFF_AFTER) => {}
    }
    // Still silent: the look runs beside the exchange, which keeps its chance to answer.
    let looked = tokio::select! {
        done = &mut exchange => return done.map_err(|e| super::connect::io_verdict(&e)),
        looked = look(endpoint) => looked,
    };
    match looked {
        Some(other) if other != ours => Err(verdict(ours, other)),
        _ => exchange.await.map_err(|e| super::connect::io_verdict(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_table() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"HTTP/1.1 400 Bad Request\r\n", Some("HTTP")),
            (b"+PONG\r\n", Some("Redis")),
            (b"-NOAUTH Authentication required.\r\n", Some("Redis")),
            (b"-ERR unknown command\r\n", Some("Redis")),
            (b"ERROR\r\n", Some("memcached")),
            (b"AMQP\x00\x00\x09\x01", Some("AMQP (RabbitMQ)")),
            (b"INFO {\"server_id\":\"x\"}\r\n", Some("NATS")),
            (b"SSH-2.0-OpenSSH_9.2\r\n", Some("SSH")),
            (b"\x15\x03\x03\x00\x02\x02\x50", Some("TLS")),
            (
                b"\x0a\x00\x00\x00\x0a5.5.5-10.11\x00",
                Some("MySQL or MariaDB"),
            ),
            (b"\x05\x00\x00\x00\xff\x6a\x04Ho", Some("MySQL or MariaDB")),
            (b"E\x00\x00\x00\x50SFATAL\x00", Some("PostgreSQL")),
            // What must never be taken for another protocol.
            (b"", None),
            (b"N", None),
            (b"S", None),
            (b"+", None),
            (b"-x\r\n", None),
            (b"\x00\x00\x00\x00\x0a", None),
            (b"garbage", None),
        ];
        for (bytes, want) in cases {
            assert_eq!(identify(bytes).map(|p| p.name), *want, "{bytes:?}");
        }
    }

    #[test]
    fn a_reply_already_read_is_named_when_it_is_anothers() {
        assert!(named(MEMCACHED, b"-ERR unknown command 'version'\r\n").is_some());
        assert!(named(REDIS, b"-ERR unknown command\r\n").is_none());
        assert!(named(MEMCACHED, b"garbage\r\n").is_none());
    }

    #[test]
    fn the_verdict_names_both_and_is_permanent() {
        let v = verdict(POSTGRES, REDIS);
        assert!(
            matches!(&v, Verdict::Failed { reason } if reason.contains("answers like Redis, not PostgreSQL") && reason.contains("6379")),
            "{v:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_before_the_look_is_the_exchanges_own() {
        // The endpoint is never reached: the exchange answers first.
        let nowhere = Endpoint::Unix("/nonexistent/readygate-sniff".into());
        let got = first_exchange(&nowhere, POSTGRES, async {
            tokio::time::sleep(Duration::from_millis(900)).await;
            Ok::<_, io::Error>(7)
        })
        .await;
        assert_eq!(got.unwrap(), 7);
        // A silent exchange with nothing to look at keeps waiting for its own answer.
        let got = first_exchange(&nowhere, POSTGRES, async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok::<_, io::Error>(8)
        })
        .await;
        assert_eq!(got.unwrap(), 8);
    }

    #[tokio::test]
    async fn looks_in_flight_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redis.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = s.write_all(b"+PONG\r\n").await;
            }
        });
        let endpoint = Endpoint::Unix(path);
        assert_eq!(look(&endpoint).await, Some(REDIS));
        // With every permit taken, an attempt goes without its look.
        let all = LOOKS.acquire_many(LOOKS_AT_ONCE as u32).await.unwrap();
        assert_eq!(look(&endpoint).await, None);
        drop(all);
        assert_eq!(look(&endpoint).await, Some(REDIS));
    }
}
