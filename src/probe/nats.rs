//! `nats://[USER:PASSWORD@|TOKEN@]HOST[:4222]`: ready when the server's `INFO` is followed by
//! `PONG` to our `CONNECT` + `PING` — the server accepted the connection and the credentials.
//!
//! What each answer means:
//! - `PONG` → ready;
//! - `-ERR 'Authorization Violation'` (or any authentication error) → permanent: the credentials
//!   are wrong or missing, waiting will not fix them;
//! - `INFO` with `"ldm":true` (the server is in lame-duck mode, draining before it stops) → not
//!   ready;
//! - `-ERR 'maximum connections exceeded'` and other errors → not ready;
//! - `INFO` with `"tls_required":true` and no `#tls` → permanent: say `#tls`.
//!
//! TLS (`#tls`, or `#ca=FILE` / `#insecure`, which imply it): NATS sends `INFO` in plaintext, then
//! the client upgrades the same connection, verified as for `https://`.

use tokio::io::{AsyncWriteExt, BufReader};

use crate::net::limit::Limited;
use crate::net::tls::Tls;
use crate::net::{Endpoint, Io};
use crate::params::{self, Params};
use crate::probe::text::{self, json_true};
use crate::redact::Secret;
use crate::text::json_escaped;
use crate::uri::Host;
use crate::uri::Uri;
use crate::verdict::Verdict;

/// A banner is a few hundred bytes; a cluster's `connect_urls` list can make it a few KiB.
const MAX_LINE: usize = 64 * 1024;
const BUDGET: usize = 256 * 1024;

#[derive(Debug)]
pub struct NatsProbe {
    endpoint: Endpoint,
    host: Host,
    tls: Option<Tls>,
    auth: Auth,
}

#[derive(Debug)]
enum Auth {
    None,
    Token(Secret),
    User(String, Secret),
}

impl NatsProbe {
    pub fn from_uri(u: &Uri) -> Result<Self, String> {
        let mut opts = Params::fragment(&u.options);
        let wants_tls =
            opts.flag("tls")? || u.options.iter().any(|(k, _)| k == "ca" || k == "insecure");
        let tls = Tls::from_options(&mut opts, wants_tls, "nats", &[])?;
        opts.finish("nats", &["tls", "ca", "insecure"])?;
        Params::query(&u.query).finish("nats", &[])?;
        if !u.path.is_empty() && u.path != "/" {
            return Err("a nats target has no path: nats://user:password@nats:4222".into());
        }
        let auth = match (&u.user, params::password(u, None)?) {
            (Some(user), Some(p)) => Auth::User(user.clone(), p),
            // `nats://TOKEN@host`, as the NATS clients read it.
            (Some(token), None) => Auth::Token(Secret::new(token.clone())),
            (None, Some(_)) => {
                return Err("a password needs a user: nats://USER:PASSWORD@host".into())
            }
            (None, None) => Auth::None,
        };
        let (host, port) = super::tcp_endpoint(u)?;
        Ok(NatsProbe {
            endpoint: Endpoint::Tcp(host.clone(), port),
            host,
            tls,
            auth,
        })
    }

    /// What the probe will do, for `--explain` (never a secret).
    pub fn explain(&self) -> Vec<String> {
        vec![
            format!("{} sends INFO, then answers PING with PONG", self.endpoint),
            match &self.auth {
                Auth::None => "no credentials".to_string(),
                Auth::Token(_) => "CONNECT with a token (given)".to_string(),
                Auth::User(u, _) => format!("CONNECT as {u} (password given)"),
            },
            Tls::describe(self.tls.as_ref()),
        ]
    }

    /// The warning to show at start, if TLS verification is off.
    pub fn warning(&self) -> Option<String> {
        self.tls.as_ref().and_then(Tls::warning)
    }

    fn who(&self) -> String {
        match &self.auth {
            Auth::None => "no credentials given".to_string(),
            Auth::Token(_) => "token".to_string(),
            Auth::User(u, _) => format!("user {u}"),
        }
    }

    pub async fn attempt(&self) -> Verdict {
        let stream = match self.endpoint.connect().await {
            Ok(s) => s,
            Err(v) => return v,
        };
        let stream: Box<dyn Io> = Box::new(Limited::new(stream, BUDGET));
        crate::net::sniff::attempt(
            &self.endpoint,
            crate::net::sniff::NATS,
            false,
            self.exchange(BufReader::new(stream)),
        )
        .await
    }

