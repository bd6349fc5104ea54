//! `mysql://` and `mariadb://`: MySQL and MariaDB readiness at the protocol level.
//!
//! Two levels, as for PostgreSQL:
//! - **ping** — the server accepts connections (what `mysqladmin ping` reports): it sends its
//!   greeting, and the handshake is completed with a login as `readygate` without a password,
//!   whose "access denied" is the expected answer. Completing the handshake matters: connections
//!   dropped half-way count towards `max_connect_errors` and get the gate's host blocked; a
//!   refused login does not. The default when no user is given.
//! - **login** — log in (`mysql_native_password`, `caching_sha2_password` fast path, its full
//!   authentication over TLS, `mysql_clear_password` over TLS) and run `SELECT 1` or the target's
//!   `#query=`, which must return a row. The default when a user is given.
//!
//! URL: `mysql://[USER[:PASSWORD]@]HOST[:3306][/DB][?ssl-mode=…&ssl-ca=FILE]`. The password may also
//! come from `?password=`, `MYSQL_PWD` or `MYSQL_PWD_FILE`. `ssl-mode` as the mysql client reads
//! it: `DISABLED`, `PREFERRED` (the default: TLS when offered, certificate not checked),
//! `REQUIRED` (TLS or fail, not checked), `VERIFY_CA` (chain), `VERIFY_IDENTITY` (chain and name).
//! Never a plaintext fallback past `PREFERRED`.
//!
//! Classification by error code (`MysqlProbe::classify`): access denied (1045, 1044, 1698), unknown database
//! (1049), host blocked (1129) or not allowed (1130), account locked or password expired,
//! unsupported plugin → permanent; too many connections (1040, 1203), shutting down (1053),
//! anything else → not ready.

pub mod auth;
pub mod wire;

use std::path::Path;

use crate::environ;
use crate::net::limit::Limited;
use crate::net::tls::{self, Tls, Verify};
use crate::net::{Endpoint, Io};
use crate::params::{self, Params};
use crate::redact::Secret;
use crate::uri::{self, Host, Uri};
use crate::verdict::Verdict;
use wire::ServerError;

const OPTIONS: &[&str] = &["level", "query", "migrated"];
/// Every byte one attempt may read (greeting, auth round trips, one row).
const BUDGET: usize = 1024 * 1024;
/// The same with `#migrated`, which reads the whole version table (thousands of short rows).
const MIGRATED_BUDGET: usize = crate::migrations::MAX_BYTES + BUDGET;
/// The user the ping level logs in as: it need not exist; "access denied" proves the server up.
const PING_USER: &str = "readygate";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Ping,
    Login,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    Disabled,
    Preferred,
    Required,
}

#[derive(Debug)]
pub struct MysqlProbe {
    endpoint: Endpoint,
    host: Host,
    level: Level,
    user: Option<String>,
    password: Option<Secret>,
    db: Option<String>,
    query: Option<String>,
    /// `#migrated`: the migrations the code ships, read at start.
    migrated: Option<crate::migrations::Expected>,
    ssl: SslMode,
    tls: Option<Tls>,
    /// The server's certificate is checked (VERIFY_CA, VERIFY_IDENTITY): only then is a password
    /// sent as it is (`mysql_clear_password`), since an unchecked TLS peer may be anyone.
    verified: bool,
}

/// How an exchange ended: a verdict, or a `PREFERRED` TLS session that could not be set up, to be
/// tried again without TLS on a new connection (as the mysql client does).
enum Exchange {
    Done(Verdict),
    RetryPlain,
}

impl MysqlProbe {
    pub fn from_uri(u: &Uri) -> Result<Self, String> {
        Self::from_parts(u, &environ::process)
    }

