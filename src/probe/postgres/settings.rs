//! A PostgreSQL target's settings, as libpq would work them out: the URL (its user part, path and
//! query parameters), then the `PG*` variables, then the defaults; last, for a login with no
//! password yet, libpq's password file. Every setting is validated here, once, at start.

use std::path::{Path, PathBuf};

use super::{pgpass, Level, PgProbe, SslMode, DEFAULT_PORT};
use crate::environ::{self, Env};
use crate::net::tls::{self, Tls, Verify};
use crate::net::Endpoint;
use crate::params::{self, Params};
use crate::redact::Secret;
use crate::uri::{self, Host, Uri};

/// Where Debian and the official image put the socket.
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";
const OPTIONS: &[&str] = &["level", "query", "primary", "migrated"];
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

/// What the URL says, its query parameters merged in (a setting given in both places is an error).
#[derive(Debug, Default)]
struct FromUrl {
    host: Option<String>,
    port: Option<String>,
    user: Option<String>,
    password: Option<Secret>,
    dbname: Option<String>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    session_attrs: Option<String>,
}

impl FromUrl {
    fn read(uri: &Uri) -> Result<FromUrl, String> {
        let mut params = Params::query(&uri.query);
        let mut merged = |key: &str, from_url: Option<String>| -> Result<Option<String>, String> {
            match (from_url, params.take(key)) {
                (Some(_), Some(_)) => {
                    Err(format!("'{key}' is given both in the URL and as ?{key}="))
                }
                (a, b) => Ok(a.or(b)),
            }
        };
        let path_db = uri
            .path
            .strip_prefix('/')
            .filter(|p| !p.is_empty())
            .map(uri::decode_text)
            .transpose()
            .map_err(|e| e.to_string())?;
        let url = FromUrl {
            host: merged("host", uri.host.as_ref().map(Host::to_url_form))?,
            port: merged("port", uri.port.map(|p| p.to_string()))?,
            user: merged("user", uri.user.clone())?,
            password: params::password(uri, merged("password", None)?)?,
            dbname: merged("dbname", path_db)?,
            sslmode: merged("sslmode", None)?,
            sslrootcert: merged("sslrootcert", None)?,
            session_attrs: merged("target_session_attrs", None)?,
        };
        // Accepted for compatibility with libpq URLs; readygate's attempt timeout bounds every
        // attempt, and the application name is always readygate's.
        merged("application_name", None)?;
        merged("connect_timeout", None)?;
        params.finish("postgres", PARAMS)?;
        Ok(url)
    }
}

