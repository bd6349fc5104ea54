//! The few PostgreSQL wire-protocol exchanges the probe does itself (protocol 3.0, see the
//! "Frontend/Backend Protocol" chapter of the PostgreSQL manual):
//!
//! - [`negotiate_tls`]: the SSLRequest. Done here rather than inside the client library so that the
//!   `sslmode` rules are ours and visible: `require` and stronger never fall back to plaintext.
//! - [`ping`]: a StartupMessage and the first reply, which is all `pg_isready` looks at. The server
//!   says whether it accepts connections (SQLSTATE 57P03 when not) before it checks who we are, so
//!   this needs no password.
//!
//! Every read is bounded: a message longer than 64 KiB is not PostgreSQL talking.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The SSLRequest code (1234 << 16 | 5679).
const SSL_REQUEST: i32 = 80_877_103;
/// Protocol 3.0.
const PROTOCOL_3_0: i32 = 196_608;
const MAX_MESSAGE: usize = 64 * 1024;

/// What the server answered to an SSLRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslAnswer {
    /// `S`: go on with the TLS handshake.
    Yes,
    /// `N`: the server has no TLS.
    No,
}

/// Sends an SSLRequest and reads the one-byte answer.
pub async fn negotiate_tls<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> io::Result<SslAnswer> {
    let mut msg = Vec::with_capacity(8);
    msg.extend_from_slice(&8i32.to_be_bytes());
    msg.extend_from_slice(&SSL_REQUEST.to_be_bytes());
    s.write_all(&msg).await?;
    s.flush().await?;
    match s.read_u8().await? {
        b'S' => Ok(SslAnswer::Yes),
        b'N' => Ok(SslAnswer::No),
        other => Err(not_postgres(other)),
    }
}

fn not_postgres(first: u8) -> io::Error {
    let what = if first == b'H' {
        " (it answered like an HTTP server)"
    } else {
        ""
    };
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the server does not speak the PostgreSQL protocol{what}"),
    )
}

/// The server's first answer to a StartupMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstReply {
    /// An authentication request (or AuthenticationOk): the server accepts connections.
    Auth,
    /// NegotiateProtocolVersion: a live server too.
    Negotiate,
    /// An ErrorResponse.
    Error(ServerError),
}

/// The fields of an ErrorResponse that the gate uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerError {
    /// SQLSTATE (field `C`): the only thing classification looks at, since the message text
    /// depends on the release and on `lc_messages`.
    pub code: String,
    /// Field `M`, for people.
    pub message: String,
}

/// Sends a StartupMessage for `user`/`database` and reads the first meaningful reply.
pub async fn ping<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    user: &str,
    database: &str,
) -> io::Result<FirstReply> {
    let mut body = Vec::with_capacity(64);
    body.extend_from_slice(&PROTOCOL_3_0.to_be_bytes());
    for (k, v) in [
        ("user", user),
        ("database", database),
        ("application_name", "readygate"),
    ] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    msg.extend_from_slice(&body);
    s.write_all(&msg).await?;
    s.flush().await?;
    loop {
        let tag = s.read_u8().await?;
        if !matches!(tag, b'R' | b'E' | b'N' | b'v') {
            return Err(not_postgres(tag));
        }
        let len = s.read_i32().await?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| (4..=MAX_MESSAGE).contains(l))
            .ok_or_else(|| not_postgres(tag))?;
        let mut payload = vec![0u8; len - 4];
        s.read_exact(&mut payload).await?;
        match tag {
            b'R' => return Ok(FirstReply::Auth),
            b'v' => return Ok(FirstReply::Negotiate),
            b'E' => return Ok(FirstReply::Error(parse_error(&payload))),
            _ => continue, // NoticeResponse: read on
        }
    }
}

/// Parses ErrorResponse fields: a type byte, a NUL-terminated string, …, a final NUL.
pub fn parse_error(payload: &[u8]) -> ServerError {
    let mut e = ServerError::default();
    for field in payload.split(|b| *b == 0) {
        let Some((&kind, value)) = field.split_first() else {
            continue;
        };
        let value = String::from_utf8_lossy(value).into_owned();
        match kind {
            b'C' => e.code = value,
            b'M' => e.message = value,
            _ => {}
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_error_fields() {
        let payload = b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0";
        let e = parse_error(payload);
        assert_eq!(e.code, "57P03");
        assert_eq!(e.message, "the database system is starting up");
    }

    #[tokio::test]
    async fn ping_reads_an_error_after_a_notice() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let srv = tokio::spawn(async move {
            let mut buf = vec![0u8; 200];
            let _ = server.read(&mut buf).await.unwrap();
            let notice = b"SNOTICE\0Mhello\0\0";
            let error = b"SFATAL\0C53300\0Msorry, too many clients already\0\0";
            let mut out = vec![b'N'];
            out.extend_from_slice(&((notice.len() + 4) as i32).to_be_bytes());
            out.extend_from_slice(notice);
            out.push(b'E');
            out.extend_from_slice(&((error.len() + 4) as i32).to_be_bytes());
            out.extend_from_slice(error);
            server.write_all(&out).await.unwrap();
        });
        let reply = ping(&mut client, "u", "d").await.unwrap();
        srv.await.unwrap();
        let FirstReply::Error(e) = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(e.code, "53300");
    }

    #[tokio::test]
    async fn http_server_is_not_postgres() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8];
            let _ = server.read(&mut buf).await;
            let _ = server.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        });
        let err = negotiate_tls(&mut client).await.unwrap_err();
        assert!(err.to_string().contains("HTTP"), "{err}");
    }
}
