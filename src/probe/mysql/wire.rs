//! MySQL's packets as the probe needs them: framing (a 3-byte length and a sequence number), the
//! server's greeting, our handshake response and SSL request, and error packets. Every read is
//! bounded: a packet past [`MAX_PACKET`] is refused before anything is allocated for it.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::net::Io;

/// The greeting, OK/ERR packets and a first row of `SELECT 1` are a few hundred bytes; a row of a
/// user's `#query` may be larger, but never needs to be.
pub const MAX_PACKET: usize = 64 * 1024;

pub const CLIENT_LONG_PASSWORD: u32 = 0x1;
pub const CLIENT_CONNECT_WITH_DB: u32 = 0x8;
pub const CLIENT_PROTOCOL_41: u32 = 0x200;
pub const CLIENT_SSL: u32 = 0x800;
pub const CLIENT_TRANSACTIONS: u32 = 0x2000;
pub const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
pub const CLIENT_PLUGIN_AUTH: u32 = 0x8_0000;

/// utf8mb4_general_ci: understood by every MySQL and MariaDB release still in use.
const CHARSET: u8 = 45;

/// The server's first packet.
#[derive(Debug)]
pub struct Greeting {
    pub version: String,
    pub capabilities: u32,
    /// The 20-byte nonce the password is hashed with.
    pub scramble: Vec<u8>,
    pub plugin: String,
}

/// An error packet's code, SQL state and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: u16,
    pub message: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (MySQL error {})", self.message, self.code)
    }
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("the server does not speak the MySQL protocol ({what})"),
    )
}

/// Reads one packet: (sequence number, payload).
pub async fn read(s: &mut Box<dyn Io>) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
    if len > MAX_PACKET {
        // An HTTP or TLS server's first bytes read as a length of megabytes: say so, not "too big".
        if head.starts_with(b"HTTP") || head[0] == 0x15 || head[0] == 0x16 {
            return Err(invalid("it answered like an HTTP or TLS server"));
        }
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the server sent a packet of {len} bytes (more than {MAX_PACKET} expected)"),
        ));
    }
    let mut payload = vec![0; len];
    s.read_exact(&mut payload).await?;
    Ok((head[3], payload))
}

/// Writes one packet.
pub async fn write(s: &mut Box<dyn Io>, seq: u8, payload: &[u8]) -> std::io::Result<()> {
    let len = payload.len() as u32;
    let mut out = len.to_le_bytes()[..3].to_vec();
    out.push(seq);
    out.extend_from_slice(payload);
    s.write_all(&out).await?;
    s.flush().await
}

/// The error in an ERR packet (`0xFF`, code, optional `#` and SQL state, message).
pub fn error(p: &[u8]) -> Option<ServerError> {
    if p.first() != Some(&0xFF) || p.len() < 3 {
        return None;
    }
    let code = u16::from_le_bytes([p[1], p[2]]);
    let mut rest = &p[3..];
    if rest.first() == Some(&b'#') && rest.len() >= 6 {
        rest = &rest[6..];
    }
    let message = crate::probe::text::printable(rest, 200);
    Some(ServerError { code, message })
}

/// Parses the greeting (protocol version 10). `Err` for anything else.
pub fn greeting(p: &[u8]) -> Result<Greeting, std::io::Error> {
    if p.first() != Some(&10) {
        return Err(invalid(&format!(
            "it sent \"{}\"",
            crate::probe::text::printable(p, 30)
        )));
    }
    let mut r = Reader(&p[1..]);
    let version =
        String::from_utf8_lossy(r.nul_str().ok_or_else(|| invalid("greeting"))?).into_owned();
    r.take(4).ok_or_else(|| invalid("greeting"))?; // connection id
    let mut scramble = r.take(8).ok_or_else(|| invalid("greeting"))?.to_vec();
    r.take(1);
    let low = r.take(2).ok_or_else(|| invalid("greeting"))?;
    let mut capabilities = u16::from_le_bytes([low[0], low[1]]) as u32;
    let mut plugin = "mysql_native_password".to_string();
    // Charset and status flags; a pre-4.1 greeting ends before them.
    if r.take(3).is_some() {
        if let Some(high) = r.take(2) {
            capabilities |= (u16::from_le_bytes([high[0], high[1]]) as u32) << 16;
        }
        let data_len = r.take(1).map_or(0, |b| b[0] as usize);
        r.take(10);
        if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let n = data_len.saturating_sub(8).max(13);
            if let Some(part2) = r.take(n.min(r.0.len())) {
                // The last byte of part 2 is a NUL terminator, not scramble.
                let part2 = part2.strip_suffix(&[0]).unwrap_or(part2);
                scramble.extend_from_slice(part2);
            }
        }
        if capabilities & CLIENT_PLUGIN_AUTH != 0 {
            if let Some(name) = r.nul_str().or(Some(r.0)) {
                if !name.is_empty() {
                    plugin = String::from_utf8_lossy(name).into_owned();
                }
            }
        }
    }
    Ok(Greeting {
        version,
        capabilities,
        scramble,
        plugin,
    })
}