/// Builds a probe from a URL and an environment (see the module doc).
///
/// One function (past 80 lines) on purpose: the settings are worked out in libpq's order and the
/// later ones depend on the earlier (the database on the user, the password file on host, port,
/// database and user); split, a dozen values would travel between the pieces.
pub fn from_parts(uri: &Uri, env: Env<'_>) -> Result<PgProbe, String> {
    let url = FromUrl::read(uri)?;
    // Each setting with where it came from, for --explain.
    let mut sources: Vec<String> = Vec::new();
    let (password, mut password_from) = given_password(url.password, env)?;
    let (user, user_from) = pick(url.user, "PGUSER", env);
    let user = user.filter(|u| !u.is_empty());
    let (port_given, port_from) = pick(url.port, "PGPORT", env);
    let port = port(port_given)?;
    let (host, host_from) = pick(url.host, "PGHOST", env);
    let host = host.unwrap_or_else(|| DEFAULT_SOCKET_DIR.to_string());
    let endpoint = endpoint(&host, port)?;
    let (dbname, db_from) = pick(url.dbname, "PGDATABASE", env);
    let (database, db_from) = match (dbname, &user) {
        (Some(d), _) => (d, db_from),
        (None, Some(u)) => (u.clone(), "the user name"),
        (None, None) => ("postgres".to_string(), "default"),
    };
    sources.push(format!("host {host} (from {host_from})"));
    sources.push(format!("port {port} (from {port_from})"));
    sources.push(format!(
        "user {} (from {user_from})",
        user.as_deref().unwrap_or("postgres")
    ));
    sources.push(format!("database {database} (from {db_from})"));
    // A target that is really two targets joined by a comma ends up here (the second target's
    // password once reached the server as a database name).
    if database.contains("://") {
        return Err("the database name holds '://': separate targets with spaces".into());
    }
    let (mode_given, mode_from) = pick(url.sslmode, "PGSSLMODE", env);
    let sslmode = sslmode(mode_given.as_deref())?;
    sources.push(format!(
        "sslmode {} (from {mode_from})",
        super::sslmode_name(sslmode)
    ));
    let (rootcert, root_from) = pick(url.sslrootcert, "PGSSLROOTCERT", env);
    let rootcert = rootcert.filter(|r| r != "system");
    if let Some(r) = &rootcert {
        sources.push(format!("CA file {r} (from {root_from})"));
    }
    let tls = tls(sslmode, &endpoint, rootcert.as_deref())?;
    let Chosen {
        level,
        query,
        role,
        migrated,
    } = level(uri, url.session_attrs.as_deref(), user.is_some())?;

    // Last in libpq's order: the password file, for a login that has no password yet.
    let mut warning = None;
    let password = match (password, &user, level) {
        (None, Some(u), Level::Login) => pgpass::path(env).and_then(|file| {
            let found = pgpass::lookup(&file, &pgpass_host(&endpoint), port, &database, u);
            warning = found.warning;
            if found.password.is_some() {
                password_from = format!("the password file {}", file.display());
            }
            found.password
        }),
        (password, _, _) => password,
    };
    sources.push(match &password {
        Some(_) => format!("password given (from {password_from})"),
        None => "no password".to_string(),
    });
    sources.insert(0, what_it_does(level, query.is_some(), migrated.as_ref()));
    if let Some(role) = role {
        sources.push(format!("waits for {}", role.wanted()));
    }
    Ok(PgProbe {
        warning,
        endpoint,
        user,
        password,
        database,
        sslmode,
        tls,
        level,
        query,
        migrated,
        role,
        warned: Default::default(),
        statement_timeout: None,
        // One allocation instead of one per line, kept by every target for --explain only; NUL
        // parts (a line may hold a newline from a percent-encoded name, never a NUL: refused).
        sources: sources.join("\0").into_boxed_str(),
    })
}

/// The password from the URL, else `PGPASSWORD` or `PGPASSWORD_FILE`; with where it came from
/// (the password file, last in libpq's order, is read once the login is known to need it).
fn given_password(
    from_url: Option<Secret>,
    env: Env<'_>,
) -> Result<(Option<Secret>, String), String> {
    if let Some(p) = from_url {
        return Ok((Some(p), "the URL".to_string()));
    }
    let from = if env("PGPASSWORD").is_some() {
        "PGPASSWORD"
    } else {
        "PGPASSWORD_FILE"
    };
    let p = environ::secret(env, "PGPASSWORD")?;
    let from = if p.is_some() { from } else { "nowhere" };
    Ok((p, from.to_string()))
}

/// The first line of `--explain` for the target: what an attempt does.
fn what_it_does(
    level: Level,
    query: bool,
    migrated: Option<&crate::migrations::Expected>,
) -> String {
    match level {
        Level::Ping => "level ping: the server accepts connections (no login)".to_string(),
        Level::Login => match (query, migrated) {
            (_, Some(m)) => format!("level login: log in, then {}", m.describe()),
            (true, None) => "level login: log in, then #query must return a row".to_string(),
            (false, None) => "level login: log in, then SELECT 1".to_string(),
        },
    }
}

/// A setting from the URL, else from an environment variable; with where it came from.
fn pick(
    from_url: Option<String>,
    var: &'static str,
    env: Env<'_>,
) -> (Option<String>, &'static str) {
    match from_url {
        Some(v) => (Some(v), "the URL"),
        None => match env(var) {
            Some(v) => (Some(v), var),
            None => (None, "default"),
        },
    }
}

fn port(given: Option<String>) -> Result<u16, String> {
    match given {
        None => Ok(DEFAULT_PORT),
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("'{p}' is not a port number (1-65535)")),
    }
}