    fn from_parts(u: &Uri, env: environ::Env<'_>) -> Result<Self, String> {
        let scheme = u.scheme.as_str();
        let mut q = Params::query(&u.query);
        let password_param = q.take("password");
        let mode = q.take("ssl-mode");
        let ca = q.take("ssl-ca");
        q.finish(scheme, &["password", "ssl-mode", "ssl-ca"])?;
        let mut opts = Params::fragment(&u.options);
        let query = opts.take("query").filter(|q| !q.trim().is_empty());
        let migrated = opts
            .take("migrated")
            .map(|spec| crate::migrations::Expected::from_spec(&spec))
            .transpose()?;
        let level = opts.take("level");
        opts.finish(scheme, OPTIONS)?;
        if query.is_some() && migrated.is_some() {
            return Err("#query and #migrated each decide readiness: give one of them".into());
        }

        let (host, port) = crate::probe::tcp_endpoint(u)?;
        let db = match u.path.strip_prefix('/') {
            None | Some("") => None,
            Some(p) => Some(uri::decode_text(p).map_err(|e| e.to_string())?),
        };
        let mut password = params::password(u, password_param)?;
        if password.is_some() && u.user.is_none() {
            return Err(format!(
                "a password needs a user: {scheme}://USER:PASSWORD@db:3306/app"
            ));
        }
        if password.is_none() {
            password = environ::secret(env, "MYSQL_PWD")?;
        }
        let level = login_level(
            level.as_deref(),
            u.user.is_some(),
            query.is_some() || migrated.is_some(),
        )?;
        if level == Level::Login && u.user.is_none() {
            return Err(format!(
                "a login needs a user: {scheme}://USER:PASSWORD@db:3306/app"
            ));
        }
        let (ssl, tls, verified) = transport(mode.as_deref(), ca.as_deref())?;
        Ok(MysqlProbe {
            endpoint: Endpoint::Tcp(host.clone(), port),
            host,
            level,
            user: u.user.clone(),
            password,
            db,
            query,
            migrated,
            ssl,
            tls,
            verified,
        })
    }

    /// What the probe will do, for `--explain` (never the password).
    pub fn explain(&self) -> Vec<String> {
        let mut out = vec![match self.level {
            Level::Ping => format!(
                "{} sends its greeting and completes a handshake (level ping: access denied is fine)",
                self.endpoint
            ),
            Level::Login => format!(
                "log in to {} as {}{} ({}), then {}",
                self.endpoint,
                self.user.as_deref().unwrap_or(""),
                self.db.as_ref().map(|d| format!(" on {d}")).unwrap_or_default(),
                if self.password.is_some() { "password given" } else { "no password" },
                match (&self.query, &self.migrated) {
                    (_, Some(m)) => m.describe(),
                    (Some(q), None) => format!("#query {q} must return a row"),
                    (None, None) => "SELECT 1".to_string(),
                }
            ),
        }];
        out.push(Tls::describe(self.tls.as_ref()));
        out
    }

    pub async fn attempt(&self) -> Verdict {
        let mut use_tls = true;
        loop {
            let raw = match self.endpoint.connect().await {
                Ok(s) => s,
                Err(v) => return v,
            };
            let budget = match self.migrated {
                Some(_) => MIGRATED_BUDGET,
                None => BUDGET,
            };
            let mut s: Box<dyn Io> = Box::new(Limited::new(raw, budget));
            match self.exchange(&mut s, use_tls).await {
                Ok(Exchange::Done(v)) => return v,
                Ok(Exchange::RetryPlain) if use_tls => use_tls = false,
                Ok(Exchange::RetryPlain) => return Verdict::costly("TLS could not be set up"),
                Err(e) => return crate::net::connect::io_verdict(&e),
            }
        }
    }

    fn who(&self) -> String {
        match self.level {
            Level::Ping => format!("probe user {PING_USER}"),
            Level::Login => format!(
                "user {}{}",
                self.user.as_deref().unwrap_or(""),
                self.db
                    .as_ref()
                    .map(|d| format!(", database {d}"))
                    .unwrap_or_default()
            ),
        }
    }

