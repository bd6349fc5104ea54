//! `redis+sentinel://[[USER]:PASSWORD@]SENTINEL[:26379]/MASTER[/DB]`: ready when the sentinel
//! names a master for MASTER (`SENTINEL get-master-addr-by-name`) and that master answers as a
//! master: `AUTH` (the URL's user and password are the data nodes'), `SELECT`, `PING` → `PONG`,
//! `ROLE` → master. A failover in progress (the named node still a replica, or not answering) is
//! "not yet"; a sentinel that knows no such master is permanent (a typo in the name).
//!
//! `?sentinel_password=` (and `?sentinel_user=`) authenticate to the sentinel itself. Several
//! sentinels: a group, `redis+sentinel://s1/mymaster|redis+sentinel://s2/mymaster`.

use tokio::io::AsyncWriteExt;

use super::resp::{self, Reply};
use super::RedisProbe;
use crate::net::limit::Limited;
use crate::net::Endpoint;
use crate::params::Params;
use crate::redact::Secret;
use crate::uri::{self, Host, Uri};
use crate::verdict::Verdict;

#[derive(Debug)]
pub struct SentinelProbe {
    sentinel: Endpoint,
    master: String,
    auth: Option<(Option<String>, Secret)>,
    /// The exchange with the master, run against the address the sentinel gives.
    data: RedisProbe,
    /// The attempt's timeout: the master's part ends a little before it, so that a silent master
    /// is named as such rather than by the scheduler's bare "no answer".
    attempt_timeout: std::time::Duration,
}

impl SentinelProbe {
    pub fn from_uri(u: &Uri) -> Result<Self, String> {
        let mut q = Params::query(&u.query);
        let sentinel_user = q.take("sentinel_user");
        let sentinel_password = q.take("sentinel_password");
        q.finish("redis+sentinel", &["sentinel_user", "sentinel_password"])?;
        Params::fragment(&u.options).finish("redis+sentinel", &[])?;
        let example = "redis+sentinel://:PASSWORD@sentinel:26379/mymaster/0";
        let mut parts = u.path.trim_start_matches('/').splitn(2, '/');
        let master = uri::decode_text(parts.next().unwrap_or("")).map_err(|e| e.to_string())?;
        if master.is_empty() {
            return Err(format!("the master's name is missing: {example}"));
        }
        let db = parts
            .next()
            .filter(|d| !d.is_empty())
            .map(|d| {
                d.parse::<u32>()
                    .map_err(|_| format!("'{d}' is not a database number ({example})"))
            })
            .transpose()?;
        let password = crate::params::password(u, None)?;
        if u.user.is_some() && password.is_none() {
            return Err(format!("a Redis user needs a password: {example}"));
        }
        let auth = match (sentinel_user, sentinel_password) {
            (u, Some(p)) => Some((u, Secret::new(p))),
            (Some(_), None) => return Err("?sentinel_user needs ?sentinel_password".into()),
            (None, None) => None,
        };
        let (host, port) = crate::probe::tcp_endpoint(u)?;
        Ok(SentinelProbe {
            attempt_timeout: std::time::Duration::from_secs(5),
            sentinel: Endpoint::Tcp(host.clone(), port),
            master,
            auth,
            data: RedisProbe {
                // Replaced on every attempt by the address the sentinel names.
                endpoint: Endpoint::Tcp(host, super::DEFAULT_PORT),
                tls: None,
                user: u.user.clone(),
                password,
                db,
                primary: true,
                cluster: false,
            },
        })
    }

    /// What the probe will do, for `--explain` (never a secret).
    pub fn explain(&self) -> Vec<String> {
        let mut out = vec![format!(
            "the sentinel {} names the master of {}{}",
            self.sentinel,
            self.master,
            if self.auth.is_some() {
                " (sentinel password given)"
            } else {
                ""
            }
        )];
        let mut data = self.data.explain();
        data.retain(|l| l != "no TLS");
        out.extend(
            data.into_iter()
                .skip(1)
                .map(|l| format!("on the master: {l}")),
        );
        out
    }

    pub fn set_attempt_timeout(&mut self, timeout: std::time::Duration) {
        self.attempt_timeout = timeout;
    }

