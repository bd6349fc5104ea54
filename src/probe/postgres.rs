//! `postgres://` and `postgresql://`: PostgreSQL readiness at the protocol level.
//!
//! Two levels of "ready":
//! - **ping** — the server accepts connections, what `pg_isready` reports: ready unless the server
//!   is unreachable, silent, or answers SQLSTATE 57P03 (starting up, recovering, shutting down, hot
//!   standby off) or 53300 (too many connections). Needs no password. The default when no user is
//!   given (in the URL or `PGUSER`).
//! - **login** — the application can work: log in and run `SELECT 1`, or the target's own
//!   `#query=…`, which must succeed and return a row. The default when a user is given.
//!
//! Classification is by SQLSTATE only, never by message text (it changes with the release and
//! `lc_messages`). See [`classify_sqlstate`] for the table.
//!
//! URL syntax follows libpq: `postgres://[user[:password]@][host][:port][/dbname][?param=value&…]`
//! with `host`, `port`, `user`, `password`, `dbname`, `sslmode`, `sslrootcert`,
//! `target_session_attrs`, `application_name`, `connect_timeout` as query parameters; a `host`
//! starting with `/` is a unix-socket directory. What the URL leaves out comes from `PGHOST`,
//! `PGPORT`, `PGUSER`, `PGPASSWORD` (or `PGPASSWORD_FILE`), `PGDATABASE`, `PGSSLMODE`,
//! `PGSSLROOTCERT`, then from the defaults; a login with no password yet looks in libpq's password
//! file (`PGPASSFILE` or `~/.pgpass`, see [`super::pgpass`]).
//!
//! TLS: the SSLRequest is ours ([`super::pgwire`]); `sslmode` `disable`, `allow`/`prefer` (TLS when
//! the server offers it), `require` (TLS or fail; certificate not checked, as in libpq),
//! `verify-ca` (chain), `verify-full` (chain and host name). Never a plaintext fallback past
//! `prefer`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use rustls::ClientConfig;
use tokio_postgres::SimpleQueryMessage;

use super::pgguard;
use super::pgpass;
use super::pgwire::{self, FirstReply, SslAnswer};
use super::tls::{self, Verify};
use crate::connect::{self, Io};
use crate::environ::{self, Env};
use crate::target::Options;
use crate::uri::{self, Host, Secret, Uri};
use crate::verdict::Verdict;

