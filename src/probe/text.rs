//! Small pieces shared by the hand-written protocols: a bounded line reader, lookups in a
//! server's JSON banner, and server bytes made printable.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One line (without `\r\n`), at most `max` bytes: a server that never ends its line is refused
/// once it passes `max`, whatever the stream's own budget.
pub async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, max: usize) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the server sent a line longer than {max} bytes"),
            ));
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if done {
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            return Ok(line);
        }
    }
}

/// Whether a flat JSON object sets `key` to `true`. Enough for a server banner (NATS `INFO`),
/// whose keys we read are top-level booleans; a key inside a nested string would need a quote
/// before it, which a banner's values do not hold.
pub fn json_true(json: &str, key: &str) -> bool {
    let needle = format!("\"{key}\"");
    json.match_indices(&needle).any(|(i, _)| {
        let rest = json[i + needle.len()..].trim_start();
        rest.strip_prefix(':')
            .is_some_and(|v| v.trim_start().starts_with("true"))
    })
}

/// Bytes as readable text, cut to `max` characters, for "does not speak …" messages.
pub fn printable(bytes: &[u8], max: usize) -> String {
    // Server text may quote what it was sent (a password): masked before it is cut.
    crate::redact::scrub_outside(&String::from_utf8_lossy(bytes))
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded() {
        let mut r = tokio::io::BufReader::with_capacity(4, &b"abc\r\ndefghij\n"[..]);
        assert_eq!(read_line(&mut r, 8).await.unwrap(), b"abc");
        let err = read_line(&mut r, 5).await.unwrap_err();
        assert!(err.to_string().contains("longer than 5"), "{err}");
        let mut r = tokio::io::BufReader::new(&b"no end"[..]);
        assert!(read_line(&mut r, 100).await.is_err());
    }

    #[test]
    fn json_helpers() {
        assert!(json_true(r#"{"x":1,"ldm" : true}"#, "ldm"));
        assert!(!json_true(r#"{"ldm":false}"#, "ldm"));
        assert!(!json_true(r#"{"auth_required":true}"#, "ldm"));
        assert_eq!(printable(b"HTTP/1.1\r\n", 6), "HTTP/1");
    }
}
