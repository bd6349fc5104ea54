//! A small, strict parser for target URLs.
//!
//! It owns the generic grammar only: `scheme://[user[:password]@]host[:port][/path][?query][#options]`,
//! plus the bare `host:port` shorthand for TCP. What a scheme makes of the pieces (default ports,
//! which query keys mean something) lives in `target.rs`.
//!
//! Why our own parser rather than the `url` crate: we need errors that say exactly which piece is
//! wrong and what a correct one looks like, IPv6 literals that must be bracketed, ports that must be
//! in range, and none of the IDNA tables that would add hundreds of KiB to a static binary.
//!
//! Passwords are percent-decoded into [`Secret`] (it lives with redaction, which it registers
//! itself with), a type with no `Display`, so no formatting path can
//! print one by accident.

use std::fmt;

use crate::redact::Secret;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The host part of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A DNS name (or `localhost`): resolved on every attempt.
    Name(String),
    Ip(IpAddr),
}

impl Host {
    /// The host as it goes in a URL or a `Host:` header (IPv6 in brackets).
    pub fn to_url_form(&self) -> String {
        match self {
            Host::Name(n) => n.clone(),
            Host::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            Host::Ip(ip) => ip.to_string(),
        }
    }
    /// The name a TLS client sends as SNI and verifies against.
    pub fn tls_name(&self) -> String {
        match self {
            Host::Name(n) => n.clone(),
            Host::Ip(ip) => ip.to_string(),
        }
    }
}

/// A parsed target URL, not yet interpreted by its scheme.
#[derive(Debug, Clone)]
pub struct Uri {
    /// Lowercase scheme; `tcp` for the bare `host:port` form.
    pub scheme: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// `None` when the authority has no host (`postgres:///db?host=/run/postgresql`).
    pub host: Option<Host>,
    /// A host name as written, case kept (names are lowercased in `host`, as DNS ignores case;
    /// a container's name does not).
    pub host_as_written: Option<String>,
    pub port: Option<u16>,
    /// The path as given (still percent-encoded), `""` or starting with `/`.
    pub path: String,
    /// The query as given (still percent-encoded), without the `?`.
    pub raw_query: Option<String>,
    /// Decoded `key=value` pairs of the query.
    pub query: Vec<(String, String)>,
    /// Decoded `key=value` pairs of the fragment: readygate's own per-target options. A fragment is
    /// never sent to a server, so these options cannot clash with the server's own parameters.
    pub options: Vec<(String, String)>,
}

/// What is wrong with a URL. The caller adds the (redacted) input and an example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriError {
    Empty,
    Whitespace,
    BadScheme(String),
    MissingHost,
    UnbracketedIpv6,
    BadIpv6(String),
    BadHost(String),
    MissingPort,
    BadPort(String),
    PortZero,
    BadPercent,
    /// A control character (byte shown) anywhere in the target.
    Control(u32),
    /// An `@` after the host while the authority has a user or a `:`: most likely a password with an
    /// unencoded `/`, `?` or `#` (or `@`). Nothing of the input is quoted.
    AtAfterHost,
    /// `…://…,scheme://…`: two targets joined by a comma instead of a space.
    JoinedTargets,
    /// A host name longer than DNS allows (253 characters, 63 per label) or with an empty label.
    LongHost,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::Empty => f.write_str("the target is empty"),
            UriError::Whitespace => f.write_str("a target cannot contain spaces"),
            UriError::BadScheme(s) => write!(f, "'{s}' is not a valid scheme"),
            UriError::MissingHost => f.write_str("the host is missing"),
            UriError::UnbracketedIpv6 => {
                f.write_str("an IPv6 address must be written in brackets, like [::1]:5432")
            }
            UriError::BadIpv6(s) => write!(f, "'[{s}]' is not a valid IPv6 address"),
            UriError::BadHost(s) => write!(f, "'{s}' is not a valid host name"),
            UriError::MissingPort => f.write_str("the port is missing"),
            UriError::BadPort(s) => write!(f, "'{s}' is not a port number (1-65535)"),
            UriError::PortZero => f.write_str("port 0 cannot be connected to (use 1-65535)"),
            UriError::BadPercent => f.write_str(
                "a '%' must be followed by two hex digits, and the decoded text must be UTF-8",
            ),
            UriError::Control(c) => write!(
                f,
                "the target contains a control character (U+{c:04X}): check how it was quoted"
            ),
            UriError::AtAfterHost => f.write_str(
                "an '@' follows the host: if the password contains '/', '?', '#' or '@', \
                 percent-encode them (%2F, %3F, %23, %40)",
            ),
            UriError::JoinedTargets => f.write_str(
                "this looks like two targets joined by a comma: separate targets with spaces",
            ),
            UriError::LongHost => f.write_str(
                "the host name is not valid in DNS (at most 253 characters, labels of 1 to 63)",
            ),
        }
    }
}