pub const DEFAULT_PORT: u16 = 5432;
/// Where Debian and the official image put the socket.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";
const OPTIONS: &[&str] = &["level", "query", "primary"];
const PARAMS: &[&str] = &[
    "host",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslrootcert",
    "target_session_attrs",
    "application_name",
    "connect_timeout",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Tcp(Host, u16),
    /// A socket directory; the socket is `DIR/.s.PGSQL.PORT`.
    Unix(PathBuf, u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ping,
    Login,
}

#[derive(Debug)]
pub struct PgTarget {
    /// Shown once at start (an unsafe password file that was ignored).
    pub warning: Option<String>,
    endpoint: Endpoint,
    user: Option<String>,
    password: Option<Secret>,
    database: String,
    sslmode: SslMode,
    tls: Option<Arc<ClientConfig>>,
    pub level: Level,
    query: Option<String>,
    primary: bool,
    /// "user app, database app, host db:5432", for failure messages.
    context: String,
    /// Whether the cleartext-password warning was printed (once per target).
    warned: std::sync::atomic::AtomicBool,
    /// The server-side `statement_timeout` of the probe's session: the attempt timeout, so that a
    /// query the gate has given up on (waiting on a lock) does not go on holding a session. A
    /// backend blocked on a lock does not notice that its client has gone.
    statement_timeout: Option<std::time::Duration>,
}

impl PgTarget {
    pub fn from_uri(uri: &Uri) -> Result<Self, String> {
        Self::from_parts(uri, &environ::process)
    }

    pub fn from_parts(uri: &Uri, env: Env<'_>) -> Result<Self, String> {
        let mut params = Options::query(&uri.query);
        let mut from_query =
            |key: &str, from_url: Option<String>| -> Result<Option<String>, String> {
                match (from_url, params.take(key)) {
                    (Some(_), Some(_)) => {
                        Err(format!("'{key}' is given both in the URL and as ?{key}="))
                    }
                    (a, b) => Ok(a.or(b)),
                }
            };
        let host = from_query("host", uri.host.as_ref().map(Host::to_url_form))?;
        let port = from_query("port", uri.port.map(|p| p.to_string()))?;
        let user = from_query("user", uri.user.clone())?;
        let password_param = from_query("password", None)?;
        let path_db = uri
            .path
            .strip_prefix('/')
            .filter(|p| !p.is_empty())
            .map(uri::decode_text)
            .transpose()
            .map_err(|e| e.to_string())?;
        let dbname = from_query("dbname", path_db)?;
        let sslmode = from_query("sslmode", None)?;
        let sslrootcert = from_query("sslrootcert", None)?;
        let session_attrs = from_query("target_session_attrs", None)?;
        let _ = from_query("application_name", None)?;
        // Our attempt timeout bounds every attempt; libpq's own is accepted for compatibility.
        let _ = from_query("connect_timeout", None)?;
        params.finish("postgres", PARAMS)?;

        if uri.password.is_some() && password_param.is_some() {
            return Err("the password is given both in the URL and as ?password=".into());
        }
        let password = match uri.password.clone().or(password_param.map(Secret::new)) {
            Some(p) => Some(p),
            None => environ::secret(env, "PGPASSWORD")?,
        };
        let user = user.or_else(|| env("PGUSER")).filter(|u| !u.is_empty());
        let port = match port.or_else(|| env("PGPORT")) {
            None => DEFAULT_PORT,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("'{p}' is not a port number (1-65535)"))?,
        };
        let host = host
            .or_else(|| env("PGHOST"))
            .unwrap_or_else(|| DEFAULT_SOCKET_DIR.to_string());
        if host.contains(',') {
            return Err(
                "several hosts in one target are not supported: give one target per host".into(),
            );
        }
        let endpoint = if host.starts_with('/') {
            Endpoint::Unix(PathBuf::from(&host), port)
        } else {
            let parsed = uri::parse(&format!("tcp://{host}:{port}"))
                .map_err(|e| format!("host '{host}': {e}"))?;
            Endpoint::Tcp(parsed.host.ok_or("the host is missing")?, port)
        };
        let database = dbname
            .or_else(|| env("PGDATABASE"))
            .or_else(|| user.clone())
            .unwrap_or_else(|| "postgres".to_string());

        let sslmode = match sslmode.or_else(|| env("PGSSLMODE")).as_deref() {
            None | Some("prefer") | Some("allow") => SslMode::Prefer,
            Some("disable") => SslMode::Disable,
            Some("require") => SslMode::Require,
            Some("verify-ca") => SslMode::VerifyCa,
            Some("verify-full") => SslMode::VerifyFull,
            Some(other) => {
                return Err(format!("sslmode '{other}' is not one of disable, allow, prefer, require, verify-ca, verify-full"))
            }
        };
        let rootcert = sslrootcert
            .or_else(|| env("PGSSLROOTCERT"))
            .filter(|r| r != "system");
        let tls = match (sslmode, &endpoint) {
            // libpq never uses TLS on a unix socket.
            (SslMode::Disable, _) | (_, Endpoint::Unix(..)) => None,
            (mode, _) => {
                let verify = match mode {
                    SslMode::VerifyFull => Verify::Full,
                    SslMode::VerifyCa => Verify::ChainOnly,
                    // libpq: with a root certificate, `require` verifies the chain like verify-ca.
                    _ if rootcert.is_some() => Verify::ChainOnly,
                    _ => Verify::None,
                };
                Some(tls::client_config(
                    rootcert.as_deref().map(std::path::Path::new),
                    verify,
                    &[],
                )?)
            }
        };

        let mut opts = Options::fragment(&uri.options);
        let query = opts.take("query").filter(|q| !q.trim().is_empty());
        let primary = opts.flag("primary")?
            || match session_attrs.as_deref() {
                None | Some("any") => false,
                Some("read-write" | "primary") => true,
                Some(other) => {
                    return Err(format!(
                "target_session_attrs '{other}' is not supported (use any, read-write or primary)"
            ))
                }
            };
        let level = match opts.take("level").as_deref() {
            Some("ping") if query.is_some() || primary => {
                return Err(
                    "#level=ping cannot run a #query or check #primary: those need a login".into(),
                )
            }
            Some("ping") => Level::Ping,
            Some("login") => Level::Login,
            Some(other) => return Err(format!("#level={other} is not one of ping, login")),
            None if user.is_some() || query.is_some() || primary => Level::Login,
            None => Level::Ping,
        };
        opts.finish("postgres", OPTIONS)?;
        if level == Level::Login && user.is_none() {
            return Err("#level=login needs a user: give one in the URL (postgres://USER@host/db) or PGUSER".into());
        }

        // Last in libpq's order: the password file, for a login that has no password yet.
        let mut warning = None;
        let password = match (&password, &user, level) {
            (None, Some(u), Level::Login) => {
                let host = match &endpoint {
                    Endpoint::Tcp(h, _) => h.tls_name(),
                    Endpoint::Unix(..) => "localhost".to_string(),
                };
                let port = match &endpoint {
                    Endpoint::Tcp(_, p) | Endpoint::Unix(_, p) => *p,
                };
                pgpass::path(env).map_or(password, |file| {
                    let found = pgpass::lookup(&file, &host, port, &database, u);
                    warning = found.warning;
                    found.password
                })
            }
            _ => password,
        };
        let shown_host = match &endpoint {
            Endpoint::Tcp(h, p) => format!("{}:{p}", h.to_url_form()),
            Endpoint::Unix(dir, p) => format!("{}/.s.PGSQL.{p}", dir.display()),
        };
        let context = format!(
            "user {}, database {database}, host {shown_host}",
            user.as_deref().unwrap_or("postgres")
        );
        Ok(PgTarget {
            warning,
            endpoint,
            user,
            password,
            database,
            sslmode,
            tls,
            level,
            query,
            primary,
            context,
            warned: Default::default(),
            statement_timeout: None,
        })
    }

    /// Bounds the probe's queries on the server side too (see `statement_timeout`).
    pub fn set_attempt_timeout(&mut self, timeout: std::time::Duration) {
        self.statement_timeout = Some(timeout);
    }

    pub async fn attempt(&self) -> Verdict {
        let (mut stream, encrypted) = match self.open().await {
            Ok(s) => s,
            Err(v) => return v,
        };
        match self.level {
            Level::Ping => {
                let user = self.user.as_deref().unwrap_or("postgres");
                match pgwire::ping(&mut stream, user, &self.database).await {
                    Ok(FirstReply::Auth | FirstReply::Negotiate) => {
                        Verdict::ready("accepting connections".to_string())
                    }
                    // pg_isready reports "no response" for an error without a code: whatever
                    // answered, it did not say it accepts connections.
                    Ok(FirstReply::Error(e)) if e.code.is_empty() => Verdict::costly(format!(
                        "the server answered with an error without a SQLSTATE: {}",
                        e.message
                    )),
                    Ok(FirstReply::Error(e)) => match classify_sqlstate(&e.code) {
                        // pg_isready semantics: any answer but "not now" means the server is up.
                        Class::Transient => {
                            Verdict::costly(format!("{} (SQLSTATE {})", e.message, e.code))
                        }
                        _ => Verdict::ready(format!(
                            "accepting connections (SQLSTATE {} at login)",
                            e.code
                        )),
                    },
                    Err(e) => io_verdict(&e),
                }
            }
            Level::Login => self.login(stream, encrypted).await,
        }
    }

    /// Connects and, per `sslmode`, negotiates TLS. Also says whether the connection is private
    /// (TLS, or a unix socket on this machine).
    async fn open(&self) -> Result<(Box<dyn Io>, bool), Verdict> {
        let (host, port) = match &self.endpoint {
            Endpoint::Unix(dir, port) => {
                let path = dir.join(format!(".s.PGSQL.{port}"));
                return Ok((Box::new(connect::connect_unix(&path).await?), true));
            }
            Endpoint::Tcp(host, port) => (host, *port),
        };
        let mut tcp = connect::connect(host, port).await?;
        let Some(config) = &self.tls else {
            return Ok((Box::new(tcp), false));
        };
        match pgwire::negotiate_tls(&mut tcp).await {
            Ok(SslAnswer::Yes) => {}
            Ok(SslAnswer::No) if self.sslmode == SslMode::Prefer => {
                return Ok((Box::new(tcp), false))
            }
            Ok(SslAnswer::No) => {
                return Err(Verdict::failed(format!(
                    "the server does not support TLS, and sslmode={} forbids plaintext ({})",
                    sslmode_name(self.sslmode),
                    self.context
                )))
            }
            Err(e) => return Err(io_verdict(&e)),
        }
        match tls::handshake(config, host, tcp).await {
            Ok(s) => Ok((Box::new(s), true)),
            // A rejected certificate names the connection, like every permanent failure here.
            Err(Verdict::Failed { reason }) => {
                Err(Verdict::failed(format!("{reason} ({})", self.context)))
            }
            Err(v) => Err(v),
        }
    }

    async fn login(&self, stream: Box<dyn Io>, encrypted: bool) -> Verdict {
        let mut config = tokio_postgres::Config::new();
        config
            .user(self.user.as_deref().unwrap_or("postgres"))
            .dbname(&self.database)
            .application_name("readygate")
            // TLS, if any, is already in place: see `open`.
            .ssl_mode(tokio_postgres::config::SslMode::Disable);
        if let Some(p) = &self.password {
            config.password(p.expose());
        }
        if let Some(t) = self.statement_timeout {
            config.options(format!("-c statement_timeout={}", t.as_millis().max(1)));
        }
        let method = Arc::new(AtomicU8::new(0));
        let stream = pgguard::Guarded::new(stream, method.clone());
        let connected = config.connect_raw(stream, tokio_postgres::NoTls).await;
        self.warn_if_exposed(&method, encrypted);
        let (client, connection) = match connected {
            Ok(pair) => pair,
            Err(e) => return self.classify(&e),
        };
        // The connection is driven here, inside the attempt, never spawned: when the attempt is
        // cut by its timeout, dropping this future closes the socket and ends the server's
        // session. A spawned driver would outlive it and leak a session per attempt.
        let mut connection = std::pin::pin!(connection);
        let verdict = tokio::select! {
            verdict = self.after_login(&client) => verdict,
            ended = &mut connection => match ended {
                Err(e) => self.classify(&e),
                Ok(()) => Verdict::costly("the server closed the connection"),
            },
        };
        // Dropping the client makes the driver send Terminate and finish: no "unexpected EOF" in
        // the server's log for every probe.
        drop(client);
        let _ = connection.await;
        verdict
    }

    /// Warns (once) when the server asked for the password in cleartext or as an MD5 hash over a
    /// connection that is not encrypted: with `sslmode=prefer`, a server (or a man in the
    /// middle) that declines TLS gets it. `sslmode=require` prevents that.
    fn warn_if_exposed(&self, method: &AtomicU8, encrypted: bool) {
        let how = match method.load(Ordering::Relaxed) {
            pgguard::AUTH_CLEARTEXT => "in cleartext",
            pgguard::AUTH_MD5 => "as an MD5 hash",
            _ => return,
        };
        if encrypted || self.password.is_none() || self.warned.swap(true, Ordering::Relaxed) {
            return;
        }
        tracing::warn!(
            event = "warning",
            "the server asked for the password {how} over an unencrypted connection ({}); sslmode=require prevents this",
            self.context
        );
    }

    async fn after_login(&self, client: &tokio_postgres::Client) -> Verdict {
        if self.primary {
            match first_value(client, "SELECT pg_is_in_recovery()").await {
                Ok(Some(v)) if v == "f" => {}
                Ok(_) => {
                    return Verdict::costly(
                        "the server is a standby (in recovery); waiting for a primary",
                    )
                }
                Err(e) => return self.classify(&e),
            }
        }
        let Some(query) = &self.query else {
            return match client.simple_query("SELECT 1").await {
                Ok(_) => Verdict::ready("logged in, SELECT 1".to_string()),
                Err(e) => self.classify(&e),
            };
        };
        match first_value(client, query).await {
            Ok(Some(_)) => Verdict::ready("logged in, query returned a row".to_string()),
            Ok(None) => Verdict::costly("the query returned no row"),
            // A query error usually means "not migrated yet" (42P01 undefined table): keep waiting,
            // unless the query itself can never work.
            Err(e) => match e.code().map(|c| c.code()) {
                Some("42601") => Verdict::failed(format!(
                    "the query has a syntax error: {} (SQLSTATE 42601)",
                    db_message(&e)
                )),
                _ => match self.classify(&e) {
                    Verdict::NotReady { reason, .. } => {
                        Verdict::costly(format!("query failed: {reason}"))
                    }
                    permanent => permanent,
                },
            },
        }
    }

    /// Turns a client error into a verdict (see [`classify_sqlstate`]).
    fn classify(&self, e: &tokio_postgres::Error) -> Verdict {
        if let Some(code) = e.code() {
            let code = code.code();
            let message = db_message(e);
            return match classify_sqlstate(code) {
                Class::Transient => Verdict::costly(format!("{message} (SQLSTATE {code})")),
                Class::Permanent => Verdict::failed(format!("{message} (SQLSTATE {code}; {})", self.context)),
                Class::MissingDatabase => Verdict::failed(format!(
                    "{message} (SQLSTATE {code}; {}); if it is created later, add --retry-permanent",
                    self.context
                )),
                Class::Other => Verdict::costly(format!("{message} (SQLSTATE {code})")),
            };
        }
        // Errors raised by the client library itself, before or without a server error.
        let source = std::error::Error::source(e)
            .map(|s| s.to_string())
            .unwrap_or_default();
        if source.contains("unsupported authentication method")
            || source.contains("unsupported SASL mechanism")
        {
            return Verdict::failed(format!(
                "the server asks for an authentication method readygate does not support ({source}; {})",
                self.context
            ));
        }
        if source.contains("password missing") {
            return Verdict::failed(format!(
                "the server asks for a password and none was given (URL, PGPASSWORD, PGPASSWORD_FILE or a password file) ({})",
                self.context
            ));
        }
        if e.is_closed() {
            return Verdict::costly("the server closed the connection");
        }
        let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>());
        match io {
            Some(io) => io_verdict(io),
            None if source.is_empty() => Verdict::costly(e.to_string()),
            None => Verdict::costly(format!("{e}: {source}")),
        }
    }
}

