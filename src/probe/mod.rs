//! The probes: one file per protocol, behind one enum.
//!
//! Each protocol module owns three things: its typed target (built from a [`Uri`] with its own
//! options validated), its default port, and `attempt`, which makes ONE bounded-by-the-caller
//! attempt and answers with a [`Verdict`]. Adding a protocol means one new file and one arm in each
//! `match` below; the scheduler never changes.
//!
//! Why an enum and not a trait object: a handful of kinds, exhaustive `match`, and `async fn` with
//! no boxing.

pub mod http;
pub mod pgguard;
pub mod pgpass;
pub mod pgwire;
pub mod postgres;
pub mod redis;
pub mod resp;
pub mod tcp;
pub mod tls;

use crate::uri::Uri;
use crate::verdict::Verdict;

/// What to probe and how, per protocol.
#[derive(Debug)]
pub enum Spec {
    Tcp(tcp::TcpTarget),
    Http(http::HttpTarget),
    Postgres(postgres::PgTarget),
    Redis(redis::RedisTarget),
}

/// The schemes readygate knows, for error messages.
pub const SCHEMES: &str = "tcp, http, https, postgres, postgresql, redis, rediss, redis+unix";

/// Builds the probe for a parsed URL, validating every option.
pub fn parse_spec(uri: &Uri) -> Result<Spec, String> {
    match uri.scheme.as_str() {
        "tcp" => tcp::TcpTarget::from_uri(uri).map(Spec::Tcp),
        "http" | "https" => http::HttpTarget::from_uri(uri).map(Spec::Http),
        "postgres" | "postgresql" => postgres::PgTarget::from_uri(uri).map(Spec::Postgres),
        "redis" | "rediss" | "redis+unix" => redis::RedisTarget::from_uri(uri).map(Spec::Redis),
        other => Err(format!("unknown scheme '{other}' (known: {SCHEMES})")),
    }
}

impl Spec {
    /// The port used when the URL names none (left out of display names).
    pub fn default_port(&self) -> Option<u16> {
        match self {
            Spec::Tcp(_) => None,
            Spec::Http(h) => Some(h.default_port()),
            Spec::Postgres(_) => Some(postgres::DEFAULT_PORT),
            Spec::Redis(_) => Some(redis::DEFAULT_PORT),
        }
    }

    /// One attempt. The caller bounds it in time (the scheduler wraps it in a timeout), so a probe
    /// only has to be cancellation-safe: dropping the future closes every socket it opened.
    pub async fn attempt(&self) -> Verdict {
        match self {
            Spec::Tcp(t) => t.attempt().await,
            Spec::Http(h) => h.attempt().await,
            Spec::Postgres(p) => p.attempt().await,
            Spec::Redis(r) => r.attempt().await,
        }
    }

    /// Tells the probe how long an attempt may take, for protocols that can also bound the work
    /// on the server's side.
    pub fn set_attempt_timeout(&mut self, timeout: std::time::Duration) {
        if let Spec::Postgres(p) = self {
            p.set_attempt_timeout(timeout);
        }
    }

    /// Warnings worth showing once at start (e.g. TLS verification switched off).
    pub fn warnings(&self) -> Vec<String> {
        match self {
            Spec::Http(h) if h.insecure => {
                vec!["TLS certificate verification is OFF (#insecure)".to_string()]
            }
            Spec::Redis(r) if r.insecure => {
                vec!["TLS certificate verification is OFF (#insecure)".to_string()]
            }
            Spec::Postgres(p) => p.warning.iter().cloned().collect(),
            _ => Vec::new(),
        }
    }
}
