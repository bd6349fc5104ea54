//! A target: one dependency to wait for, parsed from a URL and validated up front.
//!
//! The scheme picks the kind of probe ([`crate::probe::KINDS`]); each probe module owns its own
//! options and turns a [`Uri`] into its typed settings. This module owns what is common: the error
//! type that quotes the (redacted) input with an example, and the redacted display name that every
//! output path uses.

use std::fmt;

use crate::params::{Params, SHARED_OPTIONS};
use crate::probe::{self, Probe};
use crate::redact;
use crate::schedule::Stability;
use crate::uri::{self, Uri};

/// One dependency, ready to probe.
#[derive(Debug)]
pub struct Target {
    /// How the target appears in every output: parsed, then rendered without secrets.
    pub name: String,
    pub probe: Probe,
    /// How the target's answers are taken, whatever its protocol.
    pub rules: Rules,
    /// Warnings about the input itself, printed once at start (a weak password).
    pub notes: Vec<String>,
    /// The host names it resolves (every member's, for a group): `--watch` follows their addresses.
    pub hosts: Vec<String>,
}

/// The options every kind of target takes (`#stable=`, `#optional`, `#down`), read before the
/// probe sees its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules {
    /// `None`: the global `--stable`.
    pub stable: Option<Stability>,
    pub optional: bool,
    /// Ready when the target is NOT reachable (a port freed, a file gone, an old instance drained).
    pub down: bool,
}

/// The slips that make a target unreadable but whose intent is plain, named before the parser
/// would name a symptom: a comma or semicolon list (`db:5432,cache:6379` reads as an IPv6 address
/// without brackets), a separator standing alone (`a , b`), a scheme without its `:` or a slash
/// (`redis//cache:6379`, `redis:/cache:6379`). Returns the scheme for the example, and the problem.
fn slip(input: &str) -> Option<(String, String)> {
    let known = |scheme: &str| probe::kind(&scheme.to_ascii_lowercase()).is_some();
    let trimmed = input.trim();
    if trimmed == "," {
        return Some((
            "tcp".into(),
            "a lone ',': targets are separated by spaces alone, like db:5432 cache:6379".into(),
        ));
    }
    if matches!(trimmed, ";" | "&&" | "&" | "||") {
        return Some((
            "tcp".into(),
            format!("'{trimmed}' is shell syntax, and no shell reads these words (an exec-form ENTRYPOINT has none): put `--` before the command, like readygate db:5432 -- gunicorn app.wsgi"),
        ));
    }
    if !input.contains("://") || input.matches("://").count() > 1 {
        for (separator, name) in [(',', "commas"), (';', "semicolons")] {
            let pieces: Vec<&str> = input.split(separator).map(str::trim).collect();
            if pieces.len() > 1
                && pieces.iter().all(|p| {
                    !p.is_empty()
                        && uri::parse(p).is_ok_and(|u| u.port.is_some() || p.contains("://"))
                })
            {
                return Some((
                    "tcp".into(),
                    format!(
                        "targets are separated by spaces, not {name}: give each its own argument (in READYGATE_TARGETS too), like {}",
                        crate::text::quote_short(
                            &pieces
                                .iter()
                                .map(|p| redact::redact_input(p))
                                .collect::<Vec<_>>()
                                .join(" ")
                        )
                    ),
                ));
            }
        }
    }
    if input.contains("://") {
        return None;
    }
    let (scheme, rest) = input.split_once("//").or_else(|| input.split_once(":/"))?;
    let scheme = scheme.trim_end_matches(':');
    if scheme.is_empty() || !known(scheme) {
        return None;
    }
    let fixed = crate::text::quote_short(&redact::redact_input(&format!(
        "{scheme}://{}",
        rest.trim_start_matches('/')
    )));
    Some((
        scheme.to_ascii_lowercase(),
        format!("a URL's scheme is followed by '://': did you mean {fixed}?"),
    ))
}