/// What a SQLSTATE means for waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Waiting fixes it.
    Transient,
    /// Waiting does not fix it: fail fast (unless --retry-permanent).
    Permanent,
    /// 3D000: usually a typo, sometimes created later; fails fast with a hint.
    MissingDatabase,
    /// Anything else: keep waiting, showing the code.
    Other,
}

/// The classification table (PostgreSQL manual, appendix "PostgreSQL Error Codes").
pub fn classify_sqlstate(code: &str) -> Class {
    match code {
        // cannot_connect_now (starting up, recovery, shutting down, hot standby off),
        // admin_shutdown, crash_shutdown, too_many_connections, and class 08 (connection).
        "57P03" | "57P01" | "57P02" | "53300" => Class::Transient,
        c if c.starts_with("08") => Class::Transient,
        // invalid_password, invalid_authorization_specification (pg_hba), and a role that cannot
        // log in.
        "28P01" | "28000" => Class::Permanent,
        "3D000" => Class::MissingDatabase,
        _ => Class::Other,
    }
}

fn sslmode_name(m: SslMode) -> &'static str {
    match m {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

fn db_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string())
}

/// The first column of the first row a query returns, if any. Stops reading at that row: the rest
/// of a large result (a `generate_series` of millions) is never buffered, and dropping the stream
/// with the client ends the exchange.
async fn first_value(
    client: &tokio_postgres::Client,
    query: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    use futures_util::StreamExt;
    let mut rows = std::pin::pin!(client.simple_query_raw(query).await?);
    while let Some(message) = rows.next().await {
        if let SimpleQueryMessage::Row(r) = message? {
            return Ok(Some(r.get(0).unwrap_or_default().to_string()));
        }
    }
    Ok(None)
}

