//! `mqtt://[USER[:PASSWORD]@]HOST[:1883]` and `mqtts://…[:8883]` (TLS): ready when the broker
//! answers CONNECT with a CONNACK that accepts the connection. The session is clean, the client id
//! random (`readygate-PID-NANOS`, so two gates never take over each other's session), and a
//! DISCONNECT follows at once. `#version=5` speaks MQTT 5 instead of 3.1.1.
//!
//! What each answer means (3.1.1 return codes / 5 reason codes):
//! - accepted (0) → ready;
//! - server unavailable (3 / 0x88), server busy (0x89), quota or rate exceeded (0x97, 0x9F),
//!   unspecified error (0x80) → not ready;
//! - bad user name or password (4 / 0x86), not authorized (5 / 0x87), banned (0x8A), bad
//!   authentication method (0x8C), client identifier rejected (2 / 0x85), protocol version not
//!   supported (1 / 0x84) → permanent.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::net::limit::Limited;
use crate::net::tls::Tls;
use crate::net::{Endpoint, Io};
use crate::params::{self, Params};
use crate::redact::Secret;
use crate::uri::Uri;
use crate::verdict::Verdict;

/// A CONNACK is 4 bytes in 3.1.1; MQTT 5 adds properties (a reason string, limits): a few hundred.
const MAX_PACKET: usize = 16 * 1024;
const OPTIONS: &[&str] = &["version", "ca", "insecure"];

#[derive(Debug)]
pub struct MqttProbe {
    endpoint: Endpoint,
    tls: Option<Tls>,
    user: Option<String>,
    password: Option<Secret>,
    v5: bool,
}

impl MqttProbe {
    pub fn from_uri(u: &Uri) -> Result<Self, String> {
        let tls_scheme = u.scheme == "mqtts";
        let mut opts = Params::fragment(&u.options);
        let v5 = match opts.take("version").as_deref() {
            None | Some("3.1.1") | Some("4") => false,
            Some("5") => true,
            Some(v) => {
                return Err(format!(
                    "#version={} is not an MQTT version (3.1.1 or 5)",
                    crate::text::quote_short(v)
                ))
            }
        };
        let tls = Tls::from_options(&mut opts, tls_scheme, "mqtts", &[])?;
        opts.finish(&u.scheme, OPTIONS)?;
        Params::query(&u.query).finish(&u.scheme, &[])?;
        if !u.path.is_empty() && u.path != "/" {
            return Err("an mqtt target has no path: mqtt://user:password@broker:1883".into());
        }
        let password = params::password(u, None)?;
        if u.user.is_none() && password.is_some() {
            return Err("an MQTT password needs a user: mqtt://USER:PASSWORD@broker".into());
        }
        let (host, port) = super::tcp_endpoint(u)?;
        Ok(MqttProbe {
            endpoint: Endpoint::Tcp(host, port),
            tls,
            user: u.user.clone(),
            password,
            v5,
        })
    }

