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
//! file (`PGPASSFILE` or `~/.pgpass`, see [`pgpass`]). [`settings`] works all of that out.
//!
//! TLS: the SSLRequest is ours ([`wire`]); `sslmode` `disable`, `allow`/`prefer` (TLS when
//! the server offers it), `require` (TLS or fail; certificate not checked, as in libpq),
//! `verify-ca` (chain), `verify-full` (chain and host name). Never a plaintext fallback past
//! `prefer`.

pub mod guard;
pub mod pgpass;
pub mod settings;
pub mod wire;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tokio_postgres::SimpleQueryMessage;

use crate::environ;
use crate::net::tls::Tls;
use crate::net::{self, Endpoint, Io};
use crate::redact::Secret;
use crate::uri::Uri;
use crate::verdict::Verdict;
use wire::{FirstReply, SslAnswer};

/// The same as the kinds table's (a test holds them equal; the table is compiled into every
/// build, this module only into builds with its feature).
pub const DEFAULT_PORT: u16 = 5432;

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

/// A PostgreSQL target, its settings worked out by [`settings`].
#[derive(Debug)]
pub struct PgProbe {
    /// Shown once at start (an unsafe password file that was ignored).
    pub warning: Option<String>,
    endpoint: Endpoint,
    user: Option<String>,
    password: Option<Secret>,
    database: String,
    sslmode: SslMode,
    tls: Option<Tls>,
    pub level: Level,
    query: Option<String>,
    /// `#migrated`: the migrations the code ships, read at start.
    migrated: Option<crate::migrations::Expected>,
    /// The kind of server waited for (`#primary`, `target_session_attrs`), if any.
    role: Option<settings::Role>,
    /// Whether the cleartext-password warning was printed (once per target).
    warned: std::sync::atomic::AtomicBool,
    /// The server-side `statement_timeout` of the probe's session: the attempt timeout, so that a
    /// query the gate has given up on (waiting on a lock) does not go on holding a session. A
    /// backend blocked on a lock does not notice that its client has gone.
    statement_timeout: Option<std::time::Duration>,
    /// Each setting and where it came from, for `--explain`, NUL between them.
    sources: Box<str>,
}

impl PgProbe {
    pub fn from_uri(uri: &Uri) -> Result<Self, String> {
        settings::from_parts(uri, &environ::process)
    }

    /// "user app, database app, host db:5432", for failure messages (made when one is said, not
    /// kept by every target).
    fn context(&self) -> String {
        format!(
            "user {}, database {}, host {}",
            self.user.as_deref().unwrap_or("postgres"),
            self.database,
            settings::shown_endpoint(&self.endpoint)
        )
    }

