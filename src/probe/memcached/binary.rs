//! memcached's binary protocol, as much as SASL needs: `SASL_AUTH` with the PLAIN mechanism, then
//! `VERSION`. A server started with `-S` speaks only this (and refuses every command before the
//! authentication).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::net::Io;
use crate::probe::text;
use crate::verdict::Verdict;

const SASL_AUTH: u8 = 0x21;
const VERSION: u8 = 0x0b;
/// A response body past this is not a SASL answer or a version.
const MAX_BODY: usize = 4096;

/// A binary server answers SASL at once; one that says nothing for this long is most likely
/// reading our request as a text line that has not ended (a server with an auth file, `-Y`).
const TEXT_SUSPECTED: std::time::Duration = std::time::Duration::from_millis(1000);

/// Ends the line a text-protocol server is waiting for, and names what it is.
async fn text_only(s: &mut Box<dyn Io>) -> Verdict {
    let _ = s.write_all(b"\r\n").await;
    let mut buf = [0u8; 64];
    let answer = tokio::time::timeout(TEXT_SUSPECTED, s.read(&mut buf)).await;
    match answer {
        Ok(Ok(n)) if n > 0 && buf[0] != 0x81 => Verdict::failed(
            "the server answers memcached's text protocol, not SASL: for a server with an auth file (memcached -Y), add #auth=text",
        ),
        _ => Verdict::costly("no answer to SASL within 1s"),
    }
}

/// A request: 24-byte header, then key and value.
fn request(opcode: u8, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80, opcode];
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // extras length, data type, vbucket
    out.extend_from_slice(&((key.len() + value.len()) as u32).to_be_bytes());
    out.extend_from_slice(&[0; 12]); // opaque, cas
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    out
}

/// A response's status and body.
async fn response(s: &mut Box<dyn Io>) -> std::io::Result<Result<(u16, Vec<u8>), Verdict>> {
    let mut head = [0u8; 24];
    s.read_exact(&mut head).await?;
    let (status, len) = match response_head(&head) {
        Ok(h) => h,
        Err(v) => return Ok(Err(v)),
    };
    let mut body = vec![0; len];
    s.read_exact(&mut body).await?;
    Ok(Ok((status, body)))
}

/// A response header's status and body length, or why it is none.
pub(crate) fn response_head(head: &[u8; 24]) -> Result<(u16, usize), Verdict> {
    let len = u32::from_be_bytes([head[8], head[9], head[10], head[11]]) as usize;
    if head[0] != 0x81 || len > MAX_BODY {
        return Err(Verdict::costly(format!(
            "the server does not speak memcached's binary protocol (it sent \"{}\")",
            text::printable(head, 24)
        )));
    }
    Ok((u16::from_be_bytes([head[6], head[7]]), len))
}

/// SASL PLAIN as `user`, then VERSION.
pub async fn exchange(
    s: &mut Box<dyn Io>,
    user: &str,
    password: &[u8],
) -> std::io::Result<Verdict> {
    let mut plain = vec![0];
    plain.extend_from_slice(user.as_bytes());
    plain.push(0);
    plain.extend_from_slice(password);
    let mut out = request(SASL_AUTH, b"PLAIN", &plain);
    out.extend(request(VERSION, b"", b""));
    s.write_all(&out).await?;
    s.flush().await?;
    let first = match tokio::time::timeout(TEXT_SUSPECTED, response(s)).await {
        Ok(r) => r?,
        Err(_) => return Ok(text_only(s).await),
    };
    let (status, body) = match first {
        Ok(r) => r,
        Err(v) => return Ok(v),
    };
    match status {
        0 => {}
        0x20 => {
            return Ok(Verdict::failed(format!(
                "the server refused user {user}: wrong user or password (SASL authentication error)"
            )))
        }
        // Unknown command: a server without -S.
        0x81 => {
            return Ok(Verdict::failed(
                "the server does not do SASL (started without -S): drop the user and password",
            ))
        }
        // Out of memory, busy, temporary failure.
        0x82 | 0x85 | 0x86 => return Ok(Verdict::costly(format!("SASL status 0x{status:04x}"))),
        other => {
            return Ok(Verdict::failed(format!(
                "SASL authentication failed for user {user} (status 0x{other:04x}: {})",
                text::printable(&body, 80)
            )))
        }
    }
    let (status, body) = match response(s).await? {
        Ok(r) => r,
        Err(v) => return Ok(v),
    };
    Ok(if status == 0 {
        Verdict::ready(format!(
            "SASL as {user}, VERSION {}",
            text::printable(&body, 40)
        ))
    } else {
        Verdict::costly(format!("VERSION answered status 0x{status:04x}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_framed() {
        let r = request(SASL_AUTH, b"PLAIN", b"\0u\0p");
        assert_eq!(r.len(), 24 + 5 + 4);
        assert_eq!(&r[..4], &[0x80, 0x21, 0, 5]);
        assert_eq!(&r[8..12], &9u32.to_be_bytes());
    }

    #[tokio::test]
    async fn oversized_or_foreign_answers_are_not_read() {
        let mut head = vec![0x81, 0x0b, 0, 0, 0, 0, 0, 0];
        head.extend_from_slice(&u32::MAX.to_be_bytes());
        head.extend_from_slice(&[0; 12]);
        let mut s: Box<dyn Io> = Box::new(tokio_test_stream(head));
        assert!(response(&mut s).await.unwrap().is_err());
        let mut s: Box<dyn Io> = Box::new(tokio_test_stream(
            b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
        ));
        assert!(response(&mut s).await.unwrap().is_err());
    }

    /// A stream that yields `data`, then end of file; writes go nowhere.
    fn tokio_test_stream(data: Vec<u8>) -> impl Io {
        let (mut a, b) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let _ = a.write_all(&data).await;
        });
        b
    }
}