    async fn exchange(&self, s: &mut Box<dyn Io>, use_tls: bool) -> std::io::Result<Exchange> {
        // The greeting, or a look at what else speaks on this port (see `net::sniff`).
        let greeting = crate::net::sniff::first_exchange(
            &self.endpoint,
            crate::net::sniff::MYSQL,
            wire::read(s),
        );
        let first = match greeting.await {
            Ok((_, first)) => first,
            Err(v) => return Ok(Exchange::Done(v)),
        };
        if let Some(e) = wire::error(&first) {
            // An error instead of a greeting: too many connections, host blocked or not allowed.
            return Ok(Exchange::Done(self.classify(&e, false)));
        }
        let greeting = wire::greeting(&first)?;
        let mut caps = wire::CLIENT_LONG_PASSWORD
            | wire::CLIENT_PROTOCOL_41
            | wire::CLIENT_TRANSACTIONS
            | wire::CLIENT_SECURE_CONNECTION
            | wire::CLIENT_PLUGIN_AUTH;
        caps &= greeting.capabilities | wire::CLIENT_LONG_PASSWORD;
        let db = match self.level {
            Level::Login => self.db.as_deref(),
            Level::Ping => None,
        };
        if db.is_some() {
            caps |= wire::CLIENT_CONNECT_WITH_DB;
        }
        let mut seq = 1u8;
        let offered = greeting.capabilities & wire::CLIENT_SSL != 0;
        let tls = match (&self.tls, offered, self.ssl) {
            (Some(_), false, SslMode::Required) => return Ok(Exchange::Done(Verdict::failed(
                "the server does not offer TLS, and ssl-mode asks for it (no plaintext fallback)",
            ))),
            (Some(tls), true, _) if use_tls => Some(tls),
            _ => None,
        };
        if let Some(tls) = tls {
            caps |= wire::CLIENT_SSL;
            wire::write(s, seq, &wire::response_head(caps)).await?;
            seq += 1;
            let plain = std::mem::replace(s, Box::new(tokio::io::empty()));
            *s = match tls.handshake(&self.host, plain).await {
                Ok(t) => Box::new(t),
                Err(_) if self.ssl == SslMode::Preferred => return Ok(Exchange::RetryPlain),
                Err(v) => return Ok(Exchange::Done(v)),
            };
        }
        Ok(Exchange::Done(
            self.authenticate(s, &greeting, caps, db, seq, tls.is_some())
                .await?,
        ))
    }

    /// The handshake response and the authentication round trips, then the login's work.
    async fn authenticate(
        &self,
        s: &mut Box<dyn Io>,
        greeting: &wire::Greeting,
        caps: u32,
        db: Option<&str>,
        mut seq: u8,
        on_tls: bool,
    ) -> std::io::Result<Verdict> {
        // A password goes out as it is only where nobody else can read it.
        let safe = on_tls && self.verified;
        let ping = self.level == Level::Ping;
        let (user, password) = match self.level {
            Level::Ping => (PING_USER, &b""[..]),
            Level::Login => (
                self.user.as_deref().unwrap_or(""),
                self.password
                    .as_ref()
                    .map_or(&b""[..], |p| p.expose().as_bytes()),
            ),
        };
        let mut plugin = greeting.plugin.clone();
        let first_answer = match auth::answer(&plugin, password, &greeting.scramble, safe) {
            auth::Answer::Bytes(b) => b,
            // Start with nothing; the server will switch us to the user's plugin.
            _ => Vec::new(),
        };
        wire::write(
            s,
            seq,
            &wire::response(caps, user, &first_answer, db, &plugin),
        )
        .await?;
        // Authentication round trips: an auth switch and caching_sha2's extra data at most.
        for _ in 0..4 {
            let (got, p) = wire::read(s).await?;
            seq = got.wrapping_add(1);
            match p.first() {
                Some(0x00) => return self.logged_in(s, &greeting.version).await,
                Some(0xFF) => {
                    let e = wire::error(&p).unwrap_or(ServerError {
                        code: 0,
                        message: "an unreadable error".into(),
                    });
                    return Ok(self.classify(&e, true));
                }
                Some(0xFE) => {
                    // Auth switch: the plugin's name, then its nonce.
                    let rest = &p[1..];
                    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                    plugin = String::from_utf8_lossy(&rest[..end]).into_owned();
                    let nonce = rest.get(end + 1..).unwrap_or(&[]);
                    match auth::answer(&plugin, password, nonce, safe) {
                        auth::Answer::Bytes(b) => wire::write(s, seq, &b).await?,
                        // At the ping level the server has answered, which is all we asked: the
                        // handshake is still completed (an empty answer), never dropped half-way.
                        _ if ping => return self.answered(s, seq, &greeting.version).await,
                        auth::Answer::NeedsTls => {
                            return Ok(Verdict::failed(format!(
                                "the account uses {plugin}, which sends the password as it is: readygate sends it only over TLS whose certificate is checked (?ssl-mode=VERIFY_CA or VERIFY_IDENTITY) ({})",
                                self.who()
                            )))
                        }
                        auth::Answer::Unsupported => {
                            return Ok(Verdict::failed(format!(
                                "the account uses the {plugin} authentication plugin, which readygate does not support ({})",
                                self.who()
                            )))
                        }
                    }
                }
                // caching_sha2_password: 3 = the fast path worked (OK follows), 4 = send the
                // password itself, which we only do over TLS.
                Some(0x01) if p.get(1) == Some(&3) => continue,
                Some(0x01) if p.get(1) == Some(&4) && ping => {
                    return self.answered(s, seq, &greeting.version).await
                }
                Some(0x01) if p.get(1) == Some(&4) => {
                    if !on_tls {
                        return Ok(Verdict::failed(format!(
                            "the server wants caching_sha2_password's full authentication, which needs TLS here: use ?ssl-mode=REQUIRED, or log in once with the mysql client to fill the server's cache ({})",
                            self.who()
                        )));
                    }
                    wire::write(s, seq, &auth::cleartext(password)).await?;
                }
                _ => {
                    return Ok(Verdict::costly(format!(
                        "unexpected packet during authentication (0x{:02x})",
                        p.first().copied().unwrap_or(0)
                    )))
                }
            }
        }
        Ok(Verdict::costly("authentication did not finish"))
    }

