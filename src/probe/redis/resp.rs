//! The Redis serialization protocol (RESP2), as much as a readiness probe needs: encode commands,
//! read replies with every size bounded.
//!
//! Bounds: a line is at most 64 KiB, a bulk string 64 KiB, an array 1,024 items and 4 levels
//! deep, and all replies of one attempt together at most [`MAX_TOTAL`] bytes and
//! [`MAX_ELEMENTS`] elements (a [`Budget`] shared by the reads of one attempt). A reply that
//! passes any bound ends the attempt with "reply too large": a hostile or confused server can make
//! the gate wait, never grow.
//!
//! Why not the `redis` crate: the probe sends four fixed commands and reads four replies. Our own
//! exchange runs on the stream the gate already connected (so resolution, TLS and timeouts stay the
//! scheduler's), bounds every read, and adds nothing to the binary beyond these lines.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

const MAX_LINE: u64 = 64 * 1024;
const MAX_BULK: usize = 64 * 1024;
const MAX_ITEMS: usize = 1024;
const MAX_DEPTH: usize = 4;
/// All reply bytes of one attempt.
pub const MAX_TOTAL: usize = 256 * 1024;
/// All reply elements of one attempt (each costs a `Reply` in memory, whatever its size on the
/// wire).
pub const MAX_ELEMENTS: usize = 4096;

/// What the replies of one attempt may still use.
#[derive(Debug)]
pub struct Budget {
    bytes: usize,
    elements: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            bytes: MAX_TOTAL,
            elements: MAX_ELEMENTS,
        }
    }
}

impl Budget {
    fn spend(&mut self, bytes: usize) -> io::Result<()> {
        self.bytes = self.bytes.checked_sub(bytes).ok_or_else(too_large)?;
        self.elements = self.elements.checked_sub(1).ok_or_else(too_large)?;
        Ok(())
    }
}

fn too_large() -> io::Error {
    invalid("reply too large")
}

/// One reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// Encodes a command as a RESP array of bulk strings.
pub fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Reads one reply, charging it to the attempt's `budget`.
pub async fn read<R: AsyncBufRead + Unpin + Send>(
    r: &mut R,
    budget: &mut Budget,
) -> io::Result<Reply> {
    read_depth(r, 0, budget).await
}

async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, budget: &mut Budget) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let limit = MAX_LINE.min(budget.bytes as u64 + 1);
    (&mut *r).take(limit).read_until(b'\n', &mut buf).await?;
    if buf.is_empty() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    budget.spend(buf.len())?;
    if !buf.ends_with(b"\r\n") {
        return Err(not_redis());
    }
    buf.truncate(buf.len() - 2);
    Ok(buf)
}

fn not_redis() -> io::Error {
    invalid("the server does not speak the Redis protocol")
}

/// Text from the server, for people: invalid UTF-8 is replaced, never a reason to fail.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read_depth<'a, R: AsyncBufRead + Unpin + Send + 'a>(
    r: &'a mut R,
    depth: usize,
    budget: &'a mut Budget,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<Reply>> + Send + 'a>> {
    Box::pin(async move {
        let line = read_line(r, budget).await?;
        // The type is one byte; what follows is text. Split bytes, not a str: a server may send
        // anything (a BOM, `é`), and a multi-byte character must not be cut in half.
        let (kind, rest) = line.split_first().ok_or_else(not_redis)?;
        let len = || {
            std::str::from_utf8(rest)
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
                .ok_or_else(not_redis)
        };
        match kind {
            b'+' => Ok(Reply::Simple(text(rest))),
            b'-' => Ok(Reply::Error(text(rest))),
            b':' => Ok(Reply::Integer(len()?)),
            b'$' => {
                let n = len()?;
                if n < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let n = usize::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_BULK && n + 2 <= budget.bytes)
                    .ok_or_else(too_large)?;
                budget.bytes -= n + 2;
                let mut data = vec![0u8; n + 2];
                r.read_exact(&mut data).await?;
                data.truncate(n);
                Ok(Reply::Bulk(Some(data)))
            }
            b'*' => {
                let n = len()?;
                if n < 0 {
                    return Ok(Reply::Array(None));
                }
                let n = usize::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_ITEMS && *n <= budget.elements && depth < MAX_DEPTH)
                    .ok_or_else(too_large)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(read_depth(r, depth + 1, budget).await?);
                }
                Ok(Reply::Array(Some(items)))
            }
            _ => Err(invalid(if line.starts_with(b"HTTP/") {
                "the server does not speak the Redis protocol (it answered like an HTTP server)"
            } else {
                "the server does not speak the Redis protocol"
            })),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(bytes: &[u8]) -> io::Result<Reply> {
        let mut r = tokio::io::BufReader::new(bytes);
        read(&mut r, &mut Budget::default()).await
    }

    #[tokio::test]
    async fn multi_byte_text_is_not_cut() {
        // Each of these once panicked: the type byte was split off a &str at byte 1.
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
        assert_eq!(
            parse(b"+\xffok\r\n").await.unwrap(),
            Reply::Simple("\u{fffd}ok".into())
        );
        assert!(parse(b"\r\n").await.is_err());
    }

    #[tokio::test]
    async fn an_attempt_reads_at_most_its_budget() {
        // 1,024 bulk strings of 64 KiB each is 64 MiB: stopped at 256 KiB.
        let mut big = b"*1024\r\n".to_vec();
        for _ in 0..8 {
            big.extend_from_slice(format!("${}\r\n", MAX_BULK).as_bytes());
            big.extend(std::iter::repeat_n(b'x', MAX_BULK));
            big.extend_from_slice(b"\r\n");
        }
        let err = parse(&big).await.unwrap_err();
        assert_eq!(err.to_string(), "reply too large");
        // Many tiny elements in nested arrays: stopped by the element count.
        let mut nested = b"*1000\r\n".to_vec();
        for _ in 0..1000 {
            nested.extend_from_slice(b"*10\r\n");
            nested.extend(std::iter::repeat_n(&b":1\r\n"[..], 10).flatten());
        }
        let err = parse(&nested).await.unwrap_err();
        assert_eq!(err.to_string(), "reply too large");
        // The budget is shared by every reply of an attempt.
        let mut budget = Budget::default();
        let one = format!("${}\r\n{}\r\n", MAX_BULK, "y".repeat(MAX_BULK));
        let many = one.repeat(5);
        let mut r = tokio::io::BufReader::new(many.as_bytes());
        for _ in 0..3 {
            read(&mut r, &mut budget).await.unwrap();
        }
        assert!(read(&mut r, &mut budget).await.is_err());
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
    }

    #[tokio::test]
    async fn rejects_garbage_and_oversize() {
        assert!(parse(b"HTTP/1.1 400 Bad Request\r\n")
            .await
            .unwrap_err()
            .to_string()
            .contains("HTTP"));
        assert!(parse(b"$99999999\r\n").await.is_err());
        assert!(parse(b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*0\r\n")
            .await
            .is_err());
        assert!(parse(b"+no newline").await.is_err());
        let long = vec![b'+'; 100_000];
        assert!(parse(&long).await.is_err());
    }
}