/// Parses a target. `host:port` without a scheme is read as `tcp://host:port`.
pub fn parse(input: &str) -> Result<Uri, UriError> {
    if input.is_empty() {
        return Err(UriError::Empty);
    }
    if input.chars().any(char::is_whitespace) {
        return Err(UriError::Whitespace);
    }
    if let Some(c) = input.chars().find(|c| c.is_control()) {
        return Err(UriError::Control(c as u32));
    }
    let (scheme, rest) = match input.find("://") {
        Some(i) => {
            let scheme = &input[..i];
            let valid = scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if !valid {
                return Err(UriError::BadScheme(scheme.to_string()));
            }
            (scheme.to_ascii_lowercase(), &input[i + 3..])
        }
        None => ("tcp".to_string(), input),
    };

    let after_scheme = rest;
    let (rest, fragment) = split_once_opt(rest, '#');
    // The authority ends at the first '/' or '?'; a password must percent-encode those.
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let (path, raw_query) = split_once_opt(tail, '?');
    // Everything after the authority, fragment included: where a password cut short by an
    // unencoded '/', '?' or '#' leaves its tail.
    let after_authority = &after_scheme[auth_end..];
    if after_authority.contains("://") {
        return Err(UriError::JoinedTargets);
    }
    if after_authority.contains('@') && authority.contains(['@', ':']) {
        return Err(UriError::AtAfterHost);
    }

    // The last '@' ends the userinfo, so an unencoded '@' in a password still parses.
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(ui) => {
            let (u, p) = split_once_opt(ui, ':');
            let user = Some(decode_text(u)?).filter(|u| !u.is_empty());
            let password = p.map(decode).transpose()?.map(Secret::new);
            (user, password)
        }
    };
    let (host, port) = parse_hostport(hostport)?;
    let host_as_written = match &host {
        Some(Host::Name(_)) => Some(decode_text(split_once_opt(hostport, ':').0)?),
        _ => None,
    };

    Ok(Uri {
        scheme,
        user,
        password,
        host,
        host_as_written,
        port,
        path: path.to_string(),
        raw_query: raw_query.map(str::to_string),
        query: raw_query.map(parse_pairs).transpose()?.unwrap_or_default(),
        options: fragment.map(parse_pairs).transpose()?.unwrap_or_default(),
    })
    .and_then(|u| {
        // The path is kept encoded (it goes to the server as is), but it must decode: a '%zz' can
        // never be sent, and waiting would not change that.
        decode_text(&u.path)?;
        Ok(u)
    })
}

fn split_once_opt(s: &str, c: char) -> (&str, Option<&str>) {
    match s.split_once(c) {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

fn parse_hostport(s: &str) -> Result<(Option<Host>, Option<u16>), UriError> {
    if s.is_empty() {
        return Ok((None, None));
    }
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return Err(UriError::BadIpv6(inner.to_string()));
        };
        let literal = &inner[..close];
        let ip: Ipv6Addr = literal
            .parse()
            .map_err(|_| UriError::BadIpv6(literal.to_string()))?;
        let after = &inner[close + 1..];
        let port = match after {
            "" => None,
            p if p.starts_with(':') => Some(&p[1..]),
            other => return Err(UriError::BadHost(format!("[{literal}]{other}"))),
        };
        (Some(Host::Ip(IpAddr::V6(ip))), port)
    } else {
        if s.matches(':').count() > 1 {
            return Err(UriError::UnbracketedIpv6);
        }
        let (h, p) = split_once_opt(s, ':');
        let host = if h.is_empty() {
            None
        } else if let Ok(v4) = h.parse::<Ipv4Addr>() {
            Some(Host::Ip(IpAddr::V4(v4)))
        } else {
            let name = decode_text(h)?;
            let valid = name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
                && !name.starts_with(['.', '-']);
            if !valid {
                return Err(UriError::BadHost(h.to_string()));
            }
            // RFC 1035 §2.3.4: a lookup of such a name can never succeed, so waiting is pointless.
            let labels_ok = name
                .strip_suffix('.')
                .unwrap_or(&name)
                .split('.')
                .all(|l| (1..=63).contains(&l.len()));
            if name.len() > 253 || !labels_ok {
                return Err(UriError::LongHost);
            }
            Some(Host::Name(name.to_ascii_lowercase()))
        };
        (host, p)
    };
    let port = match port {
        None => None,
        Some("") => return Err(UriError::MissingPort),
        Some(p) => Some(parse_port(p)?),
    };
    if host.is_none() && port.is_some() {
        return Err(UriError::MissingHost);
    }
    Ok((host, port))
}