    /// The ping level's end when the server asks for more than an empty password can give: an
    /// empty answer completes the handshake (the server then refuses it), and the greeting has
    /// already shown the server up.
    async fn answered(
        &self,
        s: &mut Box<dyn Io>,
        seq: u8,
        version: &str,
    ) -> std::io::Result<Verdict> {
        let _ = wire::write(s, seq, &[]).await;
        let _ = wire::read(s).await;
        Ok(Verdict::ready(format!("{version} answers")))
    }

    /// After the OK: the query (login level), then COM_QUIT.
    async fn logged_in(&self, s: &mut Box<dyn Io>, version: &str) -> std::io::Result<Verdict> {
        let verdict = match self.level {
            Level::Ping => Verdict::ready(format!("{version} answers")),
            Level::Login => self.query(s).await?,
        };
        let _ = wire::write(s, 0, &[0x01]).await; // COM_QUIT
        Ok(verdict)
    }

    async fn query(&self, s: &mut Box<dyn Io>) -> std::io::Result<Verdict> {
        if let Some(expected) = &self.migrated {
            return self.migrated(s, expected).await;
        }
        let sql = self.query.as_deref().unwrap_or("SELECT 1");
        let mut packet = vec![0x03];
        packet.extend_from_slice(sql.as_bytes());
        wire::write(s, 0, &packet).await?;
        let (_, p) = wire::read(s).await?;
        if let Some(e) = wire::error(&p) {
            return Ok(if e.code == 1064 {
                Verdict::failed(format!("the query has a syntax error: {e}"))
            } else if e.code == 1820 {
                // MariaDB lets an expired account in and refuses every statement.
                Verdict::failed(format!(
                    "the account's password has expired: {e} ({})",
                    self.who()
                ))
            } else {
                Verdict::costly(format!("query failed: {e}"))
            });
        }
        if p.first() == Some(&0x00) {
            return Ok(Verdict::costly(
                "the query returned no row (it returns no result set)",
            ));
        }
        if let Some(v) = skip_columns(s, &p).await? {
            return Ok(v);
        }
        let (_, row) = wire::read(s).await?;
        Ok(match row.first() {
            Some(0xFE) if row.len() < 9 => Verdict::costly("the query returned no row"),
            Some(0xFF) => {
                let e = wire::error(&row).map(|e| e.to_string()).unwrap_or_default();
                Verdict::costly(format!("query failed: {e}"))
            }
            _ if self.query.is_some() => {
                Verdict::ready("logged in, query returned a row".to_string())
            }
            _ => Verdict::ready("logged in, SELECT 1".to_string()),
        })
    }

