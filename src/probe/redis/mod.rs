//! `redis://`, `rediss://` (TLS) and `redis+unix://` (a unix socket): ready when `PING` answers
//! `PONG` after `AUTH` and `SELECT` succeeded.
//!
//! URL forms: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`, `rediss://…` (options `#ca=FILE`,
//! `#insecure`), `redis+unix://[[USER]:PASSWORD@]/path/to/redis.sock[?db=N]`. `?password=` and
//! `?db=` are accepted as in common Redis clients. `#primary` also waits until `ROLE` says master.
//!
//! Classification by the error's first word (the Redis manual's error prefixes):
//! transient — `LOADING` (loading the dataset), `BUSY` (a script is running), `MASTERDOWN`
//! (replica without its primary), `TRYAGAIN`, `CLUSTERDOWN`, and connection errors;
//! permanent — `NOAUTH` (a password is required), `WRONGPASS`, `NOPERM` (ACL), `DENIED`
//! (protected mode), and any error to `AUTH` or `SELECT`.

pub mod resp;
pub mod sentinel;

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;

use crate::net::limit::Limited;

use crate::net::tls::Tls;
use crate::net::{self, Endpoint, Io};
use crate::params::{self, Params};
use crate::redact::Secret;
use crate::uri::{self, Uri};
use crate::verdict::Verdict;
use resp::Reply;

/// The same as the kinds table's (a test holds them equal; the table is compiled into every
/// build, this module only into builds with its feature).
pub const DEFAULT_PORT: u16 = 6379;
const OPTIONS: &[&str] = &["primary", "cluster", "ca", "insecure"];

#[derive(Debug)]
pub struct RedisProbe {
    endpoint: Endpoint,
    tls: Option<Tls>,
    user: Option<String>,
    password: Option<Secret>,
    db: Option<u32>,
    primary: bool,
    /// `#cluster`: `CLUSTER INFO` must say `cluster_state:ok`.
    cluster: bool,
}

/// Which command a reply answers, for classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Auth,
    Select,
    Ping,
    Role,
    Cluster,
}

impl RedisProbe {
    pub fn from_uri(uri: &Uri) -> Result<Self, String> {
        let unix = uri.scheme == "redis+unix";
        let tls_scheme = uri.scheme == "rediss";
        let mut params = Params::query(&uri.query);
        let db_param = params.take("db");
        let password_param = params.take("password");
        params.finish(&uri.scheme, &["db", "password"])?;

        let endpoint = if unix {
            if uri.host.is_some() || uri.path.is_empty() {
                return Err("a unix-socket target names the socket's path: redis+unix:///run/redis/redis.sock".into());
            }
            Endpoint::unix(PathBuf::from(
                uri::decode_text(&uri.path).map_err(|e| e.to_string())?,
            ))?
        } else {
            let (host, port) = crate::probe::tcp_endpoint(uri)?;
            Endpoint::Tcp(host, port)
        };
        let path_db = if unix {
            None
        } else {
            uri.path
                .strip_prefix('/')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
        };
        let db = match (path_db, db_param) {
            (Some(_), Some(_)) => {
                return Err("the database is given both in the path and as ?db=".into())
            }
            (a, b) => a.or(b),
        };
        let db = db
            .map(|d| {
                d.parse::<u32>().map_err(|_| {
                    format!("'{d}' is not a database number (example: redis://cache:6379/0)")
                })
            })
            .transpose()?;
        let password = params::password(uri, password_param)?;
        if uri.user.is_some() && password.is_none() {
            return Err("a Redis user needs a password: redis://USER:PASSWORD@host (or :PASSWORD@ for the default user)".into());
        }

        let mut opts = Params::fragment(&uri.options);
        let primary = opts.flag("primary")?;
        let cluster = opts.flag("cluster")?;
        if cluster && db.is_some_and(|d| d != 0) {
            return Err(
                "a Redis Cluster has only database 0: drop the database or #cluster".into(),
            );
        }
        let tls = Tls::from_options(&mut opts, tls_scheme, "rediss", &[])?;
        opts.finish(&uri.scheme, OPTIONS)?;
        Ok(RedisProbe {
            endpoint,
            tls,
            user: uri.user.clone(),
            password,
            db,
            primary,
            cluster,
        })
    }

    /// What the probe will do, for `--explain` (never the password).
    pub fn explain(&self) -> Vec<String> {
        let mut out = vec![format!("PING on {} answers PONG", self.endpoint)];
        out.push(match (&self.user, &self.password) {
            (Some(u), _) => format!("AUTH as {u} (password given)"),
            (None, Some(_)) => "AUTH as the default user (password given)".to_string(),
            (None, None) => "no AUTH".to_string(),
        });
        if let Some(db) = self.db {
            out.push(format!("SELECT {db}"));
        }
        if self.primary {
            out.push("ROLE must say master (#primary)".to_string());
        }
        if self.cluster {
            out.push("CLUSTER INFO must say cluster_state:ok (#cluster)".to_string());
        }
        out.push(Tls::describe(self.tls.as_ref()));
        out
    }