fn parse_port(p: &str) -> Result<u16, UriError> {
    if !p.chars().all(|c| c.is_ascii_digit()) || p.len() > 5 {
        return Err(UriError::BadPort(p.to_string()));
    }
    match p.parse::<u32>() {
        Ok(0) => Err(UriError::PortZero),
        Ok(n) if n <= 65535 => Ok(n as u16),
        _ => Err(UriError::BadPort(p.to_string())),
    }
}

fn parse_pairs(s: &str) -> Result<Vec<(String, String)>, UriError> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = split_once_opt(pair, '=');
            Ok((decode_text(k)?, decode_text(v.unwrap_or(""))?))
        })
        .collect()
}

/// Percent-decodes text that is shown or sent as a name (user, host, path, parameters): a decoded
/// control character (`%00`, `%0A`) is refused, since no server accepts it and it would forge log
/// lines when printed.
pub fn decode_text(s: &str) -> Result<String, UriError> {
    let text = decode(s)?;
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(UriError::Control(c as u32)),
        None => Ok(text),
    }
}

/// Percent-decodes `s`. `+` stays a plus: libpq and HTTP paths do not treat it as a space.
pub fn decode(s: &str) -> Result<String, UriError> {
    crate::text::percent_decode(s).ok_or(UriError::BadPercent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_url() {
        let u =
            parse("postgres://app:p%40ss@db.local:5433/app?sslmode=require#level=ping").unwrap();
        assert_eq!(u.scheme, "postgres");
        assert_eq!(u.user.as_deref(), Some("app"));
        assert_eq!(u.password.as_ref().map(Secret::expose), Some("p@ss"));
        assert_eq!(u.host, Some(Host::Name("db.local".into())));
        assert_eq!(u.port, Some(5433));
        assert_eq!(u.path, "/app");
        assert_eq!(u.query, vec![("sslmode".into(), "require".into())]);
        assert_eq!(u.options, vec![("level".into(), "ping".into())]);
    }

    #[test]
    fn bare_host_port_is_tcp() {
        let u = parse("db:5432").unwrap();
        assert_eq!(u.scheme, "tcp");
        assert_eq!(u.port, Some(5432));
    }

    #[test]
    fn unencoded_at_in_password_uses_last_at() {
        let u = parse("redis://:a@b@cache:6379").unwrap();
        assert_eq!(u.password.as_ref().map(Secret::expose), Some("a@b"));
        assert_eq!(u.host, Some(Host::Name("cache".into())));
    }

    #[test]
    fn ipv6_literal() {
        let u = parse("tcp://[::1]:5432").unwrap();
        assert_eq!(u.host, Some(Host::Ip("::1".parse().unwrap())));
        assert_eq!(u.host.unwrap().to_url_form(), "[::1]");
    }

    #[test]
    fn errors_table() {
        let cases: &[(&str, UriError)] = &[
            ("", UriError::Empty),
            ("tcp://a b:1", UriError::Whitespace),
            ("1tcp://x:1", UriError::BadScheme("1tcp".into())),
            ("tcp://::1:5432", UriError::UnbracketedIpv6),
            ("tcp://[::g]:1", UriError::BadIpv6("::g".into())),
            ("tcp://db:", UriError::MissingPort),
            ("tcp://db:0", UriError::PortZero),
            ("tcp://db:99999", UriError::BadPort("99999".into())),
            ("tcp://db:-1", UriError::BadPort("-1".into())),
            ("tcp://:5432", UriError::MissingHost),
            ("tcp://d$b:1", UriError::BadHost("d$b".into())),
            ("tcp://u:%zz@db:1", UriError::BadPercent),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).unwrap_err(), *want, "input {input:?}");
        }
    }

    #[test]
    fn secret_debug_is_redacted() {
        let u = parse("redis://:hunter2@x:1").unwrap();
        assert!(!format!("{u:?}").contains("hunter2"));
    }
}