/// A target that cannot be used, with everything needed for a useful message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    /// The input with any secret masked.
    pub input: String,
    pub problem: String,
    pub example: &'static str,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.input.is_empty() {
            // The problem says what it may show of the input (an ambiguous separator).
            return write!(
                f,
                "invalid target: {}\n  example: {}",
                self.problem, self.example
            );
        }
        write!(
            f,
            "invalid target '{}': {}\n  example: {}",
            self.input, self.problem, self.example
        )
    }
}

impl std::error::Error for TargetError {}

/// The example shown for a scheme (or the general one, TCP's).
fn example_for(scheme: &str) -> &'static str {
    probe::kind(scheme)
        .or_else(|| probe::kind("tcp"))
        .map_or("tcp://db:5432", |k| k.example)
}

impl Target {
    /// An `--exec-check` command, as a target.
    pub fn command(line: &str) -> Result<Target, TargetError> {
        let (name, probe) = crate::probe::exec_check(line).map_err(|problem| TargetError {
            input: crate::text::quote_short(&redact::redact_text(line)),
            problem,
            example: "--exec-check 'pg_isready -h db -p 5432'",
        })?;
        Ok(Target {
            name,
            probe,
            rules: Rules::default(),
            notes: Vec::new(),
            hosts: Vec::new(),
        })
    }

    /// Parses and validates one target: a URL, or several joined by `|` (any one of them ready is
    /// enough).
    pub fn parse(input: &str) -> Result<Target, TargetError> {
        if !input.contains('|') {
            let mut t = Self::parse_one(input)?;
            t.name = decorate(t.name, t.rules);
            return Ok(t);
        }
        let fail = |problem: &str| TargetError {
            input: crate::text::quote_short(&redact::redact_input(input)),
            problem: problem.to_string(),
            example: "kafka1:9092|kafka2:9092",
        };
        if input.contains("||") || input.starts_with('|') || input.ends_with('|') {
            return Err(fail(
                "an empty member in a group: join targets with one '|'",
            ));
        }
        let parts = crate::split::split(input, |c| c == '|').map_err(|problem| TargetError {
            input: String::new(),
            problem,
            example: "kafka1:9092|kafka2:9092",
        })?;
        if parts.len() == 1 {
            // Every '|' is inside a password or a value: one target.
            let mut t = Self::parse_one(input)?;
            t.name = decorate(t.name, t.rules);
            return Ok(t);
        }
        let mut members = Vec::new();
        let mut notes = Vec::new();
        let mut hosts = Vec::new();
        let mut rules: Option<Rules> = None;
        for part in parts {
            let t = Self::parse_one(part)?;
            // A group has one set of rules; options may sit on any member (the last usually).
            rules = match rules {
                Some(r) if r != Rules::default() && t.rules != Rules::default() && r != t.rules => {
                    return Err(fail("members of a group disagree on #stable, #optional or #down: give them once"))
                }
                Some(r) if t.rules == Rules::default() => Some(r),
                _ => Some(t.rules),
            };
            notes.extend(t.notes);
            hosts.extend(t.hosts);
            members.push((t.name, t.probe));
        }
        let rules = rules.unwrap_or_default();
        let name = members
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(" | ");
        Ok(Target {
            name: decorate(name, rules),
            probe: Probe::AnyOf(crate::probe::group::Group::new(members)),
            rules,
            notes,
            hosts,
        })
    }