/// A host name or address, or a unix-socket directory (a host that starts with `/`, whose socket
/// is `DIR/.s.PGSQL.PORT`).
fn endpoint(host: &str, port: u16) -> Result<Endpoint, String> {
    if host.contains(',') {
        return Err(
            "several hosts in one target are not supported: give one target per host".into(),
        );
    }
    if host.starts_with('/') {
        return Endpoint::unix(Path::new(host).join(format!(".s.PGSQL.{port}")));
    }
    let parsed =
        uri::parse(&format!("tcp://{host}:{port}")).map_err(|e| format!("host '{host}': {e}"))?;
    Ok(Endpoint::Tcp(
        parsed.host.ok_or("the host is missing")?,
        port,
    ))
}

fn sslmode(given: Option<&str>) -> Result<SslMode, String> {
    Ok(match given {
        None | Some("prefer") | Some("allow") => SslMode::Prefer,
        Some("disable") => SslMode::Disable,
        Some("require") => SslMode::Require,
        Some("verify-ca") => SslMode::VerifyCa,
        Some("verify-full") => SslMode::VerifyFull,
        Some(other) => {
            return Err(format!(
                "sslmode '{other}' is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ))
        }
    })
}

/// The TLS configuration `sslmode` asks for (libpq never uses TLS on a unix socket).
fn tls(mode: SslMode, endpoint: &Endpoint, rootcert: Option<&str>) -> Result<Option<Tls>, String> {
    if mode == SslMode::Disable || matches!(endpoint, Endpoint::Unix(_)) {
        return Ok(None);
    }
    // A build without TLS goes in plaintext where the default (prefer) would try TLS first, as
    // libpq built without SSL does; anything that insists on TLS is refused by client_config.
    if mode == SslMode::Prefer && rootcert.is_none() && !crate::features::built_with("tls") {
        return Ok(None);
    }
    let verify = match mode {
        SslMode::VerifyFull => Verify::Full,
        SslMode::VerifyCa => Verify::ChainOnly,
        // libpq: with a root certificate, `require` verifies the chain like verify-ca.
        _ if rootcert.is_some() => Verify::ChainOnly,
        _ => Verify::None,
    };
    let config = tls::client_config(rootcert.map(Path::new), verify, &[])?;
    let trust = match verify {
        Verify::Full => "TLS required, certificate and host name verified",
        Verify::ChainOnly => "TLS required, certificate chain verified",
        Verify::None if mode == SslMode::Prefer => "TLS when the server offers it, not verified",
        Verify::None => "TLS required, certificate not verified",
    };
    Ok(Some(Tls::new(config, trust)))
}

/// The kind of server a target waits for, as libpq's `target_session_attrs` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `primary`, `#primary`: not in recovery.
    Primary,
    /// `read-write`: not in recovery, and transactions are not read-only by default.
    ReadWrite,
    /// `standby`: in recovery (a replica).
    Standby,
    /// `read-only`: in recovery, or transactions are read-only by default.
    ReadOnly,
}

impl Role {
    /// A query whose one value is `t` when the server is of this kind.
    pub fn sql(self) -> &'static str {
        match self {
            Role::Primary => "SELECT NOT pg_is_in_recovery()",
            Role::ReadWrite => "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'",
            Role::Standby => "SELECT pg_is_in_recovery()",
            Role::ReadOnly => "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'",
        }
    }

    pub fn wanted(self) -> &'static str {
        match self {
            Role::Primary => "a primary (not in recovery)",
            Role::ReadWrite => "a server that accepts writes (target_session_attrs=read-write)",
            Role::Standby => "a standby (in recovery)",
            Role::ReadOnly => "a read-only server (target_session_attrs=read-only)",
        }
    }

    pub fn waiting(self) -> &'static str {
        match self {
            Role::Primary => "the server is a standby (in recovery); waiting for a primary",
            Role::ReadWrite => "the server is a standby (in recovery) or read-only; waiting for one that accepts writes",
            Role::Standby => "the server is not a standby (not in recovery); waiting for a standby",
            Role::ReadOnly => "the server accepts writes; waiting for a read-only server",
        }
    }
}

/// What the options ask of the server once it answers.
struct Chosen {
    level: Level,
    query: Option<String>,
    role: Option<Role>,
    migrated: Option<crate::migrations::Expected>,
}

