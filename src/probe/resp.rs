//! The Redis serialization protocol (RESP2), as much as a readiness probe needs: encode commands,
//! read replies with every size bounded.
//!
//! Why not the `redis` crate: the probe sends four fixed commands and reads four replies. Our own
//! exchange runs on the stream the gate already connected (so resolution, TLS and timeouts stay the
//! scheduler's), bounds every read, and adds nothing to the binary beyond these lines.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

const MAX_LINE: u64 = 64 * 1024;
const MAX_BULK: usize = 1024 * 1024;
const MAX_ITEMS: usize = 1024;
const MAX_DEPTH: usize = 4;

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

/// Reads one reply.
pub async fn read<R: AsyncBufRead + Unpin + Send>(r: &mut R) -> io::Result<Reply> {
    read_depth(r, 0).await
}

async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R) -> io::Result<String> {
    let mut buf = Vec::new();
    (&mut *r).take(MAX_LINE).read_until(b'\n', &mut buf).await?;
    if buf.is_empty() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if !buf.ends_with(b"\r\n") {
        return Err(invalid("the server does not speak the Redis protocol"));
    }
    buf.truncate(buf.len() - 2);
    String::from_utf8(buf).map_err(|_| invalid("the server does not speak the Redis protocol"))
}

fn read_depth<'a, R: AsyncBufRead + Unpin + Send + 'a>(
    r: &'a mut R,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<Reply>> + Send + 'a>> {
    Box::pin(async move {
        let line = read_line(r).await?;
        let (kind, rest) = line.split_at(line.len().min(1));
        let len = || {
            rest.parse::<i64>()
                .map_err(|_| invalid("the server does not speak the Redis protocol"))
        };
        match kind {
            "+" => Ok(Reply::Simple(rest.to_string())),
            "-" => Ok(Reply::Error(rest.to_string())),
            ":" => Ok(Reply::Integer(len()?)),
            "$" => {
                let n = len()?;
                if n < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let n = usize::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_BULK)
                    .ok_or_else(|| invalid("reply too large"))?;
                let mut data = vec![0u8; n + 2];
                r.read_exact(&mut data).await?;
                data.truncate(n);
                Ok(Reply::Bulk(Some(data)))
            }
            "*" => {
                let n = len()?;
                if n < 0 {
                    return Ok(Reply::Array(None));
                }
                let n = usize::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_ITEMS && depth < MAX_DEPTH)
                    .ok_or_else(|| invalid("reply too large"))?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(read_depth(r, depth + 1).await?);
                }
                Ok(Reply::Array(Some(items)))
            }
            _ => Err(invalid(if line.starts_with("HTTP/") {
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
        read(&mut r).await
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