fn io_verdict(e: &std::io::Error) -> Verdict {
    if e.kind() == std::io::ErrorKind::InvalidData {
        // Not PostgreSQL on this port: waiting rarely helps, but a proxy may be starting; keep
        // trying politely and say what we saw.
        return Verdict::costly(e.to_string());
    }
    Verdict::costly(connect::io_reason(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse_with(url: &str, vars: &[(&str, &str)]) -> Result<PgTarget, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |k: &str| map.get(k).cloned();
        PgTarget::from_parts(&uri::parse(url).map_err(|e| e.to_string())?, &env)
    }

    #[test]
    fn defaults_and_levels() {
        let t = parse_with("postgres://db", &[]).unwrap();
        assert_eq!(t.level, Level::Ping);
        assert_eq!(t.endpoint, Endpoint::Tcp(Host::Name("db".into()), 5432));
        assert_eq!(t.database, "postgres");
        let t = parse_with("postgres://app@db/appdb", &[]).unwrap();
        assert_eq!(t.level, Level::Login);
        assert_eq!(t.database, "appdb");
        let t = parse_with("postgres://app@db/appdb#level=ping", &[]).unwrap();
        assert_eq!(t.level, Level::Ping);
        assert!(parse_with("postgres://db#query=SELECT%201", &[])
            .unwrap_err()
            .contains("needs a user"));
    }

    #[test]
    fn environment_fills_what_the_url_leaves_out() {
        let env = [
            ("PGHOST", "pg.local"),
            ("PGPORT", "6543"),
            ("PGUSER", "app"),
            ("PGDATABASE", "x"),
            ("PGPASSWORD", "pw"),
            ("PGSSLMODE", "disable"),
        ];
        let t = parse_with("postgres://", &env).unwrap();
        assert_eq!(
            t.endpoint,
            Endpoint::Tcp(Host::Name("pg.local".into()), 6543)
        );
        assert_eq!(t.user.as_deref(), Some("app"));
        assert_eq!(t.database, "x");
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("pw"));
        assert_eq!(t.sslmode, SslMode::Disable);
        // The URL wins.
        let t = parse_with("postgres://u:p@h:1/d?sslmode=require", &env).unwrap();
        assert_eq!(t.endpoint, Endpoint::Tcp(Host::Name("h".into()), 1));
        assert_eq!(
            (t.user.as_deref(), t.database.as_str(), t.sslmode),
            (Some("u"), "d", SslMode::Require)
        );
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("p"));
    }

    #[test]
    fn unix_socket_hosts() {
        let t = parse_with("postgres:///app?host=/run/pg&port=5433", &[]).unwrap();
        assert_eq!(t.endpoint, Endpoint::Unix("/run/pg".into(), 5433));
        assert!(t.tls.is_none());
        let t = parse_with("postgresql://", &[]).unwrap();
        assert_eq!(t.endpoint, Endpoint::Unix(DEFAULT_SOCKET_DIR.into(), 5432));
    }

    #[test]
    fn invalid_settings_table() {
        let cases = [
            ("postgres://db?sslmode=maybe", "sslmode 'maybe'"),
            ("postgres://db?bogus=1", "unknown parameter '?bogus'"),
            ("postgres://db#colour=red", "unknown option '#colour'"),
            ("postgres://db#level=deep", "#level=deep"),
            ("postgres://db:5432?port=5433", "'port' is given both"),
            ("postgres://u:p@db?password=q", "password is given both"),
            (
                "postgres://db?target_session_attrs=standby",
                "target_session_attrs 'standby'",
            ),
            ("postgres://?host=a,b", "several hosts"),
            (
                "postgres://db?sslmode=verify-full&sslrootcert=/nonexistent.pem",
                "cannot read CA file",
            ),
            ("postgres://db?port=0", "'0' is not a port"),
        ];
        for (url, want) in cases {
            let err = parse_with(url, &[]).unwrap_err();
            assert!(err.contains(want), "{url}: {err}");
        }
    }

    #[test]
    fn classification_table() {
        for code in ["57P03", "57P01", "57P02", "53300", "08006"] {
            assert_eq!(classify_sqlstate(code), Class::Transient, "{code}");
        }
        for code in ["28P01", "28000"] {
            assert_eq!(classify_sqlstate(code), Class::Permanent, "{code}");
        }
        assert_eq!(classify_sqlstate("3D000"), Class::MissingDatabase);
        assert_eq!(classify_sqlstate("XX000"), Class::Other);
    }
}