/// The level, the `#query` or `#migrated` and the kind of server waited for, from the options.
fn level(uri: &Uri, session_attrs: Option<&str>, has_user: bool) -> Result<Chosen, String> {
    let mut opts = Params::fragment(&uri.options);
    let query = opts.take("query").filter(|q| !q.trim().is_empty());
    let migrated = opts
        .take("migrated")
        .map(|spec| crate::migrations::Expected::from_spec(&spec))
        .transpose()?;
    if query.is_some() && migrated.is_some() {
        return Err("#query and #migrated each decide readiness: give one of them".into());
    }
    let attrs = match session_attrs {
        // With one host, "prefer-standby" takes whatever answers, as "any" does.
        None | Some("any" | "prefer-standby") => None,
        Some("read-write") => Some(Role::ReadWrite),
        Some("primary") => Some(Role::Primary),
        Some("standby") => Some(Role::Standby),
        Some("read-only") => Some(Role::ReadOnly),
        Some(other) => {
            return Err(format!(
                "target_session_attrs '{}' is not one of any, read-write, read-only, primary, standby, prefer-standby",
                crate::text::quote_short(other)
            ))
        }
    };
    let role = match (opts.flag("primary")?, attrs) {
        (true, Some(r)) if r != Role::Primary => {
            return Err("#primary contradicts target_session_attrs: give one of them".into())
        }
        (true, _) => Some(Role::Primary),
        (false, r) => r,
    };
    let level = match opts.take("level").as_deref() {
        Some("ping") if query.is_some() || role.is_some() || migrated.is_some() => {
            return Err(
                "#level=ping cannot run a #query, read #migrated or check the server's role (#primary, target_session_attrs): those need a login".into(),
            )
        }
        Some("ping") => Level::Ping,
        Some("login") => Level::Login,
        Some(other) => return Err(format!("#level={other} is not one of ping, login")),
        None if has_user || query.is_some() || role.is_some() || migrated.is_some() => {
            Level::Login
        }
        None => Level::Ping,
    };
    opts.finish("postgres", OPTIONS)?;
    if level == Level::Login && !has_user {
        return Err(
            "#level=login needs a user: give one in the URL (postgres://USER@host/db) or PGUSER"
                .into(),
        );
    }
    Ok(Chosen {
        level,
        query,
        role,
        migrated,
    })
}

/// The host name the password file is searched for, as libpq picks it: a unix socket matches its
/// directory, and `localhost` when that is the default socket directory (Debian's, or upstream's
/// `/tmp`).
fn pgpass_host(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Tcp(h, _) => h.tls_name(),
        Endpoint::Unix(path) => {
            let dir = path
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            match dir.as_str() {
                "/var/run/postgresql" | "/run/postgresql" | "/tmp" => "localhost".to_string(),
                _ => dir,
            }
        }
    }
}

pub(super) fn shown_endpoint(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Tcp(h, port) => format!("{}:{port}", h.to_url_form()),
        Endpoint::Unix(path) => PathBuf::from(path).display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse_with(url: &str, vars: &[(&str, &str)]) -> Result<PgProbe, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |k: &str| map.get(k).cloned();
        from_parts(&uri::parse(url).map_err(|e| e.to_string())?, &env)
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
        assert_eq!(t.endpoint, Endpoint::Unix("/run/pg/.s.PGSQL.5433".into()));
        assert!(t.tls.is_none());
        let t = parse_with("postgresql://", &[]).unwrap();
        assert_eq!(
            t.endpoint,
            Endpoint::Unix(Path::new(DEFAULT_SOCKET_DIR).join(".s.PGSQL.5432"))
        );
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
                "postgres://db?target_session_attrs=replica",
                "target_session_attrs 'replica'",
            ),
            ("postgres://?host=a,b", "several hosts"),
            (
                "postgres://db?sslmode=verify-full&sslrootcert=/nonexistent.pem",
                "cannot read CA file",
            ),
            ("postgres://db?port=0", "'0' is not a port"),
            (
                "postgres://db?dbname=x%3A%2F%2Fy",
                "separate targets with spaces",
            ),
            (
                "postgres://db?sslmode=require&sslmode=disable",
                "given twice",
            ),
        ];
        for (url, want) in cases {
            let err = parse_with(url, &[]).err().unwrap_or_default();
            assert!(err.contains(want), "{url}: {err}");
        }
    }
}