/// The fixed start of a handshake response, which is also the whole SSL request.
pub fn response_head(capabilities: u32) -> Vec<u8> {
    let mut out = capabilities.to_le_bytes().to_vec();
    out.extend_from_slice(&(16u32 << 20).to_le_bytes()); // max packet: 16 MiB
    out.push(CHARSET);
    out.extend_from_slice(&[0; 23]);
    out
}

/// The handshake response: user, auth data, database, plugin name.
pub fn response(
    capabilities: u32,
    user: &str,
    auth: &[u8],
    db: Option<&str>,
    plugin: &str,
) -> Vec<u8> {
    let mut out = response_head(capabilities);
    out.extend_from_slice(user.as_bytes());
    out.push(0);
    out.push(auth.len() as u8);
    out.extend_from_slice(auth);
    if let Some(db) = db {
        out.extend_from_slice(db.as_bytes());
        out.push(0);
    }
    out.extend_from_slice(plugin.as_bytes());
    out.push(0);
    out
}

/// A length-encoded integer at the start of `p`.
pub fn lenenc(p: &[u8]) -> Option<u64> {
    match *p.first()? {
        n @ 0..=0xfa => Some(n as u64),
        0xfc => Some(u16::from_le_bytes(p.get(1..3)?.try_into().ok()?) as u64),
        0xfd => Some(u32::from_le_bytes([*p.get(1)?, *p.get(2)?, *p.get(3)?, 0]) as u64),
        0xfe => Some(u64::from_le_bytes(p.get(1..9)?.try_into().ok()?)),
        _ => None,
    }
}

/// The values of one row of a text result set: length-encoded strings, NULL (`0xFB`) as empty.
/// `None` for a packet that is not such a row.
pub fn text_row(mut p: &[u8]) -> Option<Vec<String>> {
    let mut values = Vec::new();
    while let Some(&first) = p.first() {
        if first == 0xFB {
            values.push(String::new());
            p = &p[1..];
            continue;
        }
        let len = usize::try_from(lenenc(p)?).ok()?;
        let head: usize = match first {
            0xfc => 3,
            0xfd => 4,
            0xfe => 9,
            _ => 1,
        };
        let value = p.get(head..head.checked_add(len)?)?;
        values.push(String::from_utf8_lossy(value).into_owned());
        p = &p[head + len..];
    }
    Some(values)
}

/// A cursor over a packet.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn nul_str(&mut self) -> Option<&'a [u8]> {
        let i = self.0.iter().position(|&b| b == 0)?;
        let s = &self.0[..i];
        self.0 = &self.0[i + 1..];
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_rows() {
        assert_eq!(
            super::text_row(b"\x04blog\x0c0001_initial").unwrap(),
            vec!["blog".to_string(), "0001_initial".to_string()]
        );
        assert_eq!(
            super::text_row(b"\xfb\x01a").unwrap(),
            vec![String::new(), "a".into()]
        );
        let mut long = vec![0xfc, 0x2c, 0x01];
        long.extend_from_slice(&[b'x'; 300]);
        assert_eq!(super::text_row(&long).unwrap()[0].len(), 300);
        // Cut short, or a length past the end: not a row.
        assert!(super::text_row(b"\x05abc").is_none());
        assert!(super::text_row(&[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_none());
    }
    use super::*;

    /// A MariaDB 10.11 greeting, as captured.
    pub fn sample_greeting() -> Vec<u8> {
        let mut p = vec![10];
        p.extend_from_slice(b"5.5.5-10.11.6-MariaDB\0");
        p.extend_from_slice(&[1, 0, 0, 0]);
        p.extend_from_slice(b"abcdefgh");
        p.push(0);
        p.extend_from_slice(&0xf7feu16.to_le_bytes());
        p.extend_from_slice(&[45, 2, 0]);
        p.extend_from_slice(&0x81bfu16.to_le_bytes());
        p.push(21);
        p.extend_from_slice(&[0; 10]);
        p.extend_from_slice(b"ijklmnopqrst\0");
        p.extend_from_slice(b"mysql_native_password\0");
        p
    }

    #[test]
    fn parses_a_greeting_and_errors() {
        let g = greeting(&sample_greeting()).unwrap();
        assert_eq!(g.version, "5.5.5-10.11.6-MariaDB");
        assert_eq!(g.scramble, b"abcdefghijklmnopqrst");
        assert_eq!(g.plugin, "mysql_native_password");
        assert!(g.capabilities & CLIENT_PLUGIN_AUTH != 0);
        // Truncated greetings never panic.
        let full = sample_greeting();
        for n in 0..full.len() {
            let _ = greeting(&full[..n]);
        }
        let mut e = vec![0xFF, 0x10, 0x04];
        e.extend_from_slice(b"#08004Too many connections");
        assert_eq!(
            error(&e),
            Some(ServerError {
                code: 1040,
                message: "Too many connections".into()
            })
        );
        assert_eq!(lenenc(&[0xfc, 0x01, 0x01]), Some(257));
        assert_eq!(lenenc(&[0xfc]), None);
    }
}