    /// What the probe will do, for `--explain` (never a secret).
    pub fn explain(&self) -> Vec<String> {
        vec![
            format!(
                "{} accepts an MQTT {} CONNECT (clean session, then DISCONNECT)",
                self.endpoint,
                if self.v5 { "5" } else { "3.1.1" }
            ),
            match (&self.user, &self.password) {
                (Some(u), Some(_)) => format!("as {u} (password given)"),
                (Some(u), None) => format!("as {u} (no password)"),
                _ => "anonymous".to_string(),
            },
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
        let mut stream = Limited::new(stream, MAX_PACKET + 8);
        crate::net::sniff::attempt(
            &self.endpoint,
            crate::net::sniff::MQTT,
            self.tls.is_some(),
            self.exchange(&mut stream),
        )
        .await
    }

    fn connect_packet(&self) -> Vec<u8> {
        let mut body = Vec::new();
        put_str(&mut body, b"MQTT");
        body.push(if self.v5 { 5 } else { 4 });
        let mut flags = 0x02; // clean session / clean start
        if self.user.is_some() {
            flags |= 0x80;
        }
        if self.password.is_some() {
            flags |= 0x40;
        }
        body.push(flags);
        body.extend_from_slice(&30u16.to_be_bytes()); // keep-alive, seconds
        if self.v5 {
            body.push(0); // no properties
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        put_str(
            &mut body,
            format!("readygate-{}-{nanos}", std::process::id()).as_bytes(),
        );
        if let Some(u) = &self.user {
            put_str(&mut body, u.as_bytes());
        }
        if let Some(p) = &self.password {
            put_str(&mut body, p.expose().as_bytes());
        }
        let mut packet = vec![0x10];
        put_varint(&mut packet, body.len());
        packet.extend(body);
        packet
    }

    async fn exchange(&self, s: &mut Limited<Box<dyn Io>>) -> std::io::Result<Verdict> {
        s.write_all(&self.connect_packet()).await?;
        s.flush().await?;
        let kind = s.read_u8().await?;
        let len = read_varint(s).await?;
        if let Some(foreign) = connack_head(kind, len) {
            return Ok(foreign);
        }
        let mut body = vec![0; len];
        s.read_exact(&mut body).await?;
        let verdict = match connack_code(&body) {
            Some(code) => self.judge(code),
            None => Verdict::costly("a CONNACK too short to read"),
        };
        if matches!(verdict, Verdict::Ready { .. }) {
            // DISCONNECT, normal disconnection; the broker then drops the clean session.
            let _ = s.write_all(&[0xE0, 0x00]).await;
            let _ = s.flush().await;
        }
        Ok(verdict)
    }

    fn judge(&self, code: u8) -> Verdict {
        let who = match &self.user {
            Some(u) => format!("user {u}"),
            None => "anonymous".to_string(),
        };
        let (text, permanent) = match (self.v5, code) {
            (_, 0) => return Verdict::ready("CONNACK accepted".to_string()),
            (false, 1) | (true, 0x84) => (
                "the broker does not support this MQTT version (try #version=5 or #version=3.1.1)",
                true,
            ),
            (false, 2) | (true, 0x85) => ("the client identifier was rejected", true),
            (false, 3) | (true, 0x88) => ("the server is unavailable", false),
            (false, 4) | (true, 0x86) => ("bad user name or password", true),
            (false, 5) | (true, 0x87) => ("not authorized", true),
            (true, 0x89) => ("the server is busy", false),
            (true, 0x8A) => ("banned", true),
            (true, 0x8C) => ("bad authentication method", true),
            (true, 0x97) => ("quota exceeded", false),
            (true, 0x9F) => ("connection rate exceeded", false),
            _ => ("the connection was refused", false),
        };
        let reason = format!("{text} (CONNACK code 0x{code:02x}, {who})");
        if permanent {
            Verdict::failed(reason)
        } else {
            Verdict::costly(reason)
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    // Fields are at most 65,535 bytes; ours are names and passwords from a URL (short).
    let len = s.len().min(u16::MAX as usize);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&s[..len]);
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            break;
        }
    }
}

/// Reads a packet's remaining length, byte by byte; what the bytes mean is [`remaining_length`]'s.
async fn read_varint<R: AsyncReadExt + Unpin>(r: &mut R) -> std::io::Result<usize> {
    let mut bytes = [0u8; 4];
    for i in 0..4 {
        bytes[i] = r.read_u8().await?;
        if let Some(n) = remaining_length(&bytes[..=i]) {
            return Ok(n);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the server does not speak MQTT (bad length)",
    ))
}

/// The remaining length (MQTT 3.1.1 §2.2.3: 7 bits a byte, at most 4 bytes) once `bytes` hold all
/// of it; `None` while more are needed (or past 4 bytes, which is no MQTT).
pub(crate) fn remaining_length(bytes: &[u8]) -> Option<usize> {
    let mut n = 0usize;
    for (shift, b) in bytes.iter().take(4).enumerate() {
        n |= usize::from(b & 0x7f) << (7 * shift);
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

/// `None` when a packet of type byte `kind` and `len` bytes can be a CONNACK; otherwise why not.
pub(crate) fn connack_head(kind: u8, len: usize) -> Option<Verdict> {
    (kind != 0x20 || !(2..=MAX_PACKET).contains(&len)).then(|| {
        Verdict::costly(format!(
            "the server does not speak MQTT (first byte 0x{kind:02x})"
        ))
    })
}

/// The reason code of a CONNACK body (after the acknowledge flags).
pub(crate) fn connack_code(body: &[u8]) -> Option<u8> {
    body.get(1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_lengths_take_at_most_four_bytes() {
        assert_eq!(remaining_length(&[0x02]), Some(2));
        assert_eq!(remaining_length(&[0xC1, 0x02]), Some(321));
        assert_eq!(
            remaining_length(&[0xFF, 0xFF, 0xFF, 0x7F]),
            Some(268_435_455)
        );
        assert_eq!(remaining_length(&[0x80]), None);
        assert_eq!(remaining_length(&[0x80, 0x80, 0x80, 0x80, 0x01]), None);
        assert!(connack_head(0x20, 2).is_none());
        assert!(connack_head(0x48, 2).is_some());
        assert_eq!(connack_code(&[0]), None);
    }

    fn parse(s: &str) -> Result<MqttProbe, String> {
        MqttProbe::from_uri(&crate::uri::parse(s).map_err(|e| e.to_string())?)
    }

    #[tokio::test]
    async fn packets_and_codes() {
        let p = parse("mqtt://u:p@b").unwrap();
        let c = p.connect_packet();
        assert_eq!(c[0], 0x10);
        assert_eq!(&c[2..8], b"\0\x04MQTT");
        assert_eq!(c[8], 4);
        assert_eq!(c[9], 0xC2);
        let mut v = Vec::new();
        put_varint(&mut v, 321);
        assert_eq!(v, [0xC1, 0x02]);
        assert_eq!(read_varint(&mut &v[..]).await.unwrap(), 321);
        assert!(matches!(p.judge(4), Verdict::Failed { .. }));
        assert!(matches!(p.judge(3), Verdict::NotReady { .. }));
        let p5 = parse("mqtts://b#version=5&insecure").unwrap();
        assert!(p5.v5 && p5.tls.is_some());
        assert!(matches!(p5.judge(0x86), Verdict::Failed { .. }));
        assert!(matches!(p5.judge(0x89), Verdict::NotReady { .. }));
        for bad in [
            "mqtt://b#version=6",
            "mqtt://:p@b",
            "mqtt://b/x",
            "mqtt://b#insecure",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