    /// One URL; its name without what the rules add (see [`decorate`]).
    fn parse_one(input: &str) -> Result<Target, TargetError> {
        let fail = |scheme: &str, problem: String| TargetError {
            input: crate::text::quote_short(&redact::redact_input(input)),
            problem,
            example: example_for(scheme),
        };
        if let Some(hint) = unexpanded_variable(input) {
            return Err(fail("tcp", hint));
        }
        if let Some((scheme, hint)) = slip(input) {
            return Err(fail(&scheme, hint));
        }
        let scheme_hint = input.split("://").next().filter(|_| input.contains("://"));
        let mut parsed = uri::parse(input).map_err(|e| {
            let mut problem = e.to_string();
            if e == uri::UriError::MissingPort && !input.contains("://") {
                problem = "expected host:port or a URL".to_string();
            }
            if e == uri::UriError::Whitespace && input.contains("#query=") {
                problem.push_str(" (percent-encode a space in #query as %20)");
            }
            fail(scheme_hint.unwrap_or("tcp"), problem)
        })?;
        if !input.contains("://") && parsed.port.is_none() {
            return Err(fail(
                "tcp",
                "expected host:port or a URL (is it the command? put `--` before the command)"
                    .to_string(),
            ));
        }
        let kind = probe::kind(&parsed.scheme).ok_or_else(|| {
            fail(
                "tcp",
                format!(
                    "unknown scheme '{}' ({}known: {})",
                    parsed.scheme,
                    crate::suggest::nearest(
                        &parsed.scheme,
                        probe::KINDS.iter().flat_map(|k| k.schemes.iter().copied())
                    )
                    .map(|s| format!("did you mean {s}://? "))
                    .unwrap_or_default(),
                    probe::schemes()
                ),
            )
        })?;
        if secret_cut_short(&parsed) {
            return Err(fail(
                &parsed.scheme,
                "a secret value seems to hold a raw '&' or '#' (what follows it is not an option): percent-encode them inside the value (%26, %23)".to_string(),
            ));
        }
        let rules = take_rules(&mut parsed.options).map_err(|p| fail(&parsed.scheme, p))?;
        let probe = kind.build(&parsed).map_err(|p| fail(&parsed.scheme, p))?;
        let name = display_name(&parsed, kind.default_port);
        let hosts = match &parsed.host {
            Some(uri::Host::Name(h)) if probe.resolves_its_host() => vec![h.clone()],
            _ => Vec::new(),
        };
        Ok(Target {
            notes: weak_password(&parsed, &name).into_iter().collect(),
            name,
            probe,
            rules,
            hosts,
        })
    }
}

/// The names a target prints (scheme, user, host, database) are never masked by value (see
/// `redact::PUBLIC`); a password equal to one of them, or short, cannot be masked everywhere
/// without garbling the gate's own words, so it is said once, plainly.
fn weak_password(u: &Uri, name: &str) -> Option<String> {
    let host = u.host.as_ref().map(uri::Host::tls_name).unwrap_or_default();
    let path = u.path.trim_start_matches('/');
    let user = u.user.as_deref().unwrap_or("");
    redact::register_public([u.scheme.as_str(), user, host.as_str(), path]);
    let password = u.password.as_ref()?.expose();
    let equal = [u.scheme.as_str(), user, host.as_str(), path].contains(&password);
    let short = password.chars().count() < 8;
    (equal || short).then(|| {
        format!(
            "{name}: the password is {}: output masks it only where it stands alone in a server's \
             message; use a longer, random one",
            if equal {
                "the same as a name in the target"
            } else {
                "shorter than 8 characters"
            }
        )
    })
}

/// Whether a sensitive value (`?password=`, `#header=Authorization:…`) is followed by a bare word
/// that is no option readygate has: the tail of a secret cut by a raw `&` or `#`. Refused, and the
/// tail is never quoted (see `redact::redact_input`).
fn secret_cut_short(u: &Uri) -> bool {
    let pairs = u.query.iter().chain(&u.options);
    let mut after_secret = false;
    for (k, v) in pairs {
        if after_secret && v.is_empty() && !crate::flags::FLAGS.contains(&k.as_str()) {
            return true;
        }
        after_secret = redact::is_sensitive_pair(k, v);
    }
    false
}

/// Takes the options every kind shares out of a URL's fragment options.
fn take_rules(options: &mut Vec<(String, String)>) -> Result<Rules, String> {
    let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(options)
        .into_iter()
        .partition(|(k, _)| SHARED_OPTIONS.contains(&k.as_str()));
    *options = rest;
    let mut p = Params::fragment(&mine);
    let stable = p
        .take("stable")
        .map(|v| crate::schedule::parse_stability(&v))
        .transpose()?;
    let rules = Rules {
        stable,
        optional: p.flag("optional")?,
        down: p.flag("down")?,
    };
    p.finish("every", SHARED_OPTIONS)?;
    Ok(rules)
}

