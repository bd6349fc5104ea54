//! RESP on the `redis` crate: commands are packed by `redis::cmd`, replies parsed by
//! `redis::parse_redis_value_async`, then turned into the few shapes the probe judges ([`Reply`]).
//!
//! Bounds: the crate's parser never allocates ahead of the bytes it has read (a declared 2 GiB
//! bulk string or a billion-element array costs nothing until the bytes arrive) and refuses nesting
//! past 100 levels; the stream under it is a [`crate::net::limit::Limited`] of [`MAX_TOTAL`] bytes
//! per attempt. Together: a hostile server can make an attempt fail, never make it grow past a few
//! MiB (measured in `tests/it/attacks.rs`, `f02_…`).

use std::io;

use tokio::io::AsyncRead;

/// All reply bytes of one attempt.
pub const MAX_TOTAL: usize = 256 * 1024;

/// One reply, as the probe judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    /// The error's code and text, as the server sent them: `LOADING Redis is loading…`.
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// Packs a command.
pub fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap_or("PING"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.get_packed_command()
}

/// Reads one reply. `decoder` keeps the parser's state between the replies of one connection.
pub async fn read<R: AsyncRead + Unpin>(r: &mut R, decoder: &mut Decoder) -> io::Result<Reply> {
    match redis::parse_redis_value_async(&mut decoder.0, r).await {
        Ok(v) => Ok(reply(v)),
        Err(e) if e.is_io_error() => {
            // The stream's own error (the byte budget, a reset) as it was.
            let text = e.to_string();
            Err(if text.contains("more than") {
                io::Error::new(io::ErrorKind::InvalidData, "reply too large")
            } else if e.is_connection_dropped() || text.contains("end of file") {
                io::ErrorKind::UnexpectedEof.into()
            } else {
                io::Error::other(text)
            })
        }
        Err(e) if e.to_string().contains("end of file") => Err(io::ErrorKind::UnexpectedEof.into()),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the server does not speak the Redis protocol",
        )),
    }
}

/// The parser's state for one connection.
pub struct Decoder(
    combine::stream::Decoder<
        combine::parser::combinator::AnySendSyncPartialState,
        combine::stream::PointerOffset<[u8]>,
    >,
);

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decoder")
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder(combine::stream::Decoder::new())
    }
}

pub(crate) fn reply(v: redis::Value) -> Reply {
    use redis::Value;
    match v {
        Value::Nil => Reply::Bulk(None),
        Value::Int(n) => Reply::Integer(n),
        Value::BulkString(b) => Reply::Bulk(Some(b)),
        Value::Okay => Reply::Simple("OK".into()),
        Value::Array(items) | Value::Set(items) => {
            Reply::Array(Some(items.into_iter().map(reply).collect()))
        }
        // Server text may quote what it was sent (AUTH's password): masked at once.
        Value::ServerError(e) => Reply::Error(
            crate::redact::scrub_outside(&match e.details() {
                Some(d) => format!("{} {d}", e.code()),
                None => e.code().to_string(),
            })
            .into_owned(),
        ),
        Value::SimpleString(s) => Reply::Simple(crate::redact::scrub_outside(&s).into_owned()),
        Value::VerbatimString { text, .. } => Reply::Bulk(Some(text.into_bytes())),
        other => Reply::Simple(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::limit::Limited;

    async fn parse(bytes: &[u8]) -> io::Result<Reply> {
        let mut r = Limited::new(bytes, MAX_TOTAL);
        read(&mut r, &mut Decoder::default()).await
    }

    #[tokio::test]
    async fn multi_byte_text_is_not_cut() {
        for input in [
            "é\r\n".as_bytes(),
            "\u{feff}+PONG\r\n".as_bytes(),
            b"\xff\r\n",
        ] {
            let err = parse(input).await.unwrap_err();
            assert!(err.to_string().contains("does not speak"), "{err}");
        }
        assert_eq!(
            parse("-ERR é\r\n".as_bytes()).await.unwrap(),
            Reply::Error("ERR é".into())
        );
    }

    #[tokio::test]
    async fn an_attempt_reads_at_most_its_budget() {
        // 1,024 bulk strings of 64 KiB each is 64 MiB: stopped at 256 KiB.
        let mut big = b"*1024\r\n".to_vec();
        for _ in 0..8 {
            big.extend_from_slice(format!("${}\r\n", 64 * 1024).as_bytes());
            big.extend(std::iter::repeat_n(b'x', 64 * 1024));
            big.extend_from_slice(b"\r\n");
        }
        let err = parse(&big).await.unwrap_err();
        assert_eq!(err.to_string(), "reply too large");
        // Declared sizes allocate nothing: a 2 GiB bulk string and a billion elements with no
        // bytes behind them end at the end of the stream.
        for declared in [&b"$2000000000\r\n"[..], b"*1000000000\r\n"] {
            assert_eq!(
                parse(declared).await.unwrap_err().kind(),
                io::ErrorKind::UnexpectedEof
            );
        }
        // Deep nesting is refused, not a stack overflow.
        let deep = b"*1\r\n".repeat(50_000);
        assert!(parse(&deep).await.is_err());
        // The budget is shared by every reply of an attempt.
        let one = format!("${}\r\n{}\r\n", 64 * 1024, "y".repeat(64 * 1024));
        let many = one.repeat(5);
        let mut r = Limited::new(many.as_bytes(), MAX_TOTAL);
        let mut d = Decoder::default();
        for _ in 0..3 {
            read(&mut r, &mut d).await.unwrap();
        }
        assert!(read(&mut r, &mut d).await.is_err());
    }

    #[test]
    fn encodes_commands() {
        assert_eq!(
            command(&[b"AUTH", b"u", b"p w"]),
            b"*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$3\r\np w\r\n"
        );
    }

    #[tokio::test]
    async fn parses_replies() {
        assert_eq!(
            parse(b"+PONG\r\n").await.unwrap(),
            Reply::Simple("PONG".into())
        );
        assert_eq!(
            parse(b"-LOADING Redis is loading\r\n").await.unwrap(),
            Reply::Error("LOADING Redis is loading".into())
        );
        assert_eq!(parse(b":5\r\n").await.unwrap(), Reply::Integer(5));
        assert_eq!(parse(b"$-1\r\n").await.unwrap(), Reply::Bulk(None));
        let role = parse(b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n").await.unwrap();
        assert_eq!(
            role,
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"master".to_vec())),
                Reply::Integer(0),
                Reply::Array(Some(vec![]))
            ]))
        );
        assert!(parse(b"HTTP/1.1 400 Bad Request\r\n").await.is_err());
        assert!(parse(b"+no newline").await.is_err());
    }
}