    /// `#migrated`: reads the version table and judges it against the code's migrations.
    async fn migrated(
        &self,
        s: &mut Box<dyn Io>,
        expected: &crate::migrations::Expected,
    ) -> std::io::Result<Verdict> {
        let mut packet = vec![0x03];
        packet.extend_from_slice(expected.sql().as_bytes());
        wire::write(s, 0, &packet).await?;
        let (_, p) = wire::read(s).await?;
        if let Some(e) = wire::error(&p) {
            return Ok(match e.code {
                // ER_NO_SUCH_TABLE: the first migration has not run yet.
                1146 => expected.no_table(),
                1820 => self.classify(&e, false),
                _ => Verdict::costly(format!("cannot read {}: {e}", expected.table())),
            });
        }
        if let Some(v) = skip_columns(s, &p).await? {
            return Ok(v);
        }
        let mut rows = Vec::new();
        loop {
            let (_, p) = wire::read(s).await?;
            match p.first() {
                Some(0xFE) if p.len() < 9 => break,
                Some(0xFF) => {
                    let e = wire::error(&p).map(|e| e.to_string()).unwrap_or_default();
                    return Ok(Verdict::costly(format!(
                        "cannot read {}: {e}",
                        expected.table()
                    )));
                }
                _ => {}
            }
            if rows.len() == crate::migrations::MAX_ROWS {
                return Ok(Verdict::failed(format!(
                    "{} has more than {} rows: not a migration history ({})",
                    expected.table(),
                    crate::migrations::MAX_ROWS,
                    self.who()
                )));
            }
            match wire::text_row(&p) {
                Some(row) => rows.push(row),
                None => return Ok(Verdict::costly("a row the server sent could not be read")),
            }
        }
        Ok(expected.judge(&rows))
    }

    fn classify(&self, e: &ServerError, in_auth: bool) -> Verdict {
        let reason = format!("{e} ({})", self.who());
        match e.code {
            // Access denied: at the ping level, the answer we came for.
            1045 | 1044 | 1698 if self.level == Level::Ping && in_auth => Verdict::ready(
                "the server answers (it refused the probe's login, as expected)".to_string(),
            ),
            1045 | 1044 | 1698 | 1049 | 1129 | 1130 | 1251 | 1862 | 1820 | 3118 | 4151 => {
                Verdict::failed(reason)
            }
            _ => Verdict::costly(reason),
        }
    }
}

/// The head of a result set after its first packet `p` (the column count): that many column
/// definitions and an EOF, read past; `Some` verdict when the server sent something else.
async fn skip_columns(s: &mut Box<dyn Io>, p: &[u8]) -> std::io::Result<Option<Verdict>> {
    let columns = wire::lenenc(p).unwrap_or(0).min(4096);
    for _ in 0..columns {
        wire::read(s).await?;
    }
    let (_, eof) = wire::read(s).await?;
    Ok((eof.first() != Some(&0xFE))
        .then(|| Verdict::costly("unexpected packet after the column definitions")))
}

/// `#level`: ping (the greeting only) or login; a login when a user is given or when the probe
/// reads something (`#query`, `#migrated`).
fn login_level(level: Option<&str>, user: bool, reads: bool) -> Result<Level, String> {
    Ok(match level {
        Some("ping") if reads => {
            return Err(
                "#level=ping cannot run a #query or read #migrated: that needs a login".into(),
            )
        }
        Some("ping") => Level::Ping,
        Some("login") => Level::Login,
        Some(other) => {
            return Err(format!(
                "#level={} is not one of ping, login",
                crate::text::quote_short(other)
            ))
        }
        None if user || reads => Level::Login,
        None => Level::Ping,
    })
}