/// The name as printed, with what the rules change about it.
fn decorate(mut name: String, rules: Rules) -> String {
    if rules.down {
        name.push_str(" (down)");
    }
    if rules.optional {
        name.push_str(" (optional)");
    }
    name
}

/// `$DATABASE_URL` or `${DB}` as a target: an exec-form ENTRYPOINT/CMD (JSON array) passes words
/// verbatim, without a shell to expand variables.
fn unexpanded_variable(input: &str) -> Option<String> {
    let looks = input.starts_with('$')
        || input.contains("${")
        || input.contains("://$")
        || input.contains("@$");
    looks.then(|| {
        "this looks like a shell variable that was never expanded: an exec-form ENTRYPOINT or CMD (a JSON array) runs no shell. Put the URL in READYGATE_TARGETS instead (READYGATE_TARGETS=$DATABASE_URL in the environment)".to_string()
    })
}

/// Renders a parsed URL for people: `scheme://user:***@host:port/path?query`, with the default
/// port left out, sensitive query values masked and readygate's own options (the fragment) omitted.
fn display_name(u: &Uri, default_port: Option<u16>) -> String {
    let mut s = format!("{}://", u.scheme);
    if u.user.is_some() || u.password.is_some() {
        match u.user.as_deref() {
            // A user name holding URL delimiters was most likely meant as part of the password
            // (`a%3ACx9:zz`): show none of it.
            Some(user) if user.contains([':', '@', '/', '?', '#']) => s.push_str(redact::MASK),
            // `nats://TOKEN@host`: the user part is the secret itself.
            Some(_) if u.scheme == "nats" && u.password.is_none() => s.push_str(redact::MASK),
            user => {
                s.push_str(user.unwrap_or(""));
                if u.password.is_some() {
                    s.push(':');
                    s.push_str(redact::MASK);
                }
            }
        }
        s.push('@');
    }
    if let Some(h) = &u.host {
        s.push_str(&h.to_url_form());
    }
    if let Some(p) = u.port.filter(|p| Some(*p) != default_port) {
        s.push_str(&format!(":{p}"));
    }
    s.push_str(&u.path);
    if !u.query.is_empty() {
        let rendered: Vec<String> = u
            .query
            .iter()
            .map(|(k, v)| redact::render_pair(k, v))
            .collect();
        s.push('?');
        s.push_str(&rendered.join("&"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_masks_password_and_sensitive_query() {
        let t = Target::parse("http://u:hunter2@api:8080/h?token=abc&full=1#status=200").unwrap();
        assert_eq!(t.name, "http://u:***@api:8080/h?token=***&full=1");
    }

    #[test]
    fn display_omits_default_port() {
        let t = Target::parse("http://api:80/healthz").unwrap();
        assert_eq!(t.name, "http://api/healthz");
        let t = Target::parse("db:5432").unwrap();
        assert_eq!(t.name, "tcp://db:5432");
    }

    #[test]
    fn errors_quote_redacted_input_and_example() {
        let cases = [
            (
                "ftp://x:1",
                "invalid target 'ftp://x:1': unknown scheme 'ftp'",
            ),
            (
                "gunicorn",
                "invalid target 'gunicorn': expected host:port or a URL",
            ),
            ("tcp://db", "invalid target 'tcp://db': the port is missing"),
            (
                "tcp://u:s3cret@db:0",
                "invalid target 'tcp://u:***@db:0': port 0",
            ),
            (
                "db:5432#bogus",
                "unknown option '#bogus' for tcp targets (valid: down, optional, stable)",
            ),
            ("tcp://", "invalid target 'tcp://': the host is missing"),
            ("http://:80/", "the host is missing"),
        ];
        for (input, want) in cases {
            let err = Target::parse(input).unwrap_err().to_string();
            assert!(err.contains(want), "input {input:?}: got {err:?}");
            assert!(err.contains("example: "), "input {input:?}: got {err:?}");
            assert!(!err.contains("s3cret"));
        }
    }
}