    /// The warning to show at start, if TLS verification is off.
    pub fn warning(&self) -> Option<String> {
        self.tls.as_ref().and_then(Tls::warning)
    }

    pub async fn attempt(&self) -> Verdict {
        self.attempt_on(&self.endpoint).await
    }

    /// One attempt against `endpoint` (the target's own, or the master a sentinel named).
    pub async fn attempt_on(&self, endpoint: &Endpoint) -> Verdict {
        let stream = match endpoint.open(self.tls.as_ref()).await {
            Ok(s) => s,
            Err(v) => return v,
        };
        net::sniff::attempt(
            endpoint,
            net::sniff::REDIS,
            self.tls.is_some(),
            self.exchange(stream),
        )
        .await
    }

    async fn exchange(&self, stream: Box<dyn Io>) -> std::io::Result<Verdict> {
        // All commands in one write (pipelined); replies come back in order.
        let mut out = Vec::new();
        let mut steps = Vec::new();
        if let Some(p) = &self.password {
            let p = p.expose().as_bytes();
            out.extend(match &self.user {
                Some(u) => resp::command(&[b"AUTH", u.as_bytes(), p]),
                None => resp::command(&[b"AUTH", p]),
            });
            steps.push(Step::Auth);
        }
        if let Some(db) = self.db {
            out.extend(resp::command(&[b"SELECT", db.to_string().as_bytes()]));
            steps.push(Step::Select);
        }
        out.extend(resp::command(&[b"PING"]));
        steps.push(Step::Ping);
        if self.primary {
            out.extend(resp::command(&[b"ROLE"]));
            steps.push(Step::Role);
        }
        if self.cluster {
            out.extend(resp::command(&[b"CLUSTER", b"INFO"]));
            steps.push(Step::Cluster);
        }
        let mut stream = Limited::new(stream, resp::MAX_TOTAL);
        stream.write_all(&out).await?;
        stream.flush().await?;
        let mut decoder = resp::Decoder::default();
        for step in steps {
            let reply = resp::read(&mut stream, &mut decoder).await?;
            if let Some(verdict) = self.judge(step, reply) {
                return Ok(verdict);
            }
        }
        let _ = stream.write_all(&resp::command(&[b"QUIT"])).await;
        Ok(Verdict::ready(match (self.primary, self.cluster) {
            (true, true) => "PONG, role master, cluster_state:ok".to_string(),
            (true, false) => "PONG, role master".to_string(),
            (false, true) => "PONG, cluster_state:ok".to_string(),
            (false, false) => "PONG".to_string(),
        }))
    }

    /// `None` to go on to the next reply; `Some` to stop with this verdict.
    fn judge(&self, step: Step, reply: Reply) -> Option<Verdict> {
        if let Reply::Error(e) = &reply {
            return Some(self.classify(step, e));
        }
        match (step, reply) {
            (Step::Auth | Step::Select, _) => None,
            (Step::Ping, Reply::Simple(s)) if s == "PONG" => None,
            // Some proxies answer PING with a bulk string.
            (Step::Ping, Reply::Bulk(Some(s))) if s == b"PONG" => None,
            (Step::Ping, other) => Some(Verdict::costly(format!(
                "unexpected answer to PING: {}",
                short(&other)
            ))),
            (Step::Role, Reply::Array(Some(items))) => match items.first() {
                Some(Reply::Bulk(Some(role))) if role == b"master" => None,
                Some(Reply::Bulk(Some(role))) => Some(Verdict::costly(format!(
                    "the node is a {}; waiting for a primary (#primary)",
                    String::from_utf8_lossy(role)
                ))),
                _ => Some(Verdict::costly("unexpected answer to ROLE")),
            },
            (Step::Role, other) => Some(Verdict::costly(format!(
                "unexpected answer to ROLE: {}",
                short(&other)
            ))),
            (Step::Cluster, Reply::Bulk(Some(info))) => {
                let info = String::from_utf8_lossy(&info);
                let state = info
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("cluster_state:"))
                    .unwrap_or("missing");
                (state != "ok").then(|| {
                    Verdict::costly(format!(
                        "cluster_state:{state} (slots not all assigned, or nodes unreachable)"
                    ))
                })
            }
            (Step::Cluster, other) => Some(Verdict::costly(format!(
                "unexpected answer to CLUSTER INFO: {}",
                short(&other)
            ))),
        }
    }

    fn classify(&self, step: Step, error: &str) -> Verdict {
        if error.trim().is_empty() {
            return Verdict::costly("the server answered with an empty error");
        }
        let prefix = error.split_whitespace().next().unwrap_or("");
        let who = match (&self.user, &self.password) {
            (Some(u), _) => format!("user {u}"),
            (None, Some(_)) => "the default user".to_string(),
            (None, None) => "no password given".to_string(),
        };
        match prefix {
            "LOADING" | "BUSY" | "MASTERDOWN" | "TRYAGAIN" | "CLUSTERDOWN" => {
                Verdict::costly(error.to_string())
            }
            "ERR" if step == Step::Cluster && error.contains("cluster support disabled") => {
                Verdict::failed("the node is not in cluster mode (cluster-enabled no), and #cluster asks for a cluster")
            }
            "NOAUTH" | "WRONGPASS" | "NOPERM" | "DENIED" => {
                Verdict::failed(format!("{} ({who})", first_sentence(error)))
            }
            _ if matches!(step, Step::Auth | Step::Select) => {
                Verdict::failed(format!("{} ({who})", first_sentence(error)))
            }
            _ => Verdict::costly(error.to_string()),
        }
    }
}

