//! A target: one dependency to wait for, parsed from a URL and validated up front.
//!
//! The scheme picks the kind of probe ([`crate::probe::KINDS`]); each probe module owns its own
//! options and turns a [`Uri`] into its typed settings. This module owns what is common: the error
//! type that quotes the (redacted) input with an example, and the redacted display name that every
//! output path uses.

use std::fmt;

use crate::probe::{self, Probe};
use crate::redact;
use crate::uri::{self, Uri};

/// One dependency, ready to probe.
#[derive(Debug)]
pub struct Target {
    /// How the target appears in every output: parsed, then rendered without secrets.
    pub name: String,
    pub probe: Probe,
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
    /// Parses and validates one target.
    pub fn parse(input: &str) -> Result<Target, TargetError> {
        let fail = |scheme: &str, problem: String| TargetError {
            input: redact::quote_short(&redact::redact_input(input)),
            problem,
            example: example_for(scheme),
        };
        let scheme_hint = input.split("://").next().filter(|_| input.contains("://"));
        let parsed = uri::parse(input).map_err(|e| {
            let mut problem = e.to_string();
            if e == uri::UriError::MissingPort && !input.contains("://") {
                problem = "expected host:port or a URL".to_string();
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
                    "unknown scheme '{}' (known: {})",
                    parsed.scheme,
                    probe::schemes()
                ),
            )
        })?;
        let probe = kind.build(&parsed).map_err(|p| fail(&parsed.scheme, p))?;
        Ok(Target {
            name: display_name(&parsed, kind.default_port),
            probe,
        })
    }
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
                "unknown option '#bogus': tcp targets take no options",
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