    async fn exchange(&self, mut plain: BufReader<Box<dyn Io>>) -> std::io::Result<Verdict> {
        let info = text::read_line(&mut plain, MAX_LINE).await?;
        let tls_required = match server_line(&info) {
            Line::Info {
                lame_duck: false,
                tls_required,
            } => tls_required,
            Line::Info { .. } => return Ok(lame_duck()),
            _ => {
                if let Some(other) = crate::net::sniff::named(crate::net::sniff::NATS, &info) {
                    return Ok(other);
                }
                return Ok(Verdict::costly(format!(
                    "the server does not speak NATS (it sent \"{}\")",
                    text::printable(&info, 40)
                )));
            }
        };
        let mut tls_stream;
        let s = match &self.tls {
            None if tls_required => {
                return Ok(Verdict::failed(
                    "the server requires TLS: add #tls (and #ca=FILE for a private CA)",
                ))
            }
            None => &mut plain,
            Some(tls) => {
                // The server waits for our TLS hello: nothing is buffered past INFO.
                if !plain.buffer().is_empty() {
                    return Ok(Verdict::costly("the server sent more than INFO before TLS"));
                }
                let tcp = plain.into_inner();
                let upgraded: Box<dyn Io> = match tls.handshake(&self.host, tcp).await {
                    Ok(t) => Box::new(t),
                    Err(v) => return Ok(v),
                };
                tls_stream = BufReader::new(upgraded);
                &mut tls_stream
            }
        };
        let mut connect = String::from(
            r#"CONNECT {"verbose":false,"pedantic":false,"name":"readygate","lang":"rust","protocol":1"#,
        );
        match &self.auth {
            Auth::None => {}
            Auth::Token(t) => {
                connect.push_str(&format!(r#","auth_token":"{}""#, json_escaped(t.expose())))
            }
            Auth::User(u, p) => connect.push_str(&format!(
                r#","user":"{}","pass":"{}""#,
                json_escaped(u),
                json_escaped(p.expose())
            )),
        }
        connect.push_str("}\r\nPING\r\n");
        s.get_mut().write_all(connect.as_bytes()).await?;
        s.get_mut().flush().await?;
        // Bounded by the stream's budget and the attempt's timeout: a server may send more INFO
        // (cluster changes) or PING before our PONG.
        loop {
            let line = text::read_line(s, MAX_LINE).await?;
            return Ok(match server_line(&line) {
                Line::Pong => Verdict::ready("PONG".to_string()),
                Line::Ping => {
                    s.get_mut().write_all(b"PONG\r\n").await?;
                    continue;
                }
                Line::Info {
                    lame_duck: true, ..
                } => lame_duck(),
                Line::Info { .. } | Line::Ok => continue,
                Line::Err { text, auth: true } => {
                    Verdict::failed(format!("{text} ({})", self.who()))
                }
                Line::Err { text, .. } => Verdict::costly(text),
                Line::Other => Verdict::costly(format!(
                    "unexpected answer from the server: \"{}\"",
                    text::printable(&line, 40)
                )),
            });
        }
    }
}

fn lame_duck() -> Verdict {
    Verdict::costly("the server is in lame-duck mode (shutting down)")
}

/// One line from a NATS server, as the probe reads it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    Pong,
    Ping,
    Info {
        lame_duck: bool,
        tls_required: bool,
    },
    Ok,
    /// `-ERR 'text'`, and whether it is about authentication.
    Err {
        text: String,
        auth: bool,
    },
    Other,
}

/// What a line (without its CRLF) is.
pub(crate) fn server_line(line: &[u8]) -> Line {
    match line {
        b"PONG" => Line::Pong,
        b"PING" => Line::Ping,
        b"+OK" => Line::Ok,
        _ => {
            if let Some(json) = line.strip_prefix(b"INFO ") {
                let json = String::from_utf8_lossy(json);
                return Line::Info {
                    lame_duck: json_true(&json, "ldm"),
                    tls_required: json_true(&json, "tls_required"),
                };
            }
            let Some(err) = line.strip_prefix(b"-ERR ") else {
                return Line::Other;
            };
            let err = text::printable(err, 200);
            let text = err.trim_matches('\'').to_string();
            let lower = text.to_ascii_lowercase();
            Line::Err {
                auth: lower.contains("authorization") || lower.contains("authentication"),
                text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lines_are_told_apart() {
        assert_eq!(server_line(b"PONG"), Line::Pong);
        assert_eq!(
            server_line(br#"INFO {"tls_required":true,"ldm" : true}"#),
            Line::Info {
                lame_duck: true,
                tls_required: true
            }
        );
        assert_eq!(
            server_line(b"-ERR 'Authorization Violation'"),
            Line::Err {
                text: "Authorization Violation".into(),
                auth: true
            }
        );
        assert_eq!(
            server_line(b"-ERR 'Maximum Connections Exceeded'"),
            Line::Err {
                text: "Maximum Connections Exceeded".into(),
                auth: false
            }
        );
        assert_eq!(server_line(b"HTTP/1.1 400"), Line::Other);
    }

    fn parse(s: &str) -> Result<NatsProbe, String> {
        NatsProbe::from_uri(&crate::uri::parse(s).map_err(|e| e.to_string())?)
    }

    #[test]
    fn url_forms() {
        assert!(matches!(parse("nats://n").unwrap().auth, Auth::None));
        assert!(matches!(
            parse("nats://tok@n").unwrap().auth,
            Auth::Token(_)
        ));
        assert!(parse("nats://n#tls").unwrap().tls.is_some());
        assert!(parse("nats://n#insecure").unwrap().tls.is_some());
        assert!(parse("nats://n").unwrap().tls.is_none());
        assert!(matches!(
            parse("nats://u:p@n:4223").unwrap().auth,
            Auth::User(..)
        ));
        for bad in ["nats://n/x", "nats://:p@n", "nats://n?x=1", "nats://n#x"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