    pub async fn attempt(&self) -> Verdict {
        let started = tokio::time::Instant::now();
        let master = match self.ask().await {
            Ok(endpoint) => endpoint,
            Err(v) => return v,
        };
        let left = self
            .attempt_timeout
            .saturating_sub(started.elapsed())
            .saturating_sub(std::time::Duration::from_millis(20));
        let answer = tokio::time::timeout(left, self.data.attempt_on(&master)).await;
        let answer = answer.unwrap_or_else(|_| {
            Verdict::costly(format!(
                "no answer within {}",
                crate::duration::show(self.attempt_timeout)
            ))
        });
        match answer {
            Verdict::Ready { detail } => {
                Verdict::ready(format!("master {master}: {}", detail.unwrap_or_default()))
            }
            Verdict::NotReady {
                reason,
                cost,
                retry_after,
                ..
            } => Verdict::NotReady {
                reason: format!("master {master}: {reason}"),
                cost,
                retry_after,
                // The sentinel answered: the target (sentinel and master) is not gone.
                gone: false,
            },
            Verdict::Failed { reason } => Verdict::failed(format!("master {master}: {reason}")),
        }
    }

    /// The master's address, from the sentinel.
    async fn ask(&self) -> Result<Endpoint, Verdict> {
        let stream = self.sentinel.connect().await?;
        let mut stream = Limited::new(stream, resp::MAX_TOTAL);
        let mut out = Vec::new();
        if let Some((user, password)) = &self.auth {
            out.extend(match user {
                Some(u) => resp::command(&[b"AUTH", u.as_bytes(), password.expose().as_bytes()]),
                None => resp::command(&[b"AUTH", password.expose().as_bytes()]),
            });
        }
        out.extend(resp::command(&[
            b"SENTINEL",
            b"get-master-addr-by-name",
            self.master.as_bytes(),
        ]));
        let io = |e: std::io::Error| crate::net::connect::io_verdict(&e);
        stream.write_all(&out).await.map_err(io)?;
        stream.flush().await.map_err(io)?;
        let mut decoder = resp::Decoder::default();
        if self.auth.is_some() {
            if let Reply::Error(e) = resp::read(&mut stream, &mut decoder).await.map_err(io)? {
                return Err(Verdict::failed(format!(
                    "the sentinel refused the sentinel password: {e}"
                )));
            }
        }
        let reply = resp::read(&mut stream, &mut decoder).await.map_err(io)?;
        let _ = stream.write_all(&resp::command(&[b"QUIT"])).await;
        match reply {
            Reply::Array(Some(items)) if items.len() == 2 => {
                let text = |r: &Reply| match r {
                    Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                    _ => None,
                };
                let (Some(host), Some(port)) = (text(&items[0]), text(&items[1])) else {
                    return Err(Verdict::costly("the sentinel's answer could not be read"));
                };
                let port = port
                    .parse::<u16>()
                    .map_err(|_| Verdict::costly("the sentinel named an invalid port"))?;
                Ok(Endpoint::Tcp(host_of(&host)?, port))
            }
            Reply::Array(None) | Reply::Bulk(None) => Err(Verdict::failed(format!(
                "the sentinel knows no master named '{}'",
                crate::probe::text::printable(self.master.as_bytes(), 80)
            ))),
            Reply::Error(e) if e.starts_with("NOAUTH") || e.starts_with("WRONGPASS") => {
                Err(Verdict::failed(format!(
                    "the sentinel wants a password (?sentinel_password=): {e}"
                )))
            }
            Reply::Error(e) if e.contains("unknown command") || e.contains("Unknown sentinel") => {
                Err(Verdict::failed(format!(
                    "{} is not a sentinel ({e})",
                    self.sentinel
                )))
            }
            Reply::Error(e) => Err(Verdict::costly(e)),
            _ => Err(Verdict::costly("unexpected answer from the sentinel")),
        }
    }
}

/// A host as a sentinel writes it: an IP address, or a name (announce-hostnames).
fn host_of(text: &str) -> Result<Host, Verdict> {
    if let Ok(ip) = text.parse() {
        return Ok(Host::Ip(ip));
    }
    let valid = !text.is_empty()
        && text.len() <= 253
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if valid {
        Ok(Host::Name(text.to_string()))
    } else {
        Err(Verdict::costly("the sentinel named an invalid host"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<SentinelProbe, String> {
        SentinelProbe::from_uri(&crate::uri::parse(s).map_err(|e| e.to_string())?)
    }

    #[test]
    fn url_forms() {
        let p = parse("redis+sentinel://:pw@s/mymaster/2?sentinel_password=x").unwrap();
        assert_eq!(p.master, "mymaster");
        assert_eq!(p.data.db, Some(2));
        assert_eq!(p.sentinel.to_string(), "s:26379");
        assert!(p.auth.is_some() && p.data.primary);
        for bad in [
            "redis+sentinel://s",
            "redis+sentinel://s/m/x",
            "redis+sentinel://u@s/m",
            "redis+sentinel://s/m?x=1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(host_of("10.0.0.2").is_ok() && host_of("redis-1").is_ok());
        assert!(host_of("a b").is_err() && host_of("").is_err());
    }
}