    /// What the probe will do, for `--explain` (never a password).
    pub fn explain(&self) -> Vec<String> {
        self.sources.split('\0').map(str::to_string).collect()
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
                let first = wire::ping(&mut stream, user, &self.database);
                match net::sniff::first_exchange(&self.endpoint, net::sniff::POSTGRES, first).await
                {
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
                    Err(v) => v,
                }
            }
            Level::Login => self.login(stream, encrypted).await,
        }
    }

    /// Connects and, per `sslmode`, negotiates TLS. Also says whether the connection is private
    /// (TLS, or a unix socket on this machine).
    async fn open(&self) -> Result<(Box<dyn Io>, bool), Verdict> {
        let mut stream = self.endpoint.connect().await?;
        let (Endpoint::Tcp(host, _), Some(tls)) = (&self.endpoint, &self.tls) else {
            return Ok((stream, matches!(self.endpoint, Endpoint::Unix(_))));
        };
        let asked = wire::negotiate_tls(&mut stream);
        match net::sniff::first_exchange(&self.endpoint, net::sniff::POSTGRES, asked).await {
            Ok(SslAnswer::Yes) => {}
            Ok(SslAnswer::No) if self.sslmode == SslMode::Prefer => return Ok((stream, false)),
            Ok(SslAnswer::No) => {
                return Err(Verdict::failed(format!(
                    "the server does not support TLS, and sslmode={} forbids plaintext ({})",
                    sslmode_name(self.sslmode),
                    self.context()
                )))
            }
            Err(v) => return Err(v),
        }
        match tls.handshake(host, stream).await {
            Ok(s) => Ok((Box::new(s), true)),
            // libpq's `prefer`: a TLS session that cannot be set up (a cipher suite in common,
            // a protocol version) is given up for a new plaintext connection, as psql and
            // pg_isready do.
            Err(_) if self.sslmode == SslMode::Prefer => {
                Ok((self.endpoint.connect().await?, false))
            }
            // A rejected certificate names the connection, like every permanent failure here.
            Err(Verdict::Failed { reason }) => {
                Err(Verdict::failed(format!("{reason} ({})", self.context())))
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
        // `#migrated` reads a whole table: its own bounds (rows, bytes of values) come first,
        // with room here for the framing of every row.
        let limit = match self.migrated {
            Some(_) => {
                guard::MAX_TOTAL + crate::migrations::MAX_BYTES + 32 * crate::migrations::MAX_ROWS
            }
            None => guard::MAX_TOTAL,
        };
        let stream = guard::Guarded::with_limit(stream, method.clone(), limit);
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
            guard::AUTH_CLEARTEXT => "in cleartext",
            guard::AUTH_MD5 => "as an MD5 hash",
            _ => return,
        };
        if encrypted || self.password.is_none() || self.warned.swap(true, Ordering::Relaxed) {
            return;
        }
        crate::report::emit(&crate::report::Event::Warning(&format!(
            "the server asked for the password {how} over an unencrypted connection ({}); sslmode=require prevents this",
            self.context()
        )));
    }

    async fn after_login(&self, client: &tokio_postgres::Client) -> Verdict {
        if let Some(role) = self.role {
            match first_value(client, role.sql()).await {
                Ok(Some(v)) if v == "t" => {}
                Ok(_) => return Verdict::costly(role.waiting()),
                Err(e) => return self.classify(&e),
            }
        }
        if let Some(expected) = &self.migrated {
            return self.migrated(client, expected).await;
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

    /// `#migrated`: reads the version table and judges it against the code's migrations.
    async fn migrated(
        &self,
        client: &tokio_postgres::Client,
        expected: &crate::migrations::Expected,
    ) -> Verdict {
        match all_rows(client, expected.sql()).await {
            Ok(Ok(rows)) => expected.judge(&rows),
            Ok(Err(too_many)) => Verdict::failed(format!(
                "{} holds {too_many}: not a migration history ({})",
                expected.table(),
                self.context()
            )),
            // 42P01 undefined_table: the first migration has not run yet.
            Err(e) if e.code().map(|c| c.code()) == Some("42P01") => expected.no_table(),
            Err(e) => match self.classify(&e) {
                Verdict::NotReady { reason, .. } => {
                    Verdict::costly(format!("cannot read {}: {reason}", expected.table()))
                }
                permanent => permanent,
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
                Class::Permanent => {
                    Verdict::failed(format!("{message} (SQLSTATE {code}; {})", self.context()))
                }
                // The "--retry-permanent keeps waiting" hint is the final line's, said once.
                Class::MissingDatabase => Verdict::failed(format!(
                    "{message} (SQLSTATE {code}; {}; a typo, or a database created later?)",
                    self.context()
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
                self.context()
            ));
        }
        if source.contains("password missing") {
            return Verdict::failed(format!(
                "the server asks for a password and none was given (URL, PGPASSWORD, PGPASSWORD_FILE or a password file) ({})",
                self.context()
            ));
        }
        if e.is_closed() {
            return Verdict::costly("the server closed the connection");
        }
        let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>());
        match io {
            Some(io) => net::connect::io_verdict(io),
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

pub(crate) fn sslmode_name(m: SslMode) -> &'static str {
    match m {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    }
}

fn db_message(e: &tokio_postgres::Error) -> String {
    let text = e
        .as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string());
    // A server's text may quote what it was sent: masked before anything cuts it.
    crate::redact::scrub_outside(&text).into_owned()
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

/// Every row a query returns, each as its text values (NULL as empty), at most
/// [`crate::migrations::MAX_ROWS`] rows and [`crate::migrations::MAX_BYTES`] of values:
/// `Ok(Err(what))` past either, without reading the rest.
async fn all_rows(
    client: &tokio_postgres::Client,
    query: &str,
) -> Result<Result<Vec<Vec<String>>, String>, tokio_postgres::Error> {
    use crate::migrations::{MAX_BYTES, MAX_ROWS};
    use futures_util::StreamExt;
    let mut rows = std::pin::pin!(client.simple_query_raw(query).await?);
    let mut out = Vec::new();
    let mut bytes = 0usize;
    while let Some(message) = rows.next().await {
        if let SimpleQueryMessage::Row(r) = message? {
            if out.len() == MAX_ROWS {
                return Ok(Err(format!("more than {MAX_ROWS} rows")));
            }
            let row: Vec<String> = (0..r.len())
                .map(|i| r.get(i).unwrap_or_default().to_string())
                .collect();
            bytes += row.iter().map(String::len).sum::<usize>();
            if bytes > MAX_BYTES {
                return Ok(Err(format!("more than {} MiB", MAX_BYTES >> 20)));
            }
            out.push(row);
        }
    }
    Ok(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

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