/// Protected mode's DENIED is a paragraph; its first sentence says it all.
fn first_sentence(s: &str) -> &str {
    match s.find(". ") {
        Some(i) if i > 20 => &s[..i + 1],
        _ => s,
    }
}

/// A reply as people read it (`PONG`, `"PONG"`, `42`, `(nil)`, `[3 items]`), cut to 80
/// characters.
fn short(r: &Reply) -> String {
    let s = match r {
        Reply::Simple(s) | Reply::Error(s) => s.clone(),
        Reply::Integer(n) => n.to_string(),
        Reply::Bulk(Some(b)) => format!("\"{}\"", String::from_utf8_lossy(b)),
        Reply::Bulk(None) | Reply::Array(None) => "(nil)".to_string(),
        Reply::Array(Some(items)) => format!("[{} items]", items.len()),
    };
    crate::redact::scrub_outside(&s).chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<RedisProbe, String> {
        RedisProbe::from_uri(&uri::parse(url).map_err(|e| e.to_string())?)
    }

    #[test]
    fn url_forms() {
        let t = parse("redis://cache").unwrap();
        assert_eq!(
            t.endpoint,
            Endpoint::Tcp(uri::Host::Name("cache".into()), 6379)
        );
        assert_eq!(t.db, None);
        let t = parse("redis://u:p@cache:7000/3").unwrap();
        assert_eq!((t.user.as_deref(), t.db), (Some("u"), Some(3)));
        let t = parse("redis+unix:///run/redis.sock?db=2").unwrap();
        assert_eq!(t.endpoint, Endpoint::Unix("/run/redis.sock".into()));
        assert_eq!(t.db, Some(2));
        assert!(parse("rediss://cache#insecure").unwrap().tls.is_some());
    }

    #[test]
    fn invalid_table() {
        for (url, want) in [
            ("redis://cache/x", "'x' is not a database number"),
            ("redis://cache/1?db=2", "both in the path and as ?db="),
            ("redis://u@cache", "needs a password"),
            ("redis://cache#insecure", "rediss:// targets only"),
            ("redis://cache?foo=1", "unknown parameter '?foo'"),
            ("redis+unix://host/x.sock", "names the socket's path"),
        ] {
            let err = parse(url).unwrap_err();
            assert!(err.contains(want), "{url}: {err}");
        }
    }

    #[test]
    fn replies_are_shown_readably() {
        assert_eq!(short(&Reply::Bulk(Some(b"PING?".to_vec()))), "\"PING?\"");
        assert_eq!(
            short(&Reply::Array(Some(vec![Reply::Integer(1)]))),
            "[1 items]"
        );
        let t = parse("redis://cache").unwrap();
        assert_eq!(
            t.judge(Step::Ping, Reply::Bulk(Some(b"PONG".to_vec()))),
            None
        );
        let Verdict::NotReady { reason, .. } = t.classify(Step::Auth, "") else {
            panic!()
        };
        assert_eq!(reason, "the server answered with an empty error");
    }

    #[test]
    fn classification_table() {
        let t = parse("redis://:p@cache").unwrap();
        let transient = [
            "LOADING Redis is loading the dataset in memory",
            "BUSY Redis is busy running a script",
            "MASTERDOWN Link with MASTER is down",
        ];
        for e in transient {
            assert!(
                matches!(t.classify(Step::Ping, e), Verdict::NotReady { .. }),
                "{e}"
            );
        }
        let permanent = [
            (Step::Ping, "NOAUTH Authentication required."),
            (Step::Auth, "WRONGPASS invalid username-password pair or user is disabled."),
            (Step::Ping, "NOPERM this user has no permissions to run the 'ping' command"),
            (Step::Ping, "DENIED Redis is running in protected mode because protected mode is enabled and no password is set. More text."),
            (Step::Auth, "ERR AUTH <password> called without any password configured for the default user."),
            (Step::Select, "ERR DB index is out of range"),
        ];
        for (step, e) in permanent {
            assert!(matches!(t.classify(step, e), Verdict::Failed { .. }), "{e}");
        }
        let Verdict::Failed { reason } = t.classify(Step::Ping, permanent[3].1) else {
            panic!()
        };
        assert!(!reason.contains("More text"), "{reason}");
    }
}
