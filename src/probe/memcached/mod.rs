//! `memcached://[USER:PASSWORD@]HOST[:11211]`: ready when `version` answers `VERSION …`.
//! Without a user, the text protocol. With a user, SASL PLAIN over the binary protocol
//! ([`binary`]; a server started with `-S`), or with `#auth=text` the text protocol's own
//! authentication (memcached's `--auth-file`: a `set` whose data is `USER PASSWORD`).
//!
//! What each answer means:
//! - `VERSION x` → ready;
//! - `CLIENT_ERROR authentication failure` → permanent (wrong user or password);
//! - `CLIENT_ERROR unauthenticated` → permanent (the server wants a user and password);
//! - `SERVER_ERROR …` (out of memory, too many connections) → not ready;
//! - `ERROR` to `version`, or anything else → not ready ("does not speak memcached").
//! - SASL: authentication error → permanent; a server without SASL → permanent ("drop the user").

pub mod binary;

use tokio::io::{AsyncWriteExt, BufReader};

use crate::net::limit::Limited;
use crate::net::{Endpoint, Io};
use crate::params::{self, Params};
use crate::probe::text;
use crate::redact::Secret;
use crate::uri::Uri;
use crate::verdict::Verdict;

const MAX_LINE: usize = 1024;

#[derive(Debug)]
pub struct MemcachedProbe {
    endpoint: Endpoint,
    auth: Option<(String, Secret)>,
    /// `#auth=text`: the text protocol's authentication instead of binary SASL.
    text_auth: bool,
}

impl MemcachedProbe {
    pub fn from_uri(u: &Uri) -> Result<Self, String> {
        let mut opts = Params::fragment(&u.options);
        let text_auth = match opts.take("auth").as_deref() {
            None | Some("sasl") => false,
            Some("text") => true,
            Some(other) => {
                return Err(format!(
                    "#auth={} is not one of sasl, text",
                    crate::text::quote_short(other)
                ))
            }
        };
        opts.finish("memcached", &["auth"])?;
        Params::query(&u.query).finish("memcached", &[])?;
        if !u.path.is_empty() && u.path != "/" {
            return Err("a memcached target has no path: memcached://cache:11211".into());
        }
        let auth = match (&u.user, params::password(u, None)?) {
            (Some(user), Some(p)) if !user.contains(' ') => Some((user.clone(), p)),
            (None, None) => None,
            _ => {
                return Err(
                    "memcached authentication takes a user (without spaces) and a password: memcached://USER:PASSWORD@cache"
                        .into(),
                )
            }
        };
        Ok(MemcachedProbe {
            endpoint: {
                let (host, port) = crate::probe::tcp_endpoint(u)?;
                Endpoint::Tcp(host, port)
            },
            auth,
            text_auth,
        })
    }

    /// What the probe will do, for `--explain` (never a secret).
    pub fn explain(&self) -> Vec<String> {
        vec![
            format!("version on {} answers VERSION", self.endpoint),
            match &self.auth {
                Some((u, _)) if self.text_auth => {
                    format!("text-protocol authentication as {u} (password given)")
                }
                Some((u, _)) => format!("SASL PLAIN as {u} (password given), binary protocol"),
                None => "no authentication".to_string(),
            },
        ]
    }

    pub async fn attempt(&self) -> Verdict {
        let stream = match self.endpoint.connect().await {
            Ok(s) => s,
            Err(v) => return v,
        };
        if let (Some((user, password)), false) = (&self.auth, self.text_auth) {
            let mut stream: Box<dyn Io> = Box::new(Limited::new(stream, 4 * 4096));
            return binary::exchange(&mut stream, user, password.expose().as_bytes())
                .await
                .unwrap_or_else(|e| crate::net::connect::io_verdict(&e));
        }
        let mut stream = BufReader::new(Limited::new(stream, 4 * MAX_LINE));
        crate::net::sniff::attempt(
            &self.endpoint,
            crate::net::sniff::MEMCACHED,
            false,
            self.exchange(&mut stream),
        )
        .await
    }

    async fn exchange(&self, s: &mut BufReader<Limited<Box<dyn Io>>>) -> std::io::Result<Verdict> {
        let mut out = Vec::new();
        if let Some((user, password)) = &self.auth {
            let data = format!("{user} {}", password.expose());
            out.extend_from_slice(format!("set readygate 0 0 {}\r\n", data.len()).as_bytes());
            out.extend_from_slice(data.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"version\r\nquit\r\n");
        s.get_mut().write_all(&out).await?;
        s.get_mut().flush().await?;
        if self.auth.is_some() {
            let line = text::read_line(s, MAX_LINE).await?;
            // A server without --auth-file stores the item: the credentials are not checked there.
            if line.starts_with(b"CLIENT_ERROR") {
                let (user, _) = self.auth.as_ref().map(|(u, p)| (u.as_str(), p)).unzip();
                return Ok(Verdict::failed(format!(
                    "the server refused user {}: wrong user or password ({})",
                    user.unwrap_or(""),
                    text::printable(&line, 80)
                )));
            }
            if line != b"STORED" {
                return Ok(self.judge(&line));
            }
        }
        let line = text::read_line(s, MAX_LINE).await?;
        Ok(self.judge(&line))
    }

    pub(crate) fn judge(&self, line: &[u8]) -> Verdict {
        let who = match &self.auth {
            Some((u, _)) => format!("user {u}"),
            None => "no user given".to_string(),
        };
        if let Some(v) = line.strip_prefix(b"VERSION ") {
            return Verdict::ready(format!("VERSION {}", text::printable(v, 40)));
        }
        let shown = text::printable(line, 120);
        if let Some(e) = shown.strip_prefix("CLIENT_ERROR ") {
            if e.contains("authentication") || e.contains("unauthenticated") {
                return Verdict::failed(format!("{e} ({who})"));
            }
        }
        if shown.starts_with("SERVER_ERROR") {
            return Verdict::costly(shown);
        }
        if let Some(other) = crate::net::sniff::named(
            crate::net::sniff::MEMCACHED,
            &[line, b"\r\n".as_slice()].concat(),
        ) {
            return other;
        }
        Verdict::costly(format!(
            "the server does not speak memcached (it sent \"{}\")",
            text::printable(line, 40)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<MemcachedProbe, String> {
        MemcachedProbe::from_uri(&crate::uri::parse(s).map_err(|e| e.to_string())?)
    }

    #[test]
    fn answers() {
        let p = parse("memcached://c").unwrap();
        assert!(matches!(p.judge(b"VERSION 1.6.18"), Verdict::Ready { .. }));
        assert!(matches!(
            p.judge(b"CLIENT_ERROR unauthenticated"),
            Verdict::Failed { .. }
        ));
        assert!(matches!(
            p.judge(b"SERVER_ERROR out of memory"),
            Verdict::NotReady { .. }
        ));
        assert!(matches!(p.judge(b"ERROR"), Verdict::NotReady { .. }));
        for bad in ["memcached://u@c", "memcached://c/1", "memcached://c#x"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