/// `?ssl-mode` and `?ssl-ca` as MySQL's client reads them → the mode asked of the server, the TLS
/// configuration, and whether the certificate is verified.
fn transport(mode: Option<&str>, ca: Option<&str>) -> Result<(SslMode, Option<Tls>, bool), String> {
    let verify = match mode.map(str::to_ascii_uppercase).as_deref() {
        None | Some("PREFERRED") => Some((SslMode::Preferred, Verify::None)),
        Some("DISABLED") => None,
        Some("REQUIRED") => Some((SslMode::Required, Verify::None)),
        Some("VERIFY_CA") => Some((SslMode::Required, Verify::ChainOnly)),
        Some("VERIFY_IDENTITY") => Some((SslMode::Required, Verify::Full)),
        Some(other) => {
            return Err(format!(
            "?ssl-mode={} is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY",
            crate::text::quote_short(other)
        ))
        }
    };
    // MySQL's client: a CA given with REQUIRED makes it VERIFY_CA.
    let verify = match (verify, ca) {
        (Some((SslMode::Required, Verify::None)), Some(_)) => {
            Some((SslMode::Required, Verify::ChainOnly))
        }
        (v, _) => v,
    };
    if ca.is_some() && !matches!(verify, Some((_, Verify::ChainOnly | Verify::Full))) {
        return Err("?ssl-ca is used with ?ssl-mode=REQUIRED, VERIFY_CA or VERIFY_IDENTITY".into());
    }
    let verified = matches!(verify, Some((_, Verify::ChainOnly | Verify::Full)));
    let (ssl, tls) = match verify {
        None => (SslMode::Disabled, None),
        // A build without TLS goes in plaintext where the default (PREFERRED) would try TLS
        // first; anything that insists on TLS is refused by client_config.
        Some((SslMode::Preferred, _)) if !crate::features::built_with("tls") => {
            (SslMode::Preferred, None)
        }
        Some((mode, verify)) => {
            let config = tls::client_config(ca.map(Path::new), verify, &[])?;
            let trust: std::borrow::Cow<'static, str> = match verify {
                Verify::None if mode == SslMode::Preferred => {
                    "TLS when the server offers it, certificate not checked (ssl-mode=PREFERRED)"
                        .into()
                }
                Verify::None => "TLS required, certificate not checked (ssl-mode=REQUIRED)".into(),
                Verify::ChainOnly => format!(
                    "TLS required, chain verified against {} (VERIFY_CA)",
                    ca.unwrap_or("the built-in roots")
                )
                .into(),
                Verify::Full => format!(
                    "TLS required, chain and host name verified against {} (VERIFY_IDENTITY)",
                    ca.unwrap_or("the built-in roots")
                )
                .into(),
            };
            (mode, Some(Tls::new(config, trust)))
        }
    };
    Ok((ssl, tls, verified))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<MysqlProbe, String> {
        let u = crate::uri::parse(s).map_err(|e| e.to_string())?;
        MysqlProbe::from_parts(&u, &|_| None)
    }

    #[test]
    fn url_forms() {
        let p = parse("mysql://db").unwrap();
        assert_eq!((p.level, p.ssl), (Level::Ping, SslMode::Preferred));
        let p = parse("mariadb://app:pw@db:3307/shop?ssl-mode=required").unwrap();
        assert_eq!(p.level, Level::Login);
        assert_eq!(p.db.as_deref(), Some("shop"));
        assert_eq!(p.ssl, SslMode::Required);
        assert!(parse("mysql://db?ssl-mode=disabled").unwrap().tls.is_none());
        for (bad, want) in [
            ("mysql://db#level=login", "needs a user"),
            ("mysql://db?ssl-mode=maybe", "is not one of"),
            ("mysql://db?ssl-ca=/x", "VERIFY_CA"),
            (
                "mysql://u@db#level=ping&query=SELECT%201",
                "cannot run a #query",
            ),
            ("mysql://db?sslmode=require", "unknown parameter"),
            ("mysql://:pw@db", "a password needs a user"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(want), "{bad}: {err}");
        }
    }

    #[test]
    fn classification_table() {
        let login = parse("mysql://app:pw@db/shop").unwrap();
        let ping = parse("mysql://db").unwrap();
        let e = |code| ServerError {
            code,
            message: "m".into(),
        };
        for code in [1045, 1044, 1049, 1129, 1130, 1251, 3118] {
            assert!(
                matches!(login.classify(&e(code), true), Verdict::Failed { .. }),
                "{code}"
            );
        }
        for code in [1040, 1053, 1203, 2013] {
            assert!(
                matches!(login.classify(&e(code), true), Verdict::NotReady { .. }),
                "{code}"
            );
        }
        assert!(matches!(
            ping.classify(&e(1045), true),
            Verdict::Ready { .. }
        ));
        assert!(matches!(
            ping.classify(&e(1129), false),
            Verdict::Failed { .. }
        ));
        assert!(matches!(
            ping.classify(&e(1040), false),
            Verdict::NotReady { .. }
        ));
    }
}
